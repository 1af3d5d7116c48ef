"""``dm._foreach_add_``: torch's multi-tensor in-place add (an optimiser's step, one call per group).

A layer with :mod:`dlmath.inplace`: it writes tensors' memory and bumps their version
counters itself. The fast path is one BLAS axpy per pair of plain tensors (no Python
dispatch, checks or temporaries per parameter: ``add_scaled``'s checks cost ~4 us per
parameter, which SGD paid for every weight and bias every step); anything else takes the
tensor's own ``add_``, so errors, recording, views and forward-mode tangents behave exactly
as that in-place add does.
"""
from __future__ import annotations

from ._grad_mode import state as _grad_state
from .autograd import _flags
from .inplace import _AXPY, _axpy_table, axpy_into
from .tensor import Tensor

__all__ = ["_foreach_add_"]


def _foreach_add_(self, other, *, alpha=1):
    """``self[i].add_(other[i], alpha=alpha)`` for each i (``other`` a list of tensors), or
    ``self[i].add_(other)`` / ``self[i].add_(other[i])`` for a number / a list of numbers, as
    ``torch._foreach_add_``. Returns ``self`` as a list.

    A pair takes the fast path (x += alpha * o by one axpy, the version bumped once, as
    ``add_`` bumps it) when nothing is unusual: nothing would be recorded (grad mode off or
    neither requires grad), no tangents (forward mode), ``x`` no view, same float32/64 dtype
    and shape, both C-contiguous, ``x`` writable. The others run ``x.add_``, one by one.
    """
    self = list(self)
    if not self:
        raise RuntimeError("Tensor list must have at least one tensor.")
    listed = isinstance(other, (list, tuple))
    if listed and len(other) != len(self):
        raise RuntimeError(f"Tensor lists must have the same number of tensors, got {len(self)} and {len(other)}")
    if not listed or alpha.__class__ not in (int, float):
        others = other if listed else [other] * len(self)
        for x, o in zip(self, others):   # (a number, or an alpha that is no Python number: add_ itself)
            x.add_(o, alpha=alpha)
        return self
    if not _AXPY:
        _AXPY.update(_axpy_table())
    # (read once: nothing below changes grad mode or opens a forward-mode level)
    plain = not _grad_state.enabled
    no_tangents = _flags.forward_levels == 0
    T = Tensor
    for x, o in zip(self, other):
        if o.__class__ is not T and not isinstance(o, T):   # a number (torch's scalar-list overload)
            x.add_(o, alpha=alpha)
            continue
        d, od = x._data, o._data
        axpy = _AXPY.get(d.dtype.char)
        if (axpy is None or od.dtype is not d.dtype or od.shape != d.shape or x._base is not None
                or not (plain or not (x._requires_grad or o._requires_grad))
                or not (no_tangents or (x._tangent is None and o._tangent is None))
                or not d.size or not d.flags.c_contiguous or not od.flags.c_contiguous
                or not d.flags.writeable):
            x.add_(o, alpha=alpha)
            continue
        axpy_into(axpy, d, od, alpha)
        x._vc[0] += 1
    return self
