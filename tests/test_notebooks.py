"""The teaching notebooks: each runs top to bottom from a fresh kernel, and is stored stripped.

A failing cell (an `assert` where the engine must agree with a hand derivation, or any error)
fails the notebook's test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"

# name -> whether it draws computation graphs (which needs Graphviz's `dot` program).
NOTEBOOKS = {
    "01_derivatives_and_gradient_descent": False,
    "02_backprop_by_hand": True,
    "03_linear_regression": False,
    "04_mlp_training": False,
    "05_graphs_and_gradient_flow": True,
    "06_higher_order_and_gradcheck": False,
}

CELL_TIMEOUT_SECONDS = 60


def read_notebook(name: str):
    """The stored notebook `name` (the file must exist: a missing notebook fails, never skips)."""
    path = NOTEBOOK_DIR / f"{name}.ipynb"
    assert path.is_file(), f"notebook {path} is missing"
    return nbformat.read(path, as_version=4)


def test_the_notebook_folder_holds_exactly_the_listed_notebooks():
    stored = sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb"))
    assert stored == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_is_stored_without_outputs(name):
    notebook = read_notebook(name)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {index} has stored outputs"
            assert cell.execution_count is None, f"{name} cell {index} has an execution count"


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_runs_top_to_bottom(name, monkeypatch):
    if NOTEBOOKS[name] and shutil.which("dot") is None and not os.environ.get("CI"):
        pytest.skip("Graphviz's `dot` is not installed (CI installs it, so this runs there)")
    notebook = read_notebook(name)
    # The kernel inherits the environment: a headless backend, whatever the machine's default, and
    # this checkout's packages first (the kernel starts in notebooks/, which does not hold them).
    monkeypatch.setenv("MPLBACKEND", "Agg")
    search_path = [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in search_path if p))
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:
        pytest.fail(f"{name}: a cell failed\n{err}", pytrace=False)
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert errors == []
