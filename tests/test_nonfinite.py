"""The semantics of non-finite numbers and boundaries (autograd/ops.py's header), op by op.

Table-driven over `all_primitives()`, so an op added to the table is checked at once: NaN in, NaN
out for values and for first and second derivatives; the boundary table against PyTorch float64;
and anomaly mode (its memory over many training steps, the line it reports).
"""

from __future__ import annotations

import gc
import inspect
import math
import tracemalloc

import pytest

import autograd
import nn
from autograd import Value, detect_anomaly
from autograd.ops import all_primitives
from autograd.testing.strategies import away_from_kinks, domain_of, function_of

NAN, INF = math.nan, math.inf
PRIMITIVES = all_primitives()
IDS = [p.display for p in PRIMITIVES]
# Where along each input's domain interval the regular points lie: both sides of a kink at 0
# (relu's, on (-10, 10)) and of any other input (maximum's).
FRACTIONS = (0.37, 0.11, 0.29, 0.47, 0.63, 0.81, 0.93, 0.2, 0.7)


def _arity(prim):
    return prim.arity if prim.arity is not None else 4


def _valid(fn, prim, point):
    try:
        out = fn(*point)
    except (ArithmeticError, ValueError):
        return False
    return math.isfinite(out) and away_from_kinks(prim, point)


def _base_point(prim):
    """A regular point of `prim`: inside its domain, off its kinks, where it is finite."""
    n = _arity(prim)
    fn = function_of(prim, n)
    intervals = domain_of(prim, n)
    for shift in range(len(FRACTIONS)):
        point = [lo + FRACTIONS[(shift + i) % len(FRACTIONS)] * (hi - lo)
                 for i, (lo, hi) in enumerate(intervals)]
        if _valid(fn, prim, point):
            return point
    raise AssertionError(f"no regular point found for {prim.display}")


def _samples(prim, base, i):
    """Regular points that differ from `base` in input i only."""
    fn = function_of(prim, _arity(prim))
    lo, hi = domain_of(prim, _arity(prim))[i]
    points = [base[:i] + [lo + f * (hi - lo)] + base[i + 1:] for f in FRACTIONS]
    points = [p for p in points if _valid(fn, prim, p)]
    assert len(points) >= 3, (prim.display, i)
    return points


def _derivatives(prim, point):
    """(value, gradient by gradients(), gradient by backward(), Hessian) of `prim` at `point`."""
    fn = function_of(prim, len(point))
    xs = [Value(x) for x in point]
    out = fn(*xs)
    first = autograd.gradients(out, xs, create_graph=True)
    hessian = [[float(h) for h in autograd.gradients(g, xs)] if isinstance(g, Value) else [0.0] * len(xs)
               for g in first]
    leaves = [Value(x) for x in point]
    fn(*leaves).backward()
    return out.data, [float(g) for g in first], [v.grad for v in leaves], hessian


def _same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b or math.fabs(a - b) <= 1e-12 * max(math.fabs(b), 1.0)


def _independent(quantity, at_samples):
    """A finite result at a NaN input is allowed only where the result does not depend on it."""
    return all(_same(quantity, s) for s in at_samples)


# -- NaN in, NaN out --


@pytest.mark.parametrize("prim", PRIMITIVES, ids=IDS)
def test_nan_in_nan_out_for_values_and_first_and_second_derivatives(prim):
    base = _base_point(prim)
    for i in range(len(base)):
        point = base[:i] + [NAN] + base[i + 1:]
        value, grad, fast, hessian = _derivatives(prim, point)  # a NaN input is never an error
        at = [_derivatives(prim, p) for p in _samples(prim, base, i)]
        where = f"{prim.display} with input {i} NaN"
        assert math.isnan(value) or _independent(value, [s[0] for s in at]), (where, value)
        for j, g in enumerate(grad):
            assert math.isnan(g) or _independent(g, [s[1][j] for s in at]), (where, f"d/dx{j}", g)
            assert _same(fast[j], g), (where, "backward() and gradients() disagree", fast[j], g)
            for k, h in enumerate(hessian[j]):
                assert math.isnan(h) or _independent(h, [s[3][j][k] for s in at]), (where, j, k, h)
            # A rule's NaN stays NaN at every order: where the partial is NaN but locally constant
            # in the NaN input (relu' is 0 or 1), its derivative must be NaN, not that constant's 0.
            if math.isnan(g) and all(s[3][j][i] == 0.0 for s in at):
                assert math.isnan(hessian[j][i]), (where, f"d/dx{i} of the NaN d/dx{j}", hessian[j][i])


