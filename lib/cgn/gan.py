"""The conditional GAN baseline of the MNIST table (seed 004's: a DCGAN-style conditional generator, the
original code's linear discriminator, the binary cross-entropy GAN loss).

Training is cached (``lib.core.cache``) and checkpointed: an interrupted run, or a run asked for more steps
than a stored checkpoint has, continues from the checkpoint and ends with the same parameters as an
uninterrupted run, because the checkpoint also stores the random-number states.
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from lib.core.cache import atomic_save, cache_dir, cache_key, fingerprint, load_or_train, load_stored
from .variants import counterfactual_mnist
from lib.core.train import seed_everything
from lib.core.device import pick_device

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


class LinearDiscriminator(nn.Module):
    """The original code's discriminator: [image ‖ label embedding] → three 512-unit layers → one logit."""

    def __init__(self, ndf: int = 512, n_classes: int = N_CLASSES, image_size: int = 3 * 32 * 32):
        super().__init__()
        self.embedding = nn.Embedding(n_classes, n_classes)
        self.net = nn.Sequential(
            nn.Linear(image_size + n_classes, ndf), nn.LeakyReLU(0.2),
            nn.Linear(ndf, ndf), nn.Dropout(0.4), nn.LeakyReLU(0.2),
            nn.Linear(ndf, ndf), nn.Dropout(0.4), nn.LeakyReLU(0.2),
            nn.Linear(ndf, 1),
        )

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        flat = (2 * images - 1).flatten(1)  # images in [0, 1] -> [-1, 1]
        return self.net(torch.cat([flat, self.embedding(labels)], dim=1)).squeeze(1)


class GANPair(nn.Module):
    """Generator and discriminator, stored together in the cache."""

    def __init__(self):
        super().__init__()
        self.generator = ConditionalGenerator(GAN_SETTINGS["latent"], GAN_SETTINGS["ngf"])
        self.discriminator = LinearDiscriminator(GAN_SETTINGS["ndf"])


def gan_step(pair: GANPair, opt_g, opt_d, real: torch.Tensor, labels: torch.Tensor, z: torch.Tensor) -> tuple:
    """One alternating update: discriminator on real vs generated, then generator to fool it (BCE)."""
    fake = pair.generator(z, labels)
    ones, zeros = torch.ones(len(real), device=real.device), torch.zeros(len(real), device=real.device)
    d_loss = (F.binary_cross_entropy_with_logits(pair.discriminator(real, labels), ones)
              + F.binary_cross_entropy_with_logits(pair.discriminator(fake.detach(), labels), zeros)) / 2
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    g_loss = F.binary_cross_entropy_with_logits(pair.discriminator(fake, labels), ones)
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()


def _rng_states(gen: torch.Generator, device: torch.device) -> dict:
    states = {"sampler": gen.get_state(), "torch": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def _set_rng_states(gen: torch.Generator, states: dict, device: torch.device) -> None:
    gen.set_state(states["sampler"])
    torch.set_rng_state(states["torch"])
    if device.type == "cuda":
        torch.cuda.set_rng_state(states["cuda"], device)


def fit_gan(pair: GANPair, images: torch.Tensor, labels: torch.Tensor, steps: int, seed: int, checkpoint,
            checkpoint_every: int = 500, progress: bool = True) -> dict:
    """Train ``pair`` for ``steps`` updates on batches drawn with replacement from ``(images, labels)``.

    Every ``checkpoint_every`` steps (and at the end) the state goes to ``checkpoint``; an existing
    checkpoint with at most ``steps`` steps is resumed.
    """
    dev = images.device
    gen = torch.Generator(device=dev).manual_seed(seed)
    settings = GAN_SETTINGS
    opt_g = torch.optim.Adam(pair.generator.parameters(), lr=settings["lr"], betas=settings["betas"])
    opt_d = torch.optim.Adam(pair.discriminator.parameters(), lr=settings["lr"], betas=settings["betas"])
    history, start_step, seconds = {"d_loss": [], "g_loss": []}, 0, 0.0
    # Read on the CPU (RNG states must be CPU tensors); a corrupt checkpoint is moved aside with a warning
    # and training starts from scratch.
    state = load_stored(checkpoint, ("pair", "opt_g", "opt_d", "rng", "history", "step", "seconds"),
                        map_location="cpu")
    if state is not None:
        if state["step"] <= steps:
            pair.load_state_dict(state["pair"])
            opt_g.load_state_dict(state["opt_g"])
            opt_d.load_state_dict(state["opt_d"])
            _set_rng_states(gen, state["rng"], dev)
            history, start_step, seconds = state["history"], state["step"], state["seconds"]

    def save(step):
        atomic_save({"pair": pair.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                     "rng": _rng_states(gen, dev), "history": history, "step": step,
                     "seconds": seconds + time.perf_counter() - start}, checkpoint)

    pair.train()
    start = time.perf_counter()
    batch = settings["batch_size"]
    with tqdm(total=steps, initial=start_step, desc="GAN", disable=not progress, mininterval=2) as bar:
        for step in range(start_step, steps):
            idx = torch.randint(len(images), (batch,), device=dev, generator=gen)
            z = torch.randn(batch, settings["latent"], device=dev, generator=gen)
            d_loss, g_loss = gan_step(pair, opt_g, opt_d, images[idx], labels[idx], z)
            history["d_loss"].append(d_loss.item())
            history["g_loss"].append(g_loss.item())
            bar.update()
            if (step + 1) % checkpoint_every == 0 and step + 1 < steps:
                save(step + 1)
    save(steps)
    pair.eval()
    return {**history, "seconds": seconds + time.perf_counter() - start, "resumed_from": start_step}


# The code that fixes a trained GAN (part of its cache key).
_TRAINING_CODE = (ConditionalGenerator, LinearDiscriminator, gan_step, fit_gan)


def train_gan(variant: str, *, steps: int, seed: int = 0, device="auto", progress: bool = True,
              checkpoint_every: int = 500) -> tuple[ConditionalGenerator, dict]:
    """The conditional GAN baseline trained on the training split of ``variant`` (cached, resumable).

    Returns ``(generator, meta)``, the generator in eval mode; ``meta`` has the loss curves, wall time,
    the step a run resumed from and whether the cache was hit.
    """
    dev = pick_device(device)
    seed_everything(seed)
    images, labels = counterfactual_mnist(variant, "train")
    images, labels = images.to(dev), labels.to(dev)
    spec = {"model": "cgn-gan-baseline", "variant": variant, "data": fingerprint(images), **GAN_SETTINGS,
            "seed": seed}
    # The checkpoint's name leaves out the step count, so a longer run continues a shorter one.
    checkpoint = cache_dir() / "checkpoints" / f"cgn-gan-{cache_key(spec, _TRAINING_CODE)}.ckpt"
    pair = GANPair().to(dev)
    pair, meta, hit = load_or_train(
        "cgn-gan", {**spec, "steps": steps}, pair,
        lambda p: fit_gan(p, images, labels, steps, seed, checkpoint, checkpoint_every, progress),
        code=_TRAINING_CODE)
    return pair.generator.eval(), {**meta, "cache_hit": hit}


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
