"""Reductions (sum, mean, max, prod, logsumexp, ...) and the softmax family.

A reduction's vjp sends the cotangent back along the reduced axes: sum copies
it to every element, max routes it to the winner, logsumexp weighs it by the
softmax. ``_restore`` re-inserts the reduced axes so ``g`` broadcasts against
the input.

Every rule is ``batched``: cotangents and tangents may carry extra leading
dims, so rules name axes from the end (``_neg``) and broadcast to
``lead + x.shape`` (``_full``).
"""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from .. import _dtype
from ..autograd.node import Op, apply, make_tensor
from ..tensor import Tensor
from ._util import reduce_along, as_float, cast, normalize_dim, normalize_dims, quiet, to_tensor
from .unary import Sqrt
from ._pool import take as _take
from .declare import public


# the ufuncs' own reductions: np.sum/np.max/np.mean add microseconds of Python around them
_add_reduce = np.add.reduce

# float16 sums, means, cumulative sums and softmaxes accumulate in float32 and round once, as
# torch does (NumPy would round at every step along an outer axis, and 10 x 1e4 overflows)
_F16 = np.dtype(np.float16)
_F32 = np.float32


def _max_reduce(x, axis, keepdims):
    return reduce_along(np.maximum, x, axis, keepdims)


def _sum_along(x, axis, keepdims):
    return reduce_along(np.add, x, axis, keepdims)


def _restore(xp, g, axes, keepdim, ndim):
    """Put back the reduced axes as size-1 dims (so g broadcasts to the input)."""
    if keepdim or not axes:
        return g
    shape = list(g.shape)
    lead = g.ndim - (ndim - len(axes))  # leading batch dims of a batched cotangent
    for a in axes:
        shape.insert(a + lead, 1)
    return xp.reshape(g, tuple(shape))


def _neg(axes, ndim):
    """Axes of an ndim-dim input counted from the end (they stay right with leading batch dims)."""
    if axes is None:
        return tuple(range(-ndim, 0))
    if isinstance(axes, tuple):
        return tuple(a - ndim for a in axes)
    return axes - ndim


def _full(xp, gk, x):
    """Broadcast a restored cotangent (lead dims + x.ndim dims) to lead + x.shape."""
    return xp.broadcast_to(gk, tuple(gk.shape[:gk.ndim - x.ndim]) + tuple(x.shape))


class Sum(Op):
    """sum over axes; d/dx_i = 1, so every element receives the cotangent.

    ``axes``: the (non-negative) axes summed, None for all; ``keepdim``: keep them as size 1;
    ``dtype`` is the accumulator's, ``out_dtype`` the result's when it differs (float16: float32 sums)."""
    __slots__ = ("axes", "keepdim", "dtype", "out_dtype")
    batched = True
    uses_inputs = False

    def __init__(self, axes, keepdim, dtype, out_dtype):
        self.axes = axes
        self.keepdim = keepdim
        self.dtype = dtype
        self.out_dtype = out_dtype

    def forward(self, x):
        r = _add_reduce(x, axis=self.axes, keepdims=self.keepdim, dtype=self.dtype)
        return r if self.out_dtype is None else r.astype(self.out_dtype)

    def vjp(self, xp, g, x, y):
        return (_full(xp, _restore(xp, g, self.axes, self.keepdim, x.ndim), x),)

    def jvp(self, xp, t, x, y):
        return xp.sum(t[0], axis=_neg(self.axes, x.ndim), keepdims=self.keepdim)


class Mean(Op):
    """mean over axes; d/dx_i = 1/n. Losses, BatchNorm and LayerNorm statistics.

    ``axes``: the (non-negative) axes averaged, None for all; ``keepdim``: keep them as size 1;
    ``count``: n, the number of elements averaged."""
    __slots__ = ("axes", "keepdim", "count")
    batched = True
    uses_inputs = False

    def __init__(self, axes, keepdim, count):
        self.axes = axes
        self.keepdim = keepdim
        self.count = count

    def forward(self, x):
        if x.size == 0:  # NaN, quietly, as torch (np.mean would warn "Mean of empty slice")
            with quiet():
                return np.sum(x, axis=self.axes, keepdims=self.keepdim) / x.dtype.type(self.count)
        if x.dtype == _F16:  # torch: sum in float32, divide, round once (10 x 1e4 -> 1e4, not inf)
            return (_add_reduce(x, axis=self.axes, keepdims=self.keepdim, dtype=_F32)
                    / self.count).astype(_F16)
        return _add_reduce(x, axis=self.axes, keepdims=self.keepdim) / self.count

    def vjp(self, xp, g, x, y):
        # (no elements: the cotangent is empty, and 1/0 would be a Python error)
        g = _restore(xp, g, self.axes, self.keepdim, x.ndim) * (1.0 / self.count if self.count else 0.0)
        return (_full(xp, g, x),)

    def jvp(self, xp, t, x, y):
        return xp.mean(t[0], axis=_neg(self.axes, x.ndim), keepdims=self.keepdim)


