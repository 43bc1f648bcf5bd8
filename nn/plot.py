"""Decision boundaries drawn with characters, for terminals: no plotting library needed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import autograd

from .module import Module

# The region the model assigns to class 0, 1, 2, ... (class 1 is left blank).
BACKGROUND = ". :'~\"`"
# The data points of class 0, 1, 2, ...: letters, so that a capital marks a point the model gets
# wrong. None of these characters draws the frame (+ - |) or a region.
MARKERS = "oxvszwk"
CORNER, HORIZONTAL, VERTICAL = "+", "-", "|"


def class_index(output: Any, label_set: Sequence[Any] = (0, 1)) -> int:
    """The class a model output stands for: argmax of a list, else 1 for a positive score, 0 otherwise."""
    if isinstance(output, (list, tuple)):
        scores = [float(s) for s in output]
        return max(range(len(scores)), key=scores.__getitem__)
    return 1 if float(output) > 0 else 0


def _label_class(label: Any) -> int:
    # ±1 labels: -1 is class 0; class indices stay as they are.
    return 0 if label == -1 else int(label)


def _class_names(y: Sequence[Any], n_classes: int) -> list[str]:
    """How the key names each class: -1 and 1 for ±1 labels, else the class index."""
    if set(y) <= {-1, 1}:
        return ["-1", "1"][:n_classes] + [str(c) for c in range(2, n_classes)]
    return [str(c) for c in range(n_classes)]


def legend(y: Sequence[Any], n_classes: int | None = None) -> str:
    """The key under a decision boundary: each class's marker, its capital and its region."""
    n = max(n_classes or 0, 2, *(_label_class(label) + 1 for label in y))
    names = _class_names(y, n)
    width = max(len(name) for name in names)
    lines = []
    for c, name in enumerate(names):
        marker, region = MARKERS[c % len(MARKERS)], BACKGROUND[c % len(BACKGROUND)]
        shown = "blank" if region == " " else f"'{region}'"
        lines.append(
            f"class {name:>{width}}: points {marker} ({marker.upper()} when the model gets one wrong), "
            f"region {shown}"
        )
    return "key  " + "\n     ".join(lines)


def decision_boundary(
    model: Module,
    X: Sequence[Sequence[float]],
    y: Sequence[Any],
    width: int = 64,
    height: int = 24,
    key: bool = True,
) -> str:
    """The model's predicted class over the data's bounding box as background characters, with the
    data points on top (o, x, v ... by true class; a capital marks a point the model gets wrong),
    framed, and with a key under it unless `key=False`."""
    if width < 2 or height < 2:
        raise ValueError(f"decision_boundary: the plot needs at least 2x2 characters, got {width}x{height}")
    xs, ys = [p[0] for p in X], [p[1] for p in X]
    pad_x, pad_y = 0.1 * ((max(xs) - min(xs)) or 1.0), 0.1 * ((max(ys) - min(ys)) or 1.0)
    x0, x1, y0, y1 = min(xs) - pad_x, max(xs) + pad_x, min(ys) - pad_y, max(ys) + pad_y

    def column(x: float) -> int:
        return round((x - x0) / (x1 - x0) * (width - 1))

    def row(y: float) -> int:
        return round((y1 - y) / (y1 - y0) * (height - 1))  # row 0 is the top

    n_classes = 2
    with autograd.no_grad():
        grid = []
        for r in range(height):
            line = []
            for c in range(width):
                predicted = class_index(
                    model([x0 + (x1 - x0) * c / (width - 1), y1 - (y1 - y0) * r / (height - 1)])
                )
                n_classes = max(n_classes, predicted + 1)
                line.append(BACKGROUND[predicted % len(BACKGROUND)])
            grid.append(line)
        wrong_cells = set()  # a misclassified point is never hidden under a right one in its cell
        for point, label in zip(X, y, strict=True):
            cls = _label_class(label)
            marker = MARKERS[cls % len(MARKERS)]
            r, c = row(point[1]), column(point[0])
            if class_index(model(list(point))) != cls:
                grid[r][c] = marker.upper()
                wrong_cells.add((r, c))
            elif (r, c) not in wrong_cells:
                grid[r][c] = marker
    border = CORNER + HORIZONTAL * width + CORNER
    lines = [border, *(VERTICAL + "".join(r) + VERTICAL for r in grid), border]
    if key:
        lines.append(legend(y, n_classes))
    return "\n".join(lines)
