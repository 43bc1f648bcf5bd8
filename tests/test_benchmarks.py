"""The benchmark suite as an instrument: every implementation computes the same numbers, and the
harness times, fails and reports as documented. No timing is asserted."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `benchmarks` is not an installed package

from benchmarks import peers as peer_modules  # noqa: E402
from benchmarks import problems, report, run  # noqa: E402
from benchmarks.timing import Entry, carry_failures, interleave  # noqa: E402
from benchmarks.workloads import Settings  # noqa: E402

MOONS_PEERS = list(peer_modules.MODULES)
PEERS = list(peer_modules.full({name: peer_modules.load(name) or object() for name in MOONS_PEERS}))
OPTIONAL = {"micrograd": "micrograd", "torch": "torch", "chaingrad compiled numpy": "numpy",
            "numpy batched": "numpy"}


def _load(name):
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    return peer_modules.load(name)


@pytest.fixture(params=PEERS)
def peer(request):
    """Each implementation of every workload; micrograd and torch are skipped when not installed."""
    return _load(request.param)


@pytest.fixture(params=MOONS_PEERS)
def moons_peer(request):
    """Each implementation of the moons step, the compiled ones and the NumPy peer included."""
    return _load(request.param)


# -- the moons step --


def small_moons():
    points, labels = problems.make_moons(12, seed=3)
    return problems.make_weights(seed=4), points, labels


def plain_loss(weights, points, labels) -> float:
    """The moons loss written out again, directly from the definition, for finite differences."""
    total = 0.0
    for x, y in zip(points, labels, strict=True):
        a = x
        for i, layer in enumerate(weights):
            z = [b + sum(wi * ai for wi, ai in zip(w, a, strict=True)) for w, b in layer]
            a = z if i == len(weights) - 1 else [max(zj, 0.0) for zj in z]
        total += max(1.0 - y * a[0], 0.0)
    l2 = sum(p * p for p in problems.flatten(weights))
    return total / len(points) + problems.L2_ALPHA * l2


def unflatten(flat, like):
    it = iter(flat)
    return [[([next(it) for _ in w], next(it)) for w, _ in layer] for layer in like]


def test_make_moons_has_both_classes_on_two_half_circles():
    points, labels = problems.make_moons(200, noise=0.0)
    assert labels.count(-1.0) == labels.count(1.0) == 100
    upper = [p for p, y in zip(points, labels, strict=True) if y < 0]
    assert all(math.isclose(math.hypot(x, y), 1.0) for x, y in upper)  # radius 1 around (0, 0)
    assert problems.make_moons(10, seed=5) == problems.make_moons(10, seed=5)


@pytest.fixture(scope="module")
def central_differences() -> list[float]:
    """d loss / d parameter of the small moons problem by central differences of plain_loss."""
    weights, points, labels = small_moons()
    flat, h = problems.flatten(weights), 1e-6
    out = []
    for i in range(len(flat)):
        up, down = list(flat), list(flat)
        up[i] += h
        down[i] -= h
        f_up = plain_loss(unflatten(up, weights), points, labels)
        f_down = plain_loss(unflatten(down, weights), points, labels)
        out.append((f_up - f_down) / (2 * h))
    return out


def test_moons_loss_and_gradients_match_finite_differences(moons_peer, central_differences):
    weights, points, labels = small_moons()
    model = moons_peer.Moons(weights, points, labels)
    root = model.forward()
    assert model.loss(root) == pytest.approx(plain_loss(weights, points, labels), rel=1e-12)
    model.backward(root)
    assert model.grads() == pytest.approx(central_differences, rel=1e-5, abs=1e-8)


def test_moons_step_updates_parameters_identically_across_implementations(moons_peer):
    weights, points, labels = small_moons()
    reference = peer_modules.load("plain floats").Moons(weights, points, labels)
    model = moons_peer.Moons(weights, points, labels)
    for k in range(2):
        lr = problems.learning_rate(k)
        assert model.step(lr) == pytest.approx(reference.step(lr), rel=1e-12)
    assert model.params() == pytest.approx(reference.params(), rel=1e-12, abs=1e-14)
    assert model.params() != problems.flatten(weights)  # the step did move the weights


def test_micrograd_peer_builds_the_demos_graph_node_for_node():
    pytest.importorskip("micrograd")
    n = 10
    points, labels = problems.make_moons(n)
    root = peer_modules.load("micrograd").Moons(problems.make_weights(), points, labels).forward()
    # Counted by hand from micrograd's demo: a neuron with k inputs is k products and k adds
    # (sum starts at b), + 1 relu when hidden: per sample 16·5 + 16·33 + 32 = 640 nodes + 2 input
    # leaves + 5 for relu(1 + -y·s) (leaf -y, mul, leaf 1, add, relu). Then sum(losses): leaf 0 +
    # n adds; * (1/n): leaf + mul; 337 products p·p, their sum: leaf 0 + 337 adds; alpha *: leaf +
    # mul; data + reg: 1; and the 337 parameters.
    per_sample = 640 + 2 + 5
    expected = per_sample * n + (1 + n) + 2 + 337 + (1 + 337) + 2 + 1 + 337
    assert peer_modules.load("micrograd").count_nodes(root) == expected


# -- the deep chain --


def chain_closed_form(n: int) -> tuple[float, list[float]]:
    """v_m = a^m x0 + b (1 + a + ... + a^(m-1)) after m = n/2 (mul, add) pairs, and its partials."""
    x0, a, b, m = problems.CHAIN_X0, problems.CHAIN_A, problems.CHAIN_B, n // 2
    geometric = sum(a**k for k in range(m))
    d_geometric = sum(k * a ** (k - 1) for k in range(1, m))
    return a**m * x0 + b * geometric, [a**m, m * a ** (m - 1) * x0 + b * d_geometric, geometric]


@pytest.mark.parametrize("n", [2, 10, 400])
def test_chain_matches_closed_form(peer, n):
    graph = peer.chain_build(n)
    if peer.NAME != "plain floats":
        peer.chain_backward(graph)
    out, grads = peer.chain_result(graph)
    expected_out, expected_grads = chain_closed_form(n)
    assert out == pytest.approx(expected_out, rel=1e-12)
    assert grads == pytest.approx(expected_grads, rel=1e-10)


def test_micrograd_chain_fails_at_default_limit_and_is_reported():
    micrograd = pytest.importorskip("micrograd") and peer_modules.load("micrograd")
    def deep_chain(_):
        micrograd.chain_backward(micrograd.chain_build(1500))

    entry = Entry("chain", "1500 nodes", "micrograd", deep_chain)
    interleave([entry], repeats=2, budget_s=10.0, warmup=False, isolate=False)
    assert entry.status == "fails: RecursionError"
    assert entry.samples == []
    assert entry.record()["median_s"] is None


def test_micrograd_chain_with_raised_limit_is_right():
    micrograd = pytest.importorskip("micrograd") and peer_modules.load("micrograd")
    if not micrograd.CAN_RAISE_RECURSION_LIMIT:
        pytest.skip("a deep recursion would overflow the C stack before Python 3.11")
    limit = sys.getrecursionlimit()
    graph = micrograd.chain_build(4000)
    micrograd.chain_backward(graph, raise_limit=True)
    assert sys.getrecursionlimit() == limit  # restored
    out, grads = micrograd.chain_result(graph)
    expected_out, expected_grads = chain_closed_form(4000)
    assert out == pytest.approx(expected_out, rel=1e-12)
    assert grads == pytest.approx(expected_grads, rel=1e-10)


# -- the wide sum --


def test_wide_sum_every_form_gives_sum_and_swapped_gradients(peer):
    ws, xs = problems.wide_inputs(50)
    for variant, fn in peer.WIDE.items():
        out, gw, gx = peer.wide_result(fn(peer.wide_leaves(ws, xs)))
        assert out == pytest.approx(math.fsum(w * x for w, x in zip(ws, xs, strict=True)), rel=1e-12), variant
        assert gw == pytest.approx(xs, rel=1e-15), variant  # d/dw_i sum w x = x_i
        assert gx == pytest.approx(ws, rel=1e-15), variant


# -- per-op overhead --

# f(x, c) and df/dx at x = 0.5, c = 0.25, by hand.
OPS = {
    "add": (0.75, 1.0),
    "mul": (0.125, 0.25),
    "tanh": (math.tanh(0.5), 1.0 - math.tanh(0.5) ** 2),
    "exp": (math.exp(0.5), math.exp(0.5)),
}


@pytest.mark.parametrize("op", list(OPS))
def test_op_workloads_compute_the_op_and_accumulate_its_derivative(peer, op):
    if op not in peer.OPS:  # micrograd 0.1.0 has no tanh or exp: reported as n/a in the tables
        with pytest.raises(NotImplementedError):
            peer.op_forward(op, 1)
        return
    value, derivative = OPS[op]
    assert peer.op_forward(op, 3) == pytest.approx(value, rel=1e-15)
    out, grad = peer.op_forward_backward(op, 3)
    assert out == pytest.approx(value, rel=1e-15)
    assert grad == pytest.approx(3 * derivative, rel=1e-14)  # three backward calls accumulate


# -- the harness --


def test_interleave_rotates_order_and_counts_samples():
    calls = []
    entries = [Entry("w", "c", name, lambda _, name=name: calls.append(name)) for name in "abc"]
    interleave(entries, repeats=3, budget_s=100.0, warmup=True, isolate=False)
    assert calls == list("abc" + "abc" + "bca" + "cab")  # warm-up, then rounds in rotating order
    assert [len(e.samples) for e in entries] == [3, 3, 3]
    assert all(e.status == "ok" and e.record()["median_s"] >= 0 for e in entries)


def test_interleave_stops_an_entry_past_its_budget_and_marks_missing_ops():
    slow = Entry("w", "c", "slow", lambda _: sum(range(20000)))
    missing = Entry("w", "c", "missing", lambda _: (_ for _ in ()).throw(NotImplementedError))
    interleave([slow, missing], repeats=5, budget_s=0.0, warmup=False, isolate=False)
    assert len(slow.samples) == 1  # one sample, then the (zero) budget is spent
    assert missing.status == "n/a"


def test_prepare_is_called_per_run_and_its_value_passed():
    made = []
    entry = Entry("w", "c", "x", lambda arg: made.append(("run", arg)), prepare=lambda: len(made))
    interleave([entry], repeats=2, budget_s=100.0, warmup=False)  # with the off-clock collections
    assert made == [("run", 0), ("run", 1)]


def test_ratios_are_against_chaingrad_in_the_same_case():
    results = [
        {"workload": "moons", "case": "loop", "impl": "chaingrad", "median_s": 0.02},
        {"workload": "moons", "case": "loop", "impl": "micrograd", "median_s": 2.0},
        {"workload": "wide", "case": "n", "impl": "chaingrad naive", "median_s": 0.5},
        {"workload": "wide", "case": "n", "impl": "chaingrad dot", "median_s": 0.1},
        {"workload": "wide", "case": "n", "impl": "micrograd", "median_s": None, "status": "fails"},
    ]
    report.add_ratios(results)
    assert [r["ratio"] for r in results] == [1.0, 100.0, 1.0, pytest.approx(0.2), None]
    lines = report.targets(results)
    assert any("micrograd time ÷ chaingrad time ≥ 50 | 100 | met" in line for line in lines)
    assert any("plain-float" in line and "not measured" in line for line in lines)


def test_time_formatting():
    assert report.fmt_time(2.0) == "2.00 s"
    assert report.fmt_time(0.0123) == "12.3 ms"
    assert report.fmt_time(4.5e-6) == "4.5 µs"
    assert report.fmt_ratio(41.4) == "41×"
    assert report.fmt_ratio(0.123) == "0.12×"


def test_run_writes_json_and_tables(tmp_path, monkeypatch, capsys):
    tiny = Settings(1, 100.0, (100,), (50,), 10, 20_000, ("chain",), False)
    monkeypatch.setattr(Settings, "quick", classmethod(lambda cls: tiny))
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    argv = ["--quick", "--impl", "plain floats", "--json", str(out_json), "--markdown", str(out_md)]
    for workload in ("chain", "wide", "ops", "memory"):
        argv += ["--only", workload]
    run.main(argv)
    document = json.loads(out_json.read_text())
    assert document["machine"]["gc_enabled"] is True
    impls = {r["impl"] for r in document["results"]}
    assert impls == {"chaingrad", "chaingrad naive", "chaingrad sum", "chaingrad dot", "plain floats"}
    assert all(r["status"] == "ok" for r in document["results"])
    memory = [r for r in document["results"] if r["workload"] == "memory"]
    assert {r["nodes"] for r in memory} == {20_000}
    assert all(r["peak_bytes"] >= r["graph_bytes"] for r in memory)
    assert "### 2. Deep chain" in out_md.read_text()
    assert "| chaingrad | " in capsys.readouterr().out


def test_run_rejects_bad_arguments():
    with pytest.raises(SystemExit):
        run.parse_args(["--repeats", "0"])
    with pytest.raises(SystemExit):
        run.parse_args(["--only", "nonsense"])


def test_a_failure_at_a_small_size_is_carried_to_larger_sizes_without_running():
    ran = []
    failed: dict[str, str] = {}
    small = Entry("chain", "10 nodes", "deep", lambda _: (_ for _ in ()).throw(RecursionError))
    interleave([small], repeats=1, budget_s=1.0, warmup=False, isolate=False)
    carry_failures([small], failed)
    large = Entry("chain", "100 nodes", "deep", lambda _: ran.append(1))
    carry_failures([large], failed)
    interleave([large], repeats=2, budget_s=1.0, warmup=False, isolate=False)
    assert ran == []
    assert large.status == "fails: RecursionError (as at 10 nodes)"


def test_the_training_loop_runs_in_a_child_process_and_reports_each_step():
    from benchmarks.workloads import moons

    times = moons._loop_in_child("chaingrad", 3, 60.0)
    assert isinstance(times, list) and len(times) == 3 and all(t > 0 for t in times)
    assert moons._loop_in_child("no such implementation", 3, 60.0).startswith("error")
