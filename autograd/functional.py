"""Function transformations: `grad`, `value_and_grad`, `vjp`, `jacobian`, `jacfwd`, `hessian`, `jvp`.

Each works on plain Python functions of scalars and nests to any order: inside another
transformation the derivative is returned as a Value whose graph the outer one differentiates.
`argnums` follows JAX: an int, or a tuple of ints (a bool is not an int here).

Cut graphs are reported: a transformation warns when its output does not depend on an input it
differentiates, and, while it traces a function, when a Value that depends on such an input is
converted to a number (float(), math.*, NumPy), which leaves the graph.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import operator
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import FrameType
from typing import Any

from . import value as _value_module
from .engine import backprop, local_partials, topological_order
from .modes import enable_grad
from .ops import identity
from .primitive import constant
from .value import Value, parents_of, to_float

Fn = Callable[..., Any]

# How many transformations are running around the current call (inner ones must keep graphs).
_depth = contextvars.ContextVar("chaingrad_transform_depth", default=0)
# The variables being differentiated by the transformations tracing in this context, innermost
# last, each mapped to (transformation, argument index, function) for the warnings.
_traced: contextvars.ContextVar[tuple[dict[Value, tuple[str, int, Any]], ...]] = contextvars.ContextVar(
    "chaingrad_traced_variables", default=()
)
# Derivatives computed inside the outermost transformation call (None outside one): an output
# built from them may legitimately not depend on a variable (the 2nd derivative of 3x), which
# is calculus, not a cut graph.
_derived: contextvars.ContextVar[set[Value] | None] = contextvars.ContextVar(
    "chaingrad_derived_results", default=None
)

# Set by tools that check derivatives (gradcheck): there the function under test may be constant
# in an input on purpose, and a zero derivative is calculus, not a cut graph.
_constant_expected = contextvars.ContextVar("chaingrad_constant_expected", default=False)

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_LIBRARY_DIRS = (_PACKAGE_DIR, os.path.join(os.path.dirname(os.path.dirname(_PACKAGE_DIR)), "nn") + os.sep)
_inside: dict[str, tuple[bool, bool]] = {}  # file -> (inside autograd, inside autograd or nn)

_CAUSE = ("was the graph cut by float(), math.* or a NumPy function (or by reading .data)? "
          "use autograd.sin, autograd.exp, ... on Values")

# -- argument checks --


def _check_function(f: Any, where: str) -> None:
    if not callable(f):
        raise TypeError(f"{where}: expected a function to transform, got {type(f).__name__} {f!r}")


def _argnums(argnums: Any, where: str) -> tuple[tuple[int, ...], bool]:
    """JAX's rule: an int (one derivative) or a non-empty tuple or list of ints (a tuple of them)."""
    single = not isinstance(argnums, (tuple, list))
    nums = (argnums,) if single else tuple(argnums)
    if not nums:
        raise ValueError(f"{where}: argnums is empty; give the index of at least one argument")
    checked = []
    for i in nums:
        index = None
        if not isinstance(i, bool):
            try:  # an int or an integer scalar (NumPy's); a NumPy array's __index__ raises
                index = operator.index(i)
            except TypeError:
                pass
        if index is None:
            raise TypeError(
                f"{where}: argnums must be an int or a tuple of ints, got {type(i).__name__} {i!r}"
                + (" (a bool is not an argument index)" if isinstance(i, bool) else "")
            )
        checked.append(index)
    return tuple(checked), single


def _positions(nums: tuple[int, ...], nargs: int, where: str) -> tuple[int, ...]:
    for i in nums:
        if not -nargs <= i < nargs:
            raise ValueError(f"{where}: argnums {i} is out of range for {nargs} positional arguments")
    return tuple(i % nargs for i in nums)


def _variable(x: Any, where: str) -> Value:
    """A fresh node to differentiate against; a Value argument stays connected to its graph."""
    if isinstance(x, Value):
        return identity(x)
    return Value(to_float(x, where))


# -- tracing --


@contextlib.contextmanager
def _transform_call() -> Iterator[None]:
    """One call of a transformation; the outermost in this context owns the derived results."""
    if _derived.get() is not None:
        yield
        return
    token = _derived.set(set())
    try:
        yield
    finally:
        _derived.reset(token)


_active = 0  # transformations tracing anywhere, in any thread: the conversion hook is on meanwhile
_lock = threading.Lock()


def _hook_on() -> None:
    global _active
    with _lock:
        _active += 1
        _value_module.conversion_hook = _on_conversion


