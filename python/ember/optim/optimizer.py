"""Optimizer: the base class of ember's optimizers (PyTorch's contract)."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from .. import _C
from ..autograd import no_grad
from ..tensor import Tensor


class _RequiredParameter:
    """Marks a default that each parameter group must set."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of tensors to optimize, or of dicts defining parameter groups
            (each with a ``"params"`` entry and any per-group options).
        defaults: the default options, used by groups that do not set them.

    Example:
        >>> opt = em.optim.SGD(model.parameters(), lr=0.1)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]):
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params argument given to the optimizer should be an "
                "iterable of Tensors or dicts, but got a Tensor"
            )
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Adds a group of parameters with its own options.

        Args:
            param_group: a dict with a ``"params"`` entry (a tensor or an iterable of tensors)
                and optional per-group options; missing options take the defaults.

        Raises:
            TypeError: for a non-dict group or a non-tensor parameter.
            ValueError: for a non-leaf parameter, a missing required option, or a parameter
                that already belongs to another group.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got "
                            f"{type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{name}: parameters need to be an ordered collection, not a set")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor")
        group = dict(param_group)
        group["params"] = params
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required "
                                 f"optimization parameter {key}")
            group.setdefault(key, default)
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter group contains the same parameter twice")
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Resets the gradients of all optimized tensors.

        Args:
            set_to_none: set ``.grad`` to None (the default) instead of filling it with zeros.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad = p.grad.detach()
                    p.grad._data.fill_(0)
                    p.grad._data.bump_version()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Performs one optimization step.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss; it
                runs with gradients enabled before the update.

        Returns:
            The closure's return value, or None.
        """
        loss = None
        if closure is not None:
            from ..autograd import enable_grad

            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.grad.shape != p.shape:
                        raise ValueError(
                            f"{type(self).__name__}.step: gradient of shape "
                            f"{tuple(p.grad.shape)} does not match its parameter's shape "
                            f"{tuple(p.shape)}")
                    self._update(p, p.grad, group, self.state[p])
        return loss

    def _update(self, param: Tensor, grad: Tensor, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        """Updates one parameter and its state in place (subclasses)."""
        raise NotImplementedError

    @staticmethod
    def _grad_data(param: Tensor, grad: Tensor):
        """The gradient as a _C tensor of the parameter's dtype."""
        data = grad._data
        if data.dtype != param._data.dtype:
            data = data.to(param._data.dtype)
        return data

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state: per-parameter state keyed by the parameter's index (in
        group order) and the groups' options with ``"params"`` as lists of indices.

        Returns:
            A dict with ``"state"`` and ``"param_groups"`` (state tensors are shared, not
            copied, like PyTorch).
        """
        index_of: dict[int, int] = {}
        start = 0
        packed_groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                if id(p) not in index_of:
                    index_of[id(p)] = start
                    start += 1
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            packed_groups.append(packed)
        state = {index_of[id(p)]: s for p, s in self.state.items() if id(p) in index_of}
        return {"state": state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Loads a state produced by :meth:`state_dict`.

        Args:
            state_dict: the dict to load; its tensors are copied (cast to each parameter's
                dtype and device), so later steps do not change the source.

        Raises:
            ValueError: when the number of groups or the size of a group differs.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict or \
                "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             "'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: loaded state dict has "
                             f"{len(saved_groups)} parameter groups, the optimizer has "
                             f"{len(self.param_groups)}")
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} of the loaded state dict has "
                    f"{len(saved['params'])} parameters, the optimizer's has "
                    f"{len(mine['params'])}")
        param_of = {}
        for mine, saved in zip(self.param_groups, saved_groups):
            for index, p in zip(saved["params"], mine["params"]):
                param_of[index] = p
        self.state = defaultdict(dict)
        for index, value in state_dict["state"].items():
            param = param_of.get(int(index))
            if param is None:
                continue
            self.state[param] = {k: _cast_like(param, k, v) for k, v in value.items()}
        new_groups = []
        for mine, saved in zip(self.param_groups, saved_groups):
            group = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            group["params"] = mine["params"]
            new_groups.append(group)
        self.param_groups = new_groups


def _cast_like(param: Tensor, key: str, value: Any) -> Any:
    """A copy of a saved state value; tensors (other than `step`) take the parameter's
    dtype and device."""
    if isinstance(value, Tensor):
        raw = value._data
        if key != "step":
            if raw.dtype != param._data.dtype:
                raw = raw.to(param._data.dtype)
            if raw.device != param._data.device:
                raw = raw.to(param._data.device)
        return Tensor._make(raw.clone(), False, None, 0)
    return copy.deepcopy(value)


def _state_like(param: Tensor, value: float = 0.0) -> Tensor:
    """A fresh contiguous state tensor of the parameter's shape, dtype and device."""
    raw = param._data
    return Tensor._make(_C.full(raw.shape, value, raw.dtype, raw.device), False, None, 0)
