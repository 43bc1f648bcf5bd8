"""The op table: every primitive, declared once, with its forward on floats and its partials.

Vocabulary (after PyTorch's derivatives.yaml): `x`, `y` are the inputs and `out` the forward
result; a rule `partials(*inputs, out)` returns d out / d input for each input, in order.

Rules use only arithmetic, comparisons (< <= > >=, never ==: on Values == is identity),
conditional expressions on those comparisons, numeric constants and the functions of this table
(exp, log, quotient, ...), never `.data`, `float()` or `math.*` on an input: so one rule serves
floats (first derivatives, the fast path), Values (the graph of the derivative, hence every
higher order) and symbolic placeholders (compiled replay).

Non-finite numbers and boundaries: the semantics every entry follows
------------------------------------------------------------------
1. NaN in, NaN out. An op's value is NaN when an input is NaN, unless the result does not depend
   on that input (IEEE 754 and Python: nan ** 0 = 1, 1 ** nan = 1). maximum and minimum propagate
   a NaN on either side.
2. No rule launders a NaN through a comparison. A NaN makes every comparison False, so each rule
   is written with a last branch that is NaN (`1.0 if x > 0 else (0.0 if x <= 0 else nan)`): the
   partials of relu, leaky_relu, abs, maximum, minimum and every kinked op are NaN at a NaN input.
   A partial that does not depend on an input (add's 1, mul's y with respect to x) stays finite.
3. A rule's NaN stays NaN at every order: it is written `nan * tanh(x)` (`_undefined`), whose
   derivatives are all NaN, not a constant `nan`, whose derivative would be 0.
4. Forward outside the domain raises its named error, as Python's float arithmetic and `math`
   do (where PyTorch returns NaN or inf): log of x <= 0 and sqrt of x < 0 (ValueError), division
   by zero for every x, NaN included (ZeroDivisionError), 0 to a negative power
   (ZeroDivisionError), a negative base to a non-integer power (ValueError), exp or ** of finite
   inputs overflowing (OverflowError), sin and cos of ±inf (ValueError). Otherwise infinite inputs
   follow IEEE 754: exp(inf) = inf, exp(-inf) = 0, tanh(inf) = 1, inf - inf = nan.
5. A derivative at a boundary point of the domain is what calculus and PyTorch give, never an
   exception from backward(): sqrt'(0) = inf, (x ** 0.5)'(0) = inf, (x ** 1.5)''(0) = inf. Rules
   divide with `quotient` and raise to powers with `pow_ieee` / `pow_const_ieee` (IEEE 754: ±inf
   at a pole or on overflow, nan for a negative base to a non-integer power, never an error).
   x ** y with a Value exponent at a zero base has PyTorch's first derivatives, (0, 0) at (0, 0)
   and (1, 0) at (0, 1), and the calculus of the constant exponent at higher orders.
6. Kinks take PyTorch's convention: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = slope, and
   maximum/minimum split the gradient half and half on a tie.

`domain` (an interval per input where the op is defined and smooth) and `kinks` (quantities
whose zeros are kinks or poles) are for the gradient checks and hypothesis strategies; `doc` is
the op's definition for users (its function's docstring is generated from it). `array`, for a
forward that checks its domain, is its form on NumPy arrays and where it raises (compiled
replay's NumPy backend; see `Primitive`).
"""

from __future__ import annotations

import functools
import math
import operator
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from . import modes
from .primitive import OpFunction, Primitive, constant, make_function, record
from .value import MANY, Value, to_float

TABLE: dict[str, Primitive] = {}
_new = object.__new__


def defprim(
    name: str, forward, partials, arity: int | None, domain=None, kinks=None, doc: str = "", array=None
) -> OpFunction:
    """Add a built-in primitive to TABLE and return its dispatching function."""
    prim = Primitive(name, forward, partials, arity, domain, kinks, doc=doc, array=array)
    TABLE[name] = prim
    return make_function(prim)


# ---------------------------------------------------------------------------------------------
# Forward functions on floats, with the errors the user sees for bad input.
# ---------------------------------------------------------------------------------------------


def _div(x: float, y: float) -> float:
    if y == 0.0:
        raise ZeroDivisionError(f"div: division by zero ({x!r} / {y!r})")
    return x / y


