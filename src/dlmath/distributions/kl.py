"""KL(p || q) = E_p[log p(x) - log q(x)], dispatched on the pair of types (torch's registry).

In deep learning: RLHF's penalty keeping the fine-tuned policy near the
reference model, the VAE's KL term pulling the posterior toward the prior,
and knowledge distillation. Not symmetric: KL(p || q) != KL(q || p).
"""
from __future__ import annotations

import warnings
from functools import total_ordering

from .bernoulli import Bernoulli, _kl_bernoulli_bernoulli
from .categorical import Categorical, _kl_categorical_categorical
from .distribution import Distribution
from .multivariate_normal import MultivariateNormal, _kl_mvn_mvn
from .normal import Normal

__all__ = ["register_kl", "kl_divergence"]

_KL_REGISTRY = {}   # (type_p, type_q) -> function: the source of truth
_KL_MEMOIZE = {}    # exact (type(p), type(q)) -> the function dispatch chose


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as KL(p || q) for the pair of types::

        @register_kl(MyDist, MyDist)
        def kl_mine(p, q): ...

    Lookup picks the most specific registered pair (by subclass order).
    """
    for t, name in ((type_p, "type_p"), (type_q, "type_q")):
        if not (isinstance(t, type) and issubclass(t, Distribution)):
            raise TypeError(f"Expected {name} to be a Distribution subclass but got {t}")

    def decorator(fun):
        _KL_REGISTRY[type_p, type_q] = fun
        _KL_MEMOIZE.clear()
        return fun
    return decorator


@total_ordering
class _Match:
    __slots__ = ("types",)

    def __init__(self, *types):
        self.types = types

    def __eq__(self, other):
        return self.types == other.types

    def __le__(self, other):
        for x, y in zip(self.types, other.types):
            if not issubclass(x, y):
                return False
            if x is not y:
                break
        return True


def _dispatch_kl(type_p, type_q):
    matches = [(sp, sq) for sp, sq in _KL_REGISTRY if issubclass(type_p, sp) and issubclass(type_q, sq)]
    if not matches:
        return NotImplemented
    left_p, left_q = min(_Match(*m) for m in matches).types
    right_q, right_p = min(_Match(*reversed(m)) for m in matches).types
    left_fun, right_fun = _KL_REGISTRY[left_p, left_q], _KL_REGISTRY[right_p, right_q]
    if left_fun is not right_fun:
        warnings.warn(f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). "
                      f"Please register_kl({left_p.__name__}, {right_q.__name__})", RuntimeWarning, stacklevel=2)
    return left_fun


def kl_divergence(p, q):
    """KL(p || q) = integral of p(x) log(p(x) / q(x)), batched over batch_shape.

    Raises NotImplementedError for pairs nobody registered (as torch).

    >>> import dlmath as dm
    >>> D = dm.distributions
    >>> D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(1.0, 1.0))  # (mu_p - mu_q)^2 / 2
    tensor(0.5000)
    """
    try:
        fun = _KL_MEMOIZE[type(p), type(q)]
    except KeyError:
        fun = _dispatch_kl(type(p), type(q))
        _KL_MEMOIZE[type(p), type(q)] = fun
    if fun is NotImplemented:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type {p.__class__.__name__} and "
                                  f"q type {q.__class__.__name__}")
    return fun(p, q)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    """log(sq/sp) + (sp^2 + (mp - mq)^2) / (2 sq^2) - 1/2, written with r = (sp/sq)^2."""
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


register_kl(Bernoulli, Bernoulli)(_kl_bernoulli_bernoulli)
register_kl(Categorical, Categorical)(_kl_categorical_categorical)
register_kl(MultivariateNormal, MultivariateNormal)(_kl_mvn_mvn)
