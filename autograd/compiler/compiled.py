"""`compile(f)`: trace once, replay many; the cache of programs, their guards and the fallbacks."""

from __future__ import annotations

import contextvars
import inspect
import marshal
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from ..value import Value, to_float
from . import python_backend
from .trace import GuardFailure, Trace, flatten, trace, unflatten_like

BACKENDS = ("python", "numpy")


class _Cell:
    """Stands in for a Value in `value_and_grad`: the program reads `.data`, adds into `.grad`."""

    __slots__ = ("data", "grad")

    def __init__(self, data: float) -> None:
        self.data = data
        self.grad = 0.0


class _Entry:
    """One program with what it needs to read its inputs from a call's arguments."""

    def __init__(self, run: Callable[[list[Any]], Any], live: Sequence[Value], fields: tuple) -> None:
        (self.first, self.floats, self.kinds, self.positions, self.aux_template, self.source,
         self.backend, self.nodes, self.guards) = fields
        self.run = run
        self.live = list(live)
        # Shortcuts of a call's bookkeeping, which is per leaf (a sum of 10^5 products: 2 * 10^5).
        # Each leaf its own slot, in order (a repeated Value is one slot for several leaves).
        self.in_order = self.positions == list(range(len(self.first)))
        self.every_float = len(self.floats) == len(self.first)
        self.shape: tuple | None = None  # the arguments' flat shape (flatten's fast key), if it has one

    def inputs(self, leaves: list[Any]) -> list[Any]:
        a = leaves[:] if self.in_order else [leaves[p] for p in self.first]
        if self.shape is None:  # flatten's fast path passes floats only where its key says "f"
            for k in self.floats:
                if type(a[k]) is not float:
                    a[k] = to_float(a[k], "compiled argument")
        if self.live:
            a += self.live
        return a


def _regrouped(dynamic: tuple, shape: tuple, flat: list[Any]) -> tuple:
    """`flat` in the structure of the arguments, whose shape is flatten's fast key (flat lists or
    tuples, or lists of rows): unflatten_like by slices, as each argument's own types."""
    out: list[Any] = []
    i = 0
    for arg, (kind, size) in zip(dynamic, shape):  # noqa: B905 (a key item per argument)
        if kind == "ff":
            rows = []
            for row, m in zip(arg, size):  # noqa: B905
                rows.append(flat[i:i + m] if type(row) is list else tuple(flat[i:i + m]))
                i += m
            out.append(rows if type(arg) is list else tuple(rows))
        else:
            out.append(flat[i:i + size] if type(arg) is list else tuple(flat[i:i + size]))
            i += size
    return tuple(out)


def _entry_fields(tr: Trace, source: str | None, backend: str) -> tuple:
    """What an _Entry keeps besides its program and live leaves, as plain data (see _Entry)."""
    n_args = len(tr.slots) - tr.kinds.count("live")
    first = [0] * n_args
    for pos in range(len(tr.positions) - 1, -1, -1):
        first[tr.positions[pos]] = pos
    floats = [k for k in range(n_args) if tr.kinds[k] == "float"]
    # The shape of the auxiliary outputs, without their Values (which would keep the graph).
    aux = [tr.aux]
    aux_template = unflatten_like(aux, [None] * len(_floats_of(aux)))
    return (first, floats, list(tr.kinds), list(tr.positions), aux_template, source, backend,
            len(tr.forward), len(tr.guards) + len(tr.cuts))


