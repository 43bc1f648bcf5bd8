"""Loops over isomorphic copies: found in minibatch losses, replayed bit for bit as backward()."""

from __future__ import annotations

import math
import struct
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
import nn
from autograd import Value
from autograd.compiler import python_backend, python_loops
from autograd.compiler.trace import trace
from autograd.testing.strategies import expressions

pytestmark = pytest.mark.filterwarnings("error:compile. the program raised")


def bits(x):
    return "nan" if x != x else struct.pack("<d", x)


def batch_loss(model, n):
    """A hinge loss over n samples (relu branches inside every copy) plus L2: one cone per sample."""

    def loss(ps, X, y):
        scores = [model(x) for x in X]
        return nn.losses.hinge_loss(scores, y) + nn.losses.l2_penalty(ps, 1e-3)

    return loss


def points(n, shift=0.0):
    return [[math.sin(3 * i + shift), math.cos(5 * i - shift)] for i in range(n)]


def test_a_minibatch_loss_is_one_run_per_label_and_the_program_loops():
    model = nn.MLP(2, [5, 5, 1], seed=1)
    loss = batch_loss(model, 12)
    y = (1.0,) * 6 + (-1.0,) * 6  # the hinge is 1 - s or 1 + s: two kinds of copies
    tr, _ = trace(lambda ps, X: loss(ps, X, y), [model.parameters(), points(12)])
    runs = python_loops.find_runs(tr)
    assert [(r.copies, r.length) for r in runs] == [(6, runs[0].length)] * 2
    copy = runs[0].nodes(tr, 0)
    assert all(n._prim is m._prim for k in range(6) for n, m in zip(runs[0].nodes(tr, k), copy, strict=True))
    source = python_backend.generate(tr, keep_source=True).source
    assert source.count("\n    for ") == 4  # forward and backward of each run


def _step(model, c, loss, params, X, y):
    model.zero_grad()
    value = c(params, X, y)
    got = [bits(p.grad) for p in params]
    model.zero_grad()
    out = loss(params, X, y)
    out.backward()
    return bits(value) == bits(out.data) and got == [bits(p.grad) for p in params]


def test_loops_give_backwards_bits_across_changing_inputs_weights_and_dying_relus():
    model = nn.MLP(2, [6, 6, 1], seed=2)
    params = model.parameters()
    loss = batch_loss(model, 10)
    y = (1.0,) * 5 + (-1.0,) + (1.0,) * 4  # copies of 5 and 4 (loops) around one of its own
    c = ag.compile(loss, static_argnums=(2,), keep_source=True)
    for step in range(12):
        X = points(10, 0.3 * step)
        assert _step(model, c, loss, params, X, y), step
        for p in params:
            p.data -= 0.5 * p.grad  # big steps: margins and ReLUs die and come back
    assert c.traces == 1 and c.source.count("\n    for ") == 4


def test_copies_whose_outputs_are_used_outside_and_whose_inputs_differ():
    # Per-sample outputs are read by two nodes outside the copies and come back as aux, every
    # copy reads its own inputs and a shared bias; the float inputs' gradients come back per copy.
    def f(w, b, xs):
        ys = [ag.relu(w[0] * x[0] + w[1] * x[1] + b) * x[0] for x in xs]
        return ag.sum(ys) + ag.dot(ys, ys) * b, ys

    xs = points(9)
    c = ag.compile(f, has_aux=True)
    for shift in (0.0, 1.0, 2.5):
        xs = points(9, shift)
        (value, aux), (gw, gb, gx) = c.value_and_grad([0.5, -1.5], 0.25, xs)
        w, b = [Value(0.5), Value(-1.5)], Value(0.25)
        xv = [[Value(a), Value(e)] for a, e in xs]
        out, ys = f(w, b, xv)
        out.backward()
        assert bits(value) == bits(out.data) and [bits(a) for a in aux] == [bits(v.data) for v in ys]
        assert [bits(g) for g in gw] == [bits(v.grad) for v in w] and bits(gb) == bits(b.grad)
        assert [[bits(g) for g in row] for row in gx] == [[bits(v.grad) for v in row] for row in xv]
    tr, _ = trace(lambda w, b, xs: f(w, b, xs)[0], [[0.5, -1.5], 0.25, xs])
    assert [r.copies for r in python_loops.find_runs(tr)] == [9]


