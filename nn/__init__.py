"""chaingrad's neural-network library: modules, losses, optimizers, data and training on `autograd`.

No calculus lives here: every model and loss is composed of `autograd` operations.
"""

# ruff: noqa: E402 (the clash check below must run before anything imports `autograd`)
import os as _os
from importlib import util as _util


def _check_autograd() -> None:
    """Raise ImportError unless the `autograd` Python finds is chaingrad's (not HIPS autograd's).

    Runs `autograd/_clash.py`, next to this package, by path: a HIPS `autograd/__init__.py` in
    its place is never executed.
    """
    here = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
    spec = _util.spec_from_file_location("_chaingrad_clash", _os.path.join(here, "autograd", "_clash.py"))
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(_util.module_from_spec(spec))  # the module checks on import


_check_autograd()

from autograd import __version__ as __version__

from . import data
from .checkpoint import CheckpointError
from .data import batches, make_blobs, make_moons, make_spiral, make_xor
from .layers import MLP, Layer, Neuron
from .losses import binary_cross_entropy_with_logits, cross_entropy, hinge_loss, l2_penalty, mse_loss
from .module import Module, load
from .optim import SGD, Adam, AdamW, Optimizer
from .progress import ProgressBar, ProgressLines
from .schedules import cosine_schedule, linear_schedule
from .train import accuracy, evaluate, fit

__all__ = [
    "Module",
    "Neuron",
    "Layer",
    "MLP",
    "load",
    "CheckpointError",
    "mse_loss",
    "hinge_loss",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "l2_penalty",
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "linear_schedule",
    "cosine_schedule",
    "data",
    "make_moons",
    "make_blobs",
    "make_spiral",
    "make_xor",
    "batches",
    "fit",
    "evaluate",
    "accuracy",
    "ProgressBar",
    "ProgressLines",
]
