"""Matrix products: matmul (every rank combination, as torch.matmul), dot, outer, einsum.

For Y = A B the vjp is dA = G B^T and dB = A^T G: backprop's weight gradient
(an outer product summed over the batch) and the error passed to the layer below.
"""
from __future__ import annotations

import numpy as np

from .._dtype import c_name, scalar_name
from ..autograd.node import Op, apply, apply2, apply3
from ._util import cast, result_dtype, shape_str, to_tensor
from .declare import public
from ._pool import take as _take

_BIG = 1 << 16


def _np_matmul(a, b):
    """a @ b on arrays, a large result (attention scores, their gradients: a megabyte a step
    each in a transformer) written into a pooled warm buffer (ops/_pool.py) instead of fresh
    memory that page-faults in every step."""
    # Stacked products only: with out= NumPy copies a transposed 2-D operand (W.T of a Linear)
    # that BLAS would otherwise take as it is, which costs more than the page faults it saves
    # (W2T's MLP step: 4.6 -> 5.3 ms); stacked operands are made row-major above anyway.
    if (a.ndim > 2 or b.ndim > 2) and a.ndim >= 2 and b.ndim >= 2 and a.dtype is b.dtype and a.dtype.kind == "f":
        shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
        n = a.itemsize
        for d in shape:
            n *= d
        if n >= _BIG and a.shape[-1] == b.shape[-2]:
            return np.matmul(a, b, out=_take(shape, a.dtype))
    return np.matmul(a, b)


def _mT(xp, a):
    return a.swapaxes(-1, -2)  # the method: a C call on arrays, dlmath's transpose on Tensors


def _rowmajor_slices(a):
    """A stack of matrices whose rows are not contiguous (``k.mT`` in attention), copied
    row-major: NumPy's stacked matmul is ~1.6x slower on such slices than the copy costs
    (2-D operands need nothing: BLAS takes a transposed matrix as it is)."""
    if a.__class__ is np.ndarray and a.ndim > 2 and a.strides[-1] != a.itemsize and a.size:
        if a.nbytes >= _BIG:   # pooled: see _np_matmul
            out = _take(a.shape, a.dtype)
            np.copyto(out, a)
            return out
        return np.ascontiguousarray(a)
    return a


def _mm(xp, x, w):
    """x @ w, with a 2-D factor folded into one matrix product: a stack of B small
    products is B BLAS calls, (B*n, k) @ (k, m) is one (batched jacobians hit this)."""
    if w.ndim == 2 and x.ndim > 2:
        s = tuple(x.shape)
        rows = int(np.prod(s[:-1]))
        return xp.reshape(xp.matmul(xp.reshape(x, (rows, s[-1])), w), s[:-1] + (w.shape[-1],))
    if x.ndim == 2 and w.ndim > 2:
        return _mT(xp, _mm(xp, _mT(xp, w), _mT(xp, x)))  # (x w) = (w^T x^T)^T
    x, w = _rowmajor_slices(x), _rowmajor_slices(w)
    if x.__class__ is np.ndarray and w.__class__ is np.ndarray:
        return _np_matmul(x, w)
    return xp.matmul(x, w)


def _transposed(a):
    """A 2-D array stored column-major: the transpose (a view) of a row-major one."""
    return (a.__class__ is np.ndarray and a.ndim == 2 and not a.flags.c_contiguous
            and a.flags.f_contiguous)


def _drop(xp, a, axis):
    """Remove a size-1 axis (the unit dim a 1-D operand was given)."""
    shape = list(a.shape)
    del shape[axis]
    return xp.reshape(a, tuple(shape))


def _as_matrix(xp, t, x, row, nbatch):
    """A (batched) tangent t of operand x in matrix form: 1-D x as a row (A) or a column (B),
    and size-1 dims between t's batch dims and x's so the batch stays in front."""
    lead = t.ndim - x.ndim
    core = tuple(t.shape[lead:])
    if x.ndim == 1:
        core = (1,) + core if row else core + (1,)
    pad = (1,) * (nbatch - (len(core) - 2))
    return xp.reshape(t, tuple(t.shape[:lead]) + pad + core)


