"""Workload 1: micrograd's moons demo step (forward, zero_grad, backward, SGD) in each implementation.

Two cases:
- `loop`, as users run: each implementation trains for several consecutive steps in a fresh
  process of its own (the garbage collector on and untouched, so micrograd's reference cycles pile
  up and are collected as they would be in its demo). The processes run round-robin, 3 ×
  `repeats` rounds; the median is over every step but each process's first (a warm-up). Issue 7's
  targets are checked on this case. Many short processes rather than a few long ones: on a shared
  VM a process's speed is often set for its whole life (seen here: one chaingrad process steps in
  19 ms, the next in 35 ms), so the median needs many processes.
- `step`: one step at a time in this process, each followed by a collection on the clock (see
  timing.py), interleaved with the other implementations.

`python -m benchmarks.workloads.moons IMPL STEPS BUDGET_S` is the child process of `loop`: it
prints the seconds of each step as JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from types import ModuleType
from typing import Any

from ..problems import learning_rate, make_moons, make_weights
from ..timing import Entry, interleave
from . import Settings
from .memory import REPO

LOOP_STEPS = 15  # at most, per process
LOOP_BUDGET_S = 4.0  # a process stops after this many seconds of steps (at least 3 steps)
LOOP_ROUNDS_PER_REPEAT = 3  # processes per implementation = this × repeats (full runs)


def _stepper(model: Any):
    step_index = [0]

    def run(_: Any) -> float:
        lr = learning_rate(step_index[0] % 100)
        step_index[0] += 1
        return model.step(lr)

    return run


def train_for(peer: ModuleType, steps: int, budget_s: float) -> list[float]:
    """Seconds per step of consecutive training steps from the shared initial weights."""
    points, labels = make_moons()
    model = peer.Moons(make_weights(), points, labels)
    times: list[float] = []
    for k in range(steps):
        start = time.perf_counter()
        model.step(learning_rate(k))
        times.append(time.perf_counter() - start)
        if len(times) >= 3 and sum(times) >= budget_s:
            break
    return times


def _loop_in_child(name: str, steps: int, budget_s: float) -> list[float] | str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.workloads.moons", name, str(steps), str(budget_s)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        return f"error: exit {done.returncode}: {done.stderr.strip()[-200:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_loops(names: list[str], settings: Settings) -> list[dict[str, Any]]:
    """The `loop` case: per-step medians of consecutive steps, one fresh process per run."""
    full = settings.repeats >= 5
    steps = LOOP_STEPS if full else 5
    budget = LOOP_BUDGET_S if full else 2.0
    rounds = settings.repeats * (LOOP_ROUNDS_PER_REPEAT if full else 1)
    samples: dict[str, list[float]] = {name: [] for name in names}
    firsts: dict[str, list[float]] = {name: [] for name in names}
    status: dict[str, str] = dict.fromkeys(names, "ok")
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            if status[name] != "ok":
                continue
            times = _loop_in_child(name, steps, budget)
            if isinstance(times, str):
                status[name] = times
            else:
                samples[name] += times[1:]  # the first step of a fresh process is a warm-up
                firsts[name].append(times[0])  # for a compiled peer: trace + compile + one replay
    records = []
    for name in names:
        median = statistics.median(samples[name]) if samples[name] else None
        records.append({"workload": "moons", "case": "loop", "impl": name, "status": status[name],
                        "median_s": median if status[name] == "ok" else None, "samples_s": samples[name],
                        "first_step_s": statistics.median(firsts[name]) if firsts[name] else None,
                        "units": 1})
    return records


def run(peers: dict[str, ModuleType], settings: Settings) -> list[dict[str, Any]]:
    """Median seconds per training step (both cases), and the graph's node count where defined."""
    points, labels = make_moons()
    weights = make_weights()
    entries = []
    nodes = {}
    for name, peer in peers.items():
        model = peer.Moons(weights, points, labels)
        nodes[name] = peer.count_nodes(model.forward())
        entries.append(Entry("moons", "step", name, _stepper(model), extra={"nodes": nodes[name]}))
    loops = run_loops(list(peers), settings)
    for record in loops:
        record["nodes"] = nodes[record["impl"]]
    return loops + [e.record() for e in interleave(entries, settings.repeats, settings.budget_s)]


if __name__ == "__main__":
    from .. import peers as peer_modules

    impl, n_steps, budget_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    peer = peer_modules.load(impl) if impl in peer_modules.MODULES else None
    if peer is None:
        sys.exit(f"{impl} is not installed")
    print(json.dumps(train_for(peer, n_steps, budget_s)))
