"""The demo, `python -m nn` / `chaingrad-demo`: micrograd's moons setup reaches 100% training accuracy."""

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nn import __main__ as demo
from nn.__main__ import main

CAN_RENDER = shutil.which("dot") is not None and importlib.util.find_spec("graphviz") is not None
QUICK = ["--steps", "2", "--no-progress", "--svg", ""]


def run_demo(*args, cwd, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "nn", *args], cwd=cwd, capture_output=True, text=True, timeout=300, **kwargs
    )


def test_the_default_demo_reaches_full_accuracy_and_writes_the_neuron_graph_where_it_runs(tmp_path):
    result = run_demo(cwd=tmp_path)
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
    assert "class -1: points o (O when the model gets one wrong), region '.'" in out  # the key
    svg = tmp_path / "neuron.svg"
    if CAN_RENDER:
        assert f"written to {svg}" in out
        assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    else:
        assert "no SVG written" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == (["neuron.svg"] if CAN_RENDER else [])


@pytest.mark.parametrize("dataset", ["moons", "xor", "blobs", "spiral"])
def test_every_dataset_runs_a_few_steps(dataset, capsys, tmp_path):
    assert main(["--dataset", dataset, "--seed", "3", *QUICK]) == 0
    out = capsys.readouterr().out
    assert f"chaingrad demo: {dataset}" in out and "final loss" in out and "SVG" not in out
    n_classes = 3 if dataset in ("blobs", "spiral") else 2
    assert out.count("\n     class ") + out.count("key  class ") == n_classes  # one key line per class


def test_bad_options_exit_with_usage():
    with pytest.raises(SystemExit) as exit_info:
        main(["--steps", "0"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        main(["--dataset", "mnist"])


def test_a_missing_folder_for_the_svg_is_named_before_training(tmp_path, capsys):
    target = tmp_path / "nodir" / "n.svg"
    with pytest.raises(SystemExit) as exit_info:
        main(["--svg", str(target), "--steps", "2", "--no-progress"])
    assert exit_info.value.code == 2
    err = capsys.readouterr()
    assert f"--svg {target}: the folder '{target.parent}' does not exist" in err.err
    assert "chaingrad demo" not in err.out  # nothing trained
    with pytest.raises(SystemExit):
        main(["--svg", str(tmp_path), *QUICK[:3]])  # a folder is not a file name
    assert "is a folder, not a file name" in capsys.readouterr().err


def test_a_folder_that_vanishes_while_training_is_named_too(tmp_path):
    message = demo.write_svg(*small_neuron_graph(), str(tmp_path / "gone" / "n.svg"))
    assert message == f"no SVG written: the folder '{tmp_path / 'gone'}' does not exist"


def small_neuron_graph():
    import nn

    return demo.neuron_graph(nn.MLP(2, [3, 1], seed=0), [0.5, -1.0])


@pytest.mark.parametrize(
    ("argv0", "prog"),
    [
        ("/venv/bin/chaingrad-demo", "chaingrad-demo"),
        (r"C:\venv\Scripts\chaingrad-demo.exe", "chaingrad-demo"),
        ("chaingrad-demo-script.py", "chaingrad-demo"),
        ("/repo/nn/__main__.py", "python -m nn"),
        ("/venv/bin/pytest", "python -m nn"),
    ],
)
def test_the_program_name_follows_how_the_demo_was_started(argv0, prog):
    assert demo.program_name(argv0.replace("\\", "/")) == prog


def test_help_shows_the_program_name_it_was_started_by(tmp_path):
    result = run_demo("--help", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("usage: python -m nn ")
    script = Path(sys.executable).with_name("chaingrad-demo")
    if not script.exists():
        pytest.skip("the console script is not installed next to this interpreter")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("usage: chaingrad-demo ")


def test_a_closed_pipe_ends_the_demo_quietly(tmp_path):
    # Like `chaingrad-demo | head -1`: the reader goes away while the demo trains.
    with subprocess.Popen(
        [sys.executable, "-m", "nn", "--steps", "50", "--no-progress", "--svg", ""],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout.readline().startswith("chaingrad demo:")  # flushed before training
        child.stdout.close()
        stderr = child.stderr.read()
        assert child.wait(timeout=300) == 1  # 1: the output was cut short (0 would mean it never was)
    assert stderr == ""  # no BrokenPipeError traceback
