"""skip.py: which partials are certainly finite at finite operands, checked against the op table."""

from __future__ import annotations

import math

import pytest

from autograd.compiler import skip, symbolic
from autograd.ops import TABLE

# Finite operands at which an overflow or a NaN would show: extremes, zeros of both signs, kinks.
EXTREMES = [-1e308, -1e200, -3.5, -1.0, -0.0, 0.0, 1e-300, 0.5, 1.0, 2.0, 1e200, 1e308]


def _points(n):
    """Points of n operands drawn from EXTREMES (every operand at every value, the rest rotating)."""
    out = []
    for i, x in enumerate(EXTREMES):
        out.append(tuple(EXTREMES[(i + 3 * k) % len(EXTREMES)] if k else x for k in range(n)))
    return out


def _arities(prim):
    return [prim.arity] if isinstance(prim.arity, int) else [3, 5]


@pytest.mark.parametrize("name", sorted(TABLE))
def test_a_rule_said_to_be_finite_is_finite_wherever_its_operands_are(name):
    prim = TABLE[name]
    for n in _arities(prim):
        reads = skip.rule_reads(prim, n)
        if reads is None:
            continue
        for point in _points(n):
            try:
                out = prim.forward(*point)
                partials = prim.partials(*point, out)
            except (ArithmeticError, ValueError):
                continue
            operands = (*point, out)
            if not all(math.isfinite(operands[i]) for i in reads):
                continue  # the program's certificate fails here: it runs dynamically
            for d in partials:
                assert d is None or math.isfinite(d), (name, point, partials)


@pytest.mark.parametrize("name", ["dot", "sum"])
def test_the_n_ary_kernels_read_only_their_inputs_and_are_finite(name):
    reads = skip.kernel_reads(TABLE[name], 5)
    assert reads is not None and all(0 <= i < 5 for i in reads)


def test_the_analysis_knows_relus_nan_branch_is_unreachable_and_refuses_arithmetic():
    assert skip.rule_reads(TABLE["relu"], 1) == (0,)  # reads x (non-NaN: one branch of two taken)
    assert skip.rule_reads(TABLE["mul"], 2) == (0, 1)
    assert skip.rule_reads(TABLE["add"], 2) == ()
    for name, n in [("tanh", 1), ("div", 2), ("pow", 2), ("log", 1)]:
        assert skip.rule_reads(TABLE[name], n) is None, name  # 1 - out*out, 1/y, ... may overflow


def test_complementary_comparisons_rule_out_a_branch_and_others_do_not():
    x, zero = ("sym", 0), ("const", 0)
    nan_branch = ("cond", ("cmp", ">", x, zero), ("const", 1.0),
                  ("cond", ("cmp", "<=", x, zero), ("const", 0.0), ("const", math.nan)))
    assert skip.finite_if_inputs_are(nan_branch, set())
    mirrored = ("cond", ("cmp", ">", x, zero), ("const", 1.0),
                ("cond", ("cmp", ">=", zero, x), ("const", 0.0), ("const", math.nan)))
    assert skip.finite_if_inputs_are(mirrored, set())
    other = ("cond", ("cmp", ">", x, zero), ("const", 1.0),
             ("cond", ("cmp", "<", x, zero), ("const", 0.0), ("const", math.nan)))
    assert not skip.finite_if_inputs_are(other, set())  # x == 0 reaches the NaN
    assert not skip.finite_if_inputs_are(("bin", "*", x, x), set())  # overflows


def test_a_rule_that_cannot_be_derived_is_never_skipped():
    from autograd.primitive import Primitive

    user = Primitive("user_twice_skip", lambda x: 2.0 * x, lambda x, out: (2.0,), 1)
    assert symbolic.rule_form(user, 1) is None and skip.rule_reads(user, 1) is None


@pytest.mark.parametrize("name", sorted(TABLE))
def test_an_output_said_to_certify_its_inputs_is_not_finite_when_one_input_is_not(name):
    prim = TABLE[name]
    for n in _arities(prim):
        if not skip.reflects_finite(prim, n):
            continue
        for bad in (math.inf, -math.inf, math.nan):
            for k in range(n):
                for point in _points(n):
                    point = tuple(bad if i == k else x for i, x in enumerate(point))
                    try:
                        out = prim.forward(*point)
                    except (ArithmeticError, ValueError):
                        continue
                    assert not math.isfinite(out), (name, point, out)


def test_only_sums_and_products_certify_their_inputs():
    assert skip.reflects_finite(TABLE["dot"], 5) and skip.reflects_finite(TABLE["mul"], 2)
    for name, n in [("relu", 1), ("div", 2), ("tanh", 1), ("maximum", 2), ("mean", 3)]:
        assert not skip.reflects_finite(TABLE[name], n), name  # relu(-inf) = 0, 1 / inf = 0, ...
