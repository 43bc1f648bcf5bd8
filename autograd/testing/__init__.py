"""Tools to check derivatives: `gradcheck` compares the engine with finite differences and jvp.

Two test-only companions, imported only when asked for (hypothesis is a test dependency):

- `autograd.testing.strategies`: hypothesis strategies for each op's domain and random
  expression graphs, to property-test your own primitives;
- `autograd.testing.plugin`: chaingrad's hypothesis profiles `ci` (derandomized, no deadline,
  no example database) and `dev`. Installing chaingrad changes no other project's test runs:
  a project opts in from its own top-level `conftest.py`.

An example `conftest.py` and a test using both:

    # conftest.py
    pytest_plugins = ["autograd.testing.plugin"]   # profile `ci` when $CI is set, else `dev`

    # test_cube.py
    from hypothesis import given

    import autograd as ag
    from autograd.testing import gradcheck, strategies

    cube = ag.primitive("cube", forward=lambda x: x ** 3, partials=lambda x, out: (3 * x ** 2,))

    @given(strategies.domain_floats(cube))
    def test_cube_derivatives(x):
        assert gradcheck(cube, [x], order=2)

`pytest --hypothesis-profile=dev` overrides the automatic choice. To register the profiles
without the plugin, call `autograd.testing.plugin.register_profiles()` in the conftest.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from ..engine import gradients
from ..functional import constant_functions_expected, jvp
from ..modes import enable_grad, no_grad
from ..value import Value, to_float

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """A derivative of the engine disagrees with its finite-difference or forward-mode estimate.

    `input_index` is the input (a pair `(i, j)` for the second derivative d/dx_j of df/dx_i),
    `order` the derivative's order, `analytic` the engine's value and `numeric` the reference.
    """

    def __init__(self, message: str, input_index: int | tuple[int, int], order: int,
                 analytic: float, numeric: float) -> None:
        super().__init__(message)
        self.input_index = input_index
        self.order = order
        self.analytic = analytic
        self.numeric = numeric


def gradcheck(
    f: Callable[..., Any],
    inputs: Sequence[float | Value] | float | Value,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    order: int = 1,
    raise_exception: bool = True,
) -> bool:
    """Check the engine's derivatives of the scalar function `f` at `inputs`; True when all agree.

    Input by input, the reverse-mode gradient is compared with the central difference
    (f(x + eps·e_i) - f(x - eps·e_i)) / (2·eps), and passes when
    |analytic - numeric| <= atol + rtol·|numeric|. Forward mode (`jvp` along each e_i) must agree
    with reverse mode to the same tolerance. With `order=2` every second derivative (the Hessian
    through `gradients(..., create_graph=True)`) is also compared with the central difference of
    the gradient. A disagreement raises `GradcheckError` naming the input, the order, both values
    and both errors, or returns False when `raise_exception` is False.

    `f` is called with `Value`s (under `no_grad` for the finite differences), so it may use Value
    methods or the functions of `autograd`, and must return a Value or a number. A constant f
    (or one that does not use an input) is checked without a cut-graph warning; converting a
    Value to a number inside f (float(), math.*) still warns, as it loses a derivative.

    The defaults are PyTorch's and assume float64 arithmetic and a function of order 1 near
    `inputs`. The truncation error of the central difference is about eps²·|f'''|/6 and its
    rounding error about 1e-16·|f|/eps, so: lower `eps` (or raise `rtol`) where f curves sharply;
    raise `eps` (and `atol`) where |f| is large next to its derivatives; raise `atol` when the
    derivatives themselves are large (1e3 and more); keep every point farther than eps from a
    kink (relu, abs, max) or a domain boundary, where a finite difference is meaningless.
    """
    single = isinstance(inputs, (Value, numbers.Real))
    items: list[Any] = [inputs] if single else list(cast(Iterable[Any], inputs))
    point = [to_float(x.data if isinstance(x, Value) else x, f"gradcheck input {i}")
             for i, x in enumerate(items)]
    if not point:
        raise ValueError("gradcheck: inputs is empty; f needs at least one input to differentiate")
    if not (eps > 0.0 and math.isfinite(eps)):
        raise ValueError(f"gradcheck: eps must be a positive finite step, got {eps!r}")
    if atol < 0.0 or rtol < 0.0:
        raise ValueError(f"gradcheck: tolerances must be >= 0, got atol={atol!r}, rtol={rtol!r}")
    if order not in (1, 2):
        raise ValueError(f"gradcheck: order must be 1 or 2, got {order!r}")

    try:
        # A constant f (or one constant in an input) is checked like any other: its zero
        # derivatives are calculus here, not a graph cut by float() or math.*.
        with constant_functions_expected():
            _check_first_order(f, point, eps, atol, rtol)
            if order == 2:
                _check_second_order(f, point, eps, atol, rtol)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


# ---------------------------------------------------------------------------------------------
# The checks.
# ---------------------------------------------------------------------------------------------


def _check_first_order(f: Callable[..., Any], point: list[float], eps: float, atol: float,
                       rtol: float) -> None:
    analytic = _gradient(f, point)
    for i in range(len(point)):
        plus, minus = _shifted(point, i, eps)
        numeric = (_evaluate(f, plus, i, "+") - _evaluate(f, minus, i, "-")) / (2.0 * eps)
        _compare(analytic[i], numeric, atol, rtol, i, 1, f"df/dx{i}", "finite difference")
    for i in range(len(point)):
        direction = [1.0 if j == i else 0.0 for j in range(len(point))]
        _, forward = jvp(f, point, direction)
        _compare(float(forward), analytic[i], atol, rtol, i, 1, f"df/dx{i}",
                 "reverse mode (the analytic value is forward mode, jvp)")


def _check_second_order(f: Callable[..., Any], point: list[float], eps: float, atol: float,
                        rtol: float) -> None:
    hessian = _hessian(f, point)
    n = len(point)
    for j in range(n):
        plus, minus = _shifted(point, j, eps)
        grad_plus, grad_minus = _gradient(f, plus), _gradient(f, minus)
        for i in range(n):
            numeric = (grad_plus[i] - grad_minus[i]) / (2.0 * eps)
            _compare(hessian[i][j], numeric, atol, rtol, (i, j), 2, f"d/dx{j} (df/dx{i})",
                     "finite difference of the gradient")


def _compare(analytic: float, numeric: float, atol: float, rtol: float,
             index: int | tuple[int, int], order: int, what: str, reference: str) -> None:
    """Raise GradcheckError unless |analytic - numeric| <= atol + rtol·|numeric|."""
    abs_err = math.fabs(analytic - numeric)
    allowed = atol + rtol * math.fabs(numeric)
    if abs_err <= allowed:  # False for NaN: a NaN derivative never passes
        return
    if numeric != 0.0:
        rel_err = abs_err / math.fabs(numeric)
    else:
        rel_err = math.inf if abs_err > 0.0 else abs_err
    where = f"input {index}" if isinstance(index, int) else f"inputs {index[0]} and {index[1]}"
    raise GradcheckError(
        f"gradcheck failed at {where}, order {order} ({what}): analytic {analytic!r}, "
        f"numeric {numeric!r} ({reference}); absolute error {abs_err:.3g}, "
        f"relative error {rel_err:.3g}, allowed atol + rtol*|numeric| = {allowed:.3g}",
        index, order, analytic, numeric,
    )


# ---------------------------------------------------------------------------------------------
# Evaluations of f and of its derivatives by the engine.
# ---------------------------------------------------------------------------------------------


def _shifted(point: list[float], i: int, eps: float) -> tuple[list[float], list[float]]:
    plus, minus = list(point), list(point)
    plus[i] += eps
    minus[i] -= eps
    return plus, minus


def _evaluate(f: Callable[..., Any], point: list[float], i: int, sign: str) -> float:
    """f at `point` as a float; f is given Values under no_grad, so it may use Value methods."""
    try:
        with no_grad():
            out = f(*[Value(x) for x in point])
    except (ArithmeticError, ValueError) as err:
        raise ValueError(
            f"gradcheck: f failed at input {i} {sign} eps (inputs {point}): {err}; move the "
            f"point away from the edge of f's domain or use a smaller eps"
        ) from err
    return to_float(out.data if isinstance(out, Value) else out, "gradcheck: f's result")


def _trace(f: Callable[..., Any], point: list[float]) -> tuple[Any, list[Value]]:
    variables = [Value(x) for x in point]
    with enable_grad():
        out = f(*variables)
    if not isinstance(out, Value):
        to_float(out, "gradcheck: f's result")
    return out, variables


def _gradient(f: Callable[..., Any], point: list[float]) -> list[float]:
    out, variables = _trace(f, point)
    return [float(g) for g in gradients(out, variables)]


def _hessian(f: Callable[..., Any], point: list[float]) -> list[list[float]]:
    """The engine's second derivatives: the gradient as Values, each differentiated again."""
    out, variables = _trace(f, point)
    with enable_grad():
        first = gradients(out, variables, create_graph=True)
        # A first derivative that is a plain number (a constant partial) has second derivatives 0.
        return [[float(h) for h in gradients(g, variables)] if isinstance(g, Value) else [0.0] * len(point)
                for g in first]
