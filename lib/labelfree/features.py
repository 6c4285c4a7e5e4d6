"""Label-free feature importance (Crabbé & van der Schaar, 2022, Sec. 2.1).

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

Claim 3 needs attributions that training can differentiate (seed 003's attribution prior) and one map per
latent unit: ``gradient_shap`` is our own GradientShap (zero baseline, no noise) with ``create_graph``,
``unit_saliency`` the per-unit maps |μ_j(x) · GradientShap_j(x)|.
"""
from __future__ import annotations

import torch
from captum.attr import GradientShap, IntegratedGradients, Saliency
from torch import nn

from lib.core.train import global_rngs_seeded

from .models import differentiable_rnns

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
    with global_rngs_seeded(seed), differentiable_rnns(encoder):
        return explainer.attribute(inputs, additional_forward_args=(reference,), **kwargs).detach()


def gradient_shap(fn, x, n_samples: int = 5, generator=None, create_graph: bool = False):
    """GradientShap with the zero baseline and no input noise (captum's defaults for one baseline).

    Mean over ``n_samples`` draws of α ~ U(0, 1) of ∇fn(α x) ⊙ x, where ``fn`` maps a batch to one scalar
    per example (the s-th block of the stacked inputs pairs with the same examples as ``x``). With
    ``create_graph`` the result is differentiable with respect to the model's parameters, which captum's
    is not.
    """
    alpha = torch.rand((n_samples, x.shape[0]) + (1,) * (x.dim() - 1), device=x.device, generator=generator)
    points = (alpha * x).flatten(0, 1).requires_grad_(True)
    grads, = torch.autograd.grad(fn(points).sum(), points, create_graph=create_graph)
    return grads.unflatten(0, (n_samples, x.shape[0])).mean(0) * x


def label_free_gradient_shap(encoder, x, n_samples: int = 5, generator=None, create_graph: bool = False):
    """GradientShap of g_x(x~) = <f(x), f(x~)>: each perturbed input paired with its own example's f(x)."""
    reference = encoder(x).repeat(n_samples, 1)
    return gradient_shap(lambda t: (reference * encoder(t)).sum(-1), x, n_samples, generator, create_graph)


def integrated_gradients(fn, x, n_steps: int = 50):
    """Integrated Gradients with the zero baseline: the midpoint rule over α_k = (k + ½)/n_steps of
    ∇fn(α_k x) ⊙ x (``fn`` as in ``gradient_shap``); exact for fn linear or quadratic in its input."""
    alpha = (torch.arange(n_steps, device=x.device, dtype=x.dtype) + 0.5) / n_steps
    points = (alpha.reshape((-1,) + (1,) * x.dim()) * x).flatten(0, 1).requires_grad_(True)
    grads, = torch.autograd.grad(fn(points).sum(), points)
    return grads.unflatten(0, (n_steps, x.shape[0])).mean(0) * x


SALIENCY_METHODS = ("gradient_shap", "integrated_gradients")


def unit_saliency(encoder, x, n_samples: int = 5, batch_size: int = 500, generator=None,
                  method: str = "gradient_shap") -> torch.Tensor:
    """Per-unit saliency |mu_j(x) · A_j(x)|, shape (N, d, H, W) for inputs (N, 1, H, W), A GradientShap
    (``n_samples`` draws) or, as seed 003's App. D.1, Integrated Gradients (``n_samples`` steps); zero
    baseline."""
    if method not in SALIENCY_METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {SALIENCY_METHODS}")
    maps = []
    for batch in torch.split(x, batch_size):
        batch = batch.float()
        with torch.no_grad():
            mu = encoder(batch)
        attribute = (lambda fn: gradient_shap(fn, batch, n_samples, generator)) if method == "gradient_shap" else \
            (lambda fn: integrated_gradients(fn, batch, n_samples))
        units = [attribute(lambda t, j=j: encoder(t)[:, j]) for j in range(mu.shape[1])]
        maps.append((torch.cat(units, 1) * mu[:, :, None, None]).abs().detach())
    return torch.cat(maps)


def abs_gradient_shap(encoder, x, gs_samples: int = 5, seed: int = 0) -> torch.Tensor:
    """|label-free GradientShap| (zero baseline) of the images ``x``, shaped like ``x``: claim 4's saliency
    maps; ``seed`` fixes GradientShap's random path points."""
    return feature_importance(encoder, x, "gradient_shap", n_samples=gs_samples, seed=seed).abs()
