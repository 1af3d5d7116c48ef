"""Binary elementwise primitives (+ - * / ** max min where): derivatives beside them.

Broadcasting is undone by the engine, so each rule returns the cotangent at
the broadcast shape. Dtypes follow PyTorch's promotion (``binary_operands``).

Every rule is ``batched``: a cotangent with extra leading dims broadcasts
against the inputs as is; a batched *tangent* of an input with fewer dims than
the output is first lifted (``lift``) so that its batch dims stay in front.
"""
from __future__ import annotations

import numpy as np

from ..autograd.node import Op, apply, apply2, make_tensor
from ..tensor import Tensor
from ._util import (as_float, binary_operands, broadcast_error, lift, quiet,
                    to_tensor)
from .unary import trunc
from ._pool import take as _take
from .declare import method, public


# --- binary functions -------------------------------------------------------
# Large results of + and * (a transformer's residual stream, attention scores times the scale)
# go into pooled warm buffers (ops/_pool.py): a fresh multi-megabyte array per step is paid in
# page faults. Only for an ndarray of at least _BIG bytes with a same-shape, same-dtype array or
# a Python float (float arrays only) as the other operand, where the result's shape and dtype
# are the first operand's; one class test and one size test on the small-array path (W1).
_ND = np.ndarray
_BIG = 1 << 16


def _big(a, b):
    """Whether ``a op b`` is large and has ``a``'s shape and dtype (see above)."""
    return (a.__class__ is _ND and a.nbytes >= _BIG and a.dtype.kind == "f"
            and (b.__class__ is float or (b.__class__ is _ND and b.dtype is a.dtype and b.shape == a.shape)))


class Add(Op):
    """a + b; d/da = d/db = 1. Biases (broadcast over the batch), residual connections."""
    __slots__ = ()
    batched = True
    uses_inputs = False

    def forward(self, a, b):
        if a.__class__ is _ND and a.nbytes >= _BIG and _big(a, b):
            return np.add(a, b, out=_take(a.shape, a.dtype))
        return a + b

    def vjp(self, xp, g, a, b, y):
        return g, g

    def jvp(self, xp, t, a, b, y):
        ta, tb = lift(xp, t[0], a, y), lift(xp, t[1], b, y)
        return ta if tb is None else (tb if ta is None else ta + tb)


def _mul_big(g, x):
    """g * x, into a pooled buffer when it has g's shape and dtype (see _big)."""
    return np.multiply(g, x, out=_take(g.shape, g.dtype)) if _big(g, x) else g * x


class Sub(Op):
    """a - b; d/da = 1, d/db = -1."""
    __slots__ = ()
    batched = True
    uses_inputs = False

    def forward(self, a, b):
        return a - b

    def vjp(self, xp, g, a, b, y):
        return g, (-g if self.needs[1] else None)

    def jvp(self, xp, t, a, b, y):
        ta, tb = lift(xp, t[0], a, y), lift(xp, t[1], b, y)
        return ta if tb is None else (-tb if ta is None else ta - tb)


class Mul(Op):
    """a * b; d/da = b, d/db = a. Gates, masks, scaling."""
    __slots__ = ()
    batched = True

    def used_inputs(self):
        needs = self.needs
        return [i for i, n in ((1, needs[0]), (0, needs[1])) if n]

    def forward(self, a, b):
        if a.__class__ is _ND and a.nbytes >= _BIG and _big(a, b):
            return np.multiply(a, b, out=_take(a.shape, a.dtype))
        return a * b

    def vjp(self, xp, g, a, b, y):
        needs = self.needs
        if g.__class__ is _ND and g.nbytes >= _BIG:
            return ((_mul_big(g, b) if needs[0] else None), (_mul_big(g, a) if needs[1] else None))
        return (g * b if needs[0] else None), (g * a if needs[1] else None)

    def jvp(self, xp, t, a, b, y):
        ta, tb = lift(xp, t[0], a, y), lift(xp, t[1], b, y)
        if tb is None:
            return ta * b
        return tb * a if ta is None else ta * b + a * tb


class Div(Op):
    """a / b; d/da = 1/b, d/db = -a/b^2.

    (Written with a, not the quotient y = a/b, so that the quotient may be written in
    place afterwards, as torch, which saves a and b, allows.)
    """
    __slots__ = ()
    batched = True

    def used_inputs(self):
        return (0, 1) if self.needs[1] else (1,)

    def forward(self, a, b):
        return a / b

    def vjp(self, xp, g, a, b, y):
        ga = g / b
        return (ga if self.needs[0] else None), (-ga * a / b if self.needs[1] else None)

    def jvp(self, xp, t, a, b, y):
        ta, tb = lift(xp, t[0], a, y), lift(xp, t[1], b, y)
        out = None if ta is None else ta / b
        if tb is not None:
            d = -tb * y / b
            out = d if out is None else out + d
        return out


