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
        X, H0, W_ih, W_hh = _arr(x), _arr(h0), _arr(w_ih), _arr(w_hh)
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
            c_n = None
        elif mode == "LSTM":
            # sigma(a) = 1/2 + tanh(a/2)/2, so one tanh over all 4H columns (a/2 for i, f, o; a for
            # g) gives every gate; the local derivatives then come from u = that tanh alone:
            # sigma' = (1 - u^2)/4, tanh' = 1 - u^2, kept in D for the backward pass
            scale = np.full(4 * Hs, 0.5, X.dtype)
            scale[2 * Hs:3 * Hs] = 1
            shift = 1 - scale
            dscale = np.where(scale == 1, 1.0, 0.25).astype(X.dtype)
            cs = take((T + 1, B, Hs), X.dtype)
            cs[0] = _arr(c0)
            gates = take((T, B, 4 * Hs), X.dtype)   # activated i, f, g, o
            D = take((T, B, 4 * Hs), X.dtype)       # d gate / d pre-activation
            tcs = take((T, B, Hs), X.dtype)         # tanh(c_t)
            for t in range(T):
                gt = gates[t]
                np.matmul(hs[t], W_hhT, out=gt)
                gt += A_in[t]
                gt *= scale
                np.tanh(gt, out=gt)
                np.multiply(gt, gt, out=D[t])
                np.subtract(1, D[t], out=D[t])
                D[t] *= dscale
                gt *= scale
                gt += shift
                i, f, g, o = gt[:, :Hs], gt[:, Hs:2 * Hs], gt[:, 2 * Hs:3 * Hs], gt[:, 3 * Hs:]
                c = cs[t + 1]
                np.multiply(f, cs[t], out=c)
                c += i * g
                np.tanh(c, out=tcs[t])
                np.multiply(o, tcs[t], out=hs[t + 1])
            saved = (cs, gates, D, tcs)
            c_n = cs[T]
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
            c_n = None
        _pool.give(A_in.reshape(T * B, -1))
        ctx.mode, ctx.hs, ctx.extra = mode, hs, saved
        # when the graph lets go of ctx, its buffers go back to this thread's pool (nothing else
        # holds them: the outputs below are copies)
        weakref.finalize(ctx, _release_to, _pool, (hs,) + saved)
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        out = _tensor(hs[1:])
        h_n = _tensor(hs[T])
        if mode == "LSTM":
            return out, h_n, _tensor(c_n)
        return out, h_n

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
        G = _arr(g_out)
        dh = _arr(g_h).copy()
        if mode in ("RNN_TANH", "RNN_RELU"):
            dA = _pool.take((T, B, Hs), X.dtype)
            for t in range(T - 1, -1, -1):
                dh += G[t]
                h = hs[t + 1]
                dA[t] = dh * (1 - h * h) if mode == "RNN_TANH" else dh * (h > 0)
                dh = dA[t] @ W_hh
        elif mode == "LSTM":
            cs, gates, D, tcs = ctx.extra
            dc = _arr(g_c).copy()
            dA = _pool.take((T, B, 4 * Hs), X.dtype)
            tmp = np.empty((B, Hs), X.dtype)
            for t in range(T - 1, -1, -1):
                dh += G[t]
                gt, tc = gates[t], tcs[t]
                i, f, g, o = gt[:, :Hs], gt[:, Hs:2 * Hs], gt[:, 2 * Hs:3 * Hs], gt[:, 3 * Hs:]
                # dc_t += dh_t o (1 - tanh(c_t)^2)
                np.multiply(tc, tc, out=tmp)
                np.subtract(1, tmp, out=tmp)
                tmp *= o
                tmp *= dh
                dc += tmp
                da = dA[t]
                np.multiply(dc, g, out=da[:, :Hs])
                np.multiply(dc, cs[t], out=da[:, Hs:2 * Hs])
                np.multiply(dc, i, out=da[:, 2 * Hs:3 * Hs])
                np.multiply(dh, tc, out=da[:, 3 * Hs:])
                da *= D[t]
                dc *= f
                dh = da @ W_hh
        else:   # GRU
            gates, hn_pre = ctx.extra
            dA = _pool.take((T, B, 3 * Hs), X.dtype)    # cotangents of the input-side pre-activations
            dAh = _pool.take((T, B, 3 * Hs), X.dtype)   # ... and of the hidden-side ones (W_hh h + b_hh)
            for t in range(T - 1, -1, -1):
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
        d_x = (flat @ W_ih).reshape(X.shape) if ctx.needs_input_grad[1] else None
        d_wih = flat.T @ X.reshape(T * B, -1) if ctx.needs_input_grad[4] else None
        d_whh = flat_h.T @ hs[:-1].reshape(T * B, -1) if ctx.needs_input_grad[5] else None
        d_bih = flat.sum(0) if b_ih is not None and ctx.needs_input_grad[6] else None
        d_bhh = flat_h.sum(0) if b_hh is not None and ctx.needs_input_grad[7] else None
        d_c0 = dc if mode == "LSTM" and ctx.needs_input_grad[3] else None
        _pool.give(dA, *((dAh,) if mode == "GRU" else ()))
        # fresh arrays of this pass alone: wrapped, not copied
        wrap = (lambda a: None if a is None else _from_numpy(np.ascontiguousarray(a)))
        return None, wrap(d_x), wrap(dh), wrap(d_c0), wrap(d_wih), wrap(d_whh), wrap(d_bih), wrap(d_bhh)


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
            cs, gates, D, tcs = ctx.extra
            tg = D[t] * (tA[t] + gh)
            gt = gates[t]
            i, f, g, o = gt[:, :Hs], gt[:, Hs:2 * Hs], gt[:, 2 * Hs:3 * Hs], gt[:, 3 * Hs:]
            tc = tg[:, Hs:2 * Hs] * cs[t] + f * tc + tg[:, :Hs] * g + i * tg[:, 2 * Hs:3 * Hs]
            th = tg[:, 3 * Hs:] * tcs[t] + o * (1 - tcs[t] ** 2) * tc
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
        outs, grads = [out, h_n], [g_out, g_h]
        if mode == "LSTM":
            outs.append(c_n)
            grads.append(g_c)
        wanted = [t for t in inputs if t is not None and t.requires_grad]
        got = _autograd.grad(outs, wanted, grads, create_graph=True, allow_unused=True)
    found = dict(zip(map(id, wanted), got))
    return tuple(None if t is None else found.get(id(t)) for t in inputs)


_Layer.jvp = staticmethod(_layer_jvp)


def fused_layer(mode, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
    """One layer in one direction over a time-major sequence x (T, B, input_size):
    (output (T, B, H), h_T, c_T (LSTM) or None)."""
    res = _Layer.apply(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    return (res[0], res[1], res[2]) if mode == "LSTM" else (res[0], res[1], None)
