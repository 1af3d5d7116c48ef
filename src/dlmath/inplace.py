"""In-place operations (``w -= lr * w.grad``, ``x[idx] = v``, ``add_``, ...).

Under ``no_grad`` (every optimiser step) they write straight into the array.
When recording, the tensor is *rebased*: the op is recorded out of place on an
alias that keeps the old graph position, the result is copied into the
tensor's memory and the tensor takes the new node as its ``grad_fn``. A write
through a view is recorded on the view's base (``_record_view``). Every
in-place write bumps the version counter shared with views, so a backward
that needs the overwritten values raises instead of using wrong numbers.
"""
from __future__ import annotations

import math

import numpy as np

from . import _dtype
from ._grad_mode import state as _grad_state
from .autograd import _flags, views
from .autograd.node import apply, make_tensor, restamp
# (the ops are a layer below: imported once here, not inside each in-place call)
from .ops import elementwise as ew
from .ops._pool import take as _take
from .ops._util import cast, scalar_value, to_tensor, wrapped_int
from .ops.combine import addcdiv, addcmul, lerp
from .ops.declare import method
from .ops.indexing import IndexPut, Overwrite, _direct_setitem
from .ops.shape import expand
from ._random import rng
from .tensor import Tensor


def _check_writeable(x, opname):
    if not x._data.flags.writeable:
        if x._base is not None:
            raise RuntimeError(f"{opname}: unsupported operation: more than one element of the written-to "
                               "tensor refers to a single memory location (an expanded view). Please clone() "
                               "the tensor before performing the operation.")
        raise RuntimeError(f"{opname}: the tensor's memory is read-only (a read-only NumPy array given to "
                           "from_numpy or as_tensor); clone() it before writing in place.")


def _check_leaf(x, opname):
    base = x._base
    if base is None:
        if x.requires_grad and x.grad_fn is None:
            raise RuntimeError(f"{opname}: a leaf Variable that requires grad is being used in an in-place "
                               "operation. Wrap parameter updates in `with dm.no_grad():`.")
    elif base.requires_grad and base.grad_fn is None:
        raise RuntimeError(f"{opname}: a view of a leaf Variable that requires grad is being used in an in-place "
                           "operation. Wrap parameter updates in `with dm.no_grad():`.")


def _check_untracked_view(x, opname):
    """A write that records nothing, through a view of a tensor whose graph would miss it."""
    base = x._base
    if base is not None and base.requires_grad and _grad_state.enabled:
        _check_leaf(x, opname)
        raise RuntimeError(f"{opname}: this view of a tensor that requires grad was made in no_grad mode (or "
                           "before its base joined the graph) and is being modified in place with grad mode "
                           "enabled; make the view with grad mode on, or write under dm.no_grad().")


def _record(x, compute, opname):
    """The recorded in-place op: ``compute(old value of x)`` gives the new value as a
    recorded tensor; x takes it over (for a view: through its base, see ``_record_view``)."""
    _check_leaf(x, opname)
    if x._base is None:
        return rebase(x, compute(_alias(x)), opname)
    return _record_view(x, compute, opname)


def _record_view(v, compute, opname):
    """In place on a view ``v`` of ``base`` (torch's CopySlices): the new value of v is
    computed from its old one, then written into base as ``base[where v is] = new``,
    recorded like any index assignment, so base's history includes the write; v's
    own history is then regenerated as a view of the new base."""
    if v._data.size:
        _check_writeable(v, opname)
    if views.is_stale(v):
        views.refresh(v)
    new = compute(_alias(v))
    if new._data.dtype != v._data.dtype:
        if not np.can_cast(new._data.dtype, v._data.dtype, "same_kind"):
            raise RuntimeError(f"{opname}: result type {_dtype.dtype_name(new._data.dtype)} can't be cast to the "
                               f"desired output type {_dtype.dtype_name(v._data.dtype)}")
        new = cast(new, v._data.dtype)
    if tuple(new.shape) != tuple(v.shape):
        try:
            new = expand(new, tuple(v.shape))
        except RuntimeError:
            raise RuntimeError(f"{opname}: output with shape {tuple(v.shape)} doesn't match the broadcast shape "
                               f"{tuple(new.shape)}") from None
    base = v._base
    if not v._data.size and not base._data.ndim:
        return v  # nothing written (the checks above still ran)
    index = views.view_index(base._data, v._data)
    inplace_apply(base, IndexPut(index), new, direct=_direct_setitem(index))
    views.refresh(v)
    return v


