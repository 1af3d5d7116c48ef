"""dm.distributions against torch.distributions, the pathwise derivative, sample moments and MLE.

Values and gradients (w.r.t. every parameter) of log_prob, entropy, moments
and KL come from the torch oracle; rsample's gradients are checked against
the pathwise derivative computed by hand from the same noise; sample moments
against the analytic ones within a few standard errors (seeded, not flaky).
"""

import math

import numpy as np
import pytest
from scipy import stats

from helpers import AGAINST_TORCH, compare_with_torch, dlmath_only, dm, numerical_vjp_check, \
    second_order_check

R = np.random.default_rng(7)


def _spd(n, batch=(), seed=0):
    a = np.random.default_rng(seed).standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _tril(n, batch=(), seed=0):
    a = np.tril(np.random.default_rng(seed).standard_normal(batch + (n, n)), -1)
    return a + np.eye(n) * np.random.default_rng(seed + 1).uniform(0.5, 2.0, batch + (n,))[..., None]


def _t(lib, value, like):
    return lib.tensor(np.asarray(value), dtype=like.dtype)


X_NORMAL = R.standard_normal((4, 3))
X_MVN = R.standard_normal((4, 2, 3))
BITS = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
IDS = np.array([[0, 3], [2, 1], [3, 3]])


def _normal(lib, loc, scale):
    d = lib.distributions.Normal(loc, scale)
    return d.log_prob(_t(lib, X_NORMAL, loc)), d.entropy(), d.mean, d.variance, d.stddev, d.cdf(_t(lib, X_NORMAL, loc))


def _bernoulli(kind):
    def fn(lib, param):
        d = lib.distributions.Bernoulli(**{kind: param})
        return (d.log_prob(_t(lib, BITS, param)), d.entropy(), d.mean, d.variance, d.probs, d.logits, d.mode,
                d.stddev)
    return fn


def _categorical(kind):
    def fn(lib, param):
        d = lib.distributions.Categorical(**{kind: param})
        return d.log_prob(lib.tensor(IDS)), d.entropy(), d.probs, d.logits, d.mode, d.mean, d.variance
    return fn


def _mvn(kind):
    def fn(lib, loc, matrix):
        d = lib.distributions.MultivariateNormal(loc, **{kind: matrix})
        out = (d.log_prob(_t(lib, X_MVN, loc)), d.entropy(), d.mean, d.variance, d.scale_tril, d.covariance_matrix)
        # precision from scale_tril: see test_precision_gradient_ignores_upper_triangle
        return out if kind == "scale_tril" else out + (d.precision_matrix,)
    return fn


CASES = {
    "normal": (_normal, (R.standard_normal(3), R.uniform(0.5, 2, 3))),
    "normal_broadcast": (_normal, (R.standard_normal((2, 4, 1)), R.uniform(0.5, 2, 3))),
    "bernoulli_probs": (_bernoulli("probs"), (R.uniform(0.1, 0.9, 3),)),
    "bernoulli_logits": (_bernoulli("logits"), (np.array([[0.0, 1.5, -2.0], [3.0, -0.3, 0.7]]),)),
    "categorical_probs": (_categorical("probs"), (R.uniform(0.2, 2.0, (2, 4)),)),
    "categorical_logits": (_categorical("logits"), (R.standard_normal((2, 4)) * 2,)),
    "mvn_covariance": (_mvn("covariance_matrix"), (R.standard_normal(3), _spd(3))),
    "mvn_precision": (_mvn("precision_matrix"), (R.standard_normal((2, 3)), _spd(3, seed=1))),
    "mvn_scale_tril": (_mvn("scale_tril"), (R.standard_normal(3), _tril(3, (2,)))),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name, dtype, torch):
    fn, arrays = CASES[name]
    tol = (1e-4, 1e-4, 1e-3, 1e-4) if dtype == "float32" else None
    compare_with_torch(fn, arrays, dtype=dtype, torch=torch, tolerances=tol)


def _kl(make_p, make_q):
    def fn(lib, *params):
        D = lib.distributions
        k = len(params) // 2
        return D.kl_divergence(make_p(D, *params[:k]), make_q(D, *params[k:]))
    return fn


