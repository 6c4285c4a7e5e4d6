"""Time label-free Influence Functions at the paper's size: N = 1,000 training × M = 1,000 test examples on
the MNIST denoising autoencoder (encoder 43,428 parameters), as in claim 2.

    python benchmarks/bench_labelfree.py --threads 2 --json benchmarks/results/labelfree_cpu2.json

Stages: per-example encoder gradients of the training and test images (torch.func vmap + grad), the
Gauss-Newton factors of the curvature (4 rows per curvature example), and the exact damped Woodbury
solve (lib.labelfree.examples). For comparison it times a per-example autograd loop (the original code's
structure) on ``--loop-examples`` images and extrapolates it to the 2,000 gradients; the original's LiSSA
recursion needs, on top of that, 100 Hessian-vector products per training example.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch
import torch.nn.functional as F

from lib.labelfree.examples import gauss_newton_factors, influence_scores, per_example_gradients
from lib.labelfree.models import mnist_autoencoder


def load_images(n: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    try:
        from lib.core.data import image_splits

        data = image_splits("mnist", range(10), download=False)
        return data.train[0][:n], data.test[0][:n], "MNIST images"
    except Exception as err:  # no data: timings do not depend on pixel values
        print(f"MNIST not found ({err}); random images")
        return torch.rand(n, 1, 28, 28), torch.rand(n, 1, 28, 28), "random images"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="training and test examples")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--damping", type=float, default=1.0)
    parser.add_argument("--loop-examples", type=int, default=100)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = mnist_autoencoder().eval()
    train, test, source = load_images(args.n)
    load_before = os.getloadavg()[0]
    stages, start = {}, time.perf_counter()
    tick = time.perf_counter()
    g_train = per_example_gradients(model, train)
    g_test = per_example_gradients(model, test)
    stages["per-example gradients (2N)"] = time.perf_counter() - tick
    tick = time.perf_counter()
    factors = gauss_newton_factors(model, train)
    stages["Gauss-Newton factors"] = time.perf_counter() - tick
    tick = time.perf_counter()
    scores = influence_scores(g_test, g_train, factors, len(train), args.damping)
    stages["Woodbury solve and scores"] = time.perf_counter() - tick
    total = time.perf_counter() - start
    tick = time.perf_counter()
    params = list(model.encoder.parameters())
    for x in train[:args.loop_examples]:
        torch.autograd.grad(F.mse_loss(model(x[None]), x[None]), params)
    loop = (time.perf_counter() - tick) / args.loop_examples * 2 * args.n
    result = {"benchmark": "labelfree_influence", "device": "cpu", "cpu": platform.processor() or platform.machine(),
              "torch": torch.__version__, "threads": args.threads, "n_train": args.n, "n_test": args.n,
              "parameters": sum(p.numel() for p in params), "factor_rows": factors.shape[0], "data": source,
              "damping": args.damping, "load_before": round(load_before, 2),
              "stages": {k: round(v, 2) for k, v in stages.items()}, "total_seconds": round(total, 2),
              "loop_gradients_seconds_extrapolated": round(loop, 1),
              "scores_finite": bool(torch.isfinite(scores).all())}
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
