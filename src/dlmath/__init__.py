"""dlmath: the mathematics of deep learning, executable.

``import dlmath as dm`` mirrors ``import torch``: tensors on NumPy with
reverse-mode autodiff, PyTorch's names and semantics.
"""
from ._dtype import (bool_ as bool, uint8, int8, int16, int32, int64, float16, float32, float64,
                     complex64, complex128, half, float, double, short, int, long, cfloat, cdouble,
                     get_default_dtype, set_default_dtype)
from ._grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from .tensor import Tensor, Size, Device as device
from . import _methods  # noqa: F401  (binds operators and methods onto Tensor)
from . import _alloc  # noqa: F401  (leaves malloc as found; DLMATH_MALLOC_TUNING=1 opts in, see _alloc)
from .creation import (tensor, as_tensor, from_numpy, zeros, ones, empty, full, zeros_like, ones_like,
                       empty_like, full_like, eye, arange, linspace, logspace, rand, randn, randint,
                       randperm, rand_like, randn_like, randint_like)
from .random import Generator, manual_seed, seed, initial_seed, get_rng_state, set_rng_state, default_generator
from .ops.elementwise import (neg, exp, log, log1p, expm1, sqrt, rsqrt, reciprocal, sin, cos, tanh,
                              sigmoid, erf, abs, relu, square, sign, floor, ceil, trunc, round, clamp, clip,
                              add, sub, mul, div, floor_divide, remainder, fmod, atan2, arctan2, pow, maximum, minimum, where,
                              eq, ne, lt, le, gt, ge, logical_and, logical_or, logical_xor, logical_not,
                              bitwise_and, bitwise_or, bitwise_xor, bitwise_not, isnan, isinf, isfinite)
from .ops.reduction import (sum, mean, var, std, var_mean, std_mean, prod, max, min, amax, amin, argmax,
                            argmin, logsumexp, softmax, log_softmax, cumsum)
from .ops.shape import (reshape, view, flatten, unflatten, squeeze, unsqueeze, permute, transpose, swapaxes,
                        t, movedim, expand, broadcast_to, repeat, flip, cat, concat, concatenate, stack, hstack,
                        vstack, split, chunk, unbind, tril, triu)
from .ops.indexing import gather, scatter_add, masked_fill, index_select, nonzero, take_along_dim
from .ops.composite import (narrow, roll, tile, diagonal, diag, trace, repeat_interleave, tensordot,
                            addmm, kron)
from .ops.sorting import sort, argsort, topk, all, any
from .ops.combine import addcmul, addcdiv, lerp
from .ops.matmul import matmul, mm, bmm, mv, dot, inner, outer, ger, einsum
from . import autograd
from . import special
from . import nn
from . import distributions
from . import linalg
from . import func
from .explain import explain
from .linalg import norm_legacy as norm
from .sampling import sample, bernoulli, multinomial, normal
from .comparison import allclose, isclose, equal

subtract, multiply, divide, true_divide = sub, mul, div, div
negative = neg


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


__version__ = "0.1.0"

# NumPy's floating-point warnings (overflow in exp, log(0), 0/0) are silenced for
# code in dlmath only: inf and nan are the answers, as in PyTorch, which never warns.
import warnings as _warnings
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dlmath(\.|$)")
