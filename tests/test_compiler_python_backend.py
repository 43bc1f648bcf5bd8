"""The pure-Python backend: bit for bit backward()'s numbers, readable source, no size limit."""

from __future__ import annotations

import math
import struct
import sys
import warnings

import pytest
from hypothesis import given, settings

import autograd as ag
from autograd import Value
from autograd.compiler import python_backend
from autograd.compiler.trace import trace
from autograd.testing.strategies import expressions


def bits(x):
    return "nan" if x != x else struct.pack("<d", x)


def dynamic(f, point):
    vs = [Value(x) for x in point]
    out = f(*vs)
    out.backward()
    return out.data, [v.grad for v in vs]


def replay(program, point):
    vs = [Value(x) for x in point]
    out, _, _ = program.run(vs)
    return out, [v.grad for v in vs]


def same(a, b):
    return bits(a[0]) == bits(b[0]) and [bits(x) for x in a[1]] == [bits(x) for x in b[1]]


@settings(max_examples=300)
@given(expressions(n_inputs=3, max_depth=4, max_ops=12))
def test_replay_is_bitwise_backward_on_random_graphs_and_at_a_second_point(fp):
    f, point = fp
    tr, _ = trace(lambda a, b, c: f(a, b, c), [Value(x) for x in point])
    program = python_backend.generate(tr)
    assert same(replay(program, point), dynamic(f, point)), f
    moved = [0.9 * x + 0.01 for x in point]
    if f.is_valid_at(moved):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                expected = dynamic(f, moved)
            except (ArithmeticError, ValueError):
                return
        assert same(replay(program, moved), expected), f


@settings(max_examples=60)
@given(expressions(n_inputs=2, max_depth=4, max_ops=10))
def test_small_chunks_give_the_same_numbers(fp):
    f, point = fp
    tr, _ = trace(lambda a, b: f(a, b), [Value(x) for x in point])
    program = python_backend.generate(tr, chunk=3)
    assert same(replay(program, point), dynamic(f, point)), f


def test_the_source_names_variables_after_labels_and_comments_each_op():
    x, w, b = Value(0.5, label="x"), Value(-1.5, label="w"), Value(0.25, label="b")

    def neuron(x, w, b):
        out = ag.tanh(ag.dot([w], [x], b))
        out.label = "out"
        return out

    tr, _ = trace(neuron, (x, w, b))
    source = python_backend.generate(tr).source
    assert "out = _tanh(" in source and "# tanh" in source and "# dot" in source
    assert "g_w = A[1].grad" in source and "A[1].grad = g_w" in source
    compile(source, "<test>", "exec")  # what is shown is what runs


