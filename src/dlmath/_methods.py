"""Tensor methods and operators, made from the ops' declarations (``ops/declare.py``).

Every op declared with ``@public`` becomes a method under each of its names
(unless ``method=False``), with its in-place form where one is declared; methods
that are no function of the package (``view_as``, ``add_``, ``fill_``, ...) come
from ``@method`` declarations. The operators (``+``, ``*``, ``@``, ``[]``, ...)
call the same functions. So ``x.exp()``, ``dm.exp(x)`` and ``x.exp_()`` are one
implementation, declared in one place.
"""
from __future__ import annotations

from .tensor import Tensor
# every op module, so that every declaration has run before the tables are read
from .ops import elementwise as ew, reduction, shape as sh, indexing as ix, matmul as mm  # noqa: F401
from .ops import sorting, composite, combine, elementary, statistics, arrangement, signs, summaries, selection, assembly, integration  # noqa: F401
from .ops.declare import FUNCTIONS, METHODS
from . import inplace
from . import _random_fills  # noqa: F401  (bernoulli_, exponential_, random_, ...: @method declarations)


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


# --- the declared ops: methods and their in-place forms ---------------------------
for _d in FUNCTIONS.values():
    for _name in _d.names():
        if _d.method:
            setattr(Tensor, _name, _d.fn)
        if _d.inplace == "binary":
            setattr(Tensor, _name + "_", _inplace(_d.fn, _name + "_"))
        elif _d.inplace == "unary":
            setattr(Tensor, _name + "_", _inplace_unary(_d.fn, _name + "_"))
for _name, _fn in METHODS.items():
    setattr(Tensor, _name, _fn)


def _norm(self, p="fro", dim=None, keepdim=False, dtype=None):
    from . import linalg   # a layer above: looked up when called
    return linalg.norm_legacy(self, p, dim, keepdim, dtype)


Tensor.norm = _norm
Tensor.T = property(sh.T)
Tensor.mT = property(sh.mT)
Tensor.H = property(sh.T)
Tensor.mH = property(sh.mT)


# --- operators ----------------------------------------------------------------------
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


def _invert(self):
    kind = self._data.dtype.kind
    if kind == "b":
        return ew.logical_not(self)
    if kind in "iu":
        return ew.bitwise_not(self)
    raise TypeError(f"~ (bitwise not) is only implemented for integer and bool tensors, not {self.dtype}")


Tensor.__invert__ = _invert
Tensor.__getitem__ = ix.getitem
Tensor.__setitem__ = ix.setitem


# the in-place fast paths' tables (w -= lr * g as one NumPy ufunc, add_(g, alpha) as one BLAS axpy)
inplace._UFUNCS.update(inplace._ufunc_table())
inplace._AXPY.update(inplace._axpy_table())
