"""The explorer's page in a real headless Chromium: stepping, the numbers shown, the inspector, no network.

Driven by Playwright for Python with the system's Chromium (Debian's `chromium`, never a browser
that Playwright downloads). Without Playwright, Chromium or Graphviz's `dot` these tests skip on
a developer's machine and fail under CI, which installs all three.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import autograd as ag
import nn
from autograd import Value
from autograd.explorer import explain, short

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
IN_CI = bool(os.environ.get("CI"))


def missing(reason: str) -> None:
    """Skip on a developer's machine; under CI the browser tests must run, so fail."""
    if IN_CI:
        pytest.fail(f"{reason}: CI must run the browser tests", pytrace=False)
    pytest.skip(f"{reason} (CI installs it, so this runs there)")


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for the module's tests."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python is not installed (pip install playwright)")
    if not CHROMIUM.exists():
        missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    if shutil.which("dot") is None:
        missing("the Graphviz program `dot` is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


class Page:
    """A page with every request logged (anything but a file:// URL is aborted) and script errors kept."""

    def __init__(self, browser) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 860})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda err: self.errors.append(str(err)))
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))

    @staticmethod
    def _route(route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    def open(self, path: Path) -> str:
        url = path.resolve().as_uri()
        self.page.goto(url)
        self.page.wait_for_load_state("load")
        return url

    def step(self) -> int:
        return int(self.page.get_attribute(".cg-explorer", "data-step"))

    def grad_texts(self) -> dict[int, tuple[str, str]]:
        """Node index -> (the grad text in the drawing, its exact value) as the page shows them now."""
        return self.page.eval_on_selector_all(
            "g.cg-value",
            """gs => Object.fromEntries(gs.map(g => {
                const t = g.querySelector('text.cg-grad');
                return [g.getAttribute('data-node'), [t.textContent, t.getAttribute('data-exact')]];
            }))""",
        )

    def texts(self, selector: str) -> list[str]:
        """The text of every element `selector` matches."""
        return self.page.eval_on_selector_all(selector, "els => els.map(e => e.textContent)")

    def contribution_lines(self) -> list[tuple[int, float]]:
        """(target node, its gradient after) for each contribution line of the current step."""
        rows = self.page.eval_on_selector_all(
            '[data-role="step-lines"] p[data-target]',
            "ps => ps.map(p => [Number(p.getAttribute('data-target')), p.getAttribute('data-total')])",
        )
        return [(i, float(total)) for i, total in rows]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(browser):
    p = Page(browser)
    yield p
    p.close()


def small_graph():
    x, w = Value(2.0, label="x"), Value(-0.5, label="w")
    z = x * w
    z.label = "z"
    y = ag.tanh(z * x + 3.0)
    y.label = "y"
    return y, [x, w]


def neuron_graph():
    neuron = nn.Neuron(3, activation="tanh", seed=4)
    y = neuron([1.0, -2.0, 0.5])
    y.label = "y"
    return y, neuron


def step_through(page: Page, ex, advance) -> None:
    """Visit every step; at each, the page's numbers are the recorded ones, which end at the engine's."""
    last = len(ex.steps) - 1
    totals: dict[int, float] = {}
    for s in ex.steps:
        assert page.step() == s.index
        assert page.page.inner_text('[data-role="counter"]') == f"step {s.index} of {last}"
        assert page.page.inner_text('[data-role="step-title"]') != ""
        assert page.texts('[data-role="step-lines"] p') == list(s.lines)
        expected = [(c.target, c.total) for c in s.contributions]
        assert page.contribution_lines() == expected
        totals.update(expected)
        backward_started = s.phase not in ("leaves", "forward")
        for i, (text, exact) in page.grad_texts().items():
            i = int(i)
            if i in totals:
                assert (text, float(exact)) == (f"grad {short(totals[i])}", totals[i])
            else:
                assert text == ("grad 0" if backward_started else "grad ?")
        if s.index < last:
            advance()
    assert page.step() == last


def assert_final_numbers_are_the_engines(page: Page, ex) -> None:
    ex.root.backward()  # a fresh graph: every .grad was zero, so .grad is this one pass
    shown = page.grad_texts()
    for n in ex.nodes:
        text, exact = shown[str(n.index)]
        assert float(exact) == n.value.grad, n.name
        assert text == f"grad {short(n.value.grad)}", n.name


def test_stepping_through_a_small_graph_with_the_arrow_keys(page, tmp_path):
    y, leaves = small_graph()
    ex = explain(y)
    url = page.open(ex.save(tmp_path / "small.html"))
    assert page.step() == 0
    step_through(page, ex, lambda: page.page.keyboard.press("ArrowRight"))
    assert_final_numbers_are_the_engines(page, ex)
    page.page.screenshot(path=str(tmp_path / "small.png"), full_page=True)
    assert (tmp_path / "small.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.errors == [] and page.requests == [url]


def test_stepping_through_a_neuron_with_the_next_button(page, tmp_path):
    y, neuron = neuron_graph()
    ex = explain(y, params=neuron)
    url = page.open(ex.save(tmp_path / "neuron.html"))
    step_through(page, ex, lambda: page.page.click('button[data-act="next"]'))
    assert_final_numbers_are_the_engines(page, ex)
    for p in neuron.parameters():
        assert ex.grad(p) == p.grad
    page.page.screenshot(path=str(tmp_path / "neuron.png"), full_page=True)
    assert page.errors == [] and page.requests == [url]


def test_clicking_a_node_opens_its_inspector(page, tmp_path):
    y, (x, w) = small_graph()
    ex = explain(y)
    url = page.open(ex.save(tmp_path / "inspect.html"))
    page.page.keyboard.press("End")
    node = ex.node(x)
    page.page.click(f'g.cg-value[data-node="{node.index}"]')
    inspector = '[data-role="inspector"]'
    assert page.page.get_attribute(inspector, "data-node") == str(node.index)
    field = lambda name: page.page.inner_text(f'{inspector} [data-field="{name}"]')  # noqa: E731
    y.backward()
    assert (field("label"), field("op"), field("role")) == ("x", "(a leaf)", "leaf")
    assert float(field("data")) == x.data
    assert float(field("grad")) == x.grad and float(field("grad-now")) == x.grad
    # x is used twice: two contributions, the second one ending at the engine's gradient.
    received = page.page.eval_on_selector_all(
        f"{inspector} ul.cg-received li", "lis => lis.map(li => Number(li.getAttribute('data-total')))"
    )
    assert received == [c.total for s in ex.steps for c in s.contributions if c.target == node.index]
    assert len(received) == 2 and received[-1] == x.grad
    # An op node lists its local partials, the primitive's own numbers: d(x·w)/dx = w, d/dw = x.
    z = next(n for n in ex.nodes if n.name == "z")
    page.page.click(f'g.cg-op[data-node="{z.index}"]')
    assert page.texts(f"{inspector} ul.cg-partials li") == [f"∂z/∂x = {w.data!r}", f"∂z/∂w = {x.data!r}"]
    page.page.screenshot(path=str(tmp_path / "inspector.png"), full_page=True)
    assert page.errors == [] and page.requests == [url]


def test_reset_prev_slider_play_and_the_size_toggle(page, tmp_path):
    y, _ = small_graph()
    ex = explain(y)
    last = len(ex.steps) - 1
    url = page.open(ex.save(tmp_path / "controls.html"))
    page.page.keyboard.press("End")
    assert page.step() == last
    page.page.click('button[data-act="prev"]')
    assert page.step() == last - 1
    page.page.keyboard.press("ArrowLeft")
    assert page.step() == last - 2
    page.page.fill('input[data-role="slider"]', "3")
    assert page.step() == 3
    page.page.click('button[data-act="reset"]')
    assert page.step() == 0
    page.page.click('button[data-act="play"]')
    page.page.wait_for_selector('.cg-explorer[data-step="2"]', timeout=20_000)  # 0.9 s per step
    page.page.click('button[data-act="play"]')  # pause
    paused_at = page.step()
    page.page.wait_for_timeout(1200)
    assert page.step() == paused_at
    natural = 'document.querySelector(".cg-explorer").classList.contains("cg-natural")'
    assert page.page.evaluate(natural) is False
    page.page.click('button[data-act="fit"]')
    assert page.page.evaluate(natural) is True
    assert page.page.eval_on_selector(".cg-graph svg", "s => s.getBoundingClientRect().width") > 100
    assert page.errors == [] and page.requests == [url]


def test_two_notebook_outputs_on_one_page_step_independently(page, tmp_path):
    first, _ = small_graph()
    second, _ = small_graph()
    a, b = explain(first), explain(second)
    doc = tmp_path / "notebook.html"
    doc.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        f"<div class='output'>{a._repr_html_()}</div>"
        f"<div class='output'>{b._repr_html_()}</div></body></html>",
        encoding="utf-8",
    )
    url = page.open(doc)
    roots = page.page.locator(".cg-explorer")
    assert roots.count() == 2
    roots.nth(0).locator('button[data-act="next"]').click()
    roots.nth(0).locator('button[data-act="next"]').click()
    steps = [roots.nth(k).get_attribute("data-step") for k in range(2)]
    assert steps == ["2", "0"]
    roots.nth(1).focus()
    page.page.keyboard.press("End")  # keys go to the explorer that has focus, and only to it
    steps = [roots.nth(k).get_attribute("data-step") for k in range(2)]
    assert steps == ["2", str(len(b.steps) - 1)]
    assert page.errors == [] and page.requests == [url]
