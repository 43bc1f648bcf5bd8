"""The safetensors format with the standard library only: export to PyTorch and import from it.

A file is an 8-byte little-endian header length N, N bytes of JSON header, then the raw tensors:
`{"layers.0.weight": {"dtype": "F64", "shape": [16, 2], "data_offsets": [0, 256]}, ...,
"__metadata__": {...}}`, offsets counted from the end of the header. We write float64 ("F64") in
PyTorch's nn.Linear layout and keep the architecture as JSON text in `__metadata__`; we read F64
and F32, with the same caps and checks as the JSON checkpoints, before reading the tensor bytes.
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
from array import array
from typing import Any

from . import checkpoint
from .checkpoint import CheckpointError, show

DTYPES = {"F64": "d", "F32": "f"}  # safetensors dtype -> array typecode
MAX_HEADER_BYTES = 16 << 20


def encode(architecture: dict[str, Any], state: dict[str, Any]) -> bytes:
    """The bytes of a safetensors file holding `state` (nested floats) and the architecture."""
    header: dict[str, Any] = {
        "__metadata__": {
            "format": checkpoint.FORMAT,
            "version": str(checkpoint.VERSION),
            "architecture": json.dumps(architecture, allow_nan=False),
        }
    }
    chunks = []
    offset = 0
    for name, floats in state.items():
        if name == "__metadata__":
            raise ValueError("safetensors: a tensor cannot be named '__metadata__'")
        shape = checkpoint.data_shape(floats, f"safetensors: tensor {name!r}")
        flat = _flatten(floats, len(shape))
        raw = array("d", flat)
        if sys.byteorder == "big":
            raw.byteswap()  # the format is little-endian
        data = raw.tobytes()
        header[name] = {"dtype": "F64", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        chunks.append(data)
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad with spaces so the tensors start 8-byte aligned
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def _flatten(floats: Any, depth: int) -> list[float]:
    flat = [floats]
    for _ in range(depth):
        flat = [x for row in flat for x in row]
    return flat


def _reshape(flat: list[Any], shape: list[int]) -> Any:
    """Row-major nested lists of `shape` from the flat list (no dimension is 0: checked before)."""
    if not shape:
        return flat[0]
    nested: Any = flat
    for n in reversed(shape[1:]):
        nested = [nested[i : i + n] for i in range(0, len(nested), n)]
    return nested


def read(where: str, cap: int) -> dict[str, Any]:
    """{'architecture': dict or None, 'state_dict': nested floats} of a safetensors file, checked."""
    with open(where, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < 8:
            raise CheckpointError(f"{where}: {size} bytes, too short for a safetensors file")
        (n,) = struct.unpack("<Q", f.read(8))
        if n > min(size - 8, MAX_HEADER_BYTES):
            raise CheckpointError(f"{where}: header length {n:,} is beyond the file or the cap")
        header = checkpoint.parse_json(f.read(n), where, 10 * checkpoint.MAX_STRINGS)
        if not isinstance(header, dict):
            raise CheckpointError(f"{where}: the header is not a JSON object")
        metadata = header.pop("__metadata__", {})
        entries = _check_entries(header, where, cap)
        buffer_size = size - 8 - n
        end = entries[-1][2] if entries else 0
        if end != buffer_size:
            raise CheckpointError(f"{where}: the tensors cover {end:,} bytes, the file has {buffer_size:,}")
        data = f.read(buffer_size)
    if len(data) != buffer_size:
        raise CheckpointError(f"{where}: the file changed while it was read")
    state = {}
    for name, (dtype, shape, begin, stop) in header.items():
        values = array(DTYPES[dtype])
        values.frombytes(data[begin:stop])
        if sys.byteorder == "big":
            values.byteswap()
        flat = values.tolist()
        for i, x in enumerate(flat):
            if not math.isfinite(x):
                raise CheckpointError(f"{where}: key {name!r}: entry {i} (flat index) is {x!r}")
        state[name] = _reshape(flat, shape)
    return {"architecture": _architecture(metadata, where), "state_dict": state}


def _check_entries(header: dict[str, Any], where: str, cap: int) -> list[tuple[str, int, int]]:
    """Check every tensor entry (dtype, shape, offsets; no gaps, no overlaps, within the cap)."""
    total = 0
    spans = []
    for name, entry in header.items():
        key = f"{where}: key {name!r}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise CheckpointError(f"{key}: expected an object with dtype, shape and data_offsets")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in DTYPES:
            raise CheckpointError(f"{key}: dtype {show(dtype)}; this reader takes {sorted(DTYPES)}")
        if (
            not isinstance(shape, list)
            or len(shape) > checkpoint.MAX_DEPTH
            or not all(_count(s) for s in shape)
        ):
            raise CheckpointError(f"{key}: shape {show(shape)} is not a list of integers >= 0")
        if 0 in shape:
            raise CheckpointError(f"{key}: shape {shape} has no entries (a model has no empty tensor)")
        numel = 1
        for s in shape:
            numel *= s
            if numel > cap:
                break
        total += numel
        if total > cap:
            raise CheckpointError(f"{key}: more than {cap:,} numbers in the file; raise max_parameters=")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_count(o) for o in offsets)):
            raise CheckpointError(f"{key}: data_offsets {show(offsets)} is not a pair of integers >= 0")
        begin, stop = offsets
        if stop - begin != numel * struct.calcsize(DTYPES[dtype]):
            raise CheckpointError(f"{key}: data_offsets {offsets} do not hold shape {shape} of {dtype}")
        spans.append((name, begin, stop))
        header[name] = (dtype, shape, begin, stop)
    spans.sort(key=lambda s: s[1])
    position = 0
    for name, begin, stop in spans:
        if begin != position:
            raise CheckpointError(
                f"{where}: key {name!r}: data_offsets start at {begin}, expected {position}"
            )
        position = stop
    return spans


def _count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _architecture(metadata: Any, where: str) -> dict[str, Any] | None:
    """The chaingrad architecture stored in the metadata, or None for a file from elsewhere."""
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{where}: key '__metadata__': expected an object of strings")
    if metadata.get("format") != checkpoint.FORMAT:
        return None
    if metadata.get("version") != str(checkpoint.VERSION):
        raise CheckpointError(
            f"{where}: key '__metadata__.version': version {show(metadata.get('version'))}, "
            f"this code reads {checkpoint.VERSION}"
        )
    text = metadata.get("architecture", "")
    architecture = checkpoint.parse_json(
        text.encode("utf-8", "surrogatepass"), where, checkpoint.SLACK_NUMBERS
    )
    if not isinstance(architecture, dict) or not isinstance(architecture.get("type"), str):
        raise CheckpointError(f"{where}: key '__metadata__.architecture' is not an object with a type")
    return architecture
