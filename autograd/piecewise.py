"""Piecewise and rounding ops as op-table entries: sign, floor, ceil, trunc, round, clip, where,
Python's % and // (mod, floordiv), math's fmod and copysign.

Their derivatives are 0 between the jumps (PyTorch's convention; the jumps are the entries'
`kinks`), the identity on the chosen piece (clip, where), and the exact integer quotient for the
divisor of mod and fmod. Rules follow the table's semantics (autograd/ops.py): a NaN input makes
every comparison False and lands on a NaN partial, the table's `_undefined` (nan · tanh(x)),
so that it stays NaN at every order.
"""

from __future__ import annotations

import builtins
import functools
import math
import operator
from collections.abc import Callable
from typing import Any

from .ops import FAMILY_EXAMPLES, _undefined, defprim, quotient
from .primitive import OpFunction, Primitive, docstring, make_function
from .value import Value, to_float

WIDE = (-10.0, 10.0)
NAN = math.nan


# ---------------------------------------------------------------------------------------------
# Forward functions on floats, with the errors the user sees for bad input.
# ---------------------------------------------------------------------------------------------


def _sign(x: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else x)  # x itself: ±0 or nan


def _integral(fn: Callable[[float], int]) -> Callable[[float], float]:
    """floor, ceil or trunc as a float: ±inf and nan unchanged (IEEE 754) and the sign of a zero
    kept (ceil(-0.5) = -0.0), as NumPy and PyTorch; math's versions return ints and raise there."""

    def forward(x: float) -> float:
        if not math.isfinite(x):
            return x
        out = float(fn(x))
        return math.copysign(out, x) if out == 0.0 else out

    return forward


def _round(x: float) -> float:
    return builtins.round(x, 0)  # half to even, as Python, NumPy and PyTorch; inf and nan unchanged


def _clip(x: float, lo: float, hi: float) -> float:
    if x != x or lo != lo or hi != hi:
        return NAN
    m = x if x >= lo else lo
    return m if m <= hi else hi  # min(max(x, lo), hi): hi when lo > hi, as NumPy and PyTorch


def _copysign(x: float, y: float) -> float:
    # NaN in, NaN out (the table's rule 1), where IEEE 754 would read the sign bit of a NaN y
    return y if y != y else math.copysign(x, y)


def _where(c: float, a: float, b: float) -> float:
    return a if c > 0.0 else (b if c <= 0.0 else NAN)


def _mod(x: float, y: float) -> float:
    try:
        return x % y
    except ZeroDivisionError:
        raise ZeroDivisionError(f"mod: modulo by zero ({x!r} % {y!r})") from None


def _floordiv(x: float, y: float) -> float:
    try:
        return x // y
    except ZeroDivisionError:
        raise ZeroDivisionError(f"floordiv: division by zero ({x!r} // {y!r})") from None


def _fmod(x: float, y: float) -> float:
    try:
        return math.fmod(x, y)
    except ValueError:
        what = "a zero divisor" if y == 0.0 else "an infinite dividend"
        raise ValueError(f"fmod of ({x!r}, {y!r}): fmod is undefined for {what}") from None


def _nearest_integer_distance(x: Any) -> Any:
    return x - math.floor(x + 0.5)


def _half_integer_distance(x: Any) -> Any:
    return x - math.floor(x) - 0.5


def _quotient_kinks(x: Any, y: Any) -> tuple[Any, ...]:
    """Where x % y, x // y and fmod jump: x/y an integer. The distance is scaled to units of x
    and of y, so that a finite-difference step in either input stays on one piece."""
    if not math.fabs(y) > 1e-3:
        return (y,)
    q = x / y
    frac = q - math.floor(q + 0.5)
    return (y, frac * y, frac * y * y / builtins.max(math.fabs(x), 1.0))


# ---------------------------------------------------------------------------------------------
# Named helpers for rules.
# ---------------------------------------------------------------------------------------------


def _flat(x: Any) -> Any:
    """The partial of a step function off its jumps: 0, and NaN at a NaN input."""
    return 0.0 if (x > 0 or x <= 0) else _undefined(x)


