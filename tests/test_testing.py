"""gradcheck itself: it passes correct rules and catches wrong ones, at the order they break."""

from __future__ import annotations

import math
import warnings

import pytest
from hypothesis import settings

import autograd
import autograd.testing as testing
from autograd import Value
from autograd.testing import GradcheckError, gradcheck, plugin

# x³ with the right rule, with a wrong first derivative (2x² instead of 3x²), and with a rule
# that is right on floats but reads a float out of the Value: under create_graph the partial
# is a constant, so the second derivative (6x) is lost while the first stays right.
cube = autograd.primitive("cube", lambda x: x**3, lambda x, out: (3 * x**2,))
cube_wrong_first = autograd.primitive("cube_wrong_first", lambda x: x**3, lambda x, out: (2 * x**2,))
cube_float_rule = autograd.primitive("cube_float_rule", lambda x: x**3,
                                     lambda x, out: (3 * float(x) ** 2,))
# x·y whose rule swaps the partials: right only where x == y.
mul_swapped = autograd.primitive("mul_swapped", lambda x, y: x * y, lambda x, y, out: (x, y))


def test_passes_on_correct_rules_to_second_order():
    assert gradcheck(lambda x, y: autograd.log(x) * y + x**3 + autograd.tanh(x * y), [1.5, -0.7], order=2)
    assert gradcheck(cube, [1.3], order=2)
    assert gradcheck(lambda x: x.sigmoid() * x.sin(), 0.4, order=2)  # one number, Value methods


def test_a_wrong_first_derivative_is_caught_at_order_one():
    # d/dx x³ = 3x² = 5.07 at 1.3; the rule says 2x² = 3.38.
    with pytest.raises(GradcheckError) as info:
        gradcheck(cube_wrong_first, [1.3])
    err = info.value
    assert err.order == 1 and err.input_index == 0
    assert err.analytic == pytest.approx(2 * 1.3**2, rel=1e-12)
    assert err.numeric == pytest.approx(3 * 1.3**2, rel=1e-6)


def test_the_message_names_input_order_values_and_errors():
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: a + mul_swapped(a, b), [2.0, 5.0])
    err = info.value
    message = str(err)
    # d/da (a + a·b) = 1 + b = 6, but the swapped rule gives 1 + a = 3.
    assert err.input_index == 0
    assert "input 0" in message and "order 1" in message
    assert f"analytic {err.analytic!r}" in message and f"numeric {err.numeric!r}" in message
    assert err.analytic == 3.0 and err.numeric == pytest.approx(6.0, rel=1e-6)
    abs_err = math.fabs(err.analytic - err.numeric)
    assert f"absolute error {abs_err:.3g}" in message
    assert f"relative error {abs_err / math.fabs(err.numeric):.3g}" in message


def test_the_second_input_is_named_when_only_it_is_wrong():
    # d/da is right (2a = 4); d/db of the wrong cube is 2b² = 50 instead of 3b² = 75.
    with pytest.raises(GradcheckError, match="input 1, order 1") as info:
        gradcheck(lambda a, b: a * a + cube_wrong_first(b), [2.0, 5.0])
    assert info.value.analytic == 50.0 and info.value.numeric == pytest.approx(75.0, rel=1e-6)


def test_returns_false_instead_of_raising_when_asked():
    assert gradcheck(cube_wrong_first, [1.3], raise_exception=False) is False
    assert gradcheck(cube_float_rule, [1.3], order=2, raise_exception=False) is False
    assert gradcheck(cube, [1.3], order=2, raise_exception=False) is True


def test_a_rule_that_breaks_the_second_derivative_passes_order_one_and_fails_order_two():
    assert gradcheck(cube_float_rule, [1.3], order=1)
    with pytest.raises(GradcheckError) as info:
        gradcheck(cube_float_rule, [1.3], order=2)
    err = info.value
    # d²/dx² x³ = 6x = 7.8; the float rule leaves nothing to differentiate: 0.
    assert err.order == 2 and err.input_index == (0, 0)
    assert err.analytic == 0.0 and err.numeric == pytest.approx(7.8, rel=1e-6)
    assert "order 2" in str(err) and "inputs 0 and 0" in str(err)


def test_a_wrong_mixed_second_derivative_is_caught():
    # f(x, y) = x·y with a partial d/dx = float(y): d²f/dx dy should be 1, the rule makes it 0
    # (and d/dy = x keeps d²f/dy dx = 1), so only the entry (0, 1) of the Hessian is wrong.
    half_float_mul = autograd.primitive("half_float_mul", lambda x, y: x * y,
                                        lambda x, y, out: (float(y), x))
    assert gradcheck(half_float_mul, [0.5, 2.0], order=1)
    with pytest.raises(GradcheckError) as info:
        gradcheck(half_float_mul, [0.5, 2.0], order=2)
    assert info.value.input_index == (0, 1)
    assert info.value.analytic == 0.0 and info.value.numeric == pytest.approx(1.0, rel=1e-6)


