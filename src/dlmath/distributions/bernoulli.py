"""The Bernoulli distribution: one coin flip, 1 with probability p."""
from __future__ import annotations

import numbers

import numpy as np

from .._grad_mode import no_grad
from ..autograd.node import make_tensor
from ..ops.elementwise import where
from .._random import rng
from . import constraints
from .distribution import (Distribution, broadcast_all, lazy_property, logits_to_probs, probs_to_logits,
                           softplus)

__all__ = ["Bernoulli"]


class Bernoulli(Distribution):
    """P(x) = p^x (1 - p)^(1 - x), x in {0, 1}; parameterised by ``probs`` p or ``logits`` log(p/(1-p)).

    In deep learning: a binary classifier's output. sigmoid turns the logit
    into p, and -log_prob is binary cross-entropy (computed from the logits,
    stably, as BCEWithLogitsLoss).

    >>> import dlmath as dm
    >>> dm.distributions.Bernoulli(logits=dm.tensor(0.0)).log_prob(dm.tensor(1.0))  # log 1/2
    tensor(-0.6931)
    """
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            is_scalar = isinstance(probs, numbers.Number)
            (self.probs,) = broadcast_all(probs)
        else:
            is_scalar = isinstance(logits, numbers.Number)
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(() if is_scalar else self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Bernoulli, _instance)
        batch_shape = tuple(batch_shape)
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(batch_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(batch_shape)
            new._param = new.logits
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def logits(self):
        """log(p / (1 - p)), the log-odds (on p clamped to [eps, 1 - eps])."""
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        """sigmoid(logits)."""
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        """1 where p > 1/2, 0 where p < 1/2, NaN at a tie (as torch)."""
        p = self.probs.detach()._data
        return make_tensor(np.where(p == 0.5, np.nan, (p >= 0.5)).astype(p.dtype))

    @property
    def variance(self):
        """p (1 - p)."""
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=(), *, generator=None):
        """0/1 draws (float, like the parameters): 1 where a uniform u < p."""
        shape = self._extended_shape(sample_shape)
        with no_grad():
            p = np.broadcast_to(self.probs._data, shape)
            return make_tensor((rng(generator).random(shape) < p).astype(p.dtype))

    def log_prob(self, value):
        """x * logits - softplus(logits) = -BCEWithLogits(logits, x)."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return logits * value - softplus(logits)

    def entropy(self):
        """-p log p - (1 - p) log(1 - p) = BCEWithLogits(logits, p)."""
        return softplus(self.logits) - self.logits * self.probs

    def enumerate_support(self, expand=True):
        values = make_tensor(np.arange(2, dtype=self._param.dtype).reshape((-1,) + (1,) * len(self._batch_shape)))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values


def _kl_bernoulli_bernoulli(p, q):
    """sum_x p(x) log(p(x) / q(x)), with inf where q gives 0 to an outcome p can take."""
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = where(q.probs == 0, float("inf"), t1)
    t1 = where(p.probs == 0, 0.0, t1)
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = where(q.probs == 1, float("inf"), t2)
    t2 = where(p.probs == 1, 0.0, t2)
    return t1 + t2
