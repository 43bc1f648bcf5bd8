"""Drawing computation graphs: DOT text, `graphviz.Digraph`s, files and Jupyter pictures.

Every Value is a record node (label, data, grad) and every operation its own small node, so
edges run input -> op -> output and an input used twice (`x * x`) has two edges into its op.
By default a drawing picks the layout (left to right, or top to bottom with the fields of each
record side by side or stacked) that shows it largest within 12.5 x 12.5 inches, a notebook
cell's width, and Graphviz shrinks anything bigger to that size.

`to_dot` builds the DOT text here and needs neither the graphviz package nor the `dot` program;
`draw_dot`, `save` and `repr_svg` import the graphviz package lazily, so the engine never needs it.
"""

from __future__ import annotations

import html
import math
import os
import reprlib
import shutil
import subprocess
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .fileio import write_atomically
from .ops import TABLE
from .primitive import Primitive
from .value import Value

if TYPE_CHECKING:
    # Optional (the `viz` extra): without it, checkers see graphviz's types as unknown.
    import graphviz  # pyright: ignore[reportMissingImports]

    from .explorer import Explanation

RANKDIRS = ("LR", "RL", "TB", "BT")
AUTO = "auto"  # rankdir: left to right or top to bottom, whichever draws the graph larger in `size`
COLOR_MODES = (None, "role", "grad")

# The largest picture, in inches (Graphviz shrinks a bigger drawing to fit, never enlarges one):
# 12.5 in is 1,200 px at 96 dpi, a wide notebook cell. size=None draws at the natural size.
DEFAULT_SIZE = (12.5, 12.5)
# Spacing between nodes of one rank and between ranks, in inches (Graphviz's are 0.25 and 0.5).
NODESEP, RANKSEP = 0.15, 0.25
PAD = 0.15  # margin around a drawing shrunk to `size`, in inches (Graphviz's default is 0.0555)

# Fill colour of each role of a Value node (color_by=None or "role").
ROLE_COLORS = {
    "parameter": "#9ecae1",  # leaves being trained (params= or model.parameters())
    "leaf": "#e0e0e0",  # other leaves: inputs and constants
    "output": "#fdae6b",  # the root being drawn
    "intermediate": "#ffffff",  # results of operations
}
ROLE_NAMES = {
    "parameter": "parameter",
    "leaf": "input / constant",
    "output": "output",
    "intermediate": "intermediate",
}
OP_COLOR = "#f0f0f0"

# color_by="grad": a sequential scale over log10 |grad| between the smallest and the largest
# non-zero |grad| of the graph being drawn, from pale yellow (smallest) through orange to dark red
# (largest), so any graph uses the whole scale; the legend gives the numbers.
GRAD_STOPS = ((0xFF, 0xFF, 0xCC), (0xFD, 0x8D, 0x3C), (0x80, 0x00, 0x26))
GRAD_LEGEND_SWATCHES = 5
ZERO_GRAD_COLOR = "#bdbdbd"  # exactly zero: no gradient reached the node
NONFINITE_GRAD_COLOR = "#000000"  # nan or inf

# Largest graph (in Values) that Jupyter draws by itself; bigger ones show the text repr.
REPR_SVG_MAX_NODES = 150

# The built-in ops drawn as operator symbols; the rest are drawn by their display name.
OP_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "neg": "-x"}
# Ops whose inputs can be swapped: their edges need no argument number.
COMMUTATIVE = frozenset({"add", "mul", "sum", "maximum", "minimum"})

INSTALL_HELP = (
    "the Graphviz program `dot` was not found on PATH, so the graph cannot be rendered "
    "(autograd.viz.to_dot still gives the DOT text). Install Graphviz:\n"
    "  Debian/Ubuntu: sudo apt-get install graphviz\n"
    "  Fedora:        sudo dnf install graphviz\n"
    "  macOS:         brew install graphviz\n"
    "  conda:         conda install -c conda-forge graphviz\n"
    "  Windows:       winget install graphviz  (or choco install graphviz, or the installer "
    "from https://graphviz.org/download/), then add its bin folder to PATH"
)


