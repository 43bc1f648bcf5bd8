"""The op table: every primitive, declared once, with its forward on floats and its partials.

Vocabulary (after PyTorch's derivatives.yaml): `x`, `y` are the inputs and `out` the forward
result; a rule `partials(*inputs, out)` returns d out / d input for each input, in order.

Rules use only arithmetic and the functions of this table (exp, log, sigmoid, ...), never
`.data`, so one rule serves floats (first derivatives, the fast path) and Values (the graph of
the derivative, hence every higher order). In a rule, compare with < or >, never with ==: on
Values == is identity.

`domain` (an interval per input where the op is defined and smooth) and `kinks` (quantities
whose zeros are kinks or poles) are for the gradient checks and hypothesis strategies.
"""

from __future__ import annotations

import builtins
import functools
import math
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from . import modes
from .primitive import Primitive, constant, make_function, record
from .value import MANY, Value, to_float

TABLE: dict[str, Primitive] = {}
_new = object.__new__


def defprim(name: str, forward, partials, arity: int | None, domain=None, kinks=None, doc: str = ""):
    """Add a built-in primitive to TABLE and return its dispatching function."""
    prim = Primitive(name, forward, partials, arity, domain, kinks, doc=doc)
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
    if x < 0.0 and not y.is_integer():
        raise ValueError(f"pow: negative base {x!r} to the non-integer power {y!r} is not real")
    try:
        return x**y
    except OverflowError:
        raise OverflowError(f"pow: {x!r} ** {y!r} overflows a float") from None


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
    # Two forms so that exp never overflows: exp(-x) for x >= 0, exp(x) for x < 0.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): no overflow for any finite x.
    return (x if x > 0.0 else 0.0) + math.log1p(math.exp(-math.fabs(x)))


def _periodic(name: str, fn: Callable[[float], float]) -> Callable[[float], float]:
    def forward(x: float) -> float:
        if math.isinf(x):
            raise ValueError(f"{name} of {x!r} is undefined")
        return fn(x)

    return forward


def _relu(x: float) -> float:
    return x if x > 0.0 else 0.0


def _maximum(x: float, y: float) -> float:
    return x if x >= y else y


def _minimum(x: float, y: float) -> float:
    return x if x <= y else y


def _identity(x: float) -> float:
    return x


# ---------------------------------------------------------------------------------------------
# Named helpers for rules too long for one line.
# ---------------------------------------------------------------------------------------------


def _d_pow_d_exponent(base: Any, out: Any) -> Any:
    """d(b**y)/dy = b**y · log b; 0 at b = 0 (PyTorch's convention); NaN for b < 0 (undefined)."""
    if base > 0:
        return out * log(base)
    if base < 0:
        return math.nan
    return 0.0


def _sign(x: Any) -> float:
    """d|x|/dx: the sign of x, and 0 at the kink (PyTorch's convention)."""
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def _pick(x: Any, y: Any, first: bool) -> tuple[float, float]:
    """d max(x, y): 1 for the winner, 0 for the loser, half each on a tie (as PyTorch)."""
    if x > y:
        return (1.0, 0.0) if first else (0.0, 1.0)
    if x < y:
        return (0.0, 1.0) if first else (1.0, 0.0)
    return (0.5, 0.5)


def _dot_forward(*wxb: float) -> float:
    """sum(w_i x_i), plus b when the count is odd (the bias is the last input)."""
    n = len(wxb) // 2
    total = builtins.sum(map(operator.mul, wxb[:n], wxb[n: 2 * n]), 0.0)
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
add = defprim("add", operator.add, lambda x, y, out: (1.0, 1.0), 2, [WIDE, WIDE])
sub = defprim("sub", operator.sub, lambda x, y, out: (1.0, -1.0), 2, [WIDE, WIDE])
mul = defprim("mul", operator.mul, lambda x, y, out: (y, x), 2, [WIDE, WIDE])
div = defprim("div", _div, lambda x, y, out: (1 / y, -out / y), 2, [WIDE, WIDE],
              kinks=lambda x, y: (y,))
# x / y with IEEE 754 results at y = 0 (±inf, nan) instead of an error: what rules divide with
# where a derivative is infinite at a boundary of the domain (sqrt'(0) = inf).
quotient = defprim("quotient", _quotient, lambda x, y, out: (quotient(1.0, y), -quotient(out, y)), 2,
                   [WIDE, WIDE], kinks=lambda x, y: (y,),
                   doc="x / y with IEEE 754 results at y = 0: ±inf for x ≠ 0, nan for x = 0 or nan. "
                       "Derivatives 1/y and -x/y². Never raises (used by derivative rules).")
neg = defprim("neg", operator.neg, lambda x, out: (-1.0,), 1, [WIDE])
identity = defprim("identity", _identity, lambda x, out: (1.0,), 1, [WIDE])
# x ** y, both differentiable:   d/dx = y x^(y-1),   d/dy = x^y log x
pow = defprim("pow", _power, lambda x, y, out: (y * x ** (y - 1), _d_pow_d_exponent(x, out)), 2,
              [(0.1, 5.0), (-3.0, 3.0)])

# -- elementary functions --
exp = defprim("exp", _exp, lambda x, out: (out,), 1, [(-20.0, 20.0)])                  # e^x
log = defprim("log", _log, lambda x, out: (1 / x,), 1, [POSITIVE])                     # 1/x
sqrt = defprim("sqrt", _sqrt, lambda x, out: (0.5 / out,), 1, [POSITIVE])              # 1/(2√x)
sin = defprim("sin", _periodic("sin", math.sin), lambda x, out: (cos(x),), 1, [WIDE])
cos = defprim("cos", _periodic("cos", math.cos), lambda x, out: (-sin(x),), 1, [WIDE])
abs = defprim("abs", math.fabs, lambda x, out: (_sign(x),), 1, [WIDE], kinks=lambda x: (x,))

