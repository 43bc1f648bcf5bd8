"""Tests of the op table: values and partials at chosen points, stable activations, bad input, kinks."""

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, grad
from autograd.ops import TABLE

LN2, LN3 = math.log(2.0), math.log(3.0)
ROOT3_2 = math.sqrt(3.0) / 2
EULER_GAMMA = 0.5772156649015329  # -ψ(1)
ZETA3 = 1.2020569031595943  # ζ(3): ψ''(1) = -2ζ(3)

# name -> (the op applied to Values or floats, inputs, value, partials), all worked out by hand
CASES = {
    "add": (lambda a, b: a + b, (2.0, -3.0), -1.0, (1.0, 1.0)),
    "sub": (lambda a, b: a - b, (2.0, -3.0), 5.0, (1.0, -1.0)),
    "mul": (lambda a, b: a * b, (2.0, -3.0), -6.0, (-3.0, 2.0)),
    "div": (lambda a, b: a / b, (3.0, -4.0), -0.75, (-0.25, -0.1875)),  # 1/y, -x/y^2
    "quotient": (autograd.ops.quotient, (3.0, -4.0), -0.75, (-0.25, -0.1875)),  # as div
    "neg": (lambda a: -a, (2.0,), -2.0, (-1.0,)),
    "identity": (autograd.ops.identity, (2.0,), 2.0, (1.0,)),
    "pow": (autograd.ops.pow, (2.0, 3.0), 8.0, (12.0, 8 * LN2)),  # y x^(y-1), x^y ln x
    "pow_ieee": (autograd.ops.pow_ieee, (2.0, 3.0), 8.0, (12.0, 8 * LN2)),  # as pow
    "exp": (autograd.exp, (1.0,), math.e, (math.e,)),
    "log": (autograd.log, (2.0,), LN2, (0.5,)),
    "sqrt": (autograd.sqrt, (4.0,), 2.0, (0.25,)),
    "sin": (autograd.sin, (math.pi / 6,), 0.5, (ROOT3_2,)),
    "cos": (autograd.cos, (math.pi / 3,), 0.5, (-ROOT3_2,)),
    "abs": (autograd.abs, (-2.5,), 2.5, (-1.0,)),
    "tanh": (autograd.tanh, (LN2,), 0.6, (0.64,)),  # (4 - 1)/(4 + 1), 1 - 0.6^2
    "sigmoid": (autograd.sigmoid, (LN3,), 0.75, (0.1875,)),  # 1/(1 + 1/3), σ(1 - σ)
    "softplus": (autograd.softplus, (LN3,), math.log(4.0), (0.75,)),  # ln(1 + 3), σ(ln 3)
    "relu": (autograd.relu, (2.0,), 2.0, (1.0,)),
    "maximum": (autograd.maximum, (1.0, 3.0), 3.0, (0.0, 1.0)),
    "minimum": (autograd.minimum, (1.0, 3.0), 1.0, (1.0, 0.0)),
    "sum": (lambda *xs: autograd.sum(xs), (1.0, 2.0, -4.0), -1.0, (1.0, 1.0, 1.0)),
    "dot": (
        lambda w1, w2, x1, x2: autograd.dot([w1, w2], [x1, x2]),
        (1.0, 2.0, 3.0, 4.0),
        11.0,
        (3.0, 4.0, 1.0, 2.0),
    ),
    # -- the math library (autograd/elementary.py, piecewise.py, reductions.py) --
    "tan": (autograd.tan, (math.pi / 4,), 1.0, (2.0,)),  # 1 + tan²
    "asin": (autograd.asin, (0.5,), math.pi / 6, (2 / math.sqrt(3.0),)),  # 1/√(1 - x²)
    "acos": (autograd.acos, (0.5,), math.pi / 3, (-2 / math.sqrt(3.0),)),
    "atan": (autograd.atan, (1.0,), math.pi / 4, (0.5,)),  # 1/(1 + x²)
    "atan2": (autograd.atan2, (1.0, 1.0), math.pi / 4, (0.5, -0.5)),  # (x, -y)/(x² + y²)
    "sinh": (autograd.sinh, (LN2,), 0.75, (1.25,)),  # (2 - 1/2)/2, cosh = (2 + 1/2)/2
    "cosh": (autograd.cosh, (LN2,), 1.25, (0.75,)),
    "asinh": (autograd.asinh, (0.75,), LN2, (0.8,)),  # ln(0.75 + 1.25), 1/√(1 + 0.5625)
    "acosh": (autograd.acosh, (1.25,), LN2, (4 / 3,)),  # ln(1.25 + 0.75), 1/√(1.5625 - 1)
    "atanh": (autograd.atanh, (0.6,), LN2, (1.5625,)),  # ln(1.6/0.4)/2, 1/(1 - 0.36)
    "log1p": (autograd.log1p, (1.0,), LN2, (0.5,)),
    "expm1": (autograd.expm1, (LN2,), 1.0, (2.0,)),
    "log2": (autograd.log2, (8.0,), 3.0, (1 / (8 * LN2),)),
    "log10": (autograd.log10, (100.0,), 2.0, (1 / (100 * math.log(10.0)),)),
    "exp2": (autograd.exp2, (3.0,), 8.0, (8 * LN2,)),
    "log_base": (autograd.log, (8.0, 2.0), 3.0, (1 / (8 * LN2), -3 / (2 * LN2))),  # -log_b(x)/(b ln b)
    "cbrt": (autograd.cbrt, (-8.0,), -2.0, (1 / 12,)),  # 1/(3 cbrt(x)²)
    "square": (autograd.square, (-3.0,), 9.0, (-6.0,)),
    "hypot": (autograd.hypot, (3.0, 4.0), 5.0, (0.6, 0.8)),
    "erf": (autograd.erf, (0.0,), 0.0, (2 / math.sqrt(math.pi),)),
    "erfc": (autograd.erfc, (0.0,), 1.0, (-2 / math.sqrt(math.pi),)),
    # Γ(5) = 4!, ψ(5) = 1 + 1/2 + 1/3 + 1/4 - γ, ψ'(1) = π²/6
    "gamma": (autograd.gamma, (5.0,), 24.0, (24 * (25 / 12 - EULER_GAMMA),)),
    "lgamma": (autograd.lgamma, (5.0,), math.log(24.0), (25 / 12 - EULER_GAMMA,)),
    "digamma": (autograd.digamma, (1.0,), -EULER_GAMMA, (math.pi**2 / 6,)),
    "degrees": (autograd.degrees, (math.pi,), 180.0, (180 / math.pi,)),
    "radians": (autograd.radians, (180.0,), math.pi, (math.pi / 180,)),
    "sinc": (autograd.sinc, (0.5,), 2 / math.pi, (-4 / math.pi,)),  # (cos(π/2) - 2/π)/(1/2)
    "sign": (autograd.sign, (-2.5,), -1.0, (0.0,)),
    "floor": (autograd.floor, (-2.5,), -3.0, (0.0,)),
    "ceil": (autograd.ceil, (-2.5,), -2.0, (0.0,)),
    "trunc": (autograd.trunc, (-2.5,), -2.0, (0.0,)),
    "round": (autograd.round, (2.5,), 2.0, (0.0,)),  # halves to even
    "clip": (autograd.clip, (5.0, 0.0, 3.0), 3.0, (0.0, 0.0, 1.0)),  # the upper bound is the result
    "where": (lambda a, b: autograd.where(True, a, b), (2.0, 3.0), 2.0, (1.0, 0.0)),
    "mod": (lambda a, b: a % b, (-7.5, 2.0), 0.5, (1.0, 4.0)),  # -7.5 = -4·2 + 0.5: 1, -floor(x/y)
    "floordiv": (lambda a, b: a // b, (-7.5, 2.0), -4.0, (0.0, 0.0)),
    "fmod": (autograd.fmod, (-7.5, 2.0), -1.5, (1.0, 3.0)),  # -7.5 = -3·2 - 1.5: 1, -trunc(x/y)
    "copysign": (autograd.copysign, (3.0, -1.0), -3.0, (-1.0, 0.0)),
    "logsumexp": (lambda *xs: autograd.logsumexp(xs), (0.0, LN3), math.log(4.0), (0.25, 0.75)),
    "mean": (lambda *xs: autograd.mean(xs), (1.0, 2.0, 6.0), 3.0, (1 / 3, 1 / 3, 1 / 3)),
    "prod": (lambda *xs: autograd.prod(xs), (2.0, 0.0, 5.0), 0.0, (0.0, 10.0, 0.0)),  # a zero term
}

EXTRA_CASES = {
    "round(2.675, 2)": (lambda x: autograd.round(x, 2), (2.675,), 2.67, (0.0,)),  # 2.675 is 2.67499...
    "round(-1234.5, -2)": (lambda x: round(x, -2), (-1234.5,), -1200.0, (0.0,)),
    "polygamma(1, 1)": (lambda x: autograd.polygamma(1, x), (1.0,), math.pi**2 / 6, (-2 * ZETA3,)),
    "clip(-5, 0, 3)": (autograd.clip, (-5.0, 0.0, 3.0), 0.0, (0.0, 1.0, 0.0)),
    "clip(2, 0, 3)": (autograd.clip, (2.0, 0.0, 3.0), 2.0, (1.0, 0.0, 0.0)),
    "where(False, a, b)": (lambda a, b: autograd.where(False, a, b), (2.0, 3.0), 3.0, (0.0, 1.0)),
    "7.5 % -2": (lambda a, b: a % b, (7.5, -2.0), -0.5, (1.0, 4.0)),  # 7.5 = -4·(-2) - 0.5
    "relu(-2)": (autograd.relu, (-2.0,), 0.0, (0.0,)),
    "x ** 2": (lambda x: x**2, (3.0,), 9.0, (6.0,)),
    "x ** -0.5": (lambda x: x**-0.5, (4.0,), 0.5, (-1 / 16,)),  # -0.5 x^-1.5
    "2 ** y": (lambda y: 2**y, (3.0,), 8.0, (8 * LN2,)),
    "0.5 ** y": (lambda y: 0.5**y, (2.0,), 0.25, (-0.25 * LN2,)),
    "leaky_relu(-5, 0.2)": (lambda x: autograd.leaky_relu(x, 0.2), (-5.0,), -1.0, (0.2,)),
    "leaky_relu(5, 0.2)": (lambda x: autograd.leaky_relu(x, 0.2), (5.0,), 5.0, (1.0,)),
    "leaky_relu(-5)": (autograd.leaky_relu, (-5.0,), -0.05, (0.01,)),
    "abs(3)": (abs, (3.0,), 3.0, (1.0,)),
    "maximum(4, -1)": (autograd.maximum, (4.0, -1.0), 4.0, (1.0, 0.0)),
    "minimum(4, -1)": (autograd.minimum, (4.0, -1.0), -1.0, (0.0, 1.0)),
}


def test_quotient_gives_ieee_results_at_a_zero_divisor():
    q = autograd.ops.quotient
    assert (q(1.0, 0.0), q(-1.0, 0.0), q(1.0, -0.0)) == (math.inf, -math.inf, -math.inf)
    assert math.isnan(q(0.0, 0.0)) and math.isnan(q(math.nan, 0.0))


# The entries declared in autograd/ops.py (other modules extend the table and test their own).
OPS_ENTRIES = {name for name, prim in TABLE.items()
               if getattr(getattr(autograd.ops, name, None), "primitive", None) is prim} | {"sum", "dot"}


def test_every_op_of_the_table_has_a_case():
    assert {"add", "pow", "relu", "sum", "dot"} <= OPS_ENTRIES
    assert OPS_ENTRIES <= set(CASES)


@pytest.mark.parametrize("name", list(CASES) + list(EXTRA_CASES))
def test_value_and_partials_at_a_chosen_point(name):
    fn, inputs, value, partials = {**CASES, **EXTRA_CASES}[name]
    leaves = [Value(x) for x in inputs]
    out = fn(*leaves)
    assert out.data == pytest.approx(value, rel=1e-15, abs=1e-16)
    out.backward()
    assert [leaf.grad for leaf in leaves] == pytest.approx(list(partials), rel=1e-15, abs=1e-16)
    plain = fn(*inputs)  # floats in, float out
    assert type(plain) is float
    assert plain == out.data


def test_sum_and_dot_make_one_node():
    xs = [Value(float(i)) for i in range(5)]
    total = autograd.sum(xs)
    assert total.op == "sum" and total.parents == tuple(xs)
    d = autograd.dot(xs[:2], [10.0, xs[4]])
    assert d.op == "dot" and d.data == 4.0  # 0*10 + 1*4
    assert d.parents[:2] == tuple(xs[:2]) and d.parents[3] is xs[4]
    assert d.parents[2].is_leaf and d.parents[2].data == 10.0


def test_sum_and_dot_of_numbers_are_floats():
    assert autograd.sum([1, 2.5]) == 3.5 and type(autograd.sum([1, 2])) is float
    assert autograd.sum([]) == 0.0
    assert autograd.dot([1, 2], [3, 4]) == 11.0


def test_power_function():
    assert autograd.power(2.0, 10) == 1024.0
    assert autograd.power(Value(2.0), 3.0).op == "pow_const"
    assert autograd.power(2.0, Value(3.0)).op == "const_pow"
    assert autograd.power(Value(2.0), Value(3.0)).op == "pow"


# -- numerically stable activations --


def test_sigmoid_and_softplus_at_extremes():
    assert autograd.sigmoid(-1000.0) == 0.0
    assert autograd.sigmoid(1000.0) == 1.0
    assert autograd.softplus(1000.0) == 1000.0
    assert autograd.softplus(-1000.0) == 0.0
    assert autograd.tanh(-1000.0) == -1.0
    assert grad(autograd.sigmoid)(-1000.0) == 0.0
    assert grad(autograd.softplus)(1000.0) == 1.0


finite_floats = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(x=finite_floats)
def test_sigmoid_and_its_derivatives_are_finite_everywhere(x):
    s, ds, d2s = autograd.sigmoid(x), grad(autograd.sigmoid)(x), grad(grad(autograd.sigmoid))(x)
    assert 0.0 <= s <= 1.0
    assert 0.0 <= ds <= 0.25  # σ(1 - σ) peaks at x = 0
    assert abs(d2s) <= 0.1  # |σ(1 - σ)(1 - 2σ)| <= 1/(6√3) ≈ 0.0962


@settings(max_examples=150, deadline=None)
@given(x=finite_floats)
def test_tanh_and_its_derivatives_are_finite_everywhere(x):
    t, dt, d2t = autograd.tanh(x), grad(autograd.tanh)(x), grad(grad(autograd.tanh))(x)
    assert -1.0 <= t <= 1.0
    assert 0.0 <= dt <= 1.0
    assert abs(d2t) <= 0.8  # |2t(1 - t^2)| <= 4/(3√3) ≈ 0.770


@settings(max_examples=150, deadline=None)
@given(x=finite_floats)
def test_softplus_and_its_derivatives_are_finite_everywhere(x):
    sp, dsp, d2sp = autograd.softplus(x), grad(autograd.softplus)(x), grad(grad(autograd.softplus))(x)
    assert math.isfinite(sp)
    assert sp >= max(x, 0.0)  # log(1 + e^x) > max(x, 0), equal after rounding at the extremes
    assert 0.0 <= dsp <= 1.0
    assert 0.0 <= d2sp <= 0.25


@settings(max_examples=60, deadline=None)
@given(x=st.floats(-30.0, 30.0))
def test_stable_forms_agree_with_the_textbook_formulas(x):
    assert autograd.sigmoid(x) == pytest.approx(1 / (1 + math.exp(-x)), rel=1e-15)
    assert autograd.softplus(x) == pytest.approx(math.log(1 + math.exp(x)), rel=1e-12, abs=1e-15)


# -- bad input: the right exception, naming the op and the value --

BAD_INPUTS = [
    (lambda: autograd.log(-1.0), ValueError, r"log.*-1\.0"),
    (lambda: autograd.log(0.0), ValueError, r"log.*0\.0"),
    (lambda: Value(-2.0).log(), ValueError, r"log.*-2\.0"),
    (lambda: autograd.sqrt(-4.0), ValueError, r"sqrt.*-4\.0"),
    (lambda: Value(-0.5).sqrt(), ValueError, r"sqrt.*-0\.5"),
    (lambda: Value(1.0) / 0, ZeroDivisionError, r"div.*0\.0"),
    (lambda: 3 / Value(0.0), ZeroDivisionError, r"div.*3\.0 / 0\.0"),
    (lambda: Value(0.0) ** -1.0, ZeroDivisionError, r"pow.*0\.0.*-1\.0"),
    (lambda: Value(0.0) ** Value(-2.0), ZeroDivisionError, r"pow.*0\.0.*-2\.0"),
    (lambda: 0 ** Value(-3.0), ZeroDivisionError, r"pow.*0\.0.*-3\.0"),
    (lambda: autograd.power(0.0, -1.0), ZeroDivisionError, r"pow.*-1\.0"),
    (lambda: Value(-8.0) ** 0.5, ValueError, r"pow.*-8\.0.*0\.5"),
    (lambda: Value(-8.0) ** Value(1.5), ValueError, r"pow.*-8\.0.*1\.5"),
    (lambda: (-2) ** Value(0.25), ValueError, r"pow.*-2\.0.*0\.25"),
    (lambda: autograd.exp(1000.0), OverflowError, r"exp.*1000\.0"),
    (lambda: Value(710.0).exp(), OverflowError, r"exp.*710\.0"),
    (lambda: Value(10.0) ** 400, OverflowError, r"pow.*10\.0.*400"),
    (lambda: 2 ** Value(5000.0), OverflowError, r"pow.*5000"),
    (lambda: autograd.sin(math.inf), ValueError, r"sin.*inf"),
    (lambda: autograd.cos(-math.inf), ValueError, r"cos.*-inf"),
    (lambda: Value(math.nan) / 0.0, ZeroDivisionError, r"div.*nan / 0\.0"),  # an error even for NaN
    (lambda: Value(10**400), ValueError, r"Value.*too large"),
    (lambda: Value(2.0) ** 10**400, ValueError, r"pow.*too large"),
    (lambda: Value(1.0, label=3), TypeError, r"Value.*label.*int"),
    (lambda: autograd.sum(5), TypeError, r"sum.*iterable.*int"),
    (lambda: autograd.dot(5, 5), TypeError, r"dot.*iterable.*int"),
    (lambda: autograd.dot([Value(1.0)], Value(2.0)), TypeError, r"dot.*iterable.*Value"),
    (lambda: autograd.dot([Value(1.0)], [_HasData()]), TypeError, r"dot.*_HasData"),
    (lambda: autograd.dot([Value(1.0)], [2.0], _HasData()), TypeError, r"dot.*_HasData"),
    (lambda: autograd.leaky_relu(Value(1.0), math.nan), ValueError, r"leaky_relu.*slope.*nan"),
    (lambda: autograd.exp(_BrokenFloat()), TypeError, r"exp.*_BrokenFloat.*RuntimeError"),
    (lambda: autograd.exp("1"), TypeError, r"exp.*str"),
    (lambda: Value(1.0) - "1", TypeError, r"sub.*str"),
    (lambda: autograd.maximum(1.0, None), TypeError, r"maximum.*NoneType"),
    (lambda: autograd.sum([Value(1.0), "a"]), TypeError, r"sum.*str"),
    (lambda: autograd.dot([Value(1.0)], [[2.0]]), TypeError, r"dot.*list"),
    (lambda: autograd.dot([1.0, 2.0], [3.0]), ValueError, r"dot.*2.*1"),
    (lambda: autograd.leaky_relu(Value(1.0), "big"), TypeError, r"leaky_relu.*str"),
]


class _HasData:
    """Not a Value, but with a float `.data` (as a micrograd Value): dot must not take it for one."""

    data = 2.0
    grad = 0.0


class _BrokenFloat:
    def __float__(self):
        raise RuntimeError("no number here")


@pytest.mark.parametrize(("call", "error", "message"), BAD_INPUTS)
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_negative_base_to_an_integer_power_is_fine():
    x = Value(-2.0)
    y = x**3
    y.backward()
    assert (y.data, x.grad) == (-8.0, 12.0)
    assert (x ** Value(2.0)).data == 4.0


# -- conventions at kinks --


def test_kink_conventions():
    assert grad(autograd.relu)(0.0) == 0.0
    assert grad(autograd.abs)(0.0) == 0.0
    assert grad(lambda x: autograd.leaky_relu(x, 0.2))(0.0) == 0.2
    assert grad(autograd.maximum, argnums=(0, 1))(1.5, 1.5) == (0.5, 0.5)
    assert grad(autograd.minimum, argnums=(0, 1))(1.5, 1.5) == (0.5, 0.5)
    assert grad(lambda y: 0.0**y)(2.0) == 0.0  # d(0^y)/dy: 0 at base 0


def _torch_partials(torch, fn, inputs):
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    fn(*leaves).backward()
    return tuple(leaf.grad.item() for leaf in leaves)


def test_kink_conventions_match_torch():
    torch = pytest.importorskip("torch")
    pairs = [
        (autograd.relu, torch.relu, (0.0,)),
        (autograd.abs, torch.abs, (0.0,)),
        (lambda x: autograd.leaky_relu(x, 0.2), lambda x: torch.nn.functional.leaky_relu(x, 0.2), (0.0,)),
        (autograd.maximum, torch.maximum, (1.5, 1.5)),
        (autograd.minimum, torch.minimum, (1.5, 1.5)),
        (lambda x, y: x**y, torch.pow, (0.0, 2.0)),
        (lambda x, y: x**y, torch.pow, (-2.0, 3.0)),
    ]
    for ours, theirs, inputs in pairs:
        leaves = [Value(x) for x in inputs]
        ours(*leaves).backward()
        expected = _torch_partials(torch, theirs, inputs)
        for got, want in zip((leaf.grad for leaf in leaves), expected, strict=True):
            # d(x^y)/dy at a negative base is undefined: NaN in both
            assert got == want or (math.isnan(got) and math.isnan(want)), (theirs, inputs)


def test_dot_with_a_bias_is_one_node_whose_bias_partial_is_one():
    ws = [Value(1.5), Value(-2.0)]
    xs = [Value(0.5), Value(3.0)]
    b = Value(0.25)
    out = autograd.dot(ws, xs, b)
    assert out.op == "dot" and out.parents == (*ws, *xs, b)
    assert out.data == (1.5 * 0.5 + -2.0 * 3.0) + 0.25
    out.backward()
    assert [v.grad for v in (*ws, *xs, b)] == [0.5, 3.0, 1.5, -2.0, 1.0]
    assert autograd.dot([1.5, -2.0], [0.5, 3.0], 0.25) == out.data  # floats in, float out


# -- array forms (Primitive.array, for compiled replay's NumPy backend) --

ARRAY_FORMS = [p for p in autograd.ops.all_primitives() if p.array is not None]
# Ordinary numbers, both zeros, the exp overflow boundary and its neighbours, huge, tiny and
# subnormal magnitudes, integers and halves (pow's cases), infinities and NaN: every error region.
_EXP_MAX = math.log(1.7976931348622157e308)
SPECIAL = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.0, -2.0, 3.0, -3.0, 0.1, -7.25, 30.0, -40.0,
           _EXP_MAX, math.nextafter(_EXP_MAX, math.inf), math.nextafter(_EXP_MAX, 0.0), 710.0, -745.5,
           1e300, -1e300, 1e-300, -1e-300, 5e-324, 1023.0, 1e16 + 1.0, math.inf, -math.inf, math.nan]


