"""The conditional GAN baseline of the MNIST table (seed 004's: a DCGAN-style conditional generator, the
original code's linear discriminator, the binary cross-entropy GAN loss).

Training (``train_gan``, on the library's training loop) is cached and checkpointed (``fit_gan``): an
interrupted run, or a run asked for more steps than a stored checkpoint has, continues from the checkpoint
and ends with the same parameters as an uninterrupted run, because the checkpoint also stores the
random-number states.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lib.core.cache import cache_dir, cache_key, fingerprint, load_or_train
from lib.core.train import Fit, seed_everything, train_loop

from .model import LinearDiscriminator
from .training import adam

# The CGN's MNIST settings, which seed 004 used for its GAN as well (reference/cgn.md).
GAN_SETTINGS = {"latent": 32, "ngf": 32, "ndf": 512, "batch_size": 16, "lr": 2e-4, "betas": (0.5, 0.999)}
N_CLASSES = 10


class ConditionalGenerator(nn.Module):
    """[noise (32) ‖ label embedding (10)] → ConvT 4×4 → 8×8 → 16×16 → 32×32 RGB (DCGAN blocks).

    ``forward`` returns images in [0, 1], the range of the data sets.
    """

    def __init__(self, latent: int = 32, ngf: int = 32, n_classes: int = N_CLASSES):
        super().__init__()
        self.latent = latent
        self.embedding = nn.Embedding(n_classes, n_classes)

        def block(cin, cout, stride, padding):
            return [nn.ConvTranspose2d(cin, cout, 4, stride, padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.net = nn.Sequential(
            *block(latent + n_classes, 4 * ngf, 1, 0),   # 4×4
            *block(4 * ngf, 2 * ngf, 2, 1),              # 8×8
            *block(2 * ngf, ngf, 2, 1),                  # 16×16
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1), nn.Tanh(),  # 32×32
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        code = torch.cat([z, self.embedding(labels)], dim=1)[:, :, None, None]
        return (self.net(code) + 1) / 2


class GANPair(nn.Module):
    """Generator and discriminator (the CGN's linear one), stored together in the cache."""

    def __init__(self):
        super().__init__()
        self.generator = ConditionalGenerator(GAN_SETTINGS["latent"], GAN_SETTINGS["ngf"])
        self.discriminator = LinearDiscriminator(N_CLASSES, GAN_SETTINGS["ndf"])

    def critic(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The discriminator's logits for images in [0, 1] (it reads [−1, 1])."""
        return self.discriminator(2 * images - 1, labels)


def gan_step(pair: GANPair, opt_g, opt_d, real: torch.Tensor, labels: torch.Tensor, z: torch.Tensor) -> tuple:
    """One alternating update: discriminator on real vs generated, then generator to fool it (BCE)."""
    fake = pair.generator(z, labels)
    ones, zeros = torch.ones(len(real), device=real.device), torch.zeros(len(real), device=real.device)
    d_loss = (F.binary_cross_entropy_with_logits(pair.critic(real, labels), ones)
              + F.binary_cross_entropy_with_logits(pair.critic(fake.detach(), labels), zeros)) / 2
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    g_loss = F.binary_cross_entropy_with_logits(pair.critic(fake, labels), ones)
    opt_g.zero_grad(set_to_none=True)
    pair.discriminator.requires_grad_(False)  # the generator's update needs no discriminator gradients
    g_loss.backward()
    pair.discriminator.requires_grad_(True)
    opt_g.step()
    return d_loss.detach(), g_loss.detach()


def train_gan(pair: GANPair, images: torch.Tensor, labels: torch.Tensor, *, steps: int, seed: int,
              checkpoint=None, checkpoint_every: int = 500, progress: bool = True) -> dict:
    """Train ``pair`` for ``steps`` updates on batches drawn with replacement from ``(images, labels)`` (on
    the pair's device) with a generator seeded by ``seed``; returns the curves "d_loss" and "g_loss".

    With a ``checkpoint`` path the state is written every ``checkpoint_every`` steps and at the end; an
    existing checkpoint with at most ``steps`` steps is resumed.
    """
    dev = images.device
    gen = torch.Generator(device=dev).manual_seed(seed)
    settings = GAN_SETTINGS
    opt_g, opt_d = (adam(m, settings["lr"], settings["betas"]) for m in (pair.generator, pair.discriminator))
    batch = settings["batch_size"]

    def step(i):
        idx = torch.randint(len(images), (batch,), device=dev, generator=gen)
        z = torch.randn(batch, settings["latent"], device=dev, generator=gen)
        d_loss, g_loss = gan_step(pair, opt_g, opt_d, images[idx], labels[idx], z)
        return {"d_loss": d_loss, "g_loss": g_loss}

    pair.train()
    history = train_loop(step, steps, checkpoint=checkpoint, resumable={"pair": pair, "opt_g": opt_g, "opt_d": opt_d},
                         generators=[gen], checkpoint_every=checkpoint_every, desc="GAN", progress=progress)
    pair.eval()
    return history


def fit_gan(images: torch.Tensor, labels: torch.Tensor, *, steps: int, seed: int = 0, checkpoint_every: int = 500,
            progress: bool = True) -> Fit:
    """The conditional GAN baseline trained on a variant's training split (``images`` in [0, 1], ``labels``, on
    the device to train on), or loaded from the cache; the model is the generator, in eval mode.

    The checkpoint's name leaves out the step count, so a longer run continues a shorter one. Weights stored
    in the repository (``weights/cgn``) come before the cache.
    """
    seed_everything(seed)
    spec = {"model": "cgn-gan-baseline", "data": fingerprint(images), "labels": fingerprint(labels), **GAN_SETTINGS,
            "seed": seed}
    code = (ConditionalGenerator, LinearDiscriminator, GANPair, gan_step, adam, train_gan, train_loop)
    checkpoint = cache_dir() / "checkpoints" / f"cgn-gan-{cache_key(spec, code)}.ckpt"
    pair = GANPair().to(images.device)
    pair, history, hit = load_or_train(
        "cgn-gan", {**spec, "steps": steps}, pair,
        lambda p: train_gan(p, images, labels, steps=steps, seed=seed, checkpoint=checkpoint,
                            checkpoint_every=checkpoint_every, progress=progress),
        code=code)
    return Fit(pair.generator.eval(), history, hit)


@torch.no_grad()
def gan_dataset(generator: ConditionalGenerator, n_images: int, seed: int = 0,
                batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_images`` generated images with uniformly drawn labels, on the generator's device."""
    dev = next(generator.parameters()).device
    gen = torch.Generator(device=dev).manual_seed(seed)
    labels = torch.randint(N_CLASSES, (n_images,), device=dev, generator=gen)
    z = torch.randn(n_images, generator.latent, device=dev, generator=gen)
    generator.eval()
    images = torch.cat([generator(z[i:i + batch], labels[i:i + batch]) for i in range(0, n_images, batch)])
    return images, labels
