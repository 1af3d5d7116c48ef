"""What every linear-algebra primitive shares: input checks, errors, warnings,
the conditioning check, and the few matrix helpers a vjp needs on both the
plain (NumPy) and the recorded (Tensor) backward pass.
"""
from __future__ import annotations

import os
import sys
import warnings
from collections import namedtuple

import numpy as np
import scipy.linalg

from .._dtype import scalar_name
from ..autograd import xp_numpy
from ..autograd.node import make_tensor
from ..tensor import Tensor
from ..ops._util import shape_str, to_tensor


class LinAlgError(RuntimeError):
    """A linear-algebra failure (singular matrix, not positive-definite), as torch.linalg.LinAlgError.

    A RuntimeError subclass, so ``except RuntimeError`` catches it as in PyTorch.
    """


class IllConditionedWarning(UserWarning):
    """A matrix is near-singular for its dtype: results and gradients lose most of their digits."""


class DegenerateEigenvaluesWarning(IllConditionedWarning):
    """Repeated eigenvalues (or singular values) make the requested eigenvector gradient undefined."""


EighResult = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
EigResult = namedtuple("linalg_eig", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("linalg_svd", ["U", "S", "Vh"])
SlogdetResult = namedtuple("linalg_slogdet", ["sign", "logabsdet"])
QRResult = namedtuple("linalg_qr", ["Q", "R"])
PowerIterationResult = namedtuple("power_iteration", ["eigenvalue", "eigenvector"])

# Warn when cond(A) > COND_WARN_FACTOR / eps(dtype): fewer than about two correct digits
# are left (float32: cond > 8e4; float64: cond > 4.5e13).
COND_WARN_FACTOR = 1e-2
# solve and det check the condition number (through A^-1, O(n^3)) only up to this size;
# larger systems get the free lower bound ||A|| ||X|| / ||B|| (solve) or no check (det).
COND_CHECK_MAX_N = 256



_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_stacklevel():
    """The warnings stacklevel of the first caller outside dlmath (so a warning names the user's line)."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PKG_DIR):
        frame, level = frame.f_back, level + 1
    return level


def raw(x):
    """The ndarray behind a Tensor (or the array itself)."""
    return x._data if isinstance(x, Tensor) else x


def is_numpy(xp):
    return xp is xp_numpy or xp is np


def mT(xp, a):
    return xp.swapaxes(a, -1, -2)


def eye(n, dtype):
    return np.eye(n, dtype=dtype)


def diag_embed(xp, v):
    """(..., n) -> (..., n, n) with v on the diagonal (differentiable: a product with I)."""
    n = v.shape[-1]
    return xp.expand_dims(v, -2) * eye(n, v.dtype)


def diagonal(xp, a):
    """(..., n, n) -> (..., n): the diagonal, as sum(a * I, -1) so it runs on Tensors too."""
    return xp.sum(a * eye(a.shape[-1], a.dtype), axis=-1)


def eps(dtype):
    return float(np.finfo(dtype).eps)


def float_input(A, opname, allow_complex=False):
    """A floating Tensor (torch's dtype errors for integer, bool and half inputs)."""
    A = to_tensor(A, opname)
    dt = A._data.dtype
    if dt.kind not in "fc":
        raise RuntimeError(f"{opname}: Expected a floating point or complex tensor as input. "
                           f"Got {scalar_name(dt)}")
    if dt == np.float16:
        raise RuntimeError(f"{opname}: Low precision dtypes not supported. Got Half")
    if dt.kind == "c" and not allow_complex:
        raise NotImplementedError(f"{opname}: complex inputs are not supported yet (real float32/float64 only)")
    return A


def matrix_input(A, opname, square=True, allow_complex=False):
    """A floating Tensor of shape (..., m, n), with m == n when ``square``."""
    A = float_input(A, opname, allow_complex)
    if A.ndim < 2:
        raise RuntimeError(f"{opname}: The input tensor A must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{opname}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    return A


def batch_label(batch_shape, k):
    """'(Batch element k): ' for batched inputs (torch's wording), '' for a single matrix."""
    return f"(Batch element {k}): " if len(batch_shape) else ""


def flat(a):
    """(..., m, n) -> (B, m, n) with B the number of batch elements."""
    return a.reshape((-1,) + a.shape[-2:])


def lapack(name, a):
    return scipy.linalg.lapack.get_lapack_funcs(name, dtype=a.dtype)


def _fallback(a, b, opname, detail):
    """After NumPy's LinAlgError: NaN for matrices with NaN/inf entries (as PyTorch),
    LinAlgError naming the first singular batch element otherwise."""
    batch = a.shape[:-2] if b is None else np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    aa = np.broadcast_to(a, batch + a.shape[-2:])
    bb = None if b is None else np.broadcast_to(b, batch + b.shape[-2:])
    shape = a.shape[-2:] if b is None else (a.shape[-1], b.shape[-1])
    out = np.empty(batch + shape, dtype=a.dtype if b is None else np.result_type(a, b))
    for idx in np.ndindex(*batch):
        m = aa[idx]
        if not np.all(np.isfinite(m)) or (bb is not None and not np.all(np.isfinite(bb[idx]))):
            out[idx] = np.nan
            continue
        try:
            out[idx] = np.linalg.inv(m) if b is None else np.linalg.solve(m, bb[idx])
        except np.linalg.LinAlgError:
            getrf = lapack("getrf", m)
            info = getrf(m)[2]
            k = int(np.ravel_multi_index(idx, batch)) if batch else 0
            raise LinAlgError(f"{opname}: {batch_label(batch, k)}The diagonal element {info} is zero, the "
                              f"{detail} could not be completed because the input matrix is singular.") from None
    return out


def inv_array(a, opname):
    """np.linalg.inv raising LinAlgError(op, batch element) on an exactly singular matrix."""
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        return _fallback(a, None, opname, "inversion")


def solve_array(a, b, opname):
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        return _fallback(a, b, opname, "solve")


class _TensorLA:
    """inv/solve on Tensors (recorded, so second derivatives work)."""

    @staticmethod
    def inv(a, opname):
        from .solve import inv
        return inv(a)

    @staticmethod
    def solve(a, b, opname):
        from .solve import solve
        return solve(a, b)


class _ArrayLA:
    inv = staticmethod(inv_array)
    solve = staticmethod(solve_array)


def la(xp):
    """inv/solve for the namespace a vjp runs in: NumPy arrays or dlmath Tensors."""
    return _ArrayLA if is_numpy(xp) else _TensorLA


# --- conditioning ----------------------------------------------------------------
def _norm1(a):
    """Induced 1-norm (max column sum) of each matrix in the batch."""
    return np.max(np.sum(np.abs(a), axis=-2), axis=-1)


def condition_numbers(a, ainv=None):
    """1-norm condition numbers ||A||_1 ||A^-1||_1 (inf where A is exactly singular)."""
    if ainv is None:
        try:
            ainv = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            out = np.full(a.shape[:-2], np.inf)
            for k, m in enumerate(flat(a)):
                if not np.all(np.isfinite(m)):
                    out.reshape(-1)[k] = np.nan       # NaN/inf entries: not a conditioning problem
                    continue
                try:
                    out.reshape(-1)[k] = _norm1(m) * _norm1(np.linalg.inv(m))
                except np.linalg.LinAlgError:
                    pass                      # exactly singular: cond = inf
            return out
    with np.errstate(all="ignore"):
        return np.asarray(_norm1(a).astype(np.float64) * _norm1(ainv).astype(np.float64))


def warn_if_ill_conditioned(opname, a, cond=None, ainv=None, consequence=None):
    """Warn (IllConditionedWarning) with the worst condition number when it exceeds
    COND_WARN_FACTOR / eps(dtype). ``cond`` may be given; else computed from ``ainv`` or A."""
    n = a.shape[-1]
    if n == 0 or a.size == 0:
        return
    if cond is None:
        if ainv is None and n > COND_CHECK_MAX_N:
            return
        cond = condition_numbers(a, ainv)
    cond = np.asarray(cond)
    limit = COND_WARN_FACTOR / eps(a.dtype)
    with np.errstate(invalid="ignore"):
        bad = cond > limit                # NaN (from NaN entries) is not a conditioning problem
    if not np.any(bad):
        return
    worst = int(np.argmax(np.where(bad, cond, -np.inf))) if cond.ndim else 0
    c = float(cond.reshape(-1)[worst])
    where = f" (batch element {worst} of {cond.size})" if cond.ndim else ""
    state = "singular to working precision" if not np.isfinite(c) else "near-singular"
    consequence = consequence or "the result may have few or no correct digits, and its gradient grows like cond^2"
    warnings.warn(
        f"{opname}: the matrix{where} is {state} for {a.dtype} (1-norm condition number {c:.3g} > "
        f"{limit:.3g} = {COND_WARN_FACTOR:g}/eps): {consequence}.",
        IllConditionedWarning, stacklevel=user_stacklevel())


# --- degenerate spectra (eigh, svd backward) -------------------------------------
def gap_terms(xp, num, gaps, gaps_raw, values_raw, num_raw, opname, what, depends=True):
    """num / gaps off the diagonal; 0 on it and where two values coincide (with a warning).

    ``gaps`` (..., n, n) holds differences of eigenvalues (or of squared singular
    values). Where two are equal to working precision the eigenvector term is
    0/0 and the cotangent of the eigenvectors no longer determines the gradient:
    if the loss depends on the basis chosen inside the repeated eigenspace
    (num != 0) the derivative does not exist; if it does not (num ~ 0) the limit
    depends on how the loss would change were the eigenvalues to split, which the
    cotangent does not carry. dlmath warns (DegenerateEigenvaluesWarning) and sets
    those terms to 0, exact for losses on the whole eigenspace (its projector),
    where PyTorch returns inf/NaN without a word. ``depends``: the eigenvector
    cotangent is not all zeros (no warning otherwise).
    """
    n = gaps_raw.shape[-1]
    dt = gaps_raw.dtype
    scale = np.max(np.abs(values_raw), axis=-1, keepdims=True)[..., None] if values_raw.size else 0
    tol = 10 * max(n, 1) * eps(dt) * np.maximum(scale, np.finfo(dt).tiny)
    off = ~np.eye(n, dtype=bool)
    degenerate = off & (np.abs(gaps_raw) <= tol)
    if depends and np.any(degenerate):
        big = np.max(np.abs(num_raw)) if num_raw.size else 0.0
        significant = degenerate & (np.abs(num_raw) > np.sqrt(eps(dt)) * big) & (big > 0)
        *b, i, j = (int(v) for v in np.argwhere(significant if np.any(significant) else degenerate)[0])
        bl = f" of batch element {int(np.ravel_multi_index(b, gaps_raw.shape[:-2]))}" if b else ""
        if np.any(significant):
            why = ("the loss depends on the basis chosen inside their repeated eigenspace, so its derivative "
                   "does not exist")
        else:
            why = ("the loss depends on the eigenvectors, whose derivative is 0/0 there; the exact term is 0 for "
                   "losses on the whole eigenspace (its projector) but f'(w) for V diag(f(w)) V^T")
        warnings.warn(
            f"{opname} backward: {what} {i} and {j}{bl} are equal to working precision and {why}; the terms "
            "coupling them were set to 0 (PyTorch returns inf/NaN). Losses on the eigenvalues alone are exact.",
            DegenerateEigenvaluesWarning, stacklevel=user_stacklevel())
    skip = degenerate | ~off
    safe = xp.where(skip, 1.0, gaps)
    return xp.where(skip, 0.0, num / safe)


def new_tensor(array):
    return make_tensor(np.asarray(array))


def shapes(*ts):
    return " and ".join(shape_str(t.shape) for t in ts)
