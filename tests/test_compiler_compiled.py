"""autograd.compile: replay equals the dynamic engine, guards retrace, errors are the engine's."""

from __future__ import annotations

import math
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
import nn
from autograd import Value
from autograd.compiler import GraphCutWarning, GuardFailure, python_backend

# A program that fails where the engine does not is a compiler bug: the fallback warns, tests fail.
pytestmark = pytest.mark.filterwarnings("error:compile. the program raised")


def test_calls_accumulate_into_grad_like_backward_across_changing_arguments():
    def f(x, y):
        return ag.tanh(x * y) + ag.relu(x - y) * y

    c = ag.compile(f)
    for point in [(0.5, 1.5), (2.0, -1.0), (-3.0, 0.25)]:  # relu's branch flips: no retrace
        x, y = Value(point[0]), Value(point[1])
        x.grad = 0.5  # leaves accumulate
        got = c(x, y)
        xd, yd = Value(point[0]), Value(point[1])
        xd.grad = 0.5
        out = f(xd, yd)
        out.backward()
        assert (got, x.grad, y.grad) == (out.data, xd.grad, yd.grad)
    assert c.traces == 1


def test_value_and_grad_returns_gradients_in_the_arguments_shape_and_touches_no_grad():
    w = [Value(0.5), Value(-1.0)]

    def f(ws, xs, b):
        return ag.dot(ws, xs, b) ** 2

    c = ag.compile(f)
    value, (gw, gx, gb) = c.value_and_grad(w, [2.0, 3.0], 0.5)
    xs, b = [Value(2.0), Value(3.0)], Value(0.5)
    expected = ag.gradients(f(w, xs, b), [*w, *xs, b])
    assert value == (0.5 * 2 - 3 + 0.5) ** 2
    assert (gw, gx, gb) == (list(expected[:2]), list(expected[2:4]), expected[4])
    assert w[0].grad == 0.0 and w[1].grad == 0.0


def test_a_changed_branch_in_user_code_retraces_or_raises():
    def f(x):
        return x * 2.0 if x > 0 else x * -3.0

    c = ag.compile(f)
    assert c.value_and_grad(1.0) == (2.0, (2.0,))
    assert c.value_and_grad(-1.0) == (3.0, (-3.0,))
    assert c.traces == 2 and c.programs == 2
    assert c.value_and_grad(5.0) == (10.0, (2.0,)) and c.traces == 2  # both programs are kept
    strict = ag.compile(f, retrace=False)
    strict.value_and_grad(1.0)
    with pytest.raises(GuardFailure):
        strict.value_and_grad(-1.0)


def test_a_graph_cut_warns_at_trace_time_and_retraces_when_its_value_changes():
    def f(x):
        return x * float(x)  # float(x) is a constant of the program

    c = ag.compile(f)
    with pytest.warns(GraphCutWarning):
        assert c.value_and_grad(3.0) == (9.0, (3.0,))
    with pytest.warns(GraphCutWarning):
        assert c.value_and_grad(4.0) == (16.0, (4.0,))  # not 4 * 3
    assert c.traces == 2


def test_a_domain_error_in_replay_is_the_dynamic_engines_error():
    def f(x):
        return ag.log(x) * x

    c = ag.compile(f)
    c.value_and_grad(2.0)
    with pytest.raises(ValueError) as replayed:
        c(Value(-1.0))
    with pytest.raises(ValueError) as dynamic:
        f(Value(-1.0))
    assert str(replayed.value) == str(dynamic.value) and "log" in str(replayed.value)


def test_nan_results_are_the_engines_nan():
    c = ag.compile(lambda x: ag.relu(x) * x)
    c.value_and_grad(1.0)
    value, (g,) = c.value_and_grad(math.nan)
    assert math.isnan(value) and math.isnan(g)


def test_custom_primitives_are_called_and_differentiated():
    cube = ag.primitive("cube_compiled", lambda x: x ** 3, lambda x, out: (3 * x ** 2,))
    c = ag.compile(lambda x: cube(x) + x)
    assert c.value_and_grad(2.0) == (10.0, (13.0,))
    assert c.value_and_grad(1.0) == (2.0, (4.0,))
    assert "_partials_cube_compiled" in c.source or "cube_compiled" in c.source


def test_an_nn_model_replays_with_new_inputs_and_updated_weights():
    model = nn.MLP(2, [4, 1], seed=3)
    params = model.parameters()
    X = [[0.5, -1.0], [1.5, 0.25], [-0.5, 0.75]]

    def loss(ps, X, y):
        return nn.losses.mse_loss([model(x) for x in X], y)

    c = ag.compile(loss, static_argnums=(2,))
    y = (1.0, -1.0, 0.5)
    for _ in range(3):
        model.zero_grad()
        value = c(params, X, y)
        got = [p.grad for p in params]
        model.zero_grad()
        out = loss(params, [[Value(a), Value(b)] for a, b in X], y)
        out.backward()
        assert value == out.data and got == [p.grad for p in params]
        for p in params:
            p.data -= 0.1 * p.grad
        X = [[a + 0.1, b - 0.2] for a, b in X]
    assert c.traces == 1


def test_aux_outputs_come_back_as_floats_in_their_shape():
    c = ag.compile(lambda x, y: (x * y, [x + y, (x - y,)]), has_aux=True)
    (value, aux), _ = c.value_and_grad(2.0, 3.0)
    assert value == 6.0 and aux == [5.0, (-1.0,)]


