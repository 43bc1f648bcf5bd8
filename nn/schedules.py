"""Learning-rate schedules: functions of the step number k = 0, 1, 2, ... (the number of steps taken)."""

from __future__ import annotations

import math
from collections.abc import Callable

Schedule = Callable[[int], float]


def _check(start: float, end: float, steps: int, where: str) -> None:
    for name, x in (("start", start), ("end", end)):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0:
            raise ValueError(f"{where}: {name} must be a finite number >= 0, got {x!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"{where}: steps must be a positive int, got {steps!r}")


class LinearSchedule:
    """lr(k) = start + (end - start) k / steps, then `end` from step `steps` on (picklable)."""

    def __init__(self, start: float, end: float, steps: int) -> None:
        _check(start, end, steps, "linear_schedule")
        self.start, self.end, self.steps = start, end, steps

    def __call__(self, k: int) -> float:
        return self.start + (self.end - self.start) * min(k, self.steps) / self.steps

    def __repr__(self) -> str:
        return f"linear_schedule({self.start!r}, {self.end!r}, {self.steps!r})"


class CosineSchedule:
    """lr(k) = end + (start - end) (1 + cos(pi k / steps)) / 2, then `end` (picklable)."""

    def __init__(self, start: float, end: float, steps: int) -> None:
        _check(start, end, steps, "cosine_schedule")
        self.start, self.end, self.steps = start, end, steps

    def __call__(self, k: int) -> float:
        return (
            self.end
            + (self.start - self.end) * (1.0 + math.cos(math.pi * min(k, self.steps) / self.steps)) / 2.0
        )

    def __repr__(self) -> str:
        return f"cosine_schedule({self.start!r}, {self.end!r}, {self.steps!r})"


def linear_schedule(start: float, end: float, steps: int) -> Schedule:
    """lr(k) = start + (end - start) k / steps, then `end` from step `steps` on.

    `linear_schedule(1.0, 0.1, 100)` is micrograd's demo schedule 1.0 - 0.9 k / 100.
    """
    return LinearSchedule(start, end, steps)


def cosine_schedule(start: float, end: float = 0.0, steps: int = 100) -> Schedule:
    """lr(k) = end + (start - end) (1 + cos(pi k / steps)) / 2, then `end`: PyTorch's CosineAnnealingLR."""
    return CosineSchedule(start, end, steps)
