"""`Module`: the base of every model. Parameters and submodules are found from its attributes, as in PyTorch.

Assign a `Value`, a `Module`, or a list, tuple or dict of them to an attribute, and the module finds
it: attributes are walked in assignment order, recursing into submodules where they are assigned.
A leaf Value is a parameter; a (nested) list of leaf Values is a tensor (`weight[3][1]` is row 3,
column 1); lists and dicts of modules give dotted names (`layers.0.weight`). A Value reachable
twice (a tied weight, or a view such as a Layer's rows, which are its neurons' weights) is listed
once, under the first name. No `super().__init__()` call is needed.
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

from autograd import Value

from . import checkpoint

# The names `nn.load` accepts for the built-in classes; a user class is registered by its qualified
# name (module.Class), which always contains a dot, so it can never take one of these.
BUILTIN_NAMES = ("Neuron", "Layer", "MLP")


def _forward_unimplemented(self: Any, *args: Any, **kwargs: Any) -> Any:
    """The model's output for its input (subclasses define it)."""
    raise NotImplementedError(f"{type(self).__name__} does not define forward()")


class AutoLabel(str):
    """A label that `Module` gave a parameter (its dotted name); a user's own label is never replaced."""

    __slots__ = ()


class Module:
    """A model: parameters and submodules discovered from attributes, `forward`, state dicts, files.

    Subclasses define `forward()`; for `save`/`nn.load` also `architecture()` (a JSON-able dict of
    constructor arguments; its "type" is filled in) and `from_architecture()`. A class that also
    defines `tensor_shapes(architecture)` (yielding (name, shape) pairs, without allocating) gets
    every file checked against its cap and its state dict before the model is built, as the
    built-ins do; without it, `from_architecture` runs on the file's arguments.
    """

    training: bool = True  # train() / eval(); no built-in layer behaves differently, user modules may

    # Module classes that `nn.load` can rebuild: built-ins by name, user classes by qualified name.
    registry: dict[str, type[Module]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "named_tensors" in cls.__dict__:
            raise TypeError(
                f"{cls.__qualname__}: named_tensors() is derived from the attributes now; remove the "
                f"override and assign the Values (or lists of them) to attributes instead"
            )
        Module.registry[registry_name(cls)] = cls
        if "__init__" in cls.__dict__:
            cls.__init__ = _labelling(cls.__dict__["__init__"])  # type: ignore[method-assign]

    # ---- discovery ----------------------------------------------------------------------------

    def named_tensors(self) -> dict[str, Any]:
        """The tensors by dotted name, in discovery order: a Value, or a nested list of Values."""
        return dict(_walk(self)[0])

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, Value) for every parameter once, e.g. ('layers.0.weight[3][1]', Value): row 3, column 1."""
        params = _walk(self)[1]
        for name, p in params:
            if not p.label:
                p.label = AutoLabel(name)
        return params

    def parameters(self) -> list[Value]:
        """Every parameter as a list of Values, in the order of `named_parameters()`."""
        params = [p for _, p in _walk(self, names=False)[1]]
        if any(not p.label for p in params):
            self.named_parameters()  # name the ones added since construction
        return params

    def named_modules(self) -> list[tuple[str, Module]]:
        """(dotted name, module) for this module ('') and every submodule once, in discovery order."""
        return _walk(self)[2]

    def modules(self) -> list[Module]:
        """This module and every submodule, in the order of `named_modules()`."""
        return [m for _, m in self.named_modules()]

    def named_children(self) -> list[tuple[str, Module]]:
        """(name, module) for the direct submodules (a list attribute's items are `layers.0`, ...)."""
        return [(name, m) for name, m in self.named_modules()[1:] if _is_child(self, m)]

    def children(self) -> list[Module]:
        """The direct submodules."""
        return [m for _, m in self.named_children()]

    def num_parameters(self) -> int:
        """How many scalar parameters the model has."""
        return len(_walk(self, names=False)[1])

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0."""
        for _, p in _walk(self, names=False)[1]:
            p.grad = 0.0

    def train(self, mode: bool = True) -> Module:
        """Set `training` on this module and every submodule; returns self."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """`train(False)`."""
        return self.train(False)

    # ---- computing ----------------------------------------------------------------------------

    # A class attribute rather than a method, as in torch: subclasses define forward with any signature.
    forward: Callable[..., Any] = _forward_unimplemented

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ---- state dicts and files ----------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The weights as plain floats by name, nested like the tensors (PyTorch's nn.Linear layout)."""
        return {name: checkpoint.to_floats(t) for name, t in _walk(self)[0]}

    def load_state_dict(self, state: Any) -> None:
        """Load weights; every key, shape and number is checked first, so a bad dict changes nothing."""
        tensors = dict(_walk(self)[0])
        floats = checkpoint.check_state_dict(tensors, state)
        checkpoint.assign_all(tensors, floats)

    def architecture(self) -> dict[str, Any]:
        """What it takes to rebuild this model (its type and constructor arguments)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not define architecture(), so it cannot be saved"
        )

    def _architecture(self) -> dict[str, Any]:
        """`architecture()` with its "type": the name `nn.load` finds the class under."""
        return {"type": registry_name(type(self)), **self.architecture()}

    @classmethod
    def from_architecture(cls, architecture: dict[str, Any]) -> Module:
        """A new model built from `architecture()`'s description (weights not loaded)."""
        raise NotImplementedError(f"{cls.__name__} does not define from_architecture()")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the architecture and weights atomically: JSON, or safetensors for a `.safetensors` path."""
        state = self.state_dict()
        # Refuse non-finite weights with the key's name (such a file would not load).
        checkpoint.check_state_dict(dict(_walk(self)[0]), state)
        checkpoint.write_checkpoint(path, self._architecture(), state)

    def load(self, path: str | os.PathLike[str], max_parameters: int | None = None) -> None:
        """Load weights saved from the same architecture (JSON or safetensors); on error nothing changes."""
        document = checkpoint.read_checkpoint(path, max_parameters)
        theirs = document["architecture"]  # None: a safetensors file from elsewhere, names and shapes only
        mine = self._architecture() if theirs is not None else None
        # Compared as JSON text: 2.0 is not 2 and true is not 1 here.
        if mine is not None and json.dumps(theirs, sort_keys=True) != json.dumps(mine, sort_keys=True):
            raise checkpoint.CheckpointError(
                f"{os.fspath(path)}: key 'architecture': the file holds a {checkpoint.show(theirs)}, "
                f"this model is a {mine}"
            )
        try:
            self.load_state_dict(document["state_dict"])
        except checkpoint.CheckpointError as err:
            raise checkpoint.CheckpointError(f"{os.fspath(path)}: {err}") from None

    # ---- display ------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """Text shown inside the parentheses of the default repr (subclasses may override)."""
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        children = self.named_children()
        for name, tensor in _walk(self)[0]:
            if not any(name.startswith(child + ".") for child, _ in children):
                lines.append(f"  ({name}): {_describe(tensor)}")
        for name, m in children:
            text = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {text}")
        if len(lines) == 1:
            return lines[0] + ")"
        return "\n".join(lines) + "\n)"


def registry_name(cls: type) -> str:
    """The name a class is saved under: its own name for the built-ins, else module.qualname."""
    if cls.__module__ == "nn.layers" and cls.__qualname__ in BUILTIN_NAMES:
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _labelling(init: Any) -> Any:
    """`__init__` followed by naming the parameters: outer modules, finished last, give the full names."""

    @functools.wraps(init)
    def __init__(self: Module, *args: Any, **kwargs: Any) -> None:
        depth = getattr(_constructing, "depth", 0)
        _constructing.depth = depth + 1
        try:
            init(self, *args, **kwargs)
        finally:
            _constructing.depth = depth
        if depth == 0:  # the outermost construction names everything once (inner names would be replaced)
            for name, p in _walk(self)[1]:
                if not p.label or isinstance(p.label, AutoLabel):
                    p.label = AutoLabel(name)

    return __init__


# How many Module constructors are running in this thread (only the outermost one names parameters).
_constructing = threading.local()


def _describe(tensor: Any) -> str:
    shape = checkpoint.shape_of(tensor)
    return "Value" if not shape else f"tensor of shape {shape}"


def _is_child(parent: Module, module: Module) -> bool:
    """Whether `module` hangs directly off one of `parent`'s attributes (possibly inside lists/dicts)."""
    stack = list(vars(parent).values())
    while stack:
        item = stack.pop()
        if item is module:
            return True
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return False


def _walk(
    root: Module, names: bool = True
) -> tuple[list[tuple[str, Any]], list[tuple[str, Value]], list[tuple[str, Module]]]:
    """(tensors, parameters, modules) of `root`, by dotted name, each object once; iterative.

    With `names=False` the parameters' names are left empty (parameters() and zero_grad() need none).
    """
    tensors: list[tuple[str, Any]] = []
    params: list[tuple[str, Value]] = []
    modules: list[tuple[str, Module]] = [("", root)]
    seen_values: set[int] = set()
    seen_objects: set[int] = {id(root)}  # modules, containers and tensor lists: each is walked once
    stack: list[tuple[str, Iterator[tuple[str, Any]]]] = [("", iter(list(vars(root).items())))]
    while stack:
        prefix, items = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
            continue
        key, obj = item
        name = prefix + key
        if isinstance(obj, Value):
            if obj.is_leaf and id(obj) not in seen_values:
                seen_values.add(id(obj))
                tensors.append((name, obj))
                params.append((name, obj))
        elif isinstance(obj, Module):
            if id(obj) not in seen_objects:
                seen_objects.add(id(obj))
                modules.append((name, obj))
                stack.append((name + ".", iter(list(vars(obj).items()))))
        elif isinstance(obj, (list, tuple, dict)) and id(obj) not in seen_objects:
            leaves = _tensor_leaves(obj, name, names, seen_objects)
            if leaves is None:  # a container of modules (or of anything): its items get `.i` / `.key`
                seen_objects.add(id(obj))
                entries = obj.items() if isinstance(obj, dict) else enumerate(obj)
                stack.append((name + ".", iter([(str(k), v) for k, v in entries])))
            elif leaves:
                ids = list(map(id, (v for _, v in leaves)))
                if seen_values.isdisjoint(ids):  # the usual case, checked at C speed
                    new = leaves
                else:
                    new = [(n, v) for n, v in leaves if id(v) not in seen_values]
                seen_values.update(ids)
                params.extend(new)
                if new:  # a tensor made only of Values named before is a view, not a second tensor
                    tensors.append((name, obj))
    return tensors, params, modules


_is_leaf = operator.attrgetter("is_leaf")


def _is_vector(obj: Any) -> bool:
    """Whether `obj` is a non-empty list/tuple of leaf Values (a set of types and a map: C speed)."""
    if not obj:
        return False
    if set(map(type, obj)) == {Value}:
        return all(map(_is_leaf, obj))
    return all(isinstance(v, Value) and v.is_leaf for v in obj)  # subclasses of Value


def _tensor_leaves(obj: Any, name: str, names: bool, seen: set[int]) -> list[tuple[str, Value]] | None:
    """(name[i][j], Value) for every entry if `obj` is a nested list/tuple of leaf Values, else None.

    The ids of a tensor's lists are added to `seen`: a row reached again (a Layer's row is its
    neuron's weight list) is then skipped without being walked twice.
    """
    if isinstance(obj, dict) or not obj:
        return None
    if _is_vector(obj):  # the usual cases first: a vector, or a matrix of rows
        seen.add(id(obj))
        if not names:
            return list(zip(itertools.repeat(""), obj))
        return [(f"{name}[{i}]", v) for i, v in enumerate(obj)]
    if all(isinstance(row, (list, tuple)) and _is_vector(row) for row in obj):
        seen.add(id(obj))
        seen.update(map(id, obj))
        if not names:
            return list(zip(itertools.repeat(""), itertools.chain.from_iterable(obj)))
        return [(f"{name}[{i}][{j}]", v) for i, row in enumerate(obj) for j, v in enumerate(row)]
    out: list[tuple[str, Value]] = []
    computed = False
    lists: set[int] = set()
    stack: list[tuple[str, Any]] = [(name, obj)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, Value):
            if item.is_leaf:
                out.append((where, item))
            else:
                computed = True
        elif isinstance(item, (list, tuple)) and item and id(item) not in lists:
            lists.add(id(item))  # a list inside itself is no tensor
            entries = reversed(list(enumerate(item)))
            stack.extend((f"{where}[{i}]" if names else "", x) for i, x in entries)
        else:
            return None
    if computed:
        if out:
            raise TypeError(
                f"{name}: a list that mixes parameters (leaf Values) with computed Values; "
                f"keep results of operations out of the lists of parameters"
            )
        return []  # only computed Values (a cached output, say): not parameters
    seen.update(lists)
    return out


def _reason(err: Exception) -> str:
    return str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)


