"""Containers: Sequential, ModuleList and ModuleDict."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Self

from .module import Module


def _index(op: str, idx, size: int) -> int:
    """idx (which may be negative) as a position in [0, size)."""
    try:
        idx = operator.index(idx)
    except TypeError:
        raise TypeError(f"{op} indices must be integers or slices, got "
                        f"{type(idx).__name__}") from None
    if not -size <= idx < size:
        raise IndexError(f"{op}: index {idx} is out of range for length {size}")
    return idx % size


def _check_module(op: str, module) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{op}: {type(module).__name__} is not a Module subclass")
    return module


def _renumber(container: Module, modules: list[Module]) -> None:
    """Registers modules under the positional names '0'..'n-1' (PyTorch keeps them so)."""
    container._modules.clear()
    for i, module in enumerate(modules):
        container._modules[str(i)] = module


def _delete(op: str, container: Module, idx) -> None:
    """Removes the module(s) at an index or slice, then renumbers the rest."""
    keys = list(container._modules)
    if isinstance(idx, slice):
        for key in keys[idx]:
            delattr(container, key)
    else:
        delattr(container, keys[_index(op, idx, len(keys))])
    _renumber(container, list(container._modules.values()))


class Sequential(Module):
    """Runs its modules in order, each on the previous one's output.

    Args:
        *args: the modules, named '0', '1', ...; or one OrderedDict of name -> module.

    Example:
        >>> net = em.nn.Sequential(em.nn.Linear(4, 8), em.nn.ReLU(), em.nn.Linear(8, 1))
    """

    def __init__(self, *args: Module):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, _check_module("Sequential", module))
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), _check_module("Sequential", module))

    def __getitem__(self, idx) -> Module | Sequential:
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index("Sequential", idx, len(self))]

    def __setitem__(self, idx, module: Module) -> None:
        key = list(self._modules)[_index("Sequential", idx, len(self))]
        setattr(self, key, _check_module("Sequential", module))

    def __delitem__(self, idx) -> None:
        _delete("Sequential", self, idx)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Adds module at the end and returns self."""
        self.add_module(str(len(self)), _check_module("Sequential.append", module))
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        """Appends every module of an iterable and returns self."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Inserts module before position index and returns self."""
        _check_module("Sequential.insert", module)
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for length {n}")
        if index < 0:
            index += n
        items = list(self._modules.values())
        items.insert(index, module)
        _renumber(self, items)
        return self

    def forward(self, input):
        for module in self:
            input = module(input)
        return input


class ModuleList(Module):
    """A list of modules, registered (so their parameters are found) but not called.

    Args:
        modules: an optional iterable of modules.
    """

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx) -> Module | ModuleList:
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index("ModuleList", idx, len(self)))]

    def __setitem__(self, idx, module: Module) -> None:
        setattr(self, str(_index("ModuleList", idx, len(self))),
                _check_module("ModuleList", module))

    def __delitem__(self, idx) -> None:
        _delete("ModuleList", self, idx)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __iadd__(self, modules: Iterable[Module]) -> Self:
        return self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        """Adds module at the end and returns self."""
        self.add_module(str(len(self)), _check_module("ModuleList.append", module))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Appends every module of an iterable and returns self."""
        if not isinstance(modules, Iterable):
            raise TypeError(f"ModuleList.extend should be called with an iterable, got "
                            f"{type(modules).__name__}")
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Inserts module before position index."""
        _check_module("ModuleList.insert", module)
        modules = list(self._modules.values())
        modules.insert(index, module)
        _renumber(self, modules)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList is not callable: iterate over it in forward()")


class ModuleDict(Module):
    """An ordered dict of named modules, registered under their keys.

    Args:
        modules: an optional mapping or iterable of (name, module) pairs.
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict: no module named {key!r}")
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module("ModuleDict", module))

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(f"ModuleDict: no module named {key!r}")
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self):
        """The names, in insertion order."""
        return self._modules.keys()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self):
        """(name, module) pairs, in insertion order."""
        return self._modules.items()

    def pop(self, key: str) -> Module:
        """Removes and returns the module named key."""
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        """Removes every module."""
        self._modules.clear()

    def update(self, modules: Mapping[str, Module] | Iterable) -> None:
        """Adds (or replaces) modules from a mapping or an iterable of (name, module) pairs."""
        if isinstance(modules, (Mapping, ModuleDict)):
            pairs = modules.items()
        elif isinstance(modules, Iterable):
            pairs = []
            for j, pair in enumerate(modules):
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise ValueError(f"ModuleDict.update: element #{j} should be a (name, module) "
                                     f"pair, got {pair!r}")
                pairs.append(pair)
        else:
            raise TypeError(f"ModuleDict.update should be called with a mapping or an iterable of "
                            f"(name, module) pairs, got {type(modules).__name__}")
        for key, module in pairs:
            self[key] = module

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict is not callable: index it in forward()")
