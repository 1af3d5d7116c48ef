"""The normal (Gaussian) distribution N(mu, sigma^2)."""
from __future__ import annotations

import math
import numbers

from . import constraints
from .distribution import Distribution, broadcast_all, standard_normal

__all__ = ["Normal"]

_LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))


class Normal(Distribution):
    """N(loc, scale^2): density exp(-(x - mu)^2 / (2 sigma^2)) / (sigma sqrt(2 pi)).

    In deep learning: weight initialisation, noise injection, and the VAE's
    reparameterisation trick ``rsample() = mu + sigma * eps`` with eps ~ N(0, 1)
    drawn independently of the parameters, so gradients flow to mu and sigma.

    >>> import dlmath as dm
    >>> dm.distributions.Normal(0.0, 1.0).log_prob(dm.tensor(0.0))
    tensor(-0.9189)
    """
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        if isinstance(loc, numbers.Number) and isinstance(scale, numbers.Number):
            batch_shape = ()
        else:
            batch_shape = self.loc.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Normal, _instance)
        batch_shape = tuple(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale.pow(2)

    def rsample(self, sample_shape=(), *, generator=None):
        """mu + sigma * eps, eps ~ N(0, 1): differentiable in mu and sigma (pathwise gradient)."""
        eps = standard_normal(self._extended_shape(sample_shape), self.loc.dtype, generator)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        """-(x - mu)^2 / (2 sigma^2) - log sigma - log sqrt(2 pi); minimising its negative is
        least squares (fixed sigma) or the Gaussian NLL (learned sigma)."""
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale ** 2
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - _LOG_SQRT_2PI

    def cdf(self, value):
        """Phi((x - mu) / sigma) = (1 + erf((x - mu) / (sigma sqrt 2))) / 2 (GELU uses Phi)."""
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + ((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)).erf())

    def entropy(self):
        """1/2 + 1/2 log(2 pi) + log sigma (nats)."""
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()
