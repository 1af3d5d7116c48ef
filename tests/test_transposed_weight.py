"""A weight stored as nn.Linear stores it, W of shape (out, in), used as x @ W.T: its gradient
is torch's, and reaches W as a plain row-major array of its own (no copy of a transposed view,
no strided update), without ever aliasing another gradient or the caller's arrays."""
import numpy as np
import pytest

from helpers import dlmath_only, dm

RNG = np.random.default_rng(5)
X, W0, B0 = RNG.standard_normal((6, 4)), RNG.standard_normal((3, 4)), RNG.standard_normal(3)


def _steps(lib, n=3, lr=0.1):
    W = lib.tensor(W0, requires_grad=True)
    b = lib.tensor(B0, requires_grad=True)
    x = lib.tensor(X)
    for _ in range(n):
        loss = ((x @ W.T + b).relu() ** 2).mean()
        loss.backward()
        with lib.no_grad():
            for p in (W, b):
                p -= lr * p.grad
                p.grad = None
    return W.detach().numpy(), b.detach().numpy()


def test_training_steps_match_torch(torch):
    for ours, theirs in zip(_steps(dm), _steps(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("form", ["x @ W.T", "W @ x.T", "W.T.T @ x.T", "(x @ W.T).T"])
def test_gradients_match_torch(torch, form):
    grads = []
    for lib in (dm, torch):
        W, x = lib.tensor(W0, requires_grad=True), lib.tensor(X, requires_grad=True)
        y = {"x @ W.T": lambda: x @ W.T, "W @ x.T": lambda: W @ x.T,
             "W.T.T @ x.T": lambda: W.T.T @ x.T, "(x @ W.T).T": lambda: (x @ W.T).T}[form]()
        (y.tanh() * lib.tensor(np.arange(y.numel()).reshape(tuple(y.shape)) / 7.0)).sum().backward()
        grads.append((W.grad.numpy(), x.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@dlmath_only
def test_the_weight_gradient_is_a_row_major_array_of_its_own():
    W, x = dm.tensor(W0, requires_grad=True), dm.tensor(X)
    (x @ W.T).sum().backward()
    g = W.grad.numpy()
    assert g.flags.c_contiguous and g.base is None


@dlmath_only
def test_a_retained_gradient_of_the_transpose_is_not_shared():
    W, x = dm.tensor(W0, requires_grad=True), dm.tensor(X)
    WT = W.T
    WT.retain_grad()
    (x @ WT).sum().backward()
    assert not np.shares_memory(W.grad.numpy(), WT.grad.numpy())
    W.grad.zero_()
    assert WT.grad.abs().sum().item() > 0


@dlmath_only
def test_the_callers_gradient_array_never_becomes_a_grad():
    W = dm.tensor(W0, requires_grad=True)
    G = np.ones((3, 4))
    W.T.backward(gradient=G.T)                  # a view of the caller's G
    assert not np.shares_memory(W.grad.numpy(), G)
    W.grad = None
    W.T.backward(gradient=dm.tensor(G).T)
    assert not np.shares_memory(W.grad.numpy(), G)
