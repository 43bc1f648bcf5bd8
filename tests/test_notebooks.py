"""The teaching notebooks: every notebook in notebooks/ runs top to bottom from a fresh kernel, is
stored stripped, imports only what the `notebooks` extra installs, and is listed in notebooks/README.md.

A failing cell (an `assert` where the engine must agree with a hand derivation, or any error)
fails the notebook's test. Needs only pytest and the `notebooks` extra (`pip install -e
".[notebooks]" pytest`): the kernel is this very interpreter, so the notebooks run in the
environment under test.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb"))

CELL_TIMEOUT_SECONDS = 60
KERNEL_NAME = "chaingrad-tests"
# Graphviz's `dot` program, not a Python package: notebooks that draw graphs need it.
GRAPHVIZ_USE = re.compile(r"\b(autograd\.viz|draw_dot|explain|repr_svg)\b")
# Importable without being named in the extra: the project itself and what ipykernel brings.
ALWAYS_IMPORTABLE = {"autograd", "nn", "IPython"}


def read_notebook(name: str):
    """The stored notebook `name`."""
    return nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)


def code_of(notebook) -> str:
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


@pytest.fixture(scope="module")
def jupyter_path(tmp_path_factory) -> Path:
    """A folder with one kernelspec: this interpreter, whatever other kernels the machine has."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL_NAME, "language": "python"})
    )
    return root


def test_the_notebooks_are_numbered_in_order():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"
    numbers = [int(re.match(r"(\d\d)_\w+$", name)[1]) for name in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1)), NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_stored_without_outputs(name):
    notebook = read_notebook(name)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {index} has stored outputs"
            assert cell.execution_count is None, f"{name} cell {index} has an execution count"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_imports_only_what_the_notebooks_extra_installs(name):
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    extra = project["optional-dependencies"]["notebooks"]
    provided = {re.match(r"[A-Za-z0-9_.\-]+", req)[0].replace("-", "_").lower() for req in extra}
    imported = set()
    for node in ast.walk(ast.parse(code_of(read_notebook(name)))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    missing = imported - set(sys.stdlib_module_names) - ALWAYS_IMPORTABLE - provided
    assert not missing, f"{name} imports {sorted(missing)}: add them to the `notebooks` extra"


def test_the_readme_lists_every_notebook_and_cites_no_private_paths():
    readme = (NOTEBOOK_DIR / "README.md").read_text()
    for name in NOTEBOOKS:
        assert f"`{name}`" in readme, f"notebooks/README.md does not list {name}"
    # Users have the lecture notes by title and course, not the project's seed files.
    for name in NOTEBOOKS:
        assert "seeds/" not in "\n".join(cell.source for cell in read_notebook(name).cells), name
    assert "seeds/" not in readme


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(name, monkeypatch, tmp_path, jupyter_path):
    notebook = read_notebook(name)
    if GRAPHVIZ_USE.search(code_of(notebook)) and shutil.which("dot") is None and not os.environ.get("CI"):
        pytest.skip("Graphviz's `dot` is not installed (CI installs it, so this runs there)")
    # The kernel inherits the environment: a headless backend, whatever the machine's default, and
    # this checkout's packages first. It starts in a temporary folder, so files a notebook writes
    # do not litter the repository.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    search_path = [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in search_path if p))
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(tmp_path)}},
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
