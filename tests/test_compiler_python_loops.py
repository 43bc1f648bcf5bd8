"""Loops over isomorphic copies: found in minibatch losses, replayed bit for bit as backward()."""

from __future__ import annotations

import math
import struct
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
import nn
from autograd import Value
from autograd.compiler import python_backend, python_loops
from autograd.compiler.trace import trace
from autograd.testing.strategies import expressions

pytestmark = pytest.mark.filterwarnings("error:compile. the program raised")


def bits(x):
    return "nan" if x != x else struct.pack("<d", x)


def batch_loss(model, n):
    """A hinge loss over n samples (relu branches inside every copy) plus L2: one cone per sample."""

    def loss(ps, X, y):
        scores = [model(x) for x in X]
        return nn.losses.hinge_loss(scores, y) + nn.losses.l2_penalty(ps, 1e-3)

    return loss


def points(n, shift=0.0):
    return [[math.sin(3 * i + shift), math.cos(5 * i - shift)] for i in range(n)]


def test_a_minibatch_loss_is_one_run_per_label_and_the_program_loops():
    model = nn.MLP(2, [5, 5, 1], seed=1)
    loss = batch_loss(model, 12)
    y = (1.0,) * 6 + (-1.0,) * 6  # the hinge is 1 - s or 1 + s: two kinds of copies
    tr, _ = trace(lambda ps, X: loss(ps, X, y), [model.parameters(), points(12)])
    runs = python_loops.find_runs(tr)
    assert [(r.copies, r.length) for r in runs] == [(6, runs[0].length)] * 2
    copy = runs[0].nodes(tr, 0)
    assert all(n._prim is m._prim for k in range(6) for n, m in zip(runs[0].nodes(tr, k), copy, strict=True))
    source = python_backend.generate(tr, keep_source=True).source
    assert source.count("\n    for ") == 4  # forward and backward of each run


def _step(model, c, loss, params, X, y):
    model.zero_grad()
    value = c(params, X, y)
    got = [bits(p.grad) for p in params]
    model.zero_grad()
    out = loss(params, X, y)
    out.backward()
    return bits(value) == bits(out.data) and got == [bits(p.grad) for p in params]


def test_loops_give_backwards_bits_across_changing_inputs_weights_and_dying_relus():
    model = nn.MLP(2, [6, 6, 1], seed=2)
    params = model.parameters()
    loss = batch_loss(model, 10)
    y = (1.0,) * 5 + (-1.0,) + (1.0,) * 4  # copies of 5 and 4 (loops) around one of its own
    c = ag.compile(loss, static_argnums=(2,), keep_source=True)
    for step in range(12):
        X = points(10, 0.3 * step)
        assert _step(model, c, loss, params, X, y), step
        for p in params:
            p.data -= 0.5 * p.grad  # big steps: margins and ReLUs die and come back
    assert c.traces == 1 and c.source.count("\n    for ") == 4


def test_copies_whose_outputs_are_used_outside_and_whose_inputs_differ():
    # Per-sample outputs are read by two nodes outside the copies and come back as aux, every
    # copy reads its own inputs and a shared bias; the float inputs' gradients come back per copy.
    def f(w, b, xs):
        ys = [ag.relu(w[0] * x[0] + w[1] * x[1] + b) * x[0] for x in xs]
        return ag.sum(ys) + ag.dot(ys, ys) * b, ys

    xs = points(9)
    c = ag.compile(f, has_aux=True)
    for shift in (0.0, 1.0, 2.5):
        xs = points(9, shift)
        (value, aux), (gw, gb, gx) = c.value_and_grad([0.5, -1.5], 0.25, xs)
        w, b = [Value(0.5), Value(-1.5)], Value(0.25)
        xv = [[Value(a), Value(e)] for a, e in xs]
        out, ys = f(w, b, xv)
        out.backward()
        assert bits(value) == bits(out.data) and [bits(a) for a in aux] == [bits(v.data) for v in ys]
        assert [bits(g) for g in gw] == [bits(v.grad) for v in w] and bits(gb) == bits(b.grad)
        assert [[bits(g) for g in row] for row in gx] == [[bits(v.grad) for v in row] for row in xv]
    tr, _ = trace(lambda w, b, xs: f(w, b, xs)[0], [[0.5, -1.5], 0.25, xs])
    assert [r.copies for r in python_loops.find_runs(tr)] == [9]


def test_copies_whose_backward_is_interleaved_with_other_nodes_are_not_looped():
    # backward() visits ys[2] * ys[5] between the copies: a loop would add in another order.
    def f(xs):
        ys = [ag.relu(x * x - 0.5) * x for x in xs]
        return ag.sum(ys) + ys[2] * ys[5]

    xs = [0.25 * i - 1.0 for i in range(9)]
    tr, _ = trace(f, [[Value(x) for x in xs]])
    assert python_loops.find_runs(tr, min_nodes=1) == []
    c = ag.compile(f)
    value, (g,) = c.value_and_grad(xs)
    vs = [Value(x) for x in xs]
    out = f(vs)
    out.backward()
    assert value == out.data and g == [v.grad for v in vs]


