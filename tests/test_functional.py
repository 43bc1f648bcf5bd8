"""Tests of the function transformations (grad, value_and_grad, vjp, jacobian, jacfwd, hessian, jvp),
their argument checks, their nesting, gradients() and the cut-graph warnings."""

import inspect
import math
import random
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, grad, hessian, jacfwd, jacobian, jvp, value_and_grad, vjp

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


@pytest.mark.parametrize("argnums", [2, -3, (0, 2), [1, -3]])
def test_grad_argnums_out_of_range_is_a_value_error(argnums):
    with pytest.raises(ValueError, match=r"grad: argnums -?\d+ is out of range for 2"):
        grad(lambda x, y: x * y, argnums=argnums)(1.0, 2.0)


TRANSFORMS = {"grad": grad, "value_and_grad": value_and_grad, "jacobian": jacobian, "jacfwd": jacfwd,
              "hessian": hessian}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize("argnums", ["a", 1.0, None, True, False, (0, True), (0, 1.0), [None], {0: 1}])
def test_argnums_that_is_not_an_int_or_tuple_of_ints_is_a_type_error(name, argnums):
    # As JAX: a bool is not an argument index (True would silently mean argument 1).
    with pytest.raises(TypeError, match=rf"{name}: argnums must be an int or a tuple of ints"):
        TRANSFORMS[name](lambda x, y: x * y, argnums=argnums)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize("make", [lambda np: np.array([]), lambda np: np.array([0, 1]),
                                  lambda np: (np.array([0]),), lambda np: np.float64(0.0)])
def test_numpy_arrays_and_floats_as_argnums_are_a_type_error_naming_the_transform(name, make):
    # An array's __index__ raises NumPy's own TypeError, which names nothing of ours.
    argnums = make(pytest.importorskip("numpy"))
    with pytest.raises(TypeError, match=rf"{name}: argnums must be an int or a tuple of ints"):
        TRANSFORMS[name](lambda x, y: x * y, argnums=argnums)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_empty_argnums_is_a_value_error(name):
    with pytest.raises(ValueError, match=f"{name}: argnums is empty"):
        TRANSFORMS[name](lambda x: x, argnums=())


@pytest.mark.parametrize("name", sorted(TRANSFORMS) + ["jvp", "vjp"])
def test_a_non_callable_is_a_type_error_naming_the_transform(name):
    with pytest.raises(TypeError, match=f"{name}: expected a function"):
        if name == "jvp":
            jvp(3.0, (1.0,), (1.0,))
        elif name == "vjp":
            vjp(3.0, 1.0)
        else:
            TRANSFORMS[name](3.0)


def test_numpy_integers_are_argnums_too():
    np = pytest.importorskip("numpy")
    assert grad(lambda x, y: x * y, argnums=np.int64(1))(3.0, 2.0) == 3.0


def test_repeated_argnums_give_the_same_derivative_twice():
    assert grad(lambda x, y: x * x * y, argnums=(0, 0, 1))(3.0, 2.0) == (12.0, 12.0, 9.0)


def test_keyword_arguments_are_passed_through_not_differentiated():
    def f(x, y, scale=1.0, *, shift):
        return scale * x * y + shift

    assert grad(f)(2.0, 3.0, scale=2.0, shift=5.0) == 6.0
    assert value_and_grad(f, argnums=1)(2.0, 3.0, shift=1.0) == (7.0, 2.0)
    assert jacobian(f, argnums=(0, 1))(2.0, 3.0, shift=0.0) == [3.0, 2.0]
    w = Value(4.0)
    d = grad(f)(2.0, 3.0, scale=w, shift=0.0)  # a Value keyword argument: the result keeps the graph
    assert isinstance(d, Value) and d.data == 12.0


def test_grad_of_a_constant_function_is_zero_and_warns():
    with pytest.warns(UserWarning, match=r"grad: .* returned a plain number \(float\), not a Value.*0 \(x\)"):
        assert grad(lambda x: 5.0)(1.0) == 0.0
    with pytest.warns(UserWarning, match=r"does not depend on argument 0 \(x\)"):
        d = grad(lambda x, y: y * 2, argnums=0)(1.0, Value(3.0))
    assert isinstance(d, Value) and d.data == 0.0  # a Value argument: derivatives come back as Values


