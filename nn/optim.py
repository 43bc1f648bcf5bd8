"""Optimizers updating `p.data` in place from `p.grad`: SGD (momentum, Nesterov), Adam and AdamW.

Each follows PyTorch's torch.optim update step for step (same formulas, same order of operations),
with parameter groups (`[{"params": [...], "lr": 0.1}, ...]`, the other settings from the defaults)
and `state_dict()` / `load_state_dict()` for resuming bit-identically. A step computes every new
value first and then writes them all, so a step that fails changes no parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from autograd import Value

from .checkpoint import CheckpointError

LearningRate = float | Callable[[int], float]


def _nonnegative(x: Any, name: str, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0:
        raise ValueError(f"{where}: {name} must be a finite number >= 0, got {x!r}")
    return float(x)


class Optimizer:
    """Parameter groups (lists of Values with their settings), per-parameter state and a step count.

    Subclasses list their settings in `defaults`, check them in `check_group`, and compute the new
    values in `updates` without writing anything.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.where = type(self).__name__
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        groups: list[Any] = list(params) if not isinstance(params, Value) else [params]
        if not groups:
            raise ValueError(f"{self.where}: got an empty parameter list")
        if not all(isinstance(g, Mapping) for g in groups):
            if any(isinstance(g, Mapping) for g in groups):
                raise TypeError(f"{self.where}: params mixes Values and group dicts")
            groups = [{"params": groups}]
        seen: set[int] = set()
        for i, group in enumerate(groups):
            self.param_groups.append(self._make_group(group, i, seen))
        self.steps = 0  # steps taken so far; a schedule gets this number
        self.state: dict[int, dict[str, Any]] = {}  # by position in the flattened parameter list

    def _make_group(self, group: Mapping[str, Any], i: int, seen: set[int]) -> dict[str, Any]:
        where = f"{self.where} param group {i}" if i else self.where
        unknown = sorted(set(group) - set(self.defaults) - {"params"})
        if unknown:
            raise ValueError(f"{where}: unknown setting {unknown[0]!r}; known: {sorted(self.defaults)}")
        if "params" not in group:
            raise ValueError(f"{where}: a group needs a 'params' entry")
        params = group["params"]
        params = [params] if isinstance(params, Value) else list(params)
        if not params:
            raise ValueError(f"{where}: got an empty parameter list")
        for j, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"{where}: parameter {j} is a {type(p).__name__}, not a Value")
            if id(p) in seen:
                raise ValueError(f"{where}: a parameter appears more than once ({p!r})")
            seen.add(id(p))
        settings = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}}
        self.check_group(settings, where)
        return {"params": params, **settings}

    def check_group(self, settings: dict[str, Any], where: str) -> None:
        """Raise a ValueError naming a bad setting (called at construction and before each step)."""
        lr = settings["lr"]
        if not callable(lr):
            _nonnegative(lr, "lr", where)

    @property
    def params(self) -> list[Value]:
        """Every parameter of every group, in order."""
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def lr(self) -> LearningRate:
        """The first group's learning rate (a number or a schedule)."""
        return self.param_groups[0]["lr"]

    def current_lr(self, group: dict[str, Any] | None = None) -> float:
        """The learning rate of the next step: the number, or the schedule at the current step count."""
        group = self.param_groups[0] if group is None else group
        lr = group["lr"](self.steps) if callable(group["lr"]) else group["lr"]
        return _nonnegative(lr, f"lr at step {self.steps}", self.where)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = 0.0

    def step(self) -> None:
        """Update every parameter once; if anything fails, nothing is written."""
        plans = []
        index = 0
        for group in self.param_groups:
            self.check_group(group, self.where)
            lr = self.current_lr(group)
            params = group["params"]
            grads = [_grad(p, self.where) for p in params]
            indices = range(index, index + len(params))
            plans.append((params, *self.updates(group, lr, params, grads, indices)))
            index += len(params)
        # Everything is computed: write it.
        for params, new_data, new_state in plans:
            for p, x in zip(params, new_data, strict=True):
                p.data = x
            self.state.update(new_state)
        self.steps += 1

    def updates(
        self,
        group: dict[str, Any],
        lr: float,
        params: list[Value],
        grads: list[float],
        indices: Iterable[int],
    ) -> tuple[list[float], dict[int, dict[str, Any]]]:
        """(new data of each parameter, new state by index) for one group: computed, not written."""
        raise NotImplementedError

    # ---- state dicts --------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """{'state': {index: {...}}, 'param_groups': [{settings, 'params': [indices]}], 'steps': n}.

        Plain numbers (JSON-able once the int keys become strings), in torch.optim's layout; a
        schedule (a callable lr) is code, not state: it is stored as None and kept on loading.
        """
        groups, index = [], 0
        for group in self.param_groups:
            n = len(group["params"])
            settings = {k: (None if callable(v) else _plain(v)) for k, v in group.items() if k != "params"}
            groups.append({**settings, "params": list(range(index, index + n))})
            index += n
        state = {i: {k: _plain(v) for k, v in s.items()} for i, s in sorted(self.state.items())}
        return {"state": state, "param_groups": groups, "steps": self.steps}

    def load_state_dict(self, state_dict: Any) -> None:
        """Restore settings, per-parameter state and the step count; a bad dict changes nothing."""
        where = f"{self.where}.load_state_dict"
        if not isinstance(state_dict, Mapping) or set(state_dict) != {"state", "param_groups", "steps"}:
            raise CheckpointError(f"{where}: expected a dict with keys 'state', 'param_groups' and 'steps'")
        steps = state_dict["steps"]
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise CheckpointError(f"{where}: key 'steps': expected an int >= 0, got {steps!r:.60}")
        groups = state_dict["param_groups"]
        if not isinstance(groups, list) or len(groups) != len(self.param_groups):
            raise CheckpointError(
                f"{where}: key 'param_groups': expected a list of {len(self.param_groups)} groups"
            )
        new_groups, index = [], 0
        for i, (saved, group) in enumerate(zip(groups, self.param_groups, strict=True)):
            n = len(group["params"])
            if not isinstance(saved, Mapping) or set(saved) != set(group):
                raise CheckpointError(f"{where}: param_groups[{i}]: expected the keys {sorted(group)}")
            if saved["params"] != list(range(index, index + n)):
                raise CheckpointError(
                    f"{where}: param_groups[{i}]: expected {n} parameters from index {index}"
                )
            settings = {
                k: (group[k] if saved[k] is None and callable(group[k]) else _restore(saved[k]))
                for k in group
                if k != "params"
            }
            try:
                self.check_group(settings, f"{where}: param_groups[{i}]")
            except ValueError as err:
                raise CheckpointError(str(err)) from None
            new_groups.append({"params": group["params"], **settings})
            index += n
        new_state = self.check_state(state_dict["state"], index, where)
        self.param_groups, self.state, self.steps = new_groups, new_state, steps

    def check_state(self, state: Any, n: int, where: str) -> dict[int, dict[str, Any]]:
        """The per-parameter state of a state dict, checked against `state_keys` (int or str indices)."""
        if not isinstance(state, Mapping):
            raise CheckpointError(f"{where}: key 'state': expected a mapping of parameter index to state")
        out: dict[int, dict[str, Any]] = {}
        for key, entry in state.items():
            i = int(key) if isinstance(key, str) and key.isdigit() else key
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n:
                raise CheckpointError(f"{where}: state key {key!r:.60}: not a parameter index below {n}")
            if not isinstance(entry, Mapping) or set(entry) != set(self.state_keys):
                raise CheckpointError(f"{where}: state[{i}]: expected the keys {sorted(self.state_keys)}")
            checked = {}
            for k, kind in self.state_keys.items():
                x = entry[k]
                ok = (isinstance(x, int) and x >= 0) if kind is int else isinstance(x, (int, float))
                if isinstance(x, bool) or not ok or (kind is float and not math.isfinite(x)):
                    raise CheckpointError(
                        f"{where}: state[{i}][{k!r}]: expected a finite {kind.__name__}, got {x!r:.60}"
                    )
                checked[k] = kind(x)
            out[i] = checked
        return out

    state_keys: dict[str, type] = {}


def _grad(p: Value, where: str) -> float:
    try:
        return float(p.grad)  # a gradient made with create_graph is a Value
    except (TypeError, ValueError):
        raise TypeError(f"{where}: the gradient of {p!r} is {p.grad!r}, not a number") from None


def _plain(x: Any) -> Any:
    return list(x) if isinstance(x, tuple) else x


def _restore(x: Any) -> Any:
    return tuple(x) if isinstance(x, list) else x


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay (L2).

    As torch.optim.SGD (dampening 0): g = grad + wd p; b = g on the first step, else mu b + g;
    g = g + mu b (Nesterov) or b; p = p - lr g.
    """

    state_keys = {"momentum_buffer": float}

    def __init__(
        self,
        params: Iterable[Any],
        lr: LearningRate,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(
            params, {"lr": lr, "momentum": momentum, "nesterov": nesterov, "weight_decay": weight_decay}
        )

    def check_group(self, settings: dict[str, Any], where: str) -> None:
        """lr, momentum and weight_decay finite and >= 0; Nesterov needs momentum."""
        super().check_group(settings, where)
        _nonnegative(settings["momentum"], "momentum", where)
        _nonnegative(settings["weight_decay"], "weight_decay", where)
        if not isinstance(settings["nesterov"], bool):
            raise ValueError(f"{where}: nesterov must be True or False, got {settings['nesterov']!r}")
        if settings["nesterov"] and settings["momentum"] == 0:
            raise ValueError(f"{where}: Nesterov momentum needs momentum > 0")

    def updates(self, group, lr, params, grads, indices):
        """p - lr * (the gradient, with weight decay and momentum applied)."""
        mu, wd, nesterov = group["momentum"], group["weight_decay"], group["nesterov"]
        new_data, new_state = [], {}
        for i, p, g in zip(indices, params, grads, strict=True):
            if wd:
                g = g + wd * p.data
            if mu:
                old = self.state.get(i)
                b = g if old is None else mu * old["momentum_buffer"] + g
                new_state[i] = {"momentum_buffer": b}
                g = g + mu * b if nesterov else b
            new_data.append(p.data - lr * g)
        return new_data, new_state


class Adam(Optimizer):
    """Adam (Kingma & Ba), as torch.optim.Adam; weight_decay adds wd * p to the gradient (L2)."""

    decoupled = False  # AdamW: decay the weights directly instead
    state_keys = {"step": int, "exp_avg": float, "exp_avg_sq": float}

    def __init__(
        self,
        params: Iterable[Any],
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    def check_group(self, settings: dict[str, Any], where: str) -> None:
        """lr finite >= 0, betas in [0, 1), eps > 0, weight_decay finite >= 0."""
        super().check_group(settings, where)
        betas = settings["betas"]
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"{where}: betas must be a pair of numbers, got {betas!r}") from None
        for i, beta in enumerate((beta1, beta2)):
            if not 0.0 <= _nonnegative(beta, f"betas[{i}]", where) < 1.0:
                raise ValueError(f"{where}: betas[{i}] must lie in [0, 1), got {beta!r}")
        settings["betas"] = (float(beta1), float(beta2))
        if _nonnegative(settings["eps"], "eps", where) <= 0:
            raise ValueError(
                f"{where}: eps must be > 0 (it keeps the step finite where v = 0), got {settings['eps']!r}"
            )
        _nonnegative(settings["weight_decay"], "weight_decay", where)

    def updates(self, group, lr, params, grads, indices):
        """One Adam update with bias-corrected moments, per parameter."""
        (beta1, beta2), eps, wd = group["betas"], group["eps"], group["weight_decay"]
        new_data, new_state = [], {}
        for i, p, g in zip(indices, params, grads, strict=True):
            old = self.state.get(i, {"step": 0, "exp_avg": 0.0, "exp_avg_sq": 0.0})
            t = old["step"] + 1
            data = p.data
            if wd:
                if self.decoupled:
                    data = data * (1.0 - lr * wd)
                else:
                    g = g + wd * data
            m = old["exp_avg"] + (g - old["exp_avg"]) * (1.0 - beta1)  # lerp, as torch: m + (1 - b1)(g - m)
            v = beta2 * old["exp_avg_sq"] + (1.0 - beta2) * g * g
            # PyTorch's order: step = lr / (1 - b1^t); denominator = sqrt(v) / sqrt(1 - b2^t) + eps.
            step_size = lr / (1.0 - beta1**t)
            denominator = math.sqrt(v) / math.sqrt(1.0 - beta2**t) + eps
            new_data.append(data - step_size * m / denominator)
            new_state[i] = {"step": t, "exp_avg": m, "exp_avg_sq": v}
        return new_data, new_state


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter), as torch.optim.AdamW: p *= 1 - lr wd, then Adam without L2."""

    decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)
