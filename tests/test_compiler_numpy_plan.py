"""The NumPy backend's plan: reads and writes by the cheapest access, groups laid out as ranges,
grids of dot nodes recognised only when every cell is there once."""

from __future__ import annotations

import pytest

import autograd as ag
from autograd import Value
from autograd.ops import TABLE

np = pytest.importorskip("numpy")

from autograd.compiler import numpy_plan, symbolic  # noqa: E402
from autograd.compiler.trace import trace  # noqa: E402

CONSTANT = np.array([False] * 10 + [True] * 4)
VALUES = np.array([0.0] * 10 + [2.0, 2.0, 3.0, -0.0])


@pytest.mark.parametrize(
    "positions, kind",
    [
        ([3, 4, 5], "slice"),
        ([[3, 4], [5, 6]], "slice"),
        ([5, 3, 4], "gather"),
        ([3, 3], "gather"),
        ([10, 11], "scalar"),  # the same constant twice: one number
        ([10, 12], "constants"),
        ([10, 13], "constants"),
        ([3, 10], "gather"),
    ],
)
def test_reads_take_the_cheapest_access(positions, kind):
    pos = np.array(positions, dtype=np.intp)
    r = numpy_plan.read(pos, CONSTANT, VALUES)
    assert r.kind == kind
    if kind == "slice":
        assert VALUES[r.start:r.stop].reshape(pos.shape).shape == pos.shape
        assert list(range(r.start, r.stop)) == pos.ravel().tolist()
    if kind == "constants":
        assert r.value.tolist() == VALUES[pos].tolist()


def test_a_scalar_read_keeps_the_sign_of_zero_apart():
    constant = np.array([True, True])
    assert numpy_plan.read(np.array([0, 1]), constant, np.array([0.0, -0.0])).kind == "constants"
    assert numpy_plan.read(np.array([0, 1]), constant, np.array([-0.0, -0.0])).kind == "scalar"


@pytest.mark.parametrize(
    "positions, kind",
    [
        ([3, 4, 5], "slice"),
        ([5, 3, 7], "unique"),
        ([5, 3, 5], "scatter"),
        ([10, 11], None),  # constants only: nothing reads their gradient
        ([3, 10], "unique"),
    ],
)
def test_writes_add_without_a_scatter_unless_targets_repeat(positions, kind):
    w = numpy_plan.write(np.array(positions, dtype=np.intp), CONSTANT)
    assert (w is None) if kind is None else (w.kind == kind)


def test_a_scatter_sums_repeated_targets():
    pos = np.array([[5, 3], [5, 5]], dtype=np.intp)
    w = numpy_plan.write(pos, CONSTANT)
    G = np.zeros(8)
    weights = np.array([[1.0, 2.0], [4.0, 8.0]])
    G[w.index] += np.bincount(w.inverse, weights.ravel(), minlength=w.index.size)
    assert G[5] == 13.0 and G[3] == 2.0 and G.sum() == 15.0


def test_dot_is_bilinear_and_mul_is_not_a_sum_of_terms():
    dot = TABLE["dot"]
    for n in (3, 5, 9):
        terms = numpy_plan.terms_of(symbolic.forward_form(dot, n))
        assert numpy_plan.bilinear(terms, symbolic.kernel_form(dot, n), n)
    assert numpy_plan.terms_of(symbolic.forward_form(TABLE["mul"], 2)) is None
    total = TABLE["sum"]
    terms = numpy_plan.terms_of(symbolic.forward_form(total, 4))
    assert terms.syms == [0, 1, 2, 3] and not terms.products
    assert not numpy_plan.bilinear(terms, symbolic.kernel_form(total, 4), 4)


def _dot_terms(n_pairs: int, bias: bool):
    n = 2 * n_pairs + bias
    return numpy_plan.terms_of(symbolic.forward_form(TABLE["dot"], n)), n


def test_a_full_grid_is_ordered_row_major_by_input_row_then_weight_row():
    terms, n = _dot_terms(2, True)
    W = [[0, 1], [2, 3]]  # 2 weight rows
    X = [[10, 11], [12, 13], [14, 15]]  # 3 input rows
    cells = [(r, s) for s in (2, 0, 1) for r in (1, 0)]  # every cell once, shuffled
    P = np.array([[*W[r], *X[s], 20 + r] for r, s in cells], dtype=np.intp).T
    grid, order = numpy_plan.order_grid(P, terms)
    assert (grid.R, grid.S) == (2, 3)
    assert grid.W.tolist() == W and grid.X.tolist() == X
    assert [cells[i] for i in order] == [(r, s) for s in range(3) for r in range(2)]
    assert grid.bias_per_row and grid.B.tolist() == [20, 21]


@pytest.mark.parametrize("cells", [
    [(0, 0), (1, 1)],  # a diagonal: 2 of 4 cells
    [(0, 0), (0, 1), (1, 0)],  # one cell missing
    [(0, 0), (0, 0), (1, 0), (1, 1)],  # a cell twice (4 nodes for 4 cells, one missing)
])
def test_a_partial_grid_is_no_grid(cells):
    terms, n = _dot_terms(1, True)
    P = np.array([[r, 10 + s, 20] for r, s in cells], dtype=np.intp).T
    assert numpy_plan.order_grid(P, terms) is None


def test_the_layout_puts_each_group_in_one_range_after_its_inputs():
    ws = [[Value(0.1 * (i + j)) for j in range(3)] for i in range(4)]

    def f(*xs):
        rows = [xs[3 * k: 3 * k + 3] for k in range(5)]
        hidden = [ag.relu(ag.dot(w, x)) for x in rows for w in ws]
        return ag.sum(hidden) * 2.0

    tr, _ = trace(f, [0.5 * k - 3.0 for k in range(15)])
    plan = numpy_plan.Plan(tr).layout()
    seen = 0
    for g in plan.groups:
        assert [plan.position(v) for v in g.nodes] == list(range(g.start, g.stop))
        assert g.start == max(seen, g.start) and (g.P < g.start).all()
        seen = g.stop
    dots = [g for g in plan.groups if g.prim is TABLE["dot"] and g.m > 1]
    assert len(dots) == 1 and dots[0].grid is not None and (dots[0].grid.R, dots[0].grid.S) == (4, 5)
    relus = [g for g in plan.groups if g.prim is TABLE["relu"]]
    # relu follows its input's order: it reads the grid's outputs as one slice
    assert plan.read(relus[0].P[0]).kind == "slice"


def test_runs_are_the_maximal_true_ranges():
    assert numpy_plan.runs([True, True, False, True]) == [(0, 2), (3, 4)]
    assert numpy_plan.runs([]) == [] and numpy_plan.runs([False]) == []


@pytest.mark.parametrize("name", ["sum", "dot"])
@pytest.mark.parametrize("n", [65, 66, 101, 674])
def test_wide_terms_are_the_terms_of_the_forward_derived_at_full_arity(name, n):
    prim = TABLE[name]
    wide = numpy_plan.wide_terms(prim, n)
    full = numpy_plan.terms_of(symbolic._derive_forward(prim, n))
    assert (wide.products, wide.syms, wide.constant) == (full.products, full.syms, full.constant)


@pytest.mark.parametrize("name", ["prod", "mean", "logsumexp"])
def test_wide_terms_refuse_forwards_of_another_pattern(name):
    assert numpy_plan.wide_terms(TABLE[name], 100) is None
