"""Training the MNIST CGN against the real biased images, with checkpoints and the model cache.

Per step (as the original ``train_cgn.py``): draw labels uniformly, generate a batch, update the
generator with the weighted sum of its losses, then the discriminator on the real batch and the detached
fakes. Adam 2e-4, betas (0.5, 0.999) for both, batch 16. Deviation: the real batch is drawn with
replacement instead of by epoch-wise shuffling (it makes resumption exact with one random stream).
"""
from __future__ import annotations

import time

import torch
from tqdm.auto import tqdm

from . import losses as L
from . import model as M
from lib.core.cache import atomic_save, cache_dir, cache_key, fingerprint, load_or_train, load_stored
from lib.core.train import seed_everything
from lib.core.device import pick_device
from .variants import VARIANTS, counterfactual_mnist

LOSS_NAMES = ("adversarial", "mask_entropy", "style", "edge")
HISTORY_NAMES = LOSS_NAMES + ("discriminator",)
LR, BETAS = 2e-4, (0.5, 0.999)
PAPER_STEPS = 15 * 50_000 // 16  # 15 epochs of the original's 50k training images, batch 16 (46,875)

# Per-variant settings of the original configs (mnists/experiments/cgn_*/cfg.yaml). "style_blocks" are
# the per-block weights of the Gram loss (VGG16 blocks 1-4 in the original; our random net's blocks here).
VARIANT_SETTINGS = {
    "colored": {"mask_entropy": 0.1, "style_blocks": (0.05, 0.1, 0.01, 0.0), "discriminator": "linear",
                "init": "orthogonal", "init_gain": 0.1},
    "double_colored": {"mask_entropy": 0.3, "style_blocks": (0.0, 0.05, 0.0, 0.05), "discriminator": "linear",
                       "init": "orthogonal", "init_gain": 0.2},
    "wildlife": {"mask_entropy": 0.3, "style_blocks": (0.01, 0.05, 0.0, 0.01), "discriminator": "conv",
                 "init": "normal", "init_gain": 0.03},
}
EDGE_WEIGHT = 1.0  # seed 004 gives no weight for its edge loss; ours, fixed before any run


def default_losses(variant: str) -> dict[str, float]:
    """Loss weights: adversarial 1, mask entropy λ of the variant, style 1 (× per-block weights), edge 1."""
    return {"adversarial": 1.0, "mask_entropy": VARIANT_SETTINGS[variant]["mask_entropy"], "style": 1.0,
            "edge": EDGE_WEIGHT}


def loss_weights(variant: str, losses: dict | None) -> dict[str, float]:
    if variant not in VARIANTS:
        raise ValueError(f"unknown MNIST variant {variant!r}; choose from {list(VARIANTS)}")
    unknown = set(losses or {}) - set(LOSS_NAMES)
    if unknown:
        raise ValueError(f"unknown loss(es) {sorted(unknown)}; choose from {list(LOSS_NAMES)}")
    return {**default_losses(variant), **{k: float(v) for k, v in (losses or {}).items()}}


def build_models(variant: str, ngf: int = 32) -> tuple[M.CGN, torch.nn.Module]:
    """A freshly initialised CGN (``ngf`` base width, 32 in the paper) and the variant's discriminator
    (linear for C/DC, conv for W)."""
    settings = VARIANT_SETTINGS[variant]
    cgn = M.CGN(ngf=ngf, init=settings["init"], init_gain=settings["init_gain"])
    if settings["discriminator"] == "linear":
        disc = L.LinearDiscriminator()   # PyTorch's default initialisation, as the original
    else:
        disc = L.ConvDiscriminator()
        M.init_weights(disc, "normal", 0.02)  # the original initialises its conv discriminator N(0, 0.02)
    return cgn, disc


def train_step(cgn, disc, style_net, x, y, batch_size: int, weights: dict, style_blocks, opt_g, opt_d
               ) -> torch.Tensor:
    """One generator and one discriminator update; returns the unweighted terms (HISTORY_NAMES order)."""
    idx = torch.randint(len(x), (batch_size,), device=x.device)
    x_real, y_real = x[idx], y[idx]
    y_gen = torch.randint(cgn.n_classes, (batch_size,), device=x.device)
    mask, fg, bg = cgn(y_gen)
    x_gen = M.compose(mask, fg, bg)

    terms = {"adversarial": L.lsgan_generator_loss(disc(x_gen, y_gen)), "mask_entropy": L.binary_entropy(mask),
             "edge": L.edge_loss(mask)}
    terms["style"] = (L.style_loss(style_net, x_gen, x_real, style_blocks) if weights["style"]
                      else torch.full((), float("nan"), device=x.device))  # not computed when switched off
    loss_g = sum(weights[k] * terms[k] for k in LOSS_NAMES if weights[k])
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()

    loss_d = L.lsgan_discriminator_loss(disc(x_real, y_real), disc(x_gen.detach(), y_gen))
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    return torch.stack([terms[k].detach() for k in LOSS_NAMES] + [loss_d.detach()])