# -- has_aux --


def test_grad_and_value_and_grad_with_aux():
    def f(x, y):
        loss = x * x * y
        return loss, {"loss": loss, "hidden": [x * 2, "text"], "n": 3}

    g, aux = grad(f, has_aux=True)(3.0, 2.0)
    assert g == 12.0
    assert aux == {"loss": 18.0, "hidden": [6.0, "text"], "n": 3}  # its Values as floats
    assert type(aux["loss"]) is float
    (value, aux2), grads = value_and_grad(f, argnums=(0, 1), has_aux=True)(3.0, 2.0)
    assert (value, aux2, grads) == (18.0, aux, (12.0, 9.0))


def test_has_aux_keeps_values_when_nested():
    x = Value(3.0)
    g, aux = grad(lambda t: (t**3, t * 2), has_aux=True)(x)
    assert isinstance(g, Value) and isinstance(aux, Value) and aux.data == 6.0


@pytest.mark.parametrize("bad", [5.0, Value(1.0), (Value(1.0),), (1, 2, 3)])
def test_has_aux_needs_a_pair(bad):
    with pytest.raises(TypeError, match=r"grad: with has_aux=True the function must return a pair"):
        grad(lambda x: bad, has_aux=True)(1.0)


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


# -- hessian: JAX's argnums (an int gives a number, a tuple the matrix) --


def test_hessian_of_two_variables():
    # f = x^2 y + y^3:  H = [[2y, 2x], [2x, 6y]]
    f = lambda x, y: x * x * y + y**3  # noqa: E731
    h = hessian(f, argnums=(0, 1))(1.0, 2.0)
    assert h == [[4.0, 2.0], [2.0, 12.0]]
    assert all(type(row) is list for row in h)
    assert hessian(f)(1.0, 2.0) == 4.0  # argnums=0: d²f/dx², a number
    assert hessian(f, argnums=1)(1.0, 2.0) == 12.0
    assert hessian(f, argnums=(1,))(1.0, 2.0) == [[12.0]]


def test_hessian_of_three_variables():
    # f = xyz + x^2 z + sin(y):  H = [[2z, z, y + 2x], [z, -sin y, x], [y + 2x, x, 0]]
    x, y, z = 0.5, -1.0, 2.0
    h = hessian(lambda x, y, z: x * y * z + x * x * z + y.sin(), argnums=(0, 1, 2))(x, y, z)
    expected = [[2 * z, z, y + 2 * x], [z, -math.sin(y), x], [y + 2 * x, x, 0.0]]
    assert len(h) == 3 and all(len(row) == 3 for row in h)
    for row, want in zip(h, expected, strict=True):
        assert row == pytest.approx(want, rel=1e-14, abs=1e-15)
        assert all(type(entry) is float for entry in row)


def test_hessian_of_one_variable_is_a_number():
    result = hessian(lambda x: x**4)(2.0)
    assert type(result) is float and result == 48.0


def test_hessian_over_some_arguments_is_the_sub_matrix():
    f = lambda x, y, z: x * x * y + y**3 * z  # noqa: E731
    full = hessian(f, argnums=(0, 1, 2))(1.0, 2.0, 3.0)
    assert hessian(f, argnums=(2, 0))(1.0, 2.0, 3.0) == [[full[2][2], full[2][0]], [full[0][2], full[0][0]]]


def test_hessian_of_a_linear_function_is_zero_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hessian(lambda x, y: 3 * x - y, argnums=(0, 1))(1.0, 2.0) == [[0.0, 0.0], [0.0, 0.0]]
        assert hessian(lambda x: x + 1)(1.0) == 0.0


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


@pytest.mark.filterwarnings("ignore:.*does not depend on argument:UserWarning")  # random f may skip an input
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
    with pytest.warns(UserWarning, match="jvp: .* returned a plain number"):
        assert jvp(lambda x: 2.0, (1.0,), (1.0,)) == (2.0, 0.0)


