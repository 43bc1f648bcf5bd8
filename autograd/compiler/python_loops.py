"""Runs of isomorphic copies in a trace, which the pure-Python backend replays as loops.

A minibatch loss is a sum over samples of the same computation: the trace holds one cone per
sample, and its forward order (a depth-first post-order over each node's inputs in order) lays
the cones of a wide node's inputs out one after the other. Consecutive cones that have the same
ops, the same wiring inside, and read the same Values or one Value per copy from outside, are one
`Run`: the program loops over the copies instead of repeating their code (about 100 times less
code and memory on the moons step, and locals few enough for CPython's short instructions).

A run is used only when backward() visits each copy's nodes as one block, in the same relative
order, the blocks one after the other: the backward loop then adds into shared gradients in
backward()'s order, so the numbers stay bit for bit backward()'s. Iterative; nothing recurses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..value import MANY, Value, parents_of
from .trace import Trace

MIN_COPIES = 4  # fewer copies are not worth a loop
MIN_NODES = 32  # nor are runs of fewer nodes in all


@dataclass
class Run:
    """`copies` copies of `length` consecutive forward nodes from `start`; copy 0 is the template."""

    start: int
    length: int
    copies: int
    # per template node, per input: ("in", j) node j of the same copy, ("inv", v) the same Value
    # in every copy, ("per", m) the copy's m-th input
    wiring: list[list[tuple[str, Any]]]
    inputs: list[list[Value]]  # per copy, its inputs from outside (distinct Values)
    order: list[int]  # the copies in backward()'s order
    back: list[int]  # the template's nodes in backward()'s order (empty: no backward)
    back_start: int  # where the run's nodes begin in tr.backward (-1: not there)

    def nodes(self, tr: Trace, k: int) -> list[Value]:
        """The nodes of copy k."""
        s = self.start + k * self.length
        return tr.forward[s: s + self.length]


def _inputs(node: Value) -> tuple[Value, ...]:
    return node._a if node._b is MANY else parents_of(node)


def find_runs(tr: Trace, min_copies: int = MIN_COPIES, min_nodes: int = MIN_NODES) -> list[Run]:
    """Non-overlapping runs of isomorphic cones in tr.forward, widest consumers first."""
    forward = tr.forward
    pos = {id(n): i for i, n in enumerate(forward)}
    bpos = {id(n): i for i, n in enumerate(tr.backward)}
    taken = bytearray(len(forward))
    runs: list[Run] = []
    wide = sorted((n for n in forward if len(_inputs(n)) >= min_copies), key=lambda n: -len(_inputs(n)))
    for consumer in wide:
        ends = [pos[id(p)] for p in _inputs(consumer) if id(p) in pos]
        k = 1
        while k < len(ends):
            length = ends[k] - ends[k - 1]
            if length <= 0:
                k += 1
                continue
            j = k + 1
            while j < len(ends) and ends[j] - ends[j - 1] == length:
                j += 1
            # cones ending at ends[k-1] .. ends[j-1], each `length` long: runs from each in turn
            a = k - 1
            while j - a >= min_copies and (j - a) * length >= min_nodes:
                first = ends[a] - length + 1
                run = None
                if first >= 0:
                    run = _longest_run(tr, pos, bpos, taken, first, length, j - a, min_copies)
                if run is None:
                    a += 1
                    continue
                runs.append(run)
                for i in range(run.start, run.start + run.length * run.copies):
                    taken[i] = 1
                a += run.copies
            k = j
    runs.sort(key=lambda r: r.start)
    return runs


def _longest_run(tr: Trace, pos: dict[int, int], bpos: dict[int, int], taken: bytearray, first: int,
                 length: int, count: int, min_copies: int) -> Run | None:
    """The run of the first copies (at least min_copies) of `count` candidate cones that match."""
    if any(taken[first: first + length * count]):
        return None
    template = tr.forward[first: first + length]
    wiring = _wiring(tr, pos, template, first)
    if wiring is None:
        return None
    copies = 1
    inputs: list[list[Value]] = [_copy_inputs(tr, pos, template, first, wiring)]
    while copies < count:
        s = first + copies * length
        found = _match(tr, pos, tr.forward[s: s + length], s, template, wiring)
        if found is None:
            break
        inputs.append(found)
        copies += 1
    if copies < min_copies:
        return None
    run_end = first + copies * length
    run = Run(first, length, copies, wiring, inputs, list(range(copies)), [], -1)
    finish(tr, run)
    seen: set[int] = set()
    invariant = {id(v) for row in run.wiring for kind, v in row if kind == "inv"}
    for row in run.inputs:
        for v in row:  # a copy's inputs: outside the run, one copy's only, never shared
            if id(v) in seen or id(v) in invariant or first <= pos.get(id(v), -1) < run_end:
                return None
            seen.add(id(v))
    return run if _backward_blocks(tr, bpos, run) else None


def _wiring(tr: Trace, pos: dict[int, int], template: list[Value], first: int
            ) -> list[list[tuple[str, Any]]] | None:
    """The template's inputs: inside the copy, or outside (per copy until shown invariant)."""
    slots: dict[int, int] = {}
    wiring = []
    for node in template:
        row: list[tuple[str, Any]] = []
        for p in _inputs(node):
            q = pos.get(id(p))
            if q is not None and q >= first:
                if q >= first + len(template):
                    return None
                row.append(("in", q - first))
            else:
                row.append(("per", slots.setdefault(id(p), len(slots))))
        wiring.append(row)
    return wiring


