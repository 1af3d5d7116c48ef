"""Indexing primitives: reading picks values out, so the vjp scatters cotangents back in.

Scattering *adds* (``np.add.at``), so an index that appears twice receives
both cotangents: embedding lookups with repeated tokens depend on this.

Batched cotangents and tangents (jacrev, jacfwd) carry extra leading dims. An
index addresses the leading dims of an array, so the rules move the batch to
the end, index (``take``) or scatter, and move it back: NumPy's placement of
advanced-index dims then never mixes the batch up with the indexed dims.
"""
from __future__ import annotations

import re

import numpy as np

from .. import _dtype
from ..autograd.node import Op, apply, restamp, make_tensor
from ..tensor import Tensor
from ._util import cast, lift, normalize_dim, shape_str, to_tensor
from .declare import method, public
from ._pool import take as _take


def _full_index(index, ndim):
    """``index`` with its Ellipsis spelled out as slices over ``ndim`` dims, so that
    extra trailing dims (a batch moved to the end) are left alone."""
    items = index if isinstance(index, tuple) else (index,)
    pos = [k for k, i in enumerate(items) if i is Ellipsis]
    if not pos:
        return index
    used = sum(i.ndim if isinstance(i, np.ndarray) and i.dtype == bool else 1
               for i in items if i is not None and i is not Ellipsis)
    k = pos[0]
    return items[:k] + (slice(None),) * (ndim - used) + items[k + 1:]


def _to_end(xp, t, lead):
    n = t.ndim
    return xp.transpose(t, tuple(range(lead, n)) + tuple(range(lead)))


def _to_front(xp, t, lead):
    n = t.ndim
    return xp.transpose(t, tuple(range(n - lead, n)) + tuple(range(n - lead)))


def take(xp, t, index, ndim):
    """``t[index]`` for t of shape batch + (a shape of ``ndim`` dims), the batch kept in front."""
    lead = t.ndim - ndim
    if not lead:
        return t[index]
    return _to_front(xp, _to_end(xp, t, lead)[_full_index(index, ndim)], lead)


def scatter_into_zeros(g, shape, index, lead=0):
    """zeros(shape) with g added at ``index`` (repeated positions accumulate).

    The first ``lead`` dims of g are a batch: the result is g.shape[:lead] + shape.
    """
    if lead:
        out = scatter_into_zeros(_to_end(np, g, lead), tuple(shape) + g.shape[:lead],
                                 _full_index(index, len(shape)))
        return _to_front(np, out, lead)
    if _is_basic(index):
        # a warm pooled buffer zeroed in place, not np.zeros: calloc's fresh pages fault on the
        # write below (the backward of a split: three (B, T, 3D) cotangents per attention layer)
        out = _take(shape, g.dtype)
        band = _one_band(index, len(shape))
        if band is None:
            out.fill(0)
        else:   # one slice along one axis (a split's piece): zero only the rest, g written once
            k, start, stop = band
            pre = (slice(None),) * k
            out[pre + (slice(None, start),)] = 0
            if stop is not None:
                out[pre + (slice(stop, None),)] = 0
        out[index] = g
        return out
    out = np.zeros(shape, dtype=g.dtype)
    rows = index[0] if isinstance(index, tuple) and len(index) == 1 else index
    if (isinstance(rows, np.ndarray) and rows.ndim == 1 and rows.dtype.kind in "iu" and rows.size >= 64
            and g.ndim == len(shape) and g.shape[0] == rows.size and g.shape[1:] == tuple(shape[1:])):
        # rows picked along the first axis (an embedding's backward): the cotangent rows sorted by
        # index and each run summed by one add.reduceat, ~7x faster than np.add.at's per-row loop
        # (1024 x 128 float32 into 64 rows: 0.17 ms instead of 1.3 ms)
        rows = np.where(rows < 0, rows + shape[0], rows)
        order = np.argsort(rows, kind="stable")
        srt = rows[order]
        starts = np.flatnonzero(np.concatenate(([True], srt[1:] != srt[:-1])))
        out[srt[starts]] = np.add.reduceat(g[order], starts, axis=0)
        return out
    np.add.at(out, index, g)
    return out


