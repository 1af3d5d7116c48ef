"""Gradients at kinks, ties and singular points: PyTorch's choice of
subgradient, except where dlmath documents a better answer (logsumexp of
all -inf: gradient 0, not NaN)."""

import numpy as np
import pytest

from helpers import dlmath_only, dm, grads_like_torch, to_numpy

INF = np.inf


def _grad(fn, values):
    x = dm.tensor(np.asarray(values, dtype=np.float64), dtype=dm.float64, requires_grad=True)
    out = fn(dm, x)
    out.sum().backward()
    return to_numpy(out), to_numpy(x.grad)


KINKS = {  # name -> (fn, input, expected gradient of out.sum())
    "abs_at_zero": (lambda lib, x: x.abs(), [-1.0, 0.0, 2.0], [-1.0, 0.0, 1.0]),
    "relu_at_zero": (lambda lib, x: x.relu(), [-1.0, 0.0, 2.0], [0.0, 0.0, 1.0]),
    "sign_everywhere_zero": (lambda lib, x: x.sign(), [-1.0, 0.0, 2.0], [0.0, 0.0, 0.0]),
    "clamp_at_bounds": (lambda lib, x: x.clamp(-0.5, 0.5), [-1.0, -0.5, 0.0, 0.5, 1.0],
                        [0.0, 1.0, 1.0, 1.0, 0.0]),
    "clamp_min_at_bound": (lambda lib, x: x.clamp(min=0.0), [-1.0, 0.0, 1.0], [0.0, 1.0, 1.0]),
    "clamp_max_at_bound": (lambda lib, x: x.clamp(max=0.0), [-1.0, 0.0, 1.0], [1.0, 1.0, 0.0]),
    "full_max_ties_split": (lambda lib, x: x.max(), [[1.0, 3.0, 3.0], [2.0, 3.0, 0.0]],
                            [[0.0, 1 / 3, 1 / 3], [0.0, 1 / 3, 0.0]]),
    "full_min_ties_split": (lambda lib, x: x.min(), [[1.0, 3.0, 1.0]], [[0.5, 0.0, 0.5]]),
    "amax_ties_split": (lambda lib, x: x.amax(dim=1), [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]],
                        [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]),
    "amin_ties_split": (lambda lib, x: x.amin(dim=0), [[1.0, 3.0], [1.0, 2.0]],
                        [[0.5, 0.0], [0.5, 1.0]]),
    "amax_all_ties_split": (lambda lib, x: x.amax(), [[2.0, 2.0], [2.0, 1.0]],
                            [[1 / 3, 1 / 3], [1 / 3, 0.0]]),
    "sqrt_at_zero_is_inf": (lambda lib, x: x.sqrt(), [0.0, 1.0], [INF, 0.5]),
    "norm_at_zero": (lambda lib, x: x.norm(), [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
    "norm_dim_at_zero_row": (lambda lib, x: x.norm(dim=1), [[0.0, 0.0], [3.0, 4.0]],
                             [[0.0, 0.0], [0.6, 0.8]]),
    "prod_with_one_zero": (lambda lib, x: x.prod(), [2.0, 0.0, 3.0], [0.0, 6.0, 0.0]),
    "prod_with_two_zeros": (lambda lib, x: x.prod(), [2.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
}


@pytest.mark.parametrize("name", sorted(KINKS))
def test_subgradient_value(name):
    fn, x, expected = KINKS[name]
    _, grad = _grad(fn, x)
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(KINKS))
def test_subgradient_matches_torch(name, torch):
    fn, x, _ = KINKS[name]
    grads_like_torch(fn, x, torch=torch)


def test_maximum_minimum_ties_split_evenly(torch):
    for fn in (lambda lib, a, b: lib.maximum(a, b), lambda lib, a, b: lib.minimum(a, b)):
        _, (ga, gb) = grads_like_torch(fn, [1.0, 2.0, 5.0], [1.0, 3.0, 4.0], torch=torch)
        assert ga[0] == gb[0] == 0.5


@pytest.mark.parametrize("reduction", ["max", "min"])
def test_max_dim_gradient_goes_to_returned_index(reduction, torch):
    values = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [-1.0, -1.0, -1.0]]
    results = []
    for lib in (dm, torch):
        x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
        res = getattr(x, reduction)(dim=1)
        res.values.sum().backward()
        results.append((to_numpy(res.indices), to_numpy(x.grad)))
    (idx, grad), (torch_idx, torch_grad) = results
    expected = np.zeros((3, 3))
    expected[np.arange(3), idx] = 1.0
    np.testing.assert_array_equal(grad, expected)
    np.testing.assert_array_equal(idx, torch_idx)  # the first of the tied maxima
    np.testing.assert_array_equal(grad, torch_grad)


def test_max_dim_namedtuple():
    x = dm.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    res = x.max(dim=1)
    values, indices = res
    np.testing.assert_array_equal(to_numpy(res[0]), to_numpy(values))
    np.testing.assert_array_equal(to_numpy(res.values), [5.0, 7.0])
    np.testing.assert_array_equal(to_numpy(indices), [1, 0])
    assert indices.dtype == dm.int64
    res_min = dm.min(x, dim=0, keepdim=True)
    assert tuple(res_min.values.shape) == (1, 3) and tuple(res_min.indices.shape) == (1, 3)


def test_argmax_argmin_ties_pick_first():
    x = dm.tensor([[1.0, 3.0, 3.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(to_numpy(x.argmax(dim=1)), [1, 0])
    np.testing.assert_array_equal(to_numpy(x.argmin(dim=1)), [0, 0])
    assert x.argmax().item() == 1 and x.argmin().item() == 3  # flattened index


@dlmath_only
def test_logsumexp_all_neg_inf_is_neg_inf_with_zero_gradient():
    """Documented deviation: PyTorch gives NaN gradients here."""
    x = dm.tensor([[-INF, -INF, -INF], [0.0, 1.0, -INF]], dtype=dm.float64,
                  requires_grad=True)
    out = x.logsumexp(dim=1)
    assert to_numpy(out)[0] == -INF
    np.testing.assert_allclose(to_numpy(out)[1], np.log(1 + np.e))
    out.sum().backward()
    grad = to_numpy(x.grad)
    np.testing.assert_array_equal(grad[0], [0.0, 0.0, 0.0])
    p = np.exp([0.0, 1.0]) / np.exp([0.0, 1.0]).sum()
    np.testing.assert_allclose(grad[1], [p[0], p[1], 0.0])


def test_logsumexp_partially_neg_inf_matches_torch(torch):
    grads_like_torch(lambda lib, x: x.logsumexp(dim=-1), [[0.0, -INF, 2.0], [-INF, 1.0, 1.0]],
                     torch=torch)


def test_logsumexp_large_values_stable(torch):
    out, grad = grads_like_torch(lambda lib, x: x.logsumexp(dim=0), [1000.0, 1000.0, -1000.0],
                                 torch=torch)
    np.testing.assert_allclose(out, 1000.0 + np.log(2.0))
    np.testing.assert_allclose(grad[0], [0.5, 0.5, 0.0])


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_extreme_logits_finite(op, torch):
    fn = lambda lib, x: getattr(x, op)(dim=-1) * lib.tensor(  # noqa: E731
        [1.0, -2.0, 0.5], dtype=lib.float64)
    for dtype in ("float64", "float32"):
        x = dm.tensor([1e4, 0.0, -1e4], dtype=getattr(dm, dtype), requires_grad=True)
        out = getattr(x, op)(dim=-1)
        out.backward(dm.tensor([1.0, -2.0, 0.5], dtype=x.dtype))
        assert np.all(np.isfinite(to_numpy(out))) and np.all(np.isfinite(to_numpy(x.grad)))
    grads_like_torch(fn, [1e4, 0.0, -1e4], torch=torch)
    grads_like_torch(fn, [[1e4, 1e4, -1e4]], torch=torch)


def test_softmax_sums_to_one_and_is_shift_invariant():
    x = dm.randn(4, 5, dtype=dm.float64)
    s = x.softmax(dim=1)
    np.testing.assert_allclose(to_numpy(s.sum(dim=1)), np.ones(4))
    np.testing.assert_allclose(to_numpy((x + 100.0).softmax(dim=1)), to_numpy(s), rtol=1e-12)


def test_double_where_keeps_gradient_finite():
    """where(x > 0, sqrt(x), 0) has a NaN gradient at x < 0 in PyTorch (0 * inf
    through the unselected branch); the double-where pattern avoids it."""
    x = dm.tensor([-1.0, 0.0, 4.0], dtype=dm.float64, requires_grad=True)
    safe = dm.where(x > 0, x, dm.ones_like(x))
    dm.where(x > 0, safe.sqrt(), 0.0).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [0.0, 0.0, 0.25])


def test_relu_and_abs_second_derivatives():
    x = dm.tensor([-1.0, 0.5, 2.0], dtype=dm.float64, requires_grad=True)
    for fn, expected in ((lambda t: t.relu(), [0.0, 2.0, 2.0]),
                         (lambda t: t.abs(), [2.0, 2.0, 2.0])):
        g, = dm.autograd.grad(fn(x).pow(2).sum(), x, create_graph=True)
        h, = dm.autograd.grad(g.sum(), x)
        np.testing.assert_allclose(to_numpy(h), expected)
