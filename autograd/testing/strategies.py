"""Hypothesis strategies for property tests of derivatives: op inputs and random expression DAGs.

`domain_floats(op)` and `op_inputs(op)` draw points where a primitive is defined and smooth (from
its `domain` and `kinks` metadata); `expressions()` draws `(f, inputs)`: a random expression
built from the op table (and any custom primitives), with shared subexpressions and domain
guards, and a point where it is valid. `f` works on floats and on Values and its repr is a
Python lambda a person can read (and `eval(f.source, f.namespace)` rebuilds it).

Requires hypothesis (a test dependency, not a runtime one).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st

from .. import elementary, piecewise
from .. import ops as op_table
from ..primitive import Primitive, make_function

__all__ = [
    "domain_floats", "op_inputs", "expressions", "Expression", "domain_of", "resolve_ops", "function_of",
    "away_from_kinks",
]

# Where a primitive declared with domain=None is tested: every input in this interval.
DEFAULT_INTERVAL = (-10.0, 10.0)
# How far from a kink or pole (a zero of `kinks`) a drawn point must stay; much more than the
# finite-difference step of gradcheck, so that no difference straddles a kink.
KINK_MARGIN = 0.01
# Inputs of an n-ary op (sum, dot: 2 weights then 2 inputs) when the caller does not say.
DEFAULT_NARY_INPUTS = 4
# An infinite bound is replaced by this one, so that drawn floats stay well scaled.
_FAR = 1e3

OpLike = Primitive | Callable[..., Any] | str


# ---------------------------------------------------------------------------------------------
# Primitives and their domains.
# ---------------------------------------------------------------------------------------------


def resolve_ops(op_list: Iterable[OpLike] | None = None) -> list[Primitive]:
    """Primitives from names (of `op_table.TABLE`), dispatching functions or Primitives; default: all."""
    if op_list is None:
        return op_table.all_primitives()
    return [_primitive_of(op) for op in op_list]


def _primitive_of(op: OpLike) -> Primitive:
    if isinstance(op, Primitive):
        return op
    if isinstance(op, str):
        if op not in op_table.TABLE:
            raise ValueError(f"strategies: no primitive named {op!r} in the op table")
        return op_table.TABLE[op]
    prim = getattr(op, "primitive", None)
    if not isinstance(prim, Primitive):
        raise TypeError(f"strategies: {op!r} is not a primitive (expected a name, a Primitive or "
                        f"a function made by autograd.primitive)")
    return prim


def _input_count(prim: Primitive, n_inputs: int | None) -> int:
    if prim.arity is not None:
        if n_inputs is not None and n_inputs != prim.arity:
            raise ValueError(f"strategies: {prim.display} takes {prim.arity} inputs, not {n_inputs}")
        return prim.arity
    n = DEFAULT_NARY_INPUTS if n_inputs is None else n_inputs
    if n < 1 or (prim.name == "dot" and n < 2):
        raise ValueError(f"strategies: {prim.display} cannot take {n} inputs")
    return n


def domain_of(op: OpLike, n_inputs: int | None = None) -> list[tuple[float, float]]:
    """One finite interval per input where `op` is defined and smooth (its `domain` metadata).

    A primitive without a domain gets DEFAULT_INTERVAL; an n-ary op's single interval is repeated.
    """
    prim = _primitive_of(op)
    n = _input_count(prim, n_inputs)
    declared = list(prim.domain) if prim.domain else [DEFAULT_INTERVAL]
    if len(declared) == 1:
        declared *= n
    if len(declared) != n:
        raise ValueError(f"strategies: {prim.display} declares {len(declared)} domain intervals "
                         f"for {n} inputs")
    intervals = []
    for i, (lo, hi) in enumerate(declared):
        lo, hi = max(float(lo), -_FAR), min(float(hi), _FAR)
        if not lo < hi:  # an op smooth nowhere (const_pow with a negative base) declares (0, 0)
            raise ValueError(f"strategies: {prim.display} input {i} has an empty domain ({lo}, {hi})")
        intervals.append((lo, hi))
    return intervals


def domain_floats(op: OpLike, index: int = 0, n_inputs: int | None = None) -> st.SearchStrategy[float]:
    """Floats inside the domain of input `index` of `op` (kinks are excluded by `op_inputs`)."""
    lo, hi = domain_of(op, n_inputs)[index]
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def away_from_kinks(prim: Primitive, point: Sequence[float], margin: float = KINK_MARGIN) -> bool:
    """True when every kink quantity of `prim` at `point` is farther than `margin` from zero."""
    if prim.kinks is None:
        return True
    return all(math.fabs(k) > margin for k in prim.kinks(*point))


def op_inputs(op: OpLike, n_inputs: int | None = None,
              margin: float = KINK_MARGIN) -> st.SearchStrategy[tuple[float, ...]]:
    """Tuples of inputs of `op`, each in its domain, the point at least `margin` from any kink."""
    prim = _primitive_of(op)
    n = _input_count(prim, n_inputs)
    coordinates = [st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
                   for lo, hi in domain_of(prim, n)]
    return st.tuples(*coordinates).filter(lambda point: away_from_kinks(prim, point, margin))


# ---------------------------------------------------------------------------------------------
# Expression DAGs.
# ---------------------------------------------------------------------------------------------

# Precedence, for parentheses: atoms bind tightest; Python's ** binds tighter than unary minus.
_ATOM, _POW, _UNARY, _PRODUCT, _SUM_PREC = 9, 7, 6, 5, 4
_INFIX = {"add": ("+", _SUM_PREC), "sub": ("-", _SUM_PREC), "mul": ("*", _PRODUCT),
          "div": ("/", _PRODUCT), "pow": ("**", _POW)}


class Input:
    """The input x{index} of an expression."""

    __slots__ = ("index",)
    depth = 0

    def __init__(self, index: int) -> None:
        self.index = index


class Constant:
    """A plain number in an expression (it enters the graph as a constant leaf)."""

    __slots__ = ("value",)
    depth = 0

    def __init__(self, value: float) -> None:
        self.value = value


class Apply:
    """A primitive applied to operands; `depth` counts the drawn ops, not the domain guards."""

    __slots__ = ("prim", "fn", "args", "depth")

    def __init__(self, prim: Primitive, fn: Callable[..., Any], args: Sequence[Any], depth: int) -> None:
        self.prim = prim
        self.fn = fn  # takes the operands positionally (sum and dot are wrapped accordingly)
        self.args = tuple(args)
        self.depth = depth


Node = Input | Constant | Apply


def _table_apply(name: str, *args: Node) -> Apply:
    """A guard's node: a table op that does not count towards the depth."""
    return Apply(op_table.TABLE[name], getattr(op_table, name), args, max(a.depth for a in args))


