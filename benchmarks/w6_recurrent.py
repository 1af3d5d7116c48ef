"""W6 / W7 "recurrent step": nn.RNN (tanh) and nn.LSTM, backpropagation through time.

    input 32, hidden 128, T = 100, batch 32, float32, one layer
    out, h_n = rnn(x)                  (LSTM: out, (h_n, c_n) = lstm(x))
    loss = h_n.sum(); loss.backward(); grads cleared

The same module code for torch and dlmath (weights copied from a seeded torch module,
so the ``check`` -- the loss and sum |grad| per parameter after one step -- agrees).
Issue #10's targets: RNN >= 1.3x PyTorch's steps/s, LSTM >= 1.0x. Reported as steps/s.
"""

from __future__ import annotations

import numpy as np

from timing import import_dlmath, import_torch, per_iteration

T, BATCH, INPUT, HIDDEN = 100, 32, 32, 128


def _data():
    return np.random.default_rng(0).standard_normal((T, BATCH, INPUT)).astype(np.float32)


def _weights(kind):
    torch = import_torch()
    torch.manual_seed(0)
    m = getattr(torch.nn, kind)(INPUT, HIDDEN)
    return {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}


def _run(lib, kind):
    T_ = lib
    m = getattr(T_.nn, kind)(INPUT, HIDDEN)
    m.load_state_dict({k: T_.tensor(v) for k, v in _weights(kind).items()})
    x = T_.tensor(_data())

    def step():
        out, h = m(x)
        h_n = h[0] if kind == "LSTM" else h
        loss = h_n.sum()
        loss.backward()
        grads = [float(p.grad.abs().sum()) for p in m.parameters()]
        m.zero_grad(set_to_none=True)
        return loss, grads

    loss, grads = step()
    check = [float(loss)] + grads
    return per_iteration(lambda: step()), check


def w6_torch():
    return _run(import_torch(), "RNN")


def w6_dlmath():
    return _run(import_dlmath(), "RNN")


def w7_torch():
    return _run(import_torch(), "LSTM")


def w7_dlmath():
    return _run(import_dlmath(), "LSTM")


FUNCS_W6 = {"torch": w6_torch, "dlmath": w6_dlmath}
FUNCS_W7 = {"torch": w7_torch, "dlmath": w7_dlmath}
