"""Packaging: what the sdist and the wheel hold, their metadata, the one version, the clash with
HIPS autograd, and the API reference.

The distributions are built from a copy of the source tree with `python -m build --no-isolation`
(the same build CI runs isolated, then checks with twine). Without `build`, `twine` or `pdoc`
the tests that need them skip, except under CI, where they fail.
"""

from __future__ import annotations

import email.parser
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import autograd
import nn

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("autograd", "nn")
# Folders of the repository that the sdist leaves out: they run from a clone.
NOT_SHIPPED = ("tests/", "notebooks/", "benchmarks/", "docs/", ".ci/")
IGNORED = shutil.ignore_patterns(".git", ".venv*", "__pycache__", "*.py[cod]", ".hypothesis", ".mypy_cache",
                                 ".pytest_cache", ".ruff_cache", "build", "dist", "*.egg-info")


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        message = f"{module} is not installed (it is in chaingrad's `test` and `dev` extras)"
        if _under_ci():
            pytest.fail(message)
        pytest.skip(message)


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=600, check=False, **kwargs)


def package_files() -> set[str]:
    """Every file of the two packages in the source tree (what the wheel must hold), as paths."""
    files = set()
    for package in PACKAGES:
        for path in (REPO_ROOT / package).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
                files.add(path.relative_to(REPO_ROOT).as_posix())
    return files


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """The sdist and the wheel, built from a copy of the source tree."""
    _require("build")
    _require("setuptools")
    tmp = tmp_path_factory.mktemp("dists")
    source = tmp / "source"
    shutil.copytree(REPO_ROOT, source, ignore=IGNORED)
    result = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp / "dist"),
                   str(source)])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sdist,) = (tmp / "dist").glob("*.tar.gz")
    (wheel,) = (tmp / "dist").glob("*.whl")
    return {"sdist": sdist, "wheel": wheel, "log": tmp / "dist"}


def _sdist_names(sdist: Path) -> set[str]:
    with tarfile.open(sdist) as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()}
    prefix = f"chaingrad-{autograd.__version__}/"
    assert all(n.startswith(prefix) for n in names), sorted(names)[:5]
    return {n[len(prefix):] for n in names}


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as whl:
        return set(whl.namelist())


def _dist_info(wheel: Path, name: str) -> str:
    with zipfile.ZipFile(wheel) as whl:
        return whl.read(f"chaingrad-{autograd.__version__}.dist-info/{name}").decode()


# ---------------------------------------------------------------------------------------------
# Contents and metadata.
# ---------------------------------------------------------------------------------------------


def test_the_sdist_holds_the_library_and_its_documents_and_no_tests(dists):
    names = _sdist_names(dists["sdist"])
    documents = {"pyproject.toml", "README.md", "LICENSE", "PKG-INFO", "MANIFEST.in"}
    missing = (documents | package_files()) - names
    assert not missing, f"missing from the sdist: {sorted(missing)}"
    shipped = sorted(n for n in names if n.startswith(NOT_SHIPPED) or "__pycache__" in n)
    assert not shipped, f"the sdist ships no tests, notebooks or benchmarks, but has {shipped}"


def test_the_wheel_holds_exactly_the_two_packages_with_their_type_markers(dists):
    names = _wheel_names(dists["wheel"])
    info = f"chaingrad-{autograd.__version__}.dist-info/"
    assert {"autograd/py.typed", "nn/py.typed", f"{info}licenses/LICENSE"} <= names
    files = {n for n in names if not n.startswith(info)}
    assert files == package_files(), (f"missing: {sorted(package_files() - files)}, "
                                      f"extra: {sorted(files - package_files())}")


