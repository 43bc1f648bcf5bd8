"""The NumPy backend: same values and gradients as the engine to 1e-12 (relative to the terms)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given, settings

import autograd as ag
import nn
from autograd import Value
from autograd.testing.strategies import expressions

np = pytest.importorskip("numpy")

# A program that fails where the engine does not is a compiler bug: the fallback warns, tests fail.
pytestmark = pytest.mark.filterwarnings("error:compile. the program raised")

from autograd.compiler import numpy_backend, numpy_plan  # noqa: E402
from autograd.compiler.trace import trace  # noqa: E402


def dynamic(f, point):
    vs = [Value(x) for x in point]
    out = f(*vs)
    out.backward()
    return out.data, [v.grad for v in vs]


def close(a, b, scale):
    return a == b or (a != a and b != b) or abs(a - b) <= 1e-12 * scale


@settings(max_examples=200)
@given(expressions(n_inputs=3, max_depth=4, max_ops=12))
def test_vectorized_replay_agrees_with_the_engine(fp):
    f, point = fp
    c = ag.compile(lambda a, b, d: f(a, b, d), backend="numpy")
    value, grads = c.value_and_grad(*point)
    expected, expected_grads = dynamic(f, point)
    # Sums in another order: the error scales with the terms (bounded by max_magnitude 1e3).
    assert close(value, expected, 1e3), f
    for g, e in zip(grads, expected_grads, strict=True):
        assert close(g, e, 1e3 * max(1.0, abs(e))), f


def test_independent_nodes_of_one_op_run_as_one_group():
    xs = [Value(0.1 * i) for i in range(50)]

    def f(*xs):
        return ag.sum([ag.relu(x - 1.0) * x for x in xs])

    tr, _ = trace(f, xs)
    program = numpy_backend.generate(tr)
    cells = [Value(x.data) for x in xs]
    out, _, _ = program.run(cells)
    expected, grads = dynamic(f, [x.data for x in xs])
    assert math.isclose(out, expected, rel_tol=1e-12)
    for c, g in zip(cells, grads, strict=True):
        assert math.isclose(c.grad, g, rel_tol=1e-12, abs_tol=1e-15)


def test_a_not_finite_result_is_rerun_by_the_engine():
    c = ag.compile(lambda x: ag.log(x) * x, backend="numpy")
    c.value_and_grad(2.0)
    with pytest.raises(ValueError, match="log"):
        c(Value(-1.0))


def test_numpy_is_imported_only_when_its_backend_is_chosen():
    code = ("import sys, autograd as ag; c = ag.compile(lambda x: x * x); c.value_and_grad(2.0); "
            "print('numpy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr


# -- wide graphs: the groups have many nodes --


@settings(max_examples=100)
@given(expressions(n_inputs=3, max_depth=4, max_ops=12))
def test_an_expression_over_many_points_agrees_with_the_engine(fp):
    f, point = fp
    k = 7  # copies of the expression side by side: each of its nodes is a group of 7
    points = [tuple(x * (1 + 1e-7 * i) for x in point) for i in range(k)]

    def total(*xs):
        return ag.sum([f(*xs[3 * i: 3 * i + 3]) for i in range(k)])

    flat = [x for p in points for x in p]
    value, grads = ag.compile(total, backend="numpy").value_and_grad(*flat)
    expected, expected_grads = dynamic(total, flat)
    parts = [dynamic(f, p)[0] for p in points]
    assert close(value, expected, 1e3 * sum(max(1.0, abs(x)) for x in parts)), f
    for g, e in zip(grads, expected_grads, strict=True):
        assert close(g, e, 1e3 * max(1.0, abs(e))), f


def _mlp_loss(model, n_points, loss="mse"):
    X, y = nn.data.make_moons(n_points, noise=0.1, seed=5, signed=True)
    params = model.parameters()

    def f(ps, X, y):
        scores = [model(x) for x in X]
        data = nn.losses.hinge_loss(scores, y) if loss == "hinge" else nn.losses.mse_loss(scores, y)
        return data + nn.losses.l2_penalty(ps, 1e-3)

    return f, params, X, tuple(y)


@pytest.mark.parametrize("activation, loss", [("relu", "hinge"), ("tanh", "mse"), ("sigmoid", "mse")])
def test_an_mlp_trains_like_backward_across_changing_inputs_and_weights(activation, loss):
    model = nn.MLP(2, [8, 8, 1], activation=activation, seed=7)
    f, params, X, y = _mlp_loss(model, 12, loss)
    c = ag.compile(f, backend="numpy", static_argnums=(2,))
    for step in range(4):
        model.zero_grad()
        value = c(params, X, y)
        got = [p.grad for p in params]
        model.zero_grad()
        out = f(params, X, y)
        out.backward()
        expected = [p.grad for p in params]
        scale = max(1.0, max(abs(g) for g in expected))
        assert math.isclose(value, out.data, rel_tol=1e-12)
        assert all(abs(a - b) <= 1e-12 * scale for a, b in zip(got, expected, strict=True))
        for p in params:
            p.data -= 0.1 * p.grad
        X = [[a + 0.05 * step, b - 0.03] for a, b in X]
    assert c.traces == 1


def _plan_of(f, args):
    tr, _ = trace(f, args)
    return numpy_plan.Plan(tr).layout(), tr


def _check_program(f, args, narrow=False):
    """The numpy program of f at args against backward(), relative to the size of the terms."""
    tr, _ = trace(f, [Value(x) for x in args])  # Value arguments: gradients go into .grad
    program = numpy_backend.generate(tr, narrow=narrow)
    cells = [Value(x) for x in args]
    out, _, _ = program.run(cells)
    expected, grads = dynamic(f, args)
    assert math.isclose(out, expected, rel_tol=1e-12, abs_tol=1e-12)
    scale = max(1.0, max(abs(g) for g in grads))
    for c, g in zip(cells, grads, strict=True):
        assert abs(c.grad - g) <= 1e-12 * scale
    return program


def _layer(R, S, k, cells=None, bias=True):
    """dot nodes for the (r, s) cells of R weight rows x S input rows of k (args: weights, inputs)."""
    cells = cells if cells is not None else [(r, s) for s in range(S) for r in range(R)]

    def f(*a):
        W = [a[r * k: (r + 1) * k] for r in range(R)]
        B = a[R * k: R * k + R]
        X = [a[R * k + R + s * k: R * k + R + (s + 1) * k] for s in range(S)]
        dots = [ag.dot(W[r], X[s], B[r] if bias else None) for r, s in cells]
        return ag.sum([ag.relu(z) * (1.0 + 0.1 * r) for z, (r, _) in zip(dots, cells, strict=True)])

    n = R * k + R + S * k
    args = [math.sin(1.7 * i + 0.3) for i in range(n)]
    return f, args


@pytest.mark.parametrize("R, S, k", [(3, 5, 4), (1, 6, 3), (4, 1, 2), (1, 1, 7), (5, 5, 1)])
def test_a_full_grid_of_dot_nodes_is_one_matrix_product_with_backward_s_gradients(R, S, k):
    f, args = _layer(R, S, k)
    plan, _ = _plan_of(f, args)
    dots = [g for g in plan.groups if g.prim.name == "dot" and g.m == R * S]
    assert dots and dots[0].grid is not None
    _check_program(f, args)


@pytest.mark.parametrize("cells", [
    [(0, 0), (1, 1), (2, 2)],  # a diagonal
    [(r, s) for s in range(3) for r in range(3) if (r, s) != (1, 2)],  # one cell missing
    [(0, 0), (0, 0), (1, 1), (1, 0)],  # a cell twice
])
def test_dot_nodes_that_are_not_a_full_grid_run_as_sums_of_products(cells):
    f, args = _layer(3, 3, 4, cells)
    plan, _ = _plan_of(f, args)
    assert all(g.grid is None for g in plan.groups if g.prim.name == "dot" and g.m > 1)
    _check_program(f, args)


def test_repeated_operands_add_every_contribution():
    def f(*a):
        terms = [ag.dot([a[i], a[i]], [a[i + 1], a[0]]) for i in range(0, 8, 2)]  # a[0] in every node
        terms += [a[i] * a[i] for i in range(8)] + [ag.dot([a[1], a[2]], [a[1], a[2]], a[1])]
        return ag.sum(terms)

    _check_program(f, [0.3 * i - 1.1 for i in range(9)])


def test_constants_known_at_trace_time_are_read_as_numbers_or_arrays():
    def f(*a):
        same = [x * 2.0 + 1.0 for x in a]  # one number for every node
        varied = [x * (0.5 + i) for i, x in enumerate(a)]  # an array of constants
        return ag.sum(same) + ag.sum(varied) + ag.dot([2.0, 3.0], [a[0], a[1]])

    _check_program(f, [0.25 * i for i in range(6)])


def test_custom_primitives_in_a_group_are_called_node_by_node():
    cube = ag.primitive("cube_numpy", lambda x: x ** 3, lambda x, out: (3 * x ** 2,))
    program = _check_program(lambda *a: ag.sum([cube(x) * x for x in a]), [0.5 * i - 1.0 for i in range(5)])
    assert "_called" in program.run.source


def test_a_guard_retraces_with_the_numpy_backend():
    c = ag.compile(lambda x, y: x * y if x > y else x - y, backend="numpy")
    assert c.value_and_grad(3.0, 2.0) == (6.0, (2.0, 3.0))
    assert c.value_and_grad(1.0, 2.0) == (-1.0, (1.0, -1.0))
    assert c.traces == 2
    assert c.value_and_grad(5.0, 1.0) == (5.0, (1.0, 5.0)) and c.traces == 2


def test_aux_outputs_come_back_as_floats():
    c = ag.compile(lambda x, y: (x * y, [x + y, (x - y, 7.5)]), backend="numpy", has_aux=True)
    (value, aux), grads = c.value_and_grad(2.0, 3.0)
    assert value == 6.0 and aux == [5.0, (-1.0, 7.5)] and grads == (3.0, 2.0)


@pytest.mark.parametrize("f, x, error", [
    (lambda x: ag.sum([ag.log(x - i) for i in range(4)]), 2.5, ValueError),  # log of a negative
    (lambda x: ag.sum([ag.exp(x * i) for i in range(4)]), 400.0, OverflowError),
    (lambda x: ag.sum([x / (x - i) for i in range(4)]), 2.0, ZeroDivisionError),
    # the ops' array forms (Primitive.array) say where their forwards raise: the engine reruns
    (lambda x: ag.sum([ag.sqrt(x - i) for i in range(4)]), 2.5, ValueError),
    (lambda x: ag.sum([ag.sin(x * i) for i in range(4)]), math.inf, ValueError),
    (lambda x: ag.sum([(x - i) ** -1.0 for i in range(4)]), 2.0, ZeroDivisionError),
    (lambda x: ag.sum([(x - i) ** 0.5 for i in range(4)]), 2.5, ValueError),
    (lambda x: ag.sum([(x + i) ** 150.0 for i in range(4)]), 120.0, OverflowError),
    (lambda x: ag.sum([2.0 ** (x * i) for i in range(4)]), 400.0, OverflowError),
    (lambda x: ag.sum([(x - i) ** (x - 4.0) for i in range(4)]), 2.5, ValueError),
])
def test_domain_errors_in_replay_are_the_engines_own(f, x, error):
    c = ag.compile(f, backend="numpy")
    c.value_and_grad(4.5)  # traced where every term is defined
    with pytest.raises(error) as replayed:
        c(Value(x))
    with pytest.raises(error) as engine:
        f(Value(x))
    assert str(replayed.value) == str(engine.value)


def test_nan_and_infinite_results_are_the_engines():
    c = ag.compile(lambda *a: ag.sum([ag.relu(x) * x for x in a]), backend="numpy")
    c.value_and_grad(1.0, 2.0, 3.0)
    value, grads = c.value_and_grad(1.0, math.nan, 3.0)
    expected, expected_grads = dynamic(lambda *a: ag.sum([ag.relu(x) * x for x in a]), [1.0, math.nan, 3.0])
    assert math.isnan(value) and math.isnan(expected)
    assert [math.isnan(g) for g in grads] == [math.isnan(g) for g in expected_grads] == [False, True, False]
    value, grads = c.value_and_grad(1.0, math.inf, 3.0)
    assert value == math.inf and grads == tuple(dynamic(lambda *a: ag.sum([ag.relu(x) * x for x in a]),
                                                        [1.0, math.inf, 3.0])[1])


def _chain(n):
    def f(x, a, b):
        v = x
        for _ in range(n):
            v = v * a + b
        return v

    return f


def test_a_deep_narrow_graph_runs_as_the_python_backends_program():
    f = _chain(600)  # 1200 groups of one node
    tr, _ = trace(f, [Value(x) for x in (0.5, 0.999, 0.001)])
    handed = numpy_backend.generate(tr)
    assert handed.source is not None or "V = _V0" not in getattr(handed.run, "source", "")
    cells = [Value(x) for x in (0.5, 0.999, 0.001)]
    out, _, _ = handed.run(cells)
    expected, grads = dynamic(f, [0.5, 0.999, 0.001])
    assert out == expected and [c.grad for c in cells] == grads  # the Python backend: bit for bit
    _check_program(f, [0.5, 0.999, 0.001], narrow=False)  # and the arrays agree too


def test_captured_leaves_and_value_arguments_accumulate_into_grad():
    w = [Value(0.5), Value(-1.5), Value(2.0)]  # read by f without being passed: captured

    def f(*xs):
        return ag.sum([ag.tanh(ag.dot(w, [x, x * x, 1.0])) for x in xs])

    c = ag.compile(f, backend="numpy")
    xs = [Value(0.1 * i) for i in range(6)]
    for v in [*w, *xs]:
        v.grad = 0.25  # gradients add to what is there, as backward() does
    c(*xs)
    got = [v.grad for v in [*w, *xs]]
    for v in [*w, *xs]:
        v.grad = 0.25
    f(*xs).backward()
    expected = [v.grad for v in [*w, *xs]]
    assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15) for a, b in zip(got, expected, strict=True))


@pytest.mark.parametrize("f, args", [
    (lambda x: x, (3.0,)),  # the output is an input
    (lambda x, y: x * 0.0 + y, (3.0, 4.0)),
    (lambda x, y: ag.relu(x) + ag.relu(y), (-1.0, 2.0)),  # a gradient of exactly 0
])
def test_small_programs_agree_with_backward(f, args):
    value, grads = ag.compile(f, backend="numpy").value_and_grad(*args)
    expected, expected_grads = dynamic(f, args)
    assert value == expected and list(grads) == expected_grads


def test_a_graph_cut_is_guarded_by_its_value():
    def f(*xs):
        scale = float(xs[0])  # a constant of the program
        return ag.sum([x * scale for x in xs])

    c = ag.compile(f, backend="numpy")
    with pytest.warns(ag.compiler.GraphCutWarning):
        assert c.value_and_grad(2.0, 3.0)[0] == 10.0
    with pytest.warns(ag.compiler.GraphCutWarning):
        assert c.value_and_grad(3.0, 3.0)[0] == 18.0  # not 3 * 2 + 3 * 2: retraced
    assert c.traces == 2


# -- ops with a declared array form (Primitive.array) run on arrays, not element by element --

ARRAY_FORMS = [p for p in ag.ops.all_primitives() if p.array is not None and p.arity in (1, 2)]


def _called_elementwise(program):
    """The functions a NumPy program calls node by node: `_elementwise`'s, `_called`, `_called_rule`."""
    bound = program.run.__globals__.values()
    names = [getattr(v, "__qualname__", "") for v in bound]
    return [n for n in names if n.startswith("_elementwise")] + [
        n for n in ("_called(", "_called_rule(") if n in program.run.source]


