"""The pure-Python backend: a trace becomes Python source, compiled with `compile()`.

Forward: one statement per node, the op's forward inlined where symbolic evaluation derived it
(`t = a * b`, `r = t if t > 0.0 else 0.0`), a call of the forward otherwise. Backward: the nodes
in backward()'s order, each node's partials (from its rule, or its float kernel for `dot` and
`sum`) multiplied by its gradient exactly as backward() does, and the contributions into each
gradient added in backward()'s order, so the numbers are bit for bit backward()'s.

Long functions are split into chunks that pass values through a list, and long sums into
statements of at most MAX_TERMS terms, so CPython's compiler (which recurses on nested
expressions) never overflows. Nothing here recurses.
"""

from __future__ import annotations

import keyword
import math
import re
import sys
from collections.abc import Callable
from typing import Any

from ..primitive import Primitive
from ..value import MANY, Value, parents_of
from . import symbolic
from .trace import Trace

MAX_TERMS = 100  # terms of one sum statement
CHUNK = 60000  # statements per generated function
# Characters per generated function: compile() needs about 60 bytes per character of source at
# its peak (the syntax tree), and the process keeps that high-water mark: about 240 MB per chunk.
# Chunks are slow (the moons step replays in 2.0 ms in chunks of 250,000 characters, 1.85 in 10^6,
# 1.63 as one function of 3.5 * 10^6: values crossing chunks cost a list store and load each), so
# the limit is as high as the memory allows; _release_memory gives the peak back afterwards.
CHUNK_CHARS = 4_000_000
TRIM_CHARS = 1_000_000  # sources longer than this are followed by a malloc_trim (see _release_memory)
READABLE_NODES = 400  # graphs up to this size keep their source (with one comment per node)

