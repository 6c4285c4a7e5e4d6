"""Time one training step of the MNIST CGN (generator and discriminator update, batch 16) per variant.

    python benchmarks/bench_cgn.py --ngf 32 16 --steps 20 --json benchmarks/results/cgn_cpu2.json

Reports wall seconds and process CPU seconds per step (on a shared machine the CPU time is the stabler
number) and steps per second, after ``--warmup`` untimed steps. Random images stand in for the data:
the cost of a step does not depend on pixel values. A paper-length run is 46,875 steps.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from lib.cgn import losses as L
from lib.cgn import training as T
from lib.core.device import device_name, pick_device


def time_steps(variant: str, ngf: int, steps: int, warmup: int, device) -> dict:
    torch.manual_seed(0)
    cgn, disc = (m.to(device) for m in T.build_models(variant, ngf))
    style_net = L.StyleNet().to(device)
    x = torch.rand(1000, 3, 32, 32, device=device) * 2 - 1
    y = torch.randint(10, (1000,), device=device)
    opt_g = torch.optim.Adam(cgn.parameters(), lr=T.LR, betas=T.BETAS)
    opt_d = torch.optim.Adam(disc.parameters(), lr=T.LR, betas=T.BETAS)
    weights, blocks = T.default_losses(variant), T.VARIANT_SETTINGS[variant]["style_blocks"]
    step = lambda: T.train_step(cgn, disc, style_net, x, y, 16, weights, blocks, opt_g, opt_d)  # noqa: E731
    for _ in range(warmup):
        step()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    sync()
    wall, cpu = (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps
    return {"variant": variant, "ngf": ngf, "wall_s_per_step": wall, "cpu_s_per_step": cpu,
            "steps_per_s": 1 / wall, "paper_run_hours_at_this_rate": 46_875 * wall / 3600}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--variants", nargs="+", default=["colored", "double_colored", "wildlife"])
    parser.add_argument("--ngf", nargs="+", type=int, default=[32, 16])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    device = pick_device(args.device)
    rows = [time_steps(v, n, args.steps, args.warmup, device) for v in args.variants for n in args.ngf]
    print(f"device: {device_name(device)}")
    for r in rows:
        print(f"{r['variant']:>15} ngf {r['ngf']:>2}: {r['wall_s_per_step'] * 1000:7.1f} ms wall, "
              f"{r['cpu_s_per_step'] * 1000:7.1f} ms CPU per step, {r['steps_per_s']:6.2f} steps/s, "
              f"paper run {r['paper_run_hours_at_this_rate']:.1f} h")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"device": device_name(device), "torch": torch.__version__, "results": rows}, handle, indent=1)


if __name__ == "__main__":
    main()
