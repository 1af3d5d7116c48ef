"""Shared helpers for primitives: operand conversion, dtype promotion, casts, errors."""
from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype
from ..autograd.node import Op, apply, make_tensor
from ..autograd.xp_numpy import reduce_along  # noqa: F401  (the reductions' fast path)
from ..tensor import Tensor

_promote = _dtype.promote
_default = _dtype._default


class Cast(Op):
    """Change dtype. d/dx = identity (the engine casts the cotangent back).

    ``dtype``: the target NumPy dtype."""
    __slots__ = ("dtype",)
    uses_inputs = False
    batched = True

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def vjp(self, xp, g, x, y):
        return (g,)

    def jvp(self, xp, t, x, y):
        return xp.astype(t[0], self.dtype)


def lift(xp, t, x, y):
    """The tangent ``t`` of input ``x``, ready to broadcast against the output ``y``.

    A batched tangent has extra leading dims; when x has fewer dims than y,
    size-1 dims go in between so that the batch stays in front:
    (B, 4) for x of shape (4,) and y of shape (3, 4) becomes (B, 1, 4).
    """
    if t is None:
        return None
    nx = np.ndim(x)
    lead = t.ndim - nx
    if lead and nx < y.ndim:
        shape = tuple(t.shape)
        t = xp.reshape(t, shape[:lead] + (1,) * (y.ndim - nx) + shape[lead:])
    return t


def cast(t: Tensor, dtype) -> Tensor:
    if t._data.dtype == dtype:
        return t
    if dtype.kind not in "fc":  # integer and bool tensors never require grad (PyTorch)
        return make_tensor(t._data.astype(dtype))
    return apply(Cast(dtype), t)


def scalar_value(v):
    """A Python number from a Python or NumPy scalar, else None."""
    if isinstance(v, np.generic):
        return v.item()  # NumPy scalars are weak like Python ones, as in PyTorch
    if isinstance(v, (bool, int, float, complex)):
        return v
    if isinstance(v, numbers.Number):
        return complex(v) if isinstance(v, numbers.Complex) and not isinstance(v, numbers.Real) else float(v)
    return None


def to_tensor(v, name="operand"):
    """Tensor from a Tensor, ndarray, or nested list (no copy for Tensors)."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, np.ndarray):
        return make_tensor(v)
    s = scalar_value(v)
    if s is not None:
        return make_tensor(np.asarray(s, dtype=_dtype.scalar_dtype(s)))
    if isinstance(v, (list, tuple)):
        from ..creation import tensor
        return tensor(v)
    raise TypeError(f"{name}: expected a Tensor, array or number, got {type(v).__name__}")


def result_dtype(operands):
    """PyTorch's result type of Tensors and Python scalars."""
    dims, zero_dims, scalars = [], [], []
    for o in operands:
        if isinstance(o, Tensor):
            d = o._data
            (dims if d.ndim else zero_dims).append(d.dtype)
        else:
            scalars.append(o)
    return _promote(dims, zero_dims, scalars)


def binary_operands(a, b, opname):
    """Convert ``a, b`` for a binary op and apply PyTorch's promotion.

    Tensors are cast to the result dtype; Python scalars stay Python scalars,
    which NumPy 2 treats as weakly typed, so ``float32 * 2.5`` stays float32.
    Returns None when an operand is of an unsupported type (operators then
    return NotImplemented and Python raises TypeError).
    """
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a._data.dtype is b._data.dtype:
                return a, b, a._data.dtype
        elif (b.__class__ is float or b.__class__ is int) and a._data.dtype.kind in "fc":
            return a, b, a._data.dtype  # a Python number never changes a float tensor's dtype
        else:
            b = _scalar_or_tensor(b)
            if b is None:
                return None
    elif (a.__class__ is float or a.__class__ is int) and isinstance(b, Tensor) and b._data.dtype.kind in "fc":
        return a, b, b._data.dtype
    else:
        a = _scalar_or_tensor(a)
        if a is None:
            return None
        if not isinstance(b, Tensor):
            b = _scalar_or_tensor(b)
            if b is None:
                return None
    dt = result_dtype((a, b))
    if isinstance(a, Tensor) and a._data.dtype != dt:
        a = cast(a, dt)
    if isinstance(b, Tensor) and b._data.dtype != dt:
        b = cast(b, dt)
    if dt.kind in "iu" and opname not in _COMPARISONS:
        a, b = wrapped_int(a, dt, opname), wrapped_int(b, dt, opname)
    return a, b, dt


# comparisons keep a Python int as the number it is (int8 < 1000 is True; torch wraps 1000
# to -24 first and answers False: docs/differences.md)
_COMPARISONS = frozenset(("eq", "ne", "lt", "le", "gt", "ge"))


def wrapped_int(v, dt, opname):
    """A Python int outside an integer dtype's range wraps into it, as torch (int8 * 200 is
    int8 * -56); one beyond 64 bits is an OverflowError naming the op, as torch's."""
    if v.__class__ is not int:
        return v
    lo, hi = _dtype.int_range(dt)
    if lo <= v <= hi:
        return v
    if not -2 ** 63 <= v < 2 ** 64:
        raise OverflowError(f"{opname}: the number {v} is too big to convert to {_dtype.dtype_name(dt)}")
    return np.array(v, dtype=np.uint64 if v >= 2 ** 63 else np.int64).astype(dt).item()


def _scalar_or_tensor(v):
    if isinstance(v, Tensor):
        return v
    s = scalar_value(v)
    if s is not None:
        return s
    if isinstance(v, np.ndarray):
        return make_tensor(v)
    return None


def as_float(t: Tensor) -> Tensor:
    """Integers and bools become the default float (exp, log, ... of an int tensor)."""
    if t._data.dtype.kind in "fc":
        return t
    return cast(t, _default.value)


def shape_str(s) -> str:
    return str(tuple(s))


def broadcast_error(opname, *shapes):
    """RuntimeError naming the op, the shapes and the first dimension that clashes."""
    shapes = [tuple(s) for s in shapes]
    nd = max(len(s) for s in shapes)
    detail = ""
    for k in range(1, nd + 1):
        sizes = {s[-k] for s in shapes if len(s) >= k} - {1}
        if len(sizes) > 1:
            detail = f": sizes {' and '.join(map(str, sorted(sizes)))} differ at dimension {nd - k}"
            break
    listed = " and ".join(shape_str(s) for s in shapes)
    return RuntimeError(f"{opname}: shapes {listed} cannot be broadcast together{detail}")


def normalize_dim(dim, ndim, opname):
    """A dim in [-ndim, ndim) to [0, ndim); 0-d tensors accept 0 and -1, as torch."""
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{opname}: dim must be an int, got {type(dim).__name__}")
    if dim < -n or dim >= n:
        raise IndexError(f"{opname}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return int(dim) % n


def normalize_dims(dim, ndim, opname):
    """dim=None, int, or tuple -> a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        axes = tuple(sorted({normalize_dim(d, ndim, opname) for d in dim}))
        if len(axes) != len(dim):
            raise RuntimeError(f"{opname}: dim {tuple(dim)} appears multiple times in the list of dims")
        return axes if ndim else ()
    d = normalize_dim(dim, ndim, opname)
    return (d,) if ndim else ()


def quiet():
    """Silence NumPy's floating-point warnings: log(0) = -inf is the answer, not a problem."""
    return np.errstate(all="ignore")
