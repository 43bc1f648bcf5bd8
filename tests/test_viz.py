"""Tests of autograd/viz.py: graph drawing, roles and colours, escaping, truncation, rendering."""

from __future__ import annotations

import html
import math
import os
import random
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

import autograd
from autograd import Value, viz

SVG_NS = "{http://www.w3.org/2000/svg}"
NODE_RE = re.compile(r"^\t(\w+) \[(.*)\]$")
EDGE_RE = re.compile(r"^\t(\w+) -> (\w+)(?: \[(.*)\])?$")
ATTR_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_dot(source: str) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]]]:
    """The node statements (id -> attributes) and edge statements of DOT text written by viz."""
    nodes, edges = {}, []
    for line in source.splitlines():
        edge = EDGE_RE.match(line)
        if edge:
            edges.append((edge[1], edge[2], dict(ATTR_RE.findall(edge[3] or ""))))
            continue
        node = NODE_RE.match(line)
        if node and node[1] not in ("graph", "node", "edge"):
            nodes[node[1]] = dict(ATTR_RE.findall(node[2]))
    return nodes, edges


def graph_nodes(nodes: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The nodes that stand for Values or ops (not the legend or the summary)."""
    return {k: v for k, v in nodes.items() if re.fullmatch(r"(n|op)\d+", k)}


def record_fields(label: str) -> list[str]:
    """The fields of a record label, with or without the braces that turn them."""
    if label.startswith("{ ") and label.endswith(" }"):
        label = label[2:-2]
    return label.split(" | ")


def node_for_label(nodes: dict[str, dict[str, str]], label: str) -> str:
    """The id of the Value node whose first record field is `label`."""
    values = {k: a for k, a in graph_nodes(nodes).items() if k.startswith("n")}
    found = [k for k, a in values.items() if record_fields(a["label"])[0] == label]
    assert len(found) == 1, (label, found)
    return found[0]


LEGEND_CELL_RE = re.compile(r'<td border="(\d+)"(?: bgcolor="(#[0-9a-f]{6})")?>(?:<font [^>]*>)?([^<]*)')


def legend_cells(source: str) -> list[tuple[str, str | None, int]]:
    """The legend's cells as (text, fill colour or None, border width), in order."""
    (line,) = [line for line in source.splitlines() if line.startswith("\tlegend [")]
    return [(html.unescape(t), fill or None, int(b)) for b, fill, t in LEGEND_CELL_RE.findall(line)]


def require_dot() -> None:
    """Skip without the `dot` program, except in CI, where rendering must be tested."""
    if shutil.which("dot") is None and not os.environ.get("CI"):
        pytest.skip("the Graphviz program `dot` is not installed (CI always runs this test)")


def render_svg(source: str) -> ET.Element:
    """DOT text rendered by the real `dot` program, parsed as SVG."""
    require_dot()
    result = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=True)
    return ET.fromstring(result.stdout)


def svg_groups(svg: ET.Element, kind: str) -> dict[str, ET.Element]:
    """The SVG groups of class `kind` ("node" or "edge"), keyed by their title."""
    groups = {}
    for i, g in enumerate(svg.iter(f"{SVG_NS}g")):
        if g.get("class") == kind:
            title = g.find(f"{SVG_NS}title").text
            groups[title if kind == "node" else f"{title}#{i}"] = g
    return groups


def texts(group: ET.Element) -> list[str]:
    return [t.text or "" for t in group.iter(f"{SVG_NS}text")]


def expected_counts(root: Value) -> tuple[int, int, int]:
    """(Value nodes, op nodes, edges) from the engine's own topological order."""
    order = autograd.topological_order(root)
    ops = [v for v in order if not v.is_leaf]
    return len(order), len(ops), sum(len(v.parents) for v in ops) + len(ops)


def chain(length: int) -> tuple[Value, list[Value]]:
    """A chain of `length` Values, x0 -> neg -> x1 -> ..., each labelled by its position."""
    nodes = [Value(0.5, "x0")]
    for i in range(1, length):
        nxt = -nodes[-1]
        nxt.label = f"x{i}"
        nodes.append(nxt)
    return nodes[-1], nodes


def random_graph(seed: int) -> Value:
    """A random graph with reused nodes, constants and n-ary ops; every Value uniquely labelled."""
    rng = random.Random(seed)
    pool = [Value(rng.uniform(0.5, 2.0), f"in{i}") for i in range(3)]
    for i in range(12):
        kind = rng.choice(["add", "mul", "tanh", "square", "sum", "dot", "const", "self"])
        a, b = rng.choice(pool), rng.choice(pool)
        if kind == "add":
            v = a + b
        elif kind == "mul":
            v = a * b
        elif kind == "tanh":
            v = a.tanh()
        elif kind == "square":
            v = a**2.0
        elif kind == "sum":
            v = autograd.sum(rng.sample(pool, min(3, len(pool))) + [1.0])
        elif kind == "dot":
            v = autograd.dot([a, b], [b, 2.0])
        elif kind == "const":
            v = 3.0 * a
        else:
            v = a * a
        v.label = f"v{i}"
        pool.append(v)
    root = autograd.sum(pool[-4:])
    for i, v in enumerate(autograd.topological_order(root)):
        if not v.label:
            v.label = f"c{i}"
    return root


