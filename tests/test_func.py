"""dm.func: transforms against torch.func (the oracle), closed forms and finite differences.

Functions: a polynomial, softmax (Jacobian diag(s) - s s^T), the mean logistic
loss (Hessian X^T diag(p(1-p)) X / n), an RNN step (Jacobian w.r.t. the hidden
state diag(1 - h'^2) W) and a tiny MLP's loss over its flattened parameters.
Then composition, pytrees, vmap, errors, and the nesting cases (perturbation confusion).
"""

import functools

import numpy as np
import pytest

from helpers import dlmath_only, dm

pytestmark = dlmath_only  # dm.func's extras (hvp, numerical_grad, arrays in) are not torch's

RNG = np.random.default_rng(0)


def close(a, b, rtol=1e-8, atol=1e-10):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# --- the functions, written once for dlmath and torch ---------------------------------------
def poly(lib, x):
    return (x ** 3 - 2 * x ** 2 + x).sum()


def logistic(lib, X, y, w):
    return lib.log1p(lib.exp(-y * (X @ w))).mean()


def rnn_step(lib, W, U, b, x, h):
    return lib.tanh(W @ h + U @ x + b)


N, D = 40, 6
X, Y, W0 = RNG.standard_normal((N, D)), np.where(RNG.random(N) < 0.5, -1.0, 1.0), 0.3 * RNG.standard_normal(D)