class MatMul(Op):
    """A @ B; vjp dA = G B^T, dB = A^T G (NumPy/PyTorch rank rules: a 1-D operand gets a unit dim).

    Batched: the rules put a 1-D operand's unit dim back where needed and fold
    products with a 2-D factor into one BLAS call (``_mm``).
    """
    __slots__ = ()
    batched = True

    def used_inputs(self):
        needs = self.needs
        return [i for i, n in ((1, needs[0]), (0, needs[1])) if n]

    def forward(self, a, b):
        return _np_matmul(_rowmajor_slices(a), _rowmajor_slices(b))

    def vjp(self, xp, g, a, b, y):
        needs = self.needs
        a1, b1 = a.ndim == 1, b.ndim == 1
        if not (a1 or b1):
            # each cotangent in its operand's memory layout: for x @ W.T (nn.Linear's weight,
            # W stored (out, in)), dB = (G^T A)^T, a transposed view, so that it reaches W,
            # through the transpose's rule, as a plain row-major array (no copy, no strided update)
            ga = gb = None
            if needs[0]:
                ga = _mT(xp, _mm(xp, b, _mT(xp, g))) if _transposed(a) else _mm(xp, g, _mT(xp, b))
            if needs[1]:
                gb = _mT(xp, _mm(xp, _mT(xp, g), a)) if _transposed(b) else _mm(xp, _mT(xp, a), g)
            return ga, gb
        if a1 and b1:                           # dot product: g holds (a batch of) scalars
            ge = xp.expand_dims(g, -1)
            return (ge * b if needs[0] else None), (ge * a if needs[1] else None)
        if b1:                                  # (..., n, k) @ (k,) -> (..., n); g as (..., n, 1)
            ge = xp.expand_dims(g, -1)
            ga = ge * b if needs[0] else None
            gb = _drop(xp, _mm(xp, _mT(xp, a), ge), -1) if needs[1] else None
            return ga, gb
        ge = xp.expand_dims(g, -2)              # (k,) @ (..., k, m) -> (..., m); g as (..., 1, m)
        ga = _drop(xp, _mm(xp, ge, _mT(xp, b)), -2) if needs[0] else None
        gb = xp.expand_dims(a, -1) * ge if needs[1] else None
        return ga, gb

    def jvp(self, xp, t, a, b, y):
        ta, tb = t
        a1, b1 = a.ndim == 1, b.ndim == 1
        lead = (ta if ta is not None else tb).ndim - (a.ndim if ta is not None else b.ndim)
        if not lead:
            out = None if ta is None else xp.matmul(ta, b)
            if tb is not None:
                d = xp.matmul(a, tb)
                out = d if out is None else out + d
            return out
        # batched: everything in matrix form (1-D operands as a row / a column), then back
        A = xp.expand_dims(a, 0) if a1 else a
        B = xp.expand_dims(b, -1) if b1 else b
        nbatch = max(A.ndim, B.ndim) - 2
        out = None if ta is None else _mm(xp, _as_matrix(xp, ta, a, True, nbatch), B)
        if tb is not None:
            d = _mm(xp, A, _as_matrix(xp, tb, b, False, nbatch))
            out = d if out is None else out + d
        return xp.reshape(out, tuple(out.shape[:lead]) + tuple(y.shape))


def _operands(a, b, opname):
    """Both operands as Tensors of one dtype: torch's matmul does not promote, and neither
    does dlmath (float32 @ float64 is a RuntimeError, with torch's message)."""
    a, b = to_tensor(a, opname), to_tensor(b, opname)
    da, db = a._data.dtype, b._data.dtype
    if da is not db and da != db:
        if a._data.ndim == 1 and b._data.ndim == 1:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                               f"{scalar_name(da)} and {scalar_name(db)} ({opname} of "
                               f"{shape_str(a.shape)} and {shape_str(b.shape)}; cast one with .to())")
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {c_name(da)} "
                           f"!= {c_name(db)} ({opname} of {shape_str(a.shape)} "
                           f"{da.name} and {shape_str(b.shape)} {db.name}; cast one with .to())")
    return a, b