# ---------------------------------------------------------------------------------------------
# Structure: one record per Value, one node per op, an edge per use of an input
# ---------------------------------------------------------------------------------------------


def test_x_times_x_plus_y_has_two_edges_from_x():
    x, y = Value(3.0, "x"), Value(-2.0, "y")
    out = x * x + y
    nodes, edges = parse_dot(viz.to_dot(out, legend=False))
    values = [k for k in nodes if k.startswith("n")]
    ops = [k for k in nodes if k.startswith("op")]
    assert (len(nodes), len(values), len(ops)) == (6, 4, 2)  # x, y, x*x, out; mul, add
    assert len(edges) == 6  # x->mul twice, mul->x*x, x*x->add, y->add, add->out
    x_id = node_for_label(nodes, "x")
    mul_id = next(k for k in ops if nodes[k]["label"] == "*")
    assert Counter((a, b) for a, b, _ in edges)[(x_id, mul_id)] == 2


@pytest.mark.parametrize("seed", range(6))
def test_counts_match_the_engine_graph(seed):
    root = random_graph(seed)
    nodes, edges = parse_dot(viz.to_dot(root, legend=False))
    n_values, n_ops, n_edges = expected_counts(root)
    assert sum(k.startswith("n") for k in nodes) == n_values
    assert sum(k.startswith("op") for k in nodes) == n_ops
    assert len(edges) == n_edges
    # Each op's incoming edges are exactly its Value's parents, with multiplicity.
    label_of = {k: record_fields(a["label"])[0] for k, a in nodes.items() if k.startswith("n")}
    by_label = {v.label: v for v in autograd.topological_order(root)}
    for k in label_of:
        v = by_label[label_of[k]]
        incoming = Counter(label_of[a] for a, b, _ in edges if b == f"op{k[1:]}")
        assert incoming == Counter(p.label for p in v.parents)
        assert ((f"op{k[1:]}", k) in [(a, b) for a, b, _ in edges]) == (not v.is_leaf)


def test_dot_program_sees_the_same_nodes_and_edges():
    root = random_graph(42)
    svg = render_svg(viz.to_dot(root, legend=False))
    n_values, n_ops, n_edges = expected_counts(root)
    assert len(svg_groups(svg, "node")) == n_values + n_ops
    assert len(svg_groups(svg, "edge")) == n_edges


def test_leaf_root_is_one_node_without_edges():
    nodes, edges = parse_dot(viz.to_dot(Value(2.0, "a"), legend=False))
    assert list(nodes) == ["n0"] and edges == []
    assert nodes["n0"]["label"] == "{ a | data 2 | grad 0 }"


def test_to_dot_is_the_source_of_draw_dot():
    graphviz = pytest.importorskip("graphviz")
    root = random_graph(1)
    graph = viz.draw_dot(root, color_by="grad", rankdir="TB")
    assert isinstance(graph, graphviz.Digraph)
    assert viz.to_dot(root, color_by="grad", rankdir="TB") == graph.source


# ---------------------------------------------------------------------------------------------
# What a node says
# ---------------------------------------------------------------------------------------------


def test_record_shows_label_data_and_grad():
    x = Value(1.5, "x")
    y = x * 4.0  # dy/dx = 4
    y.backward()
    nodes, _ = parse_dot(viz.to_dot(y, legend=False))
    assert nodes[node_for_label(nodes, "x")]["label"] == "{ x | data 1.5 | grad 4 }"
    assert nodes["n0"]["label"] == "{ data 6 | grad 1 }"  # unlabelled output: 1.5 * 4


def test_show_data_and_show_grad_switch_fields_off():
    y = Value(1.5, "x") * 2.0
    nodes, _ = parse_dot(viz.to_dot(y, show_data=False, legend=False))
    assert nodes[node_for_label(nodes, "x")]["label"] == "{ x | grad 0 }"
    nodes, _ = parse_dot(viz.to_dot(y, show_grad=False, show_data=False, legend=False))
    assert nodes["n0"]["label"] == "{   }"


def test_top_to_bottom_records_need_no_braces():
    source = viz.to_dot(Value(1.0, "a") + 1.0, rankdir="TB", legend=False)
    assert 'graph [rankdir="TB"' in source
    nodes, _ = parse_dot(source)
    assert nodes["n0"]["label"] == "data 2 | grad 0"
    assert sorted(a["label"] for k, a in nodes.items() if k != "n0" and k.startswith("n")) == [
        "a | data 1 | grad 0",
        "data 1 | grad 0",
    ]


def test_create_graph_gradients_are_drawn_as_numbers():
    x = Value(3.0, "x")
    (x * x).backward(create_graph=True)  # d(x²)/dx = 2x = 6, itself a Value
    assert isinstance(x.grad, Value)
    nodes, _ = parse_dot(viz.to_dot(x, legend=False))
    assert nodes["n0"]["label"] == "{ x | data 3 | grad 6 }"


