"""Loss functions with PyTorch's `reduction=` ("mean", "sum" or "none"), each built from few graph nodes.

No calculus here: every loss is composed of autograd operations, and the engine differentiates it.
Targets may be numbers or Values; where the loss is differentiable in the target (mse, soft BCE
labels) a Value target receives its gradient, as in PyTorch.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Sequence
from typing import Any

import autograd
from autograd import Value

REDUCTIONS = ("mean", "sum", "none")


def _number(x: Any, where: str) -> float:
    """A coefficient or label as a float: a clear TypeError for strings and the like, no NaN."""
    if isinstance(x, Value):
        x = x.data
    if isinstance(x, (bool, str, bytes)) or not hasattr(type(x), "__float__"):
        raise TypeError(f"{where}: expected a number, got {type(x).__name__} {x!r}")
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: expected a number, got {type(x).__name__} {x!r}") from None
    if math.isnan(x):
        raise ValueError(f"{where}: is NaN")
    return x


def _target(x: Any, where: str) -> Any:
    """A target: a Value stays a Value (checked not NaN), anything else becomes a float."""
    if isinstance(x, Value):
        _number(x, where)
        return x
    return _number(x, where)


def _check_reduction(reduction: Any, where: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{where}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _reduce(terms: list[Any], reduction: str) -> Any:
    """The terms' mean (one sum node and a division), sum, or the list itself ('none')."""
    if reduction == "none":
        return terms
    total = autograd.sum(terms)
    return total if reduction == "sum" else total / len(terms)


def _batch(preds: Any, targets: Any, where: str) -> tuple[list[Any], list[Any], bool]:
    """Predictions and targets as two equal-length lists, and whether the input was a single sample."""
    single = isinstance(preds, (Value, int, float))
    if single:
        preds, targets = [preds], [targets]
    try:
        preds, targets = list(preds), list(targets)
    except TypeError:
        raise TypeError(f"{where}: expected lists of predictions and targets") from None
    if len(preds) != len(targets):
        raise ValueError(f"{where}: {len(preds)} predictions but {len(targets)} targets")
    if not preds:
        raise ValueError(f"{where}: empty batch (the mean of no losses is undefined)")
    for i, p in enumerate(preds):
        if not isinstance(p, (Value, int, float)) or isinstance(p, bool):
            raise TypeError(
                f"{where}: prediction {i} is {type(p).__name__} {p!r:.60}; expected one Value per sample "
                f"(a model with several outputs needs cross_entropy)"
            )
    return preds, [_target(t, f"{where} target {i}") for i, t in enumerate(targets)], single


def _finish(terms: list[Any], reduction: str, single: bool) -> Any:
    if single and reduction == "none":
        return terms[0]  # one sample in, one loss out (PyTorch gives a 0-dim tensor)
    return _reduce(terms, reduction)


def mse_loss(preds: Any, targets: Any, reduction: str = "mean") -> Any:
    """Squared error (p - t)^2, reduced: the mean is n subtractions, one dot node and one division."""
    reduction = _check_reduction(reduction, "mse_loss")
    preds, targets, single = _batch(preds, targets, "mse_loss")
    diffs = [p - t for p, t in zip(preds, targets, strict=True)]
    if reduction == "none":
        return _finish([d * d for d in diffs], reduction, single)
    total = autograd.dot(diffs, diffs)
    return total if reduction == "sum" else total / len(diffs)


def hinge_loss(scores: Any, labels: Any, reduction: str = "mean") -> Any:
    """micrograd's max-margin loss relu(1 - y * score) for labels y = ±1, reduced."""
    reduction = _check_reduction(reduction, "hinge_loss")
    scores, labels, single = _batch(scores, labels, "hinge_loss")
    terms = []
    for i, (s, y) in enumerate(zip(scores, labels, strict=True)):
        label = y.data if isinstance(y, Value) else y  # checked, never computed with: no graph cut
        if label not in (1.0, -1.0):
            raise ValueError(f"hinge_loss: label {i} is {label!r}; labels must be +1 or -1")
        if isinstance(y, Value):
            # One graph for either sign, so a compiled step serves every batch of labels. sign(y) is
            # y itself with derivative 0 (a discrete label gets no gradient, as in PyTorch), and
            # sign(y) * s is exactly ±s: the numbers are the branches' below, bit for bit.
            terms.append(autograd.relu(1.0 - autograd.sign(y) * s))
        elif label == 1.0:
            terms.append(autograd.relu(1.0 - s))
        else:
            terms.append(autograd.relu(1.0 + s))
    return _finish(terms, reduction, single)


def binary_cross_entropy_with_logits(
    logits: Any, labels: Any, reduction: str = "mean", pos_weight: float | None = None
) -> Any:
    """-[w y log σ(z) + (1 - y) log(1 - σ(z))] for labels y in [0, 1] and positive weight w (default 1).

    As softplus: w y softplus(-z) + (1 - y) softplus(z); hard labels (y = 0 or 1 as numbers) use one
    softplus, exact even where σ(z) rounds to 0 or 1. As torch.nn.functional's, with `pos_weight`.
    """
    where = "binary_cross_entropy_with_logits"
    reduction = _check_reduction(reduction, where)
    w = 1.0 if pos_weight is None else _number(pos_weight, f"{where} pos_weight")
    if not 0.0 <= w < math.inf:
        raise ValueError(f"{where}: pos_weight must be a finite number >= 0, got {pos_weight!r}")
    logits, labels, single = _batch(logits, labels, where)
    terms = []
    for i, (z, y) in enumerate(zip(logits, labels, strict=True)):
        label = y.data if isinstance(y, Value) else y  # checked, never computed with: no graph cut
        if not 0.0 <= label <= 1.0:
            raise ValueError(f"{where}: label {i} is {label!r}; labels must lie in [0, 1]")
        if isinstance(y, Value):
            terms.append(w * y * autograd.softplus(-z) + (1.0 - y) * autograd.softplus(z))
        elif label == 0.0:
            terms.append(autograd.softplus(z))
        elif label == 1.0:
            terms.append(autograd.softplus(-z) if w == 1.0 else w * autograd.softplus(-z))
        elif w == 1.0:
            terms.append(autograd.softplus(z) - label * z)  # softplus(z) - y z: one softplus node
        else:
            terms.append(w * label * autograd.softplus(-z) + (1.0 - label) * autograd.softplus(z))
    return _finish(terms, reduction, single)


