"""Neurons, layers and multilayer perceptrons, built from `autograd` operations only.

Their parameters are attributes, found like any module's: a Neuron has `weight` (nin Values) and
`bias`; a Layer has `weight` (nout rows: its neurons' own weight lists), `bias` and `neurons`; an
MLP has `layers`. So an MLP's names are `layers.0.weight[3][1]`, PyTorch's nn.Linear layout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import autograd
from autograd import Value

from .init import Initializer, Seed, get_initializer, make_rng
from .module import Module

# The elementwise activations a checkpoint may name: a fixed list, nothing else ("linear" is the
# identity: no graph node at all). Names on the second line are used when this autograd has them.
_NAMES = ("relu", "leaky_relu", "tanh", "sigmoid", "softplus", "sin", "cos", "abs", "exp")
_OPTIONAL = ("silu", "gelu", "elu", "selu", "softsign", "mish")
ACTIVATIONS: dict[str, Callable[[Any], Any] | None] = {"linear": None}
ACTIVATIONS.update({name: getattr(autograd, name) for name in _NAMES + _OPTIONAL if hasattr(autograd, name)})

Activation = str | Callable[[Any], Any] | None


def resolve_activation(activation: Activation) -> tuple[str, Callable[[Any], Any] | None]:
    """(name, function) for an activation given by name (see ACTIVATIONS), as a callable, or None."""
    if activation is None:
        return "linear", None
    if isinstance(activation, str):
        if activation in ACTIVATIONS:
            return activation, ACTIVATIONS[activation]
        raise ValueError(
            f"activation: unknown name {activation!r}; use one of {sorted(ACTIVATIONS)} or a callable"
        )
    if callable(activation):
        for name, fn in ACTIVATIONS.items():
            if fn is activation:
                return name, fn
        return getattr(activation, "__name__", repr(activation)), activation
    raise TypeError(
        f"activation: expected a name or a callable, got {type(activation).__name__} {activation!r}"
    )


def _saveable_name(name: str, fn: Callable[[Any], Any] | None, where: str) -> str:
    """The activation's name if loading a file finds the same function again by that name."""
    if name in ACTIVATIONS and ACTIVATIONS[name] is fn:
        return name
    raise ValueError(
        f"{where}: activation {name!r} is a custom callable that a checkpoint cannot name; "
        f"use one of {sorted(ACTIVATIONS)}"
    )


def _check_size(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what}: expected a positive int, got {n!r}")
    return n


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"{what}: expected one of {sorted(ACTIVATIONS)}, got {name!r:.60}")
    return name


def _check_keys(architecture: Any, keys: set[str], kind: str) -> dict[str, Any]:
    if not isinstance(architecture, dict) or architecture.get("type") != kind:
        raise ValueError(f"expected a {kind} architecture")
    missing, extra = sorted(keys - set(architecture)), sorted(set(architecture) - keys - {"type"})
    if missing:
        raise KeyError(f"{kind} architecture: missing key {missing[0]!r}")
    if extra:
        raise ValueError(f"{kind} architecture: unexpected key {extra[0]!r:.60}")
    return architecture


def as_inputs(x: Any, nin: int, where: str) -> list[Value]:
    """The input as a list of `nin` Values (numbers become constant leaves, made once per call)."""
    items: Any = [x] if isinstance(x, (Value, int, float)) and nin == 1 else x
    try:
        n = len(items)
    except TypeError:
        raise TypeError(
            f"{where}: expected a sequence of {nin} numbers, got {type(x).__name__} {x!r}"
        ) from None
    if n != nin:
        raise ValueError(f"{where}: expected {nin} inputs, got {n}")
    out = []
    for i, xi in enumerate(items):
        if isinstance(xi, Value):
            out.append(xi)
        else:
            try:
                out.append(Value(xi))
            except TypeError:
                raise TypeError(f"{where}: input {i} is {type(xi).__name__} {xi!r}, not a number") from None
    return out


class _Activated(Module):
    """Keeps `activation` (a name) and `fn`; pickles a named activation by its name."""

    activation: str
    fn: Callable[[Any], Any] | None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(vars(self))
        if ACTIVATIONS.get(self.activation, False) is self.fn:
            state["fn"] = None if self.fn is None else self.activation  # found again by name
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state.get("fn"), str):
            state["fn"] = ACTIVATIONS[state["fn"]]
        vars(self).update(state)