KL_CASES = {
    "normal": (_kl(lambda D, m, s: D.Normal(m, s), lambda D, m, s: D.Normal(m, s)),
               (R.standard_normal((2, 3)), R.uniform(0.5, 2, 3), R.standard_normal(3), R.uniform(0.5, 2, (2, 3)))),
    "bernoulli": (_kl(lambda D, p: D.Bernoulli(probs=p), lambda D, z: D.Bernoulli(logits=z)),
                  (R.uniform(0.1, 0.9, 4), R.standard_normal(4))),
    "categorical": (_kl(lambda D, p: D.Categorical(probs=p), lambda D, z: D.Categorical(logits=z)),
                    (R.uniform(0.2, 2, (3, 5)), R.standard_normal(5))),
    "mvn": (_kl(lambda D, m, c: D.MultivariateNormal(m, covariance_matrix=c),
                lambda D, m, L: D.MultivariateNormal(m, scale_tril=L)),
            (R.standard_normal((2, 3)), _spd(3, seed=3), R.standard_normal(3), _tril(3, (2,), seed=4))),
}


@pytest.mark.parametrize("name", list(KL_CASES))
def test_kl_matches_torch(name, torch):
    fn, arrays = KL_CASES[name]
    compare_with_torch(fn, arrays, torch=torch)


def test_kl_with_zero_probabilities_matches_torch(torch):
    for lib in (dm, torch):
        D = lib.distributions
        kb = D.kl_divergence(D.Bernoulli(lib.tensor([0.0, 1.0, 0.3, 0.5])),
                             D.Bernoulli(lib.tensor([0.5, 0.5, 0.0, 1.0])))
        kc = D.kl_divergence(D.Categorical(lib.tensor([[0.0, 0.5, 0.5], [0.2, 0.8, 0.0]])),
                             D.Categorical(lib.tensor([0.5, 0.5, 0.0])))
        if lib is dm:
            ours = kb.numpy(), kc.numpy()
    np.testing.assert_allclose(ours[0], kb.numpy(), rtol=1e-5)
    np.testing.assert_allclose(ours[1], kc.numpy(), rtol=1e-5)
    assert np.isinf(ours[0][2:]).all() and np.isinf(ours[1][0])


def test_kl_is_zero_for_equal_and_positive_otherwise():
    D = dm.distributions
    p, q = D.Normal(dm.tensor([0.0, 1.0]), dm.tensor([1.0, 2.0])), D.Normal(0.5, 1.5)
    assert np.allclose(D.kl_divergence(p, p).numpy(), 0, atol=1e-6)
    assert (D.kl_divergence(p, q).numpy() > 0).all()
    c = D.Categorical(logits=dm.tensor([0.1, 2.0, -1.0]))
    assert abs(D.kl_divergence(c, c).item()) < 1e-6


def test_kl_unregistered_pair_and_register_kl(torch):
    for lib in (dm, torch):
        D = lib.distributions
        with pytest.raises(NotImplementedError, match="No KL"):
            D.kl_divergence(D.Categorical(lib.ones(2)), D.Normal(0.0, 1.0))
        with pytest.raises(NotImplementedError, match="No KL"):
            D.kl_divergence(D.MultivariateNormal(lib.zeros(1), lib.eye(1)), D.Normal(0.0, 1.0))

    class MyNormal(dm.distributions.Normal):
        pass
    D = dm.distributions
    p, q = MyNormal(0.0, 1.0), D.Normal(1.0, 1.0)
    assert D.kl_divergence(p, q).item() == pytest.approx(0.5)  # inherits (Normal, Normal)
    D.register_kl(MyNormal, D.Normal)(lambda p, q: dm.tensor(-1.0))
    assert D.kl_divergence(p, q).item() == -1.0
    assert D.kl_divergence(q, q).item() == 0.0
    if not AGAINST_TORCH:  # torch's type check has a precedence bug and lets this through
        with pytest.raises(TypeError):
            D.register_kl(int, D.Normal)


@dlmath_only
def test_precision_gradient_ignores_upper_triangle(torch):
    """precision_matrix from scale_tril: torch's cholesky_inverse backward also sends gradient to the
    (unread) upper triangle; dlmath gives the true derivative there, 0, as log_prob does. The lower
    triangle agrees."""
    L = _tril(3, seed=5)
    w = R.standard_normal((3, 3))
    grads = []
    for lib in (dm, torch):
        Lt = lib.tensor(L, dtype=lib.float64, requires_grad=True)
        P = lib.distributions.MultivariateNormal(lib.zeros(3, dtype=lib.float64), scale_tril=Lt).precision_matrix
        np.testing.assert_allclose(P.detach().numpy(), np.linalg.inv(L @ L.T), rtol=1e-10)
        (P * lib.tensor(w, dtype=lib.float64)).sum().backward()
        grads.append(Lt.grad.numpy())
    np.testing.assert_allclose(np.tril(grads[0]), np.tril(grads[1]), rtol=1e-8, atol=1e-12)
    assert np.all(np.triu(grads[0], 1) == 0)


