"""The Tensor: a NumPy array plus the link to the operation that produced it.

A tensor that ``requires_grad`` and was produced by an operation carries that
operation as ``grad_fn``; following ``grad_fn.inputs`` from a loss back to
the leaves is the computation graph that ``backward`` walks with the chain rule.

Most methods are bound in :mod:`dlmath._methods` from the functional ops, so
``x.exp()`` and ``dm.exp(x)`` are the same code.
"""
from __future__ import annotations

import builtins
from operator import index as operator_index

import numpy as np

from . import _dtype
from . import _print
from . import _grad_mode

_grad_state = _grad_mode.state


class Tensor:
    __slots__ = ("_data", "_requires_grad", "_grad", "grad_fn", "_out_idx", "_vc", "_base",
                 "_tangent", "_view_ver", "__weakref__")
    __array_priority__ = 1000
    # Make NumPy defer to our reflected operators: ndarray * Tensor -> Tensor.__rmul__
    __array_ufunc__ = None

    def __init__(self, *args, dtype=None, device=None, requires_grad=False):
        """The legacy constructor, as ``torch.Tensor``: ``dm.Tensor(data)`` a copy of ``data`` in
        the default dtype; ``dm.Tensor(2, 3)`` or ``dm.Tensor(dm.Size([2, 3]))`` an uninitialised
        tensor of that shape; ``dm.Tensor()`` an empty one, shape (0,); ``dm.Tensor(t)`` of a
        tensor, an alias of its memory (its dtype kept). (The library makes its tensors with
        :func:`make_tensor`, which skips this.)"""
        if device is not None:
            check_device(device, "Tensor")
        from .creation import empty, tensor
        vc = [0]
        default = _dtype.default_dtype() if dtype is None else _dtype.to_dtype(dtype)
        if not args:
            data = np.empty(0, dtype=default)
        elif (len(args) == 1 and isinstance(args[0], Size)) or all(
                isinstance(a, (builtins.int, np.integer)) and not isinstance(a, builtins.bool) for a in args):
            sizes = tuple(args[0]) if isinstance(args[0], Size) else args
            data = empty(*map(operator_index, sizes), dtype=default)._data
        elif len(args) > 1:
            raise TypeError(f"Tensor(): expected sizes (ints) or one sequence of data, got "
                            f"{', '.join(builtins.type(a).__name__ for a in args)}")
        elif isinstance(args[0], Tensor) and dtype is None:
            data, vc = args[0]._data, args[0]._vc   # shares the memory, as torch's Tensor(other)
        elif not isinstance(args[0], (list, tuple, np.ndarray, Tensor)):
            raise TypeError(f"new(): data must be a sequence (got {builtins.type(args[0]).__name__})")
        else:
            data = tensor(args[0], dtype=default)._data
        self._data = data
        self._grad = None
        self.grad_fn = None
        self._out_idx = 0
        self._vc = vc
        self._base = None
        self._tangent = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # --- what a tensor is ------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_dim_of(self, dim, "size")]

    def stride(self, dim=None):
        """Steps in elements between neighbours along each dim (``stride(dim)``: along one), as
        torch: (4, 1) for a (3, 4) tensor, (1, 4) for its transpose, 0 along an expanded dim."""
        a = self._data
        if a.size:
            strides = tuple(s // a.itemsize for s in a.strides)
        else:   # nothing is stored: torch's row-major strides, counting a size-0 dim as 1
            strides, step = [], 1
            for n in reversed(a.shape):
                strides.insert(0, step)
                step *= max(n, 1)
            strides = tuple(strides)
        return strides if dim is None else strides[_dim_of(self, dim, "stride")]

    def storage_offset(self):
        """Where the first element sits in the memory the tensor shares with its base (the array
        that owns the memory), in elements: 4 for ``x[1:]`` of a (3, 4) x, 0 for x."""
        a = self._data
        root = a
        while True:
            base = root.base
            if not isinstance(base, np.ndarray):   # as_strided's views hold their array one step further
                base = getattr(base, "base", None)
                if not isinstance(base, np.ndarray):
                    break
            root = base
        return (_address(a) - _address(root)) // a.itemsize

    def data_ptr(self):
        """The address of the first element (an int; 0 for an empty tensor, as torch). Two views
        of one memory differ by their storage offsets times the item size."""
        return _address(self._data) if self._data.size else 0

    def __contains__(self, element):
        """``x in t``: whether any element of t equals x (a number or a tensor), as torch."""
        if not isinstance(element, (Tensor, builtins.bool, builtins.int, builtins.float, builtins.complex,
                                    np.generic)):
            raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                               f"{builtins.type(element)}.")
        return builtins.bool((self == element).any().item())

    def is_nonzero(self):
        """Whether the single element is not zero; RuntimeError for an empty or a longer tensor."""
        return is_nonzero(self)

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def numel(self):
        return self._data.size

    nelement = numel

    @property
    def dtype(self):
        """The element type, a ``dm.dtype`` (``dlmath.float32``); the library itself reads ``_data.dtype``."""
        return _dtype._PUBLIC[self._data.dtype]

    @property
    def device(self):
        return CPU

    @property
    def _version(self):
        """torch's ``t._version``: how many in-place writes the memory shared with this tensor
        (its base and every view) has had; what backward checks a saved value against."""
        return self._vc[0]

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def itemsize(self):
        return self._data.itemsize

    def element_size(self):
        return self._data.itemsize

    @property
    def nbytes(self):
        return self._data.nbytes

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def is_complex(self):
        return self._data.dtype.kind == "c"

    @property
    def data(self):
        """The same values, detached from the graph (shares memory, as in PyTorch)."""
        return self.detach()

    @data.setter
    def data(self, value):
        value = value._data if isinstance(value, Tensor) else np.asarray(value)
        self._data = value
        self._vc[0] += 1

    # --- leaving the library -----------------------------------------
    def numpy(self, *, force=False):
        """The underlying array (shared, not copied). Refuses a tensor that requires grad, as torch."""
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        a = self._data
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"item: a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements is ambiguous")
        return bool(self._data.item())

    def __complex__(self):
        return complex(self.item())

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    __hash__ = object.__hash__

    def __repr__(self):
        """As torch prints (``_print``: its number formats, wrapping and summarising, under
        ``dm.set_printoptions``), with 'dlmath.' for 'torch.' in dtype names."""
        a = self._data
        suffixes = []
        default = _dtype.default_dtype()
        if a.size == 0:
            body = "[]"
            if a.ndim != 1:
                suffixes.append(f"size={tuple(a.shape)}")
            if a.dtype != default:
                suffixes.append(f"dtype={_dtype.dtype_name(a.dtype)}")
        else:
            body = _print.array_str(a, 7)
            if not _print.OPTS.edgeitems:
                suffixes.append(f"size={tuple(a.shape)}")
            if a.dtype not in (default, _dtype.complex64 if default == _dtype.float32 else _dtype.complex128,
                               _dtype.int64, _dtype.bool_):
                suffixes.append(f"dtype={_dtype.dtype_name(a.dtype)}")
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn._torch_name()}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        return _print.with_suffixes("tensor(" + body, suffixes, 7)

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0 and spec:
            return format(self._data.item(), spec)
        return repr(self)

    # --- autograd --------------------------------------------------------
    # requires_grad and grad are properties over slots (_requires_grad, _grad) so that a user's
    # assignment is checked as torch checks it; the engine's hot paths use the slots directly.
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if self.grad_fn is not None:  # torch refuses any assignment on a non-leaf, even of True
            hint = (" If you want to use a computed variable in a subgraph that doesn't require "
                    "differentiation use var_no_grad = var.detach().") if not value else ""
            raise RuntimeError("you can only change requires_grad flags of leaf variables." + hint)
        self.requires_grad_(value)

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor "
                                   f"of size '{list(self.shape)}'. Please ensure that the gradient and the "
                                   "tensor are the same size")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype '{value._data.dtype}' to a "
                                   f"tensor with grad_dtype '{self._data.dtype}'. The gradient must match the "
                                   "tensor's dtype")
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"only Tensors of floating point and complex dtype can require gradients (got {_dtype.dtype_name(self._data.dtype)})")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        self._requires_grad = bool(requires_grad)
        return self

    def detach(self):
        """A new leaf sharing the values, cut from the graph (stops gradients, e.g. targets in RL)."""
        t = make_tensor(self._data)
        t._vc = self._vc
        return t

    def detach_(self):
        """Cut this tensor from the graph in place. Not for a view: its base's history would
        still reach it through the shared memory (torch refuses it too)."""
        if self._base is not None:
            raise RuntimeError("detach_: Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf after backward (for inspecting intermediate gradients)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None:
            return
        import weakref
        fn = self.grad_fn
        fn.retained = (fn.retained or ()) + (weakref.ref(self),)

    @property
    def retains_grad(self):
        fn = self.grad_fn
        return bool(fn is not None and fn.retained and any(r() is self for r in fn.retained))

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``: backpropagation.

        ``gradient`` is the vector in the vector-Jacobian product (required
        when self is not a scalar).
        """
        if gradient is None and not create_graph and inputs is None and self.grad_fn is not None:
            # the training-step case (a scalar loss): straight to the lean pass
            from .autograd.engine import backward_scalar
            if backward_scalar(self, retain_graph):
                return
        from .autograd.functional_api import backward as _backward
        _backward([self], None if gradient is None else [gradient], retain_graph, create_graph, inputs)

    def register_hook(self, hook):
        raise NotImplementedError("register_hook: not supported yet")

    # --- conversions -----------------------------------------------------
    def to(self, *args, **kwargs):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (its dtype), and the
        keywords ``dtype``, ``device``, ``copy``, ``non_blocking``: self when nothing changes
        (and ``copy`` is False), as torch. A device other than the CPU raises RuntimeError."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() received an invalid combination of arguments: unexpected keyword(s) "
                            f"{sorted(kwargs)}")
        positional_bools = 0
        for a in args:
            if isinstance(a, Tensor):
                dtype = a._data.dtype
            elif isinstance(a, (str, Device)):
                device = a
            elif isinstance(a, builtins.bool):   # non_blocking, copy given positionally
                if positional_bools == 1:
                    copy = a
                positional_bools += 1
            elif isinstance(a, builtins.int):    # a CUDA ordinal, as torch reads it
                device = a
            elif a is not None:
                dtype = a
        if device is not None:
            check_device(device, "to")
        if dtype is not None:
            dtype = _dtype.to_dtype(dtype)
            if dtype != self._data.dtype:
                from .ops._util import cast
                return cast(self, dtype)
        if copy:
            from .ops.unary import clone
            return clone(self)
        return self

    def type(self, dtype=None, non_blocking=False):
        """``t.type()``: the legacy type name, 'dlmath.FloatTensor' for float32 (torch prints
        'torch.FloatTensor'); ``t.type(dtype)``, ``t.type('torch.DoubleTensor')`` or
        ``t.type(dm.DoubleTensor)``: the tensor cast to it (self when it already is)."""
        if dtype is None:
            return "dlmath." + _dtype.legacy_name(self._data.dtype)
        return self.to(_dtype.legacy_dtype(dtype))

    def float(self): return self.to(_dtype.float32)
    def double(self): return self.to(_dtype.float64)
    def half(self): return self.to(_dtype.float16)
    def long(self): return self.to(_dtype.int64)
    def int(self): return self.to(_dtype.int32)
    def bool(self): return self.to(_dtype.bool_)
    def type_as(self, other): return self.to(other.dtype)
    def cpu(self, memory_format=None): return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        check_device("cuda" if device is None else device if isinstance(device, (str, Device)) else "cuda",
                     "Tensor.cuda")

    @property
    def is_cuda(self):
        return False

    @property
    def is_cpu(self):
        return True

    @property
    def is_mps(self):
        return False

    @property
    def is_meta(self):
        return False

    def get_device(self):
        """-1, the CPU's number in torch."""
        return -1

    def is_pinned(self, device=None):
        return False

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from .creation import tensor
        return tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import zeros
        return zeros(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import ones
        return ones(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        from .creation import full
        return full(size, fill_value, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        from .creation import empty
        return empty(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def contiguous(self, memory_format=None):
        """Self when its memory is in row-major order, else a copy that is (and so no alias)."""
        from .ops.shape import contiguous
        return contiguous(self)

    def is_contiguous(self, memory_format=None):
        return self._data.flags.c_contiguous


_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
                 "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class Device:
    """torch.device: ``dm.device("cpu")``, ``dm.device("cuda", 0)``, ``dm.device("cuda:1")``.

    Any of torch's device types can be named (so code that builds ``torch.device("cuda")``
    without using it runs), but dlmath computes on the CPU only: making or moving a tensor
    to another device raises RuntimeError (see :func:`check_device`). A device equals
    another device of the same type and index, and (unlike torch, where it is always
    False) the string it prints as: ``t.device == "cpu"``.
    """
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, Device):
            if index is not None:
                raise TypeError(f"device(): an index ({index!r}) cannot be given with a device ({type!r})")
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            raise RuntimeError(f"device({type}): an integer names an accelerator's ordinal; "
                               f"dlmath runs on the CPU only (use 'cpu')")
        if not isinstance(type, str):
            raise TypeError(f"device(): argument 'type' must be str, not {builtins.type(type).__name__}")
        name, sep, idx = type.partition(":")
        if sep:
            if index is not None:
                raise RuntimeError(f"device(): type (string) must not include an index because index was "
                                   f"passed explicitly: {type}")
            if not idx.isdigit() or (len(idx) > 1 and idx[0] == "0"):
                raise RuntimeError(f"Invalid device string: {type!r}")
            index = int(idx)
        if name not in _DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device "
                               f"string: {type}")
        if index is not None:
            index = int(index)
            if index < 0:
                raise RuntimeError(f"Device index must not be negative (device {name!r}, index {index})")
        self.type, self.index = name, index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other):
        if isinstance(other, Device):
            return self.type == other.type and self.index == other.index
        if isinstance(other, str):
            return str(self) == other
        return NotImplemented

    def __hash__(self):
        return hash(str(self))

    def __reduce__(self):
        return (Device, (self.type, self.index))


def check_device(device, opname):
    """``device`` as a Device when it is the CPU; RuntimeError naming ``opname`` otherwise
    (dlmath computes on the CPU only). None means the default device, the CPU."""
    if device is None or device is CPU:
        return CPU
    if isinstance(device, builtins.int) and not isinstance(device, builtins.bool):
        raise RuntimeError(f"{opname}: device {device} (an accelerator's ordinal) is not available: dlmath "
                           f"runs on the CPU only (write device='cpu')")
    d = device if isinstance(device, Device) else Device(device)
    if d.type != "cpu":
        raise RuntimeError(f"{opname}: device {str(d)!r} is not available: dlmath runs on the CPU only "
                           f"(write device='cpu', or device = 'cuda' if dm.cuda.is_available() else 'cpu')")
    return d


CPU = Device("cpu")


def is_floating_point(input):
    """Whether ``input`` (a Tensor) has a floating dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_floating_point(): argument 'input' (position 1) must be Tensor, not "
                        f"{builtins.type(input).__name__}")
    return input._data.dtype.kind == "f"


def is_complex(input):
    """Whether ``input`` (a Tensor) has a complex dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_complex(): argument 'input' (position 1) must be Tensor, not "
                        f"{builtins.type(input).__name__}")
    return input._data.dtype.kind == "c"


def is_nonzero(input):
    """Whether a tensor of exactly one element holds a value other than zero (False, 0, 0.0)."""
    n = input._data.size
    if n != 1:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous" if n == 0 else
                           "Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(input._data.item())


def _dim_of(t, dim, opname):
    """``dim`` of t as a non-negative int; a 0-d tensor has none (torch's IndexError)."""
    if t._data.ndim == 0:
        raise IndexError(f"{opname}: Dimension specified as {dim} but tensor has no dimensions")
    from .ops._util import normalize_dim
    return normalize_dim(dim, t._data.ndim, opname)


def _address(a):
    return a.__array_interface__["data"][0]


def set_default_device(device):
    """torch.set_default_device: only the CPU (or None, the same) can be the default here."""
    check_device(device, "set_default_device")


def get_default_device():
    """The device new tensors are made on: always the CPU."""
    return CPU


class Size(tuple):
    """A shape: a tuple (torch.Size), with numel()."""
    __slots__ = ()

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"dlmath.Size({list(self)})"



_new = object.__new__
_ndarray = np.ndarray


def make_tensor(data, requires_grad=False, grad_fn=None):
    """Wrap an ndarray without copying (the library's internal constructor)."""
    if data.__class__ is not _ndarray:
        # NumPy returns scalars from 0-d operations; a tensor always holds an array
        data = np.asarray(data)
    t = _new(Tensor)
    t._data = data
    t._requires_grad = requires_grad
    t._grad = None
    t.grad_fn = grad_fn
    t._out_idx = 0
    t._vc = [0]
    t._base = None
    t._tangent = None
    return t
