"""Tests of pickling and copying Values, graphs and primitives (autograd/serialization.py)."""

import copy
import io
import math
import pickle
import subprocess
import sys
import textwrap

import pytest

import autograd
from autograd import Value, detect_anomaly, serialization
from autograd.engine import topological_order
from autograd.ops import all_primitives
from autograd.testing.strategies import domain_of, function_of

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


def roundtrip(obj, protocol=pickle.DEFAULT_PROTOCOL):
    return pickle.loads(pickle.dumps(obj, protocol=protocol))


def leaves_of(root):
    return [n for n in topological_order(root) if n.is_leaf]


def example_graph():
    """x, w and a graph over both with shared nodes, unary, binary, n-ary and family ops."""
    x, w = Value(0.7, label="x"), Value(-1.3, label="w")
    h = autograd.tanh(x * w) + x**2
    out = autograd.dot([h, w], [x, h], bias=autograd.sum([x, w, 1.5])) + autograd.leaky_relu(w, 0.2) + 2**x
    return x, w, out


def gradients_of(root, leaves):
    return autograd.gradients(root, leaves)


# -- leaves --


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_leaf_round_trips_with_data_grad_and_label(protocol):
    v = Value(2.5, label="w1")
    v.grad = -0.25
    back = roundtrip(v, protocol)
    assert (back.data, back.grad, back.label, back.is_leaf) == (2.5, -0.25, "w1", True)
    assert type(back.data) is float and back is not v


def test_a_leaf_pickles_in_a_few_bytes():
    # nn models are lists of leaf parameters: each one must cost about as much as its two floats.
    many = [Value(float(i)) for i in range(1000)]
    assert len(pickle.dumps(many)) / 1000 < 30
    assert len(pickle.dumps(Value(1.0))) < 80


def test_nan_inf_and_negative_zero_survive():
    values = [Value(math.nan), Value(math.inf), Value(-math.inf), Value(-0.0)]
    back = roundtrip(values)
    assert math.isnan(back[0].data) and back[1].data == math.inf and back[2].data == -math.inf
    assert math.copysign(1.0, back[3].data) == -1.0


# -- graphs --


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_graph_round_trips_to_the_same_values_and_gradients(protocol):
    x, w, out = example_graph()
    x2, w2, out2 = roundtrip((x, w, out), protocol)
    assert out2.data == out.data
    assert [n.op for n in topological_order(out2)] == [n.op for n in topological_order(out)]
    assert gradients_of(out2, [x2, w2]) == gradients_of(out, [x, w])
    # The unpickled leaves are the graph's own leaves, so backward reaches them.
    out2.backward()
    assert (x2.grad, w2.grad) == gradients_of(out, [x, w])


def test_leaves_keep_their_identity_across_everything_pickled_together():
    x, w, out = example_graph()
    params = {"x": x, "w": w}
    params2, out2 = roundtrip((params, out))
    assert set(leaves_of(out2)) >= {params2["x"], params2["w"]}


@pytest.mark.parametrize("order", ["inner first", "outer first"])
def test_a_shared_operation_node_keeps_its_identity(order):
    x = Value(1.5)
    inner = autograd.sin(x) * x
    outer = autograd.exp(inner) + inner
    pair = (inner, outer) if order == "inner first" else (outer, inner)
    back = roundtrip(pair)
    inner2, outer2 = back if order == "inner first" else back[::-1]
    assert inner2 in set(topological_order(outer2))
    outer2.backward()
    assert inner2.grad == pytest.approx(math.exp(inner.data) + 1, rel=1e-15)  # d outer / d inner


def test_gradients_stored_in_grad_survive():
    x, w, out = example_graph()
    out.backward()
    nodes = topological_order(out)
    back = topological_order(roundtrip(out))
    assert [n.grad for n in back] == [n.grad for n in nodes]


def test_a_graph_with_value_gradients_round_trips():
    # backward(create_graph=True) stores Values in .grad whose graphs contain the leaf itself (a cycle).
    x = Value(3.0)
    y = x**3
    y.backward(create_graph=True)
    x2, y2 = roundtrip((x, y))
    assert isinstance(x2.grad, Value) and x2.grad.data == 27.0
    assert x2 in set(topological_order(x2.grad))
    assert autograd.gradients(x2.grad, [x2]) == (18.0,)  # d(3x²)/dx = 6x


def test_a_graph_deeper_than_the_recursion_limit_pickles():
    x = Value(0.3)
    y = x
    for _ in range(5 * sys.getrecursionlimit()):
        y = autograd.sin(y) + 0.001
    x2, y2 = roundtrip((x, y))
    assert y2.data == y.data
    assert autograd.gradients(y2, [x2]) == autograd.gradients(y, [x])


