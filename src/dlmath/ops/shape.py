"""Shape primitives: they move values around, so their vjp moves cotangents back.

reshape <-> reshape back, permute <-> inverse permutation, expand <-> sum
(done by the engine's un-broadcasting), cat <-> split, repeat <-> fold and sum.
Cotangents may carry extra leading (batch) dims, so rules index from the end.
"""
from __future__ import annotations

import operator

import numpy as np

from ..autograd.node import Op, apply
from ..tensor import Tensor
from ._util import normalize_dim, result_dtype, cast, shape_str, to_tensor
from .declare import method, public
from ._pool import take as _take

_BIG = 1 << 16


def _reshape(x, shape):
    """np.reshape, with a large copy (a non-contiguous array that no view can reshape: the
    attention heads merged back, ``a.transpose(1, 2).reshape(B, T, D)``, and the cotangent of
    the split into heads) made in a pooled warm buffer (ops/_pool.py), not in fresh memory
    that page-faults in every training step."""
    if x.__class__ is np.ndarray and x.nbytes >= _BIG and not x.flags.c_contiguous:
        try:
            return x.reshape(shape, copy=False)
        except ValueError:   # a copy is needed (or the shape is wrong: reshape says so below)
            out = _take(x.shape, x.dtype)
            np.copyto(out, x)
            return out.reshape(shape)
    return np.reshape(x, shape)


def _lead(g, ndim):
    """Number of extra leading dims a (batched) cotangent carries."""
    return g.ndim - ndim


class Reshape(Op):
    """Same values, new shape; the vjp reshapes the cotangent back.

    ``shape``: the output shape (a tuple of ints, at most one -1)."""
    __slots__ = ("shape",)
    batched = True
    uses_inputs = False
    is_view = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return _reshape(x, self.shape)

    def vjp(self, xp, g, x, y):
        shape = tuple(g.shape[:_lead(g, y.ndim)]) + tuple(x.shape)
        return (_reshape(g, shape) if g.__class__ is np.ndarray else xp.reshape(g, shape),)

    def jvp(self, xp, t, x, y):
        return xp.reshape(t[0], tuple(t[0].shape[:_lead(t[0], x.ndim)]) + tuple(y.shape))


class Permute(Op):
    """Reorder axes (transpose, .T, .mT); the vjp applies the inverse permutation.

    ``axes``: output axis i is input axis ``axes[i]`` (a permutation of range(ndim))."""
    __slots__ = ("axes",)
    batched = True
    uses_inputs = False
    is_view = True

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    @staticmethod
    def _apply(xp, g, axes):
        lead = _lead(g, len(axes))
        if lead:
            axes = tuple(range(lead)) + tuple(a + lead for a in axes)
        # (arrays: the method, without np.transpose's Python wrapper; a weight's .T is in every step)
        return g.transpose(axes) if g.__class__ is np.ndarray else xp.transpose(g, axes)

    def vjp(self, xp, g, x, y):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return (self._apply(xp, g, tuple(inverse)),)

    def jvp(self, xp, t, x, y):
        return self._apply(xp, t[0], self.axes)


class Expand(Op):
    """Broadcast to a larger shape without copying; the engine sums the cotangent back.

    ``shape``: the output shape (a tuple of ints, no -1)."""
    __slots__ = ("shape",)
    batched = True
    uses_inputs = False
    is_view = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        if x.size == _size(self.shape):
            return x.reshape(self.shape)  # nothing repeated: a writeable view, as torch's
        return np.broadcast_to(x, self.shape)  # read-only: one element at many places

    def vjp(self, xp, g, x, y):
        return (g,)

    def jvp(self, xp, t, x, y):
        lead = tuple(t[0].shape[:_lead(t[0], x.ndim)])
        return xp.broadcast_to(xp.reshape(t[0], lead + (1,) * (len(self.shape) - x.ndim) + tuple(x.shape)),
                               lead + tuple(self.shape))


class Contiguous(Op):
    """The same values in a fresh row-major array (``.contiguous()`` of a strided view)."""
    __slots__ = ()
    batched = True
    uses_inputs = False

    def forward(self, x):
        return np.ascontiguousarray(x) if not x.flags.c_contiguous else x.copy()

    def vjp(self, xp, g, x, y):
        return (g,)

    def jvp(self, xp, t, x, y):
        return t[0]