class Prod(Op):
    """product over one axis (or all); d/dx_i = prod of the others (exact with zeros present).

    ``axis``: the (non-negative) axis, None for all; ``keepdim``: keep it as size 1."""
    __slots__ = ("axis", "keepdim")
    batched = True
    uses_output = True

    def __init__(self, axis, keepdim):
        self.axis = axis
        self.keepdim = keepdim

    def forward(self, x):
        if x.dtype == _F16 and x.size:
            # torch multiplies float16 in float16, rounding (and overflowing) at every step:
            # 300 * 300 * (1/300) is inf. NumPy's inner loop would keep a float32 product.
            axis = -1 if self.axis is None else self.axis
            r = np.multiply.accumulate(x.reshape(-1) if self.axis is None else x, axis=axis)
            r = np.take(r, -1, axis=axis)
            if self.keepdim:
                r = np.reshape(r, (1,) * x.ndim) if self.axis is None else np.expand_dims(r, self.axis)
            return r
        return np.prod(x, axis=self.axis, keepdims=self.keepdim)

    def _others(self, xp, x, y):
        axes = tuple(range(x.ndim)) if self.axis is None else (self.axis,)
        yk = _restore(xp, y, axes, self.keepdim, x.ndim)
        xa = x._data if hasattr(x, "_data") else x
        if not np.any(xa == 0):
            return yk / x
        # With zeros, y / x is 0/0. Multiply the others directly: row i of an
        # (n, n) copy of x has its own entry replaced by 1. O(n^2), only when a
        # zero occurs, and made of differentiable ops so higher orders work too.
        xs = xp.reshape(x, (-1,)) if self.axis is None else xp.swapaxes(x, self.axis, -1)
        n = xs.shape[-1]
        others = xp.prod(xp.where(np.eye(n, dtype=bool), 1.0, xp.expand_dims(xs, -2)), axis=-1)
        return xp.reshape(others, tuple(x.shape)) if self.axis is None else xp.swapaxes(others, self.axis, -1)

    # The product of a 0-d x is x itself: the derivative is 1, a constant, as torch's
    # prod_backward returns it (g), so a second derivative is exactly 0. Through y / x it would
    # depend on x, and a NaN cotangent times that 0 would give NaN.
    def vjp(self, xp, g, x, y):
        if x.ndim == 0:
            return (g,)
        axes = tuple(range(x.ndim)) if self.axis is None else (self.axis,)
        return (_restore(xp, g, axes, self.keepdim, x.ndim) * self._others(xp, x, y),)

    def jvp(self, xp, t, x, y):
        if x.ndim == 0:
            return t[0]
        return xp.sum(t[0] * self._others(xp, x, y), axis=_neg(self.axis, x.ndim), keepdims=self.keepdim)


