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


def linear_schedule(start: float, end: float, steps: int) -> Schedule:
    """lr(k) = start + (end - start) k / steps, then `end` from step `steps` on.

    `linear_schedule(1.0, 0.1, 100)` is micrograd's demo schedule 1.0 - 0.9 k / 100.
    """
    _check(start, end, steps, "linear_schedule")

    def lr(k: int) -> float:
        return start + (end - start) * min(k, steps) / steps

    return lr


def cosine_schedule(start: float, end: float = 0.0, steps: int = 100) -> Schedule:
    """lr(k) = end + (start - end) (1 + cos(pi k / steps)) / 2, then `end`: PyTorch's CosineAnnealingLR."""
    _check(start, end, steps, "cosine_schedule")

    def lr(k: int) -> float:
        return end + (start - end) * (1.0 + math.cos(math.pi * min(k, steps) / steps)) / 2.0

    return lr
