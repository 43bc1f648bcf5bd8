"""Recording modes: `no_grad`, `enable_grad` and `detect_anomaly`, each local to its context."""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import threading
from collections.abc import Iterator

_grad_enabled = contextvars.ContextVar("chaingrad_grad_enabled", default=True)
_anomaly = contextvars.ContextVar("chaingrad_anomaly", default=None)

# How many mode contexts are open anywhere, in any thread. While it is zero, recording takes the
# fast path without reading the context variables at all.
special = 0
_lock = threading.Lock()
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _open() -> None:
    global special
    with _lock:
        special += 1


def _close() -> None:
    global special
    with _lock:
        special -= 1


def is_grad_enabled() -> bool:
    """Whether operations in this context record the graph."""
    return _grad_enabled.get()


def anomaly_registry() -> dict | None:
    """The creation sites of nodes made under `detect_anomaly` in this context, or None."""
    return _anomaly.get()


@contextlib.contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    _open()
    token = _grad_enabled.set(enabled)
    try:
        yield
    finally:
        _grad_enabled.reset(token)
        _close()


def no_grad() -> contextlib.AbstractContextManager[None]:
    """A context (or decorator) under which operations record no graph: results are leaves."""
    return _grad_mode(False)


def enable_grad() -> contextlib.AbstractContextManager[None]:
    """A context (or decorator) that records the graph again, even inside `no_grad`."""
    return _grad_mode(True)


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """A context under which a NaN or infinite result or gradient raises FloatingPointError."""
    _open()
    outer = _anomaly.get()
    # Nodes made inside remember the line of user code that made them (for the error message).
    token = _anomaly.set({} if outer is None else outer)
    try:
        yield
    finally:
        _anomaly.reset(token)
        _close()


def user_site() -> str:
    """`file:line` of the innermost frame outside this package: the user's line that made a node."""
    frame = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"
