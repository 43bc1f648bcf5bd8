"""NumPy batched: the moons step over all 100 points at once, forward and backward by hand.

Three matrix products forward and their transposes backward: the peer of the compiled NumPy
backend (and the limit of what array code does here). The moons step only (MOONS_ONLY).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..problems import L2_ALPHA, Weights

NAME = "numpy batched"
MOONS_ONLY = True


def version() -> str:
    """NumPy's version."""
    return np.__version__


class Moons:
    """MLP(2, [16, 16, 1]) with ReLU, hinge loss and L2 on arrays: W[l] is (fan_out, fan_in)."""

    def __init__(self, weights: Weights, points: list[list[float]], labels: list[float]) -> None:
        self.W = [np.array([w for w, _ in layer], dtype=float) for layer in weights]
        self.B = [np.array([b for _, b in layer], dtype=float) for layer in weights]
        self.X = np.array(points, dtype=float)
        self.y = np.array(labels, dtype=float)
        self.gW = [np.zeros_like(w) for w in self.W]
        self.gB = [np.zeros_like(b) for b in self.B]

    def forward(self) -> tuple[float, list[np.ndarray], np.ndarray]:
        """(loss, the activations of each layer, the margins)."""
        a = self.X
        acts = [a]
        last = len(self.W) - 1
        for i, (w, b) in enumerate(zip(self.W, self.B, strict=True)):
            z = a @ w.T + b
            a = z if i == last else np.maximum(z, 0.0)
            acts.append(a)
        margins = 1.0 - self.y * a[:, 0]
        reg = sum(float((w * w).sum()) + float((b * b).sum()) for w, b in zip(self.W, self.B, strict=True))
        loss = float(np.maximum(margins, 0.0).mean()) + L2_ALPHA * reg
        return loss, acts, margins

    def backward(self, root: tuple[float, list[np.ndarray], np.ndarray]) -> None:
        """Gradients of the loss into gW and gB."""
        _, acts, margins = root
        n = len(self.y)
        dz = np.where(margins > 0.0, -self.y / n, 0.0)[:, None]  # d loss / d score
        for i in range(len(self.W) - 1, -1, -1):
            self.gW[i] = dz.T @ acts[i] + 2.0 * L2_ALPHA * self.W[i]
            self.gB[i] = dz.sum(axis=0) + 2.0 * L2_ALPHA * self.B[i]
            if i:
                dz = (dz @ self.W[i]) * (acts[i] > 0.0)

    def step(self, lr: float) -> float:
        """One training step; returns the loss before the update."""
        root = self.forward()
        self.backward(root)
        for w, b, gw, gb in zip(self.W, self.B, self.gW, self.gB, strict=True):
            w -= lr * gw
            b -= lr * gb
        return root[0]

    def loss(self, root: tuple[float, Any, Any]) -> float:
        """The loss as a float."""
        return root[0]

    def params(self) -> list[float]:
        """Parameter values, per layer, per neuron, weights then bias."""
        return [x for w, b in zip(self.W, self.B, strict=True) for row, bj in zip(w, b, strict=True)
                for x in (*row.tolist(), float(bj))]

    def grads(self) -> list[float]:
        """Parameter gradients, in the same order."""
        return [x for w, b in zip(self.gW, self.gB, strict=True) for row, bj in zip(w, b, strict=True)
                for x in (*row.tolist(), float(bj))]


def count_nodes(root: Any) -> None:
    """No graph."""
    return None
