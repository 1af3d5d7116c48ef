"""Selecting and scattering: the k-th smallest value, positions of non-zeros, masked and flat
picks, and writing or adding slices at indices.

Reading (kthvalue, masked_select, take) is a gather, so its gradient scatters back; writing
(index_copy, index_fill, scatter) is an index assignment, whose gradient reaches the written
values and the input's untouched elements; index_add is scatter_add along whole slices. All are
composed from the indexing primitives (Gather, IndexPut, ScatterAdd), so gradients, second
derivatives and forward mode come free.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import _dtype
from ..autograd.node import Op, apply, make_tensor
from ..tensor import Tensor
from ._util import normalize_dim, to_tensor
from .declare import public
from .indexing import IndexPut, _grid, _value_array, gather, getitem, masked_fill, nonzero, scatter_add

KthValue = namedtuple("kthvalue", ["values", "indices"])
_INDEX = (np.dtype(np.int64), np.dtype(np.int32))


# --- the k-th smallest -----------------------------------------------------------------------
def _gt_or_nan(a, b):
    return (a != a and b == b) or a > b


def _quick_select(values, indices, k):
    """torch's CPU quickselect (median-of-three pivot), moving ``indices`` with ``values``, so that
    among equal values the index returned is the one torch returns; NaN sorts last."""
    def swap(i, j):
        values[i], values[j] = values[j], values[i]
        indices[i], indices[j] = indices[j], indices[i]
    lo, hi = 0, len(values) - 1
    while True:
        if hi <= lo:
            return
        if hi == lo + 1:
            if _gt_or_nan(values[lo], values[hi]):
                swap(lo, hi)
            return
        mid = lo + (hi - lo) // 2
        swap(mid, lo + 1)
        if _gt_or_nan(values[lo + 1], values[hi]):
            swap(lo + 1, hi)
        if _gt_or_nan(values[lo], values[hi]):
            swap(lo, hi)
        if _gt_or_nan(values[lo + 1], values[lo]):
            swap(lo + 1, lo)
        i, j, pivot = lo + 1, hi, values[lo]
        while True:
            i += 1
            while _gt_or_nan(pivot, values[i]):
                i += 1
            j -= 1
            while _gt_or_nan(values[j], pivot):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(lo, j)
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1


@public
def kthvalue(input, k, dim=-1, keepdim=False):
    """(the k-th smallest value along ``dim``, its index); among equal values the index torch's
    quickselect lands on. The gradient reaches the element picked (a gather)."""
    x = to_tensor(input, "kthvalue")
    axis = normalize_dim(dim, x.ndim, "kthvalue")
    n = x.shape[axis] if x.ndim else 1
    if x.numel() == 0 and x.ndim:
        shape = tuple(s for a, s in enumerate(x.shape) if a != axis or keepdim) if not keepdim else \
            tuple(1 if a == axis else s for a, s in enumerate(x.shape))
        return KthValue(make_tensor(np.zeros(shape, x.dtype)), make_tensor(np.zeros(shape, np.int64)))
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")
    if x.ndim == 0:
        return KthValue(x.clone(), make_tensor(np.zeros((), np.int64)))
    a = np.moveaxis(x.detach().numpy(), axis, -1)
    rows = a.reshape(-1, n)
    picks = np.empty(rows.shape[0], np.int64)
    for r, row in enumerate(rows):
        values, indices = row.tolist(), list(range(n))
        _quick_select(values, indices, k - 1)
        picks[r] = indices[k - 1]
    index = make_tensor(np.moveaxis(picks.reshape(a.shape[:-1] + (1,)), -1, axis))
    values = gather(x, axis, index)
    if not keepdim:
        values, index = values.squeeze(axis), index.squeeze(axis)
    return KthValue(values, index)


# --- reading ---------------------------------------------------------------------------------
@public
def argwhere(input):
    """The positions of the non-zero elements, one row each: (count, ndim), as nonzero()."""
    x = to_tensor(input, "argwhere")
    if x.ndim == 0:  # one row of no coordinates if the value is non-zero, as torch
        return make_tensor(np.zeros((int(bool(x.detach().numpy())), 0), np.int64))
    return nonzero(x)


@public
def masked_select(input, mask):
    """The elements where the boolean ``mask`` holds (the two broadcast together), as a 1-D tensor
    in row-major order; the gradient scatters back into input's shape."""
    x, m = to_tensor(input, "masked_select"), to_tensor(mask, "masked_select")
    if m.dtype.kind != "b":
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    try:
        shape = np.broadcast_shapes(tuple(x.shape), tuple(m.shape))
    except ValueError:
        from ._util import broadcast_error
        raise broadcast_error("masked_select", x.shape, m.shape) from None
    if tuple(x.shape) != shape:
        x = x.expand(*shape)
    keep = np.broadcast_to(m.detach().numpy(), shape)
    if not shape:
        return x.reshape(1)[make_tensor(keep.reshape(1))]
    return getitem(x, make_tensor(np.ascontiguousarray(keep)))