def test_op_nodes_show_symbols_and_parameters():
    x = Value(2.0, "x")
    cases = {
        x + 1.0: "+",
        x - 1.0: "-",
        x * 2.0: "*",
        x / 2.0: "/",
        x**x: "**",
        -x: "-x",
        x**2.0: "**2",
        x**0.5: "**0.5",
        2.0**x: "2**",
        x.leaky_relu(0.2): "leaky_relu(slope=0.2)",
        x.tanh(): "tanh",
        autograd.dot([x], [x]): "dot",
    }
    for out, text in cases.items():
        nodes, _ = parse_dot(viz.to_dot(out, legend=False))
        assert nodes["op0"]["label"] == text
        assert nodes["op0"]["tooltip"] == out._prim.display


def test_user_primitive_named_like_a_builtin_keeps_its_name():
    add = autograd.primitive("add", lambda x: x + 1.0, lambda x, out: (1.0,))
    nodes, _ = parse_dot(viz.to_dot(add(Value(1.0)), legend=False))
    assert nodes["op0"]["label"] == "add"


def test_edges_of_order_sensitive_ops_are_numbered():
    a, b = Value(5.0, "a"), Value(2.0, "b")
    nodes, edges = parse_dot(viz.to_dot(a - b, legend=False))
    labels = {a_: e.get("label") for a_, b_, e in edges if b_ == "op0"}
    assert labels == {node_for_label(nodes, "a"): "0", node_for_label(nodes, "b"): "1"}
    nodes, edges = parse_dot(viz.to_dot(a * b, legend=False))
    assert all("label" not in e for _, _, e in edges)  # mul is commutative
    nodes, edges = parse_dot(viz.to_dot(autograd.dot([a, b], [b, 3.0]), legend=False))
    assert sorted(e["label"] for _, b_, e in edges if b_ == "op0") == ["w0", "w1", "x0", "x1"]
    nodes, edges = parse_dot(viz.to_dot(autograd.dot([a, b], [b, 3.0], Value(1.0, "c")), legend=False))
    labels = {a_: e["label"] for a_, b_, e in edges if b_ == "op0" and e["label"] == "b"}
    assert list(labels) == [node_for_label(nodes, "c")]  # the bias edge


# ---------------------------------------------------------------------------------------------
# Layouts that fit
# ---------------------------------------------------------------------------------------------


def network_3_2_1() -> tuple[Value, list[Value]]:
    """The 3-2-1 sigmoid network of notebook 02 on one point: its squared error, and its 8 weights."""
    x, w1 = [1.0, 0.5, -1.0], [[Value(0.1 * (i - j), f"w{i}{j}") for j in range(2)] for i in range(3)]
    w2 = [Value(0.7, "v0"), Value(-0.2, "v1")]
    hidden = [autograd.sum(w1[i][j] * x[i] for i in range(3)).sigmoid() for j in range(2)]
    out = autograd.sum(w2[j] * hidden[j] for j in range(2)).sigmoid()
    loss = 0.5 * (1.0 - out) ** 2
    loss.backward()
    return loss, [w for row in w1 for w in row] + w2


def sigmoid_stack(depth: int) -> Value:
    a = Value(0.5, "x")
    for k in range(depth):
        a = (Value(1.0, f"w{k}") * a).sigmoid()
    a.backward()
    return a


def layout_of(source: str) -> tuple[str, bool]:
    """(rankdir, whether the Value records stack their fields) of DOT text written by viz."""
    rankdir = re.search(r'rankdir="(\w+)"', source)[1]
    nodes, _ = parse_dot(source)
    braces = nodes["n0"]["label"].startswith("{ ")
    return rankdir, braces == (rankdir == "TB")


def natural_size(source: str) -> tuple[float, float]:
    """(width, height) in points of the drawing `dot` makes of `source` without a size limit."""
    svg = render_svg(re.sub(r', size="[^"]*"', "", source))
    return float(svg.get("width").removesuffix("pt")), float(svg.get("height").removesuffix("pt"))


def test_small_graphs_keep_the_left_to_right_picture():
    x, y = Value(3.0, "x"), Value(-2.0, "y")
    assert layout_of(viz.to_dot(x * x + y)) == ("LR", False)


def test_long_chains_are_drawn_top_to_bottom():
    assert layout_of(viz.to_dot(sigmoid_stack(6))) == ("TB", False)
    root, _ = chain(40)
    assert layout_of(viz.to_dot(root)) == ("TB", False)


def test_wide_deep_graphs_stack_the_fields_of_each_record():
    loss, weights = network_3_2_1()
    assert layout_of(viz.to_dot(loss, params=weights)) == ("TB", True)


def test_an_explicit_rankdir_is_kept():
    root, _ = chain(40)
    for rankdir in viz.RANKDIRS:
        assert layout_of(viz.to_dot(root, rankdir=rankdir))[0] == rankdir


def test_the_size_limit_is_on_by_default_and_can_be_changed_or_dropped():
    out = Value(1.0, "a") * 2.0
    assert 'size="12.5,12.5"' in viz.to_dot(out)
    assert 'size="4,3.5"' in viz.to_dot(out, size=(4, 3.5))
    assert ' size="' not in viz.to_dot(out, size=None)