def test_expand_and_shapes_match_torch(torch):
    shapes = []
    for lib in (dm, torch):
        D = lib.distributions
        n = D.Normal(lib.zeros(3), 1.0).expand((2, 3))
        c = D.Categorical(logits=lib.zeros(4)).expand((5,))
        m = D.MultivariateNormal(lib.zeros(2, 3), scale_tril=lib.eye(3))
        b = D.Bernoulli(0.3).expand((2,))
        shapes.append([tuple(s) for s in (n.batch_shape, n.event_shape, c.batch_shape, m.batch_shape, m.event_shape,
                                          b.batch_shape, n.sample((4,)).shape, c.sample((4, 1)).shape,
                                          m.sample((4,)).shape, m.entropy().shape, b.sample().shape,
                                          c.enumerate_support().shape)])
    assert shapes[0] == shapes[1]


# --- sampling --------------------------------------------------------------------
def _gen(seed):
    return dm.Generator().manual_seed(seed)


def _dists():
    D = dm.distributions
    return [D.Normal(dm.tensor([0.0, 2.0]), dm.tensor([1.0, 0.5])), D.Bernoulli(dm.tensor([0.2, 0.7])),
            D.Categorical(dm.tensor([0.1, 0.2, 0.7])),
            D.MultivariateNormal(dm.zeros(2), dm.tensor([[2.0, 0.6], [0.6, 1.0]]))]


@dlmath_only
@pytest.mark.parametrize("k", range(4))
def test_same_seed_same_samples(k):
    d = _dists()[k]
    a, b = d.sample((50,), generator=_gen(3)), d.sample((50,), generator=_gen(3))
    assert np.array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), d.sample((50,), generator=_gen(4)).numpy())
    dm.manual_seed(11)
    c = d.sample((50,))
    dm.manual_seed(11)
    assert np.array_equal(c.numpy(), d.sample((50,)).numpy())


@dlmath_only
def test_sample_moments_match_analytic():
    n = 40000
    normal, bern, cat, mvn = _dists()
    x = normal.sample((n,), generator=_gen(0)).numpy().astype(np.float64)
    se_mean = np.array([1.0, 0.5]) / math.sqrt(n)
    assert np.all(np.abs(x.mean(0) - [0.0, 2.0]) < 4 * se_mean)
    assert np.all(np.abs(x.var(0) / np.array([1.0, 0.25]) - 1) < 4 * math.sqrt(2 / n))

    b = bern.sample((n,), generator=_gen(1)).numpy()
    p = np.array([0.2, 0.7])
    assert set(np.unique(b)) <= {0.0, 1.0}
    assert np.all(np.abs(b.mean(0) - p) < 4 * np.sqrt(p * (1 - p) / n))

    ids = cat.sample((n,), generator=_gen(2)).numpy()
    assert ids.dtype == np.int64
    counts = np.bincount(ids, minlength=3)
    assert stats.chisquare(counts, n * np.array([0.1, 0.2, 0.7])).pvalue > 1e-3

    v = mvn.sample((n,), generator=_gen(5)).numpy().astype(np.float64)
    S = np.array([[2.0, 0.6], [0.6, 1.0]])
    se = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S ** 2) / n)
    assert np.all(np.abs(np.cov(v.T) - S) < 4 * se)
    assert np.all(np.abs(v.mean(0)) < 4 * np.sqrt(np.diag(S) / n))


def test_sample_has_no_grad_rsample_has():
    loc = dm.tensor([0.0, 1.0], requires_grad=True)
    d = dm.distributions.Normal(loc, 1.0)
    assert not d.sample((3,)).requires_grad
    assert d.rsample((3,)).requires_grad
    assert d.has_rsample and not dm.distributions.Bernoulli(0.5).has_rsample


@dlmath_only
def test_normal_rsample_gradient_is_pathwise():
    """d/dmu mean f(mu + sigma eps) = mean f'(x), d/dsigma = mean f'(x) eps, same eps (same seed)."""
    n = 20000
    mu = dm.tensor([0.5, -1.0], dtype=dm.float64, requires_grad=True)
    sigma = dm.tensor([1.0, 0.3], dtype=dm.float64, requires_grad=True)
    x = dm.distributions.Normal(mu, sigma).rsample((n,), generator=_gen(9))
    (x ** 3).mean(0).sum().backward()
    eps = np.random.Generator(np.random.PCG64(9)).standard_normal((n, 2))
    xs = mu.detach().numpy() + sigma.detach().numpy() * eps
    np.testing.assert_allclose(mu.grad.numpy(), (3 * xs ** 2).mean(0), rtol=1e-10)
    np.testing.assert_allclose(sigma.grad.numpy(), (3 * xs ** 2 * eps).mean(0), rtol=1e-10)
    # and the expectation: E[x^3] = mu^3 + 3 mu sigma^2, so d/dmu = 3 mu^2 + 3 sigma^2, d/dsigma = 6 mu sigma
    m, s = mu.detach().numpy(), sigma.detach().numpy()
    se = np.sqrt((3 * xs ** 2).var(0) / n)
    assert np.all(np.abs(mu.grad.numpy() - (3 * m ** 2 + 3 * s ** 2)) < 4 * se)
    se = np.sqrt((3 * xs ** 2 * eps).var(0) / n)
    assert np.all(np.abs(sigma.grad.numpy() - 6 * m * s) < 4 * se)


