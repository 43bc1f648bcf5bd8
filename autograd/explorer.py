"""The backprop explorer: the forward and backward passes of a graph, recorded step by step.

`explain(root)` walks `root`'s graph the way the engine does and keeps every number it meets:

* the forward pass, the leaves first and then each operation in topological order, with its
  value (the `data` the engine computed when it built the node);
* the backward pass, from the seed d root / d root = 1, then each operation in reverse
  topological order: its upstream gradient, the local partial derivative for each input (asked
  from the primitive's own rule through `engine.local_partials`, as `backward()` does), and the
  contribution g · d added to that input's gradient, with the running total, so a node used
  twice visibly accumulates.

The recording is shown three ways: `str()` is a text table, `save(path)` writes one
self-contained HTML page (an inline SVG laid out by Graphviz, inline script and style, no
network access) and `_repr_html_` is the same explorer inside Jupyter. Nothing in the graph is
changed (no `.grad` is written) and the numbers are those of one backward pass from zero: the
amounts `backward()` adds to `.grad`.
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import engine, viz
from .fileio import write_atomically
from .ops import TABLE
from .value import Value, parents_of

# Graphs are capped like drawings: beyond this many Values only the ones nearest the output are
# drawn and stepped through (the gradients of the others are still computed, and summarized).
EXPLAIN_MAX_NODES = 150

ASSETS = Path(__file__).with_name("explorer_assets")

# Ops written as operators in formulas: (symbolic, numeric). Everything else reads as a call.
_INFIX = {"add": ("+", "+"), "sub": ("-", "-"), "mul": ("*", "×"), "div": ("/", "/"), "pow": ("**", "**")}
# How many terms of a sum or dot to spell out before "…".
_TERMS_SHOWN = 4

# What the page may load: nothing. Its own inline script and style run; `data:` is the favicon.
CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
MISSING_GRAPHVIZ = '<p class="cg-missing">Install Graphviz (the <code>dot</code> program) for the graph.</p>'

# A node statement of to_dot's text: its id and its label.
_NODE_LINE = re.compile(r'^\t(n\d+) \[label="((?:[^"\\]|\\.)*)"')


# ---------------------------------------------------------------------------------------------
# What is recorded
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One drawn Value: its name in formulas, its op, role, value and final gradient."""

    index: int  # position in `Explanation.nodes`: leaves first, then operations in forward order
    value: Value
    name: str  # the label, a parameter name, "L" for an unlabeled root, else v1, v2, ...
    op: str  # the op as drawn (`mul`, `pow_const(exponent=2)`); "" for a leaf
    role: str  # "output", "parameter", "leaf" or "intermediate", as in the drawings
    svg_id: str  # the drawing's node id (n3; its op is op3)
    parents: tuple[int | None, ...]  # indices of the inputs; None for an input beyond max_nodes
    partials: tuple[float | None, ...]  # d node / d input, from the primitive's rule
    grad: float  # d root / d node, after the whole backward pass


@dataclass(frozen=True)
class Contribution:
    """g · d added to one input's gradient (a merged sum when it comes from nodes not drawn)."""

    source: int | None  # the node passing gradient back; None: nodes beyond max_nodes
    target: int  # the input receiving it
    argument: int  # which input of `source` (-1 when merged)
    upstream: float | None  # d root / d source
    partial: float | None  # d source / d target; None: the rule gives no gradient
    amount: float | None  # upstream · partial
    before: float | None  # the target's gradient before (None: this is its first contribution)
    total: float  # the target's gradient after
    count: int = 1  # how many contributions were merged into this one


@dataclass(frozen=True)
class Step:
    """One step of the explorer: the leaves, a forward op, the seed, a backward op, or hidden nodes."""

    index: int
    phase: str  # "leaves", "forward", "seed", "backward" or "hidden"
    node: int | None  # the node computed (forward) or visited (backward)
    lines: tuple[str, ...]  # the formulas shown, one per line
    upstream: float | None = None  # backward: d root / d node, complete when the node is visited
    contributions: tuple[Contribution, ...] = ()
    revealed: tuple[int, ...] = ()  # nodes whose value becomes known at this step


