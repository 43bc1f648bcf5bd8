"""Weight initialization schemes: seeded, reproducible draws for a layer's weights (biases start at 0)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

# An initializer draws one weight: init(rng, fan_in, fan_out) -> float; rng is a random.Random or
# the `random` module itself (seed=None), which has the same functions.
Initializer = Callable[[Any, int, int], float]
Seed = int | random.Random | None


def uniform(rng: Any, fan_in: int, fan_out: int) -> float:
    """U(-1, 1), micrograd's initialization (ignores the layer's size)."""
    return rng.uniform(-1.0, 1.0)


def xavier(rng: Any, fan_in: int, fan_out: int) -> float:
    """Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)): variance 2 / (fan_in + fan_out)."""
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound)


def he(rng: Any, fan_in: int, fan_out: int) -> float:
    """He/Kaiming uniform for ReLU: U(-a, a) with a = sqrt(6 / fan_in), variance 2 / fan_in."""
    bound = math.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound)


SCHEMES: dict[str, Initializer] = {
    "uniform": uniform,
    "xavier": xavier,
    "glorot": xavier,
    "he": he,
    "kaiming": he,
}


def get_initializer(init: str | Initializer) -> Initializer:
    """The initializer named `init` (uniform, xavier/glorot, he/kaiming), or `init` itself if callable."""
    if callable(init):
        return init
    if isinstance(init, str) and init.lower() in SCHEMES:
        return SCHEMES[init.lower()]
    raise ValueError(f"init: unknown scheme {init!r}; choose one of {sorted(SCHEMES)} or pass a callable")


def make_rng(seed: Any) -> Any:
    """The generator for `seed`: a new random.Random(seed) for an int, a generator as is, or for None
    Python's global `random` (so that `random.seed(0)` fixes the draws, as micrograd users expect)."""
    if seed is None or seed is random:
        return random  # the module's functions draw from its hidden global generator
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, int) and not isinstance(seed, bool):
        return random.Random(seed)
    raise TypeError(f"seed: expected an int, a random.Random or None, got {type(seed).__name__} {seed!r}")
