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


@pytest.mark.parametrize("variant", ["colored", "wildlife"])
def test_train_step_updates_as_the_plain_two_player_step(variant):
    # Known answer: the textbook step (every gradient computed, Adam's default kernel) from the same state and
    # random stream gives the same models; freezing the discriminator in the generator's update and the fused
    # Adam change no value.
    models, twins = T.build_models(variant, ngf=4), T.build_models(variant, ngf=4)
    for twin, model in zip(twins, models):
        twin.load_state_dict(model.state_dict())
    x, y = torch.rand(40, 3, 32, 32) * 2 - 1, torch.randint(10, (40,))
    weights, blocks, style = T.default_losses(variant), T.VARIANT_SETTINGS[variant]["style_blocks"], L.StyleNet()

    def plain_step(cgn, disc, opt_g, opt_d):
        idx = torch.randint(len(x), (4,))
        y_gen = torch.randint(10, (4,))
        mask, fg, bg = cgn(y_gen)
        x_gen = M.compose(mask, fg, bg)
        loss_g = (weights["adversarial"] * L.lsgan_generator_loss(disc(x_gen, y_gen))
                  + weights["mask_entropy"] * L.binary_entropy(mask) + weights["edge"] * L.edge_loss(mask)
                  + weights["style"] * L.style_loss(style, x_gen, x[idx], blocks))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        loss_d = L.lsgan_discriminator_loss(disc(x[idx], y[idx]), disc(x_gen.detach(), y_gen))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()

    def outputs(cgn, disc):
        torch.manual_seed(2)
        mask, fg, bg = cgn(y[:8])
        return torch.cat([mask.flatten(), fg.flatten(), bg.flatten(), disc(x[:8], y[:8])]).detach()

    before = outputs(*models)
    plain_opts = [torch.optim.Adam(m.parameters(), lr=T.LR, betas=T.BETAS) for m in twins]
    opts = [T.adam(m) for m in models]
    for _ in range(3):
        torch.manual_seed(1)
        T.train_step(*models, style, x, y, 4, weights, blocks, *opts)
        torch.manual_seed(1)
        plain_step(*twins, *plain_opts)
    # Compared as functions: the bias before the texture's batch norm has a zero gradient up to rounding,
    # which Adam scales to full-size steps of no effect.
    after = outputs(*models)
    assert torch.allclose(after, outputs(*twins), rtol=1e-4, atol=1e-5)
    assert not torch.allclose(after, before, rtol=1e-4, atol=1e-5)  # three steps moved both players
