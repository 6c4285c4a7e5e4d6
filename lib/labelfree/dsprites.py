"""dSprites (Matthey et al., 2017) generated on the fly: the dataset is not available offline.

The factor grid is the original one: 3 shapes (square, ellipse, heart) x 6 scales (0.5 ... 1) x 40
orientations (0 ... 2 pi, both ends included, as in the original) x 32 x 32 positions (0 ... 1) =
737,280 binary 64 x 64 images, indexed in that order (position y varies fastest). The pixel
rendering is ours: a pixel is on when its centre lies inside the scaled, rotated and translated shape.
Shape sizes and the position range follow the look of the original (a scale-1 square is 20 px wide,
centres range over pixels 16 ... 48), not its exact pixels.
"""
from __future__ import annotations

import numpy as np
import torch

SHAPES = ("square", "ellipse", "heart")
FACTOR_SIZES = {"shape": 3, "scale": 6, "orientation": 40, "pos_x": 32, "pos_y": 32}
N_IMAGES = int(np.prod(list(FACTOR_SIZES.values())))  # 737,280
SIZE = 64
HALF_WIDTH = 10.0  # pixels from the centre to a side of the scale-1 square
CENTRE_RANGE = (16.0, 48.0)  # pixel coordinates of the centre at position 0 and 1

SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2 * np.pi, 40)
POSITIONS = np.linspace(0.0, 1.0, 32)


def factors(indices) -> dict[str, np.ndarray]:
    """Factor indices (shape, scale, orientation, pos_x, pos_y) of flat image indices."""
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= N_IMAGES):
        raise IndexError(f"dSprites indices must lie in [0, {N_IMAGES})")
    return dict(zip(FACTOR_SIZES, np.unravel_index(indices, tuple(FACTOR_SIZES.values()))))


def _inside(shape: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether shape-frame points (u right, v up, unit = HALF_WIDTH * scale) lie inside each shape."""
    square = (np.abs(u) <= 1) & (np.abs(v) <= 1)
    ellipse = (u / 1.0) ** 2 + (v / 0.5) ** 2 <= 1  # twice as long as wide
    hu, hv = 0.9 * u, 0.9 * v + 0.1  # the implicit heart (x^2 + y^2 - 1)^3 <= x^2 y^3, centred
    heart = (hu ** 2 + hv ** 2 - 1) ** 3 <= hu ** 2 * hv ** 3
    return np.select([shape == 0, shape == 1], [square, ellipse], heart)


def render_images(indices, chunk: int = 2048) -> torch.Tensor:
    """Images (B, 1, 64, 64) uint8 in {0, 1} of the flat indices, rendered in vectorised chunks."""
    f = factors(np.atleast_1d(indices))
    centre = np.arange(SIZE) + 0.5  # pixel centres
    rows, cols = np.meshgrid(centre, centre, indexing="ij")
    out = np.empty((len(f["shape"]), SIZE, SIZE), dtype=np.uint8)
    lo, hi = CENTRE_RANGE
    for start in range(0, len(out), chunk):
        part = slice(start, start + chunk)
        col = lo + (hi - lo) * POSITIONS[f["pos_x"][part]]
        row = lo + (hi - lo) * POSITIONS[f["pos_y"][part]]
        theta = ORIENTATIONS[f["orientation"][part]]
        unit = HALF_WIDTH * SCALES[f["scale"][part]]
        dx = cols[None] - col[:, None, None]
        dy = row[:, None, None] - rows[None]  # up is positive
        cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
        u = (cos * dx + sin * dy) / unit[:, None, None]  # rotate the image frame by -theta
        v = (-sin * dx + cos * dy) / unit[:, None, None]
        out[part] = _inside(f["shape"][part][:, None, None], u, v)
    return torch.from_numpy(out).unsqueeze(1)


def sample_splits(n_train: int, n_test: int, seed: int = 0):
    """Disjoint seeded random train and test subsets: ((images, indices), (images, indices)).

    Images are uint8 in {0, 1} (a quarter of the memory of float); training converts each batch.
    """
    if n_train + n_test > N_IMAGES:
        raise ValueError(f"at most {N_IMAGES} images")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(N_IMAGES, size=n_train + n_test, replace=False)
    train, test = chosen[:n_train], chosen[n_train:]
    return (render_images(train), torch.from_numpy(train)), (render_images(test), torch.from_numpy(test))