def test_a_deep_chain_and_a_wide_sum_compile_and_replay():
    n = 10**5

    def chain(x0, a, b):
        v = x0
        for _ in range(n // 2):
            v = v * a + b
        return v

    point = (0.5, 0.999, 0.001)
    tr, _ = trace(chain, [Value(x) for x in point])
    assert same(replay(python_backend.generate(tr), point), dynamic(chain, point))

    m = 5000  # past CPython's limit for one expression (4,417 terms), in several chunks
    xs = [math.sin(i) for i in range(m)]

    def wide(*xs):
        return ag.sum([x * x for x in xs])

    tr, _ = trace(wide, [Value(x) for x in xs])
    program = python_backend.generate(tr, chunk=2000)
    assert same(replay(program, xs), dynamic(wide, xs))


def test_a_called_rule_that_changes_shape_asks_for_a_dynamic_run():
    from autograd.primitive import Primitive, make_function

    def rule(x, out):
        return (None,) if x > 10 else (2.0,)

    twice = make_function(Primitive("twice_sometimes", lambda x: 2.0 * x, rule, 1))
    tr, _ = trace(lambda x: twice(x), [Value(1.0)])
    program = python_backend.generate(tr)
    assert "called" in program.source
    v = Value(1.0)
    program.run([v])
    assert v.grad == 2.0
    try:
        program.run([Value(20.0)])
    except python_backend.Redo:
        pass
    else:
        raise AssertionError("a rule whose None-ness changed must not replay")


# -- skipping the backward of nodes whose gradient is zero (see skip.py) --


def _dead_neuron(ws, xs):
    """relu of a dot that is negative at the points below: its gradient is 0, the dot is skipped."""
    return ag.relu(ag.dot(ws, xs, 0.5)) + 0.25 * ws[0]


def _by_backward(f, ws, xs, w_grad=0.0):
    wv, xv = [Value(w) for w in ws], [Value(x) for x in xs]
    for v in wv:
        v.grad = w_grad
    out = f(wv, xv)
    out.backward()
    return out.data, [v.grad for v in wv + xv]


def _by_program(program, ws, xs, w_grad=0.0):
    wv, xv = [Value(w) for w in ws], [Value(x) for x in xs]
    for v in wv:
        v.grad = w_grad
    out, _, _ = program.run(wv + xv)
    return out, [v.grad for v in wv + xv]


def _by_compiled(c, ws, xs, w_grad=0.0):
    """Through compile(): the program, or the dynamic engine when the program hands the call back."""
    wv, xv = [Value(w) for w in ws], [Value(x) for x in xs]
    for v in wv:
        v.grad = w_grad
    out = c(wv, xv)
    return out, [v.grad for v in wv + xv]


def _program(f, ws, xs):
    n = len(ws)
    tr, _ = trace(lambda *a: f(list(a[:n]), list(a[n:])), [Value(x) for x in ws + xs])
    return python_backend.generate(tr)


def test_a_zero_gradient_skips_the_nodes_backward_and_gives_backwards_bits():
    ws, xs = [1.0, -2.0], [-1.0, 3.0]  # dot = -1 - 6 + 0.5 < 0: relu' = 0
    program = _program(_dead_neuron, ws, xs)
    assert "if g_" in program.source  # the dot's contributions are behind a test of its gradient
    for point in [(ws, xs), ([2.0, 1.0], [1.0, 1.0]), ([-0.0, 0.0], [0.0, -0.0])]:
        assert same(_by_program(program, *point), _by_backward(_dead_neuron, *point)), point


def test_an_infinite_partial_behind_a_zero_gradient_is_not_skipped():
    # backward() adds 0 * inf = nan into x0's gradient: skipping it would leave 0.0. The
    # certificate (a sum of the values the partials read) sees the inf: the call runs dynamically.
    ws, xs = [math.inf, 1.0], [-1.0, -1.0]
    program = _program(_dead_neuron, [1.0, -2.0], [-1.0, 3.0])
    expected = _by_backward(_dead_neuron, ws, xs)
    assert math.isnan(expected[1][2])
    with pytest.raises(python_backend.Redo):
        _by_program(program, ws, xs)
    c = ag.compile(_dead_neuron)
    _by_compiled(c, [1.0, -2.0], [-1.0, 3.0])
    assert same(_by_compiled(c, ws, xs), expected)


@pytest.mark.parametrize("w_grad", [-0.0, 0.0, 1.5])
def test_a_leaf_whose_incoming_grad_is_minus_zero_is_handed_to_the_dynamic_engine(w_grad):
    # -0.0 + (+0.0) is +0.0 in backward(); a program that skips (or sums without `0.0 +`) keeps
    # -0.0: a zero result from a -0.0 .grad runs dynamically, and nothing is written before.
    ws, xs = [1.0, -2.0], [-1.0, 3.0]
    program = _program(_dead_neuron, ws, xs)
    expected = _by_backward(_dead_neuron, ws, xs, w_grad)
    if math.copysign(1.0, w_grad) < 0:
        wv, xv = [Value(w) for w in ws], [Value(x) for x in xs]
        for v in wv:
            v.grad = w_grad
        with pytest.raises(python_backend.Redo):
            program.run(wv + xv)
        assert [math.copysign(1.0, v.grad) for v in wv] == [-1.0, -1.0]  # untouched
    else:
        assert same(_by_program(program, ws, xs, w_grad), expected)
    c = ag.compile(_dead_neuron)
    _by_compiled(c, ws, xs)
    assert same(_by_compiled(c, ws, xs, w_grad), expected)


@pytest.mark.parametrize("scale", [1e200, -1e200, 1e154, math.inf, -math.inf, math.nan])
def test_overflow_and_non_finite_values_give_backwards_bits(scale):
    # Forward overflow (inf, and inf - inf = nan), backward overflow (g * 1e200 * 1e200), NaN and
    # inf inputs: the program's numbers or the dynamic engine's, always backward()'s.
    def f(ws, xs):
        h = [ag.relu(ag.dot(ws, xs, b)) for b in (0.5, -0.5, 2.0)]
        return ag.dot(h, [ws[0], ws[1], xs[0]]) * scale + ws[1] * ws[1]

    program = _program(f, [1.0, 2.0], [0.5, -0.25])
    c = ag.compile(f)
    _by_compiled(c, [1.0, 2.0], [0.5, -0.25])
    for point in [([1.0, 2.0], [0.5, -0.25]), ([scale, 1.0], [-1.0, 0.5]), ([1.0, -1.0], [scale, scale]),
                  ([-3.0, -3.0], [1.0, 1.0])]:
        expected = _by_backward(f, *point)
        try:
            got = _by_program(program, *point)
        except python_backend.Redo:
            got = None
        if got is not None:
            assert same(got, expected), point
        assert same(_by_compiled(c, *point), expected), point


def test_a_certificate_that_overflows_is_a_false_alarm_only():
    ws, xs = [1e308, 1e308], [-1.0, -1.0]  # finite values whose sum overflows
    program = _program(_dead_neuron, [1.0, -2.0], [-1.0, 3.0])
    with pytest.raises(python_backend.Redo):
        _by_program(program, ws, xs)
    c = ag.compile(_dead_neuron)
    _by_compiled(c, [1.0, -2.0], [-1.0, 3.0])
    assert same(_by_compiled(c, ws, xs), _by_backward(_dead_neuron, ws, xs))


def test_without_skipping_the_program_has_no_test_and_the_same_numbers():
    ws, xs = [1.0, -2.0], [-1.0, 3.0]
    tr, _ = trace(lambda a, b, c, d: _dead_neuron([a, b], [c, d]), [Value(x) for x in ws + xs])
    program = python_backend.generate(tr, skip_zero=False)
    assert "if g_" not in program.source and "_finite" not in program.source
    assert same(_by_program(program, ws, xs), _by_backward(_dead_neuron, ws, xs))


# -- compaction: what a compiled program keeps is made again once the trace is freed --


def _minibatch_loss(ws, points):
    """A small minibatch loss (loops over the samples): each sample tanh(w . x + b), squared."""
    total = 0.0
    for x in points:
        total = total + ag.tanh(ag.dot(ws[:2], x, ws[2])) ** 2
    return total


def _lines_of(fn):
    import inspect

    lines, start = inspect.getsourcelines(fn)
    return fn.__code__.co_filename, range(start, start + len(lines))


def _compile_traced(sites_of):
    """Compile the minibatch loss (after a first compile, the warm-up) with tracemalloc on: the
    compiled function, its output, the snapshot and the allocation sites of trace and generate."""
    import gc
    import tracemalloc

    from autograd.compiler import trace as trace_module

    ws = [0.5, -0.25, 0.1]
    points = [[0.1 * k, 1.0 - 0.05 * k] for k in range(12)]
    c = ag.compile(_minibatch_loss)
    c([Value(w) for w in ws], [[0.0, 0.0]])  # a first compile: the warm-up before any trace is done
    sites = [_lines_of(python_backend.generate), _lines_of(trace_module.trace)]
    params = [Value(w) for w in ws]
    gc.collect()
    tracemalloc.start(64)
    try:
        out = c(params, points)
        gc.collect()
        result = sites_of(c, sites)
    finally:
        tracemalloc.stop()
    assert python_backend.PROGRAM_FILE in c._latest().run.__code__.co_filename
    assert out == _minibatch_loss([Value(w) for w in ws], points).data
    return result


def _made_in(traceback, sites):
    return traceback is not None and any(
        f.filename == file and f.lineno in lines for f in traceback for file, lines in sites)


def _kept_by(c):
    """The objects a compiled program keeps: its entry's lists, the generated functions with their
    module and code (constants and names too), and the shared namespace (iterative). The objects the
    namespace binds were made before the trace; they are listed but not walked into."""
    entry = c._latest()
    ns = python_backend.NAMESPACE
    seen, out = set(), []
    stack = [entry.first, entry.floats, entry.positions, entry.kinds, entry.run, ns.objects, ns.names]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        out.append(x)
        if isinstance(x, dict):
            stack.extend([*x.keys(), *x.values()])
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
        elif hasattr(x, "co_consts"):
            stack.extend([*x.co_consts, *x.co_names, *x.co_varnames])
        elif python_backend._generated(x):
            stack.extend([x.__code__, x.__globals__])
    return out


def test_what_a_program_keeps_was_made_after_the_trace_was_freed():
    """compact(): each object a program keeps (code, names, functions, module, the entry's lists,
    the names bound while generating) is made again once the trace and the generator's garbage are
    freed; made among that garbage, each would keep an arena of the allocator resident."""
    import tracemalloc

    def made_during(c, sites):
        return [repr(x)[:60] for x in _kept_by(c) if _made_in(tracemalloc.get_object_traceback(x), sites)]

    assert _compile_traced(made_during) == []


@pytest.mark.skipif(sys.version_info < (3, 11), reason="CPython 3.10's code objects each keep the frame "
                    "of their last call (co_zombieframe), made by whichever call ran last")
def test_nothing_the_trace_or_the_generator_made_outlives_the_compile():
    """Nothing else either: no block made while tracing or generating is still allocated (the
    derivations' caches, the context's variables, line tables)."""
    import tracemalloc

    def kept(c, sites):
        return [t.traceback.format()[-4:] for t in tracemalloc.take_snapshot().traces
                if _made_in(t.traceback, sites)]

    assert _compile_traced(kept) == []


def test_a_program_compiled_before_another_still_gives_backwards_bits():
    """compact() empties the derivation caches and rebuilds the namespace: programs compiled
    earlier (whose code names the namespace's functions) are unaffected."""
    ws = [0.5, -0.25, 0.1]
    points = [[0.1 * k, 1.0 - 0.05 * k] for k in range(8)]

    def by_backward(f, ws, xs):
        params = [Value(w) for w in ws]
        out = f(params, xs)
        out.backward()
        return out.data, [p.grad for p in params]

    def by_compiled(c, ws, xs):
        params = [Value(w) for w in ws]
        return c(params, xs), [p.grad for p in params]

    first = ag.compile(_minibatch_loss)
    expected = by_backward(_minibatch_loss, ws, points)
    assert same(by_compiled(first, ws, points), expected)
    objects, names = dict(python_backend.NAMESPACE.objects), dict(python_backend.NAMESPACE.names)
    second = ag.compile(lambda ws, xs: ag.sigmoid(_minibatch_loss(ws, xs)) + ag.exp(ws[0]))
    by_compiled(second, ws, points[:5])
    for name, obj in objects.items():  # every binding kept, to the same object
        assert python_backend.NAMESPACE.objects[name] is obj
    for key, name in names.items():
        assert python_backend.NAMESPACE.names[key] == name
    moved = [[x + 0.5, y] for x, y in points]
    assert same(by_compiled(first, ws, moved), by_backward(_minibatch_loss, ws, moved))
    assert first.traces == 1


def test_programs_compiled_in_threads_at_once_give_backwards_bits():
    """compact() clears and rebuilds the shared namespace: threads that generate and bind names
    meanwhile (under its lock) still get programs that name the right functions."""
    import threading

    bodies = [lambda w, x: ag.tanh(w * x), lambda w, x: ag.sigmoid(w - x) * ag.exp(x),
              lambda w, x: ag.log(1.0 + w * w) + ag.relu(x), lambda w, x: ag.sin(w) / (2.0 + ag.cos(x))]
    failures: list[str] = []

    def work(k: int) -> None:
        body = bodies[k]
        for round_ in range(6):
            points = [[0.1 * j + round_, -0.2 * j] for j in range(3 + round_)]  # a new shape: a new trace

            def loss(ws, xs, body=body):
                return sum((body(ws[0], x) + body(ws[1], y) for x, y in xs), 0.0)

            c = ag.compile(loss)
            ws = [0.3, -0.7]
            wv = [Value(w) for w in ws]
            out = loss(wv, points)
            out.backward()
            expected = (out.data, [v.grad for v in wv])
            params = [Value(w) for w in ws]
            got = (c(params, points), [p.grad for p in params])
            if not same(got, expected):
                failures.append(f"thread {k}, round {round_}: {got} != {expected}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(bodies))]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch often, inside compact() too
    try:
        with warnings.catch_warnings(record=True) as caught:  # a failing program warns, runs dynamically
            warnings.simplefilter("always")
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []
    assert [str(w.message) for w in caught] == []


# -- wide graphs: a loop's inputs and gradients read and written as slices (python_loops.Columns) --


# A program that raises is rerun by the engine (with this warning): here that would hide a bug.
_no_dynamic_rerun = pytest.mark.filterwarnings("error:compile. the program raised")


def _wide_products(ws, xs):
    return ag.sum([w * x for w, x in zip(ws, xs, strict=True)])


def _wide_point(n):
    return [0.5 + i / n for i in range(n)], [1.0 - i / (2 * n) for i in range(n)]


@_no_dynamic_rerun
def test_a_wide_sum_is_one_loop_whose_source_does_not_grow_with_its_width():
    # 2n inputs and n products: no statement per input or copy, and backward()'s bits
    sources = {}
    for n in (1000, 20000):
        tr, _ = trace(_wide_products, list(_wide_point(n)))
        sources[n] = python_backend.generate(tr, keep_source=True).source
    assert sources[20000].count("\n") == sources[1000].count("\n") < 30
    assert len(sources[20000]) - len(sources[1000]) < 20  # the slices' bounds have a digit more
    ws, xs = _wide_point(20000)
    value, (gw, gx) = ag.compile(_wide_products).value_and_grad(ws, xs)
    wv, xv = [Value(w) for w in ws], [Value(x) for x in xs]
    out = _wide_products(wv, xv)
    out.backward()
    assert bits(value) == bits(out.data)
    assert [bits(g) for g in gw] == [bits(v.grad) for v in wv]
    assert [bits(g) for g in gx] == [bits(v.grad) for v in xv]


def _wide_case(case, n=40):
    """(f, a maker of fresh (arguments, the Values whose .grad to compare)) for one kind of wide graph."""
    ws, xs = _wide_point(n)
    xs[3] = 0.0  # a zero contribution into ws[3]'s gradient
    if case == "captured":  # the weights are read by reference: "live" inputs, after the arguments
        captured = [Value(w) for w in ws]

        def f(xs):
            return _wide_products(captured, xs)

        def make():
            for v in captured:
                v.grad = 0.0
            xv = [Value(x) for x in xs]
            return (xv,), captured + xv
        return f, make
    if case == "pairs":  # a list of points: each copy reads every second input
        def f(ws, pts):
            return ag.sum([w * p[0] - p[1] * p[1] for w, p in zip(ws, pts, strict=True)])

        def make():
            wv, pv = [Value(w) for w in ws], [[Value(x), Value(-x)] for x in xs]
            return (wv, pv), wv + [v for p in pv for v in p]
        return f, make
    def reversed_products(ws, xs):  # backward() visits the copies last first
        return ag.sum([w * x for w, x in zip(ws, xs, strict=True)][::-1])

    f = reversed_products if case == "reversed" else _wide_products

    def make():
        wv, xv = [Value(w) for w in ws], [Value(x) for x in xs]
        if case == "minus zero":  # -0.0 + 0.0 is +0.0: the zero check hands the call to the engine
            for v in wv + xv:
                v.grad = -0.0
        return (wv, xv), wv + xv
    return f, make


@_no_dynamic_rerun
@pytest.mark.parametrize("case", ["values", "captured", "pairs", "reversed", "minus zero"])
def test_wide_graphs_of_values_write_their_gradients_in_loops_with_backwards_bits(case):
    f, make = _wide_case(case)
    c = ag.compile(f)
    for _ in range(2):  # the trace's call, then a replay
        args, leaves = make()
        value = c(*args)
        got = [bits(v.grad) for v in leaves]
        args, leaves = make()
        out = f(*args)
        out.backward()
        assert bits(value) == bits(out.data) and got == [bits(v.grad) for v in leaves], case
    # the inputs are read as slices of the arguments, the gradients written by loops over them
    assert "list(zip(" in c.source and "_zero_check(A, range(" in c.source, c.source


@_no_dynamic_rerun
def test_the_interleaved_gradients_of_float_points_come_back_with_backwards_bits():
    # each point's x and y gradients come from two lists of the loop: the returned gradients are
    # filled by slices (a tuple of 2n items otherwise)
    def f(ws, pts):
        return ag.sum([w * p[0] - p[1] * p[1] for w, p in zip(ws, pts, strict=True)])

    n = 40
    ws, pts = [0.1 * i - 1.0 for i in range(n)], [[0.2 * i, 0.5 - 0.3 * i] for i in range(n)]
    c = ag.compile(f)
    for shift in (0.0, 0.7):
        moved = [[x + shift, y - shift] for x, y in pts]
        value, (gw, gp) = c.value_and_grad(ws, moved)
        wv, pv = [Value(w) for w in ws], [[Value(x), Value(y)] for x, y in moved]
        out = f(wv, pv)
        out.backward()
        assert bits(value) == bits(out.data) and [bits(g) for g in gw] == [bits(v.grad) for v in wv]
        assert [[bits(g) for g in row] for row in gp] == [[bits(v.grad) for v in row] for row in pv]
    assert "[40:120:2] = " in c.source  # the points' x gradients: every second slot from the 41st