def _hook_off() -> None:
    global _active
    with _lock:
        _active -= 1
        if _active == 0:
            _value_module.conversion_hook = None


def _trace(
    f: Fn, args: tuple, kwargs: dict, positions: Sequence[int], where: str, has_aux: bool
) -> tuple[Any, dict[int, Value], bool, Any]:
    """Call f with fresh variables at `positions`: (output, {position: variable}, nested, aux)."""
    nested = (
        _depth.get() > 0
        or any(isinstance(a, Value) for a in args)
        or any(isinstance(a, Value) for a in kwargs.values())
    )
    call_args = list(args)
    variables: dict[int, Value] = {}
    for i in positions:
        if i not in variables:
            variables[i] = call_args[i] = _variable(args[i], f"{where}: argument {i}")
    traced = {v: (where, i, f) for i, v in variables.items()}
    token = _depth.set(_depth.get() + 1)
    traced_token = _traced.set((*_traced.get(), traced))
    _hook_on()
    try:
        with enable_grad():
            result = f(*call_args, **kwargs)
    finally:
        _hook_off()
        _traced.reset(traced_token)
        _depth.reset(token)
    aux = None
    if has_aux:
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise TypeError(
                f"{where}: with has_aux=True the function must return a pair (output, aux), "
                f"got {type(result).__name__}"
            )
        result, aux = result
    return result, variables, nested, aux


def _scalar_output(out: Any, where: str) -> None:
    if not isinstance(out, Value):
        to_float(out, f"{where}: the function's result")


def _outputs(out: Any, where: str) -> tuple[list[Any], bool]:
    """f's output as a list, and whether it was one scalar (rather than a sequence of them)."""
    if isinstance(out, Value) or not isinstance(out, (tuple, list)):
        _scalar_output(out, where)
        return [out], True
    for i, o in enumerate(out):
        if not isinstance(o, Value):
            to_float(o, f"{where}: output {i} of the function")
    return list(out), False


def _result(x: Any, nested: bool) -> Any:
    """A derivative as returned: a float at top level; inside another transformation a Value,
    remembered as a derivative (its graph may legitimately not reach the outer variables)."""
    if not nested:
        return float(x.data) if isinstance(x, Value) else float(x)
    if not isinstance(x, Value):
        x = constant(x)
    derived = _derived.get()
    if derived is not None:
        derived.add(x)
    return x


