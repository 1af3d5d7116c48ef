"""Inverses and linear systems: ``inv``, ``solve``, ``det``, ``slogdet``, ``matrix_power``,
``matrix_rank``, ``pinv`` (each batched over leading dims, as torch.linalg).

Rules from Giles, "An extended collection of matrix derivative results for
forward and reverse mode AD" (2008), written with ``xp`` operations (and inv /
solve themselves on Tensors), so second derivatives work.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._dtype import scalar_name
from ..autograd.node import Op, apply, make_tensor
from ..ops import elementwise as ew, matmul as mm, shape as sh
from ..ops._util import broadcast_error, shape_str, to_tensor
from ._common import (COND_CHECK_MAX_N, LinAlgError, SlogdetResult, condition_numbers, eps,
                      float_input, inv_array, la, matrix_input, mT, raw, solve_array, warn_if_ill_conditioned,
                      is_numpy, batch_label)


# --- inv ---------------------------------------------------------------------
class Inv(Op):
    """Y = A^-1. vjp: dA = -Y^T G Y^T; jvp: dY = -Y dA Y (from d(A A^-1) = 0).

    Used for whitening, Newton steps, Gaussian precision matrices. In-network
    code should prefer ``solve``: forming A^-1 is slower and less accurate.
    """
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, a):
        y = inv_array(a, "linalg.inv")
        # cond_1 = ||A||_1 ||A^-1||_1: exact and nearly free once A^-1 is known
        warn_if_ill_conditioned("linalg.inv", a, ainv=y)
        return y

    # Giles 2008, sec. 2.2.3: dC = -C dA C  =>  Abar = -C^T Cbar C^T
    def vjp(self, xp, g, a, y):
        yt = mT(xp, y)
        return (-xp.matmul(yt, xp.matmul(g, yt)),)

    def jvp(self, xp, t, a, y):
        return -xp.matmul(y, xp.matmul(t[0], y))


def inv(A):
    """The inverse A^-1 of each square matrix in A (..., n, n), as torch.linalg.inv.

    Raises LinAlgError naming the batch element when a matrix is singular, and
    warns (IllConditionedWarning) with the condition number when it is nearly so.

    >>> import dlmath as dm
    >>> dm.linalg.inv(dm.tensor([[2.0, 0.0], [0.0, 4.0]])).tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    A = matrix_input(A, "linalg.inv")
    return apply(Inv(), A)


# --- solve -------------------------------------------------------------------
class Solve(Op):
    """X = A^-1 B for square A (..., n, n); B (..., n, k), or (..., n) when ``vector``.

    vjp: dB = A^-T G, dA = -dB X^T; jvp: dX = A^-1 (dB - dA X). Least squares
    normal equations, Gaussian processes, implicit layers, Newton steps.

    ``vector``: B (and X) is a batch of vectors (..., n), not of matrices.
    """
    __slots__ = ("vector",)
    uses_output = True

    def __init__(self, vector):
        self.vector = vector

    def forward(self, a, b):
        bb = b[..., None] if self.vector else b
        x = _solve_checked(a, bb)
        return x[..., 0] if self.vector else x

    # Giles 2008, sec. 2.3.1: C = A^-1 B  =>  Bbar = A^-T Cbar, Abar = -Bbar C^T
    def vjp(self, xp, g, a, b, x):
        if self.vector:
            g, x = xp.expand_dims(g, -1), xp.expand_dims(x, -1)
        gb = la(xp).solve(mT(xp, a), g, "linalg.solve (backward)")
        ga = -xp.matmul(gb, mT(xp, x)) if self.needs[0] else None
        if not self.needs[1]:
            gb = None
        elif self.vector:
            gb = gb[..., 0]
        return ga, gb

    def jvp(self, xp, t, a, b, x):
        ta, tb = t
        xx = xp.expand_dims(x, -1) if self.vector else x
        rhs = 0
        if tb is not None:
            rhs = xp.expand_dims(tb, -1) if self.vector else tb
        if ta is not None:
            rhs = rhs - xp.matmul(ta, xx)
        out = la(xp).solve(a, rhs, "linalg.solve (jvp)")
        return out[..., 0] if self.vector else out


def _solve_checked(a, b):
    x = solve_array(a, b, "linalg.solve")
    n = a.shape[-1]
    if n <= COND_CHECK_MAX_N:
        warn_if_ill_conditioned("linalg.solve", a)
    elif n:
        # a free lower bound on cond_1: ||A^-1|| >= ||X|| / ||B|| for each right-hand side
        with np.errstate(all="ignore"):
            an = np.max(np.sum(np.abs(a), axis=-2), axis=-1)
            ratio = np.max(np.sum(np.abs(x), axis=-2) / np.sum(np.abs(b), axis=-2), axis=-1)
            bound = np.broadcast_to(an, ratio.shape) * ratio
        warn_if_ill_conditioned("linalg.solve", a, cond=np.nan_to_num(bound, nan=0.0))
    return x


