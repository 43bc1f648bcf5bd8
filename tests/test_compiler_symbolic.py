"""Symbolic evaluation of the op table: derived forwards, rules and kernels equal the real ones."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd import ops
from autograd.compiler import symbolic
from autograd.testing.strategies import op_inputs

PRIMS = ops.all_primitives()


def arity(prim):
    return prim.arity if prim.arity is not None else 5


def bits(x):
    return "nan" if x != x else struct.pack("<d", float(x))


def outcome(fn):
    try:
        return ("value", bits(fn()))
    except (ArithmeticError, ValueError) as err:
        return ("raises", type(err))


@pytest.mark.parametrize("prim", PRIMS, ids=lambda p: p.display)
@settings(max_examples=25)
@given(data=st.data())
def test_a_derived_forward_equals_the_forward(prim, data):
    n = arity(prim)
    form = symbolic.forward_form(prim, n)
    if form is None:
        return  # called in programs: nothing derived to compare
    point = data.draw(op_inputs(prim, n))
    assert outcome(lambda: symbolic.evaluate(form, point)) == outcome(lambda: prim.forward(*point))


@pytest.mark.parametrize("prim", PRIMS, ids=lambda p: p.display)
@settings(max_examples=25)
@given(data=st.data())
def test_a_derived_rule_equals_the_rule_on_floats(prim, data):
    n = arity(prim)
    rule = symbolic.rule_form(prim, n)
    assert rule is not None, f"the rule of {prim.display} could not be derived"
    point = data.draw(op_inputs(prim, n))
    out = prim.forward(*point)
    expected = prim.partials(*point, out)
    for i, (d, e) in enumerate(zip(expected, rule, strict=True)):
        if d is None:  # no gradient here: nothing, or +0.0 when other paths have one (where)
            assert e is None or symbolic.evaluate(e, (*point, out)) == 0.0, (prim.display, i)
            continue
        got = outcome(lambda e=e: symbolic.evaluate(e, (*point, out)))
        assert got == outcome(lambda d=d: d), (prim.display, i)


@pytest.mark.parametrize("name", ["relu", "abs", "maximum", "minimum", "pow"])
def test_branching_rules_become_conditional_expressions(name):
    prim = ops.TABLE[name]
    rule = symbolic.rule_form(prim, prim.arity)
    kinds = {e[0] for d in rule if d is not None for e in symbolic.walk(d)}
    assert "cond" in kinds and "cmp" in kinds


@pytest.mark.parametrize("x", [-2.0, -0.0, 0.0, 3.0, math.nan, math.inf])
def test_relu_replays_both_sides_of_its_kink_from_one_derivation(x):
    prim = ops.TABLE["relu"]
    (d,) = symbolic.rule_form(prim, 1)
    assert outcome(lambda: symbolic.evaluate(d, (x, prim.forward(x)))) == outcome(
        lambda: prim.partials(x, prim.forward(x))[0])


def test_dots_kernel_order_is_pairwise_then_the_bias():
    kernel = symbolic.kernel_form(ops.TABLE["dot"], 5)
    assert [j for j, _ in kernel] == [0, 2, 1, 3, 4]
    assert kernel[0][1] == ("bin", "*", ("sym", 5), ("sym", 2))  # w0.grad += g * x0
    assert symbolic.kernel_form(ops.TABLE["sum"], 3) == [(0, ("sym", 3)), (1, ("sym", 3)), (2, ("sym", 3))]


def test_a_forward_that_catches_an_error_is_called_not_inlined():
    # quotient returns inf where x / 0.0 raises: the derived `x / y` would lose the handler.
    assert symbolic.forward_form(ops.TABLE["quotient"], 2) is None
    assert symbolic.forward_form(ops.TABLE["mul"], 2) == ("bin", "*", ("sym", 0), ("sym", 1))


def test_a_users_rule_is_called_and_a_rule_reading_floats_is_not_derived():
    cube = ag.primitive("cube_sym", lambda x: x ** 3, lambda x, out: (3 * x ** 2,))
    assert symbolic.rule_form(cube.primitive, 1) is None
    bad = ops.Primitive("bad_rule", lambda x: 2.0 * x, lambda x, out: (float(x) * 0 + 2.0,), 1)
    bad.partials.__module__ = "autograd.ops"  # pretend it is the table's: float() is still refused
    assert symbolic.rule_form(bad, 1) is None


def test_decision_paths_are_enumerated_and_capped():
    def run(ctx):
        x = symbolic.Sym(("sym", 0), ctx)
        return (1.0 if x > 0 else (2.0 if x < -1 else 3.0),)

    paths = symbolic.explore(run)
    assert sorted(r for _, r in paths) == [(1.0,), (2.0,), (3.0,)]

    def deep(ctx):
        x = symbolic.Sym(("sym", 0), ctx)
        return (sum(1.0 for k in range(10) if x > k),)

    with pytest.raises(symbolic.NotDerivable):
        symbolic.explore(deep)
