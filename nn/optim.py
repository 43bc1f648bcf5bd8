"""Optimizers updating `p.data` in place from `p.grad`: SGD (momentum, Nesterov), Adam and AdamW.

Each follows PyTorch's torch.optim update step for step (same formulas, same order of operations).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from autograd import Value

LearningRate = float | Callable[[int], float]


def _nonnegative(x: Any, name: str, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0:
        raise ValueError(f"{where}: {name} must be a finite number >= 0, got {x!r}")
    return float(x)


class Optimizer:
    """The parameters, the learning rate (a number or a schedule of the step number) and a step count."""

    def __init__(self, params: Iterable[Value], lr: LearningRate, where: str) -> None:
        self.params = list(params)
        self.where = where
        if not self.params:
            raise ValueError(f"{where}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"{where}: parameter {i} is a {type(p).__name__}, not a Value")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(f"{where}: a parameter appears more than once")
        if not callable(lr):
            _nonnegative(lr, "lr", where)
        self.lr = lr
        self.steps = 0  # steps taken so far; a schedule gets this number

    def current_lr(self) -> float:
        """The learning rate of the next step: the number, or the schedule at the current step count."""
        lr = self.lr(self.steps) if callable(self.lr) else self.lr
        return _nonnegative(lr, f"lr at step {self.steps}", self.where)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0."""
        for p in self.params:
            p.grad = 0.0

    def grads(self) -> list[float]:
        """The parameters' gradients as floats (a gradient with create_graph is a Value)."""
        return [float(p.grad) for p in self.params]

    def step(self) -> None:
        """Update every parameter once."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay (L2).

    As torch.optim.SGD (dampening 0): g = grad + wd p; b = g on the first step, else mu b + g;
    g = g + mu b (Nesterov) or b; p = p - lr g.
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: LearningRate,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, "SGD")
        self.momentum = _nonnegative(momentum, "momentum", "SGD")
        self.weight_decay = _nonnegative(weight_decay, "weight_decay", "SGD")
        if nesterov and self.momentum == 0.0:
            raise ValueError("SGD: Nesterov momentum needs momentum > 0")
        self.nesterov = bool(nesterov)
        self.buffers: list[float] | None = None

    def step(self) -> None:
        """p -= lr * (the gradient, with weight decay and momentum applied)."""
        lr, mu, wd = self.current_lr(), self.momentum, self.weight_decay
        grads = self.grads()
        if wd:
            grads = [g + wd * p.data for g, p in zip(grads, self.params, strict=True)]
        if mu:
            if self.buffers is None:
                self.buffers = list(grads)
            else:
                self.buffers = [mu * b + g for b, g in zip(self.buffers, grads, strict=True)]
            if self.nesterov:
                grads = [g + mu * b for g, b in zip(grads, self.buffers, strict=True)]
            else:
                grads = self.buffers
        for p, g in zip(self.params, grads, strict=True):
            p.data -= lr * g
        self.steps += 1


class Adam(Optimizer):
    """Adam (Kingma & Ba), as torch.optim.Adam; weight_decay adds wd * p to the gradient (L2)."""

    decoupled = False  # AdamW: decay the weights directly instead

    def __init__(
        self,
        params: Iterable[Value],
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        where = type(self).__name__
        super().__init__(params, lr, where)
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"{where}: betas must be a pair of numbers, got {betas!r}") from None
        for i, beta in enumerate((beta1, beta2)):
            if not 0.0 <= _nonnegative(beta, f"betas[{i}]", where) < 1.0:
                raise ValueError(f"{where}: betas[{i}] must lie in [0, 1), got {beta!r}")
        self.betas = (float(beta1), float(beta2))
        self.eps = _nonnegative(eps, "eps", where)
        self.weight_decay = _nonnegative(weight_decay, "weight_decay", where)
        self.m = [0.0] * len(self.params)  # first moment (mean of gradients)
        self.v = [0.0] * len(self.params)  # second moment (mean of squared gradients)

    def step(self) -> None:
        """One Adam update with bias-corrected moments."""
        lr, wd = self.current_lr(), self.weight_decay
        beta1, beta2 = self.betas
        self.steps += 1
        t = self.steps
        # PyTorch's order: step = lr / (1 - b1^t); denominator = sqrt(v) / sqrt(1 - b2^t) + eps.
        step_size = lr / (1.0 - beta1**t)
        bias_correction2_sqrt = math.sqrt(1.0 - beta2**t)
        eps, m, v = self.eps, self.m, self.v
        for i, p in enumerate(self.params):
            g = float(p.grad)
            if wd:
                if self.decoupled:
                    p.data *= 1.0 - lr * wd
                else:
                    g = g + wd * p.data
            m[i] += (g - m[i]) * (1.0 - beta1)  # lerp, as torch: m + (1 - b1)(g - m)
            v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
            p.data -= step_size * m[i] / (math.sqrt(v[i]) / bias_correction2_sqrt + eps)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter), as torch.optim.AdamW: p *= 1 - lr wd, then Adam without L2."""

    decoupled = True

    def __init__(
        self,
        params: Iterable[Value],
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)
