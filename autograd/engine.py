"""The backward pass: topological order, the chain rule into a dict of gradients, `.grad` writes.

The engine knows no op: for each node it asks the node's primitive for its partial derivatives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import modes
from .value import Value, to_float


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on (itself included), each after all of its parents.

    Iterative depth-first search: no recursion limit, so a chain of 10^6 nodes is fine.
    """
    order: list[Value] = []
    emit = order.append
    done: dict[Value, bool] = {}  # False: its parents are being visited; True: emitted
    stack = [root]
    push, pop = stack.append, stack.pop
    while stack:
        node = pop()
        state = done.get(node)
        if state is None:
            parents = node.parents
            if parents:
                done[node] = False
                push(node)  # seen again once every parent above it on the stack is emitted
                for p in parents:
                    if p not in done:
                        push(p)
            else:
                done[node] = True
                emit(node)
        elif state is False:
            done[node] = True
            emit(node)
    return order


def backprop(root: Value, seed: Any, create_graph: bool) -> tuple[list[Value], dict[Value, Any]]:
    """The topological order below `root` and d root / d node for every node reached.

    With `create_graph` the rules get the Values themselves, so each gradient is a Value whose
    own graph can be differentiated again; otherwise they get floats.
    """
    order = topological_order(root)
    grads: dict[Value, Any] = {root: seed}
    get = grads.get
    anomaly = modes.anomaly_registry() if modes.special else None
    node = root
    try:
        for node in reversed(order):
            prim = node._prim
            if prim is None:
                continue
            g = get(node)
            if g is None:
                continue
            parents = node.parents
            if create_graph:
                partials = prim.partials(*parents, node)
            elif len(parents) == 2:
                a, b = parents
                partials = prim.partials(a.data, b.data, node.data)
            elif len(parents) == 1:
                partials = prim.partials(parents[0].data, node.data)
            else:
                partials = prim.partials(*[p.data for p in parents], node.data)
            for p, d in zip(parents, partials, strict=True):
                if d is not None:
                    old = get(p)
                    grads[p] = g * d if old is None else old + g * d
            if anomaly is not None:
                _check_gradients(node, partials, g, anomaly)
    except (ArithmeticError, ValueError) as err:
        if isinstance(err, FloatingPointError):
            raise
        inputs = ", ".join(repr(p.data) for p in node.parents)
        raise type(err)(f"while differentiating {node.op} at inputs ({inputs}): {err}") from err
    return order, grads


def _check_gradients(node: Value, partials: Sequence[Any], g: Any, anomaly: dict) -> None:
    for i, d in enumerate(partials):
        if d is not None and not math.isfinite(float(g * d)):
            inputs = ", ".join(repr(p.data) for p in node.parents)
            site = anomaly.get(node, "a line outside detect_anomaly")
            raise FloatingPointError(
                f"the gradient through {node._prim.display} (input {i}) is {float(g * d)!r}: "
                f"inputs ({inputs}), node created at {site}"
            )


def backward(root: Value, gradient: Any = 1.0, create_graph: bool = False) -> None:
    """Write d root / d node into every node's `.grad`: leaves accumulate, others are overwritten."""
    if not isinstance(gradient, Value):
        gradient = to_float(gradient, "backward gradient")
    order, grads = backprop(root, gradient, create_graph)
    get = grads.get
    for node in order:
        g = get(node, 0.0)
        if node._prim is None:
            node.grad = node.grad + g  # leaves accumulate across calls, as in PyTorch
        else:
            node.grad = g  # other nodes hold the gradient of the latest call


def gradients(output: Any, inputs: Sequence[Value], create_graph: bool = False) -> tuple[Any, ...]:
    """d output / d input for each input, as a tuple, without touching `.grad`.

    With `create_graph=True` the results are Values that can be differentiated again.
    """
    inputs = tuple(inputs)
    for i, v in enumerate(inputs):
        if not isinstance(v, Value):
            raise TypeError(f"gradients: input {i} is a {type(v).__name__}, not a Value")
    if not isinstance(output, Value):
        to_float(output, "gradients output")
        return tuple(0.0 for _ in inputs)
    _, grads = backprop(output, 1.0, create_graph)
    return tuple(grads.get(v, 0.0) for v in inputs)