def _quotient(x: float, y: float) -> float:
    # IEEE 754 division, for derivative rules: x/0 is ±inf (signed by x and by the zero's sign),
    # 0/0 and nan/0 are nan. Python's float division raises instead.
    try:
        return x / y
    except ZeroDivisionError:
        if x != x or x == 0.0:
            return math.nan
        return math.copysign(math.inf, x) * math.copysign(1.0, y)


def _power(x: float, y: float) -> float:
    if x == 0.0 and y < 0.0:
        raise ZeroDivisionError(f"pow: 0.0 cannot be raised to the negative power {y!r}")
    if x < 0.0 and not y.is_integer() and y == y:  # a NaN exponent gives NaN, not an error
        raise ValueError(f"pow: negative base {x!r} to the non-integer power {y!r} is not real")
    try:
        return x**y
    except OverflowError:
        raise OverflowError(f"pow: {x!r} ** {y!r} overflows a float") from None


def _ieee_power(x: float, y: float) -> float:
    # IEEE 754 pow, for derivative rules: never raises. Python's float ** raises at 0 to a
    # negative power and on overflow, and returns a complex for a negative base to a fractional
    # power; IEEE gives ±inf (-inf only for -0.0 or a negative base to an odd integer) and nan.
    try:
        r = x**y
    except ZeroDivisionError:  # ±0 to a negative power: the pole
        return -math.inf if y % 2.0 == 1.0 and math.copysign(1.0, x) < 0.0 else math.inf
    except OverflowError:  # a negative base to a non-integer power overflows as a complex: nan
        if x < 0.0 and not y.is_integer():
            return math.nan
        return -math.inf if y % 2.0 == 1.0 and x < 0.0 else math.inf
    return math.nan if type(r) is complex else r


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp of {x!r} overflows a float (exp is finite for x <= 709.78)") from None


def _log(x: float) -> float:
    if x <= 0.0:
        raise ValueError(f"log of {x!r}: log is defined only for x > 0")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0.0:
        raise ValueError(f"sqrt of {x!r}: sqrt is defined only for x >= 0")
    return math.sqrt(x)


def _sigmoid(x: float) -> float:
    # Two forms so that exp never overflows: exp(-x) for x >= 0, exp(x) for x < 0 (and NaN).
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): no overflow for any finite x; NaN stays NaN.
    return (x if x > 0.0 else 0.0) + math.log1p(math.exp(-math.fabs(x)))


def _periodic(name: str, fn: Callable[[float], float]) -> Callable[[float], float]:
    def forward(x: float) -> float:
        if math.isinf(x):
            raise ValueError(f"{name} of {x!r} is undefined (no limit at infinity)")
        return fn(x)

    return forward


def _relu(x: float) -> float:
    return x if x > 0.0 else (0.0 if x <= 0.0 else x)  # the last branch: x is NaN


def _maximum(x: float, y: float) -> float:
    if x >= y:
        return x
    return y if x < y else math.nan  # neither: one of them is NaN


def _minimum(x: float, y: float) -> float:
    if x <= y:
        return x
    return y if x > y else math.nan


def _identity(x: float) -> float:
    return x


# ---------------------------------------------------------------------------------------------
# Array forms of the forwards above that check their domain (for compiled replay's NumPy
# backend, see `Primitive.array`): `form(np, *xs)` is (the forward's values elementwise, where the
# float forward raises, or None for nowhere). `np` is passed in: the engine never imports NumPy.
# ---------------------------------------------------------------------------------------------

_EXP_MAX = math.log(sys.float_info.max)  # 709.78...: math.exp overflows exactly for finite x above


def _exp_array(np: Any, x: Any) -> tuple[Any, Any]:
    return np.exp(x), (x > _EXP_MAX) & (x < math.inf)


def _sigmoid_array(np: Any, x: Any) -> tuple[Any, Any]:
    # _sigmoid's two forms with one exp: e^-|x| is exp(-x) for x >= 0 and exp(x) otherwise (and NaN).
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e)), None


def _softplus_array(np: Any, x: Any) -> tuple[Any, Any]:
    return np.where(x > 0.0, x, 0.0) + np.log1p(np.exp(-np.abs(x))), None


def _is_integer_array(np: Any, y: Any) -> Any:
    """float.is_integer elementwise: finite and equal to its floor."""
    return (np.abs(y) < math.inf) & (np.floor(y) == y)


