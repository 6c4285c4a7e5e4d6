"""The experiments' data: ECG5000 splits on a written file, MNIST at 32 px, claim 3's and claim 4's sets."""
from __future__ import annotations

import pytest
import torch

from lib.labelfree import data


def write_ecg(root, classes) -> None:
    """An ECG5000 training file whose n-th beat is the constant n and has class ``classes[n]``."""
    folder = root / "ECG5000"
    folder.mkdir()
    rows = [[float(n)] * 140 + [c] for n, c in enumerate(classes)]
    (folder / "ECG5000_TRAIN.csv").write_text("\n".join(",".join(map(str, r)) for r in rows))


@pytest.fixture
def ecg(tmp_path, monkeypatch):
    """30 normal (class 1) and 20 abnormal (classes 2-5) beats under a temporary data root."""
    write_ecg(tmp_path, [1] * 30 + [2, 3, 4, 5] * 5)
    monkeypatch.setenv("REPRO_DATA", str(tmp_path))


def test_ecg_feature_split_trains_on_normal_beats_and_explains_abnormal_ones(ecg):
    e = data.ecg_feature_experiment()
    assert (len(e.train), len(e.val), len(e.test)) == (24, 6, 20)
    beat = lambda x: set(x[:, 0, 0].long().tolist())  # noqa: E731  (a beat's constant is its row number)
    assert beat(e.train) | beat(e.val) == set(range(30)) and beat(e.test) == set(range(30, 50))
    assert e.test_labels.tolist() == [1] * 20


def test_ecg_example_split_holds_out_test_beats_per_class(ecg):
    e = data.ecg_example_experiment(n_test_per_class=4, per_class=3)
    assert e.test_labels.tolist() == [0] * 4 + [1] * 4
    assert len(e.train) + len(e.val) + len(e.test) == 50
    assert e.ranked_labels.tolist() == [0, 1] * 3  # interleaved by class, as the original
    assert not set(e.test[:, 0, 0].tolist()) & set(torch.cat([e.train, e.val])[:, 0, 0].tolist())


def test_mnist_32_keeps_the_range_and_resizes():
    x = torch.rand(3, 1, 28, 28)
    y = data.mnist_32(x)
    assert y.shape == (3, 1, 32, 32) and y.min() >= 0 and y.max() <= 1


def test_disentangle_data_of_dsprites_is_a_seeded_split():
    config = {"dsprites": {"train": 6, "test": 3}}
    train, test = data.disentangle_data(config)["dsprites"]
    again, _ = data.disentangle_data(config)["dsprites"]
    assert train.shape == (6, 1, 64, 64) and test.shape == (3, 1, 64, 64) and torch.equal(train, again)


def test_subtrain_indices_interleave_classes_in_order():
    labels = torch.tensor([3, 1, 0, 1, 2, 0, 3, 2] * 30 + list(range(4, 10)) * 30)
    idx = data.subtrain_indices(labels, size=40)
    assert labels[idx].tolist() == list(range(10)) * 4
    assert idx[0].item() == 2 and idx[10].item() == 5  # first and second 0 in the data


def test_mnist_sets_of_the_claims(real_data_root):
    features = data.feature_data(mnist_test=7)
    assert len(features["MNIST"].test) == 7 and len(features["MNIST"].train) > 4 * len(features["MNIST"].val)
    assert len(data.feature_data(mnist_test=7, ecg_test=3)["ECG5000"].test) == 3
    examples = data.example_data(mnist_per_class=2, ecg_per_class=3, ecg_test_per_class=4)
    assert examples["MNIST"].ranked_labels.tolist() == list(range(10)) * 2
    splits, test_x, sub_x = data.pretext_data(n_test=5, subtrain_size=20)
    assert test_x.shape == (5, 1, 28, 28) and sub_x.shape == (20, 1, 28, 28)
    assert splits.train[1][data.subtrain_indices(splits.train[1], 20)].tolist() == list(range(10)) * 2
    mnist, _ = data.disentangle_data({"mnist": {"train": 4, "test": 2}})["mnist"]
    assert mnist.shape == (4, 1, 32, 32)