@pytest.mark.parametrize(
    ("primals", "tangents", "what"),
    [(1.0, 1.0, "primals"), ((1.0,), 1.0, "tangents"), (Value(1.0), (1.0,), "primals"),
     ("ab", "ab", "primals")],
)
def test_jvp_needs_tuples_or_lists(primals, tangents, what):
    with pytest.raises(TypeError, match=f"jvp: {what} must be a tuple or list"):
        jvp(lambda x: x, primals, tangents)


def test_jvp_of_a_bad_tangent_names_it():
    with pytest.raises(TypeError, match="jvp: tangent 1"):
        jvp(lambda x, y: x * y, (1.0, 2.0), (1.0, "a"))


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


# -- vjp --


def test_vjp_of_a_scalar_function():
    value, vjp_fn = vjp(lambda x, y: x * x * y, 3.0, 2.0)
    assert value == 18.0 and type(value) is float
    assert vjp_fn(1.0) == (12.0, 9.0)
    assert vjp_fn(-0.5) == (-6.0, -4.5)  # reusable, linear in the cotangent
    assert all(type(g) is float for g in vjp_fn(2.0))


def test_vjp_of_a_function_with_several_outputs():
    value, vjp_fn = vjp(lambda x, y: [x * y, x + y, autograd.sin(x)], 1.0, 2.0)
    assert value == [2.0, 3.0, math.sin(1.0)]
    # cotangent · J, with J = [[y, x], [1, 1], [cos x, 0]]
    assert vjp_fn([1.0, 0.0, 0.0]) == (2.0, 1.0)
    assert vjp_fn([0.5, 2.0, -1.0]) == pytest.approx((0.5 * 2 + 2 - math.cos(1.0), 0.5 * 1 + 2), rel=1e-15)
    with pytest.raises(TypeError, match="vjp_fn: expected a sequence of 3 cotangents"):
        vjp_fn(1.0)
    with pytest.raises(TypeError, match="vjp_fn: cotangent 1"):
        vjp_fn([1.0, "x", 0.0])


def test_vjp_with_aux_and_nested():
    value, vjp_fn, aux = vjp(lambda x: (x**3, x * 2), 2.0, has_aux=True)
    assert (value, aux, vjp_fn(1.0)) == (8.0, 4.0, (12.0,))
    # d/dx of the vjp: the second derivative 6x
    assert grad(lambda x: vjp(lambda t: t**3, x)[1](1.0)[0])(2.0) == 12.0


def test_vjp_with_a_value_cotangent_differentiates_through_it():
    _, vjp_fn = vjp(lambda x: x * x, 3.0)
    c = Value(2.0)
    (g,) = vjp_fn(c)
    assert isinstance(g, Value) and g.data == 12.0
    assert autograd.gradients(g, [c]) == (6.0,)


# -- jacobian and jacfwd --


def _vector_function(x, y, z):
    return [x * y * z, autograd.sin(x) + y**2, autograd.exp(z) / (1 + x * x), 2.0]


@pytest.mark.parametrize("transform", [jacobian, jacfwd], ids=["jacobian", "jacfwd"])
def test_jacobian_rows_are_outputs(transform):
    x, y, z = 0.5, -1.0, 2.0
    jac = transform(_vector_function, argnums=(0, 1, 2))(x, y, z)
    expected = [
        [y * z, x * z, x * y],
        [math.cos(x), 2 * y, 0.0],
        [-math.exp(z) * 2 * x / (1 + x * x) ** 2, 0.0, math.exp(z) / (1 + x * x)],
        [0.0, 0.0, 0.0],
    ]
    assert len(jac) == 4
    for row, want in zip(jac, expected, strict=True):
        assert type(row) is list and all(type(d) is float for d in row)
        assert row == pytest.approx(want, rel=1e-14, abs=1e-15)
    column = transform(_vector_function, argnums=1)(x, y, z)  # an int: one number per output
    assert column == pytest.approx([row[1] for row in expected], rel=1e-14, abs=1e-15)
    assert transform(lambda x, y: x * y, argnums=(0, 1))(2.0, 3.0) == [3.0, 2.0]  # one output: a row