def _np_power(np: Any, x: Any, y: Any) -> Any:
    """x ** y as Python's float ** (C's pow): np.power takes x ** 0.5 as sqrt(x), which is -0.0 at
    -0.0 and nan at -inf where pow gives 0.0 and inf."""
    out = np.power(x, y)
    half = y == 0.5
    if np.any(half):
        out = np.where(half & ((x == 0.0) | (x == -math.inf)), np.abs(x), out)
    return out


def _power_array(np: Any, x: Any, y: Any) -> tuple[Any, Any]:
    # Where _power raises: 0 to a negative power, a negative base to a non-integer power (not a
    # NaN), and finite inputs whose power overflows (x ** y, as libm's pow, gives inf there).
    out = _np_power(np, x, y)
    finite = (np.abs(x) < math.inf) & (np.abs(y) < math.inf)
    raises = (((x == 0.0) & (y < 0.0)) | ((x < 0.0) & ~_is_integer_array(np, y) & (y == y))
              | (finite & (np.abs(out) == math.inf)))
    return out, raises


def _ieee_power_array(np: Any, x: Any, y: Any) -> tuple[Any, Any]:
    return _np_power(np, x, y), None  # IEEE 754 pow, as _ieee_power: ±inf at poles and on overflow, nan


# ---------------------------------------------------------------------------------------------
# Named helpers for rules too long for one line.
# ---------------------------------------------------------------------------------------------


def _undefined(x: Any) -> Any:
    """A NaN whose derivatives of every order are NaN: nan · tanh(x). A constant nan's derivative
    would be 0, and nan · x's second one too; tanh has nonzero derivatives of every order, is
    defined everywhere and never raises."""
    return math.nan * tanh(x)


def _d_pow_d_base(x: Any, y: Any) -> Any:
    """d(x**y)/dx = y x^(y-1), in IEEE powers (inf at a pole); 0 at x = y = 0, as PyTorch."""
    if x >= 0 and x <= 0 and y >= 0 and y <= 0:  # x = y = 0, where y x^(y-1) is 0 · inf
        return 0.0
    return y * pow_ieee(x, y - 1)


def _d_pow_d_exponent(x: Any, y: Any, out: Any) -> Any:
    """d(x**y)/dy = x^y log x; 0 at x = 0 for y >= 0 (PyTorch's); NaN for x < 0 (undefined)."""
    if x > 0:
        return out * log(x)
    if x >= 0 and y >= 0:
        return 0.0
    return _undefined(x + y)


def _sign(x: Any) -> Any:
    """d|x|/dx: the sign of x, and 0 at the kink (PyTorch's convention)."""
    if x > 0:
        return 1.0
    if x < 0:
        return -1.0
    return 0.0 if x <= 0 else _undefined(x)


def _pick(x: Any, y: Any, first: bool) -> tuple[Any, Any]:
    """d max(x, y): 1 for the winner, 0 for the loser, half each on a tie (as PyTorch)."""
    if x > y:
        return (1.0, 0.0) if first else (0.0, 1.0)
    if x < y:
        return (0.0, 1.0) if first else (1.0, 0.0)
    if x <= y:
        return (0.5, 0.5)
    nan = _undefined(x + y)
    return (nan, nan)


def _sum_forward(xs: Iterable[float]) -> float:
    """x1 + x2 + ... from 0.0, left to right: builtins.sum compensates its rounding from Python 3.12
    on, which would make a sum's last digit depend on the Python version (and differ from the
    left-to-right additions that compiled replay emits)."""
    total = 0.0
    for x in xs:
        total += x
    return total


def _dot_forward(*wxb: float) -> float:
    """sum(w_i x_i), plus b when the count is odd (the bias is the last input)."""
    # A plain left-to-right loop, as dot()'s fast path on Values: builtins.sum compensates its
    # rounding from Python 3.12 on, so floats and Values would differ in the last digit.
    n = len(wxb) // 2
    total = 0.0
    for w, x in zip(wxb[:n], wxb[n: 2 * n]):  # noqa: B905 (equal halves by construction)
        total += w * x
    return total + wxb[-1] if len(wxb) % 2 else total


def _dot_partials(*wxb_out: Any) -> tuple[Any, ...]:
    """(x1..xn, w1..wn[, 1]): the partials of dot with respect to w1..wn, x1..xn[, b]."""
    n = (len(wxb_out) - 1) // 2
    if len(wxb_out) % 2:  # 2n inputs and the output: no bias
        return wxb_out[n: 2 * n] + wxb_out[:n]
    return wxb_out[n: 2 * n] + wxb_out[:n] + (1.0,)


