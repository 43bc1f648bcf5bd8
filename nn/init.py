"""Weight initialization schemes: seeded, reproducible draws for a layer's weights (biases start at 0)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

# An initializer draws one weight: init(rng, fan_in, fan_out) -> float.
Initializer = Callable[[random.Random, int, int], float]
Seed = int | random.Random | None


def uniform(rng: random.Random, fan_in: int, fan_out: int) -> float:
    """U(-1, 1), micrograd's initialization (ignores the layer's size)."""
    return rng.uniform(-1.0, 1.0)


def xavier(rng: random.Random, fan_in: int, fan_out: int) -> float:
    """Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)): variance 2 / (fan_in + fan_out)."""
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound)


def he(rng: random.Random, fan_in: int, fan_out: int) -> float:
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


def make_rng(seed: Any) -> random.Random:
    """A random.Random from an int seed, an existing generator (used as is) or None (unseeded)."""
    if seed is None:
        return random.Random()
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, int) and not isinstance(seed, bool):
        return random.Random(seed)
    raise TypeError(f"seed: expected an int, a random.Random or None, got {type(seed).__name__} {seed!r}")