def _concrete(x: Any) -> Any:
    """aux with its Values as floats (at top level, as JAX returns concrete values)."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, (tuple, list)):
        return type(x)(_concrete(i) for i in x) if type(x) in (tuple, list) else x
    if type(x) is dict:
        return {k: _concrete(v) for k, v in x.items()}
    return x


def mark_derived(values: Iterable[Any]) -> None:
    """Remember Values that are derivatives (from `gradients(create_graph=True)` inside a transform)."""
    derived = _derived.get()
    if derived is not None:
        derived.update(v for v in values if isinstance(v, Value))


# -- the cut-graph warnings --


def _where_is(filename: str) -> tuple[bool, bool]:
    known = _inside.get(filename)
    if known is None:
        path = os.path.abspath(filename)
        known = _inside[filename] = (path.startswith(_PACKAGE_DIR), path.startswith(_LIBRARY_DIRS))
    return known


def _warn_at_caller(message: str) -> None:
    """A UserWarning at the first frame outside this package (once per call site, as warnings do)."""
    frame: FrameType | None = sys._getframe(1)
    level = 2
    while frame is not None and _where_is(frame.f_code.co_filename)[0]:
        frame = frame.f_back
        level += 1
    warnings.warn(message, UserWarning, stacklevel=level)


def _describe(where: str, i: int, f: Any) -> str:
    name = None
    try:
        params = [p for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if i < len(params):
            name = params[i].name
    except (TypeError, ValueError):
        pass
    return f"argument {i}" + (f" ({name})" if name else "")


def _function_name(f: Any) -> str:
    return getattr(f, "__name__", None) or type(f).__name__


@contextlib.contextmanager
def constant_functions_expected() -> Iterator[None]:
    """A context in which an output that does not depend on an input (or is a plain number) draws
    no cut-graph warning: for tools that check derivatives of functions that may be constant.

    Converting a traced Value to a number still warns: that loses a derivative that exists.
    """
    token = _constant_expected.set(True)
    try:
        yield
    finally:
        _constant_expected.reset(token)


def _warn_unreached(where: str, f: Any, outs: list[Any], unreached: list[tuple[int, Value]]) -> None:
    """Warn for each variable no output depends on, unless the outputs are derivatives."""
    if _constant_expected.get():
        return
    values = [o for o in outs if isinstance(o, Value)]
    if values:
        reach: set[Value] = set()
        for o in values:
            reach.update(topological_order(o))
        unreached = [(i, v) for i, v in unreached if v not in reach]  # reached with no gradient
        derived = _derived.get()
        if not unreached or (derived and not reach.isdisjoint(derived)):
            return
    name = _function_name(f)
    for i, _ in unreached:
        arg = _describe(where, i, f)
        if values:
            text = f"{where}: the output of {name} does not depend on {arg}, so its derivative is 0"
        else:
            kind = f"a plain number ({type(outs[0]).__name__})" if len(outs) == 1 else "plain numbers"
            text = f"{where}: {name} returned {kind}, not a Value, so its derivative in {arg} is 0"
        _warn_at_caller(f"{text}; {_CAUSE}")


def warn_cut_output(where: str, out: Any) -> None:
    """`gradients` with an output that is a plain number: every gradient is 0."""
    if _constant_expected.get():
        return
    _warn_at_caller(
        f"{where}: the output is a plain number ({type(out).__name__}), not a Value, so it depends on no "
        f"input and every gradient is 0; {_CAUSE}"
    )


def _on_conversion(node: Value) -> None:
    """Value.__float__/__int__ while a transformation traces: warn if this cuts a variable's graph."""
    stack = _traced.get()
    if not stack:
        return
    try:
        caller = sys._getframe(2)  # this hook <- Value.__float__ <- the code converting
    except ValueError:  # no Python caller
        return
    if _where_is(caller.f_code.co_filename)[1]:
        return  # the engine's and nn's own conversions are deliberate
    found = _depends_on(node, stack)
    if found is None:
        return
    where, i, f = found
    site = f"{caller.f_code.co_filename}:{caller.f_lineno}"
    warnings.warn(
        f"{where}: converting a Value that depends on {_describe(where, i, f)} of {_function_name(f)} "
        f"to a number (at {site}) cuts the graph: the derivative through it is lost; {_CAUSE} (if the "
        f"number only steers control flow or is printed, ignore this)",
        UserWarning,
        stacklevel=3,
    )


def _depends_on(node: Value, stack: tuple[dict[Value, tuple[str, int, Any]], ...]) -> Any:
    """The description of a traced variable the node depends on, or None (iterative search)."""
    targets = stack[0] if len(stack) == 1 else {k: v for d in stack for k, v in d.items()}
    seen: set[Value] = set()
    todo = [node]
    while todo:
        n = todo.pop()
        found = targets.get(n)
        if found is not None:
            return found
        if n in seen or n._prim is None:
            continue
        seen.add(n)
        todo.extend(parents_of(n))
    return None


# -- reverse mode --


def _reverse(out: Any, variables: Sequence[Value], nested: bool) -> tuple[list[Any], list[int]]:
    """d out / d variable for each variable (0.0 where unreached), and the unreached indices."""
    if not isinstance(out, Value):
        return [0.0] * len(variables), list(range(len(variables)))
    with enable_grad():
        grads = backprop(out, 1.0, nested)
    result, unreached = [], []
    for k, v in enumerate(variables):
        g = grads.get(v)
        if g is None:
            unreached.append(k)
            g = 0.0
        result.append(g)
    return result, unreached


def _value_and_grad(
    f: Fn, argnums: Any, has_aux: bool, where: str
) -> Callable[..., tuple[Any, Any]]:
    _check_function(f, where)
    nums, single = _argnums(argnums, where)

    @functools.wraps(f)
    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        positions = _positions(nums, len(args), where)
        with _transform_call():
            out, variables, nested, aux = _trace(f, args, kwargs, positions, where, has_aux)
            _scalar_output(out, where)
            order = list(variables)
            grads, unreached = _reverse(out, [variables[i] for i in order], nested)
            if unreached:
                _warn_unreached(where, f, [out], [(order[k], variables[order[k]]) for k in unreached])
            by_position = {i: _result(g, nested) for i, g in zip(order, grads, strict=True)}
        gradient = by_position[positions[0]] if single else tuple(by_position[i] for i in positions)
        value = out if nested else (out.data if isinstance(out, Value) else float(out))
        if has_aux:
            return (value, aux if nested else _concrete(aux)), gradient
        return value, gradient

    return value_and_grad_f


