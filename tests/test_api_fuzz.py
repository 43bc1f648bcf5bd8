"""A fuzz test of the public API: every function of `autograd.__all__`, every Value method and
operator, fed strings, None, bools, complex numbers, Decimals, Fractions, NumPy scalars and arrays,
nan, inf, -0.0, 10**400 and objects whose __float__ is broken.

Each call either succeeds with the number the same call gives on the arguments converted by
float() (no silent wrong number), or fails with a TypeError, ValueError or ArithmeticError
(OverflowError included) whose message names the function: never an AttributeError, an
IndexError or an error that names nothing.
"""

from __future__ import annotations

import math
import operator
import warnings
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import Value

ALLOWED = (TypeError, ValueError, ArithmeticError)


class BrokenFloat:
    """An object whose __float__ fails (or returns something that is not a float)."""

    def __init__(self, how: str) -> None:
        self.how = how

    def __float__(self):
        if self.how == "raise":
            raise RuntimeError("broken __float__")
        if self.how == "attribute":
            raise AttributeError("broken __float__")
        if self.how == "str":
            return "1.0"
        return math.nan  # "nan": a working __float__ that gives NaN

    def __repr__(self) -> str:
        return f"BrokenFloat({self.how!r})"


class HasData:
    """Not a Value, but with a float `.data` and `.grad` (as a micrograd Value)."""

    data = 2.0
    grad = 0.0


SPECIAL = [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308, 5e-324, 10**400, -(10**400), 2**64]
numbers = st.one_of(
    st.floats(-1e3, 1e3),
    st.sampled_from(SPECIAL),
    st.integers(-5, 5),
    st.booleans(),
    st.decimals(allow_nan=True, allow_infinity=True, places=2),
    st.fractions(max_denominator=7),
)
numpy_values = st.one_of(
    st.floats(-10, 10).map(np.float64),
    st.floats(-10, 10, width=32).map(np.float32),
    st.integers(-5, 5).map(np.int64),
    st.booleans().map(np.bool_),
    st.complex_numbers(max_magnitude=5, allow_nan=False).map(np.complex128),
    st.lists(st.floats(-10, 10), max_size=3).map(np.array),
    st.floats(-10, 10).map(np.array),  # 0-d
)
odd = st.one_of(
    st.text(max_size=3),
    st.binary(max_size=2),
    st.none(),
    st.complex_numbers(max_magnitude=5, allow_nan=False),
    st.sampled_from(["raise", "attribute", "str", "nan"]).map(BrokenFloat),
    st.just(HasData()),
    st.just(object()),
    st.just(Decimal("sNaN")),
)
values = st.one_of(st.floats(-3, 3), st.sampled_from(SPECIAL[:5])).map(Value)
scalars = st.one_of(numbers, numpy_values, odd, values)
weird = st.one_of(scalars, st.lists(scalars, max_size=3), st.tuples(scalars, scalars))


def _as_float(x):
    """float(x) as Python converts it, or None where x is not a real number (the call must fail)."""
    if isinstance(x, (str, bytes, complex, np.complexfloating)) or x is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(x)
        except Exception:
            return None


