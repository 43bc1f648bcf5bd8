"""Interleaved timing: every implementation of a case runs once per round, in rotating order.

Python's garbage collector stays on (as users run). Each timed run ends with a `gc.collect()` on
the clock, so that each implementation pays for collecting the garbage it leaves behind (micrograd's
graphs are reference cycles that only the collector frees; a graph without cycles is freed by
reference counting as the run returns) and never for another's. run.py freezes the objects that
exist after the imports (`gc.freeze()`), PyTorch's included, so that a full collection costs about
0.1 ms here and importing a peer does not slow every other implementation's collections.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Entry:
    """One implementation on one case: `run(prepare())` is timed; `units` nodes or ops per run."""

    workload: str
    case: str
    impl: str
    run: Callable[[Any], Any]
    prepare: Callable[[], Any] | None = None
    units: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    samples: list[float] = field(default_factory=list)
    status: str = "ok"

    def record(self) -> dict[str, Any]:
        """The entry's result as a JSON-ready dict."""
        median = statistics.median(self.samples) if self.samples and self.status == "ok" else None
        return {
            "workload": self.workload,
            "case": self.case,
            "impl": self.impl,
            "status": self.status,
            "median_s": median,
            "per_unit_us": None if median is None else median / self.units * 1e6,
            "units": self.units,
            "samples_s": self.samples,
            **self.extra,
        }


def _attempt(entry: Entry, isolate: bool) -> float | None:
    """Time one run of `entry` and the collection of the garbage it left; None when it fails."""
    arg = entry.prepare() if entry.prepare is not None else None
    if isolate:
        gc.collect()  # off the clock: the previous entry's garbage and prepare()'s
    try:
        start = time.perf_counter()
        entry.run(arg)  # the result is dropped (and a refcounted graph freed) before the clock stops
        if isolate:
            gc.collect()  # on the clock: each run pays for collecting the garbage it leaves behind
        return time.perf_counter() - start
    except RecursionError:
        entry.status = "fails: RecursionError"
    except NotImplementedError:
        entry.status = "n/a"
    except (ArithmeticError, ValueError, MemoryError, RuntimeError) as err:
        entry.status = f"error: {type(err).__name__}: {err}"[:120]
    return None


def interleave(
    entries: list[Entry], repeats: int, budget_s: float, warmup: bool = True, isolate: bool = True
) -> list[Entry]:
    """Run the entries round-robin `repeats` times; an entry stops early once it used `budget_s`.

    A failed entry is not retried. With `warmup`, each entry runs once untimed first. With
    `isolate`, a full garbage collection runs off the clock before each run.
    """
    if warmup:
        for entry in entries:
            _attempt(entry, isolate)
    for round_ in range(repeats):
        shift = round_ % len(entries)
        for entry in entries[shift:] + entries[:shift]:
            if entry.status != "ok" or (entry.samples and sum(entry.samples) >= budget_s):
                continue
            elapsed = _attempt(entry, isolate)
            if elapsed is not None:
                entry.samples.append(elapsed)
    if isolate:
        gc.collect()
    return entries


def carry_failures(entries: list[Entry], failed: dict[str, str]) -> None:
    """Mark entries whose implementation already failed on a smaller size, and record new failures.

    A deeper graph cannot succeed where a shallower one hit the recursion limit, and building it
    first would cost minutes; `failed` maps an implementation to the status to show.
    """
    for entry in entries:
        if entry.impl in failed and entry.status == "ok" and not entry.samples:
            entry.status = failed[entry.impl]
        elif entry.status.startswith("fails") and entry.impl not in failed:
            failed[entry.impl] = f"{entry.status} (as at {entry.case})"
