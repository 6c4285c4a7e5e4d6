"""Label-free example importance (Crabbé & van der Schaar, 2022, Sec. 2.2).

Scores are matrices (test examples × training examples); larger means more important.

* Representation-based: DKNN scores 1/‖f(x) − f(xⁿ)‖²; SimplEx fits, for each test example, softmax
  weights over the training representations that reconstruct f(x).
* Loss-based: the label-free loss is the autoencoder's reconstruction loss of a clean input (model in
  eval mode), differentiated with respect to the *encoder's* parameters only. Per-example gradients are
  computed in one batched call (torch.func: vmap over grad), never with a Python loop over examples.
  TracIn sums lr·⟨∇ℓ(x), ∇ℓ(xⁿ)⟩ over training checkpoints. Influence Functions score
  ∇ℓ(x)ᵀ (H + λI)⁻¹ ∇ℓ(xⁿ) with an exact solve against a positive semi-definite curvature H given as
  factor rows U (H = UᵀU / n): the Gauss-Newton matrix of an MSE loss (exact for encoders linear in
  their parameters) or the empirical Fisher (any loss). See ``influence_scores``.
"""
from __future__ import annotations

import copy
import ctypes
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, jacfwd, jacrev, vmap

from lib.core.train import train_loop

from .models import differentiable_rnns