def test_the_metadata_names_license_python_versions_and_extras(dists):
    meta = email.parser.Parser().parsestr(_dist_info(dists["wheel"], "METADATA"))
    assert meta["Name"] == "chaingrad" and meta["Version"] == autograd.__version__
    assert meta["License-Expression"] == "MIT" and meta.get_all("License-File") == ["LICENSE"]
    assert meta["Requires-Python"] == ">=3.10"
    classifiers = set(meta.get_all("Classifier"))
    for expected in ["Programming Language :: Python :: 3.10", "Programming Language :: Python :: 3.13",
                     "Operating System :: OS Independent", "Topic :: Education",
                     "Topic :: Scientific/Engineering :: Mathematics", "Typing :: Typed"]:
        assert expected in classifiers
    assert not any(c.startswith("License ::") for c in classifiers)  # the SPDX expression says it
    assert meta.get_all("Author") or meta.get_all("Author-email")
    extras = set(meta.get_all("Provides-Extra"))
    assert {"viz", "progress", "compile", "notebooks", "test", "bench", "dev"} <= extras
    requires = meta.get_all("Requires-Dist")
    assert not [r for r in requires if "extra ==" not in r], "the library itself depends on nothing"
    assert any(r.startswith("hypothesis") and 'extra == "notebooks"' in r for r in requires)
    assert any(r.startswith("tqdm") and 'extra == "progress"' in r for r in requires)


def test_no_pytest_plugin_is_installed_only_the_demo_script(dists):
    entry_points = _dist_info(dists["wheel"], "entry_points.txt")
    assert "pytest11" not in entry_points  # a library must not change other projects' test runs
    assert re.search(r"^chaingrad-demo = nn\.__main__:main$", entry_points, re.M)


def test_the_version_is_written_once():
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert not re.search(r"^version\s*=", project, re.M)
    assert re.search(r'^dynamic = \["version"\]', project, re.M)
    assignments = [p.relative_to(REPO_ROOT).as_posix() for package in PACKAGES
                   for p in (REPO_ROOT / package).rglob("*.py")
                   if re.search(r"^__version__\s*=", p.read_text(encoding="utf-8"), re.M)]
    assert assignments == ["autograd/__init__.py"]
    assert nn.__version__ == autograd.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", autograd.__version__)


def test_twine_accepts_both_distributions(dists):
    _require("twine")
    result = _run([sys.executable, "-m", "twine", "check", "--strict", str(dists["sdist"]),
                   str(dists["wheel"])])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_installed_wheel_imports_on_its_own(dists, tmp_path):
    site = tmp_path / "site"
    result = _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                   "--target", str(site), str(dists["wheel"])])
    assert result.returncode == 0, result.stdout + result.stderr
    code = ("import autograd, nn; from autograd import Value; x = Value(2.0); (x * x).backward(); "
            "print(autograd.__file__, x.grad, nn.MLP(2, [3, 1], seed=1).num_parameters())")
    out = _isolated(code, [site])
    assert out.split() == [str(site / "autograd" / "__init__.py"), "4.0", "13"], out


# ---------------------------------------------------------------------------------------------
# The clash with HIPS autograd, on fake layouts of site-packages.
# ---------------------------------------------------------------------------------------------

# A HIPS-like `autograd`: its __init__ fails the way HIPS's does without NumPy, so a check that
# ran it would show this message instead of explaining the clash.
HIPS_FILES = {
    "__init__.py": "raise ImportError('HIPS autograd/__init__.py was executed')\n",
    "differential_operators.py": "def grad(fun, argnum=0):\n    return fun\n",
    "wrap_util.py": "",
    "core.py": "",
}


def _install_chaingrad(site: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, site / package, ignore=IGNORED, dirs_exist_ok=True)


def _install_hips(site: Path) -> None:
    (site / "autograd").mkdir(parents=True, exist_ok=True)
    for name, text in HIPS_FILES.items():
        (site / "autograd" / name).write_text(text, encoding="utf-8")


def _isolated(code: str, path: list[Path]) -> str:
    """Run `code` in a fresh interpreter whose sys.path is the standard library and `path`."""
    prelude = f"import sys; sys.path[:0] = {[str(p) for p in path]!r}\n"
    result = _run([sys.executable, "-I", "-S", "-c", prelude + code])
    return result.stdout + result.stderr


