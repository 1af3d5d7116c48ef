"""Ops built from the primitives, so they need no derivative of their own:
narrow, roll, tile, diagonal, diag, trace, repeat_interleave, tensordot,
addmm, kron. Their gradients (of any order) come from the ops they are made of.
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import apply, make_tensor
from ._util import normalize_dim, shape_str, to_tensor
from . import shape as sh
from .indexing import Diagonal
from .matmul import einsum, matmul
from .declare import public


@public
def narrow(input, dim, start, length):
    """The slice [start, start + length) along ``dim`` (a view)."""
    x = to_tensor(input, "narrow")
    d = normalize_dim(dim, x.ndim, "narrow")
    n = x.shape[d]
    start = int(start) + (n if start < 0 else 0)
    if start < 0 or length < 0 or start + length > n:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n})")
    return x[(slice(None),) * d + (slice(start, start + length),)]


@public
def select(input, dim, index):
    """The slice at ``index`` along ``dim``, that dimension removed (a view): ``x.select(0, i)`` is ``x[i]``."""
    x = to_tensor(input, "select")
    if x.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = normalize_dim(dim, x.ndim, "select")
    n = x.shape[d]
    i = int(index)
    if not -n <= i < n:
        raise IndexError(f"select(): index {i} out of range for tensor of size {list(x.shape)} at dimension {d}")
    return x[(slice(None),) * d + (i,)]


@public
def roll(input, shifts, dims=None):
    """Shift elements cyclically along ``dims`` (flattened when dims is None), as torch.roll."""
    x = to_tensor(input, "roll")
    if dims is None:
        return roll(x.flatten(), shifts, 0).reshape(tuple(x.shape))
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    out = x
    for s, d in zip(shifts, dims):
        d = normalize_dim(d, x.ndim, "roll")
        n = x.shape[d]
        s = s % n if n else 0
        if s:
            pre = (slice(None),) * d
            out = sh.cat([out[pre + (slice(n - s, n),)], out[pre + (slice(0, n - s),)]], d)
    return out


@public
def tile(input, *dims):
    """np.tile / torch.tile: repeat, padding ``dims`` with leading ones (a tuple, or
    separate ints as in ``x.tile(2, 1)``)."""
    x = to_tensor(input, "tile")
    dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    if len(dims) < x.ndim:
        dims = (1,) * (x.ndim - len(dims)) + dims
    return sh.repeat(x, dims, _opname="tile")


@public
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal along dims (dim1, dim2), moved to the last dim (as torch.diagonal)."""
    x = to_tensor(input, "diagonal")
    d1, d2 = normalize_dim(dim1, x.ndim, "diagonal"), normalize_dim(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 cannot be identical, got {dim1} and {dim2}")
    rest = [d for d in range(x.ndim) if d not in (d1, d2)]
    return apply(Diagonal(int(offset)), x.permute(rest + [d1, d2]))  # a view of x, as torch's


@public
def diag(input, diagonal=0):
    """A vector becomes a matrix with it on the ``diagonal``; a matrix gives its diagonal."""
    x = to_tensor(input, "diag")
    if x.ndim == 2:
        return globals()["diagonal"](x, diagonal)
    if x.ndim != 1:
        raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {shape_str(x.shape)}")
    n = x.shape[0] + abs(diagonal)
    i = np.arange(x.shape[0]) + max(0, -diagonal)
    out = make_tensor(np.zeros((n, n), dtype=x.dtype))
    out[(make_tensor(i), make_tensor(i + diagonal))] = x
    return out


@public
def trace(input):
    """Sum of the main diagonal of a matrix."""
    x = to_tensor(input, "trace")
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, got shape {shape_str(x.shape)}")
    return diagonal(x).sum()


@public
def repeat_interleave(input, repeats, dim=None):
    """Repeat each element ``repeats`` times along ``dim`` (flattened when dim is None)."""
    x = to_tensor(input, "repeat_interleave")
    if dim is None:
        x, dim = x.flatten(), 0
    d = normalize_dim(dim, x.ndim, "repeat_interleave")
    reps = repeats._data if hasattr(repeats, "_data") else repeats
    idx = np.repeat(np.arange(x.shape[d]), reps)
    return x[(slice(None),) * d + (make_tensor(idx),)]


@public(method=False)
def tensordot(a, b, dims=2):
    """Contract the last ``dims`` dims of a with the first of b (or the listed pairs)."""
    a, b = to_tensor(a, "tensordot"), to_tensor(b, "tensordot")
    if isinstance(dims, int):
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = [list(d) if isinstance(d, (list, tuple)) else [d] for d in dims]
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(da, db):
        sb[j % b.ndim] = sa[i % a.ndim]
    contracted = {sa[i % a.ndim] for i in da}
    out = [c for c in sa if c not in contracted] + [c for c in sb if c not in contracted]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


@public
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2): a linear layer in one call."""
    prod = matmul(mat1, mat2)
    if alpha != 1:
        prod = prod * alpha
    return prod + (input if beta == 1 else to_tensor(input) * beta)


@public
def kron(input, other):
    """Kronecker product: every element of a times the whole of b, in blocks."""
    a, b = to_tensor(input, "kron"), to_tensor(other, "kron")
    nd = max(a.ndim, b.ndim)
    a = a.reshape((1,) * (nd - a.ndim) + tuple(a.shape))
    b = b.reshape((1,) * (nd - b.ndim) + tuple(b.shape))
    inter_a, inter_b = [], []
    for sa_, sb_ in zip(a.shape, b.shape):
        inter_a += [sa_, 1]
        inter_b += [1, sb_]
    out = a.reshape(tuple(inter_a)) * b.reshape(tuple(inter_b))
    return out.reshape(tuple(sa_ * sb_ for sa_, sb_ in zip(a.shape, b.shape)))