def _alias(x):
    """The tensor's value before the write, at its old place in the graph.

    A copy, so a backward formula that needs the old value (clamp_'s mask,
    mul_'s other factor) still has it after the write, as in PyTorch.
    """
    a = make_tensor(x._data.copy(), x.requires_grad, x.grad_fn)
    a._out_idx = x._out_idx
    a._tangent = x._tangent
    return a


def _records(x, others):
    if not _grad_state.enabled:
        return False
    if x._base is not None and views.is_stale(x):
        views.refresh(x)  # a view whose base has since gained a history takes part in it
    return x.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others)


def _dual(x, others):
    """Forward mode is on and x or an operand carries a tangent: the op goes out of place
    (``fn(_alias(x), ...)``) so that the tangent propagates, then is written back."""
    return _flags.forward_levels > 0 and (
        x._tangent is not None or any(isinstance(o, Tensor) and o._tangent is not None for o in others))


def rebase(x, result, opname):
    """Make ``x`` hold ``result`` in place, taking over its graph position."""
    _check_writeable(x, opname)
    out = result._data
    if out.dtype != x._data.dtype and not np.can_cast(out.dtype, x._data.dtype, "same_kind"):
        raise RuntimeError(f"{opname}: result type {_dtype.dtype_name(out.dtype)} can't be cast to the desired "
                           f"output type {_dtype.dtype_name(x._data.dtype)}")
    try:
        np.copyto(x._data, np.broadcast_to(out, x._data.shape), casting="unsafe")
    except ValueError:
        raise RuntimeError(f"{opname}: output with shape {tuple(x.shape)} doesn't match the broadcast shape "
                           f"{tuple(out.shape)}") from None
    x._vc[0] += 1
    if result._tangent is not None or x._tangent is not None:
        x._tangent = result._tangent
    if result.grad_fn is not None and out.shape == x._data.shape:
        old = x.grad_fn
        x.grad_fn = result.grad_fn
        if old is not None and old.retained:
            _move_retain_grad(x, old, result.grad_fn)
        if result.grad_fn.n_out > 1:
            # else the index is ignored by the new node and still right for the old one,
            # which nodes recorded before this write keep as their edge
            x._out_idx = result._out_idx
        x._requires_grad = True
        # the node's output array must be the tensor's memory as the version counter sees it
        restamp(result.grad_fn, x._vc)
    return x


def _move_retain_grad(x, old, new):
    """``x.retain_grad()`` keeps the gradient of x's current value, as in torch: after a
    write it follows x to its new node."""
    kept = tuple(r for r in old.retained if r() is not x)
    if len(kept) != len(old.retained):
        old.retained = kept or None
        x.retain_grad()


def inplace_binary(x, fn, other, opname):
    """``x <op>= other`` for a functional op ``fn(a, b)``."""
    if _records(x, (other,)):
        return _record(x, lambda old: fn(old, other), opname)
    if _dual(x, (other,)):
        return rebase(x, fn(_alias(x), other), opname)
    # fast path (optimiser updates): compute without recording, write in place
    if x._base is not None:
        _check_untracked_view(x, opname)
    ufunc = _UFUNCS.get(fn)
    if ufunc is not None:
        return _ufunc_inplace(x, ufunc, other, opname)
    prev = _grad_state.enabled
    _grad_state.enabled = False
    try:
        result = fn(x, other)
    finally:
        _grad_state.enabled = prev
    return rebase(x, result, opname)


