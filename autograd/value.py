"""`Value`: one float, the operation that made it and its inputs; a node of the computation graph.

Arithmetic operators and math methods (`v + w`, `v.tanh()`, ...) are attached by `ops.py`, next to
the primitives that implement them, so that every derivative is declared in one table.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .primitive import Primitive


def to_float(x: Any, where: str) -> float:
    """`x` as a float, or a TypeError that names `where` and the offending type."""
    if type(x) is float:
        return x
    if (
        isinstance(x, (str, bytes))
        or (isinstance(x, numbers.Complex) and not isinstance(x, numbers.Real))
        or not hasattr(type(x), "__float__")
    ):
        raise TypeError(f"{where}: expected a real number, got {type(x).__name__} {x!r}")
    try:
        return float(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{where}: expected a real number, got {type(x).__name__} {x!r}") from err


class Value:
    """A scalar node of the computation graph: `data`, `grad`, `label`, `op` and `parents`.

    Equality and hashing are by identity (as for PyTorch tensors used as dict keys), so Values
    can live in sets and dicts; `<`, `<=`, `>` and `>=` compare `data` and return a bool.
    """

    # No __dict__, no closures and no tuple of parents: a node is one GC-tracked object of six
    # references. A unary node keeps its input in `_a`; a binary one its inputs in `_a` and `_b`;
    # an n-ary one (sum, dot) keeps the tuple of inputs in `_a` and MANY in `_b`. A dropped graph
    # is freed by reference counting at once (there are no cycles for the cyclic collector).
    # `_label` is left unset on nodes that operations make (one store fewer per node).
    __slots__ = ("data", "grad", "_label", "_prim", "_a", "_b")

    def __init__(self, data: Any, label: str = "") -> None:
        self.data = to_float(data, "Value")
        self.grad: Any = 0.0
        self._label = label
        self._prim: Primitive | None = None
        self._a: Any = None
        self._b: Any = None

    @property
    def label(self) -> str:
        """A name to show in graphs and reprs; empty unless set."""
        try:
            return self._label
        except AttributeError:
            return ""

    @label.setter
    def label(self, text: str) -> None:
        self._label = text

    @property
    def parents(self) -> tuple[Value, ...]:
        """The inputs of the operation that made this node, in argument order; () for a leaf."""
        return parents_of(self)

    @property
    def op(self) -> str:
        """The name of the operation that made this node; empty for a leaf."""
        return "" if self._prim is None else self._prim.name

    @property
    def is_leaf(self) -> bool:
        """True for a node no operation made (an input, a parameter or a constant)."""
        return self._prim is None

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __float__(self) -> float:
        return self.data

    def __lt__(self, other: Any) -> bool:
        return self.data < _data(other, "<")

    def __le__(self, other: Any) -> bool:
        return self.data <= _data(other, "<=")

    def __gt__(self, other: Any) -> bool:
        return self.data > _data(other, ">")

    def __ge__(self, other: Any) -> bool:
        return self.data >= _data(other, ">=")

    # == and != stay identity-based (object's), and with them hashing.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __pos__(self) -> Value:
        return self

    def detach(self) -> Value:
        """A new leaf with the same data (and label), cut off from the graph."""
        return Value(self.data, self.label)

    def backward(self, gradient: Any = 1.0, create_graph: bool = False) -> None:
        """Backpropagate from this node: leaves accumulate into `.grad`, other nodes are overwritten."""
        engine.backward(self, gradient, create_graph=create_graph)

    def _repr_svg_(self) -> str | None:
        """Jupyter's picture of the graph below this node (None falls back to the text repr)."""
        try:
            from .viz import repr_svg
        except ImportError:
            return None
        return repr_svg(self)


# The `_b` of an n-ary node, whose `_a` holds the tuple of its inputs.
MANY = object()


def parents_of(node: Value) -> tuple[Value, ...]:
    """`node.parents`: its inputs in argument order; () for a leaf."""
    b = node._b
    if b is None:
        return () if node._prim is None else (node._a,)
    if b is MANY:
        return node._a
    return (node._a, b)


def _data(x: Any, where: str) -> float:
    return x.data if isinstance(x, Value) else to_float(x, where)


# At the end: engine imports this module, and the name is only looked up when backward() runs.
from . import engine  # noqa: E402
