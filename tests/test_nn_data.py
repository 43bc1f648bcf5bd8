"""Toy data sets and mini-batches: sizes, labels, geometry, reproducibility."""

import math

import pytest

import nn


def test_moons_without_noise_lie_on_their_half_circles():
    X, y = nn.make_moons(101, noise=0.0, seed=0)
    assert len(X) == len(y) == 101 and y.count(0) == 50 and y.count(1) == 51
    for (a, b), label in zip(X, y, strict=True):
        if label == 0:  # upper moon: the unit circle's upper half
            assert math.hypot(a, b) == pytest.approx(1.0) and b >= -1e-12
        else:  # lower moon: centred at (1, 0.5), lower half
            assert math.hypot(a - 1.0, b - 0.5) == pytest.approx(1.0) and b <= 0.5 + 1e-12


def test_moons_are_seeded_shuffled_and_optionally_signed():
    X, y = nn.make_moons(100, noise=0.1, seed=5)
    assert (X, y) == nn.make_moons(100, noise=0.1, seed=5)
    assert X != nn.make_moons(100, noise=0.1, seed=6)[0]
    assert y[:50] != [0] * 50  # shuffled: the classes are mixed
    Xs, ys = nn.make_moons(100, noise=0.1, seed=5, signed=True)
    assert Xs == X and ys == [2 * c - 1 for c in y]


def test_blobs_cluster_around_given_centers():
    centers = [[-5.0, 0.0], [5.0, 0.0], [0.0, 8.0]]
    X, y = nn.make_blobs(300, centers=centers, cluster_std=0.5, seed=1)
    assert [y.count(c) for c in range(3)] == [100, 100, 100]
    for c, (cx, cy) in enumerate(centers):
        pts = [p for p, label in zip(X, y, strict=True) if label == c]
        assert sum(p[0] for p in pts) / 100 == pytest.approx(cx, abs=0.2)
        assert sum(p[1] for p in pts) / 100 == pytest.approx(cy, abs=0.2)
    with pytest.raises(ValueError, match="two-class"):
        nn.make_blobs(30, centers=3, seed=0, signed=True)


def test_spiral_points_stay_within_the_unit_disk_without_noise():
    X, y = nn.make_spiral(90, n_classes=3, noise=0.0, seed=0)
    assert [y.count(c) for c in range(3)] == [30, 30, 30]
    assert all(math.hypot(a, b) <= 1.0 + 1e-12 for a, b in X)


def test_xor_labels_are_the_xor_of_the_signs():
    X, y = nn.make_xor(200, seed=2)
    assert all(label == (1 if a * b < 0 else 0) for (a, b), label in zip(X, y, strict=True))
    assert 60 < sum(y) < 140


def test_batches_cover_every_sample_once():
    X = [[float(i)] for i in range(10)]
    y = list(range(10))
    chunks = list(nn.batches(X, y, 4, shuffle=True, seed=3))
    assert [len(b[0]) for b in chunks] == [4, 4, 2]
    assert sorted(label for _, yb in chunks for label in yb) == y
    assert all(xb[i][0] == yb[i] for xb, yb in chunks for i in range(len(yb)))
    assert chunks == list(nn.batches(X, y, 4, shuffle=True, seed=3))
    assert [yb for _, yb in nn.batches(X, y, 4, shuffle=False)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


@pytest.mark.parametrize(
    "call",
    [
        lambda: nn.batches([[1.0]], [1, 2], 1),
        lambda: nn.batches([[1.0]], [1], 0),
        lambda: nn.make_moons(0),
        lambda: nn.make_moons(10, noise=-1),
        lambda: nn.make_spiral(10, n_classes=0),
    ],
)
def test_bad_arguments_fail_at_the_call(call):
    with pytest.raises(ValueError):
        call()