def add_scaled(x, other, alpha, opname):
    """``x.add_(other, alpha=a)`` (``sub_`` passes -a): x += a * other, an optimiser's step.

    Under no_grad, on equal-shaped float arrays, one BLAS axpy pass does it, with no
    temporary for ``a * other``; otherwise it is ``x += a * other`` as written."""
    if alpha == 1:
        return inplace_binary(x, ew.add, other, opname)
    if _records(x, (other,)) or _dual(x, (other,)) or not isinstance(other, Tensor):
        return inplace_binary(x, lambda a, b: ew.add(a, b, alpha=alpha), other, opname)
    data, od = x._data, other._data
    axpy = _AXPY.get(data.dtype.char)
    if (axpy is not None and od.dtype == data.dtype and od.shape == data.shape and data.size
            and data.flags.c_contiguous and od.flags.c_contiguous and data.flags.writeable):
        if x._base is not None:
            _check_untracked_view(x, opname)
        axpy_into(axpy, data, od, alpha)
        x._vc[0] += 1
        return x
    return inplace_binary(x, lambda a, b: ew.add(a, b, alpha=alpha), other, opname)


def axpy_into(axpy, data, other, alpha):
    """data += alpha * other for two C-contiguous arrays of one float dtype, by BLAS axpy on
    their 1-D views, so BLAS writes into data itself. f2py hands BLAS a copy when the memory is
    unaligned (``from_numpy`` of an offset byte view): the result is then written back, not lost."""
    flat = data.reshape(-1)
    result = axpy(other.reshape(-1), flat, a=alpha)
    if result is not flat:
        flat[...] = result


def _axpy_table():
    from scipy.linalg import blas
    return {"f": blas.saxpy, "d": blas.daxpy}


_AXPY = {}


def _ufunc_inplace(x, ufunc, other, opname):
    """``ufunc(x, other, out=x)``: no temporary, one pass (``w -= lr * g`` on big weights)."""
    data = x._data
    if isinstance(other, Tensor):
        od = other._data
    else:
        od = scalar_value(other)
        if od is None:
            if not isinstance(other, np.ndarray):
                raise TypeError(f"{opname}: unsupported operand type {type(other).__name__}")
            od = other
        elif od.__class__ is int and data.dtype.kind in "iu":
            od = wrapped_int(od, data.dtype, opname)   # int8 *= 200 wraps 200, as torch
    _check_writeable(x, opname)
    if ufunc is np.true_divide and data.dtype.kind not in "fc":
        raise RuntimeError(f"{opname}: result type Float can't be cast to the desired output type "
                           f"{_dtype.dtype_name(data.dtype)}")
    try:
        ufunc(data, od, out=data, casting="same_kind")
    except ValueError:
        raise RuntimeError(f"{opname}: output with shape {tuple(data.shape)} doesn't match the broadcast "
                           f"shape of {tuple(data.shape)} and {tuple(np.shape(od))}") from None
    except TypeError:
        raise RuntimeError(f"{opname}: result type {_dtype.dtype_name(np.result_type(data, od))} can't be "
                           f"cast to the desired output type {_dtype.dtype_name(data.dtype)}") from None
    x._vc[0] += 1
    return x


def inplace_unary(x, fn, opname):
    if _records(x, ()):
        return _record(x, fn, opname)
    if _dual(x, ()):
        return rebase(x, fn(_alias(x)), opname)
    if x._base is not None:
        _check_untracked_view(x, opname)
    prev = _grad_state.enabled
    _grad_state.enabled = False
    try:
        result = fn(x)
    finally:
        _grad_state.enabled = prev
    return rebase(x, result, opname)


def inplace_apply(x, op, *others, direct):
    """An Op applied in place (index assignment); ``direct(data, *arrays)`` is the no-grad path."""
    if _records(x, others):
        return _record(x, lambda old: apply(op, old, *others), "index assignment")
    if _dual(x, others):
        return rebase(x, apply(op, _alias(x), *others), "index assignment")
    if x._base is not None:
        _check_untracked_view(x, "index assignment")
    _check_writeable(x, "index assignment")
    direct(x._data, *[o._data if isinstance(o, Tensor) else o for o in others])
    x._vc[0] += 1
    return x


def _ufunc_table():
    return {ew.add: np.add, ew.sub: np.subtract, ew.mul: np.multiply, ew.div: np.true_divide}


_UFUNCS = {}


@method("zero_")
def zero_(x):
    return fill_(x, 0)


