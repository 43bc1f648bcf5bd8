"""Pickle and copy for Values and whole graphs, iteratively: a graph 10^6 nodes deep is fine.

Pickle saves an object's parts depth first, so a graph pickled node by node would recurse once
per level. Instead, a node pickled on its own (a *root*) first lists every operation node below
it in topological order, each saved *shallow* (its number, gradient, label, primitive and
references to its inputs): an input always comes earlier in the list, so pickle only writes a
reference to it and never recurses. Unpickling is pickle's own loop, also iterative. Leaves
(inputs, parameters, constants) keep their identity across everything pickled together, and so
do shared operation nodes; a leaf costs a few dozen bytes.

Primitives are pickled by name: a built-in one by its name in the op table, a member of a family
(`pow_const(c)`, `const_pow(b)`, `leaky_relu(slope)`, `round(x, n)`, ...) by its name and
parameters, and a user's primitive from `autograd.primitive()` by the name it is registered under
with `register_primitive`, in the program that pickles and in the one that unpickles.

Unpickling runs code named by the file (that is what pickle is): load pickles you trust only.
For data from elsewhere use `nn`'s JSON checkpoints.
"""

from __future__ import annotations

import copy
import copyreg
import pickle
import sys
import threading
from collections.abc import Callable
from typing import Any

from .primitive import Primitive
from .value import MANY, Value

# ---------------------------------------------------------------------------------------------
# Primitives: by name.
# ---------------------------------------------------------------------------------------------

_REGISTRY: dict[str, Primitive] = {}


def register_primitive(fn: Callable[..., Any] | Primitive) -> Callable[..., Any] | Primitive:
    """Make a user primitive (what `autograd.primitive()` returned) picklable under its name; returns it.

    Call it in the program that pickles and in the one that unpickles: a primitive is pickled by
    its name, not by its code (`cube = register_primitive(primitive("cube", ...))`). Registering
    another primitive under the same name replaces the earlier one.
    """
    prim = fn if isinstance(fn, Primitive) else getattr(fn, "primitive", None)
    if not isinstance(prim, Primitive):
        raise TypeError(
            f"register_primitive: expected a function made by autograd.primitive() or a Primitive, "
            f"got {type(fn).__name__} {fn!r}"
        )
    from .ops import TABLE

    name = prim.name
    if name in TABLE:
        raise ValueError(f"register_primitive: {name!r} is the name of a built-in primitive; "
                         f"declare yours under another name")
    if _family_factory(name) is not None:
        raise ValueError(f"register_primitive: {name!r} is the name of a built-in family of primitives")
    # A second primitive under the same name replaces the first (a notebook cell run again).
    _REGISTRY[name] = prim
    return fn


# The modules that declare entries of the op table (and families of primitives).
_TABLE_MODULES = ("ops", "elementary", "piecewise", "reductions")
_families: dict[str, Callable[..., Any]] = {}
_families_seen = 0  # how many of ops.FAMILY_EXAMPLES _families covers


def _family_factory(name: str) -> Callable[..., Any] | None:
    """The cached factory of the family of primitives named `name` (pow_const, leaky_relu, ...).

    Found once from the op table's examples of each family: the factory that, given an example's
    parameters, makes a primitive of the same name and parameters.
    """
    global _families_seen
    from . import ops

    examples = ops.FAMILY_EXAMPLES
    if _families_seen != len(examples):
        factories = []
        for module_name in _TABLE_MODULES:
            module = sys.modules.get(f"{__package__}.{module_name}")
            for obj in vars(module).values() if module is not None else ():
                if callable(obj) and hasattr(obj, "cache_info") and obj not in factories:
                    factories.append(obj)
        for example in examples:
            if example.name in _families or not example.params:
                continue
            for factory in factories:
                try:
                    member = getattr(factory(*example.params.values()), "primitive", None)
                except Exception:  # noqa: BLE001 (not this family's factory)
                    continue
                if not isinstance(member, Primitive):
                    continue
                if member.name == example.name and member.params == example.params:
                    _families[example.name] = factory
                    break
        _families_seen = len(examples)
    return _families.get(name)


def _reduce_primitive(prim: Primitive) -> tuple[Any, ...]:
    """How pickle saves a Primitive: by its name (and parameters, for a family member)."""
    from .ops import TABLE

    name = prim.name
    if TABLE.get(name) is prim:
        return (_table_primitive, (name,))
    factory = _family_factory(name) if prim.params else None
    if factory is not None:
        params = tuple(prim.params.values())
        member = getattr(factory(*params), "primitive", None)
        if isinstance(member, Primitive) and member.name == name and member.params == prim.params:
            return (_family_primitive, (name, params))
    if _REGISTRY.get(name) is prim:
        return (_registered_primitive, (name,))
    if name in _REGISTRY:
        reason = f"another primitive has been registered as {name!r} since this one"
    else:
        reason = f"call autograd.register_primitive({name}) first"
    raise pickle.PicklingError(
        f"cannot pickle the user primitive {name!r}: primitives are pickled by name; {reason} "
        f"(in the program that pickles and in the one that unpickles)"
    )


