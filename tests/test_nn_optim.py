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


# ---- state dicts: resuming gives the same floats as never stopping ---------------------------


RESUMABLE = {
    "SGD": lambda ps: nn.SGD(ps, lr=0.05),
    "SGD momentum": lambda ps: nn.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
    "SGD Nesterov schedule": lambda ps: nn.SGD(
        ps, lr=nn.linear_schedule(0.1, 0.01, 6), momentum=0.5, nesterov=True
    ),
    "Adam": lambda ps: nn.Adam(ps, lr=0.05, weight_decay=0.1),
    "Adam cosine": lambda ps: nn.Adam(ps, lr=nn.cosine_schedule(0.1, 0.0, 8), betas=(0.8, 0.99)),
    "AdamW": lambda ps: nn.AdamW(ps, lr=0.05, weight_decay=0.3),
}


def train(model, opt, steps, X, y):
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.mse_loss([model(x) for x in X], y)
        loss.backward()
        opt.step()


@pytest.mark.parametrize("name", list(RESUMABLE))
@pytest.mark.parametrize("via", ["dict", "json", "pickle"])
def test_save_load_continue_is_bit_identical_to_an_uninterrupted_run(name, via):
    import json
    import pickle

    X, y = [[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8]], [0.3, -0.7, 1.1]
    make = RESUMABLE[name]
    straight = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    opt = make(straight.parameters())
    train(straight, opt, 10, X, y)

    first = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    opt1 = make(first.parameters())
    train(first, opt1, 4, X, y)
    model_state, opt_state = first.state_dict(), opt1.state_dict()
    if via == "json":  # int keys become strings; numbers round-trip exactly
        model_state, opt_state = json.loads(json.dumps(model_state)), json.loads(json.dumps(opt_state))
    elif via == "pickle":
        model_state, opt_state = pickle.loads(pickle.dumps((model_state, opt_state)))
    resumed = nn.MLP(2, [4, 1], activation="tanh", seed=99)
    resumed.load_state_dict(model_state)
    opt2 = make(resumed.parameters())
    opt2.load_state_dict(opt_state)
    train(resumed, opt2, 6, X, y)
    assert resumed.state_dict() == straight.state_dict()  # ==: bit for bit
    assert opt2.state_dict() == opt.state_dict()


def test_state_dict_layout_is_torch_like():
    ps = [Value(1.0), Value(2.0)]
    opt = nn.Adam(ps, lr=0.1)
    autograd.sum([p * p for p in ps]).backward()
    opt.step()
    state = opt.state_dict()
    assert state["steps"] == 1 and state["param_groups"][0]["params"] == [0, 1]
    assert state["param_groups"][0]["lr"] == 0.1 and state["param_groups"][0]["betas"] == [0.9, 0.999]
    assert set(state["state"][0]) == {"step", "exp_avg", "exp_avg_sq"} and state["state"][1]["step"] == 1
    sgd = nn.SGD(ps, lr=nn.linear_schedule(1.0, 0.1, 10), momentum=0.9)
    assert sgd.state_dict()["param_groups"][0]["lr"] is None  # a schedule is code, not state


BAD_STATES = {
    "not a dict": [1, 2],
    "missing steps": {"state": {}, "param_groups": []},
    "bool steps": lambda s: s.update(steps=True),
    "negative steps": lambda s: s.update(steps=-1),
    "two groups": lambda s: s["param_groups"].append(dict(s["param_groups"][0])),
    "wrong params": lambda s: s["param_groups"][0].update(params=[0]),
    "bad lr": lambda s: s["param_groups"][0].update(lr=-1.0),
    "zero eps": lambda s: s["param_groups"][0].update(eps=0.0),
    "index out of range": lambda s: s["state"].update({5: dict(s["state"][0])}),
    "string index": lambda s: s["state"].update({"x": dict(s["state"][0])}),
    "nan moment": lambda s: s["state"][0].update(exp_avg=float("nan")),
    "string moment": lambda s: s["state"][1].update(exp_avg_sq="0.1"),
    "float step": lambda s: s["state"][0].update(step=1.5),
    "missing moment": lambda s: s["state"][0].pop("exp_avg"),
}


@pytest.mark.parametrize("case", list(BAD_STATES))
def test_a_bad_optimizer_state_dict_changes_nothing(case):
    ps = [Value(1.0), Value(-2.0)]
    opt = nn.Adam(ps, lr=0.1)
    autograd.sum([p * p for p in ps]).backward()
    opt.step()
    good = opt.state_dict()
    change = BAD_STATES[case]
    if callable(change):
        state = opt.state_dict()
        change(state)
    else:
        state = change
    with pytest.raises(nn.CheckpointError):
        opt.load_state_dict(state)
    assert opt.state_dict() == good


