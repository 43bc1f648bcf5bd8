"""`python -m nn` (or `chaingrad-demo`): micrograd's moons demo, trained with chaingrad.

100 points of the moons data set (noise 0.1), MLP(2, [16, 16, 1]), hinge loss + 1e-4 L2, 100
full-batch SGD steps with the learning rate falling linearly from 1.0 to 0.1. Prints the final
loss, accuracy and wall time, draws the decision boundary with characters and writes the
computation graph of one neuron as SVG when Graphviz can render it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import autograd
from autograd import Value

from . import data, losses
from .layers import MLP
from .optim import SGD
from .plot import decision_boundary
from .schedules import linear_schedule
from .train import evaluate, fit

DEFAULT_SEED = 1  # data and initialization; reaches 100% training accuracy in the default setting
L2 = 1e-4

# name -> (make data from a seed, output size, loss, learning rate at the first step)
DATASETS: dict[str, tuple[Any, int, str, float]] = {
    "moons": (lambda seed: data.make_moons(100, noise=0.1, seed=seed, signed=True), 1, "hinge", 1.0),
    "xor": (lambda seed: data.make_xor(100, seed=seed, signed=True), 1, "hinge", 1.0),
    "blobs": (
        lambda seed: data.make_blobs(100, centers=3, cluster_std=1.0, box=(-4.0, 4.0), seed=seed),
        3,
        "cross_entropy",
        0.5,
    ),
    "spiral": (
        lambda seed: data.make_spiral(150, n_classes=3, noise=0.1, seed=seed),
        3,
        "cross_entropy",
        0.5,
    ),
}


CONSOLE_SCRIPT = "chaingrad-demo"


def program_name(argv0: str | None = None) -> str:
    """`chaingrad-demo` when run as the console script, `python -m nn` otherwise (for --help)."""
    name = Path(sys.argv[0] if argv0 is None else argv0).name
    # pip's launchers: chaingrad-demo, chaingrad-demo.exe, chaingrad-demo-script.py (Windows)
    return CONSOLE_SCRIPT if name.startswith(CONSOLE_SCRIPT) else "python -m nn"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The demo's command-line options."""
    parser = argparse.ArgumentParser(prog=program_name(), description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the data and the weights")
    parser.add_argument("--steps", type=int, default=100, help="SGD steps (full batch), default 100")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="moons", help="default moons")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (shown on terminals)")
    parser.add_argument("--compile", action="store_true",
                        help="replay each step with autograd.compile (traced once; the same numbers)")
    parser.add_argument(
        "--svg",
        default="neuron.svg",
        help="where to write one neuron's graph, default neuron.svg in the current folder ('' for none)",
    )
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    if args.svg:
        problem = svg_path_problem(args.svg)
        if problem:
            parser.error(f"--svg {args.svg}: {problem}")
    return args


def svg_path_problem(path: str) -> str | None:
    """Why the graph cannot be written to `path` (checked before training), or None."""
    target = Path(path)
    folder = target.parent
    if not folder.exists():
        return f"the folder {str(folder)!r} does not exist"
    if not folder.is_dir():
        return f"{str(folder)!r} is not a folder"
    if target.is_dir():
        return f"{path!r} is a folder, not a file name"
    return None


def neuron_graph(model: MLP, x: Sequence[float]) -> tuple[Value, list[Value]]:
    """The graph of the first neuron of the first layer on input x, and the copies of its weights."""
    neuron = model.layers[0].neurons[0]
    ws = [Value(w.data, label=f"w{i}") for i, w in enumerate(neuron.w)]
    xs = [Value(xi, label=f"x{i}") for i, xi in enumerate(x)]
    b = Value(neuron.b.data, label="b")
    out = autograd.dot(ws, xs, b)
    if neuron.fn is not None:
        out = neuron.fn(out)
    out.label = "out"
    out.backward()
    return out, [*ws, b]


def write_svg(root: Value, params: list[Value], path: str) -> str:
    """Render the graph to `path` with autograd.viz; a note on why not when Graphviz is missing."""
    problem = svg_path_problem(path)  # again: the folder may have gone while we trained
    if problem:
        return f"no SVG written: {problem}"
    try:
        from autograd import viz

        viz.save(root, path, params=params)
    except Exception as err:  # optional step: a missing `dot` or graphviz package is not a failure
        return f"no SVG written ({type(err).__name__}: {err})"
    return f"computation graph of one neuron written to {os.path.abspath(path)}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the exit status."""
    try:
        return run(parse_args(argv))
    except BrokenPipeError:
        # The reader went away (`chaingrad-demo | head`): no traceback, and nothing more to write.
        # Point stdout at devnull so that Python's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1


def stderr_is_terminal() -> bool:
    """Whether a progress bar can be redrawn in place; in a log or a pipe the demo stays quiet."""
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def run(args: argparse.Namespace) -> int:
    """The demo with parsed options: train, report, draw."""
    make, n_out, loss, lr0 = DATASETS[args.dataset]
    X, y = make(args.seed)
    model = MLP(2, [16, 16, n_out], seed=args.seed)
    schedule = linear_schedule(lr0, lr0 / 10, args.steps)
    print(
        f"chaingrad demo: {args.dataset}, {len(X)} points; MLP(2, [16, 16, {n_out}]), "
        f"{model.num_parameters()} parameters"
    )
    print(
        f"{loss} loss + {L2:g} L2, {args.steps} SGD steps, "
        f"lr {lr0:g} -> {lr0 / 10:g} (linear), seed {args.seed}"
    )
    sys.stdout.flush()

    start = time.perf_counter()
    history = fit(
        model,
        X,
        y,
        loss=loss,
        optimizer=SGD(model.parameters(), lr=schedule),
        epochs=args.steps,
        l2=L2,
        progress=not args.no_progress and stderr_is_terminal(),
        compile=args.compile,
    )
    wall = time.perf_counter() - start

    result = evaluate(model, X, y, loss=loss)
    with autograd.no_grad():
        total = result["loss"] + float(losses.l2_penalty(model.parameters(), L2))
    # The bar's last loss is the one measured before the last update; the final loss is measured
    # after it, on the trained model: two different numbers, so both are printed with their names.
    print(
        f"last step's loss {history['loss'][-1]:.6f} (as the progress bar)   "
        f"final loss {total:.6f}   accuracy {100 * result['accuracy']:.1f}%   "
        f"wall time {wall:.2f} s ({1000 * wall / args.steps:.1f} ms per step)"
    )
    print(decision_boundary(model, X, y))
    if args.svg:
        print(write_svg(*neuron_graph(model, X[0]), args.svg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