def _table_primitive(name: str) -> Primitive:
    from .ops import TABLE

    prim = TABLE.get(name) if isinstance(name, str) else None
    if prim is None:
        raise pickle.UnpicklingError(f"unpickling a graph: this version has no built-in primitive {name!r}")
    return prim


def _family_primitive(name: str, params: tuple[Any, ...]) -> Primitive:
    factory = _family_factory(name) if isinstance(name, str) else None
    if factory is None or not isinstance(params, tuple):
        raise pickle.UnpicklingError(f"unpickling a graph: no family of primitives named {name!r}")
    member = getattr(factory(*params), "primitive", None)
    if not isinstance(member, Primitive) or member.name != name:
        raise pickle.UnpicklingError(f"unpickling a graph: {name}{params!r} is not a primitive")
    return member


def _registered_primitive(name: str) -> Primitive:
    prim = _REGISTRY.get(name) if isinstance(name, str) else None
    if prim is None:
        raise pickle.UnpicklingError(
            f"unpickling a graph: the user primitive {name!r} is not registered in this program; "
            f"declare it with autograd.primitive() and call autograd.register_primitive() on it "
            f"before unpickling"
        )
    return prim


# Primitive lives in primitive.py, which knows nothing of pickling: attach the hook here.
Primitive.__reduce__ = _reduce_primitive  # type: ignore[assignment,method-assign]

# ---------------------------------------------------------------------------------------------
# Values and graphs.
# ---------------------------------------------------------------------------------------------

# The ids of the operation nodes that the roots being pickled in this thread have listed and that
# are still to be saved (shallow). Ids, not nodes: an entry left behind by a failed pickle keeps
# nothing alive, and a node wrongly taken for listed is still pickled correctly (shallow is
# always correct; it only recurses into inputs pickle has not seen yet).
_local = threading.local()


def _sessions() -> list[set[int]]:
    try:
        return _local.sessions
    except AttributeError:
        _local.sessions = []
        return _local.sessions


def _inputs(node: Value) -> tuple[Value, ...] | list[Value]:
    """The node's inputs: a tuple for a unary or binary op, a list for an n-ary one (b = MANY)."""
    b = node._b
    if b is None:
        return (node._a,)
    if b is MANY:
        return list(node._a)
    return (node._a, b)


def _extra_state(node: Value) -> dict[str, Any] | None:
    """The extra slots of a Value subclass (a node made under detect_anomaly keeps its site)."""
    cls = type(node)
    if cls is Value:
        return None
    extra = {}
    for name in copyreg._slotnames(cls):  # type: ignore[attr-defined]
        if name not in Value.__slots__ and hasattr(node, name):
            extra[name] = getattr(node, name)
    extra.update(getattr(node, "__dict__", {}))
    return extra


def _shallow(node: Value) -> tuple[Any, ...]:
    """The state of a node without its inputs' own state (pickle saves references to them)."""
    b = node._b
    inputs = None if node._prim is None else (
        (node._a,) if b is None else (list(node._a) if b is MANY else (node._a, b))
    )
    state = (node.data, node.grad, getattr(node, "_label", None), node._prim, inputs)
    return state if type(node) is Value else (*state, _extra_state(node))


def reduce_value(node: Value, protocol: Any = None) -> tuple[Any, ...]:
    """`Value.__reduce_ex__`: a leaf in a few bytes; an operation node iteratively, as above."""
    cls = type(node)
    if node._prim is None and cls is Value and type(node.grad) is float:
        # A leaf with a number gradient: no state to set later, the cheapest form.
        label = getattr(node, "_label", None)
        if label is None or label == "":
            return (_leaf, (node.data, node.grad))
        return (_leaf, (node.data, node.grad, label))
    sessions = _sessions()
    key = id(node)
    listed = False
    for listing in sessions:
        if key in listing:
            listing.discard(key)
            listed = True
    if listed or node._prim is None:
        # A listed operation node (its inputs are saved before it), or a leaf whose gradient is
        # a Value (under create_graph) or which is a subclass: state after creation, for cycles.
        return (_blank, (cls,), _shallow(node), None, None, _set_state)
    from .engine import topological_order

    below = [n for n in topological_order(node) if n._prim is not None]
    below.pop()  # the root itself, last in topological order
    listing = {id(n) for n in below}
    sessions.append(listing)
    # The listing goes first in the state, so each listed node is saved (shallow) before anything
    # refers to it; the last item ends this root's session.
    return (_blank, (cls,), (below, _shallow(node), _EndListing(listing)), None, None, _set_root)


class _EndListing:
    """Saved last in a root's state: its own pickling ends the root's listing session."""

    __slots__ = ("listing",)

    def __init__(self, listing: set[int]) -> None:
        self.listing = listing

    def __reduce__(self) -> tuple[Any, ...]:
        sessions = _sessions()
        for i, listing in enumerate(sessions):
            if listing is self.listing:
                del sessions[i]
                break
        return (_nothing, ())


def _nothing() -> None:
    return None


