"""n-ary ops (autograd/reductions.py): logsumexp and softmax at huge inputs, mean, and prod with
zero terms to second order; each one node with every term as a parent. softmax's shift is a
maximum node, so compiled replay at inputs far from the traced ones is the engine's.

Values and partials at chosen points are in tests/test_ops.py (CASES); gradchecks and PyTorch
agreement over each domain are in tests/test_op_table.py.
"""

from __future__ import annotations

import math
import sys
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd import Value, gradients

HUGE = 1e308
EPS = sys.float_info.epsilon


def _jacobian_and_hessian(fn, point):
    xs = [Value(x) for x in point]
    first = gradients(fn(xs), xs, create_graph=True)
    return [float(g) for g in first], [[float(h) for h in gradients(g, xs)] for g in first]


@pytest.mark.parametrize("fn", [ag.logsumexp, ag.mean, ag.prod])
def test_one_node_with_every_term_as_a_parent(fn):
    xs = [Value(1.0), Value(2.0), Value(1.0)]
    out = fn([*xs, 3.0])
    assert out.op == fn.__name__ and out.parents[:3] == tuple(xs)
    assert out.parents[3].is_leaf and out.parents[3].data == 3.0
    assert type(fn([1.0, 2.0])) is float  # floats in, a float out


# -- logsumexp and softmax never overflow --


def test_logsumexp_of_huge_terms():
    assert ag.logsumexp([HUGE, HUGE]) == HUGE  # HUGE + log 2 rounds to HUGE: no overflow
    assert ag.logsumexp([HUGE, -HUGE]) == HUGE
    assert ag.logsumexp([-HUGE, -HUGE]) == -HUGE
    xs = [Value(HUGE), Value(HUGE)]
    assert gradients(ag.logsumexp(xs), xs) == (0.5, 0.5)
    xs = [Value(HUGE), Value(-HUGE)]
    assert gradients(ag.logsumexp(xs), xs) == (1.0, 0.0)


def test_logsumexp_keeps_the_digits_of_small_terms():
    # log(e^0 + e^-50) = log1p(e^-50): a plain log of the sum rounds it to 0
    assert ag.logsumexp([0.0, -50.0]) == pytest.approx(math.exp(-50.0), rel=1e-15)
    assert ag.logsumexp([0.5]) == 0.5
    logs = [math.log(2.0), math.log(3.0), math.log(5.0)]
    assert ag.logsumexp(logs) == pytest.approx(math.log(10.0), rel=1e-15)


def test_logsumexp_of_infinite_nan_and_no_terms():
    assert ag.logsumexp([]) == -math.inf  # log of an empty sum, as torch.logsumexp
    assert ag.logsumexp([math.inf, 1.0]) == math.inf
    assert ag.logsumexp([-math.inf, -math.inf]) == -math.inf
    assert ag.logsumexp([-math.inf, 1.0]) == 1.0
    assert math.isnan(ag.logsumexp([math.nan, math.inf]))


def test_softmax_of_huge_terms():
    assert ag.softmax([HUGE, -HUGE]) == [1.0, 0.0]
    assert ag.softmax([-HUGE, -HUGE]) == [0.5, 0.5]  # not e^(x - logsumexp) = [1, 1]
    assert ag.softmax([HUGE, HUGE, HUGE, HUGE]) == [0.25] * 4
    xs = [Value(HUGE), Value(HUGE)]
    out = ag.softmax(xs)
    assert [o.data for o in out] == [0.5, 0.5]
    assert gradients(out[0], xs) == (0.25, -0.25)  # s0 (1 - s0), -s0 s1


@pytest.mark.parametrize("point", [(0.3, -1.2, 2.0), (5.0, 5.0), (-700.0, -701.0, -699.5), (1.0,)])
def test_softmax_and_its_jacobian_match_torch(point, torch_oracle):
    torch = torch_oracle.torch
    xs = [Value(x) for x in point]
    ours = ag.softmax(xs)
    assert all(isinstance(s, Value) for s in ours)
    t = torch.tensor(point, dtype=torch.float64)
    theirs = torch.softmax(t, 0)
    jac = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, 0), t)
    for i, s in enumerate(ours):
        assert s.data == pytest.approx(theirs[i].item(), rel=1e-14, abs=1e-300)
        assert list(gradients(s, xs)) == pytest.approx(jac[i].tolist(), rel=1e-12, abs=1e-15)
    assert math.fsum(ag.softmax(point)) == pytest.approx(1.0, rel=1e-15)


