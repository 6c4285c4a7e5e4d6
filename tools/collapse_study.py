"""Seed 004's mask-collapse study (colored MNIST, one CGN per seed with and without the edge loss) as one
command for a short GPU lease: the generators train side by side in worker processes sharing one device, into
the model cache under the keys the page uses; then the page ``cgn_counterfactuals-colored_collapse`` of the
``paper`` profile runs from them through lib.report.runner and writes its page, records and run log into one
archive.

A probe first trains every worker for ``--probe-steps`` at once (into a scratch cache) to measure the step
time under that load; the runs then get the most steps (a multiple of 500, or all of ``--steps``, the paper's
46,875) that let every worker finish inside ``--budget`` seconds with ``--page-seconds`` left for the page.
Where fewer than ``--min-steps`` fit, it stops before training and says so. The page records the steps the
runs had. On the GPU machine, from the repository root, with the wheels of tools/fetch_device_wheels.sh in .whl/
and MNIST copied into the git-ignored data/ (``cp -r $REPRO_DATA/MNIST data/``), both carried::

    . tools/device_setup.sh
    REPRO_DATA=$PWD/data python3 tools/collapse_study.py --device cuda --workers 20 --budget 500 \\
        --report $OUT/collapse_timing.json --archive $OUT/collapse.tar.gz

The CPU dry run of the tests (2 runs of 50 steps, no page)::

    python tools/collapse_study.py --device cpu --seeds 1 --steps 50 --min-steps 50 --multiple 50 --ngf 4 \\
        --workers 2 --no-page
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VARIANT = "colored"
OUTPUT = "cgn_counterfactuals-colored_collapse"


def steps_that_fit(seconds_per_step: float, runs: int, workers: int, seconds_left: float, cap: int,
                   multiple: int = 500) -> int:
    """The most steps per run, a multiple of ``multiple`` or ``cap`` itself, with which ``runs`` runs shared
    out over ``workers`` processes (each step taking ``seconds_per_step`` under that load) end within
    ``seconds_left``; 0 when not even ``multiple`` steps fit."""
    rounds = math.ceil(runs / workers)
    fit = int(seconds_left / (rounds * seconds_per_step) // multiple * multiple)
    return min(cap, fit)


def _train(seed: int, arm: str, steps: int, ngf: int, device: str, cache: str, threads: int) -> dict:
    """One run of the study, trained (or loaded) in a worker process; its key, whether cached, and timing."""
    os.environ["REPRO_CACHE"] = cache
    import torch
    torch.set_num_threads(threads)
    from lib.cgn.experiments import EDGE_CONFIGURATIONS, trained_cgn
    fit = trained_cgn(VARIANT, seed, torch.device(device), steps=steps, ngf=ngf, losses=EDGE_CONFIGURATIONS[arm],
                      progress=False)
    return {"seed": seed, "arm": arm, "steps": steps, "cached": fit.cached,
            "seconds per step": fit.history["seconds"] / fit.history["steps"]}


def train_runs(runs: list[tuple[int, str]], steps: int, ngf: int, device: str, cache: str, workers: int) -> list:
    """Train ``runs`` ((seed, arm) pairs) for ``steps`` in ``workers`` spawned processes (CUDA needs spawn)."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        jobs = [pool.submit(_train, seed, arm, steps, ngf, device, cache, threads) for seed, arm in runs]
        done = []
        for job in jobs:
            done.append(job.result())
            print(f"  run {len(done)}/{len(runs)}: seed {done[-1]['seed']}, {done[-1]['arm']}, "
                  f"{done[-1]['seconds per step'] * 1e3:.1f} ms per step", flush=True)
    return done


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--seeds", type=int, default=20, help="runs per arm, seeds 0..N-1 (seed 004: 20)")
    parser.add_argument("--steps", type=int, default=46875, help="most steps per run (the paper's 46,875)")
    parser.add_argument("--ngf", type=int, default=32, help="base width of the mechanisms (paper 32)")
    parser.add_argument("--workers", type=int, default=20, help="processes training side by side")
    parser.add_argument("--budget", type=float, default=500, help="seconds for probe, training and page")
    parser.add_argument("--page-seconds", type=float, default=150, help="kept for the page after training")
    parser.add_argument("--probe-steps", type=int, default=100)
    parser.add_argument("--min-steps", type=int, default=2000, help="stop before training if fewer fit")
    parser.add_argument("--multiple", type=int, default=500, help="steps are a multiple of this")
    parser.add_argument("--no-page", action="store_true", help="train only (the CPU dry run)")
    parser.add_argument("--report", type=Path, help="write the timing and the steps chosen here (JSON)")
    parser.add_argument("--archive", type=Path, help="the runner's archive of the page, records and run log")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.workers < 1 or args.steps < 1 or args.probe_steps < 1:
        parser.error("--seeds, --workers, --steps and --probe-steps must be positive")
    if not args.no_page and args.ngf != 32:
        parser.error("the page's CGNs have the paper's width 32: give --ngf 32, or --no-page")
    if not os.environ.get("REPRO_DATA"):
        parser.error("set REPRO_DATA to the data root (see the docstring)")
    begin = time.perf_counter()
    from lib.core.cache import cache_dir
    from lib.cgn.experiments import EDGE_CONFIGURATIONS
    runs = [(seed, arm) for arm in EDGE_CONFIGURATIONS for seed in range(args.seeds)]
    workers = min(args.workers, len(runs))

    print(f"probe: {workers} workers x {args.probe_steps} steps on {args.device}", flush=True)
    with tempfile.TemporaryDirectory() as scratch:   # probe models are not the study's: a throw-away cache
        probe = train_runs(runs[:workers], args.probe_steps, args.ngf, args.device, scratch, workers)
    per_step = max(run["seconds per step"] for run in probe)
    left = args.budget - (time.perf_counter() - begin) - (0 if args.no_page else args.page_seconds)
    steps = steps_that_fit(per_step, len(runs), workers, left, args.steps, args.multiple)
    report = {"device": args.device, "workers": workers, "runs": len(runs), "ngf": args.ngf,
              "probe seconds per step": per_step, "seconds left for training": left, "steps": steps}
    print(f"{per_step * 1e3:.1f} ms per step with {workers} workers: {steps} steps per run fit in {left:.0f} s",
          flush=True)
    if steps < args.min_steps:
        raise SystemExit(f"only {steps} steps per run fit in the budget (at least {args.min_steps} asked): "
                         "give more --budget or --workers, or fewer --seeds")

    trained = train_runs(runs, steps, args.ngf, args.device, str(cache_dir()), workers)
    report.update({"training seconds": time.perf_counter() - begin, "trained": trained})
    if not args.no_page:
        command = [sys.executable, "-m", "lib.report.runner", "cgn_counterfactuals", "--profile", "paper",
                   "--only", OUTPUT, "--force", "--no-progress", "-p", "collapse_seeds", str(list(range(args.seeds))),
                   "-p", "collapse_steps", str(steps), *(["--archive", str(args.archive)] if args.archive else [])]
        report["page returncode"] = subprocess.run(command, cwd=ROOT).returncode
    report["seconds"] = time.perf_counter() - begin
    if args.report:
        args.report.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
