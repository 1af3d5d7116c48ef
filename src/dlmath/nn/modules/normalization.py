"""Normalisation layers (torch.nn.modules.normalization and batchnorm): ``LayerNorm``,
``RMSNorm``, ``BatchNorm1d``/``2d``/``3d``.

Each rescales activations to a fixed mean and variance (``BatchNorm`` per channel over
the batch, ``LayerNorm``/``RMSNorm`` per token over its features), then applies a
learned affine map, so every layer sees inputs at a stable scale whatever the
layers before it do.
"""
from __future__ import annotations

import numbers

from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module, _named_error

__all__ = ["LayerNorm", "RMSNorm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]


def _empty(shape, dtype):
    import dlmath as dm
    return dm.empty(shape, dtype=dtype)


def _check_device(device, name):
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"{name}: dlmath runs on the CPU only (got device={device!r})")


def _as_shape(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(normalized_shape)


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last dims ``normalized_shape``
    (biased variance); weight starts at 1 and bias at 0. The transformer's normaliser."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        _check_device(device, "LayerNorm")
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_empty(self.normalized_shape, dtype))
            if bias:
                self.bias = Parameter(_empty(self.normalized_shape, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        try:
            return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)
        except RuntimeError as e:   # name the layer and its normalized_shape
            raise _named_error(self, e) from None

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """y = x / sqrt(mean(x^2) + eps) * weight over the last dims ``normalized_shape``
    (LLaMA's normaliser: LayerNorm without centring or bias). ``eps=None``: the machine
    epsilon of the input's dtype, as torch."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        _check_device(device, "RMSNorm")
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_empty(self.normalized_shape, dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, input):
        try:
            return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)
        except RuntimeError as e:   # name the layer and its normalized_shape
            raise _named_error(self, e) from None

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class _BatchNorm(Module):
    """Per-channel normalisation with the batch's statistics in training and running
    estimates in evaluation (torch's _BatchNorm)."""
    _version = 2        # the layout with num_batches_tracked

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        _check_device(device, type(self).__name__)
        import dlmath as dm
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(_empty((num_features,), dtype))
            if bias:
                self.bias = Parameter(_empty((num_features,), dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", dm.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", dm.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", dm.tensor(0, dtype=dm.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input):
        raise NotImplementedError

    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            # momentum None: the cumulative average, weight 1/k for the k-th batch
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        # eval mode normalises with the running estimates, unless there are none
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        use_running = not self.training or self.track_running_stats
        if input.shape[1] != self.num_features and input.ndim > 1:
            raise RuntimeError(f"{self!r}: input {tuple(input.shape)} has {input.shape[1]} channels, "
                               f"expected num_features={self.num_features}")
        return F.batch_norm(input, self.running_mean if use_running else None,
                            self.running_var if use_running else None, self.weight, self.bias,
                            bn_training, factor, self.eps)

    def _load_state_dict_pre_hook(self, state_dict, prefix, local_metadata):
        # a state dict from before num_batches_tracked existed (version < 2, or no metadata
        # at all, as a hand-built dict): the counter keeps its value (0 if it has none), as torch
        version = local_metadata.get("version", None)
        if (version is None or version < 2) and self.track_running_stats:
            key = prefix + "num_batches_tracked"
            if key not in state_dict:
                import dlmath as dm
                state_dict[key] = (self.num_batches_tracked if self.num_batches_tracked is not None
                                   else dm.tensor(0, dtype=dm.int64))

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C.

    Training: normalise with the batch's mean and biased variance; update
    running_mean/var (the variance unbiased, n/(n-1)) with ``momentum``, or as a
    cumulative average when ``momentum=None``. Eval: normalise with the running estimates.
    """

    def _check_input_dim(self, input):
        if input.dim() != 2 and input.dim() != 3:
            raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel (see BatchNorm1d)."""

    def _check_input_dim(self, input):
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (got {input.dim()}D input)")


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) inputs, per channel (see BatchNorm1d)."""

    def _check_input_dim(self, input):
        if input.dim() != 5:
            raise ValueError(f"expected 5D input (got {input.dim()}D input)")