def fit(cgn, disc, x, y, steps: int, weights: dict, style_blocks, batch_size: int, checkpoint,
        checkpoint_every: int = 500, progress: bool = True) -> dict:
    """Train for ``steps`` steps, resuming from ``checkpoint`` when it exists; returns the loss history.

    Every ``checkpoint_every`` steps the models, optimisers, step, history and torch's random state
    (the only random stream used) are written atomically, so an interrupted run continues exactly.
    """
    device = x.device
    style_net = L.StyleNet().to(device)
    opt_g = torch.optim.Adam(cgn.parameters(), lr=LR, betas=BETAS)
    opt_d = torch.optim.Adam(disc.parameters(), lr=LR, betas=BETAS)
    start, history, seconds = 0, [], 0.0
    # Read on the CPU: torch.set_rng_state takes a CPU tensor; load_state_dict moves the rest. A corrupt
    # checkpoint is moved aside with a warning and training starts from scratch.
    keys = ("cgn", "disc", "opt_g", "opt_d", "step", "history", "seconds", "rng", "cuda_rng")
    state = load_stored(checkpoint, keys, map_location="cpu")
    if state is not None:
        cgn.load_state_dict(state["cgn"])
        disc.load_state_dict(state["disc"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        start, history, seconds = state["step"], list(state["history"]), state["seconds"]
        torch.set_rng_state(state["rng"])
        if device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], device)
    cgn.train()
    disc.train()
    begin = time.perf_counter()
    pending = []
    with tqdm(total=steps, initial=start, desc="CGN", disable=not progress, mininterval=2) as bar:
        for step in range(start, steps):
            pending.append(train_step(cgn, disc, style_net, x, y, batch_size, weights, style_blocks, opt_g, opt_d))
            bar.update()
            if (step + 1) % checkpoint_every == 0 or step + 1 == steps:
                history += torch.stack(pending).cpu().tolist()
                pending = []
                atomic_save({"cgn": cgn.state_dict(), "disc": disc.state_dict(), "opt_g": opt_g.state_dict(),
                             "opt_d": opt_d.state_dict(), "step": step + 1, "history": history,
                             "seconds": seconds + time.perf_counter() - begin, "rng": torch.get_rng_state(),
                             "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None},
                            checkpoint)
    cgn.eval()
    columns = list(zip(*history)) if history else [[] for _ in HISTORY_NAMES]
    return {**{name: list(col) for name, col in zip(HISTORY_NAMES, columns)},
            "seconds": seconds + time.perf_counter() - begin, "steps": steps}


def train_cgn(variant: str, *, steps: int, seed: int, device="auto", batch_size: int = 16,
              losses: dict | None = None, progress: bool = True, ngf: int = 32, checkpoint_every: int = 500
              ) -> M.CGN:
    """A CGN trained on the variant's biased training split, or loaded from the model cache.

    ``losses`` overrides loss weights (keys "adversarial", "mask_entropy", "style", "edge"; 0 switches a
    loss off; "style" multiplies the variant's per-block weights). The model's ``meta`` attribute holds
    the loss history, wall time and whether it came from the cache. An interrupted run resumes from its
    checkpoint under ``<cache>/checkpoints``. ``ngf`` is the mechanisms' base width (paper 32; the CPU
    profiles use less).
    """
    weights = loss_weights(variant, losses)
    if steps < 1 or batch_size < 1:
        raise ValueError("steps and batch_size must be positive")
    dev = pick_device(device)
    x, y = counterfactual_mnist(variant, "train")
    x, y = (x * 2 - 1).to(dev), y.to(dev)   # the original trains on images in [-1, 1]
    style_blocks = VARIANT_SETTINGS[variant]["style_blocks"]
    spec = {"variant": variant, "steps": steps, "seed": seed, "batch_size": batch_size, "losses": weights, "ngf": ngf,
            "style_blocks": style_blocks, "lr": LR, "betas": BETAS, "data": fingerprint(x)}
    code = (M, L, train_step, fit, build_models)
    checkpoint = cache_dir() / "checkpoints" / f"cgn-{cache_key(spec, code)}.pt"
    seed_everything(seed)
    cgn, disc = build_models(variant, ngf)
    cgn, disc = cgn.to(dev), disc.to(dev)
    train = lambda m: fit(m, disc, x, y, steps, weights, style_blocks, batch_size, checkpoint,  # noqa: E731
                          checkpoint_every, progress)
    cgn, meta, hit = load_or_train("cgn", spec, cgn, train, code=code)
    checkpoint.unlink(missing_ok=True)  # the finished model is in the cache now
    cgn.meta = {**meta, "cache_hit": hit, "losses": weights}
    return cgn.eval()