def load(path: str | os.PathLike[str], max_parameters: int | None = None) -> Module:
    """A new model built and loaded from a file written by `Module.save` (JSON or safetensors).

    The file is checked before anything is allocated: its size, the number of parameters its
    architecture implies (at most `max_parameters`, default `nn.checkpoint.MAX_PARAMETERS`) and the
    shapes against its own state dict. Any malformed file raises `CheckpointError`.
    """
    document = checkpoint.read_checkpoint(path, max_parameters)
    where = os.fspath(path)
    architecture = document["architecture"]
    if architecture is None:
        raise checkpoint.CheckpointError(
            f"{where}: the file has no chaingrad architecture (saved by another program?); "
            f"build the model and call model.load(path) to read its weights"
        )
    kind = architecture.get("type")
    cls = Module.registry.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise checkpoint.CheckpointError(
            f"{where}: key 'architecture.type': unknown model type {checkpoint.show(kind)}; known: "
            f"{sorted(Module.registry)} (a class of yours is registered by its qualified name once defined)"
        )
    shapes = getattr(cls, "tensor_shapes", None)
    if shapes is not None:  # lazily: checking stops at the cap, before anything is allocated
        try:
            checkpoint.check_shapes(where, shapes(architecture), document["state_dict"], max_parameters)
        except checkpoint.CheckpointError:
            raise
        except (TypeError, ValueError, KeyError) as err:
            raise checkpoint.CheckpointError(f"{where}: key 'architecture': {_reason(err)}") from None
    try:
        model = cls.from_architecture(architecture)
    except (TypeError, ValueError, KeyError, NotImplementedError) as err:
        raise checkpoint.CheckpointError(
            f"{where}: key 'architecture': cannot build {checkpoint.show(architecture)}: {_reason(err)}"
        ) from err
    try:
        model.load_state_dict(document["state_dict"])
    except checkpoint.CheckpointError as err:
        raise checkpoint.CheckpointError(f"{where}: {err}") from None
    return model
