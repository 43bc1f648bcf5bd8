"""Turn the results into markdown tables, ratios against chaingrad and the issue's targets."""

from __future__ import annotations

from typing import Any

# The row every ratio of a workload is measured against (same case, same run).
REFERENCE = {"moons": "chaingrad", "chain": "chaingrad", "wide": "chaingrad naive", "ops": "chaingrad"}


def fmt_time(seconds: float) -> str:
    """Seconds with a readable unit."""
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def fmt_ratio(ratio: float | None) -> str:
    """A ratio as 41× / 1.3× / 0.12×."""
    if ratio is None:
        return "–"
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.2g}×"


def add_ratios(results: list[dict[str, Any]]) -> None:
    """Set `ratio` = median / the reference row's median, in place (None when either is missing)."""
    reference = {
        (r["workload"], r["case"]): r.get("median_s")
        for r in results
        if r["impl"] == REFERENCE.get(r["workload"])
    }
    for r in results:
        ref = reference.get((r["workload"], r["case"]))
        r["ratio"] = r["median_s"] / ref if ref and r.get("median_s") is not None else None


def _cell(r: dict[str, Any] | None, per_unit: bool = False) -> str:
    if r is None:
        return ""
    if r.get("median_s") is None:
        return r.get("status", "")
    value = fmt_time(r["per_unit_us"] * 1e-6) if per_unit else fmt_time(r["median_s"])
    return f"{value} ({fmt_ratio(r.get('ratio'))})"


def _grid(results: list[dict[str, Any]], workload: str, per_unit: bool = False) -> list[str]:
    rows = [r for r in results if r["workload"] == workload]
    cases = list(dict.fromkeys(r["case"] for r in rows))
    impls = list(dict.fromkeys(r["impl"] for r in rows))
    by_key = {(r["impl"], r["case"]): r for r in rows}
    lines = ["| implementation | " + " | ".join(cases) + " |", "|---" * (len(cases) + 1) + "|"]
    for impl in impls:
        cells = [_cell(by_key.get((impl, c)), per_unit) for c in cases]
        lines.append(f"| {impl} | " + " | ".join(cells) + " |")
    return lines


def _memory(results: list[dict[str, Any]]) -> list[str]:
    rows = [r for r in results if r["workload"] == "memory"]
    cases = list(dict.fromkeys(r["case"] for r in rows))
    impls = list(dict.fromkeys(r["impl"] for r in rows))
    by_key = {(r["impl"], r["case"]): r for r in rows}
    head = "| implementation |"
    for c in cases:
        head += f" {c}: graph | {c}: peak with backward |"
    lines = [head, "|---" * (2 * len(cases) + 1) + "|"]
    for impl in impls:
        cells = []
        for c in cases:
            r = by_key.get((impl, c), {})
            if r.get("status") != "ok":
                cells += [r.get("status", ""), ""]
                continue
            for kind in ("graph", "peak"):
                total = r[f"{kind}_bytes"] / 1e6
                per = r.get(f"{kind}_bytes_per_node")
                text = f"{total:.1f} MB" + (f", {per:.0f} B/node" if per is not None else "")
                if kind == "peak" and r.get("backward_status"):
                    text = f"backward {r['backward_status'][:40]}"
                if kind == "graph" and r.get("graph_bytes_range"):
                    lo, hi = (x / 1e6 for x in r["graph_bytes_range"])
                    text += f" (median of {r['probes']}: {lo:.1f}–{hi:.1f})"
                if kind == "graph" and r.get("anon_growth") is not None:
                    text += f", anonymous {r['anon_growth'] / 1e6:.1f} MB"  # the rest: library code read in
                cells.append(text)
        lines.append(f"| {impl} | " + " | ".join(cells) + " |")
    return lines


def _find(results: list[dict[str, Any]], workload: str, case: str | None, impl: str) -> dict[str, Any] | None:
    for r in results:
        if r["workload"] == workload and r["impl"] == impl and (case is None or r["case"] == case):
            return r
    return None


