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
# Relative error allowed against PyTorch float64 (|ours - torch| / max(|torch|, 1)).
TORCH_TOLERANCE = 1e-9


def relative_error(ours: float, reference: float) -> float:
    """|ours - reference| / max(|reference|, 1): relative for large values, absolute below 1."""
    if math.isnan(ours) or math.isnan(reference):
        return math.inf
    return math.fabs(ours - reference) / max(math.fabs(reference), 1.0)


def engine_derivatives(fn, point):
    """(value, gradient, Hessian) by the engine: the gradient with create_graph, differentiated."""
    xs = [Value(x) for x in point]
    out = fn(*xs)
    first = autograd.gradients(out, xs, create_graph=True)
    hessian = [[float(h) for h in autograd.gradients(g, xs)] for g in first]
    return float(out), [float(g) for g in first], hessian


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
    value, gradient, hessian = engine_derivatives(function_of(prim), point)
    t_value, t_gradient, t_hessian = torch_oracle.derivatives(
        lambda ts: torch_oracle.apply(prim, *ts), point)
    assert relative_error(value, t_value) <= TORCH_TOLERANCE, (value, t_value)
    for i, (g, t) in enumerate(zip(gradient, t_gradient, strict=True)):
        assert relative_error(g, t) <= TORCH_TOLERANCE, f"d/dx{i}: engine {g!r}, torch {t!r}"
    for i, (row, t_row) in enumerate(zip(hessian, t_hessian, strict=True)):
        for j, (h, t) in enumerate(zip(row, t_row, strict=True)):
            assert relative_error(h, t) <= TORCH_TOLERANCE, f"d2/dx{i}dx{j}: engine {h!r}, torch {t!r}"