def _copy_inputs(tr: Trace, pos: dict[int, int], nodes: list[Value], s: int,
                 wiring: list[list[tuple[str, Any]]]) -> list[Value]:
    count = 1 + max((m for row in wiring for kind, m in row if kind == "per"), default=-1)
    out: list[Any] = [None] * count
    for node, row in zip(nodes, wiring):  # noqa: B905 (a row per node)
        for p, (kind, m) in zip(_inputs(node), row):  # noqa: B905 (a descriptor per input)
            if kind == "per":
                out[m] = p
    return out


def _match(tr: Trace, pos: dict[int, int], nodes: list[Value], s: int, template: list[Value],
           wiring: list[list[tuple[str, Any]]]) -> list[Value] | None:
    """This copy's inputs if it is wired as the template, else None."""
    count = 1 + max((m for row in wiring for kind, m in row if kind == "per"), default=-1)
    out: list[Any] = [None] * count
    for node, model, row in zip(nodes, template, wiring):  # noqa: B905 (same length)
        if node._prim is not model._prim or (node._b is MANY) != (model._b is MANY):
            return None
        ins = _inputs(node)
        if len(ins) != len(row):
            return None
        for p, (kind, m) in zip(ins, row):  # noqa: B905 (checked)
            q = pos.get(id(p))
            rel = -1 if q is None else q - s  # its place in this copy (-1: before it or absent)
            inside = 0 <= rel < len(nodes)
            if kind == "in":
                if not inside or rel != m:
                    return None
            elif inside:
                return None
            elif out[m] is None:
                out[m] = p
            elif out[m] is not p:
                return None
    # the same Value at the same inputs as the template, no more
    if any(v is None for v in out) or len({id(v) for v in out}) != len(out):
        return None
    return out


def finish(tr: Trace, run: Run) -> None:
    """Turn inputs that are the same Value in every copy into invariants (`("inv", v)`), in place."""
    count = len(run.inputs[0])
    same = [all(_same(tr, run.inputs[k][m], run.inputs[0][m]) for k in range(run.copies))
            for m in range(count)]
    keep = [m for m in range(count) if not same[m]]
    renumber = {m: i for i, m in enumerate(keep)}
    run.wiring = [[("inv", run.inputs[0][m]) if kind == "per" and same[m] else
                   (("per", renumber[m]) if kind == "per" else (kind, m)) for kind, m in row]
                  for row in run.wiring]
    run.inputs = [[row[m] for m in keep] for row in run.inputs]


def _same(tr: Trace, a: Value, b: Value) -> bool:
    """The same Value, or constants of the same value (each copy may make its own `1.0`)."""
    if a is b:
        return True
    return tr.is_constant(a) and tr.is_constant(b) and repr(a.data) == repr(b.data)


def _backward_blocks(tr: Trace, bpos: dict[int, int], run: Run) -> bool:
    """Whether backward() visits the copies as consecutive blocks in one relative order (sets
    run.order, run.back and run.back_start); a run backward() does not visit at all is fine too."""
    starts: list[tuple[int, int]] = []
    back: list[int] | None = None
    missing = 0
    for k in range(run.copies):
        nodes = run.nodes(tr, k)
        at = [b for b in (bpos.get(id(n)) for n in nodes) if b is not None]
        if len(at) != len(nodes):  # a node backward() does not visit
            missing += 1
            continue
        lo = min(at)
        if max(at) - lo != run.length - 1:
            return False
        rel = sorted(range(run.length), key=lambda j: at[j])
        if back is None:
            back = rel
        elif rel != back:
            return False
        starts.append((lo, k))
    if missing:
        return missing == run.copies
    starts.sort()
    for (a, _), (b, _) in zip(starts, starts[1:]):  # noqa: B905 (one shorter)
        if b - a != run.length:
            return False
    run.order = [k for _, k in starts]
    run.back = back or []
    run.back_start = starts[0][0]
    return True