def _layout(kind: str, tmp: Path) -> list[Path]:
    """A site-packages layout of one kind; the sys.path entries that see it, in order."""
    site, other = tmp / "site", tmp / "other"
    site.mkdir()
    other.mkdir()
    if kind == "chaingrad alone":
        _install_chaingrad(site)
        return [site]
    if kind == "HIPS earlier on sys.path":
        _install_chaingrad(site)
        _install_hips(other)
        return [other, site]
    if kind == "HIPS later on sys.path":
        _install_chaingrad(site)
        _install_hips(other)
        return [site, other]
    if kind == "HIPS installed over chaingrad":
        _install_chaingrad(site)
        _install_hips(site)
        return [site]
    if kind == "chaingrad installed over HIPS":
        _install_hips(site)
        _install_chaingrad(site)
        return [site]
    if kind == "HIPS over chaingrad, then HIPS uninstalled":
        _install_chaingrad(site)
        for name in HIPS_FILES:  # pip removes every file of HIPS's RECORD, __init__.py included
            (site / "autograd" / name).unlink(missing_ok=True)
        return [site]
    if kind == "another copy of chaingrad's autograd":
        _install_chaingrad(site)
        shutil.copytree(site / "autograd", other / "autograd")
        return [other, site]
    if kind == "another module named autograd":
        _install_chaingrad(site)
        (other / "autograd.py").write_text("x = 1\n", encoding="utf-8")
        return [other, site]
    raise AssertionError(kind)


IMPORT_ERROR = ("try:\n    {statement}\nexcept ImportError as err:\n    print('ImportError:', err)\n"
                "else:\n    print('imported')\n")

# layout, what the user imports, and what they are told (None: the import works).
CLASHES = [
    ("chaingrad alone", "import nn, autograd", None),
    ("HIPS earlier on sys.path", "import nn", "is HIPS autograd at"),
    ("HIPS later on sys.path", "import autograd", "HIPS autograd is installed at"),
    ("HIPS later on sys.path", "import nn", "HIPS autograd is installed at"),
    ("HIPS installed over chaingrad", "import nn", "mixes the files of chaingrad and of HIPS autograd"),
    ("chaingrad installed over HIPS", "from autograd import grad", "mixes the files of chaingrad"),
    ("chaingrad installed over HIPS", "import nn", "mixes the files of chaingrad and of HIPS autograd"),
    ("HIPS over chaingrad, then HIPS uninstalled", "import nn", "has no __init__.py"),
    ("another module named autograd", "import nn", "another package named `autograd`"),
    ("another copy of chaingrad's autograd", "import nn", "another copy of chaingrad's `autograd` at"),
]


@pytest.mark.parametrize(("layout", "statement", "told"), CLASHES, ids=[f"{c[0]}: {c[1]}" for c in CLASHES])
def test_a_clash_with_hips_autograd_is_an_import_error_that_explains_it(tmp_path, layout, statement, told):
    out = _isolated(IMPORT_ERROR.format(statement=statement), _layout(layout, tmp_path))
    if told is None:
        assert out.strip() == "imported", out
        return
    assert out.startswith("ImportError: "), out
    assert told in out, out
    assert "own virtual environment" in out and "pip uninstall -y autograd chaingrad" in out, out
    assert "was executed" not in out  # HIPS's __init__.py never ran


# ---------------------------------------------------------------------------------------------
# The API reference.
# ---------------------------------------------------------------------------------------------


def test_the_api_reference_builds_without_warnings(tmp_path):
    _require("pdoc")
    result = _run([sys.executable, str(REPO_ROOT / "docs" / "api.py"), str(tmp_path)], cwd=REPO_ROOT)
    assert result.returncode == 0 and not result.stderr, result.stdout + result.stderr
    pages = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.html")}
    expected = {f"{m.replace('.', '/')}.html" for m in ["autograd", "nn", "autograd.value", "autograd.ops",
                                                         "autograd.testing", "autograd.testing.plugin",
                                                         "nn.layers", "nn.optim"]}
    assert expected <= pages, sorted(expected - pages)
