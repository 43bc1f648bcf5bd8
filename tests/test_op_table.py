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
