"""CGN mechanisms, losses, counterfactual data, mask checks and resumable training, against known answers."""
from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from lib.core.cache import CorruptCacheWarning
from lib.cgn import losses as L
from lib.cgn import quality as K
from lib.cgn import training as T
from lib.cgn.model import CGN, compose, counterfactual_dataset, shuffle


def test_composer_returns_foreground_or_background():
    f, b = torch.rand(2, 4, 3, 32, 32).unbind(0)
    assert torch.equal(compose(torch.ones(4, 1, 32, 32), f, b), f)
    assert torch.equal(compose(torch.zeros(4, 1, 32, 32), f, b), b)
    half = compose(torch.full((4, 1, 32, 32), 0.5), f, b)
    assert torch.allclose(half, (f + b) / 2)


def test_shuffler_preserves_the_colour_histogram_of_a_tile():
    # A crop of the 2x2 tiling of an image is a cyclic shift of it: the same multiset of pixels.
    images = torch.rand(5, 3, 32, 32)
    out = shuffle(images, torch.Generator().manual_seed(1))
    assert out.shape == images.shape
    assert torch.equal(out.flatten(2).sort(-1).values, images.flatten(2).sort(-1).values)
    assert not torch.equal(out, images)  # (almost surely) moved


def test_edge_loss_of_border_band_masks():
    band = L.border_band(32, 3)
    assert band.sum() == 32 * 32 - 26 * 26
    assert L.edge_loss(band.expand(2, 1, 32, 32)).item() == pytest.approx(348 / 1024)
    assert L.edge_loss((1 - band).expand(2, 1, 32, 32)).item() == 0


def test_binary_entropy_known_values():
    assert L.binary_entropy(torch.full((3, 1, 4, 4), 0.5)).item() == pytest.approx(1.0)
    assert L.binary_entropy(torch.full((3, 1, 4, 4), 1e-4)).item() < 0.002


def test_gram_loss_zero_for_identical_images_only():
    net = L.StyleNet()
    x = torch.rand(4, 3, 32, 32) * torch.tensor([1.0, 0.4, 0.0])[:, None, None]  # a reddish texture
    weights = (0.05, 0.1, 0.01, 0.0)
    assert L.style_loss(net, x, x, weights).item() == 0
    assert L.style_loss(net, x, x.flip(1), weights).item() > 0
    # Gram matrices ignore where a texture is: a cyclic shift costs (almost) nothing
    shifted = x.roll(8, dims=3)
    assert L.style_loss(net, shifted, x, weights) < 0.2 * L.style_loss(net, x.flip(1), x, weights)
    assert torch.allclose(L.gram_matrix(torch.ones(1, 2, 2, 2)), torch.full((1, 2, 2), 0.5))


def test_cgn_outputs_and_counterfactual_dataset():
    torch.manual_seed(0)
    cgn = CGN(ngf=4)
    out = cgn.sample(torch.arange(10), torch.arange(10), torch.arange(10))
    assert out["mask"].shape == (10, 1, 32, 32) and out["composite"].shape == (10, 3, 32, 32)
    assert out["mask"].min() >= 1e-4 and out["mask"].max() <= 0.9999
    for key in ("foreground", "background", "composite"):
        assert 0 <= out[key].min() and out[key].max() <= 1
    x, y = counterfactual_dataset(cgn, 250, no_cfs=2, seed=3, batch=50)
    assert x.shape == (250, 3, 32, 32) and y.shape == (250,) and 0 <= y.min() and y.max() <= 9
    assert torch.equal(y[:50], y[50:100])  # one set of masks (and labels) per batch, no_cfs draws each
    x2, y2 = counterfactual_dataset(cgn, 250, no_cfs=2, seed=3, batch=50)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(counterfactual_dataset(cgn, 250, no_cfs=2, seed=4, batch=50)[1], y)


class StubCGN(nn.Module):
    """Returns fixed masks for every class (to test the mask criteria)."""

    def __init__(self, mask):
        super().__init__()
        self.label_embedding = nn.Embedding(10, 10)
        self.mask = mask

    def sample(self, y, *_, generator=None):
        return {"mask": self.mask.expand(len(y), 1, 32, 32)}


