"""Tests of the function transformations: grad, value_and_grad, hessian, jvp, and their nesting."""

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, grad, hessian, jvp, value_and_grad

# -- grad --


def test_grad_floats_in_floats_out():
    df = grad(lambda x: x * x * x)
    result = df(2.0)
    assert type(result) is float
    assert result == 12.0
    assert df(3) == 27.0  # an int argument is fine


def test_grad_argnums_int_and_tuple():
    def f(x, y, z):
        return x * y + y * z**2  # df/dx = y, df/dy = x + z^2, df/dz = 2yz

    assert grad(f)(1.0, 2.0, 3.0) == 2.0
    assert grad(f, argnums=1)(1.0, 2.0, 3.0) == 10.0
    assert grad(f, argnums=-1)(1.0, 2.0, 3.0) == 12.0
    both = grad(f, argnums=(0, 2))(1.0, 2.0, 3.0)
    assert both == (2.0, 12.0)
    assert all(type(g) is float for g in both)
    assert grad(f, argnums=(1,))(1.0, 2.0, 3.0) == (10.0,)


def test_grad_argnums_out_of_range():
    with pytest.raises(IndexError, match="argnums 2"):
        grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)


def test_grad_of_a_constant_function_is_zero():
    assert grad(lambda x: 5.0)(1.0) == 0.0
    assert grad(lambda x, y: y * 2, argnums=0)(1.0, Value(3.0)) == 0.0


def test_grad_of_a_function_returning_a_non_number_is_a_type_error():
    with pytest.raises(TypeError, match="str"):
        grad(lambda x: "x")(1.0)


def test_grad_does_not_touch_grad_of_values_it_closes_over():
    w = Value(3.0)
    assert grad(lambda x: w * x * x)(2.0) == 12.0
    assert w.grad == 0.0


def test_grad_of_the_notes_polynomial():
    # f(x) = x^2 - 3x,  f'(x) = 2x - 3
    df = grad(lambda x: x**2 - 3 * x)
    for x in (-2.0, 0.0, 1.0, 1.5, 4.25):
        assert df(x) == pytest.approx(2 * x - 3, abs=1e-15)


# -- higher order against closed forms --


def _tanh_derivatives(x: float) -> tuple[float, float, float]:
    # t' = 1 - t^2,  t'' = -2t(1 - t^2),  t''' = (6t^2 - 2)(1 - t^2)
    t = math.tanh(x)
    return 1 - t * t, -2 * t * (1 - t * t), (6 * t * t - 2) * (1 - t * t)


def _sigmoid_derivatives(x: float) -> tuple[float, float, float]:
    # s' = s(1-s),  s'' = s(1-s)(1-2s),  s''' = s(1-s)(1 - 6s + 6s^2)
    s = 1 / (1 + math.exp(-x))
    return s * (1 - s), s * (1 - s) * (1 - 2 * s), s * (1 - s) * (1 - 6 * s + 6 * s * s)


