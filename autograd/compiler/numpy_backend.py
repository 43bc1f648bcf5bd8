"""The NumPy backend: independent nodes of one op, at one depth, run together on arrays.

The plan (`numpy_plan`) groups the nodes and lays every group's values out as one contiguous
range of a buffer; this module writes one straight-line Python function over that buffer, with
the index arrays and constants bound once. A group's forward is the op's derived forward on
arrays (a conditional becomes `numpy.where`, a sum of products one product of gathered matrices
and a column sum, a grid of `dot` nodes one matrix product); its backward the op's derived rule
or kernel, a grid's two matrix products. A forward (or a table function in a rule) without a
derived form runs as the op's declared array form (`Primitive.array`: exp, log, sqrt, div,
sigmoid, pow, ...) or a `math` function's ufunc of the same name; anything else is called
element by element. Deep narrow graphs lose here (a chain of n nodes is n groups of one node):
a graph of many groups of few nodes is handed to the pure-Python backend's program instead.

Sums run in NumPy's order, not backward()'s: results agree to about 1e-12 relative to the terms,
not bit for bit. A program whose values or gradients are not all finite reports it, and the
caller reruns that call in the dynamic engine, so NaN results and domain errors are the engine's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..value import MANY, Value, parents_of
from . import symbolic
from .numpy_plan import Group, Plan, Read, Write, runs
from .python_backend import Generated, Redo
from .trace import Trace

# A graph of more than NARROW_GROUPS groups averaging fewer than MIN_WIDTH nodes runs as the
# pure-Python backend's program: a group costs a few NumPy calls (microseconds) however small.
NARROW_GROUPS = 1000
MIN_WIDTH = 8
_FOLDS_NAN = ("+", "-", "*", "/")  # nan op x and x op nan are nan in IEEE 754 (not so for **)


class NotFinite(Redo):
    """A replay produced a NaN or an infinity: the dynamic engine reruns the call."""


# How many errors `_elementwise` turned into NaN: a program whose count moved reruns dynamically.
_RAISED = [0]


def _elementwise(fn: Callable[..., float], counted: bool = False) -> Callable[..., Any]:
    """`fn` applied element by element to arrays (and scalars), as a float64 array."""

    def safe(*xs: float) -> float:
        # Both branches of a conditional are evaluated on arrays, so an error may belong to an
        # element of the branch not taken: it becomes a NaN. In a forward it is also counted, and
        # the call reruns in the dynamic engine even if the NaN is lost inside the node's
        # expression (nan ** 0 is 1): an error the engine would raise never becomes a number.
        # Rules are not counted: the engine's rules never raise, so theirs are untaken branches
        # (pow's log(x) at a negative base), and counting them would rerun such graphs every call.
        try:
            return fn(*xs)
        except (ArithmeticError, ValueError):
            if counted:
                _RAISED[0] += 1
            return np.nan

    def apply(*args: Any) -> Any:
        if all(np.size(a) == 1 for a in args):  # one node (or constants): no arrays to build
            return np.float64(safe(*[float(np.ravel(a)[0]) for a in args]))
        arrays = [np.asarray(a, dtype=float) for a in args]
        shape = np.broadcast_shapes(*[a.shape for a in arrays])
        flat = [np.broadcast_to(a, shape).ravel().tolist() for a in arrays]
        out = np.fromiter(map(safe, *flat), dtype=float, count=int(np.prod(shape)))
        return out.reshape(shape)

    return apply


def _declared(form: Callable[..., tuple[Any, Any]], counted: bool = False) -> Callable[..., Any]:
    """An op's declared array form (`Primitive.array`) as a function of arrays, like `_elementwise`:
    NaN where the float forward raises, and in a forward such an element is counted."""

    def apply(*args: Any) -> Any:
        out, raises = form(np, *args)  # under errstate(all="ignore"): the program's, or _fold_call's
        if raises is not None and np.any(raises):
            if counted:
                _RAISED[0] += 1
            out = np.where(raises, np.nan, out)
        return out

    return apply


def _array_function(fn: Callable[..., float], arity: int, counted: bool = False,
                    form: Callable[..., tuple[Any, Any]] | None = None,
                    elementwise: bool = True) -> Callable[..., Any] | None:
    """The op's declared array form `form` if any; else NumPy's ufunc of the same name for a
    function of the `math` module; else `fn` elementwise (None if not `elementwise`)."""
    if form is not None:
        return _declared(form, counted)
    if getattr(fn, "__module__", None) == "math":
        ufunc = getattr(np, getattr(fn, "__name__", ""), None)
        if isinstance(ufunc, np.ufunc) and ufunc.nin == arity and ufunc.nout == 1:
            # An error of the math function is a NaN or an infinity of the ufunc (log(0) = -inf,
            # sqrt(-1) = nan): the finiteness check at the end sends the call to the engine.
            return ufunc
    return _elementwise(fn, counted) if elementwise else None


def _called(fn: Callable[..., float], m: int, *cols: Any) -> Any:
    """fn on each node's operands (a forward without a derived form): its errors are raised."""
    if m == 1:
        return fn(*[float(c if c.ndim == 0 else c[0]) for c in cols])
    lists = [np.broadcast_to(c, (m,)).tolist() for c in cols]
    return np.fromiter(map(fn, *lists), dtype=float, count=m)


