"""dm.linalg against torch.linalg 2.13 (forward, dtype, gradients; float64 and float32),
central finite differences (first and second order), the jvp rules, error inputs, and
the documented dlmath behaviours: LinAlgError naming the batch element, conditioning
warnings, the cofactor gradient of det at singular matrices, degenerate eigh/svd.

Symmetric inputs go through (A + A^T) / 2 inside the function (as torch's own tests do),
so finite differences see the function eigh/cholesky actually compute; eigenvector and
singular-vector losses are gauge-invariant (V diag(w) V^T, |v|^2).
"""

import warnings

import numpy as np
import pytest

from helpers import (AGAINST_TORCH, assert_raises_like_torch, build, compare_with_torch, dlmath_only, dm,
                     grads_like_torch, materialize, numerical_vjp_check, second_order_check, to_numpy)

_rng = np.random.default_rng(20240607)
INF = float("inf")


def well(*shape):
    """Well-conditioned square matrices: Gaussian plus 3 I."""
    return _rng.standard_normal(shape) + 3 * np.eye(shape[-1])


def spd(*shape):
    x = _rng.standard_normal(shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


def sym(*shape):
    """Symmetric with well-separated eigenvalues (eigenvector gradients are 1/gap)."""
    n = shape[-1]
    q, _ = np.linalg.qr(_rng.standard_normal(shape))
    w = np.arange(n) * 1.5 - n / 2 + _rng.uniform(0, 0.3, shape[:-1])
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


def gen(*shape):
    return _rng.standard_normal(shape)


def _sym(a):
    return (a + a.mT) / 2


def _eigh_gauge(lib, a):
    w, v = lib.linalg.eigh(_sym(a))
    return w, (v * w.unsqueeze(-2).exp()) @ v.mT, v ** 2


def _svd_gauge(lib, a, full=False):
    u, s, vh = lib.linalg.svd(a, full_matrices=full)
    k = s.shape[-1]
    u, vh = u[..., :, :k], vh[..., :k, :]
    return s, (u * s.unsqueeze(-2)) @ u.mT, vh.mT @ (vh * s.unsqueeze(-1)), u ** 2


# name, fn(lib, *args), sample, twice-differentiable check
CASES = [
    ("vector_norm", lambda L, x: L.linalg.vector_norm(x), (gen(3, 4),), True),
    ("vector_norm_1", lambda L, x: L.linalg.vector_norm(x, 1, dim=-1), (gen(3, 4),), True),
    ("vector_norm_inf", lambda L, x: L.linalg.vector_norm(x, INF, dim=1, keepdim=True), (gen(3, 4),), True),
    ("vector_norm_-inf", lambda L, x: L.linalg.vector_norm(x, -INF, dim=0), (gen(3, 4),), True),
    ("vector_norm_0", lambda L, x: L.linalg.vector_norm(x, 0, dim=-1), (gen(3, 4),), True),
    ("vector_norm_3", lambda L, x: L.linalg.vector_norm(x, 3, dim=(0, 2)), (gen(2, 3, 4),), True),
    ("vector_norm_0.5", lambda L, x: L.linalg.vector_norm(x, 0.5), (gen(3, 4),), True),
    ("vector_norm_-1.5", lambda L, x: L.linalg.vector_norm(x, -1.5, dim=1), (gen(3, 4),), True),
    ("matrix_norm_fro", lambda L, a: L.linalg.matrix_norm(a), (gen(2, 3, 4),), True),
    ("matrix_norm_nuc", lambda L, a: L.linalg.matrix_norm(a, "nuc"), (gen(2, 3, 4),), True),
    ("matrix_norm_2", lambda L, a: L.linalg.matrix_norm(a, 2), (gen(2, 4, 3),), True),
    ("matrix_norm_-2", lambda L, a: L.linalg.matrix_norm(a, -2, dim=(0, 2), keepdim=True), (gen(3, 2, 4),), True),
    ("matrix_norm_1", lambda L, a: L.linalg.matrix_norm(a, 1), (gen(2, 3, 4),), True),
    ("matrix_norm_-1", lambda L, a: L.linalg.matrix_norm(a, -1, dim=(2, 0)), (gen(2, 3, 4),), True),
    ("matrix_norm_inf", lambda L, a: L.linalg.matrix_norm(a, INF, keepdim=True), (gen(2, 3, 4),), True),
    ("matrix_norm_-inf", lambda L, a: L.linalg.matrix_norm(a, -INF), (gen(3, 4),), True),
    ("norm_default", lambda L, a: L.linalg.norm(a), (gen(2, 3, 4),), True),
    ("norm_ord_2d", lambda L, a: L.linalg.norm(a, 2), (gen(3, 4),), True),
    ("norm_ord_1d", lambda L, a: L.linalg.norm(a, 3), (gen(5),), True),
    ("norm_dim", lambda L, a: L.linalg.norm(a, INF, dim=1), (gen(2, 3, 4),), True),
    ("norm_dims_nuc", lambda L, a: L.linalg.norm(a, "nuc", dim=(0, 2)), (gen(2, 3, 4),), True),
    ("Tensor.norm", lambda L, a: a.norm(), (gen(2, 3, 4),), True),
    ("Tensor.norm_p_dim", lambda L, a: a.norm(p=1, dim=1, keepdim=True), (gen(2, 3, 4),), True),
    ("norm_legacy_3dims", lambda L, a: L.norm(a, 3, dim=(0, 1, 2)), (gen(2, 3, 4),), True),
    ("norm_legacy_nuc", lambda L, a: L.norm(a, "nuc", dim=(1, 2)), (gen(2, 3, 4),), True),
    ("norm_legacy_fro_dim", lambda L, a: L.norm(a, "fro", dim=2), (gen(2, 3, 4),), True),
    ("inv", lambda L, a: L.linalg.inv(a), (well(3, 3),), True),
    ("inv_batched", lambda L, a: L.linalg.inv(a), (well(2, 2, 3, 3),), True),
    ("solve", lambda L, a, b: L.linalg.solve(a, b), (well(3, 3), gen(3, 2)), True),
    ("solve_batched", lambda L, a, b: L.linalg.solve(a, b), (well(2, 3, 3), gen(2, 3, 2)), True),
    ("solve_vector", lambda L, a, b: L.linalg.solve(a, b), (well(2, 3, 3), gen(3)), True),
    ("solve_batch_of_vectors", lambda L, a, b: L.linalg.solve(a, b), (well(2, 3, 3), gen(2, 3)), True),
    ("solve_broadcast", lambda L, a, b: L.linalg.solve(a, b), (well(2, 1, 3, 3), gen(4, 3, 2)), True),
    ("solve_left_false", lambda L, a, b: L.linalg.solve(a, b, left=False), (well(2, 3, 3), gen(4, 3)), True),
    ("det", lambda L, a: L.linalg.det(a), (well(3, 3),), True),
    ("det_batched", lambda L, a: L.linalg.det(a), (well(2, 3, 3),), True),
    ("slogdet", lambda L, a: L.linalg.slogdet(a), (well(2, 3, 3),), True),
    ("cholesky", lambda L, a: L.linalg.cholesky(_sym(a)), (spd(3, 3),), True),
    ("cholesky_batched_upper", lambda L, a: L.linalg.cholesky(_sym(a), upper=True), (spd(2, 3, 3),), True),
    ("qr_tall", lambda L, a: L.linalg.qr(a), (gen(2, 4, 3),), True),
    ("qr_square", lambda L, a: L.linalg.qr(a), (gen(3, 3),), True),
    ("qr_wide", lambda L, a: L.linalg.qr(a), (gen(2, 3, 5),), True),
    ("qr_complete_wide", lambda L, a: L.linalg.qr(a, mode="complete"), (gen(3, 4),), True),
    ("matrix_power_3", lambda L, a: L.linalg.matrix_power(a, 3), (gen(2, 3, 3),), True),
    ("matrix_power_-2", lambda L, a: L.linalg.matrix_power(a, -2), (well(3, 3),), True),
    ("matrix_power_0", lambda L, a: L.linalg.matrix_power(a, 0), (gen(3, 3),), True),
    ("pinv_tall", lambda L, a: L.linalg.pinv(a), (gen(2, 4, 3),), True),
    ("pinv_wide", lambda L, a: L.linalg.pinv(a), (gen(3, 5),), True),
    ("pinv_hermitian", lambda L, a: L.linalg.pinv(_sym(a), hermitian=True), (sym(3, 3),), True),
    ("eigh", _eigh_gauge, (sym(4, 4),), True),
    ("eigh_batched_upper", lambda L, a: L.linalg.eigh(_sym(a), UPLO="U")[0], (sym(2, 3, 3),), True),
    ("eigvalsh", lambda L, a: L.linalg.eigvalsh(_sym(a)), (sym(2, 4, 4),), True),
    ("svd_tall", _svd_gauge, (gen(2, 4, 3),), True),
    ("svd_wide", _svd_gauge, (gen(3, 5),), True),
    ("svd_square", _svd_gauge, (gen(3, 3),), True),
    ("svd_full_matrices", lambda L, a: _svd_gauge(L, a, full=True), (gen(4, 3),), True),
    ("svdvals", lambda L, a: L.linalg.svdvals(a), (gen(2, 3, 4),), True),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,fn,sample,twice", CASES, ids=IDS)
def test_matches_torch(name, fn, sample, twice, dtype, torch):
    compare_with_torch(fn, sample, dtype=dtype, torch=torch)


def _args(sample):
    return build(dm, materialize(sample, "float64"))


@pytest.mark.parametrize("name,fn,sample,twice", CASES, ids=IDS)
def test_finite_differences(name, fn, sample, twice):
    numerical_vjp_check(fn, _args(sample))


@pytest.mark.parametrize("name,fn,sample,twice", [c for c in CASES if c[3]], ids=[c[0] for c in CASES if c[3]])
def test_second_derivatives(name, fn, sample, twice):
    second_order_check(fn, _args(sample))


def test_float32_in_float32_out_and_no_warning_when_well_conditioned():
    a = dm.tensor(well(2, 3, 3), dtype=dm.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outs = [dm.linalg.inv(a), dm.linalg.det(a), dm.linalg.solve(a, a), dm.linalg.svdvals(a),
                dm.linalg.eigvalsh(a), dm.linalg.cholesky(a @ a.mT), dm.linalg.pinv(a), dm.linalg.norm(a),
                dm.linalg.matrix_norm(a, "nuc"), *dm.linalg.qr(a), *dm.linalg.slogdet(a)]
    assert all(o.dtype == dm.float32 for o in outs)


# --- forward-mode rules (the jvp next to each vjp), against central differences --------------
JVP_CASES = [
    ("inv", lambda L, a: L.linalg.inv(a), (well(2, 3, 3),)),
    ("solve", lambda L, a, b: L.linalg.solve(a, b), (well(2, 3, 3), gen(2, 3, 2))),
    ("solve_vector", lambda L, a, b: L.linalg.solve(a, b), (well(3, 3), gen(3))),
    ("det", lambda L, a: L.linalg.det(a), (well(2, 3, 3),)),
    ("slogdet", lambda L, a: L.linalg.slogdet(a).logabsdet, (well(3, 3),)),
    ("vector_norm_2", lambda L, x: L.linalg.vector_norm(x, dim=-1), (gen(3, 4),)),
    ("vector_norm_inf", lambda L, x: L.linalg.vector_norm(x, INF), (gen(3, 4),)),
    ("vector_norm_3", lambda L, x: L.linalg.vector_norm(x, 3, dim=0, keepdim=True), (gen(3, 4),)),
    ("cholesky", lambda L, a: L.linalg.cholesky(a), (spd(2, 3, 3),)),
    ("cholesky_upper", lambda L, a: L.linalg.cholesky(a, upper=True), (spd(3, 3),)),
    ("eigvals_of_eigh", lambda L, a: L.linalg.eigh(a).eigenvalues, (sym(3, 3),)),
    ("eigvecs_of_eigh", lambda L, a: L.linalg.eigh(a).eigenvectors, (sym(3, 3),)),
]


@dlmath_only
@pytest.mark.parametrize("name,fn,arrays", JVP_CASES, ids=[c[0] for c in JVP_CASES])
def test_jvp_rules(name, fn, arrays):
    from dlmath.autograd import xp_numpy
    rng = np.random.default_rng(3)
    ts = [rng.standard_normal(a.shape) for a in arrays]
    ts = [(t + np.swapaxes(t, -1, -2)) / 2 if name.startswith(("cholesky", "eig")) else t for t in ts]
    xs = [dm.tensor(a, requires_grad=True) for a in arrays]
    out = fn(dm, *xs)
    node = out.grad_fn
    saved = node.out if node.n_out == 1 else tuple(node.out)
    tangent = node.jvp(xp_numpy, tuple(ts), *arrays, saved)
    if node.n_out > 1:
        tangent = tangent[out._out_idx]
    eps = 1e-6
    plus = fn(dm, *[dm.tensor(a + eps * t) for a, t in zip(arrays, ts)]).numpy()
    minus = fn(dm, *[dm.tensor(a - eps * t) for a, t in zip(arrays, ts)]).numpy()
    np.testing.assert_allclose(tangent, (plus - minus) / (2 * eps), rtol=1e-5, atol=1e-6)


@dlmath_only
def test_jvp_not_implemented_names_the_op():
    from dlmath.autograd import xp_numpy
    a = dm.tensor(gen(3, 3), requires_grad=True)
    u = dm.linalg.svd(a).U
    with pytest.raises(NotImplementedError, match="SVD"):
        u.grad_fn.jvp(xp_numpy, (gen(3, 3),), a.detach().numpy(), tuple(u.grad_fn.out))


# --- error inputs: torch's exception type, and our messages -------------------------------
ERRORS = [
    ("inv_not_square", lambda L: L.linalg.inv(L.ones(2, 3))),
    ("inv_1d", lambda L: L.linalg.inv(L.ones(3))),
    ("inv_int", lambda L: L.linalg.inv(L.ones(2, 2, dtype=L.int64))),
    ("inv_half", lambda L: L.linalg.inv(L.ones(2, 2, dtype=L.float16))),
    ("det_1d", lambda L: L.linalg.det(L.ones(3))),
    ("solve_shapes", lambda L: L.linalg.solve(L.eye(2), L.ones(3))),
    ("solve_rows", lambda L: L.linalg.solve(L.eye(2), L.ones(1, 2))),
    ("solve_batch", lambda L: L.linalg.solve(L.eye(2).expand(3, 2, 2), L.ones(4, 2, 1))),
    ("solve_dtype", lambda L: L.linalg.solve(L.eye(2), L.ones(2, dtype=L.float64))),
    ("solve_left_false_vector", lambda L: L.linalg.solve(L.eye(2).expand(3, 2, 2), L.ones(3, 2), left=False)),
    ("cholesky_not_square", lambda L: L.linalg.cholesky(L.ones(2, 3))),
    ("cholesky_not_pd", lambda L: L.linalg.cholesky(-L.eye(3))),
    ("eigh_not_square", lambda L: L.linalg.eigh(L.ones(2, 3))),
    ("eigh_uplo", lambda L: L.linalg.eigh(L.eye(2), UPLO="X")),
    ("eigvals_not_square", lambda L: L.linalg.eigvals(L.ones(2, 3))),
    ("svd_1d", lambda L: L.linalg.svd(L.ones(3))),
    ("pinv_1d", lambda L: L.linalg.pinv(L.ones(3))),
    ("qr_mode", lambda L: L.linalg.qr(L.eye(2), mode="X")),
    ("matrix_power_float", lambda L: L.linalg.matrix_power(L.eye(2), 2.0)),
    ("matrix_power_not_square", lambda L: L.linalg.matrix_power(L.ones(2, 3), 2)),
    ("vector_norm_int", lambda L: L.linalg.vector_norm(L.tensor([1, 2]))),
    ("vector_norm_str_ord", lambda L: L.linalg.vector_norm(L.ones(3), "fro")),
    ("vector_norm_int_dtype", lambda L: L.linalg.vector_norm(L.ones(3), dtype=L.int64)),
    ("vector_norm_inf_empty", lambda L: L.linalg.vector_norm(L.ones(0), INF)),
    ("matrix_norm_ord", lambda L: L.linalg.matrix_norm(L.ones(2, 2), 3)),
    ("matrix_norm_1d", lambda L: L.linalg.matrix_norm(L.ones(3))),
    ("matrix_norm_same_dims", lambda L: L.linalg.matrix_norm(L.ones(2, 2), dim=(0, 0))),
    ("norm_3d_with_ord", lambda L: L.linalg.norm(L.ones(2, 3, 4), 2)),
    ("norm_three_dims", lambda L: L.linalg.norm(L.ones(2, 3, 4), dim=(0, 1, 2))),
    ("legacy_nuc_3d", lambda L: L.norm(L.ones(2, 3, 4), "nuc")),
    ("qr_complete_tall_backward", lambda L: L.linalg.qr(L.ones(3, 2, requires_grad=True), mode="complete")
     .Q.sum().backward()),
    ("qr_r_backward", lambda L: L.linalg.qr(L.ones(3, 2, requires_grad=True), mode="r").R.sum().backward()),
]


@pytest.mark.parametrize("name,fn", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_like_torch(name, fn, torch):
    exc = assert_raises_like_torch(fn, torch=torch)
    assert str(exc)


def test_shape_errors_name_the_shapes():
    with pytest.raises(RuntimeError, match=r"2 by 3"):
        dm.linalg.det(dm.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"2x2 and 3x1"):
        dm.linalg.solve(dm.eye(2), dm.ones(3))


@pytest.mark.parametrize("op", ["inv", "solve"])
def test_singular_raises_linalg_error_naming_op_and_batch_element(op):
    a = np.stack([np.eye(3), [[1.0, 2, 3], [2, 4, 6], [0, 1, 1]], np.eye(3)])
    A = dm.tensor(a)
    with pytest.raises(dm.linalg.LinAlgError, match=rf"linalg.{op}: \(Batch element 1\)") as info:
        dm.linalg.inv(A) if op == "inv" else dm.linalg.solve(A, dm.ones(3, 3, dtype=dm.float64))
    assert isinstance(info.value, RuntimeError)
    with pytest.raises(RuntimeError, match=f"linalg.{op}.*singular"):
        dm.linalg.inv(A[1]) if op == "inv" else dm.linalg.solve(A[1], dm.ones(3, dtype=dm.float64))


def test_cholesky_error_names_batch_element_and_minor():
    a = np.stack([np.eye(3), np.diag([1.0, -1.0, 1.0])])
    with pytest.raises(dm.linalg.LinAlgError, match=r"\(Batch element 1\).*leading minor of order 2"):
        dm.linalg.cholesky(dm.tensor(a))


# --- conditioning warnings (dlmath only) ----------------------------------------------------
def _hilbert(n):
    i = np.arange(n)
    return 1.0 / (i[:, None] + i[None, :] + 1)


@dlmath_only
@pytest.mark.parametrize("op", ["inv", "solve", "det"])
@pytest.mark.parametrize("dtype,n", [("float64", 12), ("float32", 6)])
def test_ill_conditioned_warns_with_condition_number(op, dtype, n):
    a = np.stack([np.eye(n), _hilbert(n)]).astype(dtype)
    A = dm.tensor(a)
    run = {"inv": lambda: dm.linalg.inv(A), "det": lambda: dm.linalg.det(A),
           "solve": lambda: dm.linalg.solve(A, dm.tensor(np.ones((2, n, 1), dtype)))}[op]
    with pytest.warns(dm.linalg.IllConditionedWarning, match=rf"linalg.{op}.*batch element 1.*condition number"):
        run()
    assert issubclass(dm.linalg.IllConditionedWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", dm.linalg.IllConditionedWarning)   # the usual filters silence it
        run()


@dlmath_only
def test_large_solve_uses_the_free_lower_bound(monkeypatch):
    import importlib
    monkeypatch.setattr(importlib.import_module("dlmath.linalg.solve"), "COND_CHECK_MAX_N", 4)
    a = _hilbert(12)
    b = np.random.default_rng(0).standard_normal((12, 2))
    with pytest.warns(dm.linalg.IllConditionedWarning, match="linalg.solve"):
        dm.linalg.solve(dm.tensor(a), dm.tensor(b))


def test_nan_matrices_give_nan_not_singular_errors(torch):
    nan = np.array([[np.nan, 1.0], [1.0, 1.0]])
    compare_with_torch(lambda L, a: L.linalg.inv(a), (np.stack([nan, np.eye(2)]),), torch=torch, grad=False)
    compare_with_torch(lambda L, a, b: L.linalg.solve(a, b), (nan, np.ones(2)), torch=torch, grad=False)


# --- det at a singular matrix: the cofactor matrix (dlmath only; PyTorch gives zeros) ----------
def _cofactor(m):
    n = m.shape[0]
    return np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(m, i, 0), j, 1)) for j in range(n)]
                     for i in range(n)])


