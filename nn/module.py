"""`Module`: the base of every model: parameters, gradients, state dicts and checkpoint files."""

from __future__ import annotations

import os
from typing import Any

from autograd import Value

from . import checkpoint


class Module:
    """A model made of named tensors of `Value` parameters (a scalar, a vector or a list of rows).

    Subclasses implement `named_tensors()` and `forward()`; for `save`/`nn.load` also
    `architecture()` and `from_architecture()`. Everything else is built on those.
    """

    # Module classes by name, so that `nn.load` can rebuild a model from its file.
    registry: dict[str, type[Module]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Module.registry[cls.__name__] = cls

    def named_tensors(self) -> dict[str, Any]:
        """The model's tensors by name, in a stable order: a Value, a list of Values or a list of rows."""
        return {}

    def forward(self, *args: Any) -> Any:
        """The model's output for its input (subclasses define it)."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any) -> Any:
        return self.forward(*args)

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, Value) for every parameter, e.g. ('layers.0.weight[3][1]', Value): row 3, column 1."""
        out: list[tuple[str, Value]] = []
        for name, tensor in self.named_tensors().items():
            _flatten(tensor, name, out)
        return out

    def parameters(self) -> list[Value]:
        """Every parameter as a list of Values, in the order of `named_parameters()`."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many scalar parameters the model has."""
        return len(self.named_parameters())

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0."""
        for p in self.parameters():
            p.grad = 0.0

    def state_dict(self) -> dict[str, Any]:
        """The weights as plain floats by name, nested like the tensors (PyTorch's nn.Linear layout)."""
        return {name: checkpoint.to_floats(t) for name, t in self.named_tensors().items()}

    def load_state_dict(self, state: Any) -> None:
        """Load weights; every key, shape and number is checked first, so a bad dict changes nothing."""
        tensors = self.named_tensors()
        floats = checkpoint.check_state_dict(tensors, state)
        for name, tensor in tensors.items():
            checkpoint.assign(tensor, floats[name])

    def architecture(self) -> dict[str, Any]:
        """What it takes to rebuild this model (its type and constructor arguments)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not define architecture(), so it cannot be saved"
        )

    @classmethod
    def from_architecture(cls, architecture: dict[str, Any]) -> Module:
        """A new model built from `architecture()`'s description (weights not loaded)."""
        raise NotImplementedError(f"{cls.__name__} does not define from_architecture()")

    def save(self, path: str | os.PathLike) -> None:
        """Write the architecture and weights to a JSON file, atomically (a crash leaves the old file)."""
        state = self.state_dict()
        # Refuse non-finite weights with the key's name (JSON has no NaN, and such a file would not load).
        checkpoint.check_state_dict(self.named_tensors(), state)
        checkpoint.write_json_atomically(path, checkpoint.make_document(self.architecture(), state))

    def load(self, path: str | os.PathLike) -> None:
        """Load weights from a file written by `save` for the same architecture; on error nothing changes."""
        document = checkpoint.read_document(path)
        if document["architecture"] != self.architecture():
            raise checkpoint.CheckpointError(
                f"{os.fspath(path)}: the file holds a {document['architecture']}, "
                f"this model is a {self.architecture()}"
            )
        self.load_state_dict(document["state_dict"])


def _flatten(tensor: Any, name: str, out: list[tuple[str, Value]]) -> None:
    if isinstance(tensor, Value):
        out.append((name, tensor))
        return
    for i, t in enumerate(tensor):
        _flatten(t, f"{name}[{i}]", out)


def load(path: str | os.PathLike) -> Module:
    """A new model built and loaded from a file written by `Module.save`."""
    document = checkpoint.read_document(path)
    architecture = document["architecture"]
    kind = architecture.get("type")
    cls = Module.registry.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise checkpoint.CheckpointError(
            f"{os.fspath(path)}: unknown model type {kind!r} in the architecture"
        )
    try:
        model = cls.from_architecture(architecture)
    except (TypeError, ValueError, KeyError) as err:
        raise checkpoint.CheckpointError(
            f"{os.fspath(path)}: bad architecture {architecture}: {err}"
        ) from err
    model.load_state_dict(document["state_dict"])
    return model