class Pow(Op):
    """a ** b; d/da = b a^(b-1) (0 where b = 0), d/db = a^b log(a) (taken as 0 where a = 0 and
    b >= 0), as PyTorch.

    A number exponent of 0.5 or -0.5 is sqrt(a) or 1/sqrt(a), as torch computes it (so
    (-0) ** 0.5 = -0 and (-inf) ** 0.5 = NaN); a^(b-1) in d/da likewise. x ** 0 has the
    gradient 0 everywhere, also at x = inf or NaN (not 0 * inf = NaN), as torch.
    """
    __slots__ = ()
    batched = True

    @property
    def uses_output(self):
        return self.needs[1]  # y appears only in d/db

    def forward(self, a, b):
        if b.__class__ is float:
            if b == 0.5:
                return np.sqrt(a)
            if b == -0.5:
                with quiet():
                    return np.reciprocal(np.sqrt(a))
        return np.power(a, b)

    def _da(self, xp, a, b):
        if isinstance(b, (int, float)):
            if b == 2:
                return 2 * a
            return b * _number_power(xp, a, b - 1)
        return b * a ** (b - 1)

    def _db(self, xp, a, b, y):
        with quiet():
            if isinstance(a, (int, float)):  # a number base (2 ** x): its log as a float64 number
                return xp.where(b >= 0, 0.0, y * -np.inf) if a == 0 else y * float(np.log(a))
            return xp.where((a == 0) & (b >= 0), 0.0, y * xp.log(a))

    def _zero_exponent(self, xp, g, b):
        """d/da where the exponent is 0: exactly 0 (torch), even for an inf or NaN g or a."""
        if isinstance(b, (int, float)):
            return xp.zeros(tuple(g.shape), g.dtype) if b == 0 else None
        return b == 0

    def vjp(self, xp, g, a, b, y):
        needs = self.needs
        with quiet():
            ga = None
            if needs[0]:
                zero = self._zero_exponent(xp, g, b)
                if zero is None:
                    ga = g * self._da(xp, a, b)
                elif isinstance(b, (int, float)):
                    ga = zero
                else:  # torch: where(b == 0, 0, g * b a^(b-1)), so a NaN g does not leak either
                    ga = xp.where(zero, 0.0, g * self._da(xp, a, b))
            return ga, (g * self._db(xp, a, b, y) if needs[1] else None)

    def jvp(self, xp, t, a, b, y):
        ta, tb = lift(xp, t[0], a, y), lift(xp, t[1], b, y)
        out = None
        if ta is not None:
            with quiet():
                zero = self._zero_exponent(xp, ta, b)
                if zero is None:
                    out = ta * self._da(xp, a, b)
                elif isinstance(b, (int, float)):
                    out = zero
                else:
                    out = xp.where(zero, 0.0, ta * self._da(xp, a, b))
        if tb is not None:
            d = tb * self._db(xp, a, b, y)
            out = d if out is None else out + d
        return out


def _number_power(xp, a, e):
    """a ** e for a number e, with torch's kernels for e = 0.5 (sqrt) and -0.5 (1/sqrt)."""
    if e == 0.5:
        return xp.sqrt(a)
    if e == -0.5:
        return 1 / xp.sqrt(a)
    return a ** e


class Maximum(Op):
    """max(a, b) elementwise; the gradient goes to the larger, split in half at ties (as PyTorch)."""
    __slots__ = ()
    batched = True
    pick = staticmethod(np.maximum)

    def forward(self, a, b):
        return self.pick(a, b)

    def _masks(self, xp, a, b):
        return a > b, b > a

    def vjp(self, xp, g, a, b, y):
        # torch's rule: g (halved at ties) except where the other operand wins; with a NaN
        # neither wins, so both get g
        half = xp.where(a == b, g * 0.5, g)
        wa, wb = self._masks(xp, a, b)
        return ((xp.masked(half, ~wb) if self.needs[0] else None),
                (xp.masked(half, ~wa) if self.needs[1] else None))

    def jvp(self, xp, t, a, b, y):
        ta, tb = lift(xp, t[0], a, y), lift(xp, t[1], b, y)
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
    batched = True
    pick = staticmethod(np.minimum)

    def _masks(self, xp, a, b):
        return a < b, b < a


