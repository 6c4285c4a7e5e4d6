"""Pretext tasks of claim 4: corruptions, the PCC helpers, the explained subset and the training wrappers."""
import numpy as np
import pytest
import torch

from lib.labelfree import pretext


def test_bernoulli_mask_drops_the_expected_share_of_pixels():
    x = torch.ones(200, 1, 28, 28)
    masked = pretext.bernoulli_mask(0.2)(x, torch.Generator().manual_seed(0))
    assert set(masked.unique().tolist()) == {0.0, 1.0}
    assert (masked == 0).float().mean().item() == pytest.approx(0.2, abs=0.005)


def test_pcc_matrix_matches_numpy_corrcoef_on_flattened_arrays():
    rng = np.random.default_rng(0)
    a = rng.random((5, 1, 4, 4))
    b = 0.5 * a + rng.random((5, 1, 4, 4))
    c = torch.tensor(-a)
    m = pretext.pcc_matrix([a, b, c])
    assert m[0, 1] == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1], abs=1e-12)
    assert m[0, 2] == pytest.approx(-1.0) and np.allclose(np.diag(m), 1.0)


def test_pair_values_reads_the_lower_triangle_in_task_order():
    m = np.arange(16.0).reshape(4, 4)
    pairs = pretext.pair_values([m, m + 1], ["R", "D", "I", "C"])
    assert list(pairs) == ["R-D", "R-I", "R-C", "D-I", "D-C", "I-C"]
    assert pairs["R-C"] == [3.0, 4.0] and pairs["I-C"] == [11.0, 12.0]


def test_subtrain_indices_interleave_classes_in_order():
    labels = torch.tensor([3, 1, 0, 1, 2, 0, 3, 2] * 30 + list(range(4, 10)) * 30)
    idx = pretext.subtrain_indices(labels, size=40)
    assert labels[idx].tolist() == list(range(10)) * 4
    assert idx[0].item() == 2 and idx[10].item() == 5  # first and second 0 in the data


def test_dknn_scale_reproduces_raw_pixels():
    torch.manual_seed(0)
    enc = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    test, sub = torch.rand(3, 1, 4, 4), torch.rand(5, 1, 4, 4)
    scores = pretext.dknn_scores(enc, test, sub)
    raw = pretext.dknn_scores(enc, test, sub, scale=255.0)
    h_test, h_sub = enc(test * 255), enc(sub * 255)
    assert torch.allclose(raw, 1 / torch.cdist(h_test, h_sub).square(), rtol=1e-4)
    assert not torch.allclose(raw, scores)


@pytest.mark.parametrize("task", list(pretext.TASKS))
def test_pretext_encoders_train_cache_and_improve(task, isolated_cache):
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(120) % 10
    # class-dependent blobs: a learnable task for every pretext
    x = (torch.rand(120, 1, 28, 28, generator=gen) * 0.2 + (y.view(-1, 1, 1, 1) / 10.0)).clamp(0, 1)
    train, val = (x[:100], y[:100]), (x[100:], y[100:])
    model, record, hit = pretext.pretext_encoder(task, train, val, seed=0, epochs=6, batch_size=20, progress=False)
    model2, _, hit2 = pretext.pretext_encoder(task, train, val, seed=0, epochs=6, batch_size=20, progress=False)
    assert not hit and hit2 and "checkpoints" not in record
    enc, enc2 = model.encoder, model2.encoder
    assert enc(x[:2]).shape == (2, 4) and model(x[:2]).shape == ((2, 10) if task == "C" else (2, 1, 28, 28))
    assert min(record["val_loss"]) < record["val_loss"][0]
    assert all(torch.equal(a, b) for a, b in zip(enc.state_dict().values(), enc2.state_dict().values()))
