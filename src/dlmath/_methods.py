"""Tensor methods and operators, bound from the functional ops (one implementation each)."""
from __future__ import annotations

from .tensor import Tensor
from .ops import elementwise as ew, reduction as red, shape as sh, indexing as ix, matmul as mm
from .ops import sorting as so, composite as co, combine as cb
from .ops._util import to_tensor
from . import inplace


def _reflect(fn):
    def r(self, other):
        return fn(other, self)
    r.__name__ = "__r" + fn.__name__ + "__"
    return r


def _binary_dunder(fn):
    def op(self, other):
        try:
            return fn(self, other)
        except TypeError:
            if not isinstance(other, Tensor) and not hasattr(other, "__array__"):
                return NotImplemented
            raise
    return op


def _inplace(fn, opname):
    def op(self, other):
        return inplace.inplace_binary(self, fn, other, opname)
    op.__name__ = opname
    return op


def _inplace_unary(fn, opname):
    def op(self, *args, **kwargs):
        return inplace.inplace_unary(self, lambda x: fn(x, *args, **kwargs), opname)
    op.__name__ = opname
    return op


_BINARY = {"add": ew.add, "sub": ew.sub, "mul": ew.mul, "truediv": ew.div, "floordiv": ew.floor_divide,
           "mod": ew.remainder, "pow": ew.pow, "matmul": mm.matmul, "and": ew.bitwise_and,
           "or": ew.bitwise_or, "xor": ew.bitwise_xor}

for _name, _fn in _BINARY.items():
    setattr(Tensor, f"__{_name}__", _binary_dunder(_fn))
    setattr(Tensor, f"__r{_name}__", _binary_dunder(_reflect(_fn)))
    setattr(Tensor, f"__i{_name}__", _inplace(_fn, f"__i{_name}__"))
# the hot arithmetic operators skip a layer of calls
for _name, _cls in dict(add=ew.Add, sub=ew.Sub, mul=ew.Mul).items():
    setattr(Tensor, f"__{_name}__", ew.operator(_cls, _name))
    setattr(Tensor, f"__r{_name}__", ew.operator(_cls, _name, reflected=True))

Tensor.__eq__ = lambda self, other: ew.eq(self, other)
Tensor.__ne__ = lambda self, other: ew.ne(self, other)
Tensor.__lt__ = lambda self, other: ew.lt(self, other)
Tensor.__le__ = lambda self, other: ew.le(self, other)
Tensor.__gt__ = lambda self, other: ew.gt(self, other)
Tensor.__ge__ = lambda self, other: ew.ge(self, other)
Tensor.__neg__ = ew.neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = ew.abs
Tensor.__invert__ = lambda self: ew.logical_not(self) if self.dtype.kind == "b" else ew.bitwise_not(self)
Tensor.__getitem__ = ix.getitem
Tensor.__setitem__ = ix.setitem

# --- plain methods: x.f(...) is dm.f(x, ...) ---------------------------------
_METHODS = dict(
    neg=ew.neg, negative=ew.neg, exp=ew.exp, log=ew.log, log1p=ew.log1p, expm1=ew.expm1, sqrt=ew.sqrt,
    rsqrt=ew.rsqrt, abs=ew.abs, sign=ew.sign, sin=ew.sin, cos=ew.cos, tanh=ew.tanh, sigmoid=ew.sigmoid,
    relu=ew.relu, square=ew.square, reciprocal=ew.reciprocal, erf=ew.erf, floor=ew.floor, ceil=ew.ceil,
    round=ew.round, trunc=ew.trunc, clamp=ew.clamp, clip=ew.clamp, pow=ew.pow, add=ew.add, sub=ew.sub,
    subtract=ew.sub, mul=ew.mul, multiply=ew.mul, div=ew.div, divide=ew.div, true_divide=ew.div,
    floor_divide=ew.floor_divide, remainder=ew.remainder, maximum=ew.maximum, minimum=ew.minimum,
    eq=ew.eq, ne=ew.ne, lt=ew.lt, le=ew.le, gt=ew.gt, ge=ew.ge, isnan=ew.isnan, isinf=ew.isinf,
    isfinite=ew.isfinite, logical_and=ew.logical_and, logical_or=ew.logical_or, logical_not=ew.logical_not,
    logical_xor=ew.logical_xor,
    sum=red.sum, mean=red.mean, var=red.var, std=red.std, prod=red.prod, max=red.max, min=red.min,
    amax=red.amax, amin=red.amin, argmax=red.argmax, argmin=red.argmin, logsumexp=red.logsumexp,
    softmax=red.softmax, log_softmax=red.log_softmax, cumsum=red.cumsum,
    reshape=sh.reshape, view=sh.view, flatten=sh.flatten, unflatten=sh.unflatten, squeeze=sh.squeeze,
    unsqueeze=sh.unsqueeze, permute=sh.permute, transpose=sh.transpose, swapaxes=sh.transpose, t=sh.t,
    movedim=sh.movedim, expand=sh.expand, expand_as=sh.expand_as, broadcast_to=sh.broadcast_to,
    repeat=sh.repeat, flip=sh.flip, split=sh.split, chunk=sh.chunk, unbind=sh.unbind, tril=sh.tril,
    triu=sh.triu,
    gather=ix.gather, scatter_add=ix.scatter_add, masked_fill=ix.masked_fill, index_select=ix.index_select,
    nonzero=ix.nonzero,
    matmul=mm.matmul, mm=mm.mm, bmm=mm.bmm, mv=mm.mv, dot=mm.dot, outer=mm.outer, inner=mm.inner,
)
_METHODS.update(fmod=ew.fmod, atan2=ew.atan2, arctan2=ew.atan2, narrow=co.narrow, roll=co.roll, tile=co.tile, diagonal=co.diagonal, diag=co.diag,
                trace=co.trace, repeat_interleave=co.repeat_interleave, addmm=co.addmm, kron=co.kron,
                sort=so.sort, argsort=so.argsort, topk=so.topk, all=so.all, any=so.any)
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)