def _called_rule(partials: Callable[..., Any], n: int, m: int, g: np.ndarray, *cols: Any) -> np.ndarray:
    """g * each partial of a rule called node by node, as n x m (None, no gradient: 0)."""
    lists = [np.broadcast_to(c, (m,)).tolist() for c in cols]
    out = np.zeros((n, m))
    for r, (gr, *args) in enumerate(zip(g.tolist(), *lists)):  # noqa: B905 (all of length m)
        for j, d in enumerate(partials(*args)):
            if d is not None:
                out[j, r] = gr * d
    return out


def _flat(w: Any, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(w, shape).ravel()


# ---------------------------------------------------------------------------------------------
# Expressions on arrays.
# ---------------------------------------------------------------------------------------------


def _refold(e: tuple, done: dict[int, tuple]) -> tuple | None:
    """Arithmetic, a comparison or a conditional with its operands already rebuilt in `done`,
    constants folded; None for other kinds."""
    kind = e[0]
    if kind == "bin":
        return _fold_bin(e[1], done[id(e[2])], done[id(e[3])])
    if kind == "cmp":
        return ("cmp", e[1], done[id(e[2])], done[id(e[3])])
    if kind == "neg":
        a = done[id(e[1])]
        return ("const", -a[1]) if a[0] == "const" else ("neg", a)
    if kind == "cond":
        return _fold_cond(done[id(e[1])], done[id(e[2])], done[id(e[3])])
    return None


def _substitute(form: tuple, args: list[tuple]) -> tuple:
    done: dict[int, tuple] = {}
    for e in symbolic.walk(form):
        kind = e[0]
        if kind == "sym":
            new = args[e[1]]
        elif kind == "const":
            new = e
        elif kind == "call":  # already made to work on arrays
            new = _fold_call(e[1], [done[id(a)] for a in e[2]])
        else:
            folded = _refold(e, done)
            if folded is None:
                raise ValueError(f"numpy backend: unexpected {kind!r} in a prepared expression")
            new = folded
        done[id(e)] = new
    return done[id(form)]


def prepare(expr: tuple, forward: bool = False) -> tuple:
    """`expr` with table applications expanded into their forwards, every call made to work on
    arrays, and constants folded (nan op x is nan, x * 1.0 is x). Iterative. `forward`: errors
    of its calls are counted (see `_elementwise`)."""
    done: dict[int, tuple] = {}
    for e in symbolic.walk(expr):
        kind = e[0]
        if kind in ("sym", "const"):
            new = e
        elif kind == "apply":
            args = [done[id(a)] for a in e[2]]
            form = symbolic.forward_form(e[1], len(args))
            if form is None:
                fn = _array_function(e[1].forward, len(args), forward, e[1].array)
                assert fn is not None
                new = _fold_call(fn, args)
            else:  # the forward prepared on its own symbols, then given these operands
                new = _substitute(prepare(form, forward), args)
        elif kind == "call":
            args = [done[id(a)] for a in e[2]]
            new = ("call", _array_function(e[1], len(args), forward), tuple(args))
        else:
            folded = _refold(e, done)
            if folded is None:
                raise ValueError(f"numpy backend: unknown expression {kind!r}")
            new = folded
        done[id(e)] = new
    return done[id(expr)]


_COMPLEMENT = {"<": ">=", ">=": "<", ">": "<=", "<=": ">"}


def _fold_cond(c: tuple, a: tuple, b: tuple) -> tuple:
    if c[0] == "cmp" and c[2][0] == "const" and c[3][0] == "const":
        return a if symbolic.CMP[c[1]](c[2][1], c[3][1]) else b
    if a == b and a[0] == "const":
        return a
    if b[0] == "cond" and _complementary(c, b[1]):
        # `a if x > y else (b if x <= y else z)`: z only when x or y is NaN. They are values of the
        # program or constants, and a NaN value sends the call to the engine: z is never used.
        return ("cond", c, a, b[2])
    return ("cond", c, a, b)


def _complementary(c: tuple, d: tuple) -> bool:
    """Whether comparisons c and d of the same values or constants are each other's negation
    (for numbers that are not NaN)."""
    return (c[0] == "cmp" and d[0] == "cmp" and _COMPLEMENT.get(c[1]) == d[1] and c[2] == d[2]
            and c[3] == d[3] and all(x[0] in ("sym", "const") for x in (c[2], c[3])))


def _fold_call(fn: Callable[..., Any], args: list[tuple]) -> tuple:
    """A call of a table function on constants is evaluated now, when it gives a finite number."""
    call = ("call", fn, tuple(args))
    if not all(a[0] == "const" for a in args):
        return call
    try:
        with np.errstate(all="ignore"):
            x = float(fn(*[np.float64(a[1]) for a in args]))
    except Exception:  # evaluated at every call instead (where the engine decides what it raises)
        return call
    return ("const", x) if math.isfinite(x) else call


def _is_nan(e: tuple) -> bool:
    return e[0] == "const" and e[1] != e[1]


def _fold_bin(op: str, a: tuple, b: tuple) -> tuple:
    if op in _FOLDS_NAN and (_is_nan(a) or _is_nan(b)):
        return ("const", math.nan)
    if a[0] == "const" and b[0] == "const":
        with np.errstate(all="ignore"):
            return ("const", float(symbolic.BIN[op](np.float64(a[1]), np.float64(b[1]))))
    if op == "*" and b[0] == "const" and b[1] == 1 and type(b[1]) is float:
        return a
    if op == "*" and a[0] == "const" and a[1] == 1 and type(a[1]) is float:
        return b
    return ("bin", op, a, b)


def is_safe(expr: tuple) -> bool:
    """Whether evaluating `expr` on floats can never raise (arithmetic without / ** or calls)."""
    for e in symbolic.walk(expr):
        if e[0] in ("call", "apply") or (e[0] == "bin" and e[1] in ("/", "**")):
            return False
    return True


_CMP_TEXT = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "!=": "!="}