def test_copies_sharing_an_input_are_not_a_run_and_still_replay_exactly():
    shared = Value(0.7)

    def f(xs):
        return ag.sum([ag.relu(x * shared + 0.5) * ag.relu(x - shared) for x in xs])

    xs = [Value(float(i) - 3.5) for i in range(8)] + [shared]  # shared is also a copy's input
    tr, _ = trace(f, [xs])
    for run in python_loops.find_runs(tr, min_nodes=1):
        seen = [v for row in run.inputs for v in row]
        assert len({id(v) for v in seen}) == len(seen)
    c = ag.compile(f)
    for v in xs:
        v.grad = 0.0
    value = c(xs)
    got = [v.grad for v in xs]
    for v in xs:
        v.grad = 0.0
    out = f(xs)
    out.backward()
    assert value == out.data and got == [v.grad for v in xs]


def test_a_domain_error_inside_a_loop_names_the_engines_op_and_value():
    def f(xs):
        return ag.sum([ag.log(x * x - 1.0) * x for x in xs])

    c = ag.compile(f)
    c([Value(2.0 + i) for i in range(8)])
    bad = [Value(2.0 + i) for i in range(8)]
    bad[5] = Value(0.5)
    with pytest.raises(ValueError) as replayed:
        c(bad)
    with pytest.raises(ValueError) as dynamic:
        f(bad)
    assert str(replayed.value) == str(dynamic.value) and "log" in str(replayed.value)
    assert all(v.grad == 0.0 for v in bad)  # nothing written


def test_a_called_rule_in_a_loop_body_hands_a_changed_shape_to_the_dynamic_engine():
    from autograd.primitive import Primitive, make_function

    def rule(x, out):
        return (None,) if x > 10 else (2.0,)

    twice = make_function(Primitive("twice_in_loop", lambda x: 2.0 * x, rule, 1))

    def f(xs):
        return ag.sum([twice(x * x) + x for x in xs])

    c = ag.compile(f)
    for xs in ([0.5 * i for i in range(8)], [0.5 * i for i in range(7)] + [20.0]):
        vs = [Value(x) for x in xs]
        value = c(vs)
        ds = [Value(x) for x in xs]
        out = f(ds)
        out.backward()
        assert value == out.data and [v.grad for v in vs] == [v.grad for v in ds]


def test_a_chain_of_copies_is_not_looped_and_replays_exactly():
    def f(x, a, b):
        v = x
        for _ in range(50):
            v = ag.relu(v * a + b)
        return v

    tr, _ = trace(f, [Value(0.5), Value(0.9), Value(0.1)])
    assert python_loops.find_runs(tr) == []  # each copy reads the previous one
    c = ag.compile(f)
    for point in [(0.5, 0.9, 0.1), (2.0, 1.1, -0.3)]:
        vs, ds = [Value(x) for x in point], [Value(x) for x in point]
        value = c(*vs)
        out = f(*ds)
        out.backward()
        assert value == out.data and [v.grad for v in vs] == [v.grad for v in ds]


@settings(max_examples=100, deadline=None)
@given(expressions(n_inputs=2, max_depth=4, max_ops=10), st.integers(4, 12))
def test_a_batch_of_random_expressions_loops_and_gives_backwards_bits(fp, copies):
    # copy i computes f(x_i, shared): the op table's random graphs as loop bodies
    f, (x, shared) = fp
    xs = [x * (1.0 + 0.01 * i) for i in range(copies)]
    if not all(f.is_valid_at((v, shared)) for v in xs):
        return

    def batch(xs, s):
        return ag.sum([f(v, s) * (i + 1.0) for i, v in enumerate(xs)])

    tr, _ = trace(batch, [[Value(v) for v in xs], Value(shared)])
    program = python_backend.generate(tr)
    for point in (xs, [0.9 * v + 0.01 for v in xs]):
        if not all(f.is_valid_at((v, shared)) for v in point):
            continue
        vs, s = [Value(v) for v in point], Value(shared)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = batch(vs, s)
                out.backward()
        except (ArithmeticError, ValueError):
            continue
        ps, q = [Value(v) for v in point], Value(shared)
        try:
            got, _, _ = program.run([*ps, q])
        except python_backend.Redo:
            continue  # a called rule changed shape, or the certificate failed: a dynamic run
        assert bits(got) == bits(out.data), f
        assert [bits(v.grad) for v in [*ps, q]] == [bits(v.grad) for v in [*vs, s]], f


def test_copies_that_backward_visits_in_another_order_loop_in_that_order():
    def f(xs):
        ys = [ag.relu(x * x - 0.5) * x + x for x in xs]
        return ag.sum(ys[::-1]) + 2.0 * ag.dot(ys, ys)  # forward lays the copies out last first

    xs = [0.3 * i - 1.0 for i in range(8)]
    tr, _ = trace(f, [[Value(x) for x in xs]])
    (run,) = python_loops.find_runs(tr)
    assert run.order == list(range(7, -1, -1))
    program = python_backend.generate(tr)
    for point in (xs, [x * x for x in xs]):
        vs, ds = [Value(x) for x in point], [Value(x) for x in point]
        out, _, _ = program.run(vs)
        expected = f(ds)
        expected.backward()
        assert bits(out) == bits(expected.data) and [bits(v.grad) for v in vs] == [bits(v.grad) for v in ds]
