"""Checkpoints: round trips, strict validation, hostile files (fuzz, bomb), atomic saves, registry, torch."""

import json
import math
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap

import pytest

import autograd
import nn
from autograd import Value
from nn import checkpoint

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals, modes and resource limits")


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


@pytest.mark.parametrize("suffix", [".json", ".safetensors"])
def test_layers_neurons_and_every_named_activation_save_too(tmp_path, suffix):
    models = [nn.Layer(3, 2, activation="sigmoid", seed=0), nn.Neuron(4, activation="linear", seed=0)]
    models += [nn.MLP(2, [3, 1], activation=name, seed=0) for name in sorted(nn.layers.ACTIVATIONS)]
    models.append(nn.MLP(2, [3, 1], activation=autograd.softplus, seed=0))
    for model in models:
        model.save(tmp_path / f"m{suffix}")
        loaded = nn.load(tmp_path / f"m{suffix}")
        assert type(loaded) is type(model) and loaded.state_dict() == model.state_dict()
        assert loaded.architecture() == model.architecture()


def test_activations_are_a_fixed_list_of_elementwise_functions():
    assert {"relu", "tanh", "sigmoid", "linear", "softplus", "leaky_relu"} <= set(nn.layers.ACTIVATIONS)
    for name in ("backward", "grad", "sum", "dot", "Value", "no_grad", "__import__", "swish"):
        with pytest.raises(ValueError, match="unknown name"):
            nn.MLP(2, [1], activation=name)


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


# ---- state dicts --------------------------------------------------------------------------------


def good_state():
    return nn.MLP(2, [3, 2], seed=0).state_dict()


def corrupt(change):
    state = good_state()
    change(state)
    return state


MALFORMED_STATES = {
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
    "huge int": (corrupt(lambda s: s["layers.0.bias"].__setitem__(0, 10**400)), "layers.0.bias"),
}


@pytest.mark.parametrize("case", list(MALFORMED_STATES))
def test_malformed_state_dicts_are_rejected_and_change_nothing(case):
    state, key = MALFORMED_STATES[case]
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


class Tied(nn.Module):
    """Two tensors sharing one Value: the second is a partial view."""

    def __init__(self):
        self.a = [Value(1.0), Value(2.0)]
        self.b = [self.a[1], Value(3.0)]


def test_a_shared_value_must_get_one_number():
    model = Tied()
    assert model.state_dict() == {"a": [1.0, 2.0], "b": [2.0, 3.0]}
    model.load_state_dict({"a": [5.0, 6.0], "b": [6.0, 7.0]})
    assert [p.data for p in model.parameters()] == [5.0, 6.0, 7.0]
    with pytest.raises(nn.CheckpointError, match="same parameter"):
        model.load_state_dict({"a": [5.0, 6.0], "b": [8.0, 7.0]})
    assert [p.data for p in model.parameters()] == [5.0, 6.0, 7.0]


# ---- hostile files ------------------------------------------------------------------------------


def document_text(**changes):
    """The JSON text of a good MLP(2, [3, 2]) checkpoint, with architecture keys replaced by raw JSON."""
    model = nn.MLP(2, [3, 2], seed=0)
    arch = model.architecture()
    parts = [f'"{k}": {changes.pop(k, json.dumps(v))}' for k, v in arch.items()]
    state = json.dumps(model.state_dict())
    if "state" in changes:
        state = changes.pop("state")
    assert not changes
    architecture = ", ".join(parts)
    return (
        f'{{"format": "chaingrad-checkpoint", "version": 1, "architecture": {{{architecture}}}, '
        f'"state_dict": {state}}}'
    )


GOOD = document_text()
STATE = json.dumps(good_state())


def with_state(old, new):
    assert old in STATE
    return document_text(state=STATE.replace(old, new, 1))


BIAS = '"layers.0.bias": [0.0, 0.0, 0.0]'
# The 168-byte file, give or take a few bytes: a Neuron that claims a billion inputs.
BOMB = (
    b'{"format": "chaingrad-checkpoint", "version": 1, "architecture": {"type": "Neuron", '
    b'"nin": 1000000000, "activation": "relu"}, "state_dict": {"weight": [0.5], "bias": 0.0}}'
)

