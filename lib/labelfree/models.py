"""The Label-Free XAI paper's networks.

* MNIST denoising autoencoder (claims 1, 2 and 4): 3 convolutions + 2 linear layers in the encoder (latent
  dimension 4), the mirror image in the decoder, sigmoid output; about 87k parameters in all, as in the
  public code. The claim-4 classifier is its encoder followed by Linear(4, 10).
* ECG5000 LSTM autoencoder (claims 1 and 2): two LSTMs per side, embedding 64, decoder fed the embedding at
  every time step and a linear read-out (about 249k parameters).
* The disentangled VAEs of claim 3 (β-VAE and β-TC-VAE share it; their objectives differ): the encoder and
  decoder of Burgess et al. (2018).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn


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


@contextmanager
def differentiable_rnns(model: nn.Module):
    """Within the block, ``model``'s recurrent layers are in training mode, the rest as it was.

    cuDNN computes an RNN's backward pass in training mode only ("cudnn RNN backward can only be called in
    training mode"), so gradients through the ECG encoder in eval mode fail on a GPU. An RNN without
    dropout between its layers computes the same in both modes, so this changes no value; with dropout it
    would, and we refuse.
    """
    rnns = [m for m in model.modules() if isinstance(m, nn.RNNBase)]
    if any(m.dropout and m.num_layers > 1 for m in rnns):
        raise ValueError("an RNN with dropout computes differently in training mode; cannot differentiate it "
                         "in eval mode on cuDNN")
    modes = [m.training for m in rnns]
    for m in rnns:
        m.train()
    try:
        yield model
    finally:
        for m, mode in zip(rnns, modes):
            m.train(mode)


class PretextClassifier(nn.Module):
    """Claim 4's classification pretext: the MNIST autoencoders' encoder, then Linear(latent, 10) logits."""

    def __init__(self, latent_dim: int = 4, n_classes: int = 10):
        super().__init__()
        self.encoder = MnistEncoder(latent_dim)
        self.head = nn.Linear(latent_dim, n_classes)

    def forward(self, x):
        return self.head(self.encoder(x))


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


class DisentangledVAE(nn.Module):
    """Claim 3's VAE on ``size``-pixel images (32 or 64) with ``latent_dim`` units; the explained model is
    ``encoder.mu``."""

    def __init__(self, size: int, latent_dim: int):
        super().__init__()
        self.size, self.latent_dim = size, latent_dim
        self.encoder = BurgessEncoder(size, latent_dim)
        self.decoder = BurgessDecoder(size, latent_dim)
        # oneDNN's CPU kernels for these (transposed) convolutions are faster in channels-last layout (1.5x a
        # 64-pixel training step); a layout changes no value beyond floating-point rounding
        self.to(memory_format=torch.channels_last)

    def forward(self, x, generator=None):
        """(reconstruction logits, mu, logvar, z) with z drawn by the reparameterisation trick."""
        mu, logvar = self.encoder(x)
        noise = torch.randn(mu.shape, device=mu.device, generator=generator)
        z = mu + noise * (0.5 * logvar).exp()
        return self.decoder(z), mu, logvar, z
