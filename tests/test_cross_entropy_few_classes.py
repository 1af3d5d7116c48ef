"""SoftmaxCrossEntropy's few-class path (2-D logits, C <= 64: row max over a transposed copy,
row sums by a BLAS product) against torch, at the boundary and past it."""
import numpy as np
import pytest
import torch

import dlmath as dm


@pytest.mark.parametrize("C", [1, 3, 10, 64, 65, 200])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "none", "sum"])
def test_matches_torch(C, dtype, reduction):
    rng = np.random.default_rng(C)
    x = (rng.standard_normal((37, C)) * 30).astype(dtype)
    if C > 1:
        x[3, 0] = -np.inf   # a masked logit that is not the target's
    y = rng.integers(1 if C > 1 else 0, C, 37)
    a = dm.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    la = dm.nn.functional.cross_entropy(a, dm.tensor(y), reduction=reduction)
    lb = torch.nn.functional.cross_entropy(b, torch.tensor(y), reduction=reduction)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(la.detach().numpy(), lb.detach().numpy(), rtol=tol, atol=tol)
    la.sum().backward()
    lb.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol)


def test_non_contiguous_logits():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 16)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    a, b = dm.tensor(x).t(), torch.tensor(x).t()
    np.testing.assert_allclose(dm.nn.functional.cross_entropy(a, dm.tensor(y)).numpy(),
                               torch.nn.functional.cross_entropy(b, torch.tensor(y)).numpy(), rtol=1e-6)
