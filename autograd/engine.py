"""The backward pass: topological order and the chain rule.

`gradients()` (and everything under `create_graph`) collects d root / d node in a dict and leaves
`.grad` alone; `backward()`'s fast path accumulates floats straight into `.grad` along its own walk,
which is what training runs. The engine knows no op: for each node it asks the node's primitive
for its partial derivatives (or, on the fast path, runs the primitive's float kernel when it has
one: see `Primitive`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import modes
from .value import MANY, Value, parents_of, to_float


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
            if node._prim is None:
                done[node] = True
                emit(node)
                continue
            done[node] = False
            push(node)  # seen again once every parent above it on the stack is emitted
            for p in parents_of(node):
                if p not in done:
                    push(p)
        elif state is False:
            done[node] = True
            emit(node)
    return order


def _operations_in_order(root: Value) -> list[Value]:
    """The non-leaf nodes below `root`, each after all of its non-leaf parents; their `.grad` zeroed.

    backward's own walk: the `.grad` of a non-leaf node is about to be overwritten, so during the
    walk it holds this call's visit marks, which saves a dict as large as the graph. The mark of a
    finished node is a fresh float 0.0: once the walk ends, every `.grad` it set is already zero.
    """
    # Fresh objects: a mark left by another call is a different object and never matches.
    entered, done = object(), float(0)
    order: list[Value] = []
    emit = order.append
    stack = [root]
    push, pop = stack.append, stack.pop
    while stack:
        node = pop()
        mark = node.grad
        if mark is done:
            continue
        if mark is entered:
            node.grad = done
            emit(node)
            continue
        # Push the parents still to visit, and the node under them to be emitted after them;
        # a node with none left (all leaves or done) is emitted at once.
        waiting = False
        a = node._a
        b = node._b
        if b is MANY:
            for p in a:
                if p._prim is not None and p.grad is not done:
                    if not waiting:
                        waiting = True
                        node.grad = entered
                        push(node)
                    push(p)
        else:
            if a._prim is not None and a.grad is not done:
                waiting = True
                node.grad = entered
                push(node)
                push(a)
            if b is not None and b._prim is not None and b.grad is not done:
                if not waiting:
                    waiting = True
                    node.grad = entered
                    push(node)
                push(b)
        if not waiting:
            node.grad = done
            emit(node)
    return order


def local_partials(node: Value, create_graph: bool) -> Any:
    """The node's local partial derivatives: on Values under `create_graph`, else on floats."""
    prim, parents = node._prim, parents_of(node)
    if create_graph:
        return prim.partials(*parents, node)
    if len(parents) == 2:
        a, b = parents
        return prim.partials(a.data, b.data, node.data)
    if len(parents) == 1:
        return prim.partials(parents[0].data, node.data)
    return prim.partials(*[p.data for p in parents], node.data)


def _reraise_naming(node: Value, err: Exception, anomaly: dict | None = None) -> None:
    """Re-raise an error from a derivative rule with the op and inputs that caused it.

    Under `detect_anomaly`, an arithmetic failure in a rule (an infinite derivative, such as
    sqrt's at 0) is an anomaly like any other: FloatingPointError with the node's creation site.
    """
    if isinstance(err, FloatingPointError):
        raise err
    inputs = ", ".join(repr(p.data) for p in node.parents)
    if anomaly is not None and isinstance(err, ArithmeticError):
        site = anomaly.get(node, "a line outside detect_anomaly")
        raise FloatingPointError(
            f"the derivative of {node._prim.display} is not finite at inputs ({inputs}) ({err}); "
            f"node created at {site}"
        ) from err
    raise type(err)(f"while differentiating {node.op} at inputs ({inputs}): {err}") from err


def backprop(root: Value, seed: Any, create_graph: bool) -> dict[Value, Any]:
    """d root / d node for every node reached from `root`, in a dict.

    With `create_graph` the rules get the Values themselves, so each gradient is a Value whose
    own graph can be differentiated again; otherwise they get floats.
    """
    grads: dict[Value, Any] = {root: seed}
    get = grads.get
    anomaly = modes.anomaly_registry() if modes.special else None
    node = root
    try:
        for node in reversed(topological_order(root)):
            if node._prim is None:
                continue
            g = get(node)
            if g is None:
                continue
            partials = local_partials(node, create_graph)
            if anomaly is not None:
                _check_gradients(node, partials, g, anomaly)
            for p, d in zip(parents_of(node), partials):  # noqa: B905 (counts checked at declaration)
                if d is not None:
                    old = get(p)
                    grads[p] = g * d if old is None else old + g * d
    except (ArithmeticError, ValueError) as err:
        _reraise_naming(node, err, anomaly)
    return grads


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
    """Write d root / d node into every node's `.grad`: leaves accumulate, others are overwritten.

    With `create_graph=True` each `.grad` is a Value whose graph contains the leaf itself (a
    reference cycle, as in PyTorch): prefer `gradients(..., create_graph=True)` for higher order.
    Two threads must not backpropagate through the same nodes at once (both write `.grad`).
    """
    if not isinstance(gradient, Value):
        gradient = to_float(gradient, "backward gradient")
    if create_graph or (modes.special and modes.anomaly_registry() is not None):
        _write_grads(root, backprop(root, gradient, create_graph))
        return
    # The fast path: floats accumulate straight into `.grad`, no dict and no second pass.
    if root._prim is None:
        root.grad = root.grad + gradient  # a leaf: nothing below it
        return
    order = _operations_in_order(root)
    root.grad = gradient
    node = root
    try:
        for node in reversed(order):
            prim = node._prim
            g = node.grad
            a = node._a
            b = node._b
            # local_partials(node, False) and the accumulation, unrolled by the node's shape:
            # this loop is the hot path of training.
            if b is None:
                (da,) = prim.partials(a.data, node.data)
                if da is not None:
                    a.grad += g * da
            elif b is not MANY:
                da, db = prim.partials(a.data, b.data, node.data)
                if da is not None:
                    a.grad += g * da
                if db is not None:
                    b.grad += g * db
            elif prim.accumulate is not None:
                prim.accumulate(a, g)  # the op's fused float kernel (dot, sum)
            else:
                partials = prim.partials(*[p.data for p in a], node.data)
                for p, d in zip(a, partials):  # noqa: B905 (counts checked at declaration)
                    if d is not None:
                        p.grad += g * d
    except (ArithmeticError, ValueError) as err:
        _reraise_naming(node, err)


def _write_grads(root: Value, grads: dict[Value, Any]) -> None:
    for node in topological_order(root):
        g = grads.get(node, 0.0)
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
    grads = backprop(output, 1.0, create_graph)
    return tuple(grads.get(v, 0.0) for v in inputs)
