# Set up the notebook tool chain on the offline GPU machine.
#
# Usage, from the repository root (source it, so the exports stay in your shell):
#     . tools/device_setup.sh
#     papermill -k python3 in.ipynb out.ipynb
#
# The wheels in .whl/ (papermill, jupytext, nbclient, ipykernel, captum, submitit and the
# dependencies the machine's image lacks; see tools/fetch_device_wheels.sh) are
# installed into $SITE_DIR (default /tmp/site), never into the preinstalled
# environment, and put first on PYTHONPATH. A Jupyter kernel named "python3" is
# registered for this python3, carrying the same PYTHONPATH.

SITE_DIR="${SITE_DIR:-/tmp/site}"

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target "$SITE_DIR" .whl/*.whl \
  || { echo "device_setup: pip install from .whl/ failed" >&2; return 1 2>/dev/null || exit 1; }

# Prepend $SITE_DIR to PYTHONPATH (once) and its console scripts to PATH.
case ":${PYTHONPATH:-}:" in
  *":$SITE_DIR:"*) ;;
  *) export PYTHONPATH="$SITE_DIR${PYTHONPATH:+:$PYTHONPATH}" ;;
esac
case ":$PATH:" in
  *":$SITE_DIR/bin:"*) ;;
  *) export PATH="$SITE_DIR/bin:$PATH" ;;
esac

# Kernel spec in ~/.local/share/jupyter/kernels/python3, pointing at this python3.
python3 -m ipykernel install --user --name python3 --display-name "Python 3" \
    --env PYTHONPATH "$PYTHONPATH" >/dev/null \
  || { echo "device_setup: kernel registration failed" >&2; return 1 2>/dev/null || exit 1; }

echo "device_setup: packages in $SITE_DIR (PYTHONPATH set); kernel 'python3' registered"
