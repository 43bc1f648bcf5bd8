"""Workload 6: compiled replay of graphs no straight-line function could hold: a deep chain and a
wide sum (10^5 nodes in the full run), each backend, trace + compile + first call, then replays.

chaingrad only (the compiler is chaingrad's); each case runs in this process, replays timed like
`step` (a collection on the clock after each)."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import autograd

from ..problems import CHAIN_A, CHAIN_B, CHAIN_X0
from ..timing import Entry, interleave
from . import Settings, pretty_size


def _chain(n: int):
    def chain(x0: Any, a: Any, b: Any) -> Any:
        v = x0
        for _ in range(n // 2):
            v = v * a
            v = v + b
        return v

    return chain, (CHAIN_X0, CHAIN_A, CHAIN_B)


def _wide(n: int):
    def wide(ws: Any, xs: Any) -> Any:
        return autograd.sum([w * x for w, x in zip(ws, xs, strict=True)])

    return wide, ([0.5 + i / n for i in range(n)], [1.0 - i / (2 * n) for i in range(n)])


def run(peers: dict[str, ModuleType], settings: Settings) -> list[dict[str, Any]]:
    """Seconds of the first call (trace + compile + replay) and median seconds per replay."""
    n = max(settings.chain_sizes[-1] // 10, 1000)  # 10^5 in the full run
    backends = ["python"]
    try:
        import numpy  # noqa: F401

        backends.append("numpy")
    except ImportError:
        pass
    records = []
    for case, make in ((f"chain of {pretty_size(n)}", _chain), (f"sum of {pretty_size(n)} products", _wide)):
        f, args = make(n)
        for backend in backends:
            compiled = autograd.compile(f, backend=backend)
            start = time.perf_counter()
            compiled.value_and_grad(*args)
            first = time.perf_counter() - start
            entry = Entry("compile", case, f"chaingrad compiled ({backend})",
                          lambda _, c=compiled, a=args: c.value_and_grad(*a))
            interleave([entry], max(settings.repeats // 2, 1), settings.budget_s, warmup=False)
            record = entry.record()
            record["first_s"] = first
            records.append(record)
    return records
