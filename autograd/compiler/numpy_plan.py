"""The NumPy backend's plan: which nodes run together, where their values live, how they are read.

Nodes are grouped by depth (1 + the deepest input), op, arity and whether backward() visits them.
Every group's values occupy one contiguous range of the value buffer, so a group writes its
results with one slice assignment, and its nodes are ordered so that its consumers can read it
back as slices too: an elementwise group follows the order of its first operand, and a group of
`dot` nodes whose weight rows and input rows cover a grid of R x S distinct rows is laid out
row-major over (input row, weight row), the layout of one matrix product. Reads that are not
slices are gathers with index arrays computed here once; gradient targets without duplicates are
added with one indexed `+=`, the others with a `bincount` over their distinct positions only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..value import MANY, Value, parents_of
from . import symbolic
from .trace import Trace


class Read:
    """How a program reads the values at an array of positions."""

    __slots__ = ("kind", "shape", "start", "stop", "index", "value")

    def __init__(self, kind: str, shape: tuple[int, ...], start: int = 0, stop: int = 0,
                 index: np.ndarray | None = None, value: Any = None) -> None:
        self.kind = kind  # "slice", "gather", "constants" (an array known now) or "scalar"
        self.shape, self.start, self.stop, self.index, self.value = shape, start, stop, index, value


class Write:
    """How a program adds contributions into the gradients at an array of positions."""

    __slots__ = ("kind", "shape", "start", "stop", "index", "inverse")

    def __init__(self, kind: str, shape: tuple[int, ...], start: int = 0, stop: int = 0,
                 index: np.ndarray | None = None, inverse: np.ndarray | None = None) -> None:
        self.kind = kind  # "slice", "unique" (one indexed +=) or "scatter" (bincount over `index`)
        self.shape, self.start, self.stop, self.index, self.inverse = shape, start, stop, index, inverse


def _contiguous(flat: np.ndarray) -> bool:
    return bool(flat.size) and bool((np.diff(flat) == 1).all())


def read(pos: np.ndarray, constant: np.ndarray, values: np.ndarray, scalar: bool = True) -> Read:
    """The cheapest way to read V[pos]: a slice, known constants (one number if `scalar` and all
    are equal), or a gather."""
    flat = pos.ravel()
    if flat.size and constant[flat].all():
        known = values[flat]
        first = known[0]
        same = (known == first) | ((known != known) & (first != first))
        if scalar and same.all() and np.signbit(known).all() == np.signbit(known).any():
            return Read("scalar", pos.shape, value=np.float64(first))
        return Read("constants", pos.shape, value=known.reshape(pos.shape).copy())
    if _contiguous(flat):
        return Read("slice", pos.shape, int(flat[0]), int(flat[-1]) + 1)
    return Read("gather", pos.shape, index=pos.copy())


def write(pos: np.ndarray, constant: np.ndarray, skip_constants: bool = True) -> Write | None:
    """How to add into G[pos]; None when every target is a constant (nothing reads its gradient)."""
    flat = pos.ravel()
    if skip_constants and (flat.size == 0 or constant[flat].all()):
        return None
    if _contiguous(flat):
        return Write("slice", pos.shape, int(flat[0]), int(flat[-1]) + 1)
    distinct, inverse = np.unique(flat, return_inverse=True)
    if distinct.size == flat.size:
        return Write("unique", pos.shape, index=pos.copy())
    return Write("scatter", pos.shape, index=distinct, inverse=inverse.ravel().astype(np.intp))


# ---------------------------------------------------------------------------------------------
# Forms: a forward as a sum of terms, and the bilinear forms that are matrix products.
# ---------------------------------------------------------------------------------------------


class Terms:
    """A forward that is a left fold of + over terms: products sym_i * sym_j, syms, constants, others."""

    def __init__(self, products: list[tuple[int, int]], syms: list[int], constant: float,
                 others: list[tuple]) -> None:
        self.products, self.syms, self.constant, self.others = products, syms, constant, others


def _summands(expr: tuple) -> list[tuple]:
    """The terms of a left fold of + (((a + b) + c) + ...), in order (iterative)."""
    terms: list[tuple] = []
    e = expr
    while e[0] == "bin" and e[1] == "+":
        terms.append(e[3])
        e = e[2]
    terms.append(e)
    terms.reverse()
    return terms


def terms_of(expr: tuple) -> Terms | None:
    """`expr` as a sum of terms (iterative), or None when it has fewer than 3 terms."""
    terms = _summands(expr)
    if len(terms) < 3:
        return None
    products, syms, others = [], [], []
    constant = 0.0
    for t in terms:
        if t[0] == "bin" and t[1] == "*" and t[2][0] == "sym" and t[3][0] == "sym":
            products.append((t[2][1], t[3][1]))
        elif t[0] == "sym":
            syms.append(t[1])
        elif t[0] == "const" and type(t[1]) in (int, float):
            constant += float(t[1])  # the same sum: a float plus an int converts it the same way
        else:
            others.append(t)
    return Terms(products, syms, constant, others)


def bilinear(terms: Terms | None, kernel: list[tuple[int, tuple]] | None, n: int) -> bool:
    """Whether the form is sum(w_k x_k) (+ one bias) with distinct inputs, and the kernel (the
    op's derived backward) is exactly its transpose: d/dw_k = g x_k, d/dx_k = g w_k, d/db = g.

    Then a group of such nodes over a grid of rows is one matrix product forward and two back.
    """
    if terms is None or kernel is None or not terms.products or terms.others or len(terms.syms) > 1:
        return False
    used = [i for pair in terms.products for i in pair] + terms.syms
    if len(set(used)) != len(used):
        return False
    g = ("sym", n)
    expected: list[tuple[int, tuple]] = [(i, ("bin", "*", g, ("sym", j))) for i, j in terms.products]
    expected += [(j, ("bin", "*", g, ("sym", i))) for i, j in terms.products]
    expected += [(b, g) for b in terms.syms]
    try:
        return sorted(kernel) == sorted(expected)
    except TypeError:  # an entry that does not compare (a called function): not this form
        return False


def _ordered_terms(expr: tuple) -> list[tuple] | None:
    """The terms of a left fold of +, in order, as ("const", c), ("sym", i) or ("prod", i, j)."""
    out = []
    for t in _summands(expr):
        if t[0] == "bin" and t[1] == "*" and t[2][0] == "sym" and t[3][0] == "sym":
            out.append(("prod", t[2][1], t[3][1]))
        elif t[0] == "sym" or (t[0] == "const" and type(t[1]) is float):
            out.append(t)
        else:
            return None
    return out


def _extended(terms: list[tuple], small: int, n: int) -> list[tuple] | None:
    """The terms at arity `small` as the same pattern at arity n: a sum of every input, or
    sum(x_i * x_(h+i)) over the two halves (plus the last input when n is odd)."""
    lead = [t for t in terms[:1] if t[0] == "const"]
    h, odd = divmod(small, 2)
    if terms == [*lead, *[("sym", i) for i in range(small)]]:
        return [*lead, *[("sym", i) for i in range(n)]]
    if terms == [*lead, *[("prod", i, h + i) for i in range(h)], *[("sym", small - 1)] * odd]:
        H = n // 2
        return [*lead, *[("prod", i, H + i) for i in range(H)], *[("sym", n - 1)] * (n % 2)]
    return None


def wide_terms(prim: Any, n: int) -> Terms | None:
    """The terms of a wide n-ary forward without deriving it at n (seconds at n = 10^5): derived
    at a small arity of the same parity, extended by its pattern, and checked bit for bit
    against the forward at the op's sample points at arity n (as a derived form is)."""
    small = 8 + n % 2
    form = symbolic.forward_form(prim, small)
    ordered = None if form is None else _ordered_terms(form)
    terms = None if ordered is None else _extended(ordered, small, n)
    if terms is None:
        return None
    for point in symbolic.sample_points(prim, n):
        try:
            expected = prim.forward(*point)
        except Exception:
            return None
        total = 0.0
        for i, t in enumerate(terms):  # the fold, left to right, as the derived form computes it
            x = t[1] if t[0] == "const" else point[t[1]] if t[0] == "sym" else point[t[1]] * point[t[2]]
            total = x if i == 0 else total + x
        if not (type(expected) is float and (expected == total or (expected != expected and total != total))):
            return None
    constant = sum(t[1] for t in terms if t[0] == "const")
    return Terms([(t[1], t[2]) for t in terms if t[0] == "prod"], [t[1] for t in terms if t[0] == "sym"],
                 constant, [])


class Grid:
    """A group of bilinear nodes over R weight rows x S input rows (each cell once), row-major (s, r)."""

    def __init__(self, w_cols: list[int], x_cols: list[int], bias: int | None, R: int, S: int) -> None:
        self.w_cols, self.x_cols, self.bias, self.R, self.S = w_cols, x_cols, bias, R, S
        # Positions, set by order_grid. Annotated without a shape: NumPy's stubs type np.zeros(0)
        # as 1-d, and which shapes they infer differs between NumPy versions.
        self.W: np.ndarray = np.zeros(0, dtype=np.intp)
        self.X: np.ndarray = self.W
        self.B: np.ndarray = self.W
        self.bias_per_row = False


def order_grid(P: np.ndarray, terms: Terms) -> tuple[Grid, np.ndarray] | None:
    """The grid of a bilinear group with operand positions P (n x m), and the nodes' order; or None."""
    m = P.shape[1]
    w_cols = [i for i, _ in terms.products]
    x_cols = [j for _, j in terms.products]
    w_unique, w_of = np.unique(P[w_cols].T, axis=0, return_inverse=True)
    x_unique, x_of = np.unique(P[x_cols].T, axis=0, return_inverse=True)
    w_of, x_of = w_of.ravel(), x_of.ravel()
    if len(w_unique) > len(x_unique):  # the side with fewer distinct rows is the weights
        w_cols, x_cols, w_unique, x_unique, w_of, x_of = x_cols, w_cols, x_unique, w_unique, x_of, w_of
    R, S = len(w_unique), len(x_unique)
    if R * S != m:
        return None
    cell = x_of * R + w_of
    if (np.diff(np.sort(cell)) == 0).any():  # a cell twice (np.unique here would import numpy.ma)
        return None
    order = np.argsort(cell, kind="stable")
    grid = Grid(w_cols, x_cols, terms.syms[0] if terms.syms else None, R, S)
    grid.W, grid.X = w_unique.astype(np.intp), x_unique.astype(np.intp)
    if grid.bias is not None:
        B = P[grid.bias][order].reshape(S, R)
        grid.bias_per_row = bool((B == B[0]).all())
        grid.B = B[0].copy() if grid.bias_per_row else B
    return grid, order


# ---------------------------------------------------------------------------------------------
# Groups and the layout.
# ---------------------------------------------------------------------------------------------


class Group:
    """Nodes of one op and arity at one depth: operand positions P (n x m), outputs start..stop."""

    def __init__(self, prim: Any, n: int, nary: bool, backward: bool, nodes: list[Value]) -> None:
        self.prim, self.n, self.nary, self.backward, self.nodes = prim, n, nary, backward, nodes
        self.P: np.ndarray = np.zeros((n, 0), dtype=np.intp)  # no shape in the type (see Grid)
        self.start = self.stop = 0
        self.form: tuple | None = None
        self.terms: Terms | None = None
        self.kernel: list[tuple[int, tuple]] | None = None
        self.rule: list[tuple | None] | None = None
        self.grid: Grid | None = None

    @property
    def m(self) -> int:
        """How many nodes."""
        return len(self.nodes)

    def derive(self) -> None:
        """The op's derived forward, kernel or rule (symbolic), and the forward's terms."""
        form = symbolic.forward_form(self.prim, self.n)
        wide = None
        if form is None and self.n > symbolic.MAX_INLINE_ARITY:  # arrays want the derived form here too
            wide = wide_terms(self.prim, self.n) if self.nary else None
            if wide is None:
                form = symbolic._cached(symbolic._forwards, (self.prim, self.n),
                                        lambda: symbolic._derive_forward(self.prim, self.n))
        self.form = form
        self.terms = wide if wide is not None else None if form is None else terms_of(form)
        if self.nary:
            self.kernel = symbolic.kernel_form(self.prim, self.n)
        if self.backward and self.kernel is None:
            self.rule = symbolic.rule_form(self.prim, self.n)

    def order(self, P: np.ndarray, constant: np.ndarray) -> np.ndarray:
        """The nodes' order in the buffer (sets `grid` for a matrix product)."""
        if bilinear(self.terms, self.kernel, self.n):
            assert self.terms is not None
            found = order_grid(P, self.terms)
            if found is not None:
                self.grid, order = found
                return order
        if P.shape[1] < 2:
            return np.arange(P.shape[1])
        keys = np.where(constant[P], 0, P)  # by the operands' positions (constants don't count)
        return np.lexsort(keys[::-1])


class Plan:
    """The buffer layout of a trace: slots first, then constants, then each group's range.

    `Plan(tr)` only groups the nodes (`widths`); `layout()` orders them and assigns positions.
    """

    def __init__(self, tr: Trace) -> None:
        n_slots = len(tr.slots)
        index: dict[int, int] = {id(leaf): k for k, leaf in enumerate(tr.slots)}
        values: list[float] = [0.0] * n_slots
        constant: list[bool] = [False] * n_slots
        level: dict[int, int] = {}
        in_backward = {id(node) for node in tr.backward}
        keyed: dict[tuple, list[Value]] = {}
        for node in tr.forward:
            depth = 0
            for p in _parents(node):
                if p._prim is None:
                    if id(p) not in index:  # a constant leaf
                        index[id(p)] = len(values)
                        values.append(p.data)
                        constant.append(True)
                else:
                    depth = max(depth, level[id(p)])
            level[id(node)] = depth + 1
            keyed.setdefault((depth + 1, node._prim, len(_parents(node)), id(node) in in_backward),
                             []).append(node)
        self.n_slots = n_slots
        self.groups: list[Group] = []
        self.index = index
        self._keyed, self._values, self._constant, self._nodes = keyed, values, constant, len(tr.forward)
        self.widths = [len(nodes) for nodes in keyed.values()]
        self.size = len(values)

    def layout(self) -> Plan:
        """Order each group's nodes and give them their positions (and derive the ops' forms)."""
        keyed, values, constant, index = self._keyed, self._values, self._constant, self.index
        size = len(values)
        const_mask = np.zeros(size + self._nodes, dtype=bool)
        const_mask[: len(constant)] = constant
        for key in sorted(keyed, key=lambda k: k[0]):  # by depth, stable
            _, prim, n, backward = key
            nodes = keyed[key]
            g = Group(prim, n, nodes[0]._b is MANY, backward, nodes)
            g.derive()
            # Straight into an array: no list per node (the garbage would stay as fragmented heap).
            P = np.fromiter((index[id(p)] for node in nodes for p in _parents(node)), dtype=np.intp,
                            count=len(nodes) * n).reshape(len(nodes), n).T
            order = g.order(P, const_mask)
            g.nodes = [nodes[i] for i in order]
            g.P = P[:, order].copy()
            g.start, g.stop = size, size + len(nodes)
            for q, node in enumerate(g.nodes):
                index[id(node)] = size + q
            size += len(nodes)
            self.groups.append(g)
        self.size = size
        self.constant = const_mask[:size].copy()
        self.initial = np.zeros(size)
        self.initial[: len(values)] = values
        del self._keyed, self._values, self._constant
        return self

    def position(self, v: Value) -> int:
        """Where `v`'s value lives in the buffer."""
        return self.index[id(v)]

    def read(self, pos: np.ndarray, scalar: bool = True) -> Read:
        """How to read V[pos] (see `read`)."""
        return read(pos, self.constant, self.initial, scalar)

    def write(self, pos: np.ndarray, skip_constants: bool = True) -> Write | None:
        """How to add into G[pos] (see `write`)."""
        return write(pos, self.constant, skip_constants)


def _parents(node: Value) -> Sequence[Value]:
    return node._a if node._b is MANY else parents_of(node)


def runs(flags: Sequence[bool]) -> list[tuple[int, int]]:
    """The maximal ranges [a, b) where flags is True."""
    out: list[tuple[int, int]] = []
    start = None
    for k, f in enumerate([*flags, False]):
        if f and start is None:
            start = k
        elif not f and start is not None:
            out.append((start, k))
            start = None
    return out
