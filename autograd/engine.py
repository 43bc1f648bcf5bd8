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
from typing import TYPE_CHECKING, Any

from . import modes
from .value import MANY, Value, parents_of, to_float

if TYPE_CHECKING:
    from .primitive import Primitive

    class Operation(Value):
        """For type checkers only: a node an operation made, whose primitive is set (not a leaf)."""

        # Narrowed from Value's `Primitive | None` on purpose: the walks that skip leaves yield these.
        _prim: Primitive  # pyright: ignore[reportIncompatibleVariableOverride]


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on (itself included), each after all of its parents.

    Iterative depth-first search: no recursion limit, so a chain of 10^6 nodes is fine.
    """
    if not isinstance(root, Value):
        raise TypeError(f"topological_order: root must be a Value, got {type(root).__name__}")
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
    """The node's local partial derivatives (none for a leaf): Values under `create_graph`, else floats."""
    prim, parents = node._prim, parents_of(node)
    if prim is None:
        return ()  # a leaf: no inputs, no partials
    if create_graph:
        return prim.partials(*parents, node)
    if len(parents) == 2:
        a, b = parents
        return prim.partials(a.data, b.data, node.data)
    if len(parents) == 1:
        return prim.partials(parents[0].data, node.data)
    return prim.partials(*[p.data for p in parents], node.data)


def _reraise_naming(node: Value, err: Exception, anomaly: bool = False) -> None:
    """Re-raise an error from a derivative rule with the op and inputs that caused it.

    Under `detect_anomaly`, an arithmetic failure in a rule (a user primitive dividing by zero,
    a rule recording a NaN node under create_graph) is an anomaly like any other:
    FloatingPointError naming the op and the user's line that made the node.
    """
    if isinstance(err, FloatingPointError) and (not anomaly or getattr(err, "checked", False)):
        raise err
    inputs = ", ".join(repr(p.data) for p in node.parents)
    if anomaly and isinstance(err, ArithmeticError):
        op = node.op if node._prim is None else node._prim.display
        raise FloatingPointError(
            f"the derivative of {op} is not finite at inputs ({inputs}) ({err}); "
            f"node created at {modes.site_of(node)}"
        ) from err
    raise type(err)(f"while differentiating {node.op} at inputs ({inputs}): {err}") from err


def backprop(root: Value, seed: Any, create_graph: bool) -> dict[Value, Any]:
    """d root / d node for every node reached from `root`, in a dict.

    With `create_graph` the rules get the Values themselves, so each gradient is a Value whose
    own graph can be differentiated again; otherwise they get floats.
    """
    grads: dict[Value, Any] = {root: seed}
    get = grads.get
    anomaly = bool(modes.special) and modes.is_anomaly_enabled()
    node = root
    try:
        for node in reversed(topological_order(root)):
            if node._prim is None:
                continue
            g = get(node)
            if g is None:
                continue
            partials = local_partials(node, create_graph)
            if anomaly:
                _check_gradients(node, partials, g)
            for p, d in zip(parents_of(node), partials):  # noqa: B905 (counts checked at declaration)
                if d is not None:
                    old = get(p)
                    grads[p] = g * d if old is None else old + g * d
    except (ArithmeticError, ValueError) as err:
        _reraise_naming(node, err, anomaly)
    return grads


def _check_gradients(node: Value, partials: Sequence[Any], g: Any) -> None:
    """Under detect_anomaly: a NaN or infinite gradient through `node` is a FloatingPointError."""
    for i, d in enumerate(partials):
        if d is not None and not math.isfinite(float(g * d)):
            inputs = ", ".join(repr(p.data) for p in node.parents)
            op = node.op if node._prim is None else node._prim.display
            err = FloatingPointError(
                f"the gradient through {op} (input {i}) is {float(g * d)!r}: "
                f"inputs ({inputs}), node created at {modes.site_of(node)}"
            )
            err.checked = True  # type: ignore[attr-defined]  # names the op and site: re-raised as is
            raise err


def backward(
    root: Value,
    gradient: Any = 1.0,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Value | Sequence[Value] | None = None,
) -> None:
    """Write d root / d node into every node's `.grad`: leaves accumulate, others are overwritten.

    PyTorch's keywords: `retain_graph` is accepted and changes nothing (the graph is always kept);
    `inputs` (a Value or a sequence of Values) limits the write to those nodes, every other
    `.grad` is left alone. With `create_graph=True` each `.grad` is a Value whose graph contains
    the leaf itself (a reference cycle, as in PyTorch): prefer `gradients(..., create_graph=True)`
    for higher order. Two threads must not backpropagate through the same nodes at once.
    """
    if not isinstance(gradient, Value):
        gradient = to_float(gradient, "backward gradient")
    if not isinstance(root, Value):
        raise TypeError(f"backward: expected a Value to start from, got {type(root).__name__} {root!r}")
    if retain_graph is not None and not isinstance(retain_graph, bool):
        raise TypeError(f"backward: retain_graph must be a bool or None, got {type(retain_graph).__name__}")
    if not isinstance(create_graph, bool):
        raise TypeError(f"backward: create_graph must be a bool, got {type(create_graph).__name__}")
    if inputs is not None:
        chosen = _as_values(inputs, "backward", "inputs")
        if not chosen:
            raise ValueError("backward: inputs is empty (pass None to write every gradient)")
        _write_chosen(chosen, backprop(root, gradient, create_graph))
        return
    if create_graph or (modes.special and modes.is_anomaly_enabled()):
        _write_grads(root, backprop(root, gradient, create_graph))
        return
    # The fast path: floats accumulate straight into `.grad`, no dict and no second pass.
    if root._prim is None:
        root.grad = root.grad + gradient  # a leaf: nothing below it
        return
    # Typed as what the walk guarantees (it never emits a leaf), at no cost: no cast() call here.
    order: list[Operation] = _operations_in_order(root)  # type: ignore[assignment]
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