def _one(x: Any) -> Any:
    """The partial 1 of a piece that passes x through; NaN at a NaN input."""
    return 1.0 if (x > 0 or x <= 0) else _undefined(x)


def _d_clip(x: Any, lo: Any, hi: Any) -> tuple[Any, Any, Any]:
    """d min(max(x, lo), hi): 1 for whichever input is the result. x wins its ties (PyTorch's
    convention: the gradient reaches x at x = lo and x = hi); hi wins when lo > hi."""
    if x >= lo:
        if x <= hi:
            return 1.0, 0.0, 0.0
        if x > hi:
            return 0.0, 0.0, 1.0
    elif x < lo:
        if lo <= hi:
            return 0.0, 1.0, 0.0
        if lo > hi:
            return 0.0, 0.0, 1.0
    nan = _undefined(x + lo + hi)  # a NaN somewhere: NaN in every direction, at every order
    return nan, nan, nan


def _d_where(c: Any) -> tuple[Any, Any, Any]:
    """1 for the chosen branch and no gradient at all (None) for the other, so that an infinite
    partial in the unchosen branch cannot make a NaN (0 · inf) as it does in PyTorch."""
    if c > 0:
        return None, 1.0, None
    if c <= 0:
        return None, None, 1.0
    return None, _undefined(c), _undefined(c)


def _d_mod(x: Any, y: Any, out: Any) -> tuple[Any, Any]:
    """x % y = x - n y with n = floor(x/y): partials 1 and -n. n is recovered as the integer
    nearest (x - out)/y, which is exact where floor(x/y) itself can round the wrong way
    (1 % 0.1 has n = 9, while 1 / 0.1 == 10.0); the same for fmod with n = trunc(x/y)."""
    return _one(out), -round_entry(quotient(x - out, y))


def _d_copysign(x: Any, y: Any, out: Any) -> tuple[Any, Any]:
    """d |x| sign(y) / dx = out / x = ±1, and 0 at x = 0 (PyTorch's convention); 0 in y (a step)."""
    if x > 0 or x < 0:
        return quotient(out, x), _flat(out)
    return (0.0, _flat(out)) if x <= 0 else (_undefined(x), _undefined(x))


# ---------------------------------------------------------------------------------------------
# The entries.                                                    partial derivatives
# ---------------------------------------------------------------------------------------------

# -- steps and rounding: derivative 0 away from the jumps --
sign = defprim("sign", _sign, lambda x, out: (_flat(x),), 1, [WIDE], kinks=lambda x: (x,),
               doc="sign(x): 1, -1, or x itself at ±0 and NaN (NumPy's sign). Derivative 0 (also at 0, as "
                   "PyTorch); NaN at NaN.")
floor = defprim("floor", _integral(math.floor), lambda x, out: (_flat(x),), 1, [WIDE],
                kinks=lambda x: (_nearest_integer_distance(x),),
                doc="floor(x): the largest integer <= x, as a float (±inf and nan unchanged). Derivative 0 "
                    "(also at the jumps, as PyTorch). `math.floor(v)` calls it on a Value.")
ceil = defprim("ceil", _integral(math.ceil), lambda x, out: (_flat(x),), 1, [WIDE],
               kinks=lambda x: (_nearest_integer_distance(x),),
               doc="ceil(x): the smallest integer >= x, as a float (±inf and nan unchanged). Derivative 0 "
                   "(also at the jumps). `math.ceil(v)` calls it on a Value.")
trunc = defprim("trunc", _integral(math.trunc), lambda x, out: (_flat(x),), 1, [WIDE],
                kinks=lambda x: (_nearest_integer_distance(x),),
                doc="trunc(x): x rounded towards 0, as a float (±inf and nan unchanged). Derivative 0 (also "
                    "at the jumps). `math.trunc(v)` calls it on a Value.")
round_entry = defprim("round", _round, lambda x, out: (_flat(x),), 1, [WIDE],
                       kinks=lambda x: (_half_integer_distance(x),),
                       doc="round(x): x rounded to the nearest integer, halves to even (as Python, NumPy and "
                           "PyTorch), as a float; ±inf and nan unchanged. Derivative 0 (also at the jumps).")

