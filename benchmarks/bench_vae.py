"""Time one training step of label-free claim 3's VAEs (lib.labelfree.training.train_disentangled_vae) beside
a float32 matmul in the same run: MNIST (32 px, batch 300), dSprites (64 px, batch 500) and MNIST with seed 003's
attribution prior (one GradientShap draw), in the channels-last layout the library uses and in the plain one.

    python benchmarks/bench_vae.py --threads 1 --json benchmarks/results/vae_cpu1.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lib.labelfree.models import DisentangledVAE  # noqa: E402
from lib.labelfree.reference import LABELFREE_CLAIM3  # noqa: E402
from lib.labelfree.training import train_disentangled_vae  # noqa: E402
from rates import matmul  # noqa: E402

# (name, image size, latent units, batch, prior weight, training images of the cpu profile or the paper)
CASES = [("mnist", 32, 3, 300, 0.0, 10_000), ("dsprites", 64, 6, 500, 0.0, 737_280),
         ("mnist, prior", 32, 3, 300, 0.01, 10_000)]


def epoch(size, latent, batch, tv_weight, layout, steps):
    """An epoch of ``steps`` training steps of train_disentangled_vae on random binary images."""
    x = (torch.rand(batch * steps, 1, size, size, generator=torch.Generator().manual_seed(0)) > 0.7).to(torch.uint8)
    model = DisentangledVAE(size, latent).to(memory_format=layout)
    return lambda: train_disentangled_vae(model, x, "beta", 1.0, 1, batch, tv_weight, 1, progress=False)


def seconds(fn, calls: int, rounds: int) -> float:
    """Median over ``rounds`` of the mean wall time of ``calls`` calls, after a warm-up call."""
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="the pages run on one thread each")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    product, product_flop = matmul("cpu")
    matmul_rate = product_flop / seconds(product, 20, args.rounds) / 1e9
    rows = []
    for name, size, latent, batch, tv_weight, images in CASES:
        for layout_name, layout in (("channels-last", torch.channels_last), ("plain", torch.contiguous_format)):
            run = epoch(size, latent, batch, tv_weight, layout, args.steps)
            wall = seconds(run, 1, args.rounds) / args.steps
            gflop = None
            if not tv_weight:  # the FLOP counter cannot follow the prior's autograd.grad with create_graph
                with FlopCounterMode(display=False) as counter:
                    run()
                gflop = counter.get_total_flops() / 1e9 / args.steps
            epoch_steps = -(-images // batch)
            rows.append({"variant": name, "layout": layout_name, "batch": batch, "wall_s_per_step": wall,
                         "gflop_per_step": gflop, "gflop_per_s": gflop and gflop / wall,
                         "efficiency": gflop and gflop / wall / matmul_rate,
                         "hours_per_vae_at_100_epochs": wall * epoch_steps * LABELFREE_CLAIM3["epochs"] / 3600,
                         "training_images": images})
            print(rows[-1], flush=True)
    result = {"benchmark": "labelfree_vae_steps", "device": "cpu", "cpu": platform.processor() or platform.machine(),
              "torch": torch.__version__, "threads": args.threads, "steps": args.steps, "rounds": args.rounds,
              "load_before": round(load_before, 2), "matmul_gflop_per_s": matmul_rate, "results": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
