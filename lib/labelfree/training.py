"""Objectives and trainers of the Label-Free XAI models, all on ``lib.core.train.train_loop``.

``train_<model>`` is the training loop (returns its history), ``fit_<model>`` the seeded, cached trainer
(returns ``Fit(model, history, cached)``; models are cached by a hash of data, hyperparameters, seed and
training code). Every trainer uses Adam (lr 1e-3, weight decay 1e-5, as the public code) over batches of
a fresh permutation of the training set each epoch.

* Autoencoders (claims 1, 2, 4) reconstruct x from ``corrupt(x)`` (the pretext: none, Gaussian noise,
  pixel dropout) and the claim-4 classifier fits labels; both stop early on a *validation* split (the public
  code monitors the test set), the best validation weights restored. Every ``checkpoint_every`` epochs the
  autoencoder's whole state is kept for TracIn; the checkpoints are stored with the cached weights (the
  public code keeps them in memory only, so a reloaded model had none).
* Disentangled VAEs (claim 3), disvae-style: Bernoulli likelihood summed over pixels and averaged over the
  batch; β-VAE = reconstruction + β KL(q(z|x) || N(0, I)); β-TC-VAE = reconstruction + MI + β TC +
  dimension-wise KL, estimated by minibatch weighted sampling (Chen et al., 2018); optionally seed 003's
  total-variation attribution prior.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lib.core.cache import fingerprint, load_or_train
from lib.core.train import EarlyStopping, Fit, seed_everything, shuffled_batches, train_loop

from .features import gradient_shap, label_free_gradient_shap
from .models import (Autoencoder, BurgessDecoder, BurgessEncoder, DisentangledVAE, LstmDecoder, LstmEncoder,
                     MnistDecoder, MnistEncoder, PretextClassifier, ecg_autoencoder, mnist_autoencoder)

KINDS = ("beta", "tc")  # β-VAE, β-TC-VAE
TASKS = {"R": "reconstruction", "D": "denoising", "I": "inpainting", "C": "classification"}


# ----------------------------------------------------------------------------- pretexts (input corruptions)

def identity(x, generator):
    return x


def gaussian_noise(std: float):
    """The denoising pretext: x + std·ε, ε ~ N(0, I) (no clipping, as in the public code)."""
    return lambda x, generator: x + std * torch.randn(x.shape, generator=generator, device=x.device)


def bernoulli_mask(p: float):
    """The inpainting pretext: each pixel set to 0 with probability ``p``."""
    return lambda x, generator: x * (torch.rand(x.shape, generator=generator, device=x.device) >= p)


# Claim 4's autoencoder pretexts: task -> a factory of its corruption.
CORRUPTIONS = {"R": lambda: identity, "D": lambda: gaussian_noise(0.3), "I": lambda: bernoulli_mask(0.2)}


# ----------------------------------------------------------------------------- shared pieces of the loops

def epoch_mean(losses, n: int, batch_size: int) -> float:
    """An epoch's training loss: its per-batch losses weighted by batch size (the last batch may be short)."""
    return sum(value * min(batch_size, n - j * batch_size) for j, value in enumerate(losses)) / n


def train_early_stopped(model, step, n: int, batch_size: int, epochs: int, patience: int, validate,
                        after_epoch=None, desc: str = "train", progress: bool = True) -> dict:
    """``train_loop`` over ``epochs`` passes of ``step`` with early stopping on the validation loss.

    After each epoch ``validate()`` runs with the model in eval mode and without gradients and returns (the
    validation loss, a dict of further per-epoch values); ``after_epoch(epoch, history)`` may add more. The
    history gains per-epoch ``train_loss`` and ``val_loss``, ``epochs_run``, ``best_epoch`` and
    ``best_val_loss``; the best validation weights are restored and the model left in eval mode.
    """
    if epochs < 1 or batch_size < 1 or patience < 1:
        raise ValueError("epochs, batch_size and patience must be positive")
    steps = -(-n // batch_size)
    stopper = EarlyStopping(patience)

    def on_epoch(epoch, history):
        model.eval()
        with torch.no_grad():
            val, extra = validate()
        for key, value in {"train_loss": epoch_mean(history["loss"][-steps:], n, batch_size), "val_loss": val,
                           **extra}.items():
            history.setdefault(key, []).append(value)
        if after_epoch is not None:
            after_epoch(epoch, history)
        model.train()
        return stopper.step(val, model, epoch)

    model.train()
    history = train_loop(step, epochs * steps, epoch_steps=steps, on_epoch=on_epoch, desc=desc, progress=progress)
    stopper.restore(model)
    return {**history, "epochs_run": len(history["val_loss"]), "best_epoch": stopper.best_epoch,
            "best_val_loss": stopper.best}


def adam(model) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)


# ----------------------------------------------------------------------------- autoencoders and the classifier

