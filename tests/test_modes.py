"""Tests of the recording modes: no_grad, enable_grad, detach and detect_anomaly."""

import inspect
import math
import threading

import pytest

import autograd
from autograd import Value, detect_anomaly, enable_grad, is_grad_enabled, no_grad

# -- no_grad and enable_grad --


def test_no_grad_results_are_leaves():
    x = Value(2.0)
    with no_grad():
        assert not is_grad_enabled()
        y = (x * 3).tanh() + autograd.sum([x, x]) + x**2
    assert is_grad_enabled()
    assert y.is_leaf and y.op == "" and y.parents == ()
    assert y.data == pytest.approx(math.tanh(6.0) + 4.0 + 4.0, rel=1e-15)
    y.backward()
    assert x.grad == 0.0


def test_no_grad_nests_with_enable_grad():
    x = Value(1.0)
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
            recorded = x * 2
            with no_grad():
                assert not is_grad_enabled()
                not_recorded = x * 2
            assert is_grad_enabled()
        assert not is_grad_enabled()
    assert recorded.parents[0] is x
    assert not_recorded.is_leaf


def test_no_grad_as_a_decorator():
    @no_grad()
    def predict(w, x):
        return w * x

    w = Value(0.5)
    y = predict(w, 4.0)
    assert y.is_leaf and y.data == 2.0
    assert predict(w, 2.0).is_leaf  # the decorator works on every call, not just the first
    assert is_grad_enabled()
    assert (w * 2).op == "mul"


def test_enable_grad_as_a_decorator_inside_no_grad():
    @enable_grad()
    def square(x):
        return x * x

    x = Value(3.0)
    with no_grad():
        y = square(x)
    y.backward()
    assert x.grad == 6.0


def test_no_grad_is_restored_after_an_exception():
    with pytest.raises(RuntimeError), no_grad():
        raise RuntimeError("inside")
    assert is_grad_enabled()
    assert (Value(1.0) + 1).op == "add"


def test_no_grad_does_not_leak_into_another_thread():
    entered, other_done = threading.Event(), threading.Event()
    seen = {}

    def other_thread():
        entered.wait(timeout=10)  # the main thread is inside no_grad now
        node = Value(1.0) * 2
        seen["enabled"], seen["op"] = is_grad_enabled(), node.op
        other_done.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    with no_grad():
        entered.set()
        other_done.wait(timeout=10)
        assert (Value(1.0) * 2).is_leaf  # still off here
    worker.join(timeout=10)
    assert seen == {"enabled": True, "op": "mul"}


def test_no_grad_in_another_thread_does_not_affect_this_one():
    inside, release = threading.Event(), threading.Event()

    def other_thread():
        with no_grad():
            inside.set()
            release.wait(timeout=10)

    worker = threading.Thread(target=other_thread)
    worker.start()
    inside.wait(timeout=10)
    try:
        assert is_grad_enabled()
        x = Value(2.0)
        (x * x).backward()
        assert x.grad == 4.0
    finally:
        release.set()
        worker.join(timeout=10)


def test_detach_stops_the_gradient():
    x = Value(2.0)
    y = x * x
    z = y.detach() * y  # d/dx [c * x^2] with c = 4 held fixed: 2cx = 16
    z.backward()
    assert x.grad == 16.0


# -- detect_anomaly --


def _line_after() -> int:
    """The line number just after the caller's line (where the node under test is made)."""
    return inspect.currentframe().f_back.f_lineno + 1


def test_nan_forward_result_raises_naming_op_inputs_and_line():
    a, b = Value(math.inf), Value(math.inf)
    with detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            line = _line_after()
            a - b  # inf - inf = nan
    message = str(info.value)
    assert "sub" in message and "nan" in message and "inf, inf" in message
    assert f"{__file__}:{line}" in message


def test_infinite_forward_result_raises():
    with detect_anomaly(), pytest.raises(FloatingPointError, match=r"mul.*inf.*1e\+308"):
        Value(1e308) * 10


def test_without_detect_anomaly_nan_passes_silently():
    assert math.isnan((Value(math.inf) - Value(math.inf)).data)


nan_rule = autograd.primitive("nan_rule", forward=lambda x: 2 * x, partials=lambda x, out: (math.nan,))
huge_rule = autograd.primitive("huge_rule", forward=lambda x: x, partials=lambda x, out: (1e308,))


def test_nan_gradient_raises_naming_the_op_and_the_line_that_made_the_node():
    x = Value(1.5)
    with detect_anomaly():
        line = _line_after()
        y = nan_rule(x) + 1
        with pytest.raises(FloatingPointError) as info:
            y.backward()
    message = str(info.value)
    assert "nan_rule" in message and "1.5" in message and "nan" in message
    assert f"{__file__}:{line}" in message


def test_infinite_gradient_product_raises():
    x = Value(1.0)
    with detect_anomaly():
        y = huge_rule(x) * 10  # the upstream gradient 10 times the partial 1e308 is inf
        with pytest.raises(FloatingPointError, match="huge_rule"):
            y.backward()


def test_nan_gradient_from_gradients_and_grad_raises_too():
    with detect_anomaly():
        x = Value(1.0)
        with pytest.raises(FloatingPointError, match="nan_rule"):
            autograd.gradients(nan_rule(x), [x])
        with pytest.raises(FloatingPointError, match="nan_rule"):
            autograd.grad(nan_rule)(1.0)


