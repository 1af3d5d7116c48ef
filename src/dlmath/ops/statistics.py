"""Order statistics, running products and extremes, counting and binning.

median, quantile and mode pick values out of a sorted order, so their gradient is gather's
(quantile's is a lerp between two gathered neighbours). cumprod is a primitive whose
derivative is written out: the gradient of a running product must survive zeros in it,
so no formula may divide by the input. Counting (unique, bincount, histc, searchsorted,
bucketize, count_nonzero) has no derivative.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd.node import Op, apply, make_tensor
from ..tensor import Tensor
from ._util import normalize_dim, to_tensor
from .declare import public
from .indexing import gather
from .sorting import _order

ValuesIndices = {name: namedtuple(name, ["values", "indices"]) for name in ("cummax", "cummin", "median", "nanmedian", "mode")}


def _slice(a, axis, k):
    return a[(slice(None),) * axis + (k,)]


# --- running product ------------------------------------------------------------
class CumProd(Op):
    """y_j = x_0 x_1 ... x_j along ``axis``.

    Backward, without dividing by x (which may be 0): with S_{n-1} = g_{n-1} and
    S_k = g_k + x_{k+1} S_{k+1}, the gradient is dL/dx_k = y_{k-1} S_k (y_{-1} = 1).
    Forward mode is the product rule along the run: dy_j = dy_{j-1} x_j + y_{j-1} dx_j.
    """
    __slots__ = ("axis",)
    uses_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return np.cumprod(x, axis=self.axis)

    def vjp(self, xp, g, x, y):
        axis, n = self.axis, x.shape[self.axis]
        running = _slice(g, axis, n - 1)
        grads = [None] * n
        grads[n - 1] = running * (_slice(y, axis, n - 2) if n > 1 else 1)
        for k in range(n - 2, -1, -1):
            running = _slice(g, axis, k) + _slice(x, axis, k + 1) * running
            grads[k] = running * _slice(y, axis, k - 1) if k > 0 else running
        return (xp.stack(grads, axis),)

    def jvp(self, xp, t, x, y):
        axis, n = self.axis, x.shape[self.axis]
        t = t[0]
        tangents = [_slice(t, axis, 0)]
        for j in range(1, n):
            tangents.append(tangents[-1] * _slice(x, axis, j) + _slice(y, axis, j - 1) * _slice(t, axis, j))
        return xp.stack(tangents, axis)


@public
def cumprod(input, dim, *, dtype=None):
    """Running product along ``dim``."""
    x = to_tensor(input, "cumprod")
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype.kind in "bu" or (x.dtype.kind == "i"):
        x = x.to(np.dtype(np.int64))  # torch: integer and bool inputs accumulate in int64
    if x.ndim == 0:
        return x.clone()
    axis = normalize_dim(dim, x.ndim, "cumprod")
    if x.shape[axis] == 0:
        return x.clone()
    return apply(CumProd(axis), x)


def _running_extreme(input, dim, name, accumulate, better_or_equal):
    x = to_tensor(input, name)
    result = ValuesIndices[name]
    if x.ndim == 0:
        return result(x.clone(), make_tensor(np.zeros((), np.int64)))
    axis = normalize_dim(dim, x.ndim, name)
    a = x.detach().numpy()
    if a.shape[axis] == 0:
        return result(x.clone(), make_tensor(np.zeros(a.shape, np.int64)))
    if a.dtype.kind == "b":
        a = a.astype(np.uint8)
    running = accumulate(a, axis=axis)  # NaN propagates, as torch
    positions = np.arange(a.shape[axis]).reshape((-1,) + (1,) * (a.ndim - axis - 1))
    # a position takes the index where the running extreme was last reached (ties: the later one,
    # as torch), or where a NaN appeared
    reached = better_or_equal(a, running) | (np.isnan(a) if a.dtype.kind in "fc" else False)
    index = np.maximum.accumulate(np.where(reached, positions, 0), axis=axis).astype(np.int64)
    index = make_tensor(index)
    return result(gather(x, axis, index), index)


@public
def cummax(input, dim):
    """(running maximum, its index) along ``dim``; the gradient reaches the elements picked."""
    return _running_extreme(input, dim, "cummax", np.maximum.accumulate, np.greater_equal)


@public
def cummin(input, dim):
    """(running minimum, its index) along ``dim``."""
    return _running_extreme(input, dim, "cummin", np.minimum.accumulate, np.less_equal)


# --- order statistics ---------------------------------------------------------------
@public
def median(input, dim=None, keepdim=False):
    """The lower median (for an even count, the smaller of the two middle values, as torch);
    NaN if the slice holds one. With ``dim``: (values, indices)."""
    return _lower_median(input, dim, keepdim, "median", skip_nan=False)


@public
def nanmedian(input, dim=None, keepdim=False):
    """The lower median of the values that are not NaN (NaN only for a slice of NaNs), as torch."""
    return _lower_median(input, dim, keepdim, "nanmedian", skip_nan=True)


def _lower_median(input, dim, keepdim, name, skip_nan):
    """Pick, per slice, the element at rank (k - 1) // 2 of the sorted values (k: how many
    count); the value is gathered from x, so the gradient reaches the element picked. Without
    ``skip_nan`` a slice holding NaN picks its first NaN, as torch."""
    x = to_tensor(input, name)
    if x.dtype.kind == "c":
        raise RuntimeError(f"{name}: complex tensors have no order")
    if dim is None:
        if x.numel() == 0:
            return make_tensor(np.array(np.nan, dtype=x.dtype if x.dtype.kind == "f" else np.float32))
        x, axis = x.reshape(-1), 0
    else:
        axis = normalize_dim(dim, max(x.ndim, 1), name)
        if x.ndim == 0:
            return ValuesIndices[name](x.clone(), make_tensor(np.zeros((), np.int64)))
        if x.shape[axis] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
    n = x.shape[axis]
    order = _order(x, axis, False, name)  # NaN sorts last
    if x.dtype.kind == "f":
        nan = np.isnan(x.detach().numpy())
        if skip_nan:
            counted = n - nan.sum(axis=axis, keepdims=True)
            rank = np.maximum(counted - 1, 0) // 2
            index = np.take_along_axis(order, rank, axis=axis)
        else:
            index = np.where(nan.any(axis=axis, keepdims=True), np.argmax(nan, axis=axis, keepdims=True),
                             np.take(order, [(n - 1) // 2], axis=axis))
    else:
        index = np.take(order, [(n - 1) // 2], axis=axis)
    index = make_tensor(index.astype(np.int64))
    values = gather(x, axis, index)   # a new tensor (a view of x would change when x does)
    if dim is None:
        return values.reshape(())
    if not keepdim:
        values, index = values.squeeze(axis), index.squeeze(axis)
    return ValuesIndices[name](values, index)


@public
def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest among equally frequent ones) and the
    index of its last occurrence, as torch."""
    x = to_tensor(input, "mode")
    if x.ndim == 0:
        return ValuesIndices["mode"](x.clone(), make_tensor(np.zeros((), np.int64)))
    axis = normalize_dim(dim, x.ndim, "mode")
    a = np.moveaxis(x.detach().numpy(), axis, -1)
    rows = a.reshape(-1, a.shape[-1])
    picks = np.empty(rows.shape[0], np.int64)
    for r, row in enumerate(rows):
        values, counts = np.unique(row, return_counts=True)
        best = values[np.argmax(counts)]  # np.unique sorts: argmax takes the smallest of the most frequent
        picks[r] = np.flatnonzero(row == best)[-1] if best == best else np.flatnonzero(row != row)[-1]
    index = np.moveaxis(picks.reshape(a.shape[:-1] + (1,)), -1, axis)
    index = make_tensor(index)
    values = gather(x, axis, index)
    if not keepdim:
        values, index = values.squeeze(axis), index.squeeze(axis)
    return ValuesIndices["mode"](values, index)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


