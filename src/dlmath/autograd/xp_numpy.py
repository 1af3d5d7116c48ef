"""The array namespace of the plain backward pass: NumPy, plus the few
scatter helpers that NumPy spells as in-place statements.

It belongs to the autograd layer and imports only NumPy when loaded; the index
helpers of the ops layer are looked up when a rule first needs them.
"""
from numpy import *  # noqa: F401,F403  (vjp formulas call xp.exp, xp.sum, ... by NumPy's names)
import numpy as _np


def index_scatter(g, shape, index, lead=0):
    """zeros(shape) with g added at ``index`` (the transpose of ``x[index]``);
    the first ``lead`` dims of g are a batch, kept in front."""
    from ..ops.indexing import scatter_into_zeros   # the ops layer: loaded by the time a rule runs
    return scatter_into_zeros(g, shape, index, lead)


def reduce_along(ufunc, x, axis, keepdims=False):
    """``ufunc.reduce`` over axes; a short last axis (softmax over 10 classes) is
    reduced from a transposed copy, where NumPy's inner loop runs along
    contiguous memory: about 4x faster on (128, 10) logits."""
    if isinstance(axis, tuple):
        if len(axis) != 1:
            return ufunc.reduce(x, axis=axis, keepdims=keepdims)
        axis = axis[0]
    nd = x.ndim
    if nd >= 2 and axis in (nd - 1, -1) and x.shape[-1] <= 32 and x.size >= 256:
        r = ufunc.reduce(_np.ascontiguousarray(x.transpose((nd - 1,) + tuple(range(nd - 1)))), axis=0)
        return r[..., None] if keepdims else r
    return ufunc.reduce(x, axis=axis, keepdims=keepdims)


def pad_to(g, shape):
    """g placed in the leading corner of zeros(shape) (g's extra leading dims are a batch)."""
    lead = g.ndim - len(shape)
    out = _np.zeros(g.shape[:lead] + tuple(shape), dtype=g.dtype)
    out[(Ellipsis,) + tuple(slice(0, s) for s in g.shape[lead:])] = g
    return out


def astype(a, dtype):
    return _np.asarray(a).astype(dtype)


_add_reduce = _np.add.reduce


def sum(a, axis=None, keepdims=False):
    """np.sum without its Python wrapper for float arrays (the common case in a vjp)."""
    if a.dtype.kind in "fc":
        if axis == 0 and a.ndim > 1:  # a bias's batch sum: not the short-last-axis case
            return _add_reduce(a, axis=0, keepdims=keepdims)
        return reduce_along(_np.add, a, axis, keepdims) if axis is not None else _add_reduce(a, axis=None, keepdims=keepdims)
    return _np.sum(a, axis=axis, keepdims=keepdims)


_np_broadcast_to = _np.broadcast_to
_SMALL = 4096


def broadcast_to(a, shape):
    """np.broadcast_to; a small result is filled in instead, since np.broadcast_to's
    Python wrapper costs more than copying a few thousand numbers (sum/mean vjps)."""
    a = _np.asarray(a)
    size = 1
    for s in shape:
        size *= s
    if size > _SMALL or a.dtype.kind not in "fc":
        return _np_broadcast_to(a, shape)
    out = _np.empty(shape, a.dtype)
    out[...] = a
    return out


_isfinite = _np.isfinite


def masked(g, keep):
    """g where ``keep``, else exactly 0 (torch's masked backward: an inf or NaN in g does
    not leak through as inf * 0). Multiplied, since np.where is ~10x slower on a random
    mask; only a product with non-finite numbers gets its masked places zeroed again."""
    out = g * keep
    if not _isfinite(out).all():
        out = _np.array(out, copy=True) if not out.flags.writeable else out
        out[~_np.broadcast_to(keep, out.shape)] = 0
    return out


def masked_(g, keep):
    """``masked`` written into g itself (a donated cotangent)."""
    g *= keep
    if not _isfinite(g).all():
        g[~_np.broadcast_to(keep, g.shape)] = 0
    return g