def _run(call):
    """(result, None) or (None, error); warnings (NumPy's, chaingrad's cut-graph ones) are ignored."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call(), None
        except Exception as err:  # noqa: BLE001 (the assertions below classify it)
            return None, err


def _assert_named_failure(err, names, call_text):
    assert isinstance(err, ALLOWED), f"{call_text} raised {type(err).__name__}: {err}"
    message = str(err)
    assert any(n in message for n in names), f"{call_text}: {type(err).__name__} names none of {names}: {err}"


def _data(x):
    return x.data if isinstance(x, Value) else x


def _check_against_floats(fn, args, names, call_text):
    """fn(*args) agrees with fn on the arguments converted by float(), or fails naming the function."""
    result, err = _run(lambda: fn(*args))
    floats = [_as_float(a) for a in args]
    if err is not None:
        _assert_named_failure(err, names, call_text)
        if None not in floats:  # every argument is a real number: the float call fails too
            _, float_err = _run(lambda: fn(*floats))
            assert float_err is not None, f"{call_text} failed ({err}) but works on floats {floats}"
        return
    assert None not in floats, f"{call_text} accepted a non-number: {args!r} -> {result!r}"
    expected, float_err = _run(lambda: fn(*floats))
    assert float_err is None, f"{call_text} works but fails on floats {floats}: {float_err}"
    got, want = _data(result), _data(expected)
    assert type(got) is float, f"{call_text} returned {type(got).__name__}"
    assert got == want or (math.isnan(got) and math.isnan(want)), f"{call_text}: {got!r}, on floats {want!r}"


# -- the math functions of autograd.__all__ --

UNARY = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "softplus", "sin", "cos", "abs"]
BINARY = ["maximum", "minimum", "power"]
CALLABLES = [name for name in autograd.__all__ if callable(getattr(autograd, name))]


def _names(name):
    """The names an error from `autograd.<name>` may give: its own, or its primitive's (an alias)."""
    prim = getattr(getattr(autograd, name), "primitive", None)
    return [name] + ([prim.name] if prim is not None else []) + (["pow"] if name == "power" else [])


@pytest.mark.parametrize("name", CALLABLES)
@given(args=st.lists(weird, max_size=3))
def test_every_public_callable_with_any_arguments(name, args):
    fn = getattr(autograd, name)
    if name == "set_grad_enabled":  # as a function it sets the mode for good: use it as a context
        result, err = _run(lambda: _entered(fn(*args)))
    else:
        result, err = _run(lambda: fn(*args))
    if err is not None:
        _assert_named_failure(err, _names(name), f"{name}(*{args!r})")


def _entered(mode):
    with mode:
        pass


# Functions of autograd.__all__ that other modules add (math functions of one or two inputs).
_OTHER_OPS = [n for n in CALLABLES if getattr(getattr(autograd, n), "primitive", None) is not None
              and n not in UNARY + BINARY + ["leaky_relu"]]


def _arity(name):
    return getattr(autograd, name).primitive.arity


@pytest.mark.parametrize("name", UNARY + [n for n in _OTHER_OPS if _arity(n) == 1])
@given(x=weird)
def test_unary_functions(name, x):
    _check_against_floats(getattr(autograd, name), [x], _names(name), f"{name}({x!r})")


@pytest.mark.parametrize("name", BINARY + [n for n in _OTHER_OPS if _arity(n) == 2])
@given(x=weird, y=weird)
def test_binary_functions(name, x, y):
    _check_against_floats(getattr(autograd, name), [x, y], _names(name), f"{name}({x!r}, {y!r})")


@given(x=weird, slope=weird)
def test_leaky_relu(x, slope):
    _check_against_floats(autograd.leaky_relu, [x, slope], ["leaky_relu"], f"leaky_relu({x!r}, {slope!r})")


@given(n_args=st.integers(0, 4), args=st.lists(weird, min_size=4, max_size=4))
def test_wrong_argument_counts_are_named(n_args, args):
    for name in UNARY + BINARY:
        result, err = _run(lambda name=name: getattr(autograd, name)(*args[:n_args]))
        if err is not None:
            _assert_named_failure(err, [name, "pow"], f"{name} with {n_args} arguments")


def _sum_of_floats(values):
    return autograd.sum([_as_float(v) for v in values])


@given(values=weird)
def test_sum(values):
    result, err = _run(lambda: autograd.sum(values))
    if err is not None:
        _assert_named_failure(err, ["sum"], f"sum({values!r})")
        return
    assert isinstance(values, (list, tuple, np.ndarray)), f"sum accepted {values!r}"
    floats = [_as_float(v) for v in values]
    assert None not in floats, f"sum({values!r}) accepted a non-number: {result!r}"
    got, want = _data(result), autograd.sum(floats)
    assert got == want or (math.isnan(got) and math.isnan(want)), (values, got, want)


