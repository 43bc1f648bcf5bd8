"""n-ary ops for machine learning as op-table entries: logsumexp, mean and prod (one node each),
and softmax built from the table's maximum, exp, sum and division.

logsumexp never overflows (it subtracts the largest term first) and its partials are the softmax
weights e^(x_i - out) <= 1; prod's partials are the products of the other terms, from prefix
and suffix products with no division, so they are right when terms are 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .ops import _terms, defprim, exp, maximum
from .ops import sum as sum_
from .primitive import docstring
from .value import Value, to_float

WIDE = (-10.0, 10.0)


# ---------------------------------------------------------------------------------------------
# Forward functions on floats.
# ---------------------------------------------------------------------------------------------


def _logsumexp(*xs: float) -> float:
    if not xs:
        return -math.inf  # log of an empty sum, as torch.logsumexp
    if any(x != x for x in xs):
        return math.nan
    top = max(xs)
    if math.isinf(top):
        return top  # +inf: some term is inf; -inf: every term is
    # log Σ e^x = m + log(1 + Σ_{others} e^(x - m)): each e^(x - m) <= 1, and log1p keeps the
    # digits of small others (one occurrence of the largest term contributes the 1).
    i = xs.index(top)
    rest = math.fsum(math.exp(x - top) for j, x in enumerate(xs) if j != i)
    return top + math.log1p(rest)


def _mean(*xs: float) -> float:
    n = len(xs)
    if not n:
        raise ValueError("mean of no values is undefined")
    try:
        return math.fsum(xs) / n
    except OverflowError:  # the sum overflows but the mean does not: [1e308, 1e308]
        return math.fsum(x / n for x in xs)
    except ValueError:  # fsum of inf and -inf
        return math.nan


def _prod(*xs: float) -> float:
    out = 1.0
    for x in xs:
        out *= x
    return out


# Array forms (compiled replay's NumPy backend, see `Primitive.array`): each x_i an array of the
# i-th terms of many nodes. Neither op raises; `mean` has none (its exact fsum is not NumPy's sum).


def _logsumexp_array(np: Any, *xs: Any) -> tuple[Any, None]:
    terms = np.stack(np.broadcast_arrays(*xs)).astype(float)
    top = terms.max(axis=0)  # NaN if any term is NaN
    shifted = np.exp(terms - top)
    # One occurrence of the largest term contributes the 1 of log1p, as _logsumexp.
    np.put_along_axis(shifted, terms.argmax(axis=0)[None], 0.0, axis=0)
    rest = shifted.sum(axis=0)
    return np.where(np.isinf(top), top, top + np.log1p(rest)), None


def _prod_array(np: Any, *xs: Any) -> tuple[Any, None]:
    out = np.ones(np.broadcast(*xs).shape)
    for x in xs:  # in _prod's order: the same roundings
        out = out * x
    return out, None


# ---------------------------------------------------------------------------------------------
# Rules.
# ---------------------------------------------------------------------------------------------


def _d_logsumexp(*xs_out: Any) -> tuple[Any, ...]:
    """d/dx_i = e^(x_i - out), the softmax weight of x_i, as e^(x_i - m) / Σ e^(x_j - m) with m
    the largest term (in list comprehensions, not generator expressions: from Python 3.12 on a
    generator carries an exception handler, which compiled replay refuses to trace). out itself
    may have lost its digits (logsumexp(1e308, 1e308) rounds to
    1e308, so e^(x_i - out) would be 1 and 1 instead of 1/2 and 1/2). Any m gives the same
    function, so the choice of m (a comparison) does not change the derivatives of any order."""
    xs, out = xs_out[:-1], xs_out[-1]
    top = xs[0]
    for x in xs[1:]:
        top = x if x > top else top
    if -math.inf < top < math.inf:
        weights = [exp(x - top) for x in xs]
        total = sum_(weights)  # >= 1: the largest term's weight is 1
        return tuple([w / total for w in weights])  # lists, not generators: see below
    return tuple([exp(x - out) for x in xs])  # an infinite largest term (nan for it, 0 for others) or NaN


def _d_mean(*xs_out: Any) -> tuple[Any, ...]:
    n = len(xs_out) - 1
    return (1.0 / n,) * n


def _d_prod(*xs_out: Any) -> tuple[Any, ...]:
    """d/dx_i = the product of the other terms: prefix times suffix, no division (right at zeros)."""
    xs = xs_out[:-1]
    n = len(xs)
    before: list[Any] = [None] * n  # x_0 ... x_(i-1), None for the empty product
    acc: Any = None
    for i in range(n):
        before[i] = acc
        acc = xs[i] if acc is None else acc * xs[i]
    partials: list[Any] = [None] * n
    acc = None
    for i in range(n - 1, -1, -1):
        left = before[i]
        if left is None:
            partials[i] = 1.0 if acc is None else acc
        else:
            partials[i] = left if acc is None else left * acc
        acc = xs[i] if acc is None else xs[i] * acc
    return tuple(partials)


# ---------------------------------------------------------------------------------------------
# The entries: one node with every term as a parent.
# ---------------------------------------------------------------------------------------------

_logsumexp_entry = defprim(
    "logsumexp", _logsumexp, _d_logsumexp, None, [WIDE],
    doc="logsumexp(x_1..x_n) = log(Σ e^x_i) without overflow or underflow (the largest term is taken out "
        "first): logsumexp([1e308, 1e308]) = 1e308. Partials e^(x_i - out), the softmax weights. An inf term "
        "gives inf, all -inf gives -inf, no terms gives -inf, a NaN gives NaN.",
    array=_logsumexp_array)
_mean_entry = defprim(
    "mean", _mean, _d_mean, None, [WIDE],
    doc="mean(x_1..x_n) = (Σ x_i)/n, the arithmetic mean, exactly rounded (math.fsum) and without overflow "
        "of the sum. Partials 1/n. No terms is a ValueError.")
_prod_entry = defprim(
    "prod", _prod, _d_prod, None, [WIDE],
    doc="prod(x_1..x_n): the product of the terms (1 for none; IEEE 754 overflow to ±inf, as *). Partial i: "
        "the product of the other terms, without division, so it is right when terms are 0.",
    array=_prod_array)


# ---------------------------------------------------------------------------------------------
# The functions users call: a sequence in, one node (or a list of nodes for softmax) out.
# ---------------------------------------------------------------------------------------------


def logsumexp(values: Iterable[Any]) -> Any:
    """log(Σ e^v) over the values as one node; never overflows."""
    return _logsumexp_entry(*_terms(values, "logsumexp", "values"))


def mean(values: Iterable[Any]) -> Any:
    """The mean of the values as one node."""
    return _mean_entry(*_terms(values, "mean", "values"))


def prod(values: Iterable[Any]) -> Any:
    """The product of the values as one node, with the right gradient when some are 0."""
    return _prod_entry(*_terms(values, "prod", "values"))


def softmax(values: Iterable[Any]) -> list[Any]:
    """e^(v_i) / Σ e^v as a list (floats, or Values when any input is one); never overflows.

    Computed as e^(v_i - m) / Σ e^(v_j - m) with m the largest value, so every e^(v - m) <= 1.
    With Values, m is a node of the graph, the table's maximum folded over the values (a NaN
    among them makes m, and so every weight, NaN), not a number read off them: compiled replay
    recomputes it from each call's inputs (a traced constant would overflow exp, or underflow
    every weight to 0/0, once the inputs move ~709 from it), and maximum's branch is inside its
    rule, not a comparison in user code, so a new largest value does not retrace. softmax does
    not change when every input moves by the same m, so the gradient through m is 0 in exact
    arithmetic; computed, it is a sum of terms of size s_i that cancels to a few roundings of s_i.
    (e^(v_i - logsumexp) would lose v_i - m when the values are huge: logsumexp(-1e308, -1e308)
    rounds to -1e308, which would give weights 1 and 1.)
    """
    values = _terms(values, "softmax", "values")
    if not values:
        return []
    # Numbers go on as the floats they were checked to be (a float subclass's own - is not called).
    values = [v if isinstance(v, Value) else to_float(v, "softmax") for v in values]
    numbers = [v for v in values if not isinstance(v, Value)]
    top: Any = None
    if numbers:
        top = math.nan if any(d != d for d in numbers) else max(numbers)  # max() can drop a NaN
    for v in values:
        if isinstance(v, Value):
            top = v if top is None else maximum(top, v)
    shifted = [exp(v - top) for v in values]
    total = sum_(shifted)
    return [e / total for e in shifted]


for _fn, _entry in ((logsumexp, _logsumexp_entry), (mean, _mean_entry), (prod, _prod_entry)):
    _fn.__doc__ = f"{_fn.__doc__}\n\n{docstring(_entry.primitive)}"
    _fn.primitive = _entry.primitive  # type: ignore[attr-defined]
del _fn, _entry

__all__ = ["logsumexp", "mean", "prod", "softmax"]
