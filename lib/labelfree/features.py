"""Label-free feature importance (Crabbé & van der Schaar, 2022, Sec. 2.1) and its latent-shift check.

An encoder f has no scalar output to explain. At an input x the paper explains the scalar
g_x(x̃) = ⟨f(x), f(x̃)⟩ with an ordinary attribution method (captum). Methods that evaluate f on many
perturbed copies of x (Integrated Gradients' path points, GradientShap's noisy samples) must pair every
copy with the representation f(x) of the example it came from. We pass f(x) to captum as an additional
forward argument, which captum expands exactly as it expands the inputs; the original code instead
tiled f(x) with ``repeat`` while GradientShap's NoiseTunnel uses ``repeat_interleave``, so most of
its GradientShap samples were paired with another example's representation. ``pairing="original"``
reproduces that defect for the ablation in the claim-1 notebook.

captum's GradientShap draws its path points and baselines from NumPy's global generator and its noise
from torch's; ``feature_importance`` runs captum with all global generators seeded from its ``seed``
argument and restores them afterwards, so an attribution depends on its seed only, not on what ran
before it (a model trained or loaded from the cache leaves the global generators in different states).
"""
from __future__ import annotations

import torch
from captum.attr import GradientShap, IntegratedGradients, Saliency
from torch import nn

from lib.core.train import global_rngs_seeded

METHODS = {"saliency": Saliency, "integrated_gradients": IntegratedGradients, "gradient_shap": GradientShap}
PAIRINGS = ("correct", "original")


class _InnerProduct(nn.Module):
    """g(x̃) = ⟨h, f(x̃)⟩ with h an argument, so that captum expands h together with x̃."""

    def __init__(self, encoder: nn.Module, pairing: str = "correct"):
        super().__init__()
        self.encoder = encoder
        self.pairing = pairing

    def forward(self, perturbed: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        latent = self.encoder(perturbed).flatten(1)
        if self.pairing == "original":
            # The public code's wrapper: its own un-expanded f(x), tiled to the expanded batch.
            reference = self.original_reference.repeat(len(latent) // len(self.original_reference), 1)
        return (latent * reference.flatten(1)).sum(-1)


def feature_importance(encoder: nn.Module, inputs: torch.Tensor, method: str, baselines=None,
                       pairing: str = "correct", seed: int = 0, **kwargs) -> torch.Tensor:
    """Label-free importance of every input feature: a tensor shaped like ``inputs``.

    ``method`` is "saliency", "integrated_gradients" (captum default 50 steps) or "gradient_shap"
    (5 samples); ``baselines`` (IG, GradientShap; default zeros) is shaped like ``inputs`` or like one
    input with a leading 1. Saliency takes no baseline and returns absolute gradients (captum's default).
    ``kwargs`` go to captum's ``attribute`` (``n_steps``, ``n_samples``, ``stdevs``, ...). ``seed`` fixes
    GradientShap's random draws (see the module's docstring).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {sorted(METHODS)}")
    if pairing not in PAIRINGS:
        raise ValueError(f"unknown pairing {pairing!r}; choose from {PAIRINGS}")
    if inputs.dim() < 2 or len(inputs) == 0:
        raise ValueError(f"inputs must be a non-empty batch (N, ...), got shape {tuple(inputs.shape)}")
    inputs = inputs.detach()
    with torch.no_grad():
        reference = encoder(inputs)
    if reference.dim() < 2 or len(reference) != len(inputs):
        raise ValueError(f"the encoder must map a batch of {len(inputs)} inputs to (N, d) representations, "
                         f"got shape {tuple(reference.shape)}")
    function = _InnerProduct(encoder, pairing)
    function.original_reference = reference
    explainer = METHODS[method](function)
    if method == "saliency":
        if baselines is not None:
            raise ValueError("saliency takes no baselines")
    else:
        if baselines is None:
            baselines = torch.zeros_like(inputs[:1])
        if baselines.shape[1:] != inputs.shape[1:] or len(baselines) not in (1, len(inputs)):
            raise ValueError(f"baselines of shape {tuple(baselines.shape)} do not match inputs "
                             f"{tuple(inputs.shape)} (expected (1, ...) or (N, ...))")
        if method == "integrated_gradients" and len(baselines) == 1:
            baselines = baselines.expand_as(inputs)
        kwargs["baselines"] = baselines
    with global_rngs_seeded(seed):
        return explainer.attribute(inputs, additional_forward_args=(reference,), **kwargs).detach()


@torch.no_grad()
def latent_shift(encoder: nn.Module, inputs: torch.Tensor, scores: torch.Tensor, fractions, baseline: torch.Tensor,
                 channel_dim: int = 1) -> torch.Tensor:
    """‖f(x) − f(m ⊙ x + (1 − m) ⊙ x̄)‖² per example (rows: fractions, columns: examples).

    For each fraction, the mask m hides that share of the features with the largest |score| summed
    over the channel dimension (all channels of a pixel or time step at once); hidden features take
    the baseline x̄'s values (broadcast against ``inputs``).
    """
    if scores.shape != inputs.shape:
        raise ValueError(f"scores of shape {tuple(scores.shape)} must have the inputs' shape {tuple(inputs.shape)}")
    per_feature = scores.abs().sum(channel_dim, keepdim=True)          # channel dimension kept as size 1
    flat = per_feature.flatten(1)
    order = flat.argsort(dim=1, descending=True)
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(flat.shape[1], device=flat.device).expand_as(order))
    original = encoder(inputs).flatten(1)
    shifts = []
    for fraction in fractions:
        hidden = (rank < int(fraction * flat.shape[1])).reshape(per_feature.shape)
        masked = torch.where(hidden, baseline, inputs)
        shifts.append((encoder(masked).flatten(1) - original).square().sum(1))
    return torch.stack(shifts)


# Curves of the claim-1 check: name -> (method, pairing); "Random" ranks features at random.
CURVE_METHODS = {"Integrated Gradients": ("integrated_gradients", "correct"),
                 "GradientShap": ("gradient_shap", "correct"),
                 "GradientShap (original pairing)": ("gradient_shap", "original"),
                 "Saliency": ("saliency", "correct"),
                 "Random": (None, None)}


def consistency_curves(encoder: nn.Module, inputs: torch.Tensor, baseline: torch.Tensor, fractions,
                       channel_dim: int = 1, batch_size: int = 200, seed: int = 0, n_steps: int = 50,
                       n_samples: int = 5):
    """Latent shift per method, masked fraction and test batch (the paper's error bands are over batches).

    Returns a DataFrame with columns method, fraction, batch and shift (mean over the batch's examples).
    Attributions use ``baseline`` too (IG, GradientShap), as in the public code.
    """
    import pandas as pd

    encoder.eval()
    gen = torch.Generator(device=inputs.device).manual_seed(seed)
    rows = []
    for batch, start in enumerate(range(0, len(inputs), batch_size)):
        x = inputs[start:start + batch_size]
        for name, (method, pairing) in CURVE_METHODS.items():
            if method is None:
                scores = torch.rand(x.shape, generator=gen, device=x.device)
            else:
                kwargs = {"n_steps": n_steps} if method == "integrated_gradients" else \
                    {"n_samples": n_samples} if method == "gradient_shap" else {}
                scores = feature_importance(encoder, x, method, None if method == "saliency" else baseline,
                                            pairing, seed=seed + batch, **kwargs)
            shifts = latent_shift(encoder, x, scores, fractions, baseline, channel_dim).mean(1)
            rows += [{"method": name, "fraction": f, "batch": batch, "shift": s.item()} for f, s in zip(fractions, shifts)]
    return pd.DataFrame(rows)
