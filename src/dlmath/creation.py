"""Making tensors: from data, filled, ranges and random draws (PyTorch's signatures)."""
from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from . import _dtype
from .autograd.node import make_tensor
from ._random import rng
from .tensor import Tensor, check_device


def _finish(data, requires_grad):
    t = make_tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer(data, dtype=None, opname="tensor"):
    """ndarray with PyTorch's dtype for Python data: floats -> default dtype, ints -> int64.

    A sequence holding NumPy scalars, arrays or tensors takes PyTorch's promotion
    of their dtypes with those of its Python numbers: [np.float64(2), 3] is float64.
    With ``dtype`` given, the array comes back in NumPy's own dtype, checked to fit
    ``dtype`` (the caller casts): 300 does not fit int8, as in torch.
    Non-numeric data (str, None, objects, ragged lists, object or datetime arrays) raises
    here, with torch's exception type, instead of failing later inside an op.
    """
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, np.ndarray):
        if data.dtype not in _dtype.NUMPY_OK:
            _dtype.check_numpy_dtype(data.dtype, opname)
        return data
    found = None
    if isinstance(data, (list, tuple)):
        found = set()
        data = _unwrap(data, found)
    try:
        arr = np.asarray(data)
    except (TypeError, ValueError, OverflowError):   # ragged, or ints beyond uint64
        arr = None
    if arr is None or arr.dtype not in _dtype.NUMPY_OK:
        arr = _convert_odd(data, dtype, opname)
    elif arr.dtype.kind in "uf" and (dtype is None or dtype.kind in "iu") and _big_ints(data, arr, found):
        raise _dtype.int64_overflow(_first_big(data), opname)
    if dtype is not None:
        if dtype.kind in "iu":
            _dtype.check_int_array(arr, dtype, opname)
        elif dtype.kind == "f" and arr.dtype.kind == "c":
            raise TypeError(f"{opname}: must be real number, not complex (data {_short(data)} "
                            f"for dtype {_dtype.dtype_name(dtype)})")
        return arr
    kind = arr.dtype.kind
    if found and not found <= _PYTHON_ELEMENTS:
        dtypes = [t if isinstance(t, np.dtype) else _dtype.scalar_dtype(t()) for t in found
                  if t not in (list, tuple)]
        return arr.astype(_dtype.promote(dtypes, [], []), copy=False)
    if kind == "f" and arr.dtype == np.float64 and not isinstance(data, np.generic):
        return arr.astype(_dtype.default_dtype(), copy=False)
    if kind in "iu" and not isinstance(data, np.generic):
        return arr.astype(np.int64, copy=False)
    if kind == "c" and not isinstance(data, np.generic):
        return arr.astype(_dtype.scalar_dtype(1j), copy=False)
    return arr


_PYTHON_ELEMENTS = {bool, int, float, complex, list, tuple}


def _big_ints(data, arr, found):
    """Whether NumPy's array of Python ints holds one beyond int64 (which torch refuses for an
    integer result): NumPy then makes uint64, or float64 when one is also negative."""
    if arr.dtype == _UINT64:   # dtype against dtype: fast (against np.uint64, a type, it is not)
        return isinstance(data, int) or (found is not None and found <= _PYTHON_ELEMENTS)
    return (found is not None and int in found and arr.dtype == _FLOAT64 and found <= _PYTHON_ELEMENTS
            and float not in found and complex not in found)


_UINT64, _FLOAT64 = np.dtype(np.uint64), np.dtype(np.float64)


def _short(data):
    text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."


