"""Parameter initialisers (torch.nn.init).

Why initialisation matters: a layer ``y = W x`` with ``fan_in`` inputs of unit variance
gives outputs of variance ``fan_in * Var(W)``. Choosing ``Var(W) = gain^2 / fan_in``
(Kaiming) keeps that variance at ``gain^2`` layer after layer, so activations neither
vanish nor explode with depth; the gain undoes the shrinking a nonlinearity causes
(ReLU zeroes half its inputs, hence ``gain = sqrt(2)``). Xavier averages ``fan_in`` and
``fan_out`` so that the backward pass (whose fan is ``fan_out``) is kept too.

Every function writes into its tensor in place under ``no_grad`` (so it works on a
``Parameter`` that requires grad), returns the tensor, and draws from ``generator``
(a ``dm.Generator``; the default generator, seeded by ``dm.manual_seed``, when None),
with torch 2.13's names, defaults, formulas and exceptions.

>>> import dlmath as dm
>>> w = dm.empty(256, 128)
>>> _ = dm.nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=dm.Generator().manual_seed(0))
>>> bound = (2.0 ** 0.5) * (3.0 / 128) ** 0.5          # gain * sqrt(3 / fan_in)
>>> bool(w.abs().max() <= bound)
True
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._grad_mode import no_grad
from ..creation import empty as _empty, eye as _eye, from_numpy as _from_numpy

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
           "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
           "sparse_", "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
           "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity, param=None):
    """The gain that keeps activations' variance through ``nonlinearity``, as torch's table:

    linear / conv* / sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2))
    (``param`` is the slope, default 0.01), selu 3/4.

    >>> import dlmath as dm
    >>> dm.nn.init.calculate_gain("relu") == 2 ** 0.5
    True
    >>> round(dm.nn.init.calculate_gain("leaky_relu", 0.2), 6)
    1.38675
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4  # found empirically by torch (pytorch/pytorch#50664)
    raise ValueError(f"calculate_gain: Unsupported nonlinearity {nonlinearity} (known: linear, conv1d, conv2d, "
                     "conv3d, conv_transpose1d/2d/3d, sigmoid, tanh, relu, leaky_relu, selu)")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight (out, in, *kernel): size(1) and size(0) times the receptive field.

    A Linear weight (out, in) is used as ``x @ W.T``: each output sums ``in`` products.
    """
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
                         f"(got shape {tuple(tensor.shape)})")
    receptive_field_size = 1
    for s in tensor.shape[2:]:
        receptive_field_size *= s
    return tensor.shape[1] * receptive_field_size, tensor.shape[0] * receptive_field_size


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"kaiming init: Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


# --- the in-place writers: torch's checks first (NumPy's would raise ValueError) -------
def _require_float(tensor, name, complex_ok=False):
    """Random draws into an integer or bool tensor are torch's NotImplementedError (not a silent
    truncation to zeros)."""
    if not (tensor.is_floating_point() or (complex_ok and tensor.is_complex())):
        raise NotImplementedError(f"{name}: not implemented for {tensor.dtype} tensors; "
                                  "a random initialiser needs a floating dtype")


def _no_grad_uniform_(tensor, a, b, generator, name="uniform_"):
    _require_float(tensor, name, complex_ok=True)
    if a > b:
        raise RuntimeError(f"{name}: uniform_ expects to return a [from, to) range, but found from={a} > to={b}")
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def _no_grad_normal_(tensor, mean, std, generator, name="normal_"):
    _require_float(tensor, name, complex_ok=True)
    if std < 0:
        raise RuntimeError(f"{name}: normal expects std >= 0.0, but found std {std}")
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def _copy_array_(tensor, array):
    """Write a NumPy result into ``tensor`` (cast to its dtype), in place and unrecorded."""
    with no_grad():
        tensor.copy_(_from_numpy(np.ascontiguousarray(array).reshape(tuple(tensor.shape))))
    return tensor


def _draw(shape, generator, kind, a=0.0, b=1.0):
    """A float64 NumPy array of draws from ``generator``, through the public Tensor methods."""
    t = _empty(*shape, dtype=np.float64)
    with no_grad():
        t.uniform_(a, b, generator=generator) if kind == "uniform" else t.normal_(a, b, generator=generator)
    return t.numpy()


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill ``tensor`` with draws from U(a, b).

    >>> import dlmath as dm
    >>> w = dm.nn.init.uniform_(dm.empty(1000), -0.5, 0.5)
    >>> bool((w >= -0.5).all() and (w < 0.5).all())
    True
    """
    return _no_grad_uniform_(tensor, a, b, generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill ``tensor`` with draws from N(mean, std^2)."""
    return _no_grad_normal_(tensor, mean, std, generator)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill ``tensor`` with N(mean, std^2) conditioned on [a, b]: values outside are redrawn.

    Used where a heavy tail would put a few weights far out (ViT, BERT init). As torch 2.13:
    when [a, b] holds more than 30% of the mass, out-of-range normal draws are redrawn;
    otherwise uniform proposals on [a, b] are accepted with probability
    exp(-z^2/2) / (the density's peak on [a, b]), which is exact and never stalls in a tail.
    """
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    _require_float(tensor, "trunc_normal_")
    shape = tuple(tensor.shape)

    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    # torch compares against the bounds rounded to the tensor's dtype
    lo, hi = (float(v) for v in np.array([a, b], dtype=np.float64).astype(tensor.dtype))
    p = norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std)
    if p > 0.3:
        result = _draw(shape, generator, "normal", mean, std).astype(tensor.dtype)
        mask = (result < lo) | (result > hi)
        while mask.any():
            # torch redraws a whole tensor each round and keeps the draws where the mask is set
            fresh = _draw(shape, generator, "normal", mean, std).astype(tensor.dtype)
            result = np.where(mask, fresh, result)
            mask = (result < lo) | (result > hi)
    else:
        if a > b:
            raise RuntimeError(f"trunc_normal_: expects a [a, b) range, but found a={a} > b={b}")
        mode = max(a, min(mean, b))
        log_peak = -0.5 * ((mode - mean) / std) ** 2

        def log_accept_threshold(x):
            return -0.5 * ((x - mean) / std) ** 2 - log_peak

        result = _draw(shape, generator, "uniform", a, b).astype(tensor.dtype)
        pending = np.log(_draw(shape, generator, "uniform")) > log_accept_threshold(result)
        while pending.any():
            candidates = _draw(shape, generator, "uniform", a, b).astype(tensor.dtype)
            result = np.where(pending, candidates, result)
            pending = pending & (np.log(_draw(shape, generator, "uniform")) > log_accept_threshold(candidates))
    return _copy_array_(tensor, result)