def test_mask_intact_criteria():
    band = L.border_band(32, 3)
    digit = torch.zeros(32, 32)
    digit[8:24, 12:20] = 1                       # area 0.125, nothing at the border
    assert K.mask_intact(StubCGN(digit), 4)["intact"].all()
    for broken in (band, 1 - digit, torch.zeros(32, 32), torch.ones(32, 32)):  # frame, inverted, empty, full
        assert not K.mask_intact(StubCGN(broken), 4)["intact"].any()
    # with a classifier that always says 3, only digit 3 is intact
    always_three = lambda x: nn.functional.one_hot(torch.full((len(x),), 3), 10).float()  # noqa: E731
    always_three.eval = lambda: None
    result = K.mask_intact(StubCGN(digit), 4, classifier=always_three)
    assert result["intact"].tolist() == [k == 3 for k in range(10)]


def test_loss_weights_validation():
    assert T.loss_weights("wildlife", {"edge": 0})["edge"] == 0
    assert T.loss_weights("colored", None)["mask_entropy"] == 0.1
    with pytest.raises(ValueError, match="unknown loss"):
        T.loss_weights("colored", {"perceptual": 1})
    with pytest.raises(ValueError, match="unknown MNIST variant"):
        T.loss_weights("fashion", None)


RESUME_SETTINGS = dict(steps=6, seed=5, ngf=4, batch_size=4, progress=False, checkpoint_every=2)


def _reference_then_interrupted(tmp_path, monkeypatch):
    """A 6-step CGN trained straight through (cache ``a``), then one interrupted at step 5 after the
    checkpoint at step 4 (cache ``b``, left as ``$REPRO_CACHE``). Returns the reference and the step
    counter, reset and counting on."""
    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "a"))
    reference = T.train_cgn("colored", **RESUME_SETTINGS)

    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "b"))
    calls = {"n": 0, "fail_at": 5}
    original_edge_loss = L.edge_loss

    def counting_edge_loss(mask):  # called once per training step
        calls["n"] += 1
        if calls["n"] == calls["fail_at"]:
            raise KeyboardInterrupt  # interrupted after the checkpoint at step 4
        return original_edge_loss(mask)

    monkeypatch.setattr(L, "edge_loss", counting_edge_loss)
    with pytest.raises(KeyboardInterrupt):
        T.train_cgn("colored", **RESUME_SETTINGS)
    assert len(list((tmp_path / "b" / "checkpoints").glob("*.pt"))) == 1
    calls.update(n=0, fail_at=None)
    return reference, calls


def test_resume_after_interruption_matches_uninterrupted(real_data_root, tmp_path, monkeypatch):
    reference, calls = _reference_then_interrupted(tmp_path, monkeypatch)
    resumed = T.train_cgn("colored", **RESUME_SETTINGS)
    assert calls["n"] == 2 and not resumed.meta["cache_hit"]  # only steps 5 and 6 were run
    for (name, p), q in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), name
    assert resumed.meta["adversarial"] == reference.meta["adversarial"]
    assert not list((tmp_path / "b" / "checkpoints").glob("*.pt"))  # removed once the model is cached
    assert T.train_cgn("colored", **RESUME_SETTINGS).meta["cache_hit"]


@pytest.mark.parametrize("planted", [False, True])
def test_corrupt_checkpoint_is_moved_aside_and_training_restarts(real_data_root, tmp_path, monkeypatch, plant_code,
                                                                  planted):
    reference, calls = _reference_then_interrupted(tmp_path, monkeypatch)
    checkpoint, = (tmp_path / "b" / "checkpoints").glob("*.pt")
    if planted:
        marker = plant_code(checkpoint)
    else:
        checkpoint.write_bytes(b"\x00" * 64)  # garbage
    with pytest.warns(CorruptCacheWarning, match=re.escape(str(checkpoint))):
        restarted = T.train_cgn("colored", **RESUME_SETTINGS)
    assert not (planted and marker.exists())  # the planted code never ran
    assert calls["n"] == 6 and not restarted.meta["cache_hit"]  # all six steps, from scratch
    for (name, p), q in zip(reference.state_dict().items(), restarted.state_dict().values()):
        assert torch.equal(p, q), name
    assert len(list(checkpoint.parent.glob(f"{checkpoint.name}.corrupt-*"))) == 1


def test_cue_accuracy_nearest_colour():
    centroids = torch.eye(3)                                    # three classes: red, green, blue
    labels = torch.tensor([0, 1, 2, 2])
    images = centroids[labels][:, :, None, None].expand(-1, -1, 8, 8) * 0.8  # darker, still nearest
    assert K.cue_accuracy(images, labels, centroids) == 1.0
    assert K.cue_accuracy(images, torch.tensor([1, 2, 0, 0]), centroids) == 0.0