def _convert_odd(data, dtype, opname):
    """Data NumPy could not make a numeric array of: raise torch's error for it, or convert
    what torch accepts all the same (Python ints beyond int64 for a floating dtype,
    Decimal or Fraction with a floating ``dtype``).

    The checks run in torch's order: a string as the data (TypeError); the sizes, read
    along the first elements (a string inside: ValueError); the element types (an element
    of no known dtype: RuntimeError, or TypeError when ``dtype`` is given); the nesting
    (ragged lengths: ValueError; a list where a number belongs, or the reverse: TypeError);
    ints beyond int64 for an integer result (ValueError).
    """
    if isinstance(data, (str, bytes)):
        raise TypeError(f"{opname}(): invalid data type '{type(data).__name__}' (data {_short(data)})")
    if isinstance(data, np.generic):
        _dtype.check_numpy_dtype(data.dtype, opname)
    shape = []
    cur = data
    while isinstance(cur, (list, tuple)):
        shape.append(len(cur))
        if not cur:
            break
        cur = cur[0]
        if isinstance(cur, (str, bytes)):
            raise ValueError(f"{opname}: too many dimensions '{type(cur).__name__}' (a string is not a "
                             f"number: {_short(cur)})")
    if isinstance(cur, np.ndarray):
        shape.extend(cur.shape)
    kinds = set()
    _check_elements(data, dtype, opname, kinds)
    _check_nesting(data, shape, 0, opname)
    if dtype is not None:
        target = dtype
    else:
        target = (np.complex128 if "c" in kinds else np.float64 if "f" in kinds else np.int64)
    if "big" in kinds and np.dtype(target).kind in "iu":
        big = _first_big(data)
        raise _dtype.int64_overflow(big, opname)
    try:
        return np.asarray(data, dtype=target)
    except OverflowError as e:   # an int beyond float64's range, as torch
        raise OverflowError(f"{opname}: {e}") from None
    except (TypeError, ValueError) as e:
        raise TypeError(f"{opname}: could not convert {_short(data)} to {_dtype.dtype_name(np.dtype(target))}: "
                        f"{e}") from None


def _check_elements(data, dtype, opname, kinds):
    """Every leaf must be a number (or an array / tensor of a supported dtype); collects
    their kinds ('f', 'c', 'big' for ints beyond int64)."""
    if isinstance(data, (list, tuple)):
        for v in data:
            _check_elements(v, dtype, opname, kinds)
        return
    if isinstance(data, (np.ndarray, np.generic)):
        if data.dtype not in _dtype.NUMPY_OK:
            _dtype.check_numpy_dtype(data.dtype, opname)
        kinds.add(data.dtype.kind)
        return
    if isinstance(data, bool):
        return
    if isinstance(data, int):
        if not -2 ** 63 <= data < 2 ** 63:
            kinds.add("big")
        return
    if isinstance(data, float):
        kinds.add("f")
        return
    if isinstance(data, complex):
        kinds.add("c")
        return
    if isinstance(data, (str, bytes)):
        raise ValueError(f"{opname}: too many dimensions '{type(data).__name__}' (a string is not a number: "
                         f"{_short(data)})")
    name = type(data).__module__ + "." + type(data).__qualname__ if type(data).__module__ != "builtins" \
        else type(data).__name__
    if dtype is None:
        raise RuntimeError(f"{opname}: Could not infer dtype of {name}")
    ok = hasattr(data, "__float__") if dtype.kind in "fc" else hasattr(data, "__index__")
    if not ok:
        raise TypeError(f"{opname}: an element of type {name} cannot be converted to "
                        f"{_dtype.dtype_name(dtype)}")
    kinds.add("f")


def _check_nesting(data, shape, dim, opname):
    """``data`` must have ``shape[dim:]`` (torch reads the sizes from the first elements)."""
    if dim == len(shape):
        if isinstance(data, (list, tuple)):
            raise TypeError(f"{opname}: expected a number at dim {dim}, got a sequence {_short(data)} "
                            f"(sizes {shape} read from the first elements)")
        return
    if isinstance(data, np.ndarray):
        if tuple(data.shape) != tuple(shape[dim:]):
            raise ValueError(f"{opname}: expected an array of shape {tuple(shape[dim:])} at dim {dim} "
                             f"(got {data.shape})")
        return
    if not isinstance(data, (list, tuple)):
        raise TypeError(f"{opname}: expected a sequence at dim {dim}, got {type(data).__name__} "
                        f"(sizes {shape} read from the first elements)")
    if len(data) != shape[dim]:
        raise ValueError(f"{opname}: expected sequence of length {shape[dim]} at dim {dim} (got {len(data)})")
    for v in data:
        _check_nesting(v, shape, dim + 1, opname)


def _first_big(data):
    if isinstance(data, (list, tuple)):
        for v in data:
            big = _first_big(v)
            if big is not None:
                return big
        return None
    if isinstance(data, int) and not isinstance(data, bool) and not -2 ** 63 <= data < 2 ** 63:
        return data
    return None