@given(ws=weird, xs=weird, bias=st.one_of(st.none(), scalars))
def test_dot(ws, xs, bias):
    result, err = _run(lambda: autograd.dot(ws, xs, bias))
    if err is not None:
        _assert_named_failure(err, ["dot"], f"dot({ws!r}, {xs!r}, {bias!r})")
        return
    terms = [*ws, *xs] + ([] if bias is None else [bias])
    floats = [_as_float(v) for v in terms]
    assert None not in floats, f"dot accepted a non-number among {terms!r}: {result!r}"
    n = len(ws)
    expected = autograd.dot(floats[:n], floats[n: 2 * n], None if bias is None else floats[-1])
    got = _data(result)
    assert got == expected or (math.isnan(got) and math.isnan(expected)), (terms, got, expected)
    if isinstance(result, Value):
        _, err = _run(result.backward)
        assert err is None or isinstance(err, ALLOWED), err


# -- Value: the constructor, its methods and its operators --


@given(x=weird, label=st.one_of(st.just(""), st.text(max_size=3), weird))
def test_value_constructor(x, label):
    result, err = _run(lambda: Value(x, label))
    if err is not None:
        _assert_named_failure(err, ["Value"], f"Value({x!r}, {label!r})")
        return
    assert isinstance(label, str), f"Value accepted the label {label!r}"
    want = _as_float(x)
    assert want is not None, f"Value accepted {x!r}"
    assert result.data == want or (math.isnan(result.data) and math.isnan(want))


OPERATORS = {
    "__add__": (operator.add, ["add"]), "__radd__": (lambda v, w: w + v, ["add"]),
    "__sub__": (operator.sub, ["sub"]), "__rsub__": (lambda v, w: w - v, ["sub"]),
    "__mul__": (operator.mul, ["mul"]), "__rmul__": (lambda v, w: w * v, ["mul"]),
    "__truediv__": (operator.truediv, ["div"]), "__rtruediv__": (lambda v, w: w / v, ["div"]),
    "__pow__": (operator.pow, ["pow"]), "__rpow__": (lambda v, w: w**v, ["pow"]),
    "__lt__": (operator.lt, ["<"]), "__le__": (operator.le, ["<="]),
    "__gt__": (operator.gt, [">"]), "__ge__": (operator.ge, [">="]),
}
# Methods of Value: the math ones take the Value and, for two-input ones, one more argument.
METHODS = sorted(n for n in dir(Value) if not n.startswith("_") and callable(getattr(Value, n)))


@pytest.mark.parametrize("name", list(OPERATORS))
@given(v=st.floats(-3, 3), w=weird)
def test_value_operators_with_any_other_operand(name, v, w):
    op, names = OPERATORS[name]
    result, err = _run(lambda: op(Value(v), w))
    if err is not None:
        _assert_named_failure(err, names, f"Value({v!r}) {name} {w!r}")
        return
    want = _as_float(w) if not isinstance(w, Value) else w.data
    assert want is not None, f"Value({v!r}) {name} accepted {w!r}: {result!r}"
    expected, float_err = _run(lambda: op(Value(v), want))
    assert float_err is None, (name, v, w, float_err)
    got, want_value = _data(result), _data(expected)
    assert got == want_value or (math.isnan(got) and math.isnan(want_value)), (name, v, w, got, want_value)


@pytest.mark.parametrize("name", METHODS)
@given(v=st.one_of(st.floats(-3, 3), st.sampled_from(SPECIAL[:5])), args=st.lists(weird, max_size=2))
def test_value_methods_with_any_arguments(name, v, args):
    result, err = _run(lambda: getattr(Value(v), name)(*args))
    if err is not None:
        prim = getattr(getattr(autograd.ops, name, None), "primitive", None)
        names = [name, "Value"] + ([prim.name] if prim is not None else [])
        _assert_named_failure(err, names, f"Value({v!r}).{name}(*{args!r})")


