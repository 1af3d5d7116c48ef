"""W8 "nn MLP step" and W9 "Transformer block step": training written with nn modules and optim.

W8: ``nn.Sequential(Linear(784, 512), ReLU(), Linear(512, 256), ReLU(), Linear(256, 10))``,
``F.cross_entropy``, ``optim.SGD(lr=0.01)``, batch 128, float32; the weights are W2's, stored
(out, in) as nn.Linear stores them, so the NumPy floor is W2T's (``numpy_floor.make_step_t``).
Issue #10's targets: >= 1.0x PyTorch's steps/s and >= 0.9x the floor.

W9: one pre-LayerNorm Transformer block on tokens (embedding V=64, d=128, 4 heads, T=64,
batch 16, causal attention, tanh-GELU MLP 4x, a LayerNorm and a head back to V), Adam; the
attention written by hand (W9) and with ``F.scaled_dot_product_attention`` (W9S).
Target >= 1.0x PyTorch. The same code runs on both libraries; weights are copied from
a seeded torch model, so the ``check`` (first loss, sum |grad| of each parameter) agrees.
"""

from __future__ import annotations

import math

import numpy as np

from timing import import_dlmath, import_torch, per_iteration
from w2_mlp import _first_step
from w2t_mlp import w2t_data

V, D, HEADS, T, BATCH = 64, 128, 4, 64, 16


def _mlp(lib):
    nn, F = lib.nn, lib.nn.functional
    xs, ys, ps = w2t_data()
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    model.load_state_dict({k: lib.tensor(p) for k, p in zip(model.state_dict(), ps)})
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    x, y = lib.tensor(xs), lib.tensor(ys)

    def step():
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    # the check is W2's: the loss and how far each parameter moved in the first step
    check = _first_step(step, lambda: list(model.parameters()))
    return per_iteration(step), check


def w8_torch():
    return _mlp(import_torch())


def w8_dlmath():
    return _mlp(import_dlmath())


def w8_numpy():
    from w2t_mlp import w2t_numpy
    return w2t_numpy()


def _block_model(lib, sdpa):
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, D)
            self.ln1, self.ln2, self.lnf = nn.LayerNorm(D), nn.LayerNorm(D), nn.LayerNorm(D)
            self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
            self.fc1, self.fc2 = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)
            self.head = nn.Linear(D, V)

        def forward(self, idx, causal):
            B_, T_ = idx.shape
            x = self.emb(idx)
            q, k, v = self.qkv(self.ln1(x)).split(D, dim=-1)
            q, k, v = (t.reshape(B_, T_, HEADS, D // HEADS).transpose(1, 2) for t in (q, k, v))
            if sdpa:
                a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D // HEADS))
                a = att.masked_fill(causal, float("-inf")).softmax(-1) @ v
            x = x + self.proj(a.transpose(1, 2).reshape(B_, T_, D))
            x = x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))
            return self.head(self.lnf(x))

    return Block()


def _block(lib, sdpa):
    torch = import_torch()
    torch.manual_seed(0)
    ref = _block_model(torch, sdpa)
    weights = {k: v.detach().numpy().copy() for k, v in ref.state_dict().items()}
    model = _block_model(lib, sdpa)
    model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    idx = lib.tensor(rng.integers(0, V, (BATCH, T)))
    targets = lib.tensor(rng.integers(0, V, (BATCH * T,)))
    causal = lib.tensor(np.triu(np.ones((T, T), bool), 1))
    F = lib.nn.functional

    def step():
        loss = F.cross_entropy(model(idx, causal).reshape(-1, V), targets)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    loss = step()
    return per_iteration(step), [float(loss)]


def w9_torch():
    return _block(import_torch(), False)


def w9_dlmath():
    return _block(import_dlmath(), False)


def w9s_torch():
    return _block(import_torch(), True)


def w9s_dlmath():
    return _block(import_dlmath(), True)


FUNCS_W8 = {"torch": w8_torch, "dlmath": w8_dlmath, "numpy": w8_numpy}
FUNCS_W9 = {"torch": w9_torch, "dlmath": w9_dlmath}
FUNCS_W9S = {"torch": w9s_torch, "dlmath": w9s_dlmath}
