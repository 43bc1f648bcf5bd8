"""Static typing: Value's declarations match what ops.py attaches, and mypy and pyright accept
both the package and typical user code (tests/typing_examples.py).

mypy runs in its default mode and pyright in standard mode, both configured in pyproject.toml.
Without either tool the tests that need it skip, except under CI, where they fail.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import os
import re
import runpy
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from autograd import Value

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = "tests/typing_examples.py"


# ---------------------------------------------------------------------------------------------
# Value's TYPE_CHECKING block against the attributes attached at run time.
# ---------------------------------------------------------------------------------------------


def _value_class_body() -> list[ast.stmt]:
    tree = ast.parse((REPO_ROOT / "autograd" / "value.py").read_text(encoding="utf-8"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Value"]
    return cls.body


def _is_type_checking_block(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Name) and stmt.test.id == "TYPE_CHECKING"


def _names_defined(stmts: list[ast.stmt]) -> set[str]:
    names = set()
    for stmt in stmts:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            names.add(stmt.target.id)
        elif isinstance(stmt, ast.Assign):
            names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    return names


def _declarations() -> dict[str, ast.stmt]:
    """The statements of Value's `if TYPE_CHECKING:` block, by the name each declares."""
    blocks = [s for s in _value_class_body() if _is_type_checking_block(s)]
    assert len(blocks) == 1, "Value's class body must hold exactly one `if TYPE_CHECKING:` block"
    assert isinstance(blocks[0], ast.If)
    return {name: stmt for stmt in blocks[0].body for name in _names_defined([stmt])}


class _Probe:
    __slots__ = ()


def _attached_at_run_time() -> dict[str, object]:
    """Value's class attributes that its class body does not define: those ops.py attaches."""
    static = _names_defined([s for s in _value_class_body() if not _is_type_checking_block(s)])
    interpreter = set(vars(_Probe))  # __module__, __doc__, and per version __firstlineno__, ...
    slots = set(Value.__slots__)
    return {name: attr for name, attr in vars(Value).items()
            if name not in static and name not in interpreter and name not in slots}


def test_every_operator_and_method_attached_to_value_is_declared_for_type_checkers():
    attached = _attached_at_run_time()
    assert "__add__" in attached and "tanh" in attached  # the probe sees what ops.py attaches
    missing = sorted(name for name, attr in attached.items()
                     if callable(attr) and name not in _declarations())
    assert not missing, (f"attached to Value at run time but not declared in value.py's "
                         f"`if TYPE_CHECKING:` block (type checkers reject them): {missing}")


def test_every_declaration_exists_at_run_time():
    attached = _attached_at_run_time()
    absent = sorted(name for name in _declarations() if name not in attached)
    assert not absent, f"declared for type checkers in value.py but not attached to Value: {absent}"


def _declared_functions() -> list[ast.FunctionDef]:
    return [d for d in _declarations().values() if isinstance(d, ast.FunctionDef)]


@pytest.mark.parametrize("decl", _declared_functions(), ids=lambda d: d.name)
def test_each_declared_signature_accepts_the_calls_the_run_time_function_accepts(decl):
    runtime = vars(Value).get(decl.name)
    if runtime is None:
        pytest.fail(f"{decl.name} is declared but not attached (see the test above)")
    positional = decl.args.posonlyargs + decl.args.args
    required = len(positional) - len(decl.args.defaults)
    signature = inspect.signature(runtime)
    # The run-time function takes the declared required arguments positionally (self first) ...
    signature.bind(*range(required))
    # ... and every declared optional argument by its name.
    for arg in positional[required:]:
        assert arg.arg in signature.parameters, f"{decl.name}: run time has no parameter {arg.arg!r}"


# ---------------------------------------------------------------------------------------------
# The examples run, and mypy and pyright accept them and the package.
# ---------------------------------------------------------------------------------------------


def test_the_typing_examples_run(capsys):
    runpy.run_path(str(REPO_ROOT / EXAMPLES), run_name="__main__")
    assert capsys.readouterr().out.strip()


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        message = f"{module} is not installed (it is in chaingrad's `dev` extra)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(message)
        pytest.skip(message)


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory) -> list[tuple[str, str]]:
    """(file, message) for every error of `mypy` with pyproject.toml's settings."""
    _require("mypy")
    cache = tmp_path_factory.mktemp("mypy_cache")
    result = _run(["mypy", "--cache-dir", str(cache), "--no-error-summary", "--show-error-codes"])
    errors = [(m.group(1), line) for line in result.stdout.splitlines()
              if (m := re.match(r"^(.+?):\d+(?::\d+)?: error:", line))]
    assert errors or result.returncode == 0, result.stdout + result.stderr
    return errors


@pytest.fixture(scope="module")
def pyright_errors() -> list[tuple[str, str]]:
    """(file, message) for every error of `pyright` with pyproject.toml's settings."""
    _require("pyright")
    result = _run(["pyright", "--outputjson", "--pythonpath", sys.executable])
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pyright gave no report:\n{result.stdout}\n{result.stderr}")
    return [(os.path.relpath(d["file"], REPO_ROOT),
             f"{os.path.relpath(d['file'], REPO_ROOT)}:{d['range']['start']['line'] + 1}: {d['message']}")
            for d in report["generalDiagnostics"] if d["severity"] == "error"]


def _report(errors: list[tuple[str, str]], in_examples: bool) -> tuple[list[str], str]:
    chosen = [(f, m) for f, m in errors if (Path(f).as_posix() == EXAMPLES) == in_examples]
    counts = ", ".join(f"{f}: {n}" for f, n in sorted(Counter(f for f, _ in chosen).items()))
    return [m for _, m in chosen], counts


@pytest.mark.parametrize("checker", ["mypy_errors", "pyright_errors"])
def test_type_checkers_accept_typical_user_code(checker, request):
    messages, _ = _report(request.getfixturevalue(checker), in_examples=True)
    assert not messages, "\n".join(messages)


@pytest.mark.parametrize("checker", ["mypy_errors", "pyright_errors"])
def test_type_checkers_accept_the_package(checker, request):
    messages, counts = _report(request.getfixturevalue(checker), in_examples=False)
    assert not messages, f"errors per file: {counts}\n" + "\n".join(messages)