def test_past_max_traces_calls_run_dynamically_with_a_warning():
    c = ag.compile(lambda x: x * 2.0 if x > 0 else x * 3.0, max_traces=1)
    c.value_and_grad(1.0)
    with pytest.warns(UserWarning, match="max_traces"):
        assert c.value_and_grad(-1.0) == (-3.0, (3.0,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert c.value_and_grad(-2.0) == (-6.0, (3.0,))


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="backend"):
        ag.compile(lambda x: x, backend="jit")
    with pytest.raises(ValueError, match="max_traces"):
        ag.compile(lambda x: x, max_traces=0)


def test_nn_fit_with_compile_trains_to_the_same_weights_and_history():
    X, y = nn.data.make_moons(30, noise=0.1, seed=2, signed=True)
    runs = []
    for compiled in (False, True):
        model = nn.MLP(2, [6, 6, 1], seed=2)
        history = nn.fit(model, X, y, loss="hinge", optimizer=nn.SGD(model.parameters(), lr=0.2),
                         epochs=5, l2=1e-4, progress=False, compile=compiled)
        runs.append((history, [p.data for p in model.parameters()]))
    assert runs[0] == runs[1]


def test_a_program_split_into_chunks_reads_every_value_it_uses():
    # 12 points: big enough to split into functions (by characters), small enough to be quick.
    X, y = nn.data.make_moons(12, noise=0.1, seed=3, signed=True)
    model = nn.MLP(2, [16, 16, 1], seed=4)
    params = model.parameters()

    def loss(ps, X, y):
        return nn.losses.hinge_loss([model(x) for x in X], y) + nn.losses.l2_penalty(ps, 1e-4)

    c = ag.compile(loss, static_argnums=(2,))
    c(params, X, tuple(y))
    model.zero_grad()
    value = c(params, X, tuple(y))
    got = [p.grad for p in params]
    model.zero_grad()
    out = loss(params, X, y)
    out.backward()
    assert value == out.data and got == [p.grad for p in params]


def test_truth_of_a_value_is_a_guard_too():
    c = ag.compile(lambda x, y: x * y if x else y)
    assert c.value_and_grad(2.0, 3.0) == (6.0, (3.0, 2.0))
    assert c.value_and_grad(0.0, 3.0) == (3.0, (0.0, 1.0))  # `if x:` flipped: retraced
    assert c.traces == 2


def test_value_and_grad_falling_back_to_the_engine_gives_backwards_signed_zeros():
    # backward() sums from 0.0, so d(x * -0.0)/dx is +0.0; a dict of gradients would give -0.0.
    # A captured leaf's .grad is left alone, as by the program.
    w = Value(3.0)
    c = ag.compile(lambda x, y: x * -0.0 + y * w)
    assert c.value_and_grad(1.0, 2.0) == (6.0, (0.0, 3.0)) and w.grad == 0.0

    def redo(a):
        raise python_backend.Redo()

    c._latest().run = redo  # this call runs in the dynamic engine
    value, (dx, dy) = c.value_and_grad(1.0, 2.0)
    assert (value, dy) == (6.0, 3.0) and math.copysign(1.0, dx) == 1.0
    assert w.grad == 0.0


def _structure(x):
    """The nesting of lists and tuples of x, with each leaf's value (iterative)."""
    out, stack = [], [x]
    while stack:
        y = stack.pop()
        if isinstance(y, (list, tuple)):
            out.append((type(y).__name__, len(y)))
            stack.extend(reversed(y))
        else:
            out.append(y)
    return out


_flat_floats = st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=5)
_argument = st.one_of(
    _flat_floats, _flat_floats.map(tuple),
    st.lists(st.lists(st.floats(-2.0, 2.0), min_size=2, max_size=2), min_size=1, max_size=4),
    st.lists(st.tuples(st.floats(-2.0, 2.0), st.floats(-2.0, 2.0)), min_size=1, max_size=4).map(tuple),
)


def _leafwise(fn, arg):
    """`fn` of each leaf of a flat or two-level argument, in the argument's own containers."""
    return type(arg)(type(i)(map(fn, i)) if isinstance(i, (list, tuple)) else fn(i) for i in arg)


def _swapped(arg):
    return list(arg) if isinstance(arg, tuple) else tuple(arg)


@settings(max_examples=60, deadline=None)
@given(st.lists(_argument, min_size=1, max_size=3), st.booleans())
def test_value_and_grad_gives_each_argument_its_own_containers(args, swap):
    """The gradients come back in each argument's own lists and tuples (the fast path slices the
    flat gradients by flatten's key, which does not tell a list of floats from a tuple of them):
    the same structure and numbers as the dynamic engine's, also when a second call swaps them."""

    def f(*a):
        leaves = [x for arg in a for i in arg for x in (i if isinstance(i, (list, tuple)) else [i])]
        return ag.sum([x * x * (k + 1) for k, x in enumerate(leaves)])

    c = ag.compile(f)
    for call in (args, [_swapped(a) if swap else a for a in args]):
        value, grads = c.value_and_grad(*call)
        wrapped = [_leafwise(Value, a) for a in call]
        out = f(*wrapped)
        out.backward()
        assert value == out.data
        assert _structure(grads) == _structure(tuple(_leafwise(lambda v: v.grad, a) for a in wrapped))


def test_value_and_grad_with_a_repeated_value_and_a_captured_leaf():
    """A Value passed twice is one slot for two leaves: each leaf gets the slot's gradient, and
    the captured leaf after the slots is read where the program expects it."""
    w = Value(5.0)

    def f(xs):
        return xs[0] * xs[1] * xs[2] * w

    a, b = Value(2.0), Value(3.0)
    c = ag.compile(f)
    for _ in range(2):  # the trace's call, then a replay
        value, (grads,) = c.value_and_grad([a, b, a])
        out = f([a, b, a])
        ga, gb = ag.gradients(out, [a, b])
        assert (value, grads) == (out.data, [ga, gb, ga])
