// The backprop explorer's script: replays the steps that Python recorded onto the drawing.
// It computes no number (every number is text written by the engine's side), loads nothing and
// sends nothing; everything it touches lives inside its own root element, so several explorers
// can share one page (a notebook).
function chaingradExplorer(rootId, script) {
  "use strict";
  // The explorer the calling script sits in (the id is the fallback: unique per display).
  var root = (script && script.closest && script.closest(".cg-explorer")) || document.getElementById(rootId);
  if (!root || root.getAttribute("data-ready") === "1") return;
  root.setAttribute("data-ready", "1");
  var data = JSON.parse(root.querySelector('script[data-role="data"]').textContent);
  var nodes = data.nodes, steps = data.steps, last = steps.length - 1;
  function part(role) { return root.querySelector('[data-role="' + role + '"]'); }
  var slider = part("slider"), counter = part("counter"), title = part("step-title");
  var lines = part("step-lines"), inspector = part("inspector"), graph = part("graph");
  var playButton = root.querySelector('[data-act="play"]');
  var nojs = part("nojs");
  if (nojs) nojs.hidden = true;

  // The drawing's pieces, by node index: its Value box, its op ellipse, its data and grad texts.
  var boxes = [], ops = [], dataText = [], gradText = [];
  graph.querySelectorAll("g[data-node]").forEach(function (g) {
    var i = Number(g.getAttribute("data-node"));
    if (g.classList.contains("cg-op")) { ops[i] = g; return; }
    boxes[i] = g;
    dataText[i] = g.querySelector("text.cg-data");
    gradText[i] = g.querySelector("text.cg-grad");
  });
  var edges = {};
  graph.querySelectorAll("g[data-edge]").forEach(function (g) {
    var key = g.getAttribute("data-edge");
    (edges[key] = edges[key] || []).push(g);
  });

  var current = 0, timer = null, selected = null;

  // What is known after step s: which values are computed, each node's gradient so far.
  function stateAt(s) {
    var known = [], grads = [], backward = false;
    for (var k = 0; k <= s; k++) {
      var st = steps[k];
      st.revealed.forEach(function (i) { known[i] = true; });
      if (st.phase === "seed") backward = true;
      st.updates.forEach(function (u) { grads[u[0]] = u; });
    }
    return { known: known, grads: grads, backward: backward };
  }

  function setClass(el, name, on) { if (el) el.classList.toggle(name, !!on); }

  function element(tag, cls, text) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function render() {
    var st = steps[current], state = stateAt(current);
    var backward = st.phase === "seed" || st.phase === "backward" || st.phase === "hidden";
    root.setAttribute("data-step", String(current));
    root.setAttribute("data-phase", st.phase);
    nodes.forEach(function (n, i) {
      var box = boxes[i];
      if (!box) return;
      setClass(box, "cg-pending", !state.known[i]);
      setClass(ops[i], "cg-pending", !state.known[i]);
      if (dataText[i]) dataText[i].textContent = "data " + (state.known[i] ? n.dataShort : "?");
      if (gradText[i]) {
        var g = state.grads[i];
        gradText[i].textContent = "grad " + (g ? g[2] : (state.backward ? "0" : "?"));
        gradText[i].setAttribute("data-exact", g ? g[1] : (state.backward ? "0.0" : ""));
      }
      setClass(box, "cg-active", i === st.node);
      setClass(ops[i], "cg-active", i === st.node);
      setClass(box, "cg-other", st.others.indexOf(i) >= 0);
      setClass(gradText[i], "cg-changed", st.updates.some(function (u) { return u[0] === i; }));
    });
    Object.keys(edges).forEach(function (key) {
      var on = st.edges.indexOf(key) >= 0;
      edges[key].forEach(function (g) {
        setClass(g, "cg-flow-forward", on && !backward);
        setClass(g, "cg-flow-backward", on && backward);
      });
    });
    root.classList.toggle("cg-backward", backward);
    title.textContent = st.title;
    lines.textContent = "";
    st.lines.forEach(function (line) {
      var p = element("p", "cg-line", line.text);
      if (line.target !== undefined) {
        p.setAttribute("data-target", String(line.target));
        p.setAttribute("data-total", line.total);
      }
      lines.appendChild(p);
    });
    slider.value = String(current);
    counter.textContent = "step " + current + " of " + last;
    if (selected !== null) inspect(selected, state);
  }

  function row(table, name, value, field) {
    var tr = element("tr");
    tr.appendChild(element("th", "", name));
    var td = element("td", "", value);
    if (field) td.setAttribute("data-field", field);
    tr.appendChild(td);
    table.appendChild(tr);
  }

  // The inspector: what the selected node is, its local partials, who sent it gradient.
  function inspect(i, state) {
    var n = nodes[i];
    state = state || stateAt(current);
    inspector.textContent = "";
    inspector.setAttribute("data-node", String(i));
    inspector.appendChild(element("h3", "", "Inspector: " + n.name));
    var table = element("table", "cg-fields");
    row(table, "label", n.label || "(none)", "label");
    row(table, "op", n.op || "(a leaf)", "op");
    row(table, "role", n.role, "role");
    row(table, "data", state.known[i] ? n.data : "? (not computed yet)", "data");
    var g = state.grads[i];
    row(table, "grad now", g ? g[1] : (state.backward ? "0.0" : "? (backward not started)"), "grad-now");
    row(table, "grad at the end", n.grad, "grad");
    inspector.appendChild(table);
    if (n.inputs.length) {
      inspector.appendChild(element("h4", "", "Local partials"));
      var ul = element("ul", "cg-partials");
      n.inputs.forEach(function (input) {
        var text = "∂" + n.name + "/∂" + input.name + " = " + (input.partial === null ? "none" : input.partial);
        ul.appendChild(element("li", "", text));
      });
      inspector.appendChild(ul);
    }
    inspector.appendChild(element("h4", "", "Received gradient from"));
    if (!n.received.length) inspector.appendChild(element("p", "", "nothing: no gradient reaches it"));
    var list = element("ul", "cg-received");
    n.received.forEach(function (r) {
      var li = element("li", r.step <= current ? "cg-done" : "cg-todo",
        "step " + r.step + ", " + (r.from || "seed") + ": " + r.text + "  →  grad " + r.total);
      li.setAttribute("data-step", String(r.step));
      li.setAttribute("data-total", r.exact);
      list.appendChild(li);
    });
    inspector.appendChild(list);
    boxes.forEach(function (b, k) { setClass(b, "cg-selected", k === i); });
  }

  function go(s) {
    current = Math.max(0, Math.min(last, s));
    render();
  }
  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    playButton.textContent = "▶ play";
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (current >= last) go(0);
    playButton.textContent = "❚❚ pause";
    timer = setInterval(function () {
      if (current >= last) { stop(); return; }
      go(current + 1);
    }, 900);
  }
  var actions = {
    reset: function () { stop(); go(0); },
    prev: function () { stop(); go(current - 1); },
    next: function () { stop(); go(current + 1); },
    play: play,
    fit: function () { root.classList.toggle("cg-natural"); }
  };
  root.querySelectorAll("button[data-act]").forEach(function (b) {
    b.addEventListener("click", function () { actions[b.getAttribute("data-act")](); });
  });
  slider.addEventListener("input", function () { stop(); go(Number(slider.value)); });
  graph.addEventListener("click", function (e) {
    var g = e.target.closest ? e.target.closest("g[data-node]") : null;
    if (!g || !root.contains(g)) return;
    selected = Number(g.getAttribute("data-node"));
    inspect(selected);
  });
  function onKey(e) {
    if (e.target && e.target.tagName === "INPUT") return; // the slider moves itself
    var keys = { ArrowRight: "next", ArrowDown: "next", ArrowLeft: "prev", ArrowUp: "prev", Home: "reset" };
    if (keys[e.key]) actions[keys[e.key]]();
    else if (e.key === "End") { stop(); go(last); }
    else if (e.key === " ") play();
    else return;
    e.preventDefault();
  }
  // A page of its own listens everywhere; inside a notebook only while the explorer has focus.
  (root.getAttribute("data-keys") === "page" ? document : root).addEventListener("keydown", onKey);
  go(0);
}
