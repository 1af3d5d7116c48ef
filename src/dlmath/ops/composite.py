"""Ops built from the primitives, so they need no derivative of their own:
narrow, roll, tile, diagonal, diag, trace, repeat_interleave, tensordot,
addmm, baddbmm, addbmm, addmv, addr, kron. Their gradients (of any order) come from the ops they are made of.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from ..autograd.node import apply, make_tensor
from ..tensor import Tensor
from ._util import normalize_dim, shape_str, to_tensor
from . import shape as sh
from .indexing import Diagonal
from .matmul import einsum, matmul
from .declare import method, public
from .binary import where


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


def _beta_input_plus(opname, input, prod, beta, alpha):
    """beta * input + alpha * prod, input broadcast to prod's shape (never the other way round).

    As torch: beta = 0 ignores input's values (a NaN or inf in it does not reach the result, and
    its gradient is 0); for an integer input a float beta or alpha is truncated to an integer
    (addr refuses it)."""
    x = to_tensor(input, opname)
    if x._data.dtype.kind in "biu":
        for name, v in (("beta", beta), ("alpha", alpha)):
            if isinstance(v, float) and opname == "addr":
                raise RuntimeError(f"{opname}: For integral input tensors, argument {name} must not be a "
                                   f"floating point number.")
        beta, alpha = (int(v) if isinstance(v, float) else v for v in (beta, alpha))
    if tuple(x.shape) != tuple(prod.shape):
        try:
            x = sh.expand(x, tuple(prod.shape))
        except RuntimeError as e:
            raise RuntimeError(f"{opname}: input of shape {shape_str(x.shape)} cannot be broadcast to the "
                               f"product's shape {shape_str(prod.shape)} ({e})") from None
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:   # where, not x * 0: 0 * NaN is NaN
        return prod + where(make_tensor(np.zeros((), dtype=bool)), x, make_tensor(np.zeros((), x._data.dtype)))
    return prod + (x if beta == 1 else x * beta)


def _same_dtypes(opname, **tensors):
    dtypes = {t._data.dtype for t in tensors.values()}
    if len(dtypes) > 1:
        got = ", ".join(f"{name}: {_dtype.dtype_name(t._data.dtype)}" for name, t in tensors.items())
        raise RuntimeError(f"{opname}: Input dtypes must be the same, got: {got}")


def _batches(opname, batch1, batch2):
    b1, b2 = to_tensor(batch1, opname), to_tensor(batch2, opname)
    for name, b in (("batch1", b1), ("batch2", b2)):
        if b.ndim != 3:
            raise RuntimeError(f"{opname}: {name} must be a 3D tensor, got shape {shape_str(b.shape)}")
    if b2.shape[0] != b1.shape[0] or b2.shape[1] != b1.shape[2]:
        raise RuntimeError(f"{opname}: Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{b1.shape[0]}, {b1.shape[2]}] but got: [{b2.shape[0]}, {b2.shape[1]}] "
                           f"(batch1 {shape_str(b1.shape)}, batch2 {shape_str(b2.shape)})")
    return b1, b2


@public
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2): a linear layer in one call."""
    return _beta_input_plus("addmm", input, matmul(mat1, mat2), beta, alpha)


@public
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * (batch1 @ batch2), one product per batch: (b, n, m) @ (b, m, p) -> (b, n, p)
    (attention scores with a bias or a mask added)."""
    b1, b2 = _batches("baddbmm", batch1, batch2)
    x = to_tensor(input, "baddbmm")
    _same_dtypes("baddbmm", input=x, batch1=b1, batch2=b2)
    return _beta_input_plus("baddbmm", x, matmul(b1, b2), beta, alpha)


@public
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * sum_b (batch1[b] @ batch2[b]): the batch of products summed into one matrix."""
    b1, b2 = _batches("addbmm", batch1, batch2)
    x = to_tensor(input, "addbmm")
    _same_dtypes("addbmm", input=x, batch1=b1, batch2=b2)
    return _beta_input_plus("addbmm", x, matmul(b1, b2).sum(0), beta, alpha)


@public
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta * input + alpha * (mat @ vec): a matrix (n, m) times a vector (m,), plus a vector (n,)."""
    x, m, v = to_tensor(input, "addmv"), to_tensor(mat, "addmv"), to_tensor(vec, "addmv")
    if m.ndim != 2 or v.ndim != 1 or x.ndim > 1:
        raise RuntimeError(f"addmv: vector + matrix @ vector expected, got {x.ndim}, {m.ndim}, {v.ndim} dims "
                           f"(input {shape_str(x.shape)}, mat {shape_str(m.shape)}, vec {shape_str(v.shape)})")
    if m.shape[1] != v.shape[0] or (x.ndim == 1 and x.shape[0] not in (1, m.shape[0])):
        raise RuntimeError(f"addmv: size mismatch, got input ({', '.join(map(str, x.shape))}), mat "
                           f"({m.shape[0]}x{m.shape[1]}), vec ({v.shape[0]})")
    _same_dtypes("addmv", input=x, mat=m, vec=v)
    return _beta_input_plus("addmv", x, matmul(m, v), beta, alpha)


@public
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """beta * input + alpha * outer(vec1, vec2): a rank-one update of a matrix."""
    a, b = to_tensor(vec1, "addr"), to_tensor(vec2, "addr")
    for name, v in (("vec1", a), ("vec2", b)):
        if v.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {v.ndim}-D")
    return _beta_input_plus("addr", input, a.reshape(-1, 1) * b.reshape(1, -1), beta, alpha)


def _declare_in_place(fn):
    """``Tensor.<fn>_(a, b, *, beta, alpha)``: x <- fn(x, a, b) in place (the result must have x's shape)."""
    name = fn.__name__ + "_"

    def in_place(x, a, b, *, beta=1, alpha=1):
        from ..inplace import inplace_combine   # a layer above: looked up when called

        def compute(old, a, b):
            return fn(old, a, b, beta=beta, alpha=alpha)

        def update(data, a, b):   # under no_grad, a float x whose operands fit its shape
            result = compute(make_tensor(data), make_tensor(a), make_tensor(b))._data
            if result.shape != data.shape:
                raise RuntimeError(f"{name}: Bad in-place call: input tensor size {list(data.shape)} and output "
                                   f"tensor size {list(result.shape)} should match")
            data[...] = result
        return inplace_combine(x, name, compute, (a, b), update)

    in_place.__name__ = in_place.__qualname__ = name
    in_place.__doc__ = f"``x.{name}(a, b, beta=, alpha=)``: x <- {fn.__name__}(x, a, b), in place."
    method(name)(in_place)


for _fn in (addmm, baddbmm, addbmm, addmv, addr):
    _declare_in_place(_fn)


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