def _one_band(index, ndim):
    """(axis, start, stop) when ``index`` is full slices up to one step-1 slice with
    non-negative bounds (``x[:, :, a:b]``, a piece of a split); None otherwise."""
    if not isinstance(index, tuple) or not index or len(index) > ndim:
        return None
    *pre, last = index
    full = slice(None)
    if last.__class__ is not slice or last.step not in (None, 1) or any(i != full for i in pre):
        return None
    start, stop = last.start, last.stop
    if not (start is None or (start.__class__ is int and start >= 0)) or \
            not (stop is None or (stop.__class__ is int and stop >= 0)):
        return None
    start = start or 0
    if stop is not None and stop < start:
        return None
    return len(pre), start, stop


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice, type(None))) or i is Ellipsis for i in items)


class GetItem(Op):
    """x[index]: basic slicing (a view), integer arrays or boolean masks.

    vjp: a zero tensor of x's shape with g added at the indexed positions.

    ``index``: a NumPy index (ints, slices, None, Ellipsis, integer or boolean arrays).
    """
    __slots__ = ("index",)
    uses_inputs = False
    batched = True

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        out = x[self.index]
        if not out.flags.c_contiguous and not np.may_share_memory(out, x):
            out = np.ascontiguousarray(out)  # an advanced-index copy is row-major in torch
        return out

    def vjp(self, xp, g, x, y):
        return (xp.index_scatter(g, tuple(x.shape), self.index, g.ndim - y.ndim),)

    def vjp_into(self, acc, g, y):
        """The vjp added into ``acc``, a cotangent of x's shape that the engine holds alone:
        ``acc[index] += g``, touching only the indexed part (a split's pieces: no zeroed
        full-size array per piece, no full-size sums). False where that does not apply."""
        if g.ndim != y.ndim or g.dtype != acc.dtype or not _is_basic(self.index):
            return False
        acc[self.index] += g
        return True

    def jvp(self, xp, t, x, y):
        return take(xp, t[0], self.index, x.ndim)


class Overwrite(Op):
    """out = v broadcast to x's shape: fill_, zero_ and copy_ when recorded.

    x's old value is gone, so its cotangent is 0 (not g * 0, which an inf or NaN in g
    would spoil); v's is g, summed back over the broadcast by the engine.
    """
    __slots__ = ()
    uses_inputs = False
    batched = True

    def forward(self, x, v):
        out = np.empty(x.shape, x.dtype)
        out[...] = v
        return out

    def vjp(self, xp, g, x, v, y):
        return (xp.zeros(tuple(g.shape), g.dtype) if self.needs[0] else None), (g if self.needs[1] else None)

    def jvp(self, xp, t, x, v, y):
        tx, tv = t
        if tv is None:
            return xp.zeros(tuple(tx.shape), tx.dtype)
        lead = tuple(tv.shape[:tv.ndim - np.ndim(v)])
        return xp.broadcast_to(lift(xp, tv, v, y), lead + tuple(y.shape))


