"""Special functions and information theory (torch.special, plus entropy and KL).

The torch.special names (``expit``, ``logit``, ``erf``, ``erfc``, ``ndtr``,
``log_ndtr``, ``xlogy``, ``entr``, ``softmax``, ``log_softmax``,
``logsumexp``, ...) mirror PyTorch. Beyond torch, three functions of
probability vectors along ``dim``:

* ``entropy(p)``        H(p)     = -sum p log p           (uncertainty of p)
* ``cross_entropy(p, q)`` H(p, q)  = -sum p log q           (the classification loss)
* ``kl_div(p, q)``      KL(p||q) = sum p log(p / q) = H(p, q) - H(p) >= 0

KL is not symmetric: KL(p||q) != KL(q||p) in general. KL(p||q) is infinite
where q = 0 < p ("q misses mass of p"), while KL(q||p) ignores those points.
Minimising KL(data||model) (maximum likelihood) makes the model cover every
mode of the data; minimising KL(model||data) makes it pick one.

Convention everywhere: 0 log 0 = 0, and its gradient there is taken as 0.
The true one-sided derivative of p log p at 0 is -inf, but 0 is what the
chain rule needs: d/dz of the entropy of softmax(z) tends to 0 as a
probability underflows, so an exact zero does not turn the gradient into
``0 * inf = NaN`` (``entr`` keeps PyTorch's +inf, for parity).
"""
from __future__ import annotations

import numpy as np
from scipy import special as _sp

from . import _dtype
from .autograd.node import Op, apply, make_tensor
from .ops import elementwise as _ew, reduction as _red
from .ops._util import as_float, binary_operands, cast, quiet, to_tensor
from .tensor import Tensor

__all__ = ["expit", "logit", "erf", "erfc", "ndtr", "log_ndtr", "xlogy", "xlog1py", "entr", "expm1",
           "log1p", "exp2", "softmax", "log_softmax", "logsumexp", "entropy", "cross_entropy", "kl_div"]

_SQRT1_2 = 0.7071067811865476          # 1 / sqrt(2)
_TWO_OVER_SQRT_PI = 1.1283791670955126  # 2 / sqrt(pi)
_INV_SQRT_2PI = 0.3989422804014327      # 1 / sqrt(2 pi)


def _float(x, name):
    return as_float(to_tensor(x, name))


def _keep_dtype(y: Tensor, x: Tensor) -> Tensor:
    """y in x's floating dtype, as PyTorch's elementwise functions return it.

    scipy's ``expit`` and ``erf`` have no float16 loop: NumPy runs their
    float64 one, so the ``sigmoid`` and ``erf`` primitives return float64
    for a float16 input. Cast back (differentiably) here until they do it
    themselves; for float32 and float64 this is a no-op.
    """
    return cast(y, x._data.dtype) if y._data.dtype != x._data.dtype else y


# --- primitives ---------------------------------------------------------------
class Erfc(Op):
    """erfc(x) = 1 - erf(x), accurate where erf(x) is near 1; d/dx = -2/sqrt(pi) exp(-x^2).

    A primitive (not ``1 - erf``): 1 - erf(x) cancels to 0 for x > ~4 in float32,
    while erfc keeps its value down to 1e-45. ``ndtr`` and exact GELU use it.
    """
    __slots__ = ()
    uses_inputs = True

    def forward(self, x):
        return _sp.erfc(x).astype(x.dtype, copy=False)

    def vjp(self, xp, g, x, y):
        return (g * (-_TWO_OVER_SQRT_PI * xp.exp(-x * x)),)

    def jvp(self, xp, t, x, y):
        return t[0] * (-_TWO_OVER_SQRT_PI * xp.exp(-x * x))