NAN_CASES = [
    ("relu(nan)", autograd.relu, (NAN,)),
    ("leaky_relu(nan)", lambda x: autograd.leaky_relu(x, 0.2), (NAN,)),
    ("abs(nan)", autograd.abs, (NAN,)),
    ("maximum(nan, 1)", autograd.maximum, (NAN, 1.0)),
    ("maximum(1, nan)", autograd.maximum, (1.0, NAN)),
    ("minimum(nan, 1)", autograd.minimum, (NAN, 1.0)),
    ("minimum(1, nan)", autograd.minimum, (1.0, NAN)),
    ("maximum(nan, nan)", autograd.maximum, (NAN, NAN)),
]


@pytest.mark.parametrize(("name", "fn", "point"), NAN_CASES, ids=[c[0] for c in NAN_CASES])
def test_no_comparison_launders_a_nan(name, fn, point):
    assert math.isnan(fn(*point))
    leaves = [Value(x) for x in point]
    out = fn(*leaves)
    assert math.isnan(out.data)
    out.backward()
    assert all(math.isnan(v.grad) for v in leaves), [v.grad for v in leaves]
    second = autograd.grad(autograd.grad(fn))(*point)
    assert math.isnan(second), (name, second)


def test_one_nan_sample_shows_up_in_the_loss_and_the_gradients():
    model = nn.MLP(2, [4, 1], seed=0)
    xs = [[0.5, -1.0], [NAN, 0.2], [1.5, 0.3]]
    loss = nn.losses.hinge_loss([model(x) for x in xs], [1.0, -1.0, 1.0])
    assert math.isnan(loss.data)
    loss.backward()
    assert any(math.isnan(p.grad) for p in model.parameters())


def test_a_rules_nan_stays_nan_at_every_order():
    # d/dy (-2) ** y is undefined: NaN at the first, second and third order.
    f = lambda y: (-2.0) ** y  # noqa: E731
    assert f(3.0) == -8.0
    d1 = autograd.grad
    d2 = lambda fn: d1(d1(fn))  # noqa: E731
    d3 = lambda fn: d1(d2(fn))  # noqa: E731
    d4 = lambda fn: d2(d2(fn))  # noqa: E731
    assert all(math.isnan(d(f)(3.0)) for d in (d1, d2, d3, d4))
    g = autograd.grad(lambda x, y: x**y, argnums=(0, 1))
    assert g(-2.0, 3.0)[0] == 12.0 and math.isnan(g(-2.0, 3.0)[1])
    assert all(math.isnan(h) for h in autograd.hessian(lambda x, y: x**y, argnums=(0, 1))(-2.0, 3.0)[1])


def test_nan_to_an_integer_power_and_ieee_pow_exceptions():
    assert math.isnan(autograd.power(NAN, 2.0)) and math.isnan(autograd.power(-2.0, NAN))
    # IEEE 754 and Python: the result does not depend on the NaN here.
    assert autograd.power(NAN, 0.0) == 1.0 and autograd.power(1.0, NAN) == 1.0


# -- forward outside the domain: named errors (where PyTorch returns NaN or inf) --

DOMAIN_ERRORS = [
    (lambda: autograd.log(-1.0), ValueError, "log"),
    (lambda: autograd.log(0.0), ValueError, "log"),
    (lambda: autograd.sqrt(-1.0), ValueError, "sqrt"),
    (lambda: Value(1.0) / 0.0, ZeroDivisionError, "div"),
    (lambda: Value(NAN) / 0.0, ZeroDivisionError, "div"),
    (lambda: Value(0.0) ** -1.0, ZeroDivisionError, "pow"),
    (lambda: Value(-8.0) ** 0.5, ValueError, "pow"),
    (lambda: autograd.exp(710.0), OverflowError, "exp"),
    (lambda: Value(10.0) ** 400.0, OverflowError, "pow"),
    (lambda: autograd.sin(INF), ValueError, "sin"),
    (lambda: autograd.cos(-INF), ValueError, "cos"),
]