@given(x=weird)
def test_unary_operators_and_conversions(x):
    v = Value(3.0)
    for call in (lambda: -v, lambda: abs(v), lambda: +v):
        result, err = _run(call)
        assert err is None and isinstance(result, Value)
    result, err = _run(lambda: v.backward(x))
    if err is not None:
        _assert_named_failure(err, ["backward"], f"backward({x!r})")
    else:
        assert _as_float(x) is not None or isinstance(x, Value), f"backward accepted the gradient {x!r}"


# -- the engine: topological_order, backward, gradients --


@given(root=weird)
def test_topological_order_and_backward_of_any_root(root):
    for fn, name in ((autograd.topological_order, "topological_order"), (autograd.backward, "backward")):
        result, err = _run(lambda fn=fn: fn(root))
        if err is not None:
            _assert_named_failure(err, [name], f"{name}({root!r})")
        else:
            assert isinstance(root, Value), f"{name} accepted {root!r}"


@given(output=weird, inputs=weird)
def test_gradients_of_any_output_and_inputs(output, inputs):
    result, err = _run(lambda: autograd.gradients(output, inputs))
    if err is not None:
        _assert_named_failure(err, ["gradients"], f"gradients({output!r}, {inputs!r})")
        return
    assert all(type(g) is float for g in result), result


# -- declaring a primitive --


@given(name=st.one_of(st.just("op"), weird), forward=st.one_of(st.just(lambda x: x), weird),
       partials=st.one_of(st.just(lambda x, out: (1.0,)), weird),
       arity=st.one_of(st.none(), st.integers(-1, 3), weird))
def test_primitive_declaration(name, forward, partials, arity):
    result, err = _run(lambda: autograd.primitive(name, forward, partials, arity=arity))
    if err is not None:
        _assert_named_failure(err, ["primitive"], f"primitive({name!r}, {forward!r}, {partials!r}, {arity})")
        return
    assert isinstance(name, str) and callable(forward) and callable(partials)


@given(x=weird)
def test_a_declared_primitive_with_any_argument(x):
    double = autograd.primitive("double", lambda t: 2 * t, lambda t, out: (2.0,))
    _check_against_floats(double, [x], ["double"], f"double({x!r})")


# -- the function transformations --

FUNCTIONS = [lambda x: x * x, lambda x, y: x * y + 1.0, autograd.exp, lambda x: 2.0]


def _marked(f):
    """f, with its own failures marked (they are the user's, not the transform's, to name)."""

    def wrapper(*args):
        try:
            return f(*args)
        except Exception as err:
            err.from_user_function = True
            raise

    return wrapper


@pytest.mark.parametrize("name", ["grad", "value_and_grad", "hessian"])
@given(f=st.one_of(st.sampled_from(FUNCTIONS), weird), argnums=st.one_of(st.just(0), weird),
       args=st.lists(weird, max_size=2))
def test_transforms_with_any_function_argnums_and_arguments(name, f, argnums, args):
    transform = getattr(autograd, name)
    f = _marked(f) if callable(f) else f
    result, err = _run(lambda: transform(f, argnums)(*args))
    if err is not None and not getattr(err, "from_user_function", False):
        _assert_named_failure(err, [name, "grad"], f"{name}({f!r}, {argnums!r})(*{args!r})")


@given(f=st.one_of(st.sampled_from(FUNCTIONS), weird), primals=weird, tangents=weird)
def test_jvp_with_any_primals_and_tangents(f, primals, tangents):
    f = _marked(f) if callable(f) else f
    result, err = _run(lambda: autograd.jvp(f, primals, tangents))
    if err is not None and not getattr(err, "from_user_function", False):
        _assert_named_failure(err, ["jvp"], f"jvp({f!r}, {primals!r}, {tangents!r})")
