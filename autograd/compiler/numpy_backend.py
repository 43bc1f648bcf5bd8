"""The NumPy backend: independent nodes of one op, at one depth, run together on arrays.

Nodes are grouped by depth (1 + the deepest input) and by op and arity; a group's forward is the
op's derived forward evaluated on arrays (conditionals become `numpy.where`; a sum of products,
dot's forward, becomes one product of two gathered matrices and a column sum), and its backward
the op's derived rule or kernel, contributions added into the gradients with one `bincount`. A
forward or rule without a derived form is applied element by element (the fallback per group).
Deep narrow graphs lose here (a chain of n nodes is n groups of one node).

Sums run in NumPy's order, not backward()'s: results agree to about 1e-12 relative, not bit for
bit. A program whose values or gradients are not all finite reports it, and the caller reruns
that call in the dynamic engine, so NaN results and domain errors are the engine's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..value import MANY, Value, parents_of
from . import symbolic
from .python_backend import Generated, Redo
from .trace import Trace


class NotFinite(Redo):
    """A replay produced a NaN or an infinity: the dynamic engine reruns the call."""


def _where(c: Any, a: Any, b: Any) -> Any:
    return np.where(c, a, b)


def _elementwise(fn: Callable[..., float]) -> Callable[..., Any]:
    """`fn` applied element by element to arrays (and scalars), as a float64 array."""

    def safe(*xs: float) -> float:
        # Both branches of a conditional are evaluated on arrays: an error belongs to an element
        # of the branch not taken, or makes a NaN that sends the call to the dynamic engine.
        try:
            return fn(*xs)
        except (ArithmeticError, ValueError):
            return np.nan

    def apply(*args: Any) -> Any:
        arrays = [np.asarray(a, dtype=float) for a in args]
        shape = np.broadcast_shapes(*[a.shape for a in arrays])
        flat = [np.broadcast_to(a, shape).ravel().tolist() for a in arrays]
        out = np.fromiter(map(safe, *flat), dtype=float, count=int(np.prod(shape)))
        return out.reshape(shape)

    return apply


def _array_function(fn: Callable[..., float]) -> Callable[..., Any]:
    """NumPy's function of the same name for a function of the `math` module; else elementwise."""
    if getattr(fn, "__module__", None) == "math" and hasattr(np, getattr(fn, "__name__", "")):
        return getattr(np, fn.__name__)
    return _elementwise(fn)


def _vectorized(expr: tuple) -> tuple:
    """`expr` with table applications expanded and every call made to work on arrays (iterative)."""
    from .python_backend import substitute

    syms = [e[1] for e in symbolic.walk(expr) if e[0] == "sym"]
    expr = substitute(expr, [("sym", k) for k in range(max(syms, default=-1) + 1)])
    done: dict[int, tuple] = {}
    for e in symbolic.walk(expr):
        kind = e[0]
        if kind in ("sym", "const"):
            new = e
        elif kind in ("bin", "cmp"):
            new = (kind, e[1], done[id(e[2])], done[id(e[3])])
        elif kind == "neg":
            new = ("neg", done[id(e[1])])
        elif kind == "cond":
            new = ("cond", done[id(e[1])], done[id(e[2])], done[id(e[3])])
        elif kind == "call":
            new = ("call", _array_function(e[1]), tuple(done[id(a)] for a in e[2]))
        else:
            raise ValueError(f"numpy backend: unknown expression {kind!r}")
        done[id(e)] = new
    return done[id(expr)]


def _sum_of_products(expr: tuple) -> tuple[list[tuple[int, int]], list[tuple], ] | None:
    """A left fold of + over terms: ([(i, j) for each sym_i * sym_j term], [other terms])."""
    terms: list[tuple] = []
    e = expr
    while e[0] == "bin" and e[1] == "+":
        terms.append(e[3])
        e = e[2]
    terms.append(e)
    products = [(t[2][1], t[3][1]) for t in terms
                if t[0] == "bin" and t[1] == "*" and t[2][0] == "sym" and t[3][0] == "sym"]
    if len(products) < 3:
        return None
    rest = [t for t in terms if not (t[0] == "bin" and t[1] == "*" and t[2][0] == "sym" and t[3][0] == "sym")]
    return products, rest