class Neuron(_Activated):
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
        self.weight = [Value(draw(rng, nin, fan_out)) for _ in range(nin)]
        self.bias = Value(0.0)

    @property
    def w(self) -> list[Value]:
        """The weights (micrograd's name for `weight`)."""
        return self.weight

    @property
    def b(self) -> Value:
        """The bias (micrograd's name for `bias`)."""
        return self.bias

    def forward(self, x: Any) -> Value:
        """The neuron's output for `nin` numbers or Values."""
        return self.apply(as_inputs(x, self.nin, repr(self)))

    def apply(self, xs: list[Value]) -> Value:
        """The output for inputs already converted to Values."""
        z = autograd.dot(self.weight, xs, self.bias)
        return z if self.fn is None else self.fn(z)

    def architecture(self) -> dict[str, Any]:
        """{'type': 'Neuron', 'nin': ..., 'activation': ...}."""
        return {
            "type": "Neuron",
            "nin": self.nin,
            "activation": _saveable_name(self.activation, self.fn, "Neuron"),
        }

    @classmethod
    def tensor_shapes(cls, architecture: dict[str, Any]) -> Iterator[tuple[str, tuple[int, ...]]]:
        """The shapes of the tensors `architecture` implies, checked, without building anything."""
        a = _check_keys(architecture, {"nin", "activation"}, "Neuron")
        nin = _check_size(a["nin"], "Neuron nin")
        _check_name(a["activation"], "Neuron activation")
        yield "weight", (nin,)
        yield "bias", ()

    @classmethod
    def from_architecture(cls, architecture: dict[str, Any]) -> Neuron:
        """A Neuron rebuilt from `architecture()`."""
        a = _check_keys(architecture, {"nin", "activation"}, "Neuron")
        return cls(a["nin"], _check_name(a["activation"], "Neuron activation"))

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(_Activated):
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
        self.activation, self.fn = resolve_activation(activation)
        rng = make_rng(seed)
        neurons = [Neuron(nin, activation, init, rng, fan_out=nout) for _ in range(nout)]
        # weight and bias first, so that they name the parameters; the neurons share the same Values.
        self.weight = [n.weight for n in neurons]
        self.bias = [n.bias for n in neurons]
        self.neurons = neurons

    def forward(self, x: Any) -> Value | list[Value]:
        """The layer's outputs: a list of nout Values, or one Value when nout == 1."""
        out = self.apply(as_inputs(x, self.nin, repr(self)))
        return out[0] if self.nout == 1 else out

    def apply(self, xs: list[Value]) -> list[Value]:
        """The list of outputs for inputs already converted to Values."""
        dot, fn = autograd.dot, self.fn
        if fn is None:
            return [dot(w, xs, b) for w, b in zip(self.weight, self.bias, strict=True)]
        return [fn(dot(w, xs, b)) for w, b in zip(self.weight, self.bias, strict=True)]

    def architecture(self) -> dict[str, Any]:
        """{'type': 'Layer', 'nin': ..., 'nout': ..., 'activation': ...}."""
        return {
            "type": "Layer",
            "nin": self.nin,
            "nout": self.nout,
            "activation": _saveable_name(self.activation, self.fn, "Layer"),
        }

    @classmethod
    def tensor_shapes(cls, architecture: dict[str, Any]) -> Iterator[tuple[str, tuple[int, ...]]]:
        """The shapes of the tensors `architecture` implies, checked, without building anything."""
        a = _check_keys(architecture, {"nin", "nout", "activation"}, "Layer")
        nin, nout = _check_size(a["nin"], "Layer nin"), _check_size(a["nout"], "Layer nout")
        _check_name(a["activation"], "Layer activation")
        yield "weight", (nout, nin)
        yield "bias", (nout,)

    @classmethod
    def from_architecture(cls, architecture: dict[str, Any]) -> Layer:
        """A Layer rebuilt from `architecture()`."""
        a = _check_keys(architecture, {"nin", "nout", "activation"}, "Layer")
        return cls(a["nin"], a["nout"], _check_name(a["activation"], "Layer activation"))

    def __repr__(self) -> str:
        return f"Layer({self.nin} -> {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multilayer perceptron: `activation` on hidden layers, `output_activation` on the last one.

    `MLP(2, [16, 16, 1])` is micrograd's moons network: ReLU, ReLU, linear; 337 parameters.
    """

    _KEYS = {"nin", "nouts", "activation", "output_activation"}

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

    def forward(self, x: Any) -> Value | list[Value]:
        """The network's output: one Value when the last layer has one output, else a list."""
        xs = as_inputs(x, self.nin, "MLP")
        for layer in self.layers:
            xs = layer.apply(xs)
        return xs[0] if len(xs) == 1 else xs

    def architecture(self) -> dict[str, Any]:
        """{'type': 'MLP', 'nin': ..., 'nouts': [...], 'activation': ..., 'output_activation': ...}."""
        last = self.layers[-1]
        hidden = self.layers[0] if len(self.layers) > 1 else None
        return {
            "type": "MLP",
            "nin": self.nin,
            "nouts": list(self.nouts),
            "activation": _saveable_name(hidden.activation, hidden.fn, "MLP") if hidden else "relu",
            "output_activation": _saveable_name(last.activation, last.fn, "MLP"),
        }

    @classmethod
    def tensor_shapes(cls, architecture: dict[str, Any]) -> Iterator[tuple[str, tuple[int, ...]]]:
        """The shapes of the tensors `architecture` implies, checked, without building anything."""
        a = _check_keys(architecture, cls._KEYS, "MLP")
        nin = _check_size(a["nin"], "MLP nin")
        nouts = a["nouts"]
        if not isinstance(nouts, list) or not nouts:
            raise ValueError(f"MLP nouts: expected a non-empty list of layer sizes, got {nouts!r:.60}")
        _check_name(a["activation"], "MLP activation")
        _check_name(a["output_activation"], "MLP output_activation")
        for i, nout in enumerate(nouts):  # lazily: the caller stops at its cap on the parameter count
            nout = _check_size(nout, f"MLP nouts[{i}]")
            yield f"layers.{i}.weight", (nout, nin)
            yield f"layers.{i}.bias", (nout,)
            nin = nout

    @classmethod
    def from_architecture(cls, architecture: dict[str, Any]) -> MLP:
        """An MLP rebuilt from `architecture()`."""
        a = _check_keys(architecture, cls._KEYS, "MLP")
        return cls(
            a["nin"],
            a["nouts"],
            _check_name(a["activation"], "MLP activation"),
            _check_name(a["output_activation"], "MLP output_activation"),
        )

    def __repr__(self) -> str:
        lines = [f"MLP({self.nin}, {self.nouts}, parameters={self.num_parameters()})"]
        lines += [f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers)]
        return "\n".join(lines)
