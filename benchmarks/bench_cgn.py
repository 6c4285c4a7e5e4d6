"""Time one training step of the MNIST CGN per variant (generator and discriminator update, batch 16), of the
GAN baseline and of the invariant classifier, beside a float32 matmul measured in the same run.

    python benchmarks/bench_cgn.py --threads 2 --json benchmarks/results/cgn_cpu2.json

Per row: wall and process CPU seconds per step (median over ``--rounds`` rounds of ``--steps`` steps, after
``--warmup`` untimed steps; the rows take turns in each round, so background load hits them alike), the
FLOPs of one step (``torch.utils.flop_counter``: what the step executes) and the achieved GFLOP/s, and
``efficiency``, that rate over the matmul's. Random images stand in for the data: the cost of a step does not
depend on pixel values. A paper-length CGN run is 46,875 steps; the classifier's 10 epochs on 10⁵
counterfactual images are 15,630 steps of batch 64.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from lib.cgn import classifier as C
from lib.cgn import gan as G
from lib.cgn import losses as L
from lib.cgn import training as T
from lib.core.device import device_name, pick_device
from rates import matmul

PAPER_STEPS = {"cgn": T.PAPER_STEPS, "gan": T.PAPER_STEPS, "classifier": 10 * -(-100_000 // 64)}


def cgn_step(variant: str, ngf: int, device):
    """The library's CGN step with the optimisers ``train_cgn`` builds."""
    torch.manual_seed(0)
    cgn, disc = (m.to(device) for m in T.build_models(variant, ngf))
    style_net = L.StyleNet().to(device)
    x = torch.rand(1000, 3, 32, 32, device=device) * 2 - 1
    y = torch.randint(10, (1000,), device=device)
    weights, blocks = T.default_losses(variant), T.VARIANT_SETTINGS[variant]["style_blocks"]
    opt_g, opt_d = T.adam(cgn), T.adam(disc)
    return lambda: T.train_step(cgn, disc, style_net, x, y, 16, weights, blocks, opt_g, opt_d)


def gan_step(device):
    torch.manual_seed(0)
    pair = G.GANPair().to(device).train()
    settings = G.GAN_SETTINGS
    opt_g, opt_d = (T.adam(m, settings["lr"], settings["betas"]) for m in (pair.generator, pair.discriminator))
    batch = settings["batch_size"]
    real, labels = torch.rand(batch, 3, 32, 32, device=device), torch.randint(10, (batch,), device=device)
    return lambda: G.gan_step(pair, opt_g, opt_d, real, labels, torch.randn(batch, settings["latent"], device=device))


def classifier_step(device):
    torch.manual_seed(0)
    model = C.InvariantClassifier().to(device).train()
    opt = torch.optim.Adadelta(model.parameters(), lr=C.PAPER_SCHEDULE["lr"])
    batch = C.PAPER_SCHEDULE["batch_size"]
    x, y = torch.rand(batch, 3, 32, 32, device=device), torch.randint(10, (batch,), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads (default: all cores)")
    parser.add_argument("--variants", nargs="+", default=["colored", "double_colored", "wildlife"])
    parser.add_argument("--ngf", nargs="+", type=int, default=[32])
    parser.add_argument("--extras", nargs="*", default=["gan", "classifier"], choices=["gan", "classifier"])
    parser.add_argument("--steps", type=int, default=5, help="steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    device = pick_device(args.device)
    torch.set_num_threads(args.threads)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    mm, mm_flop = matmul(device)
    steps = {("matmul", 0): mm}
    steps.update({(v, n): cgn_step(v, n, device) for v in args.variants for n in args.ngf})
    if "gan" in args.extras:
        steps["gan", G.GAN_SETTINGS["ngf"]] = gan_step(device)
    if "classifier" in args.extras:
        steps["classifier", 0] = classifier_step(device)
    flops = {}
    for key, step in steps.items():
        for _ in range(args.warmup):
            step()
        with FlopCounterMode(display=False) as counter:
            step()
        flops[key] = counter.get_total_flops() if key[0] != "matmul" else mm_flop
    load_before = os.getloadavg()[0]
    wall, cpu = {key: [] for key in steps}, {key: [] for key in steps}
    for _ in range(args.rounds):
        for key, step in steps.items():
            sync()
            w, c = time.perf_counter(), time.process_time()
            for _ in range(args.steps):
                step()
            sync()
            wall[key].append((time.perf_counter() - w) / args.steps)
            cpu[key].append((time.process_time() - c) / args.steps)
    mm_rate = flops["matmul", 0] / statistics.median(wall["matmul", 0]) / 1e9
    rows = []
    for (name, ngf), times in wall.items():
        if name == "matmul":
            continue
        seconds = statistics.median(times)
        kind = name if name in PAPER_STEPS else "cgn"
        rows.append({"variant": name, "ngf": ngf, "wall_s_per_step": seconds, "min_wall_s_per_step": min(times),
                     "cpu_s_per_step": statistics.median(cpu[name, ngf]), "gflop_per_step": flops[name, ngf] / 1e9,
                     "gflop_per_s": flops[name, ngf] / seconds / 1e9, "efficiency": flops[name, ngf] / seconds / 1e9 / mm_rate,
                     "paper_steps": PAPER_STEPS[kind], "paper_run_hours_at_this_rate": PAPER_STEPS[kind] * seconds / 3600})
    print(f"device: {device_name(device)}, {args.threads} threads, matmul 1024² {mm_rate:.1f} GFLOP/s, "
          f"load average before {load_before:.2f}")
    for r in rows:
        print(f"{r['variant']:>15} ngf {r['ngf']:>2}: {r['wall_s_per_step'] * 1000:7.1f} ms wall, "
              f"{r['cpu_s_per_step'] * 1000:7.1f} ms CPU per step, {r['gflop_per_step']:5.2f} GFLOP, "
              f"{r['gflop_per_s']:6.1f} GFLOP/s = {r['efficiency']:.2f} of the matmul, "
              f"paper run {r['paper_run_hours_at_this_rate']:.2f} h")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"benchmark": "cgn_steps", "device": device_name(device), "torch": torch.__version__,
                       "threads": args.threads, "steps": args.steps, "rounds": args.rounds,
                       "load_before": round(load_before, 2), "matmul_gflop_per_s": mm_rate, "results": rows},
                      handle, indent=1)


if __name__ == "__main__":
    main()