@public
def matmul(input, other):
    """Matrix product with torch.matmul's rules: dot, matrix-vector, batched and broadcast."""
    a, b = _operands(input, other, "matmul")
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise RuntimeError(f"matmul: both arguments to matmul need to be at least 1D, but they are "
                           f"{len(sa)}D and {len(sb)}D")
    k_a = sa[-1]
    k_b = sb[0] if len(sb) == 1 else sb[-2]
    if k_a != k_b:
        raise RuntimeError(f"matmul: {shape_str(sa)} @ {shape_str(sb)}: inner dimensions {k_a} and {k_b} differ")
    if len(sa) > 2 or len(sb) > 2:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise RuntimeError(f"matmul: {shape_str(sa)} @ {shape_str(sb)}: batch dimensions "
                               f"{shape_str(sa[:-2])} and {shape_str(sb[:-2])} cannot be broadcast") from None
    return apply(MatMul(), a, b)


@public
def mm(input, mat2):
    a, b = to_tensor(input), to_tensor(mat2)
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D matrices, got {shape_str(a.shape)} and {shape_str(b.shape)}")
    return matmul(a, b)


@public
def bmm(input, mat2):
    a, b = to_tensor(input), to_tensor(mat2)
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise RuntimeError(f"bmm: expected two 3-D tensors with the same batch size, got "
                           f"{shape_str(a.shape)} and {shape_str(b.shape)}")
    return matmul(a, b)


@public
def mv(input, vec):
    a, b = to_tensor(input), to_tensor(vec)
    if a.ndim != 2 or b.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got {shape_str(a.shape)} and {shape_str(b.shape)}")
    return matmul(a, b)


@public
def dot(input, other):
    """sum_i a_i b_i of two 1-D tensors: a neuron's pre-activation, an attention score."""
    a, b = to_tensor(input, "dot"), to_tensor(other, "dot")
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"dot: inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                           f"[{b.shape[0]}] to have the same number of elements, but got "
                           f"{a.shape[0]} and {b.shape[0]} elements respectively")
    if a.dtype != b.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {a.dtype} and {b.dtype}")
    return matmul(a, b)


@public
def inner(input, other):
    """sum over the last dim of both: a[..., k] b[..., k]; a product when either is 0-d."""
    a, b = to_tensor(input, "inner"), to_tensor(other, "inner")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got "
                           f"shapes {shape_str(a.shape)} and {shape_str(b.shape)}")
    if a.dtype != b.dtype:
        raise RuntimeError(f"inner: both inputs should have same dtype, got {a.dtype} and {b.dtype}")
    if a.ndim == 1 and b.ndim == 1:
        return matmul(a, b)
    n = a.shape[-1]
    out = matmul(a.reshape(-1, n), b.reshape(-1, n).mT)
    return out.reshape(tuple(a.shape[:-1]) + tuple(b.shape[:-1]))




@public(aliases=('ger',))
def outer(input, vec2):
    """(a b^T)_ij = a_i b_j: the shape of a weight gradient for one example."""
    a, b = to_tensor(input, "outer"), to_tensor(vec2, "outer")
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"outer: expected 1-D vectors, got {shape_str(a.shape)} and {shape_str(b.shape)}")
    return a.reshape(-1, 1) * b.reshape(1, -1)




