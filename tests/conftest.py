"""Test configuration: the hypothesis profile (`ci` under CI, `dev` otherwise) and PyTorch oracles."""

from __future__ import annotations

import functools
import math
import operator

import pytest

import autograd
from autograd import Value
from autograd.functional import constant_functions_expected
from autograd.testing import plugin

# chaingrad's hypothesis profiles, for this project's own test runs only (no global plugin).
plugin.register_profiles()


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
    # f may be constant in an input (or return a plain number): zero derivatives, not a cut graph.
    with constant_functions_expected():
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
    "pow_ieee": lambda torch, p, x, y: torch.exp(y * torch.log(x)),  # as pow, inside the domain
    "pow_const": lambda torch, p, x: torch.pow(x, p["exponent"]),
    "pow_const_ieee": lambda torch, p, x: torch.pow(x, p["exponent"]),
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
    # -- the math library (autograd/elementary.py, piecewise.py, reductions.py) --
    "tan": lambda torch, p, x: torch.tan(x),
    "asin": lambda torch, p, x: torch.asin(x),
    "acos": lambda torch, p, x: torch.acos(x),
    "atan": lambda torch, p, x: torch.atan(x),
    "atan2": lambda torch, p, y, x: torch.atan2(y, x),
    "sinh": lambda torch, p, x: torch.sinh(x),
    "cosh": lambda torch, p, x: torch.cosh(x),
    "asinh": lambda torch, p, x: torch.asinh(x),
    "acosh": lambda torch, p, x: torch.acosh(x),
    "atanh": lambda torch, p, x: torch.atanh(x),
    "log1p": lambda torch, p, x: torch.log1p(x),
    "expm1": lambda torch, p, x: torch.expm1(x),
    "log2": lambda torch, p, x: torch.log2(x),
    "log10": lambda torch, p, x: torch.log10(x),
    "exp2": lambda torch, p, x: torch.exp2(x),
    "log_base": lambda torch, p, x, b: torch.log(x) / torch.log(b),
    # torch has no cbrt: sign(x) |x|^(1/3) (x is off 0 in the domain)
    "cbrt": lambda torch, p, x: torch.sign(x) * torch.abs(x) ** (1 / 3),
    "square": lambda torch, p, x: torch.square(x),
    "hypot": lambda torch, p, x, y: torch.hypot(x, y),
    "erf": lambda torch, p, x: torch.special.erf(x),
    "erfc": lambda torch, p, x: torch.special.erfc(x),
    # lgamma, digamma and trigamma through _polygamma_family: torch's own trigamma is inaccurate.
    "digamma": lambda torch, p, x: _polygamma_family(torch).digamma(x),
    "polygamma": lambda torch, p, x: (_polygamma_family(torch).trigamma(x) if int(p["n"]) == 1
                                      else torch.special.polygamma(int(p["n"]), x)),
    # torch has no gamma: sign · exp(lgamma), the sign a constant (-1 on (-1, 0), (-3, -2), ...)
    "gamma": lambda torch, p, x: torch.exp(_polygamma_family(torch).lgamma(x)) * _gamma_sign(torch, x),
    "lgamma": lambda torch, p, x: _polygamma_family(torch).lgamma(x),
    "degrees": lambda torch, p, x: torch.rad2deg(x),
    "radians": lambda torch, p, x: torch.deg2rad(x),
    "sinc": lambda torch, p, x: torch.sinc(x),
    "sign": lambda torch, p, x: torch.sign(x),
    "floor": lambda torch, p, x: torch.floor(x),
    "ceil": lambda torch, p, x: torch.ceil(x),
    "trunc": lambda torch, p, x: torch.trunc(x),
    "round": lambda torch, p, x: torch.round(x, decimals=int(p.get("ndigits", 0))),
    "clip": lambda torch, p, x, lo, hi: torch.clamp(x, lo, hi),
    "where": lambda torch, p, c, a, b: torch.where(c > 0, a, b),
    "mod": lambda torch, p, x, y: torch.remainder(x, y),
    "floordiv": lambda torch, p, x, y: torch.div(x, y, rounding_mode="floor"),
    "fmod": lambda torch, p, x, y: torch.fmod(x, y),
    "copysign": lambda torch, p, x, y: torch.copysign(x, y),
    "logsumexp": lambda torch, p, *xs: torch.logsumexp(torch.stack(xs), 0),
    "mean": lambda torch, p, *xs: torch.stack(xs).mean(),
    # a chain of products: torch.prod's backward divides by each term, so it returns 0 when the
    # product underflows to 0 with no term 0 (x = (1, 1, 2e-48, 4e-291)).
    "prod": lambda torch, p, *xs: functools.reduce(operator.mul, xs),
}


@functools.cache
def _polygamma_family(torch):
    """lgamma, digamma and trigamma for the oracle, each differentiable to second order, whose
    derivatives never call torch.special.polygamma(1, x).

    PyTorch's trigamma (polygamma(1, x), the derivative of its digamma and so the second
    derivative of its lgamma) is accurate to only 4.9e-10 relative (measured against mpmath on
    (0.2, 20); its polygamma(2) and (3) and the engine's trigamma to 1e-15). Chained in an
    expression (gamma of gamma) that error reached 1.1e-8 of the Hessian, past the oracle's 1e-9,
    with the engine agreeing with mpmath to 1e-15. Here trigamma is the Hurwitz zeta ζ(2, x)
    (PyTorch's torch.special.zeta, accurate to 1e-15, also for x < 0), with PyTorch's
    polygamma(2, x) as its derivative: the same functions, none of them the inaccurate kernel.
    """
    special = torch.special

    class Trigamma(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return special.zeta(torch.full_like(x, 2.0), x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * special.polygamma(2, x)

    class Digamma(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return special.digamma(x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * Trigamma.apply(x)

    class Lgamma(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.lgamma(x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * Digamma.apply(x)

    class Family:
        lgamma, digamma, trigamma = Lgamma.apply, Digamma.apply, Trigamma.apply

    return Family


def _gamma_sign(torch, x):
    # Γ(x) < 0 exactly on (-1, 0), (-3, -2), ...: where floor(x) is odd and negative.
    odd = torch.remainder(torch.floor(x.detach()), 2.0) > 0
    return torch.where((x.detach() < 0) & odd, -1.0, 1.0).to(x.dtype)


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
