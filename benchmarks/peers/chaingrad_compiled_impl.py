"""chaingrad compiled: the same nn moons step as chaingrad's, through `autograd.compile` (pure Python).

The parameters and the points are the program's arguments: the step is traced once and replayed.
The moons step only (MOONS_ONLY): the other workloads build graphs of a different shape each time.
"""

from __future__ import annotations

from typing import Any

import autograd
from nn.losses import hinge_loss, l2_penalty

from ..problems import L2_ALPHA, Weights
from . import chaingrad_impl

NAME = "chaingrad compiled"
BACKEND = "python"
MOONS_ONLY = True
COMPILED = True


def version() -> str:
    """chaingrad's version."""
    return autograd.__version__


class Moons(chaingrad_impl.Moons):
    """chaingrad's moons step with the loss and its gradients replayed by a compiled program."""

    backend = BACKEND

    def __init__(self, weights: Weights, points: list[list[float]], labels: list[float]) -> None:
        super().__init__(weights, points, labels)
        self.labels = tuple(labels)
        self.compiled = autograd.compile(self._loss, backend=self.backend, static_argnums=(2,))

    def _loss(self, params: list[Any], points: list[list[Any]], labels: tuple[float, ...]) -> Any:
        scores = [self.model(x) for x in points]
        return hinge_loss(scores, labels) + l2_penalty(params, L2_ALPHA)

    def forward(self) -> float:
        """The loss, with its gradients added into the parameters (the program does both at once)."""
        return self.compiled(self.parameters, self.points, self.labels)

    def backward(self, root: float) -> None:
        """Nothing left to do: forward() ran the backward pass too."""

    def step(self, lr: float) -> float:
        """One training step; returns the loss before the update."""
        for p in self.parameters:
            p.grad = 0.0
        loss = self.compiled(self.parameters, self.points, self.labels)
        for p in self.parameters:
            p.data -= lr * p.grad
        return loss

    def loss(self, root: float) -> float:
        """The loss as a float."""
        return root


def count_nodes(root: Any) -> None:
    """A program has no graph to count."""
    return None
