"""Tracing: run the user's function once on Values and record the graph, its inputs and its guards.

The arguments (numbers, Values, and lists or tuples of them, nested) are the program's inputs:
numbers become fresh leaf Values for the trace, Values are used as given. Leaves the function
reaches without receiving them (a model's parameters when the model is not passed) are read by
reference at every call, like the arguments. Leaves made from plain numbers during the trace
(`x * 2.0`) are the program's constants. Comparisons of Values (`if x > 0:`) become guards,
`float()` of a Value is a graph cut: reported, and guarded on its value.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from .. import modes
from ..engine import _operations_in_order
from ..value import MANY, Value, parents_of, to_float
from . import hooks


class GraphCutWarning(UserWarning):
    """A traced function turned a Value into a float: the program guards on that value."""


class GuardFailure(Exception):
    """A replay whose comparisons came out differently from the trace (with `retrace=False`)."""


@dataclass
class Trace:
    """The recorded graph and what a program needs to replay it."""

    root: Value
    aux: Any  # the auxiliary outputs: a nested structure of Values and numbers, or None
    slots: list[Value]  # the input leaves: the arguments' (first occurrence) then the captured ones
    kinds: list[str]  # per slot: "value" (accumulates into .grad), "float" (gradient returned) or "live"
    positions: list[int]  # per flattened argument: its slot
    forward: list[Value]  # every computed node, each after its inputs
    backward: list[Value]  # the nodes backward() visits, in its order (the root first)
    constants: dict[int, Value]  # id -> leaf made from a plain number during the trace
    guards: list[tuple[str, Any, Any, bool]] = field(default_factory=list)  # (op, a, b, outcome)
    cuts: list[tuple[Value, float]] = field(default_factory=list)  # float(v) at trace time
    labels: list[str] = field(default_factory=list)  # a name per argument, for the source

    def is_constant(self, v: Value) -> bool:
        """True for a leaf made from a plain number during the trace."""
        return id(v) in self.constants


class _Recorder(hooks.Session):
    def __init__(self) -> None:
        self.guards: list[tuple[str, Any, Any, bool]] = []
        self.cuts: list[tuple[Value, float]] = []
        self.constants: dict[int, Value] = {}
        self.warned_no_grad = False

    def compare(self, op: str, a: Any, b: Any, original: Any) -> bool:
        outcome = original(a, b)
        self.guards.append((op, a, b if isinstance(b, Value) else to_float(b, op), outcome))
        return outcome

    def truth(self, v: Value, original: Any) -> bool:
        outcome = original(v)  # `if v:` is `if v != 0:`, a comparison like the others
        self.guards.append(("!=", v, 0.0, outcome))
        return outcome

    def to_float(self, v: Value) -> float:
        what = v.op or "a leaf"
        warnings.warn(
            GraphCutWarning(
                f"compile: float() of a traced Value ({what}, {v.data!r}) at {modes.user_site()} cuts "
                f"the graph: the program uses this number as a constant and retraces when it changes"
            ),
            stacklevel=3,
        )
        self.cuts.append((v, v.data))
        return v.data

    def leaf(self, node: Value) -> None:
        if modes.is_grad_enabled():
            self.constants[id(node)] = node
        elif not self.warned_no_grad:
            self.warned_no_grad = True
            warnings.warn(
                GraphCutWarning(
                    f"compile: no_grad inside a traced function at {modes.user_site()}: its results are "
                    f"constants of the program (their value at trace time)"
                ),
                stacklevel=3,
            )


def flatten(args: Sequence[Any]) -> tuple[list[Any], tuple]:
    """The arguments' leaves (Values and numbers) in order, and the key of their structure.

    The key tells Values from numbers and repeated Values apart: a program is only replayed on
    arguments of the same shape.
    """
    # Lists of floats, lists of lists of floats (a batch) and lists of Values (a model's parameters)
    # go in one C-level pass each instead of leaf by leaf: 76 -> 25 us for the moons step's
    # arguments (a third of the NumPy backend's step). Anything else takes the general walk.
    leaves: list[Any] = []
    key: list[Any] = []
    value_lists: list[Sequence[Any]] = []
    for a in args:
        if not isinstance(a, (list, tuple)):
            return _flatten_walking(args)
        kinds = set(map(type, a))
        if kinds == _FLOATS:
            key.append(("f", len(a)))
        elif kinds == _VALUES:
            key.append(("v", len(a)))
            value_lists.append(a)
        elif (kinds == _LISTS or kinds == _TUPLES) and set(map(type, chain.from_iterable(a))) == _FLOATS:
            key.append(("ff", tuple(map(len, a))))
            leaves += chain.from_iterable(a)
            continue
        else:
            return _flatten_walking(args)
        leaves += a
    if value_lists:
        n = sum(map(len, value_lists))
        if len(set(map(id, chain.from_iterable(value_lists)))) != n:
            return _flatten_walking(args)  # a repeated Value: the walk marks where it repeats
    return leaves, tuple(key)


_FLOATS = {float}
_VALUES = {Value}
_LISTS = {list}
_TUPLES = {tuple}


def _flatten_walking(args: Sequence[Any]) -> tuple[list[Any], tuple]:
    """`flatten` leaf by leaf, for any nesting; its keys start with "walked", never the fast path's."""
    leaves: list[Any] = []
    key: list[Any] = ["walked"]
    stack = [iter(args)]
    first: dict[int, int] = {}
    while stack:
        for a in stack[-1]:
            if type(a) is Value or isinstance(a, Value):
                k = first.setdefault(id(a), len(leaves))
                key.append(k if k != len(leaves) else "v")
                leaves.append(a)
            elif isinstance(a, (list, tuple)):
                key.append(("[", len(a)))
                stack.append(iter(a))
                break
            else:
                key.append("f")
                leaves.append(a)
        else:
            stack.pop()
            key.append("]")
    return leaves, tuple(key)


