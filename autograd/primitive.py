"""Primitives: how an operation on floats becomes an operation that records a graph node.

A `Primitive` holds what the op table declares (name, forward on floats, partial derivatives);
`primitive()` turns one into the function users call, which works on floats and on Values.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

from . import modes
from .value import MANY, Value, to_float

Partials = Callable[..., Sequence[Any]]

_new = object.__new__


class Primitive:
    """One entry of the op table: a name, a forward on floats and the local partial derivatives.

    Declare new ops with `primitive()`, which also checks that a rule returns one partial per
    input; the engine's hot loop trusts a Primitive built directly.

    `partials(*inputs, out)` returns one partial derivative per input (None for an input with no
    gradient). It is called with floats for first derivatives and with Values under
    `create_graph`, so it must use only arithmetic and the dispatching math functions.

    `accumulate(inputs, g)`, optional and only for n-ary ops, is backward()'s float kernel: it adds
    g * d out / d input to each input's `.grad`, reading `.data` itself. It is the same calculus
    as `partials`, fused with the accumulation so that a wide node costs one loop over its inputs
    instead of a list of their data, a call of the rule and a second loop; tests check each
    kernel against its rule.

    `array(np, *xs)`, optional, is the forward's array form for compiled replay's NumPy backend:
    given the `numpy` module (the engine never imports it) and arrays of inputs, it returns the
    forward's values elementwise and a boolean array that is True exactly where the forward on
    floats raises (None: it never raises). It is not calculus (the partials still come from
    `partials`); tests check it against `forward` on the op's domain and its error region.
    """

    __slots__ = (
        "name", "forward", "partials", "arity", "domain", "kinks", "params", "accumulate", "doc", "array",
    )

    def __init__(
        self,
        name: str,
        forward: Callable[..., float],
        partials: Partials,
        arity: int | None,
        domain: Sequence[tuple[float, float]] | None = None,
        kinks: Callable[..., Sequence[Any]] | None = None,
        params: dict[str, float] | None = None,
        accumulate: Callable[[Sequence[Value], float], None] | None = None,
        doc: str = "",
        array: Callable[..., tuple[Any, Any]] | None = None,
    ) -> None:
        self.name = name
        self.forward = forward
        self.partials = partials
        self.arity = arity  # None: any number of inputs
        # For tests and the hypothesis strategies: an interval per input where the op is defined
        # and smooth, and the quantities whose zeros are the op's kinks (where it is not smooth).
        self.domain = domain
        self.kinks = kinks
        self.params = params or {}
        self.accumulate = accumulate
        # The op's definition for users: formula, derivative, domain, errors, value at kinks.
        # Its function's docstring is generated from it (see `docstring`), so the two cannot drift.
        self.doc = doc
        self.array = array

    @property
    def display(self) -> str:
        """The op's name with its fixed parameters, as drawn in graphs: `pow_const(exponent=2)`."""
        if not self.params:
            return self.name
        inner = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.name}({inner})"

    def __repr__(self) -> str:
        return f"<primitive {self.display}>"


def docstring(prim: Primitive) -> str:
    """The docstring of `prim`'s function, generated from its table entry."""
    summary = prim.doc.strip() or f"`{prim.name}` (a user-declared primitive)."
    inputs = {None: "any number of inputs", 1: "one input", 2: "two inputs"}.get(
        prim.arity, f"{prim.arity} inputs"
    )
    return (
        f"{summary}\n\n"
        f"A primitive of the op table ({inputs}): on floats it returns a float; when any input\n"
        f"is a Value it records a node, whose derivatives of every order come from the same entry."
    )


def record(data: float, prim: Primitive, a: Any, b: Any = None) -> Value:
    """The node for `prim` with forward result `data` and inputs `a` (unary), `a, b` (binary), or
    the tuple `a` with `b=MANY` (n-ary)."""
    if modes.special:
        return _record_in_mode(data, prim, a, b)
    return _node(data, prim, a, b)


def _node(data: float, prim: Primitive | None, a: Any, b: Any) -> Value:
    """A new Value; unary and binary ops inline this (their hot path, see make_function)."""
    node = _new(Value)
    node.data = data
    node.grad = 0.0
    node._prim = prim
    node._a = a
    node._b = b
    return node


class SitedValue(Value):
    """A node made under `detect_anomaly`: a Value that also keeps the user's line that made it.

    The site lives on the node (freed with it), so anomaly mode holds no registry of nodes. A
    subclass rather than a slot of Value: an unused seventh slot would cost every node 16 bytes.
    """

    __slots__ = ("_site",)
    _site: tuple[str, int]  # (file, line) from modes.user_frame


def _record_in_mode(data: float, prim: Primitive, a: Any, b: Any) -> Value:
    if modes.is_anomaly_enabled():
        site = modes.user_frame()
        if not math.isfinite(data):
            inputs = a if b is MANY else ((a,) if b is None else (a, b))
            raise FloatingPointError(
                f"{prim.display} returned {data!r} for inputs ({', '.join(repr(p.data) for p in inputs)}) "
                f"at {modes.format_site(site)}"
            )
        if not modes.is_grad_enabled():
            return _node(data, None, None, None)
        node = _new(SitedValue)
        node.data = data
        node.grad = 0.0
        node._prim = prim
        node._a = a
        node._b = b
        node._site = site
        return node
    if not modes.is_grad_enabled():
        return _node(data, None, None, None)
    return _node(data, prim, a, b)


