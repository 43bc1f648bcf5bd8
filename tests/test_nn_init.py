"""Initialization: seeded, reproducible, the right distributions, zero biases, micrograd parity."""

import math
import random
import statistics

import pytest

import nn
from nn import init


def weights(model):
    return [w for name, w in model.named_parameters() if "weight" in name]


def test_the_same_seed_gives_the_same_weights_and_another_seed_others():
    a = nn.MLP(2, [8, 8, 1], seed=42).state_dict()
    assert a == nn.MLP(2, [8, 8, 1], seed=42).state_dict()
    assert a != nn.MLP(2, [8, 8, 1], seed=43).state_dict()
    assert a == nn.MLP(2, [8, 8, 1], seed=random.Random(42)).state_dict()


def test_biases_start_at_zero():
    model = nn.MLP(3, [5, 2], init="he", seed=0)
    biases = [p.data for name, p in model.named_parameters() if "bias" in name]
    assert biases == [0.0] * 7


@pytest.mark.parametrize(
    "scheme, bound",
    [
        ("uniform", lambda fan_in, fan_out: 1.0),
        ("xavier", lambda fan_in, fan_out: math.sqrt(6 / (fan_in + fan_out))),
        ("glorot", lambda fan_in, fan_out: math.sqrt(6 / (fan_in + fan_out))),
        ("he", lambda fan_in, fan_out: math.sqrt(6 / fan_in)),
        ("kaiming", lambda fan_in, fan_out: math.sqrt(6 / fan_in)),
    ],
)
def test_schemes_draw_uniformly_within_their_bound(scheme, bound):
    layer = nn.Layer(60, 40, init=scheme, seed=7)
    a = bound(60, 40)
    ws = [w.data for row in layer.named_tensors()["weight"] for w in row]
    assert all(-a <= w <= a for w in ws)
    # U(-a, a) has variance a^2 / 3; with 2400 draws the sample variance is within a few percent.
    assert statistics.pvariance(ws) == pytest.approx(a * a / 3, rel=0.1)
    assert max(ws) > 0.9 * a and min(ws) < -0.9 * a


def test_a_callable_initializer_gets_the_generator_and_fans():
    seen = []

    def constant(rng, fan_in, fan_out):
        seen.append((fan_in, fan_out))
        return 0.25

    model = nn.MLP(3, [2, 1], init=constant, seed=0)
    assert all(w.data == 0.25 for w in weights(model))
    assert set(seen) == {(3, 2), (2, 1)}


def test_bad_seed_is_rejected():
    with pytest.raises(TypeError, match="seed"):
        nn.MLP(2, [1], seed="abc")
    with pytest.raises(ValueError, match="unknown scheme"):
        init.get_initializer("orthogonal")


def test_uniform_scheme_draws_the_same_weights_as_micrograd():
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(1337)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    ours = nn.MLP(2, [16, 16, 1], seed=random.Random(1337))
    # micrograd lists each neuron's weights then its bias; compare weights neuron by neuron.
    their_weights = [p.data for layer in theirs.layers for n in layer.neurons for p in n.w]
    our_weights = [w.data for layer in ours.layers for n in layer.neurons for w in n.w]
    assert our_weights == their_weights


def test_seed_none_draws_from_the_global_random_so_random_seed_reproduces_a_model():
    random.seed(0)
    a = nn.MLP(2, [8, 1]).state_dict()
    data_a = nn.make_moons(20)
    random.seed(0)
    b = nn.MLP(2, [8, 1]).state_dict()
    data_b = nn.make_moons(20)
    assert a == b and data_a == data_b
    assert nn.MLP(2, [8, 1]).state_dict() != a  # the global generator moved on


def test_an_int_seed_neither_reads_nor_moves_the_global_random():
    random.seed(5)
    state = random.getstate()
    a = nn.MLP(2, [8, 1], seed=3).state_dict()
    assert random.getstate() == state
    random.seed(6)
    assert nn.MLP(2, [8, 1], seed=3).state_dict() == a


def test_seed_none_after_random_seed_gives_micrograds_weights():
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(1337)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ours = nn.MLP(2, [16, 16, 1])
    their_weights = [p.data for layer in theirs.layers for n in layer.neurons for p in n.w]
    assert [w.data for layer in ours.layers for n in layer.neurons for w in n.w] == their_weights
