"""Reductions that skip NaN, the running log-sum-exp, and the joint extremes.

nansum and nanmean treat NaN as missing (masked metrics, padded batches); logcumsumexp is the
running log-partition of a sequence (CTC and HMM forward passes, the log of a cumulative softmax
normaliser); aminmax gives both extremes at once (the range a quantiser calibrates to). All are
composed from differentiable ops, so their gradients, second derivatives and forward mode come free.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import _dtype
from ..autograd.node import make_tensor
from . import elementwise as ew
from ._util import normalize_dim, normalize_dims, to_tensor
from .declare import public
from .elementary import logaddexp
from .reduction import amax, amin, sum as _sum
from .shape import cat

MinMax = namedtuple("aminmax", ["min", "max"])


def _without_nan(x):
    if x.dtype.kind == "f":
        nan = make_tensor(np.isnan(x.detach().numpy()))
        if nan.detach().numpy().any():
            return ew.where(nan, 0.0, x), nan
    return x, None


@public
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """sum of the elements that are not NaN (NaN counts as 0); its gradient is 0 at a NaN, 1 elsewhere."""
    x = to_tensor(input, "nansum")
    if x.dtype.kind == "c":
        raise RuntimeError("nansum does not support complex inputs")
    x, _ = _without_nan(x)
    return _sum(x, dim, keepdim, dtype=dtype)


@public
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """mean of the elements that are not NaN: nansum / (their count); NaN where all are NaN."""
    x = to_tensor(input, "nanmean")
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                           f"{_dtype.dtype_name(x.dtype)}")
    if dtype is not None:
        x = x.to(dtype)
    present = make_tensor((~np.isnan(x.detach().numpy())).astype(x.dtype))
    return ew.div(nansum(x, dim, keepdim), _sum(present, dim, keepdim))


@public
def logcumsumexp(input, dim):
    """y_j = log(sum_{i <= j} exp(x_i)) along ``dim``, without overflow or underflow.

    A parallel prefix scan (Hillis-Steele) of the two-term log-sum-exp logaddexp: after the step
    with shift s, y_j combines x_{j-2s+1..j}; log2(n) steps of whole-tensor ops, each stable, so
    the gradient, softmax weights exp(x_i - y_j) summed over j >= i, comes from logaddexp's."""
    x = to_tensor(input, "logcumsumexp")
    if x.dtype.kind not in "fc":
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for "
                                  f"'{_dtype.dtype_name(x.dtype)}'")
    if x.ndim == 0:
        normalize_dim(dim, 0, "logcumsumexp")
        return x.clone()
    axis = normalize_dim(dim, x.ndim, "logcumsumexp")
    n = x.shape[axis]
    y = x.clone()
    shift = 1
    while shift < n:
        head = y.narrow(axis, 0, shift)
        tail = logaddexp(y.narrow(axis, shift, n - shift), y.narrow(axis, 0, n - shift))
        y = cat([head, tail], axis)
        shift *= 2
    return y


@public
def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) of all elements, or along ``dim``: min and max without indices; the gradient is
    amin's and amax's (shared evenly among ties)."""
    x = to_tensor(input, "aminmax")
    if dim is None:
        if x.numel() == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation "
                               "has no identity.")
        lo, hi = amin(x), amax(x)
        if keepdim:
            lo, hi = lo.reshape((1,) * x.ndim), hi.reshape((1,) * x.ndim)
        return MinMax(lo, hi)
    (axis,) = normalize_dims(dim, x.ndim, "aminmax") or (0,)
    if x.ndim and x.shape[axis] == 0:
        raise IndexError(f"aminmax(): Expected reduction dim {dim} to have non-zero size.")
    if x.ndim == 0:
        return MinMax(x.clone(), x.clone())
    return MinMax(amin(x, axis, keepdim), amax(x, axis, keepdim))
