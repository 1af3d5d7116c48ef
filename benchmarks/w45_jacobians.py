"""W4 "Hessian" and W5 "Jacobian": second and first derivatives as function transforms.

W4: the full Hessian (64 x 64) of the mean logistic loss, X of 256 x 64, float64::

    f(w) = mean(log1p(exp(-y * (X @ w))))        hessian(f)(w) = X^T diag(p (1 - p)) X / n

W5: the 256 x 256 Jacobian of softmax, float64: jacrev(softmax)(z) = diag(s) - s s^T.

PyTorch runs ``torch.func.hessian`` / ``torch.func.jacrev``, dlmath the same code
through ``dm.func``, JAX ``jax.hessian`` / ``jax.jacrev`` (eager, no jit) and HIPS
autograd ``hessian`` / ``jacobian`` when installed; the NumPy floor is the
closed form by hand. Reported as milliseconds per call; ``check`` is
[trace, sum |entries|] of the result.
"""

from __future__ import annotations

import numpy as np

from timing import import_dlmath, import_torch, per_iteration

N, D, K = 256, 64, 256


def w4_data():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((N, D))
    y = np.where(rng.random(N) < 0.5, -1.0, 1.0)
    w = 0.1 * rng.standard_normal(D)
    return X, y, w


def w5_data():
    return np.random.default_rng(5).standard_normal(K)


def _check(m) -> list[float]:
    m = np.asarray(m, dtype=np.float64)
    return [float(np.trace(m)), float(np.abs(m).sum())]


# -- PyTorch and dlmath: the same code through torch.func / dm.func -----------

def _w4_torchlike(T):
    X, y, w = (T.tensor(a) for a in w4_data())
    hess = T.func.hessian(lambda w: T.log1p(T.exp(-y * (X @ w))).mean())
    return per_iteration(lambda: hess(w)), _check(hess(w).detach().numpy())


def _w5_torchlike(T):
    z = T.tensor(w5_data())
    jac = T.func.jacrev(lambda z: T.softmax(z, dim=-1))
    return per_iteration(lambda: jac(z)), _check(jac(z).detach().numpy())


def w4_torch():
    return _w4_torchlike(import_torch())


def w4_dlmath():
    return _w4_torchlike(import_dlmath())


def w5_torch():
    return _w5_torchlike(import_torch())


def w5_dlmath():
    return _w5_torchlike(import_dlmath())


# -- NumPy floor: the closed forms --------------------------------------------

def w4_numpy():
    X, y, w = w4_data()

    def hess():
        p = 1.0 / (1.0 + np.exp(-y * (X @ w)))
        return (X.T * (p * (1 - p))) @ X / N
    return per_iteration(hess), _check(hess())


def w5_numpy():
    z = w5_data()

    def jac():
        s = np.exp(z - z.max())
        s /= s.sum()
        return np.diag(s) - np.outer(s, s)
    return per_iteration(jac), _check(jac())


# -- JAX (eager) and HIPS autograd ---------------------------------------------

def w4_jax():
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    X, y, w = (jnp.asarray(a) for a in w4_data())
    hess = jax.hessian(lambda w: jnp.mean(jnp.log1p(jnp.exp(-y * (X @ w)))))
    return per_iteration(lambda: hess(w).block_until_ready()), _check(hess(w))


def w5_jax():
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    z = jnp.asarray(w5_data())
    jac = jax.jacrev(lambda z: jax.nn.softmax(z, axis=-1))
    return per_iteration(lambda: jac(z).block_until_ready()), _check(jac(z))


def w4_autograd():
    import autograd.numpy as anp
    from autograd import hessian
    X, y, w = w4_data()
    hess = hessian(lambda w: anp.mean(anp.log1p(anp.exp(-y * anp.dot(X, w)))))
    return per_iteration(lambda: hess(w)), _check(hess(w))


def w5_autograd():
    import autograd.numpy as anp
    from autograd import jacobian
    z = w5_data()

    def softmax(z):
        e = anp.exp(z - anp.max(z))
        return e / anp.sum(e)
    jac = jacobian(softmax)
    return per_iteration(lambda: jac(z)), _check(jac(z))


FUNCS_W4 = {"torch": w4_torch, "dlmath": w4_dlmath, "numpy": w4_numpy, "jax": w4_jax,
            "autograd": w4_autograd}
FUNCS_W5 = {"torch": w5_torch, "dlmath": w5_dlmath, "numpy": w5_numpy, "jax": w5_jax,
            "autograd": w5_autograd}