def _positive(e: Node, offset: float, squared: bool) -> Apply:
    """softplus(e) + offset or e * e + offset: always >= offset > 0."""
    inner = _table_apply("mul", e, e) if squared else _table_apply("softplus", e)
    return _table_apply("add", inner, Constant(offset))


def _bounded(e: Node, lo: float, hi: float) -> Apply:
    """tanh(e) * half + mid: strictly inside (lo, hi)."""
    mid, half = _round((lo + hi) / 2), _round(0.45 * (hi - lo))
    if not lo < mid - half < mid + half < hi:  # rounding moved it out of a narrow interval
        mid, half = (lo + hi) / 2, 0.45 * (hi - lo)
    scaled = _table_apply("mul", _table_apply("tanh", e), Constant(half))
    return scaled if mid == 0.0 else _table_apply("add", scaled, Constant(mid))


def _round(x: float) -> float:
    return float(f"{x:.3g}")


# Guards of the built-in ops whose domain is not the whole line, chosen to keep values moderate
# (an exp of something large makes finite differences meaningless): one entry per input.
_GUARDS: dict[str, list[tuple[Any, ...] | None]] = {
    "log": [("positive", 0.1)],
    "sqrt": [("positive", 0.1)],
    "exp": [("bounded", -5.0, 5.0)],
    "div": [None, ("positive", 0.5)],
    "pow": [("positive", 0.5), ("bounded", -3.0, 3.0)],
    # The math library's poles and infinite derivatives, kept well away: inside an expression an
    # input's error is amplified by the chain below it, more than the kink margin allows for.
    "tan": [("bounded", -1.2, 1.2)],
    "cbrt": [("positive", 0.1)],
    "atan2": [None, ("positive", 0.5)],
    "log_base": [("positive", 0.1), ("bounded", 1.5, 10.0)],
    "gamma": [("bounded", 0.2, 5.0)],
    "lgamma": [("bounded", 0.2, 20.0)],
    "digamma": [("bounded", 0.2, 20.0)],
    "polygamma": [("bounded", 0.5, 20.0)],
}