def test_copies_whose_backward_is_interleaved_with_other_nodes_are_not_looped():
    # backward() visits ys[2] * ys[5] between the copies: a loop would add in another order.
    def f(xs):
        ys = [ag.relu(x * x - 0.5) * x for x in xs]
        return ag.sum(ys) + ys[2] * ys[5]

    xs = [0.25 * i - 1.0 for i in range(9)]
    tr, _ = trace(f, [[Value(x) for x in xs]])
    assert python_loops.find_runs(tr, min_nodes=1) == []
    c = ag.compile(f)
    value, (g,) = c.value_and_grad(xs)
    vs = [Value(x) for x in xs]
    out = f(vs)
    out.backward()
    assert value == out.data and g == [v.grad for v in vs]


def test_copies_sharing_an_input_are_not_a_run_and_still_replay_exactly():
    shared = Value(0.7)

    def f(xs):
        return ag.sum([ag.relu(x * shared + 0.5) * ag.relu(x - shared) for x in xs])

    xs = [Value(float(i) - 3.5) for i in range(8)] + [shared]  # shared is also a copy's input
    tr, _ = trace(f, [xs])
    for run in python_loops.find_runs(tr, min_nodes=1):
        seen = [v for row in run.inputs for v in row]
        assert len({id(v) for v in seen}) == len(seen)
    c = ag.compile(f)
    for v in xs:
        v.grad = 0.0
    value = c(xs)
    got = [v.grad for v in xs]
    for v in xs:
        v.grad = 0.0
    out = f(xs)
    out.backward()
    assert value == out.data and got == [v.grad for v in xs]


def test_a_domain_error_inside_a_loop_names_the_engines_op_and_value():
    def f(xs):
        return ag.sum([ag.log(x * x - 1.0) * x for x in xs])

    c = ag.compile(f)
    c([Value(2.0 + i) for i in range(8)])
    bad = [Value(2.0 + i) for i in range(8)]
    bad[5] = Value(0.5)
    with pytest.raises(ValueError) as replayed:
        c(bad)
    with pytest.raises(ValueError) as dynamic:
        f(bad)
    assert str(replayed.value) == str(dynamic.value) and "log" in str(replayed.value)
    assert all(v.grad == 0.0 for v in bad)  # nothing written


def test_a_called_rule_in_a_loop_body_hands_a_changed_shape_to_the_dynamic_engine():
    from autograd.primitive import Primitive, make_function

    def rule(x, out):
        return (None,) if x > 10 else (2.0,)

    twice = make_function(Primitive("twice_in_loop", lambda x: 2.0 * x, rule, 1))

    def f(xs):
        return ag.sum([twice(x * x) + x for x in xs])

    c = ag.compile(f)
    for xs in ([0.5 * i for i in range(8)], [0.5 * i for i in range(7)] + [20.0]):
        vs = [Value(x) for x in xs]
        value = c(vs)
        ds = [Value(x) for x in xs]
        out = f(ds)
        out.backward()
        assert value == out.data and [v.grad for v in vs] == [v.grad for v in ds]


def test_a_chain_of_copies_is_not_looped_and_replays_exactly():
    def f(x, a, b):
        v = x
        for _ in range(50):
            v = ag.relu(v * a + b)
        return v

    tr, _ = trace(f, [Value(0.5), Value(0.9), Value(0.1)])
    assert python_loops.find_runs(tr) == []  # each copy reads the previous one
    c = ag.compile(f)
    for point in [(0.5, 0.9, 0.1), (2.0, 1.1, -0.3)]:
        vs, ds = [Value(x) for x in point], [Value(x) for x in point]
        value = c(*vs)
        out = f(*ds)
        out.backward()
        assert value == out.data and [v.grad for v in vs] == [v.grad for v in ds]


