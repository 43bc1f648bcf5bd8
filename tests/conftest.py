"""Test configuration: the hypothesis profile (`ci` under CI, `dev` otherwise) and PyTorch oracles."""

from __future__ import annotations

import math

import pytest

import autograd
from autograd import Value
from autograd.testing import plugin


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Load the `ci` or `dev` hypothesis profile; `--hypothesis-profile=NAME` overrides it."""
    plugin.load_profile(config)


class TorchOracle:
    """PyTorch float64 as an independent oracle: the same ops, PyTorch's derivatives."""

    def __init__(self, torch) -> None:
        self.torch = torch

    def apply(self, prim, *args):
        """The PyTorch counterpart of the primitive `prim` (matched by name) applied to `args`."""
        return _torch_apply(self.torch, prim, *args)

    def derivatives(self, evaluate, point):
        """(value, gradient, Hessian) by PyTorch of `evaluate(list of tensors) -> scalar tensor`."""
        return _torch_derivatives(self.torch, evaluate, point)

    def assert_agrees(self, f, evaluate, point):
        """The engine's value, gradient and Hessian of `f` at `point` equal PyTorch's of `evaluate`."""
        ours = engine_derivatives(f, point)
        theirs = self.derivatives(evaluate, point)
        assert relative_error(ours[0], theirs[0]) <= TORCH_TOLERANCE, (ours[0], theirs[0])
        for i, (g, t) in enumerate(zip(ours[1], theirs[1], strict=True)):
            assert relative_error(g, t) <= TORCH_TOLERANCE, f"d/dx{i}: engine {g!r}, torch {t!r}"
        for i, (row, t_row) in enumerate(zip(ours[2], theirs[2], strict=True)):
            for j, (h, t) in enumerate(zip(row, t_row, strict=True)):
                assert relative_error(h, t) <= TORCH_TOLERANCE, f"d2/dx{i}dx{j}: engine {h!r}, torch {t!r}"


# |ours - torch| / max(|torch|, 1): relative for values above 1, absolute below.
TORCH_TOLERANCE = 1e-9


def relative_error(ours: float, reference: float) -> float:
    """|ours - reference| / max(|reference|, 1); NaN on either side is an infinite error."""
    if math.isnan(ours) or math.isnan(reference):
        return math.inf
    return math.fabs(ours - reference) / max(math.fabs(reference), 1.0)


def engine_derivatives(f, point):
    """(value, gradient, Hessian) by the engine: the gradient with create_graph, differentiated."""
    xs = [Value(x) for x in point]
    out = f(*xs)
    first = autograd.gradients(out, xs, create_graph=True)
    hessian = [[float(h) for h in autograd.gradients(g, xs)] for g in first]
    return float(out), [float(g) for g in first], hessian


@pytest.fixture(scope="session")
def torch_oracle() -> TorchOracle:
    """PyTorch as a derivative oracle (the test is skipped when torch is not installed)."""
    return TorchOracle(pytest.importorskip("torch"))


def _torch_dot(torch, wxb):
    # w1..wn, x1..xn, and the bias last when the count is odd.
    n = len(wxb) // 2
    total = torch.dot(torch.stack(wxb[:n]), torch.stack(wxb[n: 2 * n]))
    return total + wxb[-1] if len(wxb) % 2 else total


def _torch_apply(torch, prim, *args):
    # Plain numbers (constants of an expression) become float64 tensors.
    tensors = [a if isinstance(a, torch.Tensor) else torch.tensor(float(a), dtype=torch.float64)
               for a in args]
    name, params = prim.name, prim.params
    if name not in TORCH_OPS:
        raise KeyError(f"no PyTorch counterpart for primitive {prim.display}: add it to TORCH_OPS")
    return TORCH_OPS[name](torch, params, *tensors)


# Each entry: (torch, params, *tensors) -> tensor. softplus is written as logaddexp(x, 0) because
# torch.nn.functional.softplus switches to x itself above a threshold of 20, which is not the
# function log(1 + e^x) that the engine differentiates.
TORCH_OPS = {
    "add": lambda torch, p, x, y: x + y,
    "sub": lambda torch, p, x, y: x - y,
    "mul": lambda torch, p, x, y: x * y,
    "div": lambda torch, p, x, y: x / y,
    "quotient": lambda torch, p, x, y: x / y,
    "neg": lambda torch, p, x: -x,
    "identity": lambda torch, p, x: x * 1.0,
    # x ** y as exp(y log x) (x > 0 in the domain): torch.pow's backward masks the derivative
    # to 0 where y == 0, which also zeroes d²/dx dy there (it is 1 at x = 1, y = 0).
    "pow": lambda torch, p, x, y: torch.exp(y * torch.log(x)),
    "pow_const": lambda torch, p, x: torch.pow(x, p["exponent"]),
    "const_pow": lambda torch, p, y: torch.pow(p["base"], y),
    "exp": lambda torch, p, x: torch.exp(x),
    "log": lambda torch, p, x: torch.log(x),
    "sqrt": lambda torch, p, x: torch.sqrt(x),
    "sin": lambda torch, p, x: torch.sin(x),
    "cos": lambda torch, p, x: torch.cos(x),
    "abs": lambda torch, p, x: torch.abs(x),
    "tanh": lambda torch, p, x: torch.tanh(x),
    "sigmoid": lambda torch, p, x: torch.sigmoid(x),
    "softplus": lambda torch, p, x: torch.logaddexp(x, torch.zeros_like(x)),
    "relu": lambda torch, p, x: torch.relu(x),
    "leaky_relu": lambda torch, p, x: torch.nn.functional.leaky_relu(x, p["slope"]),
    "maximum": lambda torch, p, x, y: torch.maximum(x, y),
    "minimum": lambda torch, p, x, y: torch.minimum(x, y),
    "sum": lambda torch, p, *xs: torch.stack(xs).sum(),
    "dot": lambda torch, p, *wxb: _torch_dot(torch, wxb),
}


def _torch_derivatives(torch, evaluate, point):
    xs = [torch.tensor(float(x), dtype=torch.float64, requires_grad=True) for x in point]
    out = evaluate(xs)
    if not out.requires_grad:  # constant in every input
        n = len(point)
        return float(out.detach()), [0.0] * n, [[0.0] * n for _ in range(n)]
    first = torch.autograd.grad(out, xs, create_graph=True, allow_unused=True)
    hessian = []
    for g in first:
        if g is None or not g.requires_grad:
            hessian.append([0.0] * len(xs))
            continue
        row = torch.autograd.grad(g, xs, retain_graph=True, allow_unused=True)
        hessian.append([0.0 if h is None else float(h) for h in row])
    gradient = [0.0 if g is None else float(g.detach()) for g in first]
    return float(out.detach()), gradient, hessian
