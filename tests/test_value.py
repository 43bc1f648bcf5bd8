"""Tests of `Value`: construction, attributes, operators, comparisons, identity, repr and detach."""

import math
from fractions import Fraction

import pytest

import autograd
from autograd import Value


class Celsius:
    """Not a number type, but convertible with float(): Value must accept it."""

    def __init__(self, degrees: float) -> None:
        self.degrees = degrees

    def __float__(self) -> float:
        return self.degrees


# -- construction and conversion --


@pytest.mark.parametrize(
    ("given", "expected"),
    [(3, 3.0), (-2.5, -2.5), (True, 1.0), (Fraction(1, 4), 0.25), (Celsius(21.5), 21.5)],
)
def test_data_is_converted_to_float(given, expected):
    v = Value(given)
    assert type(v.data) is float
    assert v.data == expected


def test_numpy_scalars_are_converted_to_float():
    np = pytest.importorskip("numpy")
    for scalar in (np.float32(0.5), np.float64(-1.25), np.int64(7), np.int8(-3)):
        v = Value(scalar)
        assert type(v.data) is float
        assert v.data == float(scalar)


@pytest.mark.parametrize(
    ("bad", "type_name"),
    [
        ("1.0", "str"),
        (b"1", "bytes"),
        (None, "NoneType"),
        (1 + 2j, "complex"),
        ([1.0], "list"),
        ({"x": 1}, "dict"),
    ],
)
def test_non_numbers_raise_type_error_naming_the_type(bad, type_name):
    with pytest.raises(TypeError, match=type_name):
        Value(bad)


def test_fresh_value_attributes():
    v = Value(2.0, label="w")
    assert v.grad == 0.0 and type(v.grad) is float
    assert v.label == "w"
    assert v.op == ""
    assert v.parents == ()
    assert v.is_leaf
    assert Value(1.0).label == ""


def test_a_node_records_its_op_and_parents_in_argument_order():
    a, b = Value(2.0), Value(3.0)
    for node, op in [(a + b, "add"), (a - b, "sub"), (a * b, "mul"), (a / b, "div"), (a**b, "pow")]:
        assert node.op == op
        assert node.parents == (a, b)
        assert not node.is_leaf
    assert (b - a).parents == (b, a)


def test_x_times_x_lists_x_twice():
    x = Value(4.0)
    assert (x * x).parents == (x, x)


# -- operators with a number on either side --


@pytest.mark.parametrize(
    ("expr", "value", "derivative"),
    [
        # value and d/dx at x = 2, worked out by hand
        (lambda x: x + 3, 5.0, 1.0),
        (lambda x: 3 + x, 5.0, 1.0),
        (lambda x: x - 3, -1.0, 1.0),
        (lambda x: 3 - x, 1.0, -1.0),
        (lambda x: x * 3, 6.0, 3.0),
        (lambda x: 3 * x, 6.0, 3.0),
        (lambda x: x / 4, 0.5, 0.25),
        (lambda x: 4 / x, 2.0, -1.0),  # d(4/x) = -4/x^2
        (lambda x: x**3, 8.0, 12.0),  # 3x^2
        (lambda x: 3**x, 9.0, 9.0 * math.log(3.0)),  # 3^x ln 3
        (lambda x: x**0.5, math.sqrt(2.0), 0.5 / math.sqrt(2.0)),
        (lambda x: -x, -2.0, -1.0),
        (lambda x: +x, 2.0, 1.0),
        (lambda x: abs(-x), 2.0, 1.0),
        (lambda x: abs(x - 5), 3.0, -1.0),
    ],
)
def test_operator_value_and_derivative(expr, value, derivative):
    x = Value(2.0)
    y = expr(x)
    assert isinstance(y, Value)
    assert y.data == pytest.approx(value, rel=1e-15)
    y.backward()
    assert x.grad == pytest.approx(derivative, rel=1e-15)


def test_numpy_scalar_on_the_left_defers_to_value():
    np = pytest.importorskip("numpy")
    x = Value(2.0)
    y = np.float64(3.0) * x + np.float32(1.0)
    assert isinstance(y, Value)
    y.backward()
    assert (y.data, x.grad) == (7.0, 3.0)


def test_constant_exponent_makes_one_parent_node():
    x = Value(3.0)
    y = x**2.0
    assert y.op == "pow_const"
    assert y.parents == (x,)
    assert y._prim.params == {"exponent": 2.0}