@settings(max_examples=100, deadline=None)
@given(expressions(n_inputs=2, max_depth=4, max_ops=10), st.integers(4, 12))
def test_a_batch_of_random_expressions_loops_and_gives_backwards_bits(fp, copies):
    # copy i computes f(x_i, shared): the op table's random graphs as loop bodies
    f, (x, shared) = fp
    xs = [x * (1.0 + 0.01 * i) for i in range(copies)]
    if not all(f.is_valid_at((v, shared)) for v in xs):
        return

    def batch(xs, s):
        return ag.sum([f(v, s) * (i + 1.0) for i, v in enumerate(xs)])

    tr, _ = trace(batch, [[Value(v) for v in xs], Value(shared)])
    program = python_backend.generate(tr)
    for point in (xs, [0.9 * v + 0.01 for v in xs]):
        if not all(f.is_valid_at((v, shared)) for v in point):
            continue
        vs, s = [Value(v) for v in point], Value(shared)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = batch(vs, s)
                out.backward()
        except (ArithmeticError, ValueError):
            continue
        ps, q = [Value(v) for v in point], Value(shared)
        try:
            got, _, _ = program.run([*ps, q])
        except python_backend.Redo:
            continue  # a called rule changed shape, or the certificate failed: a dynamic run
        assert bits(got) == bits(out.data), f
        assert [bits(v.grad) for v in [*ps, q]] == [bits(v.grad) for v in [*vs, s]], f


def test_copies_that_backward_visits_in_another_order_loop_in_that_order():
    def f(xs):
        ys = [ag.relu(x * x - 0.5) * x + x for x in xs]
        return ag.sum(ys[::-1]) + 2.0 * ag.dot(ys, ys)  # forward lays the copies out last first

    xs = [0.3 * i - 1.0 for i in range(8)]
    tr, _ = trace(f, [[Value(x) for x in xs]])
    (run,) = python_loops.find_runs(tr)
    assert run.order == list(range(7, -1, -1))
    program = python_backend.generate(tr)
    for point in (xs, [x * x for x in xs]):
        vs, ds = [Value(x) for x in point], [Value(x) for x in point]
        out, _, _ = program.run(vs)
        expected = f(ds)
        expected.backward()
        assert bits(out) == bits(expected.data) and [bits(v.grad) for v in vs] == [bits(v.grad) for v in ds]


# -- columns: a list of the program's list items read as slices (python_loops.Columns) --


class _Item:
    """An argument as the program sees it: `.data` and `.grad`."""

    def __init__(self, data, grad):
        self.data, self.grad = data, grad


def _lists(length):
    """The lists a program reads items of: one of numbers, one of tuples, one of Values' stand-ins."""
    return {"L": [float(k) for k in range(length)],
            "T": [(float(k), -float(k)) for k in range(length)],
            "V": [_Item(float(k), 0.5 * k) for k in range(length)]}


_READS = [("L", ""), ("T", "[0]"), ("T", "[1]"), ("V", ".data"), ("V", ".grad")]


@st.composite
def _references(draw, length=40):
    """Texts of list items: stretches at a constant step (possibly negative) and single items."""
    out = []
    for _ in range(draw(st.integers(1, 5))):
        seq, read = draw(st.sampled_from(_READS))
        if draw(st.booleans()):
            step = draw(st.sampled_from([1, 2, 3, -1, -2]))
            count = draw(st.integers(2, 14))
            lo, hi = (0, length - 1 - step * (count - 1)) if step > 0 else (-step * (count - 1), length - 1)
            if lo > hi:
                continue
            first = draw(st.integers(lo, hi))
            out += [(seq, first + step * k, read) for k in range(count)]
        else:
            out.append((seq, draw(st.integers(0, length - 1)), read))
    return out


