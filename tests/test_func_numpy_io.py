"""dm.func: NumPy arrays in give NumPy arrays out; Tensors in give Tensors out (API.md)."""
import numpy as np

import dlmath as dm
from dlmath import func


def loss(w):
    return (w * w * w).sum()


def test_grad_arrays_in_arrays_out():
    w = np.array([1.0, 2.0])
    g = func.grad(loss)(w)
    assert isinstance(g, np.ndarray)
    np.testing.assert_allclose(g, 3 * w ** 2)
    assert isinstance(func.grad(loss)(dm.tensor(w)), dm.Tensor)


def test_hessian_jacobians_and_composition():
    w = np.array([1.0, 2.0])
    h = func.hessian(loss)(w)
    assert isinstance(h, np.ndarray)
    np.testing.assert_allclose(h, np.diag(6 * w))
    gg = func.grad(lambda v: func.grad(loss)(v).sum())(w)
    assert isinstance(gg, np.ndarray)
    np.testing.assert_allclose(gg, 6 * w)
    assert isinstance(func.jacfwd(lambda v: v * 2)(w), np.ndarray)


def test_vjp_jvp_hvp_numerical_grad():
    w, v = np.array([1.0, 2.0]), np.array([1.0, 0.0])
    out, vjp_fn = func.vjp(lambda x: x * 3, w)
    assert isinstance(out, np.ndarray)
    (gw,) = vjp_fn(np.ones(2))
    assert isinstance(gw, np.ndarray)
    np.testing.assert_allclose(gw, [3.0, 3.0])
    value, tangent = func.jvp(loss, (w,), (v,))
    assert isinstance(tangent, np.ndarray)
    np.testing.assert_allclose(tangent, 3.0)
    value, hv = func.hvp(loss, (w,), (v,))
    np.testing.assert_allclose(hv, [6.0, 0.0])
    assert isinstance(func.numerical_grad(loss, w), np.ndarray)