def targets(results: list[dict[str, Any]]) -> list[str]:
    """Each target of issue 7 with the measured number and whether it is met."""
    lines = []

    def check(text: str, value: float | None, ok: bool | None) -> None:
        verdict = "not measured" if value is None else ("met" if ok else "MISSED")
        shown = "–" if value is None else f"{value:.3g}"
        lines.append(f"| {text} | {shown} | {verdict} |")

    def median(workload: str, case: str | None, impl: str) -> float | None:
        r = _find(results, workload, case, impl)
        return None if r is None else r.get("median_s")

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    # The training loop is how users run (and how the issue measured micrograd's ~2 s per step).
    cg = median("moons", "loop", "chaingrad")
    r = ratio(median("moons", "loop", "micrograd"), cg)
    check("moons step (training loop): micrograd time ÷ chaingrad time ≥ 50", r, r is not None and r >= 50)
    r = ratio(median("moons", "loop", "torch"), cg)
    check("moons step (training loop): torch time ÷ chaingrad time ≥ 20", r, r is not None and r >= 20)
    r = ratio(cg, median("moons", "loop", "plain floats"))
    check("moons step (training loop): chaingrad time ÷ plain-float time ≤ 10", r, r is not None and r <= 10)

    chain_cases = [x["case"] for x in results if x["workload"] == "chain" and x["impl"] == "chaingrad"]
    if chain_cases:
        big = chain_cases[-1]
        cg = median("chain", big, "chaingrad")
        check(f"chain of {big}: chaingrad works (seconds)", cg, cg is not None)
        r = ratio(median("chain", big, "micrograd (recursion limit 10^7)"), cg)
        check(f"chain of {big}: micrograd (raised limit) ÷ chaingrad ≥ 5", r, r is not None and r >= 5)
        r = ratio(cg, median("chain", big, "plain floats"))
        check(f"chain of {big}: chaingrad ÷ plain floats per node ≤ 25", r, r is not None and r <= 25)

    mem = _find(results, "memory", None, "chaingrad")
    per = None if mem is None else mem.get("graph_bytes_per_node")
    check(f"memory, {mem['case'] if mem else 'chain'}: bytes per node of the graph ≤ 250", per,
          per is not None and per <= 250)
    peak = None if mem is None else mem.get("peak_bytes_per_node")
    check("memory, same chain: peak bytes per node with backward ≤ 250", peak,
          peak is not None and peak <= 250)

    demo = median("demo", None, "chaingrad")
    check("`python -m nn` (100 steps) wall time < 5 s", demo, demo is not None and demo < 5)
    return ["| target | measured | verdict |", "|---|---|---|", *lines]


def compiled_targets(results: list[dict[str, Any]]) -> list[str]:
    """Each target of issue 15 (compiled replay) with the measured number and whether it is met."""
    lines = []

    def check(text: str, value: float | None, ok: bool) -> None:
        verdict = "not measured" if value is None else ("met" if ok else "MISSED")
        lines.append(f"| {text} | {'–' if value is None else f'{value:.3g}'} | {verdict} |")

    def median(impl: str, case: str = "loop") -> float | None:
        r = _find(results, "moons", case, impl)
        return None if r is None else r.get("median_s")

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    compiled = median("chaingrad compiled")
    r = ratio(compiled, median("plain floats"))
    check("moons step (loop): compiled ÷ plain floats ≤ 0.5", r, r is not None and r <= 0.5)
    r = ratio(median("chaingrad"), compiled)
    check("moons step (loop): dynamic chaingrad ÷ compiled ≥ 8", r, r is not None and r >= 8)
    r = ratio(median("chaingrad compiled numpy"), median("numpy batched"))
    check("moons step (loop): compiled NumPy backend ÷ NumPy batched ≤ 5", r, r is not None and r <= 5)
    first = _find(results, "moons", "loop", "chaingrad compiled")
    t = None if first is None else first.get("first_step_s")
    check("moons step: trace + compile + first replay ≤ 1 s (seconds)", t, t is not None and t <= 1.0)
    for case, what, key in (("moons step graph, live objects", "live objects", "graph_bytes"),
                            ("moons step graph", "resident", "graph_bytes"),
                            ("moons step graph", "resident, with backward or a second replay", "peak_bytes")):
        program = _find(results, "memory", case, "chaingrad compiled")
        graph = _find(results, "memory", case, "chaingrad")
        r = ratio(program and program.get(key), graph and graph.get(key))
        check(f"memory ({what}): compiled moons program ÷ the dynamic graph ≤ 1", r, r is not None and r <= 1)
    for r in (x for x in results if x["workload"] == "compile"):
        t = r.get("median_s")
        check(f"{r['impl']}, {r['case']}: compiles and replays (seconds)", t, t is not None)
    return ["| target | measured | verdict |", "|---|---|---|", *lines]