class LogNdtr(Op):
    """log Phi(x), the log of the standard normal CDF, stable in both tails (scipy's log_ndtr).

    log(ndtr(x)) is -inf below x ~ -38 (float64) as Phi underflows; this is
    -x^2/2 - log(-x) - log(sqrt(2 pi)) + ... there. d/dx = phi(x) / Phi(x) =
    exp(-x^2/2 - log Phi(x)) / sqrt(2 pi) (PyTorch's formula), never 0/0.
    """
    __slots__ = ()
    uses_output = True

    def forward(self, x):
        return _sp.log_ndtr(x).astype(x.dtype, copy=False)

    def _slope(self, xp, x, y):
        return xp.exp(-0.5 * x * x - y) * _INV_SQRT_2PI

    def vjp(self, xp, g, x, y):
        return (g * self._slope(xp, x, y),)

    def jvp(self, xp, t, x, y):
        return t[0] * self._slope(xp, x, y)


class Entr(Op):
    """entr(x) = -x log x (x > 0), 0 (x = 0), -inf (x < 0), as torch.special.entr.

    d/dx = -(1 + log x): +inf at 0 and NaN below 0, PyTorch's values. A
    primitive so the gradient at 0 is PyTorch's +inf; ``entropy`` uses
    ``xlogy`` instead, whose gradient at 0 is 0 (see the module docstring).
    """
    __slots__ = ()

    def forward(self, x):
        with quiet():
            out = -x * np.log(x)
        out = np.where(x == 0, 0, out)
        return np.where(x < 0, -np.inf, out).astype(x.dtype, copy=False)

    def vjp(self, xp, g, x, y):
        with quiet():
            return (g * -(xp.log(x) + 1),)

    def jvp(self, xp, t, x, y):
        with quiet():
            return t[0] * -(xp.log(x) + 1)


# --- torch.special functions -------------------------------------------------
def expit(input):
    """The logistic sigmoid 1 / (1 + exp(-x)) (torch.special.expit)."""
    x = _float(input, "expit")
    return _keep_dtype(_ew.sigmoid(x), x)


def logit(input, eps=None):
    """log(x / (1 - x)), the inverse of expit; with ``eps``, x is first clamped to [eps, 1 - eps].

    Written log(x) - log1p(-x): d/dx = 1/x + 1/(1 - x) = 1 / (x (1 - x)).
    """
    x = _float(input, "logit")
    if eps is not None:
        x = _ew.clamp(x, eps, 1 - eps)
    return _ew.log(x) - _ew.log1p(-x)


def erf(input):
    """The error function 2/sqrt(pi) int_0^x exp(-u^2) du; d/dx = 2/sqrt(pi) exp(-x^2)."""
    x = _float(input, "erf")
    return _keep_dtype(_ew.erf(x), x)


def erfc(input):
    """Complementary error function 1 - erf(x), without the cancellation."""
    return apply(Erfc(), _float(input, "erfc"))


def ndtr(input):
    """Standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2; d/dx = phi(x), the normal density."""
    x = _float(input, "ndtr")
    return erfc(x * -_SQRT1_2) * 0.5


def log_ndtr(input):
    """log Phi(x), finite for every finite x (log(ndtr(x)) is -inf for x < -38)."""
    return apply(LogNdtr(), _float(input, "log_ndtr"))


def _float_pair(input, other, name):
    """Both operands as Tensors of their common floating dtype (PyTorch's promotion)."""
    input, other = [to_tensor(v, name) if isinstance(v, (list, tuple)) else v for v in (input, other)]
    ops = binary_operands(input, other, name)
    if ops is None:
        raise TypeError(f"{name}: unsupported operand types {type(input).__name__} and {type(other).__name__}")
    a, b, dt = ops
    if dt.kind not in "fc":
        dt = _dtype.default_dtype()
    return [cast(v, dt) if isinstance(v, Tensor) else make_tensor(np.asarray(v, dtype=dt)) for v in (a, b)]


