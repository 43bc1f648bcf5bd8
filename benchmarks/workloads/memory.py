"""Workload 5: memory per node, each implementation in its own fresh process (see memory_probe)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from .. import peers as peer_modules
from . import Settings, pretty_size

REPO = Path(__file__).resolve().parents[2]


def probe(impl: str, graph: str, n: int) -> dict[str, Any]:
    """Run memory_probe in a new interpreter and return what it measured."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory_probe", impl, graph, str(n)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )
    if done.returncode != 0:
        return {"status": f"error: exit {done.returncode}: {done.stderr.strip()[-200:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


MOONS_PROBES = 5  # fresh processes per implementation for the moons graphs (medians; see run)


def run(peers: dict[str, ModuleType], settings: Settings) -> list[dict[str, Any]]:
    """Bytes per node of a chain (built, and built + backward) and of one moons step's graph.

    A moons figure is the median of MOONS_PROBES fresh processes, the implementations taken in
    turn: at a few MB, one process's figure moves by the allocator's unit (an arena, 1 MiB) from
    one run to the next.
    """
    n = settings.memory_chain_nodes
    results = []
    graphs = {"chain": (f"chain of {pretty_size(n)}", n), "moons": ("moons step graph", 0),
              "moons-live": ("moons step graph, live objects", 0)}
    chosen = list(settings.memory_graphs)
    if "moons" in chosen:
        chosen.insert(chosen.index("moons") + 1, "moons-live")
    for graph in chosen:
        case, size = graphs[graph]
        names = list(peers) if graph.startswith("moons") else list(peer_modules.full(peers))
        rounds = MOONS_PROBES if graph.startswith("moons") else 1
        probes: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for _ in range(rounds):
            for name in names:
                probes[name].append(probe(name, graph, size))
        for name in names:
            results.append({"workload": "memory", "case": case, "impl": name, **_median(probes[name])})
    return results


def _median(probes: list[dict[str, Any]]) -> dict[str, Any]:
    """One record from a probe's runs: medians of the graph's and the peak's bytes (and per node)."""
    failed = [m for m in probes if m.get("status") != "ok"]
    if failed:
        return failed[0]
    record: dict[str, Any] = dict(probes[0])
    graph = sorted(m["after_build"] - m["baseline"] for m in probes)
    peak = sorted(m["after_backward"] - m["baseline"] for m in probes)
    record["graph_bytes"] = graph[len(graph) // 2]
    record["peak_bytes"] = peak[len(peak) // 2]
    if all("anon_growth" in m for m in probes):
        record["anon_growth"] = sorted(m["anon_growth"] for m in probes)[len(probes) // 2]
    if len(probes) > 1:
        record["probes"] = len(probes)
        record["graph_bytes_range"] = [graph[0], graph[-1]]
    if record.get("nodes"):
        record["graph_bytes_per_node"] = record["graph_bytes"] / record["nodes"]
        record["peak_bytes_per_node"] = record["peak_bytes"] / record["nodes"]
    return record
