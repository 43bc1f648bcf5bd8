"""Workload 2: a deep chain of n nodes (v <- v * a, v <- v + b), built and backpropagated."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .. import peers as peer_modules
from ..timing import Entry, carry_failures, interleave
from . import Settings, pretty_size

RAISED = "micrograd (recursion limit 10^7)"


def _chain(peer: ModuleType, n: int, **backward_options: Any):
    def run(_: Any) -> None:
        graph = peer.chain_build(n)
        peer.chain_backward(graph, **backward_options)

    return run


def run(peers: dict[str, ModuleType], settings: Settings) -> list[dict[str, Any]]:
    """Median seconds per build + backward for each size; micrograd's RecursionError is reported."""
    peers = peer_modules.full(peers)  # the moons-only peers (compiled, NumPy) have no such workload
    results = []
    failed: dict[str, str] = {}
    for n in settings.chain_sizes:
        case = f"{pretty_size(n)} nodes"
        entries = []
        for name, peer in peers.items():
            entries.append(Entry("chain", case, name, _chain(peer, n), units=n))
            if name == "micrograd" and peer.CAN_RAISE_RECURSION_LIMIT:
                entries.append(Entry("chain", case, RAISED, _chain(peer, n, raise_limit=True), units=n))
        carry_failures(entries, failed)  # skip what failed at a smaller size
        interleave(entries, settings.repeats, settings.budget_s, warmup=n <= 10**4)
        carry_failures(entries, failed)  # remember what failed now
        results += [e.record() for e in entries]
    return results