def constant_(tensor, val):
    """Fill ``tensor`` with ``val``."""
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor):
    """Fill ``tensor`` with 1 (a LayerNorm's or BatchNorm's scale)."""
    with no_grad():
        return tensor.fill_(1.0)


def zeros_(tensor):
    """Fill ``tensor`` with 0 (biases)."""
    with no_grad():
        return tensor.zero_()


def eye_(tensor):
    """Fill a 2-D ``tensor`` with the identity: a Linear layer that passes its inputs through.

    >>> import dlmath as dm
    >>> dm.nn.init.eye_(dm.empty(2, 3)).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    if tensor.dim() != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported (eye_ got shape {tuple(tensor.shape)})")
    with no_grad():
        tensor.copy_(_eye(*tensor.shape, dtype=tensor.dtype))
    return tensor


def dirac_(tensor, groups=1):
    """Fill a {3, 4, 5}-D conv weight with the Dirac delta: the convolution passes its input through
    (as many channels as possible, per group)."""
    dimensions = tensor.dim()
    if dimensions not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported "
                         f"(dirac_ got shape {tuple(tensor.shape)})")
    sizes = tuple(tensor.shape)
    if sizes[0] % groups != 0:
        raise ValueError(f"dim 0 must be divisible by groups (dirac_ got size {sizes[0]} and groups={groups})")
    out_chans_per_grp = sizes[0] // groups
    min_dim = min(out_chans_per_grp, sizes[1])
    centre = tuple(s // 2 for s in sizes[2:])
    values = np.zeros(sizes)
    for g in range(groups):
        for d in range(min_dim):
            values[(g * out_chans_per_grp + d, d) + centre] = 1
    return _copy_array_(tensor, values)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot: U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out)), i.e. std = gain *
    sqrt(2 / (fan_in + fan_out)): a compromise between keeping the forward and the backward variance."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std  # a uniform on [-a, a] has std a / sqrt(3)
    return _no_grad_uniform_(tensor, -a, a, generator, "xavier_uniform_")


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _no_grad_normal_(tensor, 0.0, std, generator, "xavier_normal_")


def _kaiming_std(tensor, a, mode, nonlinearity):
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He: U(-bound, bound), bound = gain * sqrt(3 / fan), so Var(W) = gain^2 / fan.

    ``mode='fan_in'`` keeps the forward activations' variance, ``'fan_out'`` the backward
    gradients'; ``a`` is the leaky_relu slope (Linear's default init uses a = sqrt(5)).
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std  # a uniform on [-bound, bound] has std bound / sqrt(3)
    return _no_grad_uniform_(tensor, -bound, bound, generator, "kaiming_uniform_")


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He: N(0, std^2), std = gain / sqrt(fan) (see ``kaiming_uniform_``)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return _no_grad_normal_(tensor, 0.0, std, generator, "kaiming_normal_")


def orthogonal_(tensor, gain=1, generator=None):
    """Fill ``tensor`` (>= 2-D, trailing dims flattened) with a (semi-)orthogonal matrix times ``gain``.

    Orthogonal weights preserve norms exactly, so a deep linear (or recurrent) stack neither
    shrinks nor amplifies signals (Saxe et al. 2013). As torch: Q of the QR of a standard normal
    (rows, cols) matrix (transposed when wide), each column's sign set by R's diagonal, so Q is
    Haar-distributed.

    >>> import dlmath as dm
    >>> w = dm.nn.init.orthogonal_(dm.empty(3, 5))
    >>> bool(((w @ w.T) - dm.eye(3)).abs().max() < 1e-5)
    True
    """
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported "
                         f"(orthogonal_ got shape {tuple(tensor.shape)})")
    if tensor.numel() == 0:
        return tensor
    _require_float(tensor, "orthogonal_")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flattened = _draw((rows, cols), generator, "normal")
    if rows < cols:
        flattened = flattened.T
    # QR in float64 (NumPy has no float16 QR; the result is cast back on the copy)
    q, r = np.linalg.qr(flattened)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _copy_array_(tensor, q * gain)


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Fill a 2-D ``tensor`` from N(0, std^2) with ``ceil(sparsity * rows)`` zeros in each column
    (Martens 2010). The zeroed rows are drawn from ``generator`` too (torch draws them from the
    default generator whatever ``generator`` is)."""
    if tensor.dim() != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported (sparse_ got shape {tuple(tensor.shape)})")
    _require_float(tensor, "sparse_")
    rows, cols = tuple(tensor.shape)
    num_zeros = math.ceil(sparsity * rows)
    values = _draw((rows, cols), generator, "normal", 0.0, std)
    for col_idx in range(cols):
        # a random permutation's first num_zeros rows: argsort of uniform draws
        order = np.argsort(_draw((rows,), generator, "uniform"), kind="stable")
        values[order[:num_zeros], col_idx] = 0
    return _copy_array_(tensor, values)


def _make_deprecate(meth):
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
                      FutureWarning, stacklevel=2)
        return meth(*args, **kwargs)

    deprecated_init.__doc__ = f"{old_name}(...): deprecated, as in torch; use ``nn.init.{new_name}``."
    deprecated_init.__name__ = old_name
    deprecated_init.__qualname__ = old_name
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)