class _Group:
    """Nodes of one op and arity at one depth: operand indices (n × m) and output indices (m)."""

    def __init__(self, prim: Any, n: int, nary: bool) -> None:
        self.prim, self.n, self.nary = prim, n, nary
        self.operands: list[list[int]] = []
        self.outputs: list[int] = []
        self.backward = False

    def freeze(self) -> None:
        self.idx = np.array(self.operands, dtype=np.intp).T.copy()  # n × m
        self.out = np.array(self.outputs, dtype=np.intp)
        form = symbolic.forward_form(self.prim, self.n)
        if form is None and self.n > symbolic.MAX_INLINE_ARITY:  # arrays want the derived form even here
            form = symbolic._cached(symbolic._forwards, (self.prim, self.n),
                                    lambda: symbolic._derive_forward(self.prim, self.n))
        self.form = None if form is None else _vectorized(form)
        self.products = None if form is None else _sum_of_products(form)
        if self.products is not None:
            self.pi = np.array([i for i, _ in self.products[0]], dtype=np.intp)
            self.pj = np.array([j for _, j in self.products[0]], dtype=np.intp)
        if not self.backward:
            return
        kernel = symbolic.kernel_form(self.prim, self.n) if self.nary else None
        self.contributions: list[tuple[np.ndarray, tuple]] = []  # (target rows, expression)
        if kernel is not None:
            # Batch the kernel's entries that are g * input_k (dot) or g (sum) by their shape.
            times: dict[str, list[tuple[int, int]]] = {"g*": [], "g": []}
            other = []
            for j, e in kernel:
                if e == ("sym", self.n):
                    times["g"].append((j, -1))
                elif e[0] == "bin" and e[1] == "*" and e[2] == ("sym", self.n) and e[3][0] == "sym":
                    times["g*"].append((j, e[3][1]))
                else:
                    other.append((j, e))
            self.kernel_batches = {
                k: (np.array([j for j, _ in v], dtype=np.intp), np.array([s for _, s in v], dtype=np.intp))
                for k, v in times.items() if v
            }
            self.kernel_other = [(j, _vectorized(e)) for j, e in other]
            # The targets are the same at every call: gathered once.
            parts = [self.idx[js].ravel() for js, _ in self.kernel_batches.values()]
            parts += [self.idx[j] for j, _ in self.kernel_other]
            self.kernel_targets = np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)
            self.rule = None
            return
        self.kernel_batches = None  # type: ignore[assignment]
        rule = symbolic.rule_form(self.prim, self.n)
        self.rule = None if rule is None else [None if d is None else _vectorized(d) for d in rule]