# ---------------------------------------------------------------------------------------------
# Numbers and formulas
# ---------------------------------------------------------------------------------------------


def number(x: float | None) -> str:
    """A number in a formula: Python's repr when short (2.0, -0.5), else 6 significant digits."""
    if x is None:
        return "none"
    text = repr(x)
    return text if len(text) <= 10 else f"{x:.6g}"


def _operand(x: float | None) -> str:
    """A number after a binary operator: negatives in parentheses (2.0 × (-0.5))."""
    text = number(x)
    return f"({text})" if text.startswith("-") else text


def short(x: float) -> str:
    """A number as the drawings show it (4 significant digits)."""
    return viz._format(x)


def _exact(x: float | None) -> str | None:
    """A number for the page, to the last digit (the script shows it as text, never computes)."""
    return None if x is None else repr(x)


def _params_text(prim: Any) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in prim.params.items())


def _expression(prim: Any, args: list[str], numeric: bool) -> str:
    """The op applied to `args` (names or numbers): `x * w`, `tanh(z)`, `w0·x0 + w1·x1 + b`."""
    builtin = TABLE.get(prim.name) is prim
    name = prim.name
    if builtin and name in _INFIX and len(args) == 2:
        symbol = _INFIX[name][1 if numeric else 0]
        return f"{args[0]} {symbol} {args[1]}"
    if builtin and name == "neg":
        return f"-{args[0]}"
    # x ** 2 and 2 ** x: a primitive per constant, named like viz.op_text names them.
    if name == "pow_const" and set(prim.params) == {"exponent"}:
        return f"{args[0]} ** {prim.params['exponent']:g}"
    if name == "const_pow" and set(prim.params) == {"base"}:
        return f"{prim.params['base']:g} ** {args[0]}"
    if builtin and name == "sum":
        return _terms(args, "+")
    if builtin and name == "dot":
        n = len(args) // 2
        times = "×" if numeric else "·"
        products = [f"{w}{times}{x}" for w, x in zip(args[:n], args[n : 2 * n], strict=True)]
        return _terms(products + args[2 * n :], "+")
    inner = ", ".join(args + ([_params_text(prim)] if prim.params else []))
    return f"{name}({inner})"


def _terms(terms: list[str], op: str) -> str:
    if len(terms) > _TERMS_SHOWN + 1:
        rest = len(terms) - _TERMS_SHOWN
        terms = terms[:_TERMS_SHOWN] + [f"… ({rest} more terms)"]
    return f" {op} ".join(terms)


# ---------------------------------------------------------------------------------------------
# Recording
# ---------------------------------------------------------------------------------------------


