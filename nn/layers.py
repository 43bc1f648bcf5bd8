"""Neurons, layers and multilayer perceptrons, built from `autograd` operations only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import autograd
from autograd import Value

from .init import Initializer, Seed, get_initializer, make_rng
from .module import Module

# Activations by name; None is the identity (no graph node at all).
ACTIVATIONS: dict[str, Callable[[Any], Any] | None] = {
    "relu": autograd.relu,
    "tanh": autograd.tanh,
    "sigmoid": autograd.sigmoid,
    "linear": None,
}

Activation = str | Callable[[Any], Any] | None


def resolve_activation(activation: Activation) -> tuple[str, Callable[[Any], Any] | None]:
    """(name, function) for an activation given by name, as a callable, or None (linear)."""
    if activation is None:
        return "linear", None
    if isinstance(activation, str):
        if activation in ACTIVATIONS:
            return activation, ACTIVATIONS[activation]
        # Any one-argument function of autograd by name (softplus, leaky_relu, sin...), as saved in files.
        fn = getattr(autograd, activation, None)
        if activation in autograd.__all__ and callable(fn) and not isinstance(fn, type):
            return activation, fn
        raise ValueError(
            f"activation: unknown name {activation!r}; use one of {sorted(ACTIVATIONS)}, "
            f"a function of autograd, or any callable"
        )
    if callable(activation):
        return getattr(activation, "__name__", repr(activation)), activation
    raise TypeError(
        f"activation: expected a name or a callable, got {type(activation).__name__} {activation!r}"
    )


def _saveable_name(name: str, fn: Callable[[Any], Any] | None, where: str) -> str:
    """The activation's name if loading a file can find the same function again by that name."""
    try:
        if resolve_activation(name)[1] is fn:
            return name
    except ValueError:
        pass
    raise ValueError(
        f"{where}: activation {name!r} is a custom callable that a checkpoint cannot name; "
        f"use a name ({sorted(ACTIVATIONS)}) or a function of autograd"
    )


def _check_size(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what}: expected a positive int, got {n!r}")
    return n


def as_inputs(x: Any, nin: int, where: str) -> list[Value]:
    """The input as a list of `nin` Values (numbers become constant leaves, made once per call)."""
    if isinstance(x, (Value, int, float)) and nin == 1:
        x = [x]
    try:
        n = len(x)
    except TypeError:
        raise TypeError(
            f"{where}: expected a sequence of {nin} numbers, got {type(x).__name__} {x!r}"
        ) from None
    if n != nin:
        raise ValueError(f"{where}: expected {nin} inputs, got {n}")
    out = []
    for i, xi in enumerate(x):
        if isinstance(xi, Value):
            out.append(xi)
        else:
            try:
                out.append(Value(xi))
            except TypeError:
                raise TypeError(f"{where}: input {i} is {type(xi).__name__} {xi!r}, not a number") from None
    return out


