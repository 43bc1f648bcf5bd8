"""Checkpoints: JSON files, atomic writes, strict validation (nothing changes on error), torch loading."""

import json
import math
import os

import pytest

import autograd
import nn
from nn import checkpoint


def snapshot(model):
    return json.dumps(model.state_dict())


def test_save_and_load_round_trip(tmp_path):
    model = nn.MLP(2, [6, 4, 3], activation="tanh", output_activation="sigmoid", seed=3)
    path = tmp_path / "model.json"
    model.save(path)
    document = json.loads(path.read_text())
    assert document["architecture"] == {
        "type": "MLP",
        "nin": 2,
        "nouts": [6, 4, 3],
        "activation": "tanh",
        "output_activation": "sigmoid",
    }
    loaded = nn.load(path)
    assert isinstance(loaded, nn.MLP) and repr(loaded) == repr(model)
    assert loaded.state_dict() == model.state_dict()  # floats survive JSON exactly (repr round-trips)
    other = nn.MLP(2, [6, 4, 3], activation="tanh", output_activation="sigmoid", seed=4)
    other.load(path)
    x = [0.3, -0.7]
    assert [o.data for o in other(x)] == [o.data for o in model(x)]


def test_layers_and_neurons_and_autograd_activations_save_too(tmp_path):
    for model in (
        nn.Layer(3, 2, activation="sigmoid", seed=0),
        nn.Neuron(4, activation="linear", seed=0),
        nn.MLP(2, [3, 1], activation=autograd.softplus, seed=0),
    ):
        model.save(tmp_path / "m.json")
        loaded = nn.load(tmp_path / "m.json")
        assert type(loaded) is type(model) and loaded.state_dict() == model.state_dict()
        assert loaded.architecture() == model.architecture()


def test_a_custom_callable_activation_cannot_be_named_in_a_file(tmp_path):
    model = nn.MLP(2, [3, 1], activation=lambda v: v * v, seed=0)
    with pytest.raises(ValueError, match="custom callable"):
        model.save(tmp_path / "m.json")
    assert not os.listdir(tmp_path)


def test_loading_into_a_different_architecture_is_refused(tmp_path):
    nn.MLP(2, [3, 1], seed=0).save(tmp_path / "m.json")
    model = nn.MLP(2, [3, 1], activation="tanh", seed=1)
    before = snapshot(model)
    with pytest.raises(nn.CheckpointError, match="this model is"):
        model.load(tmp_path / "m.json")
    assert snapshot(model) == before


def good_state():
    return nn.MLP(2, [3, 2], seed=0).state_dict()


def corrupt(change):
    state = good_state()
    change(state)
    return state


