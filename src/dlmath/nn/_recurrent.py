"""Recurrent layers as fused operations: one recorded op per layer and direction.

A recurrent layer applies the same cell T times. Recorded op by op, a step of
an LSTM is a dozen small nodes, and T = 100 steps make a graph of thousands of
nodes whose Python cost dwarfs the arithmetic. Here each layer (one direction)
is one ``dm.autograd.Function``:

* forward: the input projection of every step in one matrix product
  (X W_ih^T for all T at once), then the time loop on NumPy arrays, keeping
  what backpropagation through time needs (the hidden states, the gates);
* backward: the time loop run backwards, carrying dL/dh_t (and dL/dc_t) from
  step to step through the recurrent Jacobian, and collecting each step's
  gate cotangents, so that the weight gradients are again single products:
  dW_hh = sum_t dA_t^T h_{t-1}, dW_ih = sum_t dA_t^T x_t, dx = dA W_ih.

The LSTM, the costliest cell, has loops of its own (``_lstm_forward``,
``_lstm_backward``): a transposed layout in which every per-step array is
contiguous, and scratch buffers reused from step to step (see there).

The composed form (``composed_layer``: the cell written with dlmath ops, step
by step) is the reference: the tests compare the two, and a backward pass
that is itself recorded (``create_graph=True``) differentiates the composed
form, so second derivatives keep working.

Cells, with torch's gate order and biases (b = b_ih + b_hh):
  RNN   h' = tanh(W_ih x + b_ih + W_hh h + b_hh)        (or relu)
  LSTM  i, f, g, o = sigma, sigma, tanh, sigma of (W_ih x + b_ih + W_hh h + b_hh)
        c' = f c + i g,  h' = o tanh(c')
  GRU   r, z = sigma(W_ir x + b_ir + W_hr h + b_hr), sigma(...)
        n = tanh(W_in x + b_in + r (W_hn h + b_hn)),  h' = (1 - z) n + z h
"""
from __future__ import annotations

import threading
import weakref

import numpy as np

from .. import autograd as _autograd
from .. import _grad_mode
from .._threads import blas_threads as _blas_threads
from ..creation import from_numpy as _from_numpy, tensor as _tensor

_Function = _autograd.Function


def _arr(t):
    return None if t is None else t.detach().numpy()


class _Pool(threading.local):
    """Warm memory for the per-sequence buffers (T x B x 4H floats: megabytes each).

    A fresh buffer of that size comes from the OS page by page at first touch, and glibc
    gives it back at free, so a training loop would page-fault through every buffer on
    every step (about 13 MB a step for the W7 LSTM). Buffers whose last holder is gone --
    the scratch of one pass, or what a layer saved for backward once its graph is freed
    (a finaliser on the ctx) -- wait here for the next step, a few of each shape."""

    def __init__(self):
        self.free = {}

    def take(self, shape, dtype):
        stack = self.free.get((shape, dtype))
        return stack.pop() if stack else np.empty(shape, dtype)

    def give(self, *arrays):
        for a in arrays:
            stack = self.free.setdefault((a.shape, a.dtype), [])
            if len(stack) < 4:
                stack.append(a)


_pool = _Pool()


def _release_to(pool, arrays):
    pool.give(*arrays)


def _keep_until_freed(ctx, arrays):
    """When the graph lets go of ctx, its buffers go back to this thread's pool (nothing else
    holds them: the layer's outputs are copies)."""
    weakref.finalize(ctx, _release_to, _pool, arrays)


def _colsum(a):
    """The column sums of a (n, m) array: a matrix-vector product, about twice as fast as a.sum(0)."""
    return np.ones(a.shape[0], a.dtype) @ a


def _sigmoid(a):
    # sigma(a) = (1 + tanh(a / 2)) / 2: no overflow for large |a|
    return 0.5 + 0.5 * np.tanh(0.5 * a)


