"""Function transformations: `grad`, `value_and_grad`, `hessian` and forward-mode `jvp`.

Each works on plain Python functions of scalars and nests to any order: inside another
transformation the derivative is returned as a Value whose graph the outer one differentiates.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Sequence
from typing import Any

from .engine import gradients, local_partials, topological_order
from .modes import enable_grad
from .ops import identity
from .value import Value, to_float

# How many transformations are running around the current call (inner ones must keep graphs).
_depth = contextvars.ContextVar("chaingrad_transform_depth", default=0)


def _argnums(argnums: int | Sequence[int], nargs: int, where: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not -nargs <= i < nargs:
            raise IndexError(f"{where}: argnums {i} out of range for {nargs} arguments")
    return tuple(i % nargs for i in nums)


def _variable(x: Any, where: str) -> Value:
    """A fresh node to differentiate against; a Value argument stays connected to its graph."""
    if isinstance(x, Value):
        return identity(x)
    return Value(to_float(x, where))


def _trace(f: Callable[..., Any], args: tuple, nums: tuple[int, ...], where: str):
    """Call f with fresh variables at `nums`; returns (output, variables, nested)."""
    nested = _depth.get() > 0 or any(isinstance(a, Value) for a in args)
    call_args = list(args)
    for i in nums:
        call_args[i] = _variable(args[i], where)
    token = _depth.set(_depth.get() + 1)
    try:
        with enable_grad():
            out = f(*call_args)
    finally:
        _depth.reset(token)
    if not isinstance(out, Value):
        to_float(out, f"{where}: the function's result")
    return out, [call_args[i] for i in nums], nested


def _plain(x: Any, nested: bool) -> Any:
    return x if nested else float(x)


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """A function returning (f(*args), df/dargs) for a scalar function of scalar arguments."""

    @functools.wraps(f)
    def value_and_grad_f(*args: Any) -> tuple[Any, Any]:
        nums = _argnums(argnums, len(args), "grad")
        out, variables, nested = _trace(f, args, nums, "grad")
        with enable_grad():
            grads = gradients(out, variables, create_graph=nested)
        grads = tuple(_plain(g, nested) for g in grads)
        value = out.data if isinstance(out, Value) and not nested else _plain(out, nested)
        return value, (grads[0] if isinstance(argnums, int) else grads)

    return value_and_grad_f


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """A function returning df/dx (a tuple for several argnums); floats in, floats out; nests."""
    vg = value_and_grad(f, argnums)

    @functools.wraps(f)
    def grad_f(*args: Any) -> Any:
        return vg(*args)[1]

    return grad_f


def hessian(f: Callable[..., Any]) -> Callable[..., list[list[Any]]]:
    """A function returning the n×n matrix of second derivatives of f, as nested lists."""

    @functools.wraps(f)
    def hessian_f(*args: Any) -> list[list[Any]]:
        nums = tuple(range(len(args)))
        first = grad(f, nums)
        return [list(grad(lambda *a, i=i: first(*a)[i], nums)(*args)) for i in nums]

    return hessian_f


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Forward mode: (f(*primals), the derivative of f along `tangents`), from the op table.

    Tangents flow from the inputs up through the recorded graph in topological order, each node
    taking sum(partial_i · tangent_i) over its inputs.
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    nums = tuple(range(len(primals)))
    out, variables, nested = _trace(f, primals, nums, "jvp")
    if not isinstance(out, Value):
        return _plain(out, nested), 0.0
    tangent: dict[Value, Any] = {}
    for v, t in zip(variables, tangents, strict=True):
        t = t if isinstance(t, Value) else to_float(t, "jvp tangent")
        # A zero tangent contributes nothing, even through an undefined partial (0 · NaN).
        if isinstance(t, Value) or t != 0.0:
            tangent[v] = t
    with enable_grad():
        for node in topological_order(out):
            if node._prim is None or node in tangent:
                continue
            total = None
            for p, d in zip(node.parents, local_partials(node, nested), strict=True):
                t = tangent.get(p)
                if d is not None and t is not None:
                    total = d * t if total is None else total + d * t
            if total is not None:
                tangent[node] = total
    value = out if nested else out.data
    return value, _plain(tangent.get(out, 0.0), nested)


__all__ = ["grad", "value_and_grad", "hessian", "jvp"]
