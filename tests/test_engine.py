"""Tests of the backward pass: accumulation, shared nodes, depth, memory, gradients(), topological order."""

import gc
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value

# -- accumulation semantics --


def test_leaves_accumulate_across_backward_calls():
    x = Value(3.0)
    y = x * x * x
    y.backward()
    assert x.grad == 27.0  # 3x^2
    y.backward()
    assert x.grad == 54.0  # micrograd gives 72 here: it re-accumulates into the inner node too


def test_non_leaf_nodes_hold_the_latest_calls_gradient():
    x = Value(3.0)
    z = x * x  # 9
    y = z * z  # 81, dy/dz = 2z = 18
    y.backward()
    assert z.grad == 18.0
    y.backward()
    assert z.grad == 18.0  # overwritten, not 36
    y.backward(gradient=0.5)
    assert z.grad == 9.0
    assert y.grad == 0.5
    # dy/dx = 4x^3 = 108 per unit seed: 108 + 108 + 54
    assert x.grad == 270.0


def test_backward_from_a_leaf_adds_the_seed():
    x = Value(2.0)
    x.backward()
    x.backward(gradient=2.5)
    assert x.grad == 3.5


def test_x_times_x_gets_both_contributions():
    x = Value(-1.5)
    (x * x).backward()
    assert x.grad == -3.0


def test_shared_subexpressions():
    a = Value(1.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    assert b.grad == 2.0


def test_diamond_graph():
    # f = sin(x) * exp(x): both branches reach x, f' = cos x e^x + sin x e^x
    x = Value(0.3)
    f = x.sin() * x.exp()
    f.backward()
    assert x.grad == pytest.approx(math.exp(0.3) * (math.cos(0.3) + math.sin(0.3)), rel=1e-14)


def test_backward_with_a_seed_gradient():
    x = Value(2.0)
    y = x**3
    y.backward(gradient=-0.5)
    assert x.grad == -6.0  # -0.5 * 3x^2
    with pytest.raises(TypeError, match="backward gradient"):
        y.backward(gradient="1")


def test_backward_function_matches_the_method():
    x = Value(0.4)
    autograd.backward(x.tanh(), 2.0)
    assert x.grad == pytest.approx(2.0 * (1 - math.tanh(0.4) ** 2), rel=1e-14)


def test_unrelated_leaf_is_untouched():
    x, w = Value(1.0), Value(5.0)
    (x * 2).backward()
    assert w.grad == 0.0


# -- depth --


def test_a_chain_a_million_nodes_deep():
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = -y  # an even number of negations: y = x, dy/dx = 1
    y.backward()
    assert y.data == 1.0
    assert x.grad == 1.0
    assert len(autograd.topological_order(y)) == 1_000_001


# -- memory: no reference cycles --


def _live_values() -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is Value)


