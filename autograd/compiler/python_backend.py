"""The pure-Python backend: a trace becomes Python source, compiled with `compile()`.

Forward: one statement per node, the op's forward inlined where symbolic evaluation derived it
(`t = a * b`, `r = t if t > 0.0 else 0.0`), a call of the forward otherwise. Backward: the nodes
in backward()'s order, each node's partials (from its rule, or its float kernel for `dot` and
`sum`) multiplied by its gradient exactly as backward() does, and the contributions into each
gradient added in backward()'s order, so the numbers are bit for bit backward()'s.

Three things make it fast (measured on the moons step, 100 points, after a few training steps;
one replay, same process):
- a node whose gradient is 0 skips its backward (`if g:`) where that is exact (skip.py: its
  partials are finite whenever the values they read are; a running sum of a few values, whose
  finiteness implies theirs, certifies them, otherwise the call runs dynamically): 1.56 -> 0.82
  ms, as most hinge margins and ReLUs are inactive;
- runs of isomorphic copies (a minibatch's samples, python_loops.py) are loops, not copies of
  straight-line code: 0.91 -> 0.82 ms, 14,436 -> 1,267 locals, 1.3 * 10^6 -> 57,000
  instructions, trace + compile 0.96 -> 0.14 s;
- the most used locals get the first slots (`_Writer._slots`).

Wide graphs: a loop's inputs are read as slices of the arguments (`list(zip(A[:n], A[n:]))`)
rather than loaded one statement each, and what reads or writes every copy's values (a sum of
the copies' outputs, the gradients returned or written into `.grad`) reads their lists as slices
(python_loops.Columns). A sum of 10^5 products: 58 MB of source -> 600 characters, trace +
compile + first call 24 s -> 2.4 s (the rest is tracing, finding the loop and deriving sum's
kernel on 10^5 placeholders), one replay 107 -> 85 ms.

Long functions are split into chunks that pass values through a list (loops are then left
out), and long sums into statements of at most MAX_TERMS terms, so CPython's compiler (which
recurses on nested expressions) never overflows. Nothing here recurses.
"""

from __future__ import annotations

import gc
import keyword
import marshal
import math
import re
import sys
import threading
import types
from collections.abc import Callable
from itertools import chain
from typing import Any

from ..primitive import Primitive
from ..value import MANY, Value, parents_of
from . import hooks, python_loops, skip, symbolic
from .trace import Trace

MAX_TERMS = 100  # terms of one sum statement
CHUNK = 60000  # statements per generated function
# Characters per generated function: compile() needs about 60 bytes per character of source at
# its peak (the syntax tree), and the process keeps that high-water mark: about 240 MB per chunk.
# Chunks are slow (the moons step replays in 2.0 ms in chunks of 250,000 characters, 1.85 in 10^6,
# 1.63 as one function of 3.5 * 10^6: values crossing chunks cost a list store and load each), so
# the limit is as high as the memory allows; _release_memory gives the peak back afterwards.
CHUNK_CHARS = 4_000_000
PROGRAM_FILE = "<chaingrad compiled program>"
TRIM_CHARS = 1_000_000  # sources longer than this are followed by a malloc_trim (see _release_memory)
READABLE_NODES = 400  # graphs up to this size keep their source (with one comment per node)
HOT_SLOTS = 250  # locals declared first (see _Writer._slots); the function's arguments come before
_LOCAL = re.compile(r"\bv\d{7}\b")  # the generated locals of large programs (see fresh())
# Compiled here, not by re's cache mid-generation (what the cache keeps would sit among garbage).
_NON_WORD = re.compile(r"\W")
_FIELD = re.compile(r"\{(\d+)\}")
# A node whose backward adds at least this many contributions is skipped when its gradient is 0
# (see skip.py): on the moons step that is every dot (from 3 terms), most of whose gradients are
# 0 once hinge margins and ReLUs die. Cheaper nodes (relu's one product) cost less than the test.
GATE_MIN = 3
GATE_MAX = 1024  # wider nodes are not gated: each contribution would be a statement of its own