class Einsum(Op):
    """Einstein summation; the cotangent of each operand is another einsum of g with the others.

    Batched: g and the tangents get a leading ``...`` in their subscripts.

    ``ins``: each operand's subscripts (a tuple of strings, no ``...``); ``out_spec``: the output's.
    """
    __slots__ = ("ins", "out_spec")
    batched = True

    def __init__(self, ins, out_spec):
        self.ins = ins
        self.out_spec = out_spec

    def used_inputs(self):
        return [i for i in range(len(self.inputs))
                if any(n for j, n in enumerate(self.needs) if j != i)]

    def forward(self, *xs):
        out = np.einsum(",".join(self.ins) + "->" + self.out_spec, *xs, optimize=len(xs) > 2)
        if len(xs) == 1 and np.may_share_memory(out, xs[0]):
            out = out.copy()  # NumPy returns a view for 'ij->ji'; the result must not alias its input
        return out

    def vjp(self, xp, g, *args):
        xs = args[:-1]
        grads = []
        for i, (spec, need) in enumerate(zip(self.ins, self.needs)):
            if not need:
                grads.append(None)
                continue
            others = [s for j, s in enumerate(self.ins) if j != i]
            present = set(self.out_spec).union(*others)
            kept = "".join(c for c in dict.fromkeys(spec) if c in present)
            gi = xp.einsum(",".join(["..." + self.out_spec] + others) + "->..." + kept,
                           g, *[x for j, x in enumerate(xs) if j != i])
            if kept != spec:
                gi = self._embed(xp, gi, kept, spec, tuple(xs[i].shape))
            grads.append(gi)
        return grads

    def _embed(self, xp, gi, kept, spec, shape):
        """Cotangent over ``kept`` letters -> over ``spec``: repeated letters (a diagonal,
        'ii->i') become identity factors, letters only this operand had become ones."""
        size = dict(zip(spec, shape))
        used = set("".join(self.ins) + self.out_spec)
        fresh = iter(c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used)
        seen, new_spec, factors, specs = set(), "", [], []
        for c in spec:
            if c in seen:                       # second occurrence: tie it to the first with an identity
                f = next(fresh)
                new_spec += f
                specs.append(c + f)
                factors.append(np.eye(size[c], dtype=gi.dtype))
            else:
                seen.add(c)
                new_spec += c
        missing = "".join(c for c in dict.fromkeys(spec) if c not in kept)
        if missing:
            specs.append(missing)
            factors.append(np.ones(tuple(size[c] for c in missing), dtype=gi.dtype))
        return xp.einsum(",".join(["..." + kept] + specs) + "->..." + new_spec, gi, *factors)

    def jvp(self, xp, t, *args):
        xs = args[:-1]
        out = None
        for i, ti in enumerate(t):
            if ti is None:
                continue
            ops = [ti if j == i else x for j, x in enumerate(xs)]
            specs = ["..." + s if j == i else s for j, s in enumerate(self.ins)]
            d = xp.einsum(",".join(specs) + "->..." + self.out_spec, *ops)
            out = d if out is None else out + d
        return out


