"""Generative Causal Explanations: the information-flow estimator, GCE training, sweeps and ablation."""
from __future__ import annotations

import time

import torch
from tqdm.auto import tqdm

from .cache import fingerprint, load_or_train
from .nets import VAE, CNNClassifier, Decoder, Encoder
from .train import seed_everything, train_classifier

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


def information_flow(decoder, classifier, k: int, l: int, n_alpha: int, n_beta: int, dims=None,
                     generator: torch.Generator | None = None, chunk: int | None = None) -> torch.Tensor:
    """Monte-Carlo information flow I(alpha; Y_hat) in nats, differentiable w.r.t. the decoder.

    ``decoder`` maps latents (n, k + l) to inputs and ``classifier`` maps inputs to probabilities (n, M).
    Without ``dims``: alpha = the first k latents, n_alpha draws, each with n_beta draws of beta; a scalar.
    With ``dims``: for each latent index i, z_i takes n_alpha values and all other latents n_beta values
    each; a tensor with one flow per index. All samples are drawn at once and go through the networks
    in one batch (``chunk=0``) or in slices of ``chunk`` samples (default: one batch on a GPU, slices of
    ``CPU_CHUNK`` on a CPU, where big batches thrash the allocator); the classifier runs in eval mode.
    """
    d = k + l
    if k < 0 or l < 0 or d < 1:
        raise ValueError(f"need k, l >= 0 and k + l >= 1, got k={k}, l={l}")
    if n_alpha < 1 or n_beta < 1:
        raise ValueError(f"need n_alpha, n_beta >= 1, got {n_alpha}, {n_beta}")
    device = next(decoder.parameters()).device
    draw = lambda *shape: torch.randn(*shape, device=device, generator=generator)  # noqa: E731
    if dims is None:
        if k == 0:
            raise ValueError("k = 0: there is no alpha whose flow could be measured")
        alpha = draw(n_alpha, 1, k).expand(n_alpha, n_beta, k)
        z = torch.cat([alpha, draw(n_alpha, n_beta, l)], dim=-1)
    else:
        dims = torch.as_tensor(list(dims), dtype=torch.long, device=device)
        if dims.numel() == 0 or dims.min() < 0 or dims.max() >= d:
            raise ValueError(f"dims must be latent indices in 0..{d - 1}, got {dims.tolist()}")
        fixed = draw(len(dims), n_alpha, 1, 1)
        is_fixed = torch.nn.functional.one_hot(dims, d).bool()[:, None, None, :]
        z = torch.where(is_fixed, fixed, draw(len(dims), n_alpha, n_beta, d))
    was_training = classifier.training
    classifier.eval()
    try:
        probs = _classify(decoder, classifier, z, chunk)
    finally:
        classifier.train(was_training)
    return flow_from_probs(probs)


def vae_terms(model: VAE, x: torch.Tensor, generator: torch.Generator | None = None):
    """Sum of squared errors and KL divergence to N(0, I), each per sample (summed, divided by batch)."""
    recon, mu, logvar = model(x, generator)
    sse = (recon - x).pow(2).sum() / len(x)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum() / len(x)
    return sse, kl


def train_gce(model: VAE, classifier, x_train: torch.Tensor, lam: float, steps: int, batch_size: int,
              lr: float, n_alpha: int, n_beta: int, seed: int, causal: bool = True,
              chunk: int | None = None, progress: bool = True) -> dict:
    """Minimise -I(alpha; Y) + lam * (SSE + KL) with Adam(0.5, 0.999), batches drawn with replacement.

    With ``causal=False`` the causal term is dropped: a plain VAE (the cost baseline). Returns the
    per-step curves (causal term, SSE, KL) and the wall time.
    """
    if steps < 1 or batch_size < 1:
        raise ValueError("steps and batch_size must be positive")
    device = x_train.device
    gen = torch.Generator(device=device).manual_seed(seed)
    classifier.requires_grad_(False).eval()
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.999))
    curves = torch.zeros(steps, 3, device=device)
    start = time.perf_counter()
    for step in tqdm(range(steps), desc="GCE" if causal else "VAE", disable=not progress, mininterval=2):
        x = x_train[torch.randint(len(x_train), (batch_size,), device=device, generator=gen)]
        sse, kl = vae_terms(model, x, gen)
        if causal:
            flow = information_flow(model.decoder, classifier, model.k, model.l, n_alpha, n_beta,
                                    generator=gen, chunk=chunk)
            loss = -flow + lam * (sse + kl)
        else:
            flow = torch.zeros((), device=device)
            loss = sse + kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        curves[step] = torch.stack([flow.detach(), sse.detach(), kl.detach()])
    curves = curves.cpu()
    seconds = time.perf_counter() - start
    return {"causal": curves[:, 0].tolist(), "sse": curves[:, 1].tolist(), "kl": curves[:, 2].tolist(),
            "seconds": seconds}