MALFORMED = {
    "missing key": (corrupt(lambda s: s.pop("layers.1.bias")), "layers.1.bias"),
    "extra key": (corrupt(lambda s: s.update({"layers.2.weight": [[1.0]]})), "layers.2.weight"),
    "too few rows": (corrupt(lambda s: s["layers.0.weight"].pop()), "layers.0.weight"),
    "row too long": (corrupt(lambda s: s["layers.1.weight"][1].append(0.5)), "layers.1.weight"),
    "bias not a list": (corrupt(lambda s: s.update({"layers.0.bias": 0.0})), "layers.0.bias"),
    "scalar where a row is": (corrupt(lambda s: s["layers.0.weight"].__setitem__(2, 1.0)), "layers.0.weight"),
    "string": (corrupt(lambda s: s["layers.1.weight"][0].__setitem__(1, "0.5")), "layers.1.weight"),
    "nan": (corrupt(lambda s: s["layers.0.bias"].__setitem__(1, math.nan)), "layers.0.bias"),
    "infinity": (corrupt(lambda s: s["layers.1.bias"].__setitem__(0, -math.inf)), "layers.1.bias"),
    "bool": (corrupt(lambda s: s["layers.0.weight"][0].__setitem__(0, True)), "layers.0.weight"),
    "null": (corrupt(lambda s: s["layers.0.weight"][0].__setitem__(0, None)), "layers.0.weight"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_state_dicts_are_rejected_and_change_nothing(case):
    state, key = MALFORMED[case]
    model = nn.MLP(2, [3, 2], seed=9)
    before = snapshot(model)
    with pytest.raises(nn.CheckpointError, match=key.replace(".", r"\.")):
        model.load_state_dict(state)
    assert snapshot(model) == before


def test_a_bad_entry_after_good_ones_still_changes_nothing():
    model = nn.MLP(2, [3, 2], seed=9)
    before = snapshot(model)
    state = corrupt(lambda s: s["layers.1.bias"].__setitem__(1, math.nan))  # the very last number
    with pytest.raises(nn.CheckpointError, match=r"layers\.1\.bias.*\[1\]"):
        model.load_state_dict(state)
    assert snapshot(model) == before


def test_not_a_mapping_is_rejected():
    with pytest.raises(nn.CheckpointError, match="mapping"):
        nn.MLP(2, [1], seed=0).load_state_dict([1.0, 2.0])


@pytest.mark.parametrize("case", ["NaN", "missing key", "wrong shape", "string"])
def test_malformed_files_are_rejected_and_change_nothing(tmp_path, case):
    source = nn.MLP(2, [3, 2], seed=0)
    document = checkpoint.make_document(source.architecture(), source.state_dict())
    state = document["state_dict"]
    if case == "NaN":
        state["layers.0.bias"][0] = math.nan
    elif case == "missing key":
        del state["layers.0.weight"]
    elif case == "wrong shape":
        state["layers.1.weight"] = state["layers.1.weight"][:1]
    else:
        state["layers.1.bias"][1] = "oops"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))  # json writes NaN as the non-standard token NaN
    model = nn.MLP(2, [3, 2], seed=1)
    before = snapshot(model)
    with pytest.raises(nn.CheckpointError, match="layers"):
        model.load(path)
    with pytest.raises(nn.CheckpointError, match="layers"):
        nn.load(path)
    assert snapshot(model) == before


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "truncated"),
        ("not json at all", "not a valid JSON"),
        ("[1, 2, 3]", "not a chaingrad checkpoint"),
        ('{"format": "chaingrad-checkpoint", "version": 99}', "version 99"),
        ('{"format": "chaingrad-checkpoint", "version": 1, "state_dict": {}}', "architecture"),
    ],
)
def test_truncated_and_foreign_files_are_rejected(tmp_path, text, message):
    good = tmp_path / "good.json"
    nn.MLP(2, [3, 2], seed=0).save(good)
    path = tmp_path / "bad.json"
    path.write_text(good.read_text()[:-40] if text is None else text)
    model = nn.MLP(2, [3, 2], seed=1)
    before = snapshot(model)
    with pytest.raises(nn.CheckpointError, match=message):
        model.load(path)
    with pytest.raises(nn.CheckpointError, match=message):
        nn.load(path)
    assert snapshot(model) == before


def test_unknown_model_type_in_a_file(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(checkpoint.make_document({"type": "Transformer"}, {})))
    with pytest.raises(nn.CheckpointError, match="Transformer"):
        nn.load(path)


def test_a_crash_mid_save_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    old = nn.MLP(2, [3, 1], seed=0)
    old.save(path)
    saved = path.read_bytes()
    real_fsync = os.fsync

    def crash(fd):
        real_fsync(fd)
        raise OSError("disk unplugged")  # after the bytes are written, before the rename

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk unplugged"):
        nn.MLP(2, [3, 1], seed=1).save(path)
    assert path.read_bytes() == saved
    assert os.listdir(tmp_path) == ["model.json"]  # no temporary file left behind
    assert nn.load(path).state_dict() == old.state_dict()


def test_non_finite_weights_are_not_saved(tmp_path):
    model = nn.MLP(2, [3, 1], seed=0)
    model.layers[1].neurons[0].w[2].data = math.inf
    with pytest.raises(nn.CheckpointError, match=r"layers\.1\.weight"):
        model.save(tmp_path / "m.json")
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("hidden, out", [("relu", "linear"), ("tanh", "sigmoid")])
def test_state_dict_loads_into_an_equivalent_torch_sequential(hidden, out):
    torch = pytest.importorskip("torch")
    model = nn.MLP(3, [8, 5, 2], activation=hidden, output_activation=out, init="xavier", seed=11)
    for i, p in enumerate(model.parameters()):  # nonzero biases, so that the bias layout is tested too
        p.data += 0.01 * (i % 7)
    acts = {
        "relu": torch.nn.ReLU,
        "tanh": torch.nn.Tanh,
        "sigmoid": torch.nn.Sigmoid,
        "linear": torch.nn.Identity,
    }
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 8),
        acts[hidden](),
        torch.nn.Linear(8, 5),
        acts[hidden](),
        torch.nn.Linear(5, 2),
        acts[out](),
    ).double()
    # Sequential numbers its modules 0..5; our layer i is its module 2i.
    state = {
        key.replace(f"layers.{i}.", f"{2 * i}."): torch.tensor(value, dtype=torch.float64)
        for key, value in model.state_dict().items()
        for i in [int(key.split(".")[1])]
    }
    net.load_state_dict(state)
    for x in ([0.1, -0.4, 2.0], [1.5, 0.0, -0.3], [-2.0, 1.0, 1.0]):
        expected = net(torch.tensor(x, dtype=torch.float64)).tolist()
        assert [o.data for o in model(x)] == pytest.approx(expected, rel=1e-12, abs=1e-14)