class Neuron(Module):
    """activation(w · x + b): one `dot` node, one add for the bias, one node for the activation."""

    def __init__(
        self,
        nin: int,
        activation: Activation = "relu",
        init: str | Initializer = "uniform",
        seed: Seed = None,
        fan_out: int = 1,
    ) -> None:
        self.nin = _check_size(nin, "Neuron nin")
        self.activation, self.fn = resolve_activation(activation)
        draw, rng = get_initializer(init), make_rng(seed)
        self.w = [Value(draw(rng, nin, fan_out)) for _ in range(nin)]
        self.b = Value(0.0)

    def named_tensors(self) -> dict[str, Any]:
        """{'weight': nin Values, 'bias': one Value}."""
        return {"weight": self.w, "bias": self.b}

    def forward(self, x: Any) -> Value:
        """The neuron's output for `nin` numbers or Values."""
        return self.apply(as_inputs(x, self.nin, repr(self)))

    def apply(self, xs: list[Value]) -> Value:
        """The output for inputs already converted to Values."""
        z = autograd.dot(self.w, xs, self.b)
        return z if self.fn is None else self.fn(z)

    def architecture(self) -> dict[str, Any]:
        """{'type': 'Neuron', 'nin': ..., 'activation': ...}."""
        return {
            "type": "Neuron",
            "nin": self.nin,
            "activation": _saveable_name(self.activation, self.fn, "Neuron"),
        }

    @classmethod
    def from_architecture(cls, architecture: dict[str, Any]) -> Neuron:
        """A Neuron rebuilt from `architecture()`."""
        return cls(architecture["nin"], architecture["activation"])

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """`nout` neurons on the same inputs; returns a bare Value when nout == 1 (as micrograd)."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: Activation = "relu",
        init: str | Initializer = "uniform",
        seed: Seed = None,
    ) -> None:
        self.nin = _check_size(nin, "Layer nin")
        self.nout = _check_size(nout, "Layer nout")
        rng = make_rng(seed)
        self.neurons = [Neuron(nin, activation, init, rng, fan_out=nout) for _ in range(nout)]
        self.activation, self.fn = resolve_activation(activation)

    def named_tensors(self) -> dict[str, Any]:
        """{'weight': nout rows of nin Values, 'bias': nout Values} (PyTorch's nn.Linear layout)."""
        return {"weight": [n.w for n in self.neurons], "bias": [n.b for n in self.neurons]}

    def forward(self, x: Any) -> Value | list[Value]:
        """The layer's outputs: a list of nout Values, or one Value when nout == 1."""
        out = self.apply(as_inputs(x, self.nin, repr(self)))
        return out[0] if self.nout == 1 else out

    def apply(self, xs: list[Value]) -> list[Value]:
        """The list of outputs for inputs already converted to Values."""
        dot, fn = autograd.dot, self.fn
        if fn is None:
            return [dot(n.w, xs, n.b) for n in self.neurons]
        return [fn(dot(n.w, xs, n.b)) for n in self.neurons]

    def architecture(self) -> dict[str, Any]:
        """{'type': 'Layer', 'nin': ..., 'nout': ..., 'activation': ...}."""
        return {
            "type": "Layer",
            "nin": self.nin,
            "nout": self.nout,
            "activation": _saveable_name(self.activation, self.fn, "Layer"),
        }

    @classmethod
    def from_architecture(cls, architecture: dict[str, Any]) -> Layer:
        """A Layer rebuilt from `architecture()`."""
        return cls(architecture["nin"], architecture["nout"], architecture["activation"])

    def __repr__(self) -> str:
        return f"Layer({self.nin} -> {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multilayer perceptron: `activation` on hidden layers, `output_activation` on the last one.

    `MLP(2, [16, 16, 1])` is micrograd's moons network: ReLU, ReLU, linear; 337 parameters.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: Activation = "relu",
        output_activation: Activation = "linear",
        init: str | Initializer = "uniform",
        seed: Seed = None,
    ) -> None:
        self.nin = _check_size(nin, "MLP nin")
        if isinstance(nouts, (int, str)) or not nouts:
            raise ValueError(f"MLP nouts: expected a non-empty list of layer sizes, got {nouts!r}")
        self.nouts = [_check_size(n, "MLP layer size") for n in nouts]
        resolve_activation(activation)  # checked even when there is no hidden layer to use it
        sizes = [self.nin, *self.nouts]
        rng = make_rng(seed)  # one generator, drawn layer after layer: the same seed, the same weights
        last = len(self.nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], output_activation if i == last else activation, init, rng)
            for i in range(len(self.nouts))
        ]

    def named_tensors(self) -> dict[str, Any]:
        """'layers.<i>.weight' (nout rows of nin) and 'layers.<i>.bias' for each layer, in order."""
        out: dict[str, Any] = {}
        for i, layer in enumerate(self.layers):
            for name, tensor in layer.named_tensors().items():
                out[f"layers.{i}.{name}"] = tensor
        return out

    def forward(self, x: Any) -> Value | list[Value]:
        """The network's output: one Value when the last layer has one output, else a list."""
        xs = as_inputs(x, self.nin, "MLP")
        for layer in self.layers:
            xs = layer.apply(xs)
        return xs[0] if len(xs) == 1 else xs

    def architecture(self) -> dict[str, Any]:
        """{'type': 'MLP', 'nin': ..., 'nouts': [...], 'activation': ..., 'output_activation': ...}."""
        first, last = self.layers[0], self.layers[-1]
        hidden = first if len(self.layers) > 1 else None
        return {
            "type": "MLP",
            "nin": self.nin,
            "nouts": list(self.nouts),
            "activation": _saveable_name(hidden.activation, hidden.fn, "MLP") if hidden else "relu",
            "output_activation": _saveable_name(last.activation, last.fn, "MLP"),
        }

    @classmethod
    def from_architecture(cls, architecture: dict[str, Any]) -> MLP:
        """An MLP rebuilt from `architecture()`."""
        return cls(
            architecture["nin"],
            architecture["nouts"],
            architecture["activation"],
            architecture["output_activation"],
        )

    def __repr__(self) -> str:
        lines = [f"MLP({self.nin}, {self.nouts}, parameters={self.num_parameters()})"]
        lines += [f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers)]
        return "\n".join(lines)