def test_nodes_made_under_detect_anomaly_keep_their_class_and_site():
    x = Value(0.5)
    with detect_anomaly():
        y = autograd.tanh(x) * 3
    back = roundtrip(y)
    assert type(back) is type(y)
    assert getattr(back, "_site", None) == getattr(y, "_site", None)
    assert back.data == y.data


# -- primitives --


def _current(prim):
    """The primitive that name (and parameters) stand for now: a family member may have left its
    factory's cache since the examples were made, and then a new, equal one stands for it."""
    if autograd.ops.TABLE.get(prim.name) is prim:
        return prim
    return serialization._family_factory(prim.name)(*prim.params.values()).primitive


@pytest.mark.parametrize("prim", all_primitives(), ids=lambda p: p.display)
def test_every_built_in_primitive_pickles_by_name(prim):
    back = roundtrip(prim)
    assert back is _current(prim)
    assert (back.name, back.params, back.arity) == (prim.name, prim.params, prim.arity)


def _point(prim):
    # A fixed point in each input's domain (not its midpoint, which is often a kink such as 0).
    return [lo + 0.37 * (hi - lo) for lo, hi in domain_of(prim)]


@pytest.mark.parametrize("prim", all_primitives(), ids=lambda p: p.display)
def test_a_node_of_every_built_in_primitive_round_trips_with_its_gradients(prim):
    fn = function_of(prim)
    xs = [Value(v) for v in _point(prim)]
    out = fn(*xs)
    assert isinstance(out, Value) and (out.op, out._prim.params) == (prim.name, prim.params)
    xs2, out2 = roundtrip((xs, out))
    assert out2._prim is _current(out._prim)
    assert out2.data == out.data or (math.isnan(out2.data) and math.isnan(out.data))
    expected = [float(g) for g in autograd.gradients(out, xs)]
    got = [float(g) for g in autograd.gradients(out2, xs2)]
    assert got == pytest.approx(expected, rel=0, abs=0, nan_ok=True)


cube = autograd.primitive("cube_for_pickling", forward=lambda x: x**3, partials=lambda x, out: (3 * x**2,))


def test_an_unregistered_user_primitive_is_a_clear_error():
    unregistered = autograd.primitive("square_unregistered", forward=lambda x: x * x,
                                      partials=lambda x, out: (2 * x,))
    with pytest.raises(pickle.PicklingError, match=r"square_unregistered.*register_primitive"):
        pickle.dumps(unregistered(Value(2.0)))


def test_a_registered_user_primitive_round_trips():
    assert autograd.register_primitive(cube) is cube
    autograd.register_primitive(cube)  # twice is fine
    x = Value(2.0)
    x2, y2 = roundtrip((x, cube(x) + 1))
    assert y2.parents[0]._prim is cube.primitive
    assert autograd.gradients(y2, [x2]) == (12.0,)


def test_registering_again_under_a_name_replaces_the_primitive(monkeypatch):
    monkeypatch.setattr(serialization, "_REGISTRY", {})
    old = _identity_named("rerun_cell")
    node = old(Value(1.0))
    autograd.register_primitive(old)
    new = autograd.register_primitive(_identity_named("rerun_cell"))  # the cell run again
    assert roundtrip(new(Value(1.0))).op == "rerun_cell"
    with pytest.raises(pickle.PicklingError, match="another primitive has been registered as 'rerun_cell'"):
        pickle.dumps(node)


def test_unpickling_an_unregistered_user_primitive_says_how_to_register_it(monkeypatch):
    autograd.register_primitive(cube)
    data = pickle.dumps(cube(Value(2.0)))
    monkeypatch.setattr(serialization, "_REGISTRY", {})  # as in a program that did not register it
    with pytest.raises(pickle.UnpicklingError, match=r"cube_for_pickling.*register_primitive"):
        pickle.loads(data)


def _identity_named(name):
    return autograd.primitive(name, forward=lambda x: x, partials=lambda x, out: (1.0,))


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (lambda x: x, TypeError, "autograd.primitive"),
        ("cube", TypeError, "str"),
        (_identity_named("exp"), ValueError, "built-in"),
        (_identity_named("pow_const"), ValueError, "family"),
    ],
)
def test_register_primitive_refuses_what_it_cannot_register(bad, error, match):
    autograd.register_primitive(cube)
    with pytest.raises(error, match=match):
        autograd.register_primitive(bad)


# -- files that are not what we wrote --


class _Forged:
    """Pickles as a Value node with the given (malformed) state."""

    def __init__(self, state):
        self.state = state

    def __reduce__(self):
        return (serialization._blank, (Value,), self.state, None, None, serialization._set_state)