def solve(A, B, *, left=True):
    """X with A X = B (X A = B when left=False), as torch.linalg.solve.

    A is (..., n, n); B is (..., n, k), or a batch of vectors (..., n) when
    B.ndim == 1 or B.shape == A.shape[:-1]; batch dimensions broadcast.
    Singular A raises LinAlgError naming the batch element; near-singular A
    warns (IllConditionedWarning) with the condition number.

    >>> import dlmath as dm
    >>> dm.linalg.solve(dm.tensor([[2.0, 0.0], [0.0, 4.0]]), dm.tensor([2.0, 2.0])).tolist()
    [1.0, 0.5]
    """
    opname = "linalg.solve"
    A = matrix_input(A, opname)
    B = float_input(B, opname)
    if A.dtype != B.dtype:
        raise RuntimeError(f"{opname}: Expected A and B to have the same dtype, but found A of type "
                           f"{scalar_name(A.dtype)} and B of type {scalar_name(B.dtype)} instead")
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    bshape = tuple(B.shape) + (1,) if vector else tuple(B.shape)
    eq = "AX = B" if left else "XA = B"
    if (bshape[-2] if left else bshape[-1]) != n:
        raise RuntimeError(f"{opname}: Incompatible shapes of A and B for the equation {eq} "
                           f"({n}x{n} and {bshape[-2]}x{bshape[-1]})")
    try:
        np.broadcast_shapes(tuple(A.shape[:-2]), bshape[:-2])
    except ValueError:
        raise broadcast_error(f"{opname} (batch dimensions of A {shape_str(A.shape)} and B {shape_str(B.shape)})",
                              A.shape[:-2], bshape[:-2]) from None
    if not left:   # X A = B  <=>  A^T X^T = B^T
        return solve(sh.mT(A), B) if vector else sh.mT(solve(sh.mT(A), sh.mT(B)))
    return apply(Solve(vector), A, B)


# --- det, slogdet ---------------------------------------------------------------
def _exclusive_prod(s):
    """p_i = prod_{j != i} s_j, without division (exact when some s_j = 0)."""
    ones = np.ones_like(s[..., :1])
    left = np.cumprod(np.concatenate([ones, s[..., :-1]], -1), -1)
    right = np.flip(np.cumprod(np.concatenate([ones, np.flip(s, -1)[..., :-1]], -1), -1), -1)
    return left * right


def cofactor_array(a):
    """adj(A)^T, the cofactor matrix, through the SVD A = U S V^T:
    adj(A)^T = det(U) det(V) U diag(prod_{j != i} s_j) V^T, exact also at singular A."""
    if a.shape[-1] == 0:
        return np.zeros_like(a)
    u, s, vh = np.linalg.svd(a)
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return (sign[..., None, None] * np.matmul(u * _exclusive_prod(s)[..., None, :], vh)).astype(a.dtype)


def _cofactor_tensor(xp, a, y):
    """adj(A)^T on Tensors (recorded): det(A) A^-T where A is well conditioned, else
    the signed determinants of the (n-1)x(n-1) minors (valid at singular A, O(n^5))."""
    ar = raw(a)
    n = ar.shape[-1]
    cond = condition_numbers(ar)
    if np.all(cond < 1e-3 / eps(ar.dtype)):
        return xp.expand_dims(xp.expand_dims(y, -1), -1) * mT(xp, la(xp).inv(a, "linalg.det"))
    if n == 1:
        return a * 0 + 1.0
    idx = np.arange(n)
    keep = np.array([np.delete(idx, i) for i in range(n)])              # (n, n-1)
    rows = keep[:, None, :, None]                                         # (n, 1, n-1, 1)
    cols = keep[None, :, None, :]                                         # (1, n, 1, n-1)
    minors = a[(Ellipsis, rows, cols)]                                    # (..., n, n, n-1, n-1)
    signs = (-1.0) ** (idx[:, None] + idx[None, :])
    return det(minors) * signs.astype(ar.dtype)


