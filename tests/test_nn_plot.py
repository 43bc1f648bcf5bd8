"""Terminal decision boundaries: the grid, the regions and the markers."""

import nn
from autograd import Value
from nn.plot import decision_boundary


class LeftOrRight(nn.Module):
    """Score x0: positive on the right half-plane."""

    def forward(self, x):
        return Value(x[0]) if not isinstance(x[0], Value) else x[0]


def test_regions_and_points_are_drawn():
    X = [[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]
    y = [-1, 1, 1]  # the third point sits on the negative side: misclassified
    text = decision_boundary(LeftOrRight(), X, y, width=20, height=10).splitlines()
    assert len(text) == 12 and all(len(line) == 22 for line in text)
    rows = [line[1:-1] for line in text[1:-1]]
    assert rows[4][0] == "." and rows[4][-1] == " "  # left is class 0, right is class 1

    def where(marker):
        (found,) = [(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch == marker]
        return found

    # Rows grow downwards, columns rightwards; the data fill the box but for a 10% margin.
    assert where("o") > (5, 0) and where("o")[1] < 5  # (-1, -1): bottom left, right class 0
    assert where("x")[0] < 5 and where("x")[1] > 15  # (1, 1): top right, right class 1
    assert where("X")[0] < 5 and where("X")[1] < 5  # (-1, 1): class 1 predicted 0, a capital


def test_multiclass_models_use_argmax():
    model = nn.MLP(2, [3], seed=0)
    X, y = nn.make_blobs(12, centers=3, seed=0)
    text = decision_boundary(model, X, y, width=10, height=5)
    assert set("".join(line[1:-1] for line in text.splitlines()[1:-1])) <= set(". :oxOX+!")
