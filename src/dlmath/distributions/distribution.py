"""The ``Distribution`` base class (torch.distributions.Distribution) and shared helpers.

A distribution has a ``batch_shape`` (independent distributions with different
parameters, side by side) and an ``event_shape`` (the shape of one draw: () for
a scalar, (d,) for a d-dimensional Gaussian). ``sample(sample_shape)`` returns
``sample_shape + batch_shape + event_shape`` without gradients; ``rsample``
(where available) returns the same draw written as a differentiable function
of the parameters (the reparameterisation trick).
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from .. import _dtype
from .._grad_mode import no_grad
from ..autograd.node import make_tensor
from .._random import rng
from ..tensor import Size, Tensor
from ..ops.shape import expand
from . import constraints

__all__ = ["Distribution"]


class lazy_property:
    """Computed on first access and then cached in the instance ``__dict__`` (torch's lazy_property).

    Lets ``Bernoulli(logits=...)`` offer ``.probs`` without computing it until asked.
    """

    def __init__(self, fn):
        self.wrapped = fn
        self.__doc__ = fn.__doc__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def broadcast_all(*values):
    """Tensors broadcast to a common shape; numbers become tensors of the first tensor's dtype
    (the default dtype if all are numbers), as torch.distributions.utils.broadcast_all."""
    if not all(isinstance(v, (Tensor, numbers.Number, np.ndarray)) for v in values):
        raise ValueError("Input arguments must all be instances of Number, dlmath.Tensor or numpy arrays.")
    values = [make_tensor(v) if isinstance(v, np.ndarray) else v for v in values]
    dtype = next((v.dtype for v in values if isinstance(v, Tensor)), _dtype.default_dtype())
    tensors = [v if isinstance(v, Tensor) else make_tensor(np.asarray(v, dtype=dtype)) for v in values]
    try:
        shape = np.broadcast_shapes(*(tuple(t.shape) for t in tensors))
    except ValueError:
        from ..ops._util import broadcast_error
        raise broadcast_error("broadcast_all", *(t.shape for t in tensors)) from None
    return tuple(t if tuple(t.shape) == shape else expand(t, shape) for t in tensors)


def standard_normal(shape, dtype, generator=None):
    """eps ~ N(0, I) of the given shape and float dtype (the noise of every rsample)."""
    dt = np.dtype(dtype)
    draw = dt if dt in (np.float32, np.float64) else np.float64
    return make_tensor(rng(generator).standard_normal(tuple(shape), dtype=draw).astype(dt, copy=False))


def clamp_probs(probs):
    """Probabilities clamped to [eps, 1 - eps] so their logits stay finite (torch's clamp_probs)."""
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    """log p (categorical) or log p - log(1 - p) (binary log-odds), on clamped probabilities."""
    p = clamp_probs(probs)
    return (p.log() - (-p).log1p()) if is_binary else p.log()


def logits_to_probs(logits, is_binary=False):
    """sigmoid(logits) (binary) or softmax(logits) over the last dim."""
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def softplus(x):
    """log(1 + e^x), stable: max(x, 0) + log1p(e^{-|x|}), written with where so that
    the gradient at x = 0 is sigmoid(0) = 1/2 (not a subgradient) and nothing overflows."""
    from ..ops.elementwise import where
    pos = x > 0
    return where(pos, x, 0.0) + where(pos, -x, x).exp().log1p()


def _as_size(sample_shape):
    if isinstance(sample_shape, (int, np.integer)):
        return Size((int(sample_shape),))
    return Size(tuple(int(s) for s in sample_shape))


class Distribution:
    """Base class: batch_shape, event_shape, sample/rsample, log_prob, entropy, moments.

    ``validate_args`` (default on, as torch; off under ``python -O`` or via
    ``Distribution.set_default_validate_args(False)``) checks the parameters
    against ``arg_constraints`` and the values given to ``log_prob`` against
    ``support``, raising ValueError with PyTorch's messages.
    """
    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value):
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = Size(tuple(batch_shape))
        self._event_shape = Size(tuple(event_shape))
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            try:
                arg_constraints = self.arg_constraints
            except NotImplementedError:
                arg_constraints = {}
                warnings.warn(f"{self.__class__} does not define `arg_constraints`. Please set "
                              "`arg_constraints = {}` or initialize the distribution with "
                              "`validate_args=False` to turn off validation.", stacklevel=2)
            for param, constraint in arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue
                if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                    continue  # not given, computed lazily from the other parameterisation
                value = getattr(self, param)
                if not np.all(constraint.check(value)):
                    raise ValueError(f"Expected parameter {param} ({type(value).__name__} of shape "
                                     f"{tuple(value.shape)}) of distribution {self!r} to satisfy the "
                                     f"constraint {constraint!r}, but found invalid values:\n{_show(value)}")

    # --- shapes ---------------------------------------------------------
    @property
    def batch_shape(self):
        """Shape over which parameters are batched (independent distributions side by side)."""
        return self._batch_shape

    @property
    def event_shape(self):
        """Shape of a single draw."""
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        return Size(tuple(_as_size(sample_shape)) + tuple(self._batch_shape) + tuple(self._event_shape))

    @property
    def arg_constraints(self):
        raise NotImplementedError

    @property
    def support(self):
        raise NotImplementedError

    # --- moments ----------------------------------------------------------
    @property
    def mean(self):
        raise NotImplementedError

    @property
    def mode(self):
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError

    @property
    def stddev(self):
        return self.variance.sqrt()

    # --- sampling and densities ---------------------------------------------
    def sample(self, sample_shape=(), *, generator=None):
        """A draw of shape sample_shape + batch_shape + event_shape, without gradients."""
        with no_grad():
            return self.rsample(sample_shape, generator=generator)

    def rsample(self, sample_shape=(), *, generator=None):
        raise NotImplementedError

    def log_prob(self, value):
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def perplexity(self):
        """exp(entropy): the effective number of equally likely outcomes."""
        return self.entropy().exp()

    def expand(self, batch_shape, _instance=None):
        raise NotImplementedError

    def _get_checked_instance(self, cls, _instance=None):
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a "
                                      "custom __init__ method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    def _validate_sample(self, value):
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_dim_start = value.ndim - len(self._event_shape)
        if tuple(value.shape[event_dim_start:]) != tuple(self._event_shape):
            raise ValueError(f"The right-most size of value must match event_shape: {value.shape} vs "
                             f"{self._event_shape}.")
        actual, expected = value.shape, Size(tuple(self._batch_shape) + tuple(self._event_shape))
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {actual} vs "
                                 f"{expected}.")
        support = self.support
        if not np.all(support.check(value)):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) "
                             f"to be within the support ({support!r}) of the distribution {self!r}, but found "
                             f"invalid values:\n{_show(value)}")

    def __repr__(self):
        names = [k for k in self.arg_constraints if k in self.__dict__]
        args = ", ".join(f"{p}: {_show(self.__dict__[p]) if self.__dict__[p].numel() == 1 else self.__dict__[p].shape}"
                         for p in names)
        return f"{type(self).__name__}({args})"


def _show(t):
    """torch prints a one-element parameter as its number, a larger one as a tensor."""
    return repr(t.item()) if t.ndim == 0 else repr(t)