def numerical_jacobian(f, x, eps=1e-6):
    """Central differences, column by column: the definition of the derivative."""
    x = np.asarray(x, dtype=np.float64)
    y0 = np.asarray(f(dm.tensor(x)).detach().numpy())
    J = np.zeros(y0.shape + x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        J[(Ellipsis,) + i] = (f(dm.tensor(x + e)).detach().numpy() - f(dm.tensor(x - e)).detach().numpy()) / (2 * eps)
    return J


def logistic_hessian(w):
    p = 1 / (1 + np.exp(-Y * (X @ w)))
    return X.T @ np.diag(p * (1 - p)) @ X / N


def softmax_jacobian(z):
    s = np.exp(z - z.max())
    s /= s.sum()
    return np.diag(s) - np.outer(s, s)


# --- gradients ------------------------------------------------------------------------------
def test_grad_of_polynomial_matches_closed_form_torch_and_differences(torch):
    x = RNG.standard_normal(5)
    g = dm.func.grad(functools.partial(poly, dm))(x)
    assert isinstance(g, np.ndarray) and g.shape == (5,) and g.dtype == dm.float64
    close(g, 3 * x ** 2 - 4 * x + 1)
    close(g, torch.func.grad(functools.partial(poly, torch))(torch.tensor(x)))
    close(dm.func.numerical_grad(functools.partial(poly, dm), x), g, rtol=1e-6, atol=1e-7)


def test_second_derivative_is_grad_of_grad():
    d = dm.func.grad(dm.func.grad(lambda x: x ** 3 - 2 * x ** 2 + x))
    for x in (-1.5, 0.0, 2.0):
        close(d(dm.tensor(x, dtype=dm.float64)), np.array(6 * x - 4))
    d3 = dm.func.grad(dm.func.grad(dm.func.grad(lambda x: dm.sin(x))))
    close(d3(dm.tensor(0.7, dtype=dm.float64)), np.array(-np.cos(0.7)))


def test_value_and_grad_orders_and_aux(torch):
    f = functools.partial(poly, dm)
    x = dm.tensor(RNG.standard_normal(3))
    v, g = dm.func.value_and_grad(f)(x)                     # JAX order
    g2, v2 = dm.func.grad_and_value(f)(x)                   # torch order
    close(v, f(x)), close(g, g2), close(v2, v)
    (_, aux), g3 = dm.func.value_and_grad(lambda x: (f(x), x * 2), has_aux=True)(x)
    close(aux, x * 2), close(g3, g)
    g4, aux4 = dm.func.grad(lambda x: (f(x), "tag"), has_aux=True)(x)
    assert aux4 == "tag" and not g4.requires_grad


def test_argnums_and_pytrees(torch):
    Xt, Yt = dm.tensor(X), dm.tensor(Y)
    f = lambda X, y, w: logistic(dm, X, y, w)
    gX, gw = dm.func.grad(f, argnums=(0, 2))(Xt, Yt, W0)
    tX, tw = torch.func.grad(lambda X, y, w: logistic(torch, X, y, w), argnums=(0, 2))(
        torch.tensor(X), torch.tensor(Y), torch.tensor(W0))
    close(gX, tX), close(gw, tw)
    params = {"w": dm.tensor(W0), "b": [dm.tensor(0.0, dtype=dm.float64)]}
    g = dm.func.grad(lambda p: dm.log1p(dm.exp(-Yt * (Xt @ p["w"] + p["b"][0]))).mean())(params)
    assert set(g) == {"w", "b"} and isinstance(g["b"], list) and g["b"][0].shape == ()
    close(g["w"], gw)


# --- Jacobians ----------------------------------------------------------------------------
@pytest.mark.parametrize("jac", ["jacrev", "jacfwd", "jacobian"])
def test_softmax_jacobian_is_diag_minus_outer(jac, torch):
    z = RNG.standard_normal(7)
    J = getattr(dm.func, jac)(lambda z: dm.softmax(z, dim=-1))(z)
    close(J, softmax_jacobian(z), atol=1e-12)
    close(J, torch.func.jacrev(lambda z: torch.softmax(z, -1))(torch.tensor(z)))
    close(J, numerical_jacobian(lambda z: dm.softmax(z, dim=-1), z), rtol=1e-6, atol=1e-8)
    Z = RNG.standard_normal((3, 4))        # a batch of rows: block diagonal, shape (3, 4, 3, 4)
    JB = getattr(dm.func, jac)(functools.partial(dm.softmax, dim=1))(Z)
    assert JB.shape == (3, 4, 3, 4)
    for i in range(3):
        close(JB[i, :, i, :], softmax_jacobian(Z[i]), atol=1e-12)
        close(JB[i, :, (i + 1) % 3, :], np.zeros((4, 4)))


def test_rnn_step_jacobian_wrt_hidden_state(torch):
    H, I = 5, 3
    W, U = RNG.standard_normal((H, H)) / 2, RNG.standard_normal((H, I))
    b, x, h = RNG.standard_normal(H), RNG.standard_normal(I), RNG.standard_normal(H)
    step = lambda h: rnn_step(dm, dm.tensor(W), dm.tensor(U), dm.tensor(b), dm.tensor(x), h)
    h1 = np.tanh(W @ h + U @ x + b)
    closed = np.diag(1 - h1 ** 2) @ W
    close(dm.func.jacrev(step)(h), closed)
    close(dm.func.jacfwd(step)(h), closed)
    tstep = lambda h: rnn_step(torch, *(torch.tensor(a) for a in (W, U, b, x)), h)
    close(dm.func.jacrev(step)(h), torch.func.jacrev(tstep)(torch.tensor(h)))
    close(dm.func.jacfwd(step)(h), numerical_jacobian(step, h), rtol=1e-6, atol=1e-8)
    # through 3 steps: the product of the per-step Jacobians (the vanishing-gradient product)
    J3 = dm.func.jacrev(lambda h: step(step(step(h))))(h)
    Js, hk = [], h
    for _ in range(3):
        hn = np.tanh(W @ hk + U @ x + b)
        Js.append(np.diag(1 - hn ** 2) @ W)
        hk = hn
    close(J3, Js[2] @ Js[1] @ Js[0])


def test_jacobian_of_several_outputs_and_inputs(torch):
    a, b = RNG.standard_normal(3), RNG.standard_normal((2, 3))
    f = lambda a, b: (a * b, (a * b).sum(1).exp())
    for jac in (dm.func.jacrev, dm.func.jacfwd):
        (J0a, J0b), (J1a, J1b) = jac(f, argnums=(0, 1))(a, b)
        tf = lambda a, b: (a * b, (a * b).sum(1).exp())
        (T0a, T0b), (T1a, T1b) = torch.func.jacrev(tf, argnums=(0, 1))(torch.tensor(a), torch.tensor(b))
        for ours, theirs in ((J0a, T0a), (J0b, T0b), (J1a, T1a), (J1b, T1b)):
            close(ours, theirs)


def test_jacrev_chunked_equals_whole():
    z = RNG.standard_normal(10)
    f = lambda z: dm.softmax(z, dim=0) * z
    close(dm.func.jacrev(f, chunk_size=3)(z), dm.func.jacrev(f)(z))


# --- Hessians, hvp, jvp --------------------------------------------------------------------
def test_logistic_hessian_closed_form_and_torch(torch):
    Xt, Yt = dm.tensor(X), dm.tensor(Y)
    f = lambda w: logistic(dm, Xt, Yt, w)
    H = dm.func.hessian(f)(W0)
    assert H.shape == (D, D)
    close(H, H.T, atol=1e-14)
    close(H, logistic_hessian(W0), atol=1e-12)
    tf = lambda w: logistic(torch, torch.tensor(X), torch.tensor(Y), w)
    close(H, torch.func.hessian(tf)(torch.tensor(W0)), atol=1e-12)
    close(H, numerical_jacobian(dm.func.grad(f), W0), rtol=1e-5, atol=1e-8)   # differences of gradients
    v = RNG.standard_normal(D)
    val, Hv = dm.func.hvp(f, (W0,), (v,))
    close(val, tf(torch.tensor(W0))), close(Hv, logistic_hessian(W0) @ v, atol=1e-12)
    out, dv = dm.func.jvp(f, (W0,), (v,))
    close(out, val), close(dv, dm.func.grad(f)(W0) @ dm.tensor(v))


def test_hessian_compositions_agree():
    Xt, Yt = dm.tensor(X), dm.tensor(Y)
    f = lambda w: logistic(dm, Xt, Yt, w) + (w ** 4).sum() / 4
    ref = logistic_hessian(W0) + np.diag(3 * W0 ** 2)
    F = dm.func
    for H in (F.hessian(f), F.jacfwd(F.jacrev(f)), F.jacrev(F.jacrev(f)), F.jacfwd(F.jacfwd(f)),
              F.jacrev(F.jacfwd(f))):
        close(H(W0), ref, atol=1e-12)
    v = RNG.standard_normal(D)
    close(F.hvp(f, W0, v)[1], ref @ v, atol=1e-12)


def _mlp_params(rng, sizes=(3, 4, 1)):
    shapes = [(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
    return shapes, rng.standard_normal(sum(a * b + b for a, b in shapes)) * 0.7


def _mlp_loss(lib, theta, shapes, x, y):
    h, k = x, 0
    for i, (a, b) in enumerate(shapes):
        W = theta[k:k + a * b].reshape(a, b)
        bias = theta[k + a * b:k + a * b + b]
        k += a * b + b
        h = h @ W + bias
        if i < len(shapes) - 1:
            h = lib.tanh(h)
    return ((h - y) ** 2).mean()


def test_tiny_mlp_loss_hessian(torch):
    shapes, theta = _mlp_params(RNG)
    x, y = RNG.standard_normal((8, 3)), RNG.standard_normal((8, 1))
    f = lambda t: _mlp_loss(dm, t, shapes, dm.tensor(x), dm.tensor(y))
    H = dm.func.hessian(f)(theta)
    assert H.shape == (theta.size, theta.size)
    close(H, H.T, atol=1e-12)
    tf = lambda t: _mlp_loss(torch, t, shapes, torch.tensor(x), torch.tensor(y))
    close(H, torch.func.hessian(tf)(torch.tensor(theta)), atol=1e-10)
    close(H, dm.func.jacrev(dm.func.jacrev(f))(theta), atol=1e-10)
    # the Hessian's columns are differences of gradients
    g = dm.func.grad(f)
    e = np.zeros(theta.size)
    e[3] = 1e-6
    close(H[:, 3], (g(theta + e) - g(theta - e)) / 2e-6, rtol=1e-5, atol=1e-6)


# --- vmap ---------------------------------------------------------------------------------------
def test_vmap_loop_in_out_dims():
    A = RNG.standard_normal((4, 3))
    M = dm.tensor(RNG.standard_normal((3, 3)))
    out = dm.func.vmap(lambda a, m: m @ a)(A, M.unsqueeze(0).expand(4, 3, 3))
    close(out, A @ M.numpy().T)
    out = dm.func.vmap(lambda a, m: m @ a, in_dims=(1, None), out_dims=1)(A.T, M)
    close(out, (A @ M.numpy().T).T)
    per_example = dm.func.vmap(dm.func.grad(lambda w, x: (x @ w).tanh()), in_dims=(None, 0))(W0[:3], A)
    close(per_example, (1 - np.tanh(A @ W0[:3]) ** 2)[:, None] * A)
    with pytest.raises(ValueError, match="same size"):
        dm.func.vmap(lambda a, b: a + b)(np.ones((2, 3)), np.ones((3, 3)))


def test_vmap_of_vjp_fn_is_one_batched_pass():
    z = RNG.standard_normal(6)
    _, vjp_fn = dm.func.vjp(lambda z: dm.softmax(z, dim=0), z)
    rows = dm.func.vmap(vjp_fn)(np.eye(6))
    assert isinstance(rows, tuple) and len(rows) == 1
    close(rows[0], softmax_jacobian(z).T)
    close(vjp_fn(dm.tensor(np.eye(6)[2]))[0], softmax_jacobian(z)[2])


# --- inputs, outputs, grad mode, nesting ------------------------------------------------
def test_arrays_in_arrays_out_dtype_kept():
    # API.md: arrays in, arrays out of dm.func transforms (Tensors in, Tensors out)
    x = RNG.standard_normal(4).astype(np.float32)
    g = dm.func.grad(lambda x: (x * x).sum())(x)
    assert isinstance(g, np.ndarray) and g.dtype == dm.float32
    assert isinstance(dm.func.grad(lambda x: (x * x).sum())(dm.tensor(x)), dm.Tensor)
    assert dm.func.jacfwd(lambda x: x * 2)(x).dtype == dm.float32
    assert dm.func.numerical_grad(lambda x: (x * x).sum(), x).dtype == dm.float32


def test_inside_no_grad_and_with_requires_grad_inputs():
    x = dm.tensor([1.0, -2.0], requires_grad=True)
    with dm.no_grad():
        g = dm.func.grad(lambda x: (x ** 3).sum())(x)
    assert not g.requires_grad
    close(g, 3 * np.array([1.0, -2.0]) ** 2)
    g = dm.func.grad(lambda x: (x ** 3).sum())(x)      # differentiable at the outer level, as torch
    assert g.requires_grad
    g.sum().backward()
    close(x.grad, 6 * np.array([1.0, -2.0]))


def test_no_perturbation_confusion():
    x = dm.tensor(1.5, dtype=dm.float64)
    # d/dx [x * d/dy (x y)] = d/dx x^2 = 2x (a confused implementation gets more)
    g = dm.func.grad(lambda x: x * dm.func.grad(lambda y: x * y)(x))(x)
    close(g, np.array(3.0))
    f = lambda x: x * dm.func.jvp(lambda y: x + y, (x,), (dm.ones_like(x),))[1]
    close(dm.func.jvp(f, (x,), (dm.ones_like(x),))[1], np.array(1.0))
    close(dm.func.grad(f)(x), np.array(1.0))


def test_closure_over_outer_level():
    a = dm.tensor(RNG.standard_normal(3))
    # d/da of grad_w <a, w>^2 / 2 at w: the inner grad is a <a, w>; its Jacobian w.r.t. a is <a, w> I + w a^T
    w = RNG.standard_normal(3)
    J = dm.func.jacrev(lambda a: dm.func.grad(lambda w: (a @ w) ** 2 / 2)(w))(a)
    close(J, (a.numpy() @ w) * np.eye(3) + np.outer(a.numpy(), w))


# --- errors -----------------------------------------------------------------------------------
def test_grad_of_non_scalar_says_use_jacrev_or_vjp():
    with pytest.raises(RuntimeError, match=r"scalar.*\(3,\).*jacrev.*vjp"):
        dm.func.grad(lambda x: x * 2)(np.ones(3))
    with pytest.raises(RuntimeError, match="scalar"):
        dm.func.grad(lambda x: 3.0)(np.ones(3))


def test_jvp_tangent_shape_mismatch_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"\(2,\).*\(3,\)"):
        dm.func.jvp(lambda x: x.sin(), (np.ones(3),), (np.ones(2),))
    with pytest.raises(RuntimeError, match="tuples"):
        dm.func.jvp(lambda x: x, np.ones(3), np.ones(3))


def test_other_errors():
    with pytest.raises(RuntimeError, match="floating"):
        dm.func.grad(lambda x: x.sum())(np.arange(3))
    with pytest.raises(RuntimeError, match="argnums"):
        dm.func.grad(lambda x: x.sum(), argnums=2)(np.ones(3))
    _, vjp_fn = dm.func.vjp(lambda x: x * 2, np.ones(3))
    with pytest.raises(RuntimeError, match="shape"):
        vjp_fn(np.ones(4))