# -- pieces: the gradient goes to the input that is the result --
clip_entry = defprim("clip", _clip, lambda x, lo, hi, out: _d_clip(x, lo, hi), 3, [WIDE, WIDE, WIDE],
                     kinks=lambda x, lo, hi: (x - lo, x - hi, lo - hi),
                     doc="clip(x, lo, hi) = min(max(x, lo), hi) (hi when lo > hi, as NumPy). Partials: 1 for "
                         "x when lo <= x <= hi (the ends included, as torch.clamp), else 1 for the bound "
                         "that is the result; NaN in any input gives NaN.")
where_entry = defprim("where", _where, lambda c, a, b, out: _d_where(c), 3, [(-1.0, 1.0), WIDE, WIDE],
                       kinks=lambda c, a, b: (c,),
                       doc="where(c, a, b): a when c > 0, else b (the table's form; `where(condition, a, b)` "
                           "takes a bool). Partial 1 for the chosen branch, none for the other and c.")

# -- Python's % and //, and math's fmod and copysign --
mod = defprim("mod", _mod, _d_mod, 2, [WIDE, WIDE], kinks=_quotient_kinks,
              doc="mod(x, y) = x % y as Python's floats (the result has the sign of y; NumPy's mod, "
                  "PyTorch's remainder). Partials 1 and -floor(x/y). ZeroDivisionError for y = 0.")
floordiv = defprim("floordiv", _floordiv, lambda x, y, out: (_flat(out), _flat(out)), 2, [WIDE, WIDE],
                   kinks=_quotient_kinks,
                   doc="floordiv(x, y) = x // y as Python's floats: floor(x/y) (NumPy's floor_divide). "
                       "Partials 0 (a step function). ZeroDivisionError for y = 0.")
fmod = defprim("fmod", _fmod, _d_mod, 2, [WIDE, WIDE], kinks=_quotient_kinks,
               doc="math.fmod(x, y) = x - trunc(x/y) y, exact (the result has the sign of x). Partials 1 and "
                   "-trunc(x/y). ValueError for y = 0 or an infinite x, as math.fmod.")
copysign = defprim("copysign", _copysign, _d_copysign, 2, [WIDE, WIDE], kinks=lambda x, y: (x, y),
                   doc="copysign(x, y): |x| with the sign of y (its sign bit, so copysign(1, -0.0) = -1), "
                       "NaN when either is NaN (where IEEE 754 and PyTorch read a NaN's sign bit). "
                       "Partials ±1 (0 at x = 0, as PyTorch) and 0.")


# -- round(x, ndigits): a family, one primitive per number of decimal digits --


@functools.lru_cache(maxsize=64)
def _round_digits(n: int) -> OpFunction:
    """x rounded to n decimal digits, as Python's round(x, n):   derivative 0."""
    scale = 10.0**n if -300 < n < 300 else 1.0  # the jumps, in units of their spacing (for tests)
    prim = Primitive("round", lambda x: builtins.round(x, n), lambda x, out: (_flat(x),), 1, [WIDE],
                     lambda x: (_half_integer_distance(x * scale),), {"ndigits": n},
                     doc=f"round(x, {n}): x rounded to {n} decimal digits, as Python's round (exact, halves "
                          f"to even). Derivative 0 (also at the jumps).")
    return make_function(prim)


FAMILY_EXAMPLES.extend(_round_digits(n).primitive for n in (2, -1))


# ---------------------------------------------------------------------------------------------
# Functions built on the entries (no calculus of their own).
# ---------------------------------------------------------------------------------------------


def round(x: Any, ndigits: int | None = None) -> Any:
    """x rounded to `ndigits` decimal digits (none: to an integer), halves to even, as a float or a Value."""
    if ndigits is None:
        return round_entry(x)
    n = integer(ndigits, "round: ndigits")
    return round_entry(x) if n == 0 else _round_digits(n)(x)


round.__doc__ = (f"{round.__doc__}\n\n" + docstring(round_entry.primitive))


