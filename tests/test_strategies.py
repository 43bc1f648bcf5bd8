"""The hypothesis strategies: points inside domains and off kinks; readable, valid expression DAGs."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value
from autograd.ops import TABLE, all_primitives
from autograd.testing import strategies
from autograd.testing.strategies import (
    KINK_MARGIN,
    domain_floats,
    domain_of,
    expressions,
    function_of,
    op_inputs,
)

PRIMITIVES = all_primitives()
IDS = [p.display for p in PRIMITIVES]
# `find` searches a fixed number of examples from a fixed seed: these tests cannot flake.
SEARCH = settings(max_examples=500, database=None, derandomize=True)

cube = autograd.primitive("cube", lambda x: x**3, lambda x, out: (3 * x**2,))
# Defined only for x > 1 (domain metadata); no table op has this domain, so the generic guard runs.
log_log = autograd.primitive("log_log", lambda x: math.log(math.log(x)),
                             lambda x, out: (1 / (x * autograd.log(x)),), domain=[(1.0, math.inf)])


# -- points for one op --


@given(x=domain_floats("log"))
def test_log_gets_positive_floats(x):
    assert x > 0.0
    assert math.isfinite(math.log(x))


@given(x=domain_floats("exp"))
def test_exp_gets_floats_it_cannot_overflow_on(x):
    assert math.isfinite(math.exp(x))
    assert math.isfinite(autograd.grad(autograd.grad(autograd.exp))(x))


@pytest.mark.parametrize("name", ["relu", "abs"])
@given(data=st.data())
def test_kinked_ops_get_points_off_their_kink(name, data):
    (x,) = data.draw(op_inputs(name))
    assert math.fabs(x) > KINK_MARGIN


@given(point=op_inputs("maximum"))
def test_maximum_gets_no_ties(point):
    x, y = point
    assert math.fabs(x - y) > KINK_MARGIN


@given(point=op_inputs("div"))
def test_div_gets_denominators_off_zero(point):
    assert math.fabs(point[1]) > KINK_MARGIN


@pytest.mark.parametrize("prim", PRIMITIVES, ids=IDS)
@given(data=st.data())
def test_every_op_is_defined_and_finite_at_its_drawn_points(prim, data):
    point = data.draw(op_inputs(prim))
    for x, (lo, hi) in zip(point, domain_of(prim, len(point)), strict=True):
        assert lo <= x <= hi
    assert math.isfinite(function_of(prim, len(point))(*point))


def test_a_primitive_without_domain_gets_the_default_interval():
    assert domain_of(cube) == [strategies.DEFAULT_INTERVAL]


def test_infinite_bounds_are_made_finite():
    ((lo, hi),) = domain_of(log_log)
    assert lo == 1.0 and math.isfinite(hi)


def test_nary_ops_repeat_their_interval_and_dot_needs_a_weight_and_an_input():
    assert domain_of("sum", 3) == [TABLE["sum"].domain[0]] * 3
    assert len(domain_of("dot")) == strategies.DEFAULT_NARY_INPUTS
    assert len(domain_of("dot", 3)) == 3  # w, x and a bias
    with pytest.raises(ValueError, match="dot cannot take 1 inputs"):
        domain_of("dot", 1)
    with pytest.raises(ValueError, match="add takes 2 inputs, not 3"):
        domain_of("add", 3)


def test_unknown_ops_are_refused():
    with pytest.raises(ValueError, match="no primitive named 'nope'"):
        domain_of("nope")
    with pytest.raises(TypeError, match="not a primitive"):
        domain_of(math.sin)


# -- expression DAGs --


@given(example=expressions(n_inputs=2, max_depth=3))
def test_expressions_work_on_floats_and_on_values(example):
    f, point = example
    assert len(point) == 2 and all(isinstance(x, float) for x in point)
    on_floats = f(*point)
    on_values = f(*[Value(x) for x in point])
    assert isinstance(on_floats, float) and isinstance(on_values, Value)
    assert on_values.data == on_floats  # the same operations on the same numbers


@given(example=expressions(n_inputs=3, max_depth=4))
def test_the_repr_is_a_python_lambda_that_rebuilds_the_same_graph(example):
    f, point = example
    assert repr(f).startswith("lambda x0, x1, x2: ")
    assert "<" not in repr(f) and "object at" not in repr(f)
    rebuilt = eval(f.source, dict(f.namespace))  # the formula drawn above, not outside input
    assert rebuilt(*point) == f(*point)
    ours, theirs = f(*[Value(x) for x in point]), rebuilt(*[Value(x) for x in point])
    shape = [(n.op, len(n.parents)) for n in autograd.topological_order(ours)]
    assert shape == [(n.op, len(n.parents)) for n in autograd.topological_order(theirs)]


@given(example=expressions(n_inputs=2, max_depth=4))
def test_drawn_points_are_valid_off_kinks_and_moderate(example):
    f, point = example
    assert f.is_valid_at(point)
    for node in autograd.topological_order(f(*[Value(x) for x in point])):
        assert math.fabs(node.data) <= 1e3
        if node.op in ("relu", "abs", "leaky_relu"):
            assert math.fabs(node.parents[0].data) > KINK_MARGIN
        if node.op in ("maximum", "minimum"):
            assert math.fabs(node.parents[0].data - node.parents[1].data) > KINK_MARGIN


GUARDED = ["log", "sqrt", "exp", "div", "pow", "add", "mul", "sub", log_log]


@given(example=expressions(n_inputs=2, max_depth=3, ops=GUARDED),
       anywhere=st.tuples(st.floats(-50, 50), st.floats(-50, 50)))
def test_domain_guards_make_expressions_valid_at_every_point(example, anywhere):
    f, _ = example
    assert math.isfinite(f(*anywhere))  # no log of a negative, no division by zero, no overflow


def test_expressions_share_subexpressions():
    f, point = find(expressions(n_inputs=2, max_depth=3), lambda ex: bool(ex[0].shared),
                    settings=SEARCH)
    assert f.shared and ":=" in f.source
    # In the graph, a non-leaf node feeds more than one edge (like b = a + a).
    graph = autograd.topological_order(f(*[Value(x) for x in point]))
    edges = [p for n in graph for p in n.parents if not p.is_leaf]
    assert len(edges) > len(set(edges))


def test_shared_chains_like_b_is_a_plus_a_occur():
    def doubles_a_shared_node(ex):
        return any(len(n.args) == 2 and n.args[0] is n.args[1] and n.args[0] in ex[0].shared
                   for n in ex[0].nodes)

    f, _ = find(expressions(n_inputs=1, max_depth=3, ops=["add", "mul", "tanh"]),
                doubles_a_shared_node, settings=SEARCH)
    assert re.search(r"\(t0 := .+\) [+*] t0", f.source), f.source


def test_a_failing_example_shrinks_to_a_readable_formula():
    f, _ = find(expressions(n_inputs=2, max_depth=3),
                lambda ex: TABLE["log"] in ex[0].primitives, settings=SEARCH)
    assert re.fullmatch(r"lambda x0, x1: log\((softplus\(x0\)|x0 \* x0) \+ 0\.1\)", f.source), f.source


def test_custom_primitives_are_drawn_when_passed():
    f, point = find(expressions(n_inputs=2, max_depth=2, ops=["add", cube, log_log]),
                    lambda ex: {cube.primitive, log_log.primitive} <= ex[0].primitives, settings=SEARCH)
    assert "cube(" in f.source and "log_log(" in f.source
    assert math.isfinite(f(*point))


def test_evaluate_can_use_another_implementation_of_the_ops():
    f, point = find(expressions(n_inputs=2, max_depth=3), lambda ex: len(ex[0].nodes) >= 4,
                    settings=SEARCH)
    calls = []

    def traced(prim, *operands):
        calls.append(prim.name)
        return function_of(prim, len(operands))(*operands)

    assert f.evaluate(point, apply=traced) == f(*point)
    assert calls == [node.prim.name for node in f.nodes]


def test_bad_expression_parameters_are_refused():
    with pytest.raises(ValueError, match="n_inputs, max_depth and max_ops"):
        find(expressions(n_inputs=0), lambda ex: True, settings=SEARCH)
    with pytest.raises(ValueError, match="empty"):
        find(expressions(ops=[]), lambda ex: True, settings=SEARCH)


def test_an_op_smooth_nowhere_has_no_domain_to_draw_from():
    # (-2) ** y is real only at integer y and differentiable in y nowhere.
    with pytest.raises(ValueError, match="empty domain"):
        strategies.domain_of(autograd.ops.const_pow(-2.0).primitive)