@dlmath_only
def test_mvn_rsample_gradient_is_pathwise():
    """x = mu + L eps, f = |x|^2: df/dmu = 2x, df/dL = 2 x eps^T; E[2 x eps^T] = 2 L."""
    n = 20000
    mu = dm.tensor([1.0, -0.5], dtype=dm.float64, requires_grad=True)
    L = dm.tensor([[1.2, 0.0], [0.4, 0.7]], dtype=dm.float64, requires_grad=True)
    x = dm.distributions.MultivariateNormal(mu, scale_tril=L).rsample((n,), generator=_gen(2))
    (x ** 2).sum(-1).mean().backward()
    eps = np.random.Generator(np.random.PCG64(2)).standard_normal((n, 2))
    xs = mu.detach().numpy() + eps @ L.detach().numpy().T
    np.testing.assert_allclose(mu.grad.numpy(), (2 * xs).mean(0), rtol=1e-10)
    np.testing.assert_allclose(L.grad.numpy(), np.einsum("ni,nj->ij", 2 * xs, eps) / n, rtol=1e-10)
    se = np.sqrt(np.var(2 * xs[:, :, None] * eps[:, None, :], axis=0) / n)
    assert np.all(np.abs(L.grad.numpy() - 2 * L.detach().numpy()) < 4 * se)


def test_gaussian_mle_by_gradient_descent_recovers_mean_and_variance():
    """Minimising the Gaussian NLL -mean log N(x; mu, sigma) gives the sample mean and (biased) variance."""
    data = np.random.default_rng(0).normal(2.0, 1.5, size=5000)
    x = dm.tensor(data, dtype=dm.float64)
    mu = dm.tensor(0.0, dtype=dm.float64, requires_grad=True)
    log_sigma = dm.tensor(0.0, dtype=dm.float64, requires_grad=True)
    for _ in range(500):
        nll = -dm.distributions.Normal(mu, log_sigma.exp()).log_prob(x).mean()
        mu.grad = log_sigma.grad = None
        nll.backward()
        with dm.no_grad():
            mu -= 0.2 * mu.grad
            log_sigma -= 0.2 * log_sigma.grad
    assert mu.item() == pytest.approx(data.mean(), abs=1e-6)
    assert math.exp(2 * log_sigma.item()) == pytest.approx(data.var(), rel=1e-6)
    assert abs(mu.item() - 2.0) < 4 * 1.5 / math.sqrt(5000)


# --- validation ------------------------------------------------------------------------
def _message_head(exc):
    return str(exc).split("but found invalid values")[0].replace("torch.", "").replace("dlmath.", "")