@torch.no_grad()
def latent_sweep(model: VAE, classifier, x: torch.Tensor, dim: int, offsets) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode ``x`` (posterior means), add each offset to latent ``dim``, decode and classify.

    Returns images (rows, len(offsets), H, W) and the classifier's decisions (rows, len(offsets)).
    """
    if not 0 <= dim < model.k + model.l:
        raise ValueError(f"dim must be in 0..{model.k + model.l - 1}, got {dim}")
    model.eval()
    classifier.eval()
    offsets = torch.as_tensor(offsets, dtype=torch.float32, device=x.device)
    mu, _ = model.encoder(x)
    z = mu[:, None, :].repeat(1, len(offsets), 1)
    z[..., dim] += offsets
    images = model.decoder(z.reshape(-1, z.shape[-1]))
    decisions = classifier(images).argmax(-1)
    return images.reshape(len(x), len(offsets), *images.shape[-2:]), decisions.reshape(len(x), len(offsets))


def decision_change_rate(decisions: torch.Tensor) -> float:
    """Fraction of sweep rows in which the classifier's decision is not constant."""
    return (decisions != decisions[:, :1]).any(dim=1).float().mean().item()


@torch.no_grad()
def ablation_accuracy(model: VAE, classifier, x: torch.Tensor, y: torch.Tensor,
                      generator: torch.Generator | None = None, batch_size: int = 2000) -> dict:
    """Classifier accuracy on the data, on its reconstructions, and with each latent "removed".

    Removing latent i: encode (posterior mean), replace z_i by a fresh N(0, 1) draw, decode, classify,
    compare with the true labels. Returns {"original", "reencoded", "removed": [one per latent]}.
    """
    model.eval()
    classifier.eval()
    d = model.k + model.l

    def acc(z_or_x, decode):
        hits = 0
        for part, labels in zip(z_or_x.split(batch_size), y.split(batch_size)):
            inputs = model.decoder(part) if decode else part
            hits += (classifier(inputs).argmax(-1) == labels).sum().item()
        return hits / len(y)

    mu = torch.cat([model.encoder(part)[0] for part in x.split(batch_size)])
    removed = []
    for i in range(d):
        z = mu.clone()
        z[:, i] = torch.randn(len(z), device=z.device, generator=generator)
        removed.append(acc(z, decode=True))
    return {"original": acc(x, decode=False), "reencoded": acc(mu, decode=True), "removed": removed}


def fit_classifier(x: torch.Tensor, y: torch.Tensor, n_classes: int, epochs: int, seed: int,
                   train_fraction: float = 1.0, progress: bool = True):
    """The paper's CNN trained on (x, y), or loaded from the cache. Returns (model, meta, cache hit).

    On a reduced training set (``train_fraction`` < 1) an epoch counts the optimizer steps of one pass
    over the full set, so the learning-rate schedule and the number of steps stay the paper's.
    """
    steps_per_epoch = -(-round(len(x) / train_fraction) // 64)
    spec = {"n_classes": n_classes, "epochs": epochs, "steps_per_epoch": steps_per_epoch,
            "x": fingerprint(x), "y": fingerprint(y), "seed": seed}
    seed_everything(seed)
    model = CNNClassifier(n_classes).to(x.device)
    fit = lambda m: train_classifier(m, x, y, epochs, seed=seed, steps_per_epoch=steps_per_epoch,  # noqa: E731
                                     progress=progress)
    model, meta, hit = load_or_train("classifier", spec, model, fit, code=(CNNClassifier, train_classifier))
    return model.eval(), meta, hit


def fit_explainer(classifier, x_train: torch.Tensor, k: int, l: int, lam: float, steps: int, batch_size: int,
                  lr: float, n_alpha: int, n_beta: int, seed: int, causal: bool = True, progress: bool = True):
    """A GCE (or, with ``causal=False``, a plain VAE) trained or loaded from the cache.

    The cache key includes a fingerprint of the classifier's weights, so a retrained classifier never
    reuses an explainer trained against an older one. Returns (model, curves and wall time, cache hit).
    """
    weights = torch.cat([t.detach().flatten().float() for t in classifier.state_dict().values()])
    spec = {"k": k, "l": l, "lam": lam, "steps": steps, "batch_size": batch_size, "lr": lr,
            "n_alpha": n_alpha, "n_beta": n_beta, "seed": seed, "causal": causal,
            "x": fingerprint(x_train), "classifier": fingerprint(weights)}
    seed_everything(seed)
    model = VAE(k, l).to(x_train.device)
    fit = lambda m: train_gce(m, classifier, x_train, lam, steps, batch_size, lr, n_alpha, n_beta,  # noqa: E731
                              seed=seed, causal=causal, progress=progress)
    model, meta, hit = load_or_train("gce" if causal else "vae", spec, model, fit,
                                     code=(VAE, Encoder, Decoder, train_gce, information_flow, vae_terms))
    return model.eval(), meta, hit
