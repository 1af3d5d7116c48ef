"""dlmath: the mathematics of deep learning, executable.

``import dlmath as dm`` mirrors ``import torch``: tensors on NumPy with
reverse-mode autodiff, PyTorch's names and semantics.
"""
from . import _dtype
from ._dtype import (dtype, get_default_dtype, set_default_dtype, finfo, iinfo, promote_types, can_cast,
                     result_type)
# the public dtypes are dm.dtype objects (printing as dlmath.float32); the library computes with NumPy's
(bool, uint8, int8, int16, int32, int64, float16, float32, float64, complex64, complex128, half, float, double,
 short, int, long, cfloat, cdouble) = map(_dtype.public, (
    _dtype.bool_, _dtype.uint8, _dtype.int8, _dtype.int16, _dtype.int32, _dtype.int64, _dtype.float16,
    _dtype.float32, _dtype.float64, _dtype.complex64, _dtype.complex128, _dtype.half, _dtype.float,
    _dtype.double, _dtype.short, _dtype.int, _dtype.long, _dtype.cfloat, _dtype.cdouble))
from ._grad_mode import (no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode,
                         is_inference_mode_enabled)
from ._threads import get_num_threads, set_num_threads, get_num_interop_threads, set_num_interop_threads
from ._compile import compile
from ._print import set_printoptions, get_printoptions, printoptions
from .tensor import (Tensor, Size, Device as device, set_default_device, get_default_device, is_floating_point,
                     is_complex, is_nonzero)
from . import _methods  # noqa: F401  (binds operators and methods onto Tensor)
from . import _alloc  # noqa: F401  (leaves malloc as found; DLMATH_MALLOC_TUNING=1 opts in, see _alloc)
from .creation import (tensor, as_tensor, from_numpy, zeros, ones, empty, full, zeros_like, ones_like,
                       empty_like, full_like, eye, arange, linspace, logspace, rand, randn, randint,
                       randperm, rand_like, randn_like, randint_like)
from ._legacy import (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor, CharTensor,
                      ByteTensor, BoolTensor)
from ._random import Generator, manual_seed, seed, initial_seed, get_rng_state, set_rng_state, default_generator
# dm.random is torch.random's namespace; the file is _random.py so that no module of the package
# shadows the standard library's random for a script run from inside the package's folder
from . import _random as random
import sys as _sys
_sys.modules[__name__ + ".random"] = random  # `import dlmath.random` and `from dlmath.random import ...`
# every op declared with @public (ops/declare.py), under each of its names: dm.exp, dm.clip, ...
from .ops.declare import namespace as _declared
globals().update(_declared())
from .inplace import _fused_adam_, _fused_adamw_  # torch's fused Adam kernels (optim.Adam's step)
from ._foreach import _foreach_add_  # torch's multi-tensor add (optim.SGD's step)
from . import autograd
from . import special
from . import nn
from . import optim
from . import distributions
from . import linalg
from . import func
from .func import vmap
from . import datasets
from . import utils
from . import cuda, accelerator, backends
from .explain import explain
from .serialization import save, load
from .linalg import norm_legacy as norm
from .sampling import sample, bernoulli, multinomial, normal
from .comparison import allclose, isclose, equal
import math as _math


pi = _math.pi
e = _math.e
inf = _math.inf
nan = _math.nan
newaxis = None


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


__version__ = "0.1.0"

# NumPy's floating-point warnings (overflow in exp, log(0), 0/0) are silenced for
# code in dlmath only: inf and nan are the answers, as in PyTorch, which never warns.
import warnings as _warnings
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dlmath(\.|$)")

# dir() of every public module lists what it offers, not what it imported (see _dir.py)
import sys as _sys
from . import _dir
_dir.install([_sys.modules[__name__], autograd, nn, nn.functional, nn.init, nn.utils, optim, optim.lr_scheduler,
              linalg, func, distributions, special, utils, utils.data, datasets, random, cuda, backends,
              accelerator])
