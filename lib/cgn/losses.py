"""Losses of the MNIST CGN: least-squares GAN (against the conditional discriminators of ``model``), binary
entropy of the mask, a Gram-matrix style loss and seed 004's edge loss.

Style loss substitute. The original matches Gram matrices of the first four blocks of an ImageNet VGG16,
whose weights are not available offline. We use the same Gram-matrix loss on a *fixed, randomly
initialised* multi-scale convolutional network with four scales like VGG16's first four blocks (one
3×3 conv + ReLU per block instead of two or three, max-pooling between blocks: cheap on a CPU). Gram statistics of random multi-scale conv features are known to capture
texture well enough for texture synthesis (Ustyuzhaninov et al., "What does it take to generate natural
textures?", ICLR 2017), and on 32×32 MNIST textures (flat colours, stripes) first- and second-order colour
statistics carry most of the signal. The network is seeded, so the loss is the same function in every run.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EDGE_WIDTH = 3  # seed 004: border band of 3 pixels


def lsgan_generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Least squares: the generator wants D(fake) = 1."""
    return F.mse_loss(d_fake, torch.ones_like(d_fake))


def lsgan_discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Least squares: D(real) -> 1, D(fake) -> 0, averaged."""
    return (F.mse_loss(d_real, torch.ones_like(d_real)) + F.mse_loss(d_fake, torch.zeros_like(d_fake))) / 2


def binary_entropy(mask: torch.Tensor) -> torch.Tensor:
    """Mean pixelwise binary entropy in bits: 0 for a binary mask, 1 for a mask of 0.5 everywhere."""
    return -(mask * torch.log2(mask) + (1 - mask) * torch.log2(1 - mask)).mean()


def border_band(size: int, width: int = EDGE_WIDTH, device=None) -> torch.Tensor:
    """(size, size) indicator of the pixels within ``width`` pixels of the image border."""
    band = torch.ones(size, size, device=device)
    band[width:size - width, width:size - width] = 0
    return band


def edge_loss(mask: torch.Tensor, width: int = EDGE_WIDTH) -> torch.Tensor:
    """Seed 004's edge loss: (1/N) Σ_i m_i [i in the border band], averaged over the batch (N = all pixels)."""
    band = border_band(mask.shape[-1], width, mask.device)
    return (mask * band).mean()


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(B, C, C) Gram matrices normalised by C·H·W, as in the original."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


class StyleNet(nn.Module):
    """Fixed random multi-scale conv net: four blocks of a 3×3 conv + ReLU, max-pool between blocks.

    ``forward`` returns each block's output (the layers the original takes from VGG16), stopping after
    ``depth`` blocks.
    """

    def __init__(self, widths=(32, 64, 128, 128), seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        convs, c_in = [], 3
        for width in widths:
            conv = nn.Conv2d(c_in, width, 3, padding=1)
            with torch.no_grad():  # He initialisation keeps activations of order one through the ReLUs
                conv.weight.normal_(0, (2 / (c_in * 9)) ** 0.5, generator=gen)
                conv.bias.zero_()
            convs.append(conv)
            c_in = width
        self.convs = nn.ModuleList(convs)
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor, depth: int | None = None) -> list[torch.Tensor]:
        outputs = []
        for i, conv in enumerate(self.convs[:depth]):
            x = F.relu(conv(x if i == 0 else F.max_pool2d(x, 2)))
            outputs.append(x)
        return outputs


def style_loss(net: StyleNet, generated: torch.Tensor, real: torch.Tensor, block_weights) -> torch.Tensor:
    """Σ_l 5000·w_l² · L1(Gram_l(generated), Gram_l(real)), the original's perceptual style term.

    Images are paired by position in the batch (the generated labels are drawn independently of the real
    batch's, as in the original: the loss matches style statistics, not particular images).
    """
    depth = max(i + 1 for i, w in enumerate(block_weights) if w)  # blocks after the last weighted one are unused
    with torch.no_grad():
        target = [gram_matrix(f) for f in net(real, depth)]
    total = generated.new_zeros(())
    for feats, gram_real, w in zip(net(generated, depth), target, block_weights):
        if w:
            total = total + 5e3 * w ** 2 * F.l1_loss(gram_matrix(feats), gram_real)
    return total