@pytest.mark.parametrize(("call", "error", "name"), DOMAIN_ERRORS)
def test_forward_outside_the_domain_raises_a_named_error(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_infinite_inputs_follow_ieee_elsewhere():
    assert autograd.exp(INF) == INF and autograd.exp(-INF) == 0.0
    assert autograd.tanh(INF) == 1.0 and autograd.sigmoid(-INF) == 0.0
    assert autograd.log(INF) == INF and autograd.sqrt(INF) == INF
    assert math.isnan((Value(INF) - Value(INF)).data)


# -- boundary derivatives: what calculus and PyTorch give, never an exception --


def _torch_pow(torch, x, y):
    return torch.pow(x, y)


# name -> (ours on Values, PyTorch's on tensors, point)
BOUNDARIES = {
    "sqrt at 0": (autograd.sqrt, lambda t, x: t.sqrt(x), (0.0,)),
    "sqrt at -0.0": (autograd.sqrt, lambda t, x: t.sqrt(x), (-0.0,)),
    "x ** 0.5 at 0": (lambda x: x**0.5, lambda t, x: x**0.5, (0.0,)),
    "x ** 1.5 at 0": (lambda x: x**1.5, lambda t, x: x**1.5, (0.0,)),
    "x ** 2.5 at 0": (lambda x: x**2.5, lambda t, x: x**2.5, (0.0,)),
    "x ** 2 at 0": (lambda x: x**2, lambda t, x: x**2.0, (0.0,)),
    "x ** -1 at 1e-200 (the derivative overflows)": (lambda x: x**-1.0, lambda t, x: x**-1.0, (1e-200,)),
    "x ** y at (0, 0)": (lambda x, y: x**y, _torch_pow, (0.0, 0.0)),
    "x ** y at (0, 1)": (lambda x, y: x**y, _torch_pow, (0.0, 1.0)),
    "x ** y at (0, 2)": (lambda x, y: x**y, _torch_pow, (0.0, 2.0)),
    "x ** y at (0, 0.5)": (lambda x, y: x**y, _torch_pow, (0.0, 0.5)),
    "x ** y at (0, 1.5)": (lambda x, y: x**y, _torch_pow, (0.0, 1.5)),
    "x ** y at (-2, 3)": (lambda x, y: x**y, _torch_pow, (-2.0, 3.0)),
    "0 ** y at 2": (lambda y: 0.0**y, lambda t, y: t.pow(0.0, y), (2.0,)),
    "quotient(1, y) at 0": (lambda x, y: autograd.ops.quotient(x, y), lambda t, x, y: x / y, (1.0, 0.0)),
    "exp at inf": (autograd.exp, lambda t, x: t.exp(x), (INF,)),
    "exp at -inf": (autograd.exp, lambda t, x: t.exp(x), (-INF,)),
    "log at inf": (autograd.log, lambda t, x: t.log(x), (INF,)),
    "sqrt at inf": (autograd.sqrt, lambda t, x: t.sqrt(x), (INF,)),
    "tanh at inf": (autograd.tanh, lambda t, x: t.tanh(x), (INF,)),
    "sigmoid at -inf": (autograd.sigmoid, lambda t, x: t.sigmoid(x), (-INF,)),
    "relu at 0": (autograd.relu, lambda t, x: t.relu(x), (0.0,)),
    "abs at 0": (autograd.abs, lambda t, x: t.abs(x), (0.0,)),
    "maximum on a tie": (autograd.maximum, lambda t, x, y: t.maximum(x, y), (1.5, 1.5)),
}


@pytest.mark.parametrize("name", list(BOUNDARIES))
def test_boundary_derivatives_match_pytorch_where_it_is_not_nan(name, torch_oracle):
    ours_fn, theirs_fn, point = BOUNDARIES[name]
    xs = [Value(x) for x in point]
    out = ours_fn(*xs)
    out.backward()  # never an exception
    value, grad, _, hessian = _engine(ours_fn, point)
    assert [v.grad for v in xs] == pytest.approx(grad, nan_ok=True)  # the fast path agrees
    t_value, t_grad, t_hessian = torch_oracle.derivatives(
        lambda ts: theirs_fn(torch_oracle.torch, *ts), point
    )
    pairs = [("value", value, t_value)]
    pairs += [(f"d/dx{i}", g, t) for i, (g, t) in enumerate(zip(grad, t_grad, strict=True))]
    pairs += [(f"d2/dx{i}dx{j}", hessian[i][j], t_hessian[i][j])
              for i in range(len(point)) for j in range(len(point))]
    compared = [(what, ours, theirs) for what, ours, theirs in pairs if not math.isnan(theirs)]
    assert len(compared) >= 2
    for what, ours, theirs in compared:
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-300), (name, what, ours, theirs)


