"""The three MNIST variants of the CGN paper, built from the IDX files and the texture images.

Every variant is 32×32 RGB in [0, 1]. In the training split the spurious cue (colour or texture)
follows the label; in the test split it is drawn at random, once, from a fixed seed, so the test set
is the same on every call (the original code redraws it on every access). The training images come
from our MNIST training file (offline: its 10,000-image prefix), the test images from the official
test split (the original builds both from the training file: first 50k / last 10k).

Built tensors are stored as 8-bit images under the model cache (``<cache>/data``), keyed by a hash
of the builder's code and the source files, so repeated calls only read a small file.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import torch
import torch.nn.functional as F

from lib.core.cache import atomic_save, cache_dir, cache_key, fingerprint, load_stored
from lib.core.data import ENV_VAR, DatasetError, data_root, load_split

VARIANTS = ("colored", "double_colored", "wildlife")
SPLITS = ("train", "test")
SIZE = 32

# Colored MNIST: the original downloads a pre-made file (Kim et al.'s "10 colours, jitter variance
# 0.02"); we choose ten well-separated class colours (RGB in [0, 1]) ourselves.
COLORED_CLASS_COLOURS = torch.tensor([
    [1.0, 0.0, 0.0],   # 0 red
    [0.0, 1.0, 0.0],   # 1 green
    [0.0, 0.0, 1.0],   # 2 blue
    [1.0, 1.0, 0.0],   # 3 yellow
    [1.0, 0.0, 1.0],   # 4 magenta
    [0.0, 1.0, 1.0],   # 5 cyan
    [1.0, 0.5, 0.0],   # 6 orange
    [0.5, 0.0, 1.0],   # 7 violet
    [1.0, 0.6, 0.7],   # 8 pink
    [1.0, 1.0, 1.0],   # 9 white
])
COLOUR_JITTER_VAR = 0.02

# Double-colored MNIST: the original's background colours by digit; the digit colour is the same list
# shifted by 6 (digit 0 gets colour 4, yellow). Values are the CSS/X11 colours the names denote.
DOUBLE_BACKGROUND = torch.tensor([
    [0, 100, 0], [0, 0, 139], [176, 48, 96], [255, 69, 0], [255, 255, 0],
    [222, 184, 135], [0, 255, 0], [0, 255, 255], [255, 0, 255], [100, 149, 237],
]) / 255.0
DOUBLE_OBJECT = DOUBLE_BACKGROUND[[(i - 6) % 10 for i in range(10)]]
DOUBLE_NOISE_SD = 0.01

TEXTURE_SIZE = 150   # textures are resized to 150×150 (nearest), then a random 32×32 crop
TEXTURE_PAD = 3      # reflect padding before the crop, as in the original's RandomCrop(32, padding=3)

_SEEDS = {("colored", "train"): 11, ("colored", "test"): 12, ("double_colored", "train"): 21,
          ("double_colored", "test"): 22, ("wildlife", "train"): 31, ("wildlife", "test"): 32}


def _check(variant: str, split: str) -> None:
    if variant not in VARIANTS:
        raise DatasetError(f"unknown MNIST variant {variant!r}; choose from {list(VARIANTS)}")
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; choose from {list(SPLITS)}")


def digits_32(split: str, root=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Grey digits (N, 1, 32, 32) in [0, 1] (nearest 28 -> 32 resize) and labels."""
    images, labels = load_split("mnist", split, root)
    grey = F.interpolate(images.unsqueeze(1).float() / 255.0, size=(SIZE, SIZE), mode="nearest")
    return grey, labels


