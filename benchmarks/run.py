"""Run the benchmark suite: `python benchmarks/run.py [--quick] [--only W] [--repeats N] [--json PATH]`.

Every workload runs on chaingrad and, when installed, micrograd 0.1.0 and PyTorch (0-dim tensors),
plus hand-written plain floats as the limit; prints markdown tables and writes JSON.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograd import fileio  # noqa: E402
from benchmarks import peers as peer_modules  # noqa: E402
from benchmarks.report import markdown  # noqa: E402
from benchmarks.workloads import Settings, chain, demo, memory, moons, ops, replay, wide  # noqa: E402

WORKLOADS = {"moons": moons, "chain": chain, "wide": wide, "ops": ops, "memory": memory, "demo": demo,
             "compile": replay}
RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=RESULTS.parent, text=True,
                                capture_output=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "git_commit": commit,
        "gc_enabled": gc.isenabled(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (autograd.fileio's helper), creating its folder first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fileio.write_atomically(path, text)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute, no demo")
    parser.add_argument("--only", action="append", choices=sorted(WORKLOADS), metavar="WORKLOAD",
                        help=f"run only this workload (repeatable): {', '.join(WORKLOADS)}")
    parser.add_argument("--impl", action="append", choices=list(peer_modules.MODULES), metavar="IMPL",
                        help="run only this implementation (repeatable; chaingrad is always included)")
    parser.add_argument("--repeats", type=int, help="timed runs per entry (default 5, quick 3)")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json", help="where to write the JSON")
    parser.add_argument("--markdown", type=Path, default=RESULTS / "latest.md",
                        help="where to write the tables")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the selected workloads, print the tables, write JSON and markdown; returns the document."""
    try:
        return _main(argv)
    finally:
        gc.unfreeze()


def _main(argv: list[str] | None) -> dict[str, Any]:
    args = parse_args(argv)
    settings = Settings.quick() if args.quick else Settings.full()
    if args.repeats is not None:
        settings.repeats = args.repeats
    names = None if args.impl is None else ["chaingrad", *args.impl]
    peers = peer_modules.available(names)
    gc.collect()
    gc.freeze()  # the imports' objects (PyTorch's thousands) are not the workloads': collections skip them
    missing = [n for n in peer_modules.MODULES if n not in peers and (names is None or n in names)]
    if missing:
        print(f"not installed, skipped: {', '.join(missing)} (pip install -r benchmarks/requirements.txt)")
    results: list[dict[str, Any]] = []
    for name in args.only or list(WORKLOADS):
        start = time.perf_counter()
        print(f"running {name}...", file=sys.stderr, flush=True)
        results += WORKLOADS[name].run(peers, settings)
        print(f"  {name} took {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    tables = markdown(results)
    command = "python benchmarks/run.py" + "".join(f" {shlex.quote(a)}" for a in (argv or sys.argv[1:]))
    document = {
        "command": command,
        "machine": machine(),
        "versions": {name: peer.version() for name, peer in peers.items()},
        "settings": vars(settings),
        "results": results,
    }
    print(tables)
    write_atomically(args.json, json.dumps(document, indent=1) + "\n")
    write_atomically(args.markdown, f"Command: `{command}`\n\n{tables}")
    print(f"wrote {args.json} and {args.markdown}", file=sys.stderr)
    return document


if __name__ == "__main__":
    main()
