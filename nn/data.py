"""Toy data sets (moons, blobs, spirals, XOR) and mini-batches: pure Python, seeded.

Each generator returns (X, y): X a list of [x0, x1] points, y a list of class indices (0, 1, ...).
`signed=True` (two-class sets) gives labels -1/+1 instead, as the hinge loss wants.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from .init import Seed, make_rng

Dataset = tuple[list[list[float]], list[int]]


def _count(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what}: expected a positive int, got {n!r}")
    return n


def _scale(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0:
        raise ValueError(f"{what}: expected a finite number >= 0, got {x!r}")
    return float(x)


def _linspace(lo: float, hi: float, n: int) -> list[float]:
    return [lo] if n == 1 else [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def _finish(points: list[list[float]], labels: list[int], rng: Any, signed: bool) -> Dataset:
    """Shuffle points and labels together; labels 0/1 become -1/+1 when `signed`."""
    order = list(range(len(points)))
    rng.shuffle(order)
    X = [points[i] for i in order]
    y = [labels[i] for i in order]
    if signed:
        if set(y) - {0, 1}:
            raise ValueError("signed labels (-1/+1) need a two-class data set")
        y = [2 * c - 1 for c in y]
    return X, y


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: Seed = None, signed: bool = False) -> Dataset:
    """Two interleaving half circles (scikit-learn's make_moons): class 0 on top, class 1 below."""
    n = _count(n_samples, "make_moons n_samples")
    noise, rng = _scale(noise, "make_moons noise"), make_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    points = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n_out)]
    points += [[1.0 - math.cos(t), 0.5 - math.sin(t)] for t in _linspace(0.0, math.pi, n_in)]
    labels = [0] * n_out + [1] * n_in
    points = [[x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise)] for x, y in points]
    return _finish(points, labels, rng, signed)


def make_blobs(
    n_samples: int = 100,
    centers: int | Sequence[Sequence[float]] = 3,
    cluster_std: float = 1.0,
    box: tuple[float, float] = (-10.0, 10.0),
    seed: Seed = None,
    signed: bool = False,
) -> Dataset:
    """Gaussian blobs in 2-D around `centers` (a count: drawn uniformly in `box`; or a list of points)."""
    n = _count(n_samples, "make_blobs n_samples")
    std, rng = _scale(cluster_std, "make_blobs cluster_std"), make_rng(seed)
    if isinstance(centers, int):
        k = _count(centers, "make_blobs centers")
        centers = [[rng.uniform(*box), rng.uniform(*box)] for _ in range(k)]
    centers = [[float(c[0]), float(c[1])] for c in centers]
    if not centers:
        raise ValueError("make_blobs: no centers")
    points, labels = [], []
    for i in range(n):
        c = i % len(centers)  # classes as equal as n allows
        cx, cy = centers[c]
        points.append([cx + rng.gauss(0.0, std), cy + rng.gauss(0.0, std)])
        labels.append(c)
    return _finish(points, labels, rng, signed)


def make_spiral(
    n_samples: int = 100,
    n_classes: int = 2,
    noise: float = 0.2,
    turns: float = 1.0,
    seed: Seed = None,
    signed: bool = False,
) -> Dataset:
    """Interleaved spiral arms, one per class (CS231n's spiral): radius 0 to 1, angle with noise."""
    n = _count(n_samples, "make_spiral n_samples")
    k = _count(n_classes, "make_spiral n_classes")
    noise, rng = _scale(noise, "make_spiral noise"), make_rng(seed)
    points, labels = [], []
    for c in range(k):
        m = n // k + (1 if c < n % k else 0)
        start = 2.0 * math.pi * c / k
        for r in _linspace(0.0, 1.0, m):
            t = start + 2.0 * math.pi * turns * r + rng.gauss(0.0, noise)
            points.append([r * math.cos(t), r * math.sin(t)])
            labels.append(c)
    return _finish(points, labels, rng, signed)


def make_xor(n_samples: int = 100, noise: float = 0.0, seed: Seed = None, signed: bool = False) -> Dataset:
    """Points uniform in [-1, 1]^2, class 1 where x0 and x1 have opposite signs (XOR of the signs)."""
    n = _count(n_samples, "make_xor n_samples")
    noise, rng = _scale(noise, "make_xor noise"), make_rng(seed)
    points, labels = [], []
    for _ in range(n):
        x0, x1 = rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)
        labels.append(1 if x0 * x1 < 0 else 0)
        points.append([x0 + rng.gauss(0.0, noise), x1 + rng.gauss(0.0, noise)] if noise else [x0, x1])
    return _finish(points, labels, rng, signed)


def batches(
    X: Sequence[Any], y: Sequence[Any], batch_size: int, shuffle: bool = True, seed: Seed = None
) -> Iterator[tuple[list[Any], list[Any]]]:
    """Mini-batches (X_batch, y_batch) covering every sample once; the last one may be smaller."""
    if len(X) != len(y):
        raise ValueError(f"batches: {len(X)} samples but {len(y)} labels")
    size = _count(batch_size, "batches batch_size")
    order = list(range(len(X)))
    if shuffle:
        make_rng(seed).shuffle(order)
    return _slices(X, y, order, size)


def _slices(X: Sequence[Any], y: Sequence[Any], order: list[int], size: int) -> Iterator[tuple[list, list]]:
    for start in range(0, len(order), size):
        chunk = order[start : start + size]
        yield [X[i] for i in chunk], [y[i] for i in chunk]