def _view_as(self, other):
    return sh.reshape(self, tuple(other.shape))


def _where(self, condition, other):
    return ew.where(condition, self, other)


def _clone(self, *, memory_format=None):
    return self * 1 if self.dtype.kind != "b" else to_tensor(self._data.copy())


def _norm(self, p="fro", dim=None, keepdim=False, dtype=None):
    from . import linalg
    return linalg.norm_legacy(self, p, dim, keepdim, dtype)


Tensor.view_as = _view_as
Tensor.reshape_as = _view_as
Tensor.where = _where
Tensor.clone = _clone
Tensor.norm = _norm
Tensor.T = property(sh.T)
Tensor.mT = property(sh.mT)
Tensor.H = property(sh.T)
Tensor.mH = property(sh.mT)

# --- in-place methods ---------------------------------------------------------
for _name, _fn in dict(add_=ew.add, sub_=ew.sub, mul_=ew.mul, div_=ew.div, pow_=ew.pow,
                       remainder_=ew.remainder, floor_divide_=ew.floor_divide).items():
    setattr(Tensor, _name, _inplace(_fn, _name))


def _add_(self, other, *, alpha=1):
    return inplace.add_scaled(self, other, alpha, "add_")


def _sub_(self, other, *, alpha=1):
    return inplace.add_scaled(self, other, -alpha, "sub_")


Tensor.add_ = _add_
Tensor.sub_ = _sub_
for _name, _fn in dict(clamp_=ew.clamp, clip_=ew.clamp, exp_=ew.exp, log_=ew.log, sqrt_=ew.sqrt,
                       neg_=ew.neg, abs_=ew.abs, tanh_=ew.tanh, sigmoid_=ew.sigmoid, relu_=ew.relu,
                       square_=ew.square, reciprocal_=ew.reciprocal, sign_=ew.sign, floor_=ew.floor,
                       masked_fill_=ix.masked_fill, tril_=sh.tril, triu_=sh.triu).items():
    setattr(Tensor, _name, _inplace_unary(_fn, _name))
Tensor.addcmul_ = inplace.addcmul_
Tensor.addcdiv_ = inplace.addcdiv_
Tensor.lerp_ = inplace.lerp_
Tensor.addcmul = cb.addcmul
Tensor.addcdiv = cb.addcdiv
Tensor.lerp = cb.lerp
Tensor.zero_ = inplace.zero_
Tensor.fill_ = inplace.fill_
Tensor.copy_ = inplace.copy_


def _uniform_(self, a=0.0, b=1.0, *, generator=None):
    from .random import rng
    from ._grad_mode import no_grad
    with no_grad():
        self.copy_(to_tensor(rng(generator).uniform(a, b, self.shape)))
    return self


def _normal_(self, mean=0.0, std=1.0, *, generator=None):
    from .random import rng
    from ._grad_mode import no_grad
    with no_grad():
        self.copy_(to_tensor(rng(generator).normal(mean, std, self.shape)))
    return self


Tensor.uniform_ = _uniform_
Tensor.normal_ = _normal_

inplace._UFUNCS.update(inplace._ufunc_table())
inplace._AXPY.update(inplace._axpy_table())
