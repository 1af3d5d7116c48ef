"""The array namespace of the recorded backward pass (``create_graph=True``).

The same vjp formula that runs on NumPy arrays runs here on Tensors: each
function has NumPy's name and signature and calls the differentiable dlmath
op, so the backward pass is itself a graph and can be differentiated again.
"""
from __future__ import annotations

import numpy as _np

from . import elementwise as _ew, reduction as _red, shape as _shape, matmul as _mm
from . import indexing as _ix
from . import binary as _binary
from ._util import to_tensor as _t

inf = _np.inf
exp, log, sin, cos, sqrt, tanh, sign, floor = _ew.exp, _ew.log, _ew.sin, _ew.cos, _ew.sqrt, _ew.tanh, _ew.sign, _ew.floor
abs, square, log1p, expm1 = _ew.abs, _ew.square, _ew.log1p, _ew.expm1
maximum, minimum = _binary.any_maximum, _binary.any_minimum  # NumPy's: a number is fine
matmul, einsum = _mm.matmul, _mm.einsum


def sinh(a):
    from .elementary import sinh as f  # elementary sits beside this module; load it when a pass records
    return f(a)


def cosh(a):
    from .elementary import cosh as f
    return f(a)


def fmod(a, b):
    return _ew.fmod(a, b)


def where(c, a, b):
    return _ew.where(_t(c), a, b)


def sum(a, axis=None, keepdims=False):
    if isinstance(axis, tuple) and not axis:  # NumPy: no axes, no reduction (torch would reduce all)
        return a
    return _red.sum(a, axis, keepdims)


def mean(a, axis=None, keepdims=False):
    if isinstance(axis, tuple) and not axis:
        return a
    return _red.mean(a, axis, keepdims)


def prod(a, axis=None, keepdims=False):
    return _red.prod(a, axis, keepdims)


def cumsum(a, axis):
    return _red.cumsum(a, axis)


def reshape(a, shape):
    return _shape.reshape(a, tuple(shape))


def broadcast_to(a, shape):
    return _shape.expand(_t(a), tuple(shape))


def transpose(a, axes=None):
    a = _t(a)
    return _shape.permute(a, tuple(reversed(range(a.ndim))) if axes is None else tuple(axes))


def swapaxes(a, i, j):
    return _shape.transpose(a, i, j)


def expand_dims(a, axis):
    return _shape.unsqueeze(_t(a), axis)


def flip(a, axis):
    return _shape.flip(a, axis)


def tile(a, reps):
    return _shape.repeat(a, tuple(reps))


def tril(a, k=0):
    return _shape.tril(a, k)


def triu(a, k=0):
    return _shape.triu(a, k)


def concatenate(xs, axis=0):
    return _shape.cat(list(xs), axis)


def zeros(shape, dtype=None):
    from ..autograd.node import make_tensor
    return make_tensor(_np.zeros(shape, dtype=dtype))


def stack(xs, axis=0):
    return _shape.stack(list(xs), axis)


def astype(a, dtype):
    from ..ops._util import cast
    return cast(_t(a), dtype)


def index_scatter(g, shape, index, lead=0):
    from ..autograd.node import apply
    return apply(_ix.IndexScatter(tuple(shape), index, lead), g)


def pad_to(g, shape):
    from ..ops.shape import cat
    out = g
    lead = g.ndim - len(shape)
    for d, (have, want) in enumerate(zip(g.shape[lead:], shape)):
        if have < want:
            pad_shape = list(out.shape)
            pad_shape[lead + d] = want - have
            out = cat([out, zeros(tuple(pad_shape), dtype=g.dtype)], lead + d)
    return out


def masked(g, keep):
    """g where ``keep``, else exactly 0 (see xp_numpy.masked)."""
    return _ew.where(_t(keep), g, 0.0)