# -- activations --
tanh = defprim("tanh", math.tanh, lambda x, out: (1 - out * out,), 1, [WIDE])         # 1 - tanh²
sigmoid = defprim("sigmoid", _sigmoid, lambda x, out: (out * (1 - out),), 1, [WIDE])  # σ(1 - σ)
softplus = defprim("softplus", _softplus, lambda x, out: (sigmoid(x),), 1, [(-30.0, 30.0)])
relu = defprim("relu", _relu, lambda x, out: (1.0 if x > 0 else 0.0,), 1, [WIDE],
               kinks=lambda x: (x,))
maximum = defprim("maximum", _maximum, lambda x, y, out: _pick(x, y, True), 2, [WIDE, WIDE],
                  kinks=lambda x, y: (x - y,))
minimum = defprim("minimum", _minimum, lambda x, y, out: _pick(x, y, False), 2, [WIDE, WIDE],
                  kinks=lambda x, y: (x - y,))

# -- n-ary: one node for many terms --
_SUM = Primitive("sum", lambda *xs: builtins.sum(xs, 0.0),
                 lambda *xs_out: (1.0,) * (len(xs_out) - 1), None, [WIDE],
                 accumulate=_sum_accumulate)
# dot(w1..wn, x1..xn[, b]) = sum(w_i x_i) (+ b):   d/dw_i = x_i, d/dx_i = w_i, d/db = 1.
_DOT = Primitive("dot", _dot_forward, _dot_partials, None, [WIDE], accumulate=_dot_accumulate)
TABLE["sum"] = _SUM
TABLE["dot"] = _DOT


# -- families: one primitive per value of a fixed, non-differentiable parameter --


@functools.lru_cache(maxsize=1024)
def pow_const(c: float) -> Callable[[Any], Any]:
    """x ** c for a constant exponent c:   d/dx = c x^(c-1)."""
    rule = (lambda x, out: (0.0,)) if c == 0 else (lambda x, out: (c * x ** (c - 1),))
    if c.is_integer():
        domain = [WIDE]
        kinks = (lambda x: (x,)) if c < 0 else None
    else:
        domain, kinks = [POSITIVE], None
    return make_function(Primitive("pow_const", lambda x: _power(x, c), rule, 1, domain, kinks,
                                   {"exponent": c}))


@functools.lru_cache(maxsize=1024)
def const_pow(b: float) -> Callable[[Any], Any]:
    """b ** y for a constant base b:   d/dy = b^y log b."""
    if b > 0:
        domain = [WIDE]
    elif b == 0:
        domain = [(0.5, 5.0)]  # 0**y = 0 for y > 0: smooth, with derivative 0
    else:
        domain = [(0.0, 0.0)]  # b < 0: real only at integer y, differentiable in y nowhere
    return make_function(Primitive("const_pow", lambda y: _power(b, y),
                                   lambda y, out: (_d_pow_d_exponent(b, out),), 1, domain, None,
                                   {"base": b}))


@functools.lru_cache(maxsize=256)
def _leaky_relu(slope: float) -> Callable[[Any], Any]:
    """max(x, slope·x) for slope < 1:   d/dx = 1 for x > 0, slope otherwise."""
    return make_function(Primitive("leaky_relu", lambda x: x if x > 0.0 else slope * x,
                                   lambda x, out: (1.0 if x > 0 else slope,), 1, [WIDE],
                                   lambda x: (x,), {"slope": slope}))


FAMILY_EXAMPLES = [pow_const(c).primitive for c in (2.0, 3.0, -1.0, 0.5, -1.5, 1.0, 0.0)]
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
    return _leaky_relu(to_float(slope, "leaky_relu slope"))(x)


def power(x: Any, y: Any) -> Any:
    """x ** y on floats or Values; a plain-number exponent or base is a fixed parameter."""
    if isinstance(y, Value):
        if isinstance(x, Value):
            return pow(x, y)
        return const_pow(to_float(x, "pow"))(y)
    return pow_const(to_float(y, "pow"))(x)


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
    values = tuple(values)
    inputs = _as_inputs(values, "sum")
    if inputs is None or not inputs:
        return builtins.sum((to_float(v, "sum") for v in values), 0.0)
    return record(builtins.sum([v.data for v in inputs], 0.0), _SUM, inputs, MANY)


def dot(ws: Iterable[Any], xs: Iterable[Any], bias: Any = None) -> Any:
    """sum(w_i * x_i) (+ bias) as one node with every w and x (and the bias) as parents."""
    if not isinstance(ws, (tuple, list)):
        ws = tuple(ws)
    if not isinstance(xs, (tuple, list)):
        xs = tuple(xs)
    n = len(ws)
    if len(xs) != n:
        raise ValueError(f"dot: {n} weights but {len(xs)} inputs")
    inputs = (*ws, *xs) if bias is None else (*ws, *xs, bias)
    try:
        # The fast path: all Values. A plain number has no .data (AttributeError) and a NumPy
        # scalar's .data is a buffer (TypeError); both take the lifting path below. A plain loop:
        # fewer instructions than sum(map(mul, ...)) over a list of the data.
        out = 0.0
        for w, x in zip(ws, xs):  # noqa: B905 (lengths checked above)
            out += w.data * x.data
        if bias is not None:
            out += bias.data
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
Value.__array_ufunc__ = None  # NumPy scalars defer to Value's reflected operators
for _fn in (exp, log, sqrt, tanh, sigmoid, relu, leaky_relu, softplus, sin, cos, abs, maximum, minimum):
    setattr(Value, _fn.__name__, _fn)