def train_autoencoder(model: Autoencoder, train_x: torch.Tensor, val_x: torch.Tensor, loss=F.mse_loss,
                      corrupt=None, epochs: int = 100, batch_size: int = 300, patience: int = 10,
                      checkpoint_every: int = 10, seed: int = 0, progress: bool = True) -> dict:
    """Train ``model`` to reconstruct x from ``corrupt(x, generator)`` (identity when None); returns the history.

    The validation loss is computed on corrupted validation inputs with a fixed generator, so that the
    early-stopping criterion is deterministic. Besides ``train_early_stopped``'s entries the history holds
    the TracIn ``checkpoints`` (full state dicts on the CPU) and the epochs they were taken after.
    """
    if checkpoint_every < 1:
        raise ValueError("checkpoint_every must be positive")
    corrupt = corrupt or identity
    gen = torch.Generator(device=train_x.device).manual_seed(seed)
    optimiser = adam(model)
    _, batch = shuffled_batches(len(train_x), batch_size, gen)

    def step(i):
        x = train_x[batch(i)]
        batch_loss = loss(model(corrupt(x, gen)), x)
        optimiser.zero_grad(set_to_none=True)
        batch_loss.backward()
        optimiser.step()
        return {"loss": batch_loss.detach()}

    def validate():
        val_gen = torch.Generator(device=val_x.device).manual_seed(seed + 1)
        chunks = (val_x[i:i + 1000] for i in range(0, len(val_x), 1000))
        return sum(loss(model(corrupt(x, val_gen)), x).item() * len(x) for x in chunks) / len(val_x), {}

    def keep_checkpoint(epoch, history):
        if epoch % checkpoint_every == 0:
            history.setdefault("checkpoints", []).append(
                {k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
            history.setdefault("checkpoint_epochs", []).append(epoch + 1)

    return train_early_stopped(model, step, len(train_x), batch_size, epochs, patience, validate, keep_checkpoint,
                               "autoencoder", progress)


def train_pretext_classifier(model: PretextClassifier, train, val, epochs: int, batch_size: int, patience: int,
                             seed: int = 0, progress: bool = True) -> dict:
    """Cross-entropy on logits (the public code applied it to softmax outputs) with early stopping on the
    validation loss; the history adds the per-epoch ``val_accuracy``."""
    (x, y), (val_x, val_y) = train, val
    gen = torch.Generator(device=x.device).manual_seed(seed)
    optimiser = adam(model)
    _, batch = shuffled_batches(len(x), batch_size, gen)

    def step(i):
        idx = batch(i)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        return {"loss": loss.detach()}

    def validate():
        logits = model(val_x)
        accuracy = (logits.argmax(-1) == val_y).float().mean().item()
        return F.cross_entropy(logits, val_y).item(), {"val_accuracy": accuracy}

    return train_early_stopped(model, step, len(x), batch_size, epochs, patience, validate, desc="classifier",
                               progress=progress)


_SHARED_CODE = (shuffled_batches, epoch_mean, train_early_stopped, adam, train_loop)


def fit_autoencoder(kind: str, train_x: torch.Tensor, val_x: torch.Tensor, seed: int, epochs: int, batch_size: int,
                    patience: int = 10, checkpoint_every: int = 10, noise_std: float = 0.3,
                    progress: bool = True) -> Fit:
    """The MNIST denoising autoencoder (``kind="mnist"``, MSE) or the ECG LSTM autoencoder (``"ecg"``, L1),
    trained or loaded from the model cache."""
    if kind not in ("mnist", "ecg"):
        raise ValueError(f"unknown kind {kind!r}; choose 'mnist' or 'ecg'")
    seed_everything(seed)
    model = (mnist_autoencoder() if kind == "mnist" else ecg_autoencoder()).to(train_x.device)
    loss = F.mse_loss if kind == "mnist" else F.l1_loss
    corrupt = gaussian_noise(noise_std) if kind == "mnist" else None
    spec = {"kind": kind, "train": fingerprint(train_x), "val": fingerprint(val_x), "seed": seed, "epochs": epochs,
            "batch_size": batch_size, "patience": patience, "checkpoint_every": checkpoint_every,
            "noise_std": noise_std if kind == "mnist" else None}
    code = (MnistEncoder, MnistDecoder, LstmEncoder, LstmDecoder, Autoencoder, train_autoencoder, identity,
            gaussian_noise, *_SHARED_CODE)
    train = lambda m: train_autoencoder(m, train_x, val_x, loss, corrupt, epochs, batch_size, patience,  # noqa: E731
                                        checkpoint_every, seed, progress)
    model, history, hit = load_or_train(f"labelfree-{kind}-ae", spec, model, train, code=code)
    return Fit(model.eval(), history, hit)


def fit_pretext_encoder(task: str, train, val, seed: int, epochs: int, batch_size: int = 300, patience: int = 10,
                        progress: bool = True) -> Fit:
    """The model trained on pretext ``task`` (a key of TASKS), from the model cache when possible; its
    ``encoder`` is the explained one.

    ``train`` and ``val`` are (images in [0, 1], labels); labels are used by the classifier only. The
    history carries no TracIn checkpoints.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {sorted(TASKS)}")
    # One seed per task and run: tasks of a run start from different weights and batch orders, as in the
    # public code (one generator for all models); a shared seed would make the encoders alike by construction.
    seed = len(TASKS) * seed + list(TASKS).index(task)
    seed_everything(seed)
    spec = {"task": task, "train": fingerprint(train[0]), "val": fingerprint(val[0]), "seed": seed,
            "epochs": epochs, "batch_size": batch_size, "patience": patience}
    if task == "C":
        model = PretextClassifier().to(train[0].device)
        code = (MnistEncoder, PretextClassifier, train_pretext_classifier, *_SHARED_CODE)
        fit = lambda m: train_pretext_classifier(m, train, val, epochs, batch_size, patience, seed,  # noqa: E731
                                                 progress)
    else:
        model = mnist_autoencoder().to(train[0].device)
        code = (MnistEncoder, MnistDecoder, Autoencoder, train_autoencoder, identity, gaussian_noise, bernoulli_mask,
                *_SHARED_CODE)
        fit = lambda m: train_autoencoder(m, train[0], val[0], F.mse_loss, CORRUPTIONS[task](),  # noqa: E731
                                          epochs, batch_size, patience, checkpoint_every=epochs, seed=seed,
                                          progress=progress)
    model, history, hit = load_or_train(f"labelfree-pretext-{task}", spec, model, fit, code)
    return Fit(model.eval(), {k: v for k, v in history.items() if k != "checkpoints"}, hit)


# ----------------------------------------------------------------------------- disentangled VAEs

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


def total_variation(maps):
    """Σ over examples and channels of |φ(i+1, j) - φ(i, j)| + |φ(i, j+1) - φ(i, j)| (Erion et al.): seed
    003's attribution prior, and how rough a set of attribution maps is."""
    return (maps[..., 1:, :] - maps[..., :-1, :]).abs().sum() + (maps[..., :, 1:] - maps[..., :, :-1]).abs().sum()


def train_disentangled_vae(model: DisentangledVAE, x, kind: str, beta: float, epochs: int, batch_size: int,
                           tv_weight: float = 0.0, tv_samples: int = 1, seed: int = 0, progress: bool = True) -> dict:
    """Train on ``x`` (N, 1, S, S; any dtype, each batch converted to float); returns the history with
    per-step ``loss``, ``rec``, ``kl`` and ``tv``.

    ``tv_weight`` > 0 adds seed 003's attribution prior: λ · total variation of the label-free
    GradientShap attributions of the batch (summed over the batch, as in its code), computed with
    ``tv_samples`` draws of α and kept differentiable.
    """
    gen = torch.Generator(device=x.device).manual_seed(seed)
    optimiser = adam(model)
    steps, batch = shuffled_batches(len(x), batch_size, gen)

    def step(i):
        inputs = x[batch(i)].float()
        loss, parts = vae_loss(model, inputs, kind, beta, gen)
        tv = torch.zeros((), device=x.device)
        if tv_weight:
            tv = total_variation(label_free_gradient_shap(model.encoder.mu, inputs, tv_samples, gen, create_graph=True))
            loss = loss + tv_weight * tv
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        return {name: value.detach() for name, value in
                (("loss", loss), ("rec", parts["rec"]), ("kl", parts["kl"]), ("tv", tv))}

    model.train()
    history = train_loop(step, epochs * steps, epoch_steps=steps, desc=f"{kind}-VAE β={beta} λ={tv_weight}",
                         progress=progress)
    model.eval()
    return history


def fit_disentangled_vae(x, kind: str, beta: float, latent_dim: int, epochs: int, batch_size: int, seed: int,
                         tv_weight: float = 0.0, tv_samples: int = 1, progress: bool = True,
                         use_cache: bool = True) -> Fit:
    """A seeded VAE trained on ``x`` (N, 1, S, S), loaded from the model cache when it exists."""
    seed_everything(seed)
    model = DisentangledVAE(x.shape[-1], latent_dim).to(x.device)
    spec = {"data": fingerprint(x), "kind": kind, "beta": beta, "latent_dim": latent_dim, "epochs": epochs,
            "batch_size": batch_size, "seed": seed, "tv_weight": tv_weight, "tv_samples": tv_samples}
    train = lambda m: train_disentangled_vae(m, x, kind, beta, epochs, batch_size, tv_weight,  # noqa: E731
                                             tv_samples, seed=seed, progress=progress)
    code = (BurgessEncoder, BurgessDecoder, DisentangledVAE, kl_normal, log_density_gaussian, kl_decomposition,
            gradient_shap, label_free_gradient_shap, total_variation, vae_loss, train_disentangled_vae,
            shuffled_batches, adam, train_loop)
    model, history, hit = load_or_train(f"labelfree-vae-{kind}", spec, model, train, code, use_cache)
    return Fit(model.eval(), history, hit)
