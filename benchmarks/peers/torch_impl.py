"""PyTorch with 0-dim float64 tensors: micrograd's scalar graph, op for op (no matmuls)."""

from __future__ import annotations

from typing import Any

import torch

from ..problems import CHAIN_A, CHAIN_B, CHAIN_X0, L2_ALPHA, Weights

NAME = "torch"
F64 = torch.float64


def version() -> str:
    """PyTorch's version."""
    return torch.__version__


def scalar(x: float, requires_grad: bool = False) -> torch.Tensor:
    """A 0-dim float64 tensor."""
    return torch.tensor(x, dtype=F64, requires_grad=requires_grad)


class Moons:
    """The moons step on scalar tensors: the same neurons, hinge loss and L2 as micrograd's demo."""

    def __init__(self, weights: Weights, points: list[list[float]], labels: list[float]) -> None:
        self.neurons = [
            [([scalar(wi, True) for wi in w], scalar(b, True)) for w, b in layer] for layer in weights
        ]
        self.parameters = [p for layer in self.neurons for w, b in layer for p in (*w, b)]
        self.points, self.labels = points, labels
        self.last = len(self.neurons) - 1

    def _model(self, x: list[torch.Tensor]) -> torch.Tensor:
        for i, layer in enumerate(self.neurons):
            outs = []
            for w, b in layer:
                act = sum((wi * xi for wi, xi in zip(w, x, strict=True)), b)  # b + w0 x0 + w1 x1 + ...
                outs.append(act if i == self.last else act.relu())
            x = outs
        return x[0]

    def forward(self) -> torch.Tensor:
        """The total loss: mean hinge loss + alpha * sum(p * p)."""
        inputs = [[scalar(v) for v in row] for row in self.points]
        scores = [self._model(x) for x in inputs]
        losses = [(1 + -yi * si).relu() for yi, si in zip(self.labels, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = L2_ALPHA * sum(p * p for p in self.parameters)
        return data_loss + reg_loss

    def backward(self, root: torch.Tensor) -> None:
        """PyTorch's backward."""
        root.backward()

    def step(self, lr: float) -> float:
        """One training step; returns the loss before the update."""
        loss = self.forward()
        for p in self.parameters:
            p.grad = None  # what optimizer.zero_grad() does by default
        loss.backward()
        with torch.no_grad():
            for p in self.parameters:
                p -= lr * p.grad
        return loss.item()

    def loss(self, root: torch.Tensor) -> float:
        """The loss as a float."""
        return root.item()

    def params(self) -> list[float]:
        """Parameter values, per layer, per neuron, weights then bias."""
        return [p.item() for p in self.parameters]

    def grads(self) -> list[float]:
        """Parameter gradients, in the same order (0 where none reached)."""
        return [0.0 if p.grad is None else p.grad.item() for p in self.parameters]


def count_nodes(root: Any) -> None:
    """Not counted: PyTorch's graph holds functions, not values."""
    return None


# -- deep chain --


def chain_build(n: int) -> tuple[torch.Tensor, ...]:
    """v <- v * a, v <- v + b, n nodes in all: (out, x0, a, b)."""
    x0, a, b = scalar(CHAIN_X0, True), scalar(CHAIN_A, True), scalar(CHAIN_B, True)
    v = x0
    for _ in range(n // 2):
        v = v * a
        v = v + b
    return v, x0, a, b


def chain_backward(graph: tuple[torch.Tensor, ...]) -> None:
    """Backpropagate from the chain's end."""
    graph[0].backward()


def chain_result(graph: tuple[torch.Tensor, ...]) -> tuple[float, list[float]]:
    """(out, [d out/d x0, d out/d a, d out/d b])."""
    out, x0, a, b = graph
    return out.item(), [x0.grad.item(), a.grad.item(), b.grad.item()]


# -- wide sum of products --


def wide_leaves(ws: list[float], xs: list[float]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The 2n leaves."""
    return [scalar(w, True) for w in ws], [scalar(x, True) for x in xs]


def _wide_naive(leaves: tuple[list[torch.Tensor], list[torch.Tensor]]) -> tuple[Any, ...]:
    ws, xs = leaves
    out = sum(w * x for w, x in zip(ws, xs, strict=True))  # a chain of n adds, as micrograd's
    out.backward()
    return out, ws, xs


def _wide_stack(leaves: tuple[list[torch.Tensor], list[torch.Tensor]]) -> tuple[Any, ...]:
    ws, xs = leaves
    out = torch.stack([w * x for w, x in zip(ws, xs, strict=True)]).sum()  # n products, then one n-ary sum
    out.backward()
    return out, ws, xs


WIDE = {"naive": _wide_naive, "stack+sum": _wide_stack}


def wide_result(graph: tuple[Any, ...]) -> tuple[float, list[float], list[float]]:
    """(out, grads of the ws, grads of the xs)."""
    out, ws, xs = graph
    return out.item(), [w.grad.item() for w in ws], [x.grad.item() for x in xs]


# -- per-op overhead --

OPS = ("add", "mul", "tanh", "exp")


def op_forward(op: str, n: int) -> float:
    """n applications of `op` to leaves; the last output."""
    x, c = scalar(0.5, True), scalar(0.25, True)
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
    return y.item()


def op_forward_backward(op: str, n: int) -> tuple[float, float]:
    """n times: one op on leaves, then backward from its output; (last output, x.grad)."""
    x, c = scalar(0.5, True), scalar(0.25, True)
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
    return y.item(), x.grad.item()
