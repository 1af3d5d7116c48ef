"""``nn.Parameter``: a Tensor that a Module registers as one of its learnable parameters.

Assigning a Parameter to a Module attribute (``self.weight = Parameter(w)``)
puts it in the module's ``parameters()``, which is what an optimiser updates
and what ``state_dict`` saves. Apart from that it is an ordinary Tensor: every
op takes it, and the result of an op on it is a plain Tensor (as torch's).
"""
from __future__ import annotations

import copy

from ..tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default: ``Parameter(data, requires_grad=True)``.

    It shares ``data``'s memory (as torch's ``Parameter`` does), so
    ``Parameter(t)`` and ``t`` see the same values.
    """
    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        Tensor.__init__(self)                       # an empty float tensor of the default dtype...
        if data is None:
            data = Tensor()
        elif not isinstance(data, Tensor):
            raise TypeError(f"Parameter: data must be a Tensor, got {type(data).__name__}")
        self.data = data                            # ...whose values become data's (shared, no copy)
        self.requires_grad_(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.detach().clone(), self.requires_grad)
        if self.grad is not None:
            result.grad = copy.deepcopy(self.grad, memo)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.detach().clone(), self.requires_grad))


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)
