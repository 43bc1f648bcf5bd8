"""Checkpoints: validating a state dict against a model, and JSON files written atomically.

A state dict maps names (`layers.0.weight`) to floats nested like the model's tensors: a number,
a list of numbers (a bias) or a list of rows (a weight, PyTorch's nn.Linear layout: nout rows of
nin). Files are JSON, never pickle: loading one cannot run code.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from typing import Any

from autograd import Value

FORMAT = "chaingrad-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A state dict or checkpoint file that does not fit the model (names the key or the file)."""


def shape_of(tensor: Any) -> tuple[int, ...]:
    """The shape of a nested tensor of Values: () for a scalar, (n,) for a vector, (rows, cols)."""
    if isinstance(tensor, Value):
        return ()
    if not tensor:
        return (0,)
    return (len(tensor),) + shape_of(tensor[0])


def to_floats(tensor: Any) -> Any:
    """The data of a nested tensor of Values, with the same nesting."""
    if isinstance(tensor, Value):
        return tensor.data
    return [to_floats(t) for t in tensor]


def _check_number(x: Any, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise CheckpointError(f"{where}: expected a number, got {type(x).__name__} {x!r}")
    x = float(x)
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
            f"got {type(value).__name__} {value!r:.60}"
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
    """
    if not isinstance(state, Mapping):
        raise CheckpointError(
            f"state dict: expected a mapping of names to weights, got {type(state).__name__}"
        )
    missing = [k for k in tensors if k not in state]
    if missing:
        raise CheckpointError(f"state dict: missing key {missing[0]!r} (missing: {missing})")
    extra = [k for k in state if k not in tensors]
    if extra:
        raise CheckpointError(f"state dict: unexpected key {extra[0]!r} (unexpected: {extra})")
    return {name: _check_tensor(t, state[name], f"state dict key {name!r}") for name, t in tensors.items()}


def assign(tensor: Any, floats: Any) -> None:
    """Write already-checked floats into the Values of a nested tensor."""
    if isinstance(tensor, Value):
        tensor.data = floats
        return
    for t, f in zip(tensor, floats, strict=True):
        if isinstance(t, Value):
            t.data = f
        else:
            assign(t, f)


def write_json_atomically(path: str | os.PathLike, document: Any) -> None:
    """Write `document` as JSON to `path` via a temporary file and a rename: never a half-written file."""
    path = os.fspath(path)
    # Serialize first: a document that cannot be written (NaN, a string key...) fails before any I/O.
    text = json.dumps(document, allow_nan=False)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows: readers see the old file or the new one
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def make_document(architecture: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document of a checkpoint: format tag, version, architecture and weights."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "architecture": dict(architecture),
        "state_dict": dict(state),
    }


def read_document(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint file's document, checked for format and version (not yet against a model)."""
    path = os.fspath(path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise CheckpointError(
            f"{path}: not a valid JSON checkpoint (truncated or corrupted?): {err}"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f'{path}: not a chaingrad checkpoint (no "format": {FORMAT!r})')
    if document.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {document.get('version')!r}, this code reads {VERSION}"
        )
    for key in ("architecture", "state_dict"):
        if not isinstance(document.get(key), dict):
            raise CheckpointError(f"{path}: key {key!r} is missing or not an object")
    return document
