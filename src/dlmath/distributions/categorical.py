"""The categorical distribution: one of K classes."""
from __future__ import annotations

import numpy as np

from .._grad_mode import no_grad
from ..autograd.node import make_tensor
from ..ops.elementwise import where
from ..ops.shape import expand
from ..ops.indexing import gather
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical"]


class Categorical(Distribution):
    """P(x = k) = p_k, k in {0, ..., K-1}; ``probs`` (normalised along the last dim) or ``logits``
    (normalised as logits - logsumexp(logits), so ``.logits`` are log-probabilities).

    In deep learning: a classifier's or language model's output. softmax turns
    logits into p, and -log_prob(target) is the cross-entropy loss.

    >>> import dlmath as dm
    >>> dm.distributions.Categorical(logits=dm.zeros(4)).entropy()  # uniform over 4: log 4
    tensor(1.3863)
    """
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            probs = _tensor(probs)
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            logits = _tensor(logits)
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        batch_shape = self._param.shape[:-1] if self._param.ndim > 1 else ()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = tuple(batch_shape)
        param_shape = batch_shape + (self._num_events,)
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(param_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(param_shape)
            new._param = new.logits
        new._num_events = self._num_events
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        """log p (on p clamped to [eps, 1 - eps], so finite)."""
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        """softmax(logits) along the last dim."""
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):
        """Undefined for unordered classes: NaN, as torch."""
        return make_tensor(np.full(self._extended_shape(), np.nan, dtype=self.probs.dtype))

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return make_tensor(np.full(self._extended_shape(), np.nan, dtype=self.probs.dtype))

    def sample(self, sample_shape=(), *, generator=None):
        """Class indices (int64) of shape sample_shape + batch_shape, by inverse-CDF sampling."""
        from ..sampling import _draw_categorical
        shape = self._extended_shape(sample_shape)
        n = int(np.prod(shape[:len(shape) - len(self._batch_shape)], dtype=np.int64))
        with no_grad():
            p = self.probs._data.reshape(-1, self._num_events).astype(np.float64)
            ids = _draw_categorical(p, n, generator)  # (rows, n)
        return make_tensor(np.ascontiguousarray(ids.T).reshape(shape))

    def log_prob(self, value):
        """log p_value: the negative of cross-entropy with a class-index target."""
        if self._validate_args:
            self._validate_sample(value)
        value = _tensor(value).long().unsqueeze(-1)
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self.logits.shape))
        index = expand(value, shape[:-1] + (1,))
        log_pmf = self.logits if tuple(self.logits.shape) == shape else expand(self.logits, shape)
        return gather(log_pmf, -1, index).squeeze(-1)

    def entropy(self):
        """-sum_k p_k log p_k (0 log 0 = 0: logits are clamped to the dtype's min)."""
        min_real = float(np.finfo(self.logits.dtype).min)
        p_log_p = self.logits.clamp(min=min_real) * self.probs
        return -p_log_p.sum(-1)

    def enumerate_support(self, expand=True):
        values = make_tensor(np.arange(self._num_events, dtype=np.int64).reshape(
            (-1,) + (1,) * len(self._batch_shape)))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values


def _tensor(v):
    if isinstance(v, Tensor):
        return v
    from ..ops._util import to_tensor
    return to_tensor(v)


def _kl_categorical_categorical(p, q):
    """sum_k p_k (log p_k - log q_k), inf where q_k = 0 < p_k, terms with p_k = 0 dropped."""
    t = p.probs * (p.logits - q.logits)
    t = where(expand(q.probs == 0, t.shape), float("inf"), t)
    t = where(expand(p.probs == 0, t.shape), 0.0, t)
    return t.sum(-1)