# --- the composed reference: the cell in dlmath ops, one step at a time ---------------
def _cell(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    gi = x @ w_ih.T
    gh = h @ w_hh.T
    if b_ih is not None:
        gi = gi + b_ih
        gh = gh + b_hh
    if mode in ("RNN_TANH", "RNN_RELU"):
        a = gi + gh
        return (a.tanh() if mode == "RNN_TANH" else a.relu()), None
    if mode == "LSTM":
        i, f, g, o = (gi + gh).chunk(4, dim=-1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c
    ir, iz, in_ = gi.chunk(3, dim=-1)
    hr, hz, hn = gh.chunk(3, dim=-1)
    r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
    n = (in_ + r * hn).tanh()
    return (1 - z) * n + z * h, None


def composed_layer(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    """The layer step by step in dlmath ops: (output (T, B, H), h_T, c_T or None)."""
    from .. import stack
    h, c, outs = h0, c0, []
    for t in range(x.shape[0]):
        h, c = _cell(mode, x[t], h, c, w_ih, w_hh, b_ih, b_hh)
        outs.append(h)
    return stack(outs), h, c


# --- the fused layer --------------------------------------------------------------------
class _Layer(_Function):
    """One recurrent layer, one direction, over the whole sequence (see the module docstring)."""

    @staticmethod
    def forward(ctx, mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        # an output nobody used gets None as its cotangent, not T x B x H zeros to add step by step
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        ctx.mode = mode
        X, H0, W_ih, W_hh = _arr(x), _arr(h0), _arr(w_ih), _arr(w_hh)
        if mode == "LSTM":
            outs = _lstm_forward(ctx, X, H0, _arr(c0), W_ih, W_hh, _arr(b_ih), _arr(b_hh))
            return tuple(map(_from_numpy, outs))
        T, B = X.shape[0], X.shape[1]
        Hs = W_hh.shape[1]
        # every step's input projection in one product (and both biases added once)
        A_in = _pool.take((T * B, W_ih.shape[0]), X.dtype)
        np.matmul(X.reshape(T * B, -1), W_ih.T, out=A_in)
        A_in = A_in.reshape(T, B, -1)
        if b_ih is not None:
            if mode == "GRU":   # the n gate's hidden bias sits inside r * (W_hn h + b_hn)
                A_in += _arr(b_ih)
                A_in[..., :2 * Hs] += _arr(b_hh)[:2 * Hs]
            else:
                A_in += _arr(b_ih) + _arr(b_hh)
        take = _pool.take
        hs = take((T + 1, B, Hs), X.dtype)
        hs[0] = H0
        W_hhT = np.ascontiguousarray(W_hh.T)   # row-major: BLAS runs the per-step product ~25% faster
        if mode in ("RNN_TANH", "RNN_RELU"):
            for t in range(T):
                a = A_in[t] + hs[t] @ W_hhT
                hs[t + 1] = np.tanh(a) if mode == "RNN_TANH" else np.maximum(a, 0)
            saved = ()
        else:   # GRU
            b_hn = _arr(b_hh)[2 * Hs:] if b_hh is not None else 0
            gates = take((T, B, 3 * Hs), X.dtype)   # r, z, n
            hn_pre = take((T, B, Hs), X.dtype)       # W_hn h + b_hn
            for t in range(T):
                gh = hs[t] @ W_hhT
                hn = gh[:, 2 * Hs:] + b_hn
                rz = _sigmoid(A_in[t][:, :2 * Hs] + gh[:, :2 * Hs])
                n = np.tanh(A_in[t][:, 2 * Hs:] + rz[:, :Hs] * hn)
                z = rz[:, Hs:]
                hs[t + 1] = n + z * (hs[t] - n)
                gates[t, :, :2 * Hs] = rz
                gates[t, :, 2 * Hs:] = n
                hn_pre[t] = hn
            saved = (gates, hn_pre)
        _pool.give(A_in.reshape(T * B, -1))
        ctx.hs, ctx.extra = hs, saved
        _keep_until_freed(ctx, (hs,) + saved)
        return _tensor(hs[1:]), _tensor(hs[T])

    @staticmethod
    def backward(ctx, g_out, g_h, g_c=None):
        mode = ctx.mode
        x, h0, c0, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
        if _grad_mode.is_grad_enabled():
            # a recorded backward (create_graph=True): differentiate the composed form instead,
            # whose backward is itself made of dlmath ops
            return (None,) + _composed_vjp(mode, (x, h0, c0, w_ih, w_hh, b_ih, b_hh), g_out, g_h, g_c)
        hs = ctx.hs
        X, W_ih, W_hh = _arr(x), _arr(w_ih), _arr(w_hh)
        T, B, Hs = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        G = _arr(g_out)   # None: the outputs h_1 .. h_T were not used
        wrap = (lambda a: None if a is None else _from_numpy(np.ascontiguousarray(a)))
        if mode == "LSTM":
            grads = _lstm_backward(ctx, X, W_ih, W_hh, G, _arr(g_h), _arr(g_c), b_ih is not None)
            return (None,) + tuple(map(wrap, grads))
        dh = _arr(g_h).copy() if g_h is not None else np.zeros((B, Hs), X.dtype)
        if mode in ("RNN_TANH", "RNN_RELU"):
            dA = _pool.take((T, B, Hs), X.dtype)
            for t in range(T - 1, -1, -1):
                if G is not None:
                    dh += G[t]
                h = hs[t + 1]
                dA[t] = dh * (1 - h * h) if mode == "RNN_TANH" else dh * (h > 0)
                dh = dA[t] @ W_hh
        else:   # GRU
            gates, hn_pre = ctx.extra
            dA = _pool.take((T, B, 3 * Hs), X.dtype)    # cotangents of the input-side pre-activations
            dAh = _pool.take((T, B, 3 * Hs), X.dtype)   # ... and of the hidden-side ones (W_hh h + b_hh)
            for t in range(T - 1, -1, -1):
                if G is not None:
                    dh += G[t]
                r, z, n = gates[t, :, :Hs], gates[t, :, Hs:2 * Hs], gates[t, :, 2 * Hs:]
                h_prev = hs[t]
                dn = dh * (1 - z) * (1 - n * n)           # d(pre-activation of n)
                dz = dh * (h_prev - n) * z * (1 - z)
                dr = dn * hn_pre[t] * r * (1 - r)
                dA[t, :, :Hs], dA[t, :, Hs:2 * Hs], dA[t, :, 2 * Hs:] = dr, dz, dn
                dAh[t, :, :2 * Hs] = dA[t, :, :2 * Hs]
                dAh[t, :, 2 * Hs:] = dn * r
                dh = dh * z + dAh[t] @ W_hh
        # the weight gradients: one product each over all T steps
        flat = dA.reshape(T * B, -1)
        flat_h = (dAh if mode == "GRU" else dA).reshape(T * B, -1)
        need = ctx.needs_input_grad
        d_x = (flat @ W_ih).reshape(X.shape) if need[1] else None
        d_wih = flat.T @ X.reshape(T * B, -1) if need[4] else None
        d_whh = flat_h.T @ hs[:-1].reshape(T * B, -1) if need[5] else None
        d_bih = _colsum(flat) if b_ih is not None and need[6] else None
        d_bhh = (_colsum(flat_h) if mode == "GRU" else d_bih.copy() if d_bih is not None else _colsum(flat)) \
            if b_hh is not None and need[7] else None
        _pool.give(dA, *((dAh,) if mode == "GRU" else ()))
        # fresh arrays of this pass alone: wrapped, not copied
        return None, wrap(d_x), wrap(dh), None, wrap(d_wih), wrap(d_whh), wrap(d_bih), wrap(d_bhh)


def _layer_jvp(ctx, _mode_tangent, tx, th0, tc0, tw_ih, tw_hh, tb_ih, tb_hh):
    """Forward mode through the layer: the tangent recursion run beside the saved forward.
    th_t = cell'(pre-activation_t) . (tx_t W_ih^T + x_t tW_ih^T + th_{t-1} W_hh^T + h_{t-1} tW_hh^T + tb)."""
    mode, hs = ctx.mode, ctx.hs
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
    X, W_ih, W_hh = _arr(x), _arr(w_ih), _arr(w_hh)
    T, B, Hs = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
    G = W_ih.shape[0]
    tA = np.zeros((T, B, G), X.dtype)
    if tx is not None:
        tA += _arr(tx) @ W_ih.T
    if tw_ih is not None:
        tA += X @ _arr(tw_ih).T
    tbh = _arr(tb_hh) if tb_hh is not None else None
    if tb_ih is not None:
        tA += _arr(tb_ih)
    if tbh is not None:
        if mode == "GRU":
            tA[..., :2 * Hs] += tbh[:2 * Hs]
        else:
            tA += tbh
    tWhh = _arr(tw_hh)
    th = _arr(th0) if th0 is not None else np.zeros((B, Hs), X.dtype)
    tc = (_arr(tc0) if tc0 is not None else np.zeros((B, Hs), X.dtype)) if mode == "LSTM" else None
    t_out = np.empty((T, B, Hs), X.dtype)
    for t in range(T):
        gh = th @ W_hh.T
        if tWhh is not None:
            gh = gh + hs[t] @ tWhh.T
        h = hs[t + 1]
        if mode == "RNN_TANH":
            th = (1 - h * h) * (tA[t] + gh)
        elif mode == "RNN_RELU":
            th = (h > 0) * (tA[t] + gh)
        elif mode == "LSTM":
            # the saved slab Z[t] = [o, i, f, g, c_{t-1}, tanh(c_t)] (see _lstm_forward), as (B, H) views
            o, i, f, g, c_prev, tct = ctx.extra[1][t].reshape(6, Hs, B).transpose(0, 2, 1)
            ta = tA[t] + gh   # torch's order i, f, g, o
            ti, tf = i * (1 - i) * ta[:, :Hs], f * (1 - f) * ta[:, Hs:2 * Hs]
            tg, to = (1 - g * g) * ta[:, 2 * Hs:3 * Hs], o * (1 - o) * ta[:, 3 * Hs:]
            tc = tf * c_prev + f * tc + ti * g + i * tg
            th = to * tct + o * (1 - tct ** 2) * tc
        else:   # GRU
            gates, hn_pre = ctx.extra
            r, z, n = gates[t, :, :Hs], gates[t, :, Hs:2 * Hs], gates[t, :, 2 * Hs:]
            ghn = gh[:, 2 * Hs:] + (tbh[2 * Hs:] if tbh is not None else 0)
            tr = r * (1 - r) * (tA[t][:, :Hs] + gh[:, :Hs])
            tz = z * (1 - z) * (tA[t][:, Hs:2 * Hs] + gh[:, Hs:2 * Hs])
            tn = (1 - n * n) * (tA[t][:, 2 * Hs:] + tr * hn_pre[t] + r * ghn)
            th = (1 - z) * tn + tz * (hs[t] - n) + z * th
        t_out[t] = th
    outs = (_from_numpy(t_out), _tensor(th))
    return outs + ((_tensor(tc),) if mode == "LSTM" else ())


def _composed_vjp(mode, inputs, g_out, g_h, g_c):
    """The vjp of the composed layer, recorded (for create_graph): one cotangent per input."""
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = inputs
    with _grad_mode.enable_grad():
        out, h_n, c_n = composed_layer(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        # an unused output (cotangent None) contributes nothing
        pairs = [(o, g) for o, g in ((out, g_out), (h_n, g_h), (c_n, g_c)) if g is not None]
        wanted = [t for t in inputs if t is not None and t.requires_grad]
        if not pairs:
            return (None,) * len(inputs)
        got = _autograd.grad([o for o, _ in pairs], wanted, [g for _, g in pairs], create_graph=True,
                             allow_unused=True)
    found = dict(zip(map(id, wanted), got))
    return tuple(None if t is None else found.get(id(t)) for t in inputs)


_Layer.jvp = staticmethod(_layer_jvp)


# --- the LSTM time loops ----------------------------------------------------------------
# Layout. NumPy's elementwise loops run several times slower on strided 2-D slices than on
# contiguous memory, and a call on operands of different shapes (broadcasting) costs more than two
# plain ones, so every per-step array here is contiguous: a step's gates are (4H, B), one
# gate a block of H rows (the transpose of torch's (B, 4H), whose gate blocks are strided), and
# h_t, c_t are (H, B). The products keep that shape: W (4H, K) @ [h_t; x_t; 1] (K, B) gives the
# step's pre-activations, input projection and bias included, in one product (in row blocks, see
# _row_blocks).
# The gate rows are in the order o, i, f, g (torch's are i, f, g, o), and each step's gates sit in
# a slab of 6H rows with the cell states:
#     Z[t] = [o, i, f, g, c_{t-1}, tanh(c_t)]
# so that the sigmoid gates o, i, f are adjacent (one affine pass in forward), (i, f) times
# (g, c_{t-1}) is one product, and in backward sigma'(i, f) times (g, c_{t-1}) is one pass over a
# chunk of steps.
# Scratch comes from the pool too: fresh buffers of a few hundred kB each would page-fault anew
# at every step of a training loop.
_CHUNK = 8   # steps whose gate cotangents are gathered for one weight-gradient product

# Products in row blocks. OpenBLAS copies ("packs") both operands into its own layout before a
# product, unless the product is small (M K N <= 10^6 multiply-adds: measured, the speed drops
# past it), when it multiplies them where they lie. A recurrent loop's per-step product
# W @ v (W the same every step, v a few columns) pays that packing of W at every step: for the
# W7 LSTM's (512, 161) @ (161, 32) it is 12% of the product. In blocks below 10^6 the forward's
# product takes 48 us instead of 57, backward's (128, 512) @ (512, 32) 39 instead of 47, and a
# chunk's weight-gradient product (512, 256) @ (256, 161) (22 blocks) 5.0 ms per 100 steps
# instead of 5.5 (one thread; with the contiguous operands they need, W7's step ~10% faster).
# Only on one thread: a BLAS on several shares one product out, not a few small ones (W7's step
# 3.6% slower in blocks on two). And only up to `most` blocks: larger products amortise packing.
_SMALL_PRODUCT = 1_000_000


def _row_blocks(A, out, n, most=4):
    """[(A_rows, out_rows), ...]: A @ v (v with n columns) as at most `most` products below
    _SMALL_PRODUCT."""
    M, K = A.shape
    size = M * K * n
    if size <= _SMALL_PRODUCT or size > most * _SMALL_PRODUCT or _blas_threads() > 1:
        return ((A, out),)
    pieces = -(-size // _SMALL_PRODUCT)
    rows = -(-M // pieces)
    rows16 = -(-rows // 16) * 16   # whole AVX-512 registers of float32 where the bound allows
    if rows16 * K * n <= _SMALL_PRODUCT:
        rows = rows16
    return tuple((A[a:a + rows], out[a:a + rows]) for a in range(0, M, rows))


def _rows(a):
    """a (..., B) seen as (..., 1) items of B floats each: NumPy copies a strided block of short
    rows row by row (a loop call each); as one item per row, the copy is a single loop."""
    return a.view(np.dtype((np.void, a.shape[-1] * a.itemsize))) if a.size else a


def _to_ofig(dst, src, s=None):
    """dst = src with its gate blocks (rows, or entries of a bias) reordered from torch's i, f, g, o
    to o, i, f, g, the sigmoid gates' times s."""
    H = src.shape[0] // 4
    np.copyto(dst[3 * H:], src[2 * H:3 * H])
    if s is None:
        np.copyto(dst[:H], src[3 * H:])
        np.copyto(dst[H:3 * H], src[:2 * H])
    else:
        np.multiply(src[3 * H:], s, out=dst[:H])
        np.multiply(src[:2 * H], s, out=dst[H:3 * H])


def _from_ofig(src):
    """A new array: src's gate blocks (rows) reordered from o, i, f, g back to torch's i, f, g, o."""
    H = src.shape[0] // 4
    dst = np.empty(src.shape, src.dtype)
    np.copyto(dst[:3 * H], src[H:])
    np.copyto(dst[3 * H:], src[:H])
    return dst


def _lstm_forward(ctx, X, H0, C0, W_ih, W_hh, B_ih, B_hh):
    """c_t = f c_{t-1} + i g, h_t = o tanh(c_t): returns the outputs (h_1 .. h_T (T, B, H), h_T, c_T).

    sigma(a) = 1/2 + tanh(a/2)/2: the rows of the sigmoid gates are halved once (weights and
    bias), so one tanh over all 4H rows, then one affine map of the first 3H, gives every gate.
    Saved for backward: [h_t; x_t; 1] for every step, and the slabs Z (see above)."""
    T, B, In = X.shape
    Hs = W_hh.shape[1]
    dt, take = X.dtype, _pool.take
    # out given by position: a little faster; np.dot rather than matmul (a ufunc): ~0.4 us less a call
    mul, add, tanh, dot = np.multiply, np.add, np.tanh, np.dot
    K = Hs + In + (B_ih is not None)
    W = take((4 * Hs, K), dt)
    _to_ofig(W[:, :Hs], W_hh, 0.5)
    _to_ofig(W[:, Hs:Hs + In], W_ih, 0.5)
    # HX[t] = [h_t; x_t; 1], a contiguous (K, B) block per step: the step's product reads it, and
    # h_t is written there directly (the output gets a copy after the loop: one call, not T)
    HX = take((T + 1, K, B), dt)
    HX[:T, Hs:Hs + In] = X.transpose(0, 2, 1)
    if B_ih is not None:
        _to_ofig(W[:, -1], B_ih + B_hh, 0.5)
        HX[:T, -1] = 1
    HX[0, :Hs] = H0.T
    Z = take((T + 1, 6 * Hs, B), dt)   # one slab more: c_T sits in Z[T]'s c_{t-1} rows
    Z[0, 4 * Hs:5 * Hs] = C0.T
    pre = take((4 * Hs, B), dt)   # the product's output: a warm buffer, not the slab's cold rows
    prod = take((2 * Hs, B), dt)  # i g, f c_{t-1}
    ig, fc = prod[:Hs], prod[Hs:]
    z6 = Z.reshape(T + 1, 6, Hs, B)
    # each step's views made up front, by iterating over the arrays (cheaper than indexing)
    steps = zip(Z[:T, :4 * Hs], Z[:T, :3 * Hs], z6[:T, 0], Z[:T, Hs:3 * Hs], Z[:T, 3 * Hs:5 * Hs],
                z6[:T, 5], z6[1:, 4], HX[:T], HX[1:, :Hs])
    W_x, skip = W[:, Hs:], not H0.any()   # h_0 = 0 (the default): step 0 needs only [x_0; 1]
    blocks = _row_blocks(W, pre, B)
    for a, s, o, i_f, g_c, tc, c, hx, h in steps:
        if skip:
            dot(W_x, hx[Hs:], pre)
            skip = False
        else:
            for w, p in blocks:
                dot(w, hx, p)
        tanh(pre, a)
        mul(s, 0.5, s)
        add(s, 0.5, s)
        mul(i_f, g_c, prod)
        add(ig, fc, c)
        tanh(c, tc)
        mul(o, tc, h)
    _pool.give(W, pre, prod)
    ctx.extra = (HX, Z)
    ctx.hs = HX[:, :Hs].transpose(0, 2, 1)   # (T + 1, B, H), for forward mode
    _keep_until_freed(ctx, ctx.extra)
    # outputs in torch's layout: h_1 .. h_T a transposed view of a copy (not of HX, which backward
    # needs intact and the pool reuses), h_T and c_T copies
    hs = np.empty((T, Hs, B), dt)
    np.copyto(hs, HX[1:, :Hs])
    return hs.transpose(0, 2, 1), np.array(ctx.hs[T], order="C"), np.array(z6[T, 4].T, order="C")


def _lstm_backward(ctx, X, W_ih, W_hh, G, g_h, g_c, bias):
    """Backpropagation through time, from dh_T, dc_T (and dL/dh_t from the outputs, G, if used):

        dc_t += dh_t o_t (1 - tanh(c_t)^2)
        dA_t  = [dh_t tanh(c_t) o'_t,  dc_t g_t i'_t,  dc_t c_{t-1} f'_t,  dc_t i_t (1 - g_t^2)]
        dc_{t-1} = dc_t f_t,   dh_{t-1} = W_hh^T dA_t (+ G_{t-1})

    with sigma' = sigma (1 - sigma), in the forward's transposed layout and gate order o, i, f, g.
    The steps run in chunks of _CHUNK, newest first. Everything in dA_t but dh_t and dc_t is
    computed for the whole chunk at once (P below), so a step is seven elementwise passes over
    (H, B) and one product. Each chunk's dA_t (written step by step, each a contiguous block)
    are then laid side by side as one (4H, chunk x B) matrix, and its [h_t; x_t; 1] as one
    (chunk x B, K) matrix, which give the chunk's share of the weight gradient
    dW = sum_t dA_t [h_t; x_t; 1]^T, and of dx_t = W_ih^T dA_t, in one product each.
    Returns (d_x, d_h0, d_c0, d_W_ih, d_W_hh, d_b_ih, d_b_hh)."""
    HX, Z = ctx.extra
    T, Hs, B = Z.shape[0] - 1, Z.shape[1] // 6, Z.shape[2]
    K, In, dt, n, take = HX.shape[1], X.shape[2], X.dtype, _CHUNK, _pool.take
    mul, add, sub, dot, copyto = np.multiply, np.add, np.subtract, np.dot, np.copyto
    need = ctx.needs_input_grad
    dh, dc, tmp = take((Hs, B), dt), take((Hs, B), dt), take((Hs, B), dt)
    dh[...] = 0 if g_h is None else g_h.T
    dc[...] = 0 if g_c is None else g_c.T
    GT = np.ascontiguousarray(G.transpose(0, 2, 1)) if G is not None else None
    W_hh_p = take((4 * Hs, Hs), dt)
    _to_ofig(W_hh_p, W_hh)
    W_hhT = take((Hs, 4 * Hs), dt)   # row-major: the faster product
    np.copyto(W_hhT, W_hh_p.T)
    W_ih_p = None
    if need[1]:
        W_ih_p = take((4 * Hs, In), dt)
        _to_ofig(W_ih_p, W_ih)
    d_w, d_w_chunk = take((4 * Hs, K), dt), take((4 * Hs, K), dt)
    d_w[...] = 0
    d_x = np.empty(X.shape, dt) if need[1] else None
    # P[j] = [tanh(c) o', g i', c_{t-1} f', i (1 - g^2), o (1 - tanh(c)^2)]: what multiplies dh_t
    # (block 0) or dc_t (blocks 1-3) to give dA_t, and dh_t's share of dc_t (block 4)
    P = take((n, 5 * Hs, B), dt)
    P5 = P.reshape(n, 5, Hs, B)
    p_o, p_i, p_f, p_g, k = P5.transpose(1, 0, 2, 3)
    da = take((4 * Hs, B), dt)            # a step's dA_t (a warm buffer, read by the product)
    da_o, da_i, da_f, da_g = da.reshape(4, Hs, B)
    dA = take((4 * Hs, n, B), dt)         # ... and the chunk's side by side
    da_rows, dA_rows = _rows(da), list(_rows(dA).transpose(1, 0, 2))
    HXr = take((n, B, K), dt)             # the chunk's [h_t; x_t; 1] as rows
    step_blocks = _row_blocks(W_hhT, dh, B)
    chunk_blocks = _row_blocks(dA.reshape(4 * Hs, n * B), d_w_chunk, K, most=32)   # views of dA
    z6 = Z.reshape(T + 1, 6, Hs, B)
    for t0 in range(((T - 1) // n) * n, -1, -n):
        m = min(n, T - t0)
        z, zz = Z[t0:t0 + m], z6[t0:t0 + m]
        S, P3 = z[:, :3 * Hs], P[:m, :3 * Hs]
        sub(1, S, P3)
        mul(P3, S, P3)                                        # (o', i', f')
        mul(P5[:m, 0], zz[:, 5], P5[:m, 0])                   # o' tanh(c_t)
        mul(P[:m, Hs:3 * Hs], z[:, 3 * Hs:5 * Hs], P[:m, Hs:3 * Hs])   # (i', f') (g, c_{t-1})
        P2, q = P5[:m, 3:], zz[:, 3::2]                       # q: (g, tanh(c_t))
        mul(q, q, P2)
        sub(1, P2, P2)
        mul(P2, zz[:, 1::-1], P2)                             # (i, o) (1 - (g, tanh(c_t))^2)
        f = zz[:, 2]
        for j in range(m - 1, -1, -1):
            if GT is not None:
                dh += GT[t0 + j]
            mul(dh, k[j], tmp)
            add(dc, tmp, dc)
            mul(dh, p_o[j], da_o)
            mul(dc, p_i[j], da_i)
            mul(dc, p_f[j], da_f)
            mul(dc, p_g[j], da_g)
            mul(dc, f[j], dc)
            if t0 + j or need[2]:
                for w, d in step_blocks:
                    dot(w, da, d)
            copyto(dA_rows[j], da_rows)   # while da is in cache
        # (m, K, B) -> (m, B, K): the product's second operand, contiguous
        copyto(HXr[:m], HX[t0:t0 + m].transpose(0, 2, 1))
        flat, rows = dA[:, :m].reshape(4 * Hs, m * B), HXr[:m].reshape(m * B, K)
        for a, d in (chunk_blocks if m == n else _row_blocks(flat, d_w_chunk, K, most=32)):
            dot(a, rows, d)
        add(d_w, d_w_chunk, d_w)
        if d_x is not None:
            np.matmul(flat.T, W_ih_p, d_x[t0:t0 + m].reshape(m * B, In))
    d_whh = _from_ofig(d_w[:, :Hs]) if need[5] else None
    d_wih = _from_ofig(d_w[:, Hs:Hs + In]) if need[4] else None
    d_bih = _from_ofig(d_w[:, -1]) if bias and need[6] else None
    d_bhh = _from_ofig(d_w[:, -1]) if bias and need[7] else None
    d_h0 = np.array(dh.T, order="C") if need[2] else None
    d_c0 = np.array(dc.T, order="C") if need[3] else None
    _pool.give(dh, dc, tmp, W_hh_p, W_hhT, d_w, d_w_chunk, P, da, dA, HXr,
               *((W_ih_p,) if need[1] else ()))
    return d_x, d_h0, d_c0, d_wih, d_whh, d_bih, d_bhh


def fused_layer(mode, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
    """One layer in one direction over a time-major sequence x (T, B, input_size):
    (output (T, B, H), h_T, c_T (LSTM) or None)."""
    res = _Layer.apply(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    return (res[0], res[1], res[2]) if mode == "LSTM" else (res[0], res[1], None)
