"""Probability distributions (torch.distributions): sample, rsample, log_prob, entropy, KL.

- ``Bernoulli`` (sigmoid + binary cross-entropy), ``Categorical`` (softmax +
  cross-entropy), ``Normal`` (init, noise, the VAE reparameterisation),
  ``MultivariateNormal``;
- ``kl_divergence(p, q)`` with closed forms, extensible with ``register_kl``.

Sampling methods take ``generator=`` (a ``dm.Generator``): the same seed gives
the same draws.
"""
from . import constraints
from .distribution import Distribution
from .bernoulli import Bernoulli
from .categorical import Categorical
from .normal import Normal
from .multivariate_normal import MultivariateNormal
from .kl import kl_divergence, register_kl

__all__ = ["Distribution", "Bernoulli", "Categorical", "Normal", "MultivariateNormal", "kl_divergence",
           "register_kl", "constraints"]
