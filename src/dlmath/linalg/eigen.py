"""Spectra: ``eigh``/``eigvalsh`` (symmetric), ``eig``/``eigvals`` (general, complex),
``svd``/``svdvals``, and, beyond PyTorch, ``spectral_radius`` and ``power_iteration``.

The eigh and svd gradients are written in ``xp`` operations, so they run on
Tensors under create_graph=True (second derivatives work). Where two
eigenvalues (singular values) coincide, the eigenvector (singular-vector)
terms divide 0 by 0: see ``_common.gap_terms`` for what dlmath does there.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..autograd.node import Op, apply, make_tensor
from ..ops import matmul as mm
from .._random import rng as _rng
from ._common import (DegenerateEigenvaluesWarning, EigResult, EighResult, LinAlgError, PowerIterationResult,
                      SVDResult, diag_embed, diagonal, gap_terms, is_numpy, matrix_input, mT, raw, user_stacklevel)


def _needs_grad(A):
    """The op must be recorded: A requires grad, or carries a forward-mode tangent (dm.func.jvp)."""
    from .._grad_mode import is_grad_enabled
    return (A.requires_grad and is_grad_enabled()) or bool(A._tangent)


# --- eigh ----------------------------------------------------------------------
def _eigh_inner(xp, gl, gv, w, v, opname="linalg.eigh"):
    """The matrix M with dA = V M V^T: diag(gL) + skew(V^T gV) / (w_j - w_i) off the diagonal."""
    inner = None
    if gv is not None:
        vtg = xp.matmul(mT(xp, v), gv)
        skew = 0.5 * (vtg - mT(xp, vtg))
        gaps = xp.expand_dims(w, -2) - xp.expand_dims(w, -1)         # gaps[i, j] = w_j - w_i
        wr = raw(w)
        inner = gap_terms(xp, skew, gaps, wr[..., None, :] - wr[..., :, None], wr, raw(skew),
                          opname, "eigenvalues", depends=bool(np.any(raw(gv) != 0)))
    if gl is not None:
        d = diag_embed(xp, gl)
        inner = d if inner is None else inner + d
    return inner


class Eigh(Op):
    """(w, V) with A = V diag(w) V^T, w ascending, V orthogonal (A symmetric; one triangle read).

    vjp: dA = V (diag(gw) + F o skew(V^T gV)) V^T, F_ij = 1/(w_j - w_i) (i != j).
    jvp: dw = diag(V^T dA V), dV = V (F o V^T dA V). PCA, Hessian spectra, graph Laplacians.

    ``uplo``: the triangle read, 'L' or 'U'.
    """
    __slots__ = ("uplo",)
    uses_inputs, uses_output = False, True
    n_out = 2

    def __init__(self, uplo):
        self.uplo = uplo

    def forward(self, a):
        return np.linalg.eigh(a, UPLO=self.uplo)

    # Giles 2008 sec. 3.1; Magnus & Neudecker; as PyTorch's linalg_eig_backward (Hermitian case)
    def vjp(self, xp, grads, a, outs):
        w, v = outs
        inner = _eigh_inner(xp, grads[0], grads[1], w, v)
        return (xp.matmul(v, xp.matmul(inner, mT(xp, v))),)

    def jvp(self, xp, t, a, outs):
        w, v = outs
        p = xp.matmul(mT(xp, v), xp.matmul(t[0], v))
        p = 0.5 * (p + mT(xp, p))
        gaps = xp.expand_dims(w, -2) - xp.expand_dims(w, -1)
        wr = raw(w)
        f = gap_terms(xp, p, gaps, wr[..., None, :] - wr[..., :, None], wr, raw(p), "linalg.eigh (jvp)",
                      "eigenvalues")
        return diagonal(xp, p), xp.matmul(v, f)


def _uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO


def eigh(A, UPLO="L"):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric A (..., n, n),
    as torch.linalg.eigh; only the ``UPLO`` triangle of A is read.

    Differs from PyTorch (documented): when two eigenvalues are equal (to working
    precision) and the loss depends on the eigenvectors, the eigenvector term is 0/0;
    backward warns (DegenerateEigenvaluesWarning) and sets those coupling terms to 0
    (exact for losses on a whole repeated eigenspace, e.g. its projector) instead of
    silently returning NaN as PyTorch does. Eigenvectors are defined up to sign: use
    losses invariant to it. The backward is written in ``xp`` operations, so second
    derivatives work (create_graph=True).

    >>> import dlmath as dm
    >>> dm.linalg.eigh(dm.tensor([[2.0, 1.0], [1.0, 2.0]])).eigenvalues
    tensor([1., 3.])
    """
    A = matrix_input(A, "linalg.eigh")
    return EighResult(*apply(Eigh(_uplo(UPLO)), A))


