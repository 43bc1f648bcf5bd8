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

`Columns` knows which texts of the program are items of its lists (the arguments, a loop's saved
values, a loop's output gradients), so that a long list of them is written as a slice: a loop
over 10^5 copies then costs a few lines of source, not 10^5 items of literal lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby, repeat
from operator import eq, itemgetter
from typing import Any, cast

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
    # (only an n-ary node has more than 2 inputs: the others need not be asked)
    candidates = [n for n in forward if n._b is MANY] if min_copies > 2 else forward
    wide = sorted((n for n in candidates if len(_inputs(n)) >= min_copies), key=lambda n: -len(_inputs(n)))
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
    width = len(inputs[0])
    every = _match_all(tr.forward, pos, first, length, count, template, wiring, width)
    if every is not None:  # all candidates match (the usual case): checked a column at a time
        inputs += every
        copies = count
    while copies < count:
        s = first + copies * length
        found = _match(pos, tr.forward[s: s + length], s, template, wiring, width)
        if found is None:
            break
        inputs.append(found)
        copies += 1
    if copies < min_copies:
        return None
    run_end = first + copies * length
    run = Run(first, length, copies, wiring, inputs, list(range(copies)), [], -1)
    finish(tr, run)
    # a copy's inputs: outside the run, one copy's only, never shared
    ids = [id(v) for row in run.inputs for v in row]
    seen = set(ids)
    if len(seen) != len(ids) or not seen.isdisjoint(map(id, tr.forward[first: run_end])):
        return None
    if not seen.isdisjoint(id(v) for row in run.wiring for kind, v in row if kind == "inv"):
        return None
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


def _match_all(forward: list[Value], pos: dict[int, int], first: int, length: int, count: int,
               template: list[Value], wiring: list[list[tuple[str, Any]]], width: int
               ) -> list[list[Value]] | None:
    """The inputs of copies 1 .. count-1 if every one is wired as the template, else None: what
    _match checks, one template node's column of copies at a time (lists compared at C speed)."""
    n = count - 1
    base = first + length
    stop = base + length * n
    starts = range(base, stop, length)
    ids_of: list[list[int] | None] = [None] * width  # per outside input, its Value in each copy
    values_of: list[list[Value] | None] = [None] * width
    for j, (model, row) in enumerate(zip(template, wiring)):  # noqa: B905 (a row per node)
        column = forward[base + j: stop: length]
        prim = model._prim
        if any(v._prim is not prim for v in column):
            return None
        if model._b is MANY:
            if any(v._b is not MANY or len(v._a) != len(row) for v in column):
                return None
            ins = [[v._a[i] for v in column] for i in range(len(row))]
        elif len(row) == 2:
            if any(v._b is None or v._b is MANY for v in column):
                return None
            ins = [[v._a for v in column], [v._b for v in column]]
        elif len(row) == 1:
            if any(v._b is not None for v in column):
                return None
            ins = [[v._a for v in column]]
        else:
            return None
        for (kind, m), col in zip(row, ins):  # noqa: B905 (an input column per descriptor)
            ids = list(map(id, col))
            at = list(map(pos.get, ids))
            if kind == "in":
                if at != list(range(base + m, stop + m, length)):
                    return None
            elif at.count(None) != len(at) and any(
                    q is not None and s <= q < s + length for q, s in zip(at, starts)):  # noqa: B905
                return None  # an input from outside lies inside its copy (leaves never do)
            elif ids_of[m] is None:
                ids_of[m], values_of[m] = ids, col
            elif ids_of[m] != ids:
                return None
    if any(x is None for x in ids_of):
        return None
    columns = cast("list[list[int]]", ids_of)
    # the same Value at two inputs of a copy, unlike the template (columns compared pairwise)
    if width > 8 and any(len(set(t)) != width for t in zip(*columns)):  # noqa: B905
        return None
    if width <= 8 and any(any(map(eq, a, b)) for i, a in enumerate(columns) for b in columns[:i]):
        return None
    if not width:
        return [[] for _ in range(n)]
    return list(map(list, zip(*cast("list[list[Value]]", values_of))))  # noqa: B905 (columns of n)


def _match(pos: dict[int, int], nodes: list[Value], s: int, template: list[Value],
           wiring: list[list[tuple[str, Any]]], count: int) -> list[Value] | None:
    """This copy's inputs (`count` of them) if it is wired as the template, else None."""
    out: list[Any] = [None] * count
    end = len(nodes)
    for node, model, row in zip(nodes, template, wiring):  # noqa: B905 (same length)
        many = node._b is MANY
        if node._prim is not model._prim or many != (model._b is MANY):
            return None
        ins = node._a if many else parents_of(node)
        if len(ins) != len(row):
            return None
        for p, (kind, m) in zip(ins, row):  # noqa: B905 (checked)
            q = pos.get(id(p))
            rel = -1 if q is None else q - s  # its place in this copy (-1: before it or absent)
            if kind == "in":
                if rel != m:
                    return None
            elif 0 <= rel < end:
                return None
            else:
                o = out[m]
                if o is None:
                    out[m] = p
                elif o is not p:
                    return None
    # the same Value at the same inputs as the template, no more
    if any(v is None for v in out) or len(set(map(id, out))) != count:
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
    if len(keep) < count:
        run.inputs = [[row[m] for m in keep] for row in run.inputs]


def _same(tr: Trace, a: Value, b: Value) -> bool:
    """The same Value, or constants of the same value (each copy may make its own `1.0`)."""
    if a is b:
        return True
    return tr.is_constant(a) and tr.is_constant(b) and repr(a.data) == repr(b.data)


def _backward_blocks(tr: Trace, bpos: dict[int, int], run: Run) -> bool:
    """Whether backward() visits the copies as consecutive blocks in one relative order (sets
    run.order, run.back and run.back_start); a run backward() does not visit at all is fine too."""
    length, copies = run.length, run.copies
    found = [bpos.get(id(v)) for v in tr.forward[run.start: run.start + length * copies]]
    if None in found:  # a node backward() does not visit: fine only if every copy has one
        return all(None in found[k * length: (k + 1) * length] for k in range(copies))
    at = cast("list[int]", found)
    lows = at if length == 1 else [min(at[k * length: (k + 1) * length]) for k in range(copies)]
    offsets = [a - lows[0] for a in at[:length]]
    # each copy a block of `length` places in the template's relative order
    if sorted(offsets) != list(range(length)) or at != [lo + o for lo in lows for o in offsets]:
        return False
    order = sorted(range(copies), key=lows.__getitem__)
    lo = lows[order[0]]
    if [lows[k] for k in order] != list(range(lo, lo + length * copies, length)):  # one after another
        return False
    run.order = order
    run.back = sorted(range(length), key=offsets.__getitem__)
    run.back_start = lo
    return True


# -- columns: lists of a program's list items, read as one slice --

MIN_SEGMENT = 8  # shorter stretches of items are written out one by one


class Columns:
    """Texts of the program that are items of its lists (the arguments `A`, a run's saved values,
    a run's output gradients), so that a list of such texts can be read as one slice.

    A loop over 10^5 copies reads its inputs and gives its gradients as lists of 10^5 items:
    written as literals they are most of the program's source (and of compile()'s time, which
    grows faster than the size of one function). Each text is registered as (list, index, what
    is read from the item: "" the item, "[j]" its j-th item, ".data" or ".grad" its attribute).
    """

    def __init__(self) -> None:
        self.cells: dict[str, tuple[str, int, str]] = {}
        self.lengths: dict[str, int] = {}

    def add_list(self, seq: str, length: int) -> None:
        """Declare the program's list `seq`, of `length` items when it is read."""
        self.lengths[seq] = length

    def add(self, text: str, seq: str, index: int, read: str = "") -> str:
        """Register `text` as `seq[index]` followed by `read`; returns the text."""
        self.cells[text] = (seq, index, read)
        return text

    def pack(self, texts: list[str], min_len: int = MIN_SEGMENT) -> list[tuple[str, bool]]:
        """`texts` as pieces of a list display or a call: (text, False) one item, (expr, True)
        a stretch of items at a constant step of one list, to be unpacked (`*expr`)."""
        cells = list(map(self.cells.get, texts))
        whole = self._whole(cells, min_len)
        if whole is not None:  # the usual case, checked at C speed: a 10^5 column costs ~10 ms
            return [whole]
        # the step from each item to the next, where both are items of one list read alike
        steps = [b[1] - a[1] if a is not None and b is not None and a[0] == b[0] and a[2] == b[2] else 0
                 for a, b in zip(cells, cells[1:])]  # noqa: B905 (one shorter)
        out: list[tuple[str, bool]] = []
        for i, j in _stretches(steps, len(texts), min_len):
            if j - i == 1:
                out.append((texts[i], False))
                continue
            cell = cells[i]
            assert cell is not None, "a stretch is of registered items"
            out.append((self.column(cell[0], cell[1], steps[i], j - i, cell[2]), True))
        return out

    def placed(self, items: list[tuple[int, str]], min_len: int = MIN_SEGMENT
               ) -> tuple[list[tuple[int, int, int, str]], list[tuple[int, str]]]:
        """Texts bound for places (an argument's .grad, a slot of the returned gradients), as
        stretches (first place, step, count, the texts' column) and the single items left.

        Stretches in the items' order first (at C speed); when many items are left (the copies'
        gradients interleaved, as a minibatch's points' x and y), each list's items by index.
        """
        keys = [None if c is None else ((c[0], c[2]), (c[1], p))
                for p, c in zip((p for p, _ in items), map(self.cells.get, (t for _, t in items)))]  # noqa: B905
        stretches, single = self._stretches_of(items, keys, min_len)
        if len(single) > 2 * min_len:  # regrouped: by list, by index in it
            by: dict[tuple[str, str], list[tuple[int, int, str]]] = {}
            rest: list[tuple[int, str]] = []
            for p, text in single:
                c = self.cells.get(text)
                if c is None:
                    rest.append((p, text))
                else:
                    by.setdefault((c[0], c[2]), []).append((c[1], p, text))
            for group, found in by.items():
                found.sort()
                more, left = self._stretches_of([(p, t) for _, p, t in found],
                                                [(group, (i, p)) for i, p, _ in found], min_len)
                stretches += more
                rest += left
            single = sorted(rest)
        return stretches, single

    def _stretches_of(self, items: list[tuple[int, str]], keys: list[Any], min_len: int
                      ) -> tuple[list[tuple[int, int, int, str]], list[tuple[int, str]]]:
        stretches: list[tuple[int, int, int, str]] = []
        single: list[tuple[int, str]] = []
        for i, j in segments(keys, min_len):
            if j - i == 1:
                single.append(items[i])
                continue
            (p0, t0), (p1, t1) = items[i], items[i + 1]
            seq, index, read = self.cells[t0]
            column = self.column(seq, index, self.cells[t1][1] - index, j - i, read)
            stretches.append((p0, p1 - p0, j - i, column))
        return stretches, single

    def add_column(self, texts: list[str], seq: str, read: str = "") -> None:
        """Register texts[k] as `seq[k]` followed by `read`, for every k."""
        self.cells.update(zip(texts, zip(repeat(seq), range(len(texts)), repeat(read))))  # noqa: B905

    def listed(self, texts: list[str], pieces: list[tuple[str, bool]] | None = None) -> str:
        """An expression of the list of `texts` (a slice or a comprehension where they form one);
        `pieces`: what pack(texts) gave, if it was called."""
        if pieces is None:
            pieces = self.pack(texts)
        if len(pieces) == 1 and pieces[0][1]:
            return pieces[0][0]
        return "[" + ", ".join(("*" if star else "") + t for t, star in pieces) + "]"

    def column(self, seq: str, first: int, step: int, count: int, read: str) -> str:
        """`[seq[first + step * k]<read> for k in range(count)]` as an expression."""
        part = seq if first == 0 and step == 1 and count == self.lengths.get(seq) else (
            f"{seq}[{slice_text(first, step, count)}]")
        return part if not read else f"[t{read} for t in {part}]"

    def _whole(self, cells: list[tuple[str, int, str] | None], min_len: int) -> tuple[str, bool] | None:
        """The column of all of `cells` when they are one stretch, else None."""
        n = len(cells)
        if n < max(min_len, 2) or None in cells:
            return None
        known = cast("list[tuple[str, int, str]]", cells)
        seq, first, read = known[0]
        step = known[1][1] - first
        if (not step or list(map(_INDEX, known)) != list(range(first, first + step * n, step))
                or len(set(map(_LIST, known))) != 1 or len(set(map(_READ, known))) != 1):
            return None
        return self.column(seq, first, step, n, read), True


_LIST, _INDEX, _READ = itemgetter(0), itemgetter(1), itemgetter(2)


def slice_text(first: int, step: int, count: int) -> str:
    """`first:stop:step`, the slice of `count` items from `first` at `step` (step != 0)."""
    stop = first + step * count
    start_text = "" if first == 0 and step > 0 else str(first)
    stop_text = "" if stop < 0 else str(stop)
    return f"{start_text}:{stop_text}{'' if step == 1 else f':{step}'}"


def segments(keys: list[tuple[Any, tuple[int, ...]] | None], min_len: int = MIN_SEGMENT
             ) -> list[tuple[int, int]]:
    """The list cut into [i, j) pieces: each a maximal stretch (at least min_len long) of keys of
    one group whose indices all change by the same nonzero steps, or a single item."""
    steps: list[Any] = []
    for a, b in zip(keys, keys[1:]):  # noqa: B905 (one shorter)
        if a is None or b is None or a[0] != b[0] or len(a[1]) != len(b[1]):
            steps.append(0)
            continue
        d = tuple(y - x for x, y in zip(a[1], b[1]))  # noqa: B905 (checked)
        steps.append(d if all(d) else 0)
    return _stretches(steps, len(keys), min_len)


def _stretches(steps: list[Any], n: int, min_len: int) -> list[tuple[int, int]]:
    """[i, j) pieces of n items from the steps between neighbours (0: none): stretches of one
    step, at least min_len items long, and single items. Iterative, at C speed per stretch."""
    out: list[tuple[int, int]] = []
    i = 0  # the first item not yet in a piece
    pos = 0  # the first item the next group of equal steps touches
    for step, group in groupby(steps):
        length = sum(1 for _ in group)  # steps pos .. pos+length-1: items pos .. pos+length
        start, end = max(i, pos), pos + length + 1
        if step and end - start >= min_len:
            out.extend((k, k + 1) for k in range(i, start))
            out.append((start, end))
            i = end
        pos += length
    out.extend((k, k + 1) for k in range(i, n))
    return out
