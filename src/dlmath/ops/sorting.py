"""Ordering: sort, argsort, topk, and the boolean reductions all/any.

sort and topk pick values by index, so their gradient is gather's: each chosen
input element receives its value's cotangent (top-k sampling, beam search).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd.node import make_tensor
from ._util import normalize_dim, normalize_dims, to_tensor
from .indexing import gather
from .declare import public

SortResult = namedtuple("sort", ["values", "indices"])
TopKResult = namedtuple("topk", ["values", "indices"])


def _order(x, axis, descending, opname):
    """Stable order along ``axis``: equal values keep their order (as torch's stable sort),
    and NaN counts as the largest value (torch): last ascending, first descending.

    Descending is the ascending order of the reversed array, reversed: NumPy already puts
    NaN last, and nothing is negated (-a would overflow int8's -128 and int64's minimum,
    and leave NaN last)."""
    a = x._data
    if a.dtype.kind == "c":
        raise RuntimeError(f"{opname}: complex tensors have no order")
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    idx = np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)
    return (a.shape[axis] - 1) - idx


@public
def argsort(input, dim=-1, descending=False, stable=False):
    """Indices that sort ``input`` along ``dim``."""
    x = to_tensor(input, "argsort")
    if x.ndim == 0:
        return make_tensor(np.zeros((), np.int64))
    axis = normalize_dim(dim, x.ndim, "argsort")
    return make_tensor(_order(x, axis, descending, "argsort").astype(np.int64))


@public
def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along ``dim``; values are differentiable (a gather)."""
    x = to_tensor(input, "sort")
    if x.ndim == 0:  # a new tensor, never the input itself
        return SortResult(x.clone(), make_tensor(np.zeros((), np.int64)))
    idx = argsort(x, dim, descending)
    return SortResult(gather(x, dim, idx), idx)


@public
def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
    x = to_tensor(input, "topk")
    if x._data.dtype.kind == "b":
        raise RuntimeError("topk: does not support bool dtypes (torch: topk does not support bool "
                           "dtypes on CPU)")
    axis = normalize_dim(dim, max(x.ndim, 1), "topk")
    n = x.shape[axis] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {dim} of size {n} "
                           f"(input shape {tuple(x.shape)})")
    if x.ndim == 0:
        return TopKResult(x.clone(), make_tensor(np.zeros((), np.int64)))
    idx = _top_k_indices(x._data, k, axis, largest)
    if idx is None:
        order = _order(x, axis, largest, "topk")
        idx = np.take(order, np.arange(k), axis=axis)
    idx = make_tensor(idx.astype(np.int64))
    return TopKResult(gather(x, axis, idx), idx)


def _top_k_indices(a, k, axis, largest):
    """The first k of the stable order (see ``_order``) without sorting whole rows, when k is small.

    A partition finds each row's k-th value; only the elements on the right side of it (ties
    included, so the stable tie order survives) are sorted, by (row, value, position). None when
    a full sort is as cheap (k near n) or NaN makes the order special."""
    n = a.shape[axis]
    if k == 0 or 8 * k > n or a.dtype.kind not in "iuf" or (a.dtype.kind == "f" and np.isnan(a).any()):
        return None
    rows = np.moveaxis(a, axis, -1)
    lead = rows.shape[:-1]
    rows = rows.reshape(-1, n)
    if largest:
        kth = np.partition(rows, n - k, axis=1)[:, n - k:n - k + 1]
        r, c = np.nonzero(rows >= kth)
        # descending by value without negation, which overflows int minima: ~v reverses any int order
        key = -rows[r, c] if a.dtype.kind == "f" else ~rows[r, c]
    else:
        kth = np.partition(rows, k - 1, axis=1)[:, k - 1:k]
        r, c = np.nonzero(rows <= kth)
        key = rows[r, c]
    order = np.lexsort((c, key, r))  # by row, then value, then position (the stable order)
    starts = np.concatenate(([0], np.cumsum(np.bincount(r, minlength=rows.shape[0]))[:-1]))
    picked = c[order[starts[:, None] + np.arange(k)]]
    return np.moveaxis(picked.reshape(lead + (k,)), -1, axis)


def _bool_reduce(fn, opname, input, dim, keepdim):
    x = to_tensor(input, opname)
    axes = None if dim is None else normalize_dims(dim, x.ndim, opname)
    out = fn(x._data, axis=axes, keepdims=keepdim)
    return make_tensor(np.asarray(out, dtype=np.uint8 if x.dtype == np.uint8 else bool))


@public
def all(input, dim=None, keepdim=False):
    """True where every element (along ``dim``) is nonzero."""
    return _bool_reduce(np.all, "all", input, dim, keepdim)


@public
def any(input, dim=None, keepdim=False):
    """True where some element (along ``dim``) is nonzero."""
    return _bool_reduce(np.any, "any", input, dim, keepdim)