def eigvalsh(A, UPLO="L"):
    """Eigenvalues (ascending) of symmetric A (..., n, n), as torch.linalg.eigvalsh.
    Gradient: V diag(g) V^T (exact also at repeated eigenvalues).

    >>> import dlmath as dm
    >>> dm.linalg.eigvalsh(dm.tensor([[2.0, 0.0], [0.0, -1.0]]))
    tensor([-1.,  2.])
    """
    A = matrix_input(A, "linalg.eigvalsh")
    if _needs_grad(A):
        return eigh(A, UPLO).eigenvalues
    return make_tensor(np.linalg.eigvalsh(A._data, UPLO=_uplo(UPLO)))


# --- eig (general) -----------------------------------------------------------------
class Eig(Op):
    """(w, V) with A V = V diag(w), complex. Forward only for now."""
    __slots__ = ()
    uses_inputs = False
    n_out = 2

    def forward(self, a):
        w, v = np.linalg.eig(a)
        c = np.complex64 if a.dtype == np.float32 else np.complex128
        return w.astype(c), v.astype(c)

    def vjp(self, xp, grads, a, outs):
        raise NotImplementedError(
            "linalg.eig: backward is not implemented: dlmath has no complex autograd yet. For symmetric "
            "matrices use linalg.eigh; for the largest |eigenvalue| use linalg.spectral_radius (differentiable).")


def eig(A):
    """Eigenvalues and eigenvectors of a general square A, complex (complex64 for float32),
    as torch.linalg.eig. Forward only: backward raises NotImplementedError (no complex autograd yet).

    >>> import dlmath as dm
    >>> dm.linalg.eig(dm.tensor([[0.0, -1.0], [1.0, 0.0]])).eigenvalues
    tensor([0.+1.j, 0.-1.j])
    """
    A = matrix_input(A, "linalg.eig")
    return EigResult(*apply(Eig(), A))


def eigvals(A):
    """Eigenvalues of a general square A (complex), as torch.linalg.eigvals. Forward only."""
    A = matrix_input(A, "linalg.eigvals")
    return eig(A).eigenvalues


# --- svd -----------------------------------------------------------------------------
class SVD(Op):
    """(U, S, Vh) with A = U diag(S) Vh, S descending.

    vjp (Townsend 2016, "Differentiating the singular value decomposition"; as PyTorch's
    svd_backward): with k = min(m, n), E_jk = S_k^2 - S_j^2,
    dA = U [ (skew(U^T gU) S + S skew(Vh gVh^T)) / E + diag(gS) ] Vh
         + (I - U U^T) gU S^-1 Vh (m > n)  or  U S^-1 gVh (I - Vh^T Vh) (m < n).
    With full_matrices=True only the first k columns of U (rows of Vh) are differentiated,
    as PyTorch. Low-rank approximation, spectral norms, orthogonalisation (Shampoo, Muon).

    ``full_matrices``: U (m, m) and Vh (n, n) instead of (m, k) and (k, n).
    """
    __slots__ = ("full_matrices",)
    uses_inputs, uses_output = False, True
    n_out = 3

    def __init__(self, full_matrices):
        self.full_matrices = full_matrices

    def forward(self, a):
        return np.linalg.svd(a, full_matrices=self.full_matrices)

    def vjp(self, xp, grads, a, outs):
        gu, gs, gvh = grads
        u, s, vh = outs
        m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
        if self.full_matrices:
            u, vh = u[..., :, :k], vh[..., :k, :]
            gu = None if gu is None else gu[..., :, :k]
            gvh = None if gvh is None else gvh[..., :k, :]
        if k == 0:
            return (a * 0,)
        if gu is None and gvh is None:
            return (xp.matmul(u * xp.expand_dims(gs, -2), vh),)
        sr = raw(s)
        num = 0
        if gu is not None:
            utg = xp.matmul(mT(xp, u), gu)
            num = (utg - mT(xp, utg)) * xp.expand_dims(s, -2)
        if gvh is not None:
            vtg = xp.matmul(vh, mT(xp, gvh))
            num = num + xp.expand_dims(s, -1) * (vtg - mT(xp, vtg))
        s2 = s * s
        gaps = xp.expand_dims(s2, -2) - xp.expand_dims(s2, -1)
        sr2 = sr * sr
        depends = any(t is not None and bool(np.any(raw(t) != 0)) for t in (gu, gvh))
        inner = gap_terms(xp, num, gaps, sr2[..., None, :] - sr2[..., :, None], sr2, raw(num),
                          "linalg.svd", "singular values", depends)
        if gs is not None:
            inner = inner + diag_embed(xp, gs)
        if m > n and gu is not None:
            ga = xp.matmul(u, inner)
            gus = gu * _safe_recip(xp, s, sr, raw(gu), -2)
            ga = ga + gus - xp.matmul(u, xp.matmul(mT(xp, u), gus))
            return (xp.matmul(ga, vh),)
        if m < n and gvh is not None:
            ga = xp.matmul(inner, vh)
            sgv = gvh * _safe_recip(xp, s, sr, raw(gvh), -1)
            ga = ga + sgv - xp.matmul(xp.matmul(sgv, mT(xp, vh)), vh)
            return (xp.matmul(u, ga),)
        return (xp.matmul(u, xp.matmul(inner, vh)),)


