"""Tracing: arguments, captured leaves, constants, guards and graph cuts."""

from __future__ import annotations

import warnings

import pytest

import autograd as ag
from autograd import Value
from autograd.compiler.trace import GraphCutWarning, flatten, trace, unflatten_like


def test_flatten_keeps_order_and_tells_values_numbers_and_repeats_apart():
    v = Value(1.0)
    leaves, key = flatten((v, [2.0, (3, v)], 4.5))
    assert leaves == [v, 2.0, 3, v, 4.5]
    _, other = flatten((Value(1.0), [2.0, (3, Value(1.0))], 4.5))
    assert key != other  # the repeated Value is part of the shape
    assert unflatten_like((v, [2.0, (3, v)], 4.5), list("abcde")) == ["a", ["b", ("c", "d")], "e"]


def test_numbers_become_inputs_values_stay_and_captured_leaves_are_live():
    w = Value(3.0, label="w")
    x = Value(2.0)

    def f(a, b):
        return a * b * w + 1.5

    tr, out = trace(f, (x, 4.0))
    assert out.data == 2.0 * 4.0 * 3.0 + 1.5
    assert tr.slots[0] is x and tr.kinds == ["value", "float", "live"] and tr.slots[2] is w
    constants = [v.data for v in tr.constants.values()]
    assert constants == [1.5]
    assert tr.backward[0] is tr.root and len(tr.forward) == 3


def test_comparisons_are_recorded_with_their_outcome():
    def f(x):
        y = ag.tanh(x)
        return y * 2 if y > 0.5 else y * 3

    tr, _ = trace(f, (1.0,))
    ((op, a, b, outcome),) = tr.guards
    assert (op, b, outcome) == (">", 0.5, True) and a.op == "tanh"


def test_float_of_a_traced_value_is_reported_as_a_graph_cut():
    def f(x):
        return x * float(x)

    with pytest.warns(GraphCutWarning, match="float"):
        tr, _ = trace(f, (3.0,))
    assert len(tr.cuts) == 1 and tr.cuts[0][1] == 3.0


def test_no_grad_inside_a_traced_function_is_reported():
    def f(x):
        with ag.no_grad():
            c = x * 2.0
        return x * c

    with pytest.warns(GraphCutWarning, match="no_grad"):
        trace(f, (3.0,))


def test_a_function_must_return_a_value():
    with pytest.raises(TypeError, match="must return a Value"):
        trace(lambda x: 1.0, (2.0,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TypeError, match="has_aux"):
            trace(lambda x: x, (2.0,), has_aux=True)
