"""Elementwise primitives: each with its derivative beside it.

Every ``vjp`` is the chain rule for one elementwise function: the incoming
cotangent ``g`` times the local derivative f'(x). Written with operators and
``xp`` functions, the same line runs on arrays (backward) and Tensors
(``create_graph``). Broadcasting is undone by the engine.
"""
from __future__ import annotations

import numpy as np
from scipy import special as _special

from ..autograd.node import Op, apply, apply1, apply2, make_tensor
from ..tensor import Tensor
from ._util import (as_float, binary_operands, broadcast_error, cast, quiet, result_dtype,
                    to_tensor)


class Unary(Op):
    __slots__ = ()

    def jvp(self, xp, t, x, y):
        # f(x + t) ~ f(x) + f'(x) t: the same local derivative as the vjp
        return self.vjp(xp, t[0], x, y)[0]


# --- unary functions --------------------------------------------------------
class Neg(Unary):
    """-x; derivative -1."""
    __slots__ = ()
    uses_inputs = False

    def forward(self, x):
        return np.negative(x)

    def vjp(self, xp, g, x, y):
        return (-g,)


class Exp(Unary):
    """exp(x); d/dx = exp(x) = y. Softmax, the Gaussian density, the LSE trick."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return np.exp(x)

    def vjp(self, xp, g, x, y):
        return (g * y,)


class Log(Unary):
    """log(x); d/dx = 1/x. Log-likelihoods and cross-entropy."""
    __slots__ = ()

    def forward(self, x):
        return np.log(x)

    def vjp(self, xp, g, x, y):
        return (g / x,)


class Log1p(Unary):
    """log(1 + x), accurate for small x; d/dx = 1/(1 + x). Softplus, stable BCE."""
    __slots__ = ()

    def forward(self, x):
        return np.log1p(x)

    def vjp(self, xp, g, x, y):
        return (g / (x + 1),)


class Expm1(Unary):
    """exp(x) - 1, accurate for small x; d/dx = exp(x) = y + 1."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return np.expm1(x)

    def vjp(self, xp, g, x, y):
        return (g * (y + 1),)


class Sqrt(Unary):
    """sqrt(x); d/dx = 1/(2 sqrt(x)) (inf at 0, as PyTorch). Norms, std, attention's 1/sqrt(d)."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return np.sqrt(x)

    def vjp(self, xp, g, x, y):
        with quiet():
            return (g / (2 * y),)


class Rsqrt(Unary):
    """1/sqrt(x); d/dx = -1/2 x^(-3/2) = -y^3 / 2. LayerNorm and BatchNorm's 1/sigma."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return 1 / np.sqrt(x)

    def vjp(self, xp, g, x, y):
        return (g * (-0.5 * y * y * y),)


