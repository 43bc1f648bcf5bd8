"""Checkpoints: state dicts checked against a model, and files that are safe to load from anyone.

A state dict maps names (`layers.0.weight`) to floats nested like the model's tensors: a number,
a list of numbers (a bias) or a list of rows (a weight, PyTorch's nn.Linear layout: nout rows of
nin). Files are JSON (or safetensors, see `nn.safetensors`), never pickle: loading one cannot run
code. A file may be hostile, so reading one is bounded before anything is allocated:

- at most `MAX_PARAMETERS` numbers (default 10⁶; `nn.load(path, max_parameters=...)`), and a file
  of at most 64 bytes per number plus 1 MiB;
- strict UTF-8, nesting at most `MAX_DEPTH` levels, numbers within float range, integers of at
  most 309 digits, no NaN or Infinity tokens, no duplicate keys, no bool where a number belongs;
- the architecture's implied shapes are compared with the file's own state dict before the model
  is built, so a small file cannot claim a billion weights.

Every problem raises `CheckpointError` naming the file and the key; nothing changes on failure.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

from autograd import Value
from autograd.fileio import write_atomically

FORMAT = "chaingrad-checkpoint"
VERSION = 1
MAX_PARAMETERS = 1_000_000  # the default cap on the numbers a file may hold
MAX_DEPTH = 32  # nesting levels of a JSON file (a checkpoint needs about 6)
MAX_STRINGS = 100_000  # keys and strings of a JSON file
MAX_DIGITS = 309  # an integer with more digits is beyond the range of a float
BYTES_PER_NUMBER = 64  # the file-size cap: this many bytes per number, plus SLACK_BYTES
SLACK_BYTES = 1 << 20
SLACK_NUMBERS = 10_000  # numbers a file may hold beyond the weights (architecture, version...)


class CheckpointError(ValueError):
    """A state dict or checkpoint file that does not fit the model or is malformed (names file and key)."""


def show(x: Any, limit: int = 80) -> str:
    """repr(x) cut to `limit` characters: file contents in messages stay short and printable."""
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def max_parameters_or_default(max_parameters: Any) -> int:
    """The cap on the numbers of a file: `max_parameters`, or MAX_PARAMETERS for None."""
    if max_parameters is None:
        return MAX_PARAMETERS
    if isinstance(max_parameters, bool) or not isinstance(max_parameters, int) or max_parameters < 0:
        raise ValueError(f"max_parameters: expected an int >= 0, got {max_parameters!r}")
    return max_parameters


# ---- tensors of Values --------------------------------------------------------------------------


def shape_of(tensor: Any) -> tuple[int, ...]:
    """The shape of a nested tensor of Values: () for a scalar, (n,) for a vector, (rows, cols)."""
    shape: list[int] = []
    while not isinstance(tensor, Value):
        shape.append(len(tensor))
        if not tensor:
            break
        tensor = tensor[0]
    return tuple(shape)


def to_floats(tensor: Any) -> Any:
    """The data of a nested tensor of Values, with the same nesting."""
    if isinstance(tensor, Value):
        return tensor.data
    if tensor and isinstance(tensor[0], Value):
        return [v.data for v in tensor]
    return [to_floats(t) for t in tensor]


def _check_number(x: Any, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise CheckpointError(f"{where}: expected a number, got {type(x).__name__} {show(x, 60)}")
    try:
        x = float(x)
    except OverflowError:
        raise CheckpointError(f"{where}: the integer is beyond the range of a float") from None
    if not math.isfinite(x):
        raise CheckpointError(f"{where}: expected a finite number, got {x!r}")
    return x


def _check_tensor(template: Any, value: Any, where: str) -> Any:
    """`value` as floats nested exactly like `template`, or a CheckpointError naming where it differs."""
    if isinstance(template, Value):
        return _check_number(value, where)
    if not isinstance(value, (list, tuple)):
        raise CheckpointError(
            f"{where}: expected a list of {len(template)} entries (shape {shape_of(template)}), "
            f"got {type(value).__name__} {show(value, 60)}"
        )
    if len(value) != len(template):
        raise CheckpointError(
            f"{where}: expected {len(template)} entries (shape {shape_of(template)}), got {len(value)}"
        )
    return [
        _check_tensor(t, v, f"{where}[{i}]") for i, (t, v) in enumerate(zip(template, value, strict=True))
    ]


def check_state_dict(tensors: Mapping[str, Any], state: Any) -> dict[str, Any]:
    """Every entry of `state` checked against the model's `tensors`: keys, shapes and finite numbers.

    Returns the new floats; raises CheckpointError naming the first bad key. Nothing is changed.
    (The recursion follows the model's tensors, never the depth of `state`.)
    """
    if not isinstance(state, Mapping):
        raise CheckpointError(
            f"state dict: expected a mapping of names to weights, got {type(state).__name__}"
        )
    missing = [k for k in tensors if k not in state]
    if missing:
        raise CheckpointError(f"state dict: missing key {missing[0]!r} (missing: {show(missing, 200)})")
    extra = [k for k in state if k not in tensors]
    if extra:
        raise CheckpointError(f"state dict: unexpected key {show(extra[0])} (unexpected: {show(extra, 200)})")
    floats = {name: _check_tensor(t, state[name], f"state dict key {name!r}") for name, t in tensors.items()}
    _check_shared(tensors, floats)
    return floats


def _pairs(tensor: Any, floats: Any, where: str) -> Iterable[tuple[Value, float, str]]:
    if isinstance(tensor, Value):
        yield tensor, floats, where
        return
    for i, (t, f) in enumerate(zip(tensor, floats, strict=True)):
        yield from _pairs(t, f, f"{where}[{i}]")


def _check_shared(tensors: Mapping[str, Any], floats: Mapping[str, Any]) -> None:
    """A Value in two tensors (a partly shared tensor) must get the same number from both."""
    given: dict[int, tuple[float, str]] = {}
    for name, tensor in tensors.items():
        for value, number, where in _pairs(tensor, floats[name], name):
            previous = given.setdefault(id(value), (number, where))
            if previous[0] != number:
                raise CheckpointError(
                    f"state dict key {name!r}: {where} is the same parameter as {previous[1]}, "
                    f"but gets {number!r} and {previous[0]!r}"
                )


def assign_all(tensors: Mapping[str, Any], floats: Mapping[str, Any]) -> None:
    """Write already-checked floats into the Values of the tensors."""
    for name, tensor in tensors.items():
        for value, number, _ in _pairs(tensor, floats[name], name):
            value.data = number


# ---- files --------------------------------------------------------------------------------------


def write_checkpoint(
    path: str | os.PathLike[str], architecture: Mapping[str, Any], state: Mapping[str, Any]
) -> None:
    """Write a checkpoint atomically: safetensors for a `.safetensors` path, JSON otherwise."""
    if os.fspath(path).endswith(".safetensors"):
        from . import safetensors

        data = safetensors.encode(dict(architecture), dict(state))
    else:
        # Serialize first: a document that cannot be written (NaN, a string key...) fails before any I/O.
        data = json.dumps(make_document(architecture, state), allow_nan=False).encode("utf-8")
    write_atomically(path, data)


def make_document(architecture: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document of a checkpoint: format tag, version, architecture and weights."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "architecture": dict(architecture),
        "state_dict": dict(state),
    }


def read_capped(path: str, limit: int) -> bytes:
    """The bytes of `path`, or a CheckpointError if it holds more than `limit` (checked before reading)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise CheckpointError(f"{path}: {size:,} bytes, more than the {limit:,} a checkpoint may have")
        data = f.read(limit + 1)  # the file may have grown since fstat
    if len(data) > limit:
        raise CheckpointError(f"{path}: more than the {limit:,} bytes a checkpoint may have")
    return data


def read_checkpoint(path: str | os.PathLike[str], max_parameters: int | None = None) -> dict[str, Any]:
    """{'architecture': dict or None, 'state_dict': dict} of a JSON or safetensors checkpoint, checked."""
    where = os.fspath(path)
    cap = max_parameters_or_default(max_parameters)
    if where.endswith(".safetensors"):
        from . import safetensors

        return safetensors.read(where, cap)
    data = read_capped(where, BYTES_PER_NUMBER * cap + SLACK_BYTES)
    document = parse_json(data, where, cap + SLACK_NUMBERS)
    return check_document(document, where)


def check_document(document: Any, where: str) -> dict[str, Any]:
    """The format tag, version and the two sections of a parsed JSON checkpoint."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f'{where}: not a chaingrad checkpoint (no "format": {FORMAT!r})')
    version = document.get("version")
    if type(version) is not int or version != VERSION:  # not True, not 1.0
        raise CheckpointError(
            f"{where}: key 'version': checkpoint version {show(version)}, this code reads {VERSION}"
        )
    extra = sorted(set(document) - {"format", "version", "architecture", "state_dict"})
    if extra:
        raise CheckpointError(f"{where}: unexpected key {show(extra[0])}")
    for key in ("architecture", "state_dict"):
        if not isinstance(document.get(key), dict):
            raise CheckpointError(f"{where}: key {key!r} is missing or not an object")
    if not isinstance(document["architecture"].get("type"), str):
        raise CheckpointError(f"{where}: key 'architecture.type' is missing or not a string")
    return {"architecture": document["architecture"], "state_dict": document["state_dict"]}


def check_shapes(
    where: str,
    expected: Iterable[tuple[str, tuple[int, ...]]],
    state: dict[str, Any],
    max_parameters: int | None,
) -> None:
    """The shapes an architecture implies against the file's state dict, before any model is built.

    `expected` is consumed lazily, so an architecture claiming a billion weights stops at the cap.
    """
    cap = max_parameters_or_default(max_parameters)
    total = 0
    names: list[str] = []
    for name, shape in expected:
        size = 1
        for n in shape:
            size *= n
        total += size
        if total > cap:
            raise CheckpointError(
                f"{where}: key 'architecture': it implies more than {cap:,} parameters "
                f"(tensor {name!r} has shape {shape}); raise max_parameters= to load bigger models"
            )
        if name not in state:
            raise CheckpointError(
                f"{where}: key 'state_dict': missing key {name!r} that the architecture implies"
            )
        found = data_shape(state[name], f"{where}: key 'state_dict'[{name!r}]")
        if found != shape:
            raise CheckpointError(
                f"{where}: key 'state_dict'[{name!r}]: shape {found} in the file, "
                f"the architecture implies {shape}"
            )
        names.append(name)
    extra = [k for k in state if k not in set(names)]
    if extra:
        raise CheckpointError(f"{where}: key 'state_dict': unexpected key {show(extra[0])}")


def data_shape(value: Any, where: str) -> tuple[int, ...]:
    """The shape of nested lists of numbers (iterative); ragged lists are an error naming `where`."""
    shape: list[int] = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    # Every list at depth d must have length shape[d], and only numbers at the bottom.
    level = [value]
    for depth, n in enumerate(shape):
        below = []
        for item in level:
            if not isinstance(item, list) or len(item) != n:
                raise CheckpointError(
                    f"{where}: ragged or mixed lists at depth {depth} (expected {n} entries)"
                )
            below.extend(item)
        level = below
    if any(isinstance(item, (list, dict)) for item in level):
        raise CheckpointError(f"{where}: ragged or mixed lists at depth {len(shape)}")
    return tuple(shape)


# ---- JSON that may be hostile --------------------------------------------------------------------


class _Bad:
    """A number token that no float can hold, kept so that the error can name its key."""

    __slots__ = ("text", "why")

    def __init__(self, text: str, why: str) -> None:
        self.text, self.why = text, why


class _Object(dict):
    """A JSON object that remembers its duplicate keys."""

    __slots__ = ("duplicates",)
    duplicates: list[str]


class _TooMany(Exception):
    pass


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    obj.duplicates = [] if len(obj) == len(pairs) else _duplicates(pairs)
    return obj


def _duplicates(pairs: list[tuple[str, Any]]) -> list[str]:
    seen: set[str] = set()
    out = []
    for k, _ in pairs:
        if k in seen:
            out.append(k)
        seen.add(k)
    return out


def parse_json(data: bytes, where: str, max_numbers: int) -> Any:
    """Parse untrusted JSON bytes within the caps; every problem is a CheckpointError naming the key."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CheckpointError(
            f"{where}: not UTF-8 text (byte {err.start}: {data[err.start : err.start + 1]!r})"
        ) from None
    # Upper bounds from counts (some may sit inside strings): lists and objects cost memory too.
    if text.count("[") + text.count("{") > max_numbers:
        raise CheckpointError(f"{where}: more than {max_numbers:,} lists and objects")
    if text.count('"') > 2 * MAX_STRINGS:
        raise CheckpointError(f"{where}: more than {MAX_STRINGS:,} strings")
    count = 0

    def counted(x: Any) -> Any:
        nonlocal count
        count += 1
        if count > max_numbers:
            raise _TooMany
        return x

    def parse_int(s: str) -> Any:
        digits = len(s) - s.startswith("-")
        if digits > MAX_DIGITS:
            return counted(_Bad(f"{s[:12]}... ({digits} digits)", "is beyond the range of a float"))
        return counted(int(s))

    def parse_float(s: str) -> Any:
        x = float(s)
        return counted(x if math.isfinite(x) else _Bad(show(s, 40), "is beyond the range of a float"))

    def parse_constant(s: str) -> Any:
        return counted(_Bad(s, "is not a number a checkpoint may hold"))

    try:
        document = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=parse_int,
            parse_float=parse_float,
            parse_constant=parse_constant,
        )
    except json.JSONDecodeError as err:
        raise CheckpointError(
            f"{where}: not a valid JSON checkpoint (truncated or corrupted?): {err.msg} "
            f"at line {err.lineno} column {err.colno}"
        ) from None
    except RecursionError:
        raise CheckpointError(f"{where}: nested more than {MAX_DEPTH} levels deep") from None
    except _TooMany:
        raise CheckpointError(
            f"{where}: more than {max_numbers:,} numbers; raise max_parameters= to load bigger models"
        ) from None
    _check_tree(document, where)
    return document


def key_path(path: list[Any]) -> str:
    """A readable location: architecture.nin, state_dict['layers.0.bias'][1]."""
    text = ""
    for k in path:
        if isinstance(k, int):
            text += f"[{k}]"
        elif k.isidentifier() and not text.endswith("]"):
            text += f".{k}" if text else k
        else:
            text += f"[{show(k, 60)}]"
    return text or "(top level)"


def _check_tree(document: Any, where: str) -> None:
    """Depth, duplicate keys and out-of-range numbers anywhere in a parsed document (iterative)."""
    stack: list[tuple[Any, list[Any]]] = [(document, [])]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise CheckpointError(
                f"{where}: key {key_path(path[:4])}...: nested more than {MAX_DEPTH} levels deep"
            )
        if isinstance(node, _Bad):
            raise CheckpointError(f"{where}: key {key_path(path)}: the number {node.text} {node.why}")
        if isinstance(node, _Object):
            if node.duplicates:
                raise CheckpointError(f"{where}: key {key_path([*path, node.duplicates[0]])}: duplicate key")
            stack.extend((v, [*path, k]) for k, v in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend((v, [*path, i]) for i, v in reversed(list(enumerate(node))))