class GraphvizNotFoundError(RuntimeError):
    """The `dot` program is missing; the message says how to install Graphviz.

    When raised by rendering it is also a `graphviz.ExecutableNotFound`.
    """

    def __init__(self, detail: str = "") -> None:
        # RuntimeError's own __init__: graphviz.ExecutableNotFound (a sibling base of the
        # subclass raised when rendering) would format the message as a command line.
        RuntimeError.__init__(self, INSTALL_HELP + (f"\n({detail})" if detail else ""))


# ---------------------------------------------------------------------------------------------
# Walking the graph
# ---------------------------------------------------------------------------------------------


def nodes_by_distance(root: Value) -> list[Value]:
    """Every Value `root` depends on, once each, in breadth-first order from `root` (iterative)."""
    if not isinstance(root, Value):
        raise TypeError(f"viz: expected a Value to draw, got {type(root).__name__} {reprlib.repr(root)}")
    seen = {root}
    order = [root]
    queue = deque(order)
    while queue:
        for parent in queue.popleft().parents:
            if parent not in seen:
                seen.add(parent)
                order.append(parent)
                queue.append(parent)
    return order


def _count_up_to(root: Value, limit: int) -> int:
    """The number of Values below `root`, but stop counting once it exceeds `limit`."""
    seen = {root}
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if parent not in seen:
                seen.add(parent)
                if len(seen) > limit:
                    return len(seen)
                stack.append(parent)
    return len(seen)


def _parameter_names(params: Any, where: str) -> dict[Value, str]:
    """The Values of `params`, each with its name ('' when unnamed).

    `params` is one Value, an iterable of Values, a mapping name -> Value, or a model: anything with
    `.named_parameters()` (names like 'layers.0.weight[3][1]') or `.parameters()`.
    """
    if params is None:
        return {}
    if isinstance(params, Value):
        return {params: ""}
    if callable(getattr(params, "named_parameters", None)):
        params = dict(params.named_parameters())
    elif callable(getattr(params, "parameters", None)):
        params = params.parameters()
    if isinstance(params, Mapping):
        items = [(str(name), p) for name, p in params.items()]
    elif isinstance(params, Iterable) and not isinstance(params, (str, bytes)):
        items = [("", p) for p in params]
    else:
        raise TypeError(
            f"{where} params: expected Values or an object with .parameters(), got {type(params).__name__}"
        )
    found: dict[Value, str] = {}
    for i, (name, p) in enumerate(items):
        if not isinstance(p, Value):
            what = f"{name!r}" if name else f"item {i}"
            raise TypeError(f"{where} params: {what} is a {type(p).__name__} {p!r}, not a Value")
        found.setdefault(p, name)  # a Value listed twice keeps its first name
    return found


# ---------------------------------------------------------------------------------------------
# Text of nodes and edges
# ---------------------------------------------------------------------------------------------

_RECORD_SPECIAL = frozenset('{}|<>"')


def escape_record(text: str) -> str:
    """`text` as a field of a DOT record label: `{ } | < > "` and backslash are escaped."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch in _RECORD_SPECIAL:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch < " " or ch == "\x7f":
            out.append(" ")  # other control characters have no picture
        else:
            out.append(ch)
    return "".join(out)


def escape_plain(text: str) -> str:
    """`text` inside a double-quoted DOT string that is not a record label."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch < " " or ch == "\x7f":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _number(x: Any) -> float:
    """A node's data or grad as a float (under create_graph a grad is itself a Value)."""
    return x.data if isinstance(x, Value) else float(x)


def _format(x: float) -> str:
    return f"{x:.4g}"


def op_text(prim: Primitive) -> str:
    """The short text of an op node: a symbol for arithmetic, `**2` for x ** 2, else the display."""
    builtin = TABLE.get(prim.name) is prim
    if builtin and prim.name in OP_SYMBOLS:
        return OP_SYMBOLS[prim.name]
    if prim.name == "pow_const" and set(prim.params) == {"exponent"}:
        return f"**{prim.params['exponent']:g}"
    if prim.name == "const_pow" and set(prim.params) == {"base"}:
        return f"{prim.params['base']:g}**"
    return prim.display


