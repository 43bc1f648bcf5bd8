"""What the compiler watches while a function or a rule runs on Values: comparisons and `float()`.

A session (a trace of a user's function, or the symbolic evaluation of a rule) is active in one
thread. While any session is active anywhere, `Value`'s comparison operators and `__float__` are
replaced by versions that ask the current thread's session first; a thread without a session
gets exactly the usual behaviour. The originals come back when the last session ends.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..value import Value

# The module, not the function `autograd.primitive` that shadows its name in the package.
_primitive_module = importlib.import_module("autograd.primitive")

_local = threading.local()
_lock = threading.Lock()
_active = 0
_HOOKED = ("__lt__", "__le__", "__gt__", "__ge__", "__float__", "__bool__")
_ORIGINAL = {name: Value.__dict__[name] for name in _HOOKED if name in Value.__dict__}
_ORIGINAL_NODE = getattr(_primitive_module, "_node")  # noqa: B009 (a private name)
OPS = {"__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">="}


class Session:
    """Receives the events of one thread: `compare(op, a, b, outcome)`, `to_float(v)`, `leaf(v)`."""

    def compare(self, op: str, a: Any, b: Any, original: Any) -> bool:
        """The outcome of `a op b` (`original` computes the usual one)."""
        return original(a, b)

    def to_float(self, v: Value) -> float:
        """`float(v)`."""
        return v.data

    def leaf(self, node: Value) -> None:
        """A leaf made by `constant()` or recorded under no_grad."""

    def truth(self, v: Value, original: Any) -> bool:
        """`bool(v)` (`if v:`), which `original(v)` computes."""
        return original(v)


def current() -> Session | None:
    """This thread's innermost session, or None."""
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


def _comparison(name: str):
    original, op = _ORIGINAL[name], OPS[name]

    def compare(self: Value, other: Any) -> bool:
        session = current()
        if session is None:
            return original(self, other)
        return session.compare(op, self, other, original)

    compare.__name__ = name
    return compare


def _float(self: Value) -> float:
    session = current()
    if session is None:
        return self.data
    return session.to_float(self)


def _node(data: Any, prim: Any, a: Any, b: Any) -> Value:
    node = _ORIGINAL_NODE(data, prim, a, b)
    if prim is None:
        session = current()
        if session is not None:
            session.leaf(node)
    return node


_PATCHED: dict[str, Any] = {name: _comparison(name) for name in OPS}
_PATCHED["__float__"] = _float
if "__bool__" in _ORIGINAL:
    _original_bool = _ORIGINAL["__bool__"]

    def _bool(self: Value) -> bool:
        session = current()
        if session is None:
            return _original_bool(self)
        return session.truth(self, _original_bool)

    _PATCHED["__bool__"] = _bool


@contextmanager
def session(s: Session) -> Iterator[Session]:
    """Make `s` this thread's current session for the duration of the block."""
    global _active
    with _lock:
        if _active == 0:
            for name, fn in _PATCHED.items():
                setattr(Value, name, fn)
            setattr(_primitive_module, "_node", _node)  # noqa: B010 (constant() and no_grad call it by name)
        _active += 1
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(s)
    try:
        yield s
    finally:
        stack.pop()
        with _lock:
            _active -= 1
            if _active == 0:
                for name, fn in _ORIGINAL.items():
                    setattr(Value, name, fn)
                setattr(_primitive_module, "_node", _ORIGINAL_NODE)  # noqa: B010
