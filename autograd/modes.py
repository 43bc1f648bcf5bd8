"""Recording modes: `no_grad`, `enable_grad`, `set_grad_enabled`, `detect_anomaly`, each context-local."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import os
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

_grad_enabled = contextvars.ContextVar("chaingrad_grad_enabled", default=True)
_anomaly = contextvars.ContextVar("chaingrad_anomaly", default=False)

# How many mode contexts are open anywhere, in any thread. While it is zero, recording takes the
# fast path without reading the context variables at all.
special = 0
_lock = threading.Lock()
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# The library's own frames, skipped when looking for the user's line: this package and `nn` (a
# sibling package of the same distribution), subpackages included.
_LIBRARY_DIRS = (_PACKAGE_DIR + os.sep, os.path.join(os.path.dirname(_PACKAGE_DIR), "nn") + os.sep)


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


def is_anomaly_enabled() -> bool:
    """Whether `detect_anomaly` is on in this context."""
    return _anomaly.get()


# The grad modes to restore, innermost last, of the `no_grad`/`enable_grad` blocks open in this
# context. The objects below keep no state of their own, so one object serves any number of
# with-blocks, nested, one after another or in several threads at once.
_saved_modes: contextvars.ContextVar[tuple[bool, ...]] = contextvars.ContextVar(
    "chaingrad_saved_grad_modes", default=()
)


class _GradMode:
    """A reusable context manager and decorator that turns recording on or off."""

    _enabled: bool

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # `no_grad()` takes nothing; `@no_grad` without parentheses calls the class with the
        # function itself. Anything else is named here, not in a bare error about __new__.
        if kwargs or len(args) > 1:
            given = [type(a).__name__ for a in args] + [f"{k}=" for k in kwargs]
            raise TypeError(f"{cls.__name__}() takes no arguments (or, used as a decorator without "
                            f"parentheses, the function alone), got {', '.join(given)}")
        mode = super().__new__(cls)
        return mode(args[0]) if args else mode

    def __enter__(self) -> None:
        _open()
        _saved_modes.set((*_saved_modes.get(), _grad_enabled.get()))
        _grad_enabled.set(self._enabled)

    def __exit__(self, *exc: object) -> None:
        saved = _saved_modes.get()
        _saved_modes.set(saved[:-1])
        _grad_enabled.set(saved[-1])
        _close()

    def __call__(self, func: Callable[..., Any]) -> Any:
        return _decorate(self, func)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class no_grad(_GradMode):
    """A context (or decorator, with or without parentheses) under which operations record no
    graph: results are leaves. One object can be reused in any number of with-blocks."""

    _enabled = False


class enable_grad(_GradMode):
    """A context (or decorator, with or without parentheses) that records the graph again, even
    inside `no_grad`."""

    _enabled = True


class set_grad_enabled:
    """Turn recording on or off, as a function, a context manager or a decorator (as PyTorch).

    Called alone (`set_grad_enabled(False)`) it sets the mode of the current context at once and
    leaves it set; as `with set_grad_enabled(flag):` it restores the previous mode on exit.
    """

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {type(mode).__name__} {mode!r}")
        self._mode = mode
        self._set()

    def _set(self) -> None:
        self._prev = _grad_enabled.get()
        # Recording reads the mode only while some context is open: a mode set by the function
        # form keeps it open (a few percent on node creation for the rest of the process).
        self._opened = self._mode != self._prev
        if self._opened:
            _open()
        _grad_enabled.set(self._mode)
        self._active = True

    def _restore(self) -> None:
        if self._active:
            self._active = False
            _grad_enabled.set(self._prev)
            if self._opened:
                _close()

    def __enter__(self) -> None:
        if not self._active:  # the object is used in a second with-block
            self._set()

    def __exit__(self, *exc: object) -> None:
        self._restore()

    def __call__(self, func: Callable[..., Any]) -> Any:
        # As a decorator the mode applies to each call only, not from now on.
        self._restore()
        return _decorate(enable_grad() if self._mode else no_grad(), func)

    def __repr__(self) -> str:
        return f"set_grad_enabled({self._mode})"


def _decorate(mode: _GradMode, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` run under `mode` on every call; a generator function under `mode` at every step."""
    name = type(mode).__name__
    if not callable(func):
        raise TypeError(f"{name}: expected a function to decorate, got {type(func).__name__} {func!r}")
    if inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError(f"{name} cannot decorate the async function {func.__qualname__}: "
                        f"use `with {name}():` inside it")
    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def generator(*args: Any, **kwargs: Any) -> Any:
            # The mode holds while the generator runs, not while it is suspended at a yield.
            with mode:
                gen = func(*args, **kwargs)
                try:
                    item = next(gen)
                except StopIteration as stop:
                    return stop.value
            while True:
                try:
                    sent = yield item
                except GeneratorExit:
                    with mode:
                        gen.close()
                    raise
                except BaseException as err:  # noqa: B036 (passed on to the generator)
                    with mode:
                        try:
                            item = gen.throw(err)
                        except StopIteration as stop:
                            return stop.value
                else:
                    with mode:
                        try:
                            item = gen.send(sent)
                        except StopIteration as stop:
                            return stop.value

        return generator

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with mode:
            return func(*args, **kwargs)

    return wrapper


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """A context under which a NaN or infinite result or gradient raises FloatingPointError.

    Nodes made inside remember the user's line that made them, on the node itself (see
    `primitive.SitedValue`): nothing outlives the nodes, so memory stays flat however long the
    mode stays on.
    """
    _open()
    token = _anomaly.set(True)
    try:
        yield
    finally:
        _anomaly.reset(token)
        _close()


# file name -> whether it belongs to the library (autograd or nn): one test per file, not per frame.
_is_library: dict[str, bool] = {}


def user_frame() -> tuple[str, int]:
    """(file, line) of the innermost frame outside the `autograd` and `nn` packages."""
    frame: FrameType | None = sys._getframe(1)
    known = _is_library
    while frame is not None:
        filename = frame.f_code.co_filename
        inside = known.get(filename)
        if inside is None:
            inside = known[filename] = os.path.abspath(filename).startswith(_LIBRARY_DIRS)
        if not inside:
            return filename, frame.f_lineno
        frame = frame.f_back
    return "<unknown>", 0


def user_site() -> str:
    """`file:line` of the innermost frame outside `autograd` and `nn`: the user's line that made a node."""
    return format_site(user_frame())


def site_of(node: Any) -> str:
    """`file:line` of the user's code that made `node` under detect_anomaly (or a note if not)."""
    return format_site(getattr(node, "_site", None))


def format_site(site: tuple[str, int] | None) -> str:
    """`file:line` of a site from `user_frame`; a note for a node made outside detect_anomaly."""
    if site is None:
        return "a line outside detect_anomaly"
    return f"{site[0]}:{site[1]}"
