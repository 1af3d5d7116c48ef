"""Losses of torch.nn.functional, in their numerically stable forms.

Cross-entropy is -log_softmax(z)[y] = logsumexp(z) - z_y: never softmax then
log, so a logit of 1e4 or a probability that underflows gives a finite
loss, and the gradient with respect to the logits is (softmax(z) - y) / N. BCE
with logits is softplus(z) - z y = max(z, 0) - z y + log1p(exp(-|z|)),
whose gradient is sigmoid(z) - y. Both are compositions of differentiable
primitives, so second derivatives (Hessians of a loss) come for free; the
two fused primitives (softplus, and BCE on probabilities) are in
:mod:`dlmath.ops.losses`, with the reason for each.

Reductions, weights, ``ignore_index``, label smoothing, shapes, dtypes and
error types follow PyTorch. Where dlmath is deliberately better (documented
per function and in docs/differences.md): entries that are ignored, or
masked with -inf where the target puts no mass, get 0 loss and a zero
gradient instead of NaN; a logit of +-inf in BCE with logits gets the limit
of the loss (0 or +inf) and the finite gradient sigmoid(z) - t.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._dtype import scalar_name
from ..creation import as_tensor
from ..ops import elementwise as _ew, reduction as _red
from ..ops._util import cast, quiet, result_dtype, shape_str, to_tensor
from ..ops.indexing import gather as _gather
from ..tensor import Tensor
from ..ops.losses import binary_cross_entropy_probs, softmax_cross_entropy, softplus


def require_float(x: Tensor, fname: str) -> Tensor:
    """PyTorch's losses and activations are not defined for integer tensors (NotImplementedError)."""
    if x.dtype.kind not in "fc":
        raise NotImplementedError(f"{fname}: not implemented for '{scalar_name(x.dtype)}' input of shape "
                                  f"{shape_str(x.shape)}; convert it with .float()")
    return x


# --- reductions ---------------------------------------------------------------
def _legacy(size_average, reduce, reduction, stacklevel=4):
    """The deprecated size_average / reduce flags, mapped to a reduction as in PyTorch."""
    if size_average is None and reduce is None:
        if reduction == "elementwise_mean":
            warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
                          stacklevel=stacklevel)
            return "mean"
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else ("sum" if reduce else "none")
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
                  stacklevel=stacklevel)
    return ret