def test_number_to_a_value_power_is_const_pow():
    x = Value(3.0)
    y = 2**x
    assert y.op == "const_pow"
    assert y.parents == (x,)
    assert y._prim.params == {"base": 2.0}
    y.backward()
    assert y.data == 8.0
    assert x.grad == pytest.approx(8.0 * math.log(2.0), rel=1e-15)


def test_value_to_a_value_power_differentiates_base_and_exponent():
    x, y = Value(1.5), Value(2.5)
    z = x**y
    assert z.op == "pow" and z.parents == (x, y)
    z.backward()
    assert z.data == pytest.approx(1.5**2.5, rel=1e-15)
    assert x.grad == pytest.approx(2.5 * 1.5**1.5, rel=1e-14)  # y x^(y-1)
    assert y.grad == pytest.approx(1.5**2.5 * math.log(1.5), rel=1e-14)  # x^y ln x


def test_non_number_operand_raises_type_error_naming_the_op():
    x = Value(1.0)
    with pytest.raises(TypeError, match="add.*str"):
        x + "1"
    with pytest.raises(TypeError, match="mul.*str"):
        "a" * x
    with pytest.raises(TypeError, match="div.*NoneType"):
        x / None
    with pytest.raises(TypeError, match="list"):
        x ** [2]


# -- math methods agree with the module functions --


@pytest.mark.parametrize(
    "name", ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "leaky_relu", "softplus", "sin", "cos", "abs"]
)
def test_methods_match_module_functions(name):
    x = 0.7
    node = getattr(Value(x), name)()
    assert isinstance(node, Value)
    assert node.data == getattr(autograd, name)(x)


def test_leaky_relu_method_takes_a_slope():
    y = Value(-2.0).leaky_relu(0.2)
    assert y.op == "leaky_relu"
    assert y._prim.params == {"slope": 0.2}
    assert y.data == pytest.approx(-0.4, rel=1e-15)


# -- comparisons and identity --


def test_comparisons_compare_data_and_return_bool():
    a, b = Value(1.0), Value(2.0)
    results = [a < b, a <= b, b > a, b >= a, a < 1.5, a > 0, 0.5 < a, 3 >= b, a <= 1.0, a >= 1.0]
    assert all(type(r) is bool for r in results)
    assert all(results)
    assert not (b < a or b <= a or a > b or a >= b or a > 1.0 or a < 1.0)


def test_comparison_with_a_non_number_raises_type_error():
    with pytest.raises(TypeError, match="str"):
        _ = Value(1.0) < "2"


@pytest.mark.parametrize("data", [0.0, -0.0, 1.0, -2.5, 5e-324, math.inf, -math.inf, math.nan])
def test_bool_of_a_value_is_bool_of_its_data(data):
    # As bool(float) and PyTorch's bool(torch.tensor(data)): only zero is false, NaN is true.
    v = Value(data)
    assert bool(v) is bool(data)
    assert bool(Value(data) * 1.0) is bool(data)  # a node as well as a leaf
    assert ("yes" if v else "no") == ("yes" if data else "no")


def test_bool_of_a_zero_result_is_false_and_leaves_the_graph_alone():
    x = Value(3.0)
    y = x - 3.0
    assert not y and (y or "fallback") == "fallback"
    y.backward()
    assert x.grad == 1.0


def test_bool_agrees_with_torch():
    torch = pytest.importorskip("torch")
    for data in (0.0, -0.0, 2.0, math.nan, -math.inf):
        assert bool(Value(data)) is bool(torch.tensor(data, dtype=torch.float64))


def test_equality_and_hash_are_by_identity():
    a, b = Value(1.0), Value(1.0)
    assert a == a and a != b and not (a == b)
    assert not (a == 1.0)  # no comparison by data
    assert hash(a) == hash(a)
    assert len({a, b, a}) == 2
    grads = {a: "first", b: "second"}
    assert grads[a] == "first" and grads[b] == "second"


# -- repr, float, detach, unary plus --


def test_repr_without_and_with_label():
    v = Value(2.5)
    assert repr(v) == "Value(data=2.5, grad=0.0)"
    assert repr(Value(-1.0, label="w1")) == "Value(data=-1.0, grad=0.0, label='w1')"
    (v * 3).backward()
    assert repr(v) == "Value(data=2.5, grad=3.0)"


