"""The MNIST counterfactual generative network: shape, texture and background mechanisms, a composer, and
the conditional discriminators it is trained against.

Each mechanism gets noise u ~ N(0, I_32) concatenated with a learned 10-d label embedding. The shape
mechanism outputs a one-channel mask m clamped to [1e-4, 0.9999]; the texture (foreground) and background
mechanisms output 3-channel tanh images that pass through the "shuffler" (tile 2×2, random 32×32 crop),
which destroys global shape so that only texture statistics survive in them. The composite is
x = m ⊙ f + (1 − m) ⊙ b. Layer sizes follow the original MNIST code (ngf 32, 8×8 start, two upsampling
blocks, each a nearest ×2 upsampling and a 3×3 convolution, here fused into ``UpsampledConv2d``; instance norm
between the shape blocks). Internally images are in [−1, 1]; :meth:`CGN.sample`
returns [0, 1].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .variants import random_crops

MASK_RANGE = (1e-4, 0.9999)


def _phase_taps(weight: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The three taps (a, b, c) of a kernel along ``dim`` seen from a ×2 nearest-upsampled grid: an even output
    pixel reads input pixels (i − 1, i) with taps (a, b + c), an odd one (i, i + 1) with (a + b, c)."""
    a, b, c = weight.unbind(dim)
    return torch.stack([a, b + c], dim), torch.stack([a + b, c], dim)


class UpsampledConv2d(nn.Conv2d):
    """``nn.Upsample(scale_factor=2)`` (nearest) followed by a 3×3 convolution with padding 1, computed without
    forming the upsampled image: each of the four output phases is a 2×2 convolution of the input with summed
    taps, 4 multiply-adds per output pixel and channel instead of 9. Same parameters, same function."""

    def __init__(self, c_in: int, c_out: int, bias: bool = False):
        super().__init__(c_in, c_out, 3, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        padded = F.pad(x, (1, 1, 1, 1))
        rows = [torch.stack([F.conv2d(padded[..., i:i + h + 1, j:j + w + 1], kernel, self.bias)
                             for j, kernel in enumerate(_phase_taps(row_kernel, 3))], -1)
                for i, row_kernel in enumerate(_phase_taps(self.weight, 2))]
        out = torch.stack(rows, 3)  # (N, C, h, row phase, w, column phase)
        return out.reshape(*out.shape[:2], 2 * h, 2 * w)


def _upsample_block(c_in: int, c_out: int) -> list[nn.Module]:
    return [UpsampledConv2d(c_in, c_out), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)]


def shape_mechanism(c_in: int, ngf: int, start: int = 8) -> nn.Sequential:
    """Noise + label -> one-channel pre-mask (before clamping)."""
    return nn.Sequential(
        nn.Linear(c_in, 2 * ngf * start ** 2), nn.Unflatten(1, (2 * ngf, start, start)),
        nn.InstanceNorm2d(2 * ngf), *_upsample_block(2 * ngf, ngf),
        nn.InstanceNorm2d(ngf), *_upsample_block(ngf, 1),
        nn.InstanceNorm2d(1))


def texture_mechanism(c_in: int, ngf: int, start: int = 8) -> nn.Sequential:
    """Noise + label -> RGB image in [−1, 1] (before the shuffler)."""
    return nn.Sequential(
        nn.Linear(c_in, 2 * ngf * start ** 2), nn.Unflatten(1, (2 * ngf, start, start)),
        *_upsample_block(2 * ngf, 2 * ngf), *_upsample_block(2 * ngf, ngf),
        nn.Conv2d(ngf, 3, 3, padding=1), nn.BatchNorm2d(3), nn.Tanh())


def shuffle(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The shuffler: tile each image 2×2 and take a random crop of the original size."""
    tiled = images.repeat(1, 1, 2, 2)
    return random_crops(tiled, torch.arange(len(images), device=images.device), generator, images.shape[-1])


def compose(mask: torch.Tensor, foreground: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """x = m ⊙ f + (1 − m) ⊙ b (a one-channel mask broadcasts over the colour channels)."""
    return mask * foreground + (1 - mask) * background


def init_weights(module: nn.Module, kind: str, gain: float) -> None:
    """The original's initialisation: conv/linear weights orthogonal or normal with ``gain``, zero biases,
    batch-norm scales N(1, gain)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if kind == "orthogonal":
                nn.init.orthogonal_(m.weight, gain=gain)
            elif kind == "normal":
                nn.init.normal_(m.weight, 0.0, gain)
            else:
                raise ValueError(f"unknown initialisation {kind!r}")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)


