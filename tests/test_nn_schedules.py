"""Learning-rate schedules against their formulas and PyTorch's CosineAnnealingLR."""

import math

import pytest

import nn


def test_linear_schedule_is_micrograds_demo_schedule():
    lr = nn.linear_schedule(1.0, 0.1, 100)
    for k in range(100):
        assert lr(k) == pytest.approx(1.0 - 0.9 * k / 100, rel=1e-15)
    assert lr(100) == pytest.approx(0.1) and lr(500) == pytest.approx(0.1)


def test_cosine_schedule_formula_and_ends():
    lr = nn.cosine_schedule(0.5, 0.05, 10)
    assert lr(0) == 0.5
    assert lr(10) == pytest.approx(0.05) and lr(20) == pytest.approx(0.05)
    assert lr(5) == pytest.approx((0.5 + 0.05) / 2)
    assert lr(3) == pytest.approx(0.05 + 0.45 * (1 + math.cos(math.pi * 0.3)) / 2)


def test_cosine_schedule_matches_torch():
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=12, eta_min=0.01)
    ours = nn.cosine_schedule(0.3, 0.01, 12)
    for k in range(12):
        assert ours(k) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12, abs=1e-15)
        opt.step()
        sched.step()


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.linear_schedule(1.0, 0.1, 0),
        lambda: nn.linear_schedule(-1.0, 0.1, 10),
        lambda: nn.cosine_schedule(float("inf"), 0.0, 10),
        lambda: nn.cosine_schedule(1.0, 0.0, 2.5),
    ],
)
def test_bad_schedule_arguments_are_rejected(make):
    with pytest.raises(ValueError):
        make()
