"""The pure-Python backend: bit for bit backward()'s numbers, readable source, no size limit."""

from __future__ import annotations

import math
import struct
import warnings

import pytest
from hypothesis import given, settings

import autograd as ag
from autograd import Value
from autograd.compiler import python_backend
from autograd.compiler.trace import trace
from autograd.testing.strategies import expressions


def bits(x):
    return "nan" if x != x else struct.pack("<d", x)


def dynamic(f, point):
    vs = [Value(x) for x in point]
    out = f(*vs)
    out.backward()
    return out.data, [v.grad for v in vs]


def replay(program, point):
    vs = [Value(x) for x in point]
    out, _, _ = program.run(vs)
    return out, [v.grad for v in vs]


def same(a, b):
    return bits(a[0]) == bits(b[0]) and [bits(x) for x in a[1]] == [bits(x) for x in b[1]]


@settings(max_examples=300)
@given(expressions(n_inputs=3, max_depth=4, max_ops=12))
def test_replay_is_bitwise_backward_on_random_graphs_and_at_a_second_point(fp):
    f, point = fp
    tr, _ = trace(lambda a, b, c: f(a, b, c), [Value(x) for x in point])
    program = python_backend.generate(tr)
    assert same(replay(program, point), dynamic(f, point)), f
    moved = [0.9 * x + 0.01 for x in point]
    if f.is_valid_at(moved):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                expected = dynamic(f, moved)
            except (ArithmeticError, ValueError):
                return
        assert same(replay(program, moved), expected), f


@settings(max_examples=60)
@given(expressions(n_inputs=2, max_depth=4, max_ops=10))
def test_small_chunks_give_the_same_numbers(fp):
    f, point = fp
    tr, _ = trace(lambda a, b: f(a, b), [Value(x) for x in point])
    program = python_backend.generate(tr, chunk=3)
    assert same(replay(program, point), dynamic(f, point)), f


def test_the_source_names_variables_after_labels_and_comments_each_op():
    x, w, b = Value(0.5, label="x"), Value(-1.5, label="w"), Value(0.25, label="b")

    def neuron(x, w, b):
        out = ag.tanh(ag.dot([w], [x], b))
        out.label = "out"
        return out

    tr, _ = trace(neuron, (x, w, b))
    source = python_backend.generate(tr).source
    assert "out = _tanh(" in source and "# tanh" in source and "# dot" in source
    assert "g_w = A[1].grad" in source and "A[1].grad = g_w" in source
    compile(source, "<test>", "exec")  # what is shown is what runs