class Diagonal(Op):
    """y[..., i] = x[..., i, i + offset] over the last two dims, as a view of x (as torch).

    vjp: g put back on that diagonal of zeros; jvp: the tangent's diagonal.

    ``offset``: the diagonal (int): 0 the main one, > 0 above it, < 0 below.
    """
    __slots__ = ("offset",)
    uses_inputs = False
    batched = True
    is_view = True

    def __init__(self, offset):
        self.offset = offset

    def forward(self, x):
        rows, cols = self._positions(x.shape)
        n = len(rows)
        # a strided view: from the first diagonal element, one row and one column per step
        first = x[..., rows[0]:, cols[0]:] if n else x[..., :0, :0]
        return np.lib.stride_tricks.as_strided(first, x.shape[:-2] + (n,), x.strides[:-2] + (sum(x.strides[-2:]),),
                                               writeable=x.flags.writeable)

    def _positions(self, shape):
        k = self.offset
        rows = np.arange(max(0, -k), min(shape[-2], shape[-1] - k))
        return rows, rows + k

    def _index(self, shape):
        return (Ellipsis,) + self._positions(tuple(shape))

    def vjp(self, xp, g, x, y):
        return (xp.index_scatter(g, tuple(x.shape), self._index(x.shape), g.ndim - y.ndim),)

    def jvp(self, xp, t, x, y):
        return take(xp, t[0], self._index(x.shape), x.ndim)


class IndexScatter(Op):
    """zeros(shape) with g added at index: the transpose of GetItem (used in higher-order backward).

    ``shape``: the output's shape (without the batch); ``index``: a NumPy index into it;
    g's first ``lead`` dims are a batch (kept in front of ``shape``).
    """
    __slots__ = ("shape", "index", "lead")
    uses_inputs = False
    batched = True

    def __init__(self, shape, index, lead):
        self.shape = shape
        self.index = index
        self.lead = lead

    def forward(self, g):
        return scatter_into_zeros(g, self.shape, self.index, self.lead)

    def vjp(self, xp, gg, g, y):
        return (take(xp, gg, self.index, len(self.shape)),)

    def jvp(self, xp, t, g, y):
        return xp.index_scatter(t[0], self.shape, self.index, t[0].ndim - g.ndim + self.lead)


class IndexPut(Op):
    """out = x with out[index] = v (``x[index] = v``); vjp: g with the overwritten part zeroed for x, g[index] for v.

    (With an index that repeats a position, the value written last wins in the forward
    pass, while every copy of v at that position receives the cotangent, as in torch.)

    ``index``: a NumPy index into x (ints, slices, None, Ellipsis, integer or boolean arrays).
    """
    __slots__ = ("index",)
    uses_inputs = False
    batched = True

    def __init__(self, index):
        self.index = index

    def forward(self, x, v):
        out = x.copy()
        out[self.index] = v
        return out

    def _kept(self, shape):
        mask = np.ones(shape, dtype=bool)
        mask[self.index] = False
        return mask

    def vjp(self, xp, g, x, v, y):
        gx = xp.masked(g, self._kept(tuple(x.shape))) if self.needs[0] else None
        gv = take(xp, g, self.index, x.ndim) if self.needs[1] else None
        return gx, gv

    def jvp(self, xp, t, x, v, y):
        tx, tv = t
        out = None if tx is None else tx * self._kept(tuple(x.shape))
        if tv is not None:
            sub = np.shape((y._data if hasattr(y, "_data") else y)[self.index])
            lead = tuple(tv.shape[:tv.ndim - np.ndim(v)])
            tv = xp.reshape(tv, lead + (1,) * (len(sub) - np.ndim(v)) + tuple(tv.shape[len(lead):]))
            d = xp.index_scatter(xp.broadcast_to(tv, lead + sub), tuple(x.shape), self.index, len(lead))
            out = d if out is None else out + d
        return out


class Gather(Op):
    """out[i][j] = x[i][index[i][j]] (dim=1); vjp: scatter-add g back into x's shape.

    ``grid``: the full NumPy index, one array per dim (index along dim, aranges elsewhere)."""
    __slots__ = ("grid",)
    uses_inputs = False
    batched = True

    def __init__(self, grid):
        self.grid = grid

    def forward(self, x):
        return x[self.grid]

    def vjp(self, xp, g, x, y):
        return (xp.index_scatter(g, tuple(x.shape), self.grid, g.ndim - y.ndim),)

    def jvp(self, xp, t, x, y):
        return take(xp, t[0], self.grid, x.ndim)