def _dot_accumulate(wxb: Sequence[Value], g: float) -> None:
    """backward's float kernel for dot: w_i.grad += g x_i, x_i.grad += g w_i, b.grad += g."""
    n = len(wxb) // 2
    for w, x in zip(wxb[:n], wxb[n: 2 * n]):  # noqa: B905 (equal halves by construction)
        w.grad += g * x.data
        x.grad += g * w.data
    if len(wxb) % 2:
        wxb[-1].grad += g


def _sum_accumulate(xs: Sequence[Value], g: float) -> None:
    """backward's float kernel for sum: every partial is 1."""
    for x in xs:
        x.grad += g


WIDE = (-10.0, 10.0)
POSITIVE = (0.05, 100.0)

# ---------------------------------------------------------------------------------------------
# The table.                                                      partial derivatives
# ---------------------------------------------------------------------------------------------

# -- arithmetic --
add = defprim("add", operator.add, lambda x, y, out: (1.0, 1.0), 2, [WIDE, WIDE],
              doc="add: x + y. Partials 1 and 1. Defined everywhere; IEEE 754 at infinities "
                  "(inf + -inf = nan); NaN in, NaN out.")
sub = defprim("sub", operator.sub, lambda x, y, out: (1.0, -1.0), 2, [WIDE, WIDE],
              doc="sub: x - y. Partials 1 and -1. Defined everywhere; IEEE 754 at infinities "
                  "(inf - inf = nan); NaN in, NaN out.")
mul = defprim("mul", operator.mul, lambda x, y, out: (y, x), 2, [WIDE, WIDE],
              doc="mul: x * y. Partials y and x. Defined everywhere; IEEE 754 at infinities "
                  "(inf * 0 = nan, overflow gives ±inf); NaN in, NaN out.")
div = defprim("div", _div, lambda x, y, out: (1 / y, -out / y), 2, [WIDE, WIDE],
              kinks=lambda x, y: (y,),
              doc="div: x / y. Partials 1/y and -x/y². Raises ZeroDivisionError for y = 0 "
                  "(for every x, NaN included); NaN in, NaN out otherwise.",
              array=lambda np, x, y: (np.divide(x, y), y == 0.0))
# x / y with IEEE 754 results at y = 0 (±inf, nan) instead of an error: what rules divide with
# where a derivative is infinite at a boundary of the domain (sqrt'(0) = inf).
quotient: OpFunction = defprim("quotient", _quotient, lambda x, y, out: (quotient(1.0, y), -quotient(out, y)), 2,
                   [WIDE, WIDE], kinks=lambda x, y: (y,),
                   doc="quotient: x / y with IEEE 754 results at y = 0: ±inf for x ≠ 0, nan for "
                       "x = 0 or nan. Partials 1/y and -x/y². Never raises (used by derivative rules).",
                   array=lambda np, x, y: (np.divide(x, y), None))
neg = defprim("neg", operator.neg, lambda x, out: (-1.0,), 1, [WIDE],
              doc="neg: -x. Partial -1. Defined everywhere; NaN in, NaN out.")
identity = defprim("identity", _identity, lambda x, out: (1.0,), 1, [WIDE],
                   doc="identity: x itself, as a new node. Partial 1. NaN in, NaN out.")
# x ** y, both differentiable:   d/dx = y x^(y-1),   d/dy = x^y log x
pow = defprim("pow", _power, lambda x, y, out: (_d_pow_d_base(x, y), _d_pow_d_exponent(x, y, out)), 2,
              [(0.1, 5.0), (-3.0, 3.0)],
              doc="pow: x ** y, both inputs differentiable. Partials y·x^(y-1) and x^y·log x. "
                  "Raises ZeroDivisionError for x = 0, y < 0, ValueError for x < 0 with a "
                  "non-integer y, OverflowError when finite inputs overflow. At x = 0: partials "
                  "(0, 0) at y = 0, (1, 0) at y = 1, (inf, 0) for 0 < y < 1 (as PyTorch); "
                  "d/dy is NaN for x < 0 (undefined), at every order. nan ** 0 = 1 ** nan = 1; "
                  "otherwise NaN in, NaN out.",
              array=_power_array)
