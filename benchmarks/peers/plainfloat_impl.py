"""The limit: the same computations hand-written on Python floats, forward and backward by hand.

No graph: each workload keeps just what its backward pass needs (a tape of floats).
"""

from __future__ import annotations

import math
import platform
from typing import Any

from ..problems import CHAIN_A, CHAIN_B, CHAIN_X0, L2_ALPHA, Weights

NAME = "plain floats"


def version() -> str:
    """The Python version (these are plain floats)."""
    return platform.python_version()


class Moons:
    """MLP with ReLU hidden layers, hinge loss and L2, with the backward pass written out."""

    def __init__(self, weights: Weights, points: list[list[float]], labels: list[float]) -> None:
        # W[l][j][i]: layer l, neuron j, input i; B[l][j] its bias. Gradients alike.
        self.W = [[list(w) for w, _ in layer] for layer in weights]
        self.B = [[b for _, b in layer] for layer in weights]
        self.gW = [[[0.0] * len(w) for w in layer] for layer in self.W]
        self.gB = [[0.0] * len(layer) for layer in self.B]
        self.points, self.labels = points, labels

    def forward(self) -> tuple[float, list[tuple[list[list[float]], list[list[float]], float]]]:
        """(total loss, per sample: the activations and pre-activations of each layer, its margin)."""
        last = len(self.W) - 1
        tape = []
        data_loss = 0.0
        for x, y in zip(self.points, self.labels, strict=True):
            activations, pre = [x], []
            a = x
            for layer, (W, B) in enumerate(zip(self.W, self.B, strict=True)):
                z = []
                for w, b in zip(W, B, strict=True):
                    s = b
                    for wi, ai in zip(w, a, strict=True):
                        s += wi * ai
                    z.append(s)
                pre.append(z)
                a = z if layer == last else [zj if zj > 0.0 else 0.0 for zj in z]
                activations.append(a)
            margin = 1.0 - y * a[0]
            data_loss += margin if margin > 0.0 else 0.0
            tape.append((activations, pre, margin))
        reg = 0.0
        for W, B in zip(self.W, self.B, strict=True):
            for w, b in zip(W, B, strict=True):
                for wi in w:
                    reg += wi * wi
                reg += b * b
        return data_loss / len(self.points) + L2_ALPHA * reg, tape

    def zero_grad(self) -> None:
        """Set every gradient to 0."""
        for gW, gB in zip(self.gW, self.gB, strict=True):
            for j in range(len(gB)):
                gW[j] = [0.0] * len(gW[j])
                gB[j] = 0.0

    def backward(self, root: tuple[float, list[Any]]) -> None:
        """Accumulate d loss / d parameter into gW and gB."""
        _, tape = root
        n = len(self.points)
        last = len(self.W) - 1
        for (activations, pre, margin), y in zip(tape, self.labels, strict=True):
            # d/d score of relu(1 - y score) / n: -y / n where the margin is positive.
            dz = [-y / n if margin > 0.0 else 0.0]
            for layer in range(last, -1, -1):
                W, a_in = self.W[layer], activations[layer]
                gW, gB = self.gW[layer], self.gB[layer]
                da_in = [0.0] * len(a_in)
                for j, dzj in enumerate(dz):
                    if dzj == 0.0:
                        continue
                    gB[j] += dzj
                    gw, w = gW[j], W[j]
                    for i, ai in enumerate(a_in):
                        gw[i] += dzj * ai
                        da_in[i] += dzj * w[i]
                if layer > 0:
                    z_in = pre[layer - 1]  # through the ReLU of the layer below
                    dz = [d if zi > 0.0 else 0.0 for d, zi in zip(da_in, z_in, strict=True)]
        # d/dp of alpha * p^2 = 2 alpha p
        for W, B, gW, gB in zip(self.W, self.B, self.gW, self.gB, strict=True):
            for j, (w, b) in enumerate(zip(W, B, strict=True)):
                gw = gW[j]
                for i, wi in enumerate(w):
                    gw[i] += 2.0 * L2_ALPHA * wi
                gB[j] += 2.0 * L2_ALPHA * b

    def step(self, lr: float) -> float:
        """One training step; returns the loss before the update."""
        root = self.forward()
        self.zero_grad()
        self.backward(root)
        for W, B, gW, gB in zip(self.W, self.B, self.gW, self.gB, strict=True):
            for j in range(len(B)):
                w, gw = W[j], gW[j]
                for i in range(len(w)):
                    w[i] -= lr * gw[i]
                B[j] -= lr * gB[j]
        return root[0]

    def loss(self, root: tuple[float, Any]) -> float:
        """The loss as a float."""
        return root[0]

    def params(self) -> list[float]:
        """Parameter values, per layer, per neuron, weights then bias."""
        return [p for W, B in zip(self.W, self.B, strict=True) for w, b in zip(W, B, strict=True)
                for p in (*w, b)]

    def grads(self) -> list[float]:
        """Parameter gradients, in the same order."""
        return [p for gW, gB in zip(self.gW, self.gB, strict=True) for gw, gb in zip(gW, gB, strict=True)
                for p in (*gw, gb)]