class ScatterAdd(Op):
    """out = x, then out[index along dim] += src; vjp: g for x, g gathered at index for src.

    ``grid``: the full NumPy index into x, one array per dim (index along dim, aranges elsewhere)."""
    __slots__ = ("grid",)
    uses_inputs = False
    batched = True

    def __init__(self, grid):
        self.grid = grid

    def _part(self):
        """The slices of src that are scattered (src may be larger than index)."""
        return tuple(slice(0, s) for s in np.broadcast_shapes(*(g.shape for g in self.grid)))

    def forward(self, x, src):
        out = x.copy()
        np.add.at(out, self.grid, src[self._part()])
        return out

    def vjp(self, xp, g, x, src, y):
        gsrc = None
        if self.needs[1]:
            gsrc = take(xp, g, self.grid, x.ndim)
            if tuple(gsrc.shape[gsrc.ndim - src.ndim:]) != tuple(src.shape):
                gsrc = xp.pad_to(gsrc, tuple(src.shape))
        return g, gsrc

    def jvp(self, xp, t, x, src, y):
        tx, tsrc = t
        if tsrc is None:
            return tx
        lead = tsrc.ndim - src.ndim
        d = xp.index_scatter(tsrc[(Ellipsis,) + self._part()], tuple(x.shape), self.grid, lead)
        return d if tx is None else tx + d


