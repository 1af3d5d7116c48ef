"""Factorisations: ``cholesky`` (A = L L^T) and ``qr`` (A = Q R), batched, with gradients
written in ``xp`` operations (second derivatives work).
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import Op, apply
from ._common import LinAlgError, QRResult, batch_label, flat, la, lapack, matrix_input, mT, raw


def _phi(xp, x):
    """The lower triangle of x with its diagonal halved (Murray's Phi)."""
    return xp.tril(x) - 0.5 * x * np.eye(x.shape[-1], dtype=raw(x).dtype)


class Cholesky(Op):
    """L with A = L L^T, L lower triangular (only A's lower triangle is read).

    vjp: dA = L^-T Phi'(L^T G) L^-1 symmetrised, Phi' = tril with halved diagonal;
    jvp: dL = L Phi(L^-1 dA L^-T). Sampling from N(mu, Sigma) (x = mu + L z), Gaussian
    log-likelihoods, and cheap SPD solves.

    ``upper``: return U = L^T instead of L.
    """
    __slots__ = ("upper",)
    uses_inputs, uses_output = False, True

    def __init__(self, upper):
        self.upper = upper

    def forward(self, a):
        try:
            low = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            potrf = lapack("potrf", a)
            for k, m in enumerate(flat(a)):
                _, info = potrf(m, lower=1)
                if info > 0:
                    raise LinAlgError(
                        f"linalg.cholesky: {batch_label(a.shape[:-2], k)}The factorization could not be completed "
                        f"because the input is not positive-definite (the leading minor of order {info} is not "
                        "positive-definite).") from None
            raise LinAlgError("linalg.cholesky: the input is not positive-definite.") from None
        return mT(np, low).copy() if self.upper else low

    # Murray 2016, "Differentiation of the Cholesky decomposition", eq. 10 (symmetrised as PyTorch)
    def vjp(self, xp, g, a, y):
        low, gl = (mT(xp, y), mT(xp, g)) if self.upper else (y, g)
        p = xp.tril(xp.matmul(mT(xp, low), gl))
        p = 0.5 * (p + mT(xp, xp.tril(p, -1)))          # = 0.5 (P + P^T - diag P): Phi'(P) + its transpose
        linv = la(xp).inv(low, "linalg.cholesky (backward)")
        return (xp.matmul(mT(xp, linv), xp.matmul(p, linv)),)

    def jvp(self, xp, t, a, y):
        low = mT(xp, y) if self.upper else y
        linv = la(xp).inv(low, "linalg.cholesky (jvp)")
        dl = xp.matmul(low, _phi(xp, xp.matmul(linv, xp.matmul(t[0], mT(xp, linv)))))
        return mT(xp, dl) if self.upper else dl


def cholesky(A, *, upper=False):
    """The Cholesky factor of each symmetric positive-definite matrix in A (..., n, n),
    as torch.linalg.cholesky: lower L with A = L L^T (upper=True: U = L^T, A = U^T U).

    Raises LinAlgError naming the batch element and the leading minor that is not
    positive-definite.

    >>> import dlmath as dm
    >>> dm.linalg.cholesky(dm.tensor([[4.0, 2.0], [2.0, 2.0]]))
    tensor([[2., 0.],
            [1., 1.]])
    """
    A = matrix_input(A, "linalg.cholesky")
    return apply(Cholesky(bool(upper)), A)


def _copyltu(xp, m):
    """tril(M) + tril(M, -1)^T: the symmetric matrix with M's lower triangle."""
    return xp.tril(m) + mT(xp, xp.tril(m, -1))


def _qr_square_vjp(xp, gq, gr, q, r):
    """dA for A = QR with m >= n (Q: m x n, R: n x n):
    M = R gR^T - gQ^T Q;  dA = (gQ + Q copyltu(M)) R^-T."""
    m = xp.matmul(r, mT(xp, gr)) - xp.matmul(mT(xp, gq), q)
    b = gq + xp.matmul(q, _copyltu(xp, m))
    # X = B R^-T  <=>  R X^T = B^T
    return mT(xp, la(xp).solve(r, mT(xp, b), "linalg.qr (backward)"))


class QR(Op):
    """(Q, R) with A = Q R, Q orthonormal columns, R upper triangular.

    vjp (Walter & Lehmann 2018; Liao et al. 2019, eq. 41-43, as HIPS autograd and PyTorch):
    m >= n: M = R gR^T - gQ^T Q, dA = (gQ + Q copyltu(M)) R^-T; m < n: A = [X | Y],
    the square rule on X with gQ + Y gR_Y^T, and dY = Q gR_Y. Gram-Schmidt orthogonalisation,
    orthogonal initialisation, least squares.

    ``mode``: 'reduced', 'complete' or 'r', as torch.linalg.qr's.
    """
    __slots__ = ("mode",)
    uses_inputs, uses_output = True, True
    n_out = 2

    def __init__(self, mode):
        self.mode = mode

    def forward(self, a):
        if self.mode == "r":
            r = np.linalg.qr(a, mode="r")
            return np.zeros((0,), dtype=a.dtype), r
        q, r = np.linalg.qr(a, mode=self.mode)
        return q, r

    def vjp(self, xp, grads, a, outs):
        m, n = raw(a).shape[-2:]
        if self.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                               "through linalg.qr.")
        if self.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        q, r = outs
        gq, gr = grads
        gq = q * 0 if gq is None else gq
        gr = r * 0 if gr is None else gr
        if m >= n:
            return (_qr_square_vjp(xp, gq, gr, q, r),)
        y_ = a[..., :, m:]
        gr1, gr2 = gr[..., :, :m], gr[..., :, m:]
        gx = _qr_square_vjp(xp, gq + xp.matmul(y_, mT(xp, gr2)), gr1, q, r[..., :, :m])
        return (xp.concatenate([gx, xp.matmul(q, gr2)], axis=-1),)


def qr(A, mode="reduced"):
    """QR decomposition of (..., m, n) A, as torch.linalg.qr.

    mode='reduced': Q (m, k), R (k, n) with k = min(m, n); 'complete': Q (m, m),
    R (m, n); 'r': only R (Q is an empty tensor; not differentiable).

    >>> import dlmath as dm
    >>> Q, R = dm.linalg.qr(dm.tensor([[3.0, 0.0], [4.0, 5.0]]))
    >>> (Q @ R).round(decimals=4).tolist()
    [[3.0, 0.0], [4.0, 5.0]]
    """
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    A = matrix_input(A, "linalg.qr", square=False)
    return QRResult(*apply(QR(mode), A))