SINGULAR = [np.array([[1.0, 2, 3], [2, 4, 6], [0, 1, 1]]),             # rank 2: adj(A) != 0
            np.array([[1.0, 2, 3], [2, 4, 6], [3, 6, 9]]),             # rank 1: adj(A) = 0
            np.array([[0.0, 0, 0, 0], [1, 2, 0, 1], [0, 1, 1, 0], [2, 0, 1, 3]])]


@dlmath_only
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("k", range(len(SINGULAR)))
def test_det_gradient_at_singular_matrix_is_the_cofactor_matrix(k):
    m = SINGULAR[k]
    x = dm.tensor(m, requires_grad=True)
    dm.linalg.det(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), _cofactor(m), atol=1e-10)
    numerical_vjp_check(lambda L, a: L.linalg.det(a), [dm.tensor(m, requires_grad=True)])
    second_order_check(lambda L, a: L.linalg.det(a), [dm.tensor(m, requires_grad=True)])


@dlmath_only
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_det_gradient_batched_mixing_singular_and_regular():
    a = np.stack([SINGULAR[0], well(3, 3)])
    x = dm.tensor(a, requires_grad=True)
    dm.linalg.det(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.stack([_cofactor(m) for m in a]), atol=1e-10)


@dlmath_only
def test_slogdet_backward_at_singular_matrix_raises():
    x = dm.tensor(SINGULAR[0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sign, logabs = dm.linalg.slogdet(x)
    assert sign.item() == 0 and logabs.item() == -INF
    with pytest.raises(dm.linalg.LinAlgError, match="slogdet.*singular"):
        logabs.backward()


# --- degenerate spectra ----------------------------------------------------------------------
@dlmath_only
def test_eigh_degenerate_eigenvector_loss_warns_not_nan():
    x = dm.tensor(np.diag([1.0, 1.0, 2.0]), requires_grad=True)
    w, v = dm.linalg.eigh(x)
    with pytest.warns(dm.linalg.DegenerateEigenvaluesWarning, match="eigenvalues 0 and 1"):
        (v[:, 0] * dm.tensor([1.0, 2.0, 3.0], dtype=dm.float64)).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


@dlmath_only
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_eigh_degenerate_projector_loss_is_exact():
    # a loss on the projector onto the repeated eigenspace is smooth in A: the dropped 0/0
    # coupling terms are exactly 0 and the gradient matches finite differences
    def projector(lib, s):
        v = lib.linalg.eigh(_sym(s)).eigenvectors
        return v[..., :, :2] @ v[..., :, :2].mT
    a = np.diag([1.0, 1.0, 3.0])
    x = dm.tensor(a, requires_grad=True)
    with pytest.warns(dm.linalg.DegenerateEigenvaluesWarning, match="projector"):
        (projector(dm, x) * dm.tensor(gen(3, 3))).sum().backward()
    numerical_vjp_check(projector, [dm.tensor(a, requires_grad=True)])


def test_eigenvalue_only_loss_at_degenerate_spectrum_matches_torch(torch):
    a = np.diag([2.0, 2.0, 5.0]) + 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grads_like_torch(lambda L, x: L.linalg.eigvalsh(x) ** 2, a, torch=torch)
        grads_like_torch(lambda L, x: L.linalg.svdvals(x) ** 3, np.diag([1.0, 1.0, 2.0]), torch=torch)


@dlmath_only
def test_svd_degenerate_singular_vector_loss_warns_not_nan():
    x = dm.tensor(np.eye(3, 2), requires_grad=True)
    u, s, vh = dm.linalg.svd(x, full_matrices=False)
    with pytest.warns(dm.linalg.DegenerateEigenvaluesWarning):
        (u[:, 0] ** 3).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


# --- norm subgradient at zero (PyTorch's: 0, not NaN) ---------------------------------------------
@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, -1, INF, -INF])
def test_vector_norm_gradient_at_zero_vector_is_zero(ord, torch):
    _, (g,) = grads_like_torch(lambda L, x: L.linalg.vector_norm(x, ord), np.zeros(4), torch=torch)
    np.testing.assert_array_equal(g, 0.0)


