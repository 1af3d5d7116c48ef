"""The array namespace of the plain backward pass: NumPy, plus the few
scatter helpers that NumPy spells as in-place statements."""
from numpy import *  # noqa: F401,F403  (vjp formulas call xp.exp, xp.sum, ... by NumPy's names)
import numpy as _np

from ..ops.indexing import scatter_into_zeros as _scatter
from ..ops._util import reduce_along as _reduce_along


def index_scatter(g, shape, index, lead=0):
    """zeros(shape) with g added at ``index`` (the transpose of ``x[index]``);
    the first ``lead`` dims of g are a batch, kept in front."""
    return _scatter(g, shape, index, lead)


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
        return _reduce_along(_np.add, a, axis, keepdims) if axis is not None else _add_reduce(a, axis=None, keepdims=keepdims)
    return _np.sum(a, axis=axis, keepdims=keepdims)
