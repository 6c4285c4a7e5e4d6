"""The method of Generative Causal Explanations: the information-flow estimator I(α; Ŷ) (plain or randomised
quasi-Monte Carlo), the GCE objective −I(α; Ŷ) + λ·(SSE + KL) and its training, and the cached trainers of
the explainer and of the black-box classifier it explains."""
from __future__ import annotations

import torch
from torch.quasirandom import SobolEngine

from lib.core.cache import fingerprint, load_or_train
from lib.core.train import Fit, seed_everything, train_classifier, train_loop

from . import models
from .models import VAE, CNNClassifier, Decoder, Encoder, SoftmaxClassifier

EPS = 1e-8  # inside the logs, as in the original code


def _entropy(p: torch.Tensor) -> torch.Tensor:
    return -(p * (p + EPS).log()).sum(-1)


def flow_from_probs(probs: torch.Tensor) -> torch.Tensor:
    """Plug-in I(alpha; Y) from classifier probabilities shaped (..., n_alpha, n_beta, M)."""
    p_y_given_alpha = probs.mean(-2)
    p_y = p_y_given_alpha.mean(-2)
    return _entropy(p_y) - _entropy(p_y_given_alpha).mean(-1)


CPU_CHUNK = 100  # on CPU, slices of 100 samples beat one big batch 1.6x (benchmarks/README.md)


def _classify(decoder, classifier, z: torch.Tensor, chunk: int | None) -> torch.Tensor:
    flat = z.reshape(-1, z.shape[-1])
    if chunk is None:
        chunk = CPU_CHUNK if flat.device.type == "cpu" else 0
    if chunk == 0 or chunk >= len(flat):
        probs = classifier(decoder(flat))
    else:
        probs = torch.cat([classifier(decoder(part)) for part in flat.split(chunk)])
    return probs.reshape(*z.shape[:-1], probs.shape[-1])


SAMPLERS = ("mc", "qmc")
_U_MARGIN = 1e-12  # keeps the inverse normal CDF finite where a uniform point sits on 0 or 1


def _check_sampler(sampler: str) -> None:
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")


def _sobol(n: int, dim: int, generator, device) -> torch.Tensor:
    """``n`` points of a scrambled Sobol sequence in [0, 1)^dim (float64), its seed drawn from ``generator``."""
    if dim == 0:
        return torch.zeros(n, 0, dtype=torch.float64, device=device)
    seed = int(torch.randint(2**31 - 1, (1,), device=device, generator=generator))
    return SobolEngine(dim, scramble=True, seed=seed).draw(n, dtype=torch.float64).to(device)