def test_norm_gradient_at_zero_rows(torch):
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    grads_like_torch(lambda L, t: t.norm(dim=1), x, torch=torch)
    grads_like_torch(lambda L, t: L.linalg.vector_norm(t, 3, dim=1), x, torch=torch)
    grads_like_torch(lambda L, t: L.linalg.vector_norm(t, INF, dim=1), np.array([[1.0, -1.0], [0.0, 2.0]]),
                     torch=torch)


@dlmath_only
def test_norm_second_derivative_at_zero_is_finite():
    x = dm.zeros(3, dtype=dm.float64, requires_grad=True)
    (g,) = dm.autograd.grad(dm.linalg.vector_norm(x), x, create_graph=True)
    (h,) = dm.autograd.grad(g.sum(), x, allow_unused=True, materialize_grads=True)
    assert np.all(np.isfinite(h.numpy()))


# --- eig / eigvals: complex, forward only ----------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_eig_forward_matches_torch(dtype, torch):
    a = gen(2, 4, 4).astype(dtype)
    w, v = dm.linalg.eig(dm.tensor(a))
    tw, tv = torch.linalg.eig(torch.tensor(a))
    assert str(w.dtype).split(".")[-1] == str(tw.dtype).split(".")[-1]
    tol = 1e-10 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(to_numpy(w), to_numpy(tw), atol=tol)
    np.testing.assert_allclose(np.abs(to_numpy(v)), np.abs(to_numpy(tv)), atol=tol * 10)
    np.testing.assert_allclose(to_numpy(dm.linalg.eigvals(dm.tensor(a))), to_numpy(tw), atol=tol)
    np.testing.assert_allclose(a.astype(complex) @ to_numpy(v), to_numpy(v) * to_numpy(w)[..., None, :],
                               atol=tol * 10)