def binarised_digits(split: str = "train", root=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Real MNIST digits binarised as the variants draw them (> 0.1 after the resize); (N, 1, 32, 32). They
    are the digit masks of the variants' images, in the same order."""
    grey, labels = digits_32(split, root)
    return (grey > 0.1).float(), labels


def _cue_index(labels: torch.Tensor, split: str, gen: torch.Generator) -> torch.Tensor:
    """Which class's cue each image gets: its own label in training, a random class at test time."""
    return labels.clone() if split == "train" else torch.randint(10, labels.shape, generator=gen)


def texture_files(root=None) -> dict[str, list[Path]]:
    """The ten object and ten background texture files, ordered by the digit in their name prefix."""
    folder = data_root(root) / "textures"
    files = {}
    for kind in ("object", "background"):
        found = {p.name.split("_")[0]: p for p in (folder / kind).glob("*.jpg")} if (folder / kind).is_dir() else {}
        missing = [str(k) for k in range(10) if str(k) not in found]
        if missing:
            raise DatasetError(
                f"wildlife MNIST needs texture images {folder / kind}/<digit>_*.jpg for every digit; "
                f"missing digits {missing} (set ${ENV_VAR} to the folder that holds textures/)")
        files[kind] = [found[str(k)] for k in range(10)]
    return files


def _load_textures(paths) -> torch.Tensor:
    """(10, 3, 156, 156): each texture resized to 150×150 (nearest) and reflect-padded by 3 pixels."""
    from PIL import Image

    images = []
    for path in paths:
        with Image.open(path) as img:
            img = img.convert("RGB").resize((TEXTURE_SIZE, TEXTURE_SIZE), Image.NEAREST)
            images.append(torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
                          .view(TEXTURE_SIZE, TEXTURE_SIZE, 3).permute(2, 0, 1).float() / 255.0)
    return F.pad(torch.stack(images), (TEXTURE_PAD,) * 4, mode="reflect")


def random_crops(textures: torch.Tensor, which: torch.Tensor, gen: torch.Generator | None = None,
                 size: int = SIZE) -> torch.Tensor:
    """One random ``size``×``size`` crop of ``textures[which[i]]`` per image, in one indexing operation."""
    span = textures.shape[-1] - size + 1
    top, left = (torch.randint(span, which.shape, generator=gen, device=which.device) for _ in range(2))
    offsets = torch.arange(size, device=which.device)
    rows = (top[:, None] + offsets)[:, :, None]         # (N, S, 1)
    cols = (left[:, None] + offsets)[:, None, :]        # (N, 1, S)
    crops = textures.permute(0, 2, 3, 1)[which[:, None, None], rows, cols]  # (N, S, S, 3)
    return crops.permute(0, 3, 1, 2)


def build_variant(variant: str, split: str, root=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Build a variant from scratch (no cache): images (N, 3, 32, 32) in [0, 1] and labels."""
    _check(variant, split)
    gen = torch.Generator().manual_seed(_SEEDS[variant, split])
    grey, labels = digits_32(split, root)
    n = len(labels)
    if variant == "colored":
        colour = COLORED_CLASS_COLOURS[_cue_index(labels, split, gen)]
        colour = colour + COLOUR_JITTER_VAR ** 0.5 * torch.randn(n, 3, generator=gen)
        images = grey * colour.clamp(0, 1)[:, :, None, None]   # the stroke's grey level scales its colour
    else:
        digit = (grey > 0.1).float()  # binarised, as in the original
        if variant == "double_colored":
            back = DOUBLE_BACKGROUND[_cue_index(labels, split, gen)] + DOUBLE_NOISE_SD * torch.randn(n, 3, generator=gen)
            obj = DOUBLE_OBJECT[_cue_index(labels, split, gen)] + DOUBLE_NOISE_SD * torch.randn(n, 3, generator=gen)
            back, obj = back[:, :, None, None], obj[:, :, None, None]
        else:
            files = texture_files(root)
            back = random_crops(_load_textures(files["background"]), _cue_index(labels, split, gen), gen)
            obj = random_crops(_load_textures(files["object"]), _cue_index(labels, split, gen), gen)
        images = digit * obj + (1 - digit) * back
    return images.clamp(0, 1), labels


def _source_fingerprint(variant: str, split: str, root) -> dict:
    """What fixes a built variant besides the code: the digits and, for wildlife, the texture files."""
    spec = {"variant": variant, "split": split, "digits": fingerprint(load_split("mnist", split, root)[0])}
    if variant == "wildlife":
        spec["textures"] = {kind: [(p.name, p.stat().st_size) for p in paths]
                            for kind, paths in texture_files(root).items()}
    return spec


@functools.lru_cache(maxsize=8)
def _cached_uint8(variant: str, split: str, root: str) -> tuple[torch.Tensor, torch.Tensor]:
    spec = _source_fingerprint(variant, split, root)
    key = cache_key(spec, code=(build_variant, random_crops, _load_textures, digits_32, _cue_index))
    path = cache_dir() / "data" / f"cgn-{variant}-{split}-{key}.pt"
    stored = load_stored(path, ("images", "labels"))
    if stored is not None:
        return stored["images"], stored["labels"]
    images, labels = build_variant(variant, split, root)
    images = (images * 255).round().to(torch.uint8)   # stored as 8-bit images, like image files
    atomic_save({"images": images, "labels": labels}, path)
    return images, labels


def counterfactual_mnist(variant: str, split: str, root: str | os.PathLike | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 3, 32, 32) float in [0, 1] (8-bit levels) and labels (N,) int64 of a CGN MNIST variant.

    ``variant``: "colored", "double_colored" or "wildlife"; ``split``: "train" (cue follows the label,
    from our MNIST training file) or "test" (cue drawn at random with a fixed seed, from the official
    test split). Built once and cached under ``<cache>/data``.
    """
    _check(variant, split)
    images, labels = _cached_uint8(variant, split, str(data_root(root).resolve()))
    return images.float() / 255.0, labels.clone()
