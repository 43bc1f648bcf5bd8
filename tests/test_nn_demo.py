"""The demo, `python -m nn`: micrograd's moons setup reaches 100% training accuracy."""

import importlib.util
import re
import shutil
import subprocess
import sys

import pytest

from nn.__main__ import main

CAN_RENDER = shutil.which("dot") is not None and importlib.util.find_spec("graphviz") is not None


def test_the_default_demo_reaches_full_accuracy_and_writes_the_neuron_graph(tmp_path):
    svg = tmp_path / "neuron.svg"
    result = subprocess.run(
        [sys.executable, "-m", "nn", "--svg", str(svg)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "MLP(2, [16, 16, 1]), 337 parameters" in out
    assert "100 SGD steps, lr 1 -> 0.1" in out
    match = re.search(r"final loss (\S+)\s+accuracy (\S+)%\s+wall time (\S+) s", out)
    assert match, out
    assert float(match.group(2)) == 100.0
    assert 0.0 < float(match.group(1)) < 0.1
    assert result.stderr == ""  # no terminal: no progress bar
    plot = [line for line in out.splitlines() if line.startswith("|")]
    assert len(plot) == 24 and "o" in "".join(plot) and "x" in "".join(plot)
    assert "O" not in "".join(plot) and "X" not in "".join(plot)  # every point on its own side
    if CAN_RENDER:
        assert f"written to {svg}" in out
        assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    else:
        assert "no SVG written" in out


@pytest.mark.parametrize("dataset", ["moons", "xor", "blobs", "spiral"])
def test_every_dataset_runs_a_few_steps(dataset, capsys, tmp_path):
    assert main(["--dataset", dataset, "--steps", "2", "--seed", "3", "--no-progress", "--svg", ""]) == 0
    out = capsys.readouterr().out
    assert f"chaingrad demo: {dataset}" in out and "final loss" in out and "SVG" not in out


def test_bad_options_exit_with_usage():
    with pytest.raises(SystemExit) as exit_info:
        main(["--steps", "0"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        main(["--dataset", "mnist"])
