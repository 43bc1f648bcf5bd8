"""Which nodes' backward a program may skip when their gradient is zero, bit for bit as backward().

backward() adds g * p into each input's gradient. When g is ±0.0 and p is finite, g * p is ±0.0,
and adding ±0.0 to an accumulator changes nothing unless the accumulator is -0.0 (-0.0 + 0.0 is
+0.0). Gradients of computed nodes start at +0.0 and an accumulator that starts at +0.0 is never
-0.0, so only a leaf whose incoming `.grad` is -0.0 can tell (the program checks that). So a node
may be skipped at g == 0 when each of its partials is certainly finite: a partial that is an
input, the output or a finite constant, or a conditional choosing among those (relu's
`1.0 if x > 0 else 0.0 if x <= 0 else nan`, whose NaN branch no non-NaN x reaches). The program
certifies the values these partials read finite at run time (one running sum: finite iff every
term is) and runs dynamically when that fails. A NaN or infinite g is truthy: never skipped.
"""

from __future__ import annotations

import math
from typing import Any

from ..primitive import Primitive
from . import symbolic

_NOT = {"<": ">=", ">=": "<", ">": "<=", "<=": ">"}  # the complement, for operands that are not NaN
_MIRROR = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}  # a < b is b > a

_rules: dict[tuple[Primitive, int], tuple[int, ...] | None] = {}
_kernels: dict[tuple[Primitive, int], tuple[int, ...] | None] = {}


def rule_reads(prim: Primitive, n: int) -> tuple[int, ...] | None:
    """The symbols (inputs 0..n-1, output n) the rule's partials read, if all are certainly finite
    when those are finite (and no comparison operand is NaN); None if some partial may not be."""
    key = (prim, n)
    if key not in _rules:
        rule = symbolic.rule_form(prim, n)
        found: tuple[int, ...] | None = None
        if rule is not None:
            reads: set[int] = set()
            if all(d is None or finite_if_inputs_are(d, reads) for d in rule):
                found = tuple(sorted(reads))
        if n <= symbolic._CACHE_LIMIT:
            _rules[key] = found
        return found
    return _rules[key]


def kernel_reads(prim: Primitive, n: int) -> tuple[int, ...] | None:
    """The inputs an n-ary kernel's partials read (its contributions are g or g * partial), if
    those partials are certainly finite; None otherwise. The gradient is symbol n."""
    key = (prim, n)
    if key not in _kernels:
        kernel = symbolic.kernel_form(prim, n)
        found: tuple[int, ...] | None = None
        if kernel is not None:
            reads: set[int] = set()
            ok = True
            for _, e in kernel:
                partial = _factor_of_gradient(e, n)
                if partial is None or not finite_if_inputs_are(partial, reads) or n in reads:
                    ok = False
                    break
            if ok:
                found = tuple(sorted(reads))
        if n <= symbolic._CACHE_LIMIT:
            _kernels[key] = found
        return found
    return _kernels[key]


def _factor_of_gradient(e: tuple, g: int) -> tuple | None:
    """p when the contribution e is g * p or p * g (or ("const", 1.0) when it is g); else None."""
    if e == ("sym", g):
        return ("const", 1.0)
    if e[0] == "bin" and e[1] == "*":
        if e[2] == ("sym", g):
            return e[3]
        if e[3] == ("sym", g):
            return e[2]
    return None


def finite_if_inputs_are(e: tuple, reads: set[int]) -> bool:
    """Whether `e` is finite whenever the symbols it reads (added to `reads`) are finite.

    Iterative over the nesting of conditionals; a branch that complementary comparisons rule
    out (the else of `x > 0` then the else of `x <= 0`) is never taken for non-NaN operands.
    """
    stack: list[tuple[tuple, dict[tuple, bool]]] = [(e, {})]
    while stack:
        x, facts = stack.pop()
        kind = x[0]
        if kind == "sym":
            reads.add(x[1])
        elif kind == "const":
            if type(x[1]) not in (int, float) or not math.isfinite(x[1]):
                return False
        elif kind == "neg":
            stack.append((x[1], facts))
        elif kind == "cond":
            c = x[1]
            if c[0] != "cmp" or not all(_plain(side, reads) for side in (c[2], c[3])):
                return False
            known = _known(c, facts)
            if known is not False:
                stack.append((x[2], {**facts, c: True}))
            if known is not True:
                stack.append((x[3], {**facts, c: False}))
        else:  # arithmetic may overflow, a call may return anything
            return False
    return True


def _plain(side: tuple, reads: set[int]) -> bool:
    """A comparison operand that is a symbol (certified, so not NaN) or a non-NaN constant."""
    if side[0] == "sym":
        reads.add(side[1])
        return True
    return side[0] == "const" and type(side[1]) in (int, float) and side[1] == side[1]


def _known(c: tuple, facts: dict[tuple, bool]) -> bool | None:
    """The outcome of comparison c implied by `facts` (outcomes of others), for non-NaN operands."""
    _, op, a, b = c
    for cmp, outcome in _forms(op, a, b):
        if cmp in facts:
            return facts[cmp] == outcome
    return None


def _forms(op: str, a: Any, b: Any) -> list[tuple[tuple, bool]]:
    """Comparisons equivalent to `a op b` (True) or to its negation (False), on non-NaN operands."""
    if op not in _NOT:
        return [(("cmp", op, a, b), True)]
    return [(("cmp", op, a, b), True), (("cmp", _NOT[op], a, b), False),
            (("cmp", _MIRROR[op], b, a), True), (("cmp", _MIRROR[_NOT[op]], b, a), False)]


_reflecting: dict[tuple[Primitive, int], bool] = {}


def reflects_finite(prim: Primitive, n: int) -> bool:
    """Whether the forward's output is finite only if every input is: a sum and product of all
    its inputs and finite constants (inf or NaN in any operand of +, -, * gives inf or NaN, and
    so does every expression containing it). Then certifying the output certifies the inputs."""
    key = (prim, n)
    found = _reflecting.get(key)
    if found is None:
        form = symbolic.forward_form(prim, n)
        found = form is not None and _polynomial(form, n)
        if n <= symbolic._CACHE_LIMIT:
            _reflecting[key] = found
    return found


def _polynomial(e: tuple, n: int) -> bool:
    seen: set[int] = set()
    for x in symbolic.walk(e):
        kind = x[0]
        if kind == "sym":
            seen.add(x[1])
        elif kind == "const":
            if type(x[1]) not in (int, float) or not math.isfinite(x[1]):
                return False
        elif not (kind == "neg" or (kind == "bin" and x[1] in ("+", "-", "*"))):
            return False
    return seen == set(range(n))