@pytest.mark.parametrize(
    "state",
    [
        "not a tuple",
        (1.0, 0.0, None, None),  # too short
        ("1.0", 0.0, None, None, None),  # data not a float
        (1.0, 0.0, None, "exp", (Value(1.0),)),  # a primitive that is not one
        (1.0, 0.0, None, autograd.ops.TABLE["exp"], (1.0,)),  # an input that is not a Value
        (1.0, 0.0, None, autograd.ops.TABLE["exp"], (Value(1.0), Value(2.0))),  # wrong arity
    ],
)
def test_a_malformed_node_is_an_unpickling_error(state):
    with pytest.raises(pickle.UnpicklingError, match="unpickling"):
        pickle.loads(pickle.dumps(_Forged(state)))


def test_an_unknown_primitive_name_is_an_unpickling_error():
    data = pickle.dumps(autograd.ops.TABLE["exp"]).replace(b"exp", b"xyz")
    with pytest.raises(pickle.UnpicklingError, match="xyz"):
        pickle.loads(data)


def test_a_failed_pickle_leaves_nothing_behind():
    unregistered = _identity_named("boom_unregistered")
    x = Value(1.0)
    y = autograd.exp(unregistered(autograd.sin(x)))
    with pytest.raises(pickle.PicklingError):
        pickle.dumps(y, protocol=4)
    # Whatever the failed call left, the next pickles are complete.
    good = autograd.exp(autograd.sin(x))
    x2, good2 = roundtrip((x, good))
    assert autograd.gradients(good2, [x2]) == autograd.gradients(good, [x])
    with io.BytesIO() as f:
        pickle.Pickler(f).dump(good)
        assert pickle.loads(f.getvalue()).data == good.data


# -- copy --


def test_deepcopy_copies_the_whole_graph():
    x, w, out = example_graph()
    (x2, w2, out2) = copy.deepcopy((x, w, out))
    originals = set(topological_order(out))
    assert not originals & set(topological_order(out2))
    assert {x2, w2} <= set(topological_order(out2))
    assert gradients_of(out2, [x2, w2]) == gradients_of(out, [x, w])
    assert (x2.label, w2.label) == ("x", "w")


def test_deepcopy_of_a_leaf_and_of_value_gradients():
    x = Value(3.0, label="x")
    x.grad = 1.5
    c = copy.deepcopy(x)
    assert (c.data, c.grad, c.label, c is x) == (3.0, 1.5, "x", False)
    y = x**3
    y.backward(create_graph=True)
    x2, y2 = copy.deepcopy((x, y))
    assert x2 in set(topological_order(x2.grad))  # the cycle through .grad is copied, not shared
    assert x not in set(topological_order(x2.grad))


def test_copy_makes_a_node_that_shares_its_inputs():
    x = Value(2.0)
    y = x * x
    c = copy.copy(y)
    assert c is not y and c.parents == y.parents and c.op == "mul" and c.data == 4.0


def test_deepcopy_deeper_than_the_recursion_limit():
    x = Value(0.3)
    y = x
    for _ in range(5 * sys.getrecursionlimit()):
        y = autograd.sin(y) * 1.001
    x2, y2 = copy.deepcopy((x, y))
    assert autograd.gradients(y2, [x2]) == autograd.gradients(y, [x])


# -- a graph 10^6 nodes deep, in a child process (a crash while freeing it must not take pytest down) --

DEEP = textwrap.dedent(
    """
    import copy, gc, pickle, sys
    import autograd
    from autograd import Value

    def chain(n):
        x, w = Value(0.5), Value(1.0000001)
        y = x
        for i in range(n // 2):
            y = autograd.tanh(y) * w
        return x, w, y

    x, w, y = chain(10**6)
    data = pickle.dumps((x, w, y), protocol=pickle.HIGHEST_PROTOCOL)
    x2, w2, y2 = pickle.loads(data)
    del data
    assert y2.data == y.data, (y2.data, y.data)
    y.backward()
    y2.backward()
    assert (x2.grad, w2.grad) == (x.grad, w.grad) != (0.0, 0.0), (x2.grad, w2.grad, x.grad, w.grad)
    print("pickle ok", x.grad, w.grad)
    del x2, w2, y2  # dropping the deep unpickled graph
    gc.collect()
    x3, w3, y3 = copy.deepcopy((x, w, y))
    x3.grad = w3.grad = 0.0
    y3.backward()
    assert (x3.grad, w3.grad) == (x.grad, w.grad)
    print("deepcopy ok")
    del x3, w3, y3, x, w, y
    gc.collect()
    print("dropped ok")
    """
)


def test_a_graph_a_million_nodes_deep_pickles_copies_and_frees():
    result = subprocess.run([sys.executable, "-c", DEEP], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-3:][1:] == ["deepcopy ok", "dropped ok"]
    assert result.stdout.startswith("pickle ok")
