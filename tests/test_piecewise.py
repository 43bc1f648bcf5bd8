"""Piecewise and rounding ops (autograd/piecewise.py): the rounding dunders, % // divmod and their
reflected forms, clip and where at and away from their edges (against PyTorch), NaN, errors.

Values and partials at chosen points are in tests/test_ops.py (CASES); gradchecks and PyTorch
agreement over each domain are in tests/test_op_table.py.
"""

from __future__ import annotations

import math

import pytest

import autograd as ag
from autograd import Value, grad, gradients
from autograd.ops import TABLE


def _partials(fn, *inputs):
    leaves = [Value(x) for x in inputs]
    return gradients(fn(*leaves), leaves)


# -- rounding: Values with derivative 0 --

ROUNDERS = [
    (math.floor, -2.5, -3.0, "floor"), (math.ceil, -2.5, -2.0, "ceil"), (math.trunc, -2.5, -2.0, "trunc"),
    (round, 2.5, 2.0, "round"), (round, 3.5, 4.0, "round"), (lambda v: round(v, 1), 2.25, 2.2, "round"),
    (lambda v: round(v, -1), 25.0, 20.0, "round"), (ag.sign, -3.0, -1.0, "sign"),
]


@pytest.mark.parametrize(("fn", "x", "expected", "op"), ROUNDERS)
def test_rounding_dunders_return_values_with_zero_gradient(fn, x, expected, op):
    v = Value(x)
    out = fn(v)
    assert isinstance(out, Value) and out.op == op and out.parents == (v,)
    assert out.data == expected
    (out * 3.0).backward()
    assert v.grad == 0.0
    assert fn(x) == expected  # a float in: Python's own result (an int for round(x) and floor)


def test_round_matches_python_halves_to_even_and_digits():
    for x in (0.5, 1.5, -0.5, -2.5, 2.675, 1e300, -1e-300):
        assert ag.round(x) == round(x, 0)
        assert ag.round(x, 2) == round(x, 2)
        assert round(Value(x), 2).data == round(x, 2)
    assert ag.round(math.inf) == math.inf and math.isnan(ag.round(math.nan))
    with pytest.raises(TypeError, match="round: ndigits must be an integer, got float"):
        ag.round(Value(2.5), 1.0)


def test_rounding_of_non_finite_and_signed_zero_follows_ieee():
    assert ag.floor(math.inf) == math.inf and ag.ceil(-math.inf) == -math.inf
    assert math.isnan(ag.trunc(math.nan)) and math.isnan(ag.sign(math.nan))
    assert math.copysign(1.0, ag.ceil(-0.5)) == -1.0  # -0.0, as NumPy and PyTorch
    assert math.copysign(1.0, ag.trunc(-0.5)) == -1.0
    assert ag.sign(0.0) == 0.0 and ag.sign(-7.0) == -1.0


@pytest.mark.parametrize("fn", [ag.floor, ag.ceil, ag.trunc, ag.round, ag.sign])
def test_the_derivative_at_a_jump_is_zero_as_in_pytorch_and_nan_at_nan(fn, torch_oracle):
    torch = torch_oracle.torch
    at_jump = 0.5 if fn is ag.round else (0.0 if fn is ag.sign else 2.0)
    t = torch.tensor(at_jump, dtype=torch.float64, requires_grad=True)
    getattr(torch, fn.__name__)(t).backward()
    assert grad(fn)(at_jump) == t.grad.item() == 0.0
    assert math.isnan(grad(fn)(math.nan))
    assert math.isnan(grad(grad(fn))(math.nan))  # NaN stays NaN at the next orders
    assert math.isnan(grad(grad(grad(fn)))(math.nan))


# -- % // divmod: Python's float semantics, reflected forms --