def unflatten_like(args: Sequence[Any], values: list[Any]) -> list[Any]:
    """`args`' nested structure (lists and tuples) with its leaves replaced by `values` (iterative)."""
    it = iter(values)
    out: list[Any] = []
    stack: list[tuple[Any, list[Any], list[Any] | None, bool]] = [(iter(args), out, None, False)]
    while stack:
        source, target, parent, is_tuple = stack[-1]
        for a in source:
            if isinstance(a, (list, tuple)):
                stack.append((iter(a), [], target, isinstance(a, tuple)))
                break
            target.append(next(it))
        else:
            stack.pop()
            if parent is not None:
                parent.append(tuple(target) if is_tuple else target)
    return out


def run_traced(f: Callable[..., Any], args: Sequence[Any], names: Sequence[str] = ()) -> tuple[Any, ...]:
    """Call `f` on the arguments, numbers made Values: (result, slots, recorder, positions, labels)."""
    leaves, _ = flatten(args)
    wrapped: list[Any] = []
    labels: list[str] = []
    slot_of: dict[int, int] = {}
    positions: list[int] = []
    slots: list[Value] = []
    for i, leaf in enumerate(leaves):
        if isinstance(leaf, Value):
            v = leaf
        else:
            v = Value(to_float(leaf, "compile argument"))
        if id(v) not in slot_of:
            slot_of[id(v)] = len(slots)
            slots.append(v)
        positions.append(slot_of[id(v)])
        wrapped.append(v)
        labels.append(names[i] if i < len(names) else f"x{i}")
    structured = unflatten_like(args, wrapped)
    recorder = _Recorder()
    with modes.enable_grad(), hooks.session(recorder):
        result = f(*structured)
    return result, slots, recorder, positions, labels


def trace(f: Callable[..., Any], args: Sequence[Any], has_aux: bool = False,
          names: Sequence[str] = ()) -> tuple[Trace, Any]:
    """Trace `f` at `args`: the Trace and f's result (the output Value, or (output, aux))."""
    result, slots, recorder, positions, labels = run_traced(f, args, names)
    if has_aux:
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise TypeError("compile: with has_aux=True the function must return (output, aux)")
        root, aux = result
    else:
        root, aux = result, None
    if not isinstance(root, Value):
        raise TypeError(f"compile: the function must return a Value (got {type(root).__name__}); "
                        f"an output that depends on no input has nothing to compile")
    kinds = ["value" if isinstance(leaf, Value) else "float" for leaf in flatten(args)[0]]
    slot_kinds = [""] * len(slots)
    for pos, slot in enumerate(positions):
        slot_kinds[slot] = kinds[pos]
    extra = [v for v in _values_in(aux)]
    extra += [x for op, a, b, _ in recorder.guards for x in (a, b) if isinstance(x, Value)]
    extra += [v for v, _ in recorder.cuts]
    forward, captured = _forward_order([root, *extra], {id(s) for s in slots}, recorder.constants)
    for leaf in captured:
        slots.append(leaf)
        slot_kinds.append("live")
    backward = list(reversed(_operations_in_order(root))) if root._prim is not None else []
    t = Trace(root, aux, slots, slot_kinds, positions, forward, backward, recorder.constants,
              recorder.guards, recorder.cuts, labels)
    return t, result


def _values_in(tree: Any) -> list[Value]:
    out: list[Value] = []
    stack = [tree]
    while stack:
        x = stack.pop()
        if isinstance(x, Value):
            out.append(x)
        elif isinstance(x, (list, tuple)):
            stack.extend(reversed(x))
    return out


def _forward_order(roots: list[Value], slot_ids: set[int], constants: dict[int, Value]
                   ) -> tuple[list[Value], list[Value]]:
    """Non-leaf nodes below `roots`, each after its inputs; and the leaves that are neither
    arguments nor constants (captured), in order of first use. Iterative."""
    order: list[Value] = []
    captured: list[Value] = []
    state: dict[int, bool] = {}
    for root in roots:
        stack = [root]
        while stack:
            node = stack.pop()
            s = state.get(id(node))
            if s is True:
                continue
            if node._prim is None:
                state[id(node)] = True
                if id(node) not in slot_ids and id(node) not in constants:
                    captured.append(node)
                continue
            if s is None:
                state[id(node)] = False
                stack.append(node)
                parents = node._a if node._b is MANY else parents_of(node)
                stack.extend(p for p in reversed(parents) if state.get(id(p)) is not True)
            else:
                state[id(node)] = True
                order.append(node)
    return order, captured


def nan_safe_equal(a: float, b: float) -> bool:
    """a == b, with NaN equal to NaN (what a cut's guard checks)."""
    return a == b or (math.isnan(a) and math.isnan(b))
