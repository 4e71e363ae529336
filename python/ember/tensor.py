"""ember.Tensor: the user-facing tensor.

It wraps a C++ tensor (`_data`, an `ember._C.Tensor`) and adds autograd:
`requires_grad`, `grad`, `grad_fn`. Those fields live in its C base
(`_C.TensorBase`), which the graph code reads and fills directly. Methods
delegate to the differentiable ops in `ember.ops`; the method table at the
bottom of this file lists them.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import _C
from .autograd import function as _function_module
from .autograd.engine import _fit_to_input
from .autograd.function import AccumulateGrad, _HookHandle
from .autograd.grad_mode import is_grad_enabled


class Size(tuple):
    """A tensor's shape: a tuple of ints (PyTorch's torch.Size)."""

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"ember.Size({list(self)})"


class Tensor(_C.TensorBase):
    """A multi-dimensional array on a device, with autograd.

    Create tensors with `ember.tensor`, `ember.zeros`, `ember.randn`, ...

    Example:
        >>> x = em.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([[2., 4.],
                [6., 8.]])
    """

    # The fields (_data, requires_grad, grad, grad_fn, _output_nr, _base, ...)
    # are the base's; `_make(data, requires_grad, grad_fn, output_nr)` is the
    # constructor ops use, `_edge()` the (node, output_nr) that receives this
    # tensor's gradient.
    __slots__ = ()
    __array_priority__ = 1000  # numpy defers to Tensor's reflected operators

    def __init__(self, data=None, *, dtype=None, device=None, requires_grad=False):
        if isinstance(data, _C.Tensor):
            raw = data
        else:
            from .creation import tensor as _tensor

            raw = _tensor([] if data is None else data, dtype=dtype or _C.DType.float32)._data
            if device is not None:
                raw = raw.to(_C.Device(str(device)))
        Tensor._init(self, raw, requires_grad, None, 0)

    @staticmethod
    def _init(t, data, requires_grad, grad_fn, output_nr):
        t._data = data
        t.requires_grad = requires_grad
        t.grad = None
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._accumulator = None
        t._hooks = None
        t._base = None
        t._retains_grad = False

    # ------------------------------------------------------------ metadata
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape, or the size of one dim."""
        shape = self._data.shape
        if dim is None:
            return Size(shape)
        return shape[_wrap(dim, len(shape), "size")]

    def stride(self, dim: int | None = None):
        """The strides in elements, or the stride of one dim."""
        strides = self._data.strides
        return tuple(strides) if dim is None else strides[_wrap(dim, len(strides), "stride")]

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def device(self):
        return self._data.device

    @property
    def is_cuda(self) -> bool:
        return self._data.device.type == "cuda"

    def pin_memory(self) -> Tensor:
        """A copy in page-locked host memory (for asynchronous copies to a GPU);
        this tensor itself when already pinned. CPU tensors only."""
        if self.is_pinned():
            return self
        return Tensor(self._data.pin_memory())

    def is_pinned(self) -> bool:
        return self._data.is_pinned()

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.numel()

    def element_size(self) -> int:
        return self._data.element_size()

    def is_contiguous(self) -> bool:
        return self._data.is_contiguous()

    def is_floating_point(self) -> bool:
        return self._data.is_floating_point

    def data_ptr(self) -> int:
        return self._data.data_ptr

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    @property
    def data(self) -> Tensor:
        """A tensor sharing this one's memory, outside the graph."""
        return Tensor._make(self._data, False, None, 0)

    @data.setter
    def data(self, value: Tensor):
        self._data = value._data

    @property
    def _version(self) -> int:
        return self._data.version

    # ------------------------------------------------------------ conversion
    def item(self):
        """The value of a one-element tensor as a Python number."""
        return self._data.item()

    def tolist(self):
        """The values as (nested) Python lists (copied from the tensor's device,
        with or without requires_grad, as in PyTorch)."""
        return self._host_values().tolist()

    def _host_values(self) -> np.ndarray:
        """The values in a host numpy array; bfloat16, which numpy lacks, widened
        to float32 (exactly)."""
        data = self.detach().cpu()._data
        if data.dtype == _C.DType.bfloat16:
            data = data.to(_C.DType.float32)
        return data.numpy()

    def numpy(self) -> np.ndarray:
        """A numpy array sharing memory with this CPU tensor (no copy).

        Raises RuntimeError for a tensor that requires grad (use detach()).
        """
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on a tensor that requires grad. Use tensor.detach().numpy()."
            )
        return self._data.numpy()

    def __array__(self, dtype=None, copy=None):
        arr = self._host_values()
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(
                f"Boolean value of a tensor with {self.numel()} elements is ambiguous"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self):
        return id(self)

    def __repr__(self) -> str:
        from ._format import format_tensor

        return format_tensor(self)

    def __format__(self, spec):
        if self.ndim == 0 and spec:
            return format(self.item(), spec)
        return object.__format__(self, spec) if spec else repr(self)

    def __reduce_ex__(self, protocol):
        arr = np.array(self._host_values())
        return (_rebuild, (arr, str(self.device), self.requires_grad, self.dtype.name))

    # ------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Computes the gradient of this tensor w.r.t. graph leaves.

        Args:
            gradient: the gradient of the final objective w.r.t. this tensor;
                required unless this tensor has one element.
            retain_graph: keep saved tensors for another backward
                (defaults to create_graph).
            create_graph: record the backward pass so that higher-order
                gradients can be taken.
            inputs: if given, accumulate only into these tensors' `.grad`.
        """
        from .autograd import backward as _backward

        _backward([self], [gradient], retain_graph, create_graph, inputs)

    def detach(self) -> Tensor:
        """A tensor sharing memory with this one, cut from the graph."""
        return Tensor._make(self._data, False, None, 0)

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Sets requires_grad in place (only on leaves); returns self."""
        if not self.is_leaf and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf tensors; use detach() instead"
            )
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError(
                f"only tensors of floating point dtype can require gradients, got {self.dtype}"
            )
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keeps `.grad` for this non-leaf tensor after backward."""
        if self.is_leaf or self._retains_grad:
            return
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on a tensor that doesn't require grad")
        self._retains_grad = True
        ref = weakref.ref(self)

        def store(grad):
            t = ref()
            if t is not None:
                t.grad = grad.detach() if t.grad is None else t.grad + grad.detach()

        self.grad_fn.register_prehook(self._output_nr, store)

    def register_hook(self, hook):
        """Calls hook(grad) when this tensor's gradient is computed.

        The hook may return a replacement gradient. Returns a handle with
        `remove()`.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn.register_prehook(self._output_nr, hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    def _check_inplace(self, op: str) -> None:
        """Refuses in-place changes autograd could not account for."""
        if not is_grad_enabled():
            return
        if self.requires_grad and self.is_leaf:
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad is being used in an in-place operation "
                "(wrap it in `with ember.no_grad():`, or use an out-of-place op)"
            )
        base = self._base
        if base is not None and base.requires_grad:
            raise RuntimeError(
                f"{op}: in-place operation on a view of a tensor that requires grad is not "
                "supported; use an out-of-place op (e.g. torch.where or cat)"
            )

    def _inplace_from(self, result: Tensor, op: str) -> Tensor:
        """Writes `result` (computed out of place) into self and takes over its
        graph node, so later ops see the new value's history."""
        self._data.copy_(result._data)
        if result.requires_grad:
            self.grad_fn = result.grad_fn
            self._output_nr = result._output_nr
            self.requires_grad = True
        return self

    # ------------------------------------------------------------ devices and dtypes
    def to(self, *args, **kwargs) -> Tensor:
        """Converts dtype and/or device: `to(dtype)`, `to(device)`,
        `to(device, dtype)`, `to(other)`; `non_blocking` and `copy` accepted."""
        from .ops.copy import to as _to

        return _to(self, *args, **kwargs)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None) -> Tensor:
        return self.to("cuda" if device is None else f"cuda:{int(device)}" if isinstance(device, int) else device)

    def type(self, dtype=None):
        if dtype is None:
            return f"ember.{self.dtype.name}"
        return self.to(dtype)

    def float(self) -> Tensor:
        return self.to(_C.DType.float32)

    def double(self) -> Tensor:
        return self.to(_C.DType.float64)

    def half(self) -> Tensor:
        return self.to(_C.DType.float16)

    def bfloat16(self) -> Tensor:
        return self.to(_C.DType.bfloat16)

    def long(self) -> Tensor:
        return self.to(_C.DType.int64)

    def int(self) -> Tensor:
        return self.to(_C.DType.int32)

    def bool(self) -> Tensor:
        return self.to(_C.DType.bool)

    # ------------------------------------------------------------ operators
    # + - * / and their reflections are set below the class (in C).

    def __floordiv__(self, other):
        return _ew.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ew.floor_divide(_ew.as_tensor_like(other, self), self)

    def __mod__(self, other):
        return _ew.remainder(self, other)

    def __rmod__(self, other):
        return _ew.remainder(_ew.as_tensor_like(other, self), self)

    def __pow__(self, other):
        return _ew.pow(self, other)

    def __rpow__(self, other):
        return _ew.pow(_ew.as_tensor_like(other, self), self)

    def __matmul__(self, other):
        return _linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return _linalg.matmul(other, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.abs(self)

    def __invert__(self):
        return _ew.logical_not(self) if self.dtype == _C.DType.bool else _ew.bitwise_not(self)

    def __and__(self, other):
        return _ew.logical_and(self, other)

    def __or__(self, other):
        return _ew.logical_or(self, other)

    def __xor__(self, other):
        return _ew.logical_xor(self, other)

    def __eq__(self, other):
        return _ew.eq(self, other)

    def __ne__(self, other):
        return _ew.ne(self, other)

    def __lt__(self, other):
        return _ew.lt(self, other)

    def __le__(self, other):
        return _ew.le(self, other)

    def __gt__(self, other):
        return _ew.gt(self, other)

    def __ge__(self, other):
        return _ew.ge(self, other)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def where(self, condition, other) -> Tensor:
        """self where condition is True, else other (PyTorch's method order)."""
        return _ew.where(condition, self, other)

    def __getitem__(self, index):
        return _index.getitem(self, index)

    def __setitem__(self, index, value):
        _index.setitem(self, index, value)


_function_module.Tensor = Tensor
_C.register_autograd_classes(Tensor, AccumulateGrad, _fit_to_input)


def _wrap(dim: int, ndim: int, op: str) -> int:
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of {ndim} dims")
    return dim % max(ndim, 1)


def _rebuild(arr, device, requires_grad, dtype=None):
    from .creation import tensor as _tensor

    dtype = getattr(_C.DType, dtype) if dtype is not None else None
    return _tensor(arr, dtype=dtype, device=device, requires_grad=requires_grad)


def _install(module, names) -> None:
    """Makes module.f(tensor, ...) available as tensor.f(...)."""
    for name in names:
        setattr(Tensor, name, getattr(module, name))


# The op modules import Tensor from here, so they are imported after it exists.
from .ops import conv as _conv
from .ops import copy as _copy
from .ops import elementwise as _ew
from .ops import index as _index
from .ops import linalg as _linalg
from .ops import loss as _loss
from .ops import norm as _norm
from .ops import reduce as _reduce
from .ops import shape as _shape

# The arithmetic operators run in C: a Tensor with a Tensor or a Python
# number records the same node as the op function would, without its Python
# frames; any other operand goes to the op function (the last argument).
_BinaryOp = _C.BinaryOp
for _name, _op, _function, _fallback, _reflected in [
    ("__add__", _BinaryOp.add, _ew.Add, _ew.add, False),
    ("__radd__", _BinaryOp.add, _ew.Add, _ew.add, True),
    ("__sub__", _BinaryOp.sub, _ew.Sub, _ew.sub, False),
    ("__rsub__", _BinaryOp.sub, _ew.Sub, _ew.rsub, True),
    ("__mul__", _BinaryOp.mul, _ew.Mul, _ew.mul, False),
    ("__rmul__", _BinaryOp.mul, _ew.Mul, _ew.mul, True),
    ("__truediv__", _BinaryOp.div, _ew.Div, _ew.div, False),
    ("__rtruediv__", _BinaryOp.div, _ew.Div, _ew.rdiv, True),
]:
    setattr(Tensor, _name, _C.binary_operator(_op, _function, _fallback, _reflected))
Tensor.__matmul__ = _linalg.matmul
Tensor.__neg__ = _ew.neg
# reshape and view with int shapes run in C too (the same _Reshape node).
Tensor.reshape = _C.view_method(False, _shape._Reshape, _shape.reshape)
Tensor.view = _C.view_method(True, _shape._Reshape, _shape.view)

_install(_copy, ["contiguous", "clone", "copy_", "zero_", "fill_"])
# elementwise
_install(_ew, [
    "add", "sub", "mul", "div", "add_", "sub_", "mul_", "div_", "neg", "neg_",
    "floor_divide", "remainder", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
    "greater", "greater_equal", "less", "less_equal", "not_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_not",
    "abs", "absolute", "sign", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos",
    "tanh", "sigmoid", "reciprocal", "square", "floor", "ceil", "round", "trunc", "fix",
    "clamp", "clip", "clamp_min", "clamp_max", "relu",
    "relu_", "sigmoid_", "tanh_", "exp_", "clamp_", "pow_", "abs_", "sqrt_",
])

# reductions
_install(_reduce, [
    "sum", "sum_to_size", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin",
    "var", "std", "logsumexp", "norm", "softmax", "log_softmax", "cumsum",
])

# views
_install(_shape, [
    "view_as", "reshape_as", "flatten", "unflatten", "permute", "transpose",
    "swapaxes", "t", "movedim", "squeeze", "unsqueeze", "expand", "expand_as", "broadcast_to",
    "narrow", "select",
])

# joining, splitting, indexing
_install(_index, [
    "gather", "scatter", "scatter_", "scatter_add", "scatter_add_", "index_select", "index_add",
    "index_add_", "masked_fill", "masked_fill_", "split", "chunk", "nonzero",
])

# linear algebra
_install(_linalg, ["matmul", "mm", "bmm", "dot"])

# convolution and pooling
_install(_conv, [])

# normalisation and dropout
_install(_norm, ["dropout"])

# losses
_install(_loss, [])