# Python's precedences (higher binds tighter), for parentheses.
_ATOM, _POW, _UNARY, _PRODUCT, _SUM, _CMP, _COND = 20, 14, 12, 11, 10, 6, 2
_BIN_PREC = {"+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT, "**": _POW}


# Held while compact() rebuilds the namespace, and by the namespace's readers and writers.
_COMPACTING = threading.RLock()  # (a finalizer that compiles, run by compact's collection)


class Redo(Exception):
    """Raised by a program when a called rule's shape differs from the trace: run dynamically."""


def _zero_check(a: list[Any], slots: tuple[int, ...], grads: tuple[float, ...]) -> None:
    """Redo when a zero gradient would be written over an incoming -0.0 (see generate)."""
    for k, g in zip(slots, grads):  # noqa: B905 (the same length)
        if not g and math.copysign(1.0, a[k].grad) < 0.0:
            raise Redo()


class Namespace:
    """The generated module's globals: functions and objects the code calls, by readable names."""

    def __init__(self) -> None:
        self.objects: dict[str, Any] = {"nan": math.nan, "inf": math.inf, "_Redo": Redo,
                                        "_zero_check": _zero_check}
        self.names: dict[int, str] = {}

    def bind(self, obj: Any, hint: str) -> str:
        """The global name of `obj` (bound once)."""
        with _COMPACTING:
            name = self.names.get(id(obj))
            if name is None:
                base = "_" + _NON_WORD.sub("_", hint).strip("_")
                name, k = base, 1
                while name in self.objects:
                    k += 1
                    name = f"{base}_{k}"
                self.objects[name] = obj
                self.names[id(obj)] = name
        return name

    def snapshot(self) -> dict[str, Any]:
        """The names bound now and their objects (a copy)."""
        with _COMPACTING:
            return dict(self.objects)


def emit(expr: tuple, ns: Namespace, uses: set[str] | None = None) -> str:
    """Python source of `expr` (iterative); the variables it reads are added to `uses`."""
    done: dict[int, tuple[str, int]] = {}
    for e in symbolic.walk(expr):
        kind = e[0]
        if kind == "var":
            if uses is not None:
                uses.add(e[1].split("[", 1)[0])
            done[id(e)] = (e[1], _ATOM)
        elif kind == "const":
            done[id(e)] = _constant(e[1])
        elif kind == "bin":
            op, p = e[1], _BIN_PREC[e[1]]
            a, b = done[id(e[2])], done[id(e[3])]
            if op == "**":
                left, right = _wrap(a, _POW + 1), _wrap(b, _UNARY)
            else:
                left, right = _wrap(a, p), _wrap(b, p + 1)
            done[id(e)] = (f"{left} {op} {right}", p)
        elif kind == "neg":
            done[id(e)] = (f"-{_wrap(done[id(e[1])], _UNARY)}", _UNARY)
        elif kind == "cmp":
            a, b = _cmp_side(e[2], done), _cmp_side(e[3], done)
            done[id(e)] = (f"{_wrap(a, _CMP + 1)} {e[1]} {_wrap(b, _CMP + 1)}", _CMP)
        elif kind == "cond":
            c, a, b = done[id(e[1])], done[id(e[2])], done[id(e[3])]
            done[id(e)] = (f"{_wrap(a, _COND + 1)} if {_wrap(c, _COND + 1)} else {_wrap(b, _COND)}", _COND)
        elif kind == "call":
            fn = ns.bind(e[1], getattr(e[1], "__name__", "fn"))
            done[id(e)] = (f"{fn}({', '.join(done[id(a)][0] for a in e[2])})", _ATOM)
        else:
            raise ValueError(f"emit: cannot emit a {kind!r} expression")
    return done[id(expr)][0]


def _cmp_side(e: tuple, done: dict[int, tuple[str, int]]) -> tuple[str, int]:
    """A comparison's operand; an integer constant as the float of the same value.

    A comparison of numbers is exact in Python, so `x > 0.0` is `x > 0` for every number x, and
    CPython 3.11+ specializes a comparison of two floats (about twice as fast as float to int).
    """
    if e[0] == "const" and type(e[1]) is int and abs(e[1]) <= 2**53:
        return _constant(float(e[1]))
    return done[id(e)]


def _wrap(piece: tuple[str, int], needed: int) -> str:
    return piece[0] if piece[1] >= needed else f"({piece[0]})"


def _constant(x: Any) -> tuple[str, int]:
    if x != x:
        return "nan", _ATOM
    if x in (math.inf, -math.inf):
        return ("inf", _ATOM) if x > 0 else ("-inf", _UNARY)
    text = repr(x)
    return text, (_UNARY if text.startswith("-") else _ATOM)


def substitute(expr: tuple, env: list[tuple]) -> tuple:
    """`expr` with ("sym", k) replaced by env[k] and table applications by their forwards."""
    done: dict[int, tuple] = {}
    for e in symbolic.walk(expr):
        kind = e[0]
        if kind == "sym":
            new = env[e[1]]
        elif kind in ("const", "var"):
            new = e
        elif kind == "bin":
            new = ("bin", e[1], done[id(e[2])], done[id(e[3])])
        elif kind == "neg":
            new = ("neg", done[id(e[1])])
        elif kind == "cmp":
            new = ("cmp", e[1], done[id(e[2])], done[id(e[3])])
        elif kind == "cond":
            new = ("cond", done[id(e[1])], done[id(e[2])], done[id(e[3])])
        elif kind == "call":
            new = ("call", e[1], tuple(done[id(a)] for a in e[2]))
        elif kind == "apply":
            new = apply_form(e[1], [done[id(a)] for a in e[2]])
        else:
            raise ValueError(f"substitute: unknown expression {kind!r}")
        done[id(e)] = new
    return done[id(expr)]


def apply_form(prim: Primitive, operands: list[tuple]) -> tuple:
    """The expression of `prim`'s forward on `operands`: inlined, or a call of the forward."""
    form = symbolic.forward_form(prim, len(operands))
    if form is None:
        return ("call", prim.forward, tuple(operands))
    return substitute(form, operands)


def _is_one(e: tuple) -> bool:
    return e[0] == "const" and type(e[1]) in (int, float) and e[1] == 1


def _has_call(e: tuple) -> bool:
    return any(x[0] in ("call", "apply") or (x[0] == "bin" and x[1] in ("/", "**")) for x in symbolic.walk(e))


class _Writer:
    """Statements in chunks, with the variables each defines and reads."""

    def __init__(self, chunk: int, splittable: bool = True) -> None:
        self.chunk = chunk
        self.splittable = splittable  # only when every statement says what it reads
        self.chars = 0
        self.chunks: list[list[tuple[str, tuple[str, ...], set[str]]]] = [[]]
        self.guard_chunks: set[int] = set()
        self.weights: dict[tuple[int, int], int] = {}  # statements run more than once (loops)
        self.declare = False  # whether to give the most used names the first local slots

    def add(self, text: str, defines: tuple[str, ...] = (), uses: set[str] | None = None,
            guard: bool = False, weight: int = 1) -> None:
        current = self.chunks[-1]
        if self.splittable and (len(current) >= self.chunk or self.chars >= CHUNK_CHARS):
            current = []
            self.chunks.append(current)
            self.chars = 0
        if weight != 1:
            self.weights[(len(self.chunks) - 1, len(current))] = weight
        current.append((text, defines, uses or set()))
        self.chars += len(text)
        if guard:
            self.guard_chunks.add(len(self.chunks) - 1)

    def source(self, result: str) -> list[str]:
        """The functions' texts: `program(A)`, after the chunks it calls when there are several."""
        if len(self.chunks) == 1:
            body = [f"    {t}".replace("{FAIL}", "None") for t, _, _ in self.chunks[0]]
            return ["\n".join(["def program(A):", *self._slots(0), *body, f"    return {result}"]) + "\n"]
        # Which variables each chunk reads before defining them (loaded from S), and defines.
        loads: list[list[str]] = []
        defs: list[set[str]] = []
        for chunk in self.chunks:
            defined: set[str] = set()
            need: dict[str, None] = {}
            for _, d, u in chunk:
                for v in u:
                    if v not in defined and v not in need:
                        need[v] = None
                defined.update(d)
            loads.append(list(need))
            defs.append(defined)
        later: set[str] = set()
        exports: list[list[str]] = [[] for _ in self.chunks]
        for i in range(len(self.chunks) - 1, -1, -1):
            exports[i] = sorted(defs[i] & later)
            later = (later - defs[i]) | set(loads[i])
        slot: dict[str, int] = {}
        for names in exports:
            for v in names:
                slot.setdefault(v, len(slot))
        pieces = []
        for i, chunk in enumerate(self.chunks):
            out = [f"def _chunk{i}(A, S):", *self._slots(i)]
            out += [f"    {v} = S[{slot[v]}]" for v in loads[i]]
            out += [f"    {t}".replace("{FAIL}", "False") for t, _, _ in chunk]
            out += [f"    S[{slot[v]}] = {v}" for v in exports[i]]
            if i == len(self.chunks) - 1:
                out.append(f"    return {result}")
            pieces.append("\n".join(out) + "\n")
        out = ["def program(A):", f"    S = [None] * {len(slot)}"]
        for i in range(len(self.chunks) - 1):
            call = f"_chunk{i}(A, S)"
            guarded = f"    if {call} is False:\n        return None"
            out.append(guarded if i in self.guard_chunks else f"    {call}")
        out.append(f"    return _chunk{len(self.chunks) - 1}(A, S)")
        pieces.append("\n".join(out) + "\n")
        return pieces


    def _slots(self, i: int) -> list[str]:
        """`if 0:` naming the function's most used locals first, so they get the first slots.

        CPython numbers a function's locals in order of first appearance (the compiler drops the
        dead block but not its names); an index past 255 costs an EXTENDED_ARG per access, and
        3.11's fused LOAD_FAST pairs need both indices below 256 (3.13's below 16).
        """
        if not self.declare:
            return []
        count: dict[str, int] = {}
        for s, (text, _, _) in enumerate(self.chunks[i]):
            weight = self.weights.get((i, s), 1)
            for name in _LOCAL.findall(text):
                count[name] = count.get(name, 0) + weight
        hot = sorted(count, key=count.__getitem__, reverse=True)[:HOT_SLOTS]
        if len(count) <= HOT_SLOTS or not hot:
            return []
        return [f"    if 0:  # local slots, most used first\n        {' = '.join(hot)} = 0"]


def _compact_lines(code: Any) -> Any:
    """`code` with a line table that maps every instruction to its first line, without columns.

    CPython 3.11+ keeps a line and column range per instruction: for a generated program that is
    more memory than its bytecode, and no one reads it (an error in a program reruns the call in
    the dynamic engine). Entries of the "no columns" form, 8 code units each, two bytes apiece.
    """
    if sys.version_info < (3, 11) or len(code.co_linetable) < 4096:
        return code
    units = len(code.co_code) // 2
    full, rest = divmod(units, 8)
    table = bytes((0x80 | (13 << 3) | 7, 0)) * full
    if rest:
        table += bytes((0x80 | (13 << 3) | (rest - 1), 0))
    return code.replace(co_linetable=table)


class Generated:
    """A generated program: `run(A)` -> (output, aux values, gradients of the float slots) or None."""

    def __init__(self, run: Callable[[list[Any]], Any], source: str | None, aux_count: int) -> None:
        self.run = run
        self.source = source
        self.aux_count = aux_count


# One namespace for every program: a function is bound once, under one name, so that the
# templates below (cached per primitive and arity) are valid in every program.
NAMESPACE = Namespace()
_templates: dict[tuple[str, Primitive, int], Any] = {}


def _template(kind: str, prim: Primitive, n: int, make: Callable[[], Any]) -> Any:
    key = (kind, prim, n)
    t = _templates.get(key)
    if t is None:
        t = make()
        if n <= symbolic._CACHE_LIMIT:
            if len(_templates) > 4096:
                _templates.clear()
            _templates[key] = t
    return t


def _slots(n: int) -> list[tuple]:
    return [("var", f"{{{k}}}") for k in range(n)]


def _term(e: tuple) -> str:
    """`e` as a format template, parenthesized to be one term of a sum."""
    text = emit(e, NAMESPACE)
    return f"({text})" if _precedence(e) <= _SUM else text


def _precedence(e: tuple) -> int:
    kind = e[0]
    if kind == "bin":
        return _BIN_PREC[e[1]]
    if kind == "neg":
        return _UNARY
    if kind == "cmp":
        return _CMP
    if kind == "cond":
        return _COND
    if kind == "const":
        return _constant(e[1])[1]
    return _ATOM


def forward_template(prim: Primitive, n: int) -> str:
    """The forward of `prim` on n operands `{0}`..`{n-1}`, as a format string."""
    return _template("forward", prim, n, lambda: emit(apply_form(prim, _slots(n)), NAMESPACE))


def _localize(template: str) -> tuple[str, tuple[int, ...]]:
    """A template renumbered to the operands it reads: ("{0} * {1}", (n, k)) for "{n} * {k}".

    Formatting then costs the operands it uses, not all of a wide node's (quadratic otherwise).
    """
    order: dict[int, int] = {}

    def renumber(m: re.Match) -> str:
        return f"{{{order.setdefault(int(m.group(1)), len(order))}}}"

    text = _FIELD.sub(renumber, template)
    return text, tuple(order)


def rule_templates(prim: Primitive, n: int) -> list[tuple[str, tuple[int, ...]] | None] | None:
    """Per input, g * partial as a template of the inputs {0}..{n-1}, out {n} and g {n+1}; None:
    the rule is called."""

    def make() -> list[tuple[str, tuple[int, ...]] | None] | None:
        rule = symbolic.rule_form(prim, n)
        if rule is None:
            return None
        env = _slots(n + 2)
        return [None if d is None else _localize(_term(_product(env[n + 1], substitute(d, env[: n + 1]))))
                for d in rule]

    return _template("rule", prim, n, make)


def kernel_templates(prim: Primitive, n: int) -> list[tuple[int, str, tuple[int, ...]]] | None:
    """backward's kernel of an n-ary op: [(input, contribution template)], data {0}..{n-1}, g {n}."""

    def make() -> list[tuple[int, str, tuple[int, ...]]] | None:
        kernel = symbolic.kernel_form(prim, n)
        if kernel is None:
            return None
        env = _slots(n + 1)
        # A wide node's contributions are often one expression (sum's: g): written once.
        texts: dict[int, tuple[tuple, str, tuple[int, ...]]] = {}  # id -> (the expression, kept alive)
        out = []
        for j, e in kernel:
            x = _times_one(substitute(e, env))
            t = texts.get(id(x))
            if t is None:
                t = texts[id(x)] = (x, *_localize(_term(x)))
            out.append((j, t[1], t[2]))
        return out

    return _template("kernel", prim, n, make)


def _literal(x: float) -> str:
    text, prec = _constant(x)
    return text if prec == _ATOM else f"({text})"


def _tracks(tr: Trace, repeated: set[int], chunk: int, unloaded: int = 0) -> bool:
    """Whether the program, without the nodes in `repeated` (a loop's copies past the first) and
    `unloaded` inputs, needs more than one function, so that uses must be tracked."""
    written = [node for node in tr.backward if id(node) not in repeated]
    # Edges into a loop's copies are read as slices of its lists (python_loops.Columns).
    edges = sum(1 for node in written for p in (node._a if node._b is MANY else parents_of(node))
                if id(p) not in repeated)
    statements = (len(tr.forward) - len(repeated) + len(written) + len(tr.slots) - unloaded
                  + edges // MAX_TERMS)
    # About 30 characters per term of a sum, with the long names of large programs; an
    # underestimate costs only a bigger function (a program is split only when uses are tracked).
    return statements > chunk or 30 * (statements + edges) > CHUNK_CHARS


_BUILTINS = ("zip", "reversed", "list", "all", "range")  # what programs call: no local takes these names


def _run_nodes(tr: Trace, runs: list[python_loops.Run], first: int = 0) -> set[int]:
    """The ids of the runs' nodes, in their copies from `first` on."""
    return {i for r in runs
            for i in map(id, tr.forward[r.start + r.length * first: r.start + r.length * r.copies])}


def _unloaded(tr: Trace, runs: list[python_loops.Run], in_runs: set[int]) -> set[int]:
    """The input leaves a program reads only as loops' per-copy inputs: not loaded one statement
    each, but read as slices of `A` by the loops (a sum of 10^5 products has 2 * 10^5)."""
    per_copy = {id(v) for r in runs for v in chain.from_iterable(r.inputs)}
    if not per_copy:
        return set()
    needed = {id(tr.root), *(id(v) for v in _aux_nodes(tr) if isinstance(v, Value))}
    needed.update(id(x) for _, a, b, _ in tr.guards for x in (a, b) if isinstance(x, Value))
    needed.update(id(v) for v, _ in tr.cuts)
    needed.update(id(v) for r in runs for row in r.wiring for kind, v in row if kind == "inv")
    for node in tr.forward:
        if id(node) not in in_runs:
            needed.update(map(id, node._a if node._b is MANY else parents_of(node)))
    return (per_copy - needed).intersection(map(id, tr.slots))


def generate(tr: Trace, chunk: int = CHUNK, keep_source: bool | None = None,
             skip_zero: bool = True, loops: bool = True) -> Generated:
    """Generate and compile the program of a trace (`skip_zero`: skip the backward of nodes whose
    gradient is 0 where that is exact, see skip.py; `loops`: replay runs of isomorphic copies,
    such as a minibatch's samples, as loops, see python_loops.py)."""
    readable = len(tr.forward) <= READABLE_NODES
    if keep_source is None:
        keep_source = readable
    ns = NAMESPACE
    used: set[str] = set(ns.snapshot()) | {"A", "S", "program", *_BUILTINS}
    names: dict[int, str] = {}
    runs = python_loops.find_runs(tr) if loops else []
    repeated = _run_nodes(tr, runs, 1)
    unloaded = _unloaded(tr, runs, _run_nodes(tr, runs))
    # Uses are tracked only when the program needs more than one function (loops need one).
    track = _tracks(tr, repeated, chunk, len(unloaded))
    if track and runs:
        runs, repeated, unloaded = [], set(), set()
        track = _tracks(tr, repeated, chunk, 0)
    columns = python_loops.Columns()  # texts that are items of the program's lists
    columns.add_list("A", len(tr.slots))
    rank = {} if readable else _ranks(tr, repeated)
    counter = [len(rank)]

    def fresh(hint: str, key: Any = None) -> str:
        if not readable:
            # Short uniform names (numbered by how often the trace reads them); the most used
            # get the first local slots (see _Writer._slots).
            r = rank.get(key)
            if r is None:
                counter[0] += 1
                r = counter[0]
            return f"v{r:07d}"
        base = _NON_WORD.sub("_", hint) or "v"
        if base[0].isdigit() or base.startswith("_"):
            base = "v" + base
        if keyword.iskeyword(base) or base in ("None", "True", "False"):
            base += "_"
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        return name

    alias: dict[int, str] = {}  # a copy's inputs inside a loop body: the loop's variables

    def text_of(v: Value) -> str:
        if alias and id(v) in alias:
            return alias[id(v)]
        if tr.is_constant(v):
            return _literal(v.data)
        name = names.get(id(v))
        return name if name is not None else input_read(v)

    def operand(v: Value) -> tuple:
        if alias and id(v) in alias:
            return ("var", alias[id(v)])
        return ("const", v.data) if tr.is_constant(v) else ("var", text_of(v))

    def input_read(v: Value) -> str:
        """An unloaded input, read from A where it is used."""
        k = slot_index[id(v)]
        return f"A[{k}]" if tr.kinds[k] == "float" else f"A[{k}].data"

    def uses_of(texts: list[str]) -> set[str] | None:
        return {t for t in texts if t.isidentifier()} if track else None

    w = _Writer(chunk, splittable=track)
    w.declare = not readable and bool(runs)  # straight-line code: inputs come first anyway
    comment = (lambda text: f"  # {text}") if readable else (lambda text: "")

    # -- inputs --
    first_position: dict[int, int] = {}
    if readable:
        for pos, k in enumerate(tr.positions):
            first_position.setdefault(k, pos)
    slot_index = {id(leaf): k for k, leaf in enumerate(tr.slots)}
    # The unloaded inputs are read where they are used (by a loop, as slices of A; see a_slice).
    loaded = ([k for k, i in enumerate(map(id, tr.slots)) if i not in unloaded] if unloaded
              else range(len(tr.slots)))
    for k in loaded:
        leaf, kind = tr.slots[k], tr.kinds[k]
        read = f"A[{k}]" if kind == "float" else f"A[{k}].data"
        hint = ""  # large programs number their variables (see fresh)
        if readable:
            hint = leaf.label or (tr.labels[first_position[k]] if kind != "live" else f"c{k}")
        name = names[id(leaf)] = fresh(hint, ("v", id(leaf)))
        w.add(f"{name} = {read}{comment('input' if kind != 'live' else 'captured leaf')}", (name,))

    def forward_node(node: Value, i: int) -> None:
        name = names[id(node)] = fresh(node.label or f"t{i}", ("v", id(node)))
        ops = [text_of(p) for p in parents_of(node)]
        prim: Any = node._prim  # a computed node: never None
        if len(ops) >= python_loops.MIN_SEGMENT and symbolic.forward_form(prim, len(ops)) is None:
            # A called forward of many operands (a sum of a loop's outputs): slices unpacked.
            fn = ns.bind(prim.forward, getattr(prim.forward, "__name__", "fn"))
            body = f"{fn}({', '.join(('*' if star else '') + t for t, star in columns.pack(ops))})"
        else:
            body = forward_template(prim, len(ops)).format(*ops)
        w.add(f"{name} = {body}{comment(prim.display)}", (name,), uses_of(ops))

    def a_slice(values: list[Value]) -> str | None:
        """The values (inputs, loaded or not: A holds them all) as a slice of A, read alike at a
        constant step, or None."""
        ids = list(map(id, values))
        if len(ids) < 2 or not slot_index.keys() >= set(ids):
            return None
        ks: list[int] = list(map(slot_index.__getitem__, ids))
        kinds = {tr.kinds[k] == "float" for k in ks}
        step = ks[1] - ks[0]
        if len(kinds) != 1 or not step or ks != list(range(ks[0], ks[0] + step * len(ks), step)):
            return None
        return columns.column("A", ks[0], step, len(ks), "" if kinds.pop() else ".data")

    loop_names: dict[int, tuple[list[str], list[str]]] = {}  # per run: the body's names, its inputs'
    loop_lists: dict[int, tuple[str, str]] = {}  # per run: the lists of saved values and of inputs
    saved_texts: dict[int, dict[int, str]] = {}  # per run: its nodes' names outside the loops

    def forward_loop(run: python_loops.Run) -> None:
        """The forward of every copy of a run as one loop; each copy's values saved in a list."""
        nonlocal w
        template = run.nodes(tr, 0)
        inside = {id(v) for v in template}
        xs = [fresh("x_in", ("x", run.start, m)) for m in range(len(run.inputs[0]))]
        saved_list = fresh("_saved", ("saved", run.start))
        inputs_list = fresh("_inputs", ("inputs", run.start)) if xs else ""
        main = w
        w.add(f"{saved_list} = []", (saved_list,), set())
        if xs:
            cols: list[str] = []
            sliced = False
            for m in range(len(xs)):
                values = [row[m] for row in run.inputs]
                expr = a_slice(values)
                if expr is None:
                    texts = [text_of(v) for v in values]
                    pieces = columns.pack(texts)
                    expr = columns.listed(texts, pieces)
                    sliced = sliced or any(star for _, star in pieces)  # another loop's list
                else:
                    sliced = True
                cols.append(expr)
            if sliced:
                rows = f"list(zip({', '.join(cols)}))"
            else:
                rows = "[" + ", ".join(_tuple([text_of(v) for v in row]) for row in run.inputs) + "]"
            w.add(f"{inputs_list} = {rows}", (inputs_list,), None)
        w = _Writer(chunk, splittable=False)
        for m, v in enumerate(run.inputs[0]):
            alias[id(v)] = xs[m]
        for j, node in enumerate(template):
            forward_node(node, run.start + j)
        checked: dict[int, Value] = {}
        for node in template:
            for v in gate_reads.get(id(node), ()):
                if id(v) in alias or id(v) in inside:
                    checked[id(v)] = v
                elif not tr.is_constant(v):
                    certified[id(v)] = v  # the same in every copy: checked once, outside
        terms = [text_of(v) for v in covering(list(checked.values()), run.start)]
        while terms:
            batch, terms = terms[:MAX_TERMS], terms[MAX_TERMS:]
            w.add(f"{chk} = {chk} + {' + '.join(batch)}", (chk,), None)
        saved = [names[id(v)] for v in template]
        w.add(f"{saved_list}.append({_tuple(saved)})", (), None)
        body, w = w, main
        head = f"for {_tuple(xs)} in {inputs_list}:" if xs else f"for _ in range({run.copies}):"
        w.add(_loop(head, body), (), None, weight=run.copies)
        alias.clear()
        loop_names[run.start] = (saved, xs)
        loop_lists[run.start] = (saved_list, inputs_list)
        columns.add_list(saved_list, run.copies)
        outside: dict[int, str] = {}
        saved_texts[run.start] = outside
        for j in range(run.length):
            nodes = tr.forward[run.start + j: run.start + run.length * run.copies: run.length]
            items = [f"{saved_list}[{k}][{j}]" for k in range(run.copies)]
            columns.add_column(items, saved_list, f"[{j}]")
            outside.update(zip(map(id, nodes), items))  # noqa: B905 (a text per copy)
        names.update(outside)

    # -- which nodes' backward is skipped at a zero gradient (see skip.py) --
    gate_reads: dict[int, tuple[Value, ...]] = {}
    if skip_zero:
        for node in tr.backward[1:]:  # the root's gradient is the constant 1.0
            if id(node) in repeated:  # a loop's body is copy 0's code
                continue
            reads = _gate_reads(node)
            if reads is None:
                continue
            operands = [*(node._a if node._b is MANY else parents_of(node)), node]
            values = tuple(operands[i] for i in reads)
            if all(math.isfinite(v.data) for v in values if tr.is_constant(v)):
                gate_reads[id(node)] = values
    gated = set(gate_reads)
    # The certificate: a running sum of the values gated partials read, finite iff every one is
    # (an overflow only gives a false alarm: a dynamic run).
    chk = fresh("_finite") if gated else ""
    certified: dict[int, Value] = {}
    # Per value, a node reading it whose output is finite only if its inputs are (a sum or
    # product, skip.reflects_finite): certifying that output certifies the value. One map per
    # loop body (copy 0's nodes), one for the rest; copies past the first are never read.
    certifier: dict[int, dict[int, Value]] = {-1: {}}  # per run (its start), and -1: outside runs
    if gated:
        home = {id(n): r.start for r in runs for n in r.nodes(tr, 0)}
        skipped = repeated
        for node in tr.forward:
            if id(node) in skipped:
                continue
            ins = node._a if node._b is MANY else parents_of(node)
            assert node._prim is not None, "the trace's forward holds computed nodes only"
            if skip.reflects_finite(node._prim, len(ins)):
                into = certifier.setdefault(home.get(id(node), -1), {})
                for p in ins:
                    into.setdefault(id(p), node)

    def covering(values: list[Value], scope: int) -> list[Value]:
        """Fewer values whose finiteness implies that of all of `values` (dot's output certifies
        its 2n + 1 inputs), following certifiers along chains; iterative, memoized."""
        by = certifier.get(scope, {})
        top: dict[int, Value] = {}
        out: dict[int, Value] = {}
        for v in values:
            path, c = [], v
            while id(c) not in top:
                path.append(c)
                nxt = by.get(id(c))
                if nxt is None:
                    top[id(c)] = c
                    break
                c = nxt
            end = top[id(c)]
            for x in path:
                top[id(x)] = end
            out.setdefault(id(end), end)
        return list(out.values())

    if runs and gated:
        w.add(f"{chk} = 0.0", (chk,), set())

    # -- forward --
    run_at = {r.start: r for r in runs}
    i = 0
    while i < len(tr.forward):
        run = run_at.get(i)
        if run is not None:
            forward_loop(run)
            i += run.length * run.copies
            continue
        forward_node(tr.forward[i], i)
        i += 1

    # -- guards: the comparisons and cuts the trace depended on --
    for op, a, b, outcome in tr.guards:
        uses: set[str] = set()
        test = emit(("cmp", op, _guard_operand(a, operand), _guard_operand(b, operand)), ns, uses)
        w.add(f"if {'not ' if outcome else ''}({test}):\n        return {{FAIL}}", (), uses, guard=True)
    for v, value in tr.cuts:
        uses = set()
        x = emit(operand(v), ns, uses)
        test = f"{x} == {x}" if value != value else f"{x} != {emit(('const', value), ns)}"
        w.add(f"if {test}:  # float() at trace time\n        return {{FAIL}}", (), uses, guard=True)

    in_runs = _run_nodes(tr, runs)
    for node in tr.backward[1:]:
        if id(node) in gate_reads and id(node) not in in_runs:
            certified.update((id(v), v) for v in gate_reads[id(node)] if not tr.is_constant(v))
    if certified or (runs and gated):
        terms = [text_of(v) for v in covering(list(certified.values()), -1)]
        head = chk if runs else "0.0"
        while terms or head == "0.0":
            batch, terms = terms[:MAX_TERMS], terms[MAX_TERMS:]
            w.add(f"{chk} = {head} + {' + '.join(batch or ['0.0'])}"
                  f"{comment('finite iff every term is: the skipped partials are then finite')}", (chk,),
                  (set(batch) | ({chk} if head == chk else set())) if track else None)
            head = chk
        w.add(f"if {chk} - {chk} != 0.0:  # a value that partials read is not finite: run dynamically\n"
              f"        raise _Redo()", (), {chk})
    if readable and tr.backward:
        w.add("# backward: backward()'s order, each partial from the op's rule (or kernel)")

    # -- backward, in backward()'s order --
    grads: dict[int, str] = {}
    pending: dict[int, list[tuple[str, set[str] | None]]] = {}
    started: set[int] = set()

    def grad_name(v: Value) -> str:
        name = grads[id(v)] = fresh("g_" + names.get(id(v), "input"), ("g", id(v)))
        return name

    def flush(v: Value) -> None:
        terms = pending.pop(id(v), [])
        if not terms and id(v) in started:
            return
        name = grads.get(id(v)) or grad_name(v)
        if id(v) not in started:
            started.add(id(v))
            k = slot_index.get(id(v))
            if k is not None:
                head = "0.0" if tr.kinds[k] == "float" else f"A[{k}].grad"
            elif not terms:
                w.add(f"{name} = 0.0", (name,))
                return
            else:
                head = None
        else:
            head = name
        while terms:
            batch, terms = terms[:MAX_TERMS], terms[MAX_TERMS:]
            uses = set().union(*(u or () for _, u in batch)) if track else None
            body = " + ".join(t for t, _ in batch)
            if head is not None:
                if head == name and uses is not None:
                    uses.add(name)
                body = f"{head} + {body}"
            w.add(f"{name} = {body}", (name,), uses)
            head = name

    def contribute(target: Value, text: str, uses: set[str] | None) -> None:
        if tr.is_constant(target):
            if "(" in text:  # may call a function (and raise, as backward() would): evaluated anyway
                w.add(f"_ = {text}", (), uses)
            return
        terms = pending.setdefault(id(target), [])  # named when written (most copies' never are)
        terms.append((text, uses))
        if len(terms) >= MAX_TERMS:
            flush(target)

    def materialize(v: Value) -> str:
        """v's accumulator as a variable holding every contribution so far (started if need be)."""
        if id(v) not in grads:
            grads[id(v)] = fresh("g_" + names[id(v)], ("g", id(v)))
        name = grads[id(v)]
        if id(v) not in started and not pending.get(id(v)):
            started.add(id(v))
            k = slot_index.get(id(v))
            head = "0.0" if k is None or tr.kinds[k] == "float" else f"A[{k}].grad"
            w.add(f"{name} = {head}", (name,), set())
        else:
            flush(v)
        return name

    def gated_block(g: str, items: list[tuple[Value, str, set[str] | None]]) -> None:
        """`if g:` around a node's contributions, each added at once (its accumulator started before)."""
        lines: list[tuple[str, list[str]]] = []
        uses: set[str] = {g}
        for target, text, u in items:
            if tr.is_constant(target):  # a finite partial calls nothing: nothing to evaluate
                continue
            name = materialize(target)
            if lines and lines[-1][0] == name:
                lines[-1][1].append(text)
            else:
                lines.append((name, [text]))
            uses |= u or set()
        if not lines:
            return
        uses.update(name for name, _ in lines)
        # `a += t` is `a = a + t` on floats (same bits, less source); `a = a + t1 + t2` keeps its order
        body = "".join(f"\n        {name} += {ts[0]}" if len(ts) == 1 else
                       f"\n        {name} = {name} + {' + '.join(ts)}" for name, ts in lines)
        note = comment("a zero gradient times finite partials adds nothing: skipped")
        w.add(f"if {g}:{note}{body}", tuple(name for name, _ in lines), uses if track else None)

    root = tr.root

    def backward_node(node: Value) -> None:
        prim = node._prim
        assert prim is not None, "backward() visits computed nodes only"
        parents = node._a if node._b is MANY else parents_of(node)
        ops = [text_of(p) for p in parents]
        n = len(parents)
        kernel = kernel_templates(prim, n) if node._b is MANY else None
        gate = id(node) in gated
        g_uses = None
        if node is root:
            g = "1.0"
        else:
            terms = pending.get(id(node), ())
            reads = len(kernel) if kernel is not None else _reads(rule_templates(prim, n), n)
            if id(node) not in started and 0 < len(terms) < MAX_TERMS and (
                    (reads == 1 and not gate) or (len(terms) == 1 and terms[0][0].isidentifier())):
                # Read once (relu's input), or a plain copy: its sum goes straight into the use.
                del pending[id(node)]
                g = terms[0][0] if len(terms) == 1 and terms[0][0].isidentifier() else (
                    "(" + " + ".join(t for t, _ in terms) + ")")
                g_uses = set().union(*(u or () for _, u in terms)) if track else None
            else:
                if id(node) not in grads:
                    grads[id(node)] = fresh("g_" + names[id(node)], ("g", id(node)))
                flush(node)
                g = grads[id(node)]
                g_uses = None
        items: list[tuple[Value, str, set[str] | None]] = []
        sink: Callable[[Value, str, set[str] | None], None] = (
            (lambda p, text, uses: items.append((p, text, uses))) if gate else contribute)
        if kernel is not None:
            ops.append(g)
            g_only = (n,)
            of_g: dict[str, str] = {}  # contributions that read g only (sum's): formatted once
            g_only_uses = _with(uses_of([g]), g_uses)
            for j, t, idx in kernel:
                if idx == g_only:
                    text = of_g.get(t)
                    if text is None:
                        text = of_g[t] = t.format(g)
                    sink(parents[j], text, None if g_only_uses is None else set(g_only_uses))
                    continue
                args = [ops[i] for i in idx]
                sink(parents[j], t.format(*args), _with(uses_of(args), g_uses if n in idx else None))
        else:
            templates = rule_templates(prim, n)
            if templates is None:
                _called_rule(node, prim, parents, ops, g, names, ns, w, contribute, track)
                return
            ops += [names[id(node)], g]
            for p, template in zip(parents, templates):  # noqa: B905 (one partial per input)
                if template is not None:
                    text, idx = template
                    args = [ops[i] for i in idx]
                    sink(p, text.format(*args), _with(uses_of(args), g_uses if n + 1 in idx else None))
        if gate:
            gated_block(g, items)

    def backward_loop(run: python_loops.Run) -> None:
        """The backward of every copy of a run, in backward()'s order, as one loop."""
        nonlocal w
        end = run.start + run.length * run.copies
        template = run.nodes(tr, 0)
        order = run.order
        saved, xs = loop_names[run.start]
        main = w
        # Gradients that reach the copies from outside (every consumer outside came first).
        gin: list[tuple[int, list[str]]] = []
        for j in range(run.length):
            texts = []
            copies_j = tr.forward[run.start + j: end: run.length]  # node j of every copy
            for k in order:
                v = copies_j[k]
                terms = pending.pop(id(v), None)
                if id(v) in started:
                    if terms:
                        pending[id(v)] = terms
                    flush(v)
                    texts.append(grads[id(v)])
                elif terms and len(terms) == 1:
                    texts.append(terms[0][0])
                elif terms:
                    pending[id(v)] = terms
                    grads[id(v)] = fresh("g_in", ("g", id(v)))
                    flush(v)
                    texts.append(grads[id(v)])
                else:
                    texts.append("")
            if any(texts):
                gin.append((j, [t or "0.0" for t in texts]))
        # Shared targets: accumulators that every copy adds into (started before the loop).
        shared = [v for row in run.wiring for kind, v in row if kind == "inv" and not tr.is_constant(v)]
        for v in dict.fromkeys(shared):
            materialize(v)
        # A copy's own targets from outside: their accumulators go in and come out per copy.
        own = [m for m, v in enumerate(run.inputs[0]) if not tr.is_constant(v)]
        starts: list[list[str] | None] = []  # per target, per copy in order: where it starts (None: 0.0)
        for m in own:
            ids = [id(run.inputs[k][m]) for k in order]
            kinds = {tr.kinds[s] for s in map(slot_index.get, ids) if s is not None}
            if started.isdisjoint(ids) and pending.keys().isdisjoint(ids) and kinds <= {"float"}:
                starts.append(None)  # nothing before (the usual case, checked at C speed)
                continue
            column = []
            for k in order:
                v = run.inputs[k][m]
                if id(v) in started or pending.get(id(v)):
                    column.append(materialize(v))
                else:
                    slot = slot_index.get(id(v))
                    column.append("0.0" if slot is None or tr.kinds[slot] == "float" else
                                  columns.add(f"A[{slot}].grad", "A", slot, ".grad"))
            starts.append(column)
        targets = [fresh("g_own", ("own", run.start, m)) for m in own]
        outs = [fresh("_own_out", ("own_out", run.start, m)) for m in own]  # per target, its copies'
        consumed = {m for row in run.wiring for kind, m in row if kind == "in"}
        heads = [_tuple(saved)]
        lists = [_ordered(loop_lists[run.start][0], order, run.copies)]
        if xs:
            heads.append(_tuple(xs))
            lists.append(_ordered(loop_lists[run.start][1], order, run.copies))
        gin_names = []
        copied = []
        for j, texts in gin:
            if all(t == texts[0] for t in texts) and (texts[0].isidentifier() or _is_number(texts[0])):
                if j in consumed:  # also added into inside the copy: a copy of its own
                    name = fresh("g_in", ("gin", run.start, j))
                    copied.append(f"{name} = {texts[0]}")
                    gin_names.append((j, name))
                else:
                    gin_names.append((j, texts[0]))
                continue
            name = fresh("g_in", ("gin", run.start, j))
            gin_names.append((j, name))
            heads.append(name)
            lists.append(columns.listed(texts))
        zeros = []  # the targets every copy starts from 0.0: set in the body
        for name, start in zip(targets, starts):  # noqa: B905 (a column per target)
            if start is None or all(t == "0.0" for t in start):
                zeros.append(name)
            else:
                heads.append(name)
                lists.append(columns.listed(start))
        for name in outs:
            w.add(f"{name} = []", (name,), set())
        # The body: copy 0's nodes stand for every copy's.
        w = _Writer(chunk, splittable=False)
        for m, v in enumerate(run.inputs[0]):
            alias[id(v)] = xs[m]
        for j, v in enumerate(template):
            names[id(v)] = saved[j]
        for j, name in gin_names:
            grads[id(template[j])] = name
            started.add(id(template[j]))
        for m, name in zip(own, targets):  # noqa: B905 (a name per target)
            v = run.inputs[0][m]
            grads[id(v)] = name
            started.add(id(v))
        for text in copied:
            w.add(text)
        for name in zeros:
            w.add(f"{name} = 0.0", (name,), set())
        for j in run.back:
            backward_node(template[j])
        for v in [*dict.fromkeys(shared), *(run.inputs[0][m] for m in own)]:
            flush(v)
        for name, target in zip(outs, targets):  # noqa: B905 (a list per target)
            w.add(f"{name}.append({target})", (), set())  # (faster than one extend of a tuple)
        body, w = w, main
        head = ", ".join(heads) if len(heads) > 1 else heads[0]
        source = f"zip({', '.join(lists)})" if len(lists) > 1 else lists[0]
        w.add(_loop(f"for {head} in {source}:", body), (), None, weight=run.copies)
        alias.clear()
        names.update(saved_texts[run.start])
        for i, m in enumerate(own):
            columns.add_list(outs[i], run.copies)
            column = [f"{outs[i]}[{at}]" for at in range(run.copies)]
            columns.add_column(column, outs[i])
            targets_out = [id(run.inputs[k][m]) for k in order]
            grads.update(zip(targets_out, column))  # noqa: B905 (a text per copy)
            started.update(targets_out)

    back_at = {r.back_start: r for r in runs if r.back}
    for bi, node in enumerate(tr.backward):
        run = back_at.get(bi)
        if run is not None:
            backward_loop(run)
        elif id(node) not in in_runs:
            backward_node(node)

    if root._prim is None:  # the output is an input: d out / d out = 1
        grads[id(root)] = fresh("g_" + names[id(root)], ("g", id(root)))
        pending[id(root)] = [("1.0", set())]
    slot_ids = list(map(id, tr.slots))
    unfinished = pending.keys() | (grads.keys() - started)
    for leaf, i in zip(tr.slots, slot_ids):  # noqa: B905 (an id per slot)
        if i in unfinished:
            flush(leaf)
    float_grads = [grads.get(i, "0.0") for i, kind in zip(slot_ids, tr.kinds) if kind == "float"]  # noqa: B905
    writes = [(k, grads[i]) for k, (i, kind) in enumerate(zip(slot_ids, tr.kinds))  # noqa: B905
              if kind != "float" and i in grads]
    # backward() adds every contribution, zeros included, into the incoming .grad: from -0.0 a
    # +0.0 contribution gives +0.0, which a program that starts interior sums without `0.0 +` or
    # skips zero gradients may not. Only a zero result can differ: then run dynamically.
    # A loop's gradients going into slots at a constant step: one loop each (python_loops.Columns).
    stretches, single = columns.placed(writes)
    for k0, step, count, col in stretches:
        w.add(f"if not all({col}):\n        _zero_check(A, range({k0}, {k0 + step * count}, {step}), {col})",
              (), None)
    for i in range(0, len(single), MAX_TERMS):
        written_batch = single[i: i + MAX_TERMS]
        test = " and ".join(name for _, name in written_batch)
        w.add(f"if not ({test}):\n        _zero_check(A, {_tuple([str(k) for k, _ in written_batch])}, "
              f"{_tuple([name for _, name in written_batch])})", (), {name for _, name in written_batch})
    for k, name in single:  # last: a program that raises has changed no .grad
        w.add(f"A[{k}].grad = {name}", (), {name})
    for k0, step, count, col in stretches:
        item, item_grad = fresh("_leaf"), fresh("_grad")
        w.add(f"for {item}, {item_grad} in zip({columns.column('A', k0, step, count, '')}, {col}):\n"
              f"        {item}.grad = {item_grad}", (), None)
    aux_values = _aux_nodes(tr)
    aux_names = [text_of(v) if isinstance(v, Value) else repr(float(v)) for v in aux_values]
    aux_tuple = "".join(a + ", " for a in aux_names)
    packed = columns.pack(float_grads)
    grads_out = "(" + "".join(("*" if star else "") + g + ", " for g, star in packed) + ")"
    if len(packed) > 2 * python_loops.MIN_SEGMENT:  # interleaved columns: a list filled by slices
        stretches, single = columns.placed(list(enumerate(float_grads)))
        if len(stretches) + len(single) < len(packed):
            grads_out = fresh("_float_grads")
            w.add(f"{grads_out} = [0.0] * {len(float_grads)}", (grads_out,), None)
            for p0, step, count, col in stretches:
                w.add(f"{grads_out}[{python_loops.slice_text(p0, step, count)}] = {col}", (), None)
            for p, text in single:
                w.add(f"{grads_out}[{p}] = {text}", (), None)
    result = f"({names[id(root)]}, ({aux_tuple}), {grads_out})"
    if len(w.chunks) > 1:  # the last chunk must load what it returns
        w.add("pass", (), {x for x in [names[id(root)], *aux_names, *float_grads] if x.isidentifier()})
    pieces = w.source(result)
    return Generated(_Lazy(pieces, ns.snapshot()), "\n".join(pieces) if keep_source else None,
                     len(aux_values))


class _Lazy:
    """The program, compiled at its first call: by then the caller has freed the trace, so the
    compiler's peak memory does not come on top of the trace's (and what it keeps sits apart)."""

    __slots__ = ("pieces", "module", "program")

    def __init__(self, pieces: list[str], module: dict[str, Any]) -> None:
        self.pieces: list[str] | None = pieces
        self.module = module
        self.program: Callable[[list[Any]], Any] | None = None

    def build(self) -> Callable[[list[Any]], Any]:
        """Compile (once) and return the program function."""
        if self.program is not None:
            return self.program
        pieces = self.pieces or []
        module = self.module
        for piece in pieces:  # one compile() per function: the compiler's peak is one chunk's
            exec(compile(piece, PROGRAM_FILE, "exec"), module)
        for name, fn in module.items():
            if name == "program" or name.startswith("_chunk"):
                fn.__code__ = _compact_lines(fn.__code__)
        self.pieces = None
        if sum(map(len, pieces)) > TRIM_CHARS:
            _release_memory()
        program: Callable[[list[Any]], Any] = module["program"]
        self.program = program
        return program

    def __call__(self, a: list[Any]) -> Any:
        return (self.program or self.build())(a)


def compact(box: list[Any], state: bytes) -> tuple[Callable[[list[Any]], Any], Any]:
    """The program in `box` (compiled if it is not yet) rebuilt, and `state` (marshal data) loaded,
    once the trace is freed; the freed heap is then given back to the system.

    CPython's small-object allocator hands an arena (1 MiB) back only when nothing in it lives,
    and reuses a freed block before a free pool. What a program keeps (its code, functions and
    module, the names bound and the derivations cached while generating it, its entry's lists) was
    made among the trace's and the generator's garbage, a few objects in each arena those took,
    which all stayed resident. So all of it is set aside (as bytes, or in _HOLD for objects made
    before the trace), freed, which empties those arenas, and only then made again. The moons
    step, resident memory after compiling over a baseline trimmed by malloc_trim (median of 5
    fresh processes): 7.6 -> 2.2 MB (1.2-2.3: one arena more or less), against 2.7 MB for the
    dynamic graph in the same run. What stays: the program's code and names, the interned-string
    table CPython grew for them, an empty arena the allocator keeps. Costs about 13 ms per compile
    (the caches are derived again), 45 ms more at the first (before_trace). `box` holds the
    program, and nothing else refers to it (the list is made before the trace, like everything the
    caller keeps across this call). Another backend's program is kept as it is.
    """
    run = box.pop()
    if isinstance(run, _Lazy):
        try:
            run = run.build()
        except Exception:  # noqa: BLE001 (a program that does not compile fails in its call, as before)
            return run, marshal.loads(state)
    gc.collect()  # the trace's cycles (guards, hooks) too
    scope = getattr(run, "__globals__", None)
    if scope is None or not _generated(run):
        _release_memory()
        return run, marshal.loads(state)
    aside, held = _set_aside(scope)
    del run, scope  # the module and its functions (a cycle, collected below)
    _COMPACTING.acquire()  # not `with`: its bound __exit__ would be an object made before the frees
    try:
        ns = NAMESPACE
        names = marshal.dumps((list(ns.objects), list(ns.names.items())))
        bound = len(ns.objects)
        _HOLD.extend(ns.objects.values())  # all made before the trace: the functions programs call
        _HOLD.extend(held)  # the module's objects made before the trace, in its order
        del held
        try:
            ns.objects.clear()  # the names, and the entries bound while generating, freed
            ns.names.clear()
            for cache in _derived_caches():
                cache.clear()  # pure memos: derived again when next needed
            gc.collect()  # a full collection also empties the free lists of tuples, floats, lists, dicts
            with hooks.session(hooks.Session()):  # the thread's session stack: resized as the trace ended
                pass
        finally:  # the namespace made again (also if the above failed)
            keys, ids = marshal.loads(names)  # fresh strings and ints
            ns.objects.update(zip(keys, _HOLD[HOLD_SIZE:HOLD_SIZE + bound]))  # noqa: B905 (a value per key)
            ns.names.update(ids)
        program = _made_again(aside, _HOLD[HOLD_SIZE + bound:])
    finally:
        del _HOLD[HOLD_SIZE:]
        _COMPACTING.release()
    loaded = marshal.loads(state)
    _release_memory()
    return program, loaded


_PLAIN = (float, int, str, bytes, complex)  # immutable: a copy is the same value


def _generated(fn: Any) -> bool:
    return getattr(getattr(fn, "__code__", None), "co_filename", None) == PROGRAM_FILE


def _set_aside(module: dict[str, Any]) -> tuple[bytes, list[Any]]:
    """A program's module as marshal data, and the objects to hold while it is rebuilt (compact).

    Generated functions go as their code, numbers and strings as themselves;
    everything else (the library's functions and classes, `__builtins__`) was made before the
    trace, and the same object is put back.
    """
    layout: list[tuple[str, str, Any]] = []  # (name, how, the data or an index into `held`)
    held: list[Any] = []
    for name, value in module.items():
        if _generated(value) and type(value) is types.FunctionType:
            layout.append((name, "function", value.__code__))
        elif type(value) in _PLAIN:
            layout.append((name, "plain", value))
        else:
            layout.append((name, "held", len(held)))
            held.append(value)
    return marshal.dumps(layout), held


def _made_again(aside: bytes, held: list[Any]) -> Callable[[list[Any]], Any]:
    """The module _set_aside took apart, made again (its functions bound to it): its program."""
    module: dict[str, Any] = {}
    functions: list[tuple[str, Any]] = []
    for name, how, x in marshal.loads(aside):
        if how == "function":
            functions.append((name, x))
        else:
            module[name] = x if how == "plain" else held[x]
    for name, code in functions:
        module[name] = types.FunctionType(code, module, name)
    program: Callable[[list[Any]], Any] = module["program"]
    return program


HOLD_SIZE = 128  # so long a list keeps its items outside the small-object allocator
_HOLD: list[Any] = [None] * HOLD_SIZE  # compact's references to what it keeps while it frees (after these)


def _derived_caches() -> tuple[dict[Any, Any], ...]:
    """The caches of derivations that code generation fills."""
    return (symbolic._forwards, symbolic._rules, symbolic._kernels, skip._rules, skip._kernels,
            skip._reflecting, _templates)


_prepared: list[bool] = []  # whether before_trace() ran once in this process


def before_trace() -> None:
    """Make now, once, before a trace, what the first compile would otherwise make among the
    trace's garbage and keep for good (see compact): malloc_trim (ctypes), and the line tables of
    the table's rules."""
    if _prepared:
        return
    _prepared.append(True)
    _malloc_trim()
    _warm_line_tables()


def _warm_line_tables() -> None:
    """Derive every table primitive's forms once, then forget them (see before_trace).

    Symbolic derivation runs under sys.setprofile, and CPython then gives every function it runs
    a table of line numbers, kept as long as the function lives: made here (35 ms, once), they are
    not made among a trace's garbage, where the moons step's kept two arenas (2 MB) resident.
    """
    from .. import ops

    for prim in ops.all_primitives():
        n = prim.arity or 3
        try:
            forward_template(prim, n)
            rule_templates(prim, n)
            if prim.arity is None:
                kernel_templates(prim, n)
                skip.kernel_reads(prim, n)
            skip.rule_reads(prim, n)
            skip.reflects_finite(prim, n)
        except Exception:  # noqa: BLE001, S112 (a warm-up only: generation meets the same error itself)
            continue
    for cache in _derived_caches():
        cache.clear()


_trim: list[Any] = []  # glibc's malloc_trim once looked up, or None (not Linux, not glibc)


def _malloc_trim() -> Any:
    """glibc's malloc_trim (looked up and called once, so that what ctypes keeps for its calls is
    made then), or None."""
    if not _trim:
        trim = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                trim = ctypes.CDLL(None).malloc_trim  # glibc only (musl has none)
                trim(0)
            except (OSError, AttributeError):
                trim = None
        _trim.append(trim)
    return _trim[0]


def _release_memory() -> None:
    """Give the heap compile() freed back to the system: glibc keeps its high-water mark otherwise.

    The moons step: 165 MB resident after compiling, about 20 MB after this (a few ms).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _ranks(tr: Trace, repeated: set[int] | frozenset[int] = frozenset()) -> dict[Any, int]:
    """Variables by how often the program will read them, most first: ("v" or "g", id) -> rank.
    The nodes in `repeated` (a loop's copies past the first) are read from lists, not locals."""
    score: dict[Any, int] = {}
    for node in tr.forward:
        if id(node) in repeated:
            continue
        parents = node._a if node._b is MANY else parents_of(node)
        for p in parents:
            if id(p) in repeated:
                continue
            key = ("v", id(p))
            score[key] = score.get(key, 0) + 2  # read by the forward and by the backward
        if node._b is MANY:
            score[("g", id(node))] = 2 * len(parents) + 1  # dot's gradient, read once per input
    return {key: r for r, key in enumerate(sorted(score, key=score.__getitem__, reverse=True))}


def _tuple(names: list[str]) -> str:
    return "(" + "".join(n + ", " for n in names) + ")"


def _is_number(text: str) -> bool:
    try:
        float(text.strip("()"))
    except ValueError:
        return False
    return True


def _ordered(name: str, order: list[int], n: int) -> str:
    """The list `name` in the order `order` (an expression)."""
    if order == list(range(n)):
        return name
    if order == list(range(n - 1, -1, -1)):
        return f"reversed({name})"
    return f"[{name}[k] for k in {tuple(order)!r}]"


def _loop(head: str, body: _Writer) -> str:
    """A `for` statement around the body's statements (one level deeper)."""
    lines = [t.replace("\n", "\n    ") for chunk in body.chunks for t, _, _ in chunk]
    return head + "".join("\n        " + line for line in lines)


def _gate_reads(node: Value) -> tuple[int, ...] | None:
    """The operands (inputs, then the output) a gated node's partials read, or None: not gated."""
    prim: Any = node._prim
    parents = node._a if node._b is MANY else parents_of(node)
    n = len(parents)
    if n > GATE_MAX:  # before deriving anything for a node this wide
        return None
    if node._b is MANY:
        kernel = kernel_templates(prim, n)
        if kernel is not None:
            return skip.kernel_reads(prim, n) if GATE_MIN <= len(kernel) <= GATE_MAX else None
    templates = rule_templates(prim, n)
    if templates is None or not GATE_MIN <= sum(t is not None for t in templates) <= GATE_MAX:
        return None
    return skip.rule_reads(prim, n)


def _reads(templates: list[tuple[str, tuple[int, ...]] | None] | None, n: int) -> int:
    """How many times a node's backward reads its gradient (a called rule: once per input)."""
    if templates is None:
        return n + 1
    return sum(t[1].count(n + 1) for t in templates if t is not None)


def _with(a: set[str] | None, b: set[str] | None) -> set[str] | None:
    return a if b is None or a is None else a | b


def _guard_operand(x: Any, operand: Callable[[Value], tuple]) -> tuple:
    return operand(x) if isinstance(x, Value) else ("const", x)


def _product(g: tuple, d: tuple) -> tuple:
    """g * d as backward() computes it; a factor 1.0 is left out (x * 1.0 is x, bit for bit)."""
    if _is_one(d):
        return g
    if _is_one(g) and type(g[1]) is float:
        return d
    return ("bin", "*", g, d)


def _times_one(e: tuple) -> tuple:
    """A kernel's contribution with factors of the constant 1.0 removed (exact)."""
    if e[0] == "bin" and e[1] == "*":
        if _is_one(e[2]) and type(e[2][1]) is float:
            return e[3]
        if _is_one(e[3]) and type(e[3][1]) is float:
            return e[2]
    return e


def _called_rule(node: Value, prim: Primitive, parents: tuple, ops: list[str], g: str,
                 names: dict[int, str], ns: Namespace, w: _Writer, contribute: Callable, track: bool) -> None:
    """A rule that is not derived: called on floats, its None-ness checked against the trace."""
    try:
        at_trace = tuple(prim.partials(*[p.data for p in parents], node.data))
    except Exception:
        at_trace = (0.0,) * len(parents)
    fn = ns.bind(prim.partials, f"partials_{prim.name}")
    d = f"d_{names[id(node)]}"
    uses = {t for t in [*ops, names[id(node)]] if t.isidentifier()}
    call = f"{fn}({', '.join([*ops, names[id(node)]])})"
    w.add(f"{d} = {call}  # the rule of {prim.display}, called", (d,), uses)
    for i, p in enumerate(parents):
        if at_trace[i] is None:
            w.add(f"if {d}[{i}] is not None:\n        raise _Redo()", (), {d})
        else:
            w.add(f"if {d}[{i}] is None:\n        raise _Redo()", (), {d})
            contribute(p, f"{g} * {d}[{i}]", ({d, g} if g.isidentifier() else {d}) if track else None)


def _aux_nodes(tr: Trace) -> list[Any]:
    out: list[Any] = []
    stack = [tr.aux] if tr.aux is not None else []
    while stack:
        x = stack.pop()
        if not isinstance(x, (list, tuple)):
            out.append(x)
        else:
            stack.extend(reversed(x))
    return out
