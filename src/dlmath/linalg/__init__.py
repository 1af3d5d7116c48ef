"""``dm.linalg`` (torch.linalg): norms, inverses and solves, determinants, factorisations and
spectra, batched over leading dimensions and differentiable where the mathematics allows.

Beyond PyTorch: ``spectral_radius`` and ``power_iteration``; conditioning-aware ``inv``,
``solve`` and ``det`` (IllConditionedWarning with the condition number); the cofactor
gradient of ``det`` at singular matrices; warnings instead of NaN for degenerate ``eigh``
and ``svd`` gradients. Singular inputs raise ``LinAlgError`` (a RuntimeError) naming the op
and the batch element.
"""
from ._common import (LinAlgError, IllConditionedWarning, DegenerateEigenvaluesWarning,
                      COND_WARN_FACTOR, COND_CHECK_MAX_N)
from .norms import vector_norm, matrix_norm, norm, norm_legacy
from .solve import inv, solve, det, slogdet, matrix_power, matrix_rank, pinv
from .factor import cholesky, qr
from .eigen import eigh, eigvalsh, eig, eigvals, svd, svdvals, spectral_radius, power_iteration

__all__ = ["LinAlgError", "IllConditionedWarning", "DegenerateEigenvaluesWarning", "vector_norm",
           "matrix_norm", "norm", "norm_legacy", "inv", "solve", "det", "slogdet", "matrix_power",
           "matrix_rank", "pinv", "cholesky", "qr", "eigh", "eigvalsh", "eig", "eigvals", "svd", "svdvals",
           "spectral_radius", "power_iteration"]
