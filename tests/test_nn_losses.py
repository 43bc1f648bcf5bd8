"""Losses against their formulas (by hand) and against PyTorch float64, values and gradients."""

import math

import pytest

import autograd
import nn
from autograd import Value

SCORES = [0.3, -1.7, 2.5, 0.95, -0.2, 1.0]
SIGNS = [1, -1, -1, 1, 1, -1]


def leaves(xs):
    return [Value(x) for x in xs]


def value_and_grads(loss_fn, xs, targets):
    vs = leaves(xs)
    loss = loss_fn(vs, targets)
    loss.backward()
    return loss.data, [v.grad for v in vs]


def test_mse_against_its_formula():
    targets = [0.5, -1.0, 2.0, 1.0, 0.0, 0.3]
    value, grads = value_and_grads(nn.mse_loss, SCORES, targets)
    n = len(SCORES)
    assert value == pytest.approx(
        sum((p - t) ** 2 for p, t in zip(SCORES, targets, strict=True)) / n, rel=1e-14
    )
    assert grads == pytest.approx([2 * (p - t) / n for p, t in zip(SCORES, targets, strict=True)], rel=1e-14)


def test_hinge_against_its_formula():
    value, grads = value_and_grads(nn.hinge_loss, SCORES, SIGNS)
    n = len(SCORES)
    margins = [1 - y * s for s, y in zip(SCORES, SIGNS, strict=True)]
    assert value == pytest.approx(sum(max(m, 0.0) for m in margins) / n, rel=1e-14)
    # d relu(1 - y s) / ds = -y where the margin is violated, else 0.
    assert grads == pytest.approx(
        [-y / n if m > 0 else 0.0 for m, y in zip(margins, SIGNS, strict=True)], rel=1e-14
    )


def test_bce_against_its_formula_with_hard_and_soft_labels():
    labels = [1, 0, 0, 1, 0.25, 0.8]
    value, grads = value_and_grads(nn.binary_cross_entropy_with_logits, SCORES, labels)
    n = len(SCORES)

    def sigmoid(z):
        return 1 / (1 + math.exp(-z))

    expected = [
        -(y * math.log(sigmoid(z)) + (1 - y) * math.log(1 - sigmoid(z)))
        for z, y in zip(SCORES, labels, strict=True)
    ]
    assert value == pytest.approx(sum(expected) / n, rel=1e-13)
    assert grads == pytest.approx(
        [(sigmoid(z) - y) / n for z, y in zip(SCORES, labels, strict=True)], rel=1e-13
    )


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    logits = [2.0, -1.0, 0.5, 3.0]
    for target in range(4):
        zs = leaves(logits)
        loss = nn.cross_entropy(zs, target)
        loss.backward()
        exps = [math.exp(z) for z in logits]
        softmax = [e / sum(exps) for e in exps]
        assert loss.data == pytest.approx(-math.log(softmax[target]), rel=1e-14)
        onehot = [1.0 if i == target else 0.0 for i in range(4)]
        assert [z.grad for z in zs] == pytest.approx(
            [s - o for s, o in zip(softmax, onehot, strict=True)], abs=1e-15
        )


def test_cross_entropy_batch_is_the_mean_of_samples():
    batch = [[1.0, 2.0, 0.0], [0.5, -0.5, 3.0]]
    targets = [0, 2]
    zs = [leaves(row) for row in batch]
    loss = nn.cross_entropy(zs, targets)
    singles = [nn.cross_entropy(leaves(row), t).data for row, t in zip(batch, targets, strict=True)]
    assert loss.data == pytest.approx(sum(singles) / 2, rel=1e-15)


def test_cross_entropy_is_stable_for_huge_logits():
    zs = leaves([1000.0, 0.0, -1000.0])
    loss = nn.cross_entropy(zs, 1)
    loss.backward()
    assert loss.data == pytest.approx(
        1000.0, rel=1e-15
    )  # -log softmax = logsumexp - z_1 = 1000 + log(1 + tiny)
    assert [z.grad for z in zs] == pytest.approx([1.0, -1.0, 0.0], abs=1e-300)


def test_bce_is_accurate_where_the_sigmoid_rounds_to_one():
    z = Value(40.0)
    loss = nn.binary_cross_entropy_with_logits(z, 1)
    assert loss.data == pytest.approx(math.log1p(math.exp(-40.0)), rel=1e-14)  # about 4.2e-18, not 0
    loss = nn.binary_cross_entropy_with_logits(Value(-800.0), 1)
    assert loss.data == pytest.approx(800.0, rel=1e-15)


def test_l2_penalty_is_alpha_times_the_sum_of_squares_as_one_dot_node():
    ps = leaves([0.5, -2.0, 3.0])
    penalty = nn.l2_penalty(ps, 1e-2)
    assert penalty.data == pytest.approx(1e-2 * (0.25 + 4 + 9), rel=1e-15)
    penalty.backward()
    assert [p.grad for p in ps] == pytest.approx([2e-2 * 0.5, 2e-2 * -2.0, 2e-2 * 3.0], rel=1e-15)
    ops = [n.op for n in autograd.topological_order(penalty) if n.op]
    assert sorted(ops) == ["dot", "mul"]


