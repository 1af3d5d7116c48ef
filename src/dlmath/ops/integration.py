"""Numerical integration by the trapezoidal rule: sum of (x_{i+1} - x_i) (y_i + y_{i+1}) / 2.

Areas under curves (ROC/PR AUC, a discretised ODE's running integral) with gradients with respect
to both the samples y and the sample points x, composed from narrow, arithmetic and sum/cumsum.
"""
from __future__ import annotations

from ..tensor import Tensor
from ._util import as_float, normalize_dim, to_tensor
from .declare import public
from .reduction import cumsum, sum as _sum


def _areas(name, y, x, dx, dim):
    y = to_tensor(y, name)
    if x is not None and dx is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments - got both x and dx; pass one")
    if y.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    axis = normalize_dim(dim, y.ndim, name)
    if y.dtype.kind not in "fc":
        y = as_float(y)
    n = y.shape[axis]
    m = max(n - 1, 0)
    pairs = y.narrow(axis, min(1, n), m) + y.narrow(axis, 0, m)
    if x is None:
        return pairs * (0.5 * (1.0 if dx is None else dx)), axis
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'x' must be Tensor, not {type(x).__name__}")
    if x.ndim == 1:
        if x.shape[0] != n:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        steps = x.narrow(0, min(1, n), m) - x.narrow(0, 0, m)
        view = [1] * y.ndim
        view[axis] = m
        steps = steps.reshape(view)
    else:
        xaxis = axis - y.ndim + x.ndim
        if xaxis < 0 or x.shape[xaxis] != n:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        steps = x.narrow(xaxis, min(1, n), m) - x.narrow(xaxis, 0, m)
    return pairs * steps * 0.5, axis


@public(method=False)
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The integral of y along ``dim`` by the trapezoidal rule, at sample points x (a 1-D tensor
    of that dim's size, or one broadcasting with y) or spacing dx (default 1)."""
    areas, axis = _areas("trapezoid", y, x, dx, dim)
    return _sum(areas, axis)


@public(method=False)
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoidal integral along ``dim``: one fewer value than samples."""
    areas, axis = _areas("cumulative_trapezoid", y, x, dx, dim)
    return cumsum(areas, axis)
