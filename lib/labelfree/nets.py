"""The Label-Free XAI paper's autoencoders and their training loop.

* MNIST denoising autoencoder: 3 convolutions + 2 linear layers in the encoder (latent dimension 4),
  the mirror image in the decoder, sigmoid output; about 87k parameters in all, as in the public code.
* ECG5000 LSTM autoencoder: two LSTMs per side, embedding 64, decoder fed the embedding at every time
  step and a linear read-out (about 249k parameters).

Training (``fit_autoencoder``): Adam (lr 1e-3, weight decay 1e-5), shuffled mini-batches, early stopping
on a *validation* split (the public code monitors the test set), the best validation weights restored.
Every ``checkpoint_every`` epochs the whole state is kept for TracIn; the checkpoints are returned in the
training record, which the model cache stores on disk with the weights (the public code keeps them in
memory only, so a reloaded model had none).
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from lib.core.cache import fingerprint, load_or_train
from lib.core.train import EarlyStopping, seed_everything


class MnistEncoder(nn.Module):
    def __init__(self, latent_dim: int = 4):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=0), nn.ReLU(), nn.Flatten(),
            nn.Linear(3 * 3 * 32, 128), nn.ReLU(), nn.Linear(128, latent_dim))

    def forward(self, x):
        return self.net(x)


class MnistDecoder(nn.Module):
    def __init__(self, latent_dim: int = 4):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 128), nn.ReLU(), nn.Linear(128, 3 * 3 * 32), nn.ReLU(),
            nn.Unflatten(1, (32, 3, 3)),
            nn.ConvTranspose2d(32, 16, 3, stride=2), nn.BatchNorm2d(16), nn.ReLU(),
            nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, h):
        return self.net(h)


class Autoencoder(nn.Module):
    """decoder(encoder(x)); the explained model is ``encoder``."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, x):
        return self.decoder(self.encoder(x))


def mnist_autoencoder(latent_dim: int = 4) -> Autoencoder:
    return Autoencoder(MnistEncoder(latent_dim), MnistDecoder(latent_dim))


class LstmEncoder(nn.Module):
    """LSTM(1 → 2e) then LSTM(2e → e); the representation is the last hidden state (N, e)."""

    def __init__(self, n_features: int = 1, embedding: int = 64):
        super().__init__()
        self.rnn1 = nn.LSTM(n_features, 2 * embedding, batch_first=True)
        self.rnn2 = nn.LSTM(2 * embedding, embedding, batch_first=True)

    def forward(self, x):
        _, (hidden, _) = self.rnn2(self.rnn1(x)[0])
        return hidden[-1]


class LstmDecoder(nn.Module):
    """The embedding repeated over time, LSTM(e → e), LSTM(e → 2e), Linear(2e → features)."""

    def __init__(self, seq_len: int = 140, n_features: int = 1, embedding: int = 64):
        super().__init__()
        self.seq_len = seq_len
        self.rnn1 = nn.LSTM(embedding, embedding, batch_first=True)
        self.rnn2 = nn.LSTM(embedding, 2 * embedding, batch_first=True)
        self.out = nn.Linear(2 * embedding, n_features)

    def forward(self, h):
        steps = h.unsqueeze(1).expand(-1, self.seq_len, -1)
        return self.out(self.rnn2(self.rnn1(steps)[0])[0])


def ecg_autoencoder(seq_len: int = 140, embedding: int = 64) -> Autoencoder:
    return Autoencoder(LstmEncoder(1, embedding), LstmDecoder(seq_len, 1, embedding))