# x ** y in IEEE 754 (never raises): what rules raise to powers with, where a derivative is
# infinite at a boundary ((x ** 0.5)'(0) = inf) or overflows.
pow_ieee = defprim("pow_ieee", _ieee_power,
                   lambda x, y, out: (_d_pow_d_base(x, y), _d_pow_d_exponent(x, y, out)), 2,
                   [(0.1, 5.0), (-3.0, 3.0)],
                   doc="pow_ieee: x ** y with IEEE 754 results instead of errors: +inf at 0 to "
                       "a negative power (-inf for -0.0 to an odd one), ±inf on overflow, nan for "
                       "a negative base to a non-integer power. Partials as pow's. Never raises "
                       "(used by derivative rules).",
                   array=_ieee_power_array)

# -- elementary functions --
exp = defprim("exp", _exp, lambda x, out: (out,), 1, [(-20.0, 20.0)],                   # e^x
              doc="exp: e^x. Derivative e^x. Raises OverflowError for finite x > 709.78; "
                  "exp(inf) = inf, exp(-inf) = 0; NaN in, NaN out.",
              array=_exp_array)
log = defprim("log", _log, lambda x, out: (1 / x,), 1, [POSITIVE],                      # 1/x
              doc="log: the natural logarithm ln x. Derivative 1/x. Raises ValueError for "
                  "x <= 0; log(inf) = inf; NaN in, NaN out.",
              array=lambda np, x: (np.log(x), x <= 0.0))
sqrt = defprim("sqrt", _sqrt, lambda x, out: (quotient(0.5, out),), 1, [POSITIVE],     # 1/(2√x)
               doc="sqrt: √x. Derivative 1/(2√x), inf at x = 0 (as PyTorch; -inf at -0.0). "
                   "Raises ValueError for x < 0; NaN in, NaN out.",
               array=lambda np, x: (np.sqrt(x), x < 0.0))
sin = defprim("sin", _periodic("sin", math.sin), lambda x, out: (cos(x),), 1, [WIDE],
              doc="sin: sin x. Derivative cos x. Raises ValueError for x = ±inf; NaN in, NaN out.",
              array=lambda np, x: (np.sin(x), np.abs(x) == math.inf))
cos: OpFunction = defprim("cos", _periodic("cos", math.cos), lambda x, out: (-sin(x),), 1, [WIDE],
              doc="cos: cos x. Derivative -sin x. Raises ValueError for x = ±inf; NaN in, NaN out.",
              array=lambda np, x: (np.cos(x), np.abs(x) == math.inf))
abs = defprim("abs", math.fabs, lambda x, out: (_sign(x),), 1, [WIDE], kinks=lambda x: (x,),
              doc="abs: |x|. Derivative the sign of x: 1, -1, and 0 at the kink x = 0 (as "
                  "PyTorch); NaN at x = NaN. NaN in, NaN out.")

# -- activations --
tanh = defprim("tanh", math.tanh, lambda x, out: (1 - out * out,), 1, [WIDE],          # 1 - tanh²
               doc="tanh: the hyperbolic tangent. Derivative 1 - tanh²x. Defined everywhere: "
                   "tanh(±inf) = ±1 with derivative 0; NaN in, NaN out.")
sigmoid = defprim("sigmoid", _sigmoid, lambda x, out: (out * (1 - out),), 1, [WIDE],   # σ(1 - σ)
                  doc="sigmoid: σ(x) = 1/(1 + e^-x), in a form that never overflows. Derivative "
                      "σ(1 - σ). σ(inf) = 1, σ(-inf) = 0, derivative 0 there; NaN in, NaN out.",
                  array=_sigmoid_array)
softplus = defprim("softplus", _softplus, lambda x, out: (sigmoid(x),), 1, [(-30.0, 30.0)],
                   doc="softplus: log(1 + e^x), in a form that never overflows. Derivative σ(x). "
                       "softplus(inf) = inf, softplus(-inf) = 0; NaN in, NaN out.",
                   array=_softplus_array)
relu = defprim("relu", _relu, lambda x, out: (1.0 if x > 0 else (0.0 if x <= 0 else _undefined(x)),),
               1, [WIDE], kinks=lambda x: (x,),
               doc="relu: max(x, 0). Derivative 1 for x > 0, 0 for x <= 0 (0 at the kink, as "
                   "PyTorch); NaN at x = NaN. relu(nan) = nan.")
