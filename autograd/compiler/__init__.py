"""Compiled replay: trace a function of scalars once, replay forward and backward without a graph.

`compile(f)` records the graph f builds, derives the program's code from the op table (each
primitive's forward, rule and kernel evaluated once on symbolic placeholders) and replays it on
new arguments: in generated Python (`backend="python"`, bit for bit backward()'s numbers) or
with NumPy (`backend="numpy"`, independent nodes of one op at once). See `compiled.source`.
"""

from .compiled import Compiled, compile
from .trace import GraphCutWarning, GuardFailure

__all__ = ["compile", "Compiled", "GraphCutWarning", "GuardFailure"]
