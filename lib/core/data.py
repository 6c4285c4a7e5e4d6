"""Datasets read from IDX files under the data root (``REPRO_DATA``), with the papers' splits.

The offline copy in ``../shared/data`` has only the first 10,000 MNIST training images; every
split built from it says so in its ``note``.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ENV_VAR = "REPRO_DATA"
# The default root is the repository's data folder, whatever the working folder (the runner executes
# notebooks in notebooks/); the Makefile's default REPRO_DATA is the same folder.
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "data"
ECG_CLASSES = range(1, 6)

# dataset -> (folder under the data root, torchvision class name, {split: (images, labels)})
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
DATASETS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
FULL_TRAIN_SIZE = 60_000
CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion_mnist": ["t-shirt", "trouser", "pullover", "dress", "coat",
                      "sandal", "shirt", "sneaker", "bag", "ankle boot"],
}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DatasetError(RuntimeError):
    """A dataset is missing, corrupt or asked for with arguments that do not exist."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root`` if given, else ``$REPRO_DATA``, else ``<repository>/data``."""
    return Path(root if root is not None else os.environ.get(ENV_VAR, DEFAULT_ROOT)).expanduser()


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzip-compressed or raw) into an array, checking its header against its size."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DatasetError(f"cannot read IDX file {path}: {err}") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DatasetError(f"{path}: header promises {expected} bytes for shape {shape}, file has {len(raw)}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).copy()


