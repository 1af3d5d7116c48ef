"""``dm.autograd.Variable``: the pre-0.4 wrapper, kept as torch keeps it.

Since PyTorch 0.4 every tensor is a Variable: ``Variable(t, requires_grad=True)`` gives a
leaf sharing ``t``'s memory (``t.detach().requires_grad_(...)``), and ``isinstance(x,
Variable)`` is true of every tensor. Old tutorials run unchanged; new code needs none of it.
"""
from __future__ import annotations

from ..tensor import Tensor

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor)

    def __call__(cls, data, requires_grad=False, volatile=False):
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        t = data.detach()
        if requires_grad:
            t.requires_grad_(True)
        return t


class Variable(metaclass=_VariableMeta):
    """``Variable(tensor, requires_grad=False)``: a tensor (see the module's docstring)."""