@torch.no_grad()
def representations(encoder: nn.Module, inputs: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """f(x) for every input, (N, d), encoder in eval mode."""
    was_training = encoder.training
    encoder.eval()
    latents = torch.cat([encoder(inputs[i:i + batch_size]).flatten(1) for i in range(0, len(inputs), batch_size)])
    encoder.train(was_training)
    return latents


def dknn(train_latents: torch.Tensor, test_latents: torch.Tensor) -> torch.Tensor:
    """DKNN scores 1 / ‖h − hⁿ‖² (test × train). Coinciding representations get the largest finite score."""
    if train_latents.dim() != 2 or test_latents.dim() != 2 or train_latents.shape[1] != test_latents.shape[1]:
        raise ValueError(f"expected (N, d) and (M, d) representations, got {tuple(train_latents.shape)} "
                         f"and {tuple(test_latents.shape)}")
    return 1.0 / torch.cdist(test_latents, train_latents).square().clamp_min(1e-12)


def simplex(train_latents: torch.Tensor, test_latents: torch.Tensor, epochs: int = 1000,
            lr: float = 1e-3, progress: bool = False) -> torch.Tensor:
    """SimplEx weights (test × train): softmax(w) minimising ‖h − Σₙ softmax(w)ₙ hⁿ‖², Adam from w = 0.

    The objective is a sum of independent per-test-example terms and Adam acts coordinate-wise, so one
    optimisation over all test examples gives the same weights as the original's per-batch loops.
    """
    train_latents, test_latents = train_latents.detach(), test_latents.detach()
    logits = torch.zeros(len(test_latents), len(train_latents), device=test_latents.device, requires_grad=True)
    optimiser = torch.optim.Adam([logits], lr=lr)

    def step(i):
        error = (logits.softmax(-1) @ train_latents - test_latents).square().sum()
        optimiser.zero_grad(set_to_none=True)
        error.backward()
        optimiser.step()
        return {"error": error.detach()}

    train_loop(step, epochs, desc="SimplEx", progress=progress)
    return logits.detach().softmax(-1)


def _encoder_state(autoencoder: nn.Module):
    encoder = autoencoder.encoder
    params = {name: p.detach() for name, p in encoder.named_parameters()}
    return encoder, params, dict(encoder.named_buffers())


def per_example_gradients(autoencoder: nn.Module, inputs: torch.Tensor, loss=F.mse_loss,
                          chunk_size: int | None = 250) -> torch.Tensor:
    """Gradients of ``loss(decoder(encoder(x)), x)`` w.r.t. the encoder's parameters, one row per input (N, P)."""
    encoder, params, buffers = _encoder_state(autoencoder)

    def example_loss(p, x):
        x = x.unsqueeze(0)
        return loss(autoencoder.decoder(functional_call(encoder, (p, buffers), (x,))), x)

    was_training = autoencoder.training
    autoencoder.eval()
    with differentiable_rnns(autoencoder):
        grads = vmap(grad(example_loss), in_dims=(None, 0), chunk_size=chunk_size)(params, inputs)
    autoencoder.train(was_training)
    flat = torch.cat([g.flatten(1) for g in grads.values()], 1)
    del grads
    _return_freed_memory()
    return flat


def _return_freed_memory() -> None:
    """Give freed heap memory back to the OS (glibc only). vmap's per-example fallback for the CPU LSTM
    kernel leaves many freed buffers in the heap: without this, repeated calls grew a notebook to 13 GB."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def gauss_newton_factors(autoencoder: nn.Module, inputs: torch.Tensor, chunk_size: int | None = 250) -> torch.Tensor:
    """Rows U with UᵀU / N = the Gauss-Newton matrix of the mean-squared reconstruction loss over ``inputs``
    with respect to the encoder's parameters (N·d rows, d the latent dimension).

    The loss depends on the encoder's parameters θ only through the latent h = f(x; θ), so per example
    GN = Eᵀ S E with E = ∂h/∂θ (d × P) and S = (2/D)·JᵀJ, J = ∂decoder/∂h (D × d): d rows √S·E per example
    instead of D. It equals the Hessian when the reconstruction is linear in θ (linear encoder and decoder).
    """
    encoder, params, buffers = _encoder_state(autoencoder)
    was_training = autoencoder.training
    autoencoder.eval()
    encode = lambda p, x: functional_call(encoder, (p, buffers), (x.unsqueeze(0),)).flatten()  # noqa: E731
    with differentiable_rnns(autoencoder):
        jac = vmap(jacrev(encode), in_dims=(None, 0), chunk_size=chunk_size)(params, inputs)
    e = torch.cat([j.flatten(2) for j in jac.values()], 2)                                  # (N, d, P)
    latents = representations(encoder, inputs)
    decode = lambda h: autoencoder.decoder(h.unsqueeze(0)).flatten()  # noqa: E731
    j_dec = vmap(jacfwd(decode), chunk_size=chunk_size)(latents)                                # (N, D, d)
    autoencoder.train(was_training)
    s = 2.0 / j_dec.shape[1] * j_dec.transpose(1, 2) @ j_dec                                    # (N, d, d)
    eigenvalues, eigenvectors = torch.linalg.eigh(s)
    root = eigenvalues.clamp_min(0).sqrt().unsqueeze(-1) * eigenvectors.transpose(1, 2)         # √S = diag(√λ)Vᵀ
    return (root @ e).flatten(0, 1)


def influence_scores(test_grads: torch.Tensor, train_grads: torch.Tensor, factors: torch.Tensor,
                     n_curvature: int, damping):
    """gᵀ(H + λI)⁻¹gⁿ for all pairs (test × train), H = UᵀU / n, solved exactly with the Woodbury identity.

    (H + λI)⁻¹ = (I − Uᵀ(nλI + UUᵀ)⁻¹U)/λ, so only the R × R kernel UUᵀ (R = rows of U) is inverted, through
    its eigendecomposition in float64; a sequence of dampings reuses it and returns one matrix per damping.
    """
    dampings = [damping] if isinstance(damping, (int, float)) else list(damping)
    if min(dampings) <= 0:
        raise ValueError("damping must be positive")
    dims = {test_grads.shape[1], train_grads.shape[1], factors.shape[1]}
    if len(dims) != 1:
        raise ValueError(f"gradients and factors disagree on the number of parameters: {dims}")
    eigenvalues, eigenvectors = torch.linalg.eigh((factors @ factors.T).double())
    left = (test_grads @ factors.T).double() @ eigenvectors                                  # (M, R)
    right = eigenvectors.T @ (factors @ train_grads.T).double()                              # (R, N)
    dot = (test_grads @ train_grads.T).double()
    scores = [((dot - (left / (eigenvalues.clamp_min(0) + n_curvature * lam)) @ right) / lam).to(test_grads.dtype)
              for lam in dampings]
    return scores[0] if isinstance(damping, (int, float)) else scores


def influence_terms(autoencoder: nn.Module, train_inputs: torch.Tensor, test_inputs: torch.Tensor, loss=F.mse_loss,
                    curvature: str = "gauss_newton", curvature_inputs: torch.Tensor | None = None,
                    chunk_size: int | None = 250) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """Test gradients, training gradients, curvature factors and curvature sample size for ``influence_scores``.

    ``curvature``: "gauss_newton" (MSE loss only) or "fisher" (empirical Fisher: per-example gradients
    as factors; for losses without a Gauss-Newton term, such as L1). The curvature is estimated on
    ``curvature_inputs`` (default: the training inputs).
    """
    if curvature not in ("gauss_newton", "fisher"):
        raise ValueError(f"unknown curvature {curvature!r}; choose 'gauss_newton' or 'fisher'")
    if curvature == "gauss_newton" and loss is not F.mse_loss:
        raise ValueError("the Gauss-Newton curvature is implemented for F.mse_loss only; use curvature='fisher'")
    curvature_inputs = train_inputs if curvature_inputs is None else curvature_inputs
    train_grads = per_example_gradients(autoencoder, train_inputs, loss, chunk_size)
    test_grads = per_example_gradients(autoencoder, test_inputs, loss, chunk_size)
    if curvature == "gauss_newton":
        factors = gauss_newton_factors(autoencoder, curvature_inputs, chunk_size)
    elif curvature_inputs is train_inputs:
        factors = train_grads
    else:
        factors = per_example_gradients(autoencoder, curvature_inputs, loss, chunk_size)
    return test_grads, train_grads, factors, len(curvature_inputs)


def influence_functions(autoencoder: nn.Module, train_inputs: torch.Tensor, test_inputs: torch.Tensor,
                        loss=F.mse_loss, damping: float = 1.0, curvature: str = "gauss_newton",
                        curvature_inputs: torch.Tensor | None = None, chunk_size: int | None = 250) -> torch.Tensor:
    """Influence-function scores (test × train) of the label-free loss (see ``influence_terms`` and
    ``influence_scores``). The default damping 1.0 is the fixed point of the original's LiSSA recursion
    (damping 1e-3, scale 1000: v = g + (1 − 1e-3)·v − Hv/1000 converges to 1000·(H + 1·I)⁻¹g)."""
    return influence_scores(*influence_terms(autoencoder, train_inputs, test_inputs, loss, curvature,
                                             curvature_inputs, chunk_size), damping)


def tracin(autoencoder: nn.Module, checkpoints: list[dict], train_inputs: torch.Tensor, test_inputs: torch.Tensor,
           loss=F.mse_loss, lr: float = 1e-3, chunk_size: int | None = 250) -> torch.Tensor:
    """TracIn scores (test × train): Σ over checkpoints of lr·⟨∇ℓ(x), ∇ℓ(xⁿ)⟩, encoder gradients only.

    ``checkpoints`` are state dicts of the whole autoencoder saved during training (they are stored
    with the cached model, so a reloaded model scores the same).
    """
    if not checkpoints:
        raise ValueError("TracIn needs at least one training checkpoint")
    model = copy.deepcopy(autoencoder)
    scores = 0.0
    for state in checkpoints:
        model.load_state_dict(state)
        scores = scores + per_example_gradients(model, test_inputs, loss, chunk_size) @ \
            per_example_gradients(model, train_inputs, loss, chunk_size).T
    return lr * scores


def example_importance(model: nn.Module, checkpoints: list[dict], ranked: torch.Tensor, test: torch.Tensor,
                       loss=F.mse_loss, curvature: str = "gauss_newton", damping: float = 1.0,
                       extra_dampings=(), lr: float = 1e-3, simplex_epochs: int = 1000,
                       chunk_size: int | None = 250) -> tuple[dict, dict]:
    """Scores (test × ranked) of the four methods of claim 2 and their wall times in seconds.

    ``extra_dampings`` adds "Influence Functions (λ = …)" variants that reuse the same gradients.
    """
    scores, seconds = {}, {}
    start = time.perf_counter()
    terms = influence_terms(model, ranked, test, loss, curvature, chunk_size=chunk_size)
    main, *extra = influence_scores(*terms, [damping, *extra_dampings])
    scores["Influence Functions"] = main
    seconds["Influence Functions"] = time.perf_counter() - start
    scores.update({f"Influence Functions (λ = {lam:g})": s for lam, s in zip(extra_dampings, extra)})
    methods = {
        "TracIn": lambda: tracin(model, checkpoints, ranked, test, loss, lr, chunk_size),
        "DKNN": lambda: dknn(representations(model.encoder, ranked), representations(model.encoder, test)),
        "SimplEx": lambda: simplex(representations(model.encoder, ranked), representations(model.encoder, test),
                                   simplex_epochs),
    }
    for name, method in methods.items():
        start = time.perf_counter()
        scores[name] = method()
        seconds[name] = time.perf_counter() - start
    return scores, seconds


@torch.no_grad()
def dknn_scores(encoder: nn.Module, test_x: torch.Tensor, sub_x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """DKNN scores (test × explained training examples) of inputs multiplied by ``scale``.

    ``scale`` 255 reproduces claim 4's public code, which gave DKNN raw 0–255 pixels while its encoders
    were trained on [0, 1] images.
    """
    return dknn(representations(encoder, sub_x * scale), representations(encoder, test_x * scale))
