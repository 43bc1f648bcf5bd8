"""The trace-time hooks: Value comparisons and float() go to this thread's session, only during it."""

from __future__ import annotations

import threading

from autograd import Value
from autograd.compiler import hooks


class Recorder(hooks.Session):
    def __init__(self) -> None:
        self.seen: list[tuple[str, object, object]] = []
        self.floats: list[Value] = []

    def compare(self, op, a, b, original):
        self.seen.append((op, a, b))
        return original(a, b)

    def to_float(self, v):
        self.floats.append(v)
        return v.data


def test_comparisons_and_float_are_seen_inside_a_session_only():
    x, y = Value(1.0), Value(2.0)
    rec = Recorder()
    with hooks.session(rec):
        assert (x < y) is True and (x >= 2) is False and float(y) == 2.0
    assert [op for op, _, _ in rec.seen] == ["<", ">="]
    assert rec.floats == [y]
    assert x < y and float(x) == 1.0  # afterwards: the plain operators
    assert len(rec.seen) == 2
    assert Value.__lt__ is hooks._ORIGINAL["__lt__"]


def test_another_thread_is_not_recorded_while_a_session_is_open():
    rec = Recorder()
    results = []
    started, release = threading.Event(), threading.Event()

    def other():
        started.wait()
        results.append(Value(3.0) > Value(1.0))
        release.set()

    t = threading.Thread(target=other)
    t.start()
    with hooks.session(rec):
        started.set()
        release.wait(10)
    t.join()
    assert results == [True] and rec.seen == []


def test_leaves_made_from_numbers_are_reported():
    got = []

    class Leaves(hooks.Session):
        def leaf(self, node):
            got.append(node.data)

    x = Value(1.5)
    with hooks.session(Leaves()):
        x * 2.0 + 3
    assert got == [2.0, 3.0]


def test_sessions_nest_and_the_innermost_answers():
    outer, inner = Recorder(), Recorder()
    x = Value(1.0)
    with hooks.session(outer):
        with hooks.session(inner):
            assert x > 0
        assert x > 0
    assert len(inner.seen) == 1 and len(outer.seen) == 1
