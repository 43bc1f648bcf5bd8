"""Tracing: arguments, captured leaves, constants, guards and graph cuts."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd import Value
from autograd.compiler.trace import GraphCutWarning, _flatten_walking, flatten, trace, unflatten_like


def test_flatten_keeps_order_and_tells_values_numbers_and_repeats_apart():
    v = Value(1.0)
    leaves, key = flatten((v, [2.0, (3, v)], 4.5))
    assert leaves == [v, 2.0, 3, v, 4.5]
    _, other = flatten((Value(1.0), [2.0, (3, Value(1.0))], 4.5))
    assert key != other  # the repeated Value is part of the shape
    assert unflatten_like((v, [2.0, (3, v)], 4.5), list("abcde")) == ["a", ["b", ("c", "d")], "e"]


POOL = [Value(float(i)) for i in range(4)]
_leaf = st.one_of(
    st.floats(-3, 3), st.integers(-2, 2), st.sampled_from(POOL), st.builds(Value, st.floats(-1, 1))
)
_rows = st.lists(st.one_of(st.floats(-3, 3), st.sampled_from(POOL)), max_size=3)
_arg = st.one_of(
    _leaf,
    st.lists(st.floats(-3, 3), max_size=4),  # the fast paths' shapes: floats, Values, rows of floats
    st.lists(st.builds(Value, st.floats(-1, 1)), max_size=4),
    st.lists(st.lists(st.floats(-3, 3), max_size=3), max_size=3),
    st.lists(st.one_of(_leaf, _rows), max_size=3),  # and shapes they must leave to the walk
    st.lists(st.sampled_from(POOL), max_size=4),
)
_args = st.lists(_arg, max_size=3).map(tuple)


@settings(max_examples=300, deadline=None)
@given(_args, _args)
def test_flattens_fast_paths_give_the_walks_leaves_and_tell_the_same_shapes_apart(a, b):
    # The walk is the definition: the fast paths must list the same leaves (the same objects), give
    # one key to one shape, and never one key to two shapes the walk tells apart.
    for args in (a, b):
        fast, walked = flatten(args)[0], _flatten_walking(args)[0]
        assert len(fast) == len(walked) and all(x is y for x, y in zip(fast, walked, strict=True))
        assert flatten(args)[1] == flatten(_renewed(args))[1]  # other numbers, same shape: one program
    if flatten(a)[1] == flatten(b)[1]:  # one key is one shape (ints and floats may differ, no harm)
        assert _flatten_walking(a)[1] == _flatten_walking(b)[1]


def _renewed(args):
    """The same shape with other numbers and other Values (repeated where `args` repeats one)."""
    fresh = {}

    def renew(x):
        if isinstance(x, Value):
            return fresh.setdefault(id(x), Value(x.data + 1.0))
        if isinstance(x, (list, tuple)):
            return type(x)(renew(y) for y in x)
        return x + 1
    return tuple(renew(x) for x in args)


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


def test_flatten_tells_batches_of_other_row_lengths_and_repeats_across_lists_apart():
    # Shapes the fast paths could conflate: rows of other lengths, a Value repeated in two lists.
    assert flatten(([[1.0], [2.0, 3.0]],))[1] != flatten(([[1.0, 2.0], [3.0]],))[1]
    v, w = Value(1.0), Value(2.0)
    assert flatten(([v, w], [v]))[1] != flatten(([v, w], [Value(1.0)]))[1]
    assert flatten(([v, w], [2.0]))[1] != flatten(([v, w], [[2.0]]))[1]
