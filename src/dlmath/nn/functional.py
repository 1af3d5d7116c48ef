"""Functions of neural networks (torch.nn.functional): activations, linear, dropout, losses.

Activations are compositions of differentiable primitives, so second
derivatives come for free; each is written in the form that cannot overflow
or lose its gradient at extreme inputs (``logsigmoid`` is never
``log(sigmoid(x))``). The few fused primitives (softplus, softmax +
cross-entropy, BCE on probabilities) are in :mod:`dlmath.ops.losses`,
each with the reason it is fused. The losses live in
:mod:`dlmath.nn._losses` and are re-exported here.
"""
from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from .. import special as _special
from .._dtype import c_name, scalar_name, float32 as _F32, float64 as _F64
from ..creation import as_tensor
from ..ops import elementwise as _ew, reduction as _red
from ..ops._util import shape_str, to_tensor
from ..ops.matmul import addmm_linear as _addmm_linear, matmul as _matmul
from ..tensor import Tensor as _Tensor   # (dm.Tensor: isinstance checks on the hot path, no import per call)
from .._random import rng as _rng
from ..ops.losses import softplus as _softplus
from . import _fused
from ._losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, kl_div,  # noqa: F401
                      l1_loss, mse_loss, nll_loss, require_float, smooth_l1_loss, huber_loss, margin_ranking_loss,
                      cosine_embedding_loss, poisson_nll_loss, gaussian_nll_loss)

__all__ = ["softmax", "log_softmax", "softmin", "sigmoid", "tanh", "relu", "gelu", "softplus", "logsigmoid",
           "silu", "one_hot", "linear", "dropout", "cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "kl_div",
           "leaky_relu", "elu", "selu", "glu", "layer_norm", "rms_norm", "batch_norm", "normalize",
           "cosine_similarity", "pairwise_distance", "embedding", "bilinear", "pad", "scaled_dot_product_attention",
           "smooth_l1_loss", "huber_loss", "margin_ranking_loss", "cosine_embedding_loss", "poisson_nll_loss",
           "gaussian_nll_loss"]


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
    big = bx.detach().numpy() > threshold
    return _ew.where(as_tensor(big), x, soft) if big.any() else soft


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
        if _FUSED_GELU and x.dtype in (_F32, _F64):
            return _fused.GeluTanhFunction.apply(x)
        return _gelu_tanh_composed(x)
    raise RuntimeError("approximate argument must be either none or tanh.")


def _gelu_tanh_composed(x):
    """x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3): the reference form of ``GeluTanhFunction``."""
    two_u = (x + x * x * x * 0.044715) * math.sqrt(8 / math.pi)
    return x * _special.expit(two_u)


def silu(input, inplace=False):
    """SiLU (swish): x sigmoid(x); d/dx = sigmoid(x) (1 + x (1 - sigmoid(x))).

    A smooth, non-monotone ReLU (transformer MLPs, EfficientNet). The
    result has the input's dtype (float16 stays float16, as in PyTorch).
    """
    x = require_float(to_tensor(input, "silu"), "silu")
    return x * _special.expit(x)


# Which fused forms (nn/_fused.py) the functions use: each is on because it measured faster than
# its composed form (see the classes' docstrings); switch one off to compare.
_FUSED_LINEAR = True
_FUSED_GELU = True
_FUSED_LAYER_NORM = True
_FUSED_ATTENTION = True


