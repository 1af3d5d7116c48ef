"""The few differentiable linear-algebra pieces the multivariate normal needs.

Kept private so the distributions do not depend on ``dm.linalg``: Cholesky
factorisation and triangular solves (each a primitive with its vjp), the
diagonal of a batch of matrices, and log det of a triangular matrix (sum of
log diagonal). Rules from Murray, "Differentiation of the Cholesky
decomposition" (2016) and Giles, "An extended collection of matrix derivative
results" (2008).
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import Op, apply
from ..tensor import Tensor
from ..ops._util import quiet, to_tensor


def _substitute(a, b, upper):
    """Solve a x = b for triangular a (..., n, n), b (..., n, k), batch dims broadcast.

    Forward (lower) or back (upper) substitution, vectorised over the batch:
    n steps of x_i = (b_i - sum_j a_ij x_j) / a_ii, which is what LAPACK's trtrs does.
    """
    n = a.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    dt = np.result_type(a, b)
    x = np.zeros(batch + (n, b.shape[-1]), dtype=dt)
    order = range(n - 1, -1, -1) if upper else range(n)
    with quiet():
        for i in order:
            rest = slice(i + 1, n) if upper else slice(0, i)
            acc = b[..., i, :] - np.einsum("...j,...jk->...k", a[..., i, rest], x[..., rest, :])
            x[..., i, :] = acc / a[..., i, i][..., None]
    return x


def solve_tri(a, b, upper=False):
    """a^{-1} b for triangular a, on arrays (plain backward) or Tensors (recorded)."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return apply(SolveTriangular(upper), to_tensor(a), to_tensor(b))
    return _substitute(a, b, upper)


class SolveTriangular(Op):
    """X = A^{-1} B, A triangular (only its triangle is read).

    vjp: dB = A^{-T} G, dA = -tri(dB X^T) (the triangle A was read from). The
    Mahalanobis distance |L^{-1}(x - mu)|^2 of a Gaussian's log-density.

    ``upper``: A is upper (back substitution) rather than lower triangular.
    """
    __slots__ = ("upper",)
    uses_output = True

    def __init__(self, upper):
        self.upper = upper

    def forward(self, a, b):
        return _substitute(a, b, self.upper)

    def vjp(self, xp, g, a, b, x):
        gb = solve_tri(xp.swapaxes(a, -1, -2), g, upper=not self.upper)
        ga = None
        if self.needs[0]:
            full = -xp.matmul(gb, xp.swapaxes(x, -1, -2))
            ga = xp.triu(full) if self.upper else xp.tril(full)
        return ga, (gb if self.needs[1] else None)

    def jvp(self, xp, t, a, b, x):
        ta, tb = t
        rhs = tb
        if ta is not None:
            d = -xp.matmul(xp.triu(ta) if self.upper else xp.tril(ta), x)
            rhs = d if rhs is None else rhs + d
        return solve_tri(a, rhs, upper=self.upper)


class Cholesky(Op):
    """L with A = L L^T, L lower with a positive diagonal: the 'square root' of a covariance.

    vjp (Murray 2016): P = Phi(L^T G) (lower triangle, diagonal halved),
    S = L^{-T} P L^{-1}, dA = (S + S^T) / 2.
    """
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, a):
        try:
            return np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise RuntimeError("cholesky: The factorization could not be completed because the input "
                               "is not positive-definite.") from None

    def vjp(self, xp, g, a, L):
        Lt = xp.swapaxes(L, -1, -2)
        p = xp.tril(xp.matmul(Lt, xp.tril(g)))
        n = L.shape[-1]
        p = p - 0.5 * p * np.eye(n, dtype=L.dtype)  # halve the diagonal
        y = solve_tri(Lt, xp.swapaxes(p, -1, -2), upper=True)        # L^{-T} P^T
        s = solve_tri(Lt, xp.swapaxes(y, -1, -2), upper=True)        # L^{-T} P L^{-1}
        return ((s + xp.swapaxes(s, -1, -2)) * 0.5,)


def cholesky(a):
    return apply(Cholesky(), to_tensor(a))


def diagonal(a):
    """The diagonals of a batch of matrices (..., n, n) -> (..., n), with gradients."""
    idx = np.arange(a.shape[-1])
    return a[..., idx, idx]


def tri_logdet(L):
    """log|det L| for triangular L with a positive diagonal: sum_i log L_ii."""
    return diagonal(L).log().sum(-1)


def precision_to_scale_tril(P):
    """Lower L with L L^T = P^{-1}, without inverting P (torch's flip trick):
    flip(P) = Lf Lf^T, so P = U U^T with U = flip(Lf) upper, and L = U^{-T}."""
    from ..ops.shape import flip
    from ..creation import eye
    Lf = cholesky(flip(P, (-2, -1)))
    L_inv = flip(Lf, (-2, -1)).mT
    return solve_tri(L_inv, eye(P.shape[-1], dtype=P.dtype), upper=False)