def test_losses_are_few_nodes():
    n = 50
    scores = leaves([0.1 * i - 2 for i in range(n)])
    loss = nn.mse_loss(scores, [0.0] * n)
    assert [x.op for x in autograd.topological_order(loss)].count("dot") == 1
    loss = nn.hinge_loss(scores, [1] * n)
    counted = [x.op for x in autograd.topological_order(loss) if x.op]
    assert counted.count("sum") == 1 and len(counted) == 2 * n + 2  # n sub, n relu, sum, div


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: nn.hinge_loss([Value(1.0)], [0]), ValueError, "must be \\+1 or -1"),
        (lambda: nn.hinge_loss([Value(1.0)], [1, 1]), ValueError, "1 predictions but 2 targets"),
        (lambda: nn.mse_loss([], []), ValueError, "empty batch"),
        (lambda: nn.mse_loss([Value(1.0)], ["a"]), TypeError, "target 0"),
        (lambda: nn.mse_loss([Value(1.0)], [math.nan]), ValueError, "NaN"),
        (lambda: nn.binary_cross_entropy_with_logits([Value(1.0)], [2]), ValueError, "in \\[0, 1\\]"),
        (lambda: nn.cross_entropy(leaves([1.0, 2.0]), 2), ValueError, "out of range for 2 logits"),
        (lambda: nn.cross_entropy(leaves([1.0, 2.0]), 1.0), TypeError, "must be an int"),
        (lambda: nn.cross_entropy([leaves([1.0, 2.0])], [0, 1]), ValueError, "1 samples"),
        (lambda: nn.cross_entropy([leaves([1.0])], 0), TypeError, "list of class indices"),
        (lambda: nn.mse_loss([[Value(1.0), Value(2.0)]], [1.0]), TypeError, "one Value per sample"),
        (lambda: nn.l2_penalty(leaves([1.0]), -1.0), ValueError, "alpha"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---- PyTorch float64 as the oracle ---------------------------------------------------------------


def torch_value_and_grads(torch_loss, xs):
    torch = pytest.importorskip("torch")
    t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    loss = torch_loss(t)
    loss.backward()
    return loss.item(), t.grad.tolist()


def test_mse_matches_torch():
    torch = pytest.importorskip("torch")
    targets = [0.5, -1.0, 2.0, 1.0, 0.0, 0.3]
    expected = torch_value_and_grads(
        lambda t: torch.nn.functional.mse_loss(t, torch.tensor(targets, dtype=torch.float64)), SCORES
    )
    value, grads = value_and_grads(nn.mse_loss, SCORES, targets)
    assert value == pytest.approx(expected[0], rel=1e-13)
    assert grads == pytest.approx(expected[1], rel=1e-13)


def test_hinge_matches_torch():
    torch = pytest.importorskip("torch")
    y = torch.tensor(SIGNS, dtype=torch.float64)
    expected = torch_value_and_grads(lambda t: torch.relu(1 - y * t).mean(), SCORES)
    value, grads = value_and_grads(nn.hinge_loss, SCORES, SIGNS)
    assert value == pytest.approx(expected[0], rel=1e-13)
    assert grads == pytest.approx(expected[1], rel=1e-13)


def test_bce_matches_torch_including_extreme_logits():
    torch = pytest.importorskip("torch")
    logits = SCORES + [40.0, -40.0, 700.0, -700.0]
    labels = [1, 0, 0, 1, 0.25, 0.8, 1, 0, 0, 1]
    y = torch.tensor(labels, dtype=torch.float64)
    expected = torch_value_and_grads(
        lambda t: torch.nn.functional.binary_cross_entropy_with_logits(t, y), logits
    )
    value, grads = value_and_grads(nn.binary_cross_entropy_with_logits, logits, labels)
    assert value == pytest.approx(expected[0], rel=1e-13)
    # torch rounds sigmoid(40) - 1 to 0; the exact gradient there is -4.2e-19 (checked by formula above).
    assert grads == pytest.approx(expected[1], rel=1e-13, abs=1e-17)


def test_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch")
    batch = [[2.0, -1.0, 0.5], [0.0, 0.0, 0.0], [300.0, -300.0, 1.0], [1.5, 2.5, -0.5]]
    targets = [2, 0, 1, 1]
    t = torch.tensor(batch, dtype=torch.float64, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(t, torch.tensor(targets))
    expected.backward()
    zs = [leaves(row) for row in batch]
    loss = nn.cross_entropy(zs, targets)
    loss.backward()
    assert loss.data == pytest.approx(expected.item(), rel=1e-13)
    for row, trow in zip(zs, t.grad.tolist(), strict=True):
        assert [z.grad for z in row] == pytest.approx(trow, rel=1e-12, abs=1e-300)
