"""Terminal decision boundaries: the grid, the regions, the markers and the key."""

import pytest

import nn
from autograd import Value
from nn.plot import BACKGROUND, CORNER, HORIZONTAL, MARKERS, VERTICAL, decision_boundary, legend


class LeftOrRight(nn.Module):
    """Score x0: positive on the right half-plane."""

    def forward(self, x):
        return Value(x[0]) if not isinstance(x[0], Value) else x[0]


def grid_rows(text: str) -> list[str]:
    """The plot's rows inside the frame."""
    lines = text.splitlines()
    frame = [i for i, line in enumerate(lines) if line.startswith(CORNER)]
    return [line[1:-1] for line in lines[frame[0] + 1 : frame[1]]]


def test_regions_and_points_are_drawn():
    X = [[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]
    y = [-1, 1, 1]  # the third point sits on the negative side: misclassified
    lines = decision_boundary(LeftOrRight(), X, y, width=20, height=10, key=False).splitlines()
    assert len(lines) == 12 and all(len(line) == 22 for line in lines)
    rows = grid_rows("\n".join(lines))
    assert rows[4][0] == "." and rows[4][-1] == " "  # left is class 0, right is class 1

    def where(marker):
        (found,) = [(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch == marker]
        return found

    # Rows grow downwards, columns rightwards; the data fill the box but for a 10% margin.
    assert where("o") > (5, 0) and where("o")[1] < 5  # (-1, -1): bottom left, right class 0
    assert where("x")[0] < 5 and where("x")[1] > 15  # (1, 1): top right, right class 1
    assert where("X")[0] < 5 and where("X")[1] < 5  # (-1, 1): class 1 predicted 0, a capital


def test_markers_regions_and_the_frame_use_distinct_characters():
    frame = {CORNER, HORIZONTAL, VERTICAL}
    markers = set(MARKERS) | set(MARKERS.upper())
    assert len(MARKERS) == len(set(MARKERS)) == len(set(MARKERS.upper()))  # every capital is new
    assert all(m.isalpha() for m in MARKERS)  # so each class has a capital for its errors
    assert len(BACKGROUND) == len(set(BACKGROUND))
    assert not (frame & markers) and not (frame & set(BACKGROUND)) and not (markers & set(BACKGROUND))


def test_a_misclassified_point_is_never_hidden_by_a_right_one_in_the_same_cell():
    # Two points a hair apart land in one character cell; the one the model gets wrong must show,
    # whichever order they come in.
    for X, y in [([[-1.0, 0.0], [-1.0, 1e-9], [1.0, 1.0]], [1, -1, 1]),
                 ([[-1.0, 1e-9], [-1.0, 0.0], [1.0, 1.0]], [-1, 1, 1])]:  # fmt: skip
        rows = grid_rows(decision_boundary(LeftOrRight(), X, y, width=20, height=10))
        text = "".join(rows)
        assert "X" in text and "o" not in text


def test_the_key_names_each_class_its_marker_its_capital_and_its_region():
    X, y = [[-1.0, -1.0], [1.0, 1.0]], [-1, 1]
    text = decision_boundary(LeftOrRight(), X, y, width=20, height=10)
    key = text.splitlines()[12:]
    assert key == [
        "key  class -1: points o (O when the model gets one wrong), region '.'",
        "     class  1: points x (X when the model gets one wrong), region blank",
    ]
    three = legend([0, 2, 1]).splitlines()
    assert len(three) == 3 and "class 2: points v (V when" in three[2] and three[2].endswith("region ':'")


@pytest.mark.parametrize("n_classes", [2, 3])
def test_multiclass_models_use_argmax(n_classes):
    model = nn.MLP(2, [3, n_classes], seed=0)
    X, y = nn.make_blobs(12, centers=n_classes, seed=0)
    text = decision_boundary(model, X, y, width=10, height=5)
    allowed = set(BACKGROUND[:n_classes]) | set(MARKERS[:n_classes]) | set(MARKERS[:n_classes].upper())
    assert set("".join(grid_rows(text))) <= allowed
    assert text.count("points ") == n_classes