def _safe_recip(xp, s, sr, g, axis):
    """1/s expanded along ``axis``; 0 (with a warning when g is not) where s = 0 (rank deficient)."""
    zero = sr <= sr.shape[-1] * np.finfo(sr.dtype).eps * np.max(sr, axis=-1, keepdims=True)
    if np.any(zero):
        gz = np.abs(g) * np.expand_dims(zero, axis)
        if np.any(gz > np.sqrt(np.finfo(sr.dtype).eps) * (np.max(np.abs(g)) + 1e-300)):
            warnings.warn("linalg.svd backward: a singular value is 0 and the loss depends on the matching "
                          "singular vector of the larger side, which is not unique; that term was set to 0 "
                          "(PyTorch returns inf/NaN).", DegenerateEigenvaluesWarning, stacklevel=user_stacklevel())
    rec = xp.where(zero, 0.0, 1.0 / xp.where(zero, 1.0, s))
    return xp.expand_dims(rec, axis)


def svd(A, full_matrices=True, *, driver=None):
    """Singular value decomposition A = U diag(S) Vh of (..., m, n) A, as torch.linalg.svd.

    Gradients of U and Vh are defined for losses invariant to the signs of the
    singular vectors; repeated (or, for non-square A, zero) singular values are
    handled as in ``eigh``: a DegenerateEigenvaluesWarning and 0 for the undefined
    terms, where PyTorch returns NaN. Second derivatives work (create_graph=True).

    >>> import dlmath as dm
    >>> dm.linalg.svd(dm.tensor([[3.0, 0.0], [0.0, -4.0]])).S
    tensor([4., 3.])
    """
    A = matrix_input(A, "linalg.svd", square=False)
    return SVDResult(*apply(SVD(bool(full_matrices)), A))


def svdvals(A, *, driver=None):
    """Singular values (descending) of (..., m, n) A, as torch.linalg.svdvals.
    Gradient: U diag(g) Vh (exact also at repeated singular values).

    >>> import dlmath as dm
    >>> dm.linalg.svdvals(dm.tensor([[0.0, 2.0], [1.0, 0.0]]))
    tensor([2., 1.])
    """
    A = matrix_input(A, "linalg.svdvals", square=False)
    if _needs_grad(A):
        return svd(A, full_matrices=False).S
    return make_tensor(np.linalg.svd(A._data, compute_uv=False))


