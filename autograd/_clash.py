"""The import-name clash with HIPS autograd, reported instead of failing somewhere else.

chaingrad installs the packages `autograd` and `nn`; HIPS autograd (the PyPI distribution
`autograd`) installs a package `autograd` too. With both in one environment, whichever was
installed last overwrites the other's `autograd/__init__.py` and the two packages' files end up
mixed in one folder, or one package hides the other on `sys.path`. `pip check` sees nothing.
Importing this module runs `check()`, before chaingrad's `autograd` or `nn` imports anything
else; it raises an ImportError that says what was found and how to fix it.

Standard library only, and never imports the `autograd` package: `nn` runs this file by path,
so that a HIPS `autograd/__init__.py` (which needs NumPy) is never executed.
"""

from __future__ import annotations

import importlib.util
import os
import sys

# Files of HIPS autograd's package that chaingrad's never has.
HIPS_FILES = ("differential_operators.py", "wrap_util.py")

FIX = (
    "chaingrad and HIPS autograd both use the import name `autograd`, so they cannot share one "
    "environment. Fix: give each its own virtual environment, e.g. `python -m venv .venv && "
    ".venv/bin/pip install chaingrad`; to repair this environment, `pip uninstall -y autograd "
    "chaingrad` and then install only the one you need."
)


def is_hips_autograd(folder: str) -> bool:
    """True when `folder` (an `autograd` package folder) holds HIPS autograd's files."""
    return any(os.path.isfile(os.path.join(folder, name)) for name in HIPS_FILES)


def check(ours: str | None = None) -> None:
    """Raise ImportError unless the `autograd` Python imports is chaingrad's alone.

    `ours` is the folder of chaingrad's `autograd` (this file's folder by default). The error
    names what was found instead: HIPS autograd hiding chaingrad's, the files of both packages
    mixed in one folder, chaingrad's `__init__.py` removed (by uninstalling HIPS autograd after
    it overwrote chaingrad's), or HIPS autograd installed elsewhere on `sys.path` and hidden by
    chaingrad's (its users would silently get chaingrad's `grad`).
    """
    ours = os.path.realpath(ours or os.path.dirname(os.path.abspath(__file__)))
    try:
        spec = importlib.util.find_spec("autograd")
    except (ImportError, ValueError):  # ValueError: a module in sys.modules without a __spec__
        spec = None
    if spec is None:
        return  # nothing named autograd: the import that follows reports it
    if spec.origin is None or spec.origin == "namespace":
        locations = [os.path.realpath(p) for p in spec.submodule_search_locations or ()]
        if ours in locations:
            raise ImportError(
                f"chaingrad's `autograd` package at {ours} has no __init__.py: it was most likely "
                f"removed by uninstalling HIPS autograd after HIPS autograd had been installed over "
                f"chaingrad; `pip install --force-reinstall chaingrad` restores it. {FIX}"
            )
        raise ImportError(f"`autograd` is a namespace package at {locations}, not chaingrad's at {ours}. "
                          f"{FIX}")
    found = os.path.dirname(os.path.realpath(spec.origin))
    if found != ours:
        if is_hips_autograd(found):
            what = "HIPS autograd"
        elif os.path.isfile(os.path.join(found, os.path.basename(__file__))):
            what = "another copy of chaingrad's `autograd`"
        else:
            what = "another package named `autograd`"
        raise ImportError(
            f"the `autograd` Python imports is {what} at {found}, which hides chaingrad's `autograd` "
            f"at {ours} (chaingrad's `nn` needs its own `autograd`). {FIX}"
        )
    if is_hips_autograd(ours):
        raise ImportError(
            f"the `autograd` package at {ours} mixes the files of chaingrad and of HIPS autograd: one "
            f"was installed over the other. {FIX}"
        )
    for entry in sys.path:
        folder = os.path.join(entry or os.curdir, "autograd")
        if is_hips_autograd(folder) and os.path.realpath(folder) != ours:
            raise ImportError(
                f"HIPS autograd is installed at {os.path.realpath(folder)} too; chaingrad's `autograd` "
                f"at {ours} hides it, so code written for HIPS autograd would silently run "
                f"chaingrad's functions. {FIX}"
            )


check()
