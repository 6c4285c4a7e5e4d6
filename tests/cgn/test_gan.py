"""The conditional GAN baseline: shapes, label conditioning, seeded data, cache and checkpoint resume."""
from __future__ import annotations

import re

import pytest
import torch

from lib.core.cache import CorruptCacheWarning
from lib.cgn import gan


@pytest.fixture
def tiny_variant(monkeypatch):
    """A stand-in for the MNIST variants: 40 random images, labels 0..9."""
    gen = torch.Generator().manual_seed(0)
    data = (torch.rand(40, 3, 32, 32, generator=gen), torch.arange(40) % 10)
    monkeypatch.setattr(gan, "counterfactual_mnist", lambda variant, split: data)
    return data


def test_generator_shapes_range_and_conditioning():
    torch.manual_seed(0)
    generator = gan.ConditionalGenerator().eval()
    z = torch.randn(10, generator.latent)
    images = generator(z, torch.arange(10))
    assert images.shape == (10, 3, 32, 32)
    assert images.min() >= 0 and images.max() <= 1
    # The label enters the generator: same noise, another label, another image; same inputs, same image.
    assert torch.equal(images, generator(z, torch.arange(10)))
    assert (images - generator(z, (torch.arange(10) + 1) % 10)).abs().amax(dim=(1, 2, 3)).min() > 0
    # A generator with a zero label embedding ignores the label.
    with torch.no_grad():
        generator.embedding.weight.zero_()
    assert torch.allclose(generator(z, torch.zeros(10, dtype=torch.long)), generator(z, torch.arange(10)))


def test_discriminator_sees_the_label():
    torch.manual_seed(0)
    disc = gan.LinearDiscriminator().eval()
    images = torch.rand(4, 3, 32, 32)
    scores = disc(images, torch.tensor([0, 1, 2, 3]))
    assert scores.shape == (4,)
    assert not torch.allclose(scores, disc(images, torch.tensor([4, 5, 6, 7])))


def test_gan_dataset_is_seeded_and_balanced_enough():
    torch.manual_seed(0)
    generator = gan.ConditionalGenerator()
    images, labels = gan.gan_dataset(generator, 250, seed=1, batch=100)
    again, labels_again = gan.gan_dataset(generator, 250, seed=1, batch=100)
    assert images.shape == (250, 3, 32, 32) and labels.shape == (250,)
    assert torch.equal(images, again) and torch.equal(labels, labels_again)
    assert set(labels.tolist()) == set(range(10))
    assert not generator.training


def test_training_is_cached(tiny_variant, isolated_cache):
    first, meta = gan.train_gan("colored", steps=3, seed=0, device="cpu", progress=False)
    again, meta_again = gan.train_gan("colored", steps=3, seed=0, device="cpu", progress=False)
    assert not meta["cache_hit"] and meta_again["cache_hit"] and len(meta["d_loss"]) == 3
    for a, b in zip(first.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)


def _parameters(generator):
    return torch.cat([p.detach().flatten() for p in generator.parameters()])


def _train_straight_then_interrupt(tmp_path, monkeypatch):
    """A 6-step run straight through (cache ``straight``), then one interrupted at step 5 after the
    checkpoint at step 4 (cache ``interrupted``, left as ``$REPRO_CACHE``); returns the straight generator."""
    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "straight"))
    straight, _ = gan.train_gan("colored", steps=6, seed=1, device="cpu", progress=False, checkpoint_every=2)

    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "interrupted"))
    real_step, calls = gan.gan_step, []

    def failing_step(*args):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_step(*args)

    monkeypatch.setattr(gan, "gan_step", failing_step)
    with pytest.raises(KeyboardInterrupt):
        gan.train_gan("colored", steps=6, seed=1, device="cpu", progress=False, checkpoint_every=2)
    monkeypatch.setattr(gan, "gan_step", real_step)
    return straight


def test_interrupted_training_resumes_to_the_same_parameters(tiny_variant, tmp_path, monkeypatch):
    straight = _train_straight_then_interrupt(tmp_path, monkeypatch)
    resumed, meta = gan.train_gan("colored", steps=6, seed=1, device="cpu", progress=False, checkpoint_every=2)
    assert meta["resumed_from"] == 4 and len(meta["d_loss"]) == 6
    assert torch.equal(_parameters(straight), _parameters(resumed))

    # A longer run continues the shorter one's checkpoint and matches a run of that length from scratch.
    longer, meta = gan.train_gan("colored", steps=8, seed=1, device="cpu", progress=False, checkpoint_every=2)
    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "fresh"))
    fresh, _ = gan.train_gan("colored", steps=8, seed=1, device="cpu", progress=False, checkpoint_every=2)
    assert meta["resumed_from"] == 6
    assert torch.equal(_parameters(longer), _parameters(fresh))


@pytest.mark.parametrize("planted", [False, True])
def test_corrupt_checkpoint_is_moved_aside_and_training_restarts(tiny_variant, tmp_path, monkeypatch, plant_code,
                                                                  planted):
    straight = _train_straight_then_interrupt(tmp_path, monkeypatch)
    checkpoint, = (tmp_path / "interrupted" / "checkpoints").glob("*.ckpt")
    if planted:
        marker = plant_code(checkpoint)
    else:
        checkpoint.write_bytes(checkpoint.read_bytes()[:300])  # truncated
    with pytest.warns(CorruptCacheWarning, match=re.escape(str(checkpoint))):
        restarted, meta = gan.train_gan("colored", steps=6, seed=1, device="cpu", progress=False,
                                        checkpoint_every=2)
    assert not (planted and marker.exists())  # the planted code never ran
    assert meta["resumed_from"] == 0 and not meta["cache_hit"]
    assert torch.equal(_parameters(straight), _parameters(restarted))
    assert len(list(checkpoint.parent.glob(f"{checkpoint.name}.corrupt-*"))) == 1
