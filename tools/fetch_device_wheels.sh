#!/usr/bin/env bash
# Rebuild .whl/, the wheels that tools/device_setup.sh installs on the offline
# GPU machine (Python 3.12, x86_64 Linux). Run from the repository root on a
# machine that can reach PyPI.
#
# The list is the dependency closure of papermill, jupytext, nbclient, ipykernel,
# captum and submitit, minus what the machine's image already holds (torch, numpy,
# matplotlib, tqdm, pyyaml, requests, aiohttp, click, packaging, pygments,
# markdown-it-py, python-dateutil, psutil, attrs, typing-extensions, cloudpickle, ...; see
# the package list in the device notes). Keep one version per package.
set -euo pipefail

PINS=(
  # what we run
  papermill==2.7.0 jupytext==1.19.6 nbclient==0.11.0 nbformat==5.11.1
  ipykernel==7.4.0 captum==0.9.0
  # lib.cluster's --executor local (pure Python; its cloudpickle and typing-extensions are in the image)
  submitit==1.5.4
  # papermill
  entrypoints==0.4.2 tenacity==9.2.1
  # jupytext
  mdit-py-plugins==0.7.0
  # nbformat
  fastjsonschema==2.22.3 jsonschema==4.26.0 jsonschema-specifications==2025.9.1
  referencing==0.37.0 rpds-py==2026.9.1
  # jupyter client/core and ipykernel
  jupyter_client==8.10.0 jupyter_core==5.9.1 platformdirs==4.14.7
  traitlets==5.16.1 pyzmq==27.3.0 tornado==6.6.1 comm==0.2.3
  debugpy==1.8.22 matplotlib-inline==0.2.2 nest-asyncio2==1.7.4
  # ipython
  ipython==9.18.1 ipython_pygments_lexers==1.1.1 jedi==0.20.1 parso==0.8.7
  pexpect==4.9.0 ptyprocess==0.7.0 prompt_toolkit==3.0.53 wcwidth==0.9.4
  stack-data==0.6.3 asttokens==3.0.2 executing==2.3.0 pure_eval==0.2.4
)

rm -rf .whl
python3 -m pip download --no-deps --only-binary=:all: \
  --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 \
  -d .whl "${PINS[@]}"
du -sh .whl
