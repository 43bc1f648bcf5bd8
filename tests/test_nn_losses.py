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


# ---- reductions, Value targets, label smoothing, pos_weight: every case against torch -----------

REDUCTIONS = ["mean", "sum", "none"]
SOFT = [1.0, 0.0, 0.3, 1.0, 0.75, 0.0]


def ours_all(loss_fn, preds, targets, target_values, **kwargs):
    """(values, grads of preds, grads of targets or None) with our loss."""
    ps = leaves(preds)
    ts = [Value(t) for t in targets] if target_values else list(targets)
    out = loss_fn(ps, ts, **kwargs)
    outs = out if isinstance(out, list) else [out]
    autograd.sum(outs).backward()
    return [o.data for o in outs], [p.grad for p in ps], [t.grad for t in ts] if target_values else None


def torch_all(torch_fn, preds, targets, target_values, reduction):
    torch = pytest.importorskip("torch")
    p = torch.tensor(preds, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(targets, dtype=torch.float64, requires_grad=target_values)
    out = torch_fn(p, t, reduction)
    out.sum().backward()
    values = out.reshape(-1).tolist()
    return values, p.grad.tolist(), t.grad.tolist() if target_values else None


def _torch_hinge(p, t, reduction):
    import torch

    terms = torch.relu(1 - t * p)
    return {"mean": terms.mean(), "sum": terms.sum(), "none": terms}[reduction]


def _f(name, **kw):
    def call(p, t, reduction):
        import torch

        return getattr(torch.nn.functional, name)(p, t, reduction=reduction, **kw)

    return call


def _bce_pos_weight(weight):
    def call(p, t, reduction):
        import torch

        return torch.nn.functional.binary_cross_entropy_with_logits(
            p, t, reduction=reduction, pos_weight=torch.tensor(weight, dtype=torch.float64)
        )

    return call


# name -> (our loss, its keyword arguments, torch's, targets, whether a Value target gets a gradient)
LOSS_CASES = {
    "mse": (nn.mse_loss, {}, _f("mse_loss"), [0.5, -1.0, 2.0, 1.0, 0.0, 0.3], True),
    "hinge": (nn.hinge_loss, {}, _torch_hinge, SIGNS, False),
    "bce hard": (
        nn.binary_cross_entropy_with_logits,
        {},
        _f("binary_cross_entropy_with_logits"),
        [1.0, 0.0, 0.0, 1.0, 1.0, 0.0],
        True,
    ),
    "bce soft": (nn.binary_cross_entropy_with_logits, {}, _f("binary_cross_entropy_with_logits"), SOFT, True),
    "bce pos_weight": (
        nn.binary_cross_entropy_with_logits,
        {"pos_weight": 2.5},
        _bce_pos_weight(2.5),
        SOFT,
        True,
    ),
    "bce hard pos_weight": (
        nn.binary_cross_entropy_with_logits,
        {"pos_weight": 0.4},
        _bce_pos_weight(0.4),
        [1.0, 0.0, 0.0, 1.0, 1.0, 0.0],
        True,
    ),
}


def assert_close(ours, theirs, what):
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15), f"{what}[{i}]: ours {a!r}, torch {b!r}"


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", list(LOSS_CASES))
@pytest.mark.parametrize("value_targets", [False, True])
def test_every_loss_and_reduction_matches_torch(case, reduction, value_targets):
    loss_fn, kwargs, torch_fn, targets, differentiable = LOSS_CASES[case]
    grads_of_targets = value_targets and differentiable
    ours = ours_all(loss_fn, SCORES, targets, value_targets, reduction=reduction, **kwargs)
    theirs = torch_all(torch_fn, SCORES, targets, grads_of_targets, reduction)
    assert_close(ours[0], theirs[0], "value")
    assert_close(ours[1], theirs[1], "d/dpred")
    if grads_of_targets:
        assert_close(ours[2], theirs[2], "d/dtarget")
    elif value_targets:
        assert ours[2] == [0.0] * len(targets)  # a discrete label gets no gradient


