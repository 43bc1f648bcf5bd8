"""Module: parameter order and names, zero_grad, state dicts and user-defined modules."""

import pytest

import autograd
import nn
from autograd import Value


def test_named_parameters_follow_the_state_dict_layout():
    model = nn.MLP(2, [3, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names[:3] == ["layers.0.weight[0][0]", "layers.0.weight[0][1]", "layers.0.weight[1][0]"]
    assert names[6:9] == ["layers.0.bias[0]", "layers.0.bias[1]", "layers.0.bias[2]"]
    assert names[-1] == "layers.1.bias[0]"
    assert [p for _, p in model.named_parameters()] == model.parameters()
    assert model.parameters() == model.parameters()  # stable order, the same Value objects
    assert model.layers[0].neurons[1].w[0] is dict(model.named_parameters())["layers.0.weight[1][0]"]


def test_state_dict_has_torch_linear_shapes():
    state = nn.MLP(3, [4, 2], seed=0).state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert [len(state["layers.0.weight"]), len(state["layers.0.weight"][0])] == [4, 3]
    assert len(state["layers.0.bias"]) == 4
    assert [len(state["layers.1.weight"]), len(state["layers.1.weight"][0])] == [2, 4]
    assert all(isinstance(x, float) for row in state["layers.1.weight"] for x in row)


def test_zero_grad_clears_every_parameter():
    model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    model([1.0, -1.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_state_dict_round_trip_into_a_fresh_model():
    a, b = nn.MLP(2, [5, 3], seed=1), nn.MLP(2, [5, 3], seed=2)
    x = [0.4, -0.9]
    assert [o.data for o in a(x)] != [o.data for o in b(x)]
    b.load_state_dict(a.state_dict())
    assert [o.data for o in a(x)] == [o.data for o in b(x)]
    assert b.state_dict() == a.state_dict()


def test_a_user_defined_module_gets_everything_from_named_tensors():
    class Affine(nn.Module):
        def __init__(self):
            self.scale = Value(2.0)
            self.shift = [Value(0.5), Value(-0.5)]

        def named_tensors(self):
            return {"scale": self.scale, "shift": self.shift}

        def forward(self, x):
            return [self.scale * xi + s for xi, s in zip(x, self.shift, strict=True)]

    m = Affine()
    assert [n for n, _ in m.named_parameters()] == ["scale", "shift[0]", "shift[1]"]
    autograd.sum(m([1.0, 3.0])).backward()
    assert [p.grad for p in m.parameters()] == [4.0, 1.0, 1.0]
    m.load_state_dict({"scale": 3, "shift": [1.0, 2.0]})
    assert m.state_dict() == {"scale": 3.0, "shift": [1.0, 2.0]}
    with pytest.raises(NotImplementedError, match="cannot be saved"):
        m.save("never-written.json")
