"""chaingrad's engine: scalar reverse-mode automatic differentiation over a graph of `Value`s.

Not HIPS autograd (which uses the same import name): this package is distributed as `chaingrad`.
"""

from .engine import backward, gradients, topological_order
from .functional import grad, hessian, jvp, value_and_grad
from .modes import detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .ops import (
    abs,
    cos,
    dot,
    exp,
    leaky_relu,
    log,
    maximum,
    minimum,
    power,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    sum,
    tanh,
)
from .primitive import Primitive, primitive
from .value import Value

__version__ = "0.1.0"

__all__ = [
    "Value",
    "Primitive",
    "primitive",
    "backward",
    "gradients",
    "topological_order",
    "grad",
    "value_and_grad",
    "hessian",
    "jvp",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "detect_anomaly",
    "abs",
    "cos",
    "dot",
    "exp",
    "leaky_relu",
    "log",
    "maximum",
    "minimum",
    "power",
    "relu",
    "sigmoid",
    "sin",
    "softplus",
    "sqrt",
    "sum",
    "tanh",
]