def _check_reduction(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduction(size_average, reduce, reduction):
    return _check_reduction(_legacy(size_average, reduce, reduction, stacklevel=5))


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    """'none' | 'sum' | 'mean' (the mean of no elements is NaN, as in PyTorch)."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if loss.numel() == 0:
        return loss.sum() / 0.0
    return loss.mean()


# --- class-index targets: shared by cross_entropy and nll_loss -----------------------
class _Targets:
    """Validated class indices: ``safe`` (ignored ones replaced by 0) and the ``ignored`` mask (or None)."""
    __slots__ = ("shape", "safe", "ignored", "count", "class_dim", "n_classes")


def _class_targets(fname, x, target, ignore_index):
    t = to_tensor(target, fname)
    ta = t.detach().numpy()
    if ta.dtype not in (np.int64, np.uint8):
        raise RuntimeError(f"{fname}: expected target dtype to be Long or Byte, but got {scalar_name(ta.dtype)} "
                           f"(input {shape_str(x.shape)}, target {shape_str(t.shape)})")
    if x.ndim < 1:
        raise ValueError(f"{fname}: Expected 1 or more dimensions (got 0)")
    if x.ndim == 1:
        if ta.ndim > 1:
            raise RuntimeError(f"{fname}: 0D or 1D target tensor expected, multi-target not supported "
                               f"(input {shape_str(x.shape)}, target {shape_str(t.shape)})")
        if ta.ndim == 1 and ta.shape[0] != 1:
            raise ValueError(f"{fname}: For 1D input, 1D target must have size 1, but got target size: "
                             f"{ta.shape[0]}")
        ta = ta.reshape(())
    else:
        n = ta.shape[0] if ta.ndim else 0
        if x.shape[0] != n:
            raise ValueError(f"{fname}: Expected input batch_size ({x.shape[0]}) to match target batch_size "
                             f"({n}) (input {shape_str(x.shape)}, target {shape_str(t.shape)}).")
        if x.ndim == 2 and ta.ndim != 1:
            raise RuntimeError(f"{fname}: 0D or 1D target tensor expected, multi-target not supported "
                               f"(input {shape_str(x.shape)}, target {shape_str(t.shape)})")
        if x.ndim > 2 and tuple(ta.shape[1:]) != tuple(x.shape[2:]):
            want = [x.shape[0], *x.shape[2:]]
            raise RuntimeError(f"{fname}: Expected target size {want}, got {list(ta.shape)} "
                               f"(input {shape_str(x.shape)})")
    out = _Targets()
    out.class_dim = 0 if x.ndim == 1 else 1
    out.n_classes = c = x.shape[out.class_dim]
    out.shape = ta.shape
    if ta.size:
        # the targets' range answers both checks at once: an ignore_index outside it (the default
        # -100 always) ignores nothing, so no mask is built; inside [0, c) every index is valid
        lo, hi = int(ta.min()), int(ta.max())
        if (ignore_index < lo or ignore_index > hi) and lo >= 0 and hi < c:
            out.ignored = None
            out.safe = ta.astype(np.int64, copy=False)
            out.count = int(ta.size)
            return out
    ignored = ta == ignore_index
    if ignored.any():
        out.ignored = ignored
        out.safe = np.where(ignored, 0, ta).astype(np.int64)
        out.count = int(ta.size - ignored.sum())
    else:
        out.ignored = None
        out.safe = ta.astype(np.int64, copy=False)
        out.count = int(ta.size)
    if out.safe.size and (out.safe.min() < 0 or out.safe.max() >= c):
        bad = (out.safe < 0) | (out.safe >= c)
        v = int(out.safe[bad].flat[0])
        raise IndexError(f"{fname}: Target {v} is out of bounds. Class indices must be in [0, {c}) "
                         f"(input {shape_str(x.shape)}, target {shape_str(t.shape)}, "
                         f"ignore_index={ignore_index}).")
    return out


def _class_weight(fname, weight, x, c):
    """The per-class weight as a constant array (PyTorch does not differentiate it)."""
    if weight is None:
        return None
    w = to_tensor(weight, fname)
    if w.ndim != 1 or w.shape[0] != c:
        raise RuntimeError(f"{fname}: weight tensor should be defined either for all {c} classes or no classes "
                           f"but got weight tensor of shape: {list(w.shape)}")
    if w.dtype != x.dtype:
        raise RuntimeError(f"{fname}: expected scalar type {scalar_name(x.dtype)} but found {scalar_name(w.dtype)} "
                           "(weight must have the input's dtype)")
    if w.requires_grad:
        raise RuntimeError(f"The function '{fname}' is not differentiable with respect to argument 'weight'. "
                           "This input cannot have requires_grad True.")
    return w.detach().numpy()


def _nll(nll, tg, w, reduction):
    """Weight, mask and reduce the per-entry -log p[target] as PyTorch (the weighted mean)."""
    if tg.ignored is not None:
        # ignored entries are not read (their row may be NaN: a fully masked position)
        nll = _ew.where(as_tensor(tg.ignored), 0.0, nll)
    if w is None:
        if reduction == "none":
            return nll
        if reduction == "sum":
            return nll.sum()
        if tg.ignored is None and tg.count:
            return nll.mean()
        return _divide(nll.sum(), float(tg.count))
    wt = w[tg.safe]
    if tg.ignored is not None:
        wt = np.where(tg.ignored, 0, wt).astype(w.dtype)
    loss = nll * as_tensor(wt)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return _divide(loss.sum(), as_tensor(np.asarray(wt.sum(), dtype=w.dtype)))


def _picked(logp, tg):
    """-logp[target] (target-shaped) by gather: the NLL of given log-probabilities."""
    idx = np.expand_dims(tg.safe, tg.class_dim)
    return -_gather(logp, tg.class_dim, as_tensor(idx)).reshape(tg.shape)


def _divide(total, weight_sum):
    """A weighted mean; with no weight at all (every target ignored) NaN, as PyTorch, with a zero gradient."""
    if float(weight_sum) == 0:
        return total * 0.0 + float("nan")
    return total / weight_sum


def _total_weight(tg, w, dtype):
    if w is None:
        return float(tg.count)
    wt = w[tg.safe]
    if tg.ignored is not None:
        wt = np.where(tg.ignored, 0, wt)
    return as_tensor(np.asarray(wt.sum(), dtype=dtype))


def _broadcast_weight(w, ndim, class_dim):
    shape = [1] * ndim
    shape[class_dim] = w.shape[0]
    return w.reshape(tuple(shape))


# --- cross-entropy and NLL ------------------------------------------------------
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of class indices, given log-probabilities ``input`` (C), (N, C) or (N, C, d1, ...).

    loss_i = -weight[t_i] * input[i, t_i]; 'mean' divides by the sum of the
    weights of the targets that are not ``ignore_index`` (NaN if all are
    ignored, as PyTorch; 'sum' gives 0 then). Ignored entries are not read,
    so a NaN row there (a fully masked position) costs nothing.
    """
    reduction = _reduction(size_average, reduce, reduction)
    x = require_float(to_tensor(input, "nll_loss"), "nll_loss")
    tg = _class_targets("nll_loss", x, target, ignore_index)
    w = _class_weight("nll_loss", weight, x, tg.n_classes)
    return _nll(_picked(x, tg), tg, w, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits ``input`` and class indices or class probabilities ``target``.

    Shapes: input (C), (N, C) or (N, C, d1, ...), classes along dim 1 (dim 0
    for 1-D input); target of indices () / (N) / (N, d1, ...), or of
    probabilities with the input's shape (then ``ignore_index`` must be
    negative). ``weight`` (C) rescales classes; 'mean' over indices divides
    by the total weight of the non-ignored targets, over probabilities by
    N * d1 * ... . ``label_smoothing`` eps mixes the target with the uniform
    distribution: (1 - eps) y + eps / C.

    Computed as -log_softmax(z)[target] (fused: ``SoftmaxCrossEntropy``;
    log_softmax + gather with label smoothing): the gradient with respect to
    the logits is (softmax(z) - y) / N (the "clean gradient" of the fused loss),
    finite for logits of any size and for -inf (masked) logits other than the
    target's.

    Better than PyTorch (documented): rows whose target is ignored get a zero
    gradient even when they are entirely -inf (PyTorch: NaN), and with
    probability targets, classes with target 0 and logit -inf contribute 0
    (PyTorch: 0 * -inf = NaN).
    """
    reduction = _reduction(size_average, reduce, reduction)
    x = require_float(to_tensor(input, "cross_entropy"), "cross_entropy")
    t = to_tensor(target, "cross_entropy")
    if tuple(x.shape) == tuple(t.shape):
        return _cross_entropy_probs(x, t, weight, ignore_index, reduction, label_smoothing)
    if label_smoothing > 1.0:
        raise RuntimeError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    tg = _class_targets("cross_entropy", x, t, ignore_index)
    w = _class_weight("cross_entropy", weight, x, tg.n_classes)
    cd = tg.class_dim
    if tg.ignored is not None:
        rows = np.expand_dims(tg.ignored, cd)
        if not np.isfinite(x.detach().numpy()[np.broadcast_to(rows, x.shape)]).all():
            # an ignored row may be all -inf: zero it so log_softmax's backward stays finite there
            x = _ew.where(as_tensor(rows), 0.0, x)
    if label_smoothing <= 0.0:
        if (reduction == "mean" and w is None and tg.ignored is None and tg.count
                and x.dtype.itemsize >= 4):
            # the default (nothing ignored or weighted): the mean inside the fused node. (float16
            # keeps the composed mean, which accumulates in float32)
            return softmax_cross_entropy(x, tg.safe, cd, mean=True)
        return _nll(softmax_cross_entropy(x, tg.safe, cd), tg, w, reduction)
    logp = _red.log_softmax(x, cd)
    loss = _nll(_picked(logp, tg), tg, w, reduction)
    c = tg.n_classes
    smooth = -(logp * as_tensor(_broadcast_weight(w, x.ndim, cd)) if w is not None else logp).sum(cd)
    if tg.ignored is not None:
        smooth = _ew.where(as_tensor(tg.ignored), 0.0, smooth)
    if reduction == "sum":
        smooth = smooth.sum()
    elif reduction == "mean":
        smooth = _divide(smooth.sum(), _total_weight(tg, w, x.dtype))
    return loss * (1 - label_smoothing) + smooth * (label_smoothing / c)


def _cross_entropy_probs(x, t, weight, ignore_index, reduction, label_smoothing):
    if t.dtype.kind not in "fc":
        raise RuntimeError(f"cross_entropy: Expected floating point type for target with class probabilities, "
                           f"got {scalar_name(t.dtype)} (input and target of shape {shape_str(x.shape)})")
    if ignore_index >= 0:
        raise RuntimeError("cross_entropy: ignore_index is not supported for floating point target")
    if x.ndim == 0:
        raise IndexError("cross_entropy: Dimension specified as 1 but tensor has no dimensions "
                         "(input and target are 0-d; the class dimension is missing)")
    cd = 0 if x.ndim == 1 else 1
    c = x.shape[cd]
    if weight is not None:
        weight = to_tensor(weight, "cross_entropy")
        if weight.ndim != 1 or weight.shape[0] != c:
            raise RuntimeError(f"cross_entropy: weight tensor should be defined either for all {c} classes or no "
                               f"classes but got weight tensor of shape: {list(weight.shape)}")
    if label_smoothing > 0.0:
        if label_smoothing > 1.0:
            raise RuntimeError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0. "
                               f"Got: {label_smoothing}")
        t = t * (1 - label_smoothing) + label_smoothing / c
    logp = _red.log_softmax(x, cd)
    with quiet():
        masked = np.isneginf(logp.detach().numpy()) & (t.detach().numpy() == 0)
    if masked.any():
        # 0 * log 0 = 0: a masked class the target gives no mass costs nothing (the "double where")
        logp = _ew.where(as_tensor(masked), 0.0, logp)
    prod = logp * t
    if weight is not None:
        prod = prod * _broadcast_weight(weight, x.ndim, cd)
    if reduction == "none":
        return -prod.sum(cd)
    total = -prod.sum()
    if reduction == "sum":
        return total
    n = x.numel() // c if c else 0
    return total / float(n)


# --- binary cross-entropy ---------------------------------------------------------
def _elementwise_weight(fname, weight, target, dtype, differentiable=True, what="weight"):
    w = to_tensor(weight, fname)
    try:
        ok = np.broadcast_shapes(w.shape, target.shape) == tuple(target.shape)
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"{fname}: {what} of shape {shape_str(w.shape)} cannot be broadcast to the "
                           f"target shape {shape_str(target.shape)}")
    if not differentiable and w.requires_grad:
        raise RuntimeError(f"The function '{fname}' is not differentiable with respect to argument '{what}'. "
                           "This input cannot have requires_grad True.")
    return cast(w, dtype) if w.dtype != dtype else w


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """BCE of probabilities: -w (t log x + (1 - t) log(1 - x)), logs clamped at -100 as PyTorch.

    ``input`` must lie in [0, 1] and have the target's shape and dtype. Prefer
    ``binary_cross_entropy_with_logits`` on logits: sigmoid then log loses
    everything beyond |z| ~ 17 (float32) that the fused form keeps.
    """
    reduction = _reduction(size_average, reduce, reduction)
    x, t = to_tensor(input, "binary_cross_entropy"), to_tensor(target, "binary_cross_entropy")
    if tuple(t.shape) != tuple(x.shape):
        raise ValueError(f"binary_cross_entropy: Using a target size ({shape_str(t.shape)}) that is different "
                         f"to the input size ({shape_str(x.shape)}) is deprecated. "
                         "Please ensure they have the same size.")
    require_float(x, "binary_cross_entropy")
    if t.dtype != x.dtype:
        raise RuntimeError(f"binary_cross_entropy: Found dtype {scalar_name(t.dtype)} but expected {scalar_name(x.dtype)} "
                           "(target must have the input's dtype)")
    xa, ta = x.detach().numpy(), t.detach().numpy()
    if not np.all((xa >= 0) & (xa <= 1)):
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1")
    if not np.all((ta >= 0) & (ta <= 1)):
        raise RuntimeError("binary_cross_entropy: all elements of target should be between 0 and 1")
    loss = binary_cross_entropy_probs(x, t)
    if weight is not None:
        loss = loss * _elementwise_weight("binary_cross_entropy", weight, t, x.dtype, differentiable=False)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """BCE of logits z: softplus(z) - z t = -[t log sigmoid(z) + (1 - t) log sigmoid(-z)].

    The loss of a binary (or multi-label) classifier that outputs logits.
    softplus(z) = max(z, 0) + log1p(exp(-|z|)) never computes sigmoid then
    log, so the loss is exact for any finite z, and d/dz = sigmoid(z) - t
    exactly (z = 0 included, to every order). ``pos_weight`` p (broadcast
    against the target, e.g. one per class in the last dim) weighs the
    positive term, PyTorch's formula: (1 - t) z + (1 + (p - 1) t) softplus(-z),
    gradient (1 + (p - 1) t) sigmoid(z) - p t. ``weight`` w multiplies each
    entry. Both are constants (PyTorch refuses them with requires_grad).

    Better than PyTorch (documented): an infinite logit gives the limit of
    the loss, not NaN. It is 0 where it agrees with the target (z = +inf,
    t = 1; z = -inf, t = 0), +inf otherwise, and the gradient is still
    w ((1 + (p - 1) t) sigmoid(z) - p t), finite (``_bce_logits_at_infinity``).
    """
    reduction = _reduction(size_average, reduce, reduction)
    fname = "binary_cross_entropy_with_logits"
    z, t = to_tensor(input, fname), to_tensor(target, fname)
    if tuple(t.shape) != tuple(z.shape):
        raise ValueError(f"{fname}: Target size ({shape_str(t.shape)}) must be the same as input size "
                         f"({shape_str(z.shape)})")
    require_float(z, fname)
    if t.dtype.kind not in "fc":
        raise RuntimeError(f"{fname}: result type {scalar_name(z.dtype)} can't be cast to the desired output type "
                           f"{scalar_name(t.dtype)} (target must be floating point)")
    dt = result_dtype((z, t))
    z, t = cast(z, dt), cast(t, dt)
    pw = None if pos_weight is None else _elementwise_weight(fname, pos_weight, t, dt, differentiable=False,
                                                             what="pos_weight")
    w = None if weight is None else _elementwise_weight(fname, weight, t, dt, differentiable=False)
    with quiet():
        finite = bool(np.isfinite(z.detach().numpy()).all())
    if not finite:
        return _reduce(_bce_logits_at_infinity(z, t, pw, w), reduction)
    # the usual case: one softplus (the two-term form below costs a second one, ~1.6x the time)
    if pw is None:
        # (1 - t) z + softplus(-z), torch's arrangement: for t = 1 the loss is softplus(-z) alone, so a
        # confident right answer (z = 30) keeps its tiny loss 9.4e-14 instead of losing it in 30 - 30
        loss = (1 - t) * z + softplus(-z)   # d/dz = (1 - t) - sigmoid(-z) = sigmoid(z) - t
    else:
        loss = (1 - t) * z + ((pw - 1) * t + 1) * softplus(-z)
    if w is not None:
        loss = loss * w
    return _reduce(loss, reduction)


def _bce_logits_at_infinity(z, t, pw, w):
    """BCE with logits when some logit is infinite (or NaN): w [(1 - t) softplus(z) + p t softplus(-z)].

    The same function as above (softplus(z) = z + softplus(-z)), written as
    two non-negative terms, each a coefficient times the softplus of +-z:
    -log sigmoid(-z) = softplus(z) is the cost of the "negative" part of the
    target and -log sigmoid(z) = softplus(-z) that of the positive part. At
    z = +inf, t = 1 the forms above compute inf - inf (softplus(z) - z t) or
    0 * inf ((1 - t) z): NaN, which is PyTorch's answer. Here the term whose
    coefficient is 0 contributes 0, as in the limit (0 * inf = 0, the
    convention of ``dm.special.xlogy``), and the other term's softplus is 0:
    the loss is 0. Where z disagrees with the target the loss is +inf.

    The gradient is w ((1 - t) sigmoid(z) - p t sigmoid(-z)) = w ((1 + (p - 1) t)
    sigmoid(z) - p t): 0 where the logit agrees, finite everywhere, since
    the slope of softplus is finite at +-inf; its derivative, w (1 + (p - 1) t)
    sigmoid'(z), is 0 there. A weight of 0 (w or p t) also makes its term 0
    at any logit. The gradient with respect to the target at such a 0 * inf
    term is taken as 0, the limit rule's own convention.
    """
    c_neg = 1 - t                           # coefficient of softplus(z):  the target says "z is -inf"
    c_pos = t if pw is None else pw * t     # coefficient of softplus(-z): the target says "z is +inf"
    if w is not None:
        c_neg, c_pos = c_neg * w, c_pos * w
    return _times(c_neg, softplus(z)) + _times(c_pos, softplus(-z))


def _times(c, s):
    """c * s with 0 * inf = 0, for a coefficient c and a softplus s >= 0.

    The "double where": s is replaced by 0 where c = 0 and s = inf before
    the product, so neither the value nor a gradient (c's: s; s's: c, which
    reaches z as c * sigmoid) ever multiplies 0 by inf.
    """
    with quiet():
        void = (c.detach().numpy() == 0) & np.isinf(s.detach().numpy())
    if void.any():
        s = _ew.where(as_tensor(void), 0.0, s)
    return c * s


# --- regression losses --------------------------------------------------------------
def _regression(fname, square, input, target, size_average, reduce, reduction, weight):
    x, t = to_tensor(input, fname), to_tensor(target, fname)
    if tuple(t.shape) != tuple(x.shape):
        warnings.warn(f"Using a target size ({shape_str(t.shape)}) that is different to the input size "
                      f"({shape_str(x.shape)}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)
    reduction = _legacy(size_average, reduce, reduction)
    if result_dtype((x, t)).kind not in "fc":
        require_float(x, fname)
    try:
        np.broadcast_shapes(x.shape, t.shape)
    except ValueError:
        raise RuntimeError(f"{fname}: input {shape_str(x.shape)} and target {shape_str(t.shape)} cannot be "
                           "broadcast together") from None
    d = x - t
    err = _ew.square(d) if square else _ew.abs(d)
    if weight is None:
        return _reduce(err, _check_reduction(reduction))
    w = to_tensor(weight, fname)
    if tuple(w.shape) != tuple(x.shape):   # torch compares with the input, not the broadcast loss
        raise ValueError(f"{fname}: Weights and input must have the same size (weight {shape_str(w.shape)}, "
                         f"input {shape_str(x.shape)}).")
    err = err * w
    if reduction == "none":
        return err
    if reduction == "sum":
        return err.sum()
    if reduction == "mean":
        return err.sum() / w.sum()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error (x - y)^2: the Gaussian negative log-likelihood up to constants.

    With ``weight`` (the input's shape), 'mean' is sum(w (x - y)^2) / sum(w).
    """
    return _regression("mse_loss", True, input, target, size_average, reduce, reduction, weight)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error |x - y| (gradient sign(x - y), 0 at ties): the Laplace NLL up to constants."""
    return _regression("l1_loss", False, input, target, size_average, reduce, reduction, weight)


# --- KL divergence -------------------------------------------------------------------
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL(target || model) pointwise, with ``input`` the model's log-probabilities.

    target * (log target - input) (0 where target = 0), or with
    ``log_target=True`` exp(target) * (target - input). 'batchmean' divides
    the sum by the batch size, which is the KL divergence of the rows,
    averaged; 'mean' (the default, as in PyTorch) divides by every element
    and warns. Positions where the target has no mass and ``input`` is -inf
    contribute 0 with a zero gradient (PyTorch: NaN).
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy(size_average, reduce, reduction)
    else:
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                          "'batchmean' divides only by the batch size, and aligns with the KL div math "
                          "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
                          "major release.", stacklevel=2)
        if reduction != "batchmean":
            _check_reduction(_legacy(None, None, reduction))
    x, t = to_tensor(input, "kl_div"), to_tensor(target, "kl_div")
    if x.dtype.kind not in "fc" or t.dtype.kind not in "fc":
        raise RuntimeError("kl_div: Integral inputs not supported.")
    try:
        np.broadcast_shapes(x.shape, t.shape)
    except ValueError:
        raise RuntimeError(f"kl_div: input {shape_str(x.shape)} and target {shape_str(t.shape)} cannot be "
                           "broadcast together") from None
    from .. import special
    batch = x.shape[0] if x.ndim else None
    with quiet():
        if log_target:
            void = np.broadcast_to(np.isneginf(t.detach().numpy()), np.broadcast_shapes(x.shape, t.shape))
        else:
            void = (t.detach().numpy() == 0) & np.isinf(x.detach().numpy())
    if log_target:
        if void.any():
            vt = as_tensor(void)
            t, x = _ew.where(vt, 0.0, t), _ew.where(vt, 0.0, x)
            loss = _ew.where(vt, 0.0, _ew.exp(t) * (t - x))
        else:
            loss = _ew.exp(t) * (t - x)
    else:
        if void.any():
            x = _ew.where(as_tensor(void), 0.0, x)
        loss = special.xlogy(t, t) - t * x
    if reduction == "batchmean":
        s = loss.sum()
        return s if batch is None else s / batch
    return _reduce(loss, reduction)


# --- the losses of the training stack (issue #10): dlmath's public API only -------------------------
def _pair(fname, input, target, warn_shape=True):
    """Two floating Tensors that broadcast (torch warns when the shapes differ)."""
    import dlmath as dm
    for what, t in (("input", input), ("target", target)):
        if not isinstance(t, dm.Tensor):
            raise TypeError(f"{fname}(): argument '{what}' must be Tensor, not {type(t).__name__}")
    if warn_shape and tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({shape_str(target.shape)}) that is different to the input size "
                      f"({shape_str(input.shape)}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)
    try:
        np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
    except ValueError:
        raise RuntimeError(f"{fname}: input {shape_str(input.shape)} and target {shape_str(target.shape)} cannot "
                           "be broadcast together") from None
    if not (input.is_floating_point() or target.is_floating_point()):
        raise NotImplementedError(f"{fname}: not implemented for '{scalar_name(input.dtype)}' input of shape "
                                  f"{shape_str(input.shape)}; convert it with .float()")
    return input, target


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = x - y): quadratic near
    0 (a gradient that shrinks with the error), linear beyond (outliers pull with a bounded
    force). Fast R-CNN's box regression loss; beta = 0 is the L1 loss."""
    import dlmath as dm
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    x, t = _pair("smooth_l1_loss", input, target)
    d = x - t
    a = d.abs()
    if beta == 0:
        return _reduce(a, reduction)
    return _reduce(dm.where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| <= delta, delta (|d| - 0.5 delta) elsewhere: smooth_l1 times delta
    (the robust regression loss of Huber 1964). ``weight`` (of the input's shape exactly,
    as torch: a ValueError otherwise, never a broadcast) multiplies each entry; 'mean'
    then averages over the entries, as torch (not sum(w loss) / sum(w) as mse/l1)."""
    import dlmath as dm
    _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta (got {delta}).")
    x, t = _pair("huber_loss", input, target)
    d = x - t
    a = d.abs()
    loss = dm.where(a <= delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    if weight is not None:
        if not isinstance(weight, dm.Tensor):
            raise TypeError(f"huber_loss(): argument 'weight' must be Tensor, not {type(weight).__name__}")
        if tuple(weight.shape) != tuple(x.shape):   # torch compares with the input, not the loss
            raise ValueError(f"huber_loss: Weights and input must have the same size (weight "
                             f"{shape_str(weight.shape)}, input {shape_str(x.shape)}).")
        loss = loss * weight
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -y (x1 - x2) + margin), y = +-1: x1 should rank above x2 by ``margin`` when
    y = 1 and below it when y = -1 (learning to rank, siamese scoring)."""
    import dlmath as dm
    reduction = _reduction(size_average, reduce, reduction)
    for what, t in (("input1", input1), ("input2", input2), ("target", target)):
        if not isinstance(t, dm.Tensor):
            raise TypeError(f"margin_ranking_loss(): argument '{what}' must be Tensor, not {type(t).__name__}")
    if not (input1.ndim == input2.ndim == target.ndim):
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {list(input1.shape)}, input2: {list(input2.shape)}, "
                           f"target: {list(target.shape)} ")
    try:
        np.broadcast_shapes(tuple(input1.shape), tuple(input2.shape), tuple(target.shape))
    except ValueError:
        raise RuntimeError(f"margin_ranking_loss: input1 {shape_str(input1.shape)}, input2 "
                           f"{shape_str(input2.shape)} and target {shape_str(target.shape)} cannot be broadcast "
                           "together") from None
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) for y = 1, max(0, cos(x1, x2) - margin) for y = -1: pulls pairs
    labelled similar together in angle and pushes dissimilar ones apart (metric learning).

    cos = <x1, x2> / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)), torch's epsilon: a zero
    vector gives cos 0, not 0/0."""
    import dlmath as dm
    reduction = _reduction(size_average, reduce, reduction)
    for what, t in (("input1", input1), ("input2", input2), ("target", target)):
        if not isinstance(t, dm.Tensor):
            raise TypeError(f"cosine_embedding_loss(): argument '{what}' must be Tensor, not {type(t).__name__}")
    if input1.ndim != input2.ndim or tuple(input1.shape) != tuple(input2.shape):
        raise RuntimeError(f"cosine_embedding_loss: input1 {shape_str(input1.shape)} and input2 "
                           f"{shape_str(input2.shape)} must have the same shape")
    if input1.ndim not in (1, 2):
        raise RuntimeError(f"cosine_embedding_loss: 1D target tensor expects 2D input tensors, but found inputs "
                           f"with sizes {list(input1.shape)} and {list(input2.shape)}.")
    if input1.ndim == 2 and target.ndim != 1:
        raise RuntimeError(f"cosine_embedding_loss: 1D target tensor expected, multi-target not supported "
                           f"(target {shape_str(target.shape)})")
    if input1.ndim == 1 and target.ndim != 0:
        raise RuntimeError(f"cosine_embedding_loss: 0D target tensor expects 1D input tensors, but found inputs "
                           f"with sizes {list(input1.shape)} and {list(input2.shape)}.")
    if input1.ndim == 2 and target.shape[0] != input1.shape[0]:
        raise RuntimeError(f"cosine_embedding_loss: target {shape_str(target.shape)} does not match the batch "
                           f"of input1 {shape_str(input1.shape)}")
    eps = 1e-12
    dot = (input1 * input2).sum(-1)
    mag1 = (input1 * input1).sum(-1) + eps
    mag2 = (input2 * input2).sum(-1) + eps
    cos = dot / (mag1 * mag2).sqrt()
    zeros = dm.zeros_like(cos)
    pos = dm.where(target == 1, 1 - cos, zeros)
    neg = dm.where(target == -1, (cos - margin).clamp(min=0), zeros)
    return _reduce(pos + neg, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """Negative log-likelihood of counts y under Poisson(rate): exp(x) - y x when ``input``
    is the log-rate (``log_input``), else x - y log(x + eps); ``full`` adds Stirling's
    y log y - y + 0.5 log(2 pi y) for y > 1 (the log y! term). Count regression."""
    import dlmath as dm
    reduction = _reduction(size_average, reduce, reduction)
    x, t = _pair("poisson_nll_loss", input, target, warn_shape=False)
    if log_input:
        loss = x.exp() - t * x
    else:
        loss = x - t * (x + eps).log()
    if full:
        safe = dm.where(t > 1, t, dm.ones_like(t))
        stirling = safe * safe.log() - safe + 0.5 * (2 * np.pi * safe).log()
        loss = loss + dm.where(t > 1, stirling, dm.zeros_like(stirling))
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Negative log-likelihood of y under N(x, var): 0.5 (log var + (x - y)^2 / var) (+ 0.5
    log 2 pi with ``full``): regression that also learns its own uncertainty.

    ``var`` has the input's shape, or one dim fewer, or one broadcast dim
    (homoscedastic), or is a float. It is clamped at ``eps`` for stability without
    changing its gradient (torch clamps a clone under no_grad).
    """
    import dlmath as dm
    x, t = _pair("gaussian_nll_loss", input, target, warn_shape=False)
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = dm.ones_like(x) * float(var)
    elif not isinstance(var, dm.Tensor):
        raise TypeError(f"gaussian_nll_loss(): argument 'var' must be Tensor or float, not {type(var).__name__}")
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(x.shape):
        if tuple(x.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif x.ndim == var.ndim and sum(b for a, b in zip(x.shape, var.shape) if a != b) == 1:
            pass
        else:
            raise ValueError(f"var is of incorrect size (input {shape_str(x.shape)}, var {shape_str(var.shape)})")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    # the clamp changes the value only: the gradient is var's own (torch clamps under no_grad)
    var = var + (var.clamp(min=eps) - var).detach()
    loss = (var.log() + (x - t) ** 2 / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