class Det(Op):
    """det(A). vjp: dA = g adj(A)^T (= g det(A) A^-T when A is invertible); jvp: sum(adj(A)^T * dA).

    The volume change of a linear map: log-det terms of normalising flows and
    Gaussian likelihoods (there prefer ``slogdet``, which cannot overflow).
    """
    __slots__ = ()
    uses_inputs, uses_output = True, True

    def forward(self, a):
        warn_if_ill_conditioned("linalg.det", a, consequence=(
            "det is tiny relative to ||A||^n and has few correct digits; slogdet's gradient A^-T blows up"))
        return np.asarray(np.linalg.det(a))

    def _cofactor(self, xp, a, y):
        return cofactor_array(a) if is_numpy(xp) else _cofactor_tensor(xp, a, y)

    # Giles 2008, sec. 2.2.4: d det(A) = det(A) tr(A^-1 dA)  =>  Abar = Cbar adj(A)^T
    def vjp(self, xp, g, a, y):
        return (xp.expand_dims(xp.expand_dims(g, -1), -1) * self._cofactor(xp, a, y),)

    def jvp(self, xp, t, a, y):
        return xp.sum(t[0] * self._cofactor(xp, a, y), axis=(-2, -1))


def det(A):
    """det(A) of each square matrix in A (..., n, n), as torch.linalg.det.

    Differs from PyTorch (documented): at a singular matrix the gradient is the
    cofactor matrix adj(A)^T, the true derivative (computed through the SVD),
    where PyTorch returns zeros. Near-singular A warns (IllConditionedWarning).

    >>> import dlmath as dm
    >>> dm.linalg.det(dm.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(-2.)
    """
    A = matrix_input(A, "linalg.det")
    return apply(Det(), A)


class Slogdet(Op):
    """(sign(det A), log|det A|). vjp of log|det A|: g A^-T (the sign is piecewise constant).

    The log-likelihood of a Gaussian and the log-Jacobian of normalising flows.
    """
    __slots__ = ()
    uses_inputs = True
    n_out = 2

    def forward(self, a):
        s, l = np.linalg.slogdet(a)
        return np.asarray(s), np.asarray(l)

    def _inv_t(self, xp, a, sign):
        sr = np.asarray(raw(sign))
        if np.any(sr == 0):
            k = int(np.argmax(sr.reshape(-1) == 0))
            raise LinAlgError(f"linalg.slogdet: {batch_label(sr.shape, k)}the matrix is singular: "
                              "log|det A| = -inf and its gradient A^-T does not exist (PyTorch returns inf).")
        return mT(xp, la(xp).inv(a, "linalg.slogdet"))

    # Giles 2008, sec. 2.2.4: d log|det A| = tr(A^-1 dA)  =>  Abar = Cbar A^-T
    def vjp(self, xp, grads, a, outs):
        gl = grads[1]
        if gl is None:
            return (None,)
        return (xp.expand_dims(xp.expand_dims(gl, -1), -1) * self._inv_t(xp, a, outs[0]),)

    def jvp(self, xp, t, a, outs):
        sign, logabs = outs
        return sign * 0, xp.sum(t[0] * self._inv_t(xp, a, sign), axis=(-2, -1))


def slogdet(A):
    """(sign, log|det A|) of each square matrix, as torch.linalg.slogdet: det = sign * exp(logabsdet)
    without overflow. At a singular matrix logabsdet is -inf and backward raises LinAlgError.

    >>> import dlmath as dm
    >>> dm.linalg.slogdet(dm.tensor([[-2.0, 0.0], [0.0, 1.0]])).sign
    tensor(-1.)
    """
    A = matrix_input(A, "linalg.slogdet")
    return SlogdetResult(*apply(Slogdet(), A))


# --- matrix_power ----------------------------------------------------------------
def matrix_power(A, n):
    """A^n for an integer n by repeated squaring (n < 0: inv(A)^|n|; n = 0: I), as
    torch.linalg.matrix_power. Composed of matmul and inv, so every derivative
    (reverse, forward, higher order) comes from theirs. Linear recurrences h_t = A^t h_0.

    >>> import dlmath as dm
    >>> dm.linalg.matrix_power(dm.tensor([[1.0, 1.0], [0.0, 1.0]]), 3)
    tensor([[1., 3.],
            [0., 1.]])
    """
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not {type(n).__name__}")
    A = to_tensor(A, "linalg.matrix_power")
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    n = int(n)
    if n == 0:
        eye = make_tensor(np.broadcast_to(np.eye(A.shape[-1], dtype=A.dtype), A.shape).copy())
        # torch's result is recorded (requires_grad like A) with a zero gradient
        return ew.where(make_tensor(np.ones(A.shape, dtype=bool)), eye, A) if A.requires_grad else eye
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else mm.matmul(result, base)
        n >>= 1
        if n:
            base = mm.matmul(base, base)
    return result