def _unwrap(seq, found):
    """The nested sequence with tensors replaced by their arrays; ``found`` collects the
    element types, and the dtypes of NumPy and tensor elements."""
    types = set(map(type, seq))
    found |= types
    if types <= _PYTHON_ELEMENTS - {list, tuple}:
        return seq  # plain numbers: nothing to unwrap
    out = []
    for v in seq:
        if isinstance(v, (list, tuple)):
            v = _unwrap(v, found)
        elif isinstance(v, Tensor):
            v = v._data
            found.add(v.dtype)
        elif isinstance(v, (np.ndarray, np.generic)):
            found.add(v.dtype)
        out.append(v)
    found -= {t for t in types if t not in _PYTHON_ELEMENTS}
    return out


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (a number, nested list, array or tensor)."""
    if device is not None:
        check_device(device, "tensor")
    dtype = _dtype.to_dtype(dtype)
    arr = _infer(data, dtype, "tensor")
    arr = np.array(arr, dtype=dtype if dtype is not None else arr.dtype, copy=True)
    return _finish(arr, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """A tensor that shares memory with ``data`` when dtype allows (no copy for arrays)."""
    if device is not None:
        check_device(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or data.dtype == _dtype.to_dtype(dtype)):
        return data
    dtype = _dtype.to_dtype(dtype)
    arr = _infer(data, dtype, "as_tensor")
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return make_tensor(arr)


def from_numpy(ndarray):
    """Wrap an array without copying: changes to one show in the other."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype not in _dtype.NUMPY_OK:
        _dtype.check_numpy_dtype(ndarray.dtype, "from_numpy")
    return make_tensor(ndarray)