def value_and_grad(
    f: Fn, argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., tuple[Any, Any]]:
    """A function returning (f(*args), df/dargs); with has_aux, f returns (value, aux) and this
    returns ((value, aux), df/dargs). Keyword arguments are passed to f, not differentiated."""
    return _value_and_grad(f, argnums, has_aux, "value_and_grad")


def grad(f: Fn, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Fn:
    """A function returning df/dx (a tuple for a tuple of argnums; with has_aux, (df/dx, aux));
    floats in, floats out; nests to any order."""
    vg = _value_and_grad(f, argnums, has_aux, "grad")

    @functools.wraps(f)
    def grad_f(*args: Any, **kwargs: Any) -> Any:
        value, gradient = vg(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return grad_f


def vjp(f: Fn, *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """JAX's vjp: (f(*primals), vjp_fn), where vjp_fn(cotangent) is the tuple of
    cotangent · d f / d primal_i, one per primal (reverse mode; vjp_fn can be called many times).

    f returns a Value or a sequence of Values; the cotangent is a number or a sequence like it.
    With has_aux, f returns (output, aux) and this returns (output, vjp_fn, aux).
    """
    _check_function(f, "vjp")
    with _transform_call():
        out, variables, nested, aux = _trace(f, primals, {}, range(len(primals)), "vjp", has_aux)
        outs, single = _outputs(out, "vjp")
        reach: set[Value] = set()
        for o in outs:
            if isinstance(o, Value):
                reach.update(topological_order(o))
        _warn_unreached("vjp", f, outs, [(i, v) for i, v in variables.items() if v not in reach])
    leaves = [variables[i] for i in range(len(primals))]

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        if single:
            cts = [cotangent]
        elif isinstance(cotangent, (tuple, list)) and len(cotangent) == len(outs):
            cts = list(cotangent)
        else:
            raise TypeError(f"vjp_fn: expected a sequence of {len(outs)} cotangents (one per output), "
                            f"got {type(cotangent).__name__}")
        for k, ct in enumerate(cts):
            if not isinstance(ct, Value):
                to_float(ct, "vjp_fn: the cotangent" if single else f"vjp_fn: cotangent {k}")
        create = nested or any(isinstance(ct, Value) for ct in cts)
        total: list[Any] = [None] * len(leaves)
        with enable_grad():
            for o, ct in zip(outs, cts, strict=True):
                if not isinstance(o, Value):
                    continue
                grads = backprop(o, ct if create or not isinstance(ct, Value) else ct.data, create)
                for k, v in enumerate(leaves):
                    g = grads.get(v)
                    if g is not None:
                        total[k] = g if total[k] is None else total[k] + g
        return tuple(_result(0.0 if g is None else g, create) for g in total)

    value = out if nested else (float(out.data if isinstance(out, Value) else out) if single
                                else [o.data if isinstance(o, Value) else float(o) for o in outs])
    if has_aux:
        return value, vjp_fn, (aux if nested else _concrete(aux))
    return value, vjp_fn


def _shape(rows: list[list[Any]], single_out: bool, single_arg: bool) -> Any:
    shaped = [row[0] if single_arg else row for row in rows]
    return shaped[0] if single_out else shaped


def _jacobian(f: Fn, argnums: Any, has_aux: bool, where: str, forward: bool) -> Fn:
    _check_function(f, where)
    nums, single_arg = _argnums(argnums, where)

    @functools.wraps(f)
    def jacobian_f(*args: Any, **kwargs: Any) -> Any:
        positions = _positions(nums, len(args), where)
        with _transform_call():
            out, variables, nested, aux = _trace(f, args, kwargs, positions, where, has_aux)
            outs, single_out = _outputs(out, where)
            order = list(variables)
            leaves = [variables[i] for i in order]
            if forward:
                columns, reached = _forward_columns(outs, leaves, nested)
                table = [[columns[k][r] for k in range(len(leaves))] for r in range(len(outs))]
            else:
                table, reached = [], set()
                for o in outs:
                    row, unreached = _reverse(o, leaves, nested)
                    table.append(row)
                    reached.update(k for k in range(len(leaves)) if k not in unreached)
            missing = [(order[k], leaves[k]) for k in range(len(leaves)) if k not in reached]
            if missing:
                _warn_unreached(where, f, outs, missing)
            index = {i: k for k, i in enumerate(order)}
            rows = [[_result(row[index[i]], nested) for i in positions] for row in table]
        result = _shape(rows, single_out, single_arg)
        if has_aux:
            return result, (aux if nested else _concrete(aux))
        return result

    return jacobian_f


def jacobian(f: Fn, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Fn:
    """The Jacobian in reverse mode (JAX's jacrev): one row per output of f (a sequence of Values).

    A row is d out_i / d x for an int argnums, the list over the arguments for a tuple; for f
    returning a single Value the result is that one row (the gradient).
    """
    return _jacobian(f, argnums, has_aux, "jacobian", forward=False)


def jacfwd(f: Fn, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Fn:
    """The Jacobian in forward mode (one tangent pass per argument); the same result as `jacobian`."""
    return _jacobian(f, argnums, has_aux, "jacfwd", forward=True)


def hessian(f: Fn, argnums: int | Sequence[int] = 0) -> Fn:
    """Second derivatives, with JAX's argnums: an int gives d²f/dx² (a number), a tuple the matrix
    over those arguments (nested lists). Reverse over reverse: the Jacobian of the gradient."""
    _check_function(f, "hessian")
    first = _value_and_grad(f, argnums, False, "hessian")
    gradient = functools.wraps(f)(lambda *args, **kwargs: first(*args, **kwargs)[1])
    return _jacobian(gradient, argnums, False, "hessian", forward=False)


# -- forward mode --


def _forward_order(outs: list[Any]) -> list[Value]:
    """Every node the outputs depend on, once, each after its inputs."""
    order: list[Value] = []
    seen: set[Value] = set()
    for o in outs:
        if isinstance(o, Value):
            for node in topological_order(o):
                if node not in seen:
                    seen.add(node)
                    order.append(node)
    return order


def _push(order: list[Value], tangent: dict[Value, Any], partials: dict[Value, Any], nested: bool) -> None:
    """Tangents flow from the seeded nodes up through the graph: each node takes
    sum(partial_i · tangent_i) over its inputs (partials computed once, cached across passes)."""
    for node in order:
        if node._prim is None or node in tangent:
            continue
        total = None
        parents = parents_of(node)
        for p in parents:
            if p in tangent:
                break
        else:
            continue  # no input carries a tangent: nothing to compute
        ds = partials.get(node)
        if ds is None:
            ds = partials[node] = local_partials(node, nested)
        for p, d in zip(parents, ds, strict=True):
            t = tangent.get(p)
            if d is not None and t is not None:
                total = d * t if total is None else total + d * t
        if total is not None:
            tangent[node] = total


def _forward_columns(outs: list[Any], leaves: list[Value], nested: bool) -> tuple[list[list[Any]], set[int]]:
    order = _forward_order(outs)
    present = set(order)
    partials: dict[Value, Any] = {}
    columns = []
    with enable_grad():
        for v in leaves:
            tangent: dict[Value, Any] = {v: 1.0}
            _push(order, tangent, partials, nested)
            columns.append([tangent.get(o, 0.0) if isinstance(o, Value) else 0.0 for o in outs])
    return columns, {k for k, v in enumerate(leaves) if v in present}


def jvp(f: Fn, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Forward mode: (f(*primals), the derivative of f along `tangents`), from the op table.

    `primals` and `tangents` are tuples or lists, one entry per argument of f.
    """
    _check_function(f, "jvp")
    for what, seq in (("primals", primals), ("tangents", tangents)):
        if not isinstance(seq, (tuple, list)):
            raise TypeError(f"jvp: {what} must be a tuple or list with one entry per argument of f, "
                            f"got {type(seq).__name__} {seq!r}")
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    seeds = []
    for i, t in enumerate(tangents):
        seeds.append(t if isinstance(t, Value) else to_float(t, f"jvp: tangent {i}"))
    with _transform_call():
        out, variables, nested, _ = _trace(f, primals, {}, range(len(primals)), "jvp", False)
        _scalar_output(out, "jvp")
        # A zero tangent contributes nothing, even through an undefined partial (0 · NaN).
        tangent = {variables[i]: t for i, t in enumerate(seeds) if isinstance(t, Value) or t != 0.0}
        order = _forward_order([out])
        present = set(order)
        missing = [(i, v) for i, v in variables.items() if v in tangent and v not in present]
        if missing:
            _warn_unreached("jvp", f, [out], missing)
        with enable_grad():
            _push(order, tangent, {}, nested)
        derivative = _result(tangent.get(out, 0.0) if isinstance(out, Value) else 0.0, nested)
    value = out if nested else (out.data if isinstance(out, Value) else float(out))
    return value, derivative


__all__ = ["grad", "value_and_grad", "vjp", "jacobian", "jacfwd", "hessian", "jvp"]