# Python's precedences (higher binds tighter), for parentheses.
_ATOM, _POW, _UNARY, _PRODUCT, _SUM, _CMP, _COND = 20, 14, 12, 11, 10, 6, 2
_BIN_PREC = {"+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT, "**": _POW}


class Redo(Exception):
    """Raised by a program when a called rule's shape differs from the trace: run dynamically."""


class Namespace:
    """The generated module's globals: functions and objects the code calls, by readable names."""

    def __init__(self) -> None:
        self.objects: dict[str, Any] = {"nan": math.nan, "inf": math.inf, "_Redo": Redo}
        self.names: dict[int, str] = {}

    def bind(self, obj: Any, hint: str) -> str:
        """The global name of `obj` (bound once)."""
        name = self.names.get(id(obj))
        if name is None:
            base = "_" + re.sub(r"\W", "_", hint).strip("_")
            name, k = base, 1
            while name in self.objects:
                k += 1
                name = f"{base}_{k}"
            self.objects[name] = obj
            self.names[id(obj)] = name
        return name


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

    def add(self, text: str, defines: tuple[str, ...] = (), uses: set[str] | None = None,
            guard: bool = False) -> None:
        current = self.chunks[-1]
        if self.splittable and (len(current) >= self.chunk or self.chars >= CHUNK_CHARS):
            current = []
            self.chunks.append(current)
            self.chars = 0
        current.append((text, defines, uses or set()))
        self.chars += len(text)
        if guard:
            self.guard_chunks.add(len(self.chunks) - 1)

    def source(self, result: str) -> list[str]:
        """The functions' texts: `program(A)`, after the chunks it calls when there are several."""
        if len(self.chunks) == 1:
            body = [f"    {t}".replace("{FAIL}", "None") for t, _, _ in self.chunks[0]]
            return ["\n".join(["def program(A):", *body, f"    return {result}"]) + "\n"]
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
            out = [f"def _chunk{i}(A, S):"]
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

    text = re.sub(r"\{(\d+)\}", renumber, template)
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
        return [(j, *_localize(_term(_times_one(substitute(e, env))))) for j, e in kernel]

    return _template("kernel", prim, n, make)


def _literal(x: float) -> str:
    text, prec = _constant(x)
    return text if prec == _ATOM else f"({text})"


def generate(tr: Trace, chunk: int = CHUNK, keep_source: bool | None = None) -> Generated:
    """Generate and compile the program of a trace."""
    readable = len(tr.forward) <= READABLE_NODES
    if keep_source is None:
        keep_source = readable
    ns = NAMESPACE
    used: set[str] = set(ns.objects) | {"A", "S", "program"}
    names: dict[int, str] = {}
    edges = sum(len(parents_of(node)) for node in tr.backward)
    # Uses are tracked only when the program needs more than one function.
    statements = len(tr.forward) + len(tr.backward) + len(tr.slots) + edges // MAX_TERMS
    # About 30 characters per term of a sum, with the long names of large programs; an
    # underestimate costs only a bigger function (a program is split only when uses are tracked).
    track = statements > chunk or 30 * (statements + edges) > CHUNK_CHARS
    rank = {} if readable else _ranks(tr)
    counter = [len(rank)]

    def fresh(hint: str, key: Any = None) -> str:
        if not readable:
            # CPython numbers locals in alphabetical order and an index past 255 costs an
            # EXTENDED_ARG per access: the most used names sort first.
            r = rank.get(key)
            if r is None:
                counter[0] += 1
                r = counter[0]
            return f"v{r:07d}"
        base = re.sub(r"\W", "_", hint) or "v"
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

    def text_of(v: Value) -> str:
        return _literal(v.data) if tr.is_constant(v) else names[id(v)]

    def operand(v: Value) -> tuple:
        return ("const", v.data) if tr.is_constant(v) else ("var", names[id(v)])

    def uses_of(texts: list[str]) -> set[str] | None:
        return {t for t in texts if t.isidentifier()} if track else None

    w = _Writer(chunk, splittable=track)
    comment = (lambda text: f"  # {text}") if readable else (lambda text: "")

    # -- inputs --
    first_position: dict[int, int] = {}
    for pos, k in enumerate(tr.positions):
        first_position.setdefault(k, pos)
    for k, (leaf, kind) in enumerate(zip(tr.slots, tr.kinds)):  # noqa: B905 (same length)
        hint = leaf.label or (tr.labels[first_position[k]] if kind != "live" else f"c{k}")
        name = names[id(leaf)] = fresh(hint, ("v", id(leaf)))
        read = f"A[{k}]" if kind == "float" else f"A[{k}].data"
        w.add(f"{name} = {read}{comment('input' if kind != 'live' else 'captured leaf')}", (name,))

    # -- forward --
    for i, node in enumerate(tr.forward):
        name = names[id(node)] = fresh(node.label or f"t{i}", ("v", id(node)))
        ops = [text_of(p) for p in parents_of(node)]
        prim: Any = node._prim  # a computed node: never None
        body = forward_template(prim, len(ops)).format(*ops)
        w.add(f"{name} = {body}{comment(prim.display)}", (name,), uses_of(ops))

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
    if readable and tr.backward:
        w.add("# backward: backward()'s order, each partial from the op's rule (or kernel)")

    # -- backward, in backward()'s order --
    grads: dict[int, str] = {}
    pending: dict[int, list[tuple[str, set[str] | None]]] = {}
    started: set[int] = set()
    slot_index = {id(leaf): k for k, leaf in enumerate(tr.slots)}

    def flush(v: Value) -> None:
        terms = pending.pop(id(v), [])
        if not terms and id(v) in started:
            return
        name = grads[id(v)]
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
        if id(target) not in grads:
            grads[id(target)] = fresh("g_" + names[id(target)], ("g", id(target)))
        terms = pending.setdefault(id(target), [])
        terms.append((text, uses))
        if len(terms) >= MAX_TERMS:
            flush(target)

    root = tr.root
    for node in tr.backward:
        prim = node._prim
        parents = node._a if node._b is MANY else parents_of(node)
        ops = [text_of(p) for p in parents]
        n = len(parents)
        kernel = kernel_templates(prim, n) if node._b is MANY else None
        g_uses = None
        if node is root:
            g = "1.0"
        else:
            terms = pending.get(id(node), ())
            reads = len(kernel) if kernel is not None else _reads(rule_templates(prim, n), n)
            if id(node) not in started and 0 < len(terms) < MAX_TERMS and (
                    reads == 1 or (len(terms) == 1 and terms[0][0].isidentifier())):
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
        if kernel is not None:
            ops.append(g)
            for j, t, idx in kernel:
                args = [ops[i] for i in idx]
                contribute(parents[j], t.format(*args), _with(uses_of(args), g_uses if n in idx else None))
            continue
        templates = rule_templates(prim, n)
        if templates is None:
            _called_rule(node, prim, parents, ops, g, names, ns, w, contribute, track)
            continue
        ops += [names[id(node)], g]
        for p, template in zip(parents, templates):  # noqa: B905 (one partial per input)
            if template is not None:
                text, idx = template
                args = [ops[i] for i in idx]
                contribute(p, text.format(*args), _with(uses_of(args), g_uses if n + 1 in idx else None))

    if root._prim is None:  # the output is an input: d out / d out = 1
        grads[id(root)] = fresh("g_" + names[id(root)], ("g", id(root)))
        pending[id(root)] = [("1.0", set())]
    for leaf in tr.slots:
        if id(leaf) in pending or (id(leaf) in grads and id(leaf) not in started):
            flush(leaf)
    writes = []
    float_grads = []
    for k, (leaf, kind) in enumerate(zip(tr.slots, tr.kinds)):  # noqa: B905
        if kind == "float":
            float_grads.append(grads.get(id(leaf), "0.0"))
        elif id(leaf) in grads:
            writes.append((k, grads[id(leaf)]))
    for k, name in writes:  # last: a program that raises has changed no .grad
        w.add(f"A[{k}].grad = {name}", (), {name})
    aux_values = _aux_nodes(tr)
    aux_names = [text_of(v) if isinstance(v, Value) else repr(float(v)) for v in aux_values]
    aux_tuple = "".join(a + ", " for a in aux_names)
    grads_tuple = "".join(g + ", " for g in float_grads)
    result = f"({names[id(root)]}, ({aux_tuple}), ({grads_tuple}))"
    if len(w.chunks) > 1:  # the last chunk must load what it returns
        w.add("pass", (), {x for x in [names[id(root)], *aux_names, *float_grads] if x.isidentifier()})
    pieces = w.source(result)
    module: dict[str, Any] = dict(ns.objects)
    for piece in pieces:  # one compile() per function: the compiler's peak memory is one chunk's
        exec(compile(piece, "<chaingrad compiled program>", "exec"), module)
    for name, fn in module.items():
        if name == "program" or name.startswith("_chunk"):
            fn.__code__ = _compact_lines(fn.__code__)
    if sum(map(len, pieces)) > TRIM_CHARS:
        _release_memory()
    return Generated(module["program"], "\n".join(pieces) if keep_source else None, len(aux_values))


def _release_memory() -> None:
    """Give the heap compile() freed back to the system: glibc keeps its high-water mark otherwise.

    The moons step: 165 MB resident after compiling, about 20 MB after this (a few ms).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        trim = ctypes.CDLL(None).malloc_trim  # glibc only (musl has none)
    except (OSError, AttributeError):
        return
    trim(0)


def _ranks(tr: Trace) -> dict[Any, int]:
    """Variables by how often the program will read them, most first: ("v" or "g", id) -> rank."""
    score: dict[Any, int] = {}
    for node in tr.forward:
        parents = node._a if node._b is MANY else parents_of(node)
        for p in parents:
            key = ("v", id(p))
            score[key] = score.get(key, 0) + 2  # read by the forward and by the backward
        if node._b is MANY:
            score[("g", id(node))] = 2 * len(parents) + 1  # dot's gradient, read once per input
    return {key: r for r, key in enumerate(sorted(score, key=score.__getitem__, reverse=True))}


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
