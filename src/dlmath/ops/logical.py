"""Comparisons, logical and bitwise ops: boolean or integer results, not differentiable."""
from __future__ import annotations

import numpy as np

from ..autograd.node import make_tensor
from ..tensor import Tensor
from ._util import (binary_operands, broadcast_error, to_tensor)
from .declare import public


# --- comparisons: boolean results, not differentiable -----------------------
def _compare(ufunc, opname, a, b):
    ops = binary_operands(a, b, opname)
    if ops is None:
        return NotImplemented
    a, b, dt = ops
    av = a._data if isinstance(a, Tensor) else a
    bv = b._data if isinstance(b, Tensor) else b
    try:
        return make_tensor(ufunc(av, bv))
    except ValueError:
        raise broadcast_error(opname, np.shape(av), np.shape(bv)) from None


@public
def eq(a, b): return _compare(np.equal, "eq", a, b)
@public
def ne(a, b): return _compare(np.not_equal, "ne", a, b)
@public
def lt(a, b): return _compare(np.less, "lt", a, b)
@public
def le(a, b): return _compare(np.less_equal, "le", a, b)
@public
def gt(a, b): return _compare(np.greater, "gt", a, b)
@public
def ge(a, b): return _compare(np.greater_equal, "ge", a, b)


def _logical(ufunc, opname, a, b):
    a, b = to_tensor(a), to_tensor(b)
    try:
        return make_tensor(ufunc(a._data, b._data))
    except ValueError:
        raise broadcast_error(opname, a.shape, b.shape) from None


@public
def logical_and(a, b): return _logical(np.logical_and, "logical_and", a, b)
@public
def logical_or(a, b): return _logical(np.logical_or, "logical_or", a, b)
@public
def logical_xor(a, b): return _logical(np.logical_xor, "logical_xor", a, b)
@public
def logical_not(a): return make_tensor(np.logical_not(to_tensor(a)._data))


def _bitwise(ufunc, opname, a, b):
    ops = binary_operands(a, b, opname)
    if ops is None:
        return NotImplemented
    a, b, dt = ops
    if dt.kind not in "iub":
        raise RuntimeError(f"{opname}: only integer and bool tensors are supported, got {dt}")
    av = a._data if isinstance(a, Tensor) else a
    bv = b._data if isinstance(b, Tensor) else b
    try:
        return make_tensor(np.asarray(ufunc(av, bv), dtype=dt))
    except ValueError:
        raise broadcast_error(opname, np.shape(av), np.shape(bv)) from None


@public
def bitwise_and(a, b): return _bitwise(np.bitwise_and, "bitwise_and", a, b)
@public
def bitwise_or(a, b): return _bitwise(np.bitwise_or, "bitwise_or", a, b)
@public
def bitwise_xor(a, b): return _bitwise(np.bitwise_xor, "bitwise_xor", a, b)


@public
def bitwise_not(a):
    a = to_tensor(a)
    if a._data.dtype.kind not in "iub":
        raise RuntimeError(f"bitwise_not: only integer and bool tensors are supported, got {a.dtype}")
    return make_tensor(np.invert(a._data))


@public
def isnan(x): return make_tensor(np.isnan(to_tensor(x)._data))
@public
def isinf(x): return make_tensor(np.isinf(to_tensor(x)._data))
@public
def isfinite(x): return make_tensor(np.isfinite(to_tensor(x)._data))
