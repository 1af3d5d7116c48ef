"""Audit of the stable losses and activations against torch 2.13 and against the mathematics.

* ``binary_cross_entropy_with_logits`` at infinite logits: the limit of the
  loss (0 where the logit agrees with the target, +inf where not) and the
  gradient w ((1 + (p - 1) t) sigmoid(z) - p t), finite, with a finite
  second derivative; PyTorch gives NaN there (``dlmath_only``, see
  docs/differences.md). At finite logits, up to +-1e4, with ``weight``,
  ``pos_weight`` and every reduction: PyTorch's values and gradients.
* The gradients of ``softplus`` at +inf and ``logsigmoid`` at -inf: 1, as
  PyTorch (they were NaN: exp(inf - inf) in the slope), with beta and
  threshold, in float16, float32 and float64, to second order.
* dtypes: every activation keeps float16 / float32 / float64 as PyTorch does
  (``silu`` and ``sigmoid`` returned float64 for float16).
"""

import warnings
import zlib

import numpy as np
import pytest
from scipy.special import expit

from helpers import compare_with_torch, dlmath_only, dm, second_order_check, to_numpy

INF = np.inf
RNG = np.random.default_rng(2013)


def F(lib):
    return lib.nn.functional


def _dtype(lib, name):
    return getattr(lib, name)


def _name(dtype):
    return str(dtype).split(".")[-1]


# ------------------------------------------------ BCE with logits: the reference ----
def _softplus(v):
    """log(1 + e^v) in float64, exact at +-inf (logaddexp(0, inf) = inf, (0, -inf) = 0)."""
    return np.logaddexp(0.0, v)


def _reference(z, t, w=None, p=None):
    """The loss w [(1 - t) softplus(z) + p t softplus(-z)] with 0 * inf = 0, its gradient
    w ((1 + (p - 1) t) sigmoid(z) - p t) and second derivative w (1 + (p - 1) t) sigmoid'(z)."""
    w = np.ones_like(z) if w is None else np.broadcast_to(w, z.shape)
    p = np.ones_like(z) if p is None else np.broadcast_to(p, z.shape)
    c_neg, c_pos = w * (1 - t), w * p * t
    with np.errstate(all="ignore"):
        loss = (np.where(c_neg == 0, 0.0, c_neg * _softplus(z))
                + np.where(c_pos == 0, 0.0, c_pos * _softplus(-z)))
    grad = w * ((1 + (p - 1) * t) * expit(z) - p * t)
    hess = w * (1 + (p - 1) * t) * expit(z) * expit(-z)
    return loss, grad, hess


# every case of an infinite logit, then finite ones (large, moderate, zero)
Z = np.array([INF, -INF, INF, -INF, INF, -INF, INF, -INF, 0.7, -1e4, 1e4, -3.0, 0.0, 100.0])
T = np.array([1.0, 0.0, 0.0, 1.0, 0.3, 0.6, 0.999, 0.001, 0.2, 0.0, 0.4, 1.0, 0.5, 1.0])
AGREE = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], bool)   # loss exactly 0
DISAGREE = np.isinf(Z) & ~AGREE                                        # loss +inf (soft targets too)
PW = RNG.uniform(0.5, 3.0, Z.shape)
W = RNG.uniform(0.5, 2.0, Z.shape)
WEIGHTS = [(None, None), ("pw", None), (None, "w"), ("pw", "w")]


def _kw(lib, dtype, pw, w):
    kw = {}
    if pw:
        kw["pos_weight"] = lib.tensor(PW, dtype=dtype)
    if w:
        kw["weight"] = lib.tensor(W, dtype=dtype)
    return kw


def _grads(lib, out, x, create_graph=False):
    return lib.autograd.grad(out, x, create_graph=create_graph)[0]


