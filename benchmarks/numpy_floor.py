"""Hand-written NumPy floors for W2 and W2T (784-512-256-10 ReLU MLP, one SGD step).

No framework: forward pass, softmax cross-entropy, manual backward
(softmax - onehot, ReLU masks, matmuls, bias sums) and the SGD update, all in
float32 with in-place operations wherever they are free.  This is what an
autograd library on NumPy could at best hope to match.

``make_step`` is W2's floor (weights stored (in, out), ``x @ W``); ``make_step_t``
is W2T's (weights stored (out, in) as ``nn.Linear`` does, ``x @ W.T``).

``python benchmarks/numpy_floor.py`` checks both floors' gradients against PyTorch.
"""

from __future__ import annotations

import numpy as np


def make_step(params, x, y, lr=0.01, as_written=False):
    """Return ``step()`` that performs one SGD step in place and returns the loss.

    ``params`` is ``[W1, b1, W2, b2, W3, b3]`` (float32 arrays, updated in
    place), ``x`` is ``(n, 784)`` float32, ``y`` is ``(n,)`` integer labels.

    ``as_written=True`` gives the ceiling of any framework that runs the
    benchmark's user code as written: the forward pass and the update are out
    of place, as ``(x @ W1 + b1).relu()`` and ``p -= lr * p.grad`` say, so each
    makes a fresh array; the backward pass (the framework's own business) stays
    the floor's. A framework's own costs come on top of this.
    """
    W1, b1, W2, b2, W3, b3 = params
    n = x.shape[0]
    rows = np.arange(n)
    inv_n = np.float32(1.0 / n)
    lr_f = lr
    lr = np.float32(lr)

    def step():
        if as_written:
            h1 = np.maximum(x @ W1 + b1, 0)
            h2 = np.maximum(h1 @ W2 + b2, 0)
        else:
            # forward; ReLU in place: h > 0 after ReLU iff it was > 0 before.
            h1 = x @ W1
            h1 += b1
            np.maximum(h1, 0, out=h1)
            h2 = h1 @ W2
            h2 += b2
            np.maximum(h2, 0, out=h2)
        z = h2 @ W3
        z += b3
        # log-softmax cross-entropy, numerically stable
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        s = p.sum(axis=1, keepdims=True)
        loss = np.log(s).mean() - z[rows, y].mean()
        # backward: dL/dz = (softmax - onehot) / n
        p /= s
        p[rows, y] -= 1
        p *= inv_n
        dW3 = h2.T @ p
        db3 = p.sum(axis=0)
        d2 = p @ W3.T
        d2 *= h2 > 0
        dW2 = h1.T @ d2
        db2 = d2.sum(axis=0)
        d1 = d2 @ W2.T
        d1 *= h1 > 0
        dW1 = x.T @ d1
        db1 = d1.sum(axis=0)
        # SGD update in place
        for w, g in ((W1, dW1), (b1, db1), (W2, dW2), (b2, db2), (W3, dW3), (b3, db3)):
            if as_written:
                w -= lr_f * g
            else:
                g *= lr
                w -= g
        return loss

    return step


