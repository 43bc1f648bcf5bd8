"""The 100-step demo `python -m nn`, timed as a whole in a subprocess (wall time)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from types import ModuleType
from typing import Any

from . import Settings
from .memory import REPO


def run(peers: dict[str, ModuleType], settings: Settings) -> list[dict[str, Any]]:
    """Wall time of `python -m nn`, run in a scratch directory; 'n/a' while the demo does not exist."""
    record: dict[str, Any] = {"workload": "demo", "case": "python -m nn", "impl": "chaingrad"}
    if not settings.demo:
        return []
    if importlib.util.find_spec("nn.__main__") is None:
        return [{**record, "status": "n/a: nn/__main__.py does not exist"}]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as scratch:  # whatever the demo writes goes here
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "nn"], cwd=scratch, env=env, capture_output=True,
                              text=True, timeout=600, stdin=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
    if done.returncode != 0:
        return [{**record, "status": f"error: exit {done.returncode}: {done.stderr.strip()[-200:]}"}]
    return [{**record, "status": "ok", "median_s": elapsed, "samples_s": [elapsed]}]