def test_softmax_of_nothing_and_of_nan():
    assert ag.softmax([]) == []
    assert all(math.isnan(s) for s in ag.softmax([math.nan, 1.0]))
    for nan_among in ([Value(1.0), Value(math.nan), Value(2.0)], [Value(1.0), math.nan, Value(2.0)]):
        out = ag.softmax(nan_among)  # the maximum node propagates the NaN to every weight
        leaves = [v for v in nan_among if isinstance(v, Value)]
        assert all(math.isnan(s.data) for s in out)
        assert all(math.isnan(g) for g in gradients(out[0], leaves))


def test_softmax_of_numbers_that_are_not_floats_uses_their_float():
    """A number is converted once (its __float__), then only the float is used: the object's own
    arithmetic (here none) is never called."""

    class Half:
        def __float__(self):
            return 0.5

    assert ag.softmax([Half(), 0.5]) == [0.5, 0.5]
    assert ag.softmax([Half(), Value(0.5)])[0].data == 0.5
    mixed = ag.softmax([Value(1.0), 3.0, Value(2.0)])  # a number larger than every Value
    assert [s.data for s in mixed] == ag.softmax([1.0, 3.0, 2.0])


# -- softmax's shift is a node of the graph: compiled replay recomputes it --

SHIFTED = [(0.3 + d, -1.2 + d, 2.0 + d, 0.7 + d) for d in (1000.0, -1000.0)]


def _weighted_softmax(a, b, c, d):
    """A scalar of every softmax weight (and a constant term), so each input has a gradient."""
    s = ag.softmax([a, b, c, d, -5.0])
    return s[0] * 2.0 - s[1] + s[2] * ag.tanh(s[3]) + s[4]


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_compiled_softmax_replays_shifted_inputs_as_the_engine(backend):
    """Traced at small inputs, replayed 1000 above and below: a shift baked in as the traced
    maximum would overflow exp (or divide 0 by 0) in the program. The pure-Python program is
    backward()'s arithmetic in backward()'s order, so its numbers are the engine's bits; NumPy's
    agree to 1e-12. The largest input moving (last point) is no comparison of user code: no retrace."""
    if backend == "numpy":
        pytest.importorskip("numpy")
    c = ag.compile(_weighted_softmax, backend=backend)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a program that fails and falls back to the engine warns
        c.value_and_grad(0.5, 0.1, -0.4, 0.2)
        for point in [*SHIFTED, (3.0, 2.0 + 1e-9, -700.0, 1.0)]:
            value, grads = c.value_and_grad(*point)
            xs = [Value(x) for x in point]
            out = _weighted_softmax(*xs)
            expected = (out.data, *ag.gradients(out, xs))
            assert not any(math.isnan(g) for g in (value, *grads))
            if backend == "python":
                assert (value, *grads) == expected
            else:
                assert list((value, *grads)) == pytest.approx(expected, rel=1e-12, abs=0)
    assert c.traces == 1


def test_softmax_of_values_shifts_by_a_maximum_node():
    xs = [Value(1.0), Value(3.0), Value(2.0)]
    out = ag.softmax(xs)
    shift = out[0].parents[0].parents[0].parents[1]  # s_0 = e_0 / total, e_0 = exp(x_0 - m)
    assert shift.op == "maximum" and shift.data == 3.0
    assert type(ag.softmax([1.0, 3.0])[0]) is float  # numbers only: floats, no graph


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-300.0, 300.0), min_size=1, max_size=8), st.integers(0, 7))
def test_softmax_gradient_through_the_shift_cancels_to_rounding(point, tie):
    """d s_i/d v_j = s_i (δ_ij - s_j). The path through m adds Σ_k (∂s_i/∂e_k)(-e_k), terms of
    size s_i that cancel: the error is a few roundings of s_i, whatever the entry's own size."""
    point[tie % len(point)] = point[0]  # a tie at the maximum, often: maximum splits its gradient
    s = ag.softmax(point)
    n = len(point)
    for i in range(n):
        xs = [Value(x) for x in point]
        jac = gradients(ag.softmax(xs)[i], xs)
        for j in range(n):
            exact = s[i] * ((1.0 if i == j else 0.0) - s[j])
            assert abs(jac[j] - exact) <= 4 * (n + 1) * EPS * s[i], (i, j, jac[j], exact)