def explain(root: Value, max_nodes: int = EXPLAIN_MAX_NODES, params: Any = None) -> Explanation:
    """Record the forward and backward passes of `root`'s graph, step by step, with the engine's numbers.

    `params` (a model, Values, or name -> Value) marks and names the trained leaves as in
    `autograd.viz.draw_dot`; beyond `max_nodes` Values only the ones nearest the output are shown.
    """
    if not isinstance(root, Value):
        raise TypeError(f"explain: expected a Value, got {type(root).__name__} {root!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"explain: max_nodes must be a positive int, got {max_nodes!r}")
    return Explanation(root, max_nodes, params)


class Explanation:
    """The recorded passes of one graph: `nodes`, `steps`, and three views (`str`, `save`, Jupyter)."""

    def __init__(self, root: Value, max_nodes: int, params: Any) -> None:
        self.root = root
        self.max_nodes = max_nodes
        self.params = params
        param_names = viz._parameter_names(params, "explain")
        self._parameters = set(param_names)
        by_distance = viz.nodes_by_distance(root)
        kept = by_distance[:max_nodes]
        self.omitted: list[Value] = by_distance[max_nodes:]  # computed with, not shown
        svg_ids = {v: f"n{i}" for i, v in enumerate(kept)}  # the ids viz.to_dot gives them
        order = engine.topological_order(root)
        # The nodes as the explorer lists them: the leaves, then the ops in forward order.
        ops = [v for v in _reading_order(root) if v in svg_ids and not v.is_leaf]
        leaves = {} if not root.is_leaf else {root: None}
        for v in ops:
            leaves.update((p, None) for p in parents_of(v) if p.is_leaf and p in svg_ids)
        listed = list(leaves) + ops
        self._listed = listed
        self._index = {v: i for i, v in enumerate(listed)}
        self._names = self._naming(listed, param_names)
        self._generated = {v for v in listed if self._names[v] != str(v.label or param_names.get(v, ""))}

        self._grads: dict[Value, float] = {}
        self._partials: dict[Value, tuple[float | None, ...]] = {}
        steps = self._forward(listed) + self._backward(order)
        self.steps: list[Step] = [replace(s, index=i) for i, s in enumerate(steps)]
        self.nodes: list[Node] = [
            Node(
                index=i,
                value=v,
                name=self._names[v],
                op=_op_display(v),
                role=self._role(v),
                svg_id=svg_ids[v],
                parents=tuple(self._index.get(p) for p in parents_of(v)),
                partials=self._partials.get(v, ()),
                grad=self._grads.get(v, 0.0),
            )
            for i, v in enumerate(listed)
        ]
        self._svg: str | None = None

    def grad(self, v: Value) -> float:
        """d root / d `v` as the explorer accumulated it (0.0 when no gradient reaches `v`)."""
        if not isinstance(v, Value):
            raise TypeError(f"Explanation.grad: expected a Value, got {type(v).__name__} {v!r}")
        return self._grads.get(v, 0.0)

    def node(self, v: Value) -> Node:
        """The recorded node of the Value `v` (a KeyError names it when it is not drawn)."""
        i = self._index.get(v)
        if i is None:
            raise KeyError(f"Explanation.node: {v!r} is not among the {len(self.nodes)} nodes shown")
        return self.nodes[i]

    def visit(self, v: Value) -> Step:
        """The backward step that visits the operation node `v` (its upstream gradient is complete)."""
        i = self.node(v).index
        for s in self.steps:
            if s.phase == "backward" and s.node == i:
                return s
        raise KeyError(f"Explanation.visit: no backward step visits {v!r} (a leaf, or no gradient came)")

    # -- naming and roles --

    def _naming(self, listed: list[Value], param_names: dict[Value, str]) -> dict[Value, str]:
        names: dict[Value, str] = {}
        counter = 0
        for v in listed:
            name = str(v.label or param_names.get(v, ""))
            if not name and v is self.root:
                name = "L"
            if not name:
                counter += 1
                name = f"v{counter}"
            names[v] = name
        return names

    def _role(self, v: Value) -> str:
        if v is self.root:
            return "output"
        if v in self._parameters:
            return "parameter"
        return "leaf" if v.is_leaf else "intermediate"

    def _name(self, v: Value) -> str:
        """The name of `v` in formulas (nodes beyond max_nodes are named as such)."""
        name = self._names.get(v)
        if name is not None:
            return name
        return f"{v.label} (not drawn)" if v.label else "(a node not drawn)"

    # -- the passes --

    def _forward(self, listed: list[Value]) -> list[Step]:
        leaves = [v for v in listed if v.is_leaf]
        lines = tuple(f"{self._name(v)} = {number(v.data)}" for v in leaves)
        steps = [Step(0, "leaves", None, lines, revealed=tuple(self._index[v] for v in leaves))]
        for v in listed:
            if v.is_leaf:
                continue
            ps = parents_of(v)
            symbolic = _expression(v._prim, [self._name(p) for p in ps], numeric=False)
            values = [_operand(p.data) if k else number(p.data) for k, p in enumerate(ps)]
            numeric = _expression(v._prim, values, numeric=True)
            line = f"{self._name(v)} = {symbolic} = {numeric} = {number(v.data)}"
            steps.append(Step(0, "forward", self._index[v], (line,), revealed=(self._index[v],)))
        return steps

    def _backward(self, order: list[Value]) -> list[Step]:
        """The backward pass as `engine.backprop` runs it on floats, every contribution kept."""
        root, index, grads = self.root, self._index, self._grads
        r = self._name(root)
        grads[root] = 1.0
        seed = Contribution(None, index[root], -1, None, None, 1.0, None, 1.0)
        steps = [Step(0, "seed", index[root], (f"∂{r}/∂{r} = 1.0  (the seed)",), 1.0, (seed,))]
        hidden: dict[Value, list[Any]] = {}  # drawn node -> [its gradient before, count]
        node = root
        try:
            for node in reversed(order):
                if node._prim is None:
                    continue
                g = grads.get(node)
                if g is None:
                    continue  # no gradient reaches it (only through rules that give None)
                partials = tuple(engine.local_partials(node, False))  # the primitive's own rule
                drawn = node in index
                if drawn:
                    self._partials[node] = partials
                    if hidden:  # what nodes not drawn passed on since the last drawn node
                        steps.append(self._hidden_step(hidden))
                        hidden = {}
                contributions = []
                not_drawn = 0
                for k, (p, d) in enumerate(zip(parents_of(node), partials, strict=True)):
                    before = grads.get(p)
                    amount = None if d is None else g * d
                    if amount is not None:
                        grads[p] = amount if before is None else before + amount  # as backprop adds
                    if p not in index:
                        not_drawn += amount is not None
                    elif not drawn:
                        if amount is not None:
                            hidden.setdefault(p, [before, 0])[1] += 1
                    else:
                        total = grads.get(p, 0.0)
                        c = Contribution(index[node], index[p], k, g, d, amount, before, total)
                        contributions.append(c)
                if drawn:
                    steps.append(self._backward_step(node, g, contributions, not_drawn))
        except (ArithmeticError, ValueError) as err:
            engine._reraise_naming(node, err)
        if hidden:
            steps.append(self._hidden_step(hidden))
        return steps

    def _backward_step(
        self, node: Value, g: float, contributions: list[Contribution], not_drawn: int
    ) -> Step:
        r, v = self._name(self.root), self._name(node)
        lines = [f"∂{r}/∂{v} = {number(g)}  (complete: every node that uses {v} is done)"]
        for c in contributions:
            p = self._name(self._listed[c.target])
            if c.amount is None:
                lines.append(f"∂{v}/∂{p}: the rule of {_op_display(node)} gives no gradient")
                continue
            line = (
                f"∂{r}/∂{p} += ∂{r}/∂{v} · ∂{v}/∂{p} = "
                f"{number(g)} × {_operand(c.partial)} = {number(c.amount)}"
            )
            if c.before is None:
                line += f"  →  ∂{r}/∂{p} = {number(c.total)}"
            else:
                line += f"  →  ∂{r}/∂{p} = {number(c.before)} + {_operand(c.amount)} = {number(c.total)}"
            lines.append(line)
        if not_drawn:
            lines.append(f"(and {not_drawn} contribution{'s' if not_drawn > 1 else ''} to inputs not drawn)")
        return Step(0, "backward", self._index[node], tuple(lines), g, tuple(contributions))

    def _hidden_step(self, hidden: dict[Value, list[Any]]) -> Step:
        """What a run of nodes beyond max_nodes passed to drawn nodes, one line per drawn node."""
        r = self._name(self.root)
        lines = [f"nodes beyond max_nodes={self.max_nodes} pass gradient to drawn nodes:"]
        contributions = []
        for p, (before, count) in hidden.items():
            total, name = self._grads[p], self._name(p)
            many = f"{count} contributions" if count > 1 else "1 contribution"
            lines.append(f"∂{r}/∂{name} += {many} from nodes not drawn  →  ∂{r}/∂{name} = {number(total)}")
            c = Contribution(None, self._index[p], -1, None, None, None, before, total, count)
            contributions.append(c)
        return Step(0, "hidden", None, tuple(lines), None, tuple(contributions))

    # -- the text view --

    def summary(self) -> str:
        """One line: the root, the counts, and what was left out beyond max_nodes."""
        leaves = sum(1 for n in self.nodes if n.op == "")
        counts = (
            f"{_count(len(self.nodes), 'node')} ({_count(leaves, 'leaf', 'leaves')}, "
            f"{_count(len(self.nodes) - leaves, 'operation')}), {_count(len(self.steps), 'step')}"
        )
        text = f"{self._name(self.root)} = {number(self.root.data)}: {counts}"
        return text + (f"; {self.omitted_text()}" if self.omitted else "")

    def omitted_text(self) -> str:
        """What was left out beyond max_nodes (empty when nothing was)."""
        if not self.omitted:
            return ""
        leaves = sum(1 for v in self.omitted if v.is_leaf)
        detail = f"{leaves:,} leaves"
        if self._parameters:
            detail += f", {sum(1 for v in self.omitted if v in self._parameters):,} parameters"
        return (
            f"{len(self.omitted):,} more nodes not drawn ({detail}): only the {self.max_nodes:,} nearest "
            f"the output are shown (max_nodes={self.max_nodes}); their gradients are still computed"
        )

    def rows(self) -> list[tuple[str, ...]]:
        """The rows of the text table, one per leaf, forward step and contribution."""
        rows: list[tuple[str, ...]] = []
        for s in self.steps:
            if s.phase == "leaves":
                rows += [(str(s.index), "leaf", n.name, "", number(n.value.data), "", "", "", "", "")
                         for n in (self.nodes[i] for i in s.revealed)]
                continue
            head = [str(s.index), s.phase, "", "", "", ""]
            if s.node is not None:
                n = self.nodes[s.node]
                head[2:5] = [n.name, "" if s.phase == "seed" else n.op, number(n.value.data)]
            else:
                head[2] = "(nodes not drawn)"
            if s.upstream is not None:
                head[5] = number(s.upstream)
            if s.phase == "forward" or not s.contributions:
                rows.append((*head, "", "", "", ""))
                continue
            for k, c in enumerate(s.contributions):
                tail = [self.nodes[c.target].name, "", "", number(c.total)]
                if s.phase == "seed":
                    tail[0] = ""
                    tail[2] = number(c.amount)
                elif c.source is None:
                    tail[2] = f"{c.count} not drawn"  # merged: from nodes beyond max_nodes
                elif c.amount is None:
                    tail[1:3] = ["None", "(none)"]
                else:
                    tail[1:3] = [number(c.partial), number(c.amount)]
                rows.append((*(head if k == 0 else [""] * 6), *tail))
        return rows

    def __str__(self) -> str:
        r = self._name(self.root)
        header = ("step", "phase", "node", "op", "value", f"upstream ∂{r}/∂node", "input",
                  "local ∂node/∂input", "contribution", f"∂{r}/∂input now")
        rows = self.rows()
        widths = [max(len(row[k]) for row in [header, *rows]) for k in range(len(header))]
        lines = [f"backprop explorer: {self.summary()}"]
        for row in [header, *rows]:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Explanation of {self.summary()}>"

    # -- the drawing --

    def svg(self) -> str:
        """The graph as inline SVG (laid out by Graphviz's `dot`), tagged for the page's script."""
        if self._svg is None:
            source = self._widened(viz.to_dot(self.root, max_nodes=self.max_nodes, params=self.params))
            self._svg = self._tagged(viz._run_dot(source, "svg").decode("utf-8"))
        return self._svg

    def _widened(self, source: str) -> str:
        """to_dot's text with each grad field as wide as its widest value, and generated names added."""
        by_id = {n.svg_id: n for n in self.nodes}
        # The longest text each grad field will show while stepping, so that Graphviz makes room.
        widest = {n.index: max(("?", "0", short(n.grad)), key=len) for n in self.nodes}
        for s in self.steps:
            for c in s.contributions:
                widest[c.target] = max(widest[c.target], short(c.total), key=len)
        out = []
        for line in source.split("\n"):
            m = _NODE_LINE.match(line)
            node = by_id.get(m[1]) if m else None
            if m is None or node is None:
                out.append(line)
                continue
            label = m[2]
            grad_text = "grad " + viz._format(viz._number(node.value.grad))
            at = label.rfind(grad_text)
            if at >= 0:
                label = label[:at] + "grad " + widest[node.index] + label[at + len(grad_text) :]
            if node.value in self._generated:  # give unlabeled nodes the names the formulas use
                name = viz.escape_record(node.name)
                label = "{ " + name + " | " + label[2:] if label.startswith("{ ") else name + " | " + label
            out.append(line[: m.start(2)] + label + line[m.end(2) :])
        return "\n".join(out)

    def _tagged(self, svg_text: str) -> str:
        """The SVG without its ids, titles and namespace URLs; nodes and edges tagged with data-*."""
        svg = ET.fromstring(svg_text)
        by_id = {n.svg_id: n for n in self.nodes}
        for el in svg.iter():
            el.attrib.pop("id", None)
            el.tag = el.tag.split("}", 1)[-1]  # plain names: the HTML parser puts svg in its namespace
            for key in [k for k in el.attrib if k.startswith("{")]:
                el.attrib["xlink:" + key.split("}", 1)[1]] = el.attrib.pop(key)
        for group in svg.iter("g"):
            title = group.find("title")
            if title is None:
                continue
            name = title.text or ""
            group.remove(title)
            kind = group.get("class")
            if kind == "edge":
                group.set("data-edge", name.replace("->", ">"))
                continue
            if kind != "node":
                continue
            m = re.fullmatch(r"(n|op)(\d+)", name)
            node = by_id.get(f"n{m[2]}") if m else None
            if m is None or node is None:
                group.set("class", "node cg-" + ("omitted" if name == "omitted" else "extra"))
                continue
            group.set("data-node", str(node.index))
            if m[1] == "op":
                group.set("class", "node cg-op")
                continue
            group.set("class", "node cg-value")
            texts = list(group.iter("text"))
            for t in texts:
                if node.value in self._generated and t.text == node.name:
                    t.set("class", "cg-name")
            for t in reversed(texts):  # the last data and grad fields (a label could start alike)
                if (t.text or "").startswith("grad ") and not t.get("class"):
                    t.set("class", "cg-grad")
                    t.text = "grad " + short(node.grad)  # the final state, shown without script
                    break
            for t in reversed(texts):
                if (t.text or "").startswith("data ") and not t.get("class"):
                    t.set("class", "cg-data")
                    break
        _unscale(svg)
        svg.set("class", "cg-svg")
        svg.set("role", "img")
        svg.set("aria-label", f"the graph of {self._name(self.root)}")
        return ET.tostring(svg, encoding="unicode")

    # -- the page --

    def _data(self) -> dict[str, Any]:
        """Everything the page's script shows, numbers as Python wrote them (the script computes none)."""
        received: list[list[dict[str, Any]]] = [[] for _ in self.nodes]
        steps = []
        for s in self.steps:
            for c in s.contributions:
                if s.phase == "seed":
                    text, source = "the seed", ""
                elif c.source is None:
                    text, source = f"{c.count} contribution{'s' if c.count > 1 else ''}", "nodes not drawn"
                elif c.amount is None:
                    text, source = "no gradient (the rule gives None)", self.nodes[c.source].name
                else:
                    text = f"{number(c.upstream)} × {_operand(c.partial)} = {number(c.amount)}"
                    source = self.nodes[c.source].name
                received[c.target].append(
                    {"step": s.index, "from": source, "text": text, "total": number(c.total),
                     "exact": repr(c.total)}
                )
            steps.append(self._step_data(s))
        nodes = [
            {
                "name": n.name,
                "label": str(n.value.label),
                "op": n.op,
                "role": n.role,
                "data": repr(n.value.data),
                "dataShort": short(n.value.data),
                "grad": repr(n.grad),
                "gradShort": short(n.grad),
                "inputs": [
                    {
                        "name": self.nodes[p].name if p is not None else self._name(parents_of(n.value)[k]),
                        "partial": _exact(n.partials[k] if k < len(n.partials) else None),
                    }
                    for k, p in enumerate(n.parents)
                ],
                "received": received[n.index],
            }
            for n in self.nodes
        ]
        return {"nodes": nodes, "steps": steps, "omitted": self.omitted_text()}

    def _step_data(self, s: Step) -> dict[str, Any]:
        node = self.nodes[s.node] if s.node is not None else None
        forward = sum(1 for n in self.nodes if n.op)  # one forward step per operation
        titles = {
            "leaves": "Forward: the leaves hold their values",
            "forward": f"Forward {s.index} of {forward}: {node.name if node else ''}",
            "seed": "Backward: the seed",
            "backward": f"Backward: visit {node.name if node else ''} ({node.op if node else ''})",
            "hidden": "Backward: nodes not drawn",
        }
        edges, others = [], []
        if node is not None and node.op:
            op_id = "op" + node.svg_id[1:]
            edges.append(f"{op_id}>{node.svg_id}")
            for p in node.parents:
                if p is not None:
                    edges.append(f"{self.nodes[p].svg_id}>{op_id}")
                    if s.phase == "forward":
                        others.append(p)
        others += [c.target for c in s.contributions if c.amount is not None or c.source is None]
        lines = []
        targets = iter(s.contributions)
        for k, text in enumerate(s.lines):
            entry: dict[str, Any] = {"text": text}
            if (s.phase in ("backward", "hidden") and k > 0) or s.phase == "seed":
                c = next(targets, None)
                if c is not None:
                    entry.update(target=c.target, total=repr(c.total), totalShort=short(c.total))
            lines.append(entry)
        return {
            "phase": s.phase,
            "node": s.node,
            "title": titles[s.phase],
            "lines": lines,
            "revealed": list(s.revealed),
            "updates": [[c.target, repr(c.total), short(c.total)] for c in s.contributions],
            "edges": edges if s.phase != "hidden" else [],
            "others": others if s.phase != "seed" else [],
            "upstream": None if s.upstream is None else repr(s.upstream),
        }

    def _fragment(self, uid: str, standalone: bool) -> str:
        """The explorer as one <div>: controls, the drawing, the step and inspector panels, data, script."""
        try:
            graph = self.svg()
        except viz.GraphvizNotFoundError:
            if standalone:
                raise
            graph = MISSING_GRAPHVIZ
        data = json.dumps(self._data(), ensure_ascii=False, allow_nan=False)
        # Inside <script>: no "</script>" or "<!--" can appear in the JSON text.
        data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        last = len(self.steps) - 1
        table = html.escape(str(self))
        omitted = html.escape(self.omitted_text())
        keys = "page" if standalone else "focus"
        return f"""<div class="cg-explorer" id="{uid}" tabindex="0" data-keys="{keys}">
<div class="cg-bar">
<button type="button" data-act="reset" title="reset (Home)">&#x21BA; reset</button>
<button type="button" data-act="prev" title="previous step (&#x2190;)">&#x25C0; prev</button>
<button type="button" data-act="play" title="play / pause (space)">&#x25B6; play</button>
<button type="button" data-act="next" title="next step (&#x2192;)">next &#x25B6;</button>
<input type="range" min="0" max="{last}" value="{last}" step="1" data-role="slider" aria-label="step">
<span class="cg-counter" data-role="counter">step {last} of {last}</span>
<button type="button" data-act="fit" title="fit the width / natural size">&#x2922; size</button>
</div>
<div class="cg-main">
<div class="cg-graph" data-role="graph">{graph}</div>
<div class="cg-side">
<section class="cg-step" data-role="step"><h3 data-role="step-title">The final state</h3>
<div data-role="step-lines"><p class="cg-line">{html.escape(self.summary())}</p></div></section>
<section class="cg-inspect" data-role="inspector"><h3>Inspector</h3>
<p>Click a node of the graph.</p></section>
</div>
</div>
{f'<p class="cg-omitted-note">{omitted}</p>' if omitted else ''}
<p class="cg-nojs" data-role="nojs">This is the final state: the controls need JavaScript.</p>
<details class="cg-table"><summary>All steps as a table</summary><pre>{table}</pre></details>
<script type="application/json" data-role="data">{data}</script>
<script>{_asset("explorer.js")}
chaingradExplorer("{uid}", document.currentScript);</script>
</div>"""

    def html(self) -> str:
        """The explorer as one self-contained HTML page: no network access, opens from disk."""
        r = html.escape(self._name(self.root))
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>backprop explorer: {r}</title>
<style>{_asset("explorer.css")}
body {{ margin: 16px; background: #fafafa; }}
</style>
</head>
<body>
<h1 class="cg-page-title">Backprop explorer: {r}</h1>
{self._fragment("cg-explorer", standalone=True)}
</body>
</html>
"""

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the explorer as one self-contained HTML file, atomically; returns the path."""
        path = Path(path)
        folder = path.parent
        if not folder.is_dir():
            raise FileNotFoundError(f"Explanation.save: the folder {str(folder)!r} does not exist")
        write_atomically(path, self.html())
        return path

    def _repr_html_(self) -> str:
        """The explorer inline in Jupyter (JupyterLab, classic, exported HTML): unique ids per display."""
        uid = f"cg-explorer-{secrets.token_hex(6)}"
        return f"<style>{_asset('explorer.css')}</style>\n{self._fragment(uid, standalone=False)}"


def _reading_order(root: Value) -> list[Value]:
    """A topological order that computes a node's inputs in argument order (first input first).

    For the forward steps only: the backward pass keeps the engine's own order, so that its sums
    are added up exactly as `backward()` adds them. Iterative, like the engine's.
    """
    order: list[Value] = []
    done: dict[Value, bool] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        state = done.get(node)
        if state is None:
            done[node] = False
            stack.append(node)
            stack.extend(p for p in reversed(parents_of(node)) if p not in done)
        elif state is False:
            done[node] = True
            order.append(node)
    return order


_SCALE = re.compile(r"scale\(([-\d.e]+)(?: ([-\d.e]+))?\)\s*")
_TRANSLATE = re.compile(r"translate\(([-\d.e]+) ([-\d.e]+)\)")


def _unscale(svg: ET.Element) -> None:
    """Let the viewBox do the shrinking that Graphviz's `size` asks for.

    Graphviz writes the shrink factor rounded to two digits (scale(0.7 0.7) for 0.697) but sizes
    the viewBox with the exact one, so the rounded drawing overflows it and loses its right and
    bottom edges. Without the scale, with a viewBox of the drawing's own extent, nothing is cut.
    """
    graph = next((g for g in svg.iter("g") if g.get("class") == "graph"), None)
    if graph is None:
        return
    transform = graph.get("transform", "")
    frame = graph.find("polygon")
    move = _TRANSLATE.search(transform)
    if frame is None or move is None or not _SCALE.search(transform):
        return
    try:
        points = [tuple(map(float, p.split(","))) for p in frame.get("points", "").split()]
        dx, dy = float(move[1]), float(move[2])
    except ValueError:
        return
    if not points:
        return
    width = max(x for x, _ in points) + dx
    height = max(y for _, y in points) + dy
    graph.set("transform", _SCALE.sub("", transform))
    svg.set("viewBox", f"0 0 {width:.2f} {height:.2f}")


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _op_display(v: Value) -> str:
    """The op that made `v` as drawings name it (`pow_const(exponent=2)`); "" for a leaf."""
    return "" if v._prim is None else v._prim.display


def _asset(name: str) -> str:
    """The text of a file of the page (its script or its style), shipped beside this module."""
    return (ASSETS / name).read_text(encoding="utf-8")
