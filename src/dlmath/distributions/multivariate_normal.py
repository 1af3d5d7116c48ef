"""The multivariate normal distribution N(mu, Sigma) in d dimensions."""
from __future__ import annotations

import math

import numpy as np

from ..ops.shape import expand
from ..ops._util import to_tensor
from . import constraints
from ._linalg import cholesky, precision_to_scale_tril, solve_tri, tri_logdet
from .distribution import Distribution, lazy_property, standard_normal

__all__ = ["MultivariateNormal"]


def _mahalanobis(L, x):
    """x^T Sigma^{-1} x = |L^{-1} x|^2 for Sigma = L L^T (batch dims of L and x broadcast)."""
    return solve_tri(L, x.unsqueeze(-1), upper=False).squeeze(-1).pow(2).sum(-1)


class MultivariateNormal(Distribution):
    """N(mu, Sigma): density exp(-(x - mu)^T Sigma^{-1} (x - mu) / 2) / sqrt((2 pi)^d det Sigma).

    Give exactly one of ``covariance_matrix`` Sigma, ``precision_matrix``
    Sigma^{-1} or ``scale_tril`` L (lower, positive diagonal, Sigma = L L^T);
    everything is computed from L. In deep learning: Gaussian policies and
    latents with correlated dimensions; ``rsample() = mu + L eps``.

    >>> import dlmath as dm
    >>> dm.distributions.MultivariateNormal(dm.zeros(2), dm.eye(2)).entropy()  # 1 + log 2 pi
    tensor(2.8379)
    """
    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        loc = to_tensor(loc)
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        name, matrix = next((n, to_tensor(m)) for n, m in (("scale_tril", scale_tril),
                                                          ("covariance_matrix", covariance_matrix),
                                                          ("precision_matrix", precision_matrix)) if m is not None)
        if matrix.ndim < 2:
            raise ValueError(f"{name} matrix must be at least two-dimensional, with optional leading batch "
                             "dimensions" if name == "scale_tril" else
                             f"{name} must be at least two-dimensional, with optional leading batch dimensions")
        if matrix.shape[-1] != matrix.shape[-2] or matrix.shape[-1] != loc.shape[-1]:
            raise ValueError(f"{name} must be square with the size of loc's last dimension: got "
                             f"{tuple(matrix.shape)} for loc of shape {tuple(loc.shape)}")
        try:
            batch_shape = np.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1]))
        except ValueError:
            raise ValueError(f"MultivariateNormal: batch shapes of loc {tuple(loc.shape)} and {name} "
                             f"{tuple(matrix.shape)} cannot be broadcast") from None
        n = loc.shape[-1]
        setattr(self, name, expand(matrix, batch_shape + (n, n)) if matrix.shape[:-2] != batch_shape else matrix)
        self.loc = expand(loc, batch_shape + (n,)) if loc.shape[:-1] != batch_shape else loc
        super().__init__(batch_shape, (n,), validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = precision_to_scale_tril(matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = tuple(batch_shape)
        n = self._event_shape[0]
        new.loc = self.loc.expand(batch_shape + (n,))
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(batch_shape + (n, n)))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _full(self, t, extra):
        shape = tuple(self._batch_shape) + extra
        return t if tuple(t.shape) == shape else expand(t, shape)

    @lazy_property
    def scale_tril(self):
        return self._full(self._unbroadcasted_scale_tril, tuple(self._event_shape) * 2)

    @lazy_property
    def covariance_matrix(self):
        """Sigma = L L^T."""
        L = self._unbroadcasted_scale_tril
        return self._full(L @ L.mT, tuple(self._event_shape) * 2)

    @lazy_property
    def precision_matrix(self):
        """Sigma^{-1} = L^{-T} L^{-1}."""
        from ..creation import eye
        L = self._unbroadcasted_scale_tril
        L_inv = solve_tri(L, eye(L.shape[-1], dtype=L.dtype), upper=False)
        return self._full(L_inv.mT @ L_inv, tuple(self._event_shape) * 2)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """diag(Sigma)_i = sum_j L_ij^2."""
        return self._full(self._unbroadcasted_scale_tril.pow(2).sum(-1), tuple(self._event_shape))

    def rsample(self, sample_shape=(), *, generator=None):
        """mu + L eps, eps ~ N(0, I): Cov(L eps) = L L^T = Sigma, differentiable in mu and L."""
        eps = standard_normal(self._extended_shape(sample_shape), self.loc.dtype, generator)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        """-(d log(2 pi) + |L^{-1}(x - mu)|^2) / 2 - sum_i log L_ii."""
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        M = _mahalanobis(self._unbroadcasted_scale_tril, diff)
        half_log_det = tri_logdet(self._unbroadcasted_scale_tril)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - half_log_det

    def entropy(self):
        """d/2 (1 + log 2 pi) + 1/2 log det Sigma."""
        half_log_det = tri_logdet(self._unbroadcasted_scale_tril)
        H = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        return self._full(H, ()) if len(self._batch_shape) else H


def _kl_mvn_mvn(p, q):
    """KL = 1/2 [tr(Sq^{-1} Sp) + (mq - mp)^T Sq^{-1} (mq - mp) - d + log det Sq - log det Sp],
    with tr(Sq^{-1} Sp) = |Lq^{-1} Lp|_F^2."""
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event shapes "
                         "cannot be computed")
    Lp, Lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_term1 = tri_logdet(Lq) - tri_logdet(Lp)
    n = p.event_shape[0]
    batch = np.broadcast_shapes(tuple(Lq.shape[:-2]), tuple(Lp.shape[:-2]))
    term2 = solve_tri(expand(Lq, batch + (n, n)), expand(Lp, batch + (n, n)), upper=False).pow(2).sum((-2, -1))
    term3 = _mahalanobis(Lq, q.loc - p.loc)
    return half_term1 + 0.5 * (term2 + term3 - n)

