"""The pure-Python backend: bit for bit backward()'s numbers, readable source, no size limit."""

from __future__ import annotations

import math
import struct
import warnings

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
    assert "g_w = A[1].grad + " in source and "A[1].grad = g_w" in source
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
