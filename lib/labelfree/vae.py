"""Disentangled VAEs for claim 3: β-VAE and β-TC-VAE with the encoder and decoder of Burgess et al. (2018),
per-unit saliency maps, and seed 003's total-variation attribution prior.

Losses follow the public code (disvae-style): Bernoulli likelihood summed over pixels and averaged over
the batch; β-VAE = reconstruction + β KL(q(z|x) || N(0, I)); β-TC-VAE = reconstruction + MI + β TC +
dimension-wise KL, estimated by minibatch weighted sampling (Chen et al., 2018).
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from lib.core.cache import fingerprint, load_or_train
from lib.core.train import seed_everything

KINDS = ("beta", "tc")  # β-VAE, β-TC-VAE


class BurgessEncoder(nn.Module):
    """Conv(32, 4, s2, p1) x 3 (x 4 for 64 px)-ReLU, Linear(256)-ReLU x 2, Linear(2 d) -> (mu, logvar)."""

    def __init__(self, size: int, latent_dim: int):
        super().__init__()
        convs = 4 if size == 64 else 3
        layers = []
        for i in range(convs):
            layers += [nn.Conv2d(1 if i == 0 else 32, 32, 4, 2, 1), nn.ReLU()]
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(32 * 4 * 4, 256), nn.ReLU(),
                                 nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 2 * latent_dim))

    def forward(self, x):
        mu, logvar = self.net(x).unflatten(-1, (-1, 2)).unbind(-1)  # interleaved, as in the public code
        return mu, logvar

    def mu(self, x):
        return self(x)[0]


class BurgessDecoder(nn.Module):
    """The encoder transposed; returns Bernoulli logits (the sigmoid is inside the loss)."""

    def __init__(self, size: int, latent_dim: int):
        super().__init__()
        convs = 4 if size == 64 else 3
        layers = [nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                  nn.Linear(256, 32 * 4 * 4), nn.ReLU(), nn.Unflatten(1, (32, 4, 4))]
        for i in range(convs):
            last = i == convs - 1
            layers += [nn.ConvTranspose2d(32, 1 if last else 32, 4, 2, 1)] + ([] if last else [nn.ReLU()])
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


class VAE(nn.Module):
    def __init__(self, size: int, latent_dim: int):
        super().__init__()
        self.size, self.latent_dim = size, latent_dim
        self.encoder = BurgessEncoder(size, latent_dim)
        self.decoder = BurgessDecoder(size, latent_dim)

    def forward(self, x, generator=None):
        """(reconstruction logits, mu, logvar, z) with z drawn by the reparameterisation trick."""
        mu, logvar = self.encoder(x)
        noise = torch.randn(mu.shape, device=mu.device, generator=generator)
        z = mu + noise * (0.5 * logvar).exp()
        return self.decoder(z), mu, logvar, z


def kl_normal(mu, logvar):
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per sample, closed form."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)


def log_density_gaussian(x, mu, logvar):
    return -0.5 * (math.log(2 * math.pi) + logvar + (x - mu).pow(2) * (-logvar).exp())


def kl_decomposition(z, mu, logvar):
    """Batch means of (MI, TC, dimension-wise KL) of the β-TC-VAE, by minibatch weighted sampling.

    q(z) and q(z_d) are estimated at each sample z_i by the batch mixture (1/B) Σ_j q(. | x_j). Chen et
    al. divide by N·B instead (N the data-set size); that shifts MI, TC and the dimension-wise KL by
    constants and changes no gradient. With the 1/B normalisation and the batch being the whole data
    set, they are the plug-in estimates; their sum is always log q(z|x) - log p(z), a one-sample
    estimate of KL(q(z|x) || p(z)).
    """
    batch = z.shape[0]
    log_q_zx = log_density_gaussian(z, mu, logvar).sum(-1)
    log_p_z = log_density_gaussian(z, torch.zeros_like(z), torch.zeros_like(z)).sum(-1)
    pairs = log_density_gaussian(z[:, None], mu[None], logvar[None])  # (i, j, d): log q(z_i,d | x_j)
    log_q_z = torch.logsumexp(pairs.sum(-1), dim=1) - math.log(batch)
    log_prod_q_zd = (torch.logsumexp(pairs, dim=1) - math.log(batch)).sum(-1)
    return ((log_q_zx - log_q_z).mean(), (log_q_z - log_prod_q_zd).mean(), (log_prod_q_zd - log_p_z).mean())


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


def unit_saliency(encoder, x, n_samples: int = 5, batch_size: int = 500, generator=None) -> torch.Tensor:
    """Per-unit saliency |mu_j(x) · GradientShap_j(x)|, shape (N, d, H, W) for inputs (N, 1, H, W)."""
    maps = []
    for batch in torch.split(x, batch_size):
        batch = batch.float()
        with torch.no_grad():
            mu = encoder(batch)
        units = [gradient_shap(lambda t, j=j: encoder(t)[:, j], batch, n_samples, generator)
                 for j in range(mu.shape[1])]
        maps.append((torch.cat(units, 1) * mu[:, :, None, None]).abs().detach())
    return torch.cat(maps)


def total_variation(maps):
    """Σ over examples and channels of |φ(i+1, j) - φ(i, j)| + |φ(i, j+1) - φ(i, j)| (Erion et al.)."""
    return (maps[..., 1:, :] - maps[..., :-1, :]).abs().sum() + (maps[..., :, 1:] - maps[..., :, :-1]).abs().sum()


def vae_loss(model, x, kind: str, beta: float, generator=None):
    """(loss, parts) for a batch: Bernoulli reconstruction + the β-VAE or β-TC-VAE regulariser."""
    logits, mu, logvar, z = model(x, generator)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    if kind == "beta":
        kl = kl_normal(mu, logvar).mean()
        return rec + beta * kl, {"rec": rec, "kl": kl}
    if kind == "tc":
        mi, tc, dw_kl = kl_decomposition(z, mu, logvar)
        return rec + mi + beta * tc + dw_kl, {"rec": rec, "kl": kl_normal(mu, logvar).mean(), "tc": tc}
    raise ValueError(f"kind must be one of {KINDS}")


def train_vae(model, x, kind: str, beta: float, epochs: int, batch_size: int, tv_weight: float = 0.0,
              tv_samples: int = 1, lr: float = 1e-3, seed: int = 0, progress: bool = True) -> dict:
    """Adam (lr 1e-3, weight decay 1e-5, as the public code); shuffled epochs over ``x``.

    ``tv_weight`` > 0 adds seed 003's attribution prior: λ · total variation of the label-free
    GradientShap attributions of the batch (summed over the batch, as in its code), computed with
    ``tv_samples`` draws of α and kept differentiable.
    """
    gen = torch.Generator(device=x.device).manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-5)
    history = {"loss": [], "rec": [], "kl": [], "tv": []}
    start = time.perf_counter()
    steps = -(-len(x) // batch_size)
    model.train()
    with tqdm(total=epochs * steps, desc=f"{kind}-VAE β={beta} λ={tv_weight}", disable=not progress,
              mininterval=2) as bar:
        for _ in range(epochs):
            for idx in torch.randperm(len(x), device=x.device, generator=gen).split(batch_size):
                batch = x[idx].float()
                loss, parts = vae_loss(model, batch, kind, beta, gen)
                tv = torch.zeros(())
                if tv_weight:
                    tv = total_variation(label_free_gradient_shap(model.encoder.mu, batch, tv_samples, gen,
                                                                  create_graph=True))
                    loss = loss + tv_weight * tv
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                for key, value in (("loss", loss), ("rec", parts["rec"]), ("kl", parts["kl"]), ("tv", tv)):
                    history[key].append(float(value.detach()))
                bar.update()
    model.eval()
    history["seconds"] = time.perf_counter() - start
    return history


def fit_vae(x, kind: str, beta: float, latent_dim: int, epochs: int, batch_size: int, seed: int,
            tv_weight: float = 0.0, tv_samples: int = 1, progress: bool = True, use_cache: bool = True):
    """A seeded VAE trained on ``x`` (N, 1, S, S), loaded from the model cache when it exists.

    Returns (model, history, cache hit).
    """
    seed_everything(seed)
    model = VAE(x.shape[-1], latent_dim).to(x.device)
    spec = {"data": fingerprint(x), "kind": kind, "beta": beta, "latent_dim": latent_dim, "epochs": epochs,
            "batch_size": batch_size, "seed": seed, "tv_weight": tv_weight, "tv_samples": tv_samples}
    train = lambda m: train_vae(m, x, kind, beta, epochs, batch_size, tv_weight, tv_samples,  # noqa: E731
                                seed=seed, progress=progress)
    code = (BurgessEncoder, BurgessDecoder, VAE, kl_normal, log_density_gaussian, kl_decomposition,
            gradient_shap, label_free_gradient_shap, total_variation, vae_loss, train_vae)
    return load_or_train(f"labelfree-vae-{kind}", spec, model, train, code, use_cache)


def offdiagonal_pcc(saliency) -> float:
    """Mean off-diagonal Pearson correlation between the units' saliency maps (N, d, H, W).

    Each unit's maps over all examples form one vector, as in the public code's ``pearson_saliency``;
    units whose maps are constant have no correlation and are left out of the mean.
    """
    saliency = torch.as_tensor(saliency, dtype=torch.float64)
    d = saliency.shape[1]
    corr = torch.corrcoef(saliency.transpose(0, 1).reshape(d, -1))
    off = corr[~torch.eye(d, dtype=torch.bool)]
    return float(off[torch.isfinite(off)].mean()) if torch.isfinite(off).any() else float("nan")


def mnist_32(images: torch.Tensor) -> torch.Tensor:
    """MNIST (N, 1, 28, 28) in [0, 1] resized to 32 px (bilinear), as the public code's Resize(32)."""
    return F.interpolate(images, size=32, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)