@method("fill_")
def fill_(x, value):
    """Every element set to ``value`` (a number, or a 0-d tensor that then gets the gradient)."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
        return copy_(x, value, opname="fill_")
    # a number that does not fit x's dtype raises (300 into int8), as torch; -1 wraps into uint8
    _dtype.check_scalar(value, x._data.dtype, "fill_", wide=True)
    value = _dtype.scalar_array(value, x._data.dtype)
    if _records(x, ()):
        return copy_(x, make_tensor(value), opname="fill_")
    if x._base is not None:
        _check_untracked_view(x, "fill_")
    _check_writeable(x, "fill_")
    x._data[...] = value
    x._vc[0] += 1
    x._tangent = None   # a constant: zero tangent
    return x


@method("copy_")
def copy_(x, src, opname="copy_"):
    """x's elements replaced by ``src`` broadcast to x's shape (recorded as Overwrite)."""
    if not isinstance(src, (Tensor, np.ndarray, list, tuple)):
        src = make_tensor(np.asarray(src, dtype=x._data.dtype))  # a number takes x's dtype exactly
    src = to_tensor(src, opname)
    try:
        np.broadcast_shapes(src._data.shape, x._data.shape) == x._data.shape or _raise()
    except ValueError:
        raise RuntimeError(f"{opname}: the source of shape {tuple(src.shape)} cannot be broadcast to "
                           f"{tuple(x.shape)}") from None
    recording = _records(x, (src,))
    if recording or _dual(x, (src,)):
        def copied(old):
            return apply(Overwrite(), old, cast(src, x._data.dtype))
        if recording:
            return _record(x, copied, opname)
        return rebase(x, copied(_alias(x)), opname)
    if x._base is not None:
        _check_untracked_view(x, opname)
    _check_writeable(x, opname)
    np.copyto(x._data, src._data, casting="unsafe")
    x._vc[0] += 1
    return x


def _raise():
    raise ValueError


def inplace_combine(x, opname, fn, others, update):
    """``x <- fn(x, *others)`` in place, for the optimisers' combinations (addcmul_, addcdiv_, lerp_).

    Recorded, or carrying tangents, it is ``fn`` out of place followed by the write, as every
    in-place op. Under no_grad (an optimiser step), when x is a float tensor and every tensor
    operand has its dtype and broadcasts to its shape, ``update(data, *operands)`` writes the
    result into x's memory with one temporary; anything else is computed out of place and
    written back with the usual dtype and shape checks.
    """
    if _records(x, others) or _dual(x, others):
        return inplace_unary(x, lambda old: fn(old, *others), opname)
    if x._base is not None:
        _check_untracked_view(x, opname)
    data = x._data
    tensors = [o._data for o in others if isinstance(o, Tensor)]
    if (data.dtype.kind == "f" and all(t.dtype == data.dtype for t in tensors)
            and _fits(data.shape, [t.shape for t in tensors])):
        _check_writeable(x, opname)
        update(data, *[o._data if isinstance(o, Tensor) else o for o in others])
        x._vc[0] += 1
        return x
    prev = _grad_state.enabled
    _grad_state.enabled = False
    try:
        result = fn(x, *others)
    finally:
        _grad_state.enabled = prev
    return rebase(x, result, opname)


def _fits(shape, shapes):
    if all(s == shape for s in shapes):   # an optimiser's case: every state tensor is the parameter's shape
        return True
    try:
        return np.broadcast_shapes(shape, *shapes) == shape
    except ValueError:
        return False


def _addcmul_update(data, t1, t2, value):
    tmp = np.multiply(t1, t2)
    if value != 1:
        tmp *= value
    data += tmp


def _addcdiv_update(data, t1, t2, value):
    tmp = np.divide(t1, t2)
    if value != 1:
        tmp *= value
    data += tmp


def _lerp_update(data, end, weight):
    tmp = np.subtract(end, data)
    tmp *= weight
    data += tmp


@method("addcmul_")
def addcmul_(x, tensor1, tensor2, *, value=1):
    """x += value * tensor1 * tensor2, in place (Adam's second moment)."""
    return inplace_combine(x, "addcmul_", lambda a, t1, t2, v: addcmul(a, t1, t2, value=v),
                           (tensor1, tensor2, value), _addcmul_update)


@method("addcdiv_")
def addcdiv_(x, tensor1, tensor2, *, value=1):
    """x += value * tensor1 / tensor2, in place (Adam's step)."""
    return inplace_combine(x, "addcdiv_", lambda a, t1, t2, v: addcdiv(a, t1, t2, value=v),
                           (tensor1, tensor2, value), _addcdiv_update)


@method("lerp_")
def lerp_(x, end, weight):
    """x += weight * (end - x), in place (an exponential moving average)."""
    return inplace_combine(x, "lerp_", lerp, (end, weight), _lerp_update)


@method("add_")
def add_(x, other, *, alpha=1):
    """x += alpha * other, in place (one BLAS axpy under no_grad: an SGD step)."""
    return add_scaled(x, other, alpha, "add_")


@method("sub_")
def sub_(x, other, *, alpha=1):
    """x -= alpha * other, in place."""
    return add_scaled(x, other, -alpha, "sub_")


@method("uniform_")
def uniform_(x, a=0.0, b=1.0, *, generator=None):
    """Fill x with samples of U(a, b). Recorded as an overwrite by a constant when grad is on
    (the old value's history then gets a zero gradient), as torch."""
    if x._data.dtype.kind not in "fc":
        raise NotImplementedError(f"uniform_: not implemented for {_dtype.dtype_name(x._data.dtype)} tensors")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}")
    return copy_(x, make_tensor(rng(generator).uniform(a, b, x._data.shape)), opname="uniform_")