SIGNS = [(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (-7.5, -2.0), (1.0, 0.1), (-1e-20, 1.0), (5.0, 2.5)]


@pytest.mark.parametrize(("x", "y"), SIGNS)
def test_mod_and_floordiv_match_python_on_either_side(x, y):
    a, b = Value(x), Value(y)
    for r in (a % b, a % y, x % b):
        assert isinstance(r, Value) and r.op == "mod" and r.data == x % y
    for q in (a // b, a // y, x // b):
        assert isinstance(q, Value) and q.op == "floordiv" and q.data == x // y
    for pair in (divmod(a, b), divmod(a, y), divmod(x, b)):
        assert [p.data for p in pair] == list(divmod(x, y))
        assert [p.op for p in pair] == ["floordiv", "mod"]
    assert ag.divmod(x, y) == divmod(x, y)
    assert ag.fmod(x, y) == math.fmod(x, y)


@pytest.mark.parametrize(("x", "y"), SIGNS)
def test_the_divisor_partial_of_mod_and_fmod_is_the_exact_integer_quotient(x, y, torch_oracle):
    n_floor = (x - x % y) / y
    n_trunc = (x - math.fmod(x, y)) / y
    assert _partials(lambda a, b: a % b, x, y) == (1.0, -round(n_floor))
    assert _partials(ag.fmod, x, y) == (1.0, -round(n_trunc))
    assert _partials(lambda a, b: a // b, x, y) == (0.0, 0.0)
    if (x, y) != (1.0, 0.1):  # torch's -floor(1 / 0.1) is -10: its own quotient rounds up
        torch = torch_oracle.torch
        tx, ty = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, y))
        torch.remainder(tx, ty).backward()
        assert (tx.grad.item(), ty.grad.item()) == _partials(lambda a, b: a % b, x, y)


def test_one_mod_a_tenth_is_nine_tenths_and_change_with_quotient_nine():
    # 1 / 0.1 == 10.0 in floats, but 0.1 is above 1/10: 1 = 9 · 0.1 + 0.0999..., so n = 9
    assert 1.0 % 0.1 == pytest.approx(0.1) and 1.0 // 0.1 == 9.0
    assert _partials(lambda a, b: a % b, 1.0, 0.1) == (1.0, -9.0)


def test_division_by_zero_names_the_op():
    with pytest.raises(ZeroDivisionError, match=r"mod: modulo by zero \(1\.0 % 0\.0\)"):
        Value(1.0) % 0
    with pytest.raises(ZeroDivisionError, match=r"floordiv: division by zero \(3\.0 // 0\.0\)"):
        3 // Value(0.0)
    with pytest.raises(ZeroDivisionError, match=r"divmod: division by zero \(2\.0, 0\.0\)"):
        divmod(Value(2.0), 0.0)
    with pytest.raises(TypeError, match="divmod: expected a real number, got str"):
        ag.divmod("1", Value(2.0))
    with pytest.raises(ValueError, match=r"fmod of \(1\.0, 0\.0\).*zero divisor"):
        ag.fmod(Value(1.0), 0.0)
    with pytest.raises(ValueError, match=r"fmod of \(inf, 2\.0\).*infinite"):
        ag.fmod(math.inf, Value(2.0))


# -- clip: the gradient reaches whichever input is the result (torch.clamp) --

CLIP_POINTS = [(-5.0, 0.0, 3.0), (0.0, 0.0, 3.0), (1.5, 0.0, 3.0), (3.0, 0.0, 3.0), (7.0, 0.0, 3.0),
               (1.0, 1.0, 1.0), (0.5, 2.0, 1.0), (3.0, 2.0, 1.0), (-3.0, 2.0, 1.0)]  # the last: lo > hi


@pytest.mark.parametrize("point", CLIP_POINTS)
def test_clip_gradients_at_and_away_from_its_edges_match_torch_clamp(point, torch_oracle):
    torch = torch_oracle.torch
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in point]
    out = torch.clamp(*ts)
    out.backward()
    leaves = [Value(v) for v in point]
    ours = ag.clip(*leaves)
    assert ours.data == out.item() == ag.clip(*point)
    ours.backward()
    assert [leaf.grad for leaf in leaves] == [t.grad.item() for t in ts]


