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

    # No __dict__ and no closures: a node is five references, and a dropped graph is freed by
    # reference counting at once (there are no cycles for the cyclic collector to find).
    __slots__ = ("data", "grad", "label", "parents", "_prim")

    def __init__(self, data: Any, label: str = "") -> None:
        self.data = to_float(data, "Value")
        self.grad: Any = 0.0
        self.label = label
        self.parents: tuple[Value, ...] = ()
        self._prim: Primitive | None = None

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
        from .engine import backward

        backward(self, gradient, create_graph=create_graph)

    def _repr_svg_(self) -> str | None:
        """Jupyter's picture of the graph below this node (None falls back to the text repr)."""
        try:
            from .viz import repr_svg
        except ImportError:
            return None
        return repr_svg(self)


def _data(x: Any, where: str) -> float:
    return x.data if isinstance(x, Value) else to_float(x, where)
