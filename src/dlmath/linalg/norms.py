"""Norms: ``vector_norm`` (a primitive), ``matrix_norm`` and ``norm`` (PyTorch's dispatch
between the two), and ``norm_legacy`` (``torch.norm`` / ``Tensor.norm``).

Norms measure size in deep learning: weight decay (||W||_F^2), gradient
clipping (the global 2-norm of all gradients), spectral normalisation (the
2-norm of a matrix: its top singular value), and ``F.normalize``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from ..autograd.node import Op, apply
from ..ops import elementwise as ew, reduction as red, shape as sh
from ..ops._util import cast, normalize_dim, normalize_dims, quiet
from ..ops.reduction import _restore
from ._common import float_input, raw

_INF = math.inf


class VectorNorm(Op):
    """||x||_p = (sum_i |x_i|^p)^(1/p) over ``axes``; p = inf: max |x_i|; p = 0: count of x_i != 0.

    A primitive rather than a composite (sqrt(sum(x^2))) for the derivative at
    the zero vector: d||x||/dx = sign(x) |x|^(p-1) / ||x||^(p-1) (= x/||x|| for
    p = 2) is 0/0 there, and the rule returns PyTorch's subgradient 0, not NaN.
    For p = +-inf the cotangent is shared evenly among the tied extreme entries.

    ``ord``: p (a float); ``axes``: the (non-negative) axes reduced; ``keepdim``: keep them as size 1.
    """
    __slots__ = ("ord", "axes", "keepdim")
    uses_output = True

    def __init__(self, ord, axes, keepdim):
        self.ord = ord
        self.axes = axes
        self.keepdim = keepdim

    def forward(self, x):
        p, axes, keep = self.ord, self.axes, self.keepdim
        with quiet():
            ax = np.abs(x)
            if p == 2:
                return np.sqrt(np.sum(ax * ax, axis=axes, keepdims=keep))
            if p == 1:
                return np.sum(ax, axis=axes, keepdims=keep)
            if p == _INF:
                return np.max(ax, axis=axes, keepdims=keep)
            if p == -_INF:
                return np.min(ax, axis=axes, keepdims=keep)
            if p == 0:
                return np.sum(ax != 0, axis=axes, keepdims=keep).astype(x.dtype)
            return np.sum(ax ** p, axis=axes, keepdims=keep) ** (1.0 / p)

    def _dnorm_dx(self, xp, x, y):
        """d||x||/dx_i, broadcast to x's shape, with the subgradient 0 where ||x|| = 0."""
        p = self.ord
        yk = _restore(xp, y, self.axes, self.keepdim, x.ndim)
        xr, yr = raw(x), raw(yk)
        if p == 0:
            return x * 0
        if p == 1:
            return xp.sign(x)
        if p in (_INF, -_INF):
            hit = (np.abs(xr) == yr)
            return xp.sign(x) * (hit / np.sum(hit, axis=self.axes, keepdims=True)).astype(xr.dtype)
        zero_norm = (yr == 0)
        y_safe = xp.where(zero_norm, 1.0, yk)      # the "double where": no 0/0 anywhere
        if p == 2:
            return xp.where(zero_norm, 0.0, x / y_safe)
        x_zero = (xr == 0)
        ax_safe = xp.where(x_zero, 1.0, xp.abs(x))
        d = xp.sign(x) * ax_safe ** (p - 1) / y_safe ** (p - 1)
        return xp.where(zero_norm | x_zero, 0.0, d)

    def vjp(self, xp, g, x, y):
        return (_restore(xp, g, self.axes, self.keepdim, x.ndim) * self._dnorm_dx(xp, x, y),)

    def jvp(self, xp, t, x, y):
        return xp.sum(t[0] * self._dnorm_dx(xp, x, y), axis=self.axes, keepdims=self.keepdim)


def _check_ord(ord, opname):
    if isinstance(ord, str) or not isinstance(ord, (int, float, np.integer, np.floating)) or isinstance(ord, bool):
        raise TypeError(f"{opname}(): argument 'ord' must be Number, not {type(ord).__name__}")
    return float(ord)


def _with_dtype(x, dtype, opname):
    if dtype is None:
        return x
    dt = _dtype.to_dtype(dtype)
    if dt.kind not in "fc":
        raise RuntimeError(f"{opname}: dtype should be floating point or complex, but got "
                           f"{_dtype.dtype_name(dt).capitalize()}")
    return cast(x, dt)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """||x||_ord over ``dim`` (all elements when None), as torch.linalg.vector_norm.

    ord: 2 (Euclidean), 1, inf (max |x_i|), -inf (min |x_i|), 0 (number of
    nonzeros), or any real p. The gradient at the zero vector is 0 (PyTorch's
    subgradient), never NaN.

    >>> import dlmath as dm
    >>> dm.linalg.vector_norm(dm.tensor([3.0, -4.0]))
    tensor(5.)
    >>> dm.linalg.vector_norm(dm.tensor([3.0, -4.0]), ord=float('inf'))
    tensor(4.)
    """
    opname = "linalg.vector_norm"
    x = float_input(x, opname)
    x = _with_dtype(x, dtype, opname)
    p = _check_ord(ord, "linalg_vector_norm")
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        axes = tuple(range(x.ndim))
    else:
        axes = normalize_dims(dim, x.ndim, opname)
    if p < 0 or p == _INF:
        if any(x.shape[a] == 0 for a in axes) or x._data.size == 0:
            raise RuntimeError(f"{opname} cannot compute the {ord} norm on an empty tensor because the "
                               "operation does not have an identity")
    return apply(VectorNorm(p, axes, bool(keepdim)), x)