# name -> (file bytes, what the message must name besides the path; None for file-level problems)
HOSTILE = {
    "non-UTF-8 bytes": (GOOD.replace('"relu"', '"re\udcfflu"').encode("utf-8", "surrogateescape"), "UTF-8"),
    "UTF-8 BOM": (b"\xef\xbb\xbf" + GOOD.encode(), None),
    "empty": (b"", None),
    "whitespace": (b"  \n ", None),
    "truncated": (GOOD[:-40].encode(), "truncated"),
    "top-level list": (b"[1, 2, 3]", "not a chaingrad checkpoint"),
    "100,000-level nesting": (
        with_state(BIAS, '"layers.0.bias": ' + "[" * 100_000 + "]" * 100_000).encode(),
        "nested",
    ),
    "40-level nesting": (
        with_state(BIAS, '"layers.0.bias": ' + "[" * 40 + "0" + "]" * 40).encode(),
        "nested",
    ),
    "1e400 as nin": (document_text(nin="1e400").encode(), "architecture.nin"),
    "-1e400 as a weight": (with_state(BIAS, '"layers.0.bias": [0.0, -1e400, 0.0]').encode(), "layers.0.bias"),
    "5,000-digit nin": (document_text(nin="9" * 5000).encode(), "architecture.nin"),
    "5,000-digit weight": (
        with_state(BIAS, '"layers.0.bias": [0.0, %s, 0.0]' % ("7" * 5000)).encode(),
        "layers.0.bias",
    ),
    "400-digit weight": (
        with_state(BIAS, '"layers.0.bias": [0.0, %s, 0.0]' % ("7" * 400)).encode(),
        "layers.0.bias",
    ),
    "NaN token": (with_state(BIAS, '"layers.0.bias": [0.0, NaN, 0.0]').encode(), "layers.0.bias"),
    "Infinity token": (with_state(BIAS, '"layers.0.bias": [Infinity, 0.0, 0.0]').encode(), "layers.0.bias"),
    "duplicate weight key": (with_state(BIAS, BIAS + ", " + BIAS).encode(), "duplicate key"),
    "duplicate top-level key": (
        GOOD.replace('"version": 1,', '"version": 1, "version": 1,').encode(),
        "duplicate key",
    ),
    "duplicate architecture key": (document_text(nin='2, "nin": 3').encode(), "architecture.nin"),
    "bool nin": (document_text(nin="true").encode(), "nin"),
    "float nin": (document_text(nin="2.0").encode(), "nin"),
    "zero nin": (document_text(nin="0").encode(), "nin"),
    "negative nin": (document_text(nin="-2").encode(), "nin"),
    "string nin": (document_text(nin='"2"').encode(), "nin"),
    "nouts not a list": (document_text(nouts="3").encode(), "nouts"),
    "empty nouts": (document_text(nouts="[]").encode(), "nouts"),
    "string in nouts": (document_text(nouts='[3, "2"]').encode(), "nouts"),
    "bool in nouts": (document_text(nouts="[3, true]").encode(), "nouts"),
    "activation backward": (document_text(activation='"backward"').encode(), "activation"),
    "activation __import__": (document_text(activation='"__import__"').encode(), "activation"),
    "activation not a string": (document_text(activation="[1]").encode(), "activation"),
    "output activation sum": (document_text(output_activation='"sum"').encode(), "output_activation"),
    "unknown type": (document_text(type='"Transformer"').encode(), "Transformer"),
    "type not a string": (document_text(type="7").encode(), "architecture.type"),
    "missing architecture key": (GOOD.replace('"nin": 2, ', "").encode(), "nin"),
    "extra architecture key": (document_text(nin='2, "dropout": 0.5').encode(), "dropout"),
    "bool weight": (with_state(BIAS, '"layers.0.bias": [true, 0.0, 0.0]').encode(), "layers.0.bias"),
    "string weight": (with_state(BIAS, '"layers.0.bias": ["0", 0.0, 0.0]').encode(), "layers.0.bias"),
    "null weight": (with_state(BIAS, '"layers.0.bias": [null, 0.0, 0.0]').encode(), "layers.0.bias"),
    "object as weights": (with_state(BIAS, '"layers.0.bias": {"0": 0.0}').encode(), "layers.0.bias"),
    "ragged rows": (
        with_state('"layers.0.weight": [[', '"layers.0.weight": [[1.0], [').encode(),
        "layers.0.weight",
    ),
    "shape bigger than the architecture": (document_text(nin="3").encode(), "architecture"),
    "lone surrogate key": (with_state(BIAS, BIAS + ', "\\ud800": 1.0').encode(), "unexpected key"),
    "state_dict a list": (document_text(state="[1.0]").encode(), "state_dict"),
    "extra top-level key": (GOOD.replace('"version": 1,', '"version": 1, "pickle": "x",').encode(), "pickle"),
    "version true": (GOOD.replace('"version": 1', '"version": true').encode(), "version"),
    "version 1.0": (GOOD.replace('"version": 1', '"version": 1.0').encode(), "version"),
    "wrong format": (GOOD.replace("chaingrad-checkpoint", "pickle").encode(), "not a chaingrad checkpoint"),
    "the issue's bomb": (BOMB, "architecture"),
    "an MLP bomb": (document_text(nin="1000000000").encode(), "architecture"),
    "a billion layers": (document_text(nouts="[1" + ", 1" * 200_000 + "]").encode(), "architecture"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_every_malformed_file_raises_checkpoint_error_naming_path_and_key(tmp_path, case):
    data, key = HOSTILE[case]
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    model = nn.MLP(2, [3, 2], seed=1)
    before = snapshot(model)
    for load in (nn.load, model.load):
        with pytest.raises(nn.CheckpointError) as info:
            load(path)
        message = str(info.value)
        assert str(path) in message
        if key is not None:
            assert key in message, message
        message.encode("utf-8")  # printable: file contents are shown by repr, cut short
        assert len(message) < 1000
    assert snapshot(model) == before


def test_the_good_document_of_the_table_loads(tmp_path):
    path = tmp_path / "good.json"
    path.write_text(GOOD)
    assert nn.load(path).state_dict() == good_state()


def test_the_caps_are_enforced_before_parsing(tmp_path):
    path = tmp_path / "m.json"
    nn.MLP(2, [16, 16, 1], seed=0).save(path)  # 337 parameters
    assert nn.load(path, max_parameters=337).num_parameters() == 337
    with pytest.raises(nn.CheckpointError, match="more than 336 parameters"):
        nn.load(path, max_parameters=336)
    padded = tmp_path / "padded.json"
    padded.write_text(path.read_text() + " " * (2 << 20))  # whitespace costs no memory, but is refused
    assert nn.load(padded, max_parameters=20_000).num_parameters() == 337
    with pytest.raises(nn.CheckpointError, match="bytes, more than"):
        nn.load(padded, max_parameters=337)  # the file-size cap: 1 MiB + 64 bytes per number
    lists = tmp_path / "lists.json"
    lists.write_text("[" + ", ".join(["[]"] * 20_000) + "]")  # memory in objects, not in numbers
    with pytest.raises(nn.CheckpointError, match="lists and objects"):
        nn.load(lists, max_parameters=1000)
    with pytest.raises(ValueError, match="max_parameters"):
        nn.load(path, max_parameters=-1)


def test_random_mutations_raise_only_checkpoint_error(tmp_path):
    rng = random.Random(1234)
    good = GOOD.encode()
    tokens = [b"[", b"]", b"{", b"}", b'"', b",", b":", b"1e999", b"-", b"true", b"null", b"\xff", b"\\u"]
    model = nn.MLP(2, [3, 2], seed=1)
    before = snapshot(model)
    path = tmp_path / "fuzz.json"
    outcomes = {"error": 0, "loaded": 0}
    for _ in range(400):
        data = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(data))
            kind = rng.randrange(4)
            if kind == 0:
                data[i] = rng.randrange(256)
            elif kind == 1:
                del data[i : i + rng.randint(1, 20)]
            elif kind == 2:
                data[i:i] = rng.choice(tokens)
            else:
                del data[i:]
        path.write_bytes(bytes(data))
        try:
            nn.load(path)
            outcomes["loaded"] += 1
        except nn.CheckpointError:
            outcomes["error"] += 1
        try:
            model.load(path)
        except nn.CheckpointError:
            assert snapshot(model) == before
        else:
            model.load_state_dict(json.loads(before))
    assert outcomes["error"] > 300  # most mutations break the file; every break was a CheckpointError


@posix_only
def test_the_168_byte_bomb_fails_under_a_memory_cap(tmp_path):
    path = tmp_path / "bomb.json"
    assert len(BOMB) < 200
    path.write_bytes(BOMB)
    script = textwrap.dedent(
        """
        import resource, sys
        import nn
        limit = 256 << 20  # far below what a billion Values would take (about 100 GB)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            nn.load(sys.argv[1])
        except nn.CheckpointError as err:
            print("CheckpointError:", err)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("CheckpointError:") and "1,000,000 parameters" in done.stdout


# ---- registry -----------------------------------------------------------------------------------


class Affine(nn.Module):
    """A user model that can be saved: y = scale * x + shift."""

    def __init__(self, n):
        self.scale = Value(2.0)
        self.shift = [Value(0.1 * i) for i in range(n)]

    def forward(self, x):
        return [self.scale * xi + s for xi, s in zip(x, self.shift, strict=True)]

    def architecture(self):
        return {"n": len(self.shift)}  # "type" is filled in by save

    @classmethod
    def tensor_shapes(cls, architecture):
        n = architecture["n"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n: expected a positive int, got {n!r}")
        yield "scale", ()
        yield "shift", (n,)

    @classmethod
    def from_architecture(cls, architecture):
        cls.built += 1
        return cls(architecture["n"])

    built = 0


class MLP(nn.Module):
    """A user class with a built-in's name: it must not replace nn.MLP in the load registry."""

    def __init__(self):
        self.w = Value(1.0)


def test_the_registry_is_keyed_by_qualified_name_and_builtins_cannot_be_shadowed(tmp_path):
    assert nn.Module.registry["MLP"] is nn.MLP
    assert nn.Module.registry[f"{__name__}.MLP"] is MLP
    nn.MLP(2, [3, 1], seed=0).save(tmp_path / "m.json")
    assert type(nn.load(tmp_path / "m.json")) is nn.MLP
    model = Affine(3)
    model.shift[2].data = 7.5
    model.save(tmp_path / "a.json")
    loaded = nn.load(tmp_path / "a.json")
    assert type(loaded) is Affine and loaded.state_dict() == model.state_dict()
    assert json.loads((tmp_path / "a.json").read_text())["architecture"]["type"] == f"{__name__}.Affine"
    loaded.load(tmp_path / "a.json")


def test_a_user_class_with_tensor_shapes_is_checked_before_it_is_built(tmp_path):
    path = tmp_path / "bomb.json"
    architecture = {"type": f"{__name__}.Affine", "n": 10**9}
    path.write_text(json.dumps(checkpoint.make_document(architecture, {"scale": 1.0, "shift": [0.0]})))
    built = Affine.built
    with pytest.raises(nn.CheckpointError, match="more than 1,000,000 parameters"):
        nn.load(path)
    architecture["n"] = "3"
    path.write_text(json.dumps(checkpoint.make_document(architecture, {"scale": 1.0, "shift": [0.0]})))
    with pytest.raises(nn.CheckpointError, match="n: expected a positive int"):
        nn.load(path)
    assert Affine.built == built  # never constructed from the hostile file


def test_a_user_class_without_from_architecture_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(checkpoint.make_document({"type": f"{__name__}.MLP"}, {"w": 1.0})))
    with pytest.raises(nn.CheckpointError, match="cannot build"):
        nn.load(path)


# ---- atomic saves -------------------------------------------------------------------------------


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


@posix_only
def test_saved_files_have_ordinary_modes_and_keep_a_replaced_files_mode(tmp_path):
    old = os.umask(0o022)
    try:
        model = nn.MLP(2, [3, 1], seed=0)
        model.save(tmp_path / "new.json")
        assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o644
        os.chmod(tmp_path / "new.json", 0o640)
        model.save(tmp_path / "new.json")
        assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o640
    finally:
        os.umask(old)


@posix_only
def test_saving_through_a_symlink_writes_its_target(tmp_path):
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "model.json"
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    nn.MLP(2, [3, 1], seed=0).save(link)
    nn.MLP(2, [3, 1], seed=1).save(link)
    assert link.is_symlink() and nn.load(target).state_dict() == nn.MLP(2, [3, 1], seed=1).state_dict()


CHILD = textwrap.dedent(
    """
    import os, sys, time
    import nn
    path, mode = sys.argv[1], sys.argv[2]
    models = [nn.MLP(4, [48, 48, 4], seed=s) for s in (0, 1)]
    if mode == "mid-write":  # block inside the first save, after the bytes, before the rename
        real = os.fsync
        def stall(fd):
            real(fd)
            print("writing", flush=True)
            time.sleep(60)
        os.fsync = stall
    print("ready", flush=True)
    i = 0
    while True:
        models[i % 2].save(path)
        i += 1
    """
)


@posix_only
def test_repeated_sigkill_during_save_leaves_a_loadable_file_and_no_growing_leftovers(tmp_path):
    path = tmp_path / "model.json"
    expected = [nn.MLP(4, [48, 48, 4], seed=s).state_dict() for s in (0, 1)]
    nn.MLP(4, [48, 48, 4], seed=0).save(path)
    rng = random.Random(7)
    leftovers_seen = []
    for k in range(6):
        mode = "mid-write" if k % 2 == 0 else "loop"
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), mode], stdout=subprocess.PIPE, text=True
        )
        try:
            assert child.stdout.readline().strip() == "ready"
            if mode == "mid-write":
                assert child.stdout.readline().strip() == "writing"
            else:
                import time

                time.sleep(rng.uniform(0.0, 0.3))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            child.stdout.close()
        temporaries = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
        leftovers_seen.append(len(temporaries))
        assert len(temporaries) <= 1  # at most the killed writer's own: earlier ones were cleaned
        if mode == "mid-write":
            assert len(temporaries) == 1
        assert nn.load(path).state_dict() in expected
    nn.MLP(4, [48, 48, 4], seed=1).save(path)
    assert os.listdir(tmp_path) == ["model.json"]
    assert nn.load(path).state_dict() == expected[1]


