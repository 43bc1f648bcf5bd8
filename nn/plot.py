"""Decision boundaries drawn with characters, for terminals: no plotting library needed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import autograd

from .module import Module

BACKGROUND = ". :-=~^"  # the region the model assigns to class 0, 1, 2, ...
MARKERS = "ox+*#@%"  # the data points of class 0, 1, 2, ...


def class_index(output: Any, label_set: Sequence[Any] = (0, 1)) -> int:
    """The class a model output stands for: argmax of a list, else 1 for a positive score, 0 otherwise."""
    if isinstance(output, (list, tuple)):
        scores = [float(s) for s in output]
        return max(range(len(scores)), key=scores.__getitem__)
    return 1 if float(output) > 0 else 0


def _label_class(label: Any) -> int:
    # ±1 labels: -1 is class 0; class indices stay as they are.
    return 0 if label == -1 else int(label)


def decision_boundary(
    model: Module, X: Sequence[Sequence[float]], y: Sequence[Any], width: int = 64, height: int = 24
) -> str:
    """The model's predicted class over the data's bounding box as background characters, with the
    data points on top (o, x, + ... by true class; a capital marks a point the model gets wrong)."""
    if width < 2 or height < 2:
        raise ValueError(f"decision_boundary: the plot needs at least 2x2 characters, got {width}x{height}")
    xs, ys = [p[0] for p in X], [p[1] for p in X]
    pad_x, pad_y = 0.1 * ((max(xs) - min(xs)) or 1.0), 0.1 * ((max(ys) - min(ys)) or 1.0)
    x0, x1, y0, y1 = min(xs) - pad_x, max(xs) + pad_x, min(ys) - pad_y, max(ys) + pad_y

    def column(x: float) -> int:
        return round((x - x0) / (x1 - x0) * (width - 1))

    def row(y: float) -> int:
        return round((y1 - y) / (y1 - y0) * (height - 1))  # row 0 is the top

    with autograd.no_grad():
        grid = [
            [
                BACKGROUND[
                    class_index(model([x0 + (x1 - x0) * c / (width - 1), y1 - (y1 - y0) * r / (height - 1)]))
                    % len(BACKGROUND)
                ]
                for c in range(width)
            ]
            for r in range(height)
        ]
        for point, label in zip(X, y, strict=True):
            cls = _label_class(label)
            marker = MARKERS[cls % len(MARKERS)]
            if class_index(model(list(point))) != cls:
                marker = marker.upper() if marker.isalpha() else "!"
            grid[row(point[1])][column(point[0])] = marker
    border = "+" + "-" * width + "+"
    return "\n".join([border, *("|" + "".join(r) + "|" for r in grid), border])
