"""Pointwise combinations that optimisers are written with: addcmul, addcdiv, lerp.

Each is composed from the elementwise primitives, so its gradient (of any
order) comes from theirs; the in-place variants (``addcmul_``, ... in
``dlmath.inplace``) run under ``no_grad`` as one NumPy pass into the tensor,
which is how ``optim`` uses them:

* Adam's first moment is a lerp towards the gradient:
  ``m.lerp_(g, 1 - beta1)``, m <- m + (1 - beta1) (g - m);
* its second moment adds the squared gradient: ``v.mul_(beta2).addcmul_(g, g, value=1 - beta2)``;
* the step divides one by the other: ``p.addcdiv_(m, v.sqrt().add_(eps), value=-lr)``.
"""
from __future__ import annotations

from ..tensor import Tensor
from . import elementwise as ew
from ._util import to_tensor
from .declare import public


@public
def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2 (torch.addcmul)."""
    prod = ew.mul(to_tensor(tensor1, "addcmul"), to_tensor(tensor2, "addcmul"))
    return ew.add(to_tensor(input, "addcmul"), prod if value == 1 else ew.mul(prod, value))


@public
def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 / tensor2 (torch.addcdiv); integer tensor1 / tensor2 is refused, as torch."""
    t1, t2 = to_tensor(tensor1, "addcdiv"), to_tensor(tensor2, "addcdiv")
    if t1.dtype.kind in "biu" and t2.dtype.kind in "biu":
        raise RuntimeError("addcdiv: integer division with addcdiv is no longer supported; "
                           "use addcmul(input, tensor1, 1 / tensor2) or a float tensor")
    quot = ew.div(t1, t2)
    return ew.add(to_tensor(input, "addcdiv"), quot if value == 1 else ew.mul(quot, value))


@public
def lerp(input, end, weight):
    """input + weight * (end - input): linear interpolation (torch.lerp).

    d/d input = 1 - weight, d/d end = weight, d/d weight = end - input.
    """
    x, e = to_tensor(input, "lerp"), to_tensor(end, "lerp")
    if x.dtype != e.dtype:
        raise RuntimeError(f"lerp: expected dtype {x.dtype} for `end` but got dtype {e.dtype}")
    if isinstance(weight, Tensor) and weight.dtype != x.dtype:
        raise RuntimeError(f"lerp: expected dtype {x.dtype} for `weight` but got dtype {weight.dtype}")
    return ew.add(x, ew.mul(weight, ew.sub(e, x)))
