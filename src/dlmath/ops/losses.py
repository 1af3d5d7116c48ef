"""The fused primitives of dm.nn.functional, and why each is fused.

Everything else in dm.nn.functional is composed from the core primitives.
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import Op, apply
from ._util import quiet
from .matmul import _ones

_add_reduce = np.add.reduce
_ascontiguous = np.ascontiguousarray
# the class counts up to which SoftmaxCrossEntropy reduces its 2-D rows by a transposed copy
# and a BLAS product (for more classes NumPy's own row reductions are as fast)
_FEW = 64


class Softplus(Op):
    """softplus(z) = log(1 + e^z) = max(z, 0) + log1p(e^-|z|); d/dz = sigmoid(z) = -expm1(-softplus(z)).

    The smooth ReLU, and the loss of a logit: -log sigmoid(z) = softplus(-z).
    Behind logsigmoid (-softplus(-x)), F.softplus and BCE with logits. Fused
    because the composite max(z, 0) + log1p(exp(-|z|)) has the kinks of max
    and |z| at 0: they cancel in the first derivative (max splits its slope
    at ties) but not in the second, which would come out 0 instead of
    sigmoid'(0) = 1/4 at z = 0 exactly (zero-initialised logits).

    The slope is written in the output y alone: 1 - sigmoid(z) = sigmoid(-z)
    = e^-y, so sigmoid(z) = 1 - e^-y = -expm1(-y). That is
    * finite at z = +-inf (y = inf gives 1, y = 0 gives 0), where the
      equivalent exp(z - y) is exp(inf - inf) = NaN;
    * accurate in both tails: for z << 0, y ~ e^z is tiny and expm1 keeps
      its relative precision; for z >> 0 it is 1 - e^-z, no cancellation;
    * smooth and written in xp operations, so it differentiates again, to
      every order: d/dz (-expm1(-y)) = e^-y sigmoid = sigmoid (1 - sigmoid).
    """
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, z):
        with quiet():
            return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))

    def _slope(self, xp, y):
        return -xp.expm1(-y)

    def vjp(self, xp, g, z, y):
        return (g * self._slope(xp, y),)

    def jvp(self, xp, t, z, y):
        return t[0] * self._slope(xp, y)


def softplus(z):
    """The primitive on a floating Tensor (callers check dtypes)."""
    return apply(Softplus(), z)


class BinaryCrossEntropy(Op):
    """-(t log x + (1 - t) log(1 - x)) elementwise, each log clamped at -100 (PyTorch's rule).

    Fused because the composite cannot be differentiated at x = 0 or 1: the
    clamp's zero slope meets d log(x)/dx = 1/0, and 0 * inf = NaN. Here
    d/dx = (x - t) / max(x (1 - x), 1e-12), PyTorch's formula, finite
    everywhere; d/dt = log(1 - x) - log(x). For logits, use
    ``binary_cross_entropy_with_logits``, which needs no clamping at all.
    """
    __slots__ = ()

    def forward(self, x, t):
        with quiet():
            return -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log1p(-x), -100))

    def _dx(self, xp, x, t):
        return (x - t) / xp.maximum(x * (1 - x), 1e-12)

    def _dt(self, xp, x):
        with quiet():
            return xp.log1p(-x) - xp.log(x)

    def vjp(self, xp, g, x, t, y):
        return (g * self._dx(xp, x, t) if self.needs[0] else None,
                g * self._dt(xp, x) if self.needs[1] else None)

    def jvp(self, xp, tangents, x, t, y):
        tx, tt = tangents
        out = None if tx is None else tx * self._dx(xp, x, t)
        if tt is not None:
            d = tt * self._dt(xp, x)
            out = d if out is None else out + d
        return out


class SoftmaxCrossEntropy(Op):
    """-log softmax(x)[target] along ``axis``: the loss of each entry, for class-index targets.

    The same value as log_softmax + gather, and the gradient is the textbook
    one, g (softmax(x) - onehot(target)). Fused for speed, the loss every
    classifier trains on: one exp pass forward (log_softmax + gather needs a
    second one in its backward), and a backward of one multiply plus a
    scatter of N values instead of a dense zero tensor, a scatter-add and
    three more passes (about 2x faster for (256, 1000) logits). When
    recording (``create_graph``) the vjp recomputes softmax(x) with
    differentiable ops, so Hessians of the loss still work. ``axis`` is the
    (non-negative) class axis, ``index`` the integer-array index of the target
    entries (ignored targets replaced by a valid class; the caller masks them).
    (``e`` and ``s``, the exponentials and their sums, are kept by forward.)

    ``count``: None for the loss of each entry; n to return their mean instead (cross_entropy's
    default reduction with nothing ignored or weighted): the same numbers as ``.mean()`` of the
    entries, one node fewer (~10 us of a small training step, forward and backward).
    """
    __slots__ = ("axis", "index", "e", "s", "count")

    def __init__(self, axis, index, count=None):
        self.axis = axis
        self.index = index
        self.count = count

    def forward(self, x):
        if x.ndim == 2 and self.axis == 1 and x.shape[1] <= _FEW and x.dtype.char in "fd":
            # few classes (W8's 10): NumPy reduces a short last axis row by row (max of (128, 10)
            # float32 ~6.7 us); over the transposed copy's first axis it is one vectorised pass
            # (~2.2 us with the copy). The same maxima, exactly
            m = _ascontiguous(x.T).max(axis=0).reshape(x.shape[0], 1)
        else:
            m = x.max(axis=self.axis, keepdims=True)
        if not np.isfinite(m).all():
            # a row of -inf (fully masked), +inf or NaN: x - m warns there (inf - inf); only then
            # is the error state changed (np.errstate costs ~3 us, the rest of a small loss ~15)
            with quiet():
                return self._forward(x, m)
        # finite row maxima: z <= 0 with a 0 in each row, so exp, the sums (>= 1) and log are quiet
        return self._forward(x, m)

    def _forward(self, x, m):
        ax = self.axis
        z = x - m
        e = np.exp(z)
        if m.shape[0] == e.shape[0] and e.ndim == 2 and ax == 1 and e.shape[1] <= _FEW:
            # (as the max above: the row sums as one BLAS matrix-vector product, ~1.1 vs ~3.5 us)
            s = (e @ _ones(e.shape[1], e.dtype)).reshape(e.shape[0], 1)
        else:
            s = e.sum(axis=ax, keepdims=True)
        self.e, self.s = e, s
        loss = np.log(s).squeeze(ax) - z[self.index]
        if self.count is None:
            return loss
        # as Mean's forward: one add.reduce over the entries' axes, then / n
        return _add_reduce(loss, axis=tuple(range(loss.ndim)), keepdims=False) / self.count

    def _softmax(self, x):
        if isinstance(x, np.ndarray):
            with quiet():
                return self.e / self.s
        from ..ops.reduction import softmax
        return softmax(x, self.axis)

    def vjp(self, xp, g, x, y):
        count = self.count
        if isinstance(x, np.ndarray):
            # softmax = e / s never warns (s >= 1, or NaN from a non-finite row); the class axis
            # put back by a reshape (np.expand_dims is a Python function of ~3 us)
            gx = self.e / self.s
            if count is not None:
                # the mean's cotangent, g / n for every entry (as Mean's vjp computes it), as a
                # scalar: the same products as with the entries' vector
                g = g * (1.0 / count)
                gx *= g
                gx[self.index] -= g
                return (gx,)
            ax, sh = self.axis, g.shape
            gx *= g.reshape(sh[:ax] + (1,) + sh[ax:])
            gx[self.index] -= g
            return (gx,)
        if count is not None:
            g = xp.broadcast_to(g * (1.0 / count), self._entries_shape(x))
        gk = xp.expand_dims(g, self.axis)
        onehot = np.zeros(x.shape, dtype=x.dtype)
        onehot[self.index] = 1
        return (gk * (self._softmax(x) - onehot),)

    def jvp(self, xp, t, x, y):
        tx = t[0]
        out = xp.sum(self._softmax(x) * tx, axis=self.axis) - tx[self.index]
        if self.count is None:
            return out
        return xp.mean(out, axis=tuple(range(out.ndim - len(self._entries_shape(x)), out.ndim)))

    def _entries_shape(self, x):
        """The shape of the per-entry losses: x's without the class axis."""
        sh = tuple(x.shape)
        return sh[:self.axis] + sh[self.axis + 1:]


def softmax_cross_entropy(x, target, axis, mean=False):
    """Per-entry cross-entropy of logits ``x`` (classes along ``axis``) and int64 ``target``
    (the shape of x without ``axis``); with ``mean``, their mean (a non-empty target)."""
    if target.ndim == 1 and axis == 1:
        index = (np.arange(target.shape[0]), target)
    else:
        grid = list(np.ogrid[tuple(slice(0, n) for n in target.shape)])
        index = tuple(grid[:axis] + [target] + grid[axis:])
    return apply(SoftmaxCrossEntropy(axis, index, target.size if mean else None), x)


def binary_cross_entropy_probs(p, t):
    """-(t log p + (1 - t) log(1 - p)) elementwise, for probabilities p (the fused rule above)."""
    return apply(BinaryCrossEntropy(), p, t)