def _class_index(target: Any, n_classes: int, where: str) -> int:
    if isinstance(target, Value):
        if not float(target.data).is_integer():
            raise TypeError(f"{where}: class index must be an integer, got {target!r}")
        target = int(target.data)
    if isinstance(target, bool) or not isinstance(target, int):
        try:
            target = operator.index(target)  # NumPy integers are fine; floats and strings are not
        except TypeError:
            raise TypeError(
                f"{where}: class index must be an int, got {type(target).__name__} {target!r}"
            ) from None
    if not 0 <= target < n_classes:
        raise ValueError(f"{where}: class index {target} out of range for {n_classes} logits")
    return target


def _probabilities(target: Sequence[Any], n_classes: int, where: str) -> list[Any]:
    """Class probabilities (numbers or Values), each checked to lie in [0, 1]."""
    probs = list(target)
    for p in probs:
        if isinstance(p, numbers.Integral):  # as PyTorch tells them apart: by dtype
            raise TypeError(
                f"{where}: target {probs!r:.60} holds the int {p!r}: a list of class indices needs a batch "
                f"of logits (a list of lists); class probabilities are floats"
            )
    if len(probs) != n_classes:
        raise ValueError(f"{where}: {len(probs)} class probabilities for {n_classes} logits")
    for k, p in enumerate(probs):
        if not 0.0 <= _number(p, f"{where} probability {k}") <= 1.0:
            raise ValueError(f"{where}: probability {k} is {p!r}; probabilities must lie in [0, 1]")
    return probs


def _one_cross_entropy(logits: Sequence[Any], target: Any, smoothing: float, where: str) -> Any:
    """logsumexp(z) - (1 - ε) z_t - ε mean(z); for class probabilities p, -Σ p' log softmax(z)."""
    logits = list(logits)
    if not logits:
        raise ValueError(f"{where}: no logits")
    # One logsumexp node (it takes the largest logit out of the exps inside, so none overflows):
    # no float() of a logit, so a compiled training step traces once instead of at every call.
    if isinstance(target, (list, tuple)):  # PyTorch's probability targets
        probs = _probabilities(target, len(logits), where)
        if smoothing:
            probs = [smoothing / len(logits) + (1.0 - smoothing) * p for p in probs]
        # -Σ p_i (z_i - lse) = lse Σ p_i - Σ p_i z_i. For a one-hot p (no smoothing) this is
        # lse - z_t bit for bit: the sum is exactly 1, and the zero terms add exact zeros.
        return autograd.logsumexp(logits) * autograd.sum(probs) - autograd.dot(probs, logits)
    t = _class_index(target, len(logits), where)
    lse = autograd.logsumexp(logits)
    if not smoothing:
        return lse - logits[t]
    # Label smoothing (PyTorch's): the target is (1 - ε) one-hot + ε / C uniform.
    weights = [smoothing / len(logits) + (1.0 - smoothing if i == t else 0.0) for i in range(len(logits))]
    return lse - autograd.dot(weights, logits)


def cross_entropy(logits: Any, target: Any, reduction: str = "mean", label_smoothing: float = 0.0) -> Any:
    """Multiclass cross-entropy -log softmax(z)[t]: one sample (logits, class index) or a batch, reduced.

    A target may also be a list of class probabilities (PyTorch's soft targets): -Σ p_i log softmax(z)_i.
    """
    reduction = _check_reduction(reduction, "cross_entropy")
    smoothing = _number(label_smoothing, "cross_entropy label_smoothing")
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must lie in [0, 1], got {label_smoothing!r}")
    logits = list(logits)
    if logits and isinstance(logits[0], (list, tuple)):  # a batch: one target per row of logits
        if not isinstance(target, (list, tuple)):
            raise TypeError(
                "cross_entropy: a batch of logits needs a list of class indices (or probabilities) as target"
            )
        if len(logits) != len(target):
            raise ValueError(f"cross_entropy: {len(logits)} samples of logits but {len(target)} targets")
        for i, row in enumerate(logits):
            if isinstance(row, (Value, int, float)):
                raise TypeError(f"cross_entropy: sample {i} has one logit {row!r}; expected a list of logits")
        terms = [
            _one_cross_entropy(z, t, smoothing, f"cross_entropy sample {i}")
            for i, (z, t) in enumerate(zip(logits, target, strict=True))
        ]
        return _reduce(terms, reduction)
    return _one_cross_entropy(logits, target, smoothing, "cross_entropy")


def l2_penalty(params: Sequence[Value], alpha: float) -> Any:
    """alpha * sum(p^2) over the parameters: one dot node times alpha."""
    params = list(params)
    alpha = _number(alpha, "l2_penalty alpha")
    if alpha < 0 or math.isinf(alpha):
        raise ValueError(f"l2_penalty: alpha must be a finite number >= 0, got {alpha!r}")
    return alpha * autograd.dot(params, params)