@pytest.mark.parametrize("name", ["3-2-1 network", "6-sigmoid stack", "40-chain", "x*x+y"])
def test_the_estimate_of_each_layout_is_close_to_graphviz(name):
    root = {
        "3-2-1 network": lambda: network_3_2_1()[0],
        "6-sigmoid stack": lambda: sigmoid_stack(6),
        "40-chain": lambda: chain(40)[0],
        "x*x+y": small_graph,
    }[name]()
    kept = viz.nodes_by_distance(root)
    fields = {v: ([v.label] if v.label else []) + [f"data {v.data:.4g}", f"grad {v.grad:.4g}"] for v in kept}
    for rankdir in ("LR", "TB"):
        source = viz.to_dot(root, rankdir=rankdir, legend=False, size=None)
        # The length of the flow is what decides between the layouts; estimate it within 15%.
        estimate = viz.layout_extent(kept, fields, rankdir, False)
        real = natural_size(source)
        along = 0 if rankdir == "LR" else 1
        assert 0.85 < real[along] / estimate[along] < 1.15, (rankdir, real, estimate)


@pytest.mark.parametrize("name", ["3-2-1 network", "6-sigmoid stack"])
def test_notebook_graphs_fit_the_page_and_stay_readable(name):
    root = network_3_2_1()[0] if name == "3-2-1 network" else sigmoid_stack(6)
    source = viz.to_dot(root, color_by="grad" if "stack" in name else None)
    svg = render_svg(source)
    width, height = (float(svg.get(k).removesuffix("pt")) for k in ("width", "height"))
    limit = 72 * viz.DEFAULT_SIZE[0]
    assert width <= limit + 1 and height <= limit + 1
    # Shrunk by Graphviz to fit, the 11 pt text must stay at least 7 pt (9 px on a 96 dpi screen).
    (transform,) = [g.get("transform") for g in svg.iter(f"{SVG_NS}g") if g.get("class") == "graph"]
    scale = float(re.search(r"scale\(([\d.]+)", transform)[1])
    assert 11 * scale >= 7, (scale, width, height)
    # Nothing is cut off: every shape, scaled and moved as the SVG says, lies inside the picture.
    tx, ty = (float(v) for v in re.search(r"translate\(([-\d.]+) ([-\d.]+)\)", transform).groups())
    shapes = [shape for group in svg_groups(svg, "node").values() for shape in group.iter(f"{SVG_NS}polygon")]
    assert shapes
    for shape in shapes:
        for point in shape.get("points").split():
            x, y = (float(v) for v in point.split(","))
            assert -0.5 <= (x + tx) * scale <= width + 0.5 and -0.5 <= (y + ty) * scale <= height + 0.5


# ---------------------------------------------------------------------------------------------
# Roles, colours and the legend
# ---------------------------------------------------------------------------------------------


class Model:
    """Anything with .parameters() counts as a model (viz never imports nn)."""

    def __init__(self, *params: Value) -> None:
        self.params = list(params)

    def parameters(self) -> list[Value]:
        return self.params


class NamedModel(Model):
    """A model that names its parameters, as nn.Module.named_parameters() does."""

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [(f"layers.0.weight[0][{i}]", p) for i, p in enumerate(self.params)]


@pytest.mark.parametrize("as_model", [False, True])
def test_roles_get_their_colours_and_a_legend(as_model):
    w, x = Value(0.5, "w"), Value(2.0, "x")
    hidden = w * x
    hidden.label = "h"
    out = hidden + 1.0  # 1.0 becomes an unlabelled constant leaf
    params = Model(w) if as_model else [w]
    source = viz.to_dot(out, params=params)
    nodes, _ = parse_dot(source)
    colour = {k: a.get("fillcolor") for k, a in nodes.items()}
    assert colour[node_for_label(nodes, "w")] == viz.ROLE_COLORS["parameter"]
    assert colour[node_for_label(nodes, "x")] == viz.ROLE_COLORS["leaf"]
    assert colour[node_for_label(nodes, "h")] == viz.ROLE_COLORS["intermediate"]
    assert colour["n0"] == viz.ROLE_COLORS["output"]
    constant = [k for k, a in graph_nodes(nodes).items() if record_fields(a["label"]) == ["data 1", "grad 0"]]
    assert [colour[k] for k in constant] == [viz.ROLE_COLORS["leaf"]]
    assert len(set(viz.ROLE_COLORS.values())) == 4  # four roles, four colours
    assert legend_cells(source) == [(viz.ROLE_NAMES[r], fill, 1) for r, fill in viz.ROLE_COLORS.items()]
    assert '{ rank="same"; n0; legend }' in source  # the legend sits beside the output


def test_legend_lists_only_roles_present():
    cells = legend_cells(viz.to_dot(Value(1.0) * 2.0))
    assert [text for text, _, _ in cells] == [viz.ROLE_NAMES["leaf"], viz.ROLE_NAMES["output"]]


def test_legend_is_a_column_beside_a_left_to_right_graph_and_a_row_under_a_top_to_bottom_one():
    for rankdir, rows in [("LR", 2), ("TB", 1)]:
        source = viz.to_dot(Value(1.0) * 2.0, rankdir=rankdir)
        (line,) = [ln for ln in source.splitlines() if "legend [" in ln]
        assert line.count("<tr>") == rows