# ---- PyTorch: state dicts and safetensors -------------------------------------------------------


def torch_sequential(torch, model, hidden, out):
    acts = {
        "relu": torch.nn.ReLU,
        "tanh": torch.nn.Tanh,
        "sigmoid": torch.nn.Sigmoid,
        "linear": torch.nn.Identity,
    }
    sizes = [model.nin, *model.nouts]
    layers = []
    for i in range(len(model.nouts)):
        layers += [
            torch.nn.Linear(sizes[i], sizes[i + 1]),
            acts[out if i == len(model.nouts) - 1 else hidden](),
        ]
    return torch.nn.Sequential(*layers).double()


def to_sequential_names(state):
    """Sequential numbers its modules 0..; our layer i is its module 2i (an activation between)."""
    return {
        key.replace(f"layers.{i}.", f"{2 * i}."): value
        for key, value in state.items()
        for i in [int(key.split(".")[1])]
    }


def example_model():
    model = nn.MLP(3, [8, 5, 2], activation="tanh", output_activation="sigmoid", init="xavier", seed=11)
    for i, p in enumerate(model.parameters()):  # nonzero biases, so that the bias layout is tested too
        p.data += 0.01 * (i % 7)
    return model


INPUTS = ([0.1, -0.4, 2.0], [1.5, 0.0, -0.3], [-2.0, 1.0, 1.0])


