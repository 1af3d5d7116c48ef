"""Identities of dm.linalg, property-tested with Hypothesis on batched random inputs (float64).

A @ inv(A) = I, det(AB) = det(A) det(B), eigh reconstructs A, svdvals = sqrt(eigvalsh(A^T A)),
the spectral radius of a diagonal matrix, and the other defining equations (solve, cholesky,
qr, pinv's Penrose conditions, norms), plus the closed-form gradients they imply.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from helpers import dlmath_only, dm

ENTRY = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False, width=64)
batch_shapes = hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3)
sizes = st.integers(1, 5)


@st.composite
def square(draw, n=None, batch=None):
    """(..., n, n) with entries in [-1, 1]."""
    n = draw(sizes) if n is None else n
    batch = draw(batch_shapes) if batch is None else batch
    return draw(hnp.arrays(np.float64, batch + (n, n), elements=ENTRY))


@st.composite
def square_pairs(draw):
    n, batch = draw(sizes), draw(batch_shapes)
    return draw(square(n, batch)), draw(square(n, batch))


@st.composite
def dominant(draw):
    """Strictly diagonally dominant, hence invertible with a bounded condition number."""
    a = draw(square())
    n = a.shape[-1]
    return a + (n + 1) * np.eye(n)


@st.composite
def rectangular(draw):
    m, n = draw(sizes), draw(sizes)
    return draw(hnp.arrays(np.float64, draw(batch_shapes) + (m, n), elements=ENTRY))


@st.composite
def with_spectrum(draw):
    """(..., m, n) = U diag(s) V^T with s in [0.3, 3] or exactly 0 (rank deficient)."""
    seed = draw(st.integers(0, 2 ** 32 - 1))
    m, n = draw(sizes), draw(sizes)
    rng = np.random.default_rng(seed)
    k = min(m, n)
    batch = draw(batch_shapes)
    u, _ = np.linalg.qr(rng.standard_normal(batch + (m, k)))
    v, _ = np.linalg.qr(rng.standard_normal(batch + (n, k)))
    s = rng.uniform(0.3, 3.0, batch + (k,)) * (rng.random(batch + (k,)) < 0.8)
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def T(a, grad=False):
    return dm.tensor(np.asarray(a), dtype=dm.float64, requires_grad=grad)


def close(a, b, atol=1e-9, rtol=1e-9):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    np.testing.assert_allclose(a, b, atol=atol, rtol=rtol)


def mT(a):
    return np.swapaxes(a, -1, -2)


# --- inverses and systems ------------------------------------------------------------------
@given(dominant())
def test_inverse_identities(a):
    ainv = dm.linalg.inv(T(a))
    eye = np.broadcast_to(np.eye(a.shape[-1]), a.shape)
    close(T(a) @ ainv, eye)
    close(ainv @ T(a), eye)
    close(dm.linalg.inv(ainv), a, rtol=1e-8)
    close(dm.linalg.matrix_power(T(a), -1), ainv)


@given(dominant(), st.integers(1, 3))
def test_solve_recovers_x(a, k):
    x = np.random.default_rng(k).standard_normal(a.shape[:-1] + (k,))
    close(dm.linalg.solve(T(a), T(a @ x)), x, rtol=1e-8)
    close(dm.linalg.solve(T(a), T(mT(x) @ a), left=False), mT(x), rtol=1e-8)
    v = x[..., 0]
    close(dm.linalg.solve(T(a), T((a @ v[..., None])[..., 0])), v, rtol=1e-8)


@given(square_pairs())
def test_det_is_multiplicative(ab):
    a, b = ab
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # singular draws are fine here
        lhs = dm.linalg.det(T(a) @ T(b))
        rhs = dm.linalg.det(T(a)) * dm.linalg.det(T(b))
    close(lhs, rhs, atol=1e-12)


@given(dominant())
def test_slogdet_agrees_with_det(a):
    sign, logabs = dm.linalg.slogdet(T(a))
    close(sign * logabs.exp(), dm.linalg.det(T(a)), rtol=1e-10)


@given(dominant(), st.integers(0, 4))
def test_matrix_power_is_repeated_product(a, k):
    expected = np.broadcast_to(np.eye(a.shape[-1]), a.shape)
    for _ in range(k):
        expected = expected @ a
    close(dm.linalg.matrix_power(T(a), k), expected, rtol=1e-10)


# --- factorisations ------------------------------------------------------------------------
@given(square())
def test_cholesky_recovers_its_factor(a):
    n = a.shape[-1]
    low = np.tril(a, -1) + np.eye(n) * (1.5 + np.abs(np.diagonal(a, 0, -2, -1)))[..., None, :]
    close(dm.linalg.cholesky(T(low @ mT(low))), low, rtol=1e-8, atol=1e-10)
    close(dm.linalg.cholesky(T(low @ mT(low)), upper=True), mT(low), rtol=1e-8, atol=1e-10)


@given(rectangular(), st.sampled_from(["reduced", "complete"]))
def test_qr_reconstructs_with_orthonormal_q(a, mode):
    q, r = dm.linalg.qr(T(a), mode=mode)
    close(q @ r, a, atol=1e-12)
    close(q.mT @ q, np.broadcast_to(np.eye(q.shape[-1]), q.shape[:-2] + (q.shape[-1],) * 2), atol=1e-12)
    close(r, np.triu(r.numpy()), atol=0)


@given(with_spectrum())
def test_pinv_penrose_conditions(a):
    x = dm.linalg.pinv(T(a)).numpy()
    close(a @ x @ a, a, atol=1e-10)
    close(x @ a @ x, x, atol=1e-10)
    close(mT(a @ x), a @ x, atol=1e-10)
    close(mT(x @ a), x @ a, atol=1e-10)


@given(with_spectrum())
def test_matrix_rank_counts_nonzero_singular_values(a):
    s = np.linalg.svd(a, compute_uv=False)
    close(dm.linalg.matrix_rank(T(a)), np.sum(s > 1e-8, axis=-1), atol=0)


# --- spectra -------------------------------------------------------------------------------
@given(square())
def test_eigh_reconstructs_a(a):
    a = (a + mT(a)) / 2
    w, v = dm.linalg.eigh(T(a))
    close((v * w.unsqueeze(-2)) @ v.mT, a, atol=1e-12)
    close(v.mT @ v, np.broadcast_to(np.eye(a.shape[-1]), a.shape), atol=1e-12)
    assert np.all(np.diff(w.numpy(), axis=-1) >= 0)
    close(dm.linalg.eigvalsh(T(a)), w, atol=1e-12)


@given(rectangular())
def test_svdvals_are_sqrt_of_eigvalsh_of_gram(a):
    s = dm.linalg.svdvals(T(a)).numpy()
    k = min(a.shape[-2:])
    lam = dm.linalg.eigvalsh(T(mT(a) @ a)).numpy()[..., ::-1][..., :k]
    close(s, np.sqrt(np.clip(lam, 0, None)), atol=1e-7)
    u, s2, vh = dm.linalg.svd(T(a), full_matrices=False)
    close((u * s2.unsqueeze(-2)) @ vh, a, atol=1e-12)


@dlmath_only
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 6)), elements=st.floats(-5, 5, width=64)))
def test_spectral_radius_of_diagonal_matrix(d):
    close(dm.linalg.spectral_radius(T(np.diag(d))), np.max(np.abs(d)), rtol=1e-12)


@dlmath_only
@given(square(n=4))
def test_spectral_radius_bounds(a):
    rho = dm.linalg.spectral_radius(T(a)).numpy()
    close(rho, np.max(np.abs(np.linalg.eigvals(a)), axis=-1), rtol=1e-8, atol=1e-8)
    assert np.all(rho <= np.linalg.norm(a, 2, axis=(-2, -1)) + 1e-9)      # rho(A) <= ||A||_2


# --- norms ---------------------------------------------------------------------------------
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), elements=ENTRY),
       st.sampled_from([1, 2, 3, 0.5, float("inf"), -float("inf"), 0]))
def test_vector_norm_matches_definition(x, p):
    got = dm.linalg.vector_norm(T(x), p, dim=-1).numpy()
    ax = np.abs(x)
    with np.errstate(divide="ignore"):
        if p == float("inf"):
            ref = ax.max(-1)
        elif p == -float("inf"):
            ref = ax.min(-1)
        elif p == 0:
            ref = (ax != 0).sum(-1)
        else:
            ref = (ax ** p).sum(-1) ** (1 / p)
    close(got, ref, rtol=1e-12, atol=1e-300)


@given(rectangular())
def test_matrix_norms_through_singular_values(a):
    s = np.linalg.svd(a, compute_uv=False)
    close(dm.linalg.matrix_norm(T(a), 2), s.max(-1), rtol=1e-12, atol=1e-12)
    close(dm.linalg.matrix_norm(T(a), "nuc"), s.sum(-1), rtol=1e-12, atol=1e-12)
    close(dm.linalg.matrix_norm(T(a)), np.sqrt((s ** 2).sum(-1)), rtol=1e-12, atol=1e-12)
    close(dm.linalg.matrix_norm(T(a), 1), np.abs(a).sum(-2).max(-1), rtol=1e-12)
    close(dm.linalg.matrix_norm(T(a), float("inf")), np.abs(a).sum(-1).max(-1), rtol=1e-12)


@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 6)), elements=ENTRY))
def test_norm_gradient_is_finite_everywhere(x):
    t = T(x, grad=True)
    t.norm().backward()
    n = np.linalg.norm(x)
    close(t.grad, x / n if n > 0 else np.zeros_like(x), rtol=1e-12)


# --- closed-form gradients -----------------------------------------------------------------
@given(dominant())
def test_det_and_logdet_gradients_closed_form(a):
    x = T(a, grad=True)
    dm.linalg.det(x).sum().backward()
    inv_t = mT(np.linalg.inv(a))
    close(x.grad, np.linalg.det(a)[..., None, None] * inv_t, rtol=1e-8, atol=1e-10)
    y = T(a, grad=True)
    dm.linalg.slogdet(y).logabsdet.sum().backward()
    close(y.grad, inv_t, rtol=1e-9, atol=1e-12)


@given(dominant())
def test_inv_gradient_closed_form(a):
    c = np.random.default_rng(0).standard_normal(a.shape)
    x = T(a, grad=True)
    (dm.linalg.inv(x) * T(c)).sum().backward()
    ai = np.linalg.inv(a)
    close(x.grad, -mT(ai) @ c @ mT(ai), rtol=1e-9, atol=1e-12)


@given(square())
def test_trace_of_eigvalsh_has_identity_gradient(a):
    x = T((a + mT(a)) / 2, grad=True)
    dm.linalg.eigvalsh(x).sum().backward()
    close(x.grad, np.broadcast_to(np.eye(a.shape[-1]), a.shape), atol=1e-10)


if __name__ == "__main__":
    pytest.main([__file__, "-q"])
