"""Hand-written NumPy floor for W2 (784-512-256-10 ReLU MLP, one SGD step).

No framework: forward pass, softmax cross-entropy, manual backward
(softmax - onehot, ReLU masks, matmuls, bias sums) and the SGD update, all in
float32 with in-place operations wherever they are free.  This is what an
autograd library on NumPy could at best hope to match.

``python benchmarks/numpy_floor.py`` checks the gradients against PyTorch.
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

    for as_written in (False, True):
        work = [p.copy() for p in params]
        loss = make_step(work, x, y, lr=1.0, as_written=as_written)()
        print(f"as_written={as_written}: loss numpy {float(loss):.6f}  torch {loss_ref.item():.6f}")
        worst = 0.0
        for name, p0, p1, r in zip("W1 b1 W2 b2 W3 b3".split(), params, work, ref):
            g = p0 - p1
            err = np.abs(g - r.grad.numpy()).max() / (np.abs(r.grad.numpy()).max() + 1e-12)
            worst = max(worst, err)
            print(f"d{name}: dtype {g.dtype}, max rel err {err:.2e}")
        assert worst < 1e-4, worst
        assert all(p.dtype == np.float32 for p in work)
    print("numpy floor gradients match torch")


if __name__ == "__main__":
    _self_check()
