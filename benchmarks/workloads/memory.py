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


def run(peers: dict[str, ModuleType], settings: Settings) -> list[dict[str, Any]]:
    """Bytes per node of a chain (built, and built + backward) and of one moons step's graph."""
    n = settings.memory_chain_nodes
    results = []
    graphs = {"chain": (f"chain of {pretty_size(n)}", n), "moons": ("moons step graph", 0),
              "moons-live": ("moons step graph, live objects", 0)}
    chosen = list(settings.memory_graphs)
    if "moons" in chosen:
        chosen.insert(chosen.index("moons") + 1, "moons-live")
    for graph in chosen:
        case, size = graphs[graph]
        for name in peers if graph.startswith("moons") else peer_modules.full(peers):
            m = probe(name, graph, size)
            record: dict[str, Any] = {"workload": "memory", "case": case, "impl": name, **m}
            if m.get("status") == "ok":
                graph_bytes = m["after_build"] - m["baseline"]
                peak_bytes = m["after_backward"] - m["baseline"]
                record["graph_bytes"] = graph_bytes
                record["peak_bytes"] = peak_bytes
                if m.get("nodes"):
                    record["graph_bytes_per_node"] = graph_bytes / m["nodes"]
                    record["peak_bytes_per_node"] = peak_bytes / m["nodes"]
            results.append(record)
    return results
