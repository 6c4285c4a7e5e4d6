"""Benchmark of the GCE information-flow estimator: one batched pass (lib.gce) vs the original per-alpha loop.

At the paper's size (K=1, L=7, N_alpha * N_beta = 100 * 25, M=2, random-init networks) it times
forward + backward of the causal term, batched (optionally in chunks) and as a per-alpha loop, one full
GCE training step (VAE batch of 64 + causal term + Adam), checks that both estimators agree on the same
latent draws, and counts FLOPs to report achieved GFLOP/s, also as a share of a float32 matmul (1024²)
timed in the same run.

    python benchmarks/bench_gce.py [--device cpu|cuda|auto] [--threads N] [--n-alpha 100 --n-beta 25]
                                   [--repeats 5] [--chunks 0,100,250,1250] [--contiguous] [--no-mkldnn]
                                   [--keep-heap] [--skip-train] [--json out.json]

``--chunks``: 0 means one batch of all N_alpha * N_beta samples.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lib.gce import EPS, flow_from_probs, information_flow, train_gce, vae_terms  # noqa: E402
from lib.gce.models import VAE, CNNClassifier  # noqa: E402
from rates import matmul  # noqa: E402

K, L, M, BATCH = 1, 7, 2, 64


def entropy(p: torch.Tensor) -> torch.Tensor:
    return -(p * (p + EPS).log()).sum(-1)


def loop_flow(decoder, classifier, z_per_alpha) -> torch.Tensor:
    """The original estimator: one decoder/classifier call per alpha, each on its N_beta samples.

    ``z_per_alpha`` yields one (n_beta, K + L) latent tensor per alpha value.
    """
    p_y_given_alpha = torch.stack([classifier(decoder(z)).mean(0) for z in z_per_alpha])
    return entropy(p_y_given_alpha.mean(0)) - entropy(p_y_given_alpha).mean()


def fresh_latents(n_alpha: int, n_beta: int, device, gen: torch.Generator):
    """Latents drawn inside the loop, one alpha at a time, as the original code did."""
    for _ in range(n_alpha):
        alpha = torch.randn(1, K, device=device, generator=gen).expand(n_beta, K)
        yield torch.cat([alpha, torch.randn(n_beta, L, device=device, generator=gen)], dim=1)


def timed(fns: dict, repeats: int, device: torch.device) -> dict:
    """Wall times of each function over ``repeats`` rounds, after one warm-up call each.

    The variants take turns within each round, so background load hits all of them alike.
    """
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times = {name: [] for name in fns}
    for name, fn in fns.items():
        fn()
        sync()
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return times


def count_flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads (default: all cores)")
    parser.add_argument("--n-alpha", type=int, default=100)
    parser.add_argument("--n-beta", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunks", default="0,100,250,1250", help="comma-separated; 0 = one batch")
    parser.add_argument("--contiguous", action="store_true",
                        help="networks in the contiguous (NCHW) layout instead of the library's channels-last")
    parser.add_argument("--no-mkldnn", action="store_true", help="torch.backends.mkldnn.enabled = False")
    parser.add_argument("--keep-heap", action="store_true",
                        help="glibc mallopt: serve big buffers from the heap and never trim it (see README)")
    parser.add_argument("--skip-train", action="store_true", help="skip the training-step timings")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)

    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    if args.no_mkldnn:
        torch.backends.mkldnn.enabled = False
    if args.keep_heap:  # freed activations stay in the heap and are reused, not unmapped and re-faulted
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
        args.keep_heap = bool(libc.mallopt(m_mmap_threshold, 1 << 30)
                              and libc.mallopt(m_trim_threshold, (1 << 31) - 1))
    chunks = [int(c) for c in args.chunks.split(",") if c.strip()]
    na, nb = args.n_alpha, args.n_beta
    torch.manual_seed(0)
    vae, classifier = VAE(K, L).to(device), CNNClassifier(M).to(device).eval().requires_grad_(False)
    if args.contiguous:
        vae, classifier = (m.to(memory_format=torch.contiguous_format) for m in (vae, classifier))
    channels_last = vae.decoder.net[3].weight.is_contiguous(memory_format=torch.channels_last)
    decoder = vae.decoder
    with torch.no_grad():  # sharpen the random classifier so that the flow is not ~0 (timings unaffected)
        last = classifier.body[-1]
        last.weight.mul_(3000)
        last.bias.sub_(classifier.logits(decoder(torch.randn(500, K + L, device=device))).mean(0))
    x_train = torch.rand(1024, 1, 28, 28, device=device)
    gen = torch.Generator(device=device).manual_seed(1)

    def flow_step(chunk: int):  # the causal term's forward + backward through the decoder
        def run():
            vae.zero_grad(set_to_none=True)
            flow = information_flow(decoder, classifier, K, L, na, nb, generator=gen, chunk=chunk)
            (-flow).backward()
        return run

    def loop_step():
        vae.zero_grad(set_to_none=True)
        (-loop_flow(decoder, classifier, fresh_latents(na, nb, device, gen))).backward()

    opt = torch.optim.Adam(vae.parameters(), lr=1e-4, betas=(0.5, 0.999))

    def library_step(chunk: int):  # one step of lib.gce.train_gce itself, lam = 0.05
        return lambda: train_gce(vae, classifier, x_train, 0.05, 1, BATCH, 1e-4, na, nb, seed=0, chunk=chunk,
                                 progress=False)

    def loop_train_step(causal_term):  # the per-alpha loop in a step like train_gce's
        def run():
            x = x_train[torch.randint(len(x_train), (BATCH,), device=device, generator=gen)]
            sse, kl = vae_terms(vae, x)
            loss = -causal_term() + 0.05 * (sse + kl)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return run

    # 1. both estimators on identical latent draws
    z = torch.randn(na, nb, K + L, device=device, generator=gen)
    z[..., :K] = z[:, :1, :K]  # one alpha per row, shared by its n_beta samples
    with torch.no_grad():
        batched_value = flow_from_probs(classifier(decoder(z.reshape(-1, K + L))).reshape(na, nb, M))
        loop_value = loop_flow(decoder, classifier, z.unbind(0))
    max_abs_diff = (batched_value - loop_value).abs().max().item()

    # 2. timings and FLOPs
    variants = {f"flow batched (chunk={c})" if c else "flow batched": flow_step(c) for c in chunks}
    variants["flow per-alpha loop"] = loop_step
    if not args.skip_train:
        variants.update({f"train batched (chunk={c})" if c else "train batched": library_step(c) for c in chunks})
        variants["train per-alpha loop"] = loop_train_step(lambda: loop_flow(decoder, classifier,
                                                                             fresh_latents(na, nb, device, gen)))
    variants["matmul"], mm_flop = matmul(device)
    load_before = "%.2f" % os.getloadavg()[0] if hasattr(os, "getloadavg") else "n/a"
    flops = {name: count_flops(fn) for name, fn in variants.items() if name != "matmul"}
    times = timed(variants, args.repeats, device)
    mm_rate = mm_flop / 1e9 / statistics.median(times.pop("matmul"))
    rows = []
    for name, t in times.items():
        seconds = statistics.median(t)
        rows.append({"variant": name, "seconds": seconds, "min_seconds": min(t), "times": t,
                     "gflop": flops[name] / 1e9, "gflops": flops[name] / 1e9 / seconds,
                     "efficiency": flops[name] / 1e9 / seconds / mm_rate})
    for row in rows:
        loop = next(r for r in rows if r["variant"] == row["variant"].split(" ")[0] + " per-alpha loop")
        row["loop_over_this"] = loop["seconds"] / row["seconds"]

    print(f"device={device} torch={torch.__version__} threads={torch.get_num_threads()} "
          f"mkldnn={torch.backends.mkldnn.enabled} channels_last={channels_last} "
          f"keep_heap={args.keep_heap} N_alpha={na} N_beta={nb} repeats={args.repeats} "
          f"load_before={load_before} matmul 1024²: {mm_rate:.1f} GFLOP/s")
    print(f"flow on identical draws: batched={batched_value.item():.8f} loop={loop_value.item():.8f} nats, "
          f"max |diff|={max_abs_diff:.2e}")
    print(f"{'variant':28s} {'s/call':>7s} {'min s':>7s} {'GFLOP':>6s} {'GFLOP/s':>8s} {'of mm':>6s} {'loop/this':>9s}")
    for r in rows:
        print(f"{r['variant']:28s} {r['seconds']:7.3f} {r['min_seconds']:7.3f} {r['gflop']:6.1f} "
              f"{r['gflops']:8.1f} {r['efficiency']:6.2f} {r['loop_over_this']:9.2f}")
    result = {"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "mkldnn": torch.backends.mkldnn.enabled, "channels_last": channels_last,
              "keep_heap": args.keep_heap, "n_alpha": na, "n_beta": nb, "repeats": args.repeats,
              "load_before": load_before, "matmul_gflop_per_s": mm_rate, "max_abs_diff": max_abs_diff,
              "flow_batched": batched_value.item(), "flow_loop": loop_value.item(), "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