def _edge_labels(prim: Primitive, n_inputs: int) -> list[str]:
    """A label per input edge telling the argument apart, or empty labels when order is moot."""
    if n_inputs < 2 or (TABLE.get(prim.name) is prim and prim.name in COMMUTATIVE):
        return [""] * n_inputs
    if TABLE.get(prim.name) is prim and prim.name == "dot":
        half = n_inputs // 2  # w1..wn, x1..xn, and the bias last when the count is odd
        bias = ["b"] if n_inputs % 2 else []
        return [f"w{i}" for i in range(half)] + [f"x{i}" for i in range(half)] + bias
    return [str(i) for i in range(n_inputs)]


def grad_range(values: Iterable[Value]) -> tuple[float, float] | None:
    """(smallest, largest) finite non-zero |grad| among `values`, or None when there is none."""
    mags = [math.fabs(g) for g in (_number(v.grad) for v in values) if g != 0.0 and math.isfinite(g)]
    return (min(mags), max(mags)) if mags else None


def grad_color(grad: float, lo: float, hi: float) -> str:
    """The fill colour of `grad` on the log scale of |grad| from `lo` (pale yellow) to `hi` (dark red)."""
    if not (0.0 < lo <= hi < math.inf):
        raise ValueError(f"grad_color: need 0 < lo <= hi < inf, got lo={lo!r}, hi={hi!r}")
    if not math.isfinite(grad):
        return NONFINITE_GRAD_COLOR
    if grad == 0.0:
        return ZERO_GRAD_COLOR
    span = math.log(hi) - math.log(lo)
    t = 1.0 if span == 0.0 else (math.log(math.fabs(grad)) - math.log(lo)) / span
    t = min(1.0, max(0.0, t)) * (len(GRAD_STOPS) - 1)  # clipped outside [lo, hi]
    i = min(int(t), len(GRAD_STOPS) - 2)
    w = t - i  # blend stop i -> stop i + 1 by w
    r, g, b = (round(c0 + (c1 - c0) * w) for c0, c1 in zip(GRAD_STOPS[i], GRAD_STOPS[i + 1], strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _text_color(fill: str) -> str:
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#ffffff" if 0.299 * r + 0.587 * g + 0.114 * b < 110 else "#000000"


def _attrs(**attrs: str) -> str:
    return ", ".join(f'{k}="{v}"' for k, v in attrs.items())


# ---------------------------------------------------------------------------------------------
# Choosing a layout that fits
# ---------------------------------------------------------------------------------------------

# Rough sizes in points, to compare layouts before Graphviz draws one (Helvetica 11 pt).
_CHAR_PT, _FIELD_PAD_PT, _ROW_PT = 6.1, 16.0, 19.0
_MIN_W_PT, _MIN_H_PT = 54.0, 36.0  # Graphviz's default node size, 0.75 x 0.5 in
# (rankdir, fields stacked?) in order of preference when several fit equally well: the classic
# left-to-right picture first.
_LAYOUTS = (("LR", False), ("TB", True), ("TB", False), ("LR", True))


def _value_box(fields: list[str], stacked: bool) -> tuple[float, float]:
    widths = [_CHAR_PT * len(f) + _FIELD_PAD_PT for f in fields] or [_MIN_W_PT]
    if stacked:
        return max(_MIN_W_PT, max(widths)), max(_MIN_H_PT, _ROW_PT * len(fields))
    return max(_MIN_W_PT, sum(widths)), _MIN_H_PT


def _ranks(kept: list[Value], kept_set: set[Value]) -> dict[Value, int]:
    """Each kept Value's longest distance from the root in Values (iterative: a reverse topological walk)."""
    # Kahn's order from the root: a Value comes after every kept Value that uses it.
    users = {v: 0 for v in kept}
    for v in kept:
        for p in set(v.parents):
            if p in kept_set:
                users[p] += 1
    depth = {kept[0]: 0}
    ready = [kept[0]]
    while ready:
        v = ready.pop()
        for p in set(v.parents):
            if p in kept_set:
                depth[p] = max(depth.get(p, 0), depth[v] + 1)
                users[p] -= 1
                if users[p] == 0:
                    ready.append(p)
    return depth


def layout_extent(
    kept: list[Value],
    fields: dict[Value, list[str]],
    rankdir: str,
    stacked: bool,
    depth: dict[Value, int] | None = None,
) -> tuple[float, float]:
    """A rough (width, height) in points of the drawing in one layout, without running Graphviz."""
    if depth is None:
        depth = _ranks(kept, set(kept))
    gap = NODESEP * 72.0
    along: dict[int, float] = {}  # per rank: the nodes' extents along the rank, with the gaps
    across: dict[int, float] = {}  # per rank: its thickest node across the rank

    def place(rank: int, w: float, h: float) -> None:
        a, c = (w, h) if rankdir in ("TB", "BT") else (h, w)
        along[rank] = along.get(rank, -gap) + a + gap
        across[rank] = max(across.get(rank, 0.0), c)

    for v in kept:  # a Value at rank 2·depth, the op that made it just above, at 2·depth + 1
        place(2 * depth[v], *_value_box(fields[v], stacked))
        if v._prim is not None:
            place(2 * depth[v] + 1, _MIN_W_PT, _MIN_H_PT)
    breadth = max(along.values())
    length = sum(across.values()) + RANKSEP * 72.0 * (len(across) - 1)
    return (breadth, length) if rankdir in ("TB", "BT") else (length, breadth)


def choose_layout(
    kept: list[Value], fields: dict[Value, list[str]], size: tuple[float, float] | None
) -> tuple[str, bool]:
    """(rankdir, stacked fields) for which the graph, shrunk to fit `size`, is drawn largest."""
    box_w, box_h = (72.0 * s for s in (size or DEFAULT_SIZE))
    depth = _ranks(kept, set(kept))
    best, best_scale = _LAYOUTS[0], -1.0
    for rankdir, stacked in _LAYOUTS:
        width, height = layout_extent(kept, fields, rankdir, stacked, depth)
        scale = min(1.0, box_w / width, box_h / height)
        if scale > best_scale * 1.05:  # a later layout must be clearly better to win
            best, best_scale = (rankdir, stacked), scale
    return best


# ---------------------------------------------------------------------------------------------
# The DOT statements
# ---------------------------------------------------------------------------------------------


def _check_size(size: Any, where: str) -> tuple[float, float] | None:
    if size is None:
        return None
    ok = isinstance(size, (tuple, list)) and len(size) == 2
    ok = ok and all(
        isinstance(s, (int, float)) and not isinstance(s, bool) and 0 < s < math.inf for s in size
    )
    if not ok:
        raise ValueError(f"{where}: size must be None or (width, height) in inches, both > 0, got {size!r}")
    return float(size[0]), float(size[1])


def _statements(
    root: Value,
    rankdir: str,
    show_data: bool,
    show_grad: bool,
    color_by: str | None,
    max_nodes: int,
    params: Any,
    legend: bool,
    where: str,
    size: Any = DEFAULT_SIZE,
) -> list[str]:
    """The statements of the graph's body, one per line, without indentation."""
    if rankdir not in RANKDIRS and rankdir != AUTO:
        raise ValueError(
            f"{where}: rankdir must be {AUTO!r} or one of {', '.join(RANKDIRS)}, got {rankdir!r}"
        )
    if color_by not in COLOR_MODES:
        raise ValueError(f"{where}: color_by must be None, 'role' or 'grad', got {color_by!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"{where}: max_nodes must be a positive int, got {max_nodes!r}")
    size = _check_size(size, where)
    names = _parameter_names(params, where)
    order = nodes_by_distance(root)
    kept = order[:max_nodes]
    ids = {v: f"n{i}" for i, v in enumerate(kept)}
    by_grad = color_by == "grad"
    scale = grad_range(kept) if by_grad else None

    fields: dict[Value, list[str]] = {}
    for v in kept:
        f = []
        label = v.label or names.get(v, "")
        if label:
            f.append(str(label))
        if show_data:
            f.append(f"data {_format(v.data)}")
        if show_grad:
            f.append(f"grad {_format(_number(v.grad))}")
        fields[v] = f
    stacked = False  # an explicit direction: fields side by side, as before
    if rankdir == AUTO:
        rankdir, stacked = choose_layout(kept, fields, size)
    # A record's fields run across the flow; { } turns them, so they need braces when they should
    # run along it: left to right with fields side by side, or top to bottom with fields stacked.
    braces = (rankdir in ("LR", "RL")) != stacked

    graph_attrs = {"rankdir": rankdir, "fontname": "Helvetica", "nodesep": f"{NODESEP:g}"}
    graph_attrs["ranksep"] = f"{RANKSEP:g}"
    if size is not None:
        graph_attrs["size"] = f"{size[0]:g},{size[1]:g}"
        # Graphviz (2.43) rounds the scale of a shrunk drawing up to two digits, which can push
        # the right edge up to 0.5% past the picture's width: a margin wider than that.
        graph_attrs["pad"] = f"{PAD:g}"
    lines = [
        f"graph [{_attrs(**graph_attrs)}]",
        f"node [{_attrs(fontname='Helvetica', fontsize='11')}]",
        f"edge [{_attrs(fontname='Helvetica', fontsize='9', arrowsize='0.7')}]",
    ]
    roles_seen: set[str] = set()
    grads_seen: set[str] = set()  # "zero" and "nonfinite" when some drawn node has them
    boundary_ops = []  # op nodes with some input beyond max_nodes
    edges = []
    for v, vid in ids.items():
        if v is root:
            role = "output"
        elif v in names:
            role = "parameter"
        elif v.is_leaf:
            role = "leaf"
        else:
            role = "intermediate"
        roles_seen.add(role)
        body = " | ".join(escape_record(f) for f in fields[v]) if fields[v] else " "
        style = {"shape": "record", "style": "filled"}
        if by_grad:
            g = _number(v.grad)
            if g == 0.0:
                grads_seen.add("zero")
            elif not math.isfinite(g):
                grads_seen.add("nonfinite")
            # Without any finite non-zero |grad| (before backward()) only grey and black remain.
            fill = grad_color(g, *scale) if scale else grad_color(g, 1.0, 1.0)
            style["fontcolor"] = _text_color(fill)
            if role == "parameter":
                style["penwidth"] = "2.5"
            elif role == "output":
                style["peripheries"] = "2"
        else:
            fill = ROLE_COLORS[role]
        label = "{ " + body + " }" if braces else body
        lines.append(f"{vid} [{_attrs(label=label, fillcolor=fill, **style)}]")

        prim = v._prim
        if prim is None:
            continue
        op_id = f"op{vid[1:]}"
        op_attrs = _attrs(
            label=escape_plain(op_text(prim)),
            tooltip=escape_plain(prim.display),
            shape="ellipse",
            style="filled",
            fillcolor=OP_COLOR,
            fontsize="10",
            margin="0.04",
        )
        lines.append(f"{op_id} [{op_attrs}]")
        edges.append(f"{op_id} -> {vid}")
        hidden = False
        for parent, text in zip(v.parents, _edge_labels(prim, len(v.parents)), strict=True):
            pid = ids.get(parent)
            if pid is None:
                hidden = True
            else:
                edges.append(f"{pid} -> {op_id}" + (f" [{_attrs(label=text)}]" if text else ""))
        if hidden:
            boundary_ops.append(op_id)

    omitted = order[max_nodes:]
    if omitted:
        summary = _summary_text(omitted, set(names), max_nodes)
        summary_attrs = _attrs(label=summary, shape="note", style="dashed,filled", fillcolor="#fff7bc")
        lines.append(f"omitted [{summary_attrs}]")
        for op_id in boundary_ops:
            edges.append(f"omitted -> {op_id} [{_attrs(style='dashed', color='#888888')}]")
    lines.extend(edges)
    if legend:
        entries = _grad_legend(scale, grads_seen, roles_seen) if by_grad else _role_legend(roles_seen)
        lines.append(_legend_node(entries, vertical=rankdir in ("LR", "RL")))
        lines.append('{ rank="same"; n0; legend }')  # beside the output, out of the way
    return lines


def _summary_text(omitted: list[Value], parameters: set[Value], max_nodes: int) -> str:
    leaves = sum(1 for v in omitted if v.is_leaf)
    n_params = sum(1 for v in omitted if v in parameters)
    detail = f"{leaves:,} leaves" + (f", {n_params:,} parameters" if parameters else "")
    return (
        f"{len(omitted):,} more nodes not drawn\\n({detail})\\n"
        f"only the {max_nodes:,} nearest the output are shown (max_nodes={max_nodes})"
    )


# A legend entry: (text, fill colour or None, border width of its cell).
LegendEntry = tuple[str, str | None, int]


def _role_legend(roles_seen: set[str]) -> list[LegendEntry]:
    return [(ROLE_NAMES[role], ROLE_COLORS[role], 1) for role in ROLE_COLORS if role in roles_seen]


def _grad_legend(
    scale: tuple[float, float] | None, grads_seen: set[str], roles_seen: set[str]
) -> list[LegendEntry]:
    """|grad| swatches with the numbers of this graph's own scale, then the special cases present."""
    entries: list[LegendEntry] = []
    if scale is not None:
        lo, hi = scale
        n = 1 if lo == hi else GRAD_LEGEND_SWATCHES
        marks = [lo * (hi / lo) ** (k / (n - 1)) if n > 1 else hi for k in range(n)]
        marks[0], marks[-1] = lo, hi  # exact ends, not rounded by the power
        entries.append(("|grad|", None, 0))
        entries.extend((f"{m:.3g}", grad_color(m, lo, hi), 1) for m in marks)
    if "zero" in grads_seen:
        entries.append(("grad 0", ZERO_GRAD_COLOR, 1))
    if "nonfinite" in grads_seen:
        entries.append(("nan / inf", NONFINITE_GRAD_COLOR, 1))
    if "parameter" in roles_seen:
        entries.append(("parameter (thick border)", None, 3))
    entries.append(("output (double border)", None, 1))
    return entries


def _legend_node(entries: list[LegendEntry], vertical: bool) -> str:
    """One node holding the legend as a small table: a column beside a left-to-right graph, else a row."""
    cells = []
    for text, fill, border in entries:
        attrs = f' border="{border}"' + (f' bgcolor="{fill}"' if fill else "")
        shown = html.escape(text)
        if fill and _text_color(fill) == "#ffffff":
            shown = f'<font color="#ffffff">{shown}</font>'
        cells.append(f"<td{attrs}>{shown}</td>")
    rows = "".join(f"<tr>{c}</tr>" for c in cells) if vertical else "<tr>" + "".join(cells) + "</tr>"
    table = f'<table border="0" cellborder="1" cellspacing="3" cellpadding="3">{rows}</table>'
    return f'legend [shape="plaintext", margin="0", fontsize="10", label=<{table}>]'


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def to_dot(
    root: Value,
    rankdir: str = AUTO,
    show_data: bool = True,
    show_grad: bool = True,
    color_by: str | None = None,
    max_nodes: int = 500,
    params: Any = None,
    legend: bool = True,
    size: tuple[float, float] | None = DEFAULT_SIZE,
) -> str:
    """The DOT source of `root`'s graph (needs neither the graphviz package nor the `dot` program)."""
    body = _statements(
        root, rankdir, show_data, show_grad, color_by, max_nodes, params, legend, "to_dot", size
    )
    return "digraph chaingrad {\n" + "".join(f"\t{line}\n" for line in body) + "}\n"


def draw_dot(
    root: Value,
    rankdir: str = AUTO,
    show_data: bool = True,
    show_grad: bool = True,
    color_by: str | None = None,
    max_nodes: int = 500,
    params: Any = None,
    legend: bool = True,
    size: tuple[float, float] | None = DEFAULT_SIZE,
) -> graphviz.Digraph:
    """A `graphviz.Digraph` of `root`'s graph: Value records, op nodes, role colours and a legend.

    `rankdir="auto"` draws left to right or top to bottom, whichever shows the graph larger within
    `size` (inches; a bigger drawing is shrunk to fit; None for no limit). `params` (Values, a
    mapping name -> Value, or a model) marks the trained leaves and, from `named_parameters()`,
    names them; `color_by="grad"` shades nodes by log |grad| between the graph's own smallest and
    largest values; beyond `max_nodes` Values only the ones nearest the output are drawn, with one
    summary node for the rest.
    """
    body = _statements(
        root, rankdir, show_data, show_grad, color_by, max_nodes, params, legend, "draw_dot", size
    )
    graph = _digraph_class()(name="chaingrad")
    graph.body.extend(f"\t{line}\n" for line in body)
    return graph


def save(root: Value, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Draw `root`'s graph into `path` (.svg, .png, .pdf, or .dot/.gv for the source), atomically."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt in ("dot", "gv"):
        data = to_dot(root, **kwargs).encode("utf-8")
    elif fmt in ("svg", "png", "pdf"):
        data = _render(root, fmt, **kwargs)
    else:
        raise ValueError(
            f"viz.save: cannot tell the format of {str(path)!r} from its extension; "
            "use .svg, .png, .pdf, .dot or .gv"
        )
    write_atomically(path, data)  # the project's one atomic write (autograd/fileio.py)
    return path


def repr_svg(root: Value) -> str | None:
    """SVG of a small graph for Jupyter; None (the text repr) when it is big or Graphviz is missing."""
    if _count_up_to(root, REPR_SVG_MAX_NODES) > REPR_SVG_MAX_NODES:
        return None
    if shutil.which("dot") is None:
        return None
    try:
        return _render(root, "svg").decode("utf-8")
    except (GraphvizNotFoundError, RuntimeError):
        return None


def explain(root: Value, **kwargs: Any) -> Explanation:
    """The backprop explorer of `root`'s graph (see `autograd.explorer.explain`, re-exported here)."""
    from .explorer import explain as explain_graph  # lazily: explorer imports this module

    return explain_graph(root, **kwargs)


# ---------------------------------------------------------------------------------------------
# Helpers of the public API
# ---------------------------------------------------------------------------------------------


def _render(root: Value, fmt: str, **kwargs: Any) -> bytes:
    """The graph rendered by Graphviz: through the graphviz package, or the `dot` program alone."""
    try:
        import graphviz  # noqa: F401  # pyright: ignore[reportMissingImports]  (only asks whether it is there)
    except ImportError:
        return _run_dot(to_dot(root, **kwargs), fmt)
    return draw_dot(root, **kwargs).pipe(format=fmt)


def _run_dot(source: str, fmt: str) -> bytes:
    """`dot -T<fmt>` on the DOT text: rendering without the graphviz Python package."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizNotFoundError()
    done = subprocess.run([exe, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"viz: dot -T{fmt} failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


_DIGRAPH_CLASS: Any = None
_Method = TypeVar("_Method", bound=Callable[..., Any])


def _digraph_class() -> Any:
    """`graphviz.Digraph` whose rendering explains how to install Graphviz when `dot` is missing."""
    global _DIGRAPH_CLASS
    if _DIGRAPH_CLASS is not None:
        return _DIGRAPH_CLASS
    try:
        import graphviz  # pyright: ignore[reportMissingImports]  (optional: the viz extra)
    except ImportError as err:
        raise ImportError(
            "autograd.viz.draw_dot needs the graphviz Python package: pip install graphviz "
            "(or pip install 'chaingrad[viz]'); autograd.viz.to_dot works without it"
        ) from err

    class DotNotFound(GraphvizNotFoundError, graphviz.ExecutableNotFound):
        """Missing `dot`: both chaingrad's error (with install help) and graphviz's."""

        def __init__(self, detail: str = "") -> None:
            GraphvizNotFoundError.__init__(self, detail)

    DotNotFound.__qualname__ = DotNotFound.__name__ = "GraphvizNotFoundError"  # as tracebacks show it

    def explained(method: _Method) -> _Method:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except graphviz.ExecutableNotFound as err:
                if isinstance(err, GraphvizNotFoundError):
                    raise
                raise DotNotFound(str(err)) from err

        wrapper.__name__ = method.__name__
        wrapper.__doc__ = method.__doc__
        return cast(_Method, wrapper)  # the same signature: it passes every argument on

    class ChaingradDigraph(graphviz.Digraph):
        """A graphviz.Digraph of a chaingrad graph."""

        render = explained(graphviz.Digraph.render)
        pipe = explained(graphviz.Digraph.pipe)
        unflatten = explained(graphviz.Digraph.unflatten)

    _DIGRAPH_CLASS = ChaingradDigraph
    return ChaingradDigraph