INVALID = {
    "normal_negative_scale": lambda lib: lib.distributions.Normal(0.0, -1.0),
    "normal_zero_scale_tensor": lambda lib: lib.distributions.Normal(lib.zeros(2), lib.tensor([1.0, 0.0])),
    "normal_nan_loc": lambda lib: lib.distributions.Normal(float("nan"), 1.0),
    "normal_value_not_tensor": lambda lib: lib.distributions.Normal(0.0, 1.0).log_prob(1.0),
    "normal_value_nan": lambda lib: lib.distributions.Normal(0.0, 1.0).log_prob(lib.tensor(float("nan"))),
    "normal_value_shape": lambda lib: lib.distributions.Normal(lib.zeros(3), 1.0).log_prob(lib.zeros(2)),
    "bernoulli_probs_above_one": lambda lib: lib.distributions.Bernoulli(1.5),
    "bernoulli_both": lambda lib: lib.distributions.Bernoulli(0.5, logits=0.0),
    "bernoulli_neither": lambda lib: lib.distributions.Bernoulli(),
    "bernoulli_value_not_binary": lambda lib: lib.distributions.Bernoulli(lib.tensor([0.3, 0.6])).log_prob(
        lib.tensor([0.5, 1.0])),
    "categorical_negative": lambda lib: lib.distributions.Categorical(lib.tensor([-1.0, 2.0])),
    "categorical_scalar": lambda lib: lib.distributions.Categorical(lib.tensor(0.3)),
    "categorical_scalar_logits": lambda lib: lib.distributions.Categorical(logits=lib.tensor(0.3)),
    "categorical_value_out_of_range": lambda lib: lib.distributions.Categorical(lib.tensor([0.3, 0.7])).log_prob(
        lib.tensor(2)),
    "categorical_value_fraction": lambda lib: lib.distributions.Categorical(logits=lib.zeros(2, 3)).log_prob(
        lib.tensor([0.5])),
    "mvn_not_pd": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2),
                                                                   lib.tensor([[1.0, 2.0], [2.0, 1.0]])),
    "mvn_not_symmetric": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2),
                                                                          lib.tensor([[1.0, 0.5], [0.0, 1.0]])),
    "mvn_not_lower": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2),
                                                                      scale_tril=lib.tensor([[1.0, 2.0], [0.0, 1.0]])),
    "mvn_negative_diag": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), scale_tril=-lib.eye(2)),
    "mvn_two_matrices": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.eye(2),
                                                                         scale_tril=lib.eye(2)),
    "mvn_no_matrix": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2)),
    "mvn_scalar_loc": lambda lib: lib.distributions.MultivariateNormal(lib.tensor(0.0), lib.eye(1)),
    "mvn_value_event_shape": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.eye(2)).log_prob(
        lib.zeros(3)),
}


@pytest.mark.parametrize("name", list(INVALID))
def test_validation_errors_match_torch(name, torch):
    def run(lib):
        try:
            INVALID[name](lib)
        except Exception as exc:  # noqa: BLE001
            return exc
        return None
    theirs, ours = run(torch), run(dm)
    assert theirs is not None
    assert type(ours) is type(theirs), f"{ours!r} vs {theirs!r}"
    assert _message_head(ours) == _message_head(theirs)


def test_validate_args_false_allows_invalid_parameters():
    D = dm.distributions
    d = D.Normal(0.0, -1.0, validate_args=False)
    assert math.isnan(d.entropy().item())
    assert D.Bernoulli(dm.tensor([0.5]), validate_args=False).log_prob(dm.tensor([0.5])).shape == (1,)
    D.Distribution.set_default_validate_args(False)
    try:
        D.Normal(0.0, -1.0)
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(0.0, -1.0)


# --- the private linear algebra behind MultivariateNormal --------------------------------
pytestmark_linalg = pytest.mark.skipif(AGAINST_TORCH, reason="dlmath internals")


def _chol(lib, x):
    from dlmath.distributions._linalg import cholesky
    return cholesky(x @ x.mT + 3 * lib.eye(x.shape[-1], dtype=x.dtype))


def _solve(upper):
    def fn(lib, a, b):
        from dlmath.distributions._linalg import solve_tri
        return solve_tri(a + 3 * lib.eye(a.shape[-1], dtype=a.dtype), b, upper=upper)
    return fn


@dlmath_only
@pytestmark_linalg
@pytest.mark.parametrize("fn,shapes", [(_chol, [(3, 3)]), (_chol, [(2, 3, 3)]),
                                       (_solve(False), [(3, 3), (3, 2)]), (_solve(True), [(3, 3), (2, 3, 1)]),
                                       (_solve(False), [(2, 1, 3, 3), (3, 3, 2)])])
def test_private_linalg_gradients(fn, shapes):
    rng = np.random.default_rng(1)
    args = [dm.tensor(rng.standard_normal(s) * 0.5, dtype=dm.float64, requires_grad=True) for s in shapes]
    numerical_vjp_check(fn, args)
    second_order_check(fn, args)


@dlmath_only
@pytestmark_linalg
def test_private_linalg_values():
    from dlmath.distributions._linalg import cholesky, solve_tri
    A = _spd(4, (2,))
    L = cholesky(dm.tensor(A)).numpy()
    np.testing.assert_allclose(L, np.linalg.cholesky(A), rtol=1e-6)
    B = np.random.default_rng(0).standard_normal((2, 4, 3))
    np.testing.assert_allclose(solve_tri(L, B), np.linalg.solve(L, B), rtol=1e-4, atol=1e-5)
    U = np.swapaxes(L, -1, -2)
    np.testing.assert_allclose(solve_tri(U, B, upper=True), np.linalg.solve(U, B), rtol=1e-4, atol=1e-5)
    with pytest.raises(RuntimeError, match="positive-definite"):
        cholesky(dm.tensor([[1.0, 2.0], [2.0, 1.0]]))