def test_infinite_derivative_of_sqrt_at_zero_is_an_anomaly():
    # sqrt is defined at 0, its derivative 1/(2 sqrt x) is infinite there: under detect_anomaly that
    # must be reported as an anomaly with the line that made the node (the contract).
    x = Value(0.0)
    with detect_anomaly():
        line = _line_after()
        y = x.sqrt()
        with pytest.raises(FloatingPointError) as info:
            y.backward()
    message = str(info.value)
    assert "sqrt" in message and f"{__file__}:{line}" in message


def test_detect_anomaly_is_context_local():
    x = Value(1.0)
    with detect_anomaly():
        pass
    nan_rule(x).backward()  # outside the context: NaN gradients are allowed
    assert math.isnan(x.grad)


def test_detect_anomaly_nests_and_restores():
    with detect_anomaly():
        with detect_anomaly():
            pass
        with pytest.raises(FloatingPointError):
            Value(math.inf) * 0
    assert math.isnan((Value(math.inf) * 0).data)


def test_detect_anomaly_does_not_change_results():
    x = Value(0.7)
    with detect_anomaly():
        y = (x.tanh() * x.exp()).sigmoid()
        y.backward()
    plain = Value(0.7)
    (plain.tanh() * plain.exp()).sigmoid().backward()
    assert x.grad == plain.grad


# -- reusable modes, decorators with and without parentheses, set_grad_enabled --


def test_one_no_grad_object_serves_many_with_blocks():
    off = no_grad()
    x = Value(2.0)
    for _ in range(2):  # one after another
        with off:
            assert (x * 2).is_leaf
        assert (x * 2).op == "mul"
    with off:  # nested in itself
        with off:
            assert not is_grad_enabled()
        assert not is_grad_enabled()
        with enable_grad():
            assert (x * 2).op == "mul"
    assert is_grad_enabled()


def test_one_no_grad_object_used_by_two_threads_at_once():
    off = no_grad()
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def other_thread():
        with off:
            inside.set()
            release.wait(timeout=10)
            seen["other"] = (Value(1.0) * 2).is_leaf
        seen["after"] = is_grad_enabled()

    worker = threading.Thread(target=other_thread)
    worker.start()
    inside.wait(timeout=10)
    with off:
        release.set()
        worker.join(timeout=10)
        assert (Value(1.0) * 2).is_leaf
    assert is_grad_enabled()
    assert seen == {"other": True, "after": True}


@pytest.mark.parametrize("with_parentheses", [True, False])
def test_no_grad_and_enable_grad_decorate_with_or_without_parentheses(with_parentheses):
    off = no_grad() if with_parentheses else no_grad
    on = enable_grad() if with_parentheses else enable_grad

    @off
    def predict(w):
        """Docstring kept."""
        return w * 3

    @on
    def train(w):
        return w * 3

    w = Value(1.0)
    assert predict(w).is_leaf and predict.__doc__ == "Docstring kept." and predict.__name__ == "predict"
    with no_grad():
        assert train(w).op == "mul"
    assert is_grad_enabled()


def test_a_decorated_generator_runs_each_step_under_the_mode():
    @no_grad
    def steps(w):
        for k in range(3):
            yield w * k, is_grad_enabled()

    gen = steps(Value(1.0))
    first, enabled = next(gen)
    assert first.is_leaf and enabled is False
    assert is_grad_enabled()  # not while the generator is suspended
    assert all(node.is_leaf and not enabled for node, enabled in gen)


def test_decorating_what_cannot_be_decorated_is_a_type_error():
    with pytest.raises(TypeError, match="no_grad: expected a function"):
        no_grad()(3)

    async def coroutine():
        return 1

    with pytest.raises(TypeError, match="async"):
        no_grad(coroutine)


@pytest.mark.parametrize("mode", [no_grad, enable_grad])
@pytest.mark.parametrize("args, kwargs", [((0.0, 0.0), {}), ((print, print), {}), ((), {"func": print})])
def test_mode_objects_with_arguments_are_a_type_error_naming_them(mode, args, kwargs):
    # A bare "__new__() takes from 1 to 2 positional arguments" would name neither.
    with pytest.raises(TypeError, match=rf"{mode.__name__}\(\) takes no arguments"):
        mode(*args, **kwargs)


def test_set_grad_enabled_as_a_context_manager_restores():
    x = Value(1.0)
    for flag in (False, True):
        with autograd.set_grad_enabled(flag):
            assert is_grad_enabled() is flag
            assert (x * 2).is_leaf is (not flag)
        assert is_grad_enabled()
    with no_grad(), autograd.set_grad_enabled(True):
        assert (x * 2).op == "mul"


def test_set_grad_enabled_as_a_function_sets_the_mode_until_changed():
    import contextvars

    def body():
        autograd.set_grad_enabled(False)
        assert not is_grad_enabled() and (Value(1.0) * 2).is_leaf
        autograd.set_grad_enabled(True)
        assert (Value(1.0) * 2).op == "mul"
        autograd.set_grad_enabled(False)
        return is_grad_enabled()

    # In a copy of the context, so that the mode left set does not leak into other tests.
    assert contextvars.copy_context().run(body) is False
    assert is_grad_enabled()


def test_set_grad_enabled_as_a_decorator_applies_per_call():
    @autograd.set_grad_enabled(False)
    def predict(w):
        return w * 2

    assert is_grad_enabled()  # decorating did not switch the mode off
    assert predict(Value(1.0)).is_leaf
    assert (Value(1.0) * 2).op == "mul"


@pytest.mark.parametrize("bad", [0, 1, None, "no"])
def test_set_grad_enabled_needs_a_bool(bad):
    with pytest.raises(TypeError, match="set_grad_enabled: mode must be a bool"):
        autograd.set_grad_enabled(bad)
