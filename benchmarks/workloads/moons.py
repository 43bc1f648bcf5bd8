"""Workload 1: micrograd's moons demo step (forward, zero_grad, backward, SGD) in each implementation."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ..problems import learning_rate, make_moons, make_weights
from ..timing import Entry, interleave
from . import Settings


def _stepper(model: Any):
    step_index = [0]

    def run(_: Any) -> float:
        lr = learning_rate(step_index[0] % 100)
        step_index[0] += 1
        return model.step(lr)

    return run


def run(peers: dict[str, ModuleType], settings: Settings) -> list[dict[str, Any]]:
    """Median seconds per training step, and the graph's node count where it is defined."""
    points, labels = make_moons()
    weights = make_weights()
    entries = []
    for name, peer in peers.items():
        model = peer.Moons(weights, points, labels)
        nodes = peer.count_nodes(model.forward())
        entries.append(Entry("moons", "step", name, _stepper(model), extra={"nodes": nodes}))
    return [e.record() for e in interleave(entries, settings.repeats, settings.budget_s)]