def test_a_deep_chain_and_a_wide_sum_compile_and_replay():
    n = 10**5

    def chain(x0, a, b):
        v = x0
        for _ in range(n // 2):
            v = v * a + b
        return v

    point = (0.5, 0.999, 0.001)
    tr, _ = trace(chain, [Value(x) for x in point])
    assert same(replay(python_backend.generate(tr), point), dynamic(chain, point))

    m = 5000  # past CPython's limit for one expression (4,417 terms), in several chunks
    xs = [math.sin(i) for i in range(m)]

    def wide(*xs):
        return ag.sum([x * x for x in xs])

    tr, _ = trace(wide, [Value(x) for x in xs])
    program = python_backend.generate(tr, chunk=2000)
    assert same(replay(program, xs), dynamic(wide, xs))


def test_a_called_rule_that_changes_shape_asks_for_a_dynamic_run():
    from autograd.primitive import Primitive, make_function

    def rule(x, out):
        return (None,) if x > 10 else (2.0,)

    twice = make_function(Primitive("twice_sometimes", lambda x: 2.0 * x, rule, 1))
    tr, _ = trace(lambda x: twice(x), [Value(1.0)])
    program = python_backend.generate(tr)
    assert "called" in program.source
    v = Value(1.0)
    program.run([v])
    assert v.grad == 2.0
    try:
        program.run([Value(20.0)])
    except python_backend.Redo:
        pass
    else:
        raise AssertionError("a rule whose None-ness changed must not replay")


# -- skipping the backward of nodes whose gradient is zero (see skip.py) --


def _dead_neuron(ws, xs):
    """relu of a dot that is negative at the points below: its gradient is 0, the dot is skipped."""
    return ag.relu(ag.dot(ws, xs, 0.5)) + 0.25 * ws[0]


def _by_backward(f, ws, xs, w_grad=0.0):
    wv, xv = [Value(w) for w in ws], [Value(x) for x in xs]
    for v in wv:
        v.grad = w_grad
    out = f(wv, xv)
    out.backward()
    return out.data, [v.grad for v in wv + xv]


def _by_program(program, ws, xs, w_grad=0.0):
    wv, xv = [Value(w) for w in ws], [Value(x) for x in xs]
    for v in wv:
        v.grad = w_grad
    out, _, _ = program.run(wv + xv)
    return out, [v.grad for v in wv + xv]


def _by_compiled(c, ws, xs, w_grad=0.0):
    """Through compile(): the program, or the dynamic engine when the program hands the call back."""
    wv, xv = [Value(w) for w in ws], [Value(x) for x in xs]
    for v in wv:
        v.grad = w_grad
    out = c(wv, xv)
    return out, [v.grad for v in wv + xv]


def _program(f, ws, xs):
    n = len(ws)
    tr, _ = trace(lambda *a: f(list(a[:n]), list(a[n:])), [Value(x) for x in ws + xs])
    return python_backend.generate(tr)


def test_a_zero_gradient_skips_the_nodes_backward_and_gives_backwards_bits():
    ws, xs = [1.0, -2.0], [-1.0, 3.0]  # dot = -1 - 6 + 0.5 < 0: relu' = 0
    program = _program(_dead_neuron, ws, xs)
    assert "if g_" in program.source  # the dot's contributions are behind a test of its gradient
    for point in [(ws, xs), ([2.0, 1.0], [1.0, 1.0]), ([-0.0, 0.0], [0.0, -0.0])]:
        assert same(_by_program(program, *point), _by_backward(_dead_neuron, *point)), point


def test_an_infinite_partial_behind_a_zero_gradient_is_not_skipped():
    # backward() adds 0 * inf = nan into x0's gradient: skipping it would leave 0.0. The
    # certificate (a sum of the values the partials read) sees the inf: the call runs dynamically.
    ws, xs = [math.inf, 1.0], [-1.0, -1.0]
    program = _program(_dead_neuron, [1.0, -2.0], [-1.0, 3.0])
    expected = _by_backward(_dead_neuron, ws, xs)
    assert math.isnan(expected[1][2])
    with pytest.raises(python_backend.Redo):
        _by_program(program, ws, xs)
    c = ag.compile(_dead_neuron)
    _by_compiled(c, [1.0, -2.0], [-1.0, 3.0])
    assert same(_by_compiled(c, ws, xs), expected)


@pytest.mark.parametrize("w_grad", [-0.0, 0.0, 1.5])
def test_a_leaf_whose_incoming_grad_is_minus_zero_is_handed_to_the_dynamic_engine(w_grad):
    # -0.0 + (+0.0) is +0.0 in backward(); a program that skips (or sums without `0.0 +`) keeps
    # -0.0: a zero result from a -0.0 .grad runs dynamically, and nothing is written before.
    ws, xs = [1.0, -2.0], [-1.0, 3.0]
    program = _program(_dead_neuron, ws, xs)
    expected = _by_backward(_dead_neuron, ws, xs, w_grad)
    if math.copysign(1.0, w_grad) < 0:
        wv, xv = [Value(w) for w in ws], [Value(x) for x in xs]
        for v in wv:
            v.grad = w_grad
        with pytest.raises(python_backend.Redo):
            program.run(wv + xv)
        assert [math.copysign(1.0, v.grad) for v in wv] == [-1.0, -1.0]  # untouched
    else:
        assert same(_by_program(program, ws, xs, w_grad), expected)
    c = ag.compile(_dead_neuron)
    _by_compiled(c, ws, xs)
    assert same(_by_compiled(c, ws, xs, w_grad), expected)


@pytest.mark.parametrize("scale", [1e200, -1e200, 1e154, math.inf, -math.inf, math.nan])
def test_overflow_and_non_finite_values_give_backwards_bits(scale):
    # Forward overflow (inf, and inf - inf = nan), backward overflow (g * 1e200 * 1e200), NaN and
    # inf inputs: the program's numbers or the dynamic engine's, always backward()'s.
    def f(ws, xs):
        h = [ag.relu(ag.dot(ws, xs, b)) for b in (0.5, -0.5, 2.0)]
        return ag.dot(h, [ws[0], ws[1], xs[0]]) * scale + ws[1] * ws[1]

    program = _program(f, [1.0, 2.0], [0.5, -0.25])
    c = ag.compile(f)
    _by_compiled(c, [1.0, 2.0], [0.5, -0.25])
    for point in [([1.0, 2.0], [0.5, -0.25]), ([scale, 1.0], [-1.0, 0.5]), ([1.0, -1.0], [scale, scale]),
                  ([-3.0, -3.0], [1.0, 1.0])]:
        expected = _by_backward(f, *point)
        try:
            got = _by_program(program, *point)
        except python_backend.Redo:
            got = None
        if got is not None:
            assert same(got, expected), point
        assert same(_by_compiled(c, *point), expected), point


def test_a_certificate_that_overflows_is_a_false_alarm_only():
    ws, xs = [1e308, 1e308], [-1.0, -1.0]  # finite values whose sum overflows
    program = _program(_dead_neuron, [1.0, -2.0], [-1.0, 3.0])
    with pytest.raises(python_backend.Redo):
        _by_program(program, ws, xs)
    c = ag.compile(_dead_neuron)
    _by_compiled(c, [1.0, -2.0], [-1.0, 3.0])
    assert same(_by_compiled(c, ws, xs), _by_backward(_dead_neuron, ws, xs))


def test_without_skipping_the_program_has_no_test_and_the_same_numbers():
    ws, xs = [1.0, -2.0], [-1.0, 3.0]
    tr, _ = trace(lambda a, b, c, d: _dead_neuron([a, b], [c, d]), [Value(x) for x in ws + xs])
    program = python_backend.generate(tr, skip_zero=False)
    assert "if g_" not in program.source and "_finite" not in program.source
    assert same(_by_program(program, ws, xs), _by_backward(_dead_neuron, ws, xs))