@dlmath_only
@pytest.mark.parametrize("pw,w", WEIGHTS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_logits_infinite_logits_limit_loss_and_gradient(dtype, pw, w):
    dt = _dtype(dm, dtype)
    z = dm.tensor(Z, dtype=dt, requires_grad=True)
    t = dm.tensor(T, dtype=dt)
    loss = F(dm).binary_cross_entropy_with_logits(z, t, reduction="none", **_kw(dm, dt, pw, w))
    assert _name(loss.dtype) == dtype
    value = to_numpy(loss)
    assert (value[AGREE] == 0).all(), value                 # exactly 0, not NaN
    assert (value[DISAGREE] == INF).all(), value            # +inf, soft targets included
    ref_loss, ref_grad, ref_hess = _reference(Z, T.astype(dtype).astype(np.float64),
                                              W if w else None, PW if pw else None)
    tol = dict(rtol=1e-6, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(value, ref_loss, **tol)

    grad = _grads(dm, loss.sum(), z, create_graph=True)
    g = to_numpy(grad)
    assert np.isfinite(g).all(), g
    np.testing.assert_allclose(g, ref_grad, **tol)
    assert (g[AGREE] == 0).all()
    hess = to_numpy(_grads(dm, grad.sum(), z))
    assert np.isfinite(hess).all(), hess
    assert (hess[np.isinf(Z)] == 0).all()                   # sigmoid'(+-inf) = 0
    np.testing.assert_allclose(hess, ref_hess, **tol)


@dlmath_only
def test_bce_logits_infinite_logits_exact_gradient_values():
    """sigmoid(z) - t at z = +-inf: 0 where the logit agrees, 1 or -1 where it does not, 1 - t or -t for soft t."""
    z = dm.tensor([INF, -INF, INF, -INF, INF, -INF], requires_grad=True)
    t = dm.tensor([1.0, 0.0, 0.0, 1.0, 0.25, 0.25])
    loss = F(dm).binary_cross_entropy_with_logits(z, t, reduction="none")
    np.testing.assert_array_equal(to_numpy(loss), [0, 0, INF, INF, INF, INF])
    loss.backward(dm.ones_like(loss))
    np.testing.assert_array_equal(to_numpy(z.grad), [0, 0, 1, -1, 0.75, -0.25])
    z.grad = None
    # pos_weight p = 3: (1 + 2 t) sigmoid(z) - 3 t
    loss = F(dm).binary_cross_entropy_with_logits(z, t, reduction="sum", pos_weight=dm.tensor([3.0]))
    assert loss.item() == INF
    loss.backward()
    np.testing.assert_array_equal(to_numpy(z.grad), [0, 0, 1, -3, 0.75, -0.75])


@dlmath_only
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("pw,w", WEIGHTS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_logits_agreeing_infinities_reduce_to_torch_on_the_finite_entries(dtype, pw, w, reduction, torch):
    """Logits of +-inf that agree with the target cost 0: the sum is torch's sum over the
    other entries, the mean that sum over all N; their gradients are 0, the rest torch's."""
    finite = ~np.isinf(Z)
    keep = AGREE | finite
    z_np, t_np = Z[keep], T[keep]
    pw_np, w_np = PW[keep], W[keep]
    dt = _dtype(dm, dtype)
    z = dm.tensor(z_np, dtype=dt, requires_grad=True)
    kw = {}
    if pw:
        kw["pos_weight"] = dm.tensor(pw_np, dtype=dt)
    if w:
        kw["weight"] = dm.tensor(w_np, dtype=dt)
    ours = F(dm).binary_cross_entropy_with_logits(z, dm.tensor(t_np, dtype=dt), reduction=reduction, **kw)
    ours.backward()

    tdt = getattr(torch, dtype)
    sub = finite[keep]
    zt = torch.tensor(z_np[sub], dtype=tdt, requires_grad=True)
    tkw = {}
    if pw:
        tkw["pos_weight"] = torch.tensor(pw_np[sub], dtype=tdt)
    if w:
        tkw["weight"] = torch.tensor(w_np[sub], dtype=tdt)
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(
        zt, torch.tensor(t_np[sub], dtype=tdt), reduction="sum", **tkw)
    theirs.backward()
    n = z_np.size if reduction == "mean" else 1
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(ours.item(), theirs.item() / n, rtol=rtol)
    g = to_numpy(z.grad)
    assert (g[~sub] == 0).all()
    # absolute: at z = 100, t = 1 the gradient is -p e^-100; torch's (1 + (p - 1) t) sigmoid(z) - p t
    # cancels to a few eps there, dlmath's (1 - t) - (1 + (p - 1) t) sigmoid(-z) does not
    atol = 8 * np.finfo(dtype).eps * 3
    np.testing.assert_allclose(g[sub], zt.grad.numpy() / n, rtol=rtol, atol=atol)


@dlmath_only
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_bce_logits_disagreeing_infinity_reduces_to_inf_with_finite_gradient(reduction):
    z = dm.tensor(Z, requires_grad=True, dtype=dm.float64)
    loss = F(dm).binary_cross_entropy_with_logits(z, dm.tensor(T), reduction=reduction,
                                                   pos_weight=dm.tensor(PW), weight=dm.tensor(W))
    assert loss.item() == INF
    loss.backward()
    n = Z.size if reduction == "mean" else 1
    np.testing.assert_allclose(to_numpy(z.grad), _reference(Z, T, W, PW)[1] / n, rtol=1e-12, atol=1e-15)


@dlmath_only
@pytest.mark.parametrize("pw,w", WEIGHTS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_logits_entries_beside_infinities_match_torch(dtype, pw, w, torch):
    """The form used when some logit is infinite gives torch's values and gradients (logits and
    targets) at the finite entries of the same tensor; an infinite logit does not spread."""
    dt, tdt = _dtype(dm, dtype), getattr(torch, dtype)
    z = dm.tensor(Z, dtype=dt, requires_grad=True)
    t = dm.tensor(T, dtype=dt, requires_grad=True)
    loss = F(dm).binary_cross_entropy_with_logits(z, t, reduction="none", **_kw(dm, dt, pw, w))
    loss.backward(dm.ones_like(loss))
    finite = ~np.isinf(Z)
    zt = torch.tensor(Z[finite], dtype=tdt, requires_grad=True)
    tt = torch.tensor(T[finite], dtype=tdt, requires_grad=True)
    tkw = {}
    if pw:
        tkw["pos_weight"] = torch.tensor(PW[finite], dtype=tdt)
    if w:
        tkw["weight"] = torch.tensor(W[finite], dtype=tdt)
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(zt, tt, reduction="none", **tkw)
    theirs.sum().backward()
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(to_numpy(loss)[finite], theirs.detach().numpy(), **tol)
    np.testing.assert_allclose(to_numpy(z.grad)[finite], zt.grad.numpy(), **tol)
    np.testing.assert_allclose(to_numpy(t.grad)[finite], tt.grad.numpy(), **tol)
    assert not np.isnan(to_numpy(t.grad)).any()
    assert (to_numpy(t.grad)[AGREE] == 0).all()     # the 0 * inf term: the xlogy convention


@dlmath_only
def test_bce_logits_zero_weight_ignores_an_infinite_logit():
    """A weight of 0 removes the entry, also where its logit disagrees with the target (0 * inf = 0)."""
    z = dm.tensor([INF, -INF, 0.5], requires_grad=True)
    t = dm.tensor([0.0, 1.0, 1.0])
    loss = F(dm).binary_cross_entropy_with_logits(z, t, weight=dm.tensor([0.0, 0.0, 1.0]), reduction="sum")
    np.testing.assert_allclose(loss.item(), np.log1p(np.exp(-0.5)), rtol=1e-6)
    loss.backward()
    np.testing.assert_allclose(to_numpy(z.grad), [0.0, 0.0, expit(0.5) - 1], rtol=1e-6)
    # pos_weight 0: the positive term is gone, so z = -inf with t = 1 costs nothing
    z.grad = None
    loss = F(dm).binary_cross_entropy_with_logits(z, t, pos_weight=dm.tensor([0.0]), reduction="none")
    np.testing.assert_array_equal(to_numpy(loss), [INF, 0.0, 0.0])
    loss.sum().backward()
    np.testing.assert_array_equal(to_numpy(z.grad), [1.0, 0.0, 0.0])


@dlmath_only
def test_bce_logits_infinite_logits_forward_mode_and_hessian():
    z = dm.tensor([INF, -INF, INF, 0.5], dtype=dm.float64)
    t = dm.tensor([1.0, 0.0, 0.3, 0.2], dtype=dm.float64)
    pw = dm.tensor([2.0], dtype=dm.float64)

    def f(v):
        return F(dm).binary_cross_entropy_with_logits(v, t, reduction="none", pos_weight=pw)

    out, tangent = dm.func.jvp(f, (z,), (dm.ones_like(z),))
    ref_loss, ref_grad, ref_hess = _reference(to_numpy(z), to_numpy(t), p=np.full(4, 2.0))
    np.testing.assert_array_equal(to_numpy(out)[:3], [0, 0, INF])
    np.testing.assert_allclose(to_numpy(tangent), ref_grad, rtol=1e-12)     # diagonal Jacobian
    hess = to_numpy(dm.func.hessian(lambda v: f(v).sum())(z))
    np.testing.assert_allclose(hess, np.diag(ref_hess), rtol=1e-12, atol=1e-300)


@dlmath_only
def test_bce_logits_infinite_logits_float16():
    z = dm.tensor([INF, -INF, INF, 2.0], dtype=dm.float16, requires_grad=True)
    t = dm.tensor([1.0, 0.0, 0.0, 1.0], dtype=dm.float16)
    loss = F(dm).binary_cross_entropy_with_logits(z, t, reduction="none")
    assert loss.dtype == dm.float16
    np.testing.assert_allclose(to_numpy(loss).astype(float), [0, 0, INF, np.log1p(np.exp(-2.0))], rtol=1e-3)
    loss.sum().backward()
    assert z.grad.dtype == dm.float16
    np.testing.assert_allclose(to_numpy(z.grad).astype(float), [0, 0, 1, expit(2.0) - 1], rtol=2e-3)


def test_bce_logits_nan_logit_is_nan(torch):
    for lib in (dm, torch):
        loss = F(lib).binary_cross_entropy_with_logits(lib.tensor([np.nan, 1.0]), lib.tensor([1.0, 0.0]),
                                                        reduction="none")
        assert np.isnan(to_numpy(loss)[0]) and np.isfinite(to_numpy(loss)[1])


# ------------------------------------------------ BCE with logits against torch, finite ----
LOGITS = np.array([[1e4, -1e4, 0.0, 100.0], [-100.0, 3.0, -0.5, 1e4], [-1e4, 20.0, -20.0, 0.0]])
TARGETS = np.array([[1.0, 0.0, 0.5, 0.0], [1.0, 0.3, 0.0, 0.7], [0.0, 1.0, 0.9, 1.0]])
POS_WEIGHT = np.array([0.5, 2.0, 3.0, 1.0])          # one per class (the last dim)
WEIGHT = np.array([[0.5], [2.0], [1.5]])             # one per row


def _pos_weight(v):
    from helpers import Arg
    return Arg(value=v, grad=False)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("pw,w", WEIGHTS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_logits_large_finite_logits_match_torch(dtype, pw, w, reduction, torch):
    """Values and gradients (logits and targets) at logits of +-1e4, +-100, +-20 and 0."""
    def fn(lib, z, t, pw_, w_):
        return F(lib).binary_cross_entropy_with_logits(z, t, weight=w_, pos_weight=pw_, reduction=reduction)

    def call(lib, z, t, *rest):
        it = iter(rest)
        return fn(lib, z, t, next(it) if pw else None, next(it) if w else None)

    sample = (LOGITS, TARGETS) + ((_pos_weight(POS_WEIGHT),) if pw else ()) + ((_pos_weight(WEIGHT),) if w else ())
    compare_with_torch(call, sample, dtype=dtype, torch=torch)
    z = dm.tensor(LOGITS, dtype=_dtype(dm, dtype), requires_grad=True)
    kw = {"pos_weight": dm.tensor(POS_WEIGHT, dtype=z.dtype) if pw else None,
          "weight": dm.tensor(WEIGHT, dtype=z.dtype) if w else None}
    loss = F(dm).binary_cross_entropy_with_logits(z, dm.tensor(TARGETS, dtype=z.dtype), reduction=reduction, **kw)
    assert np.isfinite(to_numpy(loss)).all()
    loss.backward(dm.ones_like(loss))
    assert np.isfinite(to_numpy(z.grad)).all()


@pytest.mark.parametrize("pw,w", WEIGHTS)
def test_bce_logits_second_derivative(pw, w):
    """grad of grad against central differences, at moderate logits (float64)."""
    rng = np.random.default_rng(5)
    z = dm.tensor(rng.standard_normal((3, 4)) * 3, requires_grad=True)
    t = dm.tensor(rng.uniform(0, 1, (3, 4)))
    kw = {"pos_weight": dm.tensor(POS_WEIGHT) if pw else None, "weight": dm.tensor(WEIGHT) if w else None}
    second_order_check(lambda lib, v: F(lib).binary_cross_entropy_with_logits(v, t, **kw), (z,))


# ------------------------------------------------ softplus and logsigmoid at +-inf ----
X_EXTREME = np.array([-INF, -1e4, -100.0, -20.5, -1.0, -0.0, 0.0, 0.5, 4.9, 19.9, 20.1, 100.0, 1e4, INF])
# (beta, threshold); no x * beta equals a threshold: there torch's second derivative takes the
# linear branch (x beta < threshold) and its first derivative the soft one (x beta > threshold)
SOFTPLUS_OPTIONS = [(1.0, 20.0), (2.0, 10.0), (0.5, 5.0), (-1.0, 20.0), (1.0, 0.6), (3.0, 100.0)]
FP_TOL = {"float16": (2e-3, 1e-3), "float32": (1e-6, 1e-7), "float64": (1e-13, 1e-300)}


def _sigmoid_prime(v):
    return expit(v) * expit(-v)


def _value_grad_hess(lib, fn, x_np, dtype):
    x = lib.tensor(x_np, dtype=_dtype(lib, dtype), requires_grad=True)
    y = fn(lib, x)
    g = lib.autograd.grad(y.sum(), x, create_graph=True)[0]
    h = lib.autograd.grad(g.sum(), x)[0]
    return [to_numpy(v).astype(np.float64) for v in (y, g, h)] + [str(y.dtype), str(g.dtype)]


def _assert_like_torch(fn, dtype, torch, hess_ref, scale=1.0):
    """Value and gradient against torch; the second derivative against ``hess_ref`` (float64
    mathematics: torch's double backward computes sigmoid (1 - sigmoid), which cancels for
    x >> 0), to a few eps absolute: dlmath's reaches e^-y through expm1's backward, y + 1."""
    ours = _value_grad_hess(dm, fn, X_EXTREME, dtype)
    theirs = _value_grad_hess(torch, fn, X_EXTREME, dtype)
    rtol, atol = FP_TOL[dtype]
    for what, a, b in zip(("value", "gradient"), ours[:2], theirs[:2]):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(ours[2], hess_ref, rtol=16 * eps, atol=8 * eps * scale, err_msg="second derivative")
    assert np.isfinite(ours[1]).all() and np.isfinite(ours[2]).all(), ours[1:3]
    assert _name(ours[3]) == _name(theirs[3]) == dtype and _name(ours[4]) == dtype
    return ours


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("beta,threshold", SOFTPLUS_OPTIONS)
def test_softplus_at_infinity_like_torch(beta, threshold, dtype, torch):
    """softplus(x; beta, threshold): value and gradient at +-inf and beyond the threshold are
    torch's, finite; the gradient is 1 at +inf (0 for beta < 0); the second derivative is
    beta sigmoid'(beta x) below the threshold, 0 above it and at +-inf."""
    bx = X_EXTREME.astype(dtype).astype(np.float64) * beta
    with np.errstate(invalid="ignore"):
        hess = np.where(bx > threshold, 0.0, beta * _sigmoid_prime(bx))
    _, g, h, *_ = _assert_like_torch(lambda lib, x: F(lib).softplus(x, beta=beta, threshold=threshold),
                                     dtype, torch, hess, scale=abs(beta))
    assert g[0] == (1.0 if beta < 0 else 0.0) and g[-1] == (1.0 if beta > 0 else 0.0)
    assert h[0] == h[-1] == 0.0


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_logsigmoid_at_infinity_like_torch(dtype, torch):
    """logsigmoid = -softplus(-x): gradient sigmoid(-x), 1 at -inf (it was NaN), 0 at +inf;
    second derivative -sigmoid'(x), 0 at +-inf."""
    hess = -_sigmoid_prime(X_EXTREME.astype(dtype).astype(np.float64))
    _, g, h, *_ = _assert_like_torch(lambda lib, x: F(lib).logsigmoid(x), dtype, torch, hess)
    assert g[0] == 1.0 and g[-1] == 0.0 and h[0] == 0.0 and h[-1] == 0.0


def test_softplus_default_gradient_exactly_one_at_inf(torch):
    for lib in (dm, torch):
        x = lib.tensor([INF, -INF], requires_grad=True)
        F(lib).softplus(x).sum().backward()
        np.testing.assert_array_equal(to_numpy(x.grad), [1.0, 0.0])
        x.grad = None
        F(lib).logsigmoid(x).sum().backward()
        np.testing.assert_array_equal(to_numpy(x.grad), [0.0, 1.0])


@dlmath_only
def test_softplus_without_threshold_never_overflows():
    """threshold=inf (no linear regime): dlmath's softplus(1e4) is 1e4 with gradient 1; torch
    computes log1p(exp(1e4)) = inf and a NaN gradient (docs/differences.md)."""
    x = dm.tensor([50.0, 1e4, INF], dtype=dm.float64, requires_grad=True)
    y = F(dm).softplus(x, threshold=INF)
    np.testing.assert_array_equal(to_numpy(y), [50.0, 1e4, INF])
    y.sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [1.0, 1.0, 1.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logsigmoid_slope_accurate(dtype):
    """d/dx logsigmoid(x) = sigmoid(-x) to a few ulps across both tails (no threshold there)."""
    x_np = np.linspace(-80.0, 80.0, 4001).astype(dtype)
    x = dm.tensor(x_np, requires_grad=True)
    F(dm).logsigmoid(x).sum().backward()
    true = expit(-x_np.astype(np.float64))
    err = np.abs(to_numpy(x.grad).astype(np.float64) - true) / true
    assert err.max() < 4 * np.finfo(dtype).eps, err.max()


@dlmath_only
def test_softplus_derivatives_at_zero_to_third_order():
    """sigmoid'(0) = 1/4 and sigmoid''(0) = 0 exactly: the slope is smooth (no kink of max or |z|)."""
    x = dm.tensor([0.0, 1.5], dtype=dm.float64, requires_grad=True)
    g = dm.autograd.grad(F(dm).softplus(x).sum(), x, create_graph=True)[0]
    h = dm.autograd.grad(g.sum(), x, create_graph=True)[0]
    k = dm.autograd.grad(h.sum(), x)[0]
    s = expit(1.5)
    np.testing.assert_allclose(to_numpy(g), [0.5, s], rtol=1e-15)
    np.testing.assert_allclose(to_numpy(h), [0.25, s * (1 - s)], rtol=1e-14)
    np.testing.assert_allclose(to_numpy(k), [0.0, s * (1 - s) * (1 - 2 * s)], rtol=1e-13, atol=1e-300)


# ------------------------------------------------ dtypes of the activations ----
ACTIVATIONS = [
    ("sigmoid", lambda lib, x: F(lib).sigmoid(x)),
    ("tanh", lambda lib, x: F(lib).tanh(x)),
    ("relu", lambda lib, x: F(lib).relu(x)),
    ("gelu", lambda lib, x: F(lib).gelu(x)),
    ("gelu_tanh", lambda lib, x: F(lib).gelu(x, approximate="tanh")),
    ("softplus", lambda lib, x: F(lib).softplus(x)),
    ("softplus_beta", lambda lib, x: F(lib).softplus(x, beta=2.0, threshold=3.0)),
    ("logsigmoid", lambda lib, x: F(lib).logsigmoid(x)),
    ("silu", lambda lib, x: F(lib).silu(x)),
    ("softmax", lambda lib, x: F(lib).softmax(x, dim=-1)),
    ("log_softmax", lambda lib, x: F(lib).log_softmax(x, dim=-1)),
    ("softmin", lambda lib, x: F(lib).softmin(x, dim=-1)),
    ("dropout_eval", lambda lib, x: F(lib).dropout(x, training=False)),
    ("special.expit", lambda lib, x: lib.special.expit(x)),
    ("special.erf", lambda lib, x: lib.special.erf(x)),
    ("special.erfc", lambda lib, x: lib.special.erfc(x)),
    ("special.ndtr", lambda lib, x: lib.special.ndtr(x)),
]
GRAD_TOL = {"float16": (1e-2, 2e-3), "float32": (1e-5, 1e-6), "float64": (1e-12, 1e-14)}


@pytest.mark.parametrize("shape", [(3, 5), ()], ids=["3x5", "0d"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("name,fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_keeps_dtype_like_torch(name, fn, dtype, shape, torch):
    rng = np.random.default_rng(zlib.crc32(f"{name} {dtype} {shape}".encode()))  # the same with -k
    x_np = (rng.standard_normal(shape) * 3).astype(dtype)
    out = []
    for lib in (dm, torch):
        x = lib.tensor(x_np, dtype=_dtype(lib, dtype), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = fn(lib, x)
        y.backward(lib.ones_like(y))
        out.append((y, x.grad))
    (y, g), (yt, gt) = out
    assert _name(y.dtype) == _name(yt.dtype) == dtype, (y.dtype, yt.dtype)
    assert _name(g.dtype) == dtype, g.dtype
    # float32 as the rest of the suite: torch's vectorised float32 GELU computes 1 + erf(x / sqrt 2),
    # which cancels for x < -2 (a relative error of 1e-4 at x = -3); dlmath's erfc form does not
    rtol, atol = {"float16": (2e-3, 1e-3), "float32": (1e-5, 1e-5), "float64": (1e-12, 1e-14)}[dtype]
    np.testing.assert_allclose(to_numpy(y).astype(float), to_numpy(yt).astype(float), rtol=rtol, atol=atol)
    rtol, atol = GRAD_TOL[dtype]
    np.testing.assert_allclose(to_numpy(g).astype(float), to_numpy(gt).astype(float), rtol=rtol, atol=atol)


def test_silu_float16_stays_float16_to_second_order():
    x = dm.tensor([-4.0, -1.0, 0.0, 2.0, 8.0], dtype=dm.float16, requires_grad=True)
    y = F(dm).silu(x)
    assert y.dtype == dm.float16
    g = dm.autograd.grad(y.sum(), x, create_graph=True)[0]
    h = dm.autograd.grad(g.sum(), x)[0]
    assert g.dtype == h.dtype == dm.float16
    xs = np.array([-4.0, -1.0, 0.0, 2.0, 8.0])
    s = expit(xs)
    np.testing.assert_allclose(to_numpy(y).astype(float), xs * s, rtol=2e-3, atol=1e-3)
    np.testing.assert_allclose(to_numpy(g).astype(float), s * (1 + xs * (1 - s)), rtol=5e-3, atol=2e-3)
    np.testing.assert_allclose(to_numpy(h).astype(float), s * (1 - s) * (2 + xs * (1 - 2 * s)),
                               rtol=1e-2, atol=3e-3)


@dlmath_only
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelu_tanh_keeps_its_negative_tail(dtype):
    """0.5 x (1 + tanh(u)) = x sigmoid(2u): PyTorch's 1 + tanh(u) cancels to 0 below x ~ -5.5 in
    float32; dlmath keeps a few ulps of relative accuracy (value and gradient)."""
    x_np = np.linspace(-12.0, -3.0, 91).astype(dtype)
    x = dm.tensor(x_np, requires_grad=True)
    y = F(dm).gelu(x, approximate="tanh")
    y.sum().backward()
    xs = x_np.astype(np.float64)
    two_u = np.sqrt(8 / np.pi) * (xs + 0.044715 * xs ** 3)
    s = expit(two_u)
    true = xs * s
    true_grad = s + xs * s * (1 - s) * np.sqrt(8 / np.pi) * (1 + 3 * 0.044715 * xs ** 2)
    ok = np.abs(true) > np.finfo(dtype).tiny * 1e3      # away from the subnormal range
    # exp(v) carries the rounding of its argument v = -2u as a relative error |v| eps
    rtol = np.finfo(dtype).eps * (64 + 4 * np.abs(two_u).max())
    np.testing.assert_allclose(to_numpy(y)[ok], true[ok], rtol=rtol)
    ok = np.abs(true_grad) > np.finfo(dtype).tiny * 1e3
    np.testing.assert_allclose(to_numpy(x.grad)[ok], true_grad[ok], rtol=4 * rtol)