def _leaf(data: float, grad: float, label: Any = None) -> Value:
    if type(data) is not float or type(grad) is not float:
        raise pickle.UnpicklingError("unpickling a Value: its data and grad must be floats")
    node = Value.__new__(Value)
    node.data = data
    node.grad = grad
    if label is not None:
        node._label = label
    node._prim = node._a = node._b = None
    return node


def _blank(cls: type = Value) -> Value:
    if not (isinstance(cls, type) and issubclass(cls, Value)):
        raise pickle.UnpicklingError(f"unpickling a Value: {cls!r} is not a Value class")
    return cls.__new__(cls)


def _set_state(node: Value, state: Any) -> None:
    """Fill a node made by `_blank` from its shallow state, checking what the file holds."""
    if type(state) is not tuple or not 5 <= len(state) <= 6:
        raise pickle.UnpicklingError("unpickling a Value: malformed node state")
    data, grad, label, prim, inputs = state[:5]
    if type(data) is not float:
        raise pickle.UnpicklingError(f"unpickling a Value: data must be a float, got {type(data).__name__}")
    a = b = None
    if prim is not None:
        if type(prim) is not Primitive or type(inputs) not in (tuple, list):
            raise pickle.UnpicklingError(f"unpickling a Value: malformed operation node ({prim!r})")
        for p in inputs:
            if not isinstance(p, Value):
                raise pickle.UnpicklingError(f"unpickling a {prim.name} node: an input is not a Value")
        n = len(inputs)
        if prim.arity is not None and n != prim.arity:
            raise pickle.UnpicklingError(f"unpickling a {prim.name} node: {n} inputs for {prim.arity}")
        if type(inputs) is list:
            a, b = tuple(inputs), MANY
        elif n == 1:
            a = inputs[0]
        elif n == 2:
            a, b = inputs
        else:
            raise pickle.UnpicklingError(f"unpickling a {prim.name} node: malformed inputs")
    node.data = data
    node.grad = grad
    if label is not None:
        node._label = label
    node._prim = prim
    node._a = a
    node._b = b
    if len(state) == 6 and state[5]:
        for name, value in state[5].items():
            setattr(node, name, value)


def _set_root(node: Value, state: Any) -> None:
    # The listed nodes were filled as they were read; only the root's own state is left.
    try:
        _below, own, _end = state
    except (TypeError, ValueError):
        raise pickle.UnpicklingError("unpickling a Value: malformed graph state") from None
    _set_state(node, own)


# ---------------------------------------------------------------------------------------------
# copy.copy and copy.deepcopy.
# ---------------------------------------------------------------------------------------------


def _copy_slots(source: Value, target: Value) -> None:
    target.data = source.data
    target.grad = source.grad
    label = getattr(source, "_label", None)
    if label is not None:
        target._label = label
    target._prim = source._prim
    if type(source) is not Value:
        for name, value in (_extra_state(source) or {}).items():
            setattr(target, name, value)


def copy_value(node: Value) -> Value:
    """`copy.copy(v)`: a new node with the same data, gradient, label, op and inputs (shared)."""
    clone = type(node).__new__(type(node))
    _copy_slots(node, clone)
    clone._a = node._a
    clone._b = node._b
    return clone


def deepcopy_value(node: Value, memo: dict[int, Any]) -> Value:
    """`copy.deepcopy(v)`: the whole graph below `v` copied, iteratively, sharing what `memo` has."""
    found = memo.get(id(node))
    if found is not None:
        return found
    if node._prim is None:
        order = [node]
    else:
        from .engine import topological_order

        order = topological_order(node)
    later = []  # gradients that are Values (create_graph): copied once every node has its copy
    new = Value.__new__
    for n in order:
        key = id(n)
        if key in memo:
            continue
        cls = type(n)
        if cls is Value:
            clone = new(Value)
            clone.data = n.data
            clone.grad = n.grad
            label = getattr(n, "_label", None)
            if label is not None:
                clone._label = label if type(label) is str else copy.deepcopy(label, memo)
            clone._prim = n._prim
        else:
            clone = cls.__new__(cls)
            _copy_slots(n, clone)
        b = n._b
        if b is None:
            clone._a = None if n._prim is None else memo[id(n._a)]
            clone._b = None
        elif b is MANY:
            clone._a = tuple([memo[id(p)] for p in n._a])
            clone._b = MANY
        else:
            clone._a = memo[id(n._a)]
            clone._b = memo[id(b)]
        if type(n.grad) is not float:
            later.append((n, clone))
        memo[key] = clone
    memo.setdefault(id(memo), []).append(order)  # copy's convention: keep the originals alive
    for n, clone in later:
        clone.grad = copy.deepcopy(n.grad, memo)
    return memo[id(node)]


# value.py's hooks import this module on first use; once it is loaded, Value calls these directly
# (pickle calls __reduce_ex__ once per node: an import statement each time would cost a third more).
Value.__reduce_ex__ = reduce_value  # type: ignore[method-assign]
Value.__copy__ = copy_value  # type: ignore[method-assign]
Value.__deepcopy__ = deepcopy_value  # type: ignore[method-assign]

__all__ = ["register_primitive"]