def _convert_index(index, shape=None):
    """Tensors inside an index become arrays; lists become integer or boolean arrays."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for i in items:
        if isinstance(i, Tensor):
            i = i._data
            if i.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        elif isinstance(i, list):
            i = np.asarray(i) if i else np.zeros(0, np.int64)  # x[[]]: empty, as torch
            if i.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        elif isinstance(i, np.ndarray) and i.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        elif isinstance(i, float):
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                             "are valid indices")
        elif isinstance(i, slice) and i.step is not None and i.step < 0:
            raise ValueError("step must be greater than zero")
        out.append(i)
    return tuple(out) if isinstance(index, tuple) or len(out) != 1 else out[0]


def getitem(x, index):
    idx = _convert_index(index)
    if _is_basic(idx):
        items = idx if isinstance(idx, tuple) else (idx,)
        if not any(i is Ellipsis for i in items):
            # t[0] of a vector: NumPy gives a scalar copy, torch a 0-d view; x[0, ...] is that view
            idx = items + (Ellipsis,)
    try:
        out = apply(GetItem(idx), x)
    except IndexError as e:
        raise IndexError(_index_error_text(str(e), index, x.shape)) from None
    if _is_basic(idx):
        out._vc = x._vc
        out._base = x._base if x._base is not None else x
        out._view_ver = x._vc[0]
        if out.grad_fn is not None:  # a view's node watches the memory it shares with its base
            restamp(out.grad_fn, x._vc)
    return out


_OUT_OF_BOUNDS = re.compile(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)")
_MASK_MISMATCH = re.compile(r"along (?:axis|dimension) (\d+); size of (?:axis|dimension) is (\d+) but size of "
                            r"corresponding boolean (?:axis|dimension) is (\d+)")
_TOO_MANY = re.compile(r"too many indices for array: array is (\d+)-dimensional, but (\d+) were indexed")


def _index_error_text(numpy_text, index, shape):
    """NumPy's indexing error in torch's words, said once, with the tensor's shape.

    NumPy's text speaks of axes and arrays; torch's of dimensions and tensors. Each case
    gets one clause that names what is wrong, then the index and the shape it met."""
    where = f"(t[{_describe(index)}] of a tensor of shape {shape_str(shape)})"
    m = _OUT_OF_BOUNDS.search(numpy_text)
    if m:
        return f"index {m[1]} is out of bounds for dimension {m[2]} with size {m[3]} {where}"
    m = _TOO_MANY.search(numpy_text)
    if m:
        return f"too many indices for tensor of dimension {m[1]}: {m[2]} were given {where}"
    m = _MASK_MISMATCH.search(numpy_text)
    if m:
        return (f"the shape of the boolean mask does not match the indexed tensor: dimension {m[1]} has size {m[2]} "
                f"but the mask's has size {m[3]} {where}")
    text = (numpy_text.strip().replace("indexing arrays", "indexing tensors")
            .replace("numpy.newaxis (`None`)", "None").replace("boolean arrays", "boolean tensors"))
    return f"{text} {where}"


def _describe(index):
    """An index as it was written between the brackets: ``0, :, ...`` for ``(0, slice(None), Ellipsis)``."""
    if isinstance(index, tuple):
        return ", ".join(map(_describe, index)) if index else "()"
    if isinstance(index, slice):
        parts = ["" if v is None else repr(v) for v in (index.start, index.stop, index.step)]
        return ":".join(parts if index.step is not None else parts[:2])
    if index is Ellipsis:
        return "..."
    return repr(index.tolist()) if isinstance(index, Tensor) else repr(index)


def setitem(x, index, value):
    """``x[index] = value`` as an in-place op (recorded as IndexPut when grad is on)."""
    from ..inplace import inplace_apply
    idx = _convert_index(index)
    if not isinstance(value, Tensor):
        value = make_tensor(_value_array(value, x._data.dtype, "index assignment", check_half=False))
    elif value.dtype != x.dtype:
        value = cast(value, x.dtype)
    if value.ndim and value.shape[0] == 1:
        # torch drops leading size-1 dims of a value with more dims than x[index]
        try:
            target = np.shape(x._data[idx])
        except IndexError:
            target = None
        if target is not None and value.ndim > len(target):
            lead = 0
            while value.ndim - lead > len(target) and value.shape[lead] == 1:
                lead += 1
            if lead:
                value = value.reshape(tuple(value.shape[lead:]))
    try:
        inplace_apply(x, IndexPut(idx), value, direct=_direct_setitem(idx))
    except IndexError as e:
        raise IndexError("index assignment: " + _index_error_text(str(e), index, x.shape)) from None
    except (ValueError, TypeError) as e:
        try:
            target = f" of shape {shape_str(np.shape(x._data[idx]))}"
        except (IndexError, ValueError):
            target = ""
        raise RuntimeError(f"index assignment: shape mismatch: a value of shape {shape_str(value.shape)} cannot be "
                           f"broadcast to the indexing result{target} (t[{_describe(index)}] of a tensor of shape "
                           f"{shape_str(x.shape)})") from None


def _index_put_args(x, indices, values, opname):
    """index_put's operands checked as torch checks them: the index (a NumPy index of arrays)
    and the values (a tensor of x's dtype, broadcast to the shape ``x[indices]`` has)."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"{opname}(): argument 'indices' must be a tuple of Tensors, not {type(indices).__name__}")
    for k, i in enumerate(indices):
        if not isinstance(i, Tensor):
            raise TypeError(f"{opname}(): expected Tensor as element {k} in argument 'indices', but got "
                            f"{type(i).__name__}")
    if not isinstance(values, Tensor):
        raise TypeError(f"{opname}(): argument 'values' (position 3) must be Tensor, not {type(values).__name__}")
    if values._data.dtype != x._data.dtype:
        raise RuntimeError(f"{opname}: Index put requires the source and destination dtypes match, got "
                           f"{_dtype.dtype_name(x._data.dtype)} for the destination and "
                           f"{_dtype.dtype_name(values._data.dtype)} for the source.")
    # a uint8 index is a mask in torch (its deprecated byte masks), as a bool one
    idx = _convert_index(tuple(i.bool() if i._data.dtype == np.uint8 else i for i in indices))
    if not isinstance(idx, tuple):
        idx = (idx,)
    try:
        target = np.shape(x._data[idx])
    except IndexError as e:
        raise IndexError(f"{opname}: " + _index_error_text(str(e), tuple(indices), x.shape)) from None
    try:
        np.broadcast_shapes(values._data.shape, target) == target or _raise_value_error()
    except ValueError:
        raise RuntimeError(f"{opname}: shape mismatch: value tensor of shape {shape_str(values.shape)} cannot be "
                           f"broadcast to indexing result of shape {shape_str(target)}") from None
    return idx, target


def _raise_value_error():
    raise ValueError


@public
def index_put(input, indices, values, accumulate=False):
    """A copy of ``input`` with ``values`` written at ``input[indices]`` (``indices``: a tuple of
    integer or boolean tensors, one per leading dim); ``accumulate=True`` adds them instead, a
    position named twice receiving both (``x[i] += v`` that counts repeats)."""
    x = to_tensor(input, "index_put")
    idx, target = _index_put_args(x, indices, values, "index_put")
    if not accumulate:
        return apply(IndexPut(idx), x, values)
    from .shape import expand   # (shape imports this module)
    v = values if tuple(values.shape) == target else expand(values, target)
    # the increments scattered into zeros (np.add.at: repeats add up), then added to x
    return x + apply(IndexScatter(tuple(x.shape), _integer_index(idx), 0), v)


def _integer_index(idx):
    """``idx`` with boolean masks spelled as the integer positions they select (np.add.at's form)."""
    out = []
    for i in idx:
        if isinstance(i, np.ndarray) and i.dtype == bool:
            out.extend(np.nonzero(i))
        else:
            out.append(i)
    return tuple(out)


@method("index_put_")
def index_put_(input, indices, values, accumulate=False):
    """``index_put`` in place: ``x[indices] = values`` (or ``+=`` with repeats counted, ``accumulate=True``)."""
    from ..inplace import inplace_combine   # a layer above: looked up when called
    idx, _ = _index_put_args(input, indices, values, "index_put_")

    def update(data, v):   # under no_grad: straight into the memory
        if accumulate:
            np.add.at(data, _integer_index(idx), v)
        else:
            data[idx] = v
    return inplace_combine(input, "index_put_", lambda old, v: index_put(old, indices, v, accumulate), (values,),
                           update)


_NUMBERS = (bool, int, float, complex, np.generic)


def _value_array(value, dtype, opname, check_half=True):
    """A number or nested list written into a tensor of ``dtype``, as an array of that dtype.

    As torch: a number that does not fit (300 into int8, 1e300 into float32, 2**63
    anywhere) raises instead of wrapping, and strings or None are refused; an array is
    cast as it is (torch's copy_ of a tensor wraps too). ``check_half=False``: a float16
    target takes any float, overflowing to inf (torch's index assignment does not check
    half precision, while its fill_ and masked_fill do).
    """
    t = type(value)
    if (t is float and -65504.0 <= value <= 65504.0 and dtype.kind in "fc") or (t is int and 0 <= value <= 127):
        return np.asarray(value, dtype=dtype)   # fits every floating (resp. every) dtype: no checks
    if isinstance(value, _NUMBERS):
        if check_half or dtype != _dtype.float16:
            _dtype.check_scalar(value, dtype, opname)
        return _dtype.scalar_array(value, dtype)
    if isinstance(value, np.ndarray):
        return value.astype(dtype, copy=False)
    from ..creation import _infer
    return np.asarray(_infer(value, dtype, opname), dtype=dtype)


def _direct_setitem(idx):
    def direct(data, v):
        data[idx] = v
    return direct


def _grid(x, index, dim, opname):
    """Full index arrays for gather/scatter: index along ``dim``, aranges elsewhere."""
    if index.ndim != x.ndim:
        raise RuntimeError(f"{opname}: Index tensor must have the same number of dimensions as input tensor "
                           f"(index {shape_str(index.shape)}, input {shape_str(x.shape)})")
    idx = index._data
    if idx.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"{opname}(): Expected dtype int32/int64 for index, got {_dtype.dtype_name(idx.dtype)}")
    for d in range(x.ndim):
        if d != dim and idx.shape[d] > x.shape[d]:
            raise RuntimeError(f"{opname}: Size does not match at dimension {d}: index {shape_str(index.shape)} "
                               f"vs input {shape_str(x.shape)}")
    n = x.shape[dim] if x.ndim else 1
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        # torch does not wrap negative indices here, unlike Python and NumPy
        raise RuntimeError(f"{opname}: index {int(idx.max() if idx.max() >= n else idx.min())} is out of bounds "
                           f"for dimension {dim} with size {n}")
    grid = list(np.ogrid[tuple(slice(0, s) for s in idx.shape)])
    grid[dim] = idx
    return tuple(grid)