class MaxAlong(Op):
    """max/min along one dim with indices; the cotangent goes to the returned index only.

    ``axis``: the (non-negative) axis; ``keepdim``: keep it as size 1; ``pick``: np.argmax or
    np.argmin. (``mask``, where the winners are, is computed by forward for the rules.)"""
    __slots__ = ("axis", "keepdim", "pick", "mask")
    batched = True
    uses_inputs = False
    n_out = 2

    def __init__(self, axis, keepdim, pick):
        self.axis = axis
        self.keepdim = keepdim
        self.pick = pick

    def forward(self, x):
        idx = self.pick(x, axis=self.axis, keepdims=True)
        values = np.take_along_axis(x, idx, axis=self.axis)
        n = x.shape[self.axis] if x.ndim else 1
        shape = [1] * x.ndim
        if x.ndim:
            shape[self.axis] = n
        self.mask = np.arange(n).reshape(shape) == idx
        if not self.keepdim and x.ndim:
            values = np.squeeze(values, self.axis)
            idx = np.squeeze(idx, self.axis)
        return values, idx.astype(np.int64)

    def vjp(self, xp, grads, x, outs):
        g = grads[0]
        if g is None:
            return (None,)
        axes = (self.axis,) if x.ndim else ()
        return (xp.masked(_restore(xp, g, axes, self.keepdim, x.ndim), self.mask),)

    def jvp(self, xp, t, x, outs):
        return xp.sum(t[0] * self.mask, axis=self.axis - x.ndim, keepdims=self.keepdim)


class Extreme(Op):
    """amax/amin over axes (and max()/min() of everything); ties share the cotangent evenly, as torch.

    ``axes``: the (non-negative) axes reduced, None for all; ``keepdim``: keep them as size 1;
    ``pick``: np.max or np.min.
    ``exact``: places that are not the extreme get exactly 0 (torch's max()/min() of
    everything), not g * 0 (its amax/amin, where an inf or NaN g spreads).
    """
    __slots__ = ("axes", "keepdim", "pick", "exact")
    batched = True

    def __init__(self, axes, keepdim, pick, exact):
        self.axes = axes
        self.keepdim = keepdim
        self.pick = pick
        self.exact = exact

    uses_output = True

    def forward(self, x):
        return self.pick(x, axis=self.axes, keepdims=self.keepdim)

    def _ties(self, xp, x, y, nan=True):
        """Where x reaches the extreme, and how many places share it along the axes.

        In reverse mode (``nan``), a max()/min() of everything (``exact``) that is NaN is
        shared by the NaNs, as torch. amax/amin, and forward mode, compare x == NaN, find no
        place, and give NaN everywhere, as torch."""
        if nan and self.exact:
            ya = y._data if hasattr(y, "_data") else y
            if ya.dtype.kind in "fc" and np.isnan(ya):
                xa = x._data if hasattr(x, "_data") else x
                hit = np.isnan(xa)
                return hit, xp.sum(xp.astype(hit, x.dtype), axis=self.axes, keepdims=True)
        hit = x == _restore(xp, y, self.axes, self.keepdim, x.ndim)
        # in x's dtype: 1/3 for a three-way tie is float64's 1/3
        return hit, xp.sum(xp.astype(hit, x.dtype), axis=self.axes, keepdims=True)

    def _weights(self, xp, x, y):
        hit, count = self._ties(xp, x, y, nan=False)
        return xp.astype(hit, x.dtype) / count

    def vjp(self, xp, g, x, y):
        hit, count = self._ties(xp, x, y)
        gk = _restore(xp, g, self.axes, self.keepdim, x.ndim)
        return ((xp.masked(gk, hit) if self.exact else gk * hit) / count,)

    def jvp(self, xp, t, x, y):
        return xp.sum(t[0] * self._weights(xp, x, y), axis=_neg(self.axes, x.ndim), keepdims=self.keepdim)


