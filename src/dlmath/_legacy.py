"""torch's legacy tensor types: ``dm.FloatTensor([1, 2])``, ``dm.LongTensor(2, 3)``,
``isinstance(t, dm.FloatTensor)``.

Each is a constructor, not a class of its own tensors: called with data (a list, an
array, a tensor) it makes a tensor of its dtype holding a copy; called with sizes (ints
or a ``dm.Size``) an uninitialised one of that shape; with nothing, an empty one. Every
tensor it makes is a plain ``dm.Tensor``, and ``isinstance(t, dm.FloatTensor)`` is true
exactly when ``t`` is a float32 tensor (torch does it with the same metaclass check).
"""
from __future__ import annotations

import operator

import numpy as np

from . import _dtype
from .creation import empty, tensor
from .tensor import Size, Tensor

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
           "ByteTensor", "BoolTensor"]


class _LegacyType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls._legacy_dtype

    def __call__(cls, *args, device=None):
        name = cls.__name__
        if device is not None:
            from .tensor import check_device
            check_device(device, name)
        d = cls._legacy_dtype
        if not args:
            return empty(0, dtype=d)
        if len(args) == 1 and isinstance(args[0], Size):
            return empty(*args[0], dtype=d)
        if all(isinstance(a, int) and not isinstance(a, bool) or isinstance(a, np.integer) for a in args):
            return empty(*map(operator.index, args), dtype=d)
        if len(args) > 1:
            raise TypeError(f"{name}(): expected sizes (ints) or one sequence of data, got "
                            f"{', '.join(type(a).__name__ for a in args)}")
        data = args[0]
        if isinstance(data, (str, bytes)):
            raise TypeError(f"{name}(): invalid data type '{type(data).__name__}'")
        if not isinstance(data, (list, tuple, np.ndarray, Tensor)):
            raise TypeError(f"{name}(): data must be a sequence (got {type(data).__name__})")
        if isinstance(data, Tensor):
            if data.dtype != d:
                raise TypeError(f"{name}(): expected a tensor of dtype {_dtype.dtype_name(d)}, got "
                                f"{_dtype.dtype_name(data.dtype)} (cast it with .to())")
            return data.detach()   # an alias of the same memory, as torch
        if d.kind in "iub":   # torch truncates floats into an integer type: LongTensor([1.7]) is [1]
            arr = np.asarray(data)
            if arr.dtype.kind == "f":
                return tensor(arr.astype(d))
        return tensor(data, dtype=d)

    def __repr__(cls):
        return f"<class 'dlmath.{cls.__name__}'>"


def _make(name):
    return _LegacyType(name, (), {"_legacy_dtype": _dtype._BY_LEGACY[name], "dtype": _dtype._BY_LEGACY[name],
                                  "__module__": "dlmath", "__doc__": f"torch.{name}: see dlmath._legacy."})


FloatTensor = _make("FloatTensor")
DoubleTensor = _make("DoubleTensor")
HalfTensor = _make("HalfTensor")
LongTensor = _make("LongTensor")
IntTensor = _make("IntTensor")
ShortTensor = _make("ShortTensor")
CharTensor = _make("CharTensor")
ByteTensor = _make("ByteTensor")
BoolTensor = _make("BoolTensor")