# --- indices, linear maps, dropout ------------------------------------------------
def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape (*tensor.shape, num_classes) with 1 at each class index.

    ``num_classes=-1`` infers max + 1. The input must be an int64 tensor of
    non-negative class indices, as in PyTorch.
    """
    t = to_tensor(tensor, "one_hot")
    a = t.detach().numpy()
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
    return as_tensor(np.eye(num_classes, dtype=np.int64)[a])


def linear(input, weight, bias=None):
    """x W^T + b: the affine map of a fully connected layer (weight: (out_features, in_features)).

    Every neuron's pre-activation is a dot product of the input with its row of W. Runs
    the fused ``LinearFunction`` (nn/_fused.py: the product and the bias in one buffer)
    for a 2-D weight; ``_linear_composed`` (matmul + add) is the reference form.
    """
    x, w = _tensor_arg(input, "linear"), _tensor_arg(weight, "linear", "weight")
    # (each property read once: this runs for every layer of every step)
    xshape, wshape, xdt = x.shape, w.shape, x.dtype
    if xdt != w.dtype:
        raise RuntimeError(f"linear: expected input and weight to have the same dtype, but got "
                           f"{x.dtype} != {w.dtype}")
    wnd = len(wshape)
    if wnd not in (1, 2):
        raise RuntimeError(f"linear: weight must be 1-D or 2-D, got shape {shape_str(w.shape)}")
    if not xshape or xshape[-1] != wshape[-1]:
        raise RuntimeError(f"linear: input {shape_str(x.shape)} and weight {shape_str(w.shape)}: "
                           f"in_features differ ({x.shape[-1] if x.ndim else 'scalar'} vs {w.shape[-1]})")
    b = None
    if bias is not None:
        b = _tensor_arg(bias, "linear", "bias")
        bshape = b.shape
        # (the usual bias, one number per output feature, needs no broadcasting check)
        ok = wnd == 2 and len(bshape) == 1 and bshape[0] == wshape[0]
        if not ok:
            out_shape = tuple(x.shape[:-1]) + ((w.shape[0],) if w.ndim == 2 else ())
            try:
                ok = np.broadcast_shapes(tuple(bshape), out_shape) == out_shape
            except ValueError:
                ok = False
        if not ok:
            raise RuntimeError(f"linear: bias of shape {shape_str(b.shape)} does not match the output "
                               f"{shape_str(out_shape)} (input {shape_str(x.shape)}, weight "
                               f"{shape_str(w.shape)})")
    if (_FUSED_LINEAR and wnd == 2 and x.is_floating_point()
            and (b is None or (b.dtype == xdt and b.ndim == 1))):
        if len(xshape) == 2:   # a batch of rows: one primitive node, torch's addmm (ops/matmul.py)
            return _addmm_linear(x, w, b)
        return _fused.LinearFunction.apply(x, w, b)
    return _linear_composed(x, w, b)


def _linear_composed(x, w, b=None):
    """x W^T + b as matmul then add: the reference form of the fused ``LinearFunction``."""
    out = x.matmul(w.mT if w.ndim == 2 else w)
    return out if b is None else out + b


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1 - p), so E[out] = x.

    Draws from dlmath's default generator (``dm.manual_seed`` makes it
    reproducible). Returns the input itself when not training or p = 0.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = to_tensor(input, "dropout")
    if not training or p == 0 or x.numel() == 0:
        return x
    dt = x.dtype
    if p == 1:
        noise = np.zeros((), dtype=dt)
    else:
        keep = _rng().random(x.shape) < (1 - p)
        noise = keep.astype(dt) / dt.type(1 - p)
    noise = as_tensor(noise)
    return x.mul_(noise) if inplace else x * noise


# =====================================================================================
# The training stack's functions (issue #10). Written on dlmath's public API only: Tensor
# methods, ``dm.<op>`` and ``dm.autograd.Function``; values are read with
# ``t.detach().numpy()``. ``dm`` is imported inside each function: the package imports
# this module, so a module-level ``import dlmath`` would close an import cycle.
# =====================================================================================
def _tensor_arg(x, fname, what="input"):
    if not isinstance(x, _Tensor):
        raise TypeError(f"{fname}(): argument '{what}' must be Tensor, not {type(x).__name__}")
    return x


def _float_arg(x, fname, what="input"):
    _tensor_arg(x, fname, what)
    if not x.is_floating_point():
        raise RuntimeError(f"{fname}: expected a floating point {what}, got {x.dtype} of shape "
                           f"{shape_str(x.shape)}")
    return x


def _dim(d, ndim, fname):
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"{fname}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {d})")
    return d % n


# --- activations of the training stack ------------------------------------------------
def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x for x > 0, negative_slope * x otherwise: a ReLU whose dead side still passes a small
    gradient (slope ``negative_slope`` at 0, as torch)."""
    import dlmath as dm
    x = _float_arg(input, "leaky_relu")
    out = dm.where(x > 0, x, x * negative_slope)
    return x.copy_(out) if inplace else out