@pytest.mark.filterwarnings("ignore:.*does not depend on argument:UserWarning")
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), primals=st.tuples(point, point, point))
def test_jacobian_and_jacfwd_agree(seed, primals):
    fs = [_random_function(seed + k) for k in range(3)]

    def f(a, b, c):
        return [g(a, b, c) for g in fs]

    reverse = jacobian(f, argnums=(0, 1, 2))(*primals)
    forward = jacfwd(f, argnums=(0, 1, 2))(*primals)
    for r_row, f_row in zip(reverse, forward, strict=True):
        assert f_row == pytest.approx(r_row, rel=1e-12, abs=1e-12)


def test_jacobian_and_hessian_match_torch():
    torch = pytest.importorskip("torch")

    def ours(x, y, z):
        return [x * autograd.tanh(y) + z**3, autograd.exp(x * z) - y, autograd.sin(x + y * z)]

    def theirs(x, y, z):
        return (x * torch.tanh(y) + z**3, torch.exp(x * z) - y, torch.sin(x + y * z))

    point = (0.3, -0.7, 1.1)
    inputs = tuple(torch.tensor(v, dtype=torch.float64) for v in point)
    expected = torch.autograd.functional.jacobian(theirs, inputs)
    for transform in (jacobian, jacfwd):
        jac = transform(ours, argnums=(0, 1, 2))(*point)
        for i in range(3):
            for j in range(3):
                assert jac[i][j] == pytest.approx(float(expected[i][j]), rel=1e-13, abs=1e-14)

    def scalar_ours(x, y, z):
        return x * x * autograd.sin(y) + autograd.exp(y * z) + x * z**3

    def scalar_theirs(x, y, z):
        return x * x * torch.sin(y) + torch.exp(y * z) + x * z**3

    h = hessian(scalar_ours, argnums=(0, 1, 2))(*point)
    expected_h = torch.autograd.functional.hessian(scalar_theirs, inputs)
    for i in range(3):
        for j in range(3):
            assert h[i][j] == pytest.approx(float(expected_h[i][j]), rel=1e-13, abs=1e-14)
    assert hessian(scalar_ours, argnums=1)(*point) == pytest.approx(float(expected_h[1][1]), rel=1e-13)


def test_jacobian_with_aux_and_nested():
    jac, aux = jacobian(lambda x, y: ([x * y, x + y], "note"), argnums=(0, 1), has_aux=True)(2.0, 3.0)
    assert (jac, aux) == ([[3.0, 2.0], [1.0, 1.0]], "note")
    # the Jacobian of the gradient is the Hessian
    g = grad(lambda x, y: x * x * y, argnums=(0, 1))
    assert jacobian(g, argnums=(0, 1))(1.0, 2.0) == hessian(lambda x, y: x * x * y, argnums=(0, 1))(1.0, 2.0)


def test_jacobian_of_a_non_number_output_is_a_type_error():
    with pytest.raises(TypeError, match="jacobian: output 1 of the function"):
        jacobian(lambda x: [x, "y"])(1.0)


# -- gradients(), torch.autograd.grad's keywords --


def test_gradients_takes_a_value_or_a_sequence_for_outputs_and_inputs():
    x, y = Value(2.0), Value(3.0)
    out = x * y
    assert autograd.gradients(out, x) == (3.0,)  # a single input: still a tuple, as torch
    assert autograd.gradients(out, [x, y]) == (3.0, 2.0)
    assert autograd.gradients([out], (y,)) == (2.0,)
    assert autograd.gradients([out, x * x], [x, y]) == (3.0 + 4.0, 2.0)  # outputs are summed


def test_gradients_weights_outputs_by_grad_outputs_like_torch():
    torch = pytest.importorskip("torch")
    x, y = Value(0.4), Value(-1.2)
    outs = [x * y, autograd.tanh(x) + y**2, autograd.exp(y)]
    weights = [0.5, -2.0, 3.0]
    ours = autograd.gradients(outs, [x, y], grad_outputs=weights)
    tx, ty = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.4, -1.2))
    touts = [tx * ty, torch.tanh(tx) + ty**2, torch.exp(ty)]
    theirs = torch.autograd.grad(touts, [tx, ty], grad_outputs=[torch.tensor(w, dtype=torch.float64)
                                                                for w in weights])
    assert ours == pytest.approx([float(t) for t in theirs], rel=1e-14)
    assert autograd.gradients(outs[0], x, grad_outputs=4.0) == (4.0 * y.data,)