def _guard_plan(prim: Primitive, n: int) -> list[tuple[Any, ...] | None]:
    """For each input of `prim`: None, ("positive", offset), ("bounded", lo, hi) or ("below", hi)."""
    if prim.name in _GUARDS and prim.arity == len(_GUARDS[prim.name]):
        return _GUARDS[prim.name]
    if prim.name in ("pow_const", "pow_const_ieee") and "exponent" in prim.params:
        c = prim.params["exponent"]
        if not float(c).is_integer():
            return [("positive", 0.1)]
        return [("positive", 0.5)] if c < 0 else [None]  # x^-k has a pole at 0
    if prim.name == "const_pow" and "base" in prim.params and prim.params["base"] > 0:
        return [("bounded", -5.0, 5.0)]
    plan: list[tuple[Any, ...] | None] = []
    for lo, hi in domain_of(prim, n):
        if lo <= DEFAULT_INTERVAL[0] and hi >= DEFAULT_INTERVAL[1]:
            plan.append(None)
        elif hi >= DEFAULT_INTERVAL[1]:
            plan.append(("positive", _round(lo + 0.1)))
        elif lo <= DEFAULT_INTERVAL[0]:
            plan.append(("below", _round(hi - 0.1)))
        else:
            plan.append(("bounded", lo, hi))
    return plan


def _apply_guard(e: Node, guard: tuple[Any, ...] | None, squared: bool) -> Node:
    if guard is None:
        return e
    kind = guard[0]
    if kind == "positive":
        return _positive(e, guard[1], squared)
    if kind == "bounded":
        return _bounded(e, guard[1], guard[2])
    return _table_apply("sub", Constant(guard[1]), _table_apply("softplus", e))  # below hi