def elu(input, alpha=1.0, inplace=False):
    """x for x > 0, alpha (e^x - 1) otherwise: smooth at 0 for alpha = 1, mean activations near 0.

    expm1 is taken of min(x, 0), so the branch where() discards never overflows and its
    zero cotangent never meets an infinite slope (0 * inf = NaN)."""
    import dlmath as dm
    x = _float_arg(input, "elu")
    out = dm.where(x > 0, x, dm.expm1(x.clamp(max=0.0)) * alpha)
    return x.copy_(out) if inplace else out


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the constants that keep activations at mean 0, variance 1
    through deep self-normalising networks (Klambauer et al. 2017)."""
    out = elu(input, _SELU_ALPHA) * _SELU_SCALE
    return input.copy_(out) if inplace else out


def glu(input, dim=-1):
    """Gated linear unit: a * sigmoid(b), a and b the two halves of ``input`` along ``dim``;
    the gate b decides how much of the value a passes (gated CNNs, SwiGLU's ancestor)."""
    x = _tensor_arg(input, "glu")
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = _dim(dim, x.ndim, "glu")
    if x.shape[d] % 2:
        raise RuntimeError(f"glu: Halving dimension must be even, but dimension {d} is size {x.shape[d]} "
                           f"(input {shape_str(x.shape)})")
    if not x.is_floating_point():   # torch's kernel is defined for floating types only
        raise NotImplementedError(f"glu: \"glu_cpu\" not implemented for '{scalar_name(x.dtype)}' (input "
                                  f"{shape_str(x.shape)}); convert it with .float()")
    a, b = x.chunk(2, d)
    return a * b.sigmoid()


# --- normalisation ------------------------------------------------------------------------
def _normalized_shape(fname, x, normalized_shape):
    if isinstance(normalized_shape, int):   # torch 2.13 takes a list or tuple only
        raise TypeError(f"{fname}(): argument 'normalized_shape' (position 2) must be tuple of ints, not int")
    shape = tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0:
        raise RuntimeError(f"{fname}: Expected normalized_shape to be at least 1-dimensional, i.e., containing "
                           "at least one element, but got normalized_shape = []")
    if x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise RuntimeError(f"{fname}: Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size{list(x.shape)}")
    return shape, tuple(range(-k, 0))


def _affine_arg(fname, t, shape, what):
    if t is None:
        return None
    _tensor_arg(t, fname, what)
    if tuple(t.shape) != shape:
        raise RuntimeError(f"{fname}: Expected {what} to be of same shape as normalized_shape, but got {what} "
                           f"of shape {list(t.shape)} and normalized_shape = {list(shape)}")
    return t


def _layer_norm_composed(x, axes, weight, bias, eps):
    """(x - mean) / sqrt(var + eps) over ``axes`` (biased variance), then * weight + bias:
    the reference form, built from differentiable ops."""
    mean = x.mean(axes, keepdim=True)
    d = x - mean
    var = (d * d).mean(axes, keepdim=True)
    y = d * (var + eps).rsqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias, mean and (biased) var over the last
    len(normalized_shape) dims.

    The statistics are per token (per sample), not per batch: a transformer's layer
    behaves the same at any batch size and sequence position, in training and in
    inference, and each token's features reach the next layer at a fixed scale.
    """
    x = _float_arg(input, "layer_norm")
    shape, axes = _normalized_shape("layer_norm", x, normalized_shape)
    weight = _affine_arg("layer_norm", weight, shape, "weight")
    bias = _affine_arg("layer_norm", bias, shape, "bias")
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:
            raise RuntimeError(f"layer_norm: mixed dtype: expect {what} to have the input's scalar type "
                               f"{x.dtype}, got {t.dtype} (input {shape_str(x.shape)})")
    if _FUSED_LAYER_NORM:
        return _fused.LayerNormFunction.apply(x, weight, bias, axes, float(eps))
    return _layer_norm_composed(x, axes, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) * weight over the last len(normalized_shape) dims.

    Layer norm without the centring (LLaMA, T5): only the scale of each token is
    fixed. A float16 input is computed in float32 and the result cast back, as torch
    (its opmath type); ``eps=None`` is the machine epsilon of the computation's dtype
    (float32's for float16, so eps does not swamp mean(x^2) of small tokens).
    """
    import dlmath as dm
    x = _float_arg(input, "rms_norm")
    shape, axes = _normalized_shape("rms_norm", x, normalized_shape)
    weight = _affine_arg("rms_norm", weight, shape, "weight")
    # float16 has 10 bits and squares of small tokens underflow: torch upcasts
    xc = x.to(dm.float32) if x.dtype == dm.float16 else x
    if eps is None:
        eps = float(np.finfo(xc.dtype).eps)
    y = xc * ((xc * xc).mean(axes, keepdim=True) + eps).rsqrt()
    if weight is not None:
        y = y * weight
    return y if y.dtype == x.dtype else y.to(x.dtype)   # torch: the result has the input's type


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias per channel (dim 1), statistics over the
    batch and every other dim.

    Training: the batch's mean and biased variance normalise, and the running estimates
    are updated in place (not recorded): r = (1 - momentum) r + momentum * stat, with the
    unbiased variance (n / (n - 1)) for running_var, as torch. Evaluation: the running
    estimates normalise. Keeping each channel's pre-activations at a fixed mean and
    variance is what lets deep CNNs train at high learning rates.
    """
    import dlmath as dm
    x = _float_arg(input, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of at least 2 dims (N, C, *), got {shape_str(x.shape)}")
    if momentum is None or isinstance(momentum, bool) or not isinstance(momentum, (int, float)):
        raise TypeError(f"batch_norm(): argument 'momentum' must be float, not {type(momentum).__name__}")
    c = x.shape[1]
    half = x.dtype == dm.float16
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and (_tensor_arg(t, "batch_norm", what).numel() != c):
            raise RuntimeError(f"batch_norm: {what} should contain {c} elements not {t.numel()} "
                               f"(input {shape_str(x.shape)})")
        # torch's CPU rule: parameters of the input's dtype, or float32 ones for a float16 input
        # (mixed precision); anything else would be promoted silently, so it is refused
        if t is not None and t.dtype != x.dtype and not (half and t.dtype == dm.float32):
            raise RuntimeError(f"batch_norm: mixed dtype (CPU): input is {x.dtype} but {what} is {t.dtype}; "
                               f"expected {x.dtype}" + (" or float32" if half else ""))
    if half and any(t is not None and t.dtype == dm.float32 for t in (running_mean, running_var, weight, bias)):
        # float16 input, float32 statistics and affine: computed in float32, returned in float16
        return batch_norm(x.to(dm.float32), running_mean, running_var, weight, bias, training, momentum,
                          eps).to(dm.float16)
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, c) + (1,) * (x.ndim - 2)
    if x.numel() == 0:
        # an empty batch: an empty output, the running estimates left as they are (torch); the
        # affine terms stay in the graph, so weight and bias get zero gradients
        y = x * weight.reshape(shape) if weight is not None else x * 1
        return y + bias.reshape(shape) if bias is not None else y
    if training:
        n = x.numel() // c if c else 0
        if n == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{shape_str(x.shape)}")
        mean = x.mean(axes, keepdim=True)
        d = x - mean
        var = (d * d).mean(axes, keepdim=True)
        with dm.no_grad():
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(mean.detach().reshape(running_mean.shape) * momentum)
            if running_var is not None:
                unbiased = var.detach().reshape(running_var.shape) * (n / (n - 1))
                running_var.mul_(1 - momentum).add_(unbiased * momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be defined in evaluation mode")
        mean = running_mean.reshape(shape)
        var = running_var.reshape(shape)
        d = x - mean
    y = d * (var + eps).rsqrt()
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(||x||_p, eps) along ``dim``: unit vectors (cosine-similarity heads, contrastive
    losses); eps keeps a zero vector at 0 instead of 0/0."""
    x = _float_arg(input, "normalize")
    y = x / x.norm(p, dim, keepdim=True).clamp(min=eps)
    if out is not None:
        out.copy_(y)
        return out
    return y


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """<x1, x2> / (max(||x1||, eps) max(||x2||, eps)) along ``dim`` (inputs broadcast).

    Each vector is divided by its norm before the product, as torch: the same value, and
    no overflow of ||x1|| ||x2|| for large vectors.
    """
    import dlmath as dm
    a, b = _float_arg(x1, "cosine_similarity", "x1"), _float_arg(x2, "cosine_similarity", "x2")
    try:
        shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        raise RuntimeError(f"cosine_similarity: x1 {shape_str(a.shape)} and x2 {shape_str(b.shape)} cannot be "
                           "broadcast together") from None
    a, b = dm.broadcast_to(a, shape), dm.broadcast_to(b, shape)
    d = _dim(dim, len(shape), "cosine_similarity")
    # torch clamps the norms in place under no_grad: the value is max(||x||, eps), the gradient
    # that of ||x|| itself (so a short vector's gradient is not the derivative of the clamped value)
    na, nb = a.norm(2, d, keepdim=True), b.norm(2, d, keepdim=True)
    na = na + (na.clamp(min=eps) - na).detach()
    nb = nb + (nb.clamp(min=eps) - nb).detach()
    return ((a / na) * (b / nb)).sum(d)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last dim (eps keeps the norm's gradient finite at x1 = x2)."""
    a, b = _float_arg(x1, "pairwise_distance", "x1"), _float_arg(x2, "pairwise_distance", "x2")
    try:
        np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        raise RuntimeError(f"pairwise_distance: x1 {shape_str(a.shape)} and x2 {shape_str(b.shape)} cannot be "
                           "broadcast together") from None
    d = a - b + eps
    if d.ndim == 0:
        return d.abs() if p != 0 else (d != 0).to(d.dtype)
    return d.norm(p, -1, keepdim=keepdim)


# --- embedding and bilinear ---------------------------------------------------------------
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """weight[input]: row i of the (num_embeddings, dim) table for each index i (token
    embeddings: a one-hot vector times the table, without the matmul).

    ``padding_idx``: that row's value is returned, but it gets no gradient (padding
    tokens do not train it). ``max_norm``: the rows looked up are first rescaled in place
    to norm <= max_norm (torch's embedding_renorm_). ``scale_grad_by_freq``: each row's
    gradient is divided by how often its index occurs in ``input``. ``sparse`` is accepted;
    the gradient is dense.
    """
    import dlmath as dm
    idx = _tensor_arg(input, "embedding")
    w = _tensor_arg(weight, "embedding", "weight")
    if idx.dtype not in (dm.int64, dm.int32):
        raise RuntimeError(f"embedding: Expected tensor for argument #1 'indices' to have one of the following "
                           f"scalar types: Long, Int; but got {idx.dtype} instead (input {shape_str(idx.shape)})")
    if w.ndim != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D, got shape {shape_str(w.shape)}")
    n = w.shape[0]
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= n:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -n:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx += n
    a = idx.detach().numpy()
    if a.size and (a.min() < 0 or a.max() >= n):
        bad = int(a[(a < 0) | (a >= n)].flat[0])
        raise IndexError(f"embedding: index out of range in self (index {bad}, weight {shape_str(w.shape)})")
    flat = idx.reshape(-1)
    if max_norm is not None:
        with dm.no_grad():
            rows = dm.from_numpy(np.unique(a))
            sel = w.index_select(0, rows)
            norms = sel.norm(norm_type, 1, keepdim=True)
            scale = dm.where(norms > max_norm, max_norm / (norms + 1e-7), dm.ones_like(norms))
            w[rows] = sel * scale        # the rows, in place and unrecorded, as torch's embedding_renorm_
    out = w.index_select(0, flat).reshape(tuple(idx.shape) + (w.shape[1],))
    if scale_grad_by_freq and a.size:
        _, inverse, counts = np.unique(a.reshape(-1), return_inverse=True, return_counts=True)
        s = dm.from_numpy((1.0 / counts[inverse]).astype(w.detach().numpy().dtype).reshape(tuple(idx.shape) + (1,)))
        out = out * s + (out * (1 - s)).detach()      # the value of out, the gradient times 1/count
    if padding_idx is not None and (a == padding_idx).any():
        pad_rows = dm.from_numpy(np.expand_dims(a == padding_idx, -1))
        out = dm.where(pad_rows, out.detach(), out)   # the padding row's value, and no gradient to it
    return out


def bilinear(input1, input2, weight, bias=None):
    """y_o = x1^T W_o x2 + b_o (weight (out, in1, in2)): every feature of x1 multiplies every
    feature of x2, one matrix per output (interaction layers, bilinear pooling)."""
    import dlmath as dm
    x1 = _tensor_arg(input1, "bilinear", "input1")
    x2 = _tensor_arg(input2, "bilinear", "input2")
    w = _tensor_arg(weight, "bilinear", "weight")
    named = [("input1", x1), ("input2", x2), ("weight", w)] + ([("bias", bias)] if bias is not None else [])
    if len({t.dtype for _, t in named}) > 1:   # torch checks before the shapes and never promotes
        got = ", ".join(f"{what}: {c_name(t.dtype)}" for what, t in named)
        raise RuntimeError(f"bilinear(): All tensors must have the same dtype, got {got}")
    if x1.ndim != x2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {x1.ndim} and {x2.ndim} "
                           f"(input1 {shape_str(x1.shape)}, input2 {shape_str(x2.shape)})")
    if tuple(x1.shape[:-1]) != tuple(x2.shape[:-1]):
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got {shape_str(x1.shape[:-1])} and "
                           f"{shape_str(x2.shape[:-1])}")
    if w.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out, in1, in2), got {shape_str(w.shape)}")
    if x1.shape[-1] != w.shape[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {x1.shape[-1]} but expected "
                           f"{w.shape[1]} (weight {shape_str(w.shape)})")
    if x2.shape[-1] != w.shape[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {x2.shape[-1]} but expected "
                           f"{w.shape[2]} (weight {shape_str(w.shape)})")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != w.shape[0]):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {bias.shape[-1] if bias.ndim else 0}"
                           f" but expected {w.shape[0]}")
    # (x1 W_o) first: one matmul over all outputs, then the product with x2 summed
    lead = tuple(x1.shape[:-1])
    a = x1.reshape(-1, x1.shape[-1])
    b = x2.reshape(-1, x2.shape[-1])
    t = dm.einsum("ni,oij->noj", a, w)
    y = (t * b.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(lead + (w.shape[0],))


# --- padding -------------------------------------------------------------------------------
_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_index(n, before, after, mode):
    """Source positions of a padded axis of length n: the reflect/replicate/circular maps.

    'circular' takes negative amounts, as torch: the axis is first cropped to
    [max(-before, 0), n - max(-after, 0)), and the padding wraps around within that
    window (so ``(-1, 2)`` on 0..4 is 1 2 3 4 1 2, not 1 2 3 4 0 1).
    """
    if mode == "circular":
        lo, m = max(-before, 0), n - max(-before, 0) - max(-after, 0)
        return lo + np.arange(-max(before, 0), m + max(after, 0)) % max(m, 1)
    pos = np.arange(-before, n + after)
    if mode == "reflect":
        period = 2 * (n - 1)
        pos = np.abs(pos) % period if period else np.zeros_like(pos)
        pos = np.where(pos >= n, period - pos, pos)
    elif mode == "replicate":
        pos = np.clip(pos, 0, n - 1)
    return pos


def _pad_amounts(pad):
    """``pad`` as a tuple of Python ints: integers (or anything with ``__index__``) only, as
    torch's argument parser; a float amount is a TypeError, never rounded."""
    out = []
    for k, p in enumerate(pad):
        try:
            if isinstance(p, (bool, np.bool_)):
                raise TypeError
            out.append(operator.index(p))
        except TypeError:
            raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but found element of type "
                            f"{type(p).__name__} at pos {k} (pad {list(pad)})") from None
    return tuple(out)