def test_gradients_names_grad_outputs_that_cannot_be_iterated():
    np = pytest.importorskip("numpy")  # a 0-d array has __iter__, and iterating it raises
    x = Value(1.0)
    with pytest.raises(TypeError, match="gradients: grad_outputs must be a sequence of 2"):
        autograd.gradients([x * x, x], x, grad_outputs=np.array(0.5))


def test_gradients_with_create_graph_and_value_grad_outputs():
    x, v = Value(3.0), Value(2.0)
    (g,) = autograd.gradients(x * x, [x], grad_outputs=v, create_graph=True)
    assert g.data == 12.0
    assert autograd.gradients(g, [x, v]) == (4.0, 6.0)  # g = 2xv
    (g2,) = autograd.gradients(x * x, [x], grad_outputs=v)  # no create_graph: a number
    assert type(g2) is float and g2 == 12.0


def test_gradients_allow_unused():
    x, y = Value(2.0), Value(3.0)
    assert autograd.gradients(x * 2, [x, y]) == (2.0, 0.0)
    with pytest.raises(ValueError, match=r"gradients: the outputs do not depend on inputs\[1\]"):
        autograd.gradients(x * 2, [x, y], allow_unused=False)
    assert autograd.gradients(x * 2, [x], allow_unused=False) == (2.0,)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda x: autograd.gradients(x, [1.0]), TypeError, r"gradients: inputs\[0\] is a float"),
        (lambda x: autograd.gradients(x, 1.0), TypeError, "gradients: inputs must be a Value or a sequence"),
        (lambda x: autograd.gradients("x", [x]), TypeError, "gradients: outputs"),
        (lambda x: autograd.gradients([x, "y"], [x]), TypeError, r"gradients: outputs\[1\]"),
        (lambda x: autograd.gradients([x, x], [x], grad_outputs=[1.0]), ValueError, "1 grad_outputs for 2"),
        (lambda x: autograd.gradients([x, x], [x], grad_outputs=1.0), TypeError, "grad_outputs must be"),
        (lambda x: autograd.gradients(x, [x], grad_outputs="a"), TypeError, "gradients: grad_outputs"),
    ],
)
def test_gradients_argument_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(Value(1.0))


# -- cut graphs are reported --


def _line_after() -> int:
    return inspect.currentframe().f_back.f_lineno + 1


def test_math_sin_inside_grad_warns_naming_the_input_and_the_cause():
    with pytest.warns(UserWarning) as record:
        line = _line_after()
        result = grad(lambda x: math.sin(x))(1.0)
    assert result == 0.0
    messages = [str(w.message) for w in record]
    assert any("returned a plain number (float), not a Value" in m and "0 (x)" in m for m in messages)
    assert all("was the graph cut by float(), math.* or a NumPy function" in m for m in messages)
    assert all("autograd.sin" in m for m in messages)
    assert {(w.filename, w.lineno) for w in record} == {(__file__, line)}


def test_float_of_a_traced_value_warns_naming_the_line():
    def f(x):
        return float(x) * x  # the true derivative is 2x; the float factor is a constant

    line = inspect.getsourcelines(f)[1] + 1
    expected = rf"converting a Value that depends on argument 0 \(x\).*{line}"
    with pytest.warns(UserWarning, match=expected) as rec:
        assert grad(f)(3.0) == 3.0
    assert [(w.filename, w.lineno) for w in rec] == [(__file__, line)]


@pytest.mark.parametrize(
    "convert",
    [float, int, math.exp, lambda v: math.fsum([v]), "numpy"],
    ids=["float", "int", "math.exp", "math.fsum", "numpy"],
)
def test_every_conversion_to_a_number_warns_inside_a_transform(convert):
    if convert == "numpy":
        np = pytest.importorskip("numpy")
        convert = np.float64
    with pytest.warns(UserWarning, match="converting a Value that depends on argument 0"):
        grad(lambda x: x * convert(x * 1.0))(0.5)


