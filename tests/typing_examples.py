"""Typical user code, as a user's type checker sees it: mypy and pyright must accept it unchanged.

tests/test_typing.py runs mypy (default mode) and pyright (standard mode) on this file and also
runs it, so every example here is real, working code. `assert_type` fails the type check when an
expression's static type is not the one named (for example Any, where a declaration is missing).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import autograd as ag
import nn
from autograd import Value

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value: Any, _type: Any) -> Any:
        return value


def arithmetic() -> Value:
    """Operators with a Value or a plain number on either side."""
    x = Value(2.0, label="x")
    y = Value(-1.5)
    assert_type(x + y, Value)
    assert_type(2.0 * x, Value)
    assert_type(x * 2, Value)
    assert_type(x * x, Value)
    assert_type(1 - x, Value)
    assert_type(x - 0.5, Value)
    assert_type(3 / x, Value)
    assert_type(x / 4.0, Value)
    assert_type(x**2, Value)
    assert_type(2**x, Value)
    assert_type(x**y, Value)
    assert_type(x // 2, Value)
    assert_type(7.5 // x, Value)
    assert_type(x % 1.5, Value)
    assert_type(7 % x, Value)
    assert_type(-x, Value)
    assert_type(+x, Value)
    assert_type(abs(y), Value)
    z = 2.0 * x + x * y - 3 / x + x**2 + 2**x - abs(y) + x // 2 + 7.5 % x
    flags: list[bool] = [x > 0.0, x < y, 1.0 <= x, x >= 2]
    assert all(flags[:1])
    return z


def methods(x: Value) -> Value:
    """The math methods of Value, and the same functions of `autograd` on floats."""
    assert_type(x.tanh(), Value)
    assert_type(x.exp(), Value)
    assert_type(x.leaky_relu(0.1), Value)
    assert_type(x.maximum(1.0), Value)
    h = x.tanh() + x.exp().log() + x.sqrt() + x.sin() * x.cos() + x.sigmoid() + x.relu()
    h = h + x.softplus() + x.abs() + x.leaky_relu(slope=0.2) + x.maximum(1.0) + x.minimum(x)
    t: float = ag.tanh(0.5)
    assert math.isclose(t, math.tanh(0.5))
    return h + ag.tanh(x) + ag.exp(x) + ag.sum([x, x, 1.0]) + ag.dot([x, 2.0], [3.0, x])


def backward_and_grad() -> tuple[float, float]:
    """backward() into .grad, and the functional API on plain floats."""
    x = Value(3.0)
    y = x * x * x
    y.backward()
    slope: float = x.grad
    d3 = ag.grad(ag.grad(ag.grad(lambda t: t**3)))(2.0)
    value, gradient = ag.value_and_grad(lambda a, b: a * b + a.exp(), argnums=(0, 1))(1.0, 2.0)
    assert value > 0 and len(gradient) == 2
    (dx,) = ag.gradients(y, [x])
    with ag.no_grad():
        frozen = x * 2.0
    assert frozen.is_leaf and float(dx) == slope
    return slope, float(d3)


class Affine(nn.Module):
    """A user's model: parameters kept as attributes, a forward of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.w = Value(0.5, label="w")
        self.b = Value(0.0, label="b")

    def forward(self, x: Value | float) -> Value:
        return self.w * x + self.b


def training() -> float:
    """A hand-written training loop and `nn.fit`, as in the README."""
    X, y = nn.data.make_moons(20, noise=0.1, seed=1, signed=True)
    model = nn.MLP(2, [4, 1], seed=1)
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    loss: Any = None
    for _ in range(3):
        scores = [model(row) for row in X]
        loss = nn.hinge_loss(scores, y) + nn.l2_penalty(model.parameters(), 1e-4)
        model.zero_grad()
        loss.backward()
        optimizer.step()
    history = nn.fit(model, X, y, loss="hinge", optimizer=nn.Adam(model.parameters(), lr=0.01),
                     epochs=2, progress=False)
    assert len(history["loss"]) == 2
    affine = Affine()
    out: Value = affine(2.0)
    return float(loss) + out.data


if __name__ == "__main__":
    print(arithmetic(), methods(Value(0.5)), backward_and_grad(), training())
