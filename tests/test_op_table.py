"""Every primitive of the op table, to second order: against finite differences and PyTorch.

Parametrized over `autograd.ops.all_primitives()`, so a new op is tested by these tests as soon
as it is in the table (it needs only a PyTorch counterpart in conftest.TORCH_OPS).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import Value
from autograd.ops import all_primitives
from autograd.testing import gradcheck
from autograd.testing.strategies import domain_of, function_of, op_inputs

PRIMITIVES = all_primitives()
IDS = [f"{p.display}" for p in PRIMITIVES]


def test_the_table_is_parametrized_over_every_primitive():
    names = {p.name for p in PRIMITIVES}
    assert set(autograd.ops.TABLE) <= names
    assert {"pow_const", "const_pow", "leaky_relu"} <= names


@pytest.mark.parametrize("prim", PRIMITIVES, ids=IDS)
def test_domain_metadata_gives_finite_intervals(prim):
    intervals = domain_of(prim)
    assert len(intervals) == (prim.arity or 4)
    for lo, hi in intervals:
        assert math.isfinite(lo) and math.isfinite(hi) and lo < hi


@pytest.mark.parametrize("prim", PRIMITIVES, ids=IDS)
@given(data=st.data())
def test_second_order_gradcheck_over_the_domain(prim, data):
    point = data.draw(op_inputs(prim), label="inputs")
    assert gradcheck(function_of(prim), point, order=2)


@pytest.mark.parametrize("prim", PRIMITIVES, ids=IDS)
@given(data=st.data())
def test_first_and_second_derivatives_match_pytorch(prim, data, torch_oracle):
    point = data.draw(op_inputs(prim), label="inputs")
    torch_oracle.assert_agrees(function_of(prim), lambda ts: torch_oracle.apply(prim, *ts), point)


@given(data=st.data())
def test_dot_with_a_bias_to_second_order(data):
    # The table's dot with an odd input count: w1..wn, x1..xn and the bias last.
    dot = autograd.ops.TABLE["dot"]
    point = data.draw(op_inputs(dot, n_inputs=5), label="inputs")
    assert gradcheck(function_of(dot, 5), point, order=2)


def test_dot_with_a_bias_matches_pytorch(torch_oracle):
    dot = autograd.ops.TABLE["dot"]
    point = [0.3, -1.2, 2.0, 0.7, -0.4]
    torch_oracle.assert_agrees(function_of(dot, 5), lambda ts: torch_oracle.apply(dot, *ts), point)


# -- backward()'s fast path against the rule --
# gradcheck and the PyTorch oracle go through gradients(), which calls each rule. backward() runs
# its own unrolled loop, or the op's fused float kernel (`accumulate`): it must agree.


def _fast_path_against_rule(function, inputs, leaves, g):
    out = function(*inputs)
    out.backward(g)
    by_rule = autograd.gradients(out, leaves)
    # The tolerance follows the size of the terms each gradient sums (g times each partial of
    # the one node, over the inputs that are this leaf), not the sum, which may cancel: in
    # dot([a, a], [a, c]) with c = -2a the gradient of a is 2a + c, about 0, from terms of 10.
    partials = out._prim.partials(*[p.data for p in out.parents], out.data)
    for leaf, expected in zip(leaves, by_rule, strict=True):
        size = math.fsum(math.fabs(g * d) for p, d in zip(out.parents, partials, strict=True)
                         if p is leaf and d is not None)
        assert math.fabs(leaf.grad - g * expected) <= 1e-12 * size + 1e-300, (out.op, inputs, leaf)


@pytest.mark.parametrize("prim", PRIMITIVES, ids=IDS)
@given(data=st.data(), g=st.floats(-4.0, 4.0))
def test_backward_agrees_with_the_rule(prim, data, g):
    leaves = [Value(x) for x in data.draw(op_inputs(prim), label="inputs")]
    _fast_path_against_rule(function_of(prim), leaves, leaves, g)


KERNELS = [p for p in PRIMITIVES if p.accumulate is not None]


def test_the_wide_ops_have_float_kernels():
    assert {p.name for p in KERNELS} == {"sum", "dot"}


# Few leaves, many inputs: the same leaf is drawn several times, as w and as x of one dot.
shared_inputs = st.tuples(
    st.lists(st.floats(-10.0, 10.0), min_size=1, max_size=4),
    st.lists(st.integers(0, 3), min_size=2, max_size=13),
)


@pytest.mark.parametrize("prim", KERNELS, ids=[p.name for p in KERNELS])
@given(pool_picks=shared_inputs, g=st.floats(-4.0, 4.0))
def test_float_kernels_agree_with_their_rules_on_shared_inputs(prim, pool_picks, g):
    pool, picks = pool_picks
    leaves = [Value(x) for x in pool]
    inputs = [leaves[i % len(leaves)] for i in picks]
    _fast_path_against_rule(function_of(prim, len(inputs)), inputs, leaves, g)


def test_the_kernel_tolerance_follows_the_terms_not_a_cancelling_result():
    # The case that failed at random with rel=1e-12 against the result: the gradient of a,
    # 2a + c ≈ 0, is a sum of terms of size 10, so it is exact only to about 1e-15 · 10.
    a, c = Value(5.0), Value(-9.999999999999998)
    _fast_path_against_rule(function_of(autograd.ops.TABLE["dot"], 4), [a, a, a, c], [a, c], 1.0)


@pytest.mark.parametrize("prim", PRIMITIVES, ids=IDS)
def test_every_primitive_has_a_doc_that_names_it(prim):
    doc = prim.doc.strip()
    assert doc, f"{prim.display} has no doc: declare it with doc='formula, derivative, domain, ...'"
    assert prim.name in doc or prim.name.replace("_", " ") in doc, (prim.display, doc)


# The table's entries with a dispatching function in autograd.ops (sum and dot have their own).
FUNCTIONS = sorted(name for name, prim in autograd.ops.TABLE.items()
                   if getattr(getattr(autograd.ops, name, None), "primitive", None) is prim)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_table_function_docstring_is_generated_from_its_doc(name):
    assert getattr(autograd.ops, name).__doc__.startswith(autograd.ops.TABLE[name].doc.strip())


def test_a_wrong_float_kernel_is_caught(monkeypatch):
    def forgets_the_bias(wxb, g):
        n = len(wxb) // 2
        for w, x in zip(wxb[:n], wxb[n: 2 * n], strict=True):
            w.grad += g * x.data
            x.grad += g * w.data

    monkeypatch.setattr(autograd.ops.TABLE["dot"], "accumulate", forgets_the_bias)
    leaves = [Value(x) for x in (1.0, 2.0, 3.0)]
    with pytest.raises(AssertionError):
        _fast_path_against_rule(function_of(autograd.ops.TABLE["dot"], 3), leaves, leaves, 1.0)