def make_step_t(params, x, y, lr=0.01, as_written=False):
    """W2T's floor: ``make_step`` for weights stored (out, in), as ``nn.Linear`` stores them.

    ``params`` is ``[W1, b1, W2, b2, W3, b3]`` with ``W1`` (512, 784), ``W2`` (256, 512),
    ``W3`` (10, 256). The same math as ``make_step``, with the products written for this
    layout: ``h @ W.T`` (``W.T`` is a free NumPy view; BLAS reads it with its transpose
    flag), the error passed down as ``d @ W`` (no transpose at all), and each weight
    gradient computed directly in W's layout as ``d.T @ h``: one BLAS call, a
    C-contiguous (out, in) result, never ``(h.T @ d).T`` (a transposed view, whose copy
    into row-major memory costs as much as the product itself: ~0.9 ms for 512x784 here).
    ``as_written`` as in ``make_step``.
    """
    W1, b1, W2, b2, W3, b3 = params
    n = x.shape[0]
    rows = np.arange(n)
    inv_n = np.float32(1.0 / n)
    lr_f = lr
    lr = np.float32(lr)

    def step():
        if as_written:
            h1 = np.maximum(x @ W1.T + b1, 0)
            h2 = np.maximum(h1 @ W2.T + b2, 0)
        else:
            h1 = x @ W1.T
            h1 += b1
            np.maximum(h1, 0, out=h1)
            h2 = h1 @ W2.T
            h2 += b2
            np.maximum(h2, 0, out=h2)
        z = h2 @ W3.T
        z += b3
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        s = p.sum(axis=1, keepdims=True)
        loss = np.log(s).mean() - z[rows, y].mean()
        p /= s
        p[rows, y] -= 1
        p *= inv_n
        dW3 = p.T @ h2
        db3 = p.sum(axis=0)
        d2 = p @ W3
        d2 *= h2 > 0
        dW2 = d2.T @ h1
        db2 = d2.sum(axis=0)
        d1 = d2 @ W2
        d1 *= h1 > 0
        dW1 = d1.T @ x
        db1 = d1.sum(axis=0)
        for w, g in ((W1, dW1), (b1, db1), (W2, dW2), (b2, db2), (W3, dW3), (b3, db3)):
            if as_written:
                w -= lr_f * g
            else:
                g *= lr
                w -= g
        return loss

    return step


def _self_check():  # pragma: no cover - manual tool
    import torch

    from w2_mlp import w2_data

    x, y, params = w2_data()
    ref = [torch.tensor(p, requires_grad=True) for p in params]
    W1, b1, W2, b2, W3, b3 = ref
    h = torch.relu(torch.tensor(x) @ W1 + b1)
    h = torch.relu(h @ W2 + b2)
    logits = h @ W3 + b3
    loss_ref = -(logits.log_softmax(dim=1)[torch.arange(len(y)), torch.tensor(y)]).mean()
    loss_ref.backward()
    ref_grads = [r.grad.numpy() for r in ref]

    # W2T: torch's own layout and forward, (x @ W.T + b).relu(), on the same numbers transposed
    params_t = [np.ascontiguousarray(p.T) if p.ndim == 2 else p for p in params]
    ref_t = [torch.tensor(p, requires_grad=True) for p in params_t]
    W1, b1, W2, b2, W3, b3 = ref_t
    h = (torch.tensor(x) @ W1.T + b1).relu()
    h = (h @ W2.T + b2).relu()
    logits = h @ W3.T + b3
    loss_ref_t = -(logits.log_softmax(dim=1)[torch.arange(len(y)), torch.tensor(y)]).mean()
    loss_ref_t.backward()
    ref_grads_t = [r.grad.numpy() for r in ref_t]

    for label, make, ps, grads, lref in (("W2 ", make_step, params, ref_grads, loss_ref),
                                          ("W2T", make_step_t, params_t, ref_grads_t, loss_ref_t)):
        for as_written in (False, True):
            work = [p.copy() for p in ps]
            loss = make(work, x, y, lr=1.0, as_written=as_written)()
            print(f"{label} as_written={as_written}: loss numpy {float(loss):.6f}  torch {lref.item():.6f}")
            assert abs(float(loss) - lref.item()) < 1e-4 * abs(lref.item())
            worst = 0.0
            for name, p0, p1, r in zip("W1 b1 W2 b2 W3 b3".split(), ps, work, grads):
                g = p0 - p1
                assert g.shape == r.shape, (name, g.shape, r.shape)
                err = np.abs(g - r).max() / (np.abs(r).max() + 1e-12)
                worst = max(worst, err)
                print(f"  d{name} {g.shape}: dtype {g.dtype}, max rel err {err:.2e}")
            assert worst < 1e-4, worst
            assert all(p.dtype == np.float32 for p in work)
            assert all(p.flags.c_contiguous for p in work)
    print("numpy floor gradients match torch (W2 and W2T layouts)")


if __name__ == "__main__":
    _self_check()