@public
def take(input, index):
    """input.flatten()[index], shaped as ``index`` (negative indices count from the end)."""
    x, index = to_tensor(input, "take"), to_tensor(index, "take")
    if index.dtype != np.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {_dtype.dtype_name(index.dtype)}")
    n = x.numel()
    idx = index.detach().numpy()
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx.min() if idx.min() < -n else idx.max())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    flat = np.where(idx < 0, idx + n, idx).reshape(-1)
    return getitem(x.reshape(-1), make_tensor(flat)).reshape(tuple(index.shape))


# --- writing along a dim ---------------------------------------------------------------------
def _vector_index(index, opname, size, dim, wrap=False, error=RuntimeError):
    index = to_tensor(index, opname)
    if index.dtype not in _INDEX:
        raise RuntimeError(f"{opname}(): Expected dtype int32/int64 for index but got: "
                           f"{_dtype.dtype_name(index.dtype)}")
    if index.ndim > 1:
        raise IndexError(f"{opname}(): Index is supposed to be a vector")
    idx = index.detach().numpy().reshape(-1).astype(np.int64)
    low = -size if wrap else 0
    if idx.size and (idx.min() < low or idx.max() >= size):
        bad = int(idx.min() if idx.min() < low else idx.max())
        raise error(f"{opname}(): index {bad} is out of bounds for dimension {dim} with size {size}")
    return np.where(idx < 0, idx + size, idx)


def _check_source(x, axis, idx, source, opname, same_dtype_message, count_error=IndexError):
    source = to_tensor(source, opname)
    if source.dtype != x.dtype:
        raise RuntimeError(same_dtype_message(x, source))
    expected = list(x.shape)
    if x.ndim:
        expected[axis] = len(idx)
    if (source.ndim or x.ndim) and source.ndim != x.ndim or (x.ndim and tuple(source.shape) != tuple(expected)):
        if x.ndim and source.ndim == x.ndim and source.shape[axis] != len(idx):
            raise count_error(f"{opname}(): Number of indices ({len(idx)}) should be equal to source.size(dim) "
                              f"({source.shape[axis]}), for dim: {axis}")
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the specified "
                           f"dimension. Got self.shape = {list(x.shape)} source.shape = {list(source.shape)}")
    return source


@public(inplace="unary")
def index_add(input, dim, index, source, *, alpha=1):
    """input with alpha * source[..., j, ...] added to the slice index[j] along ``dim`` (repeated
    indices accumulate): a segment sum, as message passing in graph networks sums neighbours."""
    x = to_tensor(input, "index_add")
    axis = normalize_dim(dim, x.ndim, "index_add")
    idx = _vector_index(index, "index_add", x.shape[axis] if x.ndim else 1, axis)
    source = _check_source(x, axis, idx, source, "index_add", lambda a, b: (
        f"index_add_(): self ({_dtype.dtype_name(a.dtype)}) and source ({_dtype.dtype_name(b.dtype)}) must "
        f"have the same scalar type"), count_error=RuntimeError)
    if alpha != 1:
        source = source * alpha
    if x.ndim == 0:
        return scatter_add(x.reshape(1), 0, make_tensor(idx), source.reshape(1)).reshape(())
    shape = [1] * x.ndim
    shape[axis] = len(idx)
    spread = make_tensor(np.ascontiguousarray(np.broadcast_to(idx.reshape(shape), tuple(source.shape))))
    return scatter_add(x, axis, spread, source)