def _array_form_agrees(prim, points):
    """The form on arrays of `points` against the float forward at each point."""
    np = pytest.importorskip("numpy")
    n = len(points[0])
    columns = [np.array([p[j] for p in points]) for j in range(n)]
    with np.errstate(all="ignore"):  # as the NumPy backend runs it
        values, raises = prim.array(np, *columns)
    values = np.broadcast_to(values, (len(points),))
    raises = np.broadcast_to(False if raises is None else raises, (len(points),))
    for k, point in enumerate(points):
        try:
            expected = prim.forward(*point)
        except (ArithmeticError, ValueError):
            assert raises[k], (prim.display, point, "the forward raises: the mask must say so")
            continue
        got = float(values[k])
        assert not raises[k], (prim.display, point, "the forward does not raise", expected)
        # Relative to the value (np.exp may differ from math.exp by an ulp); subnormals absolutely.
        assert got == expected or (got != got and expected != expected) or (
            abs(got - expected) <= 1e-12 * abs(expected) + 1e-300), (prim.display, point, got, expected)


NARY_SIZES = (1, 2, 3, 5)  # the numbers of terms an n-ary op's form is checked with


@pytest.mark.parametrize("prim", ARRAY_FORMS, ids=lambda p: p.display)
def test_an_array_form_agrees_with_its_forward_on_a_grid_of_special_values(prim):
    if prim.arity is None:  # n-ary: every pair of special values, then among more terms
        rng = random.Random(prim.name)
        for n in NARY_SIZES:
            points = [(x, y, *rng.choices(SPECIAL, k=n - 2)) for x in SPECIAL for y in SPECIAL] if n >= 2 \
                else [(x,) for x in SPECIAL]
            _array_form_agrees(prim, points)
        return
    n = prim.arity
    points = [(x,) for x in SPECIAL] if n == 1 else [(x, y) for x in SPECIAL for y in SPECIAL]
    _array_form_agrees(prim, points)


@settings(max_examples=60)
@given(st.data())
@pytest.mark.parametrize("prim", ARRAY_FORMS, ids=lambda p: p.display)
def test_an_array_form_agrees_with_its_forward_in_its_domain_and_outside(prim, data):
    n = prim.arity if prim.arity is not None else data.draw(st.sampled_from(NARY_SIZES))
    intervals = list(prim.domain or [(-10.0, 10.0)]) * (n if prim.domain and len(prim.domain) == 1 else 1)
    inside = st.tuples(*[st.floats(lo, hi) for lo, hi in intervals[:n]])
    anywhere = st.tuples(*[st.floats(allow_nan=True, allow_infinity=True)] * n)
    points = data.draw(st.lists(inside, min_size=1, max_size=20)) + data.draw(
        st.lists(anywhere, min_size=1, max_size=20))
    _array_form_agrees(prim, points)


def test_the_domain_checking_ops_declare_array_forms():
    # Without one, the NumPy backend calls their forwards element by element.
    names = {p.name for p in ARRAY_FORMS}
    assert {"exp", "log", "sqrt", "div", "sigmoid", "softplus", "sin", "cos", "pow", "pow_const",
            "const_pow", "logsumexp", "prod"} <= names
