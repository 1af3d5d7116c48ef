"""Dtypes and PyTorch's type-promotion rules.

dlmath's dtypes are NumPy dtype objects (``dm.float32 is np.dtype('float32')``),
so arrays and tensors interoperate, but promotion follows PyTorch, not NumPy:
a float32 tensor stays float32 when combined with a Python float, a NumPy
float64 scalar or a 0-d float64 tensor, and integer true division gives the
default float dtype. That keeps float32 training from drifting to float64.
"""
from __future__ import annotations

import builtins

import numpy as np

bool_ = np.dtype(np.bool_)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
complex64 = np.dtype(np.complex64)
complex128 = np.dtype(np.complex128)
half, float, double = float16, float32, float64
short, int, long = int16, int32, int64
cfloat, cdouble = complex64, complex128

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_NAMES = {bool_: "bool", uint8: "uint8", int8: "int8", int16: "int16", int32: "int32",
          int64: "int64", float16: "float16", float32: "float32", float64: "float64",
          complex64: "complex64", complex128: "complex128"}


class _DefaultDtype:
    __slots__ = ("value",)

    def __init__(self):
        self.value = float32


_default = _DefaultDtype()


def get_default_dtype() -> np.dtype:
    """The dtype Python floats become (float32 unless changed)."""
    return _default.value


def set_default_dtype(d) -> None:
    """Set the dtype of Python floats in new tensors (float32 or float64), as torch does."""
    d = to_dtype(d)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point dtypes are supported as default, got {dtype_name(d)}")
    _default.value = d


def to_dtype(d) -> np.dtype:
    """Normalise a dtype spec (dm.float32, np.float32, 'float32', float, ...)."""
    if d is None:
        return None
    if isinstance(d, np.dtype):
        return d
    try:
        return np.dtype(d)
    except TypeError:
        raise TypeError(f"not a dtype: {d!r}") from None


def dtype_name(d) -> str:
    return "dlmath." + _NAMES.get(d, str(d))


def category(d: np.dtype) -> int:
    """0 bool, 1 integer, 2 floating, 3 complex."""
    return _CATEGORY[d.kind]


def is_floating_point(d: np.dtype) -> bool:
    return d.kind == "f"


def scalar_dtype(v) -> np.dtype:
    """The dtype a Python scalar gets when it makes a tensor on its own."""
    if isinstance(v, builtins.bool):
        return bool_
    if isinstance(v, builtins.int):
        return int64
    if isinstance(v, builtins.float):
        return _default.value
    if isinstance(v, builtins.complex):
        return complex64 if _default.value == float32 else complex128
    raise TypeError(f"expected a number, got {type(v).__name__}")


def promote(dims, zero_dims, scalars) -> np.dtype:
    """PyTorch's result type.

    The highest category (bool < int < float < complex) among all operands
    wins; within it, dimensioned tensors outrank 0-d tensors, which outrank
    Python scalars, and only the highest-ranked group that reaches the
    category is promoted. So float32 tensor + float64 0-d tensor is float32.
    """
    top = -1
    for group in (dims, zero_dims):
        for d in group:
            c = _CATEGORY[d.kind]
            if c > top:
                top = c
    for v in scalars:
        c = _CATEGORY[scalar_dtype(v).kind]
        if c > top:
            top = c
    for group in (dims, zero_dims):
        found = None
        for d in group:
            if _CATEGORY[d.kind] == top:
                found = d if found is None else np.promote_types(found, d)
        if found is not None:
            return found
    if top == 3:
        return complex64 if _default.value == float32 else complex128
    return (bool_, int64, _default.value)[top]
