"""The networks of the GCE paper, for MNIST / Fashion-MNIST sizes (1 x 28 x 28 inputs).

The explainer is a VAE whose latent z = (α in R^K, β in R^L) has the prior N(0, I); GCE trains it so that α
carries the classifier's information flow. The black-box classifiers it explains are the paper's CNN and,
for the "any classifier with gradients and probabilities" claim, small ResNet-, DenseNet- and
Inception-style networks after seed 001's appendix A.1 (three residual blocks of 16 channels; one dense
block of three layers and a transition; one Inception block) and seed 002's deliberately poor classifier, a
linear layer on the mean pixel intensity. Every classifier has ``logits`` (for training) and returns class
probabilities from ``forward`` (what GCE needs).
"""
from __future__ import annotations

import torch
from torch import nn

# The explainer and the paper's CNN keep their convolution weights channels-last, so their activations are too:
# on a CPU, oneDNN's kernels (transposed convolutions and max-pooling above all) run faster that way
# (benchmarks/README.md). Memory layout changes no value beyond floating-point rounding.
CHANNELS_LAST = torch.channels_last

# ----------------------------------------------------------------------------- the explainer


class Encoder(nn.Module):
    """Conv(64,4,s2,p1)-ReLU-Conv(64,4,s2,p1)-ReLU-Conv(64,4,s1,p0)-ReLU-Linear -> (mu, log var).

    The third convolution is unpadded (7x7 -> 4x4); the original code pads before it instead.
    """

    def __init__(self, latent_dim: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 64, 4, 2, 1), nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, 4, 2, 1), nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, 4, 1, 0), nn.ReLU(inplace=True), nn.Flatten(),
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
            nn.Linear(latent_dim, 64 * 7 * 7), nn.ReLU(inplace=True), nn.Unflatten(1, (64, 7, 7)),
            nn.ConvTranspose2d(64, 64, 4, 1, 1), nn.ReLU(inplace=True),   # 7 -> 8
            nn.ConvTranspose2d(64, 64, 4, 2, 2), nn.ReLU(inplace=True),   # 8 -> 14
            nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Sigmoid(),  # 14 -> 28
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class VAE(nn.Module):
    """The GCE explainer: latent z = (alpha in R^K, beta in R^L), prior N(0, I)."""

    def __init__(self, k: int, l: int):
        super().__init__()
        self.k, self.l = k, l
        self.encoder = Encoder(k + l)
        self.decoder = Decoder(k + l)
        self.to(memory_format=CHANNELS_LAST)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        mu, logvar = self.encoder(x)
        noise = torch.randn(mu.shape, device=mu.device, generator=generator)
        z = mu + noise * (0.5 * logvar).exp()
        return self.decoder(z), mu, logvar


# ----------------------------------------------------------------------------- the black-box classifiers


class SoftmaxClassifier(nn.Module):
    """Base: subclasses define ``logits``; ``forward`` turns them into probabilities."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x).softmax(dim=-1)


class CNNClassifier(SoftmaxClassifier):
    """The paper's classifier: Conv(32,3)-ReLU-Conv(64,3)-ReLU-MaxPool2-Dropout-Linear(128)-ReLU-Dropout-Linear(M).

    The max-pool comes before the second ReLU here: the same function and gradient (ReLU is monotone and has
    zero gradient wherever it changes the max), with the ReLU on a quarter of the values.
    """

    def __init__(self, n_classes: int):
        super().__init__()
        self.n_classes = n_classes
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3), nn.MaxPool2d(2), nn.ReLU(inplace=True),
            nn.Dropout(0.25), nn.Flatten(),
            nn.Linear(64 * 12 * 12, 128), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(128, n_classes),
        )
        self.to(memory_format=CHANNELS_LAST)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _conv_bn(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(c_out))


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.branch = nn.Sequential(_conv_bn(channels, channels, 3), nn.ReLU(), _conv_bn(channels, channels, 3))

    def forward(self, x):
        return torch.relu(x + self.branch(x))


class ResNetStyle(SoftmaxClassifier):
    """Conv(16)-BN-ReLU stem, three residual blocks of two 3x3 convolutions, global average pool, linear."""

    def __init__(self, n_classes: int, channels: int = 16, blocks: int = 3):
        super().__init__()
        self.body = nn.Sequential(_conv_bn(1, channels, 3), nn.ReLU(),
                                  *[_ResidualBlock(channels) for _ in range(blocks)],
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, n_classes))

    def logits(self, x):
        return self.body(x)


class _DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv (bottleneck) then BN-ReLU-3x3 conv; the new channels are concatenated to the input."""

    def __init__(self, c_in: int, growth: int):
        super().__init__()
        self.new = nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, 4 * growth, 1, bias=False),
                                 nn.BatchNorm2d(4 * growth), nn.ReLU(),
                                 nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False))

    def forward(self, x):
        return torch.cat([x, self.new(x)], dim=1)


