"""chaingrad's engine: scalar reverse-mode automatic differentiation over a graph of `Value`s.

Not HIPS autograd (which uses the same import name): this package is distributed as `chaingrad`.
"""

# First: importing _clash checks for HIPS autograd in this environment (an ImportError that says
# what happened), before a clash can fail later in a way that names nothing.
from . import _clash  # noqa: F401
from .compiler import compile  # noqa: A004 (autograd.compile, as jax.jit or torch.compile)
from .engine import backward, gradients, topological_order
from .functional import grad, hessian, jacfwd, jacobian, jvp, value_and_grad, vjp
from .modes import detect_anomaly, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .ops import (
    abs,
    cos,
    dot,
    exp,
    leaky_relu,
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
from .serialization import register_primitive
from .value import Value

# isort: split
# The math library: these modules declare their entries into the one table (ops.TABLE).
from .elementary import (
    acos,
    acosh,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    cbrt,
    cosh,
    deg2rad,
    degrees,
    digamma,
    erf,
    erfc,
    exp2,
    expm1,
    fabs,
    gamma,
    hypot,
    lgamma,
    log1p,
    log2,
    log10,
    polygamma,
    pow,
    rad2deg,
    radians,
    sinc,
    sinh,
    square,
    tan,
)
from .elementary import log_with_base as log  # log(x) and log(x, base)
from .piecewise import (
    ceil,
    clip,
    copysign,
    divmod,
    floor,
    floor_divide,
    floordiv,
    fmod,
    mod,
    round,
    sign,
    trunc,
    where,
)
from .reductions import logsumexp, mean, prod, softmax

# The one place the version is written: pyproject.toml and nn read it from here.
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
    "vjp",
    "jacobian",
    "jacfwd",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "register_primitive",
    "detect_anomaly",
    "compile",
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
    # the math library (elementary.py, piecewise.py, reductions.py)
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cbrt", "cosh", "degrees", "digamma",
    "erf", "erfc", "exp2", "expm1", "fabs", "gamma", "hypot", "lgamma", "log1p", "log2", "log10",
    "polygamma", "pow", "radians", "sinc", "sinh", "square", "tan",
    "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "deg2rad", "rad2deg",
    "ceil", "clip", "copysign", "divmod", "floor", "floor_divide", "floordiv", "fmod", "mod", "round",
    "sign", "trunc", "where",
    "logsumexp", "mean", "prod", "softmax",
]
