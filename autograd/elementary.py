"""The elementary and special functions of Python's `math` module (and NumPy's sinc) as op-table entries.

Each entry is declared once with `defprim`: its forward on floats (the errors a user sees for bad
input), its partial derivatives written with the table's own functions (so every order works),
its domain and kinks for the tests, and its doc. The rules follow the table's semantics
(autograd/ops.py): a NaN input gives NaN values and partials, and a derivative at a boundary of
the domain is IEEE's ±inf (through `quotient`), never an exception.

Stable forms: log1p, expm1 and hypot are math's own; atan2's and asinh's rules go through hypot,
so that no square overflows; digamma and polygamma (the derivatives of gamma and lgamma, to
every order) are computed here by recurrence, reflection and their asymptotic series.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from .ops import FAMILY_EXAMPLES, cos, defprim, exp, log, power, quotient, sqrt
from .ops import abs as ops_abs
from .piecewise import fmod, integer
from .primitive import OpFunction, Primitive, docstring, make_function
from .value import Value, to_float

WIDE = (-10.0, 10.0)
POSITIVE = (0.05, 100.0)
INSIDE_UNIT = (-0.99, 0.99)  # asin, acos, atanh: off the boundary, where the derivatives blow up

LN2, LN10 = math.log(2.0), math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
PI = math.pi


# ---------------------------------------------------------------------------------------------
# Forward functions on floats, with the errors the user sees for bad input.
# ---------------------------------------------------------------------------------------------


def _checked(name: str, fn: Callable[[float], float], domain: str) -> Callable[[float], float]:
    """math's `fn` with our messages: ValueError naming the op, the input and the domain;
    OverflowError naming the op and the input."""

    def forward(x: float) -> float:
        try:
            return fn(x)
        except ValueError:
            raise ValueError(f"{name} of {x!r}: {name} is defined only for {domain}") from None
        except OverflowError:
            raise OverflowError(f"{name} of {x!r} overflows a float") from None

    forward.__name__ = f"_{name}"
    return forward


def _cbrt_fallback(x: float) -> float:
    # Python 3.10 has no math.cbrt: |x|^(1/3) and one Newton step, which makes it accurate to
    # about an ulp (the power alone is off by a few: 27 ** (1/3) = 3.0000000000000004).
    if x == 0.0 or not math.isfinite(x):
        return x
    a = math.fabs(x)
    y = a ** (1.0 / 3.0)
    y -= (y * y * y - a) / (3.0 * y * y)
    return math.copysign(y, x)


_cbrt = getattr(math, "cbrt", _cbrt_fallback)


def _exp2_fallback(x: float) -> float:
    return 2.0**x  # Python 3.10 has no math.exp2; ** raises OverflowError as exp2 does


_exp2 = getattr(math, "exp2", _exp2_fallback)


def _square(x: float) -> float:
    out = x * x
    if out == math.inf and math.isfinite(x):
        # as x ** 2 (pow) does, rather than an inf that looks like a result
        raise OverflowError(f"square of {x!r} overflows a float")
    return out


def _sinc(x: float) -> float:
    if x == 0.0:
        return 1.0
    if math.isinf(x):
        raise ValueError(f"sinc of {x!r} is undefined (as sin of it)")
    # sin(πx) with x reduced mod 2 first (exact): πx itself rounds, and overflows for |x| > 5.7e307
    return math.sin(PI * math.fmod(x, 2.0)) / (PI * x)


def _log_base(x: float, base: float) -> float:
    if base <= 0.0:
        raise ValueError(f"log of {x!r} to base {base!r}: the base must be > 0")
    if base == 1.0:
        raise ZeroDivisionError(f"log of {x!r} to base 1.0: no logarithm has base 1 (log 1 = 0)")
    if x <= 0.0:
        raise ValueError(f"log of {x!r}: log is defined only for x > 0")
    return math.log(x) / math.log(base)


# -- digamma and polygamma --

# B_2, B_4, ..., B_20: the Bernoulli numbers of the asymptotic series.
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798,
              -174611 / 330)


_COT_DERIVATIVES: list[tuple[float, ...]] = [(0.0, 1.0)]


def _cot_derivative(n: int) -> tuple[float, ...]:
    """Coefficients (in c = cot(πx), lowest first) of the n-th derivative of cot(πx).

    d/dx cot(πx) = -π (1 + c²), so P_0 = c and P_{n+1}(c) = -π (1 + c²) P_n'(c): built up by a
    loop (no recursion) and kept.
    """
    while len(_COT_DERIVATIVES) <= n:
        previous = _COT_DERIVATIVES[-1]
        slope = [k * previous[k] for k in range(1, len(previous))]  # P_n'
        out = [0.0] * (len(slope) + 2)
        for k, a in enumerate(slope):  # times -π (1 + c²)
            out[k] -= PI * a
            out[k + 2] -= PI * a
        _COT_DERIVATIVES.append(tuple(out))
    return _COT_DERIVATIVES[n]


def _asymptotic(n: int, x: float) -> float:
    """ψ^(n)(x) for large x from its asymptotic series (error below 1e-20 for x >= 20 + 2n)."""
    inv = 1.0 / x
    inv2 = inv * inv
    if n == 0:
        total, power = math.log(x) - 0.5 * inv, 1.0
        for k, b in enumerate(_BERNOULLI, start=1):
            power *= inv2
            total -= b / (2 * k) * power
        return total
    # (-1)^(n+1) [ (n-1)!/x^n + n!/(2 x^(n+1)) + Σ B_2k (2k+n-1)!/(2k)! / x^(2k+n) ]
    power = inv**n  # 1/x^n: x >= 20, so this can only underflow (to 0), never overflow
    total = math.factorial(n - 1) * power + math.factorial(n) * 0.5 * power * inv
    factor = float(math.factorial(n - 1))  # (2k+n-1)!/(2k)! by steps
    for k, b in enumerate(_BERNOULLI, start=1):
        factor *= (2 * k + n - 2) * (2 * k + n - 1) / ((2 * k - 1) * (2 * k))
        power *= inv2
        total += b * factor * power
    return total if n % 2 else -total


def _polygamma_value(n: int, x: float) -> float:
    """ψ^(n)(x), the n-th derivative of digamma, at a real x that is not a pole (0, -1, -2, ...)."""
    if x < 0.0:
        # Reflection: ψ^(n)(x) = (-1)^n ψ^(n)(1 - x) - π d^n/dx^n cot(πx); cot(πx) from the
        # distance to the nearest integer, which is exact, so that it stays accurate near poles.
        t = x - math.floor(x + 0.5)
        c = math.cos(PI * t) / math.sin(PI * t)
        cot_n = 0.0
        for a in reversed(_cot_derivative(n)):
            cot_n = cot_n * c + a
        mirrored = _polygamma_value(n, 1.0 - x)
        return (mirrored if n % 2 == 0 else -mirrored) - PI * cot_n
    # Recurrence: ψ^(n)(x) = ψ^(n)(x + 1) - (-1)^n n! / x^(n+1), up to where the series is exact.
    threshold = 20.0 + 2 * n
    shift = 0.0
    while x < threshold:
        inv = 1.0 / x
        term = inv
        for _ in range(n):
            term *= inv  # by products: an overflow gives inf instead of raising
        shift += term
        x += 1.0
    scale = float(math.factorial(n))
    return _asymptotic(n, x) - (scale * shift if n % 2 == 0 else -scale * shift)


def _polygamma_forward(n: int) -> Callable[[float], float]:
    name = "digamma" if n == 0 else f"polygamma({n}, x)"
    what = "digamma (polygamma(0, x))" if n == 0 else name

    def forward(x: float) -> float:
        if x != x:
            return x
        if x == math.inf:
            return math.inf if n == 0 else 0.0
        if x == -math.inf or (x <= 0.0 and x == math.floor(x)):
            raise ValueError(f"{name} of {x!r}: {what} has a pole at 0 and at each negative integer")
        out = _polygamma_value(n, x)
        if math.isinf(out):
            raise OverflowError(f"{name} of {x!r} overflows a float")
        return out

    return forward


def _pole_distance(x: Any) -> Any:
    """The signed distance from x to the nearest pole of gamma (0, -1, -2, ...); 1 for x >= 0.5."""
    return x - math.floor(x + 0.5) if x < 0.5 else 1.0


# ---------------------------------------------------------------------------------------------
# Named helpers for rules too long for one line.
# ---------------------------------------------------------------------------------------------


def _one_over_sqrt_1_minus_x2(x: Any) -> Any:
    """1/√(1 - x²), as (1 - x)(1 + x) to keep digits near ±1; +inf at ±1 (asin' and -acos')."""
    return quotient(1.0, sqrt((1 - x) * (1 + x)))


def _d_atan2(y: Any, x: Any) -> tuple[Any, Any]:
    """d atan2(y, x) = (x, -y) / (x² + y²), as (x/r)/r with r = hypot(x, y): no square overflows.
    NaN at the origin, where atan2 has no derivative."""
    r = hypot(x, y)
    return quotient(quotient(x, r), r), -quotient(quotient(y, r), r)


def _d_log_base(x: Any, b: Any, out: Any) -> tuple[Any, Any]:
    """d log_b(x) = (1/(x ln b), -log_b(x)/(b ln b)); x > 0, b > 0 and b != 1 by the forward."""
    inv_ln_b = 1 / log(b)
    return inv_ln_b / x, -(out * inv_ln_b) / b


# sinc'(x) = (cos(πx) - sinc(x)) / x, which cancels near 0: there its Taylor series,
# x · Σ_k a_k x^(2k-2) with a_k = (-1)^k 2k π^(2k) / (2k+1)!, so that every order is right at 0.
_SINC_SERIES = tuple((-1) ** k * 2 * k * PI ** (2 * k) / math.factorial(2 * k + 1) for k in range(1, 11))
_SINC_SERIES_RADIUS = 0.15  # |πx| <= 0.47: ten terms reach 1e-24; outside, the cancellation is mild


def _d_sinc(x: Any, out: Any) -> Any:
    if -_SINC_SERIES_RADIUS <= x <= _SINC_SERIES_RADIUS:
        w = x * x
        acc = _SINC_SERIES[-1]
        for a in reversed(_SINC_SERIES[:-1]):
            acc = acc * w + a
        return x * acc
    return (cos(PI * fmod(x, 2.0)) - out) / x  # x mod 2 as in the forward; NaN lands here too


# ---------------------------------------------------------------------------------------------
# The entries.                                                    partial derivatives
# ---------------------------------------------------------------------------------------------

# -- trigonometric --
tan = defprim("tan", _checked("tan", math.tan, "finite x"), lambda x, out: (1 + out * out,), 1, [WIDE],
              kinks=lambda x: (cos(x),),
              doc="tan(x). Derivative 1 + tan²(x). Defined for finite x (poles at π/2 + kπ, where floats "
                  "never land exactly); tan of ±inf is a ValueError.")
asin = defprim("asin", _checked("asin", math.asin, "-1 <= x <= 1"),
               lambda x, out: (_one_over_sqrt_1_minus_x2(x),), 1, [INSIDE_UNIT],
               doc="asin(x), in [-π/2, π/2]. Derivative 1/√(1 - x²), +inf at x = ±1. Defined for -1 <= x <= "
                   "1; outside, a ValueError.")
acos = defprim("acos", _checked("acos", math.acos, "-1 <= x <= 1"),
               lambda x, out: (-_one_over_sqrt_1_minus_x2(x),), 1, [INSIDE_UNIT],
               doc="acos(x), in [0, π]. Derivative -1/√(1 - x²), -inf at x = ±1. Defined for -1 <= x <= 1; "
                   "outside, a ValueError.")
atan = defprim("atan", math.atan, lambda x, out: (1 / (1 + x * x),), 1, [WIDE],
               doc="atan(x), in (-π/2, π/2). Derivative 1/(1 + x²). Defined everywhere: atan(±inf) = ±π/2.")
atan2 = defprim("atan2", math.atan2, lambda y, x, out: _d_atan2(y, x), 2, [WIDE, WIDE],
                kinks=lambda y, x: (y if x < 0 else 1.0, x * x + y * y),  # the cut; the origin
                doc="atan2(y, x): the angle of the point (x, y), in [-π, π] (note the order: y first). "
                    "Partials x/(x² + y²) and -y/(x² + y²); NaN at the origin, where it has no derivative. "
                    "Defined everywhere (atan2(0, 0) = 0); jumps by 2π across the negative x axis.")

# -- hyperbolic --
def _d_sinh(x: Any, out: Any) -> tuple[Any]:
    return (cosh(x),)  # cosh is declared just below


sinh = defprim("sinh", _checked("sinh", math.sinh, "all x"), _d_sinh, 1, [WIDE],
               doc="sinh(x). Derivative cosh(x). OverflowError for |x| > 710.")
cosh = defprim("cosh", _checked("cosh", math.cosh, "all x"), lambda x, out: (sinh(x),), 1, [WIDE],
               doc="cosh(x). Derivative sinh(x). OverflowError for |x| > 710.")
def _d_asinh(x: Any, out: Any) -> tuple[Any]:
    return (1 / hypot(1.0, x),)  # 1/√(1 + x²) through hypot: no square to overflow


asinh = defprim("asinh", math.asinh, _d_asinh, 1, [WIDE],
                doc="asinh(x). Derivative 1/√(1 + x²) (through hypot: no overflow). Defined everywhere.")
acosh = defprim("acosh", _checked("acosh", math.acosh, "x >= 1"),
                lambda x, out: (quotient(1.0, sqrt(x - 1) * sqrt(x + 1)),), 1, [(1.01, 100.0)],
                doc="acosh(x), >= 0. Derivative 1/√(x² - 1), +inf at x = 1. Defined for x >= 1; below, a "
                    "ValueError.")
atanh = defprim("atanh", _checked("atanh", math.atanh, "-1 < x < 1 (poles at ±1)"),
                lambda x, out: (quotient(1.0, (1 - x) * (1 + x)),), 1, [INSIDE_UNIT],
                doc="atanh(x). Derivative 1/(1 - x²). Defined for -1 < x < 1; at ±1 (poles) and outside, a "
                    "ValueError, as math.atanh.")

# -- exponentials and logarithms --
log1p = defprim("log1p", _checked("log1p", math.log1p, "x > -1"), lambda x, out: (1 / (1 + x),), 1,
                [(-0.99, 100.0)],
                doc="log1p(x) = log(1 + x), accurate for small x. Derivative 1/(1 + x). Defined for x > -1; "
                    "otherwise a ValueError.")
expm1 = defprim("expm1", _checked("expm1", math.expm1, "all x"), lambda x, out: (exp(x),), 1, [(-20.0, 20.0)],
                doc="expm1(x) = e^x - 1, accurate for small x. Derivative e^x. OverflowError for x > 709.78.")
log2 = defprim("log2", _checked("log2", math.log2, "x > 0"), lambda x, out: ((1 / LN2) / x,), 1, [POSITIVE],
               doc="log2(x): the base-2 logarithm. Derivative 1/(x ln 2). Defined for x > 0; otherwise a "
                   "ValueError.")
log10 = defprim("log10", _checked("log10", math.log10, "x > 0"), lambda x, out: ((1 / LN10) / x,), 1,
                [POSITIVE],
                doc="log10(x): the base-10 logarithm. Derivative 1/(x ln 10). Defined for x > 0; otherwise a "
                    "ValueError.")
exp2 = defprim("exp2", _checked("exp2", _exp2, "all x"), lambda x, out: (out * LN2,), 1, [(-20.0, 20.0)],
               doc="exp2(x) = 2^x. Derivative 2^x ln 2. OverflowError for x >= 1024.")
log_base = defprim("log_base", _log_base, lambda x, b, out: _d_log_base(x, b, out), 2,
                   [POSITIVE, POSITIVE], kinks=lambda x, b: (b - 1,),
                   doc="log_base(x, base) = ln x / ln base (what log(x, base) records), differentiable in "
                       "both. Partials 1/(x ln b) and -log_b(x)/(b ln b). ValueError for x <= 0 or a base <= "
                       "0, ZeroDivisionError for base 1.")

# -- powers and roots --
cbrt = defprim("cbrt", _cbrt, lambda x, out: (quotient(1.0 / 3.0, out * out),), 1, [WIDE],
               kinks=lambda x: (x,),
               doc="cbrt(x): the real cube root (negative for x < 0). Derivative 1/(3 cbrt(x)²), +inf at 0. "
                   "Defined everywhere.")
square = defprim("square", _square, lambda x, out: (2.0 * x,), 1, [WIDE],
                 doc="square(x) = x². Derivative 2x. OverflowError for |x| > 1.34e154, as x ** 2.")
hypot = defprim("hypot", math.hypot, lambda x, y, out: (quotient(x, out), quotient(y, out)), 2,
                [WIDE, WIDE], kinks=lambda x, y: (x * x + y * y,),
                doc="hypot(x, y) = √(x² + y²) without overflow or underflow. Partials x/hypot and y/hypot; "
                    "NaN at the origin, where it has no derivative (a cone's tip). Defined everywhere "
                    "(hypot(inf, nan) = inf, as IEEE 754).")

# -- error and gamma functions --
erf = defprim("erf", math.erf, lambda x, out: (TWO_OVER_SQRT_PI * exp(-x * x),), 1, [WIDE],
              doc="erf(x): the error function. Derivative 2/√π e^(-x²). Defined everywhere.")
erfc = defprim("erfc", math.erfc, lambda x, out: (-TWO_OVER_SQRT_PI * exp(-x * x),), 1, [WIDE],
               doc="erfc(x) = 1 - erf(x), accurate where erf is near 1. Derivative -2/√π e^(-x²). Defined "
                   "everywhere.")
def _d_digamma(x: Any, out: Any) -> tuple[Any]:
    return (_polygamma(1)(x),)  # trigamma: the family below


digamma = defprim("digamma", _polygamma_forward(0), _d_digamma, 1, [(-3.9, 30.0)],
                  kinks=lambda x: (_pole_distance(x),),
                  doc="digamma(x) = ψ(x) = d/dx ln Γ(x). Derivative polygamma(1, x). Poles at 0 and each "
                      "negative integer (a ValueError), as lgamma's; OverflowError within 1e-308 of a pole.")
_NOT_A_POLE = "x other than 0 and the negative integers (poles)"
gamma = defprim("gamma", _checked("gamma", math.gamma, _NOT_A_POLE),
                lambda x, out: (out * digamma(x),), 1, [(-3.9, 6.0)], kinks=lambda x: (_pole_distance(x),),
                doc="gamma(x) = Γ(x). Derivative Γ(x) ψ(x). Poles at 0 and each negative integer (a "
                    "ValueError, as math.gamma); OverflowError for x > 171.6.")
lgamma = defprim("lgamma", _checked("lgamma", math.lgamma, _NOT_A_POLE),
                 lambda x, out: (digamma(x),), 1, [(-3.9, 30.0)], kinks=lambda x: (_pole_distance(x),),
                 doc="lgamma(x) = ln |Γ(x)|. Derivative ψ(x) (digamma). Poles at 0 and each negative integer "
                     "(a ValueError, as math.lgamma).")

# -- angles and sinc --
degrees = defprim("degrees", math.degrees, lambda x, out: (180.0 / PI,), 1, [WIDE],
                  doc="degrees(x): radians to degrees, x · 180/π. Derivative 180/π.")
radians = defprim("radians", math.radians, lambda x, out: (PI / 180.0,), 1, [WIDE],
                  doc="radians(x): degrees to radians, x · π/180. Derivative π/180.")
# 0 is no kink of sinc, but PyTorch's second derivative there is nan: the tests' points stay off
# it (tests/test_elementary.py checks every order at 0 against the series).
sinc = defprim("sinc", _sinc, lambda x, out: (_d_sinc(x, out),), 1, [WIDE], kinks=lambda x: (x,),
               doc="sinc(x): NumPy's normalized sinc, sin(πx)/(πx), 1 at 0. Derivative (cos(πx) - "
                   "sinc(x))/x, 0 at 0 (every order is right at 0: a series there). ValueError at ±inf, as "
                   "sin.")


# -- polygamma: a family, one primitive per order n >= 1 --


# Beyond this order n! (and ψ^(n) near any x of moderate size) overflows a float.
MAX_POLYGAMMA_ORDER = 150


@functools.lru_cache(maxsize=64)
def _polygamma(n: int) -> OpFunction:
    """ψ^(n)(x) for a fixed order n >= 1:   d/dx = ψ^(n+1)(x)."""
    if n > MAX_POLYGAMMA_ORDER:
        raise ValueError(f"polygamma: orders above {MAX_POLYGAMMA_ORDER} are not supported (asked for {n})")
    prim = Primitive("polygamma", _polygamma_forward(n), lambda x, out: (_polygamma(n + 1)(x),), 1,
                     [(-3.9, 30.0)], lambda x: (_pole_distance(x),), {"n": n},
                     doc=f"polygamma({n}, x): the derivative of order {n} of digamma. Derivative "
                          f"polygamma({n + 1}, x). Poles at 0 and each negative integer (a ValueError).")
    return make_function(prim)


FAMILY_EXAMPLES.extend(_polygamma(n).primitive for n in (1, 2))


# ---------------------------------------------------------------------------------------------
# Functions built on the entries (no calculus of their own).
# ---------------------------------------------------------------------------------------------


def polygamma(n: int, x: Any) -> Any:
    """ψ^(n)(x), the derivative of order n of digamma (n = 0: digamma), as torch.special.polygamma."""
    n = integer(n, "polygamma: the order n")
    if not 0 <= n <= MAX_POLYGAMMA_ORDER:
        raise ValueError(f"polygamma: the order n must be from 0 to {MAX_POLYGAMMA_ORDER}, got {n}")
    if not isinstance(x, Value):
        x = to_float(x, "polygamma")
    return digamma(x) if n == 0 else _polygamma(n)(x)


def log_with_base(x: Any, base: Any = None) -> Any:
    """The natural logarithm of x, or its logarithm to `base` (a number or a Value), as math.log(x, base)."""
    if base is None:
        return log(x)
    return log_base(x, base)


log_with_base.__name__ = log_with_base.__qualname__ = "log"
log_with_base.primitive = log.primitive  # type: ignore[attr-defined]  # its one-argument form's entry
log_with_base.__doc__ = (
    "log(x) = ln x, or log(x, base) = ln x / ln base (differentiable in both), as math.log.\n\n"
    + docstring(log.primitive).split("\n\n", 1)[0] + "\n\n"
    + docstring(log_base.primitive)
)

# NumPy's names for the same functions: the same objects, not new entries.
arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
arcsinh, arccosh, arctanh = asinh, acosh, atanh
rad2deg, deg2rad = degrees, radians

FUNCTIONS = (tan, asin, acos, atan, atan2, sinh, cosh, asinh, acosh, atanh, log1p, expm1, log2, log10, exp2,
             cbrt, square, hypot, erf, erfc, digamma, gamma, lgamma, degrees, radians, sinc)

__all__ = [
    "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh", "log1p", "expm1",
    "log2", "log10", "exp2", "cbrt", "square", "hypot", "erf", "erfc", "digamma", "gamma", "lgamma",
    "degrees", "radians", "sinc", "log_base", "polygamma", "log_with_base", "arcsin", "arccos", "arctan",
    "arctan2", "arcsinh", "arccosh", "arctanh", "rad2deg", "deg2rad", "fabs", "pow",
]


# ---------------------------------------------------------------------------------------------
# Methods of Value.
# ---------------------------------------------------------------------------------------------


def _polygamma_method(self: Value, n: int) -> Any:
    """ψ^(n)(self), as torch.Tensor.polygamma(n)."""
    return polygamma(n, self)


_METHODS: dict[str, Callable[..., Any]] = {fn.__name__: fn for fn in FUNCTIONS}
_METHODS["log"] = log_with_base  # log(base=None) replaces the table's unary method
_METHODS["polygamma"] = _polygamma_method
for _name, _fn in _METHODS.items():
    setattr(Value, _name, _fn)

# math's names for functions the table already has.
fabs = ops_abs
pow = power