def _write_chosen(chosen: Sequence[Value], grads: dict[Value, Any]) -> None:
    """backward(inputs=...): only the chosen nodes' `.grad` changes (leaves accumulate)."""
    for node in dict.fromkeys(chosen):  # once each, even if listed twice
        g = grads.get(node, 0.0)
        node.grad = node.grad + g if node._prim is None else g


def _as_values(x: Any, where: str, what: str) -> tuple[Value, ...]:
    """A Value or a sequence of Values as a tuple, or a TypeError naming `where` and `what`."""
    if isinstance(x, Value):
        return (x,)
    if isinstance(x, (str, bytes)) or not hasattr(x, "__iter__"):
        raise TypeError(f"{where}: {what} must be a Value or a sequence of Values, got {type(x).__name__}")
    try:
        values = tuple(x)
    except TypeError:  # an __iter__ that fails (a 0-d NumPy array)
        raise TypeError(
            f"{where}: {what} must be a Value or a sequence of Values, got {type(x).__name__}"
        ) from None
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"{where}: {what}[{i}] is a {type(v).__name__}, not a Value")
    return values


def gradients(
    outputs: Any,
    inputs: Value | Sequence[Value],
    grad_outputs: Any = None,
    create_graph: bool = False,
    allow_unused: bool = True,
) -> tuple[Any, ...]:
    """d outputs / d input for each input, as a tuple, without touching `.grad` (as torch.autograd.grad).

    `outputs` and `inputs` are each a Value or a sequence; several outputs are summed, each
    weighted by its entry of `grad_outputs` (1 by default). An input the outputs do not reach
    gets 0.0, or a ValueError with `allow_unused=False`; a plain-number output (a graph cut by
    float() or math.*) gives zeros and a warning. With `create_graph=True` the results are Values
    that can be differentiated again.
    """
    inputs = _as_values(inputs, "gradients", "inputs")
    if isinstance(outputs, Value) or not hasattr(outputs, "__iter__") or isinstance(outputs, (str, bytes)):
        outs: tuple[Any, ...] = (outputs,)
        seeds: tuple[Any, ...] = (1.0,) if grad_outputs is None else (grad_outputs,)
    else:
        try:
            outs = tuple(outputs)
        except TypeError:  # an __iter__ that fails (a 0-d NumPy array)
            raise TypeError(f"gradients: outputs must be a Value, a number or a sequence of them, "
                            f"got {type(outputs).__name__}") from None
        seeds = (1.0,) * len(outs) if grad_outputs is None else _seeds(grad_outputs, len(outs))
    for i, out in enumerate(outs):
        if not isinstance(out, Value):
            to_float(out, "gradients: outputs" if len(outs) == 1 else f"gradients: outputs[{i}]")
    for i, g in enumerate(seeds):
        if not isinstance(g, Value):
            to_float(g, f"gradients: grad_outputs[{i}]" if len(seeds) > 1 else "gradients: grad_outputs")
    if not create_graph:  # without create_graph a Value seed is just its number
        seeds = tuple(g.data if isinstance(g, Value) else g for g in seeds)
    pairs = [(out, g) for out, g in zip(outs, seeds, strict=True) if isinstance(out, Value)]
    if not pairs:
        if outs and inputs:
            from .functional import warn_cut_output

            warn_cut_output("gradients", outs[0])
        grads: dict[Value, Any] = {}
    elif len(pairs) == 1:
        grads = backprop(pairs[0][0], pairs[0][1], create_graph)
    else:
        # One pass for all outputs: backpropagate from sum(g_i · out_i), whose partial with
        # respect to out_i is g_i. A bare node (no mode applies to it); its data is never read.
        from .ops import TABLE
        from .primitive import constant

        terms = tuple(g if isinstance(g, Value) else constant(g) for _, g in pairs)
        root = Value.__new__(Value)
        root.data, root.grad, root._prim = 0.0, 0.0, TABLE["dot"]
        root._a, root._b = (*terms, *(out for out, _ in pairs)), MANY
        grads = backprop(root, 1.0, create_graph)
    if not allow_unused:
        for i, v in enumerate(inputs):
            if v not in grads:
                raise ValueError(
                    f"gradients: the outputs do not depend on inputs[{i}] ({v!r}); "
                    f"pass allow_unused=True to get 0.0 for it"
                )
    if create_graph:
        # Always Values (a constant one where the derivative is a number, such as 0.0 for an
        # input not reached), remembered as derivatives by a transformation that is tracing.
        from .functional import mark_derived
        from .primitive import constant

        found = [grads.get(v, 0.0) for v in inputs]
        results = tuple(g if isinstance(g, Value) else constant(g) for g in found)
        mark_derived(results)
        return results
    return tuple(grads.get(v, 0.0) for v in inputs)


def _seeds(grad_outputs: Any, n: int) -> tuple[Any, ...]:
    if isinstance(grad_outputs, Value) or not hasattr(grad_outputs, "__iter__"):
        raise TypeError(f"gradients: grad_outputs must be a sequence of {n} numbers or Values (one per "
                        f"output), got {type(grad_outputs).__name__}")
    try:
        seeds = tuple(grad_outputs)
    except TypeError:  # an __iter__ that fails (a 0-d NumPy array)
        raise TypeError(f"gradients: grad_outputs must be a sequence of {n} numbers or Values (one per "
                        f"output), got {type(grad_outputs).__name__}") from None
    if len(seeds) != n:
        raise ValueError(f"gradients: {len(seeds)} grad_outputs for {n} outputs")
    return seeds
