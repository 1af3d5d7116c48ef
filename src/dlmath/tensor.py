"""The Tensor: a NumPy array plus the link to the operation that produced it.

A tensor that ``requires_grad`` and was produced by an operation carries that
operation as ``grad_fn``; following ``grad_fn.inputs`` from a loss back to
the leaves is the computation graph that ``backward`` walks with the chain rule.

Most methods are bound in :mod:`dlmath._methods` from the functional ops, so
``x.exp()`` and ``dm.exp(x)`` are the same code.
"""
from __future__ import annotations

import numpy as np

from . import _dtype
from . import _grad_mode

_grad_state = _grad_mode.state


class Tensor:
    __slots__ = ("_data", "requires_grad", "grad", "grad_fn", "_out_idx", "_vc", "_base",
                 "_tangent", "_view_ver", "__weakref__")
    __array_priority__ = 1000
    # Make NumPy defer to our reflected operators: ndarray * Tensor -> Tensor.__rmul__
    __array_ufunc__ = None

    def __init__(self, data=None, *, dtype=None, requires_grad=False):
        """``dm.Tensor(data)``: like ``torch.Tensor``, a float tensor of the default dtype."""
        from .creation import tensor as _tensor
        t = _tensor([] if data is None else data,
                    dtype=dtype if dtype is not None else _dtype.get_default_dtype())
        self._data = t._data
        self.grad = None
        self.grad_fn = None
        self._out_idx = 0
        self._vc = [0]
        self._base = None
        self._tangent = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # --- what a tensor is ------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        from .ops._util import normalize_dim
        return self._data.shape[normalize_dim(dim, self._data.ndim, "size")]

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
        return self._data.dtype

    @property
    def device(self):
        return CPU

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
        a = self._data
        # as torch prints: 4 decimals, or "2." when every value is a whole number
        fractional = False
        if a.dtype.kind in "fc":
            parts = (a.real, a.imag) if a.dtype.kind == "c" else (a,)
            fractional = any(np.any(np.mod(p[np.isfinite(p)], 1) != 0) for p in parts)
        body = np.array2string(a, separator=", ", prefix="tensor(", precision=4,
                               floatmode="fixed" if fractional else "maxprec", threshold=1000, edgeitems=3)
        extras = []
        if self._data.dtype not in (_dtype.get_default_dtype(), _dtype.int64, _dtype.bool_) or self._data.size == 0:
            extras.append(f"dtype={_dtype.dtype_name(self._data.dtype)}")
        if self._data.size == 0 and self._data.ndim != 1:
            extras.append(f"size={tuple(self._data.shape)}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{type(self.grad_fn).__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        tail = "".join(", " + e for e in extras)
        return f"tensor({body}{tail})"

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0 and spec:
            return format(self._data.item(), spec)
        return repr(self)

    # --- autograd --------------------------------------------------------
    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"only Tensors of floating point and complex dtype can require gradients (got {_dtype.dtype_name(self._data.dtype)})")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_: you can only change requires_grad flags of leaf variables. "
                               "Use detach() to get a tensor that does not require grad.")
        self.requires_grad = bool(requires_grad)
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
        self.requires_grad = False
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
    def to(self, *args, dtype=None, **kwargs):
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif a is not None and not isinstance(a, str):
                dtype = a
        if dtype is None:
            return self
        from .ops._util import cast
        return cast(self, _dtype.to_dtype(dtype))

    def type(self, dtype=None):
        if dtype is None:
            return _dtype.dtype_name(self._data.dtype)
        return self.to(dtype)

    def float(self): return self.to(_dtype.float32)
    def double(self): return self.to(_dtype.float64)
    def half(self): return self.to(_dtype.float16)
    def long(self): return self.to(_dtype.int64)
    def int(self): return self.to(_dtype.int32)
    def bool(self): return self.to(_dtype.bool_)
    def type_as(self, other): return self.to(other.dtype)
    def cpu(self): return self

    def new_tensor(self, data, dtype=None, requires_grad=False):
        from .creation import tensor
        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, requires_grad=False):
        from .creation import zeros
        return zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False):
        from .creation import ones
        return ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False):
        from .creation import full
        return full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad=False):
        from .creation import empty
        return empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)
    def contiguous(self, memory_format=None):
        """Self when its memory is in row-major order, else a copy that is (and so no alias)."""
        from .ops.shape import contiguous
        return contiguous(self)

    def is_contiguous(self, memory_format=None):
        return self._data.flags.c_contiguous


class Device(str):
    """torch.device('cpu'): everything dlmath computes lives in host memory."""
    __slots__ = ()

    @property
    def type(self):
        return str(self)

    @property
    def index(self):
        return None

    def __repr__(self):
        return f"device(type='{self}')"


CPU = Device("cpu")


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
    t.requires_grad = requires_grad
    t.grad = None
    t.grad_fn = grad_fn
    t._out_idx = 0
    t._vc = [0]
    t._base = None
    t._tangent = None
    return t
