"""Building and reshaping: flips and axis moves, splitting into pieces, stacking along new
columns and depths, block-diagonal matrices, index grids and combinations, and the cross product.

Everything is composed from views (narrow, reshape, flip, expand) and joins (cat, stack), so
gradients route back to each piece for free; the index builders (tril_indices, triu_indices,
combinations' positions) have no derivative.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np

from .. import _dtype
from ..autograd.node import make_tensor
from ..tensor import Tensor
from ._util import cast, normalize_dim, to_tensor
from .declare import public
from .shape import cat, flip, hstack, movedim, stack


@public
def fliplr(input):
    """Reverse the columns (dim 1)."""
    x = to_tensor(input, "fliplr")
    if x.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(x, (1,))


@public
def flipud(input):
    """Reverse the rows (dim 0)."""
    x = to_tensor(input, "flipud")
    if x.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(x, (0,))


@public
def moveaxis(input, source, destination):
    """movedim under NumPy's name."""
    return movedim(input, source, destination)


@public
def ravel(input):
    """The elements in row-major order, as a 1-D tensor (a view when possible)."""
    return to_tensor(input, "ravel").reshape(-1)


def _pieces(x, axis, bounds):
    """x[b_{k-1}:b_k] along ``axis`` for consecutive bounds (from 0 to the end), each a Python slice."""
    n = x.shape[axis]
    edges = [0] + [int(b) for b in bounds] + [n]
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        start, stop, _ = slice(lo, hi).indices(n)
        out.append(x.narrow(axis, start, max(stop - start, 0)))
    return tuple(out)


@public
def tensor_split(input, indices_or_sections, dim=0):
    """Views of ``input`` along ``dim``: k nearly equal pieces (the first n % k one longer), or the
    pieces between the given indices, as numpy.array_split."""
    x = to_tensor(input, "tensor_split")
    if x.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    axis = normalize_dim(dim, x.ndim, "tensor_split")
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        if spec.dtype.kind not in "iu":
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have an integral dtype, but "
                               f"got {_dtype.dtype_name(spec.dtype)}")
        if spec.ndim > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {spec.ndim} dims")
        spec = int(spec.item()) if spec.ndim == 0 else [int(v) for v in spec.tolist()]
    n = x.shape[axis]
    if isinstance(spec, (int, np.integer)):
        k = int(spec)
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        size, extra = divmod(n, k)
        bounds = np.cumsum([size + 1] * extra + [size] * (k - extra))[:-1]
        return _pieces(x, axis, bounds)
    return _pieces(x, axis, spec)


def _directional_split(input, spec, name, dim, min_dims):
    x = to_tensor(input, name)
    if x.ndim < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a tensor "
                           f"with {x.ndim} dimensions!")
    if isinstance(spec, (int, np.integer)) and spec and x.shape[dim] % spec:
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                           f"{x.shape[dim]} is not divisible by the split_size {spec}!")
    return tensor_split(x, spec, dim)


@public
def hsplit(input, indices_or_sections):
    """tensor_split along dim 1 (dim 0 for a 1-D tensor); an int must divide the size."""
    x = to_tensor(input, "hsplit")
    return _directional_split(x, indices_or_sections, "hsplit", 1 if x.ndim > 1 else 0, 1)


@public
def vsplit(input, indices_or_sections):
    """tensor_split along dim 0 of a tensor of 2 or more dims."""
    return _directional_split(input, indices_or_sections, "vsplit", 0, 2)


@public
def dsplit(input, indices_or_sections):
    """tensor_split along dim 2 of a tensor of 3 or more dims."""
    return _directional_split(input, indices_or_sections, "dsplit", 2, 3)


def _at_least(tensors, fn):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(fn(to_tensor(t)) for t in tensors[0])
    out = tuple(fn(to_tensor(t)) for t in tensors)
    return out[0] if len(out) == 1 else out


def _1d(t):
    return t.reshape(1) if t.ndim == 0 else t


def _2d(t):
    return t.reshape(1, -1) if t.ndim < 2 else t


def _3d(t):
    if t.ndim == 0:
        return t.reshape(1, 1, 1)
    if t.ndim == 1:
        return t.reshape(1, -1, 1)
    if t.ndim == 2:
        return t.unsqueeze(-1)
    return t


