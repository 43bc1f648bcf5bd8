"""The shared inputs of the workloads: the moons data, the MLP's initial weights, the chain's leaves.

Every implementation gets exactly these numbers, so all of them build the same graph and must
compute the same loss and gradients.
"""

from __future__ import annotations

import math
import random

# micrograd's moons demo: 100 points, MLP(2, [16, 16, 1]), hinge loss + 1e-4 L2.
MOONS_POINTS = 100
MOONS_NOISE = 0.1
MOONS_LAYERS = (2, 16, 16, 1)
L2_ALPHA = 1e-4

# The deep chain v <- v * a, v <- v + b alternately: the fixed point b / (1 - a) = 1 keeps v finite.
CHAIN_X0, CHAIN_A, CHAIN_B = 0.5, 0.9999, 0.0001

# Neuron = (weights, bias); layer = list of neurons; weights = list of layers.
Neuron = tuple[list[float], float]
Weights = list[list[Neuron]]


def make_moons(n: int = MOONS_POINTS, noise: float = MOONS_NOISE, seed: int = 0):
    """Two interleaved half circles with Gaussian noise: (points, labels in {-1, +1})."""
    rng = random.Random(seed)
    n_upper = n // 2
    n_lower = n - n_upper
    points: list[list[float]] = []
    labels: list[float] = []
    # Upper moon: (cos t, sin t); lower moon: (1 - cos t, 1/2 - sin t), t evenly spaced in [0, pi].
    for i in range(n_upper):
        t = math.pi * i / max(n_upper - 1, 1)
        points.append([math.cos(t) + rng.gauss(0.0, noise), math.sin(t) + rng.gauss(0.0, noise)])
        labels.append(-1.0)
    for i in range(n_lower):
        t = math.pi * i / max(n_lower - 1, 1)
        points.append([1.0 - math.cos(t) + rng.gauss(0.0, noise), 0.5 - math.sin(t) + rng.gauss(0.0, noise)])
        labels.append(1.0)
    return points, labels


def make_weights(layers: tuple[int, ...] = MOONS_LAYERS, seed: int = 1) -> Weights:
    """micrograd's initialization: weights uniform in [-1, 1], biases 0."""
    rng = random.Random(seed)
    weights: Weights = []
    for fan_in, fan_out in zip(layers[:-1], layers[1:], strict=True):
        weights.append([([rng.uniform(-1.0, 1.0) for _ in range(fan_in)], 0.0) for _ in range(fan_out)])
    return weights


def flatten(weights: Weights) -> list[float]:
    """The parameters in micrograd's order: per layer, per neuron, its weights then its bias."""
    return [p for layer in weights for w, b in layer for p in (*w, b)]


def wide_inputs(n: int, seed: int = 2) -> tuple[list[float], list[float]]:
    """n weights and n inputs for the wide sum of products."""
    rng = random.Random(seed)
    return [rng.uniform(-1.0, 1.0) for _ in range(n)], [rng.uniform(-1.0, 1.0) for _ in range(n)]


def learning_rate(step: int, steps: int = 100) -> float:
    """micrograd's schedule: 1.0 decaying linearly to 0.1 over the run."""
    return 1.0 - 0.9 * step / steps