@pytest.mark.parametrize("hidden, out", [("relu", "linear"), ("tanh", "sigmoid")])
def test_state_dict_loads_into_an_equivalent_torch_sequential(hidden, out):
    torch = pytest.importorskip("torch")
    model = nn.MLP(3, [8, 5, 2], activation=hidden, output_activation=out, init="xavier", seed=11)
    for i, p in enumerate(model.parameters()):
        p.data += 0.01 * (i % 7)
    net = torch_sequential(torch, model, hidden, out)
    net.load_state_dict(
        {k: torch.tensor(v, dtype=torch.float64) for k, v in to_sequential_names(model.state_dict()).items()}
    )
    for x in INPUTS:
        expected = net(torch.tensor(x, dtype=torch.float64)).tolist()
        assert [o.data for o in model(x)] == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_safetensors_export_loads_into_torch_with_the_safetensors_package(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = example_model()
    path = tmp_path / "m.safetensors"
    model.save(path)
    tensors = safetensors_torch.load_file(str(path))
    assert {k: tuple(v.shape) for k, v in tensors.items()} == {
        "layers.0.weight": (8, 3),
        "layers.0.bias": (8,),
        "layers.1.weight": (5, 8),
        "layers.1.bias": (5,),
        "layers.2.weight": (2, 5),
        "layers.2.bias": (2,),
    }
    assert all(v.dtype == torch.float64 for v in tensors.values())
    net = torch_sequential(torch, model, "tanh", "sigmoid")
    net.load_state_dict(to_sequential_names(tensors))
    for x in INPUTS:
        assert net(torch.tensor(x, dtype=torch.float64)).tolist() == pytest.approx(
            [o.data for o in model(x)], rel=1e-12, abs=1e-14
        )
    loaded = nn.load(path)
    assert loaded.state_dict() == model.state_dict()  # float64 bytes: exact


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_safetensors_from_torch_load_into_a_model(tmp_path, dtype):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    model = example_model()
    net = torch_sequential(torch, model, "tanh", "sigmoid").to(getattr(torch, dtype))
    ours = {
        k.replace(f"{2 * i}.", f"layers.{i}.", 1): v
        for k, v in net.state_dict().items()
        for i in [int(k[0]) // 2]
    }
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(ours, str(path))
    model.load(path)  # no chaingrad metadata: the names and shapes are checked against the model
    for key, value in ours.items():
        assert model.state_dict()[key] == value.double().tolist()
    with pytest.raises(nn.CheckpointError, match="no chaingrad architecture"):
        nn.load(path)


def safetensors_bytes(header, data=b""):
    text = (header if isinstance(header, str) else json.dumps(header)).encode()
    return len(text).to_bytes(8, "little") + text + data


def f64(*xs):
    import struct

    return struct.pack(f"<{len(xs)}d", *xs)


NEURON_META = {
    "format": "chaingrad-checkpoint",
    "version": "1",
    "architecture": json.dumps({"type": "Neuron", "nin": 2, "activation": "relu"}),
}
GOOD_HEADER = {
    "__metadata__": NEURON_META,
    "weight": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]},
    "bias": {"dtype": "F64", "shape": [], "data_offsets": [16, 24]},
}


