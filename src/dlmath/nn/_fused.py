"""Fused forms of dm.nn.functional's hot ops, as ``dm.autograd.Function`` subclasses.

Each is the public way to write a fused op outside the core:

* ``forward`` runs under no_grad on the inputs' arrays (``t.numpy(force=True)``, which
  shares memory) with one pass of NumPy operations and the fewest temporaries, and keeps
  on ``ctx`` the intermediate arrays its backward needs;
* ``backward`` has two paths. On the plain pass (grad mode off inside backward) it works
  on arrays, for speed. When the backward is recorded (``create_graph=True``, grad mode on
  inside backward) it recomputes its intermediates from the saved inputs with dlmath
  Tensor ops, so the gradient is itself differentiable: Hessians and gradient penalties
  work;
* ``jvp`` gives forward mode (``dm.func.jvp``, ``jacfwd``), written in Tensor ops.

The composed forms in ``functional.py`` (``_linear_composed``, ``_layer_norm_composed``,
``_attention_composed``) stay: they are the reference the tests compare these against,
and what the functions fall back to where a fused form does not apply (attention with
dropout). Each class says, in a comment, what fusing measured against the composed form.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..ops._pool import take as _take
from ..ops.reduction import softmax_one_shift


_DM = None


def _dm():
    """The dlmath package (imported on first use: the package imports this module)."""
    global _DM
    if _DM is None:
        import dlmath
        _DM = dlmath
    return _DM


def _arr(t):
    """The array behind a tensor (shared memory, no copy). ``numpy(force=True)``, torch's way
    to read a tensor that requires grad, rather than ``detach().numpy()``: no alias tensor is
    made for a read (a fused layer reads 3-6 arrays a call)."""
    return t.numpy(force=True)


def _from_numpy(a):
    """``dm.from_numpy`` (bound on first use: the package imports this module)."""
    return _dm().from_numpy(a)


_ONES = {}


def _ones(n, dtype):
    """A read-only vector of n ones (kept: the row sums of a bias gradient, every step)."""
    key = (n, dtype)
    v = _ONES.get(key)
    if v is None:
        if len(_ONES) > 64:
            _ONES.clear()
        v = np.ones(n, dtype)
        v.flags.writeable = False
        v = _ONES[key] = v
    return v


def _ger_table():
    from scipy.linalg import blas
    return {"f": blas.sger, "d": blas.dger}


_GER = {}


def _add_outer(a, u, v, alpha):
    """a += alpha * outer(u, v), in place, for a C-contiguous 2-D float array ``a``.

    One BLAS rank-1 update (ger) on ``a.T`` (Fortran-ordered, so BLAS writes into ``a``
    itself). It adds a bias to every row (u = ones) or a number to each row (v = ones) at
    about twice the speed of NumPy's broadcast ``a += b``, whose inner loop is one short row
    (measured 33 vs 59 us at (1024, 384), 11 vs 22 us at (1024, 128) float32 here)."""
    if not _GER:
        _GER.update(_ger_table())
    ger = _GER.get(a.dtype.char)
    if (ger is None or not a.flags.c_contiguous or not a.flags.writeable or a.size == 0
            or u.dtype != a.dtype or v.dtype != a.dtype):
        a += alpha * np.multiply.outer(u, v) if alpha != 1 else np.multiply.outer(u, v)
        return a
    r = ger(alpha, v, u, a=a.T, overwrite_a=True)
    if not np.shares_memory(r, a):   # (never expected: f2py copied instead of writing in place)
        a[...] = r.T
    return a


def _add_rows(a, b):
    """a += b for every row of the 2-D array ``a`` (a bias), in place (see ``_add_outer``)."""
    b = b.reshape(-1)
    if b.dtype != a.dtype or b.shape[0] != a.shape[1]:
        a += b
        return a
    return _add_outer(a, _ones(a.shape[0], a.dtype), np.ascontiguousarray(b), 1.0)


def _array_path(ctx):
    """Whether backward may run on arrays: not when recorded (``create_graph``: grad mode is on
    inside backward), and not when a forward-mode level saw this op (``hessian``, ``hvp``:
    forward over reverse runs backward with grad mode off, but its Tensor ops must carry the
    tangents). The jvp rules below set ``ctx.forward_mode``: dlmath's public API does not say
    whether a level is open, so a level seen at forward time stands in for it."""
    return not (_dm().is_grad_enabled() or getattr(ctx, "forward_mode", False))


def _mm(a, b):
    """a @ b for stacks of matrices (both at least 2-D), into a pooled buffer."""
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    return np.matmul(a, b, out=_take(shape, np.result_type(a, b)))


def _sum_to(a, shape):
    """Sum a broadcast array (or Tensor) back to ``shape``."""
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and a.shape[i + lead] != 1)
    if not axes:
        return a
    if isinstance(a, np.ndarray):
        return a.sum(axis=axes, keepdims=True).reshape(shape)
    return a.sum(axes, keepdim=True).reshape(shape)


# --------------------------------------------------------------------------------------- linear ----
class LinearFunction(Function):
    """y = x W^T + b, the product and the bias in one output buffer.

    Forward: the batch dims folded into one (rows, in) @ (in, out) BLAS product (NumPy runs a
    3-D @ 2-D product as a loop of small ones, 1.3x-1.5x slower), written into a pooled
    buffer, the bias added in place. Backward: dx = g W, dW = g^T x over the flattened batch
    (one matmul, whatever the number of batch dims: the composed form's dW is a stack of
    per-sample products summed afterwards), db = g summed over the batch.
    """
    # Measured (W9's shapes, float32, 1 thread, forward + backward): the composed form runs
    # x @ W^T as 16 products of 64 rows and dW as 16 (512, 64) @ (64, 128) products into a
    # (16, 512, 128) array then summed; folded and pooled, fc1 + fc2 take ~6 ms instead of ~17 ms
    # of a loaded W9 step. (Before folding and pooling this form measured no faster than the
    # composed one: 0.99x at 128x784->512, 0.87x at 128x256->10.)

    @staticmethod
    def forward(ctx, x, weight, bias):
        xa, wa = x.numpy(force=True), weight.numpy(force=True)
        n_out, n_in = wa.shape
        x2 = xa if xa.ndim == 2 else xa.reshape(-1, n_in)
        dt = xa.dtype if xa.dtype is wa.dtype else np.result_type(xa, wa)
        out = _take((x2.shape[0], n_out), dt)
        np.matmul(x2, wa.T, out=out)
        if bias is not None:
            _add_rows(out, bias.numpy(force=True))
        ctx.save_for_backward(x, weight)
        if xa.ndim != 2:
            out = out.reshape(xa.shape[:-1] + (n_out,))
        return _from_numpy(out)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        if _array_path(ctx):
            ga, xa, wa = g.numpy(force=True), x.numpy(force=True), w.numpy(force=True)
            g2 = ga if ga.ndim == 2 else ga.reshape(-1, ga.shape[-1])
            gx = gw = gb = None
            if nx:
                gxa = _take((g2.shape[0], wa.shape[1]), g2.dtype if g2.dtype is wa.dtype else np.result_type(g2, wa))
                np.matmul(g2, wa, out=gxa)
                # (no reshape when x is 2-D: a reshaped view is not the engine's to donate)
                gx = _from_numpy(gxa if xa.ndim == 2 else gxa.reshape(xa.shape))
            if nw:
                x2 = xa if xa.ndim == 2 else xa.reshape(-1, xa.shape[-1])
                gwa = _take(wa.shape, g2.dtype if g2.dtype is x2.dtype else np.result_type(g2, x2))
                gw = _from_numpy(np.matmul(g2.T, x2, out=gwa))
            if nb:   # the column sums as a vector-matrix product: 2.5x faster than sum(0) here
                gb = _from_numpy(_ones(g2.shape[0], g2.dtype) @ g2)
            return gx, gw, gb
        g2 = g.reshape(-1, g.shape[-1])
        gx = g.matmul(w) if nx else None
        gw = g2.mT.matmul(x.reshape(-1, x.shape[-1])) if nw else None
        gb = g2.sum(0) if nb else None
        return gx, gw, gb

    @staticmethod
    def jvp(ctx, tx, tw, tb):
        ctx.forward_mode = True
        x, w = ctx.saved_tensors
        out = None
        for term in (None if tx is None else tx.matmul(w.mT),
                     None if tw is None else x.matmul(tw.mT),
                     tb):
            if term is not None:
                out = term if out is None else out + term
        return out


# ------------------------------------------------------------------------------------ gelu tanh ----
_GELU_C = float(np.sqrt(2.0 / np.pi))
_GELU_A = 0.044715


def _gelu_tanh_parts(x):
    """s = sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3), and du2 = d(2u)/dx, as Tensor ops:
    GELU-tanh is x s, its derivative s + x s (1 - s) du2 (the recorded backward and jvp)."""
    x2 = x * x
    s = ((x + x * x2 * _GELU_A) * (2 * _GELU_C)).sigmoid()
    du2 = x2 * (6 * _GELU_A * _GELU_C) + 2 * _GELU_C
    return s, du2


class GeluTanhFunction(Function):
    """GELU, tanh form: 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3).

    d/dx = s + x s (1 - s) 2u',  s = sigmoid(2u),  2u' = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2).

    Forward: s = 1 / (1 + exp(-2u)) in one pooled buffer (exp overflows to inf for very
    negative x, giving s = 0 exactly, never NaN; the sigmoid form does not cancel as
    1 + tanh(u) does below x ~ -5), y = x s in another; s is kept for backward. Backward:
    the closed form above, in place in one pooled buffer. The composed form (``F.gelu``'s
    reference, ``functional._gelu_tanh_composed``) records 8 ops forward, each a full pass
    with its own output, and runs ``special.expit`` (8x slower than ``np.exp`` on float32 here).
    """
    # Measured ((16, 64, 512) float32, 1 thread, forward + backward): about 1.2 ms against
    # ~6 ms for the composed form on a loaded W9 step; torch's gelu forward + backward: ~2 ms.
    # The constants folded (one pass fewer), np.divide for 1 / s, s (1 + ...) in backward:
    # forward + backward 1.28 -> 1.17 ms (in-process interleaved CPU time, 1.09x, two runs).

    @staticmethod
    def forward(ctx, x):
        xa = _arr(x)
        dt = xa.dtype
        s = _take(xa.shape, dt)
        np.multiply(xa, xa, out=s)
        s *= dt.type(-2.0 * _GELU_C * _GELU_A)
        s += dt.type(-2.0 * _GELU_C)
        s *= xa                               # -2u = -2 sqrt(2/pi) (x + 0.044715 x^3)
        np.exp(s, out=s)
        s += dt.type(1.0)
        # sigmoid(2u); 1 / s by np.divide: np.reciprocal has no SIMD loop here (57 vs 109 us
        # for (16, 64, 512) float32)
        np.divide(dt.type(1.0), s, out=s)
        y = _take(xa.shape, dt)
        np.multiply(xa, s, out=y)
        ctx.s = s
        ctx.save_for_backward(x)
        dm = _dm()
        return dm.from_numpy(y)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        dm = _dm()
        if _array_path(ctx):
            xa, ga, s = _arr(x), _arr(g), ctx.s
            dt = xa.dtype
            d = _take(xa.shape, dt)
            e = _take(xa.shape, dt)
            np.multiply(xa, xa, out=d)
            d *= dt.type(6.0 * _GELU_A * _GELU_C)
            d += dt.type(2.0 * _GELU_C)
            d *= xa                            # x 2u'
            np.subtract(dt.type(1.0), s, out=e)
            d *= e
            d += dt.type(1.0)
            d *= s                             # s (1 + x 2u' (1 - s)): a number added, not s
            d *= ga
            return dm.from_numpy(d)
        s, du2 = _gelu_tanh_parts(x)
        return g * (s + x * s * (1 - s) * du2)

    @staticmethod
    def jvp(ctx, tx):
        ctx.forward_mode = True
        x, = ctx.saved_tensors
        s, du2 = _gelu_tanh_parts(x)
        return tx * (s + x * s * (1 - s) * du2)


# ----------------------------------------------------------------------------------- layer norm ----
def _ln_stats_np(x2, eps):
    """x - mean and 1/std of the rows of a 2-D array (rows: tokens, columns: normalised features).

    The row sums are matrix-vector products (BLAS gemv) and the sum of squares an einsum,
    not ``mean(axis=-1)`` and ``square(d).mean``: measured 8 and 36 us instead of 82 and
    108 us for (1024, 128) float32 here (NumPy's row reductions of short rows are slow).
    """
    n = x2.shape[1]
    d = np.subtract(x2, ((x2 @ _ones(n, x2.dtype)) * x2.dtype.type(1.0 / n))[:, None], out=_take(x2.shape, x2.dtype))
    var = np.einsum("ij,ij->i", d, d) / n
    return d, (1.0 / np.sqrt(var + eps)).astype(x2.dtype, copy=False)


def _row_col_scale(u, v, dtype):
    """The (len(u), len(v)) array u_i v_j, as a BLAS rank-1 update of a zeroed pooled buffer
    (25 us at (1024, 128) float32 here; np.multiply.outer, a broadcast: 40 us). Multiplying
    by it scales the rows by u and the columns by v in one full-array pass, where a
    column broadcast ``a * u[:, None]`` alone costs about as much as two such passes."""
    r = _take((u.shape[0], v.shape[0]), dtype)
    r.fill(0)
    return _add_outer(r, u, v, 1.0)


def _ln_stats(x, axes, eps):
    """xhat and 1/std as differentiable Tensor ops (the recorded backward and jvp)."""
    mean = x.mean(axes, keepdim=True)
    d = x - mean
    rstd = ((d * d).mean(axes, keepdim=True) + eps).rsqrt()
    return d * rstd, rstd


def _ln_dx(gh, xhat, rstd, axes, xp_mean):
    """dx from d(loss)/d(xhat): rstd (gh - mean(gh) - xhat mean(gh xhat)), the projection that
    removes the directions normalisation cancels (a shift and a rescaling of the row)."""
    return (gh - xp_mean(gh) - xhat * xp_mean(gh * xhat)) * rstd


class LayerNormFunction(Function):
    """(x - mean) / sqrt(var + eps) * weight + bias over ``axes``, in one forward pass.

    Forward, over the (tokens, features) view: the mean (a gemv), d = x - mean, var and
    rstd = 1/std computed once; out = d * R + bias with R = rstd w^T (``_row_col_scale``),
    the bias a rank-1 update (``_add_outer``): xhat = d rstd is never written (the composed
    form records 7 ops, each with its own output). d, R and rstd stay on ctx.

    Backward: the closed form dx = rstd (gh - mean(gh) - xhat mean(gh xhat)), gh = g w, as
    dx = g R - (rstd mean(gh)) 1^T - d (rstd^3 mean(gh d)): one full-array product, one
    column broadcast, one rank-1 update; mean(gh) = (g w) / n and mean(gh d) = ((g d) w) / n
    are gemvs, dw = sum_rows(g xhat) = rstd^T (g d) and db = 1^T g too.
    The composed backward runs mean's, sub's, mul's, mean's, add's, rsqrt's, mul's, mul's
    and add's rules one by one.
    """
    # Measured (forward + backward, float32, 1 thread, interleaved minimum of 15 reps, loaded
    # 2-CPU machine): 1.4x-2.1x the composed form at (16, 64, 128) and 1.4x-1.5x at (128, 512);
    # still 0.25x-0.4x torch's single-kernel layer norm (each NumPy pass is a full read and
    # write of the activations). R instead of xhat (the row scaling rides on the weight's
    # product, forward and backward): 400 -> 360 us at (16, 64, 128) (in-process interleaved
    # CPU time, 1.08x-1.14x over 4 runs).

    @staticmethod
    def forward(ctx, x, weight, bias, axes, eps):
        xa = _arr(x)
        n = 1
        for k in xa.shape[xa.ndim - len(axes):]:
            n *= k
        d, rstd = _ln_stats_np(xa.reshape(-1, n), eps)      # tokens x features
        dt = d.dtype
        wv = _arr(weight).reshape(n) if weight is not None else _ones(n, dt)
        r = _row_col_scale(rstd, wv.astype(dt, copy=False), dt)
        out = np.multiply(d, r, out=_take(d.shape, dt))
        if bias is not None:
            _add_rows(out, _arr(bias))
        ctx.d, ctx.r, ctx.rstd, ctx.axes, ctx.eps = d, r, rstd, axes, eps
        ctx.has_weight = weight is not None
        ctx.save_for_backward(x, weight)
        return _from_numpy(out.reshape(xa.shape))

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        axes = ctx.axes
        batch = tuple(range(x.ndim - len(axes)))
        if _array_path(ctx):
            d, r, rstd = ctx.d, ctx.r, ctx.rstd
            n = d.shape[1]
            ga = _arr(g).reshape(-1, n)
            wshape = tuple(x.shape[x.ndim - len(axes):])
            dt = ga.dtype if ga.dtype is d.dtype else np.result_type(ga, d)
            p = gx = gw = gb = None
            if nx or nw:
                p = np.multiply(ga, d, out=_take(d.shape, dt))     # g d
                if nw:                                             # sum_rows(g xhat)
                    gw = _from_numpy((rstd.astype(dt, copy=False) @ p).reshape(wshape))
            if nx:
                inv_n = dt.type(1.0 / n)
                wv = _arr(w).reshape(n) if ctx.has_weight else _ones(n, dt)
                gxa = np.multiply(ga, r, out=_take(d.shape, dt))   # g w rstd
                m1 = (ga @ wv) * inv_n                             # mean(gh)
                m2 = (p @ wv) * inv_n                              # mean(gh d)
                r2 = rstd * rstd
                np.multiply(d, (m2 * (r2 * rstd)).astype(dt, copy=False)[:, None], out=p)
                gxa -= p
                _add_outer(gxa, (m1 * rstd).astype(dt, copy=False), _ones(n, dt), -1.0)
                gx = _from_numpy(gxa.reshape(tuple(x.shape)))
            del p
            if nb:
                gb = _from_numpy((_ones(ga.shape[0], ga.dtype) @ ga).reshape(wshape))
            return gx, gw, gb, None, None
        # recorded (or under forward mode): xhat and rstd again, from x, so that the gradient
        # differentiates in x
        xhat, rstd = _ln_stats(x, axes, ctx.eps)
        gh = g * w if ctx.has_weight else g
        gx = _ln_dx(gh, xhat, rstd, axes, lambda a: a.mean(axes, keepdim=True)) if nx else None
        gw = (g * xhat).sum(batch) if nw else None
        gb = g.sum(batch) if nb else None
        return gx, gw, gb, None, None

    @staticmethod
    def jvp(ctx, tx, tw, tb, t_axes=None, t_eps=None):
        ctx.forward_mode = True
        x, w = ctx.saved_tensors
        axes = ctx.axes
        xhat, rstd = _ln_stats(x, axes, ctx.eps)
        out = None
        if tx is not None:
            th = _ln_dx(tx, xhat, rstd, axes, lambda a: a.mean(axes, keepdim=True))   # d xhat (self-adjoint)
            out = th * w if ctx.has_weight else th
        if tw is not None:
            out = xhat * tw if out is None else out + xhat * tw
        if tb is not None:
            out = tb if out is None else out + tb
        return out


# ------------------------------------------------------------------------------------ attention ----
_CAUSAL = {}


def _causal_mask(L, S, dtype):
    """The causal mask as an additive (L, S) array: 0 where key j <= query i (top-left aligned,
    torch's ``is_causal``), -inf above. Kept read-only per (L, S, dtype): every step of a model
    asks for the same one, and adding it (one pass, the mask's rows broadcast whole) costs less
    than half of writing -inf where a bool mask is False (np.copyto with where=)."""
    key = (L, S, dtype.char)
    m = _CAUSAL.get(key)
    if m is None:
        if len(_CAUSAL) > 32:
            _CAUSAL.clear()
        m = np.zeros((L, S), dtype)
        m[np.triu_indices(L, 1, S)] = -np.inf
        m.flags.writeable = False
        _CAUSAL[key] = m
    return m


def _causal_bool(L, S):
    """The causal mask as a bool Tensor (True takes part), for the Tensor-op paths."""
    return _from_numpy(np.tril(np.ones((L, S), dtype=bool)))


def _softmax_rows_exact(s):
    """softmax over the last axis of s, in place, each row shifted by its own maximum; rows
    with no finite entry become 0. (NumPy's max over rows of 64 costs about 260 us for
    (16, 4, 64, 64) float32 here, as much as the rest of softmax: ``_softmax_np`` avoids it.)"""
    if s.shape[-1] == 0:           # no keys at all: every row is empty (the output is 0)
        return s
    m = s.max(axis=-1, keepdims=True)
    dead = ~np.isfinite(m)
    any_dead = dead.any()
    if any_dead:
        m[dead] = 0.0
    s -= m
    np.exp(s, out=s)
    z = s @ np.ones(s.shape[-1], dtype=s.dtype)
    if any_dead:
        z[dead[..., 0]] = 1.0      # a row of exp(-inf) = 0 stays 0
    s *= (1.0 / z)[..., None]
    return s


def _softmax_np(s, m=None):
    """softmax(s + m) over the last axis; ``m`` None or an additive (L, S) mask (the cached
    causal one). Rows with no finite entry become 0. s may be overwritten.

    float32: one shift for the whole array (``ops.reduction.softmax_one_shift``, the mask
    folded into its pass); the few rows it leaves (their own maximum far under the array's, or
    no finite entry) are done again alone by ``_softmax_rows_exact``. In W9S after a few dozen
    Adam steps ~1-2% of the 4096 rows are such (the shift includes the masked scores), and the
    whole-array per-row softmax this avoids took ~0.3 ms more per call.
    """
    shifted = softmax_one_shift(s, m)
    if shifted is None:
        if m is not None:
            s += m
        return _softmax_rows_exact(s)
    p, redo = shifted
    if redo.size:
        n = s.shape[-1]
        sub = s.reshape(-1, n)[redo]
        if m is not None:
            sub += m[redo % m.shape[0]]
        p.reshape(-1, n)[redo] = _softmax_rows_exact(sub)
    return p


def _transposed_scaled(a, scale):
    """scale * a^T over the last two axes, written into a C-contiguous pooled buffer.

    OpenBLAS runs a (64, 32) @ (32, 64) product 2x slower when its right operand is a
    transposed view (k^T, v^T: measured 340 and 280 us for W9's (16, 4, 64, 32) stacks) than
    when it is row-major (160 us); the copy costs ~45 us, and the scale rides on it."""
    t = _take(a.shape[:-2] + (a.shape[-1], a.shape[-2]), a.dtype)
    return np.multiply(np.swapaxes(a, -1, -2), a.dtype.type(scale), out=t)


class AttentionFunction(Function):
    """softmax(q k^T scale + mask) v, with the attention weights computed once and kept.

    Forward: the scores are made in one matmul buffer (q times a row-major copy of scale k^T,
    see ``_transposed_scaled``), the mask added and softmax taken in place there (the
    composed form records matmul, mul, masked_fill/add, where, softmax, where and matmul,
    each with its own (.., L, S) output). ``causal`` (``is_causal``) adds a cached 0 / -inf
    array instead of a mask. A 4-D output (B, H, L, E) is written as a (B, L, H, E) array
    seen through a transposed view, as torch's CPU flash attention returns it: the usual
    ``out.transpose(1, 2).reshape(B, L, H * E)`` is then a view, not a copy.

    Backward: the closed form dS = P (dP - rowsum(dP P)) from the kept P, then three matmuls;
    the composed backward runs softmax's, the mask's and the scale's rules on separate
    (.., L, S) arrays. dP is g times scale v^T (a row-major copy again), so dS comes out
    already scaled for dq = dS k and dk = dS^T q; the row sums are subtracted as one BLAS
    rank-1 update (``_add_outer``). ``mask`` is None, a bool Tensor (True takes part) or a
    float Tensor (added; it gets a gradient if it requires one). Rows with every key masked
    give 0 and pass 0 gradient.
    """
    # Measured (forward + backward, causal, float32, 1 thread, interleaved minimum of 15 reps,
    # loaded 2-CPU machine, two runs): 1.2x-1.5x the composed form at (B, H, T, E) =
    # (16, 4, 64, 32) and 1.07x-1.12x at (4, 2, 128, 64) (there the matmuls dominate);
    # 0.85x-1.09x torch's scaled_dot_product_attention. Row-major k^T and v^T, the cached
    # causal mask with the softmax shift folded in, and the rank-1 update: W9S's attention
    # (with the q, k, v split and head transposes, forward + backward, in-process interleaved
    # CPU time, 3 runs) 3.9 -> 3.5 ms median, 1.10x-1.13x.

    @staticmethod
    def forward(ctx, q, k, v, mask, scale, causal=False):
        qa, ka, va = _arr(q), _arr(k), _arr(v)
        s = _mm(qa, _transposed_scaled(ka, scale))
        ma = None
        if causal:
            p = _softmax_np(s, _causal_mask(s.shape[-2], s.shape[-1], s.dtype))
        else:
            if mask is not None:
                ma = _arr(mask)
                if ma.dtype == np.bool_:
                    if np.broadcast_shapes(s.shape, ma.shape) != s.shape:
                        s = np.broadcast_to(s, np.broadcast_shapes(s.shape, ma.shape)).copy()
                    np.copyto(s, s.dtype.type(-np.inf), where=~ma)     # in place (np.where: a new array)
                elif np.broadcast_shapes(s.shape, ma.shape) == s.shape:
                    s += ma
                else:                  # the mask has batch dims q and k lack
                    s = s + ma
            p = _softmax_np(s)
        batch = np.broadcast_shapes(p.shape[:-2], va.shape[:-2])
        L, ev = p.shape[-2], va.shape[-1]
        if len(batch) == 2:            # (B, H, L, E) as a view of (B, L, H, E)
            out = np.swapaxes(_take((batch[0], L, batch[1], ev), p.dtype), 1, 2)
        else:
            out = _take(batch + (L, ev), p.dtype)
        np.matmul(p, va, out=out)
        ctx.p, ctx.scale, ctx.causal = p, scale, causal
        ctx.mask_is_bool = ma is not None and ma.dtype == np.bool_
        ctx.save_for_backward(q, k, v, mask)
        return _from_numpy(out)

    @staticmethod
    def backward(ctx, g):
        q, k, v, mask = ctx.saved_tensors
        needs = ctx.needs_input_grad
        nq, nk, nv, nm = needs[:4]
        rest = (None,) * (len(needs) - 4)
        scale = ctx.scale
        if _array_path(ctx):
            ga, p = _arr(g), ctx.p
            qa, ka, va = _arr(q), _arr(k), _arr(v)
            gv = _from_numpy(_sum_to(_mm(np.swapaxes(p, -1, -2), ga), va.shape)) if nv else None
            # scale dP = g (scale v^T): dS below comes out scaled for dq and dk (a float mask's
            # gradient wants dS itself: then the scale goes on afterwards)
            gs = _mm(ga, _transposed_scaled(va, 1.0 if nm else scale))
            # rowsum(dP * P) as an einsum: no (L, S) temporary, 46 us instead of 144 us here
            r = np.einsum("...ij,...ij->...i", gs, p)
            n = gs.shape[-1]
            _add_outer(gs.reshape(r.size, n), r.reshape(-1), _ones(n, gs.dtype), -1.0)   # dP - rowsum
            gs *= p                                                # dS (0 on masked and dead entries)
            gm = None
            if nm:
                gm = _from_numpy(_sum_to(gs, _arr(mask).shape))
                gs *= gs.dtype.type(scale)
            gq = _from_numpy(_sum_to(_mm(gs, ka), qa.shape)) if nq else None
            gk = _from_numpy(_sum_to(_mm(np.swapaxes(gs, -1, -2), qa), ka.shape)) if nk else None
            return (gq, gk, gv, gm) + rest
        # recorded (or under forward mode): P again from q, k (and a float mask), by the composed ops
        if ctx.causal:
            mask = _causal_bool(q.shape[-2], k.shape[-2])
        p = _attention_weights(q, k, mask, scale)
        gv = _sum_to(p.mT.matmul(g), tuple(v.shape)) if nv else None
        gp = g.matmul(v.mT)
        gs = p * (gp - (gp * p).sum(-1, keepdim=True))
        gm = _sum_to(gs, tuple(mask.shape)) if nm else None
        gs = gs * scale
        gq = _sum_to(gs.matmul(k), tuple(q.shape)) if nq else None
        gk = _sum_to(gs.mT.matmul(q), tuple(k.shape)) if nk else None
        return (gq, gk, gv, gm) + rest

    @staticmethod
    def jvp(ctx, tq, tk, tv, tm, t_scale=None, t_causal=None):
        ctx.forward_mode = True
        q, k, v, mask = ctx.saved_tensors
        scale = ctx.scale
        if ctx.causal:
            mask = _causal_bool(q.shape[-2], k.shape[-2])
        p = _attention_weights(q, k, mask, scale)
        ts = None
        if tq is not None:
            ts = tq.matmul(k.mT) * scale
        if tk is not None:
            t = q.matmul(tk.mT) * scale
            ts = t if ts is None else ts + t
        if tm is not None and not ctx.mask_is_bool:
            ts = tm if ts is None else ts + tm
        out = None
        if ts is not None:
            tp = p * (ts - (p * ts).sum(-1, keepdim=True))
            out = tp.matmul(v)
        if tv is not None:
            t = p.matmul(tv)
            out = t if out is None else out + t
        return out


def _attention_weights(q, k, mask, scale):
    """P = softmax(q k^T scale + mask) with dead rows 0, in differentiable Tensor ops."""
    dm = _dm()
    s = q.matmul(k.mT) * scale
    if mask is not None:
        if mask.dtype == dm.bool:   # added as 0 / -inf: see functional._bool_mask_as_float
            mask = dm.from_numpy(np.where(_arr(mask), 0.0, -np.inf).astype(s.dtype))
        s = s + mask
    dead = ~(s.detach() > float("-inf")).any(-1, keepdim=True)
    if bool(dead.any()):
        s = dm.where(dead, 0.0, s)
        return dm.where(dead, 0.0, s.softmax(-1))
    return s.softmax(-1)