def unit_kl(model, x, batch_size: int = 1000) -> np.ndarray:
    """Mean over ``x`` of each unit's KL(q(z_j|x) || N(0, 1)) in nats: near 0 for a collapsed unit."""
    with torch.no_grad():
        kl = torch.cat([0.5 * (mu.pow(2) + lv.exp() - 1 - lv) for mu, lv in
                        (model.encoder(b.float()) for b in torch.split(x, batch_size))]).mean(0)
    return kl.cpu().numpy()


def beta_sweep(x_train, x_test, kinds, betas, seeds, latent_dim: int, epochs: int, batch_size: int,
               tv_weight: float = 0.0, tv_samples: int = 1, gs_samples: int = 5, progress: bool = True):
    """Train one VAE per (kind, β, seed) and measure it: a DataFrame with one row per model.

    Columns: kind, beta, seed, tv_weight, pcc (mean off-diagonal PCC of the per-unit saliency maps on
    ``x_test``), rec and kl (means over the last tenth of training steps), attr_tv (total variation per
    test image of the label-free GradientShap attributions, what the prior penalises), active (units with KL > 0.01
    nats on ``x_test``), seconds (training time), cached; plus the per-unit saliency maps of the first
    8 test images in ``.attrs["examples"]``, keyed by (kind, beta, seed).
    """
    import pandas as pd

    rows, examples = [], {}
    for kind in kinds:
        for beta in betas:
            for seed in seeds:
                model, hist, hit = fit_vae(x_train, kind, beta, latent_dim, epochs, batch_size, seed,
                                           tv_weight, tv_samples, progress)
                saliency = unit_saliency(model.encoder.mu, x_test, gs_samples,
                                         generator=torch.Generator(device=x_test.device).manual_seed(seed))
                gen = torch.Generator(device=x_test.device).manual_seed(seed)
                attr_tv = sum(total_variation(label_free_gradient_shap(model.encoder.mu, batch.float(), gs_samples,
                                                                       gen)).item()
                              for batch in torch.split(x_test, 500)) / len(x_test)
                tail = max(1, len(hist["loss"]) // 10)
                rows.append({"kind": kind, "beta": beta, "seed": seed, "tv_weight": tv_weight,
                             "pcc": offdiagonal_pcc(saliency), "rec": float(np.mean(hist["rec"][-tail:])),
                             "kl": float(np.mean(hist["kl"][-tail:])), "attr_tv": attr_tv,
                             "active": int((unit_kl(model, x_test) > 0.01).sum()),
                             "seconds": hist["seconds"], "cached": hit})
                examples[kind, beta, seed] = saliency[:8].cpu().numpy()
    table = pd.DataFrame(rows)
    table.attrs["examples"] = examples
    return table


def pcc_fall(table, low: float, high: float):
    """PCC at β = ``low`` minus PCC at β = ``high``, a Series indexed by (kind, seed); positive: PCC falls."""
    wide = table.pivot_table(index=["kind", "seed"], columns="beta", values="pcc")
    return (wide[low] - wide[high])