def function_of(op: OpLike, n_inputs: int | None = None) -> Callable[..., Any]:
    """A function applying `op` to its operands given positionally (`dot(w1, w2, x1, x2)`)."""
    prim = _primitive_of(op)
    _input_count(prim, n_inputs)  # refuses a wrong count
    name = prim.name
    if prim is op_table.TABLE.get("sum"):
        return lambda *xs: op_table.sum(xs)
    if prim is op_table.TABLE.get("dot"):
        # w1..wn, x1..xn, and a bias last when the count is odd
        return lambda *wxb: op_table.dot(wxb[: len(wxb) // 2], wxb[len(wxb) // 2: 2 * (len(wxb) // 2)],
                                         wxb[-1] if len(wxb) % 2 else None)
    if prim is op_table.TABLE.get(name):
        fn = getattr(op_table, name, None)
        # Entries declared outside ops.py (elementary, piecewise, reductions) and n-ary ones that
        # take a sequence (logsumexp(values)): their function with the operands positionally.
        if fn is not None and getattr(fn, "primitive", None) is prim:
            return fn
        return make_function(prim)
    if name == "pow_const" and "exponent" in prim.params:
        return op_table.pow_const(prim.params["exponent"])
    if name == "pow_const_ieee" and "exponent" in prim.params:
        return op_table.pow_const_ieee(prim.params["exponent"])
    if name == "const_pow" and "base" in prim.params:
        return op_table.const_pow(prim.params["base"])
    if name == "leaky_relu" and "slope" in prim.params:
        slope = prim.params["slope"]
        return lambda x: op_table.leaky_relu(x, slope)
    return make_function(prim)


# Readable constants used as the other operand of a binary op.
_CONSTANTS = (2.0, 0.5, -1.5, 3.0)


def expressions(
    n_inputs: int = 2,
    max_depth: int = 3,
    ops: Iterable[OpLike] | None = None,
    max_ops: int = 10,
    input_range: tuple[float, float] = (-2.0, 2.0),
    max_magnitude: float = 1e3,
    margin: float = KINK_MARGIN,
) -> st.SearchStrategy[tuple[Expression, tuple[float, ...]]]:
    """Pairs `(f, inputs)`: a random expression DAG of `n_inputs` inputs and a valid point.

    Ops are drawn from `ops` (names, Primitives or functions from `autograd.primitive`; default:
    every built-in primitive and family example), at most `max_ops` of them, nested at most
    `max_depth` deep. Operands are inputs, constants, new ops or earlier subexpressions (so the
    DAG shares nodes: `b = a + a; c = b + b`). Inputs outside an op's domain are guarded (log of
    softplus(e) + 0.1, exp of tanh(e) * 4.5, ...), and the drawn point keeps every intermediate
    value finite and within `max_magnitude`, and every kink (relu, abs, max, ...) at least
    `margin` away, so that derivatives there are well defined and finite differences meaningful.
    """
    # A plain function around the composite strategy: the arguments are checked at once, and
    # the signature stays this module's (hypothesis's wrapper lives in a module of its own,
    # where documentation tools cannot resolve the annotations).
    if n_inputs < 1 or max_depth < 1 or max_ops < 1:
        raise ValueError(f"expressions: need n_inputs, max_depth and max_ops >= 1, got "
                         f"{n_inputs}, {max_depth}, {max_ops}")
    prims = resolve_ops(ops)
    if not prims:
        raise ValueError("expressions: the list of ops is empty")
    return _expressions(n_inputs, max_depth, prims, max_ops, input_range, max_magnitude, margin)


@st.composite
def _expressions(
    draw: Callable[[st.SearchStrategy[Any]], Any],
    n_inputs: int,
    max_depth: int,
    prims: list[Primitive],
    max_ops: int,
    input_range: tuple[float, float],
    max_magnitude: float,
    margin: float,
) -> tuple[Expression, tuple[float, ...]]:
    inputs = [Input(i) for i in range(n_inputs)]
    pool: list[Apply] = []

    def operand(depth_left: int) -> Node:
        # 0: an input, 1-2: an earlier subexpression, 3-5: a new op (shrinks towards inputs).
        kind = draw(st.integers(0, 5)) if depth_left > 0 else 0
        if kind in (1, 2):
            shared = [node for node in pool if node.depth <= depth_left]
            if shared:
                return draw(st.sampled_from(shared))
        if kind >= 1 and len(pool) < max_ops:
            return new_op(depth_left)
        return draw(st.sampled_from(inputs))

    def new_op(depth_left: int) -> Apply:
        prim = draw(st.sampled_from(prims))
        n = prim.arity
        if n is None:
            n = draw(st.integers(2, 7)) if prim is op_table.TABLE.get("dot") else draw(st.integers(2, 4))
        constant_at = -1
        if n == 2 and prim.name != "pow":
            # Which operand is a plain number, if any (shrinks towards none).
            constant_at = draw(st.integers(0, 2)) - 1
        plan = _guard_plan(prim, n)
        args: list[Node] = []
        for i in range(n):
            if i == constant_at and plan[i] is None:
                args.append(Constant(draw(st.sampled_from(_CONSTANTS))))
                continue
            e = operand(depth_left - 1)
            guard = plan[i]
            squared = guard is not None and guard[0] == "positive" and draw(st.booleans())
            args.append(_apply_guard(e, guard, squared))
        node = Apply(prim, function_of(prim, n), args, 1 + max(a.depth for a in args))
        pool.append(node)
        return node

    root = new_op(max_depth)
    expr = Expression(root, n_inputs)
    coordinate = st.floats(*input_range, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    for _ in range(3):  # a few points before giving up on this expression
        point = tuple(draw(coordinate) for _ in range(n_inputs))
        if expr.is_valid_at(point, max_magnitude, margin):
            return expr, point
    reject()


class Expression:
    """A drawn expression: call it on floats or Values; its repr is a lambda with the formula.

    A subexpression used more than once is bound by `:=` at its first use and named after, so
    the repr is a faithful Python expression of the same DAG: `eval(f.source, f.namespace)`.
    """

    def __init__(self, root: Apply, n_inputs: int) -> None:
        self.root = root
        self.n_inputs = n_inputs
        self.nodes = _post_order(root)  # every Apply node, each after its operands
        uses: dict[Apply, int] = {}
        for node in self.nodes:
            for a in node.args:
                if isinstance(a, Apply):
                    uses[a] = uses.get(a, 0) + 1
        self.shared = [node for node in self.nodes if uses.get(node, 0) > 1]
        self.source = f"lambda {', '.join(f'x{i}' for i in range(n_inputs))}: {self._render()}"

    @property
    def primitives(self) -> set[Primitive]:
        """The primitives the expression uses (guards included)."""
        return {node.prim for node in self.nodes}

    @property
    def namespace(self) -> dict[str, Any]:
        """The names `source` refers to, for `eval(f.source, f.namespace)`."""
        names: dict[str, Any] = {}
        for node in self.nodes:
            if node.prim.name in ("sum", "dot"):
                names[node.prim.name] = getattr(op_table, node.prim.name)
            elif node.prim.name == "leaky_relu":
                names["leaky_relu"] = op_table.leaky_relu
            elif node.prim.name == "pow_const_ieee":
                names["pow_const_ieee"] = op_table.pow_const_ieee
            elif node.prim.name in _PARAMETER_FUNCTIONS:
                names[node.prim.name] = _PARAMETER_FUNCTIONS[node.prim.name]
            elif node.prim.name not in _INFIX and node.prim.name not in ("neg", "pow_const", "const_pow"):
                names[node.prim.name] = node.fn
        return names

    def __call__(self, *args: Any) -> Any:
        """The expression at `args` (floats in, a float out; Values in, a Value out)."""
        return self.evaluate(args)

    def evaluate(self, args: Sequence[Any], apply: Callable[..., Any] | None = None) -> Any:
        """The expression at `args`; `apply(prim, *operands)`, if given, computes each op instead.

        With `apply` another implementation of the ops (PyTorch, say) evaluates the same DAG.
        """
        if len(args) != self.n_inputs:
            raise TypeError(f"expression takes {self.n_inputs} inputs, got {len(args)}")
        values: dict[Apply, Any] = {}

        def value_of(a: Node) -> Any:
            if isinstance(a, Apply):
                return values[a]
            if isinstance(a, Input):
                return args[a.index]
            return a.value

        for node in self.nodes:
            operands = [value_of(a) for a in node.args]
            values[node] = node.fn(*operands) if apply is None else apply(node.prim, *operands)
        return values[self.root]

    def is_valid_at(self, point: Sequence[float], max_magnitude: float = 1e3,
                    margin: float = KINK_MARGIN) -> bool:
        """True when every op at `point` is defined, finite, within `max_magnitude`, off its kinks."""
        values: dict[Apply, float] = {}
        for node in self.nodes:
            operands = [values[a] if isinstance(a, Apply) else
                        point[a.index] if isinstance(a, Input) else a.value for a in node.args]
            try:
                out = float(node.fn(*operands))
                if not away_from_kinks(node.prim, operands, margin):
                    return False
            except (ArithmeticError, ValueError):
                return False
            if not math.fabs(out) <= max_magnitude:  # also False for NaN
                return False
            values[node] = out
        return True

    def __repr__(self) -> str:
        return self.source

    # -- the formula --

    def _render(self) -> str:
        names: dict[Apply, str] = {}
        shared = set(self.shared)

        def text(a: Node) -> tuple[str, int]:
            if isinstance(a, Input):
                return f"x{a.index}", _ATOM
            if isinstance(a, Constant):
                return repr(a.value), (_UNARY if a.value < 0 else _ATOM)
            if a in names:
                return names[a], _ATOM
            if a in shared:
                # Numbered before its operands are written, in order of first appearance.
                name = names[a] = f"t{len(names)}"
                body, _ = formula(a)
                return f"({name} := {body})", _ATOM
            return formula(a)

        def wrap(a: Node, needs_parens: Callable[[int], bool]) -> str:
            s, prec = text(a)
            return f"({s})" if needs_parens(prec) else s

        def formula(node: Apply) -> tuple[str, int]:
            prim, args = node.prim, node.args
            if prim.name in _INFIX and len(args) == 2 and node.fn is getattr(op_table, prim.name, None):
                symbol, p = _INFIX[prim.name]
                if symbol == "**":
                    left = wrap(args[0], lambda q: q <= _POW)
                    return f"{left} ** {wrap(args[1], lambda q: q < _ATOM)}", _POW
                left = wrap(args[0], lambda q: q < p)
                return f"{left} {symbol} {wrap(args[1], lambda q: q <= p)}", p
            if prim.name == "neg" and node.fn is op_table.neg:
                # -(a ** b) rather than Python's equivalent -a ** b, which reads ambiguously.
                return f"-{wrap(args[0], lambda q: q < _ATOM)}", _UNARY
            if prim.name == "pow_const" and "exponent" in prim.params:
                exponent = repr(float(prim.params["exponent"]))
                return f"{wrap(args[0], lambda q: q <= _POW)} ** {_paren_negative(exponent)}", _POW
            if prim.name == "const_pow" and "base" in prim.params:
                base = _paren_negative(repr(float(prim.params["base"])))
                return f"{base} ** {wrap(args[0], lambda q: q < _ATOM)}", _POW
            inner = [text(a)[0] for a in args]
            if prim.name == "pow_const_ieee" and "exponent" in prim.params:
                return f"pow_const_ieee({float(prim.params['exponent'])!r})({inner[0]})", _ATOM
            if prim.name == "sum" and prim is op_table.TABLE["sum"]:
                return f"sum([{', '.join(inner)}])", _ATOM
            if prim.name == "dot" and prim is op_table.TABLE["dot"]:
                half = len(inner) // 2
                bias = f", {inner[-1]}" if len(inner) % 2 else ""
                return f"dot([{', '.join(inner[:half])}], [{', '.join(inner[half: 2 * half])}]{bias})", _ATOM
            if prim.name == "leaky_relu" and "slope" in prim.params:
                inner.append(repr(float(prim.params["slope"])))
            if prim.name == "round" and "ndigits" in prim.params:
                inner.append(repr(prim.params["ndigits"]))
            if prim.name == "polygamma" and "n" in prim.params:
                inner.insert(0, repr(prim.params["n"]))
            return f"{prim.name}({', '.join(inner)})", _ATOM

        return text(self.root)[0]


# Families whose parameter is written as an argument of their public function: round(x0, 2) and
# polygamma(1, x0) (round(x0) of the table's entry is the same function with one argument).
_PARAMETER_FUNCTIONS: dict[str, Callable[..., Any]] = {"round": piecewise.round,
                                                       "polygamma": elementary.polygamma}


def _paren_negative(number: str) -> str:
    return f"({number})" if number.startswith("-") else number


def _post_order(root: Apply) -> list[Apply]:
    """The Apply nodes below `root`, each after its operands, in left-to-right evaluation order."""
    order: list[Apply] = []
    seen: set[Apply] = set()
    stack: list[tuple[Apply, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for a in reversed(node.args):
            if isinstance(a, Apply) and a not in seen:
                stack.append((a, False))
    return order
