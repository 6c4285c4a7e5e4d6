"""CGN training: loss weights, the models per variant, the loss curves, the cache, and exact resumption
after an interruption or a corrupt checkpoint."""
from __future__ import annotations

import math

import pytest
import torch

from lib.cgn import losses as L
from lib.cgn import model as M
from lib.cgn import training as T

RESUME = dict(steps=6, seed=5, ngf=4, batch_size=4, progress=False, checkpoint_every=2)


def test_loss_weights_validation():
    assert T.loss_weights("wildlife", {"edge": 0})["edge"] == 0
    assert T.loss_weights("colored", None)["mask_entropy"] == 0.1
    with pytest.raises(ValueError, match="unknown loss"):
        T.loss_weights("colored", {"perceptual": 1})
    with pytest.raises(ValueError, match="unknown MNIST variant"):
        T.loss_weights("fashion", None)


@pytest.mark.parametrize("variant, discriminator", [("colored", M.LinearDiscriminator),
                                                     ("double_colored", M.LinearDiscriminator),
                                                     ("wildlife", M.ConvDiscriminator)])
def test_build_models_picks_the_variant_discriminator(variant, discriminator):
    cgn, disc = T.build_models(variant, ngf=4)
    assert isinstance(cgn, M.CGN) and type(disc) is discriminator


def test_train_cgn_records_every_term_and_skips_switched_off_style(tiny_variant):
    torch.manual_seed(0)
    cgn, disc = T.build_models("colored", ngf=4)
    weights = T.loss_weights("colored", {"style": 0})
    history = T.train_cgn(cgn, disc, tiny_variant[0] * 2 - 1, tiny_variant[1], steps=3, weights=weights,
                          style_blocks=T.VARIANT_SETTINGS["colored"]["style_blocks"], batch_size=4, progress=False)
    assert history["steps"] == 3 and not cgn.training
    assert all(len(history[name]) == 3 for name in T.HISTORY_NAMES)
    assert all(math.isnan(v) for v in history["style"]) and all(v > 0 for v in history["discriminator"])


@pytest.fixture
def interrupted(tiny_variant, tmp_path, monkeypatch, count_calls):
    """A 6-step CGN trained straight through (cache ``a``), then one interrupted at step 5 after the
    checkpoint at step 4 (cache ``b``, left as ``$REPRO_CACHE``). Returns the straight one and the step
    counter, reset and counting on."""
    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "a"))
    straight = T.fit_cgn("colored", *tiny_variant, **RESUME)
    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "b"))
    calls = count_calls(L, "edge_loss", fail_at=5)  # the edge loss is computed once per step
    with pytest.raises(KeyboardInterrupt):
        T.fit_cgn("colored", *tiny_variant, **RESUME)
    assert len(list((tmp_path / "b" / "checkpoints").glob("*.pt"))) == 1
    calls.update(n=0, fail_at=None)
    return straight, calls


def assert_same_parameters(a, b):
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name


def test_resume_after_interruption_matches_uninterrupted(interrupted, tiny_variant, tmp_path):
    straight, calls = interrupted
    resumed = T.fit_cgn("colored", *tiny_variant, **RESUME)
    assert calls["n"] == 2 and not resumed.cached  # only steps 5 and 6 were run
    assert_same_parameters(straight.model, resumed.model)
    assert resumed.history["adversarial"] == straight.history["adversarial"]
    assert resumed.history["losses"] == T.default_losses("colored")
    assert not list((tmp_path / "b" / "checkpoints").glob("*.pt"))  # removed once the model is cached
    assert T.fit_cgn("colored", *tiny_variant, **RESUME).cached


def test_corrupt_checkpoint_is_moved_aside_and_training_restarts(interrupted, tiny_variant, tmp_path, corrupted):
    straight, calls = interrupted
    checkpoint, = (tmp_path / "b" / "checkpoints").glob("*.pt")
    restarted = corrupted(checkpoint, lambda: T.fit_cgn("colored", *tiny_variant, **RESUME))
    assert calls["n"] == 6 and not restarted.cached  # all six steps, from scratch
    assert_same_parameters(straight.model, restarted.model)