def integer(n: Any, where: str) -> int:
    """`n` as an int (anything with __index__ but a bool), or a TypeError naming `where`."""
    if not isinstance(n, bool) and hasattr(type(n), "__index__"):
        try:
            return operator.index(n)
        except Exception:  # noqa: BLE001 (a failing __index__, such as an empty NumPy array's)
            pass
    text = repr(n)
    text = text if len(text) <= 60 else text[:57] + "..."
    raise TypeError(f"{where} must be an integer, got {type(n).__name__} {text}")


def _is_bool(condition: Any) -> bool:
    # Python's bool, or NumPy's (numpy.bool_) without importing NumPy.
    t = type(condition)
    return t is bool or (t.__module__ == "numpy" and t.__name__ in ("bool_", "bool"))


def where(condition: Any, a: Any, b: Any) -> Any:
    """`a` if `condition` (a bool) else `b`, as a node: the gradient goes to the chosen branch only."""
    if not _is_bool(condition):
        hint = " (compare Values with < <= > >= to get one)" if isinstance(condition, Value) else ""
        raise TypeError(f"where: the condition must be a bool{hint}, got {type(condition).__name__} "
                        f"{condition!r}")
    return where_entry(1.0 if condition else 0.0, a, b)


def clip(x: Any, lo: Any = None, hi: Any = None) -> Any:
    """min(max(x, lo), hi), as NumPy's clip and torch.clamp; a bound may be a Value, None is no bound."""
    if lo is None and hi is None:
        raise ValueError("clip: give lo, hi or both (None is no bound)")
    return clip_entry(x, -math.inf if lo is None else lo, math.inf if hi is None else hi)


clip.__doc__ = f"{clip.__doc__}\n\n" + docstring(clip_entry.primitive)
# The entries of the wrappers that take the entry's own arguments (where takes a bool instead).
round.primitive = round_entry.primitive  # type: ignore[attr-defined]
clip.primitive = clip_entry.primitive  # type: ignore[attr-defined]
where.__doc__ = f"{where.__doc__}\n\n" + docstring(where_entry.primitive)


def divmod(x: Any, y: Any) -> tuple[Any, Any]:
    """(x // y, x % y), as Python's divmod: two nodes when either is a Value."""
    x = x if isinstance(x, Value) else to_float(x, "divmod")
    y = y if isinstance(y, Value) else to_float(y, "divmod")
    try:
        return floordiv(x, y), mod(x, y)
    except ZeroDivisionError:
        raise ZeroDivisionError(f"divmod: division by zero ({_data(x)!r}, {_data(y)!r})") from None


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Value) else x


floor_divide = floordiv  # NumPy's name


# ---------------------------------------------------------------------------------------------
# Operators and methods of Value.
# ---------------------------------------------------------------------------------------------


def _reflected(fn: Callable[[Any, Any], Any]) -> Callable[[Value, Any], Any]:
    def reflected(self: Value, other: Any) -> Any:
        return fn(other, self)

    reflected.__name__ = f"r{fn.__name__}"
    return reflected


def _round_method(self: Value, ndigits: int | None = None) -> Value:
    """round(v) and round(v, n): a Value (with derivative 0), not an int as for a float."""
    return round(self, ndigits)


def _divmod_method(self: Value, other: Any) -> tuple[Value, Value]:
    return divmod(self, other)


def _rdivmod_method(self: Value, other: Any) -> tuple[Value, Value]:
    return divmod(other, self)


def _where_method(self: Value, condition: Any, other: Any) -> Value:
    """where(condition, self, other), as torch.Tensor.where."""
    return where(condition, self, other)


_METHODS: dict[str, Callable[..., Any]] = {
    "__floor__": floor, "__ceil__": ceil, "__trunc__": trunc, "__round__": _round_method,
    "__mod__": mod, "__rmod__": _reflected(mod),
    "__floordiv__": floordiv, "__rfloordiv__": _reflected(floordiv),
    "__divmod__": _divmod_method, "__rdivmod__": _rdivmod_method, "where": _where_method,
}
_METHODS.update((fn.__name__, fn) for fn in (sign, floor, ceil, trunc, round, clip, mod, floordiv, fmod,
                                             copysign))
for _name, _fn in _METHODS.items():
    setattr(Value, _name, _fn)