def latent_samples(mask: torch.Tensor, n_fixed: int, n_free: int, sampler: str = "mc",
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Latent draws for the flow of groups of latents: a tensor (groups, n_fixed, n_free, d), prior N(0, I).

    Row g of the boolean ``mask`` (groups, d) marks the latents held fixed, at ``n_fixed`` values; the other
    latents take ``n_free`` values for each of them. Every row must mark the same number of latents.
    ``sampler="mc"``: independent normal draws. ``sampler="qmc"``: the fixed values are the points of a
    scrambled Sobol sequence; the free values are one scrambled Sobol set of ``n_free`` points, shared by
    all fixed values and shifted modulo 1 by an independent uniform vector for each of them (a
    Cranley-Patterson rotation, so each fixed value sees an unbiased randomised-QMC set); both go through
    the inverse normal CDF. Every group gets its own coordinates of the Sobol sequences.
    """
    _check_sampler(sampler)
    groups, d = mask.shape
    device = mask.device
    c = int(mask[0].sum())
    if (mask.sum(1) != c).any():
        raise ValueError("every group must hold the same number of latents fixed")
    fixed_idx = mask.nonzero()[:, 1].reshape(groups, c)
    free_idx = (~mask).nonzero()[:, 1].reshape(groups, d - c)
    if sampler == "mc":
        fixed = torch.randn(groups, n_fixed, 1, c, device=device, generator=generator)
        free = torch.randn(groups, n_fixed, n_free, d - c, device=device, generator=generator)
    else:
        to_normal = lambda u: torch.special.ndtri(u.clamp(_U_MARGIN, 1 - _U_MARGIN)).float()  # noqa: E731
        u_fixed = _sobol(n_fixed, groups * c, generator, device).reshape(n_fixed, groups, c).transpose(0, 1)
        u_free = _sobol(n_free, groups * (d - c), generator, device).reshape(n_free, groups, d - c).transpose(0, 1)
        shift = torch.rand(groups, n_fixed, 1, d - c, dtype=torch.float64, device=device, generator=generator)
        fixed = to_normal(u_fixed)[:, :, None, :]
        free = to_normal((u_free[:, None] + shift) % 1.0)
    z = torch.cat([fixed.expand(groups, n_fixed, n_free, c), free], dim=-1)
    column = torch.cat([fixed_idx, free_idx], dim=1).argsort(dim=1)  # where each latent sits in z
    return z.gather(-1, column[:, None, None, :].expand_as(z))


def _probs_in_eval_mode(decoder, classifier, z: torch.Tensor, chunk: int | None) -> torch.Tensor:
    was_training = classifier.training
    classifier.eval()
    try:
        return _classify(decoder, classifier, z, chunk)
    finally:
        classifier.train(was_training)


def information_flow(decoder, classifier, k: int, l: int, n_alpha: int, n_beta: int, dims=None,
                     generator: torch.Generator | None = None, chunk: int | None = None,
                     sampler: str = "mc") -> torch.Tensor:
    """Monte-Carlo information flow I(alpha; Y_hat) in nats, differentiable w.r.t. the decoder.

    ``decoder`` maps latents (n, k + l) to inputs and ``classifier`` maps inputs to probabilities (n, M).
    Without ``dims``: alpha = the first k latents, n_alpha draws, each with n_beta draws of beta; a scalar.
    With ``dims``: for each latent index i, z_i takes n_alpha values and all other latents n_beta values
    each; a tensor with one flow per index. All samples are drawn at once and go through the networks
    in one batch (``chunk=0``) or in slices of ``chunk`` samples (default: one batch on a GPU, slices of
    ``CPU_CHUNK`` on a CPU, where big batches thrash the allocator); the classifier runs in eval mode.
    ``sampler="qmc"`` draws the latents by randomised quasi-Monte Carlo instead (``latent_samples``):
    the same estimator with the same sample counts and a much smaller error on smooth problems.
    """
    d = k + l
    if k < 0 or l < 0 or d < 1:
        raise ValueError(f"need k, l >= 0 and k + l >= 1, got k={k}, l={l}")
    if n_alpha < 1 or n_beta < 1:
        raise ValueError(f"need n_alpha, n_beta >= 1, got {n_alpha}, {n_beta}")
    _check_sampler(sampler)
    device = next(decoder.parameters()).device
    draw = lambda *shape: torch.randn(*shape, device=device, generator=generator)  # noqa: E731
    if dims is None:
        if k == 0:
            raise ValueError("k = 0: there is no alpha whose flow could be measured")
        if sampler == "qmc":
            mask = torch.arange(d, device=device)[None, :] < k
            z = latent_samples(mask, n_alpha, n_beta, sampler, generator)[0]
        else:
            alpha = draw(n_alpha, 1, k).expand(n_alpha, n_beta, k)
            z = torch.cat([alpha, draw(n_alpha, n_beta, l)], dim=-1)
    else:
        dims = torch.as_tensor(list(dims), dtype=torch.long, device=device)
        if dims.numel() == 0 or dims.min() < 0 or dims.max() >= d:
            raise ValueError(f"dims must be latent indices in 0..{d - 1}, got {dims.tolist()}")
        is_fixed = torch.nn.functional.one_hot(dims, d).bool()
        if sampler == "qmc":
            z = latent_samples(is_fixed, n_alpha, n_beta, sampler, generator)
        else:
            fixed = draw(len(dims), n_alpha, 1, 1)
            z = torch.where(is_fixed[:, None, None, :], fixed, draw(len(dims), n_alpha, n_beta, d))
    return flow_from_probs(_probs_in_eval_mode(decoder, classifier, z, chunk))


def group_flow(decoder, classifier, d: int, fixed, n_fixed: int, n_free: int,
               generator: torch.Generator | None = None, chunk: int | None = None,
               sampler: str = "mc") -> torch.Tensor:
    """The joint information flow I(z_S; Y_hat) of the latents S = ``fixed`` (indices into 0..d-1), a scalar.

    z_S takes ``n_fixed`` values and the other latents ``n_free`` values each, as in ``information_flow``
    (which is the case S = the first k latents). ``group_flow(dec, clf, k + l, range(k, k + l), ...)`` is
    the flow of all non-causal factors together, I(beta; Y_hat), with alpha resampled.
    """
    fixed = sorted(set(int(i) for i in fixed))
    if d < 1 or not fixed or fixed[0] < 0 or fixed[-1] >= d:
        raise ValueError(f"fixed must be latent indices in 0..{d - 1}, got {fixed}")
    if n_fixed < 1 or n_free < 1:
        raise ValueError(f"need n_fixed, n_free >= 1, got {n_fixed}, {n_free}")
    device = next(decoder.parameters()).device
    mask = torch.zeros(1, d, dtype=torch.bool, device=device)
    mask[0, fixed] = True
    z = latent_samples(mask, n_fixed, n_free, sampler, generator)[0]
    return flow_from_probs(_probs_in_eval_mode(decoder, classifier, z, chunk))


def vae_terms(model: VAE, x: torch.Tensor, generator: torch.Generator | None = None):
    """Sum of squared errors and KL divergence to N(0, I), each per sample (summed, divided by batch)."""
    recon, mu, logvar = model(x, generator)
    sse = (recon - x).pow(2).sum() / len(x)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum() / len(x)
    return sse, kl


def train_gce(model: VAE, classifier, x_train: torch.Tensor, lam: float, steps: int, batch_size: int,
              lr: float, n_alpha: int, n_beta: int, seed: int, causal: bool = True,
              chunk: int | None = None, progress: bool = True, beta_penalty: float = 0.0,
              sampler: str = "mc") -> dict:
    """Minimise -I(alpha; Y) + lam * (SSE + KL) with Adam(0.5, 0.999), batches drawn with replacement.

    With ``causal=False`` the causal term is dropped: a plain VAE (the cost baseline). Returns
    ``train_loop``'s history: the per-step curves (causal term, SSE, KL), the wall time and the steps.

    ``beta_penalty`` = gamma > 0 adds gamma * I(beta; Y_hat), the joint flow of the non-causal factors
    (``group_flow``, same sample counts, alpha resampled, drawn from a generator of its own so the batches
    and alpha draws stay those of the unpenalised run); its curve comes back as ``"beta_flow"``.
    ``sampler`` picks the estimator's sampling ("mc" as in the paper, or "qmc"; see ``latent_samples``).
    """
    if steps < 1 or batch_size < 1:
        raise ValueError("steps and batch_size must be positive")
    _check_sampler(sampler)
    if beta_penalty < 0:
        raise ValueError(f"beta_penalty must be >= 0, got {beta_penalty}")
    penalise = beta_penalty > 0
    if penalise and (not causal or model.l == 0):
        raise ValueError("the beta penalty needs causal training and at least one beta (l >= 1)")
    device = x_train.device
    gen = torch.Generator(device=device).manual_seed(seed)
    penalty_gen = torch.Generator(device=device).manual_seed(seed + 1) if penalise else None
    d = model.k + model.l
    classifier.requires_grad_(False).eval()
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.999), fused=True)

    def step(i):
        x = x_train[torch.randint(len(x_train), (batch_size,), device=device, generator=gen)]
        sse, kl = vae_terms(model, x, gen)
        if causal:
            flow = information_flow(model.decoder, classifier, model.k, model.l, n_alpha, n_beta,
                                    generator=gen, chunk=chunk, sampler=sampler)
            loss = -flow + lam * (sse + kl)
            if penalise:
                leak = group_flow(model.decoder, classifier, d, range(model.k, d), n_alpha, n_beta,
                                  generator=penalty_gen, chunk=chunk, sampler=sampler)
                loss = loss + beta_penalty * leak
        else:
            flow = torch.zeros((), device=device)
            loss = sse + kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"causal": flow.detach(), "sse": sse.detach(), "kl": kl.detach(),
                **({"beta_flow": leak.detach()} if penalise else {})}

    return train_loop(step, steps, desc="GCE" if causal else "VAE", progress=progress)


def fit_explainer(classifier, x_train: torch.Tensor, k: int, l: int, lam: float, steps: int, batch_size: int,
                  lr: float, n_alpha: int, n_beta: int, seed: int, causal: bool = True, progress: bool = True,
                  beta_penalty: float = 0.0, sampler: str = "mc") -> Fit:
    """A GCE (or, with ``causal=False``, a plain VAE) trained by ``train_gce`` or loaded from the cache.

    The cache key includes a fingerprint of the classifier's weights, so a retrained classifier never
    reuses an explainer trained against an older one. ``beta_penalty`` and ``sampler`` enter the key only
    when they differ from their defaults, so the keys of plain GCEs do not depend on them.
    """
    weights = torch.cat([t.detach().flatten().float() for t in classifier.state_dict().values()])
    spec = {"k": k, "l": l, "lam": lam, "steps": steps, "batch_size": batch_size, "lr": lr,
            "n_alpha": n_alpha, "n_beta": n_beta, "seed": seed, "causal": causal,
            "x": fingerprint(x_train), "classifier": fingerprint(weights)}
    code = (VAE, Encoder, Decoder, train_gce, train_loop, information_flow, vae_terms, _classify,
            _probs_in_eval_mode)
    if beta_penalty:
        spec["beta_penalty"] = float(beta_penalty)
        code += (group_flow, latent_samples)
    if sampler != "mc":
        spec["sampler"] = sampler
        code += (latent_samples, _sobol)
    seed_everything(seed)
    model = VAE(k, l).to(x_train.device)
    train = lambda m: train_gce(m, classifier, x_train, lam, steps, batch_size, lr, n_alpha, n_beta,  # noqa: E731
                                seed=seed, causal=causal, progress=progress, beta_penalty=beta_penalty,
                                sampler=sampler)
    model, history, cached = load_or_train("gce" if causal else "vae", spec, model, train, code=code)
    return Fit(model.eval(), history, cached)


def epoch_steps(n: int, train_fraction: float, batch_size: int = 64) -> int:
    """Optimizer steps of one pass over the full-size training split of which ``n`` images are present."""
    return -(-round(n / train_fraction) // batch_size)


def fit_classifier(x: torch.Tensor, y: torch.Tensor, n_classes: int, epochs: int, seed: int,
                   train_fraction: float = 1.0, progress: bool = True, architecture: str = "cnn") -> Fit:
    """A black-box classifier (default: the paper's CNN) trained on (x, y) by ``train_classifier``, or
    loaded from the cache.

    On a reduced training set (``train_fraction`` < 1) an epoch counts the optimizer steps of one pass over
    the full set, so the learning-rate schedule and the number of steps stay the paper's. ``architecture``
    is a key of ``lib.gce.models.ARCHITECTURES``; it enters the cache key only when it is not the paper's
    CNN, so the keys of the CNN do not depend on it.
    """
    steps_per_epoch = epoch_steps(len(x), train_fraction)
    spec = {"n_classes": n_classes, "epochs": epochs, "steps_per_epoch": steps_per_epoch,
            "x": fingerprint(x), "y": fingerprint(y), "seed": seed}
    seed_everything(seed)
    model = models.build_classifier(architecture, n_classes).to(x.device)
    code = (CNNClassifier, SoftmaxClassifier, train_classifier, train_loop)
    if architecture != "cnn":
        spec["architecture"] = architecture
        code += (models,)  # the module's whole source: the architectures share building blocks
    train = lambda m: train_classifier(m, x, y, epochs, seed=seed, steps_per_epoch=steps_per_epoch,  # noqa: E731
                                       progress=progress)
    model, history, cached = load_or_train("classifier", spec, model, train, code=code)
    return Fit(model.eval(), history, cached)
