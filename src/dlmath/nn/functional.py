"""Functions of neural networks (torch.nn.functional): activations, linear, dropout, losses.

Activations are compositions of differentiable primitives, so second
derivatives come for free; each is written in the form that cannot overflow
or lose its gradient at extreme inputs (``logsigmoid`` is never
``log(sigmoid(x))``). The few fused primitives (softplus, softmax +
cross-entropy, BCE on probabilities) are in :mod:`dlmath.nn._primitives`,
each with the reason it is fused. The losses live in
:mod:`dlmath.nn._losses` and are re-exported here.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import special as _special
from ..autograd.node import make_tensor
from ..ops import elementwise as _ew, reduction as _red
from ..ops._util import shape_str, to_tensor
from ..ops.matmul import matmul as _matmul
from ..random import rng as _rng
from ._primitives import softplus as _softplus
from ._losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, kl_div,  # noqa: F401
                      l1_loss, mse_loss, nll_loss, require_float)

__all__ = ["softmax", "log_softmax", "softmin", "sigmoid", "tanh", "relu", "gelu", "softplus", "logsigmoid",
           "silu", "one_hot", "linear", "dropout", "cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "kl_div"]


# --- the softmax family --------------------------------------------------------
def _implicit_dim(name, ndim, stacklevel):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. "
                  "Change the call to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """softmax along ``dim``: exp(x - max) / sum exp(x - max), so logits of 1e4 are fine.

    A row that is entirely -inf (every position masked) gives NaN, as in PyTorch.
    Without ``dim``, PyTorch's legacy choice (with its deprecation warning).
    """
    x = to_tensor(input, "softmax")
    if dim is None:
        dim = _implicit_dim("softmax", x.ndim, _stacklevel)
    return _red.softmax(x, dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """log softmax = x - logsumexp(x): finite wherever x is, unlike log(softmax(x))."""
    x = to_tensor(input, "log_softmax")
    if dim is None:
        dim = _implicit_dim("log_softmax", x.ndim, _stacklevel)
    return _red.log_softmax(x, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x)."""
    x = to_tensor(input, "softmin")
    if dim is None:
        dim = _implicit_dim("softmin", x.ndim, _stacklevel)
    if dtype is not None:
        x = x.to(dtype)
    return _red.softmax(-x, dim)


# --- pointwise activations -------------------------------------------------------
def sigmoid(input):
    """sigma(x) = 1 / (1 + exp(-x)), the logistic function: gates, Bernoulli probabilities."""
    return _special.expit(input)


def tanh(input):
    return _ew.tanh(input)


