"""The conditional GAN baseline: shapes, label conditioning, seeded data, cache and checkpoint resume."""
from __future__ import annotations

import pytest
import torch

from lib.cgn import gan


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


def test_critic_reads_images_in_the_unit_range():
    torch.manual_seed(0)
    pair = gan.GANPair().eval()
    images, labels = torch.rand(4, 3, 32, 32), torch.arange(4)
    assert torch.equal(pair.critic(images, labels), pair.discriminator(2 * images - 1, labels))


def test_gan_dataset_is_seeded_and_balanced_enough():
    torch.manual_seed(0)
    generator = gan.ConditionalGenerator()
    images, labels = gan.gan_dataset(generator, 250, seed=1, batch=100)
    again, labels_again = gan.gan_dataset(generator, 250, seed=1, batch=100)
    assert images.shape == (250, 3, 32, 32) and labels.shape == (250,)
    assert torch.equal(images, again) and torch.equal(labels, labels_again)
    assert set(labels.tolist()) == set(range(10))
    assert not generator.training


def test_training_is_cached(tiny_variant):
    first = gan.fit_gan(*tiny_variant, steps=3, seed=0, progress=False)
    again = gan.fit_gan(*tiny_variant, steps=3, seed=0, progress=False)
    assert not first.cached and again.cached and len(first.history["d_loss"]) == 3
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)


def parameters(generator):
    return torch.cat([p.detach().flatten() for p in generator.parameters()])


@pytest.fixture
def interrupted(tiny_variant, tmp_path, monkeypatch, count_calls):
    """A 6-step GAN trained straight through (cache ``straight``), then one interrupted at step 5 after the
    checkpoint at step 4 (cache ``interrupted``, left as ``$REPRO_CACHE``); returns the straight generator
    and the step counter, reset and counting on."""
    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "straight"))
    straight = gan.fit_gan(*tiny_variant, steps=6, seed=1, progress=False, checkpoint_every=2).model
    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "interrupted"))
    calls = count_calls(gan, "gan_step", fail_at=5)
    with pytest.raises(KeyboardInterrupt):
        gan.fit_gan(*tiny_variant, steps=6, seed=1, progress=False, checkpoint_every=2)
    calls.update(n=0, fail_at=None)
    return straight, calls


@pytest.mark.slow
def test_interrupted_training_resumes_to_the_same_parameters(interrupted, tiny_variant, tmp_path, monkeypatch):
    straight, calls = interrupted
    resumed = gan.fit_gan(*tiny_variant, steps=6, seed=1, progress=False, checkpoint_every=2)
    assert calls["n"] == 2 and len(resumed.history["d_loss"]) == 6  # resumed from step 4
    assert torch.equal(parameters(straight), parameters(resumed.model))

    # A longer run continues the shorter one's checkpoint and matches a run of that length from scratch.
    longer = gan.fit_gan(*tiny_variant, steps=8, seed=1, progress=False, checkpoint_every=2)
    assert calls["n"] == 4  # resumed from step 6
    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "fresh"))
    fresh = gan.fit_gan(*tiny_variant, steps=8, seed=1, progress=False, checkpoint_every=2)
    assert torch.equal(parameters(longer.model), parameters(fresh.model))


def test_corrupt_checkpoint_is_moved_aside_and_training_restarts(interrupted, tiny_variant, tmp_path, corrupted):
    straight, calls = interrupted
    checkpoint, = (tmp_path / "interrupted" / "checkpoints").glob("*.ckpt")
    restarted = corrupted(checkpoint, lambda: gan.fit_gan(*tiny_variant, steps=6, seed=1, progress=False,
                                                          checkpoint_every=2))
    assert calls["n"] == 6 and not restarted.cached  # all six steps, from scratch
    assert torch.equal(parameters(straight), parameters(restarted.model))