# --- beyond PyTorch: spectral radius, power iteration ------------------------------
class SpectralRadius(Op):
    """rho(A) = max_k |lambda_k|.

    vjp: with right eigenvectors V and left ones W = V^-1 (rows), d lambda_k = W_k dA V_k, so
    d rho/dA = Re(conj(lambda_k)/|lambda_k| W_k^T V_k^T); tied moduli share the cotangent evenly
    (a conjugate pair gives the same term twice). First order only (raw NumPy).
    """
    __slots__ = ("direction",)
    uses_inputs = False

    def forward(self, a):
        sym = np.array_equal(a, mT(np, a))
        if sym:
            w, v = np.linalg.eigh(a)
            winv_t = v
        else:
            w, v = np.linalg.eig(a)
        aw = np.abs(w)
        rho = np.max(aw, axis=-1) if aw.shape[-1] else np.zeros(a.shape[:-2])
        # d rho / dA (computed here: the eigendecomposition is at hand)
        tie = aw >= rho[..., None] * (1 - 8 * a.shape[-1] * np.finfo(a.dtype).eps)
        with np.errstate(all="ignore"):
            c = np.where(tie & (aw > 0), np.conj(w) / np.where(aw > 0, aw, 1), 0) / np.sum(tie, -1, keepdims=True)
        if not sym:
            try:
                winv_t = mT(np, np.linalg.inv(v))
            except np.linalg.LinAlgError:
                self.direction = None
                return rho.astype(a.dtype)
        self.direction = np.real(np.matmul(winv_t * c[..., None, :], mT(np, v))).astype(a.dtype)
        return rho.astype(a.dtype)

    def vjp(self, xp, g, a, y):
        if not is_numpy(xp):
            raise NotImplementedError("spectral_radius: second derivatives are not implemented (its backward "
                                      "uses the eigendecomposition as a constant); call backward without "
                                      "create_graph=True.")
        if self.direction is None:
            raise LinAlgError("spectral_radius backward: the matrix is defective (its eigenvectors do not span "
                              "the space), so the eigenvalue derivative is not defined.")
        return (xp.expand_dims(xp.expand_dims(g, -1), -1) * self.direction,)

    def jvp(self, xp, t, a, y):
        return xp.sum(t[0] * self.direction, axis=(-2, -1))


def spectral_radius(A):
    """max |eigenvalue| of each square matrix in A (..., n, n) (not in PyTorch).

    Whether a linear recurrence h_t = A h_{t-1} explodes (rho > 1) or vanishes (rho < 1):
    the exploding/vanishing-gradient criterion of RNNs. Differentiable where the top
    eigenvalue is simple (a complex-conjugate pair counts as one); first order only.

    >>> import dlmath as dm
    >>> dm.linalg.spectral_radius(dm.tensor([[0.5, 0.0], [0.0, -2.0]]))
    tensor(2.)
    """
    A = matrix_input(A, "linalg.spectral_radius")
    return apply(SpectralRadius(), A)


def power_iteration(A, num_iters=100, tol=1e-6, generator=None):
    """Dominant (eigenvalue, eigenvector) of square A (..., n, n) by power iteration (not in PyTorch).

    v <- A v / ||A v|| from a random start (drawn from ``generator``), stopping once
    every batch element's v changes (up to sign) by at most ``tol`` in 2-norm, or after
    ``num_iters`` steps (then warns). The eigenvalue is the Rayleigh quotient v^T A v,
    differentiable in A with v held fixed (gradient v v^T: exact for symmetric A at
    convergence), as spectral normalisation (Miyato et al. 2018) uses it; the
    eigenvector is returned detached, with its largest-magnitude entry positive.

    >>> import dlmath as dm
    >>> lam, v = dm.linalg.power_iteration(dm.tensor([[2.0, 0.0], [0.0, 1.0]]), generator=dm.Generator().manual_seed(0))
    >>> round(lam.item(), 4)
    2.0
    """
    A = matrix_input(A, "linalg.power_iteration")
    a = A._data
    n = a.shape[-1]
    v = _rng(generator).standard_normal(a.shape[:-1]).astype(a.dtype)
    v /= np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), np.finfo(a.dtype).tiny)
    change = np.inf
    for _ in range(int(num_iters)):
        w = np.matmul(a, v[..., None])[..., 0]
        nw = np.linalg.norm(w, axis=-1, keepdims=True)
        w = np.where(nw > 0, w / np.where(nw > 0, nw, 1), v)
        sign = np.where(np.sum(w * v, axis=-1, keepdims=True) < 0, -1.0, 1.0).astype(a.dtype)
        change = float(np.max(np.linalg.norm(w - sign * v, axis=-1))) if n else 0.0
        v = w
        if change <= tol:
            break
    else:
        if num_iters > 0:
            warnings.warn(f"power_iteration: did not converge in num_iters={num_iters} steps (last change "
                          f"{change:.3g} > tol={tol:g}); the dominant eigenvalue may be complex, or not "
                          "well separated in modulus from the next one.", UserWarning, stacklevel=user_stacklevel())
    if n:
        big = np.take_along_axis(v, np.argmax(np.abs(v), axis=-1)[..., None], -1)
        v = v * np.where(big < 0, -1, 1).astype(a.dtype)
    vt = make_tensor(v)
    lam = mm.einsum("...i,...ij,...j->...", vt, A, vt)
    return PowerIterationResult(lam, vt)
