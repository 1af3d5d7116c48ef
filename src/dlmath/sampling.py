"""Drawing random values: ``bernoulli``, ``multinomial``, ``normal`` (as torch) and ``sample``.

``sample`` is temperature / top-k / top-p (nucleus) sampling from logits, the
decoding step of a language model. The temperature is the exploration knob:
p_i proportional to exp(z_i / T); T -> 0 is greedy (argmax, lowest entropy),
T = 1 the model's own distribution, large T near uniform (highest entropy).

Every function takes ``generator=`` (a ``dm.Generator``): the same seed gives
the same draws. Draws carry no gradient.
"""
from __future__ import annotations

import math
import numbers
from collections import namedtuple

import numpy as np

from . import _dtype
from .autograd.node import make_tensor
from ._random import rng
from ._random_fills import bernoulli  # written beside Tensor.bernoulli_, a layer below
from .tensor import Tensor
from .ops._util import to_tensor

__all__ = ["sample", "bernoulli", "multinomial", "normal", "SampleOutput"]


def _draw_categorical(p, n, generator=None):
    """n independent class ids per row of p (rows, K) (nonnegative, not necessarily normalised).

    Inverse CDF: id = number of cumulative probabilities <= u, u ~ U[0, 1).
    A class of probability 0 occupies an empty interval, so it is never drawn.
    """
    u = rng(generator).random((p.shape[0], n))
    cdf = np.cumsum(p, axis=-1)
    cdf = cdf / cdf[:, -1:]
    out = np.empty((p.shape[0], n), dtype=np.int64)
    for r in range(p.shape[0]):
        out[r] = np.searchsorted(cdf[r], u[r], side="right")
    return np.minimum(out, p.shape[1] - 1)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Class ids drawn from the rows of ``input`` (weights, normalised per row): (rows, num_samples).

    Without replacement a drawn class cannot be drawn again in the same row
    (the Gumbel-top-k trick: the k largest log w + Gumbel noise are a draw
    without replacement in order). Cf. Categorical, which this samples.
    """
    x = to_tensor(input, "multinomial")
    if x.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_dtype.dtype_name(x.dtype)}")
    if x.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    w = x._data.reshape(-1, x.shape[-1]).astype(np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if np.any(w.sum(-1) <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if replacement:
        out = _draw_categorical(w, int(num_samples), generator)
    else:
        if num_samples > w.shape[-1]:
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        g = rng(generator).gumbel(size=w.shape)
        with np.errstate(divide="ignore"):
            keys = np.where(w > 0, np.log(w) + g, -np.inf)
        # zero-weight classes come last, in random order, once the others run out (as torch)
        tie = rng(generator).random(w.shape)
        order = np.lexsort((tie, -keys), axis=-1)
        out = order[:, :num_samples]
    out = out.astype(np.int64)
    return make_tensor(out[0] if x.ndim == 1 else out)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None):
    """Gaussian draws N(mean, std^2), elementwise over broadcast ``mean`` and ``std`` or of ``size``.

    ``normal(mean_tensor, std_tensor)``, ``normal(mean_tensor, 1.0)``,
    ``normal(0.0, std_tensor)`` or ``normal(0.0, 1.0, size=(3,))``: weight
    initialisation and noise. The result carries no gradient.
    """
    m_t, s_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not m_t and not s_t and size is None:
        raise TypeError("normal(): with a float mean and a float std, size is required")
    if size is not None and (m_t or s_t):
        raise TypeError("normal(): size can only be given with a float mean and a float std")
    s_data = std._data if s_t else np.asarray(float(std))
    if np.any(s_data < 0):
        raise RuntimeError("normal expects all elements of std >= 0.0" if s_t else
                           f"normal expects std >= 0.0, but found std {std}")
    if size is not None:
        shape = tuple(size) if isinstance(size, (tuple, list)) else (int(size),)
        dt = _dtype.to_dtype(dtype) if dtype is not None else _dtype.default_dtype()
        m_data = np.asarray(float(mean))
    else:
        m_data = mean._data if m_t else np.asarray(float(mean))
        try:
            shape = np.broadcast_shapes(m_data.shape, s_data.shape)
        except ValueError:
            from .ops._util import broadcast_error
            raise broadcast_error("normal", m_data.shape, s_data.shape) from None
        dt = mean.dtype if m_t else std.dtype
    eps = rng(generator).standard_normal(shape, dtype=dt if dt in (np.float32, np.float64) else np.float64)
    return make_tensor((m_data + s_data * eps).astype(dt, copy=False))


# --- temperature / top-k / top-p sampling -----------------------------------
SampleOutput = namedtuple("SampleOutput", ["ids", "probs", "entropy"])
SampleOutput.__doc__ = """``dm.sample(..., return_distribution=True)``: the ids drawn, the
distribution they were drawn from (after temperature, top-k and top-p; zeros
outside the kept set) and its entropy in nats, both differentiable in the logits."""


def _check_sample_args(temperature, top_k, top_p, num_samples):
    if isinstance(temperature, Tensor):
        if temperature.numel() != 1:
            raise ValueError("sample: temperature must be a single number")
        temperature = temperature.item()
    if not isinstance(temperature, numbers.Real) or isinstance(temperature, bool):
        raise TypeError(f"sample: temperature must be a number, got {type(temperature).__name__}")
    temperature = float(temperature)
    if math.isnan(temperature) or temperature < 0 or math.isinf(temperature):
        raise ValueError(f"sample: temperature must be a finite number >= 0, got {temperature}")
    if top_k is not None:
        if not isinstance(top_k, numbers.Integral) or isinstance(top_k, bool):
            raise TypeError(f"sample: top_k must be an int or None, got {type(top_k).__name__}")
        if top_k < 1:
            raise ValueError(f"sample: top_k must be >= 1 (or None for no top-k filtering), got {top_k}")
    if top_p is not None:
        if not isinstance(top_p, numbers.Real) or isinstance(top_p, bool):
            raise TypeError(f"sample: top_p must be a number or None, got {type(top_p).__name__}")
        if not 0.0 <= float(top_p) <= 1.0:
            raise ValueError(f"sample: top_p must be in [0, 1], got {top_p}")
        top_p = float(top_p)
    if not isinstance(num_samples, numbers.Integral) or isinstance(num_samples, bool) or num_samples < 1:
        raise ValueError(f"sample: num_samples must be an int >= 1, got {num_samples!r}")
    return temperature, top_k, top_p, int(num_samples)


def _keep_mask(z, temperature, top_k, top_p):
    """Which tokens survive, from z = logits - max (float64, rows x V).

    Ties are broken toward the lower index everywhere (as argmax), so top_k
    keeps exactly k tokens and top_k=1 is the argmax.
    """
    rows, V = z.shape
    keep = np.isfinite(z)  # a -inf logit is a token the model rules out
    greedy = temperature == 0 or top_k == 1 or top_p == 0.0
    order = np.argsort(-z, axis=-1, kind="stable")  # descending, stable
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(V)[None, :].repeat(rows, 0), axis=-1)
    if greedy:
        return ranks == 0
    if top_k is not None and top_k < V:
        keep &= ranks < top_k
    if top_p is not None and top_p < 1.0:
        with np.errstate(over="ignore", under="ignore"):
            w = np.where(keep, np.exp(z / temperature), 0.0)
        p_sorted = np.take_along_axis(w / w.sum(-1, keepdims=True), order, -1)
        before = np.cumsum(p_sorted, -1) - p_sorted  # mass of the strictly more likely tokens
        kept_sorted = before < top_p
        kept_sorted[:, 0] = True                        # never an empty nucleus
        keep &= np.take_along_axis(kept_sorted, ranks, -1)
    return keep


def sample(logits, temperature=1.0, top_k=None, top_p=None, num_samples=1, generator=None,
           return_distribution=False):
    """Draw token ids from ``logits`` (..., V) with temperature, top-k and top-p (nucleus) filtering.

    In order: p proportional to exp(logits / T); keep the k most likely tokens;
    keep the smallest set of the remaining (renormalised) tokens whose
    cumulative probability reaches ``top_p`` (the token crossing it included);
    renormalise and draw. ``temperature=0``, ``top_k=1`` or ``top_p=0`` give
    the argmax (greedy decoding, first index at ties), with no division by zero.

    Returns ids of shape (...) (int64), or (..., num_samples) when
    num_samples > 1 (independent draws, with replacement). With
    ``return_distribution=True`` returns ``SampleOutput(ids, probs, entropy)``:
    the filtered distribution (..., V) and its entropy (...), differentiable in
    the logits.

    >>> import dlmath as dm
    >>> dm.sample(dm.tensor([1.0, 3.0, 2.0]), temperature=0)
    tensor(1)
    """
    temperature, top_k, top_p, num_samples = _check_sample_args(temperature, top_k, top_p, num_samples)
    x = to_tensor(logits, "sample")
    if x.dtype.kind != "f":
        from .ops._util import as_float
        x = as_float(x)
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"sample: logits must have shape (..., V) with V >= 1, got {tuple(x.shape)}")
    data = x._data.astype(np.float64).reshape(-1, x.shape[-1])
    if np.isnan(data).any() or np.isposinf(data).any():
        raise ValueError("sample: logits contain NaN or +inf")
    m = data.max(-1, keepdims=True)
    if np.isneginf(m).any():
        raise ValueError("sample: a row of logits is all -inf (no token can be drawn)")
    z = data - m
    keep = _keep_mask(z, temperature, top_k, top_p)
    if temperature == 0 or top_k == 1 or top_p == 0.0:
        p = keep.astype(np.float64)
    else:
        with np.errstate(over="ignore", under="ignore"):
            w = np.where(keep, np.exp(z / temperature), 0.0)
        p = w / w.sum(-1, keepdims=True)
    ids = _draw_categorical(p, num_samples, generator)
    lead = tuple(x.shape[:-1])
    ids = make_tensor(ids.reshape(lead + ((num_samples,) if num_samples > 1 else ())))
    if not return_distribution:
        return ids
    probs, entropy = _filtered_distribution(x, keep.reshape(x.shape), temperature, p.reshape(x.shape))
    return SampleOutput(ids, probs, entropy)


def _filtered_distribution(x, keep, temperature, p):
    """softmax over the kept tokens of (x - max) / T, and its entropy -sum p log p (0 log 0 = 0),
    as differentiable Tensors; the greedy case is the constant one-hot with entropy 0."""
    from .ops.elementwise import where
    keep_t = make_tensor(keep)
    if np.all(keep.sum(-1) == 1):  # greedy (or a single token left): one-hot, no temperature division
        probs = make_tensor(p.astype(x.dtype))
        return probs, make_tensor(np.zeros(p.shape[:-1], dtype=x.dtype))
    shifted = x - make_tensor(np.max(x._data, -1, keepdims=True))
    z = where(keep_t, shifted / temperature, float("-inf"))
    probs = z.softmax(-1)
    log_p = z.log_softmax(-1)
    safe = keep_t & (probs > 0)
    entropy = -(probs * where(safe, log_p, 0.0)).sum(-1)
    return probs, entropy