def relu(input, inplace=False):
    """max(x, 0); gradient 1 for x > 0, else 0."""
    x = to_tensor(input, "relu")
    return x.relu_() if inplace else _ew.relu(x)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule).

    A smooth ReLU, and the positive output map of variances and rates.
    Computed as max(bx, 0) + log1p(exp(-|bx|)), which never overflows (also
    with ``threshold=inf``, where PyTorch's log1p(exp(bx)) does);
    d/dx = sigmoid(beta x): 1 above the threshold and at x = +inf, 0 at -inf.
    """
    x = require_float(to_tensor(input, "softplus"), "softplus")
    bx = x * beta if beta != 1 else x
    soft = _softplus(bx)
    if beta != 1:
        soft = soft / beta
    big = bx._data > threshold
    return _ew.where(make_tensor(big), x, soft) if big.any() else soft


def logsigmoid(input):
    """log sigmoid(x) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|)): never log(0).

    The naive log(sigmoid(x)) is -inf for x < -88 in float32 (sigmoid
    underflows to 0) and its gradient is NaN there; this form is exact, with
    gradient sigmoid(-x): 1 at x = -inf, 0 at +inf. The log-likelihood of a
    logit, -logsigmoid(z) is the loss of a positive label.
    """
    x = require_float(to_tensor(input, "logsigmoid"), "logsigmoid")
    return -_softplus(-x)


def gelu(input, approximate="none"):
    """GELU: x Phi(x), Phi the standard normal CDF; ``approximate='tanh'`` uses
    0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3). The activation of
    BERT and GPT: a smooth ReLU that weighs x by how likely a normal variable is below it.

    Exact form as x * erfc(-x / sqrt 2) / 2 (``dm.special.ndtr``): the same
    function as PyTorch's 0.5 x (1 + erf(x / sqrt 2)), without the
    cancellation of 1 + erf for very negative x. Likewise the tanh form as
    x sigmoid(2u), since 1 + tanh(u) = 2 sigmoid(2u): 1 + tanh(u) cancels to
    0 (or to a multiple of eps) below x ~ -5 in float32, sigmoid does not.
    """
    x = require_float(to_tensor(input, "gelu"), "gelu")
    if approximate == "none":
        return x * _special.ndtr(x)
    if approximate == "tanh":
        two_u = (x + x * x * x * 0.044715) * math.sqrt(8 / math.pi)
        return x * _special.expit(two_u)
    raise RuntimeError("approximate argument must be either none or tanh.")


def silu(input, inplace=False):
    """SiLU (swish): x sigmoid(x); d/dx = sigmoid(x) (1 + x (1 - sigmoid(x))).

    A smooth, non-monotone ReLU (transformer MLPs, EfficientNet). The
    result has the input's dtype (float16 stays float16, as in PyTorch).
    """
    x = require_float(to_tensor(input, "silu"), "silu")
    return x * _special.expit(x)


# --- indices, linear maps, dropout ------------------------------------------------
def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape (*tensor.shape, num_classes) with 1 at each class index.

    ``num_classes=-1`` infers max + 1. The input must be an int64 tensor of
    non-negative class indices, as in PyTorch.
    """
    t = to_tensor(tensor, "one_hot")
    a = t._data
    if a.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    if a.size and a.min() < 0:
        raise RuntimeError(f"one_hot: Class values must be non-negative (got {int(a.min())}).")
    if num_classes < 0 or (a.size and a.max() >= num_classes):
        raise RuntimeError(f"one_hot: Class values must be smaller than num_classes "
                           f"(got {int(a.max()) if a.size else 'none'} with num_classes={num_classes}).")
    return make_tensor(np.eye(num_classes, dtype=np.int64)[a])


def linear(input, weight, bias=None):
    """x W^T + b: the affine map of a fully connected layer (weight: (out_features, in_features))."""
    x, w = to_tensor(input, "linear"), to_tensor(weight, "linear")
    if x.dtype != w.dtype:
        raise RuntimeError(f"linear: expected input and weight to have the same dtype, but got "
                           f"{x.dtype} != {w.dtype}")
    if w.ndim not in (1, 2):
        raise RuntimeError(f"linear: weight must be 1-D or 2-D, got shape {shape_str(w.shape)}")
    if x.ndim == 0 or x.shape[-1] != w.shape[-1]:
        raise RuntimeError(f"linear: input {shape_str(x.shape)} and weight {shape_str(w.shape)}: "
                           f"in_features differ ({x.shape[-1] if x.ndim else 'scalar'} vs {w.shape[-1]})")
    out = _matmul(x, w.mT if w.ndim == 2 else w)
    if bias is None:
        return out
    b = to_tensor(bias, "linear")
    try:
        np.broadcast_shapes(b.shape, out.shape)
        if np.broadcast_shapes(b.shape, out.shape) != tuple(out.shape):
            raise ValueError
    except ValueError:
        raise RuntimeError(f"linear: bias of shape {shape_str(b.shape)} does not match the output "
                           f"{shape_str(out.shape)} (input {shape_str(x.shape)}, weight "
                           f"{shape_str(w.shape)})") from None
    return out + b


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1 - p), so E[out] = x.

    Draws from dlmath's default generator (``dm.manual_seed`` makes it
    reproducible). Returns the input itself when not training or p = 0.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = to_tensor(input, "dropout")
    if not training or p == 0 or x._data.size == 0:
        return x
    dt = x._data.dtype
    if p == 1:
        noise = np.zeros((), dtype=dt)
    else:
        keep = _rng().random(x.shape) < (1 - p)
        noise = keep.astype(dt) / dt.type(1 - p)
    noise = make_tensor(noise)
    return x.mul_(noise) if inplace else x * noise
