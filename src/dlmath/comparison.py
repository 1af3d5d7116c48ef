"""Whole-tensor comparisons: allclose, isclose, equal (as torch's)."""
from __future__ import annotations

import numpy as np

from .autograd.node import make_tensor
from .ops._util import to_tensor


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol |other|, elementwise."""
    a, b = to_tensor(input, "isclose"), to_tensor(other, "isclose")
    try:
        return make_tensor(np.isclose(a._data, b._data, rtol=rtol, atol=atol, equal_nan=equal_nan))
    except ValueError:
        from .ops._util import broadcast_error
        raise broadcast_error("isclose", a.shape, b.shape) from None


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True when every element is close (see isclose)."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input, other) -> bool:
    """True when both have the same shape and the same values."""
    a, b = to_tensor(input, "equal"), to_tensor(other, "equal")
    return bool(a.shape == b.shape and np.array_equal(a._data, b._data))