CE_BATCH = [[2.0, -1.0, 0.5], [0.0, 0.0, 0.0], [300.0, -300.0, 1.0], [1.5, 2.5, -0.5]]
CE_TARGETS = [2, 0, 1, 1]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5, 1.0])
def test_cross_entropy_reductions_and_label_smoothing_match_torch(reduction, smoothing):
    torch = pytest.importorskip("torch")
    t = torch.tensor(CE_BATCH, dtype=torch.float64, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(
        t, torch.tensor(CE_TARGETS), reduction=reduction, label_smoothing=smoothing
    )
    expected.sum().backward()
    zs = [leaves(row) for row in CE_BATCH]
    out = nn.cross_entropy(zs, CE_TARGETS, reduction=reduction, label_smoothing=smoothing)
    outs = out if isinstance(out, list) else [out]
    autograd.sum(outs).backward()
    assert_close([o.data for o in outs], expected.reshape(-1).tolist(), "value")
    for row, trow in zip(zs, t.grad.tolist(), strict=True):
        assert_close([z.grad for z in row], trow, "gradient")


def test_cross_entropy_takes_value_class_indices_and_one_sample_with_any_reduction():
    zs = leaves([0.5, 2.0, -1.0])
    assert nn.cross_entropy(zs, Value(1.0)).data == nn.cross_entropy(zs, 1).data
    assert nn.cross_entropy(zs, 1, reduction="none").data == nn.cross_entropy(zs, 1, reduction="sum").data
    with pytest.raises(TypeError, match="integer"):
        nn.cross_entropy(zs, Value(0.5))


def test_a_nan_logit_gives_a_nan_loss_not_a_finite_one():
    assert math.isnan(nn.cross_entropy(leaves([0.5, math.nan, 1.0]), 0).data)
    assert math.isnan(nn.cross_entropy(leaves([math.nan, 0.5, 1.0]), 2).data)


def test_single_predictions_with_reduction_none_give_one_value():
    loss = nn.mse_loss(Value(2.0), 0.5, reduction="none")
    assert isinstance(loss, Value) and loss.data == 2.25
    assert isinstance(nn.hinge_loss([Value(0.2)], [1], reduction="none"), list)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: nn.mse_loss([Value(1.0)], [1.0], reduction="avg"), "reduction"),
        (lambda: nn.hinge_loss([Value(1.0)], [1], reduction=None), "reduction"),
        (lambda: nn.cross_entropy(leaves([1.0, 2.0]), 0, label_smoothing=1.5), "label_smoothing"),
        (lambda: nn.binary_cross_entropy_with_logits([Value(1.0)], [1], pos_weight=-1.0), "pos_weight"),
        (lambda: nn.binary_cross_entropy_with_logits([Value(1.0)], [1], pos_weight="2"), "pos_weight"),
        (lambda: nn.mse_loss([Value(1.0)], [Value(math.nan)]), "NaN"),
        (lambda: nn.hinge_loss([Value(1.0)], [Value(0.5)]), "must be \\+1 or -1"),
    ],
)
def test_bad_new_arguments_raise_clear_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_cross_entropy_compiles_once_without_a_graph_cut():
    # The stable form takes no float() of a logit: a compiled step traces once for every batch
    # (a cut would warn and retrace whenever the largest logit changed).
    import warnings

    def loss(logits):
        return nn.cross_entropy(logits, [0, 2])

    step = autograd.compile(loss)
    batches = [[[0.5, -1.0, 2.0], [3.0, 0.1, -0.7]], [[-2.0, 4.0, 1.0], [0.0, 0.0, 9.0]]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for batch in batches:
            got = [leaves(row) for row in batch]
            value = step(got)
            want = [leaves(row) for row in batch]
            ref = loss(want)
            ref.backward()
            assert value == ref.data
            assert [v.grad for row in got for v in row] == [v.grad for row in want for v in row]
    assert step.programs == 1