def test_float_of_a_value_is_its_data():
    assert float(Value(-3.25)) == -3.25
    assert math.isclose(math.sin(Value(0.5)), math.sin(0.5))  # usable wherever a float is


def test_detach_is_a_new_leaf_with_the_same_data_and_label():
    x = Value(3.0, label="x")
    y = x * 2
    d = y.detach()
    assert d is not y
    assert (d.data, d.label, d.op, d.parents, d.grad) == (6.0, "", "", (), 0.0)
    assert x.detach().label == "x"


def test_gradient_does_not_flow_through_detach():
    x = Value(3.0)
    y = x.detach() * x  # the first factor is a constant: dy/dx = 3, not 6
    y.backward()
    assert x.grad == 3.0


def test_unary_plus_and_minus():
    x = Value(1.5)
    assert (+x).data == 1.5
    n = -x
    assert n.op == "neg" and n.parents == (x,) and n.data == -1.5
    (-n).backward()
    assert x.grad == 1.0


def test_maximum_and_minimum_are_methods_too():
    a, b = Value(2.0), Value(-3.0)
    high, low = a.maximum(b), a.minimum(-1.0)
    assert (high.op, high.parents, high.data) == ("maximum", (a, b), 2.0)
    assert (low.op, low.data) == ("minimum", -1.0)
    (high + low).backward()
    assert (a.grad, b.grad) == (1.0, 0.0)  # a wins the max; the constant -1.0 wins the min


# -- int() and backward's PyTorch keywords --


def test_int_of_a_value_truncates_like_int_of_its_data():
    assert [int(Value(v)) for v in (2.7, -2.7, 0.0, 1e20)] == [2, -2, 0, int(1e20)]
    with pytest.raises(ValueError):
        int(Value(math.nan))
    with pytest.raises(OverflowError):
        int(Value(math.inf))


def test_backward_retain_graph_changes_nothing():
    x = Value(3.0)
    y = x * x
    y.backward(retain_graph=True)
    y.backward(retain_graph=False)
    y.backward(1.0, None, False)  # PyTorch's positional order: gradient, retain_graph, create_graph
    assert x.grad == 18.0


def test_backward_inputs_limits_which_nodes_are_written():
    x, w, b = Value(2.0), Value(-1.5), Value(0.5)
    h = x * w
    y = (h + b).tanh()
    y.backward(inputs=[w, h])
    t = 1 - math.tanh(h.data + b.data) ** 2
    assert w.grad == pytest.approx(t * 2.0, rel=1e-15)
    assert h.grad == pytest.approx(t, rel=1e-15)
    assert (x.grad, b.grad, y.grad) == (0.0, 0.0, 0.0)  # not listed: untouched
    y.backward(inputs=w)  # a single Value; leaves accumulate
    assert w.grad == pytest.approx(2 * t * 2.0, rel=1e-15)


def test_backward_inputs_matches_torch():
    torch = pytest.importorskip("torch")
    x, w = Value(0.3), Value(-0.8)
    (x * w + w.exp()).backward(inputs=[x])
    tx, tw = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.3, -0.8))
    (tx * tw + tw.exp()).backward(inputs=[tx])
    assert x.grad == pytest.approx(float(tx.grad), rel=1e-15)
    assert tw.grad is None and w.grad == 0.0


def test_backward_inputs_with_create_graph():
    x, y = Value(2.0), Value(5.0)
    (x**3 * y).backward(create_graph=True, inputs=[x])
    assert isinstance(x.grad, Value) and x.grad.data == 60.0  # 3x² y
    assert y.grad == 0.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"inputs": [1.0]}, TypeError, r"backward: inputs\[0\] is a float"),
        ({"inputs": 1.0}, TypeError, "backward: inputs must be a Value or a sequence"),
        ({"inputs": []}, ValueError, "inputs is empty"),
        ({"retain_graph": "yes"}, TypeError, "retain_graph must be a bool"),
        ({"create_graph": 1}, TypeError, "create_graph must be a bool"),
    ],
)
def test_backward_argument_errors(kwargs, error, match):
    x = Value(1.0)
    with pytest.raises(error, match=match):
        (x * 2).backward(**kwargs)
    assert x.grad == 0.0