def test_clip_with_one_bound_a_method_and_numbers():
    x = Value(5.0)
    assert x.clip(hi=2.0).data == 2.0 and x.clip(lo=7.0).data == 7.0 and x.clip(0.0, 9.0).data == 5.0
    assert ag.clip(-1.0, lo=0.0) == 0.0 and ag.clip(1e300, hi=1.0) == 1.0
    assert grad(lambda v: ag.clip(v, hi=2.0))(1.0) == 1.0
    assert grad(lambda v: ag.clip(v, hi=2.0))(3.0) == 0.0
    with pytest.raises(ValueError, match="clip: give lo, hi or both"):
        ag.clip(x)


def test_clip_propagates_nan_from_any_input():
    for point in [(math.nan, 0.0, 1.0), (0.5, math.nan, 1.0), (0.5, 0.0, math.nan)]:
        assert math.isnan(ag.clip(*point))
        assert all(math.isnan(d) for d in _partials(ag.clip, *point))


# -- where: a bool condition, the gradient to the chosen branch only --


@pytest.mark.parametrize("condition", [True, False])
def test_where_sends_the_gradient_to_the_chosen_branch_as_torch_where(condition, torch_oracle):
    torch = torch_oracle.torch
    a, b = Value(2.0), Value(-3.0)
    out = ag.where(condition, a * a, b * 5.0)
    out.backward()
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (2.0, -3.0))
    t_out = torch.where(torch.tensor(condition), ta * ta, tb * 5.0)
    t_out.backward()
    assert out.data == t_out.item()
    assert (a.grad, b.grad) == (ta.grad.item(), tb.grad.item())
    assert ag.where(condition, 2.0, -3.0) == (2.0 if condition else -3.0)  # floats in, float out


def test_where_from_comparisons_and_as_a_method():
    x = Value(-1.5)
    relu_like = ag.where(x > 0, x, 0.0)
    assert relu_like.data == 0.0 and relu_like.op == "where"
    assert x.where(x < 0, 7.0).data == -1.5
    assert grad(lambda v: ag.where(v > 0, v * v, -v))(-2.0) == -1.0
    assert grad(lambda v: ag.where(v > 0, v * v, -v))(2.0) == 4.0


def test_where_does_not_turn_an_infinite_partial_of_the_other_branch_into_nan():
    # PyTorch: d/dx where(x > 0, sqrt(x), 0) at 0 is 0 · inf = nan. Here the unchosen branch
    # receives no gradient at all, so the result is the true 0.
    assert grad(lambda v: ag.where(v > 0, ag.sqrt(v), 0.0))(0.0) == 0.0


def test_where_refuses_a_condition_that_is_not_a_bool():
    with pytest.raises(TypeError, match="where: the condition must be a bool, got int 1"):
        ag.where(1, 2.0, 3.0)
    with pytest.raises(TypeError, match="compare Values with"):
        ag.where(Value(1.0), 2.0, 3.0)
    np = pytest.importorskip("numpy")
    assert ag.where(np.bool_(True), 2.0, 3.0) == 2.0


# -- copysign --


@pytest.mark.parametrize(("x", "y"), [(3.0, -1.0), (-3.0, -1.0), (-3.0, 2.0), (0.0, -1.0), (2.0, -0.0)])
def test_copysign_matches_math_and_its_partials_torch(x, y, torch_oracle):
    torch = torch_oracle.torch
    tx, ty = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, y))
    torch.copysign(tx, ty).backward()
    assert ag.copysign(x, y) == math.copysign(x, y)
    assert _partials(ag.copysign, x, y) == (tx.grad.item(), ty.grad.item())


def test_every_entry_is_a_method_and_has_its_doc():
    for name in ("sign", "floor", "ceil", "trunc", "round", "clip", "mod", "floordiv", "fmod", "copysign"):
        assert callable(getattr(Value, name))
        assert getattr(ag, name).__doc__.strip()
    assert ag.floor_divide is ag.floordiv
    for name in ("round", "clip", "where"):
        assert TABLE[name].doc in getattr(ag, name).__doc__  # the wrapper's doc includes the entry's