def _live_objects_after_building(build) -> int:
    """How many more Values are alive after `build()` ran and its result was dropped, with the cycle
    collector off: anything not freed by reference counting alone is counted."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        before = _live_values()
        build()
        return _live_values() - before
    finally:
        if was_enabled:
            gc.enable()


def test_the_live_value_counter_sees_a_cycle():
    """The checker itself can fail: a graph kept alive by a cycle is counted."""

    def build_with_cycle():
        x = Value(1.0)
        y = x * 2
        holder = [y]
        holder.append(holder)  # a list that refers to itself keeps y alive until collected

    assert _live_objects_after_building(build_with_cycle) == 3  # x, the constant 2 and y
    gc.collect()


def test_a_dropped_graph_is_freed_by_reference_counting():
    def build():
        a = Value(0.5)
        z = a
        for _ in range(2_000):
            z = (z * 1.001).tanh() + a.sigmoid() * z.exp().log()
        z.backward()
        autograd.gradients(z, [a], create_graph=True)
        autograd.grad(autograd.grad(lambda t: t.sin() * t))(0.3)

    assert _live_objects_after_building(build) == 0


# backward(create_graph=True) is left out on purpose: it stores into x.grad a Value whose graph
# contains x, a cycle by construction (PyTorch warns about the same one).


def test_a_dropped_custom_primitive_graph_is_freed():
    cube = autograd.primitive("cube", forward=lambda x: x**3, partials=lambda x, out: (3 * x**2,))

    def build():
        x = Value(1.1)
        y = cube(cube(x) + x)
        y.backward()
        (d1,) = autograd.gradients(y, [x], create_graph=True)
        autograd.gradients(d1, [x])
        autograd.grad(autograd.grad(lambda t: cube(t) * t))(0.3)

    assert _live_objects_after_building(build) == 0


# -- gradients() --


def test_gradients_does_not_touch_grad():
    x, y = Value(2.0), Value(-1.0)
    mid = x * y
    out = mid * x  # x^2 y
    dx, dy = autograd.gradients(out, [x, y])
    assert (dx, dy) == (-4.0, 4.0)  # 2xy, x^2
    assert type(dx) is float
    assert x.grad == y.grad == mid.grad == out.grad == 0.0


def test_gradients_of_an_unreached_input_is_zero():
    x, w = Value(2.0), Value(3.0)
    assert autograd.gradients(x * 4, (x, w)) == (4.0, 0.0)


def test_gradients_of_a_plain_number_output_is_zero_with_a_cut_graph_warning():
    x = Value(2.0)
    with pytest.warns(UserWarning, match="gradients: the output is a plain number"):
        assert autograd.gradients(5.0, [x]) == (0.0,)


def test_gradients_requires_values_as_inputs():
    with pytest.raises(TypeError, match=r"gradients: input.*1.*float"):
        autograd.gradients(Value(1.0), [Value(1.0), 2.0])


def test_create_graph_results_are_values_differentiable_again():
    x = Value(1.5)
    y = x**4
    (d1,) = autograd.gradients(y, [x], create_graph=True)
    assert isinstance(d1, Value)
    assert d1.data == pytest.approx(4 * 1.5**3, rel=1e-15)
    (d2,) = autograd.gradients(d1, [x], create_graph=True)
    assert d2.data == pytest.approx(12 * 1.5**2, rel=1e-15)
    (d3,) = autograd.gradients(d2, [x])
    assert d3 == pytest.approx(24 * 1.5, rel=1e-15)
    assert x.grad == 0.0


def test_backward_with_create_graph_writes_values_into_grad():
    x = Value(2.0)
    (x**3).backward(create_graph=True)
    assert isinstance(x.grad, Value)
    assert x.grad.data == 12.0
    (d2,) = autograd.gradients(x.grad, [x])
    assert d2 == 12.0  # 6x


# -- topological order --


def _random_graph(rng: random.Random, size: int) -> tuple[Value, list[Value]]:
    leaves = [Value(rng.uniform(-1, 1)) for _ in range(3)]
    nodes = list(leaves)
    for _ in range(size):
        kind = rng.randrange(4)
        if kind == 0:
            nodes.append(rng.choice(nodes) + rng.choice(nodes))
        elif kind == 1:
            nodes.append(rng.choice(nodes) * rng.choice(nodes))
        elif kind == 2:
            nodes.append(rng.choice(nodes).tanh())
        else:
            nodes.append(autograd.sum(rng.sample(nodes, min(3, len(nodes)))))
    return nodes[-1], nodes


def _reachable(root: Value) -> set:
    seen, todo = {root}, [root]
    while todo:
        for p in todo.pop().parents:
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return seen


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(0, 40))
def test_topological_order_puts_each_reachable_node_once_after_its_parents(seed, size):
    root, _ = _random_graph(random.Random(seed), size)
    order = autograd.topological_order(root)
    assert len(order) == len(set(order))
    assert set(order) == _reachable(root)
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for p in node.parents:
            assert position[p] < position[node]
    assert order[-1] is root


def test_topological_order_of_a_leaf_is_itself():
    x = Value(1.0)
    assert autograd.topological_order(x) == [x]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 30))
def test_backward_matches_central_differences_on_random_graphs(seed, size):
    root, nodes = _random_graph(random.Random(seed), size)
    leaves = nodes[:3]
    root.backward()
    base = [leaf.data for leaf in leaves]

    def at(values):
        for leaf, v in zip(leaves, values, strict=True):
            leaf.data = v
        return _recompute(nodes)

    h = 1e-6
    for i, leaf in enumerate(leaves):
        up, down = list(base), list(base)
        up[i] += h
        down[i] -= h
        numeric = (at(up) - at(down)) / (2 * h)
        assert leaf.grad == pytest.approx(numeric, rel=1e-5, abs=1e-6)


def _recompute(nodes: list[Value]) -> float:
    """Forward values of `nodes` (in creation order) from their parents, by each op's float forward."""
    for node in nodes:
        if node._prim is not None:
            node.data = node._prim.forward(*[p.data for p in node.parents])
    return nodes[-1].data


# -- errors during backward --


# A rule of the user's that raises: the op and its inputs are named.
reciprocal_rule = autograd.primitive("reciprocal_rule", forward=lambda x: x, partials=lambda x, out: (1 / x,))


def test_error_during_backward_names_the_op_and_inputs():
    x = Value(0.0)
    y = reciprocal_rule(x) * 2
    with pytest.raises(ZeroDivisionError, match=r"reciprocal_rule at inputs \(0\.0\)"):
        y.backward()
    with pytest.raises(ZeroDivisionError, match=r"reciprocal_rule at inputs \(0\.0\)"):
        autograd.gradients(y, [x])


def test_a_derivative_infinite_at_the_boundary_is_inf_not_an_error():
    # sqrt and 0 ** 0.5 are defined at 0, their derivatives are +inf there (as PyTorch's):
    # backward() returns them, on the fast path and through gradients().
    x = Value(0.0)
    x.sqrt().backward()
    assert x.grad == math.inf
    base, exponent = Value(0.0), Value(0.5)
    y = base**exponent
    assert y.data == 0.0
    y.backward()
    assert (base.grad, exponent.grad) == (math.inf, 0.0)
    assert autograd.gradients(y, [base, exponent]) == (math.inf, 0.0)


def test_topological_order_names_a_bad_root():
    with pytest.raises(TypeError, match="topological_order: root must be a Value, got float"):
        autograd.topological_order(1.0)