def xlogy(input, other):
    """x * log(y), with 0 where x = 0 (unless y is NaN), as torch.special.xlogy.

    The "double where": y is replaced by 1 where x = 0 and log(y) would be
    -inf or NaN, so neither the value nor the gradient sees 0 * inf. The
    gradient is log(y) for x and x / y for y; at x = y = 0 both are 0.
    """
    x, y = _float_pair(input, other, "xlogy")
    with quiet():
        yv = y._data
        bad = (x._data == 0) & ((yv <= 0) | np.isinf(yv))
    safe = _ew.where(to_tensor(bad), 1.0, y) if bad.any() else y
    return x * _ew.log(safe)


def xlog1py(input, other):
    """x * log1p(y), with 0 where x = 0 (unless y is NaN)."""
    x, y = _float_pair(input, other, "xlog1py")
    with quiet():
        yv = y._data
        bad = (x._data == 0) & ((yv <= -1) | np.isinf(yv))
    safe = _ew.where(to_tensor(bad), 0.0, y) if bad.any() else y
    return x * _ew.log1p(safe)


def entr(input):
    """Elementwise entropy term -x log x (0 at 0, -inf for x < 0), as torch.special.entr."""
    return apply(Entr(), _float(input, "entr"))


def expm1(input):
    return _ew.expm1(input)


def log1p(input):
    return _ew.log1p(input)


def exp2(input):
    return _ew.pow(2.0, _float(input, "exp2"))


def softmax(input, dim, *, dtype=None):
    return _red.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    return _red.log_softmax(input, dim, dtype=dtype)


def logsumexp(input, dim, keepdim=False):
    return _red.logsumexp(input, dim, keepdim)


# --- information theory of probability vectors --------------------------------
def entropy(p, dim=-1, keepdim=False):
    """Shannon entropy H(p) = -sum_i p_i log p_i (nats) along ``dim``; 0 log 0 = 0.

    Maximal (log n) for the uniform distribution, 0 for a one-hot one. The
    entropy of softmax(z / T) grows with the temperature T.

    >>> import dlmath as dm
    >>> round(dm.special.entropy(dm.tensor([0.5, 0.5])).item(), 4)
    0.6931
    """
    p = _float(p, "entropy")
    return -_red.sum(xlogy(p, p), dim, keepdim)


def cross_entropy(p, q, dim=-1, keepdim=False):
    """Cross-entropy H(p, q) = -sum_i p_i log q_i along ``dim``: the expected code length of p under q.

    H(p, q) = H(p) + KL(p||q) >= H(p). With one-hot p it is -log q[target],
    the classification loss (``dm.nn.functional.cross_entropy`` takes logits instead).
    """
    p, q = _float_pair(p, q, "cross_entropy")
    return -_red.sum(xlogy(p, q), dim, keepdim)


def kl_div(p, q, dim=-1, keepdim=False):
    """KL(p||q) = sum_i p_i log(p_i / q_i) along ``dim``: >= 0, zero iff p = q, and asymmetric.

    KL(p||q) != KL(q||p): it is +inf where q_i = 0 < p_i, while terms with
    p_i = 0 contribute 0 whatever q_i is. Note the argument order: here p is
    the reference ("true") distribution, as in the formula; the loss
    ``dm.nn.functional.kl_div(input, target)`` takes log q first and p second.

    >>> import dlmath as dm
    >>> p, q = dm.tensor([0.9, 0.1]), dm.tensor([0.5, 0.5])
    >>> round(dm.special.kl_div(p, q).item(), 4), round(dm.special.kl_div(q, p).item(), 4)
    (0.3681, 0.5108)
    """
    p, q = _float_pair(p, q, "kl_div")
    # p log(p/q) rather than p log p - p log q: no cancellation when p ~ q
    zero = p._data == 0
    q_safe = _ew.where(to_tensor(zero), 1.0, q) if zero.any() else q
    return _red.sum(xlogy(p, p / q_safe), dim, keepdim)