def _find_idx(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _torchvision_download(dataset: str, root: Path) -> None:
    import torchvision

    cls = getattr(torchvision.datasets, DATASETS[dataset])
    for train in (True, False):
        cls(str(root), train=train, download=True)


def load_split(dataset: str, split: str, root: str | os.PathLike | None = None,
               download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of ``dataset``'s official ``split``.

    Reads ``<root>/<Folder>/raw/*-ubyte[.gz]``; when a file is missing and ``download`` is true,
    torchvision downloads the dataset into the root (this needs the internet).
    """
    if dataset not in DATASETS:
        raise DatasetError(f"unknown dataset {dataset!r}; choose from {sorted(DATASETS)}")
    if split not in _IDX_FILES:
        raise DatasetError(f"unknown split {split!r}; choose from {sorted(_IDX_FILES)}")
    root = data_root(root)
    folder = root / DATASETS[dataset] / "raw"
    stems = _IDX_FILES[split]
    paths = [_find_idx(folder, s) for s in stems]
    if None in paths and download:
        try:
            _torchvision_download(dataset, root)
        except Exception as err:  # offline: fall through to the clear error below
            download_error = f" (download failed: {type(err).__name__}: {err})"
        else:
            download_error = ""
        paths = [_find_idx(folder, s) for s in stems]
    else:
        download_error = ""
    if None in paths:
        missing = [str(folder / s) + "[.gz]" for s, p in zip(stems, paths) if p is None]
        raise DatasetError(
            f"{dataset} {split} split not found under the data root {root} (set ${ENV_VAR} to the folder "
            f"that holds {DATASETS[dataset]}/raw/). Expected: {', '.join(missing)}{download_error}")
    images, labels = (read_idx(p) for p in paths)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(f"{folder}: images {images.shape} and labels {labels.shape} do not match")
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


def _read_ecg_table(path: Path) -> np.ndarray:
    """One UCR CSV file: rows of 140 finite values and a class in 1..5; a DatasetError names the file
    and, for a bad value or class, the row (1-based, counting data rows)."""
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2)
    except ValueError as err:
        raise DatasetError(f"{path}: cannot parse as ECG5000 CSV: {err}") from err
    if table.shape[1] != 141:
        raise DatasetError(f"{path}: expected 140 values and a class per row, got {table.shape[1]} columns")
    bad_value = ~np.isfinite(table[:, :140]).all(1)
    if bad_value.any():
        row = int(np.argmax(bad_value))
        raise DatasetError(f"{path}: row {row + 1} has a NaN or infinite value ({int(bad_value.sum())} such row(s))")
    labels = table[:, 140]
    bad_label = ~np.isin(labels, ECG_CLASSES)  # also rejects NaN and non-integer classes
    if bad_label.any():
        row = int(np.argmax(bad_label))
        raise DatasetError(f"{path}: row {row + 1} has class {labels[row]:g}, not one of 1..5 "
                           f"({int(bad_label.sum())} such row(s))")
    return table


def load_ecg5000(root: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """ECG5000 heartbeats (N, 140, 1) float32 and classes (N,) int64 (1 = normal, 2-5 abnormal), read from
    ``<root>/ECG5000/ECG5000_TRAIN.csv`` (UCR archive). Offline only this 500-row training split exists;
    with internet, the 4,500-row ``ECG5000_TEST.csv`` from the UCR archive, if put beside it, is appended.
    A file that does not parse, or has a NaN/infinite value or a class outside 1..5, is a DatasetError
    naming it."""
    folder = data_root(root) / "ECG5000"
    paths = [p for p in (folder / "ECG5000_TRAIN.csv", folder / "ECG5000_TEST.csv") if p.is_file()]
    if not paths or paths[0].name != "ECG5000_TRAIN.csv":
        raise DatasetError(f"ECG5000 not found: expected {folder / 'ECG5000_TRAIN.csv'} (set ${ENV_VAR})")
    table = np.concatenate([_read_ecg_table(p) for p in paths])
    return torch.from_numpy(table[:, :140]).unsqueeze(-1), torch.from_numpy(table[:, 140].astype(np.int64))


def select_classes(images: torch.Tensor, labels: torch.Tensor, classes) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep only ``classes`` and relabel them 0..len(classes)-1 in the order given."""
    classes = list(classes)
    unknown = [c for c in classes if not 0 <= c <= 9]
    if unknown or len(set(classes)) != len(classes) or not classes:
        raise DatasetError(f"classes must be distinct labels in 0..9, got {classes}")
    lookup = torch.full((10,), -1, dtype=torch.long)
    lookup[torch.tensor(classes)] = torch.arange(len(classes))
    new = lookup[labels]
    keep = new >= 0
    return images[keep], new[keep]


@dataclass
class Splits:
    """Train/validation/test tensors: images float (N, 1, 28, 28) in [0, 1], labels int64."""
    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    class_names: list[str]
    note: str
    train_fraction: float = 1.0  # share of the official training file present (1/6 for the offline MNIST)


def _as_float(images: torch.Tensor) -> torch.Tensor:
    return images.unsqueeze(1).float().div_(255.0)


def image_splits(dataset: str, classes, root=None, device="cpu", download: bool = True) -> Splits:
    """Train/validation/test splits of an image data set as the GCE code makes them (Label-Free XAI reuses
    them for MNIST), restricted to ``classes`` and relabelled.

    MNIST: train = first 50k of the training file, val = its last 10k, test = the official test set.
    With the offline 10k-image prefix the same 5:1 proportion is kept (first 5/6 train, last 1/6 val).
    Fashion-MNIST: train = all 60k, val = test[4000:], test = test[:4000].
    """
    train_x, train_y = load_split(dataset, "train", root, download)
    test_x, test_y = load_split(dataset, "test", root, download)
    n = len(train_x)
    if dataset == "mnist":
        cut = n * 5 // 6
        pieces = (train_x[:cut], train_y[:cut]), (train_x[cut:], train_y[cut:]), (test_x, test_y)
    else:
        pieces = (train_x, train_y), (test_x[4000:], test_y[4000:]), (test_x[:4000], test_y[:4000])
    note = (f"{DATASETS[dataset]} training file with {n:,} images"
            + ("" if n >= FULL_TRAIN_SIZE else f" (a prefix of the official {FULL_TRAIN_SIZE:,}: reduced training set)"))
    subsets = []
    for x, y in pieces:
        x, y = select_classes(x, y, classes)
        subsets.append((_as_float(x).to(device), y.to(device)))
    names = [CLASS_NAMES[dataset][c] for c in classes]
    return Splits(*subsets, class_names=names, note=note, train_fraction=min(1.0, n / FULL_TRAIN_SIZE))
