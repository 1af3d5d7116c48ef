"""Arranging values along axes: coordinate grids, quarter turns, finite differences, and
pairwise distances. All composed from differentiable ops, so their gradients come for free.
"""
from __future__ import annotations

import warnings

from ..tensor import Tensor
from ._util import normalize_dim, to_tensor
from .declare import public
from .shape import cat, flip


@public(method=False)
def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors: with ``indexing="ij"`` output k varies along dim k; with
    ``"xy"`` the first two dims swap (matplotlib's convention). Each output is an expanded view."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
                      "argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    tensors = [to_tensor(t, "meshgrid") for t in tensors]
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}D")
    tensors = [t.reshape(-1) for t in tensors]
    shape = tuple(t.shape[0] for t in tensors)
    grids = []
    for k, t in enumerate(tensors):
        view = [1] * len(tensors)
        view[k] = shape[k]
        grids.append(t.reshape(view).expand(shape))
    if indexing == "xy" and len(tensors) >= 2:  # the "ij" grids with their first two dims swapped
        grids = [g.transpose(0, 1) for g in grids]
    return tuple(grids)


@public
def rot90(input, k=1, dims=(0, 1)):
    """Rotate by k quarter turns in the plane of ``dims``, from the first axis towards the second."""
    x = to_tensor(input, "rot90")
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if x.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {x.ndim}")
    a, b = (normalize_dim(d, x.ndim, "rot90") for d in dims)
    if a == b:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {a} and dim1 = {b}")
    k %= 4
    if k == 1:
        return flip(x, (b,)).transpose(a, b)
    if k == 2:
        return flip(x, (a, b))
    if k == 3:
        return flip(x, (a,)).transpose(a, b)
    return x.clone()


@public
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along ``dim``: out[i] = x[i+1] - x[i], applied n times (with
    ``prepend``/``append`` joined on first)."""
    x = to_tensor(input, "diff")
    if x.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    axis = normalize_dim(dim, x.ndim, "diff")
    parts = [p if isinstance(p, Tensor) else to_tensor(p, "diff") for p in (prepend, x, append) if p is not None]
    x = cat(parts, axis) if len(parts) > 1 else x
    for _ in range(n):
        size = x.shape[axis]
        if size == 0:
            break
        after = x.narrow(axis, 1, size - 1)
        before = x.narrow(axis, 0, size - 1)
        x = after.logical_xor(before) if x.dtype.kind == "b" else after - before
    return x


@public(method=False)
def cdist(x1, x2, p=2.0, compute_mode=None):
    """Pairwise p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M): (..., P, R).
    Retrieval by nearest neighbour and RBF kernels; the gradient at a zero distance is 0, as torch."""
    a, b = to_tensor(x1, "cdist"), to_tensor(x2, "cdist")
    if a.ndim < 2 or b.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {a.ndim}D, X2 got: {b.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} X2: {b.shape[-1]}")
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {a.dtype}, X2 got: {b.dtype}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    differences = a.unsqueeze(-2) - b.unsqueeze(-3)  # (..., P, R, M)
    from ..linalg.norms import vector_norm  # linalg sits a layer above: loaded at the first call

    return vector_norm(differences, p, -1)
