"""Workload 3: a wide sum of n products sum_i w_i x_i, built and backpropagated.

chaingrad three ways: one n-ary `dot` node, n products and one n-ary `sum` node, and Python's
sum() (a chain of n adds, the graph micrograd and naive PyTorch build).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .. import peers as peer_modules
from ..problems import wide_inputs
from ..timing import Entry, carry_failures, interleave
from . import Settings, pretty_size
from .chain import RAISED

# chaingrad's naive form first: it is the reference, the same graph as micrograd's.
ORDER = {"chaingrad": ("naive", "sum", "dot"), "torch": ("naive", "stack+sum")}


def run(peers: dict[str, ModuleType], settings: Settings) -> list[dict[str, Any]]:
    """Median seconds per build + backward of the n-term sum, per implementation and form."""
    peers = peer_modules.full(peers)  # the moons-only peers (compiled, NumPy) have no such workload
    results = []
    failed: dict[str, str] = {}
    for n in settings.wide_sizes:
        ws, xs = wide_inputs(n)
        case = f"n = {pretty_size(n)}"
        entries = []
        for name, peer in peers.items():
            for variant in ORDER.get(name, tuple(peer.WIDE)):
                label = name if len(peer.WIDE) == 1 else f"{name} {variant}"
                fn = peer.WIDE[variant]

                def prepare(peer: ModuleType = peer, ws: list[float] = ws, xs: list[float] = xs) -> Any:
                    return peer.wide_leaves(ws, xs)

                entries.append(Entry("wide", case, label, fn, prepare, units=n))
                if name == "micrograd" and peer.CAN_RAISE_RECURSION_LIMIT:

                    def deep(leaves: Any, fn: Any = fn) -> Any:
                        return fn(leaves, raise_limit=True)

                    entries.append(Entry("wide", case, RAISED, deep, prepare, units=n))
        carry_failures(entries, failed)  # skip what failed at a smaller size
        interleave(entries, settings.repeats, settings.budget_s, warmup=n <= 10**4)
        carry_failures(entries, failed)  # remember what failed now
        results += [e.record() for e in entries]
    return results
