"""Training the MNIST CGN against the real biased images (``train_cgn``, on the library's training loop),
with checkpoints and the model cache (``fit_cgn``).

Per step (as the original ``train_cgn.py``): draw labels uniformly, generate a batch, update the
generator with the weighted sum of its losses, then the discriminator on the real batch and the detached
fakes. Adam 2e-4, betas (0.5, 0.999) for both, batch 16. Deviation: the real batch is drawn with
replacement instead of by epoch-wise shuffling (it makes resumption exact with one random stream).
"""
from __future__ import annotations

import torch

from lib.core.cache import cache_dir, cache_key, fingerprint, load_or_train
from lib.core.train import Fit, seed_everything, train_loop

from . import losses as L
from . import model as M
from . import reference
from .variants import VARIANTS

LOSS_NAMES = ("adversarial", "mask_entropy", "style", "edge")
HISTORY_NAMES = LOSS_NAMES + ("discriminator",)
LR, BETAS = 2e-4, (0.5, 0.999)
PAPER_STEPS = reference.CGN_TABLE3["settings"]["cgn_steps"]  # 15 epochs of 50k images at batch 16 (46,875)
# What every CGN page says about the perceptual loss (the paper's VGG16 weights are not available offline).
STYLE_SUBSTITUTE = ("Gram style loss on a fixed, randomly initialised four-scale conv net: a substitute for the "
                    "paper's ImageNet-pretrained VGG16, whose weights are not available offline")

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
        disc = M.LinearDiscriminator()   # PyTorch's default initialisation, as the original
    else:
        disc = M.ConvDiscriminator()
        M.init_weights(disc, "normal", 0.02)  # the original initialises its conv discriminator N(0, 0.02)
    return cgn, disc


def adam(module: torch.nn.Module, lr: float = LR, betas=BETAS) -> torch.optim.Adam:
    """Adam over ``module``'s parameters, as the original, with the fused kernel (one pass over each tensor)."""
    return torch.optim.Adam(module.parameters(), lr=lr, betas=betas, fused=True)


def train_step(cgn, disc, style_net, x, y, batch_size: int, weights: dict, style_blocks, opt_g, opt_d
               ) -> dict[str, torch.Tensor]:
    """One generator and one discriminator update; returns the unweighted terms (HISTORY_NAMES)."""
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
    disc.requires_grad_(False)  # the generator's update needs no discriminator gradients
    loss_g.backward()
    disc.requires_grad_(True)
    opt_g.step()

    loss_d = L.lsgan_discriminator_loss(disc(x_real, y_real), disc(x_gen.detach(), y_gen))
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    return {**{k: terms[k].detach() for k in LOSS_NAMES}, "discriminator": loss_d.detach()}


def train_cgn(cgn, disc, x: torch.Tensor, y: torch.Tensor, *, steps: int, weights: dict, style_blocks,
              batch_size: int = 16, checkpoint=None, checkpoint_every: int = 500, progress: bool = True) -> dict:
    """Train ``cgn`` against ``disc`` for ``steps`` steps on real images ``x`` in [−1, 1] (labels ``y``, on the
    models' device); returns the loss history (one curve per HISTORY_NAMES entry).

    With a ``checkpoint`` path the models, optimisers, history and torch's random state (the only random
    stream used) are written every ``checkpoint_every`` steps, and a run resumes from there exactly.
    """
    style_net = L.StyleNet().to(x.device)
    opt_g, opt_d = adam(cgn), adam(disc)
    cgn.train()
    disc.train()
    history = train_loop(
        lambda i: train_step(cgn, disc, style_net, x, y, batch_size, weights, style_blocks, opt_g, opt_d), steps,
        checkpoint=checkpoint, resumable={"cgn": cgn, "disc": disc, "opt_g": opt_g, "opt_d": opt_d},
        checkpoint_every=checkpoint_every, desc="CGN", progress=progress)
    cgn.eval()
    return history


def fit_cgn(variant: str, images: torch.Tensor, labels: torch.Tensor, *, steps: int, seed: int,
            batch_size: int = 16, losses: dict | None = None, ngf: int = 32, checkpoint_every: int = 500,
            progress: bool = True) -> Fit:
    """A CGN trained on ``variant``'s biased training split (``images`` in [0, 1] and ``labels``, on the
    device to train on), or loaded from the model cache.

    ``losses`` overrides loss weights (keys "adversarial", "mask_entropy", "style", "edge"; 0 switches a
    loss off; "style" multiplies the variant's per-block weights); the history holds the weights used
    ("losses"). Weights stored in the repository (``weights/cgn``) come first, then the cache; an
    interrupted run resumes from its checkpoint under ``<cache>/checkpoints``. ``ngf`` is
    the mechanisms' base width (paper 32; the CPU profiles use less).
    """
    weights = loss_weights(variant, losses)
    if steps < 1 or batch_size < 1:
        raise ValueError("steps and batch_size must be positive")
    x = images * 2 - 1   # the original trains on images in [-1, 1]
    style_blocks = VARIANT_SETTINGS[variant]["style_blocks"]
    spec = {"variant": variant, "steps": steps, "seed": seed, "batch_size": batch_size, "losses": weights, "ngf": ngf,
            "style_blocks": style_blocks, "lr": LR, "betas": BETAS, "data": fingerprint(x),
            "labels": fingerprint(labels)}
    code = (M, L, adam, train_step, train_cgn, build_models, train_loop)
    key = cache_key(spec, code)
    seed_everything(seed)
    cgn, disc = (m.to(x.device) for m in build_models(variant, ngf))
    checkpoint = cache_dir() / "checkpoints" / f"cgn-{key}.pt"
    train = lambda m: train_cgn(m, disc, x, labels, steps=steps, weights=weights,  # noqa: E731
                                style_blocks=style_blocks, batch_size=batch_size, checkpoint=checkpoint,
                                checkpoint_every=checkpoint_every, progress=progress)
    cgn, history, hit = load_or_train("cgn", spec, cgn, train, code=code)
    checkpoint.unlink(missing_ok=True)  # the finished model is in the cache now
    return Fit(cgn.eval(), {**history, "losses": weights}, hit)
