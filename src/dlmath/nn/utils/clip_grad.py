"""Gradient clipping (torch.nn.utils.clip_grad).

Why clip: in a deep or recurrent network the backward pass multiplies one Jacobian per layer
(per time step), so a gradient can grow geometrically and a single step throw the weights far
off. Rescaling all gradients together so their joint norm is at most ``max_norm`` keeps the
step's direction and bounds its length; clipping each value to ``[-c, c]`` is the cruder form.

Everything runs under ``no_grad`` and writes ``p.grad`` in place, as torch: an optimiser step
that follows sees the clipped gradients.
"""
from __future__ import annotations

import functools
import types
import warnings

from ..._grad_mode import no_grad
from ...tensor import Tensor

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _no_grad(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with no_grad():
            return func(*args, **kwargs)
    return wrapper


def _as_list(tensors):
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _norm(t, norm_type):
    import dlmath as dm
    if t.dtype == dm.float16:
        # dm.linalg.vector_norm takes no half dtypes (torch does): norm in float32, result in the dtype
        return dm.linalg.vector_norm(t.float(), norm_type).to(t.dtype)
    return dm.linalg.vector_norm(t, norm_type)


@_no_grad
def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of all ``tensors`` as if concatenated into one vector.

    Computed as the norm of the per-tensor norms (equal for every p, and for inf: the max).
    ``error_if_nonfinite``: a NaN or infinite total raises RuntimeError. ``foreach`` is accepted
    for torch's signature; there is one implementation. A None among ``tensors`` (a ``p.grad``
    passed unfiltered) is a RuntimeError naming its index, as torch's usual error for it (torch
    raises AttributeError instead when the None comes first); any other non-tensor a TypeError.

    >>> import dlmath as dm
    >>> dm.nn.utils.get_total_norm([dm.tensor([3.0]), dm.tensor([4.0])])
    tensor(5.)
    """
    import dlmath as dm
    tensors = _as_list(tensors)
    for i, t in enumerate(tensors):
        if t is None:
            raise RuntimeError(f"get_total_norm: tensors[{i}] is None; pass only the gradients that "
                               "are set (p.grad for p with p.grad is not None)")
        if not isinstance(t, Tensor):
            raise TypeError(f"get_total_norm: tensors[{i}] must be a Tensor, got {type(t).__name__}")
    norm_type = float(norm_type)
    if len(tensors) == 0:
        return dm.tensor(0.0)
    norms = [_norm(t, norm_type) for t in tensors]
    total_norm = _norm(dm.stack(norms), norm_type)
    if error_if_nonfinite and bool(dm.logical_or(total_norm.isnan(), total_norm.isinf())):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
            "anyway, set `error_if_nonfinite=False`")
    return total_norm


@_no_grad
def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every ``p.grad`` in place by min(max_norm / (total_norm + 1e-6), 1).

    The coefficient is clamped at 1 so gradients are only ever shrunk; the 1e-6 keeps a zero
    norm from dividing by zero. ``clip_grad_norm_`` is ``get_total_norm`` followed by this.
    ``total_norm`` must be a 0-d tensor, as ``get_total_norm`` returns (torch's rule: a Python
    number is a TypeError, a tensor of another shape a RuntimeError); with no gradient to clip
    nothing is checked, as torch.
    """
    import dlmath as dm
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    max_norm = float(max_norm)
    if len(grads) == 0:
        return
    if not isinstance(total_norm, Tensor):
        raise TypeError(f"clip_grads_with_norm_: total_norm must be a Tensor (a 0-d one, as "
                        f"get_total_norm returns), got {type(total_norm).__name__} {total_norm!r}")
    if total_norm.dim() != 0:
        raise RuntimeError(f"clip_grads_with_norm_: total_norm must be a 0-d Tensor, got shape "
                           f"{tuple(total_norm.shape)}")
    clip_coef = max_norm / (total_norm + 1e-6)
    clip_coef_clamped = dm.clamp(clip_coef, max=1.0)
    for g in grads:
        g.mul_(clip_coef_clamped)


@_no_grad
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients of ``parameters`` so that their joint ``norm_type``-norm is at most
    ``max_norm``: ``g *= min(max_norm / (total + 1e-6), 1)``, in place.

    Returns the total norm *before* clipping (a 0-d tensor: worth logging, a spike is an
    exploding gradient). ``parameters`` is a tensor or an iterable of them; those without a
    ``.grad`` are skipped. ``norm_type`` may be ``inf`` (the largest |g|).

    >>> import dlmath as dm
    >>> w = dm.zeros(2, requires_grad=True)
    >>> w.grad = dm.tensor([3.0, 4.0])
    >>> dm.nn.utils.clip_grad_norm_([w], max_norm=1.0)
    tensor(5.)
    >>> w.grad
    tensor([0.6000, 0.8000])
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and len(parameters) == 0:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=3)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated, as in torch: use ``clip_grad_norm_``."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


@_no_grad
def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every ``p.grad`` in place to ``[-clip_value, clip_value]``; returns None.

    Unlike norm clipping this changes the gradient's direction, but bounds each coordinate.
    """
    parameters = _as_list(parameters)
    clip_value = float(clip_value)
    for p in parameters:
        if p.grad is not None:
            p.grad.clamp_(min=-clip_value, max=clip_value)