class LogSumExp(Op):
    """log sum exp(x) = m + log sum exp(x - m), m = max x: never overflows.

    d/dx = softmax(x). A row of all -inf gives -inf with gradient 0 (PyTorch
    gives NaN there; a fully masked row should not poison the gradient).

    ``axes``: the (non-negative) axes reduced, None for all; ``keepdim``: keep them as size 1.
    """
    __slots__ = ("axes", "keepdim")
    batched = True
    uses_output = True

    def __init__(self, axes, keepdim):
        self.axes = axes
        self.keepdim = keepdim

    def forward(self, x):
        if x.dtype == _F16:  # the sum of exponentials in float32, rounded once
            return self.forward(x.astype(_F32)).astype(_F16)
        m = _max_reduce(x, self.axes, True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        m = np.where(np.isfinite(m), m, 0)
        with quiet():
            s = np.log(_sum_along(np.exp(x - m), self.axes, True)) + m
        return s if self.keepdim else np.squeeze(s, axis=self.axes)

    def _softmax(self, xp, x, y):
        yk = _restore(xp, y, self.axes, self.keepdim, x.ndim)
        with quiet():
            return xp.where(yk == -np.inf, 0.0, xp.exp(x - yk))

    def vjp(self, xp, g, x, y):
        return (_restore(xp, g, self.axes, self.keepdim, x.ndim) * self._softmax(xp, x, y),)

    def jvp(self, xp, t, x, y):
        return xp.sum(t[0] * self._softmax(xp, x, y), axis=_neg(self.axes, x.ndim), keepdims=self.keepdim)


def _ax(axis, x):
    """The softmax axis from the end; () for a 0-d input (softmax of a scalar is 1)."""
    return () if axis is None else axis - x.ndim


_SHIFT_MIN_SIZE = 4096
_SHIFT_ROW_FLOOR = float(np.exp(-10.0))


def softmax_one_shift(x, mask=None):
    """softmax(x + mask) over the last axis of a C-contiguous float32 ``x``, every row shifted
    by the maximum c of the whole array instead of its own: ``(out, redo)``, ``out`` a pooled
    array and ``redo`` the flat indices of the rows (of ``x.reshape(-1, n)``) still to be done
    by their own maximum; None when the input does not qualify (float64 keeps the exact path,
    small inputs gain nothing). ``mask``: None or an additive (L, S) mask (attention's causal
    one), folded into the shift's pass.

    softmax(x) = exp(x - c) / sum exp(x - c) for any c. NumPy's max over rows of 64 costs as
    much as the exp, sub and gemv passes together (0.25 ms for (16, 4, 64, 64) here, the
    whole-array max 0.015 ms), so the row max is taken only where needed: a row whose sum is
    >= e^-10 (its max within ~14 of the global one) has no entry that matters underflowing, and
    the rounding of x - c stays within a few ulp of the per-row form. The other rows (far under
    the global max, all -inf, holding inf or NaN) are left to the caller, whose rule for a row
    with no finite entry differs (softmax: NaN, as torch; attention: 0). In training a few rows
    of an attention map drift so far (1-2% of W9's after some dozens of Adam steps); redoing
    only them keeps the fast path for the rest."""
    if x.dtype != _F32 or x.size < _SHIFT_MIN_SIZE or not x.flags.c_contiguous:
        return None
    c = x.max()
    if not np.isfinite(c):
        return None
    out = _take(x.shape, x.dtype)
    if mask is None:
        np.subtract(x, c, out=out)
    else:
        np.add(x, mask - c, out=out)   # mask - c: (L, S), small
    np.exp(out, out=out)
    z = out @ np.ones(x.shape[-1], x.dtype)
    bad = ~(z >= _SHIFT_ROW_FLOOR)
    redo = np.flatnonzero(bad)
    if redo.size:
        z[bad] = 1.0
    np.divide(1, z, out=z)   # (np.reciprocal has no SIMD loop for float32 here)
    out *= z[..., None]
    return out, redo


def _softmax_rows(x, out):
    """softmax over the last axis, each row shifted by its own maximum, into ``out`` (which may
    be ``x``); the row sums a matrix-vector product, 6x faster than sum(axis=-1) over rows of 64."""
    np.subtract(x, x.max(axis=-1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= (out @ np.ones(x.shape[-1], x.dtype))[..., None]
    return out


class Softmax(Op):
    """softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m); vjp: y * (g - sum(g * y)).

    Its Jacobian is diag(y) - y y^T. Classification outputs and attention weights.

    ``axis``: the (non-negative) axis normalised over, None for a 0-d input.
    """
    __slots__ = ("axis",)
    batched = True
    uses_inputs, uses_output = False, True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        if x.size == 0:
            return x.copy()
        if x.dtype == _F16:  # computed in float32, rounded once (torch)
            return self.forward(x.astype(_F32)).astype(_F16)
        with quiet():
            if self.axis == x.ndim - 1 and x.dtype.kind == "f" and x.flags.c_contiguous:
                # the last axis (attention rows, class logits): one pooled output written in
                # place by each pass (x - max, exp, / sum), and the row sums as a matrix-vector
                # product, 6x faster than sum(axis=-1) over rows of 64 here
                shifted = softmax_one_shift(x)
                if shifted is None:
                    return _softmax_rows(x, _take(x.shape, x.dtype))
                e, redo = shifted
                if redo.size:
                    n = x.shape[-1]
                    rows = x.reshape(-1, n)[redo]
                    e.reshape(-1, n)[redo] = _softmax_rows(rows, rows)
                return e
            e = np.exp(x - _max_reduce(x, self.axis, True))
            return e / _sum_along(e, self.axis, True)

    def vjp(self, xp, g, x, y):
        return (self._apply(xp, g, x, y),)

    def jvp(self, xp, t, x, y):
        return self._apply(xp, t[0], x, y)

    def _apply(self, xp, g, x, y):
        """y * (g - <g, y>): the Jacobian diag(y) - y y^T is symmetric, so vjp and jvp agree."""
        if y.dtype == _F16:  # in float32, as torch: g - <g, y> cancels, and float16 would lose it
            return xp.astype(self._apply(xp, xp.astype(g, _F32), x, xp.astype(y, _F32)), _F16)
        ax = _ax(self.axis, x)
        if ax == -1 and isinstance(g, np.ndarray) and g.size > 4096:
            # fused on arrays: one temporary instead of three (the 256 x 256 batch of a jacobian)
            out = _take(g.shape, g.dtype) if g.shape == y.shape and g.dtype == y.dtype else None
            r = np.subtract(g, np.einsum("...i,...i->...", g, y)[..., None], out=out)
            r *= y
            return r
        return y * (g - xp.sum(g * y, axis=ax, keepdims=True))


class LogSoftmax(Op):
    """log softmax(x) = x - logsumexp(x); vjp: g - softmax(x) * sum(g). The stable half of cross-entropy.

    ``axis``: the (non-negative) axis normalised over, None for a 0-d input."""
    __slots__ = ("axis",)
    batched = True
    uses_inputs, uses_output = False, True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        if x.size == 0:
            return x.copy()
        if x.ndim == 0:
            with quiet():
                return x - x  # log softmax of one number: 0, or NaN for inf and NaN as torch
        if x.dtype == _F16:  # computed in float32, rounded once (torch)
            return self.forward(x.astype(_F32)).astype(_F16)
        with quiet():
            z = x - _max_reduce(x, self.axis, True)
            lse = _sum_along(np.exp(z), self.axis, True)
            np.log(lse, out=lse)
            z -= lse  # z and lse are ours: in place, one temporary fewer
            return z

    def vjp(self, xp, g, x, y):
        if y.dtype == _F16:  # in float32, as torch
            return (xp.astype(self.vjp(xp, xp.astype(g, _F32), x, xp.astype(y, _F32))[0], _F16),)
        return (g - xp.exp(y) * xp.sum(g, axis=_ax(self.axis, x), keepdims=True),)

    def jvp(self, xp, t, x, y):
        return t[0] - xp.sum(xp.exp(y) * t[0], axis=_ax(self.axis, x), keepdims=True)


class Var(Op):
    """Variance over axes, sum (x - mean)^2 / (n - correction), with torch's derivative
    2 / (n - correction) * (x - mean(x)), one node instead of five.

    Forward as torch: a reduction to one number is the two-pass sum of squared deviations
    from the mean; any other reduction (and var_mean, and float16) is torch's Welford
    update, whose constant rows have a variance of exactly 0 (so std's derivative there is 0).
    Shifting by the first element before the two passes (``shift``) gives the same exact 0.

    When n - correction <= 0, torch's derivative is g * (inf where x != mean, else NaN) for a
    reduction without ``dim`` (``whole``), and g * 2 / (n - correction) * (x - mean) with one.

    ``axes``: the (non-negative) axes reduced, None for all; ``keepdim``: keep them as size 1;
    ``correction``: subtracted from ``n``, the number of elements reduced.
    """
    __slots__ = ("axes", "keepdim", "correction", "n", "shift", "whole")
    batched = True

    def __init__(self, axes, keepdim, correction, n, shift, whole):
        self.axes = axes
        self.keepdim = keepdim
        self.correction = correction
        self.n = n
        self.shift = shift
        self.whole = whole

    def forward(self, x):
        half = x.dtype == _F16
        if half:  # torch accumulates float16 in float32
            x = x.astype(_F32)
        axes, n = self.axes, self.n
        with quiet():
            if self.shift and x.size:
                x = x - x[tuple(slice(0, 1) if a in axes else slice(None) for a in range(x.ndim))]
            d = x - _add_reduce(x, axis=axes, keepdims=True) / (n if n else np.nan)
            v = _add_reduce(d * d, axis=axes, keepdims=self.keepdim) / builtins.max(n - self.correction, 0)
        return np.asarray(v).astype(_F16) if half else v

    def _factor(self, xp, x):
        """(2 / dof, x - mean(x)), or (None, torch's inf/NaN pattern) for a whole reduction with
        dof <= 0."""
        m = xp.mean(x, axis=_neg(self.axes, x.ndim), keepdims=True)
        dof = self.n - self.correction
        if dof > 0:
            return 2.0 / dof, x - m
        with quiet():
            if self.whole == "all":   # var(x): torch's +inf, or NaN where x is the mean, a constant
                return None, xp.where(x == m, np.nan, np.inf)
            if self.whole:
                # a 0-d x with a dim: the same values, but torch's depend on x, so a second
                # derivative through them is NaN too: |x - m| * inf, not a constant
                return None, xp.abs(x - m) * np.inf
            return (2.0 / dof if dof else np.inf), x - m

    def vjp(self, xp, g, x, y):
        gk = _restore(xp, g, self.axes, self.keepdim, x.ndim)
        c, d = self._factor(xp, x)
        with quiet():
            return ((gk * d) if c is None else (gk * c) * d,)

    def jvp(self, xp, t, x, y):
        c, d = self._factor(xp, x)
        with quiet():
            local = d if c is None else c * d
            return xp.sum(t[0] * local, axis=_neg(self.axes, x.ndim), keepdims=self.keepdim)


class Cumsum(Op):
    """Running sum along an axis; the vjp is the running sum from the other end.

    ``axis``: the (non-negative) axis summed along."""
    __slots__ = ("axis",)
    batched = True
    uses_inputs = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        if x.dtype == _F16:  # running sums in float32, each rounded once (torch)
            return np.cumsum(x, axis=self.axis, dtype=_F32).astype(_F16)
        return np.cumsum(x, axis=self.axis)

    @staticmethod
    def _cumsum(xp, g, axis):
        if g.dtype == _F16:
            return xp.astype(xp.cumsum(xp.astype(g, _F32), axis=axis), _F16)
        return xp.cumsum(g, axis=axis)

    def vjp(self, xp, g, x, y):
        ax = self.axis - x.ndim
        return (xp.flip(self._cumsum(xp, xp.flip(g, ax), ax), ax),)

    def jvp(self, xp, t, x, y):
        return self._cumsum(xp, t[0], self.axis - x.ndim)


# --- functional wrappers ----------------------------------------------------
def _dim_arg(dim, axis):
    dim = axis if dim is None else dim
    # torch's sum/mean/var/std read an empty dim list as "every dim"
    return None if isinstance(dim, (tuple, list)) and not dim else dim


@public
def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None):
    """Sum of elements over ``dim`` (all by default). Bools and ints sum as int64, as torch."""
    x = to_tensor(input, "sum")
    dim = _dim_arg(dim, axis)
    axes = normalize_dims(dim, x.ndim, "sum")
    kind = x._data.dtype.kind
    acc = _dtype.to_dtype(dtype) if dtype is not None else (np.int64 if kind in "iub" else None)
    out_dtype = None
    if (x._data.dtype is _F16 and dtype is None) or acc == _F16:
        acc, out_dtype = _F32, _F16  # accumulated in float32, rounded once (torch)
    return apply(Sum(axes, keepdim, acc, out_dtype), x)


@public
def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None):
    x = to_tensor(input, "mean")
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {_dtype.dtype_name(x.dtype)}")
    axes = normalize_dims(_dim_arg(dim, axis), x.ndim, "mean")
    n = 1
    for a in axes:
        n *= x.shape[a]
    return apply(Mean(axes, keepdim, n), x)


def _variance(input, dim, unbiased, keepdim, correction, axis, opname, welford, sqrt=False):
    """var/std (``sqrt``) as torch: see Var for the algorithm and the derivative."""
    x = to_tensor(input, opname)
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"{opname}(): std and var only support floating point and complex dtypes, "
                           f"got {_dtype.dtype_name(x.dtype)}")
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if unbiased is not None:
        correction = 1 if unbiased else 0
    dim = _dim_arg(dim, axis)
    f16 = x._data.dtype is _F16
    half = f16 and sqrt
    if half:  # sqrt of the float32 variance, rounded once (torch): a float16 variance may overflow
        x = cast(x, np.dtype(_F32))
    axes = normalize_dims(dim, x.ndim, opname)
    n = 1
    for a in axes:
        n *= x.shape[a]
    shift = welford or f16 or n != x._data.size
    v = apply(Var(axes, keepdim, correction, n, shift, "all" if dim is None else x.ndim == 0), x)
    if sqrt:
        v = apply(StdSqrt(), v)
    return cast(v, np.dtype(_F16)) if half else v


