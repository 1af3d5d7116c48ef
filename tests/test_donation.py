"""Donated cotangents: the plain backward pass lets a vjp (ReLU's) overwrite a
cotangent that no one else holds. Every way another holder can exist must keep
the out-of-place rule, and the gradients must match PyTorch's either way."""

import numpy as np
import pytest

from helpers import dlmath_only, dm, to_numpy
from dlmath.ops import unary

# the engine's own buffers: nothing here to check against PyTorch standing in for dlmath
pytestmark = [pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor"), dlmath_only]


@pytest.fixture
def donations(monkeypatch):
    """Count the calls of ReLU's in-place rule."""
    calls = []
    rule = unary.Relu.vjp_donated

    def spy(self, g, x, y):
        calls.append(g.shape)
        return rule(self, g, x, y)
    monkeypatch.setattr(unary.Relu, "vjp_donated", spy)
    return calls


def _grads(lib, f, arrays):
    ts = [lib.tensor(a, requires_grad=True) for a in arrays]
    f(*ts).backward()
    return [to_numpy(t.grad) for t in ts]


CASES = {
    # a chain: every cotangent reaching a ReLU is fresh
    "chain": (lambda a, b: (((a * 1).relu() * 2).relu() * b).sum(), 2),
    # add hands one cotangent to both ReLUs: only the second may take it over
    "shared by two relus": (lambda a, b: (((a * 1).relu() + (b * 1).relu()) * 2).sum(), 1),
    # add hands it to a leaf too: the leaf's .grad must not be masked
    "shared with a leaf": (lambda a, b: ((a + (b * 1).relu()) * 3).sum(), 0),
    # two branches of a sum: each ReLU gets its own fresh cotangent
    "two branches": (lambda a, b: (a * b).relu().sum() + (a * 1).relu().sum() * 0.5, 2),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradients_match_torch_and_donation_happens_only_when_safe(name, torch, donations):
    f, expected = CASES[name]
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))]
    ours, theirs = _grads(dm, f, arrays), _grads(torch, f, arrays)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert len(donations) == expected


def test_user_gradient_is_never_overwritten(donations):
    x = dm.randn(3, 4, requires_grad=True)
    h = x.relu()
    g = dm.randn(3, 4)
    before = g.numpy().copy()
    h.backward(g)
    np.testing.assert_array_equal(g.numpy(), before)
    assert not donations


def test_retained_grad_is_not_masked(donations):
    x = dm.tensor([[-1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    r = (x * 2).relu()
    r.retain_grad()
    (r * 3).sum().backward()
    np.testing.assert_array_equal(to_numpy(r.grad), np.full((2, 2), 3.0))
    np.testing.assert_array_equal(to_numpy(x.grad), [[0.0, 6.0], [6.0, 0.0]])
    assert not donations


def test_retain_graph_backward_twice_gives_the_same_gradient(donations):
    x = dm.randn(5, 3, requires_grad=True)
    loss = ((x * 2).relu() * 3).sum()
    loss.backward(retain_graph=True)
    first = to_numpy(x.grad).copy()
    x.grad = None
    loss.backward()
    np.testing.assert_array_equal(to_numpy(x.grad), first)
    assert len(donations) == 2