_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))


@public
def gather(input, dim, index):
    """Pick ``input`` values along ``dim`` at ``index`` (e.g. the log-prob of each target class)."""
    x = to_tensor(input, "gather")
    index = to_tensor(index, "gather")
    d = normalize_dim(dim, x.ndim, "gather")
    if (not x.ndim or not index.ndim) and x.ndim <= 1 and index.ndim <= 1:
        # torch counts a 0-d input or index as 1-d of one element here; the result has index's shape
        return gather(x.reshape(1) if not x.ndim else x, 0,
                      index.reshape(1) if not index.ndim else index).reshape(tuple(index.shape))
    return apply(Gather(_grid(x, index, d, "gather")), x)


@public
def scatter_add(input, dim, index, src):
    x = to_tensor(input, "scatter_add")
    index, src = to_tensor(index), to_tensor(src)
    if src.dtype != x.dtype:
        src = cast(src, x.dtype)
    d = normalize_dim(dim, x.ndim, "scatter_add")
    if (not x.ndim or not index.ndim or not src.ndim) and max(x.ndim, index.ndim, src.ndim) <= 1:
        # 0-d operands count as 1-d of one element (torch); the result has input's shape
        return scatter_add(x.reshape(-1), 0, index.reshape(-1), src.reshape(-1)).reshape(tuple(x.shape))
    if src.ndim != index.ndim:
        raise IndexError(f"scatter_add: Index tensor must have the same number of dimensions as src tensor "
                         f"(index {shape_str(index.shape)}, src {shape_str(src.shape)})")
    for k in range(index.ndim):
        if index.shape[k] > src.shape[k]:
            raise RuntimeError(f"scatter_add: Expected index {shape_str(index.shape)} to be smaller than "
                               f"src {shape_str(src.shape)} apart from dimension {d}")
    return apply(ScatterAdd(_grid(x, index, d, "scatter_add")), x, src)