def test_forward_mode_disagreeing_with_reverse_mode_is_caught(monkeypatch):
    # A forward mode whose tangent is off by 1% stands in for a bug in jvp.
    real_jvp = testing.jvp

    def off_by_one_percent(f, primals, tangents):
        value, tangent = real_jvp(f, primals, tangents)
        return value, tangent * 1.01

    monkeypatch.setattr(testing, "jvp", off_by_one_percent)
    with pytest.raises(GradcheckError, match="jvp") as info:
        gradcheck(cube, [1.3])
    assert info.value.analytic == pytest.approx(1.01 * 3 * 1.3**2, rel=1e-12)
    assert info.value.numeric == pytest.approx(3 * 1.3**2, rel=1e-12)


def test_a_nan_derivative_never_passes():
    nan_rule = autograd.primitive("nan_rule", lambda x: 2 * x, lambda x, out: (math.nan,))
    with pytest.raises(GradcheckError, match="nan"):
        gradcheck(nan_rule, [1.0])


def test_tolerances_decide_near_misses():
    # The rule 1.001·cos(x) is 0.1% off: outside rtol=1e-4, inside rtol=1e-2.
    sloppy_sin = autograd.primitive("sloppy_sin", math.sin, lambda x, out: (1.001 * autograd.cos(x),))
    assert not gradcheck(sloppy_sin, [0.3], atol=0.0, rtol=1e-4, raise_exception=False)
    assert gradcheck(sloppy_sin, [0.3], atol=0.0, rtol=1e-2)


def test_inputs_may_be_any_iterable_of_numbers():
    np = pytest.importorskip("numpy")
    assert gradcheck(lambda x, y: x * y.exp(), np.array([0.5, 1.0]), order=2)
    assert gradcheck(lambda x, y: x / y, (np.float64(0.5), 2), order=2)


def test_a_constant_function_has_zero_derivatives_and_draws_no_cut_graph_warning():
    # A checking tool checks a constant function like any other: its zero derivatives are
    # calculus, not a graph cut by float() (which the transforms warn about outside gradcheck).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(lambda x, y: 3.0, [1.0, 2.0], order=2)
        assert gradcheck(lambda x, y: x * 0.0 + 1.0, [1.0, 2.0], order=2)
    with pytest.warns(UserWarning, match="grad: <lambda> returned a plain number"):
        assert autograd.grad(lambda x, y: 3.0)(1.0, 2.0) == 0.0


def test_a_graph_cut_inside_the_checked_function_fails_and_cut_graphs_still_warn_after():
    # float(x) * x: the derivative through float() is lost (3.0 instead of 6.0 at x = 3).
    assert not gradcheck(lambda x: float(x) * x, [3.0], raise_exception=False)
    with pytest.warns(UserWarning, match="grad: converting a Value that depends on argument 0"), \
            pytest.warns(UserWarning, match="grad: <lambda> returned a plain number"):
        assert autograd.grad(lambda x: math.sin(x))(1.0) == 0.0


def test_f_is_called_with_values_and_its_graph_is_not_left_in_grads():
    x = Value(1.5)
    assert gradcheck(lambda a: a * a, [x], order=2)  # a Value as input: its data is the point
    assert x.grad == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"inputs": []}, "inputs is empty"),
        ({"inputs": [1.0], "eps": 0.0}, "eps"),
        ({"inputs": [1.0], "eps": math.nan}, "eps"),
        ({"inputs": [1.0], "atol": -1.0}, "atol"),
        ({"inputs": [1.0], "order": 3}, "order"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gradcheck(cube, **kwargs)


def test_bad_input_types_are_refused():
    with pytest.raises(TypeError, match="gradcheck input 1"):
        gradcheck(lambda x, y: x * y, [1.0, "2"])


def test_a_point_on_the_edge_of_the_domain_is_reported():
    # log at 1e-7: the step x - eps leaves log's domain.
    with pytest.raises(ValueError, match=r"gradcheck: f failed at input 0 - eps.*log"):
        gradcheck(autograd.log, [1e-7])


# -- the pytest plugin: hypothesis profiles --


def test_the_ci_and_dev_profiles_are_registered():
    ci, dev = settings.get_profile("ci"), settings.get_profile("dev")
    assert ci.derandomize and ci.database is None and ci.deadline is None
    assert ci.max_examples == plugin.CI_SETTINGS["max_examples"]
    assert not dev.derandomize and dev.deadline is None


@pytest.mark.parametrize(("ci", "profile"), [("true", "ci"), ("1", "ci"), ("", "dev"), ("false", "dev")])
def test_the_profile_is_chosen_by_the_ci_variable(monkeypatch, ci, profile):
    monkeypatch.setenv("CI", ci)
    assert plugin.profile_for_environment() == profile


def test_this_session_runs_under_the_chosen_profile(pytestconfig):
    chosen = pytestconfig.getoption("hypothesis_profile") or plugin.profile_for_environment()
    assert settings.get_current_profile_name() == chosen


def test_a_profile_named_on_the_command_line_is_not_overridden(monkeypatch):
    loaded = []

    class RecordingSettings:
        load_profile = staticmethod(loaded.append)

    monkeypatch.setattr(plugin, "settings", RecordingSettings)

    class Config:
        def __init__(self, option):
            self.option = option

        def getoption(self, name, default=None):
            return self.option if name == "hypothesis_profile" else default

    assert plugin.load_profile(Config("dev")) is None and loaded == []
    monkeypatch.setenv("CI", "true")
    assert plugin.load_profile(Config(None)) == "ci" and loaded == ["ci"]