def test_output_role_wins_over_parameter():
    w = Value(1.0, "w")
    nodes, _ = parse_dot(viz.to_dot(w, params=[w], legend=False))
    assert nodes["n0"]["fillcolor"] == viz.ROLE_COLORS["output"]


def test_bad_params_are_rejected():
    with pytest.raises(TypeError, match=r"to_dot params: item 1 is a float"):
        viz.to_dot(Value(1.0), params=[Value(2.0), 3.0])
    with pytest.raises(TypeError, match="to_dot params"):
        viz.to_dot(Value(1.0), params=7)
    with pytest.raises(TypeError, match=r"to_dot params: 'w' is a str"):
        viz.to_dot(Value(1.0), params={"w": "0.5"})


def test_parameters_are_named_from_named_parameters():
    w0, w1, x = Value(0.5), Value(-1.0), Value(2.0, "x")
    out = w0 * x + w1
    for params in (NamedModel(w0, w1), {"layers.0.weight[0][0]": w0, "layers.0.weight[0][1]": w1}):
        nodes, _ = parse_dot(viz.to_dot(out, params=params, legend=False))
        for i, w in enumerate((w0, w1)):
            node = nodes[node_for_label(nodes, f"layers.0.weight[0][{i}]")]
            assert record_fields(node["label"])[1:] == [f"data {w.data:g}", "grad 0"]
            assert node["fillcolor"] == viz.ROLE_COLORS["parameter"]
    labelled = Value(3.0, "mine")
    nodes, _ = parse_dot(viz.to_dot(labelled * 2.0, params={"layers.1.bias[0]": labelled}, legend=False))
    assert node_for_label(nodes, "mine")  # a Value's own label wins over its name


def test_a_real_model_names_its_parameters():
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [2, 1], seed=0)
    out = model([0.5, -1.0])
    nodes, _ = parse_dot(viz.to_dot(out, params=model, legend=False))
    names = {record_fields(a["label"])[0] for k, a in graph_nodes(nodes).items() if k.startswith("n")}
    assert {name for name, _ in model.named_parameters()} <= names


def test_grad_colours_follow_log_magnitude_between_the_ends():
    lo, hi = 1e-4, 1e2
    assert viz.grad_color(lo, lo, hi) == "#{:02x}{:02x}{:02x}".format(*viz.GRAD_STOPS[0])
    assert viz.grad_color(hi, lo, hi) == "#{:02x}{:02x}{:02x}".format(*viz.GRAD_STOPS[-1])
    assert viz.grad_color(1e-1, lo, hi) == "#{:02x}{:02x}{:02x}".format(*viz.GRAD_STOPS[1])  # log midpoint
    assert viz.grad_color(1e-30, lo, hi) == viz.grad_color(lo, lo, hi)  # clipped outside the range
    assert viz.grad_color(-3.0, lo, hi) == viz.grad_color(3.0, lo, hi)  # |grad|
    assert viz.grad_color(0.0, lo, hi) == viz.ZERO_GRAD_COLOR
    assert viz.grad_color(math.nan, lo, hi) == viz.grad_color(-math.inf, lo, hi) == viz.NONFINITE_GRAD_COLOR
    assert viz.grad_color(5.0, 5.0, 5.0) == viz.grad_color(hi, lo, hi)  # one magnitude: the full colour

    def darkness(g: float) -> int:
        c = viz.grad_color(g, lo, hi)
        return -sum(int(c[i : i + 2], 16) for i in (1, 3, 5))

    shades = [darkness(10.0**e) for e in range(-4, 3)]
    assert shades == sorted(shades) and len(set(shades)) == len(shades)  # darker as |grad| grows
    for bad in [(0.0, 1.0), (2.0, 1.0), (1.0, math.inf), (math.nan, 1.0)]:
        with pytest.raises(ValueError, match="grad_color: need 0 < lo <= hi < inf"):
            viz.grad_color(1.0, *bad)


def test_color_by_grad_uses_the_graphs_own_range():
    a, b = Value(1.0, "a"), Value(1.0, "b")
    out = a * 0.5 + b * 0.125  # grads 0.5 and 0.125, and 1 at the output: an ordinary graph
    out.backward()
    source = viz.to_dot(out, color_by="grad", params=[a])
    nodes, _ = parse_dot(source)
    palest, darkest = ("#{:02x}{:02x}{:02x}".format(*viz.GRAD_STOPS[i]) for i in (0, -1))
    assert nodes[node_for_label(nodes, "b")]["fillcolor"] == palest  # this graph's smallest |grad|
    assert nodes["n0"]["fillcolor"] == darkest  # and its largest
    assert nodes[node_for_label(nodes, "a")]["fillcolor"] == viz.grad_color(0.5, 0.125, 1.0)
    assert len({a_["fillcolor"] for k, a_ in graph_nodes(nodes).items() if k.startswith("n")}) >= 3
    assert nodes[node_for_label(nodes, "a")]["penwidth"] == "2.5"  # parameter: bold border
    assert nodes["n0"]["peripheries"] == "2"  # output: double border
    cells = legend_cells(source)
    assert cells[0] == ("|grad|", None, 0)
    swatches = cells[1 : 1 + viz.GRAD_LEGEND_SWATCHES]
    marks = [0.125 * 8 ** (k / 4) for k in range(5)]  # geometric steps from the smallest to the largest
    assert [t for t, _, _ in swatches] == [f"{m:.3g}" for m in marks]
    assert [fill for _, fill, _ in swatches] == [viz.grad_color(m, 0.125, 1.0) for m in marks]
    # Special cases appear only when the graph has them; there are none here.
    assert [t for t, _, _ in cells[1 + viz.GRAD_LEGEND_SWATCHES :]] == [
        "parameter (thick border)",
        "output (double border)",
    ]


