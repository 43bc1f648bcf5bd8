"""Random expression DAGs over the whole op table: derivatives to second order.

Checked against finite differences (gradcheck, order 2, which also compares forward mode) and
against PyTorch float64 (gradient and Hessian, relative error <= 1e-9). Each test draws ten
times the profile's number of examples: thousands of expressions per run.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings

import autograd
from autograd import Value
from autograd.testing import gradcheck
from autograd.testing.strategies import expressions

EXAMPLES = 10 * settings.default.max_examples
# |ours - torch| / max(|torch|, 1): relative for values above 1, absolute below.
TORCH_TOLERANCE = 1e-9

cube = autograd.primitive("cube", lambda x: x**3, lambda x, out: (3 * x**2,))
# log(e^x + e^y), with its partials as softmax weights (written with Value-differentiable ops).
logaddexp = autograd.primitive(
    "logaddexp",
    lambda x, y: max(x, y) + math.log1p(math.exp(-math.fabs(x - y))),
    lambda x, y, out: (autograd.exp(x - out), autograd.exp(y - out)),
)


def relative_error(ours: float, reference: float) -> float:
    """|ours - reference| / max(|reference|, 1)."""
    if math.isnan(ours) or math.isnan(reference):
        return math.inf
    return math.fabs(ours - reference) / max(math.fabs(reference), 1.0)


def engine_derivatives(f, point):
    """(value, gradient, Hessian) by the engine: the gradient with create_graph, differentiated."""
    xs = [Value(x) for x in point]
    out = f(*xs)
    first = autograd.gradients(out, xs, create_graph=True)
    hessian = [[float(h) for h in autograd.gradients(g, xs)] for g in first]
    return float(out), [float(g) for g in first], hessian


@settings(max_examples=EXAMPLES)
@given(example=expressions(n_inputs=3, max_depth=4))
def test_random_expressions_match_finite_differences_to_second_order(example):
    f, point = example
    assert gradcheck(f, point, order=2)


@settings(max_examples=EXAMPLES)
@given(example=expressions(n_inputs=3, max_depth=4))
def test_random_expressions_match_pytorch_to_second_order(example, torch_oracle):
    f, point = example
    value, gradient, hessian = engine_derivatives(f, point)
    t_value, t_gradient, t_hessian = torch_oracle.derivatives(
        lambda ts: f.evaluate(ts, apply=torch_oracle.apply), point)
    assert relative_error(value, t_value) <= TORCH_TOLERANCE, (value, t_value)
    for i, (g, t) in enumerate(zip(gradient, t_gradient, strict=True)):
        assert relative_error(g, t) <= TORCH_TOLERANCE, f"d/dx{i}: engine {g!r}, torch {t!r}"
    for i, (row, t_row) in enumerate(zip(hessian, t_hessian, strict=True)):
        for j, (h, t) in enumerate(zip(row, t_row, strict=True)):
            assert relative_error(h, t) <= TORCH_TOLERANCE, f"d2/dx{i}dx{j}: engine {h!r}, torch {t!r}"


@given(example=expressions(n_inputs=2, max_depth=3, ops=["mul", "add", "sin", cube, logaddexp]))
def test_expressions_with_custom_primitives_match_finite_differences(example):
    f, point = example
    assert gradcheck(f, point, order=2)


@given(example=expressions(n_inputs=2, max_depth=3))
def test_hessian_function_agrees_with_gradients_and_is_symmetric(example):
    f, point = example
    _, _, hessian = engine_derivatives(f, point)
    from_hessian = autograd.hessian(f)(*point)
    for i in range(2):
        for j in range(2):
            assert from_hessian[i][j] == pytest.approx(hessian[i][j], rel=1e-12, abs=1e-12)
            assert hessian[i][j] == pytest.approx(hessian[j][i], rel=1e-9, abs=1e-9)
