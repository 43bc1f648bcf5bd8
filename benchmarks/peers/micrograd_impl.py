"""micrograd 0.1.0, used exactly as its moons demo does (its engine has no tanh or exp)."""

from __future__ import annotations

import sys
from importlib import metadata
from typing import Any

from micrograd.engine import Value
from micrograd.nn import MLP

from ..problems import CHAIN_A, CHAIN_B, CHAIN_X0, L2_ALPHA, Weights

NAME = "micrograd"

# Python 3.11 runs Python-to-Python calls without growing the C stack, so a raised recursion
# limit lets micrograd's recursive topological sort go deep; older versions would crash instead.
CAN_RAISE_RECURSION_LIMIT = sys.version_info >= (3, 11)
DEEP_LIMIT = 10**7  # deeper than any graph of the suite (2 * 10^6 nodes)


def version() -> str:
    """micrograd's installed version."""
    return metadata.version("micrograd")


class Moons:
    """micrograd's own demo step: MLP, sum of relu(1 - y score) / n, alpha * sum(p * p), SGD."""

    def __init__(self, weights: Weights, points: list[list[float]], labels: list[float]) -> None:
        sizes = [len(weights[0][0][0])] + [len(layer) for layer in weights]
        self.model = MLP(sizes[0], sizes[1:])
        for layer, layer_weights in zip(self.model.layers, weights, strict=True):
            for neuron, (w, b) in zip(layer.neurons, layer_weights, strict=True):
                for p, value in zip(neuron.w, w, strict=True):
                    p.data = value
                neuron.b.data = b
        self.points, self.labels = points, labels

    def forward(self) -> Value:
        """The demo's total loss."""
        inputs = [list(map(Value, row)) for row in self.points]
        scores = list(map(self.model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(self.labels, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = L2_ALPHA * sum(p * p for p in self.model.parameters())
        return data_loss + reg_loss

    def backward(self, root: Value) -> None:
        """micrograd's backward."""
        root.backward()

    def step(self, lr: float) -> float:
        """One training step, as in the demo's loop; returns the loss before the update."""
        loss = self.forward()
        self.model.zero_grad()
        loss.backward()
        for p in self.model.parameters():
            p.data -= lr * p.grad
        return loss.data

    def loss(self, root: Value) -> float:
        """The loss as a float."""
        return float(root.data)

    def params(self) -> list[float]:
        """Parameter values, per layer, per neuron, weights then bias."""
        return [float(p.data) for p in self.model.parameters()]

    def grads(self) -> list[float]:
        """Parameter gradients, in the same order."""
        return [float(p.grad) for p in self.model.parameters()]


def count_nodes(root: Value) -> int:
    """Nodes of the graph below root (iteratively: micrograd's own sort is recursive)."""
    seen = {root}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return len(seen)


class raised_recursion_limit:
    """Context manager: allow `depth` nested calls, then restore the previous limit."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def __enter__(self) -> None:
        self.previous = sys.getrecursionlimit()
        sys.setrecursionlimit(max(self.previous, self.depth + 1000))

    def __exit__(self, *exc: Any) -> None:
        sys.setrecursionlimit(self.previous)


# -- deep chain --


def chain_build(n: int) -> tuple[Value, Value, Value, Value]:
    """v <- v * a, v <- v + b, n nodes in all: (out, x0, a, b)."""
    x0, a, b = Value(CHAIN_X0), Value(CHAIN_A), Value(CHAIN_B)
    v = x0
    for _ in range(n // 2):
        v = v * a
        v = v + b
    return v, x0, a, b


def chain_backward(graph: tuple[Value, ...], raise_limit: bool = False) -> None:
    """Backpropagate; RecursionError past ~1000 nodes unless `raise_limit` (Python 3.11+)."""
    if raise_limit:
        with raised_recursion_limit(DEEP_LIMIT):
            graph[0].backward()
    else:
        graph[0].backward()


def chain_result(graph: tuple[Value, ...]) -> tuple[float, list[float]]:
    """(out, [d out/d x0, d out/d a, d out/d b])."""
    out, x0, a, b = graph
    return out.data, [x0.grad, a.grad, b.grad]


# -- wide sum of products --


def wide_leaves(ws: list[float], xs: list[float]) -> tuple[list[Value], list[Value]]:
    """The 2n leaves."""
    return [Value(w) for w in ws], [Value(x) for x in xs]


def _wide_naive(leaves: tuple[list[Value], list[Value]], raise_limit: bool = False) -> tuple[Any, ...]:
    ws, xs = leaves
    out = sum(w * x for w, x in zip(ws, xs, strict=True))  # micrograd has only binary ops: a chain of n adds
    if raise_limit:
        with raised_recursion_limit(DEEP_LIMIT):
            out.backward()
    else:
        out.backward()
    return out, ws, xs


WIDE = {"naive": _wide_naive}


def wide_result(graph: tuple[Any, ...]) -> tuple[float, list[float], list[float]]:
    """(out, grads of the ws, grads of the xs)."""
    out, ws, xs = graph
    return out.data, [w.grad for w in ws], [x.grad for x in xs]


# -- per-op overhead --

OPS = ("add", "mul")


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
    else:
        raise NotImplementedError(f"micrograd 0.1.0 has no {op}")
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
    else:
        raise NotImplementedError(f"micrograd 0.1.0 has no {op}")
    return y.data, x.grad