class Compiled:
    """A function of scalar arguments compiled to a replayable forward-and-backward program.

    `compiled(*args)` returns f's output as a float (and the auxiliary values with `has_aux`) and
    adds the gradients into the `.grad` of every Value argument and every Value f reads without
    receiving it, exactly as `f(*args).backward()` would; `value_and_grad(*args)` returns the
    gradients instead, for every argument, touching no `.grad`.
    """

    def __init__(self, f: Callable[..., Any], backend: str = "python", has_aux: bool = False,
                 retrace: bool = True, max_traces: int = 8, static_argnums: Sequence[int] = (),
                 keep_source: bool | None = None) -> None:
        if not callable(f):
            raise TypeError(f"compile: f must be a function, got {type(f).__name__} {f!r:.60}")
        if not isinstance(backend, str):
            raise TypeError(f"compile: backend must be a string ({', '.join(BACKENDS)}), "
                            f"got {type(backend).__name__}")
        if backend not in BACKENDS:
            raise ValueError(f"compile: unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
        if backend == "numpy":
            from . import numpy_backend  # noqa: F401 (fails here, clearly, when NumPy is missing)
        if max_traces < 1:
            raise ValueError(f"compile: max_traces must be at least 1, got {max_traces!r}")
        self.f = f
        self.backend = backend
        self.has_aux = has_aux
        self.retrace = retrace
        self.max_traces = max_traces
        self.static_argnums = tuple(sorted(static_argnums))
        self.keep_source = keep_source
        self.traces = 0  # how many times f was traced
        self._cache: dict[Any, list[_Entry]] = {}
        self._names = _parameter_names(f)
        self._gave_up = False

    # -- the two ways to call --

    def __call__(self, *args: Any) -> Any:
        """f's output (a float; (output, aux) with has_aux), gradients added into the Values' .grad."""
        out, aux, _ = self._replay(args, cells=False)
        return (out, aux) if self.has_aux else out

    def value_and_grad(self, *args: Any) -> tuple[Any, tuple[Any, ...]]:
        """(output, gradients): d output / d argument for every argument, in the arguments' shape.

        No `.grad` is touched (Value arguments and captured Values start from 0). With has_aux
        the output is (output, aux).
        """
        out, aux, grads = self._replay(args, cells=True)
        return ((out, aux) if self.has_aux else out), grads

    @property
    def source(self) -> str | None:
        """The generated Python of the latest program (kept for small graphs), or None."""
        entry = self._latest()
        return None if entry is None else entry.source

    @property
    def programs(self) -> int:
        """How many programs are cached (one per distinct argument shape and guard outcome)."""
        return sum(len(entries) for entries in self._cache.values())

    def _latest(self) -> _Entry | None:
        latest = None
        for entries in self._cache.values():
            if entries:
                latest = entries[0]
        return latest

    # -- the machinery --

    def _split(self, args: tuple) -> tuple[tuple, tuple]:
        if not self.static_argnums:
            return args, ()
        statics = tuple(args[i] for i in self.static_argnums)
        dynamic = tuple(a for i, a in enumerate(args) if i not in self.static_argnums)
        return dynamic, statics

    def _join(self, dynamic: Sequence[Any], statics: tuple) -> list[Any]:
        if not self.static_argnums:
            return list(dynamic)
        out, d, s = [], iter(dynamic), iter(statics)
        for i in range(len(dynamic) + len(statics)):
            out.append(next(s) if i in self.static_argnums else next(d))
        return out

    def _replay(self, args: tuple, cells: bool) -> tuple[Any, Any, Any]:
        dynamic, statics = self._split(args)
        leaves, key = flatten(dynamic)
        key = (key, statics)
        entries = self._cache.get(key)
        if entries:
            for i, entry in enumerate(entries):
                done = self._run(entry, args, dynamic, leaves, cells)
                if done is not None:
                    if i:
                        entries.insert(0, entries.pop(i))  # the most recent match is tried first
                    return done
            if not self.retrace:
                raise GuardFailure(
                    "compile: the function's comparisons came out differently from every trace "
                    "(retrace=False)"
                )
        return self._trace_and_run(args, dynamic, statics, leaves, key, cells)

    def _run(self, entry: _Entry, args: tuple, dynamic: tuple, leaves: list[Any], cells: bool) -> Any:
        a = entry.inputs(leaves)
        if cells and not (entry.every_float and not entry.live):
            a = [_Cell(x.data) if kind != "float" else x for x, kind in zip(a, entry.kinds)]  # noqa: B905
        try:
            result = entry.run(a)
        except python_backend.Redo:  # a called rule changed shape: this call runs dynamically
            return self._dynamic(args, dynamic, leaves, cells, None)
        except Exception as err:  # the dynamic engine raises its own error (or, if not, answers)
            return self._dynamic(args, dynamic, leaves, cells, err)
        if not result:  # a guard failed
            return None
        out, aux, float_grads = result
        aux = unflatten_like(entry.aux_template, list(aux))[0] if self.has_aux else None
        if not cells:
            return out, aux, None
        return out, aux, self._gradients(entry, dynamic, a, float_grads)

    def _gradients(self, entry: _Entry, dynamic: tuple, a: list[Any], float_grads: Sequence[float]) -> tuple:
        if entry.every_float:
            per_slot = list(float_grads)
        else:
            per_slot = []
            fi = iter(float_grads)
            for k in range(len(entry.first)):
                per_slot.append(next(fi) if entry.kinds[k] == "float" else a[k].grad)
        per_leaf = per_slot if entry.in_order else [per_slot[k] for k in entry.positions]
        if entry.shape is not None:
            return _regrouped(dynamic, entry.shape, per_leaf)
        return tuple(unflatten_like(dynamic, per_leaf))

    def _trace_and_run(self, args: tuple, dynamic: tuple, statics: tuple, leaves: list[Any], key: Any,
                       cells: bool) -> Any:
        entries = self._cache.setdefault(key, [])
        if self.programs >= self.max_traces:
            if not self._gave_up:
                self._gave_up = True
                warnings.warn(f"compile: {self.max_traces} programs traced already (max_traces); "
                              f"further argument shapes and branches run dynamically", stacklevel=4)
            return self._dynamic(args, dynamic, leaves, cells, None)
        names = _leaf_names(dynamic, self._dynamic_names())
        # What this call keeps is made before the trace or by compact() (see python_backend.compact).
        python_backend.before_trace()
        box: list[Any] = [None]
        # In a copy of the context: tracing and deriving set the grad mode again and again, and each
        # time the context's mapping of variables is made anew; this thread's own is left as it was.
        fields, live = contextvars.copy_context().run(self._traced, box, dynamic, statics, names)
        self.traces += 1
        run, kept = python_backend.compact(box, fields)
        entry = _Entry(run, live, kept)
        if key[0][:1] != ("walked",):
            entry.shape = key[0]
        entries.insert(0, entry)
        done = self._run(entry, args, dynamic, leaves, cells)
        if done is None:
            raise RuntimeError("compile: a fresh trace failed its own guards (the function is not "
                               "deterministic in its comparisons)")
        return done

    def _traced(self, box: list[Any], dynamic: tuple, statics: tuple, names: list[str]
                ) -> tuple[bytes, tuple[Value, ...]]:
        """Trace f and generate its program into `box`: the entry's fields (marshal data) and the
        live leaves. The trace is freed on return."""
        wrapped_f = self._bound()
        tr, _ = trace(lambda *d: wrapped_f(d, statics), dynamic, self.has_aux, names)
        box[0], source = self._generate(tr)
        fields = marshal.dumps(_entry_fields(tr, source, self.backend))
        return fields, tuple(leaf for leaf, kind in zip(tr.slots, tr.kinds) if kind == "live")  # noqa: B905

    def _bound(self) -> Callable[[tuple, tuple], Any]:
        f = self.f

        def call(d: tuple, statics: tuple) -> Any:
            return f(*self._join(d, statics))

        return call

    def _dynamic_names(self) -> list[str]:
        if not self.static_argnums:
            return self._names
        return [n for i, n in enumerate(self._names) if i not in self.static_argnums]

    def _generate(self, tr: Trace) -> tuple[Callable[[list[Any]], Any], str | None]:
        if self.backend == "numpy":
            from . import numpy_backend

            g = numpy_backend.generate(tr)
        else:
            g = python_backend.generate(tr, keep_source=self.keep_source)
        return g.run, g.source

    def _dynamic(self, args: tuple, dynamic: tuple, leaves: list[Any], cells: bool,
                 err: Exception | None) -> Any:
        """Run f on Values and backward(), as without compile (its errors are the engine's own)."""
        from ..engine import gradients

        if cells:
            leaf_values = [Value(x.data) if isinstance(x, Value) else Value(to_float(x, "argument"))
                           for x in leaves]
        else:
            leaf_values = [x if isinstance(x, Value) else Value(to_float(x, "argument")) for x in leaves]
        dynamic_values = unflatten_like(dynamic, leaf_values)
        _, statics = self._split(args)
        result = self.f(*self._join(dynamic_values, statics))
        root, aux = result if self.has_aux else (result, None)
        if cells and isinstance(root, Value) and leaf_values:
            # Into the fresh leaves only (captured leaves keep their .grad, as in the program):
            # each adds its sum to 0.0, so a zero is +0.0 as in backward() and the program.
            root.backward(inputs=leaf_values)
            values = [v.grad for v in leaf_values]
        elif cells:
            values = list(gradients(root, leaf_values))
        else:
            root.backward()
            values = None
        if err is not None:
            warnings.warn(f"compile: the program raised {type(err).__name__}: {err}, the dynamic engine "
                          f"did not; its result is used", stacklevel=4)
        aux_values = None
        if self.has_aux:
            aux_values = unflatten_like([aux], _floats_of([aux]))[0]
        out = root.data
        if not cells:
            return out, aux_values, None
        return out, aux_values, tuple(unflatten_like(dynamic, values or []))


def _floats_of(tree: Any) -> list[Any]:
    out: list[Any] = []
    stack = [tree]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(reversed(x))
        else:
            out.append(x.data if isinstance(x, Value) else x)
    return out


def _parameter_names(f: Callable[..., Any]) -> list[str]:
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _leaf_names(args: Sequence[Any], names: Sequence[str]) -> list[str]:
    """A readable name per flattened leaf: `x`, or `w_0`, `w_1`, ... inside a list argument."""
    out: list[str] = []
    stack: list[tuple[Any, str, bool]] = [
        (a, names[i] if i < len(names) else f"arg{i}", False) for i, a in enumerate(args)
    ][::-1]
    while stack:
        a, name, _ = stack.pop()
        if isinstance(a, (list, tuple)):
            stack.extend((x, f"{name}_{j}", False) for j, x in reversed(list(enumerate(a))))
        else:
            out.append(name)
    return out


def compile(f: Callable[..., Any], backend: str = "python", *, has_aux: bool = False,
            retrace: bool = True, max_traces: int = 8, static_argnums: Sequence[int] = (),
            keep_source: bool | None = None) -> Compiled:
    """Compile `f` (scalar arguments -> a Value) into a program that replays forward and backward.

    The first call traces f on Values; later calls with new argument values (numbers, Values, and
    lists or tuples of them) replay the program without building a graph. backend "python"
    (default) gives backward()'s numbers bit for bit; "numpy" runs independent nodes of one op
    together (needs NumPy; agrees to about 1e-12). A comparison of Values in f that comes out
    differently retraces (`retrace=False`: raises GuardFailure); `static_argnums` are passed as
    they are and key the cache (labels, say); `has_aux`: f returns (output, aux).
    """
    return Compiled(f, backend, has_aux, retrace, max_traces, static_argnums, keep_source)
