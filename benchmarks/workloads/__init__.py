"""The workloads, one module each; each has `run(peers, settings) -> list of result dicts`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Settings:
    """Sizes and repeats of a run: `full()` for the README table, `quick()` for under a minute."""

    repeats: int
    budget_s: float  # an entry stops repeating once its samples add up to this
    chain_sizes: tuple[int, ...]
    wide_sizes: tuple[int, ...]
    ops_per_run: int
    memory_chain_nodes: int
    memory_graphs: tuple[str, ...]  # "chain" and/or "moons"
    demo: bool

    @classmethod
    def full(cls) -> Settings:
        """The full run (a few minutes)."""
        chain_sizes = (10**3, 10**4, 10**5, 10**6)
        return cls(5, 10.0, chain_sizes, (10**4, 10**5, 10**6), 20_000, 10**6, ("chain", "moons"), True)

    @classmethod
    def quick(cls) -> Settings:
        """A quick run (under a minute): small sizes, no demo."""
        return cls(3, 1.0, (10**3, 10**4), (5_000,), 500, 10**5, ("chain",), False)


def pretty_size(n: int) -> str:
    """10^k for powers of ten, else the number."""
    k = len(str(n)) - 1
    return f"10^{k}" if n == 10**k and k >= 3 else str(n)
