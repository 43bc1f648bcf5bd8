"""Tests of user-declared primitives: float and Value paths, backward, higher order, jvp, errors."""

import math

import pytest

import autograd
from autograd import Primitive, Value, grad, jvp

cube = autograd.primitive("cube", forward=lambda x: x**3, partials=lambda x, out: (3 * x**2,))

# x * y with the gradient of y left out on purpose (None): y acts as a constant.
scale_by = autograd.primitive("scale_by", forward=lambda x, y: x * y, partials=lambda x, y, out: (y, None))


def test_float_path_returns_a_float():
    assert cube(2.0) == 8.0
    assert type(cube(2.0)) is float
    assert cube(3) == 27.0


def test_value_path_records_a_node():
    x = Value(2.0)
    y = cube(x)
    assert isinstance(y, Value)
    assert (y.data, y.op, y.parents) == (8.0, "cube", (x,))


def test_backward_through_a_custom_primitive():
    x = Value(-1.5)
    (cube(x) * 2).backward()
    assert x.grad == pytest.approx(2 * 3 * 1.5**2, rel=1e-15)


def test_higher_order_by_nesting_grad():
    x = 1.3
    assert grad(cube)(x) == pytest.approx(3 * x**2, rel=1e-15)
    assert grad(grad(cube))(x) == pytest.approx(6 * x, rel=1e-15)
    assert grad(grad(grad(cube)))(x) == 6.0
    assert grad(grad(grad(grad(cube))))(x) == 0.0


def test_custom_primitive_composes_with_builtins():
    # d/dx sin(x^3) = 3x^2 cos(x^3);  d2 = 6x cos(x^3) - 9x^4 sin(x^3)
    x = 0.9
    f = lambda t: autograd.sin(cube(t))  # noqa: E731
    assert grad(f)(x) == pytest.approx(3 * x**2 * math.cos(x**3), rel=1e-14)
    assert grad(grad(f))(x) == pytest.approx(6 * x * math.cos(x**3) - 9 * x**4 * math.sin(x**3), rel=1e-13)


def test_jvp_through_a_custom_primitive():
    value, directional = jvp(cube, (2.0,), (0.5,))
    assert (value, directional) == (8.0, 6.0)


def test_none_partial_gives_no_gradient():
    x, y = Value(2.0), Value(3.0)
    scale_by(x, y).backward()
    assert (x.grad, y.grad) == (3.0, 0.0)
    assert grad(scale_by, argnums=(0, 1))(2.0, 3.0) == (3.0, 0.0)
    assert jvp(scale_by, (2.0, 3.0), (1.0, 1.0)) == (6.0, 3.0)


def test_number_operand_becomes_a_constant():
    x = Value(2.0)
    y = scale_by(4.0, x)
    assert y.parents[1] is x
    assert y.parents[0].is_leaf and y.parents[0].data == 4.0


def test_arity_is_inferred_from_forward():
    assert cube.primitive.arity == 1
    assert scale_by.primitive.arity == 2

    def fused(a, b, c):
        return a * b + c

    fma = autograd.primitive("fma", forward=fused, partials=lambda a, b, c, out: (b, a, 1.0))
    assert fma.primitive.arity == 3
    a, b, c = Value(2.0), Value(3.0), Value(4.0)
    out = fma(a, b, c)
    assert out.data == 10.0
    out.backward()
    assert (a.grad, b.grad, c.grad) == (3.0, 2.0, 1.0)


def test_variadic_forward_needs_an_explicit_arity():
    with pytest.raises(TypeError, match="arity"):
        autograd.primitive("total", forward=lambda *xs: sum(xs), partials=lambda *xs: (1.0,) * (len(xs) - 1))
    total = autograd.primitive(
        "total", forward=lambda *xs: sum(xs), partials=lambda *xs: (1.0,) * (len(xs) - 1), arity=3
    )
    assert total(1.0, 2.0, 3.0) == 6.0
    with pytest.raises(TypeError, match="total takes 3 inputs, got 2"):
        total(1.0, 2.0)


def test_wrong_number_of_partials_is_an_error_naming_the_primitive():
    short = autograd.primitive("short", forward=lambda x, y: x * y, partials=lambda x, y, out: (y,))
    with pytest.raises(ValueError, match="short"):
        short(Value(2.0), Value(3.0)).backward()
    long = autograd.primitive("long", forward=lambda x: x, partials=lambda x, out: (1.0, 1.0))
    with pytest.raises(ValueError, match="long"):
        long(Value(2.0)).backward()
    with pytest.raises(ValueError, match="long"):
        grad(long)(2.0)


def test_forward_returning_a_non_number_is_a_type_error():
    bad = autograd.primitive("bad_forward", forward=lambda x: "x", partials=lambda x, out: (1.0,))
    with pytest.raises(TypeError, match="bad_forward"):
        bad(1.0)
    with pytest.raises(TypeError, match="bad_forward"):
        bad(Value(1.0))


def test_primitive_object_attributes():
    prim = cube.primitive
    assert isinstance(prim, Primitive)
    assert prim.name == "cube" and prim.display == "cube"
    assert prim.params == {}
    assert prim.forward(2.0) == 8.0
    assert tuple(prim.partials(2.0, 8.0)) == (12.0,)
    assert prim.domain is None and prim.kinks is None
    assert "cube" in repr(prim)


def test_domain_and_kinks_are_kept():
    safe_log = autograd.primitive(
        "safe_log",
        forward=math.log,
        partials=lambda x, out: (1 / x,),
        arity=1,
        domain=[(0.1, 10.0)],
        kinks=lambda x: (x,),
    )
    assert list(safe_log.primitive.domain) == [(0.1, 10.0)]
    assert tuple(safe_log.primitive.kinks(2.0)) == (2.0,)
    assert grad(safe_log)(4.0) == 0.25


def test_create_graph_through_a_custom_primitive():
    x = Value(2.0)
    (d1,) = autograd.gradients(cube(x), [x], create_graph=True)
    assert isinstance(d1, Value) and d1.data == 12.0
    (d2,) = autograd.gradients(d1, [x])
    assert d2 == 12.0  # 6x


_ident, _one = (lambda x: x), (lambda x, out: (1.0,))
BAD_DECLARATIONS = [
    (lambda: autograd.primitive(5, _ident, _one), TypeError, "primitive: name"),
    (lambda: autograd.primitive("", _ident, _one), TypeError, "primitive: name"),
    (lambda: autograd.primitive("f", 5, _one), TypeError, "'f': forward must be callable"),
    (lambda: autograd.primitive("f", _ident, None), TypeError, "'f': partials must be callable"),
    (lambda: autograd.primitive("f", _ident, _one, arity=-1), TypeError, "'f': arity"),
    (lambda: autograd.primitive("f", _ident, _one, arity=True), TypeError, "'f': arity"),
    (lambda: autograd.primitive("f", _ident, _one, kinks=3), TypeError, "'f': kinks"),
    (lambda: autograd.primitive("f", _ident, _one, doc=None), TypeError, "'f': doc"),
]


@pytest.mark.parametrize(("declare", "error", "message"), BAD_DECLARATIONS)
def test_a_malformed_declaration_is_an_error_naming_primitive_and_the_argument(declare, error, message):
    with pytest.raises(error, match=message):
        declare()


def test_partials_that_are_not_a_sequence_are_a_type_error_naming_the_primitive():
    scalar_rule = autograd.primitive("scalar_rule", forward=lambda x: x, partials=lambda x, out: 1.0)
    with pytest.raises(TypeError, match="scalar_rule.*sequence of 1 derivatives, got float"):
        scalar_rule(Value(1.0)).backward()
