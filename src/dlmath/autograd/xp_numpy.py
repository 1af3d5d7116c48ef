"""The array namespace of the plain backward pass: NumPy, plus the few
scatter helpers that NumPy spells as in-place statements."""
from numpy import *  # noqa: F401,F403  (vjp formulas call xp.exp, xp.sum, ... by NumPy's names)
import numpy as _np

from ..ops.indexing import scatter_into_zeros as _scatter


def index_scatter(g, shape, index):
    """zeros(shape) with g added at ``index`` (the transpose of ``x[index]``)."""
    return _scatter(g, shape, index)


def pad_to(g, shape):
    """g placed in the leading corner of zeros(shape)."""
    out = _np.zeros(shape, dtype=g.dtype)
    out[tuple(slice(0, s) for s in g.shape)] = g
    return out