def fit_autoencoder(model: Autoencoder, train_x: torch.Tensor, val_x: torch.Tensor, loss=F.mse_loss,
                    corrupt=None, epochs: int = 100, batch_size: int = 300, patience: int = 10,
                    checkpoint_every: int = 10, seed: int = 0, progress: bool = True) -> dict:
    """Train ``model`` to reconstruct x from ``corrupt(x, generator)`` (identity when None); returns the record.

    The validation loss is computed on corrupted validation inputs with a fixed generator, so that the
    early-stopping criterion is deterministic. The record holds the loss curves, the best epoch, wall
    time and the TracIn checkpoints (full state dicts on the CPU).
    """
    if epochs < 1 or batch_size < 1 or patience < 1 or checkpoint_every < 1:
        raise ValueError("epochs, batch_size, patience and checkpoint_every must be positive")
    corrupt = corrupt or (lambda x, generator: x)
    gen = torch.Generator(device=train_x.device).manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    record = {"train_loss": [], "val_loss": [], "checkpoints": [], "checkpoint_epochs": []}
    stopper = EarlyStopping(patience)
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc="autoencoder", disable=not progress, mininterval=2)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(train_x), device=train_x.device, generator=gen)
        total = 0.0
        for i in range(0, len(train_x), batch_size):
            x = train_x[order[i:i + batch_size]]
            batch_loss = loss(model(corrupt(x, gen)), x)
            optimiser.zero_grad(set_to_none=True)
            batch_loss.backward()
            optimiser.step()
            total += batch_loss.item() * len(x)
        model.eval()
        with torch.no_grad():
            val_gen = torch.Generator(device=val_x.device).manual_seed(seed + 1)
            val = sum(loss(model(corrupt(val_x[i:i + 1000], val_gen)), val_x[i:i + 1000]).item() * len(val_x[i:i + 1000])
                      for i in range(0, len(val_x), 1000)) / len(val_x)
        record["train_loss"].append(total / len(train_x))
        record["val_loss"].append(val)
        if epoch % checkpoint_every == 0:
            record["checkpoints"].append({k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
            record["checkpoint_epochs"].append(epoch + 1)
        bar.set_postfix(train=f"{total / len(train_x):.4f}", val=f"{val:.4f}")
        if stopper.step(val, model, epoch):
            break
    stopper.restore(model)
    record.update(epochs_run=len(record["val_loss"]), best_epoch=stopper.best_epoch, best_val_loss=stopper.best,
                  seconds=time.perf_counter() - start)
    return record


def gaussian_noise(std: float):
    """The denoising pretext: x + std·ε, ε ~ N(0, I) (no clipping, as in the public code)."""
    return lambda x, generator: x + std * torch.randn(x.shape, generator=generator, device=x.device)


def trained_autoencoder(kind: str, train_x: torch.Tensor, val_x: torch.Tensor, seed: int, epochs: int,
                        batch_size: int, patience: int = 10, checkpoint_every: int = 10, noise_std: float = 0.3,
                        progress: bool = True):
    """The MNIST denoising autoencoder (``kind="mnist"``, MSE) or the ECG LSTM autoencoder (``"ecg"``, L1),
    trained or loaded from the model cache. Returns ``(model, record, cache_hit)``."""
    if kind not in ("mnist", "ecg"):
        raise ValueError(f"unknown kind {kind!r}; choose 'mnist' or 'ecg'")
    seed_everything(seed)
    model = (mnist_autoencoder() if kind == "mnist" else ecg_autoencoder()).to(train_x.device)
    loss = F.mse_loss if kind == "mnist" else F.l1_loss
    corrupt = gaussian_noise(noise_std) if kind == "mnist" else None
    spec = {"kind": kind, "train": fingerprint(train_x), "val": fingerprint(val_x), "seed": seed, "epochs": epochs,
            "batch_size": batch_size, "patience": patience, "checkpoint_every": checkpoint_every,
            "noise_std": noise_std if kind == "mnist" else None}
    code = (MnistEncoder, MnistDecoder, LstmEncoder, LstmDecoder, Autoencoder, fit_autoencoder, gaussian_noise)
    train = lambda m: fit_autoencoder(m, train_x, val_x, loss, corrupt, epochs, batch_size, patience,  # noqa: E731
                                      checkpoint_every, seed, progress)
    model, record, hit = load_or_train(f"labelfree-{kind}-ae", spec, model, train, code=code)
    return model.eval(), record, hit