class Remainder(Op):
    """a mod b (sign of b, Python's and PyTorch's %); d/da = 1, d/db = -floor(a/b)."""
    __slots__ = ()
    batched = True

    def forward(self, a, b):
        with quiet():
            return np.remainder(a, b)

    def vjp(self, xp, g, a, b, y):
        return g, (-g * xp.floor(a / b) if self.needs[1] else None)

    def jvp(self, xp, t, a, b, y):
        ta, tb = lift(xp, t[0], a, y), lift(xp, t[1], b, y)
        if tb is None:
            return ta
        d = -tb * xp.floor(a / b)
        return d if ta is None else ta + d


class Fmod(Remainder):
    """a mod b with the sign of a (C's fmod, torch.fmod); d/da = 1, d/db = -trunc(a/b)."""
    __slots__ = ()

    def forward(self, a, b):
        with quiet():
            return np.fmod(a, b)

    def vjp(self, xp, g, a, b, y):
        q = a / b
        return g, (-g * (q - xp.fmod(q, 1.0)) if self.needs[1] else None)

    def jvp(self, xp, t, a, b, y):
        ta, tb = lift(xp, t[0], a, y), lift(xp, t[1], b, y)
        if tb is None:
            return ta
        q = a / b
        d = -tb * (q - xp.fmod(q, 1.0))
        return d if ta is None else ta + d


class Atan2(Op):
    """atan2(a, b), the angle of the point (b, a); d/da = b / r^2, d/db = -a / r^2, r^2 = a^2 + b^2
    (both 0 where r^2 = 0 in reverse mode, NaN in forward mode, as torch)."""
    __slots__ = ()
    batched = True

    def forward(self, a, b):
        return np.arctan2(a, b)

    @staticmethod
    def _recip(xp, a, b):
        """1 / r^2, taken as 0 where r^2 = 0 (the origin, or an underflow), as torch: the
        gradient at (0, 0) is 0, not 0 / 0 = NaN."""
        with quiet():
            r2 = a * a + b * b
            return xp.where(r2 == 0, 0.0, 1 / r2)

    def vjp(self, xp, g, a, b, y):
        recip = self._recip(xp, a, b)
        return ((g * b * recip if self.needs[0] else None), (-g * a * recip if self.needs[1] else None))

    def jvp(self, xp, t, a, b, y):
        # torch's forward-mode formula divides by r^2 unmasked: NaN at the origin, as torch
        ta, tb = lift(xp, t[0], a, y), lift(xp, t[1], b, y)
        with quiet():
            r2 = a * a + b * b
            out = None if ta is None else ta * b / r2
            if tb is not None:
                d = -tb * a / r2
                out = d if out is None else out + d
        return out


class Where(Op):
    """cond ? a : b; the gradient goes to the branch that was selected.

    The unselected branch gets 0, but a NaN or inf computed in it still
    poisons the product 0 * inf: mask the *input* of the unsafe op too (the
    "double where": ``where(x > 0, log(where(x > 0, x, 1)), 0)``).
    """
    __slots__ = ()
    batched = True
    uses_inputs = True

    def used_inputs(self):
        return (0,)

    def forward(self, c, a, b):
        return np.where(c, a, b)

    def vjp(self, xp, g, c, a, b, y):
        # a true 0 for the unselected branch, not g * 0: a NaN cotangent (a fully
        # masked softmax row) must not leak into the branch that was not taken
        return (None,
                xp.where(c, g, 0) if self.needs[1] else None,
                xp.where(c, 0, g) if self.needs[2] else None)

    def jvp(self, xp, t, c, a, b, y):
        ta, tb = lift(xp, t[1], a, y), lift(xp, t[2], b, y)
        # a branch without tangent contributes an exact 0 (not y * 0: NaN where y is +-inf,
        # as in a -inf-masked attention row)
        if ta is None:
            return xp.where(c, 0.0, tb)
        if tb is None:
            return xp.where(c, ta, 0.0)
        return xp.where(c, ta, tb)


def _binary(cls, a, b, opname, to_float=False):
    """Promote, then apply; ``to_float``: integer results become the default float (div, atan2)."""
    ops = binary_operands(a, b, opname)
    if ops is None:
        raise TypeError(f"{opname}: unsupported operand types {type(a).__name__} and {type(b).__name__}")
    a, b, dt = ops
    if to_float and dt.kind not in "fc":
        a = as_float(a) if isinstance(a, Tensor) else float(a)
        b = as_float(b) if isinstance(b, Tensor) else float(b)
    try:
        return apply2(cls(), a, b)
    except ValueError as e:
        raise _shape_error(opname, a, b, e) from None