maximum = defprim("maximum", _maximum, lambda x, y, out: _pick(x, y, True), 2, [WIDE, WIDE],
                  kinks=lambda x, y: (x - y,),
                  doc="maximum: the larger of x and y. Partials 1 for the larger, 0 for the "
                      "other, 0.5 each on a tie (as PyTorch). A NaN on either side gives NaN, "
                      "with NaN partials.")
minimum = defprim("minimum", _minimum, lambda x, y, out: _pick(x, y, False), 2, [WIDE, WIDE],
                  kinks=lambda x, y: (x - y,),
                  doc="minimum: the smaller of x and y. Partials 1 for the smaller, 0 for the "
                      "other, 0.5 each on a tie (as PyTorch). A NaN on either side gives NaN, "
                      "with NaN partials.")

# -- n-ary: one node for many terms --
_SUM = Primitive("sum", lambda *xs: _sum_forward(xs),
                 lambda *xs_out: (1.0,) * (len(xs_out) - 1), None, [WIDE],
                 accumulate=_sum_accumulate,
                 doc="sum: x1 + x2 + ... + xn as one node. Every partial is 1. IEEE 754 at "
                     "infinities; NaN in, NaN out.")
# dot(w1..wn, x1..xn[, b]) = sum(w_i x_i) (+ b):   d/dw_i = x_i, d/dx_i = w_i, d/db = 1.
_DOT = Primitive("dot", _dot_forward, _dot_partials, None, [WIDE], accumulate=_dot_accumulate,
                 doc="dot: w1·x1 + ... + wn·xn (+ b) as one node. Partials x_i for w_i, w_i for "
                     "x_i, 1 for b. IEEE 754 at infinities (inf · 0 = nan); NaN in, NaN out.")
TABLE["sum"] = _SUM
TABLE["dot"] = _DOT


# -- families: one primitive per value of a fixed, non-differentiable parameter --


def _exponent_domain(c: float) -> tuple[list[tuple[float, float]], Any]:
    """Where x ** c is smooth: the line (with a pole at 0 for c < 0) for integer c, else x > 0."""
    if c.is_integer():
        return [WIDE], ((lambda x: (x,)) if c < 0 else None)
    return [POSITIVE], None


@functools.lru_cache(maxsize=1024)
def pow_const(c: float) -> OpFunction:
    """x ** c for a constant exponent c:   d/dx = c x^(c-1)."""
    if c == 0:
        rule = lambda x, out: (0.0,)  # noqa: E731 (x ** 0 = 1 for every x, NaN included)
    elif c.is_integer() and c >= 1:
        # x ** (c - 1) with a non-negative integer exponent cannot raise where x ** c did not.
        rule = lambda x, out: (c * x ** (c - 1),)  # noqa: E731
    else:
        below = pow_const_ieee(c - 1)  # inf at x = 0 for c < 1, never an error
        rule = lambda x, out: (c * below(x),)  # noqa: E731
    domain, kinks = _exponent_domain(c)
    return make_function(Primitive(
        "pow_const", lambda x: _power(x, c), rule, 1, domain, kinks, {"exponent": c},
        doc=f"pow_const(exponent={c:g}): x ** {c:g} for the constant exponent. Derivative "
            f"{c:g}·x^({c:g} - 1), inf at x = 0 where the exponent is below 1. Raises as pow: "
            f"ZeroDivisionError at x = 0 for a negative exponent, ValueError for x < 0 with a "
            f"non-integer one, OverflowError on overflow. NaN in, NaN out (nan ** 0 = 1).",
        array=lambda np, x: _power_array(np, x, c),
    ))


@functools.lru_cache(maxsize=1024)
def pow_const_ieee(c: float) -> OpFunction:
    """x ** c in IEEE 754 for a constant exponent c (for derivative rules):   d/dx = c x^(c-1)."""
    if c == 0:
        rule = lambda x, out: (0.0,)  # noqa: E731
    else:
        # The next family member is looked up when the rule runs: made eagerly, each member
        # would make the next one without end.
        rule = lambda x, out: (c * pow_const_ieee(c - 1)(x),)  # noqa: E731
    domain, kinks = _exponent_domain(c)
    return make_function(Primitive(
        "pow_const_ieee", lambda x: _ieee_power(x, c), rule, 1, domain, kinks, {"exponent": c},
        doc=f"pow_const_ieee(exponent={c:g}): x ** {c:g} with IEEE 754 results instead of errors "
            f"(inf at 0 to a negative power, ±inf on overflow, nan for x < 0 with a non-integer "
            f"exponent). Derivative {c:g}·x^({c:g} - 1). Never raises (used by derivative rules).",
        array=lambda np, x: _ieee_power_array(np, x, c),
    ))