@settings(max_examples=200, deadline=None)
@given(_references())
def test_packed_columns_read_the_same_items_as_their_texts(refs):
    lists = _lists(40)
    columns = python_loops.Columns()
    texts = []
    for seq, k, read in refs:
        columns.add_list(seq, 40)
        texts.append(columns.add(f"{seq}[{k}]{read}", seq, k, read))
    pieces = columns.pack(texts)
    display = "[" + ", ".join(("*" if star else "") + t for t, star in pieces) + "]"
    expected = [eval(t, {}, lists) for t in texts]  # noqa: S307 (our own texts)
    assert eval(display, {}, lists) == expected  # noqa: S307
    assert eval(columns.listed(texts), {}, lists) == expected  # noqa: S307
    # every stretch of MIN_SEGMENT or more items of one list read alike is one piece
    for i, j in python_loops.segments([((s, r), (k,)) for s, k, r in refs]):
        assert j - i == 1 or j - i >= python_loops.MIN_SEGMENT
    assert len(pieces) == len(python_loops.segments([((s, r), (k,)) for s, k, r in refs]))


def test_a_whole_list_in_order_is_read_as_itself_and_other_stretches_as_slices():
    columns = python_loops.Columns()
    columns.add_list("L", 12)
    columns.add_column([f"L[{k}]" for k in range(12)], "L")
    cases = [
        ([f"L[{k}]" for k in range(12)], "L"),
        ([f"L[{k}]" for k in range(2, 12, 3)], None),  # 4 items: fewer than MIN_SEGMENT
        ([f"L[{k}]" for k in range(11, -1, -1)], "L[11::-1]"),
        ([f"L[{k}]" for k in range(0, 12, 1)][:9], "L[:9]"),
    ]
    for texts, expr in cases:
        pieces = columns.pack(texts)
        if expr is None:
            assert pieces == [(t, False) for t in texts]
        else:
            assert pieces == [(expr, True)]


def _segments_by_definition(keys, min_len):
    """The greedy cut, written plainly: the longest stretch from each unplaced item, else one item."""
    out, i = [], 0
    while i < len(keys):
        j = i + 1
        if keys[i] is not None and j < len(keys) and keys[j] is not None and keys[j][0] == keys[i][0]:
            steps = [b - a for a, b in zip(keys[i][1], keys[j][1], strict=True)]
            if all(steps):
                while (j < len(keys) and keys[j] is not None and keys[j][0] == keys[i][0] and all(
                        b == a + s * (j - i) for a, b, s in zip(keys[i][1], keys[j][1], steps, strict=True))):
                    j += 1
        if j - i >= min_len:
            out.append((i, j))
            i = j
        else:
            out.append((i, i + 1))
            i += 1
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.tuples(st.sampled_from("ab"), st.tuples(st.integers(0, 6),
                                                                            st.integers(0, 3)))),
                max_size=30),
       st.integers(2, 6))
def test_segments_are_the_greedy_longest_stretches(keys, min_len):
    # runs of a constant step are made likely by repeating a drawn key's progression
    stretched = []
    for k in keys:
        if k is not None and k[1][1] == 0:  # expand into a stretch of 3..6 items at steps (1, 2)
            stretched += [(k[0], (k[1][0] + m, 2 * m)) for m in range(3 + k[1][0] % 4)]
        else:
            stretched.append(k)
    assert python_loops.segments(stretched, min_len) == _segments_by_definition(stretched, min_len)


def _run_fields(runs):
    return [(r.start, r.length, r.copies, [[(kind, id(v) if kind == "inv" else v) for kind, v in row]
                                           for row in r.wiring],
             [[id(v) for v in row] for row in r.inputs], r.order, r.back, r.back_start) for r in runs]