def header_with(**entries):
    header = json.loads(json.dumps(GOOD_HEADER))
    for key, value in entries.items():
        if value is None:
            del header[key]
        else:
            header[key] = value
    return header


HOSTILE_SAFETENSORS = {
    "short file": (b"\x01\x00", None),
    "huge header length": ((2**63).to_bytes(8, "little") + b"{}", "header length"),
    "header not JSON": (b"\x04\x00\x00\x00\x00\x00\x00\x00{{{{", "JSON"),
    "header a list": (safetensors_bytes([1, 2]), "not a JSON object"),
    "dtype I64": (
        safetensors_bytes(
            header_with(bias={"dtype": "I64", "shape": [], "data_offsets": [16, 24]}), f64(1, 2, 3)
        ),
        "bias",
    ),
    "shape bomb": (
        safetensors_bytes(
            header_with(weight={"dtype": "F64", "shape": [10**9, 10**9], "data_offsets": [0, 16]}),
            f64(1, 2, 3),
        ),
        "weight",
    ),
    "negative shape": (
        safetensors_bytes(
            header_with(weight={"dtype": "F64", "shape": [-2], "data_offsets": [0, 16]}), f64(1, 2, 3)
        ),
        "weight",
    ),
    "bool shape": (
        safetensors_bytes(
            header_with(weight={"dtype": "F64", "shape": [True, 2], "data_offsets": [0, 16]}), f64(1, 2, 3)
        ),
        "weight",
    ),
    "offsets too short": (
        safetensors_bytes(
            header_with(weight={"dtype": "F64", "shape": [2], "data_offsets": [0, 8]}), f64(1, 2, 3)
        ),
        "weight",
    ),
    "overlap": (
        safetensors_bytes(
            header_with(bias={"dtype": "F64", "shape": [], "data_offsets": [8, 16]}), f64(1, 2, 3)
        ),
        "bias",
    ),
    "buffer missing": (safetensors_bytes(GOOD_HEADER, f64(1, 2)), "cover"),
    "trailing bytes": (safetensors_bytes(GOOD_HEADER, f64(1, 2, 3, 4)), "cover"),
    "NaN weight": (safetensors_bytes(GOOD_HEADER, f64(1, math.nan, 3)), "weight"),
    "metadata not strings": (
        safetensors_bytes(header_with(__metadata__={"format": 1}), f64(1, 2, 3)),
        "__metadata__",
    ),
    "architecture bomb": (
        safetensors_bytes(
            header_with(
                __metadata__={
                    **NEURON_META,
                    "architecture": json.dumps({"type": "Neuron", "nin": 10**9, "activation": "relu"}),
                }
            ),
            f64(1, 2, 3),
        ),
        "architecture",
    ),
    "architecture activation backward": (
        safetensors_bytes(
            header_with(
                __metadata__={
                    **NEURON_META,
                    "architecture": json.dumps({"type": "Neuron", "nin": 2, "activation": "backward"}),
                }
            ),
            f64(1, 2, 3),
        ),
        "activation",
    ),
    "architecture not JSON": (
        safetensors_bytes(header_with(__metadata__={**NEURON_META, "architecture": "{"}), f64(1, 2, 3)),
        "JSON",
    ),
    "wrong version": (
        safetensors_bytes(header_with(__metadata__={**NEURON_META, "version": "9"}), f64(1, 2, 3)),
        "version",
    ),
    "extra tensor": (
        safetensors_bytes(
            header_with(extra={"dtype": "F64", "shape": [], "data_offsets": [24, 32]}), f64(1, 2, 3, 4)
        ),
        "extra",
    ),
    "duplicate tensor": (
        safetensors_bytes(json.dumps(GOOD_HEADER).replace('"bias"', '"weight"'), f64(1, 2, 3)),
        "duplicate",
    ),
}