@functools.lru_cache(maxsize=1024)
def const_pow(b: float) -> OpFunction:
    """b ** y for a constant base b:   d/dy = b^y log b."""
    if b > 0:
        domain, log_b = [WIDE], math.log(b)
        rule = lambda y, out: (out * log_b,)  # noqa: E731
    elif b == 0:
        domain = [(0.5, 5.0)]  # 0**y = 0 for y > 0: smooth, with derivative 0
        rule = lambda y, out: (0.0,)  # noqa: E731 (PyTorch's 0 at a zero base)
    else:
        domain = [(0.0, 0.0)]  # b < 0 (or NaN): real only at integer y, differentiable nowhere
        rule = lambda y, out: (_undefined(y),)  # noqa: E731 (NaN at every order)
    return make_function(Primitive(
        "const_pow", lambda y: _power(b, y), rule, 1, domain, None, {"base": b},
        doc=f"const_pow(base={b:g}): {b:g} ** y for the constant base. Derivative "
            f"{b:g}^y·log {b:g}; 0 for a zero base, NaN (at every order) for a negative one. "
            f"Raises as pow. NaN in, NaN out (1 ** nan = 1).",
        array=lambda np, y: _power_array(np, b, y),
    ))


@functools.lru_cache(maxsize=256)
def _leaky_relu(slope: float) -> OpFunction:
    """max(x, slope·x) for slope < 1:   d/dx = 1 for x > 0, slope otherwise."""
    return make_function(Primitive(
        "leaky_relu", lambda x: x if x > 0.0 else slope * x,
        lambda x, out: (1.0 if x > 0 else (slope if x <= 0 else _undefined(x)),), 1, [WIDE],
        lambda x: (x,), {"slope": slope},
        doc=f"leaky_relu(slope={slope:g}): x for x > 0, {slope:g}·x otherwise. Derivative 1 for "
            f"x > 0, {slope:g} for x <= 0 (the slope at the kink, as PyTorch); NaN at x = NaN. "
            f"NaN in, NaN out.",
    ))


FAMILY_EXAMPLES = [pow_const(c).primitive for c in (2.0, 3.0, -1.0, 0.5, -1.5, 1.0, 0.0)]
FAMILY_EXAMPLES += [pow_const_ieee(c).primitive for c in (2.0, -1.0, 0.5, -1.5, 0.0)]
FAMILY_EXAMPLES += [const_pow(b).primitive for b in (2.0, 0.5, math.e)]
FAMILY_EXAMPLES += [_leaky_relu(s).primitive for s in (0.01, 0.2)]


def all_primitives() -> list[Primitive]:
    """Every primitive of the table, with examples of each parametrized family."""
    return list(TABLE.values()) + FAMILY_EXAMPLES


# ---------------------------------------------------------------------------------------------
# Functions built on the table (no calculus of their own).
# ---------------------------------------------------------------------------------------------


def leaky_relu(x: Any, slope: float = 0.01) -> Any:
    """max(x, slope·x) on a float or a Value; the slope is a fixed parameter."""
    slope = to_float(slope, "leaky_relu slope")
    if not math.isfinite(slope):
        raise ValueError(f"leaky_relu: the slope must be finite, got {slope!r}")
    return _leaky_relu(slope)(x)


def power(x: Any, y: Any) -> Any:
    """x ** y on floats or Values; a plain-number exponent or base is a fixed parameter."""
    if isinstance(y, Value):
        if isinstance(x, Value):
            return pow(x, y)
        return const_pow(to_float(x, "pow"))(y)
    return pow_const(to_float(y, "pow"))(x)


def _terms(values: Any, where: str, what: str) -> tuple[Any, ...] | list[Any]:
    """`values` as a tuple (a list or tuple as it is), or a TypeError naming `where` and `what`."""
    if isinstance(values, (tuple, list)):
        return values
    if not isinstance(values, (str, bytes, Value)):
        try:
            return tuple(values)
        except TypeError:
            pass
    raise TypeError(f"{where}: {what} must be an iterable of numbers or Values, got "
                    f"{type(values).__name__}")