@public
def index_select(input, dim, index):
    """The entries of ``input`` at ``index`` (a vector of int32/int64) along ``dim``."""
    x = to_tensor(input, "index_select")
    index = to_tensor(index, "index_select")
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if index._data.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"index_select(): Expected dtype int32 or int64 for index, got "
                           f"{_dtype.dtype_name(index._data.dtype)}")
    d = normalize_dim(dim, x.ndim, "index_select")
    idx = index._data
    n = x.shape[d] if x.ndim else 1
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        # torch does not wrap negative indices here: -1 is out of range, not the last entry
        bad = int(idx.min() if idx.min() < 0 else idx.max())
        raise IndexError(f"index_select(): index {bad} is out of range for dimension {d} with size {n} "
                         f"(index out of range in self, of shape {shape_str(x.shape)})")
    if not x.ndim:
        if idx.size != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)")
        return getitem(x, ...)
    return getitem(x, (slice(None),) * d + (index.reshape(-1),))


@public(inplace='unary')
def masked_fill(input, mask, value):
    """Where ``mask`` holds, ``value``; elsewhere ``input`` (attention masks: fill with -inf before softmax)."""
    from .elementwise import where
    x = to_tensor(input, "masked_fill")
    mask = to_tensor(mask, "masked_fill")
    if mask.dtype.kind != "b":
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}")
    constant = not isinstance(value, Tensor)
    if not constant:
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        value = cast(value, x.dtype)
    else:
        value = make_tensor(_value_array(value, x._data.dtype, "masked_fill"))
    try:
        shape = np.broadcast_shapes(mask.shape, x.shape)
    except ValueError:
        from ._util import broadcast_error
        raise broadcast_error("masked_fill", x.shape, mask.shape) from None
    if constant and shape == x.shape:
        return apply(MaskedFill(mask._data), x, value)
    return where(mask, value, x)  # may broadcast x, as torch's out-of-place form (masked_fill_ may not)