@public
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=1, axis=None):
    """Variance with Bessel's correction by default: sum (x - mean)^2 / (n - correction).

    Also PyTorch's older positional form ``var(dim, unbiased, keepdim)`` and ``var(unbiased)``.
    """
    return _variance(input, dim, unbiased, keepdim, correction, axis, "var", False)


class StdSqrt(Sqrt):
    """sqrt of a variance, with PyTorch's std derivative: 0 where the std is 0
    (a constant input), where plain sqrt's 1/(2 sqrt(v)) would give 0 * inf = NaN."""
    __slots__ = ()

    def vjp(self, xp, g, x, y):
        with quiet():
            return (xp.where(y == 0, 0, g / (2 * y)),)


@public
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=1, axis=None):
    return _variance(input, dim, unbiased, keepdim, correction, axis, "std", False, sqrt=True)


@public(method=False)
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=1):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return (_variance(input, dim, unbiased, keepdim, correction, None, "var_mean", True),
            mean(input, dim, keepdim=keepdim))


@public(method=False)
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=1):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return (_variance(input, dim, unbiased, keepdim, correction, None, "std_mean", True, sqrt=True),
            mean(input, dim, keepdim=keepdim))


@public
def prod(input, dim=None, keepdim=False, *, dtype=None, axis=None):
    x = to_tensor(input, "prod")
    dim = _dim_arg(dim, axis)
    if dtype is not None:
        x = x.to(dtype)
    elif x._data.dtype.kind in "ub":
        x = x.to(np.int64)
    ax = None if dim is None else normalize_dim(dim, x.ndim, "prod")
    if x.ndim == 0:
        ax = None  # the product of one number, whatever the (valid) dim
    return apply(Prod(ax, keepdim), x)


