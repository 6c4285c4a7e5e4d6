"""Train the models that a page loads and publish them into weights/<paper>/ (lib.core.stored), so that a
training longer than one session's machine can be split over sessions and the pages load instead of training.

Each model trains into a private cache (a folder under --work named by the command's arguments), so that the files
this command wrote are known even beside other trainings; a finished model is published at once, with what it is in
words. An interrupted command, run again, finds in that folder the models it had finished (the one in training starts
over); the folder is removed when everything is published. Commit
weights/ afterwards. Run from the repository root with REPRO_DATA set, and OMP_NUM_THREADS as the pages use
(1 under the runner): a classifier's weights, and so the keys of the explainers trained against it, can depend
on the thread count.

    python tools/publish_models.py cgn double_colored 0          # the paper-length CGN (46,875 steps, width 32)
    python tools/publish_models.py gan double_colored 0          # the paper-length GAN baseline
    python tools/publish_models.py gce mnist_3_8 qmc 8000 16 5 0 1 2 --batch-size 64 --lr 5e-4
    python tools/publish_models.py gce mnist_3_8 qmc 8000 16 5 0 --batch-size 64 --lr 5e-4 --k 1 --l 9 --lam 0.001
    python tools/publish_models.py page labelfree_disentangle -p seeds "[1]"   # what one seed of a page trains

``page`` runs one output of a profile through lib.report.runner into a scratch folder (--work; the book's page and
records are not touched) and publishes every model that run trained: a page too long for one session is
published seed by seed (-p seeds), then runs in one session from the stored models. Its models are kept in float32
unless --half, and classifiers always are: a later cache key may fingerprint them (as a GCE explainer's does its
classifier).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def private_cache(work: Path, args: argparse.Namespace) -> Path:
    """The private cache of one command, named by what it trains (every argument but --work); absolute, as a
    page runs in a process started in the repository root."""
    what = {name: value for name, value in sorted(vars(args).items()) if name != "work"}
    return (work / f"{args.kind}-{hashlib.sha256(repr(what).encode()).hexdigest()[:12]}").resolve()


def halved(half: bool):
    """Which published files are halved: with ``half``, all but classifiers, whose weights later cache keys
    fingerprint (a GCE explainer's key does its classifier's), so they stay exactly as trained."""
    return lambda name: half and not name.startswith("classifier-")


def _publish(paper: str, cache: Path, what, half=halved(True)) -> None:
    from lib.core import stored
    for entry in sorted(cache.glob("*.pt")):
        record = stored.publish(paper, entry, what(entry.name), half=half(entry.name))
        print(f"published {entry.name}: {record['bytes'] / 1e6:.1f} MB, {record['training seconds']} s", flush=True)
        entry.unlink()


def _publish_page(output: str, profile: str, params: list, cache: Path, work: Path, threads: str, half: bool):
    """Run ``output`` of ``profile`` with ``params`` into a scratch folder, then publish what it trained."""
    notebook = output.split("-")[0]
    scratch = Path(tempfile.mkdtemp(prefix=f"{output}-", dir=work)).resolve()
    command = [sys.executable, "-m", "lib.report.runner", notebook, "--profile", profile, "--only", output,
               "--out", str(scratch), "--force", "--no-progress",
               *(x for name, value in params for x in ("-p", name, value))]
    subprocess.run(command, check=True, cwd=Path(__file__).resolve().parents[1])
    shutil.rmtree(scratch)   # the executed scratch page is not the book's; only its models are kept
    settings = "".join(f", {name} = {value}" for name, value in params)
    _publish(notebook.split("_")[0], cache, lambda entry: f"trained by the {output} page ({profile} profile"
             f"{settings}); trained on {threads}", half=halved(half))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["cgn", "gan", "gce", "page"])
    parser.add_argument("args", nargs="+",
                        help="cgn/gan: VARIANT SEED; gce: DATASET SAMPLER STEPS NALPHA NBETA SEED...; page: OUTPUT")
    parser.add_argument("--batch-size", type=int, help="gce: batch size (default: the paper's)")
    parser.add_argument("--lr", type=float, help="gce: learning rate (default: the paper's)")
    for name, kind in (("k", int), ("l", int), ("lam", float)):
        parser.add_argument(f"--{name}", type=kind, help=f"gce: the explainer's {name} (default: the paper's)")
    parser.add_argument("--profile", default="cpu", help="page: the profile (default %(default)s)")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="page: override one of the output's parameters (YAML), as the runner's -p")
    parser.add_argument("--half", action="store_true", help="page: store in half precision (classifiers stay float32)")
    parser.add_argument("--work", default=".cache/publish", help="where the private caches go")
    args = parser.parse_args(argv)
    cache = private_cache(Path(args.work), args)
    cache.mkdir(parents=True, exist_ok=True)
    print(f"private cache: {cache} (run the same command again to resume)", flush=True)
    os.environ["REPRO_CACHE"] = str(cache)   # before lib reads it
    _train_and_publish(args, cache)
    shutil.rmtree(cache)


def _train_and_publish(args: argparse.Namespace, cache: Path) -> None:
    threads = f"{os.environ.get('OMP_NUM_THREADS', 'all')} thread(s)"
    if args.kind == "page":
        _publish_page(args.args[0], args.profile, args.param, cache, Path(args.work), threads, args.half)
        return
    import torch

    if args.kind in ("cgn", "gan"):
        from lib.cgn.experiments import trained_cgn, variant_split
        from lib.cgn.gan import fit_gan
        from lib.cgn.training import PAPER_STEPS
        variant, seed = args.args[0], int(args.args[1])
        device = torch.device("cpu")
        data = f"{variant} MNIST (its biased training split), seed {seed}, the paper's {PAPER_STEPS:,} steps"
        if args.kind == "cgn":
            trained_cgn(variant, seed, device, steps=PAPER_STEPS, ngf=32)
            name = f"CGN of {data} at width 32"
        else:
            fit_gan(*variant_split(variant, "train", device), steps=PAPER_STEPS, seed=seed)
            name = f"GAN baseline of {data}"
        _publish("cgn", cache, lambda _: f"{name}; trained on {threads}")
        return

    from lib.core.data import image_splits
    from lib.gce import experiments
    from lib.gce.method import fit_classifier, fit_explainer
    dataset, sampler = args.args[:2]
    steps, n_alpha, n_beta = map(int, args.args[2:5])
    extra = {name: getattr(args, name) for name in ("batch_size", "lr", "k", "l", "lam")
             if getattr(args, name) is not None}
    s = experiments.run_settings(dataset, None, steps, n_alpha, n_beta, **extra)
    data = image_splits(s["dataset"], s["classes"], device=torch.device("cpu"))
    for seed in map(int, args.args[5:]):
        classifier = fit_classifier(*data.train, len(s["classes"]), s["classifier_epochs"], seed, data.train_fraction,
                                    progress=False)
        fit_explainer(classifier.model, data.train[0], s["k"], s["l"], s["lam"], steps, s["batch_size"], s["lr"],
                      n_alpha, n_beta, seed, progress=False, sampler=sampler)
        _publish("gce", cache, lambda entry: (
            f"GCE explainer for {dataset} (K = {s['k']}, L = {s['l']}, λ = {s['lam']}, seed {seed}, {steps} steps, "
            f"Nα × Nβ = {n_alpha} × {n_beta}, {sampler} training sampler, batch {s['batch_size']}, lr {s['lr']}); "
            f"trained on {threads}"
            if entry.startswith("gce-") else
            f"the paper's CNN classifier for {dataset} (seed {seed}, {s['classifier_epochs']} epochs, float32: the "
            f"explainers' cache keys fingerprint its weights); trained on {threads}"),
            half=halved(True))


if __name__ == "__main__":
    main()
