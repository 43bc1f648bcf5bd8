"""README.md: every ```python block runs, top to bottom in one namespace, and its pictures exist.

The blocks run as a reader pastes them into one session: in order, each seeing the names the
earlier ones defined, in a temporary folder so that the files they write do not litter the
repository. A block that only shows code (an excerpt that is not meant to run) must use another
fence, e.g. ```text or plain ```.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
README = REPO_ROOT / "README.md"
IMAGES = REPO_ROOT / "notebooks" / "images"

# A fenced block opened by ```python (nothing else on the line) and closed by ``` at line start.
PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
# Markdown images ![alt](path "title") and HTML <img src="path">.
IMAGE_REF = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|<img\s[^>]*src=\"([^\"]+)\"")
SVG_NS = "{http://www.w3.org/2000/svg}"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number of the block's first code line, code) of every ```python block, in order."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in PYTHON_BLOCK.finditer(text)]


def run_blocks(blocks: list[tuple[int, str]], where: str) -> dict:
    """Run the blocks in order in one namespace; fail naming the block, its line and the error."""
    namespace: dict = {"__name__": "__readme__"}
    for number, (line, code) in enumerate(blocks, start=1):
        failure = None
        try:
            exec(compile(code, f"{where}:{line}", "exec"), namespace)
        except Exception as err:
            if _is_missing_graphviz(err) and not os.environ.get("CI"):
                pytest.skip(f"block {number} (line {line}) draws a graph and Graphviz is not installed")
            detail = "".join(traceback.format_exception(err)[-6:])
            failure = f"README python block {number} (line {line}) failed:\n{code}\n{detail}"
        if failure:
            pytest.fail(failure, pytrace=False)
    return namespace


def _is_missing_graphviz(err: Exception) -> bool:
    from autograd import viz

    missing_package = isinstance(err, ImportError) and "graphviz" in str(err)
    return isinstance(err, viz.GraphvizNotFoundError) or missing_package


def test_the_block_finder_reads_fences_as_markdown_does():
    text = "intro\n```python\na = 1\n```\n```text\nnot run\n```\n```\nplain\n```\n```python\nb = a + 1\n```\n"
    assert python_blocks(text) == [(3, "a = 1\n"), (12, "b = a + 1\n")]
    with pytest.raises(pytest.fail.Exception, match=r"block 2 \(line 5\) failed"):
        run_blocks([(1, "x = 1\n"), (5, "y = x + undefined_name\n")], "demo")
    assert run_blocks([(1, "x = 1\n"), (5, "y = x + 1\n")], "demo")["y"] == 2  # one namespace


def test_every_python_block_of_the_readme_runs_in_order(tmp_path, monkeypatch):
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no ```python block"
    monkeypatch.chdir(tmp_path)  # files the examples write land here
    monkeypatch.setattr(sys, "argv", ["README.md"])
    run_blocks(blocks, "README.md")


def test_the_readme_pictures_exist():
    text = README.read_text(encoding="utf-8")
    refs = [a or b for a, b in IMAGE_REF.findall(text)]
    local = [ref for ref in refs if not re.match(r"[a-z]+://", ref)]
    assert local, "README.md embeds no picture of its own"
    for ref in local:
        assert (REPO_ROOT / ref).is_file(), f"README.md shows {ref}, which is not in the repository"


def svg_texts(svg: bytes) -> list[list[str]]:
    """The texts of each node of an SVG drawn by Graphviz, sorted: what the picture says."""
    root = ET.fromstring(svg)
    nodes = [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "node"]
    return sorted([t.text or "" for t in g.iter(f"{SVG_NS}text")] for g in nodes)


def test_the_committed_pictures_show_what_the_project_draws_today(tmp_path):
    if shutil.which("dot") is None and not os.environ.get("CI"):
        pytest.skip("Graphviz's `dot` is not installed (CI installs it, so this runs there)")
    spec = importlib.util.spec_from_file_location("make_images", IMAGES / "make_images.py")
    make_images = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_images)
    from autograd import viz

    pictures = make_images.pictures()
    assert pictures
    for name, (root, kwargs) in pictures.items():
        fresh = viz.save(root, tmp_path / name, **kwargs).read_bytes()
        committed = (IMAGES / name).read_bytes()
        # Node by node the same texts (labels, data, grads, legend); the exact coordinates may
        # differ between Graphviz versions. Redraw with `python notebooks/images/make_images.py`.
        assert svg_texts(committed) == svg_texts(fresh), f"notebooks/images/{name} is out of date"