@dlmath_only
def test_eig_backward_says_it_is_not_implemented():
    w, _ = dm.linalg.eig(dm.tensor(gen(3, 3), requires_grad=True))
    with pytest.raises(NotImplementedError, match="linalg.eig.*complex"):
        w.abs().sum().backward()


def test_matrix_rank_matches_torch(torch):
    low = gen(2, 5, 2) @ gen(2, 2, 4)
    compare_with_torch(lambda L, a: L.linalg.matrix_rank(a), (low,), torch=torch, grad=False)
    compare_with_torch(lambda L, a: L.linalg.matrix_rank(a, atol=1.0, rtol=0.0), (low,), torch=torch, grad=False)
    compare_with_torch(lambda L, a: L.linalg.matrix_rank(_sym(a), hermitian=True), (low[..., :4],),
                       torch=torch, grad=False)


# --- beyond PyTorch: spectral_radius, power_iteration -------------------------------------------
@dlmath_only
@pytest.mark.parametrize("a", [gen(4, 4), gen(2, 3, 3), sym(4, 4), np.array([[0.0, -2.0], [2.0, 0.5]])],
                         ids=["general", "batched", "symmetric", "complex_pair"])
def test_spectral_radius_value_and_gradient(a):
    rho = dm.linalg.spectral_radius(dm.tensor(a))
    np.testing.assert_allclose(rho.numpy(), np.max(np.abs(np.linalg.eigvals(a)), -1), rtol=1e-12)
    numerical_vjp_check(lambda L, x: L.linalg.spectral_radius(x), [dm.tensor(a, requires_grad=True)])


