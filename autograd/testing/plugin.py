"""chaingrad's hypothesis profiles, `ci` and `dev`, for test suites that ask for them.

Nothing happens on import and nothing is installed globally: a project opts in, either with one
line in its top-level `conftest.py`, which makes this module a pytest plugin for that project
only (it registers both profiles and loads `ci` under CI, `dev` otherwise):

    pytest_plugins = ["autograd.testing.plugin"]

or by calling `register_profiles()` and `load_profile()` itself, as chaingrad's own
`tests/conftest.py` does. `pytest --hypothesis-profile=NAME` always wins over the automatic
choice. Registering `ci` replaces hypothesis's built-in profile of that name in that project.
hypothesis is a test dependency, not a runtime one.
"""

from __future__ import annotations

import os
from typing import Any

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - only without the test extras
    HealthCheck = settings = None  # type: ignore[assignment,misc]

__all__ = ["CI_SETTINGS", "DEV_SETTINGS", "register_profiles", "profile_for_environment", "load_profile",
           "pytest_configure"]

# CI: the same examples on every run (derandomized, no example database), a fixed number of
# them, and no per-example deadline (speed is measured in benchmarks, not asserted in tests;
# two shared cores make timings noisy, hence also no too_slow health check).
CI_SETTINGS: dict[str, Any] = {"derandomize": True, "database": None, "max_examples": 100,
                               "deadline": None, "print_blob": True}
# Local runs: random examples (failures are remembered in .hypothesis/), no deadline.
DEV_SETTINGS: dict[str, Any] = {"max_examples": 100, "deadline": None}


def register_profiles() -> None:
    """Register the profiles `ci` and `dev` with hypothesis (both start from its defaults).

    Raises ImportError when hypothesis is not installed.
    """
    if settings is None or HealthCheck is None:
        raise ImportError("autograd.testing.plugin: the hypothesis profiles need hypothesis "
                          "(pip install hypothesis, or chaingrad's `test` extra)")
    # From hypothesis's defaults, whatever profile is loaded now (hypothesis itself loads a
    # built-in `ci` profile when it detects CI; ours replaces it).
    defaults = settings.get_profile("default")
    settings.register_profile("ci", defaults, suppress_health_check=[HealthCheck.too_slow], **CI_SETTINGS)
    settings.register_profile("dev", defaults, **DEV_SETTINGS)


def profile_for_environment() -> str:
    """`ci` when the CI environment variable is set (to anything but "", "0" or "false"), else `dev`."""
    ci = os.environ.get("CI", "")
    return "ci" if ci and ci.lower() not in ("0", "false") else "dev"


def load_profile(config: object = None) -> str | None:
    """Load the profile for the environment and return its name.

    Returns None and loads nothing when pytest's `config` shows `--hypothesis-profile` (then
    hypothesis's own plugin loads the named profile), or when hypothesis is not installed. The
    profiles must have been registered (`register_profiles()`).
    """
    if settings is None:
        return None
    getoption = getattr(config, "getoption", None)
    if getoption is not None and getoption("hypothesis_profile", default=None):
        return None
    name = profile_for_environment()
    settings.load_profile(name)
    return name


def pytest_configure(config: Any) -> None:
    """pytest hook, active only in a project that lists this module in `pytest_plugins`."""
    register_profiles()
    load_profile(config)