class DenseNetStyle(SoftmaxClassifier):
    """Conv stem, one dense block of three layers, a transition (1x1 conv, 2x2 average pool), pool, linear."""

    def __init__(self, n_classes: int, stem: int = 16, growth: int = 12, layers: int = 3):
        super().__init__()
        width = stem + layers * growth
        self.body = nn.Sequential(nn.Conv2d(1, stem, 3, padding=1, bias=False),
                                  *[_DenseLayer(stem + i * growth, growth) for i in range(layers)],
                                  nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, width // 2, 1, bias=False),
                                  nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(width // 2, n_classes))

    def logits(self, x):
        return self.body(x)


class _InceptionBlock(nn.Module):
    """Four parallel branches on the same input (1x1; 1x1-3x3; 1x1-5x5; 3x3 max pool-1x1), concatenated."""

    def __init__(self, c_in: int, widths=(16, 16, 8, 8)):
        super().__init__()
        w1, w3, w5, wp = widths
        self.branches = nn.ModuleList([
            nn.Sequential(_conv_bn(c_in, w1, 1), nn.ReLU()),
            nn.Sequential(_conv_bn(c_in, w3, 1), nn.ReLU(), _conv_bn(w3, w3, 3), nn.ReLU()),
            nn.Sequential(_conv_bn(c_in, w5, 1), nn.ReLU(), _conv_bn(w5, w5, 5), nn.ReLU()),
            nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _conv_bn(c_in, wp, 1), nn.ReLU()),
        ])
        self.width = sum(widths)

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class InceptionStyle(SoftmaxClassifier):
    """Conv-BN-ReLU stem, one Inception block, 2x2 max pool, global average pool, linear."""

    def __init__(self, n_classes: int, stem: int = 32):
        super().__init__()
        block = _InceptionBlock(stem)
        self.body = nn.Sequential(_conv_bn(1, stem, 3), nn.ReLU(), block, nn.MaxPool2d(2),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(block.width, n_classes))

    def logits(self, x):
        return self.body(x)


class MeanIntensity(SoftmaxClassifier):
    """Seed 002's deliberately poor classifier: a linear layer on the image's mean pixel intensity.

    The mean is standardised with fixed constants (those of MNIST 3 vs 8's training images: 0.146 +- 0.039)
    before the linear layer. That leaves the model a linear function of the mean intensity, but lets SGD at the
    paper's lr fit it: on the raw mean (spread 0.04) the classifier stayed at the majority class.
    """

    centre, scale = 0.146, 0.039

    def __init__(self, n_classes: int):
        super().__init__()
        self.linear = nn.Linear(1, n_classes)

    def logits(self, x):
        return self.linear((x.mean(dim=(1, 2, 3)).unsqueeze(-1) - self.centre) / self.scale)


ARCHITECTURES = {"cnn": CNNClassifier, "resnet": ResNetStyle, "densenet": DenseNetStyle,
                 "inception": InceptionStyle, "mean_intensity": MeanIntensity}


def build_classifier(architecture: str, n_classes: int) -> nn.Module:
    """A fresh classifier by name (a key of ``ARCHITECTURES``)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; choose one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[architecture](n_classes)