_MATRIX_ORDS = ("fro", "nuc", 2, -2, 1, -1, _INF, -_INF)


def _squeeze_dims(t, dims):
    shape = [s for i, s in enumerate(t.shape) if i not in dims]
    return sh.reshape(t, tuple(shape))


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Matrix norm over the two dims ``dim``, as torch.linalg.matrix_norm.

    'fro': sqrt(sum a_ij^2) (weight decay); 'nuc': sum of singular values (low-rank
    penalties); 2 / -2: largest / smallest singular value (spectral normalisation,
    Lipschitz bounds); 1 / -1: max / min column sum of |a_ij|; inf / -inf: max / min row sum.

    >>> import dlmath as dm
    >>> dm.linalg.matrix_norm(dm.tensor([[3.0, 0.0], [0.0, -4.0]]), ord=2)
    tensor(4.)
    """
    opname = "linalg.matrix_norm"
    A = float_input(A, opname)
    if A.ndim < 2:
        raise RuntimeError(f"{opname}: The input tensor A must have at least 2 dimensions.")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        got = " ".join(map(str, dim)) if isinstance(dim, (tuple, list)) else dim
        raise RuntimeError(f"{opname}: dim must be a 2-tuple. Got {got}")
    d0, d1 = (normalize_dim(d, A.ndim, opname) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"{opname}: dims must be different. Got ({dim[0]}, {dim[1]})")
    if isinstance(ord, str):
        if ord not in ("fro", "nuc"):
            raise RuntimeError(f"{opname}: Order {ord} not supported.")
    elif ord not in _MATRIX_ORDS:
        raise RuntimeError(f"{opname}: Order {ord} not supported.")
    A = _with_dtype(A, dtype, opname)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        from .eigen import svdvals
        s = svdvals(sh.movedim(A, (d0, d1), (-2, -1)))
        empty = s.shape[-1] == 0 and ord == 2           # the 2-norm of an empty matrix is 0, as torch
        out = red.sum(s, -1) if ord == "nuc" or empty else (red.amax(s, -1) if ord == 2 else red.amin(s, -1))
        if keepdim:
            for d in sorted((d0, d1)):
                out = sh.unsqueeze(out, d)
        return out
    # 1 / -1: reduce |a| over rows (d0) then the extreme over columns (d1); inf: the other way round
    inner, outer = (d0, d1) if abs(ord) == 1 else (d1, d0)
    pick = red.amax if ord > 0 else red.amin
    out = pick(red.sum(ew.abs(A), inner, keepdim=True), outer, keepdim=True)
    return out if keepdim else _squeeze_dims(out, (d0, d1))


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm: a vector norm or a matrix norm, chosen by ``ord`` and ``dim``.

    dim=None and ord=None: the 2-norm of all elements. A string ord, a 2-tuple
    dim, or ord with a 2-D input and no dim: a matrix norm. Otherwise a vector norm.

    >>> import dlmath as dm
    >>> dm.linalg.norm(dm.tensor([[1.0, 2.0], [2.0, 4.0]]))
    tensor(5.)
    """
    opname = "linalg.norm"
    A = float_input(A, opname)
    if dim is not None:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        if len(dims) not in (1, 2):
            raise RuntimeError(f"{opname}: If dim is specified, it must be of length 1 or 2. Got {list(dims)}")
    elif ord is not None:
        if A.ndim not in (1, 2):
            raise RuntimeError(f"{opname}: If dim is not specified but ord is, the input must be 1D or 2D. "
                               f"Got {A.ndim}D.")
        dims = tuple(range(A.ndim))
    else:
        dims = None
    if dims is not None and (len(dims) == 2 or isinstance(ord, str)):
        if len(dims) != 2:
            raise RuntimeError(f"{opname}: If ord is a string, dim must be a 2-tuple; got {list(dims)}")
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)


def norm_legacy(input, p="fro", dim=None, keepdim=False, dtype=None):
    """torch.norm / Tensor.norm: p='fro' (with at most two dims) and numbers are vector
    norms over ``dim`` (all elements when None); 'nuc' is the nuclear matrix norm.

    >>> import dlmath as dm
    >>> dm.tensor([[3.0, 4.0]]).norm()
    tensor(5.)
    >>> dm.norm(dm.tensor([[3.0, -4.0]]), p=1, dim=1)
    tensor([7.])
    """
    _dim = None if dim is None else ([dim] if isinstance(dim, (int, np.integer)) else list(dim))
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, (int, np.integer)) or len(dim) <= 2):
            return vector_norm(input, 2, _dim, keepdim, dtype=dtype)
        if _dim is None:
            _dim = list(range(input.ndim))
        if len(_dim) != 2:
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, _dim))}")
        return matrix_norm(input, p, _dim, keepdim, dtype=dtype)
    return vector_norm(input, 2.0 if p is None else p, _dim, keepdim, dtype=dtype)