def test_color_by_grad_marks_zero_and_nonfinite_gradients():
    small, big, unused = Value(1.0, "small"), Value(1.0, "big"), Value(1.0, "unused")
    out = small * 1e-7 + big * 1e7 + unused * 0.0
    out.backward()
    source = viz.to_dot(out, color_by="grad")
    nodes, _ = parse_dot(source)
    assert nodes[node_for_label(nodes, "small")]["fillcolor"] == viz.grad_color(1e-7, 1e-7, 1e7)
    assert nodes[node_for_label(nodes, "big")]["fillcolor"] == viz.grad_color(1e7, 1e-7, 1e7)
    assert nodes[node_for_label(nodes, "unused")]["fillcolor"] == viz.ZERO_GRAD_COLOR
    texts_ = [t for t, _, _ in legend_cells(source)]
    assert texts_[1] == "1e-07" and texts_[viz.GRAD_LEGEND_SWATCHES] == "1e+07"
    assert "grad 0" in texts_ and "nan / inf" not in texts_
    big.grad = math.inf  # as a blown-up backward pass leaves it: out of the scale, black
    source = viz.to_dot(out, color_by="grad")
    nodes, _ = parse_dot(source)
    assert nodes[node_for_label(nodes, "big")]["fillcolor"] == viz.NONFINITE_GRAD_COLOR
    assert nodes[node_for_label(nodes, "small")]["fillcolor"] == viz.grad_color(1e-7, 1e-7, 1.0)
    assert "nan / inf" in [t for t, _, _ in legend_cells(source)]


def test_color_by_grad_before_backward_is_all_grey():
    out = Value(2.0, "a") * 3.0
    source = viz.to_dot(out, color_by="grad")
    nodes, _ = parse_dot(source)
    fills = {a["fillcolor"] for k, a in graph_nodes(nodes).items() if k.startswith("n")}
    assert fills == {viz.ZERO_GRAD_COLOR}
    assert [t for t, _, _ in legend_cells(source)] == ["grad 0", "output (double border)"]


# ---------------------------------------------------------------------------------------------
# Escaping
# ---------------------------------------------------------------------------------------------

SPECIAL_LABELS = ["{", "}", "|", "<", ">", '"', "\\", "a{b}c", "<port>", "x|y", 'say "hi"', "end\\",
                  "\\n", "\\l", "{|<>\"\\}", "\\\\", "Δx²"]  # fmt: skip


@pytest.mark.parametrize("label", SPECIAL_LABELS)
def test_special_characters_draw_literally(label):
    out = Value(2.0, label) * 3.0
    svg = render_svg(viz.to_dot(out, legend=False))
    fields = [texts(g) for g in svg_groups(svg, "node").values()]
    assert [label, "data 2", "grad 0"] in fields  # three fields: nothing split, nothing lost


def test_every_special_character_is_escaped_in_the_source():
    text = viz.escape_record('{}|<>"\\')
    assert text == '\\{\\}\\|\\<\\>\\"\\\\'
    assert viz.escape_plain('a"b\\c') == 'a\\"b\\\\c'
    assert viz.escape_record("two\nlines\ttab") == "two\\nlines tab"


def test_special_characters_in_op_names_draw_literally():
    weird = autograd.primitive('we"ird{|}\\op', lambda x: 2.0 * x, lambda x, out: (2.0,))
    svg = render_svg(viz.to_dot(weird(Value(1.0, "x")), legend=False))
    op = svg_groups(svg, "node")["op0"]
    assert texts(op) == ['we"ird{|}\\op']


def test_newline_in_a_label_becomes_two_lines():
    svg = render_svg(viz.to_dot(Value(1.0, "two\nlines") + 1.0, legend=False))
    assert ["two", "lines", "data 1", "grad 0"] in [texts(g) for g in svg_groups(svg, "node").values()]


# ---------------------------------------------------------------------------------------------
# Large graphs
# ---------------------------------------------------------------------------------------------