@public(inplace="unary")
def index_copy(input, dim, index, source):
    """input with the slices index[j] along ``dim`` replaced by source's slices j."""
    x = to_tensor(input, "index_copy")
    axis = normalize_dim(dim, x.ndim, "index_copy")
    idx = _vector_index(index, "index_copy", x.shape[axis] if x.ndim else 1, axis, error=IndexError)
    source = _check_source(x, axis, idx, source, "index_copy", lambda a, b: (
        f"index_copy_(): self and source expected to have the same dtype, but got (self) "
        f"{_dtype.dtype_name(a.dtype)} and (source) {_dtype.dtype_name(b.dtype)}"))
    if x.ndim == 0:
        return source.reshape(()).clone() if len(idx) else x.clone()
    return apply(IndexPut((slice(None),) * axis + (idx,)), x, source)


@public(inplace="unary")
def index_fill(input, dim, index, value):
    """input with the slices index along ``dim`` set to ``value`` (a number, or a 0-d tensor that
    then receives the gradient); negative indices count from the end."""
    x = to_tensor(input, "index_fill")
    axis = normalize_dim(dim, x.ndim, "index_fill")
    size = x.shape[axis] if x.ndim else 1
    idx = _vector_index(index, "index_fill", size, axis, wrap=True, error=IndexError)
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    if not isinstance(value, Tensor) and x.dtype.kind in "iub" and isinstance(value, float):
        value = int(value)  # torch truncates a float into an integer tensor here
    selected = np.zeros(size, bool)
    selected[idx] = True
    shape = [1] * x.ndim
    if x.ndim:
        shape[axis] = size
    mask = make_tensor(np.ascontiguousarray(np.broadcast_to(selected.reshape(shape), tuple(x.shape))))
    return masked_fill(x, mask, value)


class ScatterMultiply(Op):
    """``scatter(..., reduce='multiply')``: out = input, then out[grid[k]] *= src[k] for every k
    (a repeated index multiplies every factor in). As in torch it has no derivative: a
    backward through it raises."""
    __slots__ = ("grid",)

    def __init__(self, grid):
        self.grid = grid

    def forward(self, x, src):
        out = x.copy()
        np.multiply.at(out, self.grid, src)   # .at: repeated positions take every factor
        return out


@public(inplace="unary")
def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """input with out[..., index[i][j], ...] = src[i][j] along ``dim`` (or = ``value``), index of
    input's rank: the one-hot encoding of labels, and the inverse of gather. The gradient reaches
    src at the written positions and input elsewhere. torch's ``reduce='add'`` / ``'multiply'``
    accumulate into input instead of overwriting (without a gradient for 'multiply', as torch)."""
    x = to_tensor(input, "scatter")
    if src is None and value is None:
        raise TypeError("scatter() missing 1 required positional argument: 'src' or 'value'")
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src
    if reduce not in (None, "add", "multiply"):
        raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got {reduce!r}")
    axis = normalize_dim(dim, x.ndim, "scatter")
    index = to_tensor(index, "scatter")
    if value is not None and reduce is not None:
        src = make_tensor(np.full(tuple(index.shape), _value_array(value, x._data.dtype, "scatter")))
    if src is not None:
        if src.dtype != x.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        if max(x.ndim, index.ndim, src.ndim) <= 1 and min(x.ndim, index.ndim, src.ndim) == 0:
            out = scatter(x.reshape(-1), 0, index.reshape(-1), src.reshape(-1), reduce=reduce)
            return out.reshape(tuple(x.shape))
        if index.ndim != src.ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
        for d in range(index.ndim):
            if index.shape[d] > src.shape[d]:
                raise RuntimeError(f"Expected index {list(index.shape)} to be smaller than self "
                                   f"{list(x.shape)} apart from dimension {axis} and to be smaller size than src "
                                   f"{list(src.shape)}")
        if reduce == "add":
            return scatter_add(x, axis, index, src)
        grid = _grid(x, index, axis, "scatter")
        part = src[tuple(slice(0, s) for s in index.shape)] if tuple(src.shape) != tuple(index.shape) else src
        return apply(ScatterMultiply(grid) if reduce == "multiply" else IndexPut(grid), x, part)
    if x.ndim <= 1 and index.ndim <= 1 and min(x.ndim, index.ndim) == 0:
        return scatter(x.reshape(-1), 0, index.reshape(-1), value=value).reshape(tuple(x.shape))
    grid = _grid(x, index, axis, "scatter")
    return apply(IndexPut(grid), x, make_tensor(_value_array(value, x.dtype, "scatter")))