def _as_inputs(terms: Iterable[Any], where: str) -> tuple[Value, ...] | None:
    """The terms as Values (numbers become constants), or None when none is a Value."""
    terms = tuple(terms)
    if all(type(t) is Value for t in terms):
        return terms
    if not any(isinstance(t, Value) for t in terms):
        return None
    return tuple(t if isinstance(t, Value) else constant(t, where) for t in terms)


def sum(values: Iterable[Any]) -> Any:
    """The sum of many terms as one node (Python's sum() makes a chain of n nodes)."""
    values = _terms(values, "sum", "values")
    inputs = _as_inputs(values, "sum")
    if inputs is None or not inputs:
        return _sum_forward([to_float(v, "sum") for v in values])
    return record(_sum_forward([v.data for v in inputs]), _SUM, inputs, MANY)


def dot(ws: Iterable[Any], xs: Iterable[Any], bias: Any = None) -> Any:
    """sum(w_i * x_i) (+ bias) as one node with every w and x (and the bias) as parents."""
    if not isinstance(ws, (tuple, list)):
        ws = _terms(ws, "dot", "ws")
    if not isinstance(xs, (tuple, list)):
        xs = _terms(xs, "dot", "xs")
    n = len(ws)
    if len(xs) != n:
        raise ValueError(f"dot: {n} weights but {len(xs)} inputs")
    inputs = (*ws, *xs) if bias is None else (*ws, *xs, bias)
    try:
        # The fast path: all Values. It reads `_slot_data`, the `data` slot under a name only
        # Values have: a number (no such attribute), a NumPy scalar and an object that merely has
        # a float `.data` (a micrograd Value, say) all fail here and take the lifting path below,
        # which makes numbers constants and rejects the rest, at no cost per term for Values. A
        # plain loop: fewer instructions than sum(map(mul, ...)) over a list of the data.
        out = 0.0
        for w, x in zip(ws, xs):  # noqa: B905 (lengths checked above)
            out += w._slot_data * x._slot_data
        if bias is not None:
            out += bias._slot_data
    except (AttributeError, TypeError):
        out = None
    if type(out) is float and inputs:
        if modes.special:
            return record(out, _DOT, inputs, MANY)
        # record() inlined: a neuron's pre-activation is the most common node of a network.
        node = _new(Value)
        node.data = out
        node.grad = 0.0
        node._prim = _DOT
        node._a = inputs
        node._b = MANY
        return node
    lifted = _as_inputs(inputs, "dot")
    if lifted is None or not lifted:
        return _dot_forward(*[to_float(v, "dot") for v in inputs])
    return record(_dot_forward(*[v.data for v in lifted]), _DOT, lifted, MANY)


# ---------------------------------------------------------------------------------------------
# Operators and methods of Value, each mapped to its primitive.
# ---------------------------------------------------------------------------------------------


def _swap(fn: Callable[[Any, Any], Any]) -> Callable[[Value, Any], Any]:
    def reflected(self: Value, other: Any) -> Any:
        return fn(other, self)

    reflected.__name__ = f"r{fn.__name__}"
    return reflected


# Deliberate: the operators are attached here, next to their primitives, and declared for type
# checkers in value.py's TYPE_CHECKING block. mypy's method-assign forbids the pattern itself
# (the comment below turns that one check off for this file); both checkers still compare each
# function with its declaration.
# mypy: disable-error-code="method-assign"
Value.__add__ = add
Value.__radd__ = _swap(add)
Value.__sub__ = sub
Value.__rsub__ = _swap(sub)
Value.__mul__ = mul
Value.__rmul__ = _swap(mul)
Value.__truediv__ = div
Value.__rtruediv__ = _swap(div)
Value.__pow__ = power
Value.__rpow__ = _swap(power)
Value.__neg__ = neg
Value.__abs__ = abs
# The `data` slot under a second name, for dot's fast path (no memory: the same slot).
Value._slot_data = Value.__dict__["data"]  # type: ignore[attr-defined]
Value.__array_ufunc__ = None  # NumPy scalars defer to Value's reflected operators
for _fn in (exp, log, sqrt, tanh, sigmoid, relu, leaky_relu, softplus, sin, cos, abs, maximum, minimum):
    setattr(Value, _fn.__name__, _fn)