def _size(size, opname="zeros"):
    """A tuple of non-negative ints from ``(2, 3)``, ``((2, 3),)`` or ``([2, 3],)``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    try:
        size = tuple(map(operator.index, size))   # 1.5 or "a" is not a size (torch: TypeError)
    except TypeError:
        raise TypeError(f"{opname}(): size must be a tuple of ints, got {size!r}") from None
    for s in size:
        if s < 0:
            raise RuntimeError(f"{opname}: Trying to create tensor with negative dimension {s}: {list(size)}")
    return size


def _alloc(opname, shape, dtype, make):
    """``make()``, which builds the array of ``shape``; NumPy's failures for an impossible size
    (ValueError 'array is too big', MemoryError from deep inside) become torch's RuntimeError,
    naming the op and the sizes. Free on success: the check runs on the failing branch only."""
    try:
        return make()
    except (MemoryError, ValueError) as e:
        err = _size_error(opname, shape, dtype, e)
        if err is None:
            raise
        raise err from None


def _size_error(opname, shape, dtype, exc):
    shape = tuple(shape)
    if any(s > _INT64_MAX for s in shape):
        return TypeError(f"{opname}: size {list(shape)} has a dimension beyond the int64 range")
    n = 1
    for s in shape:
        n *= s
    nbytes = n * np.dtype(dtype).itemsize
    if nbytes > _INT64_MAX:
        return RuntimeError(f"{opname}: Storage size calculation overflowed with sizes={list(shape)} "
                            f"({n} elements of {np.dtype(dtype).itemsize} bytes)")
    if isinstance(exc, MemoryError):
        return RuntimeError(f"{opname}: can't allocate memory: you tried to allocate {nbytes} bytes "
                            f"for a tensor of shape {tuple(shape)}")
    return None   # a ValueError that is not about the size: NumPy's own, re-raised


_INT64_MAX = 2 ** 63 - 1


def _dt(dtype):
    return _dtype.to_dtype(dtype) if dtype is not None else _dtype.default_dtype()


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None):
    if device is not None:
        check_device(device, "zeros")
    shape, dt = _size(size, "zeros"), _dt(dtype)
    return _finish(_alloc("zeros", shape, dt, lambda: np.zeros(shape, dtype=dt)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    if device is not None:
        check_device(device, "ones")
    shape, dt = _size(size, "ones"), _dt(dtype)
    return _finish(_alloc("ones", shape, dt, lambda: np.ones(shape, dtype=dt)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    if device is not None:
        check_device(device, "empty")
    shape, dt = _size(size, "empty"), _dt(dtype)
    return _finish(_alloc("empty", shape, dt, lambda: np.empty(shape, dtype=dt)), requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    if device is not None:
        check_device(device, "full")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if isinstance(fill_value, np.generic):
        fill_value = fill_value.item()
    dt = _dtype.to_dtype(dtype) if dtype is not None else _dtype.scalar_dtype(fill_value)
    _dtype.check_scalar(fill_value, dt, "full", wide=True)
    shape = _size((size,), "full")
    fill = _dtype.scalar_array(fill_value, dt)
    return _finish(_alloc("full", shape, dt, lambda: np.full(shape, fill, dtype=dt)), requires_grad)


def _like(input, dtype):
    return _dtype.to_dtype(dtype) if dtype is not None else input.dtype


def zeros_like(input, *, dtype=None, device=None, requires_grad=False):
    if device is not None:
        check_device(device, "zeros_like")
    return _finish(np.zeros(input.shape, dtype=_like(input, dtype)), requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False):
    if device is not None:
        check_device(device, "ones_like")
    return _finish(np.ones(input.shape, dtype=_like(input, dtype)), requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False):
    if device is not None:
        check_device(device, "empty_like")
    return _finish(np.empty(input.shape, dtype=_like(input, dtype)), requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):
    if device is not None:
        check_device(device, "full_like")
    if isinstance(fill_value, (Tensor, np.generic)):
        fill_value = fill_value.item()
    dt = _like(input, dtype)
    _dtype.check_scalar(fill_value, dt, "full_like", wide=True)
    return _finish(np.full(input.shape, _dtype.scalar_array(fill_value, dt), dtype=dt), requires_grad)


def _count(v, name, opname):
    """A non-negative int argument (eye's n and m, randperm's n)."""
    try:
        v = operator.index(v)
    except TypeError:
        raise TypeError(f"{opname}(): argument '{name}' must be int, not {type(v).__name__}") from None
    if v < 0:
        raise RuntimeError(f"{opname}: {name} must be greater or equal to 0, got {v}")
    return v


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """The identity matrix I: A I = A."""
    if device is not None:
        check_device(device, "eye")
    n = _count(n, "n", "eye")
    m = n if m is None else _count(m, "m", "eye")
    dt = _dt(dtype)
    if not (n and m):   # np.eye(2**62, 0) would try to build the n * n mask
        return _finish(np.zeros((n, m), dtype=dt), requires_grad)
    return _finish(_alloc("eye", (n, m), dt, lambda: np.eye(n, m, dtype=dt)), requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from start to end (exclusive); int64 unless an argument is a float, as torch."""
    if device is not None:
        check_device(device, "arange")
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, (Tensor, np.generic)) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if not all(math.isfinite(v) for v in vals):
        raise RuntimeError(f"arange: unsupported range: {vals[0]} -> {vals[1]} (step {vals[2]})")
    if (vals[1] - vals[0]) * (1 if vals[2] > 0 else -1) < 0:
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign "
                           f"(start {vals[0]}, end {vals[1]}, step {vals[2]})")
    if dtype is None:
        dtype = _dtype.default_dtype() if any(isinstance(v, float) for v in vals) else np.int64
    n = builtins.max(0, int(np.ceil((vals[1] - vals[0]) / vals[2])))
    work = np.float64 if np.dtype(dtype).kind == "f" else np.int64
    return _finish(_alloc("arange", (n,), work, lambda: (vals[0] + vals[2] * np.arange(n, dtype=work)))
                   .astype(dtype), requires_grad)