@pytest.mark.parametrize("point", [(0.5, -2.0, 3.0, 3.0), (-700.0, -701.0, -699.5, 2.0), (1e3, 1e3 - 5.0)])
def test_softmax_to_second_order_matches_torch(point, torch_oracle):
    torch = torch_oracle.torch
    weights = [1.0, -2.0, 0.5, 3.0][: len(point)]
    torch_oracle.assert_agrees(
        lambda *xs: ag.dot(weights, ag.softmax(xs)),
        lambda ts: (torch.softmax(torch.stack(ts), 0) * torch.tensor(weights, dtype=torch.float64)).sum(),
        point)


def test_logsumexp_to_second_order_matches_torch(torch_oracle):
    point = [0.5, -2.0, 3.0, 3.0]
    torch = torch_oracle.torch
    torch_oracle.assert_agrees(lambda *xs: ag.logsumexp(xs),
                               lambda ts: torch.logsumexp(torch.stack(ts), 0), point)


# -- mean --


def test_mean_without_overflow_and_its_errors():
    assert ag.mean([HUGE, HUGE]) == HUGE  # the sum overflows, the mean does not
    assert ag.mean([0.1] * 10) == 0.1  # exactly rounded (fsum)
    assert math.isnan(ag.mean([math.inf, -math.inf]))
    assert ag.mean([math.inf, 1.0]) == math.inf
    with pytest.raises(ValueError, match="mean of no values"):
        ag.mean([])
    xs = [Value(1.0), Value(5.0), Value(-3.0), Value(2.0)]
    assert gradients(ag.mean(xs), xs) == (0.25,) * 4


# -- prod: the right derivative with zero terms, no division --


def test_prod_with_one_zero_term_to_second_order():
    jac, hess = _jacobian_and_hessian(ag.prod, [2.0, 0.0, 5.0, 3.0])
    assert jac == [0.0, 30.0, 0.0, 0.0]  # only the zero's partial survives: 2 · 5 · 3
    assert hess == [[0.0, 15.0, 0.0, 0.0],  # d²/dx_i dx_j = the product of the other two
                    [15.0, 0.0, 6.0, 10.0],
                    [0.0, 6.0, 0.0, 0.0],
                    [0.0, 10.0, 0.0, 0.0]]


def test_prod_with_two_zero_terms_to_second_order():
    jac, hess = _jacobian_and_hessian(ag.prod, [2.0, 0.0, 0.0, 5.0])
    assert jac == [0.0, 0.0, 0.0, 0.0]
    expected = [[0.0] * 4 for _ in range(4)]
    expected[1][2] = expected[2][1] = 10.0  # d²/dx1 dx2 = 2 · 5: the only term without a zero
    assert hess == expected


def test_prod_matches_a_chain_of_products_where_torch_prod_does_not(torch_oracle):
    torch = torch_oracle.torch
    # the product underflows to 0 with no term 0: torch.prod's backward (out / x_i) gives 0
    point = [1.0, 1.0, 2e-48, 4e-291]
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    torch.stack(ts).prod().backward()
    assert ts[0].grad.item() == 0.0
    jac, _ = _jacobian_and_hessian(ag.prod, point)
    assert jac == pytest.approx([8e-339, 8e-339, 4e-291, 2e-48], rel=1e-3, abs=0)  # subnormal 8e-339
    assert jac[3] == 2e-48


def test_prod_of_nothing_one_term_and_non_finite():
    assert ag.prod([]) == 1.0 and ag.prod([4.0]) == 4.0
    x = Value(4.0)
    assert gradients(ag.prod([x]), [x]) == (1.0,)
    assert ag.prod([1e200, 1e200]) == math.inf  # IEEE overflow, as *
    assert math.isnan(ag.prod([math.inf, 0.0]))
