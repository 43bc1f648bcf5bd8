"""Loss functions: `Value` results averaged over the batch, each built from few graph nodes.

No calculus here: every loss is composed of autograd operations, and the engine differentiates it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import autograd
from autograd import Value


def _number(x: Any, where: str) -> float:
    """A target or coefficient as a float: a clear TypeError for strings, Values and the like, no NaN."""
    if isinstance(x, (bool, str, bytes, Value)) or not hasattr(type(x), "__float__"):
        raise TypeError(f"{where}: expected a plain number, got {type(x).__name__} {x!r}")
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: expected a plain number, got {type(x).__name__} {x!r}") from None
    if math.isnan(x):
        raise ValueError(f"{where}: is NaN")
    return x


def _batch(preds: Any, targets: Any, where: str) -> tuple[list[Any], list[float]]:
    """Predictions and targets as two equal-length lists (a single prediction is a batch of one)."""
    if isinstance(preds, (Value, int, float)):
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
    return preds, [_number(t, f"{where} target {i}") for i, t in enumerate(targets)]


def mse_loss(preds: Any, targets: Any) -> Any:
    """Mean squared error: mean((p - t)^2), as n subtractions, one dot node and one division."""
    preds, targets = _batch(preds, targets, "mse_loss")
    diffs = [p - t for p, t in zip(preds, targets, strict=True)]
    return autograd.dot(diffs, diffs) / len(diffs)


def hinge_loss(scores: Any, labels: Any) -> Any:
    """micrograd's max-margin loss: mean(relu(1 - y * score)) for labels y = ±1."""
    scores, labels = _batch(scores, labels, "hinge_loss")
    terms = []
    for i, (s, y) in enumerate(zip(scores, labels, strict=True)):
        if y == 1.0:
            terms.append(autograd.relu(1.0 - s))
        elif y == -1.0:
            terms.append(autograd.relu(1.0 + s))
        else:
            raise ValueError(f"hinge_loss: label {i} is {y!r}; labels must be +1 or -1")
    return autograd.sum(terms) / len(terms)


def binary_cross_entropy_with_logits(logits: Any, labels: Any) -> Any:
    """mean(softplus(z) - y z) = mean(-y log σ(z) - (1 - y) log(1 - σ(z))) for labels y in [0, 1].

    Hard labels use softplus(z) (y = 0) and softplus(-z) (y = 1): exact even where σ(z) rounds to 0 or 1.
    """
    logits, labels = _batch(logits, labels, "binary_cross_entropy_with_logits")
    terms = []
    for i, (z, y) in enumerate(zip(logits, labels, strict=True)):
        if y == 0.0:
            terms.append(autograd.softplus(z))
        elif y == 1.0:
            terms.append(autograd.softplus(-z))
        elif 0.0 < y < 1.0:
            terms.append(autograd.softplus(z) - y * z)
        else:
            raise ValueError(
                f"binary_cross_entropy_with_logits: label {i} is {y!r}; labels must lie in [0, 1]"
            )
    return autograd.sum(terms) / len(terms)


def _class_index(target: Any, n_classes: int, where: str) -> int:
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


def _one_cross_entropy(logits: Sequence[Any], target: Any, where: str) -> Any:
    """logsumexp(z) - z_t, with the max logit m subtracted inside: log(sum(exp(z_i - m))) + m - z_t."""
    logits = list(logits)
    if not logits:
        raise ValueError(f"{where}: no logits")
    t = _class_index(target, len(logits), where)
    # m is a constant: logsumexp(z) = m + log(sum(exp(z - m))) for any m, and its gradient
    # (the softmax) does not depend on m; with m = max(z) no exp overflows.
    m = max(float(z) for z in logits)
    if not math.isfinite(m):
        raise ValueError(f"{where}: the largest logit is {m!r}")
    exps = [autograd.exp(z - m) for z in logits]
    return autograd.log(autograd.sum(exps)) + (m - logits[t])


def cross_entropy(logits: Any, target: Any) -> Any:
    """Multiclass cross-entropy -log softmax(z)[t]: one sample (logits, class index) or a batch (mean)."""
    if isinstance(target, (list, tuple)):
        if len(logits) != len(target):
            raise ValueError(f"cross_entropy: {len(logits)} samples of logits but {len(target)} targets")
        if not target:
            raise ValueError("cross_entropy: empty batch (the mean of no losses is undefined)")
        for i, row in enumerate(logits):
            if isinstance(row, (Value, int, float)):
                raise TypeError(f"cross_entropy: sample {i} has one logit {row!r}; expected a list of logits")
        terms = [
            _one_cross_entropy(z, t, f"cross_entropy sample {i}")
            for i, (z, t) in enumerate(zip(logits, target, strict=True))
        ]
        return autograd.sum(terms) / len(terms)
    if logits and isinstance(logits[0], (list, tuple)):
        raise TypeError("cross_entropy: a batch of logits needs a list of class indices as target")
    return _one_cross_entropy(logits, target, "cross_entropy")


def l2_penalty(params: Sequence[Value], alpha: float) -> Any:
    """alpha * sum(p^2) over the parameters: one dot node times alpha."""
    params = list(params)
    alpha = _number(alpha, "l2_penalty alpha")
    if alpha < 0 or math.isinf(alpha):
        raise ValueError(f"l2_penalty: alpha must be a finite number >= 0, got {alpha!r}")
    return alpha * autograd.dot(params, params)