def count_nodes(root: Any) -> None:
    """No graph."""
    return None


# -- deep chain --


def chain_build(n: int) -> tuple[float, list[float]]:
    """v <- v * a, v <- v + b, n steps: (out, the inputs of the multiplications)."""
    a, b = CHAIN_A, CHAIN_B
    tape = []
    v = CHAIN_X0
    for _ in range(n // 2):
        tape.append(v)  # d(v a)/da = v is needed backward
        v = v * a
        v = v + b
    return v, tape


def chain_backward(graph: tuple[float, list[float]]) -> list[float]:
    """[d out/d x0, d out/d a, d out/d b], from the end of the chain back."""
    _, tape = graph
    a = CHAIN_A
    g = 1.0  # d out / d v at the current step
    ga = gb = 0.0
    for v in reversed(tape):
        gb += g  # through v + b
        ga += g * v  # through v * a
        g *= a
    return [g, ga, gb]


def chain_result(graph: tuple[float, list[float]]) -> tuple[float, list[float]]:
    """(out, [d out/d x0, d out/d a, d out/d b])."""
    return graph[0], chain_backward(graph)


# -- wide sum of products --


def wide_leaves(ws: list[float], xs: list[float]) -> tuple[list[float], list[float]]:
    """The inputs as they are."""
    return ws, xs


def _wide(leaves: tuple[list[float], list[float]]) -> tuple[float, list[float], list[float]]:
    ws, xs = leaves
    out = 0.0
    for w, x in zip(ws, xs, strict=True):
        out += w * x
    # d/dw_i = x_i, d/dx_i = w_i
    return out, list(xs), list(ws)


WIDE = {"loop": _wide}


def wide_result(graph: tuple[float, list[float], list[float]]) -> tuple[float, list[float], list[float]]:
    """(out, grads of the ws, grads of the xs)."""
    return graph


# -- per-op overhead --

OPS = ("add", "mul", "tanh", "exp")


def op_forward(op: str, n: int) -> float:
    """n applications of `op`; the last output."""
    x, c = 0.5, 0.25
    y = x
    if op == "add":
        for _ in range(n):
            y = x + c
    elif op == "mul":
        for _ in range(n):
            y = x * c
    elif op == "tanh":
        for _ in range(n):
            y = math.tanh(x)
    elif op == "exp":
        for _ in range(n):
            y = math.exp(x)
    return y


def op_forward_backward(op: str, n: int) -> tuple[float, float]:
    """n times: one op and its derivative accumulated into x's gradient; (last output, gradient)."""
    x, c = 0.5, 0.25
    y = x
    gx = 0.0
    if op == "add":
        for _ in range(n):
            y = x + c
            gx += 1.0
    elif op == "mul":
        for _ in range(n):
            y = x * c
            gx += c
    elif op == "tanh":
        for _ in range(n):
            y = math.tanh(x)
            gx += 1.0 - y * y
    elif op == "exp":
        for _ in range(n):
            y = math.exp(x)
            gx += y
    return y, gx
