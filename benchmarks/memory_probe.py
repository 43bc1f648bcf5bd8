"""Measure one implementation's memory in a fresh process: `python -m benchmarks.memory_probe IMPL GRAPH N`.

GRAPH is `chain` (N nodes), `moons` (one training step's graph) or `moons-live` (the same, counted
in live objects with tracemalloc, see `measure_live`). Prints one JSON line: resident
memory before building, peak after building and peak after backward (bytes), and the node count.
Peaks come from the kernel's high-water mark (VmHWM on Linux, getrusage's ru_maxrss elsewhere).
"""

from __future__ import annotations

import gc
import json
import resource
import sys

from benchmarks import peers
from benchmarks.problems import make_moons, make_weights


def _status_kb(field: str) -> int | None:
    """A memory field of /proc/self/status (Linux), in bytes; None elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def current_rss() -> int:
    """Resident memory now, in bytes (on other systems than Linux: the peak so far)."""
    return _status_kb("VmRSS") or peak_rss()


def peak_rss() -> int:
    """Peak resident memory of this process so far, in bytes.

    On Linux, VmHWM: getrusage's ru_maxrss survives fork and exec, so a probe started by a big
    parent would report the parent's peak; VmHWM belongs to this process's own address space.
    """
    hwm = _status_kb("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports kilobytes


def measure_live(impl: str) -> dict:
    """The moons step's graph (dynamic) or program (compiled): bytes of the objects it keeps alive.

    tracemalloc counts the live Python allocations made by building the graph, or by tracing and
    compiling the program, after a collection: what the graph or the program holds, without the
    free space the allocator keeps resident (which `measure` sees in RSS, and a later allocation
    reuses).
    """
    import tracemalloc

    peer = peers.load(impl)
    if peer is None:
        return {"status": f"{impl} is not installed"}
    model = peer.Moons(make_weights(), *make_moons())
    compiled = getattr(peer, "COMPILED", False)
    if not compiled:
        model.backward(model.forward())  # warm up: the parameters' .grad floats exist already
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    root = model.forward()  # a graph, or (compiled) the loss after tracing, compiling and a replay
    gc.collect()
    out: dict = {"status": "ok", "baseline": 0, "after_build": tracemalloc.get_traced_memory()[0] - base}
    out["nodes"] = model.compiled._latest().nodes if compiled else peer.count_nodes(root)
    if not compiled:
        model.backward(root)
    gc.collect()
    out["after_backward"] = tracemalloc.get_traced_memory()[0] - base
    del root
    return out


def _trim_heap() -> None:
    """Hand the heap's free pages back before the baseline (glibc's malloc_trim; elsewhere nothing).

    The compiler calls malloc_trim after compiling; without this, that call would also return the
    start-up's free heap (1.5-2 MB here) and the compiled program would be measured smaller than
    it is.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):
            pass


def _reset_peak() -> None:
    """Make the peak (VmHWM) start again from the resident memory now (Linux: /proc/self/clear_refs).

    Without it a peak measured after the baseline also counts what the process held before it:
    the imports' peak, which _trim_heap took back, would be reported as part of the graph (the
    moons graph measured 2.7 MB that way, against 1.3 MB resident with the graph alive).
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def measure(impl: str, graph: str, n: int) -> dict:
    """Build the graph, then backpropagate, recording memory around each step."""
    peer = peers.load(impl)
    if peer is None:
        return {"status": f"{impl} is not installed"}
    out: dict = {"status": "ok"}
    if graph == "moons" and getattr(peer, "COMPILED", False):
        # A compiled program: what stays after tracing and compiling (current RSS: the trace's graph
        # and the compiler's own peak are freed), then the peak of one more replayed step.
        model = peer.Moons(make_weights(), *make_moons())
        gc.collect()
        _trim_heap()
        _reset_peak()
        out["baseline"] = current_rss()
        anon = _status_kb("RssAnon")
        model.forward()
        gc.collect()
        out["after_build"] = current_rss()
        if anon is not None:  # what of it is anonymous (heap, arenas), not pages of library code
            out["anon_growth"] = (_status_kb("RssAnon") or anon) - anon
        out["compile_peak"] = peak_rss()
        out["nodes"] = model.compiled._latest().nodes
        _reset_peak()  # the peak of the next replay, not the compiler's
        model.forward()
        out["after_backward"] = peak_rss()
        return out
    if graph == "moons":
        model = peer.Moons(make_weights(), *make_moons())
        gc.collect()  # no warm-up step: memory its graph freed would hide this one's
        _trim_heap()
        _reset_peak()
        out["baseline"] = current_rss()
        anon = _status_kb("RssAnon")
        root = model.forward()
        out["after_build"] = peak_rss()
        if anon is not None:
            out["anon_growth"] = (_status_kb("RssAnon") or anon) - anon
        out["nodes"] = peer.count_nodes(root)
        model.backward(root)
    else:
        peer.chain_backward(peer.chain_build(100))  # warm up
        gc.collect()
        _trim_heap()
        _reset_peak()
        out["baseline"] = current_rss()
        built = peer.chain_build(n)
        out["after_build"] = peak_rss()
        out["nodes"] = n
        try:
            options = {"raise_limit": True} if impl == "micrograd" else {}
            if impl == "micrograd" and not peer.CAN_RAISE_RECURSION_LIMIT:
                raise RecursionError("micrograd's recursive sort needs Python 3.11+ at this depth")
            peer.chain_backward(built, **options)
        except RecursionError as err:
            out["backward_status"] = f"fails: {err}"[:100]
    out["after_backward"] = peak_rss()
    return out


def main() -> None:
    """Command line entry: IMPL GRAPH N."""
    impl, graph, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(measure_live(impl) if graph == "moons-live" else measure(impl, graph, n)))


if __name__ == "__main__":
    main()
