"""pytest plugin: registers chaingrad's hypothesis profiles, `ci` and `dev`.

Loaded through the `pytest11` entry point. hypothesis is a test dependency, not a runtime one,
so without it this plugin does nothing. Registering a profile does not load it: a project's
conftest chooses (chaingrad's loads `ci` when the CI environment variable is set, `dev`
otherwise), and `pytest --hypothesis-profile=NAME` still overrides that choice.
"""

from __future__ import annotations

import os

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - only without the test extras
    settings = None

# CI: the same examples on every run (derandomized, no example database), a fixed number of
# them, and no per-example deadline (speed is measured in benchmarks, not asserted in tests;
# two shared cores make timings noisy, hence also no too_slow health check).
CI_SETTINGS = {"derandomize": True, "database": None, "max_examples": 100, "deadline": None,
               "print_blob": True}
# Local runs: random examples (failures are remembered in .hypothesis/), no deadline.
DEV_SETTINGS = {"max_examples": 100, "deadline": None}

if settings is not None:
    # Both start from hypothesis's defaults, whatever profile is loaded now (hypothesis itself
    # loads a built-in `ci` profile when it detects CI; ours replaces it).
    _defaults = settings.get_profile("default")
    settings.register_profile("ci", _defaults, suppress_health_check=[HealthCheck.too_slow],
                              **CI_SETTINGS)
    settings.register_profile("dev", _defaults, **DEV_SETTINGS)


def profile_for_environment() -> str:
    """`ci` when the CI environment variable is set (to anything but "" or "false"), else `dev`."""
    ci = os.environ.get("CI", "")
    return "ci" if ci and ci.lower() not in ("0", "false") else "dev"


def load_profile(config: object) -> str | None:
    """Load the profile for the environment unless `--hypothesis-profile` chose one; its name."""
    if settings is None:
        return None
    getoption = getattr(config, "getoption", None)
    if getoption is not None and getoption("hypothesis_profile", default=None):
        return None  # hypothesis's own plugin loads the profile named on the command line
    name = profile_for_environment()
    settings.load_profile(name)
    return name