class Writer:
    """The lines of the generated function and the objects it reads by name."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.objects: dict[str, Any] = {
            "_np": np, "_where": np.where, "_matmul": np.matmul, "_bincount": np.bincount,
            "_zeros": np.zeros, "_isfinite": math.isfinite, "_errstate": np.errstate, "_zip": zip,
            "_nan": math.nan, "_inf": math.inf, "_called": _called, "_called_rule": _called_rule,
            "_flat": _flat, "_NotFinite": NotFinite, "_raised": _RAISED,
        }
        self._ids: dict[int, str] = {}
        self._seen: dict[str, str] = {}  # the source of each expression computed so far -> its local
        self._count = 0

    def add(self, line: str) -> None:
        """One statement of the function body (indented once more inside the errstate block)."""
        self.lines.append(line)

    def bind(self, obj: Any, hint: str) -> str:
        """A global name for `obj` (bound once)."""
        name = self._ids.get(id(obj))
        if name is None:
            self._count += 1
            name = f"_{hint}{self._count}"
            self.objects[name] = obj
            self._ids[id(obj)] = name
        return name

    def fresh(self, hint: str) -> str:
        """A new local name."""
        self._count += 1
        return f"{hint}{self._count}"

    def literal(self, x: Any) -> str:
        """Source for a constant: finite floats as literals, NaN and infinities by name."""
        if isinstance(x, np.ndarray):
            return self.bind(x, "C")
        x = float(x)
        if x != x:
            return "_nan"
        if math.isinf(x):
            return "_inf" if x > 0 else "(-_inf)"
        return repr(x) if x >= 0 else f"({x!r})"

    def read(self, r: Read, buffer: str = "V") -> str:
        """Source that reads the values described by `r`."""
        if r.kind == "scalar":
            return self.bind(r.value, "k")  # a NumPy float: scalar arithmetic is IEEE, never raises
        if r.kind == "constants":
            return self.bind(r.value, "C")
        if r.kind == "slice":
            text = f"{buffer}[{r.start}:{r.stop}]"
            return text if len(r.shape) == 1 else f"{text}.reshape({r.shape})"
        return f"{buffer}[{self.bind(r.index, 'I')}]"

    def local(self, text: str, hint: str = "a") -> str:
        """`text` assigned to a new local (its name), unless it is a name or literal already."""
        if text.isidentifier() or text.replace(".", "").replace("e-", "").isdigit():
            return text
        name = self.fresh(hint)
        self.add(f"{name} = {text}")
        return name

    def accumulate(self, w: Write | None, weights: str) -> None:
        """G at the targets of `w` += weights (broadcast to the targets' shape)."""
        if w is None:
            return
        if w.kind == "slice":
            if len(w.shape) == 1:
                self.add(f"G[{w.start}:{w.stop}] += {weights}")
            else:
                t = self.fresh("t")
                self.add(f"{t} = G[{w.start}:{w.stop}].reshape({w.shape})")
                self.add(f"{t} += {weights}")
        elif w.kind == "unique":
            self.add(f"G[{self.bind(w.index, 'T')}] += {weights}")
        else:
            assert w.index is not None
            inverse = self.bind(w.inverse, "N")
            self.add(f"G[{self.bind(w.index, 'U')}] += _bincount({inverse}, _flat({weights}, {w.shape}), "
                     f"minlength={w.index.size})")

    def expression(self, expr: tuple, env: list[str]) -> str:
        """Source of a prepared expression on arrays, its subexpressions as locals (iterative)."""
        text: dict[int, str] = {}
        for e in symbolic.walk(expr):
            kind = e[0]
            if kind == "sym":
                text[id(e)] = env[e[1]]
                continue
            if kind == "const":
                text[id(e)] = self.literal(e[1])
                continue
            if kind == "bin":
                body = f"{text[id(e[2])]} {e[1]} {text[id(e[3])]}"
            elif kind == "neg":
                body = f"-{text[id(e[1])]}"
            elif kind == "cmp":
                body = f"{text[id(e[2])]} {_CMP_TEXT[e[1]]} {text[id(e[3])]}"
            elif kind == "cond":
                body = f"_where({text[id(e[1])]}, {text[id(e[2])]}, {text[id(e[3])]})"
            elif kind == "call":
                fn = self.bind(e[1], "f")
                body = f"{fn}({', '.join(text[id(a)] for a in e[2])})"
            else:
                raise ValueError(f"numpy backend: cannot write a {kind!r} expression")
            name = self._seen.get(body)  # the same computation on the same locals: computed once
            if name is None:
                name = self._seen[body] = self.fresh("e")
                self.add(f"{name} = {body}")
            text[id(e)] = name
        return text[id(expr)]


# ---------------------------------------------------------------------------------------------
# The program.
# ---------------------------------------------------------------------------------------------


def generate(tr: Trace, narrow: bool = True) -> Generated:
    """Build the vectorized program of a trace (`narrow`: hand deep narrow graphs to Python)."""
    plan = Plan(tr)
    groups = len(plan.widths)
    if narrow and groups > NARROW_GROUPS and len(tr.forward) < MIN_WIDTH * groups:
        del plan
        from . import python_backend

        return python_backend.generate(tr)
    plan.layout()
    w = Writer()
    locals_of: list[dict[str, Any]] = []
    for k, g in enumerate(plan.groups):
        locals_of.append(_forward(w, plan, g, k))
    forward_lines = w.lines
    w.lines = []
    root = plan.position(tr.root)
    w.add(f"G[{root}] = 1.0")
    for k in range(len(plan.groups) - 1, -1, -1):
        g = plan.groups[k]
        if g.backward:
            _backward(w, plan, g, k, locals_of[k])
    backward_lines = w.lines
    program = _assemble(tr, plan, w, forward_lines, backward_lines)
    del plan, w, locals_of  # freed before compiled.py's compaction hands the heap back
    return Generated(program, None, len(_aux_nodes(tr)))


def _forward(w: Writer, plan: Plan, g: Group, k: int) -> dict[str, Any]:
    """The statements of a group's forward; the locals its backward reuses."""
    out = f"V[{g.start}:{g.stop}]"
    if g.grid is not None:
        grid = g.grid
        W = w.local(w.read(plan.read(grid.W, scalar=False)), "W")
        X = w.local(w.read(plan.read(grid.X, scalar=False)), "X")
        Z = w.local(f"{out}.reshape({grid.S}, {grid.R})", "Z")
        w.add(f"_matmul({X}, {W}.T, out={Z})")
        if grid.bias is not None:
            w.add(f"{Z} += {w.read(plan.read(grid.B))}")
        assert g.terms is not None
        if g.terms.constant != 0.0:
            w.add(f"{Z} += {w.literal(g.terms.constant)}")
        return {"W": W, "X": X}
    cols: list[str] = []
    known: dict[int, float] = {}
    if g.terms is not None:
        parts = []
        t = g.terms
        if t.products:
            a = w.read(plan.read(g.P[[i for i, _ in t.products]]))
            b = w.read(plan.read(g.P[[j for _, j in t.products]]))
            parts.append(f"({a} * {b}).sum(axis=0)")
        if t.syms:
            parts.append(f"{w.read(plan.read(g.P[t.syms]))}.sum(axis=0)")
        if t.constant != 0.0:
            parts.append(w.literal(t.constant))
        if t.others:
            cols, known = _operands(w, plan, g)
            parts += [w.expression(_known(prepare(o, True), known), cols) for o in t.others]
        w.add(f"{out} = {' + '.join(parts)}")
        return {"cols": cols, "known": known}
    cols, known = _operands(w, plan, g)
    if g.form is not None:
        w.add(f"{out} = {w.expression(_known(prepare(g.form, True), known), cols)}")
        return {"cols": cols, "known": known}
    array = _array_function(g.prim.forward, g.n, True, g.prim.array, elementwise=False)
    if array is not None:  # its declared array form, or a math function's ufunc
        w.add(f"{out} = {w.bind(array, 'array_')}({', '.join(cols)})")
    else:
        fn = w.bind(g.prim.forward, "forward_")
        w.add(f"{out} = _called({fn}, {g.m}, {', '.join(cols)})")
    return {"cols": cols, "known": known}


def _operands(w: Writer, plan: Plan, g: Group) -> tuple[list[str], dict[int, float]]:
    """Locals for a group's operand columns, and the operands that are one constant number."""
    cols, known = [], {}
    for j in range(g.n):
        r = plan.read(g.P[j])
        if r.kind == "scalar":
            known[j] = float(r.value)
        cols.append(w.local(w.read(r), "x"))
    return cols, known


def _known(expr: tuple, known: dict[int, float]) -> tuple:
    """`expr` with the operands that are one constant number written as that number (folded later)."""
    if not known:
        return expr
    width = max([e[1] for e in symbolic.walk(expr) if e[0] == "sym"], default=-1) + 1
    return _substitute(expr, [("const", known[k]) if k in known else ("sym", k) for k in range(width)])


def _backward(w: Writer, plan: Plan, g: Group, k: int, saved: dict[str, Any]) -> None:
    """The statements of a group's backward: its contributions into its operands' gradients."""
    gv = w.local(f"G[{g.start}:{g.stop}]", "g")
    if g.grid is not None:
        grid = g.grid
        gO = w.local(f"{gv}.reshape({grid.S}, {grid.R})", "gO")
        w.accumulate(plan.write(grid.W), f"{gO}.T @ {saved['X']}")
        w.accumulate(plan.write(grid.X), f"{gO} @ {saved['W']}")
        if grid.bias is not None:
            # The column sums of gO as a product with ones (a BLAS call, faster than sum(axis=0)).
            ones_vector = w.bind(np.ones(grid.S), "ones")
            w.accumulate(plan.write(grid.B), f"{ones_vector} @ {gO}" if grid.bias_per_row else gO)
        return
    cols: list[str] = saved["cols"]
    known: dict[int, float] = saved.get("known", {})

    def col(j: int) -> str:
        return cols[j] if cols else w.read(plan.read(g.P[j]))

    if g.kernel is not None:
        # The kernel's entries g * input_s and g, batched by their shape; the others one by one.
        times: list[tuple[int, int]] = []
        ones: list[int] = []
        for j, e in g.kernel:
            if e == ("sym", g.n):
                ones.append(j)
            elif e[0] == "bin" and e[1] == "*" and e[2] == ("sym", g.n) and e[3][0] == "sym":
                times.append((j, e[3][1]))
            else:
                env = [col(i) for i in range(g.n)] + [gv]
                text = w.expression(_known(prepare(e), known), env)
                w.accumulate(plan.write(g.P[[j]], is_safe(e)), text)
        if times:
            src = w.read(plan.read(g.P[[s for _, s in times]]))
            w.accumulate(plan.write(g.P[[j for j, _ in times]]), f"{gv} * {src}")
        if ones:
            w.accumulate(plan.write(g.P[ones]), gv)
        return
    env = [col(i) for i in range(g.n)]
    if g.rule is None:
        fn = w.bind(g.prim.partials, "partials_")
        C = w.local(f"_called_rule({fn}, {g.n}, {g.m}, {gv}, {', '.join([*env, f'V[{g.start}:{g.stop}]'])})",
                    "d")
        for j in range(g.n):
            w.accumulate(plan.write(g.P[j], False), f"{C}[{j}]")
        return
    rule = [None if d is None else _known(prepare(d), known) for d in g.rule]
    reads_out = any(e[0] == "sym" and e[1] == g.n for d in rule if d is not None for e in symbolic.walk(d))
    env.append(w.local(f"V[{g.start}:{g.stop}]", "y") if reads_out else "")
    for j, (d, p) in enumerate(zip(g.rule, rule)):  # noqa: B905 (the same length)
        if d is None or p is None:
            continue
        target = plan.write(g.P[j], is_safe(d))
        if target is None:
            continue
        if p[0] == "const" and p[1] == 0.0 and is_safe(d):
            continue  # g * 0 adds nothing (a NaN or infinite g sends the call to the engine anyway)
        if p[0] == "const" and p[1] == 1.0:
            w.accumulate(target, gv)
        elif p[0] == "const" and p[1] == -1.0:
            w.accumulate(target, f"-{gv}")
        elif p[0] == "cond" and p[2][0] == "const" and p[3][0] == "const":
            # g * (k1 if c else k2) as (g k1 if c else g k2): the same for finite g (and a G
            # that is not finite sends the call to the engine)
            c = w.expression(p[1], env)
            w.accumulate(target, f"_where({c}, {_scaled(w, gv, p[2][1])}, {_scaled(w, gv, p[3][1])})")
        else:
            w.accumulate(target, f"{gv} * {w.expression(p, env)}")


def _scaled(w: Writer, g: str, k: float) -> str:
    if k == 1.0:
        return g
    if k == -1.0:
        return f"-{g}"
    if k == 0.0 and math.copysign(1.0, k) > 0:
        return "0.0"
    return f"{g} * {w.literal(k)}"


def _assemble(tr: Trace, plan: Plan, w: Writer, forward: list[str], backward: list[str]) -> Callable:
    """The whole function: inputs, forward, guards, backward, the finiteness check, results."""
    is_float = [kind == "float" for kind in tr.kinds]
    body = ["raised = _raised[0]", "V = _V0.copy()"]
    for a, b in runs([not f for f in is_float]):
        body.append(f"V[{a}:{b}] = [a.data for a in A[{a}:{b}]]")
    for a, b in runs(is_float):
        body.append(f"V[{a}:{b}] = A[{a}:{b}]")
    body.append("with _errstate(all='ignore'):")
    inner = list(forward)
    checks: list[tuple[str, Any, Any, bool]] = []
    for op, a, b, outcome in tr.guards:
        checks.append((op, a, b, outcome))
    if checks or tr.cuts:
        refs: list[int] = []

        def ref(x: Any) -> str:
            if isinstance(x, Value):
                refs.append(plan.position(x))
                return f"c[{len(refs) - 1}]"
            return w.literal(x)

        tests = []
        for op, a, b, outcome in checks:
            test = f"{ref(a)} {_CMP_TEXT[op]} {ref(b)}"
            tests.append(test if not outcome else f"not ({test})")
        for v, value in tr.cuts:
            x = ref(v)
            tests.append(f"{x} == {x}" if value != value else f"{x} != {w.literal(value)}")
        index = w.bind(np.array(refs, dtype=np.intp), "I")
        inner.append(f"c = V[{index}].tolist()")
        inner += [f"if {t}:\n            return None" for t in tests]
    inner.append(f"G = _zeros({plan.size})")
    inner += backward
    body += ["    " + line for line in inner]
    body.append("if not (_isfinite(V.sum()) and _isfinite(G.sum())) or _raised[0] != raised:")
    body.append("    raise _NotFinite('a value or gradient is not finite, or a call raised')")
    reached = _reached_slots(tr, plan)
    value_slots = [not f and k in reached for k, f in enumerate(is_float)]
    for a, b in runs(value_slots):
        body.append(f"for a, x in _zip(A[{a}:{b}], G[{a}:{b}].tolist()):")
        body.append("    a.grad = a.grad + x")
    aux = _aux_nodes(tr)
    outs = [plan.position(tr.root)] + [plan.position(v) for v in aux if isinstance(v, Value)]
    body.append(f"out = V[{w.bind(np.array(outs, dtype=np.intp), 'I')}].tolist()")
    aux_texts, k = [], 1
    for v in aux:
        if isinstance(v, Value):
            aux_texts.append(f"out[{k}]")
            k += 1
        else:
            aux_texts.append(w.literal(v))
    float_runs = runs(is_float)
    grads = " + ".join(f"G[{a}:{b}].tolist()" for a, b in float_runs) or "[]"
    aux_tuple = "".join(t + ", " for t in aux_texts)
    body.append(f"return out[0], ({aux_tuple}), tuple({grads})")
    source = "def program(A):\n" + "".join(f"    {line}\n" for line in body)
    module = dict(w.objects)
    module["_V0"] = plan.initial
    exec(compile(source, "<chaingrad numpy program>", "exec"), module)
    program = module["program"]
    program.source = source  # for debugging: the NumPy program is not meant to be read
    return program


def _reached_slots(tr: Trace, plan: Plan) -> set[int]:
    """Slots whose gradient backward() writes: the inputs of the nodes it visits (and the root)."""
    slot = {id(leaf): k for k, leaf in enumerate(tr.slots)}
    out = {slot[id(tr.root)]} if id(tr.root) in slot else set()
    for node in tr.backward:
        for p in (node._a if node._b is MANY else parents_of(node)):
            k = slot.get(id(p))
            if k is not None:
                out.add(k)
    return out


def _aux_nodes(tr: Trace) -> list[Any]:
    """The auxiliary outputs' leaves (Values and numbers), depth first, left to right."""
    out: list[Any] = []
    stack = [tr.aux] if tr.aux is not None else []
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(reversed(x))
        else:
            out.append(x)
    return out
