"""Signs, fractional parts, unit changes and the elementwise helpers tutorials reach for.

frac, sgn, signbit, copysign, heaviside, xlogy, sinc, deg2rad/rad2deg, logit, float_power,
isposinf/isneginf/isreal and the one-sided clamps. Every differentiable one is composed from
differentiable ops (masks are computed without gradient and select with ``where``), so its
gradient, second derivative and forward mode come for free. Where a formula would divide by
0 or take log(0) in a branch that ``where`` discards, the operand is made safe first, so the
discarded branch cannot turn a 0 cotangent into NaN (the "double where").
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from ..autograd.node import make_tensor
from ..tensor import Tensor
from . import elementwise as ew
from ._util import as_float, cast, result_dtype, scalar_value, to_tensor
from .declare import method, public


def _float_pair(input, other, opname):
    """Both operands as tensors of their promoted dtype, made floating (the default float for
    integers and bools), as torch's float-valued binary functions."""
    a = input if isinstance(input, Tensor) else None
    b = other if isinstance(other, Tensor) else None
    if a is None and b is None:
        raise TypeError(f"{opname}(): expected at least one Tensor argument")
    operands = [o if isinstance(o, Tensor) else scalar_value(o) for o in (input, other)]
    if any(o is None for o in operands):
        bad = input if operands[0] is None else other
        raise TypeError(f"{opname}(): argument must be a Tensor or a number, not {type(bad).__name__}")
    dt = result_dtype(operands)
    if dt.kind not in "fc":
        dt = _dtype._default.value
    out = []
    for o in operands:
        if isinstance(o, Tensor):
            out.append(cast(o, dt))
        else:
            out.append(make_tensor(np.asarray(o, dtype=dt)))
    return out[0], out[1]


def _data(t):
    return t.detach().numpy()


@public(inplace="unary")
def frac(input):
    """x - trunc(x): the fractional part, with x's sign; d/dx = 1 (trunc's derivative is 0).
    Positional encodings and periodic features wrap a phase with it."""
    x = to_tensor(input, "frac")
    if x.dtype.kind not in "fc":
        raise NotImplementedError(f"\"frac_cpu\" not implemented for '{_dtype.dtype_name(x.dtype)}'")
    return ew.sub(x, ew.trunc(x))


@public(inplace="unary")
def sgn(input):
    """sign(x) for real x; x / |x| (0 at 0) for complex x, the complex generalisation."""
    x = to_tensor(input, "sgn")
    if x.dtype.kind != "c":
        return ew.sign(x)
    magnitude = ew.abs(x)
    zero = make_tensor(_data(magnitude) == 0)
    safe = ew.where(zero, 1.0, magnitude)
    return ew.where(zero, make_tensor(np.zeros((), x.dtype)), ew.div(x, cast(safe, x.dtype)))


@public
def signbit(input):
    """Whether the sign bit is set (True for -0.0 and negative values); no derivative."""
    x = to_tensor(input, "signbit")
    if x.dtype.kind == "c":
        raise RuntimeError("signbit is not implemented for complex tensors.")
    a = _data(x)
    return make_tensor(np.signbit(a) if a.dtype.kind == "f" else (a < 0) if a.dtype.kind == "i"
                       else np.zeros(a.shape, bool))


@public(inplace="binary")
def copysign(input, other):
    """|input| with the sign of ``other`` (its sign bit: -0.0 counts as negative), a float.
    d/dinput = sign(input) * sign(result) (0 at input = 0, as torch); ``other`` gets none."""
    x, y = _float_pair(input, other, "copysign")
    negative = make_tensor(np.signbit(_data(y)))
    magnitude = ew.abs(x)
    out = ew.where(negative, ew.neg(magnitude), magnitude)
    if y.requires_grad:  # torch gives ``other`` a zero gradient, not none: add 0 * y (NaN and inf masked)
        out = ew.add(out, ew.mul(ew.where(make_tensor(np.isfinite(_data(y))), y, 0.0), 0.0))
    return out


@public(inplace="binary")
def heaviside(input, values):
    """The step function: 0 for x < 0, ``values`` where x == 0, 1 for x > 0 (NaN gives 0, as
    torch). input and values must have the same dtype; no derivative."""
    x = to_tensor(input, "heaviside")
    if not isinstance(values, Tensor):
        raise TypeError(f"heaviside(): argument 'values' (position 2) must be Tensor, not {type(values).__name__}")
    if x.dtype != values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    if x.dtype.kind == "c":
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    a, v = _data(x), _data(values)
    try:
        shape = np.broadcast_shapes(a.shape, v.shape)
    except ValueError:
        from ._util import broadcast_error
        raise broadcast_error("heaviside", a.shape, v.shape) from None
    out = np.where(a == 0, v, (a > 0).astype(a.dtype))
    return make_tensor(np.broadcast_to(out, shape).astype(a.dtype))


