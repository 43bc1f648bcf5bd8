"""Neuron, Layer and MLP: shapes, graph structure, activations and forward values by hand."""

import math

import pytest

import autograd
import nn
from autograd import Value


def by_hand(model, x):
    """The MLP's forward pass on plain floats, written out from its state dict."""
    state = model.state_dict()
    acts = {"relu": lambda z: max(z, 0.0), "tanh": math.tanh, "sigmoid": lambda z: 1 / (1 + math.exp(-z))}
    acts["linear"] = lambda z: z
    for i, layer in enumerate(model.layers):
        w, b = state[f"layers.{i}.weight"], state[f"layers.{i}.bias"]
        x = [
            acts[layer.activation](sum(wj * xj for wj, xj in zip(row, x, strict=True)) + bi)
            for row, bi in zip(w, b, strict=True)
        ]
    return x


def test_micrograd_moons_network_has_337_parameters_and_returns_a_bare_value():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    assert len(model.parameters()) == 337 == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1
    assert [layer.activation for layer in model.layers] == ["relu", "relu", "linear"]
    out = model([0.5, -1.0])
    assert isinstance(out, Value)
    assert out.data == pytest.approx(by_hand(model, [0.5, -1.0])[0], rel=1e-12, abs=1e-12)


def test_several_outputs_return_a_list():
    model = nn.MLP(3, [4, 2], seed=1)
    out = model([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 2
    assert [o.data for o in out] == pytest.approx(by_hand(model, [1.0, 2.0, 3.0]), rel=1e-12)


@pytest.mark.parametrize(
    "nin,nouts", [(2, [16, 1, 1]), (1, [1]), (3, [1, 5, 1]), (2, [2, 3, 4, 2]), (5, [7])]
)
def test_odd_shapes_work_forward_and_backward(nin, nouts):
    model = nn.MLP(nin, nouts, activation="tanh", seed=3)  # tanh: no dead units, every weight gets a gradient
    x = [0.3 * (i + 1) for i in range(nin)]
    out = model(x)
    outs = out if isinstance(out, list) else [out]
    assert len(outs) == nouts[-1]
    assert [o.data for o in outs] == pytest.approx(by_hand(model, x), rel=1e-12, abs=1e-14)
    autograd.sum(outs).backward()
    expected = sum(n * m + m for n, m in zip([nin, *nouts[:-1]], nouts, strict=True))
    assert len(model.parameters()) == expected


def test_a_neuron_is_one_dot_node_with_the_bias():
    neuron = nn.Neuron(5, activation="relu", seed=0)
    out = neuron([1.0, 2.0, 3.0, 4.0, 5.0])
    assert out.op == "relu"
    (dot,) = out.parents
    # w·x + b is one node: the weights, then the inputs, then the bias.
    assert dot.op == "dot" and dot.parents[:5] == tuple(neuron.w)
    assert [x.data for x in dot.parents[5:10]] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert dot.parents[10] is neuron.b
    by_hand = sum(w.data * x for w, x in zip(neuron.w, range(1, 6), strict=True)) + neuron.b.data
    assert dot.data == pytest.approx(by_hand)
    assert len(autograd.topological_order(out)) == 5 + 5 + 1 + 2  # weights, inputs, bias, dot/relu


def test_inputs_become_values_once_per_model_call_not_once_per_neuron():
    model = nn.MLP(2, [3, 1], seed=0)
    out = model([1.0, 2.0])
    first_layer_dots = {
        id(n) for n in autograd.topological_order(out) if n.op == "dot" and len(n.parents) == 5
    }
    assert len(first_layer_dots) == 3
    input_leaves = {
        id(p) for n in autograd.topological_order(out) if id(n) in first_layer_dots for p in n.parents[2:4]
    }
    assert len(input_leaves) == 2


def test_values_as_inputs_receive_gradients():
    model = nn.MLP(2, [1], seed=0)  # linear: d out / d x_i = w_i
    x = [Value(0.5), Value(-2.0)]
    model(x).backward()
    assert [xi.grad for xi in x] == [w.data for w in model.layers[0].neurons[0].w]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
def test_named_activations_match_their_formulas(activation):
    layer = nn.Layer(2, 3, activation=activation, seed=5)
    x = [0.7, -0.2]
    formulas = {
        "relu": lambda z: max(z, 0.0),
        "tanh": math.tanh,
        "linear": lambda z: z,
        "sigmoid": lambda z: 1 / (1 + math.exp(-z)),
    }
    expected = [
        formulas[activation](sum(w.data * xi for w, xi in zip(n.w, x, strict=True)) + n.b.data)
        for n in layer.neurons
    ]
    assert [o.data for o in layer(x)] == pytest.approx(expected, rel=1e-12)


def test_any_autograd_function_or_callable_is_an_activation():
    model = nn.MLP(2, [4, 1], activation=autograd.softplus, seed=0)
    assert model.layers[0].activation == "softplus"
    z = sum(w.data * xi for w, xi in zip(model.layers[0].neurons[0].w, [1.0, 1.0], strict=True))
    h = model.layers[0]([1.0, 1.0])[0]
    assert h.data == pytest.approx(math.log1p(math.exp(z)), rel=1e-12)
    assert h.op == "softplus"
    squared = nn.Layer(1, 1, activation=lambda v: v * v, seed=0)
    w = squared.neurons[0].w[0].data
    assert squared([3.0]).data == pytest.approx((3.0 * w) ** 2)


def test_layer_with_one_output_returns_a_bare_value():
    assert isinstance(nn.Layer(3, 1, seed=0)([1, 2, 3]), Value)
    assert len(nn.Layer(3, 2, seed=0)([1, 2, 3])) == 2


def test_a_single_input_may_be_a_bare_number():
    model = nn.MLP(1, [2, 1], seed=0)
    assert model(0.5).data == model([0.5]).data


def test_bad_input_is_rejected_with_a_clear_error():
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="input 1 is str"):
        model([1.0, "a"])
    with pytest.raises(TypeError, match="sequence of 2 numbers"):
        model(3.0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: nn.MLP(0, [1]), "nin"),
        (lambda: nn.MLP(2, []), "non-empty"),
        (lambda: nn.MLP(2, [3, 0]), "layer size"),
        (lambda: nn.MLP(2, 3), "non-empty list"),
        (lambda: nn.Layer(2, 1.5), "nout"),
        (lambda: nn.MLP(2, [1], activation="swish"), "swish"),
        (lambda: nn.MLP(2, [1], init="lecun"), "lecun"),
    ],
)
def test_bad_construction_arguments_name_the_problem(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_repr_shows_the_architecture_and_parameter_count():
    text = repr(nn.MLP(2, [16, 16, 1], seed=0))
    assert "MLP(2, [16, 16, 1], parameters=337)" in text
    assert "Layer(16 -> 1, activation='linear')" in text
    assert repr(nn.Neuron(3, "tanh", seed=0)) == "Neuron(3, activation='tanh')"


@pytest.mark.parametrize(
    "model",
    [
        nn.Neuron(3, "tanh", seed=0),
        nn.Layer(4, 2, "sigmoid", seed=0),
        nn.MLP(1, [1], seed=0),
        nn.MLP(3, [5, 4, 2], activation="softplus", output_activation="tanh", seed=0),
    ],
    ids=repr,
)
def test_tensor_shapes_from_the_architecture_match_the_built_model(model):
    from nn.checkpoint import shape_of

    shapes = dict(type(model).tensor_shapes(model.architecture()))
    assert shapes == {name: shape_of(t) for name, t in model.named_tensors().items()}
    assert list(shapes) == list(model.state_dict())


def test_a_layer_names_its_rows_and_its_neurons_share_them():
    layer = nn.Layer(2, 3, seed=0)
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert [n for n, _ in layer.named_modules()] == ["", "neurons.0", "neurons.1", "neurons.2"]
    assert all(n.weight is row and n.w is row for n, row in zip(layer.neurons, layer.weight, strict=True))
    assert [n.bias for n in layer.neurons] == layer.bias
    assert list(layer.neurons[0].state_dict()) == ["weight", "bias"]