def contiguous(input):
    """``input`` itself when its memory is row-major, else a row-major copy (never an alias)."""
    x = to_tensor(input, "contiguous")
    return x if x._data.flags.c_contiguous else apply(Contiguous(), x)


def _size(shape):
    n = 1
    for s in shape:
        n *= s
    return n


class Repeat(Op):
    """Tile the tensor; each input element's cotangent is the sum over its copies.

    ``reps``: the number of copies along each dim (as np.tile; may be longer than ndim)."""
    __slots__ = ("reps",)
    batched = True
    uses_inputs = False

    def __init__(self, reps):
        self.reps = reps

    def forward(self, x):
        return np.tile(x, self.reps)

    def vjp(self, xp, g, x, y):
        reps = self.reps
        shape = (1,) * (len(reps) - x.ndim) + tuple(x.shape)
        lead = _lead(g, len(reps))
        split = tuple(g.shape[:lead])
        for r, s in zip(reps, shape):
            split += (r, s)
        gs = xp.sum(xp.reshape(g, split), axis=tuple(lead + 2 * i for i in range(len(reps))))
        return (xp.reshape(gs, tuple(g.shape[:lead]) + tuple(x.shape)),)

    def jvp(self, xp, t, x, y):
        t = t[0]
        lead = _lead(t, x.ndim)
        if lead and len(self.reps) > x.ndim:   # new dims go after the batch, not before it
            shape = tuple(t.shape)
            t = xp.reshape(t, shape[:lead] + (1,) * (len(self.reps) - x.ndim) + shape[lead:])
        return xp.tile(t, (1,) * lead + tuple(self.reps))


class Flip(Op):
    """Reverse along axes; the vjp flips back.

    ``axes``: the (non-negative) axes to reverse."""
    __slots__ = ("axes",)
    batched = True
    uses_inputs = False

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return np.flip(x, self.axes).copy()  # a copy, as torch.flip: np.flip's view would alias x

    def vjp(self, xp, g, x, y):
        return (xp.flip(g, tuple(a - x.ndim for a in self.axes)),)

    def jvp(self, xp, t, x, y):
        return xp.flip(t[0], tuple(a - x.ndim for a in self.axes))


class Cat(Op):
    """Concatenate along an axis; the vjp slices the cotangent into the pieces.

    ``axis``: the (non-negative) axis joined along; ``sizes``: each input's length along it."""
    __slots__ = ("axis", "sizes")
    batched = True
    uses_inputs = False

    def __init__(self, axis, sizes):
        self.axis = axis
        self.sizes = sizes

    def forward(self, *xs):
        return np.ascontiguousarray(np.concatenate(xs, axis=self.axis))  # row-major, as torch.cat

    def vjp(self, xp, g, *args):
        neg = self.axis - args[-1].ndim
        out, start = [], 0
        for size, need in zip(self.sizes, self.needs):
            if need:
                idx = (Ellipsis, slice(start, start + size)) + (slice(None),) * (-neg - 1)
                out.append(g[idx])
            else:
                out.append(None)
            start += size
        return out

    def jvp(self, xp, t, *args):
        xs, y = args[:-1], args[-1]
        lead = None
        for ti in t:
            if ti is not None:
                lead = tuple(ti.shape[:ti.ndim - y.ndim])
        parts = [ti if ti is not None else xp.zeros(lead + tuple(x.shape), dtype=y.dtype)
                 for ti, x in zip(t, xs)]
        return xp.concatenate(parts, axis=self.axis - y.ndim)


class Tri(Op):
    """Keep the lower (tril) or upper (triu) triangle; the vjp keeps the same triangle of g.

    ``lower``: tril (True) or triu (False); ``k``: the diagonal offset (int), as np.tril's."""
    __slots__ = ("lower", "k")
    batched = True
    uses_inputs = False

    def __init__(self, lower, k):
        self.lower = lower
        self.k = k

    def forward(self, x):
        return np.tril(x, self.k) if self.lower else np.triu(x, self.k)

    def vjp(self, xp, g, x, y):
        return (xp.tril(g, self.k) if self.lower else xp.triu(g, self.k),)

    def jvp(self, xp, t, x, y):
        return self.vjp(xp, t[0], x, y)[0]