@public(inplace="binary")
def xlogy(input, other):
    """x * log(y), and 0 where x == 0 (unless y is NaN), as torch: the entropy and KL terms
    p log p, p log q with 0 log 0 = 0. d/dx = log(y) (0 where x == 0 and y <= 0), d/dy = x / y."""
    x, y = _float_pair(input, other, "xlogy")
    a, b = _data(x), _data(y)
    degenerate = make_tensor((a == 0) & (b <= 0))
    safe_y = ew.where(degenerate, 1.0, y)
    return ew.mul(x, ew.log(safe_y))


@public(inplace="unary")
def sinc(input):
    """sin(pi x) / (pi x), 1 at x = 0 (the normalized sinc, the ideal low-pass filter's kernel);
    the derivative at 0 is 0."""
    x = as_float(to_tensor(input, "sinc"))
    zero = make_tensor(_data(x) == 0)
    safe = ew.mul(ew.where(zero, 1.0, x), math.pi)
    return ew.where(zero, 1.0, ew.div(ew.sin(safe), safe))


@public(inplace="unary")
def deg2rad(input):
    """x * pi / 180."""
    return ew.mul(as_float(to_tensor(input, "deg2rad")), math.pi / 180.0)


@public(inplace="unary")
def rad2deg(input):
    """x * 180 / pi."""
    return ew.mul(as_float(to_tensor(input, "rad2deg")), 180.0 / math.pi)


@public(inplace="unary")
def logit(input, eps=None):
    """log(z / (1 - z)) with z = clamp(x, eps, 1 - eps) (z = x when eps is None): the inverse of
    sigmoid, probabilities back to scores. d/dx = 1 / (x (1 - x)) inside [eps, 1 - eps], 0 outside."""
    x = as_float(to_tensor(input, "logit"))
    z = x if eps is None else ew.clamp(x, float(eps), 1.0 - float(eps))
    return ew.log(ew.div(z, ew.sub(1.0, z)))


@public
def float_power(input, exponent):
    """input ** exponent computed in double precision (complex128 if either is complex), as torch."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power(): expected at least one Tensor argument")
    complex_ = any((isinstance(o, Tensor) and o.dtype.kind == "c") or isinstance(o, complex)
                   for o in (input, exponent))
    dt = np.dtype(np.complex128 if complex_ else np.float64)

    def up(o):
        if isinstance(o, Tensor):
            return cast(o, dt)
        s = scalar_value(o)
        if s is None:
            raise TypeError(f"float_power(): argument must be a Tensor or a number, not {type(o).__name__}")
        return complex(s) if complex_ else float(s)

    return ew.pow(up(input), up(exponent))


@method("float_power_")
def float_power_(self, exponent):
    """In place: only a tensor of the result's dtype (float64, or complex128) can hold it, as torch."""
    complex_ = self.dtype.kind == "c" or isinstance(exponent, complex) or (
        isinstance(exponent, Tensor) and exponent.dtype.kind == "c")
    want = np.dtype(np.complex128 if complex_ else np.float64)
    if self.dtype != want:
        raise RuntimeError(f"the base given to float_power_ has dtype {_dtype.dtype_name(self.dtype)} but the "
                           f"operation's result requires dtype {_dtype.dtype_name(want)}")
    from ..inplace import inplace_unary  # the in-place machinery sits a layer above the ops

    return inplace_unary(self, lambda x: float_power(x, exponent), "float_power_")


def _is_inf(input, opname, sign):
    x = to_tensor(input, opname)
    if x.dtype.kind == "c":
        raise RuntimeError(f"{opname} does not support complex inputs.")
    a = _data(x)
    return make_tensor(a == sign * np.inf if a.dtype.kind == "f" else np.zeros(a.shape, bool))


@public
def isposinf(input):
    """Whether each element is +inf."""
    return _is_inf(input, "isposinf", 1)


@public
def isneginf(input):
    """Whether each element is -inf."""
    return _is_inf(input, "isneginf", -1)


@public
def isreal(input):
    """Whether each element is real: True for every real dtype, imag == 0 for complex ones."""
    a = _data(to_tensor(input, "isreal"))
    return make_tensor(a.imag == 0 if a.dtype.kind == "c" else np.ones(a.shape, bool))


@public(inplace="unary")
def clamp_min(input, min):
    """max(x, min): clamp from below (relu is clamp_min(x, 0))."""
    return ew.clamp(input, min=min)


@public(inplace="unary")
def clamp_max(input, max):
    """min(x, max): clamp from above."""
    return ew.clamp(input, max=max)
