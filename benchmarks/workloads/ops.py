"""Workload 4: per-op overhead, microseconds per op, forward only and forward + backward.

Forward: n outputs of the op on two leaves. Forward + backward: n times, the op then a backward
call from its output (so this includes each engine's fixed cost of one backward call).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .. import peers as peer_modules
from ..timing import Entry, interleave
from . import Settings

OPS = ("add", "mul", "tanh", "exp")


def _forward(peer: ModuleType, op: str, n: int):
    return lambda _: peer.op_forward(op, n)


def _forward_backward(peer: ModuleType, op: str, n: int):
    return lambda _: peer.op_forward_backward(op, n)


def run(peers: dict[str, ModuleType], settings: Settings) -> list[dict[str, Any]]:
    """Median microseconds per op for each op and mode; 'n/a' where a peer lacks the op."""
    peers = peer_modules.full(peers)  # the moons-only peers (compiled, NumPy) have no such workload
    n = settings.ops_per_run
    results = []
    for op in OPS:
        for mode, make in (("fwd", _forward), ("fwd+bwd", _forward_backward)):
            case = f"{op} {mode}"
            entries, missing = [], []
            for name, peer in peers.items():
                if op in peer.OPS:
                    entries.append(Entry("ops", case, name, make(peer, op, n), units=n))
                else:
                    missing.append(Entry("ops", case, name, lambda _: None, units=n, status="n/a"))
            interleave(entries, settings.repeats, settings.budget_s)
            results += [e.record() for e in entries + missing]
    return results