def operator(cls, opname, reflected=False):
    """The Tensor dunder for a binary primitive (returns NotImplemented for foreign operands)."""
    def dunder(self, other):
        ops = binary_operands(other, self, opname) if reflected else binary_operands(self, other, opname)
        if ops is None:
            return NotImplemented
        try:
            return apply2(cls(), ops[0], ops[1])
        except ValueError as e:
            raise _shape_error(opname, ops[0], ops[1], e) from None
        except TypeError as e:  # NumPy refusing a dtype (bool - bool): torch says RuntimeError
            raise RuntimeError(f"{opname}: {e}") from None
    return dunder


def _shape_error(opname, a, b, e):
    sa = a.shape if isinstance(a, Tensor) else ()
    sb = b.shape if isinstance(b, Tensor) else ()
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        return broadcast_error(opname, sa, sb)
    return RuntimeError(f"{opname}: {e}")


@public
def add(a, b, alpha=1):
    if alpha != 1:
        b = mul(b, alpha)
    return _binary(Add, a, b, "add")


@public(aliases=('subtract',))
def sub(a, b, alpha=1):
    if alpha != 1:
        b = mul(b, alpha)
    if isinstance(a, Tensor) and a._data.dtype.kind == "b" and isinstance(b, Tensor) and b._data.dtype.kind == "b":
        raise RuntimeError("sub: subtraction of two bool tensors is not supported; use logical_xor() instead")
    return _binary(Sub, a, b, "sub")


@public(aliases=('multiply',), inplace='binary')
def mul(a, b):
    return _binary(Mul, a, b, "mul")


@public(aliases=('divide', 'true_divide'), inplace='binary')
def div(a, b, rounding_mode=None):
    """a / b: true division; integer inputs give the default float, as in PyTorch.

    rounding_mode 'floor' is ``floor_divide``; 'trunc' rounds toward zero (exactly, in the
    integer dtype, for integer inputs)."""
    if rounding_mode is None:
        return _true_div(a, b)
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode != "trunc":
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found {rounding_mode!r}")
    ops = binary_operands(a, b, "div")
    if ops is None:
        raise TypeError(f"div: unsupported operand types {type(a).__name__} and {type(b).__name__}")
    a, b, dt = ops
    if dt.kind not in "iub":
        return trunc(_true_div(a, b))
    _check_divisor("div", a, b, dt, "div_trunc")
    av = a._data if isinstance(a, Tensor) else a
    bv = b._data if isinstance(b, Tensor) else b
    try:
        with quiet():
            q, r = np.divmod(av, bv)  # floor quotient; r has the sign of b
    except ValueError as e:
        raise _shape_error("div", a, b, e) from None
    q = q + ((r != 0) & ((np.asarray(av) < 0) != (np.asarray(bv) < 0)))  # floor -> toward zero
    return make_tensor(np.asarray(q, dtype=dt))


def _true_div(a, b):
    return _binary(Div, a, b, "div", to_float=True)


_SYMBOL = {"remainder": "%", "fmod": "fmod", "floor_divide": "//", "div": "/"}


def _check_divisor(opname, a, b, dt, kernel=None):
    """Integer and bool division, as torch: a bool quotient is not implemented, and an integer
    division by zero raises (NumPy would quietly give 0). Call only for integer or bool ``dt``:
    float division by zero is inf or NaN, with no check."""
    if dt.kind == "b":
        raise NotImplementedError(f"{opname}: not implemented for bool tensors "
                                  f"(torch: \"{kernel or opname}_cpu\" not implemented for 'Bool')")
    bv = b._data if isinstance(b, Tensor) else b
    zero = np.equal(bv, 0)
    if not zero.any():
        return
    av = a._data if isinstance(a, Tensor) else a
    try:
        shape = np.broadcast_shapes(np.shape(av), np.shape(bv))
    except ValueError:
        raise broadcast_error(opname, np.shape(av), np.shape(bv)) from None
    zero = np.broadcast_to(zero, shape)
    if zero.size == 0:  # nothing is divided (torch runs no kernel on an empty result)
        return
    where = tuple(int(i) for i in np.argwhere(zero)[0])
    dividend = np.broadcast_to(np.asarray(av), shape)[where]
    at = f" at index {where}" if shape else ""
    raise RuntimeError(f"{opname}: ZeroDivisionError: integer division by zero: the divisor is 0 in "
                       f"{int(np.count_nonzero(zero))} of {zero.size} places (first{at}: "
                       f"{dividend} {_SYMBOL[opname]} 0)")


