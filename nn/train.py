"""Training loops: `fit` (epochs of mini-batch steps, with a history) and `evaluate`."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import autograd
from autograd import Value

from . import losses
from .data import batches
from .init import Seed, make_rng
from .module import Module
from .optim import Adam, Optimizer
from .progress import make_progress

LOSSES: dict[str, Callable[[Any, Any], Any]] = {
    "hinge": losses.hinge_loss,
    "mse": losses.mse_loss,
    "bce": losses.binary_cross_entropy_with_logits,
    "binary_cross_entropy_with_logits": losses.binary_cross_entropy_with_logits,
    "cross_entropy": losses.cross_entropy,
}

Metric = Callable[[Sequence[Any], Sequence[Any]], float]


def accuracy(preds: Sequence[Any], targets: Sequence[Any]) -> float:
    """The fraction of correct predictions: a list of logits is right when its argmax is the class
    index; a single score is right when its sign matches the label's (labels ±1, or 0/1 with 0 < 0.5).
    """
    if len(preds) != len(targets) or not preds:
        raise ValueError(f"accuracy: {len(preds)} predictions for {len(targets)} targets")
    correct = 0
    for p, t in zip(preds, targets, strict=True):
        if isinstance(p, (list, tuple)):
            scores = [float(s) for s in p]
            correct += max(range(len(scores)), key=scores.__getitem__) == t
        else:
            correct += (float(p) > 0) == (t > 0)
    return correct / len(preds)


METRICS: dict[str, Metric] = {"accuracy": accuracy}


def _resolve_loss(loss: str | Callable[[Any, Any], Any], sample_output: Any, y: Sequence[Any]) -> Callable:
    if callable(loss):
        return loss
    if loss == "auto":
        if isinstance(sample_output, list):
            return losses.cross_entropy
        labels = {t.data if isinstance(t, Value) else t for t in y}
        if labels <= {-1, 1}:
            return losses.hinge_loss
        if labels <= {0, 1}:
            return losses.binary_cross_entropy_with_logits
        return losses.mse_loss
    if isinstance(loss, str) and loss in LOSSES:
        return LOSSES[loss]
    raise ValueError(f"fit: unknown loss {loss!r}; use one of {sorted(LOSSES)}, 'auto' or a callable")


def _resolve_metrics(metrics: Sequence[str | Metric] | None, loss_fn: Callable) -> dict[str, Metric]:
    if metrics is None:  # accuracy for the classification losses
        metrics = [] if loss_fn is losses.mse_loss else ["accuracy"]
    out: dict[str, Metric] = {}
    for m in metrics:
        if isinstance(m, str):
            if m not in METRICS:
                raise ValueError(f"fit: unknown metric {m!r}; use one of {sorted(METRICS)} or a callable")
            out[m] = METRICS[m]
        elif callable(m):
            out[getattr(m, "__name__", repr(m))] = m
        else:
            raise TypeError(f"fit: a metric must be a name or a callable, got {m!r}")
    return out


def _check_data(X: Sequence[Any], y: Sequence[Any], where: str) -> None:
    if len(X) != len(y):
        raise ValueError(f"{where}: {len(X)} samples but {len(y)} labels")
    if not len(X):
        raise ValueError(f"{where}: no samples")


def _is_number(x: Any) -> bool:
    return isinstance(x, (Value, numbers.Real))  # NumPy's scalars are numbers.Real too


def check_finite(data: Sequence[Any], name: str, where: str) -> None:
    """A ValueError naming the sample and the feature of the first NaN or infinite number in `data`.

    A sample is a number, or a sequence of numbers (its features); anything else is left to the model.
    """
    for i, sample in enumerate(data):
        if _is_number(sample):
            features: Any = [sample]
        elif isinstance(sample, (str, bytes, dict)) or not hasattr(sample, "__iter__"):
            continue
        else:
            features = sample  # a list, a tuple, a NumPy row...
        for j, x in enumerate(features):
            if _is_number(x) and not math.isfinite(float(x)):
                feature = "" if features is not sample else f", feature {j}"
                raise ValueError(
                    f"{where}: {name} has a non-finite number {float(x)!r} in sample {i}{feature}; "
                    f"remove or impute it before training"
                )


def _check_gradients(params: Sequence[tuple[str, Value]], step: int) -> None:
    for name, p in params:
        g = float(p.grad)
        if not math.isfinite(g):
            raise FloatingPointError(
                f"fit: the gradient of {name} is {g!r} at step {step}; stopped before the update "
                f"(the parameters are those after step {step - 1})"
            )


def _step(
    model: Module,
    loss_fn: Callable[[Any, Any], Any],
    Xb: list[Any],
    yb: list[Any],
    l2: float,
    optimizer: Optimizer,
    named: list[tuple[str, Value]],
    epoch: int,
) -> tuple[float, list[Any]]:
    """One training step on a batch: (its loss before the update, the predictions).

    Zero the gradients, forward, loss (+ l2 * sum(p^2)), backward, update; a non-finite loss or
    gradient raises before the update, so the model keeps the parameters of the last good step.
    """
    optimizer.zero_grad()
    preds = [model(x) for x in Xb]
    total = loss_fn(preds, yb)
    if l2:
        total = total + losses.l2_penalty([p for _, p in named], l2)
    value = float(total)
    step = optimizer.steps + 1
    if not math.isfinite(value):
        raise FloatingPointError(
            f"fit: the loss is {value!r} at step {step} (epoch {epoch}); stopped before the "
            f"update (the parameters are those after step {step - 1})"
        )
    total.backward()
    _check_gradients(named, step)
    optimizer.step()
    return value, preds


def _label_form(loss_fn: Callable[[Any, Any], Any], y: Sequence[Any], sample_output: Any) -> str | None:
    """How the steps pass the labels to the loss: as Values ("numbers" or "one-hot" rows), or None.

    As Values for the built-in losses that build one graph for every label (hinge via sign(y), mse,
    BCE with 0/1 labels, cross_entropy with one-hot probabilities): then a compiled step takes them
    as arguments and serves every batch. Other losses branch on the labels as plain numbers, which
    key the compiled program cache instead.
    """
    if loss_fn is losses.cross_entropy and isinstance(sample_output, list):
        return "one-hot"
    if loss_fn in (losses.hinge_loss, losses.mse_loss):
        return "numbers"
    if loss_fn is losses.binary_cross_entropy_with_logits:
        hard = all((t.data if isinstance(t, Value) else t) in (0, 1) for t in y)
        return "numbers" if hard else None
    return None


def _label_maker(form: str | None, classes: int, leaves: bool) -> Callable[[list[Any]], Any]:
    """The batch's labels as the loss gets them: as they are, or (a `_label_form`) as numbers or
    one-hot rows, made leaf Values for the dynamic step so that it builds the compiled step's graph
    (the same graph, hence the same order of additions and the same bits)."""
    def make(yb: list[Any]) -> Any:
        if form is None:
            return yb
        numbers = [float(t.data) if isinstance(t, Value) else float(t) for t in yb]
        if form == "numbers":
            return [Value(t) for t in numbers] if leaves else numbers
        rows = [[1.0 if k == t else 0.0 for k in range(classes)] for t in numbers]
        return [[Value(p) for p in row] for row in rows] if leaves else rows

    return make


def _compiled_step(
    model: Module,
    loss_fn: Callable[[Any, Any], Any],
    l2: float,
    named: list[tuple[str, Value]],
    form: str | None,
) -> Callable[..., tuple[float, list[Any]]]:
    """`_step` with the loss and its gradients replayed by `autograd.compile`.

    The parameters and the batch's inputs are the program's arguments, and so are the labels for the
    built-in losses (see `_label_form`): one program serves every batch of a size. Other labels key
    the program cache. The predictions come back as floats.
    """
    params = [p for _, p in named]

    def total(ps: list[Value], Xb: list[Any], yb: Any) -> tuple[Any, list[Any]]:
        preds = [model(x) for x in Xb]
        value = loss_fn(preds, list(yb))
        if l2:
            value = value + losses.l2_penalty(ps, l2)
        return value, preds

    if form is None:
        program = autograd.compile(total, has_aux=True, static_argnums=(2,))
    else:
        program = autograd.compile(total, has_aux=True)

    def step(model: Module, loss_fn: Any, Xb: list[Any], yb: list[Any], l2: float,
             optimizer: Optimizer, named: list[tuple[str, Value]], epoch: int) -> tuple[float, list[Any]]:
        optimizer.zero_grad()
        labels = tuple(yb) if form is None else yb  # static labels are the cache's key
        value, preds = program(params, Xb, labels)  # forward and backward in one replay
        step = optimizer.steps + 1
        if not math.isfinite(value):
            raise FloatingPointError(
                f"fit: the loss is {value!r} at step {step} (epoch {epoch}); stopped before the "
                f"update (the parameters are those after step {step - 1})"
            )
        _check_gradients(named, step)
        optimizer.step()
        return value, preds

    return step


def fit(
    model: Module,
    X: Sequence[Any],
    y: Sequence[Any],
    loss: str | Callable[[Any, Any], Any] = "auto",
    optimizer: Optimizer | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    metrics: Sequence[str | Metric] | None = None,
    l2: float = 0.0,
    progress: bool = True,
    shuffle: bool = True,
    seed: Seed = None,
    callbacks: Sequence[Callable[[int, dict[str, float]], Any]] = (),
    compile: bool = False,  # noqa: A002 (the switch's name, as torch.compile's)
) -> dict[str, list[float]]:
    """Train `model` on (X, y) and return the history: loss (and each metric) per epoch.

    Each step: zero the gradients, forward the batch, loss (+ l2 * sum(p^2)), backward, optimizer step.
    The epoch's loss and metrics are averaged over its batches, measured before each batch's update.
    `loss="auto"` picks cross_entropy for several outputs, else hinge (labels ±1), BCE (0/1) or MSE.
    `batch_size=None` is full batch (one step per epoch). `optimizer=None` is Adam(lr=0.01).
    Non-finite inputs or targets are refused before training; a non-finite loss or gradient stops
    training before that step's update, naming the step. `progress` shows a bar on a terminal, a
    widget or lines in Jupyter, lines elsewhere (see nn.progress); False is silent. After each
    epoch every callback gets `(epoch, logs)` (epoch from 0, logs the epoch's loss and metrics);
    one returning False stops training. `compile=True` replays each step with `autograd.compile`
    (the same numbers, bit for bit): the batch's inputs and labels are the program's arguments, so
    one trace serves every batch of a size (a smaller last batch traces once more). A custom loss
    (or BCE with soft labels) branches on the labels as numbers: there each set of labels traces
    (past 8 traces, steps run uncompiled).
    """
    _check_data(X, y, "fit")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
    check_finite(X, "X", "fit")
    check_finite(y, "y", "fit")
    callbacks = list(callbacks)
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(f"fit: a callback must be callable, got {callback!r}")
    named = model.named_parameters()
    if optimizer is None:
        optimizer = Adam([p for _, p in named], lr=0.01)
    model.train()
    with autograd.no_grad():
        sample_output = model(X[0])
    loss_fn = _resolve_loss(loss, sample_output, y)
    metric_fns = _resolve_metrics(metrics, loss_fn)
    size = len(X) if batch_size is None else batch_size
    rng = make_rng(seed)  # one generator for every epoch's shuffle: a seed fixes the whole run
    history: dict[str, list[float]] = {"loss": [], **{name: [] for name in metric_fns}}
    bar = make_progress(epochs, "train", enabled=bool(progress))
    form = _label_form(loss_fn, y, sample_output)
    classes = len(sample_output) if form == "one-hot" else 0
    if compile and form is not None:
        with autograd.no_grad():  # a replay runs no checks: the loss checks every label now, by sample
            zeros = [[0.0] * classes for _ in y] if form == "one-hot" else [0.0] * len(y)
            loss_fn(zeros, list(y))
    labels = _label_maker(form, classes, leaves=not compile)
    step_fn = _compiled_step(model, loss_fn, l2, named, form) if compile else _step
    try:
        for epoch in range(epochs):
            totals = dict.fromkeys(history, 0.0)
            for Xb, yb in batches(X, y, size, shuffle=shuffle and size < len(X), seed=rng):
                value, preds = step_fn(model, loss_fn, Xb, labels(yb), l2, optimizer, named, epoch)
                totals["loss"] += value * len(Xb)
                for name, fn in metric_fns.items():
                    totals[name] += fn(preds, yb) * len(Xb)
            logs = {name: totals[name] / len(X) for name in history}
            for name, value in logs.items():
                history[name].append(value)
            bar.update(1, **logs)
            if any([callback(epoch, dict(logs)) is False for callback in callbacks]):  # each sees each epoch
                break
    finally:
        bar.close()
    return history


def evaluate(
    model: Module,
    X: Sequence[Any],
    y: Sequence[Any],
    loss: str | Callable[[Any, Any], Any] = "auto",
    metrics: Sequence[str | Metric] | None = None,
) -> dict[str, float]:
    """The loss and metrics of `model` on (X, y), without recording a graph."""
    _check_data(X, y, "evaluate")
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with autograd.no_grad():
            preds = [model(x) for x in X]
            loss_fn = _resolve_loss(loss, preds[0], y)
            result = {"loss": float(loss_fn(preds, y))}
            for name, fn in _resolve_metrics(metrics, loss_fn).items():
                result[name] = fn(preds, y)
    finally:
        for m, mode in modes:  # back to the modes it had (fit's, say)
            m.training = mode
    return result