@dlmath_only
def test_spectral_radius_ties_share_the_gradient_and_second_order_raises():
    x = dm.tensor(np.diag([2.0, -2.0, 1.0]), requires_grad=True)
    dm.linalg.spectral_radius(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.diag([0.5, -0.5, 0.0]))
    x = dm.tensor(gen(3, 3), requires_grad=True)
    with pytest.raises(NotImplementedError, match="spectral_radius"):
        dm.autograd.grad(dm.linalg.spectral_radius(x), x, create_graph=True)


@dlmath_only
def test_power_iteration_dominant_pair_and_gradient():
    a = spd(5, 5)
    w, v = np.linalg.eigh(a)
    x = dm.tensor(a, requires_grad=True)
    lam, vec = dm.linalg.power_iteration(x, num_iters=1000, tol=1e-10, generator=dm.Generator().manual_seed(0))
    np.testing.assert_allclose(lam.item(), w[-1], rtol=1e-10)
    np.testing.assert_allclose(np.abs(vec.numpy()), np.abs(v[:, -1]), atol=1e-6)
    assert not vec.requires_grad and vec.numpy()[np.argmax(np.abs(vec.numpy()))] > 0
    lam.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.outer(v[:, -1], v[:, -1]), atol=1e-6)
    again = dm.linalg.power_iteration(x, num_iters=1000, tol=1e-10, generator=dm.Generator().manual_seed(0))
    np.testing.assert_array_equal(again.eigenvector.numpy(), vec.numpy())


