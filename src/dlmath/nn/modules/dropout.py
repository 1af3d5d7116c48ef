"""Dropout (torch.nn.modules.dropout): regularisation by zeroing random activations in training.

Each element (or, for ``Dropout1d/2d/3d``, each whole channel) is kept with
probability 1 - p and scaled by 1/(1 - p), so the expected activation is
unchanged and evaluation (``model.eval()``) is the identity. ``AlphaDropout``
keeps the mean and variance of SELU networks instead. The random draws come from
dlmath's default generator (``dm.manual_seed``).
"""
from __future__ import annotations

import math
import warnings

from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"]


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` in training mode; identity in eval mode."""

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


def _channel_dropout(input, p, training, inplace):
    """Zero whole channels: one keep/drop draw per (sample, channel), broadcast over the rest
    (torch's feature_dropout): neighbouring activations of a feature map are correlated, so
    dropping single elements would hardly regularise a convolution."""
    if not training or p == 0:
        return input
    import dlmath as dm
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    if p == 1:
        mask = dm.zeros(shape, dtype=input.dtype)
    else:
        mask = (dm.rand(shape, dtype=input.dtype) < 1 - p).to(input.dtype) / (1 - p)
    return input.mul_(mask) if inplace else input * mask


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability ``p`` (scaled by 1/(1 - p))."""

    def forward(self, input):
        if input.ndim not in (2, 3):
            raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. "
                               "Note that dropout1d exists to provide channel-wise dropout on inputs with 1 "
                               "spatial dimension, a channel dimension, and an optional batch dimension "
                               "(i.e. 2D or 3D inputs).")
        if input.ndim == 2:      # no batch dim: one sample
            out = _channel_dropout(input.unsqueeze(0), self.p, self.training, False).squeeze(0)
            return input.copy_(out) if self.inplace and out is not input else out
        return _channel_dropout(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) inputs with probability ``p``. A 3-D input is taken as
    (N, C, L), with torch's warning (its historical behaviour)."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will "
                          "result in an error in a future release. To retain the behavior and silence this warning, "
                          "please use dropout instead. Note that dropout2d exists to provide channel-wise dropout on "
                          "inputs with 2 spatial dimensions, a channel dimension, and an optional batch dimension "
                          "(i.e. 3D or 4D inputs).", stacklevel=3)
        if input.ndim == 3:
            warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                          "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                          "This behavior will change in a future release to interpret the input as one without a "
                          "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
                          "please switch to using dropout1d instead.", stacklevel=3)
        return _channel_dropout(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability ``p``."""

    def forward(self, input):
        if input.ndim not in (4, 5):
            warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and will "
                          "result in an error in a future release. To retain the behavior and silence this warning, "
                          "please use dropout instead. Note that dropout3d exists to provide channel-wise dropout on "
                          "inputs with 3 spatial dimensions, a channel dimension, and an optional batch dimension "
                          "(i.e. 4D or 5D inputs).", stacklevel=3)
        if input.ndim == 4:      # no batch dim: one sample
            out = _channel_dropout(input.unsqueeze(0), self.p, self.training, False).squeeze(0)
            return input.copy_(out) if self.inplace and out is not input else out
        return _channel_dropout(input, self.p, self.training, self.inplace)


# SELU's negative saturation value: -scale * alpha
_ALPHA_PRIME = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717


class AlphaDropout(_DropoutNd):
    """Dropout for self-normalising (SELU) networks: dropped units are set to SELU's negative
    saturation alpha' and the result is mapped affinely, a (x b + alpha' (1 - b)) + c with
    a = ((1 - p)(1 + p alpha'^2))^(-1/2) and c = -a alpha' p, so a zero-mean, unit-variance
    input keeps its mean and variance."""

    def forward(self, input):
        p = self.p
        if not self.training or p == 0:
            return input
        import dlmath as dm
        if p == 1:
            out = input * 0
        else:
            keep = (dm.rand(tuple(input.shape), dtype=input.dtype) < 1 - p).to(input.dtype)
            a = 1.0 / math.sqrt((1 - p) * (1 + p * _ALPHA_PRIME ** 2))
            c = -a * _ALPHA_PRIME * p
            out = (input * keep + _ALPHA_PRIME * (1 - keep)) * a + c
        return input.copy_(out) if self.inplace else out