# --- matrix_rank, pinv --------------------------------------------------------------
def _tolerances(s_max, atol, rtol, dtype, m, n):
    """max(atol, rtol * sigma_max) with torch's defaults (rtol = eps * max(m, n) when neither is given)."""
    atol_v = 0.0 if atol is None else np.asarray(raw(to_tensor(atol)) if not isinstance(atol, float) else atol)
    if rtol is None:
        rtol_v = eps(dtype) * max(m, n) if atol is None else 0.0
    else:
        rtol_v = np.asarray(raw(to_tensor(rtol)) if not isinstance(rtol, float) else rtol)
    return np.maximum(atol_v, rtol_v * s_max)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """Number of singular values above max(atol, rtol * sigma_max), as torch.linalg.matrix_rank.

    The effective dimension of a weight matrix or of a layer's representations.

    >>> import dlmath as dm
    >>> dm.linalg.matrix_rank(dm.tensor([[1.0, 2.0], [2.0, 4.0]]))
    tensor(1)
    """
    A = matrix_input(A, "linalg.matrix_rank", square=bool(hermitian))
    a = A._data
    m, n = a.shape[-2:]
    if a.size == 0:
        return make_tensor(np.zeros(a.shape[:-2], dtype=np.int64))
    s = np.abs(np.linalg.eigvalsh(a)) if hermitian else np.linalg.svd(a, compute_uv=False)
    tol = _tolerances(np.max(s, axis=-1), atol, rtol, a.dtype, m, n)
    return make_tensor(np.sum(s > np.asarray(tol)[..., None], axis=-1).astype(np.int64))


class Pinv(Op):
    """A^+ (Moore-Penrose) through the SVD, singular values below the tolerance dropped.

    vjp (Golub & Pereyra 1973, the derivative of A^+ at constant rank):
    dA = -X^T G X^T + (I - A X) G^T X X^T + X^T X G^T (I - X A), X = A^+.
    Least-squares solutions (X = A^+ B), linear probes, whitening.

    ``atol``, ``rtol``: the tolerances (None for the defaults), as torch.linalg.pinv's;
    ``hermitian``: A is symmetric (an eigendecomposition instead of the SVD).
    """
    __slots__ = ("atol", "rtol", "hermitian")
    uses_inputs, uses_output = True, True

    def __init__(self, atol, rtol, hermitian):
        self.atol = atol
        self.rtol = rtol
        self.hermitian = hermitian

    def forward(self, a):
        m, n = a.shape[-2:]
        if a.size == 0:
            return np.zeros(a.shape[:-2] + (n, m), dtype=a.dtype)
        if self.hermitian:
            w, v = np.linalg.eigh(a)
            tol = _tolerances(np.max(np.abs(w), axis=-1), self.atol, self.rtol, a.dtype, m, n)
            with np.errstate(divide="ignore"):
                winv = np.where(np.abs(w) > np.asarray(tol)[..., None], 1.0 / w, 0.0).astype(a.dtype)
            return np.matmul(v * winv[..., None, :], mT(np, v))
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        tol = _tolerances(np.max(s, axis=-1), self.atol, self.rtol, a.dtype, m, n)
        with np.errstate(divide="ignore"):
            sinv = np.where(s > np.asarray(tol)[..., None], 1.0 / s, 0.0).astype(a.dtype)
        return np.matmul(mT(np, vh) * sinv[..., None, :], mT(np, u))

    # Golub & Pereyra 1973, eq. 4.12 (as in PyTorch's pinv_backward)
    def vjp(self, xp, g, a, x):
        m, n = raw(a).shape[-2:]
        dt = raw(a).dtype
        xt, gt = mT(xp, x), mT(xp, g)
        ga = -xp.matmul(xt, xp.matmul(g, xt))
        ga = ga + xp.matmul(np.eye(m, dtype=dt) - xp.matmul(a, x), xp.matmul(gt, xp.matmul(x, xt)))
        ga = ga + xp.matmul(xp.matmul(xt, x), xp.matmul(gt, np.eye(n, dtype=dt) - xp.matmul(x, a)))
        return (ga,)


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse A^+ of (..., m, n) A, as torch.linalg.pinv.

    Singular values at most max(atol, rtol * sigma_max) are treated as zero
    (default rtol = eps * max(m, n)). The gradient is exact where the rank does not change.

    >>> import dlmath as dm
    >>> dm.linalg.pinv(dm.tensor([[2.0, 0.0], [0.0, 0.0]])).tolist()
    [[0.5, 0.0], [0.0, 0.0]]
    """
    A = float_input(A, "linalg.pinv")
    if A.ndim < 2:
        raise RuntimeError(f"linalg.pinv({scalar_name(A.dtype)}{{{list(A.shape)}}}): expected a tensor with 2 or more "
                           "dimensions of float, double, cfloat or cdouble types")
    if hermitian and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.pinv: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    return apply(Pinv(atol, rtol, bool(hermitian)), A)