def _traces_with_copies():
    model = nn.MLP(2, [4, 4, 1], seed=3)
    loss = batch_loss(model, 12)
    y = (1.0,) * 7 + (-1.0,) * 5

    def wide(ws, xs):
        return ag.sum([w * x for w, x in zip(ws, xs, strict=True)])

    def reversed_copies(xs):
        ys = [ag.relu(x * x - 0.5) * x + x for x in xs]
        return ag.sum(ys[::-1]) + 2.0 * ag.dot(ys, ys)

    def sharing(xs):
        return ag.sum([ag.relu(x * xs[-1] + 0.5) * ag.relu(x - xs[-1]) for x in xs])

    def interleaved(xs):
        ys = [ag.relu(x * x - 0.5) * x for x in xs]
        return ag.sum(ys) + ys[2] * ys[5]

    def uneven(xs):  # a copy of other ops in the middle of the candidates
        return ag.sum([x * x + 1.0 if i != 6 else x * (x + 1.0) for i, x in enumerate(xs)])

    def rewired(xs):  # a copy whose last node reads another node of its copy
        out = []
        for i, x in enumerate(xs):
            a = x * x
            b = a * a
            out.append(b * (b if i == 6 else a))
        return ag.sum(out)

    def inside(xs, ys, zs):  # a copy that reads its own node where the others read an input
        out = []
        for i, (x, y, z) in enumerate(zip(xs, ys, zs, strict=True)):
            a = x * y
            out.append(a * (a if i == 6 else z))
        return ag.sum(out)

    xs = [0.25 * i - 1.3 for i in range(12)]
    yield trace(lambda ps, X: loss(ps, X, y), [model.parameters(), points(12)])[0]
    yield trace(wide, [[0.5 + i for i in range(300)], [1.0 - i for i in range(300)]])[0]
    for f in (reversed_copies, sharing, interleaved, uneven, rewired):
        yield trace(f, [[Value(x) for x in xs]])[0]
    yield trace(inside, [[Value(x + d) for x in xs] for d in (0.0, 0.5, 1.0)])[0]


def test_matching_every_copy_at_once_finds_the_runs_that_matching_copy_by_copy_finds(monkeypatch):
    for tr in _traces_with_copies():
        at_once = _run_fields(python_loops.find_runs(tr, min_nodes=1))
        with monkeypatch.context() as m:
            m.setattr(python_loops, "_match_all", lambda *args: None)
            by_copy = _run_fields(python_loops.find_runs(tr, min_nodes=1))
        assert at_once == by_copy


def test_a_loop_over_another_loops_values_reads_and_writes_them_as_columns():
    # zs reads each y from the first loop's saved values; backward() visits zs' copies first, whose
    # gradients into the ys come back as the second loop's output list: both read as columns.
    def f(ws, xs):
        ys = [ag.relu(w * x + 0.25) for w, x in zip(ws, xs, strict=True)]
        m = ag.sum(ys) * 0.5
        zs = [(y - m) * (y - m) for y in ys]
        return ag.sum(zs) + xs[3] * xs[4]  # two inputs also read outside the loops

    n = 12
    ws, xs = [0.5 - 0.1 * i for i in range(n)], [0.3 * i - 1.0 for i in range(n)]
    tr, _ = trace(f, [ws, xs])
    assert len(python_loops.find_runs(tr)) == 2
    program = python_backend.generate(tr, keep_source=True)
    lines = program.source.splitlines()
    assert "= list(zip(A[:12], A[12:24]))" in program.source  # the first loop's inputs, xs[3] and xs[4] too
    assert "list(zip([t[2] for t in " in program.source  # the second loop's: the first's relu outputs
    assert [line for line in lines if line.startswith("    for ")][-1].endswith(", v_own_out):")
    c = ag.compile(f)
    for shift in (0.0, 1.5):
        point = [w + shift for w in ws], [x - shift for x in xs]
        value, (gw, gx) = c.value_and_grad(*point)
        wv, xv = [Value(w) for w in point[0]], [Value(x) for x in point[1]]
        out = f(wv, xv)
        out.backward()
        assert bits(value) == bits(out.data)
        assert [bits(g) for g in gw + gx] == [bits(v.grad) for v in wv + xv]
