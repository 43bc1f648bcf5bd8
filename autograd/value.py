"""`Value`: one float, the operation that made it and its inputs; a node of the computation graph.

Arithmetic operators and math methods (`v + w`, `v.tanh()`, ...) are attached by `ops.py`, next to
the primitives that implement them, so that every derivative is declared in one table.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .primitive import Primitive

# Set by functional.py while a transformation traces a function: called with each Value converted
# to a number (float(), int(), math.*, NumPy), to warn when that cuts a differentiated input's graph.
conversion_hook: Callable[[Value], None] | None = None


def to_float(x: Any, where: str) -> float:
    """`x` as a float, or an error naming `where` and `x`: a TypeError for what is not a real
    number (a string, a complex, None, a failing `__float__`), a ValueError for one too large."""
    if type(x) is float:
        return x
    if (
        isinstance(x, (str, bytes))
        or (isinstance(x, numbers.Complex) and not isinstance(x, numbers.Real))
        or not hasattr(type(x), "__float__")
    ):
        raise TypeError(f"{where}: expected a real number, got {_describe(x)}")
    try:
        return float(x)
    except OverflowError as err:
        raise ValueError(f"{where}: {_describe(x)} is too large for a float (|x| <= 1.8e308)") from err
    except Warning:  # a warning turned into an error (-W error) stays what it is
        raise
    except Exception as err:  # any other failure of the object's own __float__: a bad argument
        raise TypeError(
            f"{where}: expected a real number, got {_describe(x)} ({type(err).__name__}: {err})"
        ) from err


def _describe(x: Any) -> str:
    """`type repr` of a bad argument, for a message: short, and never an error of its own."""
    if isinstance(x, int) and x.bit_length() > 64:
        return f"{type(x).__name__} of {x.bit_length()} bits"  # repr of a huge int can raise
    try:
        text = repr(x)
    except Exception:
        text = "<unprintable>"
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{type(x).__name__} {text}"


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
        if not isinstance(label, str):
            raise TypeError(f"Value: label must be a str, got {_describe(label)}")
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
        if conversion_hook is not None:
            conversion_hook(self)
        return self.data

    def __int__(self) -> int:
        # As int(float): truncation (a ValueError for nan, an OverflowError for inf).
        if conversion_hook is not None:
            conversion_hook(self)
        return int(self.data)

    def __lt__(self, other: Any) -> bool:
        return self.data < _data(other, "<")

    def __le__(self, other: Any) -> bool:
        return self.data <= _data(other, "<=")

    def __gt__(self, other: Any) -> bool:
        return self.data > _data(other, ">")

    def __ge__(self, other: Any) -> bool:
        return self.data >= _data(other, ">=")

    def __bool__(self) -> bool:
        # As bool(float) and PyTorch's bool of a one-element tensor: False only for 0.0 and -0.0
        # (NaN is true); without it every Value, Value(0.0) too, would be true.
        return self.data != 0.0

    # == and != stay identity-based (object's), and with them hashing.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __pos__(self) -> Value:
        return self

    if TYPE_CHECKING:
        # For type checkers only: the operators and methods ops.py attaches at import time (each
        # a primitive of the op table or a function built on it), so that `2.0 * x`, `x ** 2` and
        # `x.tanh()` type-check. Whatever ops.py attaches must be declared here as well
        # (tests/test_typing.py checks both ways); a plain number works on either side.
        __array_ufunc__: None

        def __add__(self, other: Value | float, /) -> Value: ...
        def __radd__(self, other: float, /) -> Value: ...
        def __sub__(self, other: Value | float, /) -> Value: ...
        def __rsub__(self, other: float, /) -> Value: ...
        def __mul__(self, other: Value | float, /) -> Value: ...
        def __rmul__(self, other: float, /) -> Value: ...
        def __truediv__(self, other: Value | float, /) -> Value: ...
        def __rtruediv__(self, other: float, /) -> Value: ...
        def __floordiv__(self, other: Value | float, /) -> Value: ...
        def __rfloordiv__(self, other: float, /) -> Value: ...
        def __mod__(self, other: Value | float, /) -> Value: ...
        def __rmod__(self, other: float, /) -> Value: ...
        def __pow__(self, other: Value | float, /) -> Value: ...
        def __rpow__(self, other: float, /) -> Value: ...
        def __neg__(self, /) -> Value: ...
        def __abs__(self, /) -> Value: ...

        def exp(self) -> Value: ...
        def log(self, base: Value | float | None = None) -> Value: ...
        def sqrt(self) -> Value: ...
        def sin(self) -> Value: ...
        def cos(self) -> Value: ...
        def abs(self) -> Value: ...
        def tanh(self) -> Value: ...
        def sigmoid(self) -> Value: ...
        def relu(self) -> Value: ...
        def leaky_relu(self, /, slope: float = 0.01) -> Value: ...
        def softplus(self) -> Value: ...
        def maximum(self, other: Value | float, /) -> Value: ...
        def minimum(self, other: Value | float, /) -> Value: ...

        # attached by elementary.py and piecewise.py (the math library)
        def __floor__(self) -> Value: ...
        def __ceil__(self) -> Value: ...
        def __trunc__(self) -> Value: ...
        def __round__(self, ndigits: int | None = None) -> Value: ...
        def __divmod__(self, other: Value | float, /) -> tuple[Value, Value]: ...
        def __rdivmod__(self, other: float, /) -> tuple[Value, Value]: ...
        def tan(self) -> Value: ...
        def asin(self) -> Value: ...
        def acos(self) -> Value: ...
        def atan(self) -> Value: ...
        def sinh(self) -> Value: ...
        def cosh(self) -> Value: ...
        def asinh(self) -> Value: ...
        def acosh(self) -> Value: ...
        def atanh(self) -> Value: ...
        def log1p(self) -> Value: ...
        def expm1(self) -> Value: ...
        def log2(self) -> Value: ...
        def log10(self) -> Value: ...
        def exp2(self) -> Value: ...
        def cbrt(self) -> Value: ...
        def square(self) -> Value: ...
        def erf(self) -> Value: ...
        def erfc(self) -> Value: ...
        def digamma(self) -> Value: ...
        def gamma(self) -> Value: ...
        def lgamma(self) -> Value: ...
        def degrees(self) -> Value: ...
        def radians(self) -> Value: ...
        def sinc(self) -> Value: ...
        def sign(self) -> Value: ...
        def floor(self) -> Value: ...
        def ceil(self) -> Value: ...
        def trunc(self) -> Value: ...
        def atan2(self, other: Value | float, /) -> Value: ...
        def hypot(self, other: Value | float, /) -> Value: ...
        def mod(self, other: Value | float, /) -> Value: ...
        def floordiv(self, other: Value | float, /) -> Value: ...
        def fmod(self, other: Value | float, /) -> Value: ...
        def copysign(self, other: Value | float, /) -> Value: ...
        def polygamma(self, n: int, /) -> Value: ...
        def round(self, ndigits: int | None = None) -> Value: ...
        def clip(self, lo: Value | float | None = None, hi: Value | float | None = None) -> Value: ...
        def where(self, condition: bool, other: Value | float, /) -> Value: ...

    def detach(self) -> Value:
        """A new leaf with the same data (and label), cut off from the graph."""
        return Value(self.data, self.label)

    def backward(
        self,
        gradient: Any = 1.0,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Value | Sequence[Value] | None = None,
    ) -> None:
        """Backpropagate from this node: leaves accumulate into `.grad`, other nodes are overwritten.

        PyTorch's keywords: `retain_graph` changes nothing (the graph is always kept); `inputs`
        limits which nodes' `.grad` is written.
        """
        engine.backward(self, gradient, retain_graph, create_graph, inputs)

    # Pickle and copy: a whole graph, iteratively (see serialization.py, imported here because it
    # needs primitive.py, which imports this module).
    def __reduce_ex__(self, protocol: Any, /) -> Any:
        from .serialization import reduce_value

        return reduce_value(self)

    def __copy__(self, /) -> Value:
        from .serialization import copy_value

        return copy_value(self)

    def __deepcopy__(self, memo: dict[int, Any], /) -> Value:
        from .serialization import deepcopy_value

        return deepcopy_value(self, memo)

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
