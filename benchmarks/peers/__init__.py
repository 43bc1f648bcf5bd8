"""The implementations compared, one module each, all with the same functions.

Each module defines:
  NAME, version() -> str
  Moons(weights, points, labels): .step(lr) -> loss (forward, zero_grad, backward, SGD update),
      .forward() -> root, .backward(root), .loss(root) -> float, .params(), .grads() (flat lists,
      micrograd's order: per layer, per neuron, weights then bias)
  chain_build(n) -> graph; chain_backward(graph); chain_result(graph) -> (out, [dx0, da, db])
      for the chain v <- v * a, v <- v + b repeated n / 2 times (n nodes)
  WIDE: {variant: fn(leaves) -> graph} for sum_i w_i x_i, built and backpropagated;
      wide_leaves(ws, xs) -> leaves; wide_result(graph) -> (out, grads of ws, grads of xs)
  OPS: the op names it has among add, mul, tanh, exp;
      op_forward(op, n) -> last output; op_forward_backward(op, n) -> (last output, grad of x)
  count_nodes(root) -> int or None
Peers are imported lazily: micrograd and torch are optional.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# Display name -> module; chaingrad first: ratios are measured against it.
MODULES = {
    "chaingrad": "benchmarks.peers.chaingrad_impl",
    "micrograd": "benchmarks.peers.micrograd_impl",
    "torch": "benchmarks.peers.torch_impl",
    "plain floats": "benchmarks.peers.plainfloat_impl",
    # The moons step only (their modules set MOONS_ONLY): compiled replay and its NumPy peer.
    "chaingrad compiled": "benchmarks.peers.chaingrad_compiled_impl",
    "chaingrad compiled numpy": "benchmarks.peers.chaingrad_compiled_numpy_impl",
    "numpy batched": "benchmarks.peers.numpy_batched_impl",
}


def full(peers: dict[str, ModuleType]) -> dict[str, ModuleType]:
    """The peers that implement every workload (not only the moons step)."""
    return {name: peer for name, peer in peers.items() if not getattr(peer, "MOONS_ONLY", False)}


def load(name: str) -> ModuleType | None:
    """The peer module called `name`, or None when its library is not installed."""
    try:
        return importlib.import_module(MODULES[name])
    except ImportError:
        return None


def available(names: list[str] | None = None) -> dict[str, ModuleType]:
    """The installed peers among `names` (all by default), in the order of MODULES."""
    out = {}
    for name in MODULES:
        if names is None or name in names:
            module = load(name)
            if module is not None:
                out[name] = module
    return out