@public(inplace='binary')
def floor_divide(a, b):
    """a // b rounded toward -inf (PyTorch >= 1.13); not differentiable (gradient 0)."""
    ops = binary_operands(a, b, "floor_divide")
    if ops is None:
        raise TypeError(f"floor_divide: unsupported operand types {type(a).__name__} and {type(b).__name__}")
    a, b, dt = ops
    if dt.kind in "iub":
        _check_divisor("floor_divide", a, b, dt, "div_floor")
    av = a._data if isinstance(a, Tensor) else a
    bv = b._data if isinstance(b, Tensor) else b
    try:
        with quiet():
            out = np.floor_divide(av, bv)
    except ValueError as e:
        raise _shape_error("floor_divide", a, b, e) from None
    return make_tensor(np.asarray(out, dtype=dt))


def _integer_checked(cls, a, b, opname):
    """``_binary`` for remainder and fmod: an integer divisor of 0 raises (see _check_divisor)."""
    ops = binary_operands(a, b, opname)
    if ops is None:
        raise TypeError(f"{opname}: unsupported operand types {type(a).__name__} and {type(b).__name__}")
    a, b, dt = ops
    if dt.kind in "iub":
        _check_divisor(opname, a, b, dt)
    try:
        return apply2(cls(), a, b)
    except ValueError as e:
        raise _shape_error(opname, a, b, e) from None


@public(inplace='binary')
def remainder(a, b):
    return _integer_checked(Remainder, a, b, "remainder")


@public(inplace='binary')
def fmod(a, b):
    return _integer_checked(Fmod, a, b, "fmod")


@public(aliases=('arctan2',), inplace='binary')
def atan2(input, other):
    """The angle of (other, input) in (-pi, pi]; integer inputs give the default float."""
    return _binary(Atan2, input, other, "atan2", to_float=True)




@public(inplace='binary')
def pow(a, b):
    """a ** b for tensor or scalar base and exponent."""
    ops = binary_operands(a, b, "pow")
    if ops is None:
        raise TypeError(f"pow: unsupported operand types {type(a).__name__} and {type(b).__name__}")
    a, b, dt = ops
    if dt.kind in "iu":
        if not isinstance(b, Tensor):
            if b < 0:  # as torch: a Python exponent may not be a negative integer
                raise RuntimeError("pow: Integers to negative integer powers are not allowed.")
        elif (b._data < 0).any():
            try:
                return make_tensor(_integer_pow(a._data if isinstance(a, Tensor) else a, b._data, dt))
            except ValueError as e:
                raise _shape_error("pow", a, b, e) from None
    try:
        return apply(Pow(), a, b)
    except ValueError as e:
        raise _shape_error("pow", a, b, e) from None


def _integer_pow(base, exp, dt):
    """Integer a ** b with negative exponents in b, as torch: 1 ** -n = 1,
    (-1) ** -n = +-1 by parity, and 0 for every other base (the quotient truncated)."""
    base = np.asarray(base, dtype=dt)
    base, exp = np.broadcast_arrays(base, exp)
    negative = exp < 0
    out = np.power(base, np.where(negative, 0, exp)).astype(dt, copy=False)
    odd = (exp % 2) != 0
    inverse = np.where(base == 1, 1, np.where(base == -1, np.where(odd, -1, 1), 0))
    return np.where(negative, inverse, out).astype(dt, copy=False)


@public
def maximum(a, b):
    return any_maximum(a, _tensor_arg(b, "maximum"))


@public
def minimum(a, b):
    return any_minimum(a, _tensor_arg(b, "minimum"))


def any_maximum(a, b):
    """maximum that also takes a number (NumPy's np.maximum; the recorded backward's xp.maximum)."""
    return _binary(Maximum, to_tensor(a), b, "maximum")


def any_minimum(a, b):
    return _binary(Minimum, to_tensor(a), b, "minimum")


def _tensor_arg(b, opname):
    """torch.maximum/minimum take a Tensor ``other`` (clamp is the form for a number)."""
    if not isinstance(b, (Tensor, np.ndarray)):
        raise TypeError(f"{opname}(): argument 'other' must be Tensor, not {type(b).__name__} "
                        f"(use clamp for a number)")
    return b


@public(method=False)
def where(condition, input=None, other=None):
    """Select from ``input`` where ``condition`` holds, else ``other`` (broadcast together)."""
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, (Tensor, np.ndarray)):
        raise TypeError(f"where(): argument 'condition' must be a bool Tensor, not {type(condition).__name__}")
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




@method("where")
def where_method(input, condition, other):
    """``x.where(condition, y)``: torch's method form of ``where(condition, x, y)``."""
    return where(condition, input, other)