def _check_empty(x, axes, opname, error=RuntimeError):
    """max/min/argmax of an empty tensor: an error without a dim or when a reduced dim
    has size 0; reducing a non-empty dim of an empty tensor gives an empty result (torch)."""
    if axes is None:
        raise error(f"{opname}(): Expected reduction dim to be specified for input.numel() == 0. "
                    "Specify the reduction dim with the 'dim' argument.")
    for a in axes:
        if x.shape[a] == 0:
            raise IndexError(f"{opname}(): Expected reduction dim {a} to have non-zero size.")


MinMax = namedtuple("MinMax", ["values", "indices"])
MinMax.__module__ = "dlmath"


def _max_min(x, dim, keepdim, opname, along, whole):
    x = to_tensor(x, opname)
    if isinstance(dim, Tensor):
        from .elementwise import maximum, minimum
        return (maximum if opname == "max" else minimum)(x, dim)
    if x._data.size == 0:
        _check_empty(x, None if dim is None else (normalize_dim(dim, x.ndim, opname),), opname)
    if dim is None:
        return apply(Extreme(tuple(range(x.ndim)), False, whole, True), x)
    ax = normalize_dim(dim, x.ndim, opname)
    if x.ndim == 0:  # a new tensor (not x itself), as torch
        return MinMax(x.clone(), make_tensor(np.zeros((), np.int64)))
    values, idx = apply(MaxAlong(ax, keepdim, along), x)
    return MinMax(values, idx)


