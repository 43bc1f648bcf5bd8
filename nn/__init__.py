"""chaingrad's neural-network library: modules, losses, optimizers, data and training on `autograd`.

No calculus lives here: every model and loss is composed of `autograd` operations.
"""

from . import data
from .checkpoint import CheckpointError
from .data import batches, make_blobs, make_moons, make_spiral, make_xor
from .layers import MLP, Layer, Neuron
from .losses import binary_cross_entropy_with_logits, cross_entropy, hinge_loss, l2_penalty, mse_loss
from .module import Module, load
from .optim import SGD, Adam, AdamW, Optimizer
from .progress import ProgressBar
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
]