@public(method=False)
def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (a 0-d one becomes shape (1,))."""
    return _at_least(tensors, _1d)


@public(method=False)
def atleast_2d(*tensors):
    """Each tensor with at least 2 dims (a 1-D one of n becomes a row (1, n))."""
    return _at_least(tensors, _2d)


@public(method=False)
def atleast_3d(*tensors):
    """Each tensor with at least 3 dims: (n,) -> (1, n, 1), (m, n) -> (m, n, 1), as NumPy."""
    return _at_least(tensors, _3d)


@public(method=False)
def column_stack(tensors):
    """Join as columns: 0-d and 1-D tensors become columns (n, 1), then hstack."""
    return hstack([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in map(to_tensor, tensors)])


@public(method=False)
def dstack(tensors):
    """Join along the third dim (depth), after atleast_3d."""
    return cat([_3d(to_tensor(t)) for t in tensors], 2)


@public(method=False)
def block_diag(*tensors):
    """The matrices on the diagonal of a block matrix, zeros elsewhere (0-d -> (1, 1), 1-D -> a row):
    independent linear maps applied as one (grouped layers, per-head projections)."""
    blocks = [to_tensor(t, "block_diag") for t in tensors]
    for k, b in enumerate(blocks):
        if b.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {k} has "
                               f"{b.ndim} dimensions")
    if not blocks:
        return make_tensor(np.zeros((1, 0), _dtype._default.value))
    from ._util import result_dtype

    dt = result_dtype(blocks)
    blocks = [cast(b.reshape(1, -1) if b.ndim < 2 else b, dt) for b in blocks]
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        r, c = b.shape
        parts = [make_tensor(np.zeros((r, left), dt)), b, make_tensor(np.zeros((r, width - left - c), dt))]
        rows.append(cat(parts, 1))
        left += c
    return cat(rows, 0)


@public(method=False)
def cartesian_prod(*tensors):
    """Every tuple (a_i, b_j, ...) of the 1-D tensors' elements, one row each, in row-major order."""
    ts = [to_tensor(t, "cartesian_prod") for t in tensors]
    for t in ts:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(ts) == 1:
        return ts[0]
    if len({t.dtype for t in ts}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    shape = tuple(t.shape[0] for t in ts)
    columns = []
    for k, t in enumerate(ts):
        view = [1] * len(ts)
        view[k] = shape[k]
        columns.append(t.reshape(view).expand(shape).reshape(-1))
    return stack(columns, 1)


@public(method=False)
def combinations(input, r=2, with_replacement=False):
    """The length-r combinations of a 1-D tensor's elements, one row each (itertools' order); the
    gradient of each element sums over the rows it appears in."""
    x = to_tensor(input, "combinations")
    if x.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(x.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return make_tensor(np.zeros((0,), x.dtype))
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = np.array(list(pick(range(x.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return x[make_tensor(rows.reshape(-1))].reshape(-1, r)


def _tri_indices(row, col, offset, dtype, lower):
    dt = np.dtype(np.int64) if dtype is None else _dtype.to_dtype(dtype)
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0 else f"col must be non-negative, got{col}")
    rows, cols = (np.tril_indices if lower else np.triu_indices)(row, offset, col)
    return make_tensor(np.stack([rows, cols]).astype(dt).reshape(2, -1))


@public(method=False)
def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (row, column) positions of the lower triangle of a row x col matrix, diagonal ``offset``
    included: a 2 x N tensor (causal-attention pairs, packed covariance factors)."""
    return _tri_indices(row, col, offset, dtype, True)


@public(method=False)
def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The positions of the upper triangle from diagonal ``offset`` on: a 2 x N tensor."""
    return _tri_indices(row, col, offset, dtype, False)


@public
def cross(input, other, dim=None):
    """The cross product a x b of 3-vectors along ``dim`` (the two broadcast together); without
    ``dim``, the first dim of size 3, with torch's deprecation warning. d(a x b) = da x b + a x db."""
    a, b = to_tensor(input, "cross"), to_tensor(other, "cross")
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected scalar type {_dtype.dtype_name(a.dtype)} but found {_dtype.dtype_name(b.dtype)}")
    if a.ndim != b.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    try:
        shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        from ._util import broadcast_error
        raise broadcast_error("cross", a.shape, b.shape) from None
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
                      "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=2)
        sizes = [k for k, s in enumerate(a.shape) if s == 3]  # torch looks at input's sizes
        if not sizes:
            raise RuntimeError("no dimension of size 3 in input")
        dim = sizes[0]
    axis = normalize_dim(dim, len(shape), "cross")
    sa, sb = a.shape[axis], b.shape[axis]
    if sa != 3 or sb != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {axis} must have length 3. Got {sa} and {sb}")
    a, b = a.expand(*shape), b.expand(*shape)
    a1, a2, a3 = (a.narrow(axis, k, 1) for k in range(3))
    b1, b2, b3 = (b.narrow(axis, k, 1) for k in range(3))
    return cat([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], axis)
