"""chaingrad: the moons step with nn.MLP and nn.losses, the other workloads with autograd directly."""

from __future__ import annotations

from typing import Any

import autograd
from autograd import Value
from nn.layers import MLP
from nn.losses import hinge_loss, l2_penalty

from ..problems import CHAIN_A, CHAIN_B, CHAIN_X0, L2_ALPHA, Weights

NAME = "chaingrad"


def version() -> str:
    """chaingrad's version."""
    return autograd.__version__


class Moons:
    """micrograd's moons training step written with nn: MLP, hinge loss, L2 penalty, SGD."""

    def __init__(self, weights: Weights, points: list[list[float]], labels: list[float]) -> None:
        sizes = [len(weights[0][0][0])] + [len(layer) for layer in weights]
        self.model = MLP(sizes[0], sizes[1:])
        self.model.load_state_dict(
            {
                f"layers.{i}.{key}": [w if key == "weight" else b for w, b in layer]
                for i, layer in enumerate(weights)
                for key in ("weight", "bias")
            }
        )
        self.points, self.labels = points, labels
        self.parameters = self.model.parameters()

    def forward(self) -> Value:
        """The total loss of the batch: mean hinge loss + alpha * sum(p^2)."""
        scores = [self.model(x) for x in self.points]
        return hinge_loss(scores, self.labels) + l2_penalty(self.parameters, L2_ALPHA)

    def backward(self, root: Value) -> None:
        """Gradients of the loss into the parameters."""
        root.backward()

    def step(self, lr: float) -> float:
        """One training step; returns the loss before the update."""
        loss = self.forward()
        self.model.zero_grad()
        loss.backward()
        for p in self.parameters:
            p.data -= lr * p.grad
        return loss.data

    def loss(self, root: Value) -> float:
        """The loss as a float."""
        return root.data

    def _neuron_params(self) -> list[Value]:
        return [p for layer in self.model.layers for n in layer.neurons for p in (*n.w, n.b)]

    def params(self) -> list[float]:
        """Parameter values, in micrograd's order."""
        return [p.data for p in self._neuron_params()]

    def grads(self) -> list[float]:
        """Parameter gradients, in micrograd's order."""
        return [p.grad for p in self._neuron_params()]


def count_nodes(root: Value) -> int:
    """Nodes of the graph below root, leaves included."""
    return len(autograd.topological_order(root))


# -- deep chain --


def chain_build(n: int) -> tuple[Value, Value, Value, Value]:
    """v <- v * a, v <- v + b, n nodes in all: (out, x0, a, b)."""
    x0, a, b = Value(CHAIN_X0), Value(CHAIN_A), Value(CHAIN_B)
    v = x0
    for _ in range(n // 2):
        v = v * a
        v = v + b
    return v, x0, a, b


def chain_backward(graph: tuple[Value, Value, Value, Value]) -> None:
    """Backpropagate from the chain's end."""
    graph[0].backward()


def chain_result(graph: tuple[Value, Value, Value, Value]) -> tuple[float, list[float]]:
    """(out, [d out/d x0, d out/d a, d out/d b])."""
    out, x0, a, b = graph
    return out.data, [x0.grad, a.grad, b.grad]


# -- wide sum of products --


def wide_leaves(ws: list[float], xs: list[float]) -> tuple[list[Value], list[Value]]:
    """The 2n leaves."""
    return [Value(w) for w in ws], [Value(x) for x in xs]


def _wide_dot(leaves: tuple[list[Value], list[Value]]) -> tuple[Any, ...]:
    ws, xs = leaves
    out = autograd.dot(ws, xs)  # one node with 2n parents
    out.backward()
    return out, ws, xs


def _wide_sum(leaves: tuple[list[Value], list[Value]]) -> tuple[Any, ...]:
    ws, xs = leaves
    out = autograd.sum([w * x for w, x in zip(ws, xs, strict=True)])  # n mul nodes and one sum node
    out.backward()
    return out, ws, xs


def _wide_naive(leaves: tuple[list[Value], list[Value]]) -> tuple[Any, ...]:
    ws, xs = leaves
    out = sum(w * x for w, x in zip(ws, xs, strict=True))  # Python's sum(): a chain of n adds
    out.backward()
    return out, ws, xs


WIDE = {"dot": _wide_dot, "sum": _wide_sum, "naive": _wide_naive}


def wide_result(graph: tuple[Any, ...]) -> tuple[float, list[float], list[float]]:
    """(out, grads of the ws, grads of the xs)."""
    out, ws, xs = graph
    return out.data, [w.grad for w in ws], [x.grad for x in xs]


# -- per-op overhead --

OPS = ("add", "mul", "tanh", "exp")


def op_forward(op: str, n: int) -> float:
    """n applications of `op` to leaves; the last output."""
    x, c = Value(0.5), Value(0.25)
    y = x
    if op == "add":
        for _ in range(n):
            y = x + c
    elif op == "mul":
        for _ in range(n):
            y = x * c
    elif op == "tanh":
        for _ in range(n):
            y = x.tanh()
    elif op == "exp":
        for _ in range(n):
            y = x.exp()
    return y.data


def op_forward_backward(op: str, n: int) -> tuple[float, float]:
    """n times: one op on leaves, then backward from its output; (last output, x.grad)."""
    x, c = Value(0.5), Value(0.25)
    y = x
    if op == "add":
        for _ in range(n):
            y = x + c
            y.backward()
    elif op == "mul":
        for _ in range(n):
            y = x * c
            y.backward()
    elif op == "tanh":
        for _ in range(n):
            y = x.tanh()
            y.backward()
    elif op == "exp":
        for _ in range(n):
            y = x.exp()
            y.backward()
    return y.data, x.grad