def markdown(results: list[dict[str, Any]]) -> str:
    """All tables as one markdown document."""
    add_ratios(results)
    out: list[str] = ["Times are medians; (k×) is the time divided by chaingrad's in the same run "
                      "(for the wide sum: by chaingrad's naive sum()).", ""]
    present = {r["workload"] for r in results}
    if "moons" in present:
        out += ["### 1. Moons demo step (100 points, MLP(2, [16, 16, 1]), "
                "forward + zero_grad + backward + SGD)", ""]
        out += ["`loop`: consecutive steps in a fresh process per implementation, as users run; "
                "`step`: one step at a time in this process, a collection on the clock after each.", ""]
        out += ["| implementation | case | median step | × chaingrad | graph nodes | steps timed |",
                "|---|---|---|---|---|---|"]
        for r in (x for x in results if x["workload"] == "moons"):
            t = fmt_time(r["median_s"]) if r.get("median_s") is not None else r["status"]
            out.append(f"| {r['impl']} | {r['case']} | {t} | {fmt_ratio(r.get('ratio'))} | "
                       f"{r.get('nodes') or '–'} | {len(r['samples_s'])} |")
        out.append("")
    if "chain" in present:
        out += ["### 2. Deep chain, build + backward (time per run)", "", *_grid(results, "chain"), ""]
    if "wide" in present:
        out += ["### 3. Wide sum of n products, build + backward", "", *_grid(results, "wide"), ""]
    if "ops" in present:
        out += ["### 4. Per-op overhead (time per op)", "", *_grid(results, "ops", per_unit=True), ""]
    if "memory" in present:
        out += ["### 5. Memory (peak RSS over baseline, fresh process per implementation)", "",
                *_memory(results), ""]
    if "demo" in present:
        out += ["### The 100-step demo", ""]
        for r in (x for x in results if x["workload"] == "demo"):
            t = fmt_time(r["median_s"]) if r.get("median_s") is not None else r["status"]
            out.append(f"`python -m nn`: {t} wall time (one run, subprocess).")
        out.append("")
    if "compile" in present:
        out += ["### 6. Compiled replay of big graphs (trace + compile, replay)", "",
                "| implementation | case | trace + compile + first call | replay |", "|---|---|---|---|"]
        for r in (x for x in results if x["workload"] == "compile"):
            first = fmt_time(r["first_s"]) if r.get("first_s") is not None else r.get("status", "")
            t = fmt_time(r["median_s"]) if r.get("median_s") is not None else r.get("status", "")
            out.append(f"| {r['impl']} | {r['case']} | {first} | {t} |")
        out.append("")
    out += ["### Targets of issue 7", "", *targets(results), ""]
    if any(r["impl"].startswith("chaingrad compiled") for r in results) or "compile" in present:
        out += ["### Targets of issue 15 (compiled replay)", "", *compiled_targets(results), ""]
    return "\n".join(out)
