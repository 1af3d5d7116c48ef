"""``out=``: a function's result written into a tensor the caller already has, as torch does.

Tutorials use it to reuse a buffer (``torch.add(a, b, out=c)``). The rules are torch's:
- the result must be castable to ``out``'s dtype by torch's ``can_cast`` (no float into an
  integer tensor, no complex into a real one, nothing but bool into bool), and for the ops
  in ``SAME_DTYPE`` (matmul, abs, where, ...) it must be the same dtype;
- an ``out`` of another shape is resized (with torch's warning when it held elements);
- ``out=`` does not take part in autograd: with grad mode on, an input or ``out`` that requires
  grad is an error (the write could not be differentiated).
Which functions accept ``out=`` is declared in ``declare.OUT``.
"""
from __future__ import annotations

import warnings

import numpy as np

from .._dtype import scalar_name
from .._grad_mode import is_grad_enabled
from ..tensor import Tensor

_KIND_ORDER = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


# torch's kernels for these insist that out already has the result's dtype (no cast on write)
SAME_DTYPE = frozenset("abs bmm ceil clamp dot floor matmul mm mv neg round sign trunc where".split())


def _castable(source: np.dtype, target: np.dtype) -> bool:
    """torch.can_cast: never down a category (complex > floating > integral > bool)."""
    return _KIND_ORDER[source.kind] <= _KIND_ORDER[target.kind]


def write_out(opname: str, result, out):
    """Copy ``result`` into ``out`` (resized if needed) and return ``out``."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{opname}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if isinstance(result, (tuple, list)):
        raise TypeError(f"{opname}(): out= is supported here only for single-tensor results")
    if is_grad_enabled() and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{opname}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    source, target = result._data.dtype, out._data.dtype
    if opname in SAME_DTYPE and source != target:
        raise RuntimeError(f"{opname}(): expected out tensor to have dtype {source.name}, but got "
                           f"{target.name} instead")
    if not _castable(source, target):
        raise RuntimeError(f"result type {scalar_name(source)} can't be cast to the "
                           f"desired output type {scalar_name(target)}")
    if out._data.shape != result._data.shape:
        if out._base is not None:
            raise RuntimeError(f"{opname}(): out is a view of shape {tuple(out.shape)} and the result has "
                               f"shape {tuple(result.shape)}; dlmath does not resize views")
        if out._data.size:
            warnings.warn(f"An output with one or more elements was resized since it had shape "
                          f"{list(out.shape)}, which does not match the required output shape "
                          f"{list(result.shape)}. This behavior is deprecated, and in a future PyTorch "
                          "release outputs will not be resized unless they have zero elements.",
                          UserWarning, stacklevel=3)
        out._data = np.empty(result._data.shape, dtype=target)
    from ..inplace import copy_  # a layer above: in-place writes check views and versions there

    return copy_(out, result, opname)