class Reciprocal(Unary):
    """1/x; d/dx = -1/x^2 = -y^2."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return np.reciprocal(x)

    def vjp(self, xp, g, x, y):
        return (-g * y * y,)


class Abs(Unary):
    """|x|; d/dx = sign(x), with 0 at x = 0 (PyTorch's subgradient). L1 loss and norms."""
    __slots__ = ()

    def forward(self, x):
        return np.abs(x)

    def vjp(self, xp, g, x, y):
        return (g * xp.sign(x),)


class Sin(Unary):
    """sin(x); d/dx = cos(x). Sinusoidal positional encodings."""
    __slots__ = ()

    def forward(self, x):
        return np.sin(x)

    def vjp(self, xp, g, x, y):
        return (g * xp.cos(x),)


class Cos(Unary):
    """cos(x); d/dx = -sin(x)."""
    __slots__ = ()

    def forward(self, x):
        return np.cos(x)

    def vjp(self, xp, g, x, y):
        return (-g * xp.sin(x),)


class Tanh(Unary):
    """tanh(x); d/dx = 1 - tanh(x)^2. RNN cells: |d/dx| <= 1, one source of vanishing gradients."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return np.tanh(x)

    def vjp(self, xp, g, x, y):
        return (g * (1 - y * y),)


class Sigmoid(Unary):
    """sigma(x) = 1/(1 + e^-x); d/dx = sigma (1 - sigma). Gates, Bernoulli probabilities."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return _special.expit(x)  # never overflows, unlike 1/(1+exp(-x))

    def vjp(self, xp, g, x, y):
        return (g * (y * (1 - y)),)


class Relu(Unary):
    """max(x, 0); d/dx = 1 for x > 0 and 0 otherwise (0 at the kink, as PyTorch)."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return np.maximum(x, 0)

    def vjp(self, xp, g, x, y):
        return (g * (y > 0),)


class Square(Unary):
    """x^2; d/dx = 2x. Squared error, L2 penalties."""
    __slots__ = ()

    def forward(self, x):
        return np.square(x)

    def vjp(self, xp, g, x, y):
        return (g * (2 * x),)


class Erf(Unary):
    """erf(x); d/dx = 2/sqrt(pi) exp(-x^2). The Gaussian CDF behind exact GELU."""
    __slots__ = ()

    def forward(self, x):
        return _special.erf(x)

    def vjp(self, xp, g, x, y):
        return (g * (1.1283791670955126 * xp.exp(-x * x)),)


class Clamp(Unary):
    """min(max(x, lo), hi); d/dx = 1 where lo <= x <= hi (boundary included, as PyTorch), else 0."""
    __slots__ = ("lo", "hi")

    def forward(self, x):
        return np.clip(x, self.lo, self.hi)

    def vjp(self, xp, g, x, y):
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None:
            return (g * ((x >= lo) & (x <= hi)),)
        return (g * (x >= lo) if hi is None else g * (x <= hi),)


class Piecewise(Op):
    """floor, ceil, round, trunc, sign: piecewise constant, derivative 0 almost everywhere."""
    __slots__ = ("fn",)
    uses_inputs = False

    def forward(self, x):
        return self.fn(x)

    def vjp(self, xp, g, x, y):
        return (g * 0,)

    def jvp(self, xp, t, x, y):
        return t[0] * 0


def _unary(cls, x, opname):
    if not isinstance(x, Tensor):
        x = to_tensor(x, opname)
    if x._data.dtype.kind not in "fc":
        x = as_float(x)
    return apply1(cls(), x)


def neg(x):
    x = to_tensor(x, "neg")
    if x._data.dtype.kind == "b":
        raise RuntimeError("neg: negation of a bool tensor is not supported; use ~ or logical_not() instead")
    return apply(Neg(), x)


def exp(x): return _unary(Exp, x, "exp")
def log(x): return _unary(Log, x, "log")
def log1p(x): return _unary(Log1p, x, "log1p")
def expm1(x): return _unary(Expm1, x, "expm1")
def sqrt(x): return _unary(Sqrt, x, "sqrt")
def rsqrt(x): return _unary(Rsqrt, x, "rsqrt")
def reciprocal(x): return _unary(Reciprocal, x, "reciprocal")
def sin(x): return _unary(Sin, x, "sin")
def cos(x): return _unary(Cos, x, "cos")
def tanh(x): return _unary(Tanh, x, "tanh")
def sigmoid(x): return _unary(Sigmoid, x, "sigmoid")
def erf(x): return _unary(Erf, x, "erf")


def abs(x):
    x = to_tensor(x, "abs")
    return apply(Abs(), x)


def relu(x):
    x = to_tensor(x, "relu")
    return apply(Relu(), x)


def square(x):
    x = to_tensor(x, "square")
    return apply(Square(), x)


def _piecewise(fn, x, keep_int=True):
    x = to_tensor(x)
    op = Piecewise()
    op.fn = fn
    return apply(op, x)


def sign(x): return _piecewise(np.sign, x)
def floor(x): return _piecewise(np.floor, x)
def ceil(x): return _piecewise(np.ceil, x)
def trunc(x): return _piecewise(np.trunc, x)


def round(x, decimals=0):
    return _piecewise(lambda a: np.round(a, decimals), x)


def clamp(x, min=None, max=None):
    """Clip to [min, max]. Gradient clipping by value and the ReLU6 family use it."""
    x = to_tensor(x, "clamp")
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # tensor bounds: a where() so the bound itself receives gradient where it is active
        out = x
        if min is not None:
            out = where(out < min, min, out)
        if max is not None:
            out = where(out > max, max, out)
        return out
    lo = None if min is None else _bound(min)
    hi = None if max is None else _bound(max)
    if x._data.dtype.kind in "iub" and any(isinstance(v, float) for v in (lo, hi)):
        x = as_float(x)
    op = Clamp()
    op.lo, op.hi = lo, hi
    return apply(op, x)


def _bound(v):
    return v.item() if isinstance(v, np.generic) else v


clip = clamp


# --- binary functions -------------------------------------------------------
class Add(Op):
    """a + b; d/da = d/db = 1. Biases (broadcast over the batch), residual connections."""
    __slots__ = ()
    uses_inputs = False

    def forward(self, a, b):
        return a + b

    def vjp(self, xp, g, a, b, y):
        return g, g

    def jvp(self, xp, t, a, b, y):
        ta, tb = t
        return ta if tb is None else (tb if ta is None else ta + tb)


class Sub(Op):
    """a - b; d/da = 1, d/db = -1."""
    __slots__ = ()
    uses_inputs = False

    def forward(self, a, b):
        return a - b

    def vjp(self, xp, g, a, b, y):
        return g, (-g if self.needs[1] else None)

    def jvp(self, xp, t, a, b, y):
        ta, tb = t
        return ta if tb is None else (-tb if ta is None else ta - tb)


class Mul(Op):
    """a * b; d/da = b, d/db = a. Gates, masks, scaling."""
    __slots__ = ()

    def used_inputs(self):
        needs = self.needs
        return [i for i, n in ((1, needs[0]), (0, needs[1])) if n]

    def forward(self, a, b):
        return a * b

    def vjp(self, xp, g, a, b, y):
        needs = self.needs
        return (g * b if needs[0] else None), (g * a if needs[1] else None)

    def jvp(self, xp, t, a, b, y):
        ta, tb = t
        if tb is None:
            return ta * b
        return tb * a if ta is None else ta * b + a * tb


class Div(Op):
    """a / b; d/da = 1/b, d/db = -a/b^2 = -y/b."""
    __slots__ = ()
    uses_output = True

    def used_inputs(self):
        return (1,)  # only b: the quotient y stands in for a

    @property
    def uses_output(self):
        return self.needs[1]  # y appears only in d/db

    def forward(self, a, b):
        return a / b

    def vjp(self, xp, g, a, b, y):
        ga = g / b
        return (ga if self.needs[0] else None), (-ga * y if self.needs[1] else None)

    def jvp(self, xp, t, a, b, y):
        ta, tb = t
        out = None if ta is None else ta / b
        if tb is not None:
            d = -tb * y / b
            out = d if out is None else out + d
        return out


class Pow(Op):
    """a ** b; d/da = b a^(b-1), d/db = a^b log(a) (taken as 0 where a = 0 and b >= 0, as PyTorch)."""
    __slots__ = ()

    @property
    def uses_output(self):
        return self.needs[1]  # y appears only in d/db

    def forward(self, a, b):
        return np.power(a, b)

    def _da(self, xp, a, b):
        if isinstance(b, (int, float)):
            if b == 0:
                return a * 0
            if b == 2:
                return 2 * a
            return b * a ** (b - 1)
        return b * a ** (b - 1)

    def _db(self, xp, a, b, y):
        with quiet():
            return xp.where((a == 0) & (b >= 0), 0.0, y * xp.log(a))

    def vjp(self, xp, g, a, b, y):
        needs = self.needs
        with quiet():
            return ((g * self._da(xp, a, b) if needs[0] else None),
                    (g * self._db(xp, a, b, y) if needs[1] else None))

    def jvp(self, xp, t, a, b, y):
        ta, tb = t
        out = None if ta is None else ta * self._da(xp, a, b)
        if tb is not None:
            d = tb * self._db(xp, a, b, y)
            out = d if out is None else out + d
        return out


class Maximum(Op):
    """max(a, b) elementwise; the gradient goes to the larger, split in half at ties (as PyTorch)."""
    __slots__ = ()
    pick = staticmethod(np.maximum)

    def forward(self, a, b):
        return self.pick(a, b)

    def _masks(self, xp, a, b):
        return a > b, b > a

    def vjp(self, xp, g, a, b, y):
        wa, wb = self._masks(xp, a, b)
        half = g * 0.5
        tie = a == b
        return ((xp.where(tie, half, g * wa) if self.needs[0] else None),
                (xp.where(tie, half, g * wb) if self.needs[1] else None))

    def jvp(self, xp, t, a, b, y):
        ta, tb = t
        wa, wb = self._masks(xp, a, b)
        tie = a == b
        out = None if ta is None else xp.where(tie, ta * 0.5, ta * wa)
        if tb is not None:
            d = xp.where(tie, tb * 0.5, tb * wb)
            out = d if out is None else out + d
        return out


class Minimum(Maximum):
    """min(a, b) elementwise; the gradient goes to the smaller, split in half at ties."""
    __slots__ = ()
    pick = staticmethod(np.minimum)

    def _masks(self, xp, a, b):
        return a < b, b < a


class Remainder(Op):
    """a mod b (sign of b, Python's and PyTorch's %); d/da = 1, d/db = -floor(a/b)."""
    __slots__ = ()

    def forward(self, a, b):
        with quiet():
            return np.remainder(a, b)

    def vjp(self, xp, g, a, b, y):
        return g, (-g * xp.floor(a / b) if self.needs[1] else None)


class Where(Op):
    """cond ? a : b; the gradient goes to the branch that was selected.

    The unselected branch gets 0, but a NaN or inf computed in it still
    poisons the product 0 * inf: mask the *input* of the unsafe op too (the
    "double where": ``where(x > 0, log(where(x > 0, x, 1)), 0)``).
    """
    __slots__ = ()
    uses_inputs = True

    def used_inputs(self):
        return (0,)

    def forward(self, c, a, b):
        return np.where(c, a, b)

    def vjp(self, xp, g, c, a, b, y):
        zero = g * 0
        return (None,
                xp.where(c, g, zero) if self.needs[1] else None,
                xp.where(c, zero, g) if self.needs[2] else None)

    def jvp(self, xp, t, c, a, b, y):
        _, ta, tb = t
        ta = y * 0 if ta is None else ta
        tb = y * 0 if tb is None else tb
        return xp.where(c, ta, tb)


def _binary(cls, a, b, opname):
    ops = binary_operands(a, b, opname)
    if ops is None:
        raise TypeError(f"{opname}: unsupported operand types {type(a).__name__} and {type(b).__name__}")
    a, b, dt = ops
    try:
        return apply2(cls(), a, b)
    except ValueError as e:
        raise _shape_error(opname, a, b, e) from None


def operator(cls, opname, reflected=False):
    """The Tensor dunder for a binary primitive (returns NotImplemented for foreign operands)."""
    def forward_op(self, other):
        ops = binary_operands(self, other, opname)
        if ops is None:
            return NotImplemented
        try:
            return apply2(cls(), ops[0], ops[1])
        except ValueError as e:
            raise _shape_error(opname, ops[0], ops[1], e) from None

    def reflected_op(self, other):
        ops = binary_operands(other, self, opname)
        if ops is None:
            return NotImplemented
        try:
            return apply2(cls(), ops[0], ops[1])
        except ValueError as e:
            raise _shape_error(opname, ops[0], ops[1], e) from None
    return reflected_op if reflected else forward_op


def _shape_error(opname, a, b, e):
    sa = a.shape if isinstance(a, Tensor) else ()
    sb = b.shape if isinstance(b, Tensor) else ()
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        return broadcast_error(opname, sa, sb)
    return RuntimeError(f"{opname}: {e}")


def add(a, b, alpha=1):
    if alpha != 1:
        b = mul(b, alpha)
    return _binary(Add, a, b, "add")


def sub(a, b, alpha=1):
    if alpha != 1:
        b = mul(b, alpha)
    if isinstance(a, Tensor) and a._data.dtype.kind == "b" and isinstance(b, Tensor) and b._data.dtype.kind == "b":
        raise RuntimeError("sub: subtraction of two bool tensors is not supported; use logical_xor() instead")
    return _binary(Sub, a, b, "sub")


def mul(a, b):
    return _binary(Mul, a, b, "mul")


def div(a, b, rounding_mode=None):
    """a / b: true division; integer inputs give the default float, as in PyTorch."""
    if rounding_mode is not None:
        q = floor_divide(a, b) if rounding_mode == "floor" else trunc(_true_div(a, b))
        return q if rounding_mode == "floor" else _match_int(q, a, b)
    return _true_div(a, b)


def _true_div(a, b):
    ops = binary_operands(a, b, "div")
    if ops is None:
        raise TypeError(f"div: unsupported operand types {type(a).__name__} and {type(b).__name__}")
    a, b, dt = ops
    if dt.kind not in "fc":
        a = as_float(a) if isinstance(a, Tensor) else float(a)
        b = as_float(b) if isinstance(b, Tensor) else float(b)
    try:
        return apply(Div(), a, b)
    except ValueError as e:
        raise _shape_error("div", a, b, e) from None


def _match_int(q, a, b):
    dt = result_dtype([v if isinstance(v, Tensor) else v for v in (to_tensor(a), to_tensor(b))])
    return cast(q.detach(), dt) if dt.kind in "iub" else q


def floor_divide(a, b):
    """a // b rounded toward -inf (PyTorch >= 1.13); not differentiable (gradient 0)."""
    ops = binary_operands(a, b, "floor_divide")
    if ops is None:
        raise TypeError(f"floor_divide: unsupported operand types {type(a).__name__} and {type(b).__name__}")
    a, b, dt = ops
    av = a._data if isinstance(a, Tensor) else a
    bv = b._data if isinstance(b, Tensor) else b
    if dt.kind in "iu" and np.any(np.asarray(bv) == 0):
        raise RuntimeError("floor_divide: ZeroDivisionError (integer division by zero)")
    try:
        with quiet():
            out = np.floor_divide(av, bv)
    except ValueError as e:
        raise _shape_error("floor_divide", a, b, e) from None
    return make_tensor(np.asarray(out, dtype=dt))


def remainder(a, b):
    return _binary(Remainder, a, b, "remainder")


def pow(a, b):
    """a ** b for tensor or scalar base and exponent."""
    ops = binary_operands(a, b, "pow")
    if ops is None:
        raise TypeError(f"pow: unsupported operand types {type(a).__name__} and {type(b).__name__}")
    a, b, dt = ops
    if dt.kind in "iu":
        bv = b._data if isinstance(b, Tensor) else b
        if np.any(np.asarray(bv) < 0):
            raise RuntimeError("pow: Integers to negative integer powers are not allowed.")
    try:
        return apply(Pow(), a, b)
    except ValueError as e:
        raise _shape_error("pow", a, b, e) from None


def maximum(a, b):
    return _binary(Maximum, to_tensor(a), b, "maximum")


def minimum(a, b):
    return _binary(Minimum, to_tensor(a), b, "minimum")


def where(condition, input=None, other=None):
    """Select from ``input`` where ``condition`` holds, else ``other`` (broadcast together)."""
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    c = to_tensor(condition, "where")
    if c._data.dtype.kind != "b":
        raise RuntimeError(f"where: expected condition to be a bool tensor, got {c.dtype}")
    ops = binary_operands(input, other, "where")
    if ops is None:
        raise TypeError(f"where: unsupported operand types {type(input).__name__} and {type(other).__name__}")
    a, b, dt = ops
    if not isinstance(a, Tensor):
        a = make_tensor(np.asarray(a, dtype=dt))
    if not isinstance(b, Tensor):
        b = make_tensor(np.asarray(b, dtype=dt))
    try:
        return apply(Where(), c, a, b)
    except ValueError:
        raise broadcast_error("where", c.shape, a.shape, b.shape) from None


# --- comparisons: boolean results, not differentiable -----------------------
def _compare(ufunc, opname, a, b):
    ops = binary_operands(a, b, opname)
    if ops is None:
        return NotImplemented
    a, b, dt = ops
    av = a._data if isinstance(a, Tensor) else a
    bv = b._data if isinstance(b, Tensor) else b
    try:
        return make_tensor(ufunc(av, bv))
    except ValueError:
        raise broadcast_error(opname, np.shape(av), np.shape(bv)) from None


def eq(a, b): return _compare(np.equal, "eq", a, b)
def ne(a, b): return _compare(np.not_equal, "ne", a, b)
def lt(a, b): return _compare(np.less, "lt", a, b)
def le(a, b): return _compare(np.less_equal, "le", a, b)
def gt(a, b): return _compare(np.greater, "gt", a, b)
def ge(a, b): return _compare(np.greater_equal, "ge", a, b)


def _logical(ufunc, opname, a, b):
    a, b = to_tensor(a), to_tensor(b)
    try:
        return make_tensor(ufunc(a._data, b._data))
    except ValueError:
        raise broadcast_error(opname, a.shape, b.shape) from None


def logical_and(a, b): return _logical(np.logical_and, "logical_and", a, b)
def logical_or(a, b): return _logical(np.logical_or, "logical_or", a, b)
def logical_xor(a, b): return _logical(np.logical_xor, "logical_xor", a, b)
def logical_not(a): return make_tensor(np.logical_not(to_tensor(a)._data))


def _bitwise(ufunc, opname, a, b):
    ops = binary_operands(a, b, opname)
    if ops is None:
        return NotImplemented
    a, b, dt = ops
    if dt.kind not in "iub":
        raise RuntimeError(f"{opname}: only integer and bool tensors are supported, got {dt}")
    av = a._data if isinstance(a, Tensor) else a
    bv = b._data if isinstance(b, Tensor) else b
    try:
        return make_tensor(np.asarray(ufunc(av, bv), dtype=dt))
    except ValueError:
        raise broadcast_error(opname, np.shape(av), np.shape(bv)) from None


def bitwise_and(a, b): return _bitwise(np.bitwise_and, "bitwise_and", a, b)
def bitwise_or(a, b): return _bitwise(np.bitwise_or, "bitwise_or", a, b)
def bitwise_xor(a, b): return _bitwise(np.bitwise_xor, "bitwise_xor", a, b)


def bitwise_not(a):
    a = to_tensor(a)
    if a._data.dtype.kind not in "iub":
        raise RuntimeError(f"bitwise_not: only integer and bool tensors are supported, got {a.dtype}")
    return make_tensor(np.invert(a._data))


def isnan(x): return make_tensor(np.isnan(to_tensor(x)._data))
def isinf(x): return make_tensor(np.isinf(to_tensor(x)._data))
def isfinite(x): return make_tensor(np.isfinite(to_tensor(x)._data))