def test_the_good_safetensors_of_the_table_loads(tmp_path):
    path = tmp_path / "good.safetensors"
    path.write_bytes(safetensors_bytes(GOOD_HEADER, f64(1.5, -2.5, 0.25)))
    model = nn.load(path)
    assert type(model) is nn.Neuron and model.state_dict() == {"weight": [1.5, -2.5], "bias": 0.25}


@pytest.mark.parametrize("case", list(HOSTILE_SAFETENSORS))
def test_every_malformed_safetensors_file_raises_checkpoint_error(tmp_path, case):
    data, key = HOSTILE_SAFETENSORS[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    model = nn.Neuron(2, seed=0)
    before = snapshot(model)
    for load in (nn.load, model.load):
        with pytest.raises(nn.CheckpointError) as info:
            load(path)
        assert str(path) in str(info.value)
        if key is not None:
            assert key in str(info.value), str(info.value)
    assert snapshot(model) == before


def test_random_mutations_of_a_safetensors_file_raise_only_checkpoint_error(tmp_path):
    rng = random.Random(99)
    model = nn.MLP(2, [3, 2], seed=0)
    path = tmp_path / "m.safetensors"
    model.save(path)
    good = path.read_bytes()
    for _ in range(300):
        data = bytearray(good)
        i = rng.randrange(len(data))
        if rng.random() < 0.7:
            data[i] = rng.randrange(256)
        else:
            del data[i:]
        path.write_bytes(bytes(data))
        try:
            nn.load(path)
        except nn.CheckpointError:
            pass