@public
def max(input, dim=None, keepdim=False, *, axis=None):
    """max(); with ``dim``, (values, indices). With a tensor as second argument, elementwise maximum."""
    return _max_min(input, _dim_arg(dim, axis), keepdim, "max", np.argmax, np.max)


@public
def min(input, dim=None, keepdim=False, *, axis=None):
    return _max_min(input, _dim_arg(dim, axis), keepdim, "min", np.argmin, np.min)


def _extreme(input, dim, keepdim, pick, opname):
    x = to_tensor(input, opname)
    axes = normalize_dims(dim, x.ndim, opname)
    if x._data.size == 0:
        _check_empty(x, None if dim is None else axes, opname)
    return apply(Extreme(axes, keepdim, pick, False), x)


@public
def amax(input, dim=(), keepdim=False, *, axis=None):
    dim = axis if dim == () and axis is not None else dim
    return _extreme(input, None if dim == () else dim, keepdim, np.max, "amax")


@public
def amin(input, dim=(), keepdim=False, *, axis=None):
    dim = axis if dim == () and axis is not None else dim
    return _extreme(input, None if dim == () else dim, keepdim, np.min, "amin")


def _arg(input, dim, keepdim, fn, opname):
    x = to_tensor(input, opname)
    if x._data.dtype.kind == "b":
        raise RuntimeError(f"{opname}(): does not support bool input")
    if x._data.size == 0:
        _check_empty(x, None if dim is None else (normalize_dim(dim, x.ndim, opname),), opname,
                     IndexError)
    if dim is None:
        out = fn(x._data.reshape(-1))
        if keepdim:
            out = np.reshape(out, (1,) * x.ndim)
        return make_tensor(np.asarray(out, dtype=np.int64))
    axis = normalize_dim(dim, x.ndim, opname)
    if x.ndim == 0:
        return make_tensor(np.zeros((), np.int64))
    return make_tensor(fn(x._data, axis=axis, keepdims=keepdim).astype(np.int64))


