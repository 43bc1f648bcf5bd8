"""The NumPy backend: same values and gradients as the engine to 1e-12 (relative to the terms)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given, settings

import autograd as ag
from autograd import Value
from autograd.testing.strategies import expressions

np = pytest.importorskip("numpy")

from autograd.compiler import numpy_backend  # noqa: E402
from autograd.compiler.trace import trace  # noqa: E402


def dynamic(f, point):
    vs = [Value(x) for x in point]
    out = f(*vs)
    out.backward()
    return out.data, [v.grad for v in vs]


def close(a, b, scale):
    return a == b or (a != a and b != b) or abs(a - b) <= 1e-12 * scale


@settings(max_examples=200)
@given(expressions(n_inputs=3, max_depth=4, max_ops=12))
def test_vectorized_replay_agrees_with_the_engine(fp):
    f, point = fp
    c = ag.compile(lambda a, b, d: f(a, b, d), backend="numpy")
    value, grads = c.value_and_grad(*point)
    expected, expected_grads = dynamic(f, point)
    # Sums in another order: the error scales with the terms (bounded by max_magnitude 1e3).
    assert close(value, expected, 1e3), f
    for g, e in zip(grads, expected_grads, strict=True):
        assert close(g, e, 1e3 * max(1.0, abs(e))), f


def test_independent_nodes_of_one_op_run_as_one_group():
    xs = [Value(0.1 * i) for i in range(50)]

    def f(*xs):
        return ag.sum([ag.relu(x - 1.0) * x for x in xs])

    tr, _ = trace(f, xs)
    program = numpy_backend.generate(tr)
    cells = [Value(x.data) for x in xs]
    out, _, _ = program.run(cells)
    expected, grads = dynamic(f, [x.data for x in xs])
    assert math.isclose(out, expected, rel_tol=1e-12)
    for c, g in zip(cells, grads, strict=True):
        assert math.isclose(c.grad, g, rel_tol=1e-12, abs_tol=1e-15)


def test_a_not_finite_result_is_rerun_by_the_engine():
    c = ag.compile(lambda x: ag.log(x) * x, backend="numpy")
    c.value_and_grad(2.0)
    with pytest.raises(ValueError, match="log"):
        c(Value(-1.0))


def test_numpy_is_imported_only_when_its_backend_is_chosen():
    code = ("import sys, autograd as ag; c = ag.compile(lambda x: x * x); c.value_and_grad(2.0); "
            "print('numpy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr
