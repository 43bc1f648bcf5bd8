"""Tests of autograd/explorer.py: the recorded steps against the engine, the text table, the page."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

import pytest

import autograd as ag
import nn
from autograd import Value, engine, viz
from autograd.explorer import Explanation, explain, number, short

REPO_ROOT = Path(__file__).resolve().parent.parent

cube = ag.primitive("cube", forward=lambda x: x**3, partials=lambda x, out: (3 * x**2,))


def require_dot() -> None:
    """Skip without the `dot` program, except in CI, where the page must be tested."""
    if shutil.which("dot") is None and not os.environ.get("CI"):
        pytest.skip("the Graphviz program `dot` is not installed (CI always runs this test)")


# Each builder makes a fresh graph: (root, every leaf), so backward() starts from zero gradients.
def chain_reusing_x():
    x, w = Value(2.0, label="x"), Value(-0.5, label="w")
    z = x * w
    z.label = "z"
    return ag.tanh(z * x + 3.0), [x, w]


def square():
    x = Value(3.0, label="x")
    return x * x, [x]


def elementary():
    a, b = Value(0.7, label="a"), Value(1.9, label="b")
    return ag.log(ag.exp(a) + ag.sigmoid(b)) * ag.sin(a * b) - ag.softplus(-b), [a, b]


def division_and_powers():
    a, b = Value(1.5, label="a"), Value(-0.8, label="b")
    return a / b + a**2 + 2**b + a**b.__neg__(), [a, b]


def neuron_dot():
    ws = [Value(v, label=f"w{i}") for i, v in enumerate((0.3, -1.2, 0.8))]
    xs = [Value(v, label=f"x{i}") for i, v in enumerate((1.0, 0.5, -2.0))]
    b = Value(0.1, label="b")
    return ag.relu(ag.dot(ws, xs, b)) + ag.leaky_relu(ag.dot(ws, xs), slope=0.1), [*ws, *xs, b]


def shared_in_nary():
    x, y = Value(1.25, label="x"), Value(-3.0, label="y")
    return ag.sum([x, x, y, x * y]) * ag.dot([x, y], [x, 2.0]), [x, y]


def custom_primitive():
    x = Value(2.0, label="x")
    return cube(x) * x + cube(x * 0.5), [x]


def kinks():
    x, y = Value(1.0, label="x"), Value(1.0, label="y")
    return ag.maximum(x, y) + ag.minimum(x * 2.0, y) + ag.abs(x - 3.0), [x, y]


GRAPHS = {
    "chain reusing x": chain_reusing_x,
    "x * x": square,
    "exp log sigmoid sin softplus": elementary,
    "div and the three powers": division_and_powers,
    "dot with and without bias": neuron_dot,
    "a Value shared inside sum and dot": shared_in_nary,
    "a custom primitive": custom_primitive,
    "maximum minimum abs at their kinks": kinks,
}


def backward_grads(build):
    """Every node's .grad after backward() on a fresh copy of the graph, in the explorer's order."""
    root, _ = build()
    ex = explain(root)
    root.backward()
    return [n.value.grad for n in ex.nodes], ex


# ---------------------------------------------------------------------------------------------
# The numbers are the engine's
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_final_gradients_equal_backward(name):
    grads, ex = backward_grads(GRAPHS[name])
    assert [n.grad for n in ex.nodes] == grads  # exactly: the same rules, added in the same order


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_final_gradients_equal_gradients(name):
    root, leaves = GRAPHS[name]()
    ex = explain(root)
    values = [n.value for n in ex.nodes]
    assert [n.grad for n in ex.nodes] == list(ag.gradients(root, values))
    assert [ex.grad(v) for v in leaves] == list(ag.gradients(root, leaves))


def test_explain_touches_no_gradient():
    root, leaves = chain_reusing_x()
    explain(root)
    assert [v.grad for v in leaves] == [0.0, 0.0] and root.grad == 0.0


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_each_contribution_is_the_rule_times_the_upstream_gradient(name):
    root, _ = GRAPHS[name]()
    ex = explain(root)
    for step in ex.steps:
        if step.phase != "backward":
            continue
        node = ex.nodes[step.node]
        rule = engine.local_partials(node.value, False)
        assert node.partials == tuple(rule)
        assert step.upstream == node.grad  # complete when visited
        assert len(step.contributions) == len(rule)
        for c in step.contributions:
            assert c.source == node.index and c.upstream == step.upstream
            assert c.partial == rule[c.argument]
            assert c.amount == step.upstream * c.partial
            assert ex.nodes[c.target].value is node.value.parents[c.argument]


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_running_totals_add_up_to_each_final_gradient(name):
    root, _ = GRAPHS[name]()
    ex = explain(root)
    totals: dict[int, float] = {}
    for step in ex.steps:
        for c in step.contributions:
            assert c.before == totals.get(c.target)
            if step.phase == "seed":
                assert c.total == 1.0
            else:
                assert c.total == (c.amount if c.before is None else c.before + c.amount)
            totals[c.target] = c.total
    assert totals == {n.index: n.grad for n in ex.nodes if n.index in totals}
    assert all(n.grad == 0.0 for n in ex.nodes if n.index not in totals)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_steps_follow_topological_order_forward_then_reverse(name):
    root, _ = GRAPHS[name]()
    ex = explain(root)
    phases = [s.phase for s in ex.steps]
    n_ops = sum(1 for n in ex.nodes if n.op)
    assert phases == ["leaves"] + ["forward"] * n_ops + ["seed"] + ["backward"] * n_ops
    assert [s.index for s in ex.steps] == list(range(len(ex.steps)))
    known = set(ex.steps[0].revealed)
    assert known == {n.index for n in ex.nodes if not n.op}
    for step in ex.steps[1 : 1 + n_ops]:
        assert all(p in known for p in ex.nodes[step.node].parents)  # inputs computed first
        known.add(step.node)
    visited: set[int] = set()
    for step in ex.steps[2 + n_ops :]:
        users = [n for n in ex.nodes if step.node in n.parents]
        assert all(u.index in visited for u in users)  # every user passed its gradient on already
        visited.add(step.node)


# ---------------------------------------------------------------------------------------------
# Formulas and the text table
# ---------------------------------------------------------------------------------------------


def labelled(value: Value, label: str) -> Value:
    value.label = label
    return value


def test_the_chain_rule_line_reads_with_numbers():
    x, w1 = Value(2.0, label="x"), Value(3.0, label="w1")
    z = labelled(w1 * x, "z")
    L = labelled(-0.5 * z, "L")
    ex = explain(L)
    line = "∂L/∂w1 += ∂L/∂z · ∂z/∂w1 = -0.5 × 2.0 = -1.0  →  ∂L/∂w1 = -1.0"
    assert line in ex.visit(z).lines
    assert "z = w1 * x = 3.0 × 2.0 = 6.0" in [s.lines[0] for s in ex.steps if s.phase == "forward"]


def test_a_node_used_twice_accumulates_visibly():
    root, (x,) = square()
    step = explain(root).visit(root)
    first, second = step.contributions
    assert (first.before, first.total) == (None, 3.0)
    assert (second.before, second.total) == (3.0, 6.0)
    assert step.lines[1].endswith("= 1.0 × 3.0 = 3.0  →  ∂L/∂x = 3.0")
    assert step.lines[2].endswith("= 1.0 × 3.0 = 3.0  →  ∂L/∂x = 3.0 + 3.0 = 6.0")


def test_text_table_has_a_row_per_contribution():
    x, w1 = Value(2.0, label="x"), Value(3.0, label="w1")
    z = labelled(w1 * x, "z")
    L = labelled(-0.5 * z, "L")
    ex = explain(L)
    lines = str(ex).splitlines()
    assert lines[0].startswith("backprop explorer: L = -3.0")
    header = lines[1].split()
    for column in ("step", "node", "op", "value", "upstream", "local", "contribution"):
        assert column in header
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines[2:]]
    # One row per leaf, per forward step, and per contribution of the seed and each visit.
    n_leaves = len(ex.steps[0].revealed)
    n_forward = sum(1 for s in ex.steps if s.phase == "forward")
    n_backward = sum(len(s.contributions) for s in ex.steps if s.phase in ("seed", "backward"))
    assert len(rows) == n_leaves + n_forward + n_backward == 3 + 2 + (1 + 2 + 2)
    # The visit of z: upstream -0.5, then w1 gets -0.5 × 2.0 and x gets -0.5 × 3.0.
    visit = ex.visit(z).index
    at = next(i for i, r in enumerate(rows) if r[0] == str(visit))
    assert rows[at] == [str(visit), "backward", "z", "mul", "6.0", "-0.5", "w1", "2.0", "-1.0", "-1.0"]
    assert rows[at + 1] == ["x", "3.0", "-1.5", "-1.5"]


def test_print_gives_the_table(capsys):
    root, _ = square()
    ex = explain(root)
    print(ex)
    assert capsys.readouterr().out == str(ex) + "\n"
    assert repr(ex).startswith("<Explanation of L = 9.0")


def test_numbers_are_short_when_exact_and_rounded_when_long():
    assert [number(2.0), number(-0.5), number(1e-300), number(math.inf), number(math.nan)] == [
        "2.0", "-0.5", "1e-300", "inf", "nan"]
    assert number(None) == "none"  # a rule's "no gradient"
    assert number(0.46211715726000974) == "0.462117"
    assert short(0.46211715726000974) == viz._format(0.46211715726000974)


def test_dot_and_sum_formulas_spell_out_their_terms():
    ws = [Value(float(i), label=f"w{i}") for i in range(3)]
    xs = [Value(1.0, label=f"x{i}") for i in range(3)]
    d = labelled(ag.dot(ws, xs, Value(0.5, label="b")), "d")
    ex = explain(d)
    forward = ex.steps[1].lines[0]
    assert forward == "d = w0·x0 + w1·x1 + w2·x2 + b = 0.0×1.0 + 1.0×1.0 + 2.0×1.0 + 0.5 = 3.5"
    big = labelled(ag.sum([Value(1.0) for _ in range(10)]), "s")
    assert explain(big).steps[1].lines[0].endswith("+ … (6 more terms) = 10.0")
    local = [c.partial for c in ex.visit(d).contributions]
    assert local == [1.0, 1.0, 1.0, 0.0, 1.0, 2.0, 1.0]  # d/dw = x, d/dx = w, d/db = 1


def test_custom_primitive_reads_as_a_call():
    x = Value(2.0, label="x")
    y = labelled(cube(x), "y")
    ex = explain(y)
    assert ex.steps[1].lines[0] == "y = cube(x) = cube(2.0) = 8.0"
    assert ex.node(y).op == "cube" and ex.node(y).partials == (12.0,)
    assert ex.grad(x) == 12.0


def test_unlabeled_nodes_get_names_and_an_unlabeled_root_is_L():
    a = Value(1.0)
    root = a * 2.0 + a
    ex = explain(root)
    names = [n.name for n in ex.nodes]
    assert names[-1] == "L" and len(set(names)) == len(names)
    assert all(re.fullmatch(r"v\d+", n) for n in names[:-1])


# ---------------------------------------------------------------------------------------------
# Graphs of models, capped by max_nodes
# ---------------------------------------------------------------------------------------------


def mlp_loss():
    model = nn.MLP(2, [4, 4, 1], seed=3)
    X, y = nn.data.make_moons(6, noise=0.1, seed=1, signed=True)
    return model, nn.hinge_loss([model(x) for x in X], y)


def test_an_mlp_graph_is_capped_with_a_summary_of_what_was_left_out():
    model, loss = mlp_loss()
    ex = explain(loss, max_nodes=40, params=model)
    every = engine.topological_order(loss)
    assert len(ex.nodes) == 40 and len(ex.omitted) == len(every) - 40
    drawn = {n.value for n in ex.nodes}
    hidden_leaves = [v for v in every if v.is_leaf and v not in drawn]
    hidden_params = [p for p in model.parameters() if p not in drawn]
    text = ex.omitted_text()
    assert f"{len(every) - 40:,} more nodes not drawn" in text
    assert f"{len(hidden_leaves):,} leaves, {len(hidden_params):,} parameters" in text
    assert "max_nodes=40" in text
    assert str(ex).splitlines()[0].endswith(text)
    names = dict(model.named_parameters())
    for n in ex.nodes:
        if n.role == "parameter":
            assert names[n.name] is n.value  # named as named_parameters() names it


def test_a_capped_mlp_graph_still_has_the_engines_gradients():
    model, loss = mlp_loss()
    ex = explain(loss, max_nodes=40, params=model)
    loss.backward()  # fresh model and inputs: every .grad starts at zero
    assert [n.grad for n in ex.nodes] == [n.value.grad for n in ex.nodes]


def test_gradient_from_nodes_not_drawn_is_a_step_of_its_own():
    a, b = Value(0.3, label="a"), Value(2.0, label="b")
    c = a
    for _ in range(30):
        c = ag.tanh(c)  # a long chain that max_nodes cuts off, feeding back into a
    root = labelled(a * b + c, "L")
    ex = explain(root, max_nodes=6)
    hidden = [s for s in ex.steps if s.phase == "hidden"]
    assert len(hidden) == 1
    (c_hidden,) = hidden[0].contributions
    assert ex.nodes[c_hidden.target].value is a and c_hidden.count == 1
    assert "∂L/∂a += 1 contribution from nodes not drawn" in hidden[0].lines[1]
    row = next(line for line in str(ex).splitlines() if "(nodes not drawn)" in line)
    cells = re.split(r"\s{2,}", row.strip())
    assert cells[2:] == ["(nodes not drawn)", "a", "1 not drawn", number(ex.grad(a))]
    root.backward()
    assert ex.grad(a) == a.grad and [n.grad for n in ex.nodes] == [n.value.grad for n in ex.nodes]


# ---------------------------------------------------------------------------------------------
# Arguments and errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((3.0,), TypeError, "explain: expected a Value, got float 3.0"),
        (([Value(1.0)],), TypeError, "explain: expected a Value, got list"),
        ((Value(1.0), 0), ValueError, "max_nodes must be a positive int, got 0"),
        ((Value(1.0), True), ValueError, "max_nodes must be a positive int, got True"),
    ],
)
def test_bad_arguments_are_named(args, error, message):
    with pytest.raises(error, match=re.escape(message)):
        explain(*args)


def test_a_failing_rule_is_named_as_backward_names_it():
    reciprocal_rule = ag.primitive("ident", forward=lambda x: x, partials=lambda x, out: (1 / x,))
    x = Value(0.0, label="x")
    with pytest.raises(ZeroDivisionError) as ours:
        explain(reciprocal_rule(x) * 2.0)
    with pytest.raises(ZeroDivisionError) as engines:
        (reciprocal_rule(x) * 2.0).backward()
    assert str(ours.value) == str(engines.value)
    assert "while differentiating ident at inputs (0.0)" in str(ours.value)


def test_viz_explain_is_the_explorer():
    root, _ = square()
    ex = viz.explain(root, max_nodes=5)
    assert isinstance(ex, Explanation) and ex.max_nodes == 5


def test_lookups_name_what_is_missing():
    root, (x,) = square()
    ex = explain(root)
    with pytest.raises(KeyError, match="not among the 2 nodes shown"):
        ex.node(Value(1.0))
    with pytest.raises(KeyError, match="no backward step visits"):
        ex.visit(x)
    with pytest.raises(TypeError, match="expected a Value"):
        ex.grad(1.0)
    assert ex.grad(Value(1.0)) == 0.0  # not in the graph: no gradient reaches it


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------

URL_RE = re.compile(r"(?i)\b(?:https?|ftp|wss?)://")
ATTR_LINK_RE = re.compile(r"""(?i)\b(src|href|xlink:href|action|srcset)\s*=\s*["']?([^"'\s>]*)""")


def page_data(text: str) -> dict:
    m = re.search(r'<script type="application/json" data-role="data">(.*?)</script>', text, re.S)
    assert m, "the page holds its data"
    return json.loads(m[1])


def assert_self_contained(text: str) -> None:
    assert URL_RE.search(text) is None, URL_RE.search(text)
    for attr, target in ATTR_LINK_RE.findall(text):
        assert target.startswith("data:"), (attr, target)
    assert "require(" not in text and "requirejs" not in text
    assert re.search(r"<script[^>]*\bsrc", text) is None
    assert "@import" not in text and "url(" not in text


def test_saved_page_is_one_self_contained_file(tmp_path):
    require_dot()
    root, _ = neuron_dot()
    path = explain(root).save(tmp_path / "backprop.html")
    assert path == tmp_path / "backprop.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backprop.html"]  # no temporary left
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert_self_contained(text)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert "<svg" in text and "<style>" in text and "chaingradExplorer(" in text


def test_saved_page_shows_the_engines_numbers(tmp_path):
    require_dot()
    root, _ = chain_reusing_x()
    ex = explain(root)
    text = ex.save(tmp_path / "b.html").read_text(encoding="utf-8")
    data = page_data(text)
    root.backward()
    assert [float(n["grad"]) for n in data["nodes"]] == [n.value.grad for n in ex.nodes]
    assert [float(n["data"]) for n in data["nodes"]] == [n.value.data for n in ex.nodes]
    assert len(data["steps"]) == len(ex.steps)
    # The drawing holds one box per node with its data and final grad, and one op per operation.
    for n in ex.nodes:
        box = re.search(rf'<g class="node cg-value" data-node="{n.index}">(.*?)</g>', text, re.S)
        assert box, n.name
        assert f'class="cg-grad">grad {short(n.grad)}</text>' in box[1]
        assert f'class="cg-data">data {short(n.value.data)}</text>' in box[1]
        assert (f'<g class="node cg-op" data-node="{n.index}">' in text) == bool(n.op)


def test_the_drawing_is_never_cut_at_its_edges(tmp_path):
    require_dot()
    model, loss = mlp_loss()
    svg = explain(loss, max_nodes=60, params=model).svg()
    # Graphviz rounds the shrink factor it writes (scale(0.7 0.7) for 0.697), which cut the right
    # and bottom edges off: the page lets the viewBox shrink the drawing instead.
    graph = re.search(r'<g class="graph" transform="([^"]*)">\s*<polygon[^>]*points="([^"]*)"', svg)
    assert graph and "scale" not in graph[1]
    dx, dy = map(float, re.search(r"translate\(([-\d.]+) ([-\d.]+)\)", graph[1]).groups())
    xs, ys = zip(*(map(float, p.split(",")) for p in graph[2].split()), strict=True)
    box = list(map(float, re.search(r'viewBox="([^"]*)"', svg)[1].split()))
    assert box[:2] == [0.0, 0.0]
    assert box[2] >= max(xs) + dx - 0.01 and box[3] >= max(ys) + dy - 0.01


def test_each_box_of_a_capped_drawing_is_the_node_the_explorer_names():
    require_dot()
    model, loss = mlp_loss()
    ex = explain(loss, max_nodes=60, params=model)
    svg = ex.svg()
    for n in ex.nodes:
        box = re.search(rf'<g class="node cg-value" data-node="{n.index}">(.*?)</g>', svg, re.S)
        assert box, n.name
        assert f'class="cg-data">data {short(n.value.data)}</text>' in box[1]
        assert f">{n.name}</text>" in box[1]  # its label, parameter name or generated name
    assert svg.count('class="node cg-value"') == len(ex.nodes) == 60


def test_saving_into_a_missing_folder_names_it_and_writes_nothing(tmp_path):
    root, _ = square()
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nodir"))):
        explain(root).save(tmp_path / "nodir" / "b.html")
    assert list(tmp_path.iterdir()) == []


def test_jupyter_html_has_unique_ids_and_inline_script():
    require_dot()
    root, _ = square()
    ex = explain(root)
    first, second = ex._repr_html_(), ex._repr_html_()
    ids = [re.findall(r'\bid="([^"]+)"', h) for h in (first, second)]
    assert len(ids[0]) == 1 and len(ids[1]) == 1 and ids[0] != ids[1]  # one id each: the root
    assert f'chaingradExplorer("{ids[0][0]}", document.currentScript)' in first
    assert_self_contained(first)
    assert "<svg" in first and first.count("<script") == 2


def test_jupyter_html_without_graphviz_still_steps_and_save_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    root, _ = square()
    ex = explain(root)
    fragment = ex._repr_html_()
    assert "Install Graphviz" in fragment and "<svg" not in fragment
    assert len(page_data(fragment)["steps"]) == len(ex.steps)
    with pytest.raises(viz.GraphvizNotFoundError):
        ex.save(tmp_path / "b.html")
    assert list(tmp_path.iterdir()) == []


def test_labels_cannot_break_out_of_the_page():
    require_dot()
    x = Value(1.0, label='</script><script>alert("x")</script><!--')
    y = labelled(x * 2.0, "<b>&amp;")
    text = explain(y).html()
    assert "<script>alert" not in text and "<b>&amp;" not in text
    assert page_data(text)["nodes"][0]["label"] == x.label  # the data still holds the label as is


def test_the_page_assets_ship_with_the_package():
    from autograd import explorer

    for name in ("explorer.js", "explorer.css"):
        text = (explorer.ASSETS / name).read_text(encoding="utf-8")
        assert URL_RE.search(text) is None
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"\[tool\.setuptools\.package-data\](.*?)(?:\n\[|\Z)", pyproject, re.S)
    assert block and re.search(r"""autograd\s*=\s*\[[^\]]*["']explorer_assets/\*""", block[1]), (
        "pyproject.toml must list autograd's explorer_assets as package data, or wheels lack them"
    )