def _engine(fn, point):
    xs = [Value(x) for x in point]
    out = fn(*xs)
    first = autograd.gradients(out, xs, create_graph=True)
    hessian = [[float(h) for h in autograd.gradients(g, xs)] if isinstance(g, Value) else [0.0] * len(xs)
               for g in first]
    return out.data, [float(g) for g in first], None, hessian


def test_pow_at_a_zero_exponent_keeps_the_mixed_second_derivative_that_pytorch_masks():
    # d/dx x ** y = y x^(y-1), and d/dy of that = x^(y-1) (1 + y log x): 1/x at y = 0. PyTorch
    # masks d/dx to 0 where y = 0 and so gives 0 for it; chaingrad masks only at x = y = 0.
    h = autograd.hessian(lambda x, y: x**y, argnums=(0, 1))(2.0, 0.0)
    assert h[0][1] == h[1][0] == pytest.approx(0.5, rel=1e-15)
    assert autograd.grad(lambda x, y: x**y, argnums=(0, 1))(2.0, 0.0) == (0.0, pytest.approx(math.log(2.0)))


def test_pow_with_a_value_exponent_at_a_zero_base_has_the_calculus_of_the_constant_exponent():
    # d2/dx2 x ** y at x = 0 is 0 for y = 1 and 2 for y = 2, as for x ** 1 and x ** 2; at y = 0
    # (where x ** y is not continuous) there is no exception, and the value is 0 as for x ** 0.
    for y, expected in ((0.0, 0.0), (1.0, 0.0), (2.0, 2.0)):
        assert autograd.hessian(lambda a, b: a**b, argnums=(0, 1))(0.0, y)[0][0] == expected
        assert autograd.grad(autograd.grad(lambda a, y=y: a**y))(0.0) == expected


# -- anomaly mode --


def _line_after() -> int:
    """The number of the line after the caller's."""
    return inspect.currentframe().f_back.f_lineno + 1


def test_an_anomaly_inside_an_nn_model_is_reported_at_the_users_line():
    model = nn.MLP(2, [3, 1], seed=0)
    with detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            line = _line_after()
            model([INF, 1.0])  # a dot inside nn/layers.py returns inf
    assert f"{__file__}:{line}" in str(info.value)
    assert "layers.py" not in str(info.value)


def test_an_infinite_gradient_inside_an_nn_model_names_the_op_and_the_users_line():
    model = nn.MLP(2, [1], seed=0)
    for p in model.parameters():
        p.data = 1e-3
    with detect_anomaly():
        line = _line_after()
        out = model([1e200, 1.0])  # 1e197
        loss = out * 1e110  # 1e307 is finite, but d loss / d w0 = 1e110 · 1e200 overflows
        with pytest.raises(FloatingPointError) as info:
            loss.backward()
    message = str(info.value)
    assert "dot" in message and f"{__file__}:{line}" in message, message


def test_an_infinite_boundary_derivative_is_an_anomaly_at_the_users_line():
    x = Value(0.0)
    with detect_anomaly():
        line = _line_after()
        y = x.sqrt() * 2
        with pytest.raises(FloatingPointError) as info:
            y.backward()
    assert "sqrt" in str(info.value) and f"{__file__}:{line}" in str(info.value)


def test_nodes_made_in_anomaly_mode_are_values_and_those_made_outside_have_no_site():
    x = Value(2.0)
    outside = x * 3
    with detect_anomaly():
        inside = x * 3
        assert type(inside) is not Value and isinstance(inside, Value)
        assert autograd.dot([inside, inside], [x, x]).data == 24.0  # the subclass works everywhere
        inside.backward()
    assert x.grad == 3.0
    assert autograd.modes.site_of(outside) == "a line outside detect_anomaly"


def test_anomaly_mode_memory_stays_flat_over_many_training_steps():
    X, y = nn.data.make_moons(8, noise=0.1, seed=1, signed=True)
    model = nn.MLP(2, [4, 1], seed=1)
    params = model.parameters()

    def step():
        loss = nn.losses.hinge_loss([model(x) for x in X], y)
        model.zero_grad()
        loss.backward()
        for p in params:
            p.data -= 0.01 * p.grad

    with detect_anomaly():
        for _ in range(20):  # warm-up: caches and lazily made objects
            step()
        gc.collect()
        tracemalloc.start()
        try:
            for _ in range(50):
                step()
            gc.collect()
            early = tracemalloc.get_traced_memory()[0]
            for _ in range(250):
                step()
            gc.collect()
            late = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    # One step makes about 150 nodes; a registry of them would grow by ~40 KB a step (~10 MB here).
    assert late - early < 64 * 1024, (early, late)
