"""autograd.testing.plugin: chaingrad's hypothesis profiles reach only the projects that ask.

Each test runs pytest (or Python) in a fresh process on a small project in a temporary folder,
so that this session's own profiles (registered by tests/conftest.py) cannot leak in.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import autograd.testing

REPO_ROOT = Path(__file__).resolve().parent.parent

# The test of a user's project: which profile is loaded, and is chaingrad's `dev` registered?
PROFILE_PROBE = '''
from hypothesis import settings
from hypothesis.errors import InvalidArgument


def test_report_profiles():
    try:
        settings.get_profile("dev")
        dev = "registered"
    except InvalidArgument:
        dev = "absent"
    print(f"PROFILE={settings.get_current_profile_name()} DEV={dev} DEADLINE={settings().deadline}")
'''


def _pytest(project: Path, ci: str, *args: str) -> str:
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *args],
                            cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _project(tmp_path: Path, conftest: str | None) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # its own rootdir
    if conftest is not None:
        (tmp_path / "conftest.py").write_text(conftest, encoding="utf-8")
    (tmp_path / "test_probe.py").write_text(PROFILE_PROBE, encoding="utf-8")
    return tmp_path


def test_importing_the_plugin_registers_nothing():
    code = ("import autograd.testing.plugin\nfrom hypothesis import settings\n"
            "try:\n    settings.get_profile('dev')\nexcept Exception:\n    print('absent')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, check=False)
    assert result.stdout.strip() == "absent", result.stdout + result.stderr


def test_a_project_that_does_not_ask_keeps_hypothesis_s_own_profiles(tmp_path):
    out = _pytest(_project(tmp_path, None), "true")
    assert "DEV=absent" in out, out


@pytest.mark.parametrize(("ci", "profile"), [("true", "ci"), ("", "dev")])
def test_a_project_that_lists_the_plugin_gets_the_profiles(tmp_path, ci, profile):
    out = _pytest(_project(tmp_path, 'pytest_plugins = ["autograd.testing.plugin"]\n'), ci)
    assert f"PROFILE={profile} DEV=registered DEADLINE=None" in out, out


def test_the_command_line_profile_wins(tmp_path):
    out = _pytest(_project(tmp_path, 'pytest_plugins = ["autograd.testing.plugin"]\n'), "true",
                  "--hypothesis-profile=dev")
    assert "PROFILE=dev DEV=registered" in out, out


def _documented_files() -> dict[str, str]:
    """The files of the example in autograd.testing's docstring, by the name in each `# file.py`."""
    doc = autograd.testing.__doc__ or ""
    block = textwrap.dedent("\n".join(line for line in doc.splitlines() if line.startswith("    ")
                                      or not line.strip()))
    parts = re.split(r"^# (\w+\.py)\n", block.strip(), flags=re.M)
    assert parts[0].strip() == "" and len(parts) == 5, parts
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_the_documented_example_conftest_and_test_run(tmp_path):
    files = _documented_files()
    assert set(files) == {"conftest.py", "test_cube.py"}
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    out = _pytest(tmp_path, "true")
    assert re.search(r"\b1 passed\b", out), out