class MaskedFill(Op):
    """x with a constant ``value`` (input 1, a 0-d tensor without gradient) where ``mask``
    holds, mask broadcast to x; d/dx = 0 there, 1 elsewhere.

    ``where(mask, value, x)`` as one primitive: forward is a copy of x into a pooled buffer
    and a masked fill in place (np.where writes a fresh array, with its page faults, and
    broadcasts the scalar branch), and the backward a pooled copy of the cotangent with the
    masked positions zeroed. They get an exact 0, never g * 0 (a NaN cotangent there must
    not leak into x).
    """
    __slots__ = ("mask",)
    batched = True
    uses_inputs = False

    def __init__(self, mask):
        self.mask = mask

    def forward(self, x, value):
        out = _take(x.shape, x.dtype)
        np.copyto(out, x)
        np.copyto(out, value, where=self.mask)
        return out

    def vjp(self, xp, g, x, value, y):
        if isinstance(g, np.ndarray):
            r = _take(g.shape, g.dtype)
            np.copyto(r, g)
            np.copyto(r, 0, where=self.mask)
            return r, None
        return xp.where(make_tensor(self.mask), 0.0, g), None

    def jvp(self, xp, t, x, value, y):
        m = self.mask if isinstance(t[0], np.ndarray) else make_tensor(self.mask)
        return xp.where(m, 0.0, t[0])


@public
def nonzero(input, *, as_tuple=False):
    x = to_tensor(input, "nonzero")
    idx = np.nonzero(x._data) if x.ndim else np.nonzero(x._data.reshape(1))
    if as_tuple:
        return tuple(make_tensor(i.astype(np.int64)) for i in idx)
    return make_tensor(np.stack(idx, axis=1).astype(np.int64) if idx else np.zeros((0, 0), np.int64))


@public
def take_along_dim(input, indices, dim=None):
    """``input`` values at ``indices`` along ``dim``, the two broadcast against each other
    everywhere else (torch.take_along_dim); with dim=None, over the flattened input."""
    x = to_tensor(input, "take_along_dim")
    indices = to_tensor(indices, "take_along_dim")
    if dim is None:
        return gather(x.reshape(-1), 0, indices.reshape(-1))
    if x.ndim != indices.ndim:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {x.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    if indices._data.dtype.kind not in "iu":
        raise RuntimeError(f"take_along_dim(): dtype of indices should be Long but got "
                           f"{_dtype.dtype_name(indices._data.dtype)}")
    if not x.ndim:
        raise IndexError(f"take_along_dim(): Dimension specified as {dim} but tensor has no dimensions")
    d = normalize_dim(dim, x.ndim, "take_along_dim")
    sizes = list(x.shape)
    sizes[d] = indices.shape[d]
    try:
        shape = list(np.broadcast_shapes(tuple(sizes), tuple(indices.shape)))
    except ValueError:
        from ._util import broadcast_error
        raise broadcast_error("take_along_dim", x.shape, indices.shape) from None
    if tuple(shape) != tuple(indices.shape):
        indices = indices.expand(*shape)
    shape[d] = x.shape[d]
    if tuple(shape) != tuple(x.shape):
        x = x.expand(*shape)
    return gather(x, d, indices)