@public(method=False)
def einsum(equation, *operands):
    """``dm.einsum('bij,bjk->bik', a, b)``: attention's QK^T and more, in one line."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    xs = [to_tensor(o, "einsum") for o in operands]
    dt = result_dtype(xs)
    xs = [cast(x, dt) for x in xs]
    eq = equation.replace(" ", "")
    if "..." in eq:
        eq = _expand_ellipsis(eq, xs)
    if "->" in eq:
        lhs, out = eq.split("->")
    else:
        lhs = eq
        letters = lhs.replace(",", "")
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    ins = lhs.split(",")
    if len(ins) != len(xs):
        raise RuntimeError(f"einsum(): {len(ins)} operands in the equation '{equation}' but {len(xs)} given")
    for spec, x in zip(ins, xs):
        if len(spec) != x.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in '{spec}' does not match the number of "
                               f"dimensions ({x.ndim}) of operand of shape {shape_str(x.shape)}")
    sizes = {}
    for spec, x in zip(ins, xs):
        for c, s in zip(spec, x.shape):
            if sizes.setdefault(c, s) != s and s != 1 and sizes[c] != 1:
                raise RuntimeError(f"einsum(): subscript {c} has size {s} for operand of shape "
                                   f"{shape_str(x.shape)} which does not broadcast with previously seen size {sizes[c]}")
    if len(ins) == 1 and sorted(ins[0]) == sorted(out) and len(set(out)) == len(out):
        from .shape import permute
        return permute(xs[0], [ins[0].index(c) for c in out])  # a pure transpose: a view, as torch
    return apply(Einsum(tuple(ins), out), *xs)


def _expand_ellipsis(eq, xs):
    lhs, _, out = eq.partition("->")
    specs = lhs.split(",")
    used = set(eq) - {".", ",", "-", ">"}
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used]
    nd = max(x.ndim - (len(s) - 3) for s, x in zip(specs, xs) if "..." in s)
    ell = "".join(free[:nd])
    new = [s.replace("...", ell[nd - (x.ndim - (len(s) - 3)):]) if "..." in s else s for s, x in zip(specs, xs)]
    if "->" in eq:
        out = out.replace("...", ell)
    else:
        letters = "".join(new)
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell))
    return ",".join(new) + "->" + out


# --- x W^T + b: nn.Linear on a batch of rows (torch's addmm path of F.linear) -------------
_ONES = {}


def _ones(n, dtype):
    """A read-only vector of n ones, kept: db = ones @ G is one BLAS call, ~2.5x faster than
    G.sum(0) at (128, 512) float32 (the bias gradient of every Linear, every step)."""
    v = _ONES.get((n, dtype))
    if v is None:
        if len(_ONES) > 64:
            _ONES.clear()
        v = np.ones(n, dtype)
        v.flags.writeable = False
        _ONES[(n, dtype)] = v
    return v


_GER = {"f": None, "d": None}
_GER_MIN = 4096   # below this many outputs an f2py call costs as much as np.add saves


def _ger(char):
    from scipy.linalg import blas   # (on first use: scipy.linalg's import is not free)
    _GER["f"], _GER["d"] = blas.sger, blas.dger
    return _GER[char]


class Addmm(Op):
    """y = x W^T (+ b) for a 2-D x (rows, in), W (out, in), b (out,): F.linear on a batch of rows,
    one primitive as torch's addmm (its node is 'AddmmBackward0').

    vjp: dx = G W, dW = G^T x (computed in W's own (out, in) layout: one BLAS call, no
    transposed copy), db = G summed over the rows. A primitive rather than an
    ``autograd.Function``: no ctx, no aliases of the inputs and no Tensors made for the
    cotangents, ~20 us less per layer per training step (fwd + bwd) than the fused Function,
    whose folded form N-D inputs still take. Large results go to pooled warm buffers
    (ops/_pool.py): dx is the cotangent the ReLU below then masks in place.
    """
    __slots__ = ()

    def used_inputs(self):
        needs = self.needs
        return [i for i, n in ((1, needs[0]), (0, needs[1])) if n]   # (the bias is never read)

    def forward(self, x, w, b=None):
        dt = x.dtype
        out = _take((x.shape[0], w.shape[0]), dt)
        np.matmul(x, w.T, out=out)
        if b is not None:
            if out.size >= _GER_MIN and b.dtype is dt and dt.char in "fd" and b.strides[0] == dt.itemsize:
                # the bias as a BLAS rank-1 update of out's transpose (Fortran-ordered, so BLAS
                # writes into out itself): out += b 1^T, the same sums as np.add, at about twice
                # its speed (NumPy's broadcast add loops over short rows: (128, 512) float32
                # 10.5 -> 5.5 us)
                ger = _GER[dt.char]
                if ger is None:
                    ger = _ger(dt.char)
                r = ger(1.0, b, _ones(out.shape[0], dt), a=out.T, overwrite_a=True)
                if r.base is not out:   # (never expected: f2py copied rather than wrote in place)
                    out[...] = r.T
            else:
                np.add(out, b, out=out)
        return out

    def vjp(self, xp, g, x, w, *rest):
        needs = self.needs
        if g.__class__ is np.ndarray:
            gx = gw = gb = None
            if needs[0]:
                gx = np.matmul(g, w, out=_take((g.shape[0], w.shape[1]), g.dtype))
            if needs[1]:
                gw = np.matmul(g.T, x, out=_take(w.shape, g.dtype))
            if len(rest) == 2 and needs[2]:
                gb = _ones(g.shape[0], g.dtype) @ g
            return (gx, gw) if len(rest) == 1 else (gx, gw, gb)
        # recorded (create_graph) or carrying tangents: the same rule on Tensors
        gx = xp.matmul(g, w) if needs[0] else None
        gw = xp.matmul(_mT(xp, g), x) if needs[1] else None
        if len(rest) == 1:
            return gx, gw
        return gx, gw, (xp.sum(g, axis=0) if needs[2] else None)

    def jvp(self, xp, t, x, w, *rest):
        tx, tw = t[0], t[1]
        out = None if tx is None else xp.matmul(tx, _mT(xp, w))
        if tw is not None:
            d = xp.matmul(x, _mT(xp, tw))
            out = d if out is None else out + d
        if len(t) == 3 and t[2] is not None:
            out = t[2] if out is None else out + t[2]
        return out


def addmm_linear(x, w, b=None):
    """``F.linear`` for a 2-D float input and weight, and a 1-D bias of their dtype or None
    (the caller, F.linear, has checked the shapes and dtypes): one ``Addmm`` node."""
    if b is None:
        return apply2(Addmm(), x, w)
    return apply3(Addmm(), x, w, b)