@dlmath_only
def test_power_iteration_batched_negative_and_nonconvergence_warning():
    a = np.stack([np.diag([1.0, -3.0, 2.0]), np.diag([0.5, 4.0, 1.0])])
    lam, vec = dm.linalg.power_iteration(dm.tensor(a), num_iters=500, tol=1e-12)
    np.testing.assert_allclose(lam.numpy(), [-3.0, 4.0], rtol=1e-10)
    np.testing.assert_allclose(np.abs(vec.numpy()), [[0, 1, 0], [0, 1, 0]], atol=1e-6)
    with pytest.warns(UserWarning, match="did not converge"):
        dm.linalg.power_iteration(dm.tensor([[0.0, -1.0], [1.0, 0.0]]), num_iters=20)


@pytest.mark.skipif(AGAINST_TORCH, reason="dlmath namespace layout")
def test_namespace_and_top_level_norm():
    for name in ["norm", "vector_norm", "matrix_norm", "inv", "solve", "det", "slogdet", "eigh", "eigvalsh", "eig",
                 "eigvals", "svd", "svdvals", "cholesky", "qr", "matrix_power", "matrix_rank", "pinv",
                 "spectral_radius", "power_iteration", "LinAlgError", "IllConditionedWarning"]:
        assert hasattr(dm.linalg, name), name
    assert dm.norm(dm.tensor([3.0, 4.0])).item() == 5.0