def test_over_max_nodes_keeps_the_nearest_and_summarizes_the_rest():
    root, values = chain(30)
    nodes, edges = parse_dot(viz.to_dot(root, max_nodes=10, legend=False))
    kept = {record_fields(a["label"])[0] for k, a in nodes.items() if re.fullmatch(r"n\d+", k)}
    assert kept == {f"x{i}" for i in range(20, 30)}  # the 10 nearest the output
    assert "20 more nodes not drawn" in nodes["omitted"]["label"]
    assert "max_nodes=10" in nodes["omitted"]["label"]
    # The summary feeds the one op whose input was cut off; every kept op keeps its own edges.
    assert [(a, b) for a, b, _ in edges if a == "omitted"] == [("omitted", f"op{9}")]
    assert len(edges) == 10 + 9 + 1  # op->value for x29..x20, value->op for 9 kept inputs, summary


def test_max_nodes_prefers_distance_over_size():
    deep, _ = chain(50)
    shallow = Value(1.0, "shallow")
    root = deep + shallow
    root.label = "root"
    nodes, _ = parse_dot(viz.to_dot(root, max_nodes=3, legend=False))
    kept = {record_fields(a["label"])[0] for k, a in nodes.items() if re.fullmatch(r"n\d+", k)}
    assert kept == {"root", "x49", "shallow"}  # all at distance <= 1
    assert "49 more nodes not drawn\\n(1 leaves)" in nodes["omitted"]["label"]


def test_summary_counts_omitted_parameters():
    ws = [Value(0.1, f"w{i}") for i in range(5)]
    root = autograd.sum([w.tanh() for w in ws])
    nodes, _ = parse_dot(viz.to_dot(root, max_nodes=6, params=ws, legend=False))
    assert "5 more nodes not drawn\\n(5 leaves, 5 parameters)" in nodes["omitted"]["label"]


def test_shared_nodes_are_counted_once():
    x = Value(1.0, "x")
    y = x
    for _ in range(60):  # y = x ** (2 ** 60) by repeated squaring: 2^60 paths, 61 Values
        y = y * y
    assert len(viz.nodes_by_distance(y)) == 61
    nodes, edges = parse_dot(viz.to_dot(y, max_nodes=5, legend=False))
    assert "56 more nodes not drawn\\n(1 leaves)" in nodes["omitted"]["label"]
    assert len(edges) == 5 + 2 * 4 + 1  # op->value each, two uses of each kept input, summary


def test_no_summary_when_the_graph_fits():
    root, _ = chain(10)
    nodes, _ = parse_dot(viz.to_dot(root, max_nodes=10, legend=False))
    assert "omitted" not in nodes and len(graph_nodes(nodes)) == 10 + 9


def test_truncated_drawing_renders():
    root, _ = chain(200)
    svg = render_svg(viz.to_dot(root, max_nodes=20))
    assert "omitted" in svg_groups(svg, "node")


def test_a_100000_node_chain_is_walked_without_recursion():
    root, _ = chain(100_000)
    assert len(viz.nodes_by_distance(root)) == 100_000
    nodes, _ = parse_dot(viz.to_dot(root))  # default max_nodes=500
    assert len([k for k in nodes if re.fullmatch(r"n\d+", k)]) == 500
    assert "99,500 more nodes not drawn" in nodes["omitted"]["label"]
    assert viz.repr_svg(root) is None  # too big for Jupyter: the text repr


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10", None])
def test_bad_max_nodes_is_rejected(bad):
    with pytest.raises(ValueError, match=r"to_dot: max_nodes must be a positive int, got"):
        viz.to_dot(Value(1.0), max_nodes=bad)


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match=r"rankdir must be 'auto' or one of LR, RL, TB, BT, got 'up'"):
        viz.to_dot(Value(1.0), rankdir="up")
    with pytest.raises(ValueError, match=r"color_by must be None, 'role' or 'grad', got 'heat'"):
        viz.to_dot(Value(1.0), color_by="heat")
    with pytest.raises(TypeError, match=r"viz: expected a Value to draw, got float 1.0"):
        viz.to_dot(1.0)
    pytest.importorskip("graphviz")
    with pytest.raises(ValueError, match=r"draw_dot: rankdir must be 'auto' or one of"):
        viz.draw_dot(Value(1.0), rankdir="lr")


@pytest.mark.parametrize("bad", [(0, 5), (5,), (5, -1), (5, math.inf), ("5", 5), (True, 5), "12,12", 12])
def test_bad_sizes_are_rejected(bad):
    with pytest.raises(ValueError, match=r"to_dot: size must be None or \(width, height\) in inches"):
        viz.to_dot(Value(1.0), size=bad)


# ---------------------------------------------------------------------------------------------
# Rendering with the real Graphviz program
# ---------------------------------------------------------------------------------------------


def small_graph() -> Value:
    x, y = Value(3.0, "x"), Value(-2.0, "y")
    out = (x * x + y).tanh()
    out.backward()
    return out


def test_draw_dot_renders_svg(tmp_path):
    pytest.importorskip("graphviz")
    require_dot()
    out = small_graph()
    path = viz.draw_dot(out).render(filename="g", directory=tmp_path, format="svg")
    svg = ET.parse(path).getroot()
    n_values, n_ops, n_edges = expected_counts(out)
    nodes = svg_groups(svg, "node")
    assert len([t for t in nodes if re.fullmatch(r"(n|op)\d+", t)]) == n_values + n_ops
    # tanh(x² + y) at x=3, y=-2 is tanh 7; its gradient 1 - tanh² 7 reaches x as 2·3 times that.
    assert texts(nodes["n0"])[0] == f"data {math.tanh(7.0):.4g}"
    x_fields = [texts(g) for g in nodes.values() if texts(g)[:1] == ["x"]]
    assert x_fields == [["x", "data 3", f"grad {6 * (1 - math.tanh(7.0) ** 2):.4g}"]]
    assert len([t for t in svg_groups(svg, "edge") if "legend" not in t]) == n_edges