def test_param_groups_have_their_own_settings_like_torch():
    torch = pytest.importorskip("torch")
    a, b = [Value(x) for x in START[:2]], [Value(x) for x in START[2:]]
    opt = nn.SGD([{"params": a}, {"params": b, "lr": 0.01, "weight_decay": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.params == a + b
    ta = torch.tensor(START[:2], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(START[2:], dtype=torch.float64, requires_grad=True)
    topt = torch.optim.SGD(
        [{"params": [ta]}, {"params": [tb], "lr": 0.01, "weight_decay": 0.5}], lr=0.1, momentum=0.9
    )
    for _ in range(5):
        opt.zero_grad()
        objective(a + b, autograd.sin, autograd.sum).backward()
        opt.step()
        topt.zero_grad()
        objective([*ta.unbind(), *tb.unbind()], torch.sin, lambda xs: torch.stack(xs).sum()).backward()
        topt.step()
    assert [p.data for p in a + b] == pytest.approx(ta.tolist() + tb.tolist(), rel=1e-12)
    # Changing a group's lr between steps works as in torch.
    opt.param_groups[0]["lr"] = 0.0
    before_a, before_b = [p.data for p in a], [p.data for p in b]
    opt.step()
    assert [p.data for p in a] == before_a and [p.data for p in b] != before_b


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: nn.SGD([{"params": p, "lr": -1.0}], lr=0.1), "param group 0|lr"),
        (
            lambda p: nn.SGD([{"params": p[:1]}, {"params": p[1:], "momentum": float("inf")}], lr=0.1),
            "group 1",
        ),
        (lambda p: nn.SGD([{"params": p, "betas": (0.9, 0.9)}], lr=0.1), "unknown setting 'betas'"),
        (lambda p: nn.SGD([{"lr": 0.1}], lr=0.1), "'params'"),
        (lambda p: nn.SGD([{"params": p[:1]}, {"params": p[:1]}], lr=0.1), "more than once"),
        (lambda p: nn.SGD([p[0], {"params": p[1:]}], lr=0.1), "mixes"),
        (lambda p: nn.Adam(p, eps=0.0), "eps must be > 0"),
        (lambda p: nn.Adam(p, lr=float("inf")), "lr"),
        (lambda p: nn.Adam(p, lr=float("nan")), "lr"),
        (lambda p: nn.SGD(p, lr=0.1, nesterov="yes", momentum=0.9), "nesterov"),
    ],
)
def test_bad_groups_are_rejected_at_construction(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make([Value(1.0), Value(2.0)])


def test_the_issues_zero_division_is_refused_at_construction_and_a_failing_step_changes_nothing():
    ps = [Value(float(i)) for i in range(13)]
    with pytest.raises(ValueError, match="eps"):
        nn.Adam(ps, eps=0.0)
    opt = nn.Adam(ps, lr=0.1)
    for p in ps:
        p.grad = 1.0
    ps[7].grad = "not a number"  # the 8th gradient cannot be used: nothing may move
    before = [p.data for p in ps]
    with pytest.raises(TypeError, match="gradient"):
        opt.step()
    assert [p.data for p in ps] == before and opt.steps == 0 and opt.state == {}
    opt.param_groups[0]["lr"] = -0.5  # a bad setting changed after construction is caught before any write
    ps[7].grad = 1.0
    with pytest.raises(ValueError, match="lr"):
        opt.step()
    assert [p.data for p in ps] == before


@pytest.mark.parametrize("name", list(RESUMABLE))
def test_optimizers_pickle_and_deepcopy_with_their_model(name):
    import copy
    import pickle

    X, y = [[0.5, -1.0], [1.5, 0.2]], [0.3, -0.7]
    model = nn.MLP(2, [3, 1], seed=0)
    opt = RESUMABLE[name](model.parameters())
    train(model, opt, 3, X, y)
    for clone_model, clone_opt in (pickle.loads(pickle.dumps((model, opt))), copy.deepcopy((model, opt))):
        assert clone_opt.params == clone_model.parameters()  # the same Values, still shared
        train(clone_model, clone_opt, 2, X, y)
    train(model, opt, 2, X, y)
    assert clone_model.state_dict() == model.state_dict()