def _steps(steps, opname):
    try:
        steps = operator.index(steps)
    except TypeError:
        raise TypeError(f"{opname}(): argument 'steps' must be int, not {type(steps).__name__}") from None
    if steps < 0:
        raise RuntimeError(f"{opname}: number of steps must be non-negative, got {steps}")
    return steps


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    if device is not None:
        check_device(device, "linspace")
    n, dt = _steps(steps, "linspace"), _dt(dtype)
    return _finish(_alloc("linspace", (n,), np.float64, lambda: np.linspace(start, end, n, dtype=np.float64))
                   .astype(dt), requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    if device is not None:
        check_device(device, "logspace")
    n, dt = _steps(steps, "logspace"), _dt(dtype)
    return _finish(_alloc("logspace", (n,), np.float64, lambda: np.logspace(start, end, n, base=base))
                   .astype(dt), requires_grad)


# --- random -----------------------------------------------------------------
def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform on [0, 1)."""
    if device is not None:
        check_device(device, "rand")
    dt, shape = _dt(dtype), _size(size, "rand")
    work = dt if dt in (np.float32, np.float64) else np.float64
    return _finish(_alloc("rand", shape, work, lambda: rng(generator).random(shape, dtype=work))
                   .astype(dt, copy=False), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal N(0, 1): the raw material of weight initialisation."""
    if device is not None:
        check_device(device, "randn")
    dt, shape = _dt(dtype), _size(size, "randn")
    work = dt if dt in (np.float32, np.float64) else np.float64
    return _finish(_alloc("randn", shape, work, lambda: rng(generator).standard_normal(shape, dtype=work))
                   .astype(dt, copy=False), requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers uniform in [low, high): ``randint(10, (3,))`` or ``randint(0, 10, (3,))``."""
    if device is not None:
        check_device(device, "randint")
    if size is None:
        if high is None or isinstance(high, (tuple, list)):
            low, high, size = 0, low, high
        else:
            raise TypeError("randint() missing required argument 'size'")
    if high is None:
        low, high = 0, low
    shape = _size(tuple(size) if isinstance(size, (tuple, list)) else (size,), "randint")
    dt = _dtype.to_dtype(dtype) if dtype is not None else np.dtype(np.int64)
    for v in (low, high):
        if isinstance(v, int) and not -2 ** 63 <= v <= _INT64_MAX:
            raise _dtype.int64_overflow(v, "randint")
    if low >= high:
        raise RuntimeError(f"randint: random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if dt.kind in "iub":
        lo, hi = (0, 1) if dt.kind == "b" else (int(np.iinfo(dt).min), int(np.iinfo(dt).max))
        if low < lo:
            raise RuntimeError(f"randint: from={low} is out of bounds for {_dtype.dtype_name(dt)}")
        if high - 1 > hi:
            raise RuntimeError(f"randint: to - 1 = {high - 1} is out of bounds for {_dtype.dtype_name(dt)}")
    return _finish(_alloc("randint", shape, np.int64, lambda: rng(generator).integers(low, high, size=shape))
                   .astype(dt), requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0 .. n-1."""
    if device is not None:
        check_device(device, "randperm")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"randperm(): argument 'n' must be int, not {type(n).__name__}") from None
    if n < 0:
        raise RuntimeError(f"randperm: Trying to create tensor with negative dimension {n}: [{n}]")
    dt = _dtype.to_dtype(dtype) if dtype is not None else np.dtype(np.int64)
    if dt.kind == "b":
        raise NotImplementedError("randperm: not implemented for dtype bool")
    if dt.kind in "iu" and n - 1 > np.iinfo(dt).max:
        raise RuntimeError(f"randperm: n - 1 = {n - 1} cannot be converted to type {_dtype.dtype_name(dt)} "
                           f"without overflow")
    if dt.kind == "f" and n > 2 ** (np.finfo(dt).nmant + 1) + 1:
        raise RuntimeError(f"randperm: n cannot be greater than {2 ** (np.finfo(dt).nmant + 1) + 1} for "
                           f"{_dtype.dtype_name(dt)} (got {n}): not every integer below it is representable")
    return _finish(_alloc("randperm", (n,), np.int64, lambda: rng(generator).permutation(n)).astype(dt),
                   requires_grad)


def rand_like(input, *, dtype=None, device=None, requires_grad=False, generator=None):
    if device is not None:
        check_device(device, "rand_like")
    return rand(*input.shape, dtype=_like(input, dtype), generator=generator, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, generator=None):
    if device is not None:
        check_device(device, "randn_like")
    return randn(*input.shape, dtype=_like(input, dtype), generator=generator, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False, generator=None):
    if device is not None:
        check_device(device, "randint_like")
    return randint(low, high, tuple(input.shape), dtype=_like(input, dtype), generator=generator,
                   requires_grad=requires_grad)