def constant(x: Any, where: str = "Value") -> Value:
    """A leaf holding the number `x` (how a plain number enters the graph)."""
    return _node(x if type(x) is float else to_float(x, where), None, None, None)


class OpFunction(Protocol):
    """The function of a primitive (what `make_function` returns), carrying its entry as `.primitive`."""

    primitive: Primitive
    __name__: str

    def __call__(self, *args: Any) -> Any: ...


def make_function(prim: Primitive) -> OpFunction:
    """The function users call for `prim`: floats in, float out; any Value in, a new node out."""
    forward, name, arity = prim.forward, prim.name, prim.arity
    apply: Callable[..., Any]
    if arity == 1:

        def apply_unary(x):
            if not isinstance(x, Value):
                return forward(to_float(x, name))
            data = forward(x.data)
            if modes.special:
                return _record_in_mode(data, prim, x, None)
            # record() and _node(), inlined for the two most common shapes: every op's hot path.
            node = _new(Value)
            node.data = data
            node.grad = 0.0
            node._prim = prim
            node._a = x
            node._b = None
            return node

        apply = apply_unary
    elif arity == 2:

        def apply_binary(x, y):
            if isinstance(x, Value):
                if not isinstance(y, Value):
                    y = constant(y, name)
            elif isinstance(y, Value):
                x = constant(x, name)
            else:
                return forward(to_float(x, name), to_float(y, name))
            data = forward(x.data, y.data)
            if modes.special:
                return _record_in_mode(data, prim, x, y)
            node = _new(Value)
            node.data = data
            node.grad = 0.0
            node._prim = prim
            node._a = x
            node._b = y
            return node

        apply = apply_binary
    else:

        def apply_any(*args):
            if arity is not None and len(args) != arity:
                raise TypeError(f"{name} takes {arity} inputs, got {len(args)}")
            if not any(isinstance(a, Value) for a in args):
                return forward(*[to_float(a, name) for a in args])
            inputs = tuple(a if isinstance(a, Value) else constant(a, name) for a in args)
            return record(forward(*[v.data for v in inputs]), prim, inputs, MANY)

        apply = apply_any
    apply.__name__ = apply.__qualname__ = name
    apply.__doc__ = docstring(prim)
    fn = cast(OpFunction, apply)
    fn.primitive = prim
    return fn


def primitive(
    name: str,
    forward: Callable[..., float],
    partials: Partials,
    *,
    arity: int | None = None,
    domain: Sequence[tuple[float, float]] | None = None,
    kinks: Callable[..., Sequence[Any]] | None = None,
    doc: str = "",
) -> OpFunction:
    """Declare a new primitive; returns the function that applies it to floats or Values.

    `forward` computes the result on floats; `partials(*inputs, out)` returns one partial
    derivative per input, written with arithmetic and the functions of `autograd` (never `.data`)
    so that backward, higher order, `jvp` and graph drawing all work for it.
    """
    _check_declaration(name, forward, partials, arity, kinks, doc)
    if arity is None:
        arity = _positional_arity(forward, name)

    def checked_forward(*args: float) -> float:
        return to_float(forward(*args), f"{name} (its forward result)")

    def checked_partials(*args: Any) -> Sequence[Any]:
        result = partials(*args)
        if isinstance(result, (str, bytes, Value)) or not hasattr(result, "__len__"):
            raise TypeError(f"primitive {name!r}: partials must return a sequence of {arity} "
                            f"derivatives, got {type(result).__name__}")
        result = tuple(result)
        if len(result) != arity:
            raise ValueError(
                f"primitive {name!r}: partials returned {len(result)} derivatives for {arity} inputs"
            )
        return result

    return make_function(
        Primitive(name, checked_forward, checked_partials, arity, domain, kinks, doc=doc)
    )


def _check_declaration(name: Any, forward: Any, partials: Any, arity: Any, kinks: Any, doc: Any) -> None:
    """TypeError/ValueError naming `primitive` and the argument, for a malformed declaration."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"primitive: name must be a non-empty str, got {type(name).__name__} {name!r}")
    for what, fn in (("forward", forward), ("partials", partials)):
        if not callable(fn):
            raise TypeError(f"primitive {name!r}: {what} must be callable, got {type(fn).__name__}")
    if arity is not None and (not isinstance(arity, int) or isinstance(arity, bool) or arity < 0):
        raise TypeError(f"primitive {name!r}: arity must be an int >= 0 or None, got {arity!r}")
    if kinks is not None and not callable(kinks):
        raise TypeError(f"primitive {name!r}: kinks must be callable or None, got {type(kinks).__name__}")
    if not isinstance(doc, str):
        raise TypeError(f"primitive {name!r}: doc must be a str, got {type(doc).__name__}")


def _positional_arity(fn: Callable[..., Any], name: str) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        raise TypeError(f"primitive {name!r}: the arity of forward cannot be read from its "
                        f"signature; pass arity= explicitly") from None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        raise TypeError(f"primitive {name!r}: forward takes *args; pass arity= explicitly")
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