@public
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The q-th quantiles along ``dim`` (of all elements when None), interpolating between the two
    nearest order statistics; a 1-D ``q`` puts its dimension first, as torch."""
    x = to_tensor(input, "quantile")
    if x.dtype.kind != "f":
        raise RuntimeError(f"quantile() input tensor must be either float or double dtype, got {x.dtype}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"quantile() interpolation must be one of {', '.join(_INTERPOLATIONS)}. "
                         f"Got {interpolation!r}")
    qs = np.asarray(q.detach().numpy() if isinstance(q, Tensor) else q, dtype=np.float64)
    if qs.ndim > 1:
        raise RuntimeError(f"quantile() q must be a scalar or 1D tensor, got a {qs.ndim}D tensor")
    if ((qs < 0) | (qs > 1)).any():
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    if dim is None:
        data, axis = x.reshape(-1), 0
    else:
        data, axis = x, normalize_dim(dim, max(x.ndim, 1), "quantile")
        if x.ndim == 0:
            data, axis = x.reshape(1), 0
    n = data.shape[axis]
    if n == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    ordered = data.sort(dim=axis).values
    position = qs.reshape(-1) * (n - 1)
    low = np.floor(position).astype(np.int64)
    high = np.ceil(position).astype(np.int64)
    if interpolation == "lower":
        high = low
    elif interpolation == "higher":
        low = high
    elif interpolation == "nearest":
        low = high = np.round(position).astype(np.int64)  # half to even, as torch
    weight = {"linear": position - low, "midpoint": np.where(high > low, 0.5, 0.0)}.get(
        interpolation, np.zeros_like(position))
    results = []
    for lo, hi, w in zip(low, high, weight):
        below = ordered.narrow(axis, int(lo), 1)
        above = ordered.narrow(axis, int(hi), 1)
        results.append(below + (above - below) * float(w) if hi != lo else below)
    if x.dtype.kind == "f":  # a NaN in a slice makes its quantiles NaN, as torch
        has_nan = data.isnan().any(dim=axis, keepdim=True)
        results = [r.masked_fill(has_nan, float("nan")) for r in results]
    out = [r if keepdim else r.squeeze(axis) for r in results]
    if dim is None and keepdim:
        out = [r.reshape((1,) * x.ndim) for r in out]
    if qs.ndim == 0:
        return out[0]
    from .shape import stack

    return stack(out, 0)


# --- counting and binning (no derivative) -----------------------------------------------
@public
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted), and optionally where each element went and how often each appears."""
    x = to_tensor(input, "unique")
    a = x.detach().numpy()
    if dim is not None:
        axis = normalize_dim(dim, max(a.ndim, 1), "unique")
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=axis)
    else:
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(a.shape)
    result = [make_tensor(values)]
    if return_inverse:
        result.append(make_tensor(inverse.astype(np.int64)))
    if return_counts:
        result.append(make_tensor(counts.astype(np.int64)))
    return result[0] if len(result) == 1 else tuple(result)