@method("normal_")
def normal_(x, mean=0.0, std=1.0, *, generator=None):
    """Fill x with samples of N(mean, std^2), recorded as ``uniform_`` is."""
    if x._data.dtype.kind not in "fc":
        raise NotImplementedError(f"normal_: not implemented for {_dtype.dtype_name(x._data.dtype)} tensors")
    if std < 0:
        raise RuntimeError(f"normal_ expects std >= 0.0, but found std {std}")
    return copy_(x, make_tensor(rng(generator).normal(mean, std, x._data.shape)), opname="normal_")


# --------------------------------------------------------------------------- fused Adam ----
def _fused_adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, *, lr, beta1, beta2,
                 weight_decay, eps, amsgrad, maximize, grad_scale=None, found_inf=None):
    """torch._fused_adam_: Adam's update of every parameter in the lists, in place, in one call.

    ``state_steps`` hold each parameter's step count, already incremented by the caller (as
    torch's Adam does before calling it). The arithmetic is the single-tensor Adam's, op for op
    (``lerp_``, ``mul_``, ``addcmul_``, ``sqrt``, ``add_``, ``addcdiv_`` as ``optim.Adam`` wrote
    them), so the results are the same to the bit; fused because those are 8 in-place ops per
    parameter whose dispatch and checks cost more than their passes on a transformer's
    parameters (W9: 17 of them, ~200k numbers). A parameter not on the fast path (a view, a
    tensor with tangents, a mixed dtype or shape, or anything recorded) takes the composed ops."""
    _adam_lists(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, lr, beta1, beta2,
                weight_decay, eps, amsgrad, maximize, grad_scale, found_inf, False)


def _fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, *, lr, beta1, beta2,
                  weight_decay, eps, amsgrad, maximize, grad_scale=None, found_inf=None):
    """torch._fused_adamw_: ``_fused_adam_`` with decoupled weight decay (p *= 1 - lr * wd first)."""
    _adam_lists(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, lr, beta1, beta2,
                weight_decay, eps, amsgrad, maximize, grad_scale, found_inf, True)


