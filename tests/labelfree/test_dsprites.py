"""The generated dSprites against known answers: factor grid, a hand-drawn image, binarity, positions."""
import numpy as np
import pytest

from lib.labelfree import dsprites


def flat(shape, scale, orientation, pos_x, pos_y):
    return int(np.ravel_multi_index((shape, scale, orientation, pos_x, pos_y), (3, 6, 40, 32, 32)))


def test_factor_grid_has_the_original_size_and_order():
    assert dsprites.N_IMAGES == 737_280
    f = dsprites.factors([0, 1, 32, dsprites.N_IMAGES - 1])
    assert f["pos_y"].tolist() == [0, 1, 0, 31] and f["pos_x"].tolist() == [0, 0, 1, 31]
    assert f["shape"].tolist() == [0, 0, 0, 2] and f["orientation"][-1] == 39
    with pytest.raises(IndexError):
        dsprites.factors([dsprites.N_IMAGES])


def test_unrotated_square_is_the_known_20px_block():
    # scale 1, orientation 0: the pixels whose centres lie within 10 px of the shape's centre, per axis
    lo, hi = dsprites.CENTRE_RANGE
    pos = 15
    c = lo + (hi - lo) * dsprites.POSITIONS[pos]
    expected = np.zeros((64, 64), dtype=np.uint8)
    idx = np.flatnonzero(np.abs(np.arange(64) + 0.5 - c) <= dsprites.HALF_WIDTH)
    expected[np.ix_(idx, idx)] = 1
    got = dsprites.render_images(flat(0, 5, 0, pos, pos))[0, 0].numpy()
    assert len(idx) == 20 and got.dtype == np.uint8 and np.array_equal(got, expected)


def test_images_are_binary_and_every_shape_is_drawn():
    images = dsprites.render_images(np.arange(0, dsprites.N_IMAGES, 997))
    assert set(np.unique(images.numpy())) == {0, 1}
    assert images.flatten(1).sum(1).min() > 20  # no empty image, even at scale 0.5


def test_orientation_0_and_2pi_coincide_and_shapes_differ():
    for shape in range(3):
        a, b = dsprites.render_images([flat(shape, 3, 0, 10, 20), flat(shape, 3, 39, 10, 20)])
        assert np.array_equal(a.numpy(), b.numpy())
    square, ellipse, heart = dsprites.render_images([flat(s, 5, 0, 16, 16) for s in range(3)]).flatten(1).sum(1)
    assert square == 400 and abs(ellipse - np.pi * 10 * 5) < 10  # a 2:1 ellipse of semi-axes 10 and 5 px
    assert heart not in (square, ellipse)


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_position_moves_the_centroid_as_the_grid_says(shape):
    lo, hi = dsprites.CENTRE_RANGE
    step = (hi - lo) / 31
    images = dsprites.render_images([flat(shape, 4, 7, px, 9) for px in range(32)])[:, 0].numpy().astype(float)
    cols = (images.sum(1) * (np.arange(64) + 0.5)).sum(1) / images.sum((1, 2))
    assert np.allclose(np.diff(cols), step, atol=0.35)  # one grid step per position index
    rows = (images.sum(2) * (np.arange(64) + 0.5)).sum(1) / images.sum((1, 2))
    assert np.ptp(rows) < 0.5  # pos_y fixed: the row centroid does not move


def test_splits_are_seeded_and_disjoint():
    (a, ia), (b, ib) = dsprites.sample_splits(50, 20, seed=3)
    (_, ja), _ = dsprites.sample_splits(50, 20, seed=3)
    assert ia.tolist() == ja.tolist() and not set(ia.tolist()) & set(ib.tolist())
    assert a.shape == (50, 1, 64, 64) and np.array_equal(a.numpy(), dsprites.render_images(ia.numpy()).numpy())