@public
def argmax(input, dim=None, keepdim=False, *, axis=None):
    return _arg(input, _dim_arg(dim, axis), keepdim, np.argmax, "argmax")


@public
def argmin(input, dim=None, keepdim=False, *, axis=None):
    return _arg(input, _dim_arg(dim, axis), keepdim, np.argmin, "argmin")


@public
def logsumexp(input, dim=None, keepdim=False, *, axis=None):
    """log(sum(exp(x))) computed stably; the smooth maximum behind softmax and cross-entropy."""
    x = as_float(to_tensor(input, "logsumexp"))
    dim = _dim_arg(dim, axis)
    return apply(LogSumExp(normalize_dims(dim, x.ndim, "logsumexp"), keepdim), x)


def _softmax_like(cls, input, dim, dtype, opname):
    x = to_tensor(input, opname)
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind not in "fc":  # torch: no integer kernel (give dtype= to convert)
        raise NotImplementedError(f"{opname}: not implemented for {_dtype.dtype_name(x.dtype)} tensors; "
                                  f"pass dtype= (a floating dtype) or convert the input first")
    if dim is None:
        # torch's legacy implicit choice: dim 0 for 0-, 1- and 3-d input, else 1
        dim = 0 if x.ndim in (0, 1, 3) else 1
    axis = normalize_dim(dim, x.ndim, opname)  # checked for 0-d input too (0 and -1 only)
    return apply(cls(axis if x.ndim else None), x)


@public
def softmax(input, dim=None, dtype=None, *, axis=None):
    """Probabilities from logits along ``dim`` (subtracting the max first, so 1e4 logits are fine)."""
    return _softmax_like(Softmax, input, _dim_arg(dim, axis), dtype, "softmax")


@public
def log_softmax(input, dim=None, dtype=None, *, axis=None):
    """Log-probabilities from logits: x - logsumexp(x), stable at any scale."""
    return _softmax_like(LogSoftmax, input, _dim_arg(dim, axis), dtype, "log_softmax")


@public
def cumsum(input, dim=None, *, dtype=None, axis=None):
    dim = _dim_arg(dim, axis)
    if dim is None:
        raise TypeError("cumsum() missing 1 required positional argument: 'dim'")
    x = to_tensor(input, "cumsum")
    if dtype is not None:
        x = x.to(dtype)
    elif x._data.dtype.kind in "ub" or x._data.dtype.kind == "i":
        x = x.to(np.int64)
    ax = normalize_dim(dim, x.ndim, "cumsum")
    if x.ndim == 0:  # a new tensor, never the input itself (writing one must not write the other)
        return x.clone()
    return apply(Cumsum(ax), x)