@pytest.mark.parametrize("prim", ARRAY_FORMS, ids=lambda p: p.display)
def test_an_op_with_an_array_form_runs_on_arrays_and_agrees_with_the_engine(prim):
    from autograd.compiler import symbolic
    from autograd.primitive import make_function

    fn, n = make_function(prim), prim.arity
    points = symbolic.sample_points(prim, n)  # in the op's domain: 6 nodes of the op, one group

    def f(*a):
        return ag.sum([fn(*a[n * k: n * k + n]) * a[n * k] for k in range(len(points))])

    program = _check_program(f, [x for p in points for x in p])
    assert _called_elementwise(program) == [], prim.display


@pytest.mark.parametrize("activation, loss", [
    ("sigmoid", "mse"), ("tanh", "mse"), ("tanh", "bce"), ("relu", "cross_entropy"),
])
def test_an_mlp_s_program_calls_nothing_element_by_element(activation, loss):
    classes = 3 if loss == "cross_entropy" else 1
    model = nn.MLP(2, [6, 6, classes], activation=activation, seed=3)
    X, y = nn.data.make_moons(10, noise=0.1, seed=5, signed=loss == "mse")
    params = model.parameters()

    def f(*ps):
        scores = [model(x) for x in X]
        if loss == "cross_entropy":  # softmax: exp, sum, division and log through logsumexp
            return nn.losses.cross_entropy(scores, [int(t) for t in y])
        if loss == "bce":
            return nn.losses.binary_cross_entropy_with_logits(scores, y)
        return nn.losses.mse_loss(scores, y)

    tr, _ = trace(f, params)  # the model's own parameters: the program's slots
    program = numpy_backend.generate(tr)
    cells = [Value(p.data) for p in params]
    out, _, _ = program.run(cells + tr.slots[len(cells):])  # and the leaves f captured (X's Values)
    expected = f(*params)
    expected.backward()
    assert math.isclose(out, expected.data, rel_tol=1e-12)
    scale = max(1.0, max(abs(p.grad) for p in params))
    assert all(abs(c.grad - p.grad) <= 1e-12 * scale for c, p in zip(cells, params, strict=True))
    # logsumexp's forward is n-ary, without an array form: still called node by node
    assert [c for c in _called_elementwise(program) if c != "_called("] == []
    if loss != "cross_entropy":
        assert _called_elementwise(program) == []


@pytest.mark.parametrize("f, x", [
    (lambda x: ag.sum([ag.log(x + i) for i in range(4)]), math.nan),
    (lambda x: ag.sum([ag.exp(x * i) * ag.sqrt(x + 3.0) for i in range(4)]), math.nan),
    (lambda x: ag.sum([ag.sigmoid(x * i) for i in range(4)]), -math.inf),
    (lambda x: ag.sum([ag.exp(x * i) for i in range(4)]), math.inf),
])
def test_nan_and_infinities_through_array_forms_are_the_engines(f, x):
    c = ag.compile(f, backend="numpy")
    c.value_and_grad(0.5)
    value, (g,) = c.value_and_grad(x)
    expected, (e,) = dynamic(f, [x])
    assert (value == expected or value != value and expected != expected) and (g == e or g != g and e != e)