def _transform_calls():
    return {
        "grad": lambda f: grad(f)(1.0),
        "value_and_grad": lambda f: value_and_grad(f)(1.0),
        "hessian": lambda f: hessian(f)(1.0),
        "jvp": lambda f: jvp(f, (1.0,), (1.0,)),
        "jacobian": lambda f: jacobian(lambda x: [f(x)])(1.0),
        "jacfwd": lambda f: jacfwd(lambda x: [f(x)])(1.0),
        "vjp": lambda f: vjp(f, 1.0),
    }


@pytest.mark.parametrize("name", sorted(_transform_calls()))
def test_each_transform_warns_for_a_cut_graph(name):
    with pytest.warns(UserWarning, match=rf"{name}: .*(does not depend on|returned a plain number).*ment 0"):
        _transform_calls()[name](lambda x: Value(x.data) * 2)  # rebuilt from .data: cut, no conversion


def test_gradients_warns_for_a_plain_number_output():
    x = Value(1.0)
    with pytest.warns(UserWarning, match=r"gradients: the output is a plain number \(float\), not a Value"):
        assert autograd.gradients(math.sin(x), [x]) == (0.0,)


def test_the_warning_comes_once_per_call_site():
    f = grad(lambda x: math.sin(x))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("default")  # the default action: once per location
        for _ in range(3):
            f(1.0)
        first = [(w.lineno, str(w.message)) for w in record]
        f(2.0)
        f(3.0)
    assert len({m for _, m in first}) == len(first) == 2  # the conversion and the float result, once each
    # Two more call sites: the float result is reported at each; the conversion happens at the
    # lambda's line, already reported.
    assert len(record) == 4
    assert len({w.lineno for w in record}) == 4
    assert sum("converting a Value" in str(w.message) for w in record) == 1


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x**3 - 2 * x,
        lambda x: autograd.sin(x) * autograd.exp(x),
        lambda x: autograd.sum([x, x * x, 1.0]),
        lambda x: x * 0.0,  # depends on x, with derivative 0: no cut
        lambda x: autograd.relu(-x - 5.0),  # a flat region is not a cut
    ],
)
def test_functions_built_from_values_do_not_warn(f):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for call in _transform_calls().values():
            call(f)
        # Higher derivatives of a polynomial reach 0 legitimately: calculus, not a cut graph.
        assert grad(grad(grad(grad(lambda x: x**3))))(1.3) == 0.0
        assert grad(grad(lambda x: 3 * x))(1.0) == 0.0
        assert grad(grad(lambda x: x))(1.0) == 0.0
        assert grad(lambda x: jvp(lambda t: t * 2, (x,), (1.0,))[1])(1.0) == 0.0
        assert jacobian(lambda x, y: [x * 2, y * 3], argnums=(0, 1))(1.0, 2.0) == [[2.0, 0.0], [0.0, 3.0]]


def test_no_warning_outside_transforms_or_for_values_not_differentiated():
    w = Value(2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = w * w
        assert float(loss) == 4.0 and math.sqrt(loss) == 2.0  # printing a loss is normal
        # converting a Value that does not depend on the differentiated x
        assert grad(lambda x: x * float(w * 3))(1.0) == 6.0


def test_nested_transforms_warn_for_the_outer_input_too():
    def f(x):
        return grad(lambda y: y * math.exp(x))(1.0)  # math.exp cuts x, the outer variable

    with pytest.warns(UserWarning, match=r"grad: converting a Value that depends on argument 0 \(x\) of f"):
        assert grad(f)(0.5) == 0.0


def test_gradients_with_create_graph_gives_values_even_for_constant_derivatives():
    x, y = Value(2.0), Value(3.0)
    first = autograd.gradients(x + 1, [x, y], create_graph=True)  # 1 and 0 (y is not reached)
    assert all(isinstance(g, Value) for g in first) and [g.data for g in first] == [1.0, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # differentiating them again is calculus, not a cut graph
        assert [autograd.gradients(g, [x, y]) for g in first] == [(0.0, 0.0), (0.0, 0.0)]