def generate(tr: Trace) -> Generated:
    """Build the vectorized program of a trace."""
    index: dict[int, int] = {}
    constants: list[tuple[int, float]] = []
    for k, leaf in enumerate(tr.slots):
        index[id(leaf)] = k
    size = len(tr.slots)
    depth: dict[int, int] = {}
    groups: dict[tuple[int, Any, int], _Group] = {}
    in_backward = {id(node) for node in tr.backward}
    for node in tr.forward:
        parents = node._a if node._b is MANY else parents_of(node)
        operands = []
        level = 0
        for p in parents:
            if id(p) not in index:  # a constant leaf
                index[id(p)] = size
                constants.append((size, p.data))
                size += 1
            operands.append(index[id(p)])
            level = max(level, depth.get(id(p), 0))
        depth[id(node)] = level + 1
        index[id(node)] = size
        size += 1
        key = (level + 1, node._prim, len(parents))
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(node._prim, len(parents), node._b is MANY)
        group.operands.append(operands)
        group.outputs.append(index[id(node)])
        if id(node) in in_backward:
            group.backward = True
    ordered = [groups[k] for k in sorted(groups, key=lambda k: k[0])]
    for g in ordered:
        g.freeze()
    const_idx = np.array([i for i, _ in constants], dtype=np.intp)
    const_val = np.array([v for _, v in constants], dtype=float)
    kinds = tr.kinds
    value_slots = [k for k, kind in enumerate(kinds) if kind != "float"]
    float_slots = [k for k, kind in enumerate(kinds) if kind == "float"]
    guards = [(op, _ref(a, index), _ref(b, index), outcome) for op, a, b, outcome in tr.guards]
    cuts = [(index[id(v)], value) for v, value in tr.cuts]
    root = index[id(tr.root)]
    root_is_leaf = tr.root._prim is None
    from .python_backend import _aux_nodes

    aux = [("i", index[id(v)]) if isinstance(v, Value) else ("c", float(v)) for v in _aux_nodes(tr)]
    backward_groups = [g for g in reversed(ordered) if g.backward]
    n_slots = len(tr.slots)

    def run(A: list[Any]) -> Any:
        V = np.empty(size)
        V[:n_slots] = [a if kind == "float" else a.data for a, kind in zip(A, kinds)]  # noqa: B905
        V[const_idx] = const_val
        with np.errstate(all="ignore"):
            for g in ordered:
                V[g.out] = _forward(g, V)
            values = V.tolist()
            for op, a, b, outcome in guards:
                x = values[a] if isinstance(a, int) else a[1]
                y = values[b] if isinstance(b, int) else b[1]
                if symbolic.CMP[op](x, y) != outcome:
                    return None
            for i, value in cuts:
                if not (values[i] == value or (values[i] != values[i] and value != value)):
                    return None
            G = np.zeros(size)
            G[root] = 1.0
            for g in backward_groups:
                _backward(g, V, G, size)
        if not (np.isfinite(V).all() and np.isfinite(G).all()):
            raise NotFinite("a value or gradient is not finite")
        grads = G.tolist()
        for k in value_slots:
            A[k].grad = A[k].grad + grads[k]
        out_aux = tuple(values[int(i)] if kind == "i" else i for kind, i in aux)
        return values[root], out_aux, tuple(grads[k] for k in float_slots)

    del root_is_leaf
    return Generated(run, None, len(aux))


def _ref(x: Any, index: dict[int, int]) -> Any:
    return index[id(x)] if isinstance(x, Value) else ("c", x)


def _forward(g: _Group, V: np.ndarray) -> np.ndarray:
    if g.products is not None:
        cols = V[g.idx]  # n × m
        total = (cols[g.pi] * cols[g.pj]).sum(axis=0)
        for t in g.products[1]:
            total = total + symbolic.evaluate(_vectorized(t), list(cols), _where)
        return total
    cols = V[g.idx]
    if g.form is None:
        return np.fromiter(map(g.prim.forward, *cols.tolist()), dtype=float, count=cols.shape[1])
    return np.broadcast_to(symbolic.evaluate(g.form, list(cols), _where), g.out.shape)


def _backward(g: _Group, V: np.ndarray, G: np.ndarray, size: int) -> None:
    gv = G[g.out]
    cols = V[g.idx]
    targets: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    if g.kernel_batches is not None:
        for kind, (js, ss) in g.kernel_batches.items():
            w = np.broadcast_to(gv, (len(js), gv.size)) if kind == "g" else gv * cols[ss]
            weights.append(w.ravel())
        env = [*cols, gv]
        for _, e in g.kernel_other:
            weights.append(np.broadcast_to(symbolic.evaluate(e, env, _where), gv.shape))
        if weights:
            G += np.bincount(g.kernel_targets, weights=np.concatenate(weights), minlength=size)
        return
    elif g.rule is not None:
        env = [*cols, V[g.out]]
        for j, d in enumerate(g.rule):
            if d is not None:
                targets.append(g.idx[j])
                weights.append(gv * np.broadcast_to(symbolic.evaluate(d, env, _where), gv.shape))
    else:  # the rule is called, node by node
        rows = cols.T.tolist()
        outs = V[g.out].tolist()
        gl = gv.tolist()
        for r, (inputs, out) in enumerate(zip(rows, outs)):  # noqa: B905
            for j, d in enumerate(g.prim.partials(*inputs, out)):
                if d is not None:
                    targets.append(g.idx[j, r: r + 1])
                    weights.append(np.array([gl[r] * d]))
    if targets:
        G += np.bincount(np.concatenate(targets), weights=np.concatenate(weights), minlength=size)
