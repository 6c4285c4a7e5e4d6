"""Networks of the GCE paper (MNIST / Fashion-MNIST sizes: 1 x 28 x 28 inputs)."""
from __future__ import annotations

import torch
from torch import nn


class CNNClassifier(nn.Module):
    """Conv(32,3)-ReLU-Conv(64,3)-ReLU-MaxPool2-Dropout-Linear(128)-ReLU-Dropout-Linear(M).

    ``forward`` returns class probabilities, the interface GCE needs; ``logits`` is for training.
    """

    def __init__(self, n_classes: int):
        super().__init__()
        self.n_classes = n_classes
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(),
            nn.Conv2d(32, 64, 3), nn.ReLU(),
            nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
            nn.Linear(64 * 12 * 12, 128), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(128, n_classes),
        )

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x).softmax(dim=-1)


class Encoder(nn.Module):
    """Conv(64,4,s2,p1)-ReLU-Conv(64,4,s2,p1)-ReLU-Conv(64,4,s1,p0)-ReLU-Linear -> (mu, log var).

    The third convolution is unpadded (7x7 -> 4x4); the original code pads before it instead.
    """

    def __init__(self, latent_dim: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 64, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(64, 64, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(64, 64, 4, 1, 0), nn.ReLU(), nn.Flatten(),
        )
        self.head = nn.Linear(64 * 4 * 4, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.features(x)).chunk(2, dim=-1)
        return mu, logvar


class Decoder(nn.Module):
    """Linear(3136)-ReLU-ConvT(64,4,s1,p1)-ReLU-ConvT(64,4,s2,p2)-ReLU-ConvT(1,4,s2,p1)-Sigmoid."""

    def __init__(self, latent_dim: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
            nn.ConvTranspose2d(64, 64, 4, 1, 1), nn.ReLU(),   # 7 -> 8
            nn.ConvTranspose2d(64, 64, 4, 2, 2), nn.ReLU(),   # 8 -> 14
            nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Sigmoid(),  # 14 -> 28
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class VAE(nn.Module):
    """The GCE generator: latent z = (alpha in R^K, beta in R^L), prior N(0, I)."""

    def __init__(self, k: int, l: int):
        super().__init__()
        self.k, self.l = k, l
        self.encoder = Encoder(k + l)
        self.decoder = Decoder(k + l)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        mu, logvar = self.encoder(x)
        noise = torch.randn(mu.shape, device=mu.device, generator=generator)
        z = mu + noise * (0.5 * logvar).exp()
        return self.decoder(z), mu, logvar