@public
def bincount(input, weights=None, minlength=0):
    """How often each non-negative integer occurs (or the sum of its ``weights``)."""
    x = to_tensor(input, "bincount")
    if x.ndim != 1 or x.dtype.kind not in "iub":
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got a {x.ndim}-d "
                           f"{x.dtype} tensor")
    a = x.detach().numpy()
    if a.size and a.min() < 0:
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs; got a minimum of {a.min()}")
    if minlength < 0:
        raise RuntimeError(f"bincount: minlength should be >= 0, got {minlength}")
    if weights is None:
        return make_tensor(np.bincount(a, minlength=minlength).astype(np.int64))
    w = to_tensor(weights, "bincount").detach().numpy()
    if w.shape != a.shape:
        raise RuntimeError(f"bincount: weights of shape {tuple(w.shape)} should have the input's shape {a.shape}")
    dtype = w.dtype if w.dtype.kind == "f" else np.float64
    return make_tensor(np.bincount(a, weights=w, minlength=minlength).astype(dtype))


@public
def histc(input, bins=100, min=0, max=0):
    """Counts in ``bins`` equal bins over [min, max] (the data's range when min == max); values
    outside are ignored, and the last bin is closed on the right."""
    x = to_tensor(input, "histc")
    if x.dtype.kind != "f":
        raise RuntimeError(f"\"histogram_cpu\" not implemented for '{x.dtype}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins}")
    a = x.detach().numpy().reshape(-1)
    low, high = float(min), float(max)
    if low > high:
        raise RuntimeError(f"histc: max must be larger than min, got min {low} and max {high}")
    if low == high and a.size:
        low, high = float(a.min()), float(a.max())
    if low == high:
        low, high = low - 1, high + 1  # torch widens an empty range by one on each side
    counts, _ = np.histogram(a[(a >= low) & (a <= high)], bins=bins, range=(low, high))
    return make_tensor(counts.astype(x.dtype))


@public
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Where each value would be inserted into ``sorted_sequence`` (its last dim) to keep it sorted."""
    seq = to_tensor(sorted_sequence, "searchsorted").detach().numpy()
    values_is_scalar = not isinstance(input, Tensor)
    vals = np.asarray(input.detach().numpy() if isinstance(input, Tensor) else input)
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of "
                               "left while right was True")
        right = side == "right"
    if sorter is not None:
        seq = np.take_along_axis(seq, to_tensor(sorter, "searchsorted").detach().numpy(), axis=-1)
    how = "right" if right else "left"
    if seq.ndim == 1:
        out = np.searchsorted(seq, vals, side=how)
    else:
        if vals.ndim != seq.ndim or vals.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                               f"dimensions of boundaries tensor and input value tensor must match, but we got "
                               f"boundaries tensor {list(seq.shape)} and input value tensor {list(vals.shape)}")
        rows_seq, rows_val = seq.reshape(-1, seq.shape[-1]), vals.reshape(-1, vals.shape[-1])
        out = np.stack([np.searchsorted(s, v, side=how) for s, v in zip(rows_seq, rows_val)]).reshape(vals.shape)
    out = np.asarray(out, dtype=np.int32 if out_int32 else np.int64)
    return make_tensor(out if not values_is_scalar else out.reshape(()))


@public
def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value among the 1-D ``boundaries``: i with b[i-1] < x <= b[i]
    (``right=True``: b[i-1] <= x < b[i])."""
    b = to_tensor(boundaries, "bucketize")
    if b.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({b.ndim})")
    return searchsorted(b, input, out_int32=out_int32, right=right)


@public
def count_nonzero(input, dim=None):
    """The number of non-zero elements (along ``dim``: an int or a tuple of ints)."""
    x = to_tensor(input, "count_nonzero")
    a = x.detach().numpy()
    if dim is None:
        return make_tensor(np.asarray(np.count_nonzero(a), dtype=np.int64))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = tuple(normalize_dim(d, max(a.ndim, 1), "count_nonzero") for d in dims)
    return make_tensor(np.asarray(np.count_nonzero(a, axis=axes), dtype=np.int64))
