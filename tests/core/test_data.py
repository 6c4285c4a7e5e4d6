"""IDX reading, the error messages for missing or corrupt data, class selection and the GCE splits."""
from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from lib.core.data import DatasetError, data_root, image_splits, load_ecg5000, load_split, select_classes

STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file: magic 0, 0, 0x08, ndim, then each dimension as a big-endian uint32."""
    assert array.dtype == np.uint8
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.tobytes()


def write_split(root: Path, dataset: str, split: str, images: np.ndarray, labels: np.ndarray,
                gz: bool = False) -> list[Path]:
    folder = root / FOLDERS[dataset] / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, array in zip(STEMS[split], (images, labels)):
        data = idx_bytes(array)
        path = folder / (stem + ".gz" if gz else stem)
        path.write_bytes(gzip.compress(data) if gz else data)
        paths.append(path)
    return paths


def numbered_images(n: int, size: int = 28) -> np.ndarray:
    """Image i is filled with the value i (mod 256), so a row can be traced through the splits."""
    return np.broadcast_to((np.arange(n) % 256).astype(np.uint8)[:, None, None], (n, size, size)).copy()


# ----------------------------------------------------------------------------- reading

@pytest.mark.parametrize("gz", [False, True])
def test_load_split_reads_values_shapes_and_dtypes(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 0, 9, 3, 8], dtype=np.uint8)
    write_split(tmp_path, "mnist", "train", images, labels, gz=gz)
    x, y = load_split("mnist", "train", root=tmp_path, download=False)
    assert x.shape == (5, 28, 28) and x.dtype == torch.uint8
    assert y.shape == (5,) and y.dtype == torch.int64
    assert np.array_equal(x.numpy(), images)
    assert y.tolist() == [3, 0, 9, 3, 8]


def test_missing_file_names_the_env_var_and_the_file(tmp_path):
    images, labels = numbered_images(3), np.zeros(3, dtype=np.uint8)
    _, labels_path = write_split(tmp_path, "mnist", "test", images, labels)
    labels_path.unlink()
    with pytest.raises(DatasetError) as err:
        load_split("mnist", "test", root=tmp_path, download=False)
    message = str(err.value)
    assert "REPRO_DATA" in message
    assert str(labels_path) in message
    assert "t10k-images" not in message  # the file that is there is not reported missing


def test_empty_root_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="REPRO_DATA"):
        load_split("fashion_mnist", "train", root=tmp_path, download=False)


def corrupt_bad_magic(data: bytes) -> bytes:
    return b"\x01" + data[1:]


def corrupt_bad_dtype(data: bytes) -> bytes:
    return data[:2] + b"\x07" + data[3:]


def corrupt_truncated(data: bytes) -> bytes:
    return data[:-10]


def corrupt_header_only(data: bytes) -> bytes:
    return data[:6]  # cut inside the dimension fields


def corrupt_size_mismatch(data: bytes) -> bytes:
    return data[:4] + (99).to_bytes(4, "big") + data[8:]  # header promises 99 images


def corrupt_extra_bytes(data: bytes) -> bytes:
    return data + b"\x00" * 7


@pytest.mark.parametrize("corrupt", [corrupt_bad_magic, corrupt_bad_dtype, corrupt_truncated,
                                     corrupt_header_only, corrupt_size_mismatch, corrupt_extra_bytes])
@pytest.mark.parametrize("gz", [False, True])
def test_corrupt_images_file_raises(tmp_path, corrupt, gz):
    images_path, _ = write_split(tmp_path, "mnist", "train", numbered_images(4), np.zeros(4, np.uint8))
    data = corrupt(idx_bytes(numbered_images(4)))
    if gz:
        images_path.unlink()
        images_path.with_name(images_path.name + ".gz").write_bytes(gzip.compress(data))
    else:
        images_path.write_bytes(data)
    with pytest.raises(DatasetError):
        load_split("mnist", "train", root=tmp_path, download=False)


@pytest.mark.parametrize("payload", [b"this is not gzip", None])
def test_bad_gzip_raises(tmp_path, payload):
    images_path, _ = write_split(tmp_path, "mnist", "train", numbered_images(4), np.zeros(4, np.uint8),
                                 gz=True)
    if payload is None:  # a real gzip stream cut short
        payload = images_path.read_bytes()[:-20]
    images_path.write_bytes(payload)
    with pytest.raises(DatasetError):
        load_split("mnist", "train", root=tmp_path, download=False)


def test_images_and_labels_of_different_length_raise(tmp_path):
    write_split(tmp_path, "mnist", "train", numbered_images(4), np.zeros(5, np.uint8))
    with pytest.raises(DatasetError):
        load_split("mnist", "train", root=tmp_path, download=False)


@pytest.mark.parametrize("dataset, split", [("cifar10", "train"), ("mnist", "validation"), ("MNIST", "test")])
def test_unknown_dataset_or_split_raises(tmp_path, dataset, split):
    with pytest.raises(DatasetError):
        load_split(dataset, split, root=tmp_path, download=False)


# ----------------------------------------------------------------------------- data root

def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "from-env"))
    assert data_root(tmp_path / "explicit") == tmp_path / "explicit"
    assert data_root() == tmp_path / "from-env"


def test_default_data_root_is_the_repositorys_data_folder(tmp_path, monkeypatch):
    # The runner executes notebooks in notebooks/: the default must not follow the working folder.
    monkeypatch.delenv("REPRO_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert data_root() == Path(__file__).resolve().parents[2] / "data"


def test_load_split_uses_repro_data(tmp_path, monkeypatch):
    write_split(tmp_path, "mnist", "test", numbered_images(2), np.array([1, 2], np.uint8))
    monkeypatch.setenv("REPRO_DATA", str(tmp_path))
    _, y = load_split("mnist", "test", download=False)
    assert y.tolist() == [1, 2]


# ----------------------------------------------------------------------------- ECG5000

def write_ecg(root: Path, rows: list[str], name: str = "ECG5000_TRAIN.csv") -> Path:
    folder = root / "ECG5000"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(rows) + "\n")
    return path


def ecg_row(value: str = "0.5", label: str = "1") -> str:
    return ",".join([value] * 140 + [label])


def test_ecg5000_reads_beats_as_series_with_their_classes(tmp_path):
    write_ecg(tmp_path, [ecg_row("0.5", "1"), ecg_row("-1", "3")])
    x, y = load_ecg5000(tmp_path)
    assert x.shape == (2, 140, 1) and x.dtype == torch.float32 and y.tolist() == [1, 3]
    assert x[1, 7, 0] == -1.0
    with pytest.raises(DatasetError, match="ECG5000_TRAIN.csv"):
        load_ecg5000(tmp_path / "missing")


def test_ecg5000_appends_the_test_file(tmp_path):
    write_ecg(tmp_path, [ecg_row("0.5", "1"), ecg_row("-1", "5")])
    write_ecg(tmp_path, [ecg_row("2", "3")], "ECG5000_TEST.csv")
    x, y = load_ecg5000(tmp_path)
    assert x.shape == (3, 140, 1) and y.tolist() == [1, 5, 3] and x[2, 0, 0] == 2.0


@pytest.mark.parametrize("bad_row, message", [
    (ecg_row(value="nan"), "row 2 has a NaN or infinite value"),
    (ecg_row(value="inf"), "row 2 has a NaN or infinite value"),
    (ecg_row(label="0"), "row 2 has class 0, not one of 1..5"),
    (ecg_row(label="6"), "row 2 has class 6, not one of 1..5"),
    (ecg_row(label="2.5"), "row 2 has class 2.5, not one of 1..5"),
    (ecg_row(label="nan"), "row 2 has class nan, not one of 1..5"),
])
def test_ecg5000_rejects_bad_values_and_classes_naming_file_and_row(tmp_path, bad_row, message):
    write_ecg(tmp_path, [ecg_row()])
    path = write_ecg(tmp_path, [ecg_row(), bad_row, ecg_row()], "ECG5000_TEST.csv")
    with pytest.raises(DatasetError) as err:
        load_ecg5000(tmp_path)
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize("bad_row", [ecg_row(value="abc"), ",".join(["0.5"] * 139 + ["1"])])
def test_ecg5000_parse_errors_name_the_file(tmp_path, bad_row):
    path = write_ecg(tmp_path, [ecg_row(), bad_row])
    with pytest.raises(DatasetError, match=re.escape(str(path))):
        load_ecg5000(tmp_path)


# ----------------------------------------------------------------------------- class selection

def test_select_classes_relabels_in_the_given_order():
    images = torch.arange(6).view(6, 1, 1)
    labels = torch.tensor([3, 8, 1, 8, 3, 5])
    x, y = select_classes(images, labels, [8, 3])
    assert x.flatten().tolist() == [0, 1, 3, 4]  # order of the data is kept
    assert y.tolist() == [1, 0, 0, 1]  # 8 -> 0, 3 -> 1


@pytest.mark.parametrize("classes", [[3, 11], [3, 3], [-1, 2], []])
def test_select_classes_rejects_bad_classes(classes):
    with pytest.raises(DatasetError):
        select_classes(torch.zeros(2, 1, 1), torch.tensor([3, 8]), classes)


# ----------------------------------------------------------------------------- GCE splits

def expected_rows(labels: np.ndarray, rows: range, classes) -> list[int]:
    return [r for r in rows if labels[r] in classes]


def check_piece(piece, labels: np.ndarray, rows: range, classes):
    x, y = piece
    kept = expected_rows(labels, rows, classes)
    assert kept, "the synthetic labels must leave some rows in every piece"
    assert x.shape == (len(kept), 1, 28, 28) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() <= 1
    # images are numbered: pixel value * 255 recovers the row index (mod 256)
    assert (x[:, 0, 0, 0] * 255).round().long().tolist() == [r % 256 for r in kept]
    assert y.dtype == torch.int64
    assert y.tolist() == [list(classes).index(int(labels[r])) for r in kept]


def test_gce_splits_mnist_five_to_one(tmp_path):
    train_labels = np.array([3, 8, 0, 3, 8, 1, 8, 3, 2, 8, 3, 8], dtype=np.uint8)
    test_labels = np.array([8, 5, 3, 3, 8], dtype=np.uint8)
    write_split(tmp_path, "mnist", "train", numbered_images(12), train_labels)
    write_split(tmp_path, "mnist", "test", numbered_images(5), test_labels)
    splits = image_splits("mnist", [3, 8], root=tmp_path)
    check_piece(splits.train, train_labels, range(0, 10), [3, 8])
    check_piece(splits.val, train_labels, range(10, 12), [3, 8])
    check_piece(splits.test, test_labels, range(0, 5), [3, 8])
    assert splits.class_names == ["3", "8"]
    assert "prefix" in splits.note  # 12 < 60,000 images: said to be a reduced training set


def test_gce_splits_fashion_mnist(tmp_path):
    rng = np.random.default_rng(1)
    train_labels = rng.integers(0, 10, 30).astype(np.uint8)
    test_labels = rng.integers(0, 10, 4010).astype(np.uint8)
    write_split(tmp_path, "fashion_mnist", "train", numbered_images(30), train_labels, gz=True)
    write_split(tmp_path, "fashion_mnist", "test", numbered_images(4010), test_labels, gz=True)
    classes = [0, 3, 4]
    splits = image_splits("fashion_mnist", classes, root=tmp_path)
    check_piece(splits.train, train_labels, range(0, 30), classes)
    check_piece(splits.val, test_labels, range(4000, 4010), classes)
    check_piece(splits.test, test_labels, range(0, 4000), classes)
    assert splits.class_names == ["t-shirt", "dress", "coat"]


# ----------------------------------------------------------------------------- the real data

def test_real_mnist_test_split(real_data_root):
    x, y = load_split("mnist", "test", root=real_data_root, download=False)
    assert x.shape == (10_000, 28, 28) and x.dtype == torch.uint8
    assert y.shape == (10_000,)
    assert y.min() >= 0 and y.max() <= 9
    assert len(torch.unique(y)) == 10