def _adam_lists(params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps, lr, beta1, beta2, weight_decay, eps,
                amsgrad, maximize, grad_scale, found_inf, decoupled):
    if grad_scale is not None or found_inf is not None:
        raise NotImplementedError("_fused_adam_: grad_scale and found_inf (AMP gradient scaling) are not "
                                  "supported")
    n = len(params)
    if not amsgrad and len(max_sqs):
        raise RuntimeError("_fused_adam_: expected max_exp_avg_sqs to be empty without amsgrad (as torch)")
    if not (len(grads) == len(exp_avgs) == len(exp_avg_sqs) == len(steps) == n) or (
            amsgrad and len(max_sqs) != n):
        raise RuntimeError("_fused_adam_: the tensor lists must have the same length")
    # AdamW's decay factor from lr as given (a tensor lr keeps its dtype there, as in torch)
    decay = 1 - lr * weight_decay if decoupled and weight_decay != 0 else None
    if isinstance(lr, Tensor):
        lr = lr.item()
    for i in range(n):
        p, g, m, v, st = params[i], grads[i], exp_avgs[i], exp_avg_sqs[i], steps[i]
        vmax = max_sqs[i] if amsgrad else None
        step = st.item()
        bc2_sqrt = math.sqrt(1 - beta2 ** step)
        step_size = lr / (1 - beta1 ** step)
        if not _adam_fast(p, g, m, v, vmax, step_size, bc2_sqrt, decay, beta1, beta2, weight_decay, eps,
                          maximize):
            _adam_composed(p, g, m, v, vmax, step_size, bc2_sqrt, decay, beta1, beta2, weight_decay, eps,
                           maximize)


def _adam_composed(p, grad, m, v, vmax, step_size, bc2_sqrt, decay, beta1, beta2, wd, eps, maximize):
    """The reference: the single-tensor Adam's in-place ops (``decay``: AdamW's factor, or None)."""
    if maximize:
        grad = -grad
    if decay is not None:
        p.mul_(decay)
    elif wd != 0:
        grad = grad.add(p, alpha=wd)
    m.lerp_(grad, 1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    if vmax is not None:
        vmax.copy_(vmax.maximum(v))
        denom = vmax.sqrt()
    else:
        denom = v.sqrt()
    denom.add_(eps * bc2_sqrt)
    p.addcdiv_(m, denom, value=-step_size * bc2_sqrt)


def _plain(t, dtype, shape):
    """A tensor the fast path may write or read as a bare array: no view, no tangent, no graph."""
    d = t._data
    return (t.__class__ is Tensor or isinstance(t, Tensor)) and t._base is None and t._tangent is None and \
        d.dtype is dtype and d.shape == shape and d.flags.c_contiguous


def _adam_fast(p, g, m, v, vmax, step_size, bc2_sqrt, decay, beta1, beta2, wd, eps, maximize):
    pd = p._data
    dt, shape = pd.dtype, pd.shape
    if dt.kind != "f" or not isinstance(p, Tensor) or isinstance(decay, Tensor) or (_grad_state.enabled and (
            p._requires_grad or g._requires_grad or m._requires_grad or v._requires_grad)):
        return False
    if not (_plain(p, dt, shape) and _plain(g, dt, shape) and _plain(m, dt, shape) and _plain(v, dt, shape)
            and (vmax is None or _plain(vmax, dt, shape))):
        return False
    md, vd, gd = m._data, v._data, g._data
    for t in (p, m, v) if vmax is None else (p, m, v, vmax):
        _check_writeable(t, "_fused_adam_")
    if maximize:
        gd = np.negative(gd)
    if decay is not None:
        pd *= decay
        p._vc[0] += 1
    elif wd != 0:
        gd = gd + pd * wd   # (grad.add(p, alpha=wd): a new array, p.grad stays as it was)
    tmp = _take(shape, dt)
    # m.lerp_(g, 1 - beta1): m += (g - m) * w  (_lerp_update's passes)
    np.subtract(gd, md, out=tmp)
    tmp *= 1 - beta1
    md += tmp
    m._vc[0] += 1
    # v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    vd *= beta2
    np.multiply(gd, gd, out=tmp)
    tmp *= 1 - beta2
    vd += tmp
    v._vc[0] += 2
    if vmax is not None:
        np.maximum(vmax._data, vd, out=vmax._data)
        vmax._vc[0] += 1
        np.sqrt(vmax._data, out=tmp)
    else:
        np.sqrt(vd, out=tmp)
    tmp += eps * bc2_sqrt
    # p.addcdiv_(m, denom, value=-step_size * bc2_sqrt): p += (m / denom) * value
    np.divide(md, tmp, out=tmp)
    tmp *= -step_size * bc2_sqrt
    pd += tmp
    p._vc[0] += 1
    return True
