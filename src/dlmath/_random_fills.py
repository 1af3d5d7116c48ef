"""Random draws written into a tensor in place, as torch's ``bernoulli_``, ``exponential_``,
``random_``, ``geometric_``, ``cauchy_`` and ``log_normal_`` (``uniform_`` and ``normal_`` are in
:mod:`dlmath.inplace`), and ``bernoulli`` (``dm.bernoulli``, ``Tensor.bernoulli``).

Each draws from a ``dm.Generator`` (the default one unless ``generator=`` is given) and writes
with ``copy_``, so the tensor keeps its dtype, a write through a view reaches its base, and, when
recording, the old value's history gets a zero gradient (an overwrite by a constant), as torch.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from . import _dtype
from .autograd.node import make_tensor
from .inplace import copy_
from .ops._util import to_tensor
from .ops.declare import method
from ._random import rng
from .tensor import Tensor


def _floating_only(x, opname, distribution, error=RuntimeError):
    if x._data.dtype.kind != "f":
        raise error(f"{opname}: {distribution} distribution is a continuous probability distribution. dtype "
                    f"must be a floating point but you specified {_dtype.dtype_name(x._data.dtype)}")


def _float_kernel_only(x, opname):
    if x._data.dtype.kind != "f":
        raise NotImplementedError(f'"{opname}" not implemented for {_dtype.dtype_name(x._data.dtype)}')


def _check_probabilities(probs, opname):
    if np.any(~((probs >= 0) & (probs <= 1))):   # (NaN fails too)
        raise RuntimeError(f"{opname}: Expected p_in >= 0 && p_in <= 1 to be true, but got false.")


def _fill(x, values, opname):
    return copy_(x, make_tensor(values), opname=opname)


@method("bernoulli")
def bernoulli(input, p=None, *, generator=None):
    """0/1 draws, 1 with probability ``input`` (elementwise; or with probability ``p`` when given),
    of input's dtype: dropout masks."""
    x = to_tensor(input, "bernoulli")
    _float_kernel_only(x, "bernoulli")
    probs = x._data if p is None else np.full(x._data.shape, float(p))
    _check_probabilities(probs, "bernoulli")
    return make_tensor((rng(generator).random(x._data.shape) < probs).astype(x._data.dtype))


@method("bernoulli_")
def bernoulli_(x, p=0.5, *, generator=None):
    """Each element set to 1 with probability ``p`` (a number, or a float tensor broadcast to x's
    shape), else 0; any dtype."""
    if isinstance(p, Tensor):
        probs = p._data
        if probs.dtype.kind != "f":
            raise NotImplementedError(f'"bernoulli_": the probabilities must be a floating tensor, got '
                                      f'{_dtype.dtype_name(probs.dtype)}')
        try:
            probs = np.broadcast_to(probs, x._data.shape)
        except ValueError:
            raise RuntimeError(f"bernoulli_: the probabilities of shape {tuple(probs.shape)} cannot be "
                               f"broadcast to the tensor's shape {tuple(x.shape)}") from None
        _check_probabilities(probs, "bernoulli_")
    else:
        probs = float(p)
        if not 0 <= probs <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return _fill(x, rng(generator).random(x._data.shape) < probs, "bernoulli_")


@method("exponential_")
def exponential_(x, lambd=1.0, *, generator=None):
    """Draws of Exponential(rate ``lambd``): density lambd * exp(-lambd * v) for v >= 0, mean 1/lambd."""
    _floating_only(x, "exponential_", "Exponential")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _fill(x, rng(generator).exponential(1.0 / lambd, x._data.shape), "exponential_")


@method("geometric_")
def geometric_(x, p, *, generator=None):
    """Draws of Geometric(p): the number of Bernoulli(p) trials up to and including the first
    success, P(k) = (1 - p)^(k - 1) p for k = 1, 2, ...; mean 1/p. Any numeric dtype."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return _fill(x, rng(generator).geometric(p, x._data.shape), "geometric_")


@method("cauchy_")
def cauchy_(x, median=0.0, sigma=1.0, *, generator=None):
    """Draws of Cauchy(median, sigma): density 1 / (pi sigma (1 + ((v - median) / sigma)^2)) (no mean)."""
    _floating_only(x, "cauchy_", "Cauchy")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    return _fill(x, median + sigma * rng(generator).standard_cauchy(x._data.shape), "cauchy_")


@method("log_normal_")
def log_normal_(x, mean=1.0, std=2.0, *, generator=None):
    """Draws of exp(N(mean, std^2)): a log-normal whose logarithm has that mean and std."""
    _float_kernel_only(x, "log_normal_")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    return _fill(x, rng(generator).lognormal(mean, std, x._data.shape), "log_normal_")


@method("random_")
def random_(x, *args, generator=None, **kwargs):
    """Integers drawn uniformly, as torch: ``random_()`` from [0, the dtype's largest exact integer],
    ``random_(to)`` from [0, to), ``random_(from, to)`` from [from, to) (``to=None``: up to the
    dtype's bound). The tensor keeps its dtype."""
    unknown = set(kwargs) - {"from", "to"}
    if unknown or len(args) > 2:
        raise TypeError(f"random_() received an invalid combination of arguments: {len(args)} positional "
                        f"and the keywords {sorted(kwargs)} (expected random_(from=0, to=None) or random_(to))")
    if len(args) == 1 and "to" not in kwargs and "from" not in kwargs:
        low, high = 0, args[0]          # random_(to)
    else:
        low = args[0] if args else kwargs.get("from", 0)
        high = args[1] if len(args) > 1 else kwargs.get("to")
    dtype = x._data.dtype
    if dtype.kind not in "biuf":
        raise NotImplementedError(f'"random_" not implemented for {_dtype.dtype_name(dtype)}')
    low = int(low)
    if high is None:   # the dtype's bound: every integer a float holds exactly, an integer type's max
        top = 1 if dtype.kind == "b" else _dtype.int_range(dtype)[1] if dtype.kind in "iu" else \
            2 ** (np.finfo(dtype).nmant + 1)
    else:
        high = int(high)
        if low >= high:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
        top = high - 1
    if dtype.kind in "biu":
        info = (0, 1) if dtype.kind == "b" else _dtype.int_range(dtype)
        if not info[0] <= low <= info[1]:
            raise RuntimeError(f"random_: from={low} is out of bounds for {_dtype.dtype_name(dtype)}")
        if not info[0] <= top <= info[1]:
            raise RuntimeError(f"random_: to - 1 = {top} is out of bounds for {_dtype.dtype_name(dtype)}")
    else:
        exact = 2 ** (np.finfo(dtype).nmant + 1)
        if high is not None and not (-exact <= low and top <= exact):
            warnings.warn(f"random_: [{low}, {top}] is out of bounds [-(2^{int(math.log2(exact))}), "
                          f"2^{int(math.log2(exact))}]: {_dtype.dtype_name(dtype)} holds every integer only "
                          f"within that range", UserWarning, stacklevel=2)
    return _fill(x, rng(generator).integers(low, top, x._data.shape, dtype=np.int64, endpoint=True), "random_")