CLOSED_FORMS = {
    "sin": (autograd.sin, lambda x: (math.cos(x), -math.sin(x), -math.cos(x))),
    "cos": (autograd.cos, lambda x: (-math.sin(x), -math.cos(x), math.sin(x))),
    "exp": (autograd.exp, lambda x: (math.exp(x),) * 3),
    "log": (autograd.log, lambda x: (1 / x, -1 / x**2, 2 / x**3)),
    "sqrt": (autograd.sqrt, lambda x: (0.5 * x**-0.5, -0.25 * x**-1.5, 0.375 * x**-2.5)),
    "tanh": (autograd.tanh, _tanh_derivatives),
    "sigmoid": (autograd.sigmoid, _sigmoid_derivatives),
    "x**5": (lambda x: x**5, lambda x: (5 * x**4, 20 * x**3, 60 * x**2)),
    "x**-2": (lambda x: x**-2, lambda x: (-2 * x**-3, 6 * x**-4, -24 * x**-5)),
    "x**2.5": (lambda x: x**2.5, lambda x: (2.5 * x**1.5, 3.75 * x**0.5, 1.875 * x**-0.5)),
    "3**x": (lambda x: 3**x, lambda x: tuple(3**x * math.log(3) ** k for k in (1, 2, 3))),
    "x*sin(x)": (
        lambda x: x * autograd.sin(x),
        lambda x: (
            math.sin(x) + x * math.cos(x),
            2 * math.cos(x) - x * math.sin(x),
            -3 * math.sin(x) - x * math.cos(x),
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
@pytest.mark.parametrize("x", [0.3, 1.7, 2.9])
def test_first_to_third_derivatives_match_closed_forms(name, x):
    f, derivatives = CLOSED_FORMS[name]
    d1, d2, d3 = grad(f), grad(grad(f)), grad(grad(grad(f)))
    expected = derivatives(x)
    for got, want in zip((d1(x), d2(x), d3(x)), expected, strict=True):
        assert type(got) is float
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_fourth_and_fifth_derivatives_of_sin():
    d4 = grad(grad(grad(grad(autograd.sin))))
    d5 = grad(d4)
    assert d4(0.7) == pytest.approx(math.sin(0.7), rel=1e-13)
    assert d5(0.7) == pytest.approx(math.cos(0.7), rel=1e-13)


def test_derivatives_of_a_polynomial_end_at_zero():
    f = lambda x: x**3  # noqa: E731
    d3 = grad(grad(grad(f)))
    d4 = grad(d3)
    assert d3(1.3) == 6.0
    assert d4(1.3) == 0.0


def test_closure_nesting():
    # d/dx [ d/dy (x y) at y = 1 ] = d/dx x = 1
    assert grad(lambda x: grad(lambda y: x * y)(1.0))(2.0) == 1.0
    # d/dx [ d/dy (x^2 y^3) at y = 2 ] = d/dx 12 x^2 = 24x
    assert grad(lambda x: grad(lambda y: x * x * y**3)(2.0))(0.5) == 12.0


def test_grad_of_a_function_of_values_keeps_the_graph():
    x = Value(1.5)
    d = grad(lambda t: t**3)(x)
    assert isinstance(d, Value)
    assert d.data == pytest.approx(6.75, rel=1e-15)
    d.backward()
    assert x.grad == pytest.approx(9.0, rel=1e-15)  # d/dx 3x^2 = 6x


# -- value_and_grad --


def test_value_and_grad():
    value, g = value_and_grad(lambda x, y: x * y + y.exp(), argnums=(0, 1))(2.0, 0.5)
    assert type(value) is float
    assert value == pytest.approx(1.0 + math.exp(0.5), rel=1e-15)
    assert g == pytest.approx((0.5, 2.0 + math.exp(0.5)), rel=1e-15)
    value, g = value_and_grad(lambda x: x.sin())(1.0)
    assert (value, g) == (math.sin(1.0), math.cos(1.0))


# -- hessian --


def test_hessian_of_two_variables():
    # f = x^2 y + y^3:  H = [[2y, 2x], [2x, 6y]]
    h = hessian(lambda x, y: x * x * y + y**3)(1.0, 2.0)
    assert h == [[4.0, 2.0], [2.0, 12.0]]
    assert all(type(row) is list for row in h)


def test_hessian_of_three_variables():
    # f = xyz + x^2 z + sin(y):  H = [[2z, z, y + 2x], [z, -sin y, x], [y + 2x, x, 0]]
    x, y, z = 0.5, -1.0, 2.0
    h = hessian(lambda x, y, z: x * y * z + x * x * z + y.sin())(x, y, z)
    expected = [[2 * z, z, y + 2 * x], [z, -math.sin(y), x], [y + 2 * x, x, 0.0]]
    assert len(h) == 3 and all(len(row) == 3 for row in h)
    for row, want in zip(h, expected, strict=True):
        assert row == pytest.approx(want, rel=1e-14, abs=1e-15)
        assert all(type(entry) is float for entry in row)


def test_hessian_of_one_variable_is_one_by_one():
    assert hessian(lambda x: x**4)(2.0) == [[48.0]]


# -- jvp --


def _random_function(seed: int):
    """A random smooth function of three scalars built from the engine's ops."""
    rng = random.Random(seed)
    steps = []
    for _ in range(rng.randint(1, 12)):
        op = rng.choice(["add", "mul", "sub", "tanh", "sin", "sigmoid", "softplus", "exp_tanh", "sum"])
        steps.append((op, rng.randrange(1_000), rng.randrange(1_000), rng.uniform(-2, 2)))

    def f(a, b, c):
        nodes = [a, b, c]
        for op, i, j, k in steps:
            u, v = nodes[i % len(nodes)], nodes[j % len(nodes)]
            if op == "add":
                nodes.append(u + v * k)
            elif op == "mul":
                nodes.append(u * autograd.tanh(v))  # bounded factor: no overflow in 12 steps
            elif op == "sub":
                nodes.append(k - u)
            elif op == "tanh":
                nodes.append(autograd.tanh(u))
            elif op == "sin":
                nodes.append(autograd.sin(u * k))
            elif op == "sigmoid":
                nodes.append(autograd.sigmoid(u))
            elif op == "softplus":
                nodes.append(autograd.softplus(u))
            elif op == "exp_tanh":
                nodes.append(autograd.exp(autograd.tanh(u)))
            else:
                nodes.append(autograd.sum([u, v, k]))
        return nodes[-1] * nodes[0] + nodes[-2]

    return f


point = st.floats(-2.0, 2.0)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    primals=st.tuples(point, point, point),
    tangents=st.tuples(point, point, point),
)
def test_jvp_equals_gradient_dot_tangent(seed, primals, tangents):
    f = _random_function(seed)
    value, directional = jvp(f, primals, tangents)
    gradient = grad(f, argnums=(0, 1, 2))(*primals)
    assert value == pytest.approx(f(*primals), rel=1e-15)
    expected = math.fsum(g * t for g, t in zip(gradient, tangents, strict=True))
    scale = math.fsum(abs(g * t) for g, t in zip(gradient, tangents, strict=True))
    assert directional == pytest.approx(expected, abs=1e-12 * (1 + scale))


def test_jvp_of_a_known_function():
    # f = x^2 y: grad = (2xy, x^2); along (1, -2) at (3, 0.5): 3 - 18 = -15
    value, directional = jvp(lambda x, y: x * x * y, (3.0, 0.5), (1.0, -2.0))
    assert (value, directional) == (4.5, -15.0)
    assert type(directional) is float


def test_jvp_of_a_constant_function():
    assert jvp(lambda x: 2.0, (1.0,), (1.0,)) == (2.0, 0.0)


def test_jvp_needs_one_tangent_per_primal():
    with pytest.raises(ValueError, match="2 primals but 1 tangents"):
        jvp(lambda x, y: x * y, (1.0, 2.0), (1.0,))


def test_grad_of_jvp_is_the_second_derivative():
    # d/dx [f'(x)] with f' from forward mode: f = sin(x) x, f'' = 2 cos x - x sin x
    second = grad(lambda x: jvp(lambda t: t.sin() * t, (x,), (1.0,))[1])(0.8)
    assert second == pytest.approx(2 * math.cos(0.8) - 0.8 * math.sin(0.8), rel=1e-14)


def test_jvp_zero_tangent_ignores_an_undefined_partial():
    # x ** y at x < 0: d/dy is undefined (NaN), but along (1, 0) only d/dx = y x^(y-1) counts.
    value, derivative = autograd.jvp(lambda x, y: x**y, [-2.0, 3.0], [1.0, 0.0])
    assert value == -8.0
    assert derivative == 3.0 * (-2.0) ** 2
