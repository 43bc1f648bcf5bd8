"""Optimizers against torch.optim step for step (float64), and their argument checks."""

import pytest

import autograd
import nn
from autograd import Value

START = [0.5, -1.5, 2.0, 0.1]
COEFFS = [1.0, 0.3, -0.7, 2.5]


def objective(ps, sin, sum_):
    """A smooth function whose gradient changes from step to step: sum(c p^2 + sin(3 p))."""
    return sum_([c * p * p + sin(3 * p) for c, p in zip(COEFFS, ps, strict=True)])


def run_ours(make_optimizer, steps):
    ps = [Value(x) for x in START]
    opt = make_optimizer(ps)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        objective(ps, autograd.sin, autograd.sum).backward()
        opt.step()
        history.append([p.data for p in ps])
    return history


def run_torch(make_optimizer, steps, lrs=None):
    torch = pytest.importorskip("torch")
    t = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([t])
    history = []
    for k in range(steps):
        if lrs is not None:
            for group in opt.param_groups:
                group["lr"] = lrs(k)
        opt.zero_grad()
        objective(list(t.unbind()), torch.sin, lambda xs: torch.stack(xs).sum()).backward()
        opt.step()
        history.append(t.detach().tolist())
    return history


def assert_same_trajectory(ours, theirs):
    for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-14), f"step {k + 1}"


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.02, momentum=0.5, nesterov=True, weight_decay=0.01),
]


@pytest.mark.parametrize("kwargs", SGD_CASES)
def test_sgd_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    theirs = run_torch(lambda ps: torch.optim.SGD(ps, **kwargs), 8)
    assert_same_trajectory(run_ours(lambda ps: nn.SGD(ps, **kwargs), 8), theirs)


ADAM_CASES = [
    dict(lr=0.1),
    dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.1, weight_decay=0.1),
]


@pytest.mark.parametrize("kwargs", ADAM_CASES)
def test_adam_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    theirs = run_torch(lambda ps: torch.optim.Adam(ps, **kwargs), 10)
    assert_same_trajectory(run_ours(lambda ps: nn.Adam(ps, **kwargs), 10), theirs)


@pytest.mark.parametrize("kwargs", [dict(lr=0.1), dict(lr=0.05, weight_decay=0.3, betas=(0.5, 0.9))])
def test_adamw_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    theirs = run_torch(lambda ps: torch.optim.AdamW(ps, **kwargs), 10)
    assert_same_trajectory(run_ours(lambda ps: nn.AdamW(ps, **kwargs), 10), theirs)


def test_a_schedule_sets_the_learning_rate_of_each_step():
    torch = pytest.importorskip("torch")
    schedule = nn.linear_schedule(0.2, 0.02, 6)
    theirs = run_torch(lambda ps: torch.optim.SGD(ps, lr=0.2, momentum=0.9), 8, lrs=schedule)
    assert_same_trajectory(run_ours(lambda ps: nn.SGD(ps, lr=schedule, momentum=0.9), 8), theirs)
    cosine = nn.cosine_schedule(0.1, 0.0, 5)
    theirs = run_torch(lambda ps: torch.optim.Adam(ps, lr=0.1), 7, lrs=cosine)
    assert_same_trajectory(run_ours(lambda ps: nn.Adam(ps, lr=cosine), 7), theirs)


def test_plain_sgd_step_by_hand():
    p = Value(2.0)
    opt = nn.SGD([p], lr=0.1)
    (p * p).backward()  # grad 4
    opt.step()
    assert p.data == pytest.approx(2.0 - 0.1 * 4.0)
    assert p.grad == 4.0  # a step does not clear the gradient
    opt.zero_grad()
    assert p.grad == 0.0


def test_first_adam_step_moves_each_parameter_by_about_lr():
    # With bias correction the first step is lr * g / (|g| + eps'): lr in the direction of -sign(g).
    ps = [Value(1.0), Value(-3.0)]
    opt = nn.Adam(ps, lr=0.01)
    autograd.sum([5 * ps[0], ps[1] * ps[1]]).backward()
    opt.step()
    assert [p.data for p in ps] == pytest.approx([1.0 - 0.01, -3.0 + 0.01], rel=1e-9)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: nn.SGD(p, lr=-0.1), "lr"),
        (lambda p: nn.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
        (lambda p: nn.SGD(p, lr=0.1, momentum=-1), "momentum"),
        (lambda p: nn.SGD([], lr=0.1), "empty"),
        (lambda p: nn.SGD([p[0], p[0]], lr=0.1), "more than once"),
        (lambda p: nn.SGD([1.0], lr=0.1), "not a Value"),
        (lambda p: nn.Adam(p, betas=(0.9, 1.0)), "betas\\[1\\]"),
        (lambda p: nn.Adam(p, betas=0.9), "pair"),
        (lambda p: nn.AdamW(p, weight_decay=float("nan")), "weight_decay"),
        (lambda p: nn.Adam(p, lr="fast"), "lr"),
    ],
)
def test_bad_hyperparameters_are_rejected(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make([Value(1.0)])


def test_a_schedule_returning_a_bad_rate_is_caught_at_the_step():
    opt = nn.SGD([Value(1.0)], lr=lambda k: -1.0)
    with pytest.raises(ValueError, match="lr at step 0"):
        opt.step()