def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative amounts, crop) the last len(pad) // 2 dims: ``pad`` lists
    (before, after) pairs starting from the last dim, as torch.

    'constant' fills with ``value`` (0 by default); 'reflect' mirrors without repeating
    the edge; 'replicate' repeats the edge; 'circular' wraps around (within what is
    left after cropping, when one side is negative). Convolutions pad so
    that the output keeps the input's size and edge pixels are seen as often as the
    others. Differentiable in the input: the non-constant modes are one index_select per
    axis, whose backward adds each copy's gradient back to its source.
    """
    import dlmath as dm
    x = _tensor_arg(input, "pad")
    pad = _pad_amounts(pad)
    if len(pad) % 2:
        raise RuntimeError(f"pad: Padding length must be divisible by 2, got {len(pad)} ({list(pad)})")
    k = len(pad) // 2
    if k > x.ndim:
        raise RuntimeError(f"pad: Padding length should be less than or equal to two times the input dimension "
                           f"but got padding length {len(pad)} and input of dimension {x.ndim}")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode != "constant":
        if value is not None and value != 0:
            raise RuntimeError(f'pad: Padding mode "{mode}" doesn\'t take in value argument (got value={value!r}; '
                               f'only mode="constant" fills with a value)')
        if not (k <= 3 and k + 1 <= x.ndim <= k + 2):
            raise NotImplementedError(f"pad: only 2D, 3D, 4D, 5D padding with non-constant padding are supported "
                                      f"for now (mode {mode!r}, pad {list(pad)}, input {shape_str(x.shape)})")
    for j in range(k):
        axis = x.ndim - 1 - j
        before, after = pad[2 * j], pad[2 * j + 1]
        n = x.shape[axis]
        if mode == "constant":
            if before < 0 or after < 0:   # negative padding crops
                lo, hi = max(-before, 0), n - max(-after, 0)
                if hi < lo:
                    raise RuntimeError(f"pad: the padding {list(pad)} crops dim {axis} of input "
                                       f"{shape_str(x.shape)} below size 0")
                x = x.narrow(axis, lo, hi - lo)
                before, after = max(before, 0), max(after, 0)
            parts = []
            for amount in (before, None, after):
                if amount is None:
                    parts.append(x)
                elif amount:
                    shape = list(x.shape)
                    shape[axis] = amount
                    parts.append(dm.full(tuple(shape), 0 if value is None else value, dtype=x.dtype))
            x = dm.cat(parts, axis) if len(parts) > 1 else x
            continue
        if mode == "reflect" and (before >= n or after >= n):
            raise RuntimeError(f"pad: Argument #4: Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({before}, {after}) at dimension {axis} of input "
                               f"{list(x.shape)}")
        if mode == "replicate" and n == 0:
            raise RuntimeError(f"pad: input {shape_str(x.shape)} is empty along dim {axis}")
        if mode == "circular":
            m = n - max(-before, 0) - max(-after, 0)   # the size left after cropping
            if m < 0:
                raise RuntimeError(f"pad: the padding {list(pad)} crops dim {axis} of input "
                                   f"{shape_str(x.shape)} below size 0")
            # torch checks the amounts against n; wrapping past the cropped window (which
            # torch fails on, or fills from uninitialised memory) is refused here as well
            if before > n or after > n or max(before, 0) > m or max(after, 0) > m:
                raise RuntimeError(f"pad: Padding value causes wrapping around more than once (padding ({before}, "
                                   f"{after}) at dimension {axis} of input {list(x.shape)}, "
                                   f"{m} left after cropping)")
        x = x.index_select(axis, dm.from_numpy(_pad_index(n, before, after, mode)))
    return x


# --- attention -------------------------------------------------------------------------------
def _attention_args(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa):
    """torch's checks; returns (query, key, value with GQA heads repeated, the scale, a bool or float mask
    or None, whether causal). The causal mask is not built here: the fused form adds a cached one."""
    import dlmath as dm
    fname = "scaled_dot_product_attention"
    q, k, v = (_tensor_arg(t, fname, w) for t, w in ((query, "query"), (key, "key"), (value, "value")))
    if not (q.dtype == k.dtype == v.dtype):
        raise RuntimeError(f"{fname}: Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {q.dtype} key.dtype: {k.dtype} and value.dtype: {v.dtype} instead.")
    if not q.is_floating_point():
        raise RuntimeError(f"{fname}: expected floating point query, key and value, got {q.dtype}")
    if not (0.0 <= dropout_p <= 1.0):
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise RuntimeError(f"{fname}: query, key and value must be at least 2-D (..., L, E), got "
                           f"{shape_str(q.shape)}, {shape_str(k.shape)}, {shape_str(v.shape)}")
    if q.shape[-1] != k.shape[-1]:
        raise RuntimeError(f"{fname}: query {shape_str(q.shape)} and key {shape_str(k.shape)} must have the same "
                           f"embedding size (last dim)")
    if k.shape[-2] != v.shape[-2]:
        raise RuntimeError(f"{fname}: key {shape_str(k.shape)} and value {shape_str(v.shape)} must have the same "
                           f"sequence length (dim -2)")
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3:
        hq, hk, hv = q.shape[-3], k.shape[-3], v.shape[-3]
        if hk != hv or hk == 0 or hq % hk:
            raise RuntimeError(f"{fname}: with enable_gqa, the number of query heads ({hq}) must be a multiple "
                               f"of the number of key and value heads ({hk}, {hv})")
        if hq != hk:
            k = k.repeat_interleave(hq // hk, -3)
            v = v.repeat_interleave(hq // hk, -3)
    try:
        batch = np.broadcast_shapes(tuple(q.shape[:-2]), tuple(k.shape[:-2]), tuple(v.shape[:-2]))
    except ValueError:
        raise RuntimeError(f"{fname}: the batch and head dims of query {shape_str(q.shape)}, key "
                           f"{shape_str(k.shape)} and value {shape_str(v.shape)} do not match") from None
    L, S = q.shape[-2], k.shape[-2]
    mask = None
    if attn_mask is not None:
        m = _tensor_arg(attn_mask, fname, "attn_mask")
        if m.dtype == dm.float32 and q.dtype != dm.float32:
            m = m.to(q.dtype)          # torch accepts a float (float32) mask for any query dtype
        if m.dtype != dm.bool and m.dtype != q.dtype:
            raise RuntimeError(f"{fname}: Expected attn_mask dtype to be bool or float or to match query dtype, "
                               f"but got attn_mask.dtype: {m.dtype} and query.dtype: {q.dtype} instead.")
        try:
            np.broadcast_shapes(tuple(m.shape), tuple(batch) + (L, S))
        except ValueError:
            raise RuntimeError(f"{fname}: attn_mask of shape {shape_str(m.shape)} cannot be broadcast to the "
                               f"attention weights' shape {shape_str(tuple(batch) + (L, S))} (query "
                               f"{shape_str(q.shape)}, key {shape_str(k.shape)})") from None
        mask = m
    if is_causal:
        if mask is not None:   # torch's documented rule (its no-grad fast path happens to combine them)
            raise RuntimeError(f"{fname}: Explicit attn_mask should not be set when is_causal=True (attn_mask "
                               f"{shape_str(mask.shape)})")
    sc = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return q, k, v, sc, mask, bool(is_causal)


def _bool_mask_as_float(mask, dtype):
    """A bool mask (True takes part) as the additive 0 / -inf mask: the same scores, and a
    tangent that stays finite in forward mode (masked_fill and where give the filled -inf
    entries the tangent -inf * 0 = NaN, which softmax's jvp spreads over the row)."""
    import dlmath as dm
    return dm.from_numpy(np.where(mask.detach().numpy(), 0.0, -np.inf).astype(dtype))


def _attention_composed(q, k, v, scale, mask, dropout_p):
    """softmax(q k^T scale + mask) v, rows with no allowed key set to 0 (output and gradient)."""
    import dlmath as dm
    s = dm.matmul(q, k.transpose(-2, -1)) * scale
    if mask is not None:
        s = s + (_bool_mask_as_float(mask, s.dtype) if mask.dtype == dm.bool else mask)
    # a row with no finite score (every key masked): softmax would be 0/0; torch 2.13 gives 0.
    # The "double where": the row is replaced by zeros before softmax (no NaN in the graph,
    # so no NaN gradient) and its weights by 0 after it.
    dead = ~(s.detach() > float("-inf")).any(-1, keepdim=True)
    if dead.any():
        s = dm.where(dead, 0.0, s)
        p = dm.where(dead, 0.0, s.softmax(-1))
    else:
        p = s.softmax(-1)
    if dropout_p > 0.0:
        p = dropout(p, dropout_p)
    return dm.matmul(p, v)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(Q K^T / sqrt(E) + mask) V: each query position takes an average of the values,
    weighted by how well its query matches each key.

    The 1/sqrt(E) keeps the scores at unit variance when q and k have unit-variance
    entries (a dot product of E such terms has variance E): without it softmax saturates
    to one-hot rows as E grows, and its gradients vanish. ``attn_mask``: bool (True =
    the key takes part) or float (added to the scores), broadcast to (..., L, S);
    ``is_causal``: position i sees keys j <= i (top-left aligned; not with attn_mask);
    ``dropout_p`` drops attention weights (always applied when > 0, as torch);
    ``enable_gqa``: key/value heads (dim -3) shared by groups of query heads. A query
    row with every key masked gives 0 and passes 0 gradient (torch 2.13).
    """
    q, k, v, sc, mask, causal = _attention_args(query, key, value, attn_mask, dropout_p, is_causal, scale,
                                                enable_gqa)
    if _FUSED_ATTENTION and dropout_p == 0.0:
        return _fused.AttentionFunction.apply(q, k, v, mask, sc, causal)
    if causal:
        mask = _fused._causal_bool(q.shape[-2], k.shape[-2])
    return _attention_composed(q, k, v, sc, mask, dropout_p)
