"""Redraw the pictures in this folder with the project itself: `python notebooks/images/make_images.py`.

neuron.svg, the README's picture: micrograd's neuron o = tanh(x1·w1 + x2·w2 + b) after
`o.backward()`, drawn by `autograd.viz.save` with the weights and the bias as parameters.
`tests/test_readme.py` checks that the committed file shows what this draws today.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # this checkout's packages, installed or not

import autograd as ag  # noqa: E402 (after the path above)
from autograd import Value, viz  # noqa: E402


def neuron() -> tuple[Value, list[Value]]:
    """The output o of the neuron after backward(), and its parameters [w1, w2, b]."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")  # so that o = tanh(0.8814) = 1/√2
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = ag.tanh(n)
    o.label = "o"
    o.backward()
    return o, [w1, w2, b]


def pictures() -> dict[str, tuple[Value, dict]]:
    """File name -> (the graph's root, the keyword arguments of viz.save) of every picture."""
    o, params = neuron()
    return {"neuron.svg": (o, {"params": params})}


def main() -> None:
    """Write every picture next to this script."""
    for name, (root, kwargs) in pictures().items():
        print("wrote", viz.save(root, HERE / name, **kwargs))


if __name__ == "__main__":
    main()
