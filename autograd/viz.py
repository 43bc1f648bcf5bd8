"""Drawing computation graphs: DOT text, `graphviz.Digraph`s, files and Jupyter pictures.

Every Value is a record node (label, data, grad) and every operation its own small node, so
edges run input -> op -> output and an input used twice (`x * x`) has two edges into its op.

`to_dot` builds the DOT text here and needs neither the graphviz package nor the `dot` program;
`draw_dot`, `save` and `repr_svg` import the graphviz package lazily, so the engine never needs it.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .ops import TABLE
from .primitive import Primitive
from .value import Value

if TYPE_CHECKING:
    import graphviz

RANKDIRS = ("LR", "RL", "TB", "BT")
COLOR_MODES = (None, "role", "grad")

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

# color_by="grad": a diverging scale over log10 |grad|, white at |grad| = 1, saturated blue
# (vanishing) at 10^-GRAD_DECADES and below, saturated red (exploding) at 10^GRAD_DECADES and above.
GRAD_DECADES = 6.0
VANISHING_COLOR = (0x21, 0x66, 0xAC)
EXPLODING_COLOR = (0xB2, 0x18, 0x2B)
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
        raise TypeError(f"viz: expected a Value to draw, got {type(root).__name__} {root!r}")
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


def _parameter_set(params: Any, where: str) -> set[Value]:
    """The Values of `params`: an iterable of Values, one Value, or anything with .parameters()."""
    if params is None:
        return set()
    if isinstance(params, Value):
        return {params}
    if callable(getattr(params, "parameters", None)):
        params = params.parameters()
    if not isinstance(params, Iterable):
        raise TypeError(
            f"{where} params: expected Values or an object with .parameters(), got {type(params).__name__}"
        )
    found = set()
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"{where} params: item {i} is a {type(p).__name__} {p!r}, not a Value")
        found.add(p)
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


def grad_color(grad: float) -> str:
    """The fill colour for |grad| on the log scale: blue when vanishing, red when exploding."""
    if not math.isfinite(grad):
        return NONFINITE_GRAD_COLOR
    if grad == 0.0:
        return ZERO_GRAD_COLOR
    t = max(-1.0, min(1.0, math.log10(math.fabs(grad)) / GRAD_DECADES))
    target = VANISHING_COLOR if t < 0 else EXPLODING_COLOR
    w = math.fabs(t)
    r, g, b = (round(255 + (c - 255) * w) for c in target)  # blend white -> target by w
    return f"#{r:02x}{g:02x}{b:02x}"


def _text_color(fill: str) -> str:
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#ffffff" if 0.299 * r + 0.587 * g + 0.114 * b < 110 else "#000000"


def _attrs(**attrs: str) -> str:
    return ", ".join(f'{k}="{v}"' for k, v in attrs.items())


# ---------------------------------------------------------------------------------------------
# The DOT statements
# ---------------------------------------------------------------------------------------------


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
) -> list[str]:
    """The statements of the graph's body, one per line, without indentation."""
    if rankdir not in RANKDIRS:
        raise ValueError(f"{where}: rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    if color_by not in COLOR_MODES:
        raise ValueError(f"{where}: color_by must be None, 'role' or 'grad', got {color_by!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"{where}: max_nodes must be a positive int, got {max_nodes!r}")
    parameters = _parameter_set(params, where)
    order = nodes_by_distance(root)
    kept = order[:max_nodes]
    ids = {v: f"n{i}" for i, v in enumerate(kept)}
    by_grad = color_by == "grad"
    horizontal_fields = rankdir in ("LR", "RL")  # record fields side by side need { } there

    lines = [
        f"graph [{_attrs(rankdir=rankdir, fontname='Helvetica')}]",
        f"node [{_attrs(fontname='Helvetica', fontsize='11')}]",
        f"edge [{_attrs(fontname='Helvetica', fontsize='9', arrowsize='0.7')}]",
    ]
    roles_seen: set[str] = set()
    boundary_ops = []  # op nodes with some input beyond max_nodes
    edges = []
    for v, vid in ids.items():
        if v is root:
            role = "output"
        elif v in parameters:
            role = "parameter"
        elif v.is_leaf:
            role = "leaf"
        else:
            role = "intermediate"
        roles_seen.add(role)
        fields = []
        if v.label:
            fields.append(escape_record(str(v.label)))
        if show_data:
            fields.append(f"data {_format(v.data)}")
        if show_grad:
            fields.append(f"grad {_format(_number(v.grad))}")
        body = " | ".join(fields) if fields else " "
        style = {"shape": "record", "style": "filled"}
        if by_grad:
            fill = grad_color(_number(v.grad))
            style["fontcolor"] = _text_color(fill)
            if role == "parameter":
                style["penwidth"] = "2.5"
            elif role == "output":
                style["peripheries"] = "2"
        else:
            fill = ROLE_COLORS[role]
        label = "{ " + body + " }" if horizontal_fields else body
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
        summary = _summary_text(omitted, parameters, max_nodes)
        summary_attrs = _attrs(label=summary, shape="note", style="dashed,filled", fillcolor="#fff7bc")
        lines.append(f"omitted [{summary_attrs}]")
        for op_id in boundary_ops:
            edges.append(f"omitted -> {op_id} [{_attrs(style='dashed', color='#888888')}]")
    lines.extend(edges)
    if legend:
        lines.extend(_legend(roles_seen, by_grad))
    return lines


def _summary_text(omitted: list[Value], parameters: set[Value], max_nodes: int) -> str:
    leaves = sum(1 for v in omitted if v.is_leaf)
    n_params = sum(1 for v in omitted if v in parameters)
    detail = f"{leaves:,} leaves" + (f", {n_params:,} parameters" if parameters else "")
    return (
        f"{len(omitted):,} more nodes not drawn\\n({detail})\\n"
        f"only the {max_nodes:,} nearest the output are shown (max_nodes={max_nodes})"
    )


def _legend(roles_seen: set[str], by_grad: bool) -> list[str]:
    frame = _attrs(label="legend", style="rounded", color="#aaaaaa")
    lines = ["subgraph cluster_legend {", f"graph [{frame}]"]
    keys = []
    if by_grad:
        swatches = [("grad 0", ZERO_GRAD_COLOR)]
        swatches += [(f"|grad| {10.0**e:g}", grad_color(10.0**e)) for e in (-6, -3, 0, 3, 6)]
        swatches.append(("grad nan / inf", NONFINITE_GRAD_COLOR))
        for i, (text, fill) in enumerate(swatches):
            swatch = _attrs(
                label=text, shape="box", style="filled", fillcolor=fill, fontcolor=_text_color(fill)
            )
            lines.append(f"legend_grad{i} [{swatch}]")
            keys.append(f"legend_grad{i}")
        if "parameter" in roles_seen:
            lines.append(f"legend_parameter [{_attrs(label='parameter', shape='box', penwidth='2.5')}]")
            keys.append("legend_parameter")
        lines.append(f"legend_output [{_attrs(label='output', shape='box', peripheries='2')}]")
        keys.append("legend_output")
    else:
        for role in ROLE_COLORS:
            if role in roles_seen:
                fill = ROLE_COLORS[role]
                swatch = _attrs(label=ROLE_NAMES[role], shape="box", style="filled", fillcolor=fill)
                lines.append(f"legend_{role} [{swatch}]")
                keys.append(f"legend_{role}")
    # Invisible edges keep the swatches in one column, in order.
    lines.extend(f'{a} -> {b} [style="invis"]' for a, b in zip(keys, keys[1:], strict=False))
    lines.append("}")
    return lines


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def to_dot(
    root: Value,
    rankdir: str = "LR",
    show_data: bool = True,
    show_grad: bool = True,
    color_by: str | None = None,
    max_nodes: int = 500,
    params: Any = None,
    legend: bool = True,
) -> str:
    """The DOT source of `root`'s graph (needs neither the graphviz package nor the `dot` program)."""
    body = _statements(root, rankdir, show_data, show_grad, color_by, max_nodes, params, legend, "to_dot")
    return "digraph chaingrad {\n" + "".join(f"\t{line}\n" for line in body) + "}\n"


def draw_dot(
    root: Value,
    rankdir: str = "LR",
    show_data: bool = True,
    show_grad: bool = True,
    color_by: str | None = None,
    max_nodes: int = 500,
    params: Any = None,
    legend: bool = True,
) -> graphviz.Digraph:
    """A `graphviz.Digraph` of `root`'s graph: Value records, op nodes, role colours and a legend.

    `params` (Values, or an object with `.parameters()` such as a model) marks the trained leaves;
    `color_by="grad"` shades nodes by |grad| on a log scale; beyond `max_nodes` Values only the
    ones nearest the output are drawn, with one summary node for the rest.
    """
    body = _statements(root, rankdir, show_data, show_grad, color_by, max_nodes, params, legend, "draw_dot")
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
    _write_atomically(path, data)
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


# ---------------------------------------------------------------------------------------------
# Helpers of the public API
# ---------------------------------------------------------------------------------------------


def _render(root: Value, fmt: str, **kwargs: Any) -> bytes:
    """The graph rendered by Graphviz: through the graphviz package, or the `dot` program alone."""
    try:
        import graphviz  # noqa: F401 (only asks whether the package is there)
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


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it: never a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_DIGRAPH_CLASS: Any = None


def _digraph_class() -> Any:
    """`graphviz.Digraph` whose rendering explains how to install Graphviz when `dot` is missing."""
    global _DIGRAPH_CLASS
    if _DIGRAPH_CLASS is not None:
        return _DIGRAPH_CLASS
    try:
        import graphviz
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

    def explained(method):
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except graphviz.ExecutableNotFound as err:
                if isinstance(err, GraphvizNotFoundError):
                    raise
                raise DotNotFound(str(err)) from err

        wrapper.__name__ = method.__name__
        wrapper.__doc__ = method.__doc__
        return wrapper

    class ChaingradDigraph(graphviz.Digraph):
        """A graphviz.Digraph of a chaingrad graph."""

        render = explained(graphviz.Digraph.render)
        pipe = explained(graphviz.Digraph.pipe)
        unflatten = explained(graphviz.Digraph.unflatten)

    _DIGRAPH_CLASS = ChaingradDigraph
    return ChaingradDigraph
