"""chaingrad compiled, NumPy backend: the nn moons step through `autograd.compile(..., backend="numpy")`."""

from __future__ import annotations

import numpy  # noqa: F401 (this peer needs NumPy: without it, it is reported as not installed)

from . import chaingrad_compiled_impl
from .chaingrad_compiled_impl import COMPILED, MOONS_ONLY, count_nodes, version

NAME = "chaingrad compiled numpy"
__all__ = ["NAME", "MOONS_ONLY", "COMPILED", "Moons", "count_nodes", "version"]


class Moons(chaingrad_compiled_impl.Moons):
    """The compiled moons step, its nodes run in groups by NumPy."""

    backend = "numpy"
