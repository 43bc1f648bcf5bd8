"""Module: discovery of parameters and submodules from attributes, names, labels, modes, repr, pickling."""

import copy
import pickle

import pytest

import autograd
import nn
from autograd import Value


class Wrap(nn.Module):
    """The issue's example: parts kept as attributes, no super().__init__()."""

    def __init__(self):
        self.w = Value(0.5)
        self.mlp = nn.MLP(2, [3, 1], seed=0)

    def forward(self, x):
        return self.w * self.mlp(x)


class Nested(nn.Module):
    """Every kind of attribute: a list of modules, a dict, a tuple tensor, a tied Value, non-parameters."""

    def __init__(self):
        self.scale = Value(2.0, label="my scale")
        self.blocks = [Wrap(), nn.Neuron(2, "tanh", seed=1)]
        self.heads = {"a": nn.Layer(1, 2, seed=2), "b": Value(1.0)}
        self.grid = ([Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)])
        self.tied = self.scale  # the same Value again: listed once, under its first name
        self.again = self.blocks[0]  # the same module again: visited once
        self.rate = 0.1  # numbers, strings and computed Values are not parameters
        self.name = "nested"

    def forward(self, x):
        return self.scale * self.blocks[0](x)


MLP_NAMES = [f"layers.0.weight[{r}][{c}]" for r in range(3) for c in range(2)]
MLP_NAMES += [f"layers.0.bias[{r}]" for r in range(3)]
MLP_NAMES += [f"layers.1.weight[0][{c}]" for c in range(3)] + ["layers.1.bias[0]"]


def test_the_issue_example_has_its_parameters_in_assignment_order():
    model = Wrap()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["w", *[f"mlp.{n}" for n in MLP_NAMES]]
    assert model.parameters()[0] is model.w
    assert len(model.parameters()) == 1 + 13
    model([1.0, 2.0]).backward()
    assert model.w.grad != 0.0


def test_mlp_names_are_unchanged():
    model = nn.MLP(2, [3, 1], seed=0)
    assert [name for name, _ in model.named_parameters()] == MLP_NAMES
    assert model.layers[0].neurons[1].w[0] is dict(model.named_parameters())["layers.0.weight[1][0]"]
    assert list(model.state_dict()) == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
    ]


def test_nested_modules_every_kind_of_attribute():
    model = Nested()
    model.cached = model.scale * 2.0  # a computed Value: not a parameter
    names = [name for name, _ in model.named_parameters()]
    wrap = ["blocks.0.w", *[f"blocks.0.mlp.{n}" for n in MLP_NAMES]]
    expected = ["scale", *wrap, "blocks.1.weight[0]", "blocks.1.weight[1]", "blocks.1.bias"]
    expected += ["heads.a.weight[0][0]", "heads.a.weight[1][0]", "heads.a.bias[0]", "heads.a.bias[1]"]
    expected += ["heads.b", "grid[0][0]", "grid[0][1]", "grid[1][0]", "grid[1][1]"]
    assert names == expected
    params = model.parameters()
    assert len({id(p) for p in params}) == len(params)  # no duplicates
    assert list(model.named_tensors())[:3] == ["scale", "blocks.0.w", "blocks.0.mlp.layers.0.weight"]
    assert "tied" not in model.state_dict() and "cached" not in model.state_dict()
    modules = [name for name, _ in model.named_modules()]
    assert modules[:4] == ["", "blocks.0", "blocks.0.mlp", "blocks.0.mlp.layers.0"]
    assert "again" not in modules and "heads.a" in modules
    assert [name for name, _ in model.named_children()] == ["blocks.0", "blocks.1", "heads.a"]
    assert model.children() == [model.blocks[0], model.blocks[1], model.heads["a"]]
    assert model.modules()[0] is model


def test_state_dict_of_a_custom_module_round_trips():
    a, b = Nested(), Nested()
    for p in b.parameters():
        p.data += 1.0
    assert a.state_dict() != b.state_dict()
    b.load_state_dict(a.state_dict())
    assert a.state_dict() == b.state_dict()
    assert a.state_dict()["grid"] == [[1.0, 2.0], [3.0, 4.0]]


def test_unlabelled_parameters_get_their_dotted_name_and_own_labels_stay():
    model = Nested()
    labels = {name: p.label for name, p in model.named_parameters()}
    assert labels["scale"] == "my scale"
    assert labels["blocks.0.mlp.layers.0.weight[2][1]"] == "blocks.0.mlp.layers.0.weight[2][1]"
    assert labels["blocks.1.bias"] == "blocks.1.bias"
    # Built inside another module, a neuron's weights are named from the outermost module.
    assert nn.MLP(2, [2], seed=0).layers[0].neurons[1].w[0].label == "layers.0.weight[1][0]"
    # An attribute added after construction is named on the next discovery.
    model.extra = Value(0.0)
    assert dict(model.named_parameters())["extra"].label == "extra"


def test_a_mixed_list_of_parameters_and_results_is_refused():
    class Bad(nn.Module):
        def __init__(self):
            w = Value(1.0)
            self.mixed = [w, w * 2]

    with pytest.raises(TypeError, match="mixed.*computed"):
        Bad()


def test_cycles_and_self_references_terminate():
    model = Wrap()
    model.me = model
    model.loop = []
    model.loop.append(model.loop)
    assert len(model.parameters()) == 14


def test_train_and_eval_reach_every_submodule():
    model = Nested()
    assert model.training and all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_clears_every_parameter():
    model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    model([1.0, -1.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_default_repr_lists_tensors_and_children():
    text = repr(Wrap())
    assert text.startswith("Wrap(\n  (w): Value\n  (mlp): MLP(2, [3, 1], parameters=13)")
    assert "    (0): Layer(2 -> 3, activation='relu')" in text and text.endswith("\n)")

    class Empty(nn.Module):
        pass

    assert repr(Empty()) == "Empty()"


def test_overriding_named_tensors_is_refused_with_a_hint():
    with pytest.raises(TypeError, match="derived from the attributes"):

        class Old(nn.Module):
            def named_tensors(self):
                return {}


def test_a_custom_module_without_architecture_cannot_be_saved(tmp_path):
    with pytest.raises(NotImplementedError, match="cannot be saved"):
        Wrap().save(tmp_path / "never-written.json")


@pytest.mark.parametrize("make", [Wrap, Nested, lambda: nn.MLP(2, [4, 4, 2], activation="tanh", seed=0)])
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_models_pickle_and_deepcopy(make, how):
    model = make()
    clone = pickle.loads(pickle.dumps(model)) if how == "pickle" else copy.deepcopy(model)
    assert clone.state_dict() == model.state_dict()
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in model.named_parameters()]
    assert not {id(p) for p in clone.parameters()} & {id(p) for p in model.parameters()}
    x = [0.3, -0.8]
    out, again = model(x), clone(x)
    outs = out if isinstance(out, list) else [out]
    agains = again if isinstance(again, list) else [again]
    assert [o.data for o in agains] == [o.data for o in outs]
    autograd.sum(agains).backward()
    assert any(p.grad for p in clone.parameters()) and not any(p.grad for p in model.parameters())


def test_a_pickled_layer_keeps_its_neurons_tied_to_its_weights():
    layer = pickle.loads(pickle.dumps(nn.Layer(2, 3, activation="sigmoid", seed=0)))
    assert layer.neurons[2].w is layer.weight[2] and layer.neurons[0].b is layer.bias[0]
    assert layer.fn is autograd.sigmoid and len(layer.parameters()) == 9