class CGN(nn.Module):
    """Counterfactual generative network for 32×32 MNIST variants."""

    def __init__(self, n_classes: int = 10, latent_size: int = 32, ngf: int = 32,
                 init: str = "orthogonal", init_gain: float = 0.1):
        super().__init__()
        self.n_classes, self.latent_size = n_classes, latent_size
        self.label_embedding = nn.Embedding(n_classes, n_classes)
        c_in = latent_size + n_classes
        self.shape = shape_mechanism(c_in, ngf)
        self.texture = texture_mechanism(c_in, ngf)
        self.background = texture_mechanism(c_in, ngf)
        init_weights(self, init, init_gain)

    def _noise(self, n: int, generator) -> torch.Tensor:
        return torch.randn(n, self.latent_size, generator=generator, device=self.label_embedding.weight.device)

    def _input(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.cat([u, self.label_embedding(y)], dim=1)

    def mask(self, inp: torch.Tensor) -> torch.Tensor:
        return self.shape(inp).clamp(*MASK_RANGE)

    def textures(self, inp_texture: torch.Tensor, inp_background: torch.Tensor, generator=None):
        """Shuffled foreground and background in [−1, 1]."""
        return (shuffle(self.texture(inp_texture), generator), shuffle(self.background(inp_background), generator))

    def forward(self, y: torch.Tensor, counterfactual: bool = False, generator: torch.Generator | None = None):
        """(mask, foreground, background) for labels ``y``, images in [−1, 1].

        Factual mode (training) feeds the same noise and label to all three mechanisms, as the original;
        counterfactual mode gives texture and background fresh noise and randomly permuted labels.
        """
        inp = self._input(self._noise(len(y), generator), y)
        if not counterfactual:
            return (self.mask(inp), *self.textures(inp, inp, generator))
        perm = lambda: y[torch.randperm(len(y), generator=generator, device=y.device)]  # noqa: E731
        inp_t = self._input(self._noise(len(y), generator), perm())
        inp_b = self._input(self._noise(len(y), generator), perm())
        return (self.mask(inp), *self.textures(inp_t, inp_b, generator))

    @torch.no_grad()
    def sample(self, y_shape: torch.Tensor, y_texture: torch.Tensor, y_background: torch.Tensor,
               generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Each mechanism with its own label and independent noise, in eval mode.

        Returns "mask" (N, 1, 32, 32) and "foreground", "background", "composite" (N, 3, 32, 32), in [0, 1].
        """
        was_training = self.training
        self.eval()
        device = self.label_embedding.weight.device
        y_shape, y_texture, y_background = (torch.as_tensor(y, device=device) for y in (y_shape, y_texture, y_background))
        n = len(y_shape)
        mask = self.mask(self._input(self._noise(n, generator), y_shape))
        fg, bg = self.textures(self._input(self._noise(n, generator), y_texture),
                               self._input(self._noise(n, generator), y_background), generator)
        self.train(was_training)
        return {"mask": mask, "foreground": (fg + 1) / 2, "background": (bg + 1) / 2,
                "composite": (compose(mask, fg, bg) + 1) / 2}


class LinearDiscriminator(nn.Module):
    """Conditional MLP discriminator of the original (C- and DC-MNIST): image ⊕ label embedding → three
    512-unit layers → one logit. Reads images in [−1, 1]; the GAN baseline uses it too."""

    def __init__(self, n_classes: int = 10, ndf: int = 512, image_size: int = 32):
        super().__init__()
        self.label_embedding = nn.Embedding(n_classes, n_classes)
        self.net = nn.Sequential(
            nn.Linear(3 * image_size ** 2 + n_classes, ndf), nn.LeakyReLU(0.2),
            nn.Linear(ndf, ndf), nn.Dropout(0.4), nn.LeakyReLU(0.2),
            nn.Linear(ndf, ndf), nn.Dropout(0.4), nn.LeakyReLU(0.2),
            nn.Linear(ndf, 1))

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([images.flatten(1), self.label_embedding(labels)], 1)).squeeze(1)


class ConvDiscriminator(nn.Module):
    """Conditional conv discriminator of the original (W-MNIST): the label as a fourth input channel."""

    def __init__(self, n_classes: int = 10, ndf: int = 32):
        super().__init__()
        self.label_embedding = nn.Embedding(n_classes, 1)

        def block(c_in, c_out, kernel, stride):
            return [nn.Conv2d(c_in, c_out, kernel, stride, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)]

        self.net = nn.Sequential(*block(4, ndf, 3, 1), *block(ndf, 2 * ndf, 3, 1), *block(2 * ndf, 4 * ndf, 4, 2),
                                 *block(4 * ndf, 4 * ndf, 4, 2), nn.AvgPool2d(3), nn.Conv2d(4 * ndf, 1, 1, bias=False))

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        channel = self.label_embedding(labels)[:, :, None, None].expand(-1, 1, *images.shape[-2:])
        return self.net(torch.cat([images, channel], 1)).flatten()


@torch.no_grad()
def counterfactual_dataset(cgn: CGN, n_images: int, no_cfs: int = 1, seed: int = 0, batch: int = 100
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Counterfactual images (N, 3, 32, 32) in [0, 1] on the CGN's device, labelled by their shape.

    As the original's generator: per batch of ``batch`` uniformly drawn labels one set of masks, then
    ``no_cfs`` counterfactual draws of texture and background (fresh noise, permuted labels) per mask.
    Seeded: the same ``seed`` gives the same data set.
    """
    if n_images < 1 or no_cfs < 1 or batch < 1:
        raise ValueError("n_images, no_cfs and batch must be positive")
    device = cgn.label_embedding.weight.device
    gen = torch.Generator(device=device).manual_seed(seed)
    was_training = cgn.training
    cgn.eval()
    images, labels = [], []
    for _ in range(-(-n_images // (batch * no_cfs))):
        y = torch.randint(cgn.n_classes, (batch,), generator=gen, device=device)
        mask = cgn.mask(cgn._input(cgn._noise(batch, gen), y))
        for _ in range(no_cfs):
            _, fg, bg = cgn(y, counterfactual=True, generator=gen)
            images.append((compose(mask, fg, bg) + 1) / 2)
            labels.append(y)
    cgn.train(was_training)
    return torch.cat(images)[:n_images], torch.cat(labels)[:n_images]
