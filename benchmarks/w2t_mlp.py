"""W2T "MLP step, torch's weight layout": W2 with every weight stored as nn.Linear stores it.

    W1 (512, 784), W2 (256, 512), W3 (10, 256)   -- shape (out, in)
    logits = relu(relu(x @ W1.T + b1) @ W2.T + b2) @ W3.T + b3
    loss   = -(log_softmax(logits, dim=1)[arange(128), y]).mean()
    backward, then p -= 0.01 * p.grad for every parameter (no optimizer object)

The user code is W2's (``w2_mlp.py``) line for line, except that each weight
is used as ``W.T``, a fresh transpose every step, as ``nn.Linear`` /
``F.linear`` users write it. The weights hold exactly W2's numbers, transposed
(``w2t_data``), so the ``check`` (loss, sum |grad| per parameter after the
first step) equals W2's. Issue #9: a transposed weight must cost nothing, in
forward, backward and the update; target dlmath >= 0.85x the NumPy floor for
this layout (``numpy_floor.make_step_t``), which multiplies by ``W.T`` as a
free NumPy view and computes each weight gradient directly in W's layout
(``d.T @ h``, one BLAS call with transposed operand flags, no copy).

Reported as steps per second.
"""

from __future__ import annotations

import numpy as np

from timing import import_dlmath, import_torch, per_iteration
from w2_mlp import BATCH, LR, _first_step, w2_data


def w2t_data():
    """``x, y`` and ``[W1, b1, W2, b2, W3, b3]`` of W2 with each W stored (out, in), C-contiguous."""
    x, y, params = w2_data()
    return x, y, [np.ascontiguousarray(p.T) if p.ndim == 2 else p for p in params]


# -- PyTorch and dlmath: literally the same code --------------------------

def _w2t_torchlike(T):
    xs, ys, ps = w2t_data()
    params = [T.tensor(p, requires_grad=True) for p in ps]
    W1, b1, W2, b2, W3, b3 = params
    x, y, rows = T.tensor(xs), T.tensor(ys), T.arange(BATCH)

    def step():
        h = (x @ W1.T + b1).relu()
        h = (h @ W2.T + b2).relu()
        logits = h @ W3.T + b3
        loss = -(logits.log_softmax(dim=1)[rows, y]).mean()
        loss.backward()
        with T.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None
        return loss

    check = _first_step(step, lambda: params)
    return per_iteration(step), check


def w2t_torch():
    return _w2t_torchlike(import_torch())


def w2t_dlmath():
    return _w2t_torchlike(import_dlmath())


# -- NumPy floor for this layout (benchmarks/numpy_floor.py) ----------------

def w2t_numpy(as_written=False):
    from numpy_floor import make_step_t

    x, y, params = w2t_data()
    step = make_step_t(params, x, y, lr=LR, as_written=as_written)
    check = _first_step(step, lambda: params)
    return per_iteration(step), check


def w2t_numpy_as_written():
    """The ceiling of a framework running the user code above (see numpy_floor.make_step_t)."""
    return w2t_numpy(as_written=True)


FUNCS = {
    "torch": w2t_torch,
    "dlmath": w2t_dlmath,
    "numpy": w2t_numpy,
    "numpy_as_written": w2t_numpy_as_written,
}