@pytest.mark.parametrize(("ext", "magic"), [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_save_picks_the_format_from_the_extension(tmp_path, ext, magic):
    pytest.importorskip("graphviz")
    require_dot()
    path = tmp_path / f"graph.{ext.upper() if ext == 'pdf' else ext}"
    assert viz.save(small_graph(), path, color_by="grad") == path
    assert path.read_bytes().startswith(magic)
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_save_dot_source_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")
    out = small_graph()
    path = viz.save(out, str(tmp_path / "graph.dot"))
    assert path.read_text() == viz.to_dot(out)


def test_save_rejects_an_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match=r"viz.save: cannot tell the format of '.*graph.jpg'"):
        viz.save(small_graph(), tmp_path / "graph.jpg")
    assert os.listdir(tmp_path) == []


def test_repr_svg_draws_small_graphs(monkeypatch):
    pytest.importorskip("graphviz")
    require_dot()
    out = small_graph()
    svg = out._repr_svg_()
    assert svg is not None and "<svg" in svg
    assert len(svg_groups(ET.fromstring(svg), "node")) > 0
    n_values = len(autograd.topological_order(out))
    monkeypatch.setattr(viz, "REPR_SVG_MAX_NODES", n_values)
    assert out._repr_svg_() is not None  # at the limit: drawn
    monkeypatch.setattr(viz, "REPR_SVG_MAX_NODES", n_values - 1)
    assert out._repr_svg_() is None  # one over: the text repr


# ---------------------------------------------------------------------------------------------
# Without Graphviz
# ---------------------------------------------------------------------------------------------


INSTALL_HINTS = [
    "apt-get install graphviz",  # Debian/Ubuntu
    "brew install graphviz",  # macOS
    "conda install -c conda-forge graphviz",
    "winget install graphviz",  # Windows
    "choco install graphviz",
]


def test_missing_dot_program_explains_how_to_install(tmp_path, monkeypatch):
    graphviz = pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", "")
    out = small_graph()
    graph = viz.draw_dot(out)  # building the graph needs no program
    assert viz.to_dot(out) == graph.source
    for render in (
        lambda: graph.pipe(format="svg"),
        lambda: graph.render(filename="g", directory=tmp_path, format="png"),
        lambda: viz.save(out, tmp_path / "graph.svg"),
    ):
        with pytest.raises(viz.GraphvizNotFoundError) as info:
            render()
        assert isinstance(info.value, graphviz.ExecutableNotFound)  # graphviz's handlers still work
        message = str(info.value)
        for hint in INSTALL_HINTS:
            assert hint in message
    assert not (tmp_path / "graph.svg").exists()
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []
    assert out._repr_svg_() is None  # Jupyter falls back to the text repr


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    pytest.importorskip("graphviz")
    path = tmp_path / "graph.svg"
    path.write_text("old picture")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(viz.GraphvizNotFoundError):
        viz.save(small_graph(), path)
    assert path.read_text() == "old picture"
    assert os.listdir(tmp_path) == ["graph.svg"]


def test_without_the_graphviz_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz now raises ImportError
    monkeypatch.setattr(viz, "_DIGRAPH_CLASS", None)
    out = small_graph()
    assert "digraph chaingrad {" in viz.to_dot(out)
    with pytest.raises(ImportError, match=r"pip install graphviz"):
        viz.draw_dot(out)


def test_without_the_graphviz_package_the_dot_program_still_renders(tmp_path, monkeypatch):
    require_dot()
    monkeypatch.setitem(sys.modules, "graphviz", None)
    monkeypatch.setattr(viz, "_DIGRAPH_CLASS", None)
    out = small_graph()
    path = viz.save(out, tmp_path / "graph.svg")
    svg = ET.fromstring(path.read_bytes())
    n_values, n_ops, _ = expected_counts(out)
    assert len([t for t in svg_groups(svg, "node") if re.fullmatch(r"(n|op)\d+", t)]) == n_values + n_ops
    assert "<svg" in out._repr_svg_()
    monkeypatch.setenv("PATH", "")  # and with neither: the install help, no file, the text repr
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz"):
        viz.save(out, tmp_path / "other.svg")
    assert not (tmp_path / "other.svg").exists()
    assert out._repr_svg_() is None


def test_engine_imports_without_graphviz():
    code = (
        "import sys\n"
        "import autograd, autograd.viz\n"
        "print('graphviz' in sys.modules)\n"  # importing the engine and viz loads no graphviz
        "sys.modules['graphviz'] = None\n"
        "print(autograd.viz.to_dot(autograd.Value(1.0) * 2.0, legend=False).count('->'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "3"]  # op->out and two inputs->op