# --- functional wrappers ----------------------------------------------------
def _shape_args(shape, opname="reshape"):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(map(operator.index, shape))   # 1.5 is not a size (int() would truncate it)
    except TypeError:
        raise TypeError(f"{opname}(): sizes must be ints, got {tuple(shape)!r}") from None


@public
def reshape(input, *shape, _opname="reshape"):
    """Same elements, new shape; one dimension may be -1 (inferred)."""
    x = to_tensor(input, _opname)
    shape = _shape_args(shape, _opname)
    if shape == x._data.shape:
        return _view_same(x, shape)
    n = x._data.size
    known = 1
    infer = [i for i, s in enumerate(shape) if s == -1]
    for s in shape:
        if s != -1:
            known *= s
    if len(infer) > 1:
        raise RuntimeError(f"{_opname}: only one dimension can be inferred")
    if any(s < -1 for s in shape) or (not infer and known != n) or (infer and (known == 0 or n % known)):
        raise RuntimeError(f"{_opname}: shape '{list(shape)}' is invalid for input of size {n} "
                           f"(input shape {shape_str(x.shape)})")
    return apply(Reshape(shape), x)


def _view_same(x, shape):
    return apply(Reshape(shape), x)


@public
def view(input, *shape):
    """The same memory seen with a new shape; as torch, an error when the strides do not
    allow it (where reshape would copy)."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int)):
        return to_tensor(input, "view").to(shape[0])
    out = reshape(input, *shape, _opname="view")
    if out._base is None and out._data.size and out is not input:
        raise RuntimeError(f"view size is not compatible with input tensor's size and stride (at least one "
                           f"dimension spans across two contiguous subspaces): view {shape_str(out.shape)} "
                           f"of a tensor of shape {shape_str(input.shape)}. Use .reshape(...) instead.")
    return out


@public
def flatten(input, start_dim=0, end_dim=-1):
    x = to_tensor(input, "flatten")
    s = normalize_dim(start_dim, x.ndim, "flatten")
    e = normalize_dim(end_dim, x.ndim, "flatten")
    if x.ndim == 0:
        return reshape(x, (1,))
    if s == e:
        return x  # nothing to merge: torch returns the input itself
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = x.shape
    mid = 1
    for d in shape[s:e + 1]:
        mid *= d
    return reshape(x, tuple(shape[:s]) + (mid,) + tuple(shape[e + 1:]))


@public
def unflatten(input, dim, sizes):
    x = to_tensor(input, "unflatten")
    d = normalize_dim(dim, x.ndim, "unflatten")
    return reshape(x, tuple(x.shape[:d]) + tuple(sizes) + tuple(x.shape[d + 1:]))


@public
def squeeze(input, dim=None):
    x = to_tensor(input, "squeeze")
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        axes = {normalize_dim(d, x.ndim, "squeeze") for d in dims}
        if not x.ndim:
            axes = set()
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in axes and s == 1))
    return reshape(x, shape)


@public
def unsqueeze(input, dim):
    x = to_tensor(input, "unsqueeze")
    d = normalize_dim(dim, x.ndim + 1, "unsqueeze")
    shape = list(x.shape)
    shape.insert(d, 1)
    return reshape(x, tuple(shape))


@public
def permute(input, *dims):
    x = to_tensor(input, "permute")
    dims = _shape_args(dims, "permute")
    if len(dims) != x.ndim:
        raise RuntimeError(f"permute: number of dims don't match: input has {x.ndim} dims, got {len(dims)} ({dims})")
    axes = tuple(normalize_dim(d, x.ndim, "permute") for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"permute: repeated dim in {dims}")
    if axes == tuple(range(x.ndim)):
        return _view_same(x, x._data.shape)
    return apply(Permute(axes), x)


@public(aliases=('swapaxes',))
def transpose(input, dim0, dim1):
    x = to_tensor(input, "transpose")
    if x.ndim < 2 and x.ndim == 0:
        normalize_dim(dim0, 0, "transpose")
        normalize_dim(dim1, 0, "transpose")
        return _view_same(x, x._data.shape)
    axes = list(range(x.ndim))
    a, b = normalize_dim(dim0, x.ndim, "transpose"), normalize_dim(dim1, x.ndim, "transpose")
    axes[a], axes[b] = axes[b], axes[a]
    return permute(x, axes)




@public
def t(input):
    x = to_tensor(input, "t")
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return permute(x, tuple(reversed(range(x.ndim))))


_SWAP = (1, 0)


def T(x):
    if x._data.ndim == 2:   # a weight's transpose, in every layer's every step: no argument checks
        return apply(Permute(_SWAP), x)
    return permute(x, tuple(reversed(range(x.ndim))))


def mT(x):
    if x._data.ndim == 2:   # F.linear's weight.mT, every layer's every step: no argument checks
        return apply(Permute(_SWAP), x)
    if x.ndim == 0:
        return x  # as torch: a 0-d tensor is its own transpose
    if x.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {x.ndim}-D tensor.")
    return transpose(x, -2, -1)


@public
def movedim(input, source, destination):
    x = to_tensor(input, "movedim")
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = [normalize_dim(s, x.ndim, "movedim") for s in src]
    dst = [normalize_dim(d, x.ndim, "movedim") for d in dst]
    order = [i for i in range(x.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, order)


@public
def expand(input, *sizes):
    x = to_tensor(input, "expand")
    sizes = _shape_args(sizes, "expand")
    if len(sizes) < x.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal "
                           f"to the number of dimensions in the tensor ({x.ndim})")
    lead = len(sizes) - x.ndim
    shape = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing dimension {i}")
            shape.append(s)
            continue
        cur = x.shape[i - lead]
        if s == -1 or s == cur:
            shape.append(cur)
        elif cur == 1:
            shape.append(s)
        else:
            raise RuntimeError(f"expand: the expanded size of the tensor ({s}) must match the existing size "
                               f"({cur}) at non-singleton dimension {i}. Target sizes: {list(sizes)}. "
                               f"Tensor sizes: {list(x.shape)}")
    return apply(Expand(tuple(shape)), x)


@method("expand_as")
def expand_as(input, other):
    return expand(input, tuple(other.shape))


@public
def broadcast_to(input, shape):
    return expand(input, tuple(shape))


@public
def repeat(input, *sizes, _opname="repeat"):
    x = to_tensor(input, _opname)
    sizes = _shape_args(sizes, _opname)
    if len(sizes) < x.ndim:
        raise RuntimeError(f"{_opname}: number of repeat dims ({len(sizes)}) can not be smaller than the number "
                           f"of dimensions of tensor ({x.ndim})")
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    out = tuple(r * s for r, s in zip(sizes, shape))
    if any(r < 0 for r in sizes):
        raise RuntimeError(f"{_opname}: repeats must be non-negative, got {list(sizes)} for a tensor of shape "
                           f"{shape_str(x.shape)} (the result would have shape {list(out)})")
    if _size(out) * x._data.itemsize > _MAX_BYTES:
        raise RuntimeError(f"{_opname}: the result of shape {list(out)} (repeats {list(sizes)} of a tensor of shape "
                           f"{shape_str(x.shape)}) is too large: its storage size overflows")
    op = Repeat(sizes)
    try:
        return apply(op, x)
    except MemoryError:
        raise RuntimeError(f"{_opname}: can't allocate memory for the result of shape {list(out)} "
                           f"({_size(out) * x._data.itemsize} bytes)") from None


_MAX_BYTES = 2 ** 63 - 1


@public
def flip(input, dims):
    x = to_tensor(input, "flip")
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    axes = tuple(normalize_dim(d, x.ndim, "flip") for d in dims)
    if len(set(axes)) != len(axes):
        d = next(a for a in axes if axes.count(a) > 1)
        raise RuntimeError(f"flip: dim {d} appears multiple times in the list of dims {list(dims)}")
    # a 0-d tensor accepts dim 0 or -1, and has nothing to reverse
    return apply(Flip(axes if x.ndim else ()), x)


@public(aliases=('concat', 'concatenate'), method=False)
def cat(tensors, dim=0, *, axis=None):
    """Join tensors along an existing dim (torch.cat); shapes must agree elsewhere."""
    if axis is not None:
        dim = axis
    if isinstance(tensors, Tensor) or not len(tensors):
        raise ValueError("cat(): expected a non-empty list of Tensors")
    xs = [to_tensor(v, "cat") for v in tensors]

    def legacy_empty(v):
        return v.ndim == 1 and v.shape[0] == 0
    ref = next((v for v in xs if not legacy_empty(v)), xs[0])
    if ref.ndim == 0:
        raise RuntimeError("cat: zero-dimensional tensor (at position 0) cannot be concatenated")
    if legacy_empty(ref):  # nothing but empty vectors: torch takes them whatever the dim
        dim = 0
    axis = normalize_dim(dim, ref.ndim, "cat")
    if ref.ndim != 1:
        # torch lets a legacy empty vector join tensors of any rank: it becomes an empty
        # slab of their shape (kept, so that its requires_grad still counts)
        slab = tuple(0 if k == axis else s for k, s in enumerate(ref.shape))
        xs = [v.reshape(slab) if legacy_empty(v) else v for v in xs]
    for i, v in enumerate(xs):
        if v.ndim != ref.ndim or any(a != b for k, (a, b) in enumerate(zip(v.shape, ref.shape)) if k != axis):
            raise RuntimeError(f"cat: Sizes of tensors must match except in dimension {axis}. "
                               f"Tensor 0 has shape {shape_str(ref.shape)}, tensor {i} has shape {shape_str(v.shape)}")
    dt = result_dtype(xs)
    xs = [cast(v, dt) for v in xs]
    return apply(Cat(axis, tuple(v.shape[axis] for v in xs)), *xs)




@public(method=False)
def stack(tensors, dim=0):
    """Join tensors along a new dim; all must have the same shape."""
    if isinstance(tensors, Tensor) or not len(tensors):
        raise RuntimeError("stack expects a non-empty TensorList")
    xs = [to_tensor(v, "stack") for v in tensors]
    for i, v in enumerate(xs):
        if v.shape != xs[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {shape_str(xs[0].shape)} "
                               f"at entry 0 and {shape_str(v.shape)} at entry {i}")
    d = normalize_dim(dim, xs[0].ndim + 1, "stack")
    return cat([unsqueeze(v, d) for v in xs], d)


@public(method=False)
def hstack(tensors):
    xs = [to_tensor(v) for v in tensors]
    return cat(xs, 0 if xs[0].ndim == 1 else 1)


@public(method=False)
def vstack(tensors):
    return cat([v if v.ndim >= 2 else reshape(v, (1, -1)) for v in map(to_tensor, tensors)], 0)


@public
def split(input, split_size_or_sections, dim=0):
    """Pieces of ``split_size`` along dim (the last may be smaller), or of the listed sizes."""
    x = to_tensor(input, "split")
    axis = normalize_dim(dim, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0 and n:
            raise RuntimeError(f"split: split_size must be positive, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if size and n else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {axis}), but got split_sizes={sizes}")
    out, start = [], 0
    pre = (slice(None),) * axis
    for s in sizes:
        out.append(x[pre + (slice(start, start + s),)])
        start += s
    return tuple(out)


@public
def chunk(input, chunks, dim=0):
    x = to_tensor(input, "chunk")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = x.shape[normalize_dim(dim, x.ndim, "chunk")]
    if not n:  # as torch: `chunks` empty pieces
        return split(x, [0] * chunks, dim)
    return split(x, -(-n // chunks), dim)


@public
def unbind(input, dim=0):
    x = to_tensor(input, "unbind")
    axis = normalize_dim(dim, x.ndim, "unbind")
    pre = (slice(None),) * axis
    return tuple(x[pre + (i,)] for i in range(x.shape[axis]))


def _tri(input, diagonal, lower, opname):
    x = to_tensor(input, opname)
    if x.ndim < 2:
        raise RuntimeError(f"{opname}: input tensor must have at least 2 dimensions, got shape {shape_str(x.shape)}")
    return apply(Tri(lower, int(diagonal)), x)


@public(inplace='unary')
def tril(input, diagonal=0):
    """Lower triangle (the causal mask of decoder attention is tril of ones)."""
    return _tri(input, diagonal, True, "tril")


@public(inplace='unary')
def triu(input, diagonal=0):
    return _tri(input, diagonal, False, "triu")


@method("view_as", "reshape_as")
def view_as(input, other):
    """``input`` in the shape of ``other``."""
    return reshape(input, tuple(other.shape))


class Unfold(Op):
    """Sliding windows along ``dim`` as a new last dim, a view of x (as torch's ``Tensor.unfold``):
    y[..., w, ..., k] = x[..., w * step + k, ...] for window w, offset k < size.

    vjp: each window's cotangent added back at the positions it covers (overlapping windows sum);
    jvp: the tangent's windows. ``dim``, ``size``, ``step``: ints, dim non-negative.
    """
    __slots__ = ("dim", "size", "step")
    uses_inputs = False
    batched = True
    is_view = True

    def __init__(self, dim, size, step):
        self.dim, self.size, self.step = dim, size, step

    def forward(self, x):
        if x.ndim == 0:   # torch's 0-d case: one window of the one element (or none, size 0)
            return np.lib.stride_tricks.as_strided(x, (self.size,), (0,), writeable=False)
        d, n = self.dim, x.shape[self.dim]
        count = (n - self.size) // self.step + 1
        shape = x.shape[:d] + (count,) + x.shape[d + 1:] + (self.size,)
        strides = x.strides[:d] + (x.strides[d] * self.step,) + x.strides[d + 1:] + (x.strides[d],)
        # windows that overlap put one element at several places: read-only, as an expanded view
        disjoint = self.step >= self.size or count <= 1
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=x.flags.writeable and disjoint)

    def _index(self, shape):
        """The NumPy index of x whose result is y with the window offsets at dim + 1."""
        count = (shape[self.dim] - self.size) // self.step + 1
        windows = np.arange(count)[:, None] * self.step + np.arange(self.size)[None, :]
        return (slice(None),) * self.dim + (windows,)

    def _axes(self, lead, ndim):
        """Axes of ``x[index]`` (with ``lead`` batch dims in front) in y's order: offsets moved last."""
        d = lead + self.dim + 1
        return tuple(a for a in range(lead + ndim + 1) if a != d) + (d,)

    def vjp(self, xp, g, x, y):
        if x.ndim == 0:
            return (xp.sum(g, axis=-1),)
        lead = g.ndim - y.ndim
        axes = self._axes(lead, x.ndim)
        inverse = [0] * len(axes)
        for i, a in enumerate(axes):
            inverse[a] = i
        g = xp.transpose(g, tuple(inverse))
        return (xp.index_scatter(g, tuple(x.shape), self._index(tuple(x.shape)), lead),)

    def jvp(self, xp, t, x, y):
        from .indexing import take   # (indexing imports this module)
        t = t[0]
        if x.ndim == 0:
            return xp.broadcast_to(xp.expand_dims(t, -1), tuple(t.shape) + (self.size,))
        lead = t.ndim - x.ndim
        return xp.transpose(take(xp, t, self._index(tuple(x.shape)), x.ndim), self._axes(lead, x.ndim))


@method("unfold")
def unfold(input, dimension, size, step):
    """Every slice of length ``size`` along ``dimension``, ``step`` apart, as a new last dim (a view):
    a (5,) tensor unfolded with size 2, step 1 is (4, 2), its rows [x0, x1], [x1, x2], ..."""
    x = to_tensor(input, "unfold")
    d = normalize_dim(dimension, max(x.ndim, 1), "unfold")
    size, step = operator.index(size), operator.index(step)
    n = x.shape[d] if x.ndim else 1
    if size < 0:
        raise RuntimeError(f"unfold: size is {size} but must be >= 0")
    if size > n:
        raise RuntimeError(f"unfold: maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"unfold: step is {step} but must be > 0")
    return apply(Unfold(d, size, step), x)
