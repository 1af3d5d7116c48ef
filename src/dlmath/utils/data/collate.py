"""Collation: a list of examples -> one batch, the step between the dataset and the model.

``default_collate`` is what a DataLoader applies to the ``batch_size`` examples it fetched:
tensors are stacked along a new first dimension, NumPy arrays and Python numbers become
tensors, strings stay a list, and containers (tuples, lists, dicts, namedtuples) are
collated field by field, so ``[(x0, y0), (x1, y1), ...]`` becomes ``[X, Y]``.
``default_convert`` is the unbatched version (``batch_size=None``): NumPy arrays become
tensors, nothing is stacked.
"""
import collections.abc
import copy
import re

import numpy as np

from ...creation import as_tensor, tensor
from ...ops.shape import stack
from ...tensor import Tensor
from ..._dtype import float64

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map"]

# NumPy dtypes that are not numbers (bytes, unicode, object): left alone, or refused by collate
np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}")


def default_convert(data):
    """NumPy arrays (and NumPy scalars) inside ``data`` become tensors, containers are
    rebuilt around the converted items, anything else is returned unchanged. What a
    DataLoader applies to each example when automatic batching is off (``batch_size=None``).

    >>> import numpy as np
    >>> default_convert({"x": np.array([1, 2]), "name": "a"})
    {'x': tensor([1, 2]), 'name': 'a'}
    """
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_", "bytes_"):
        if elem_type.__name__ == "ndarray" and np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                # a copy of the mapping keeps its type and any attributes a subclass carries
                clone = copy.copy(data)
                clone.update({key: default_convert(data[key]) for key in data})
                return clone
            return elem_type({key: default_convert(data[key]) for key in data})
        except TypeError:   # the mapping type cannot be rebuilt that way: a plain dict
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):   # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]   # a list, as torch (its backward compatibility)
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return elem_type([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def collate(batch, *, collate_fn_map=None):
    """Collate ``batch`` (a list of examples of one structure): containers are walked here,
    and leaves go to the function ``collate_fn_map`` holds for their type (the exact type
    first, then the first entry it is an instance of). ``default_collate`` is this with
    ``default_collate_fn_map``; pass a map of your own to handle a new leaf type.
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)

    if isinstance(elem, collections.abc.Mapping):
        fields = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update(fields)
                return clone
            return elem_type(fields)
        except TypeError:
            return fields
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):   # namedtuple: same type, fields batched
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        # transposed: [(x0, y0), (x1, y1)] -> [(x0, x1), (y0, y1)], one batch per field
        # (tuples, as torch: a field of strings comes back as a tuple of them)
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, samples in enumerate(transposed):
                    clone[i] = collate(samples, collate_fn_map=collate_fn_map)
                return clone
            return elem_type([collate(samples, collate_fn_map=collate_fn_map) for samples in transposed])
        except TypeError:
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch, *, collate_fn_map=None):
    """Tensors -> one tensor with a new first dimension of size len(batch)."""
    try:
        return stack(batch, 0)
    except RuntimeError as exc:
        shapes = [tuple(t.shape) for t in batch]
        if all(s == shapes[0] for s in shapes):
            raise
        # the usual cause is variable-length data (sentences, point clouds): say what to do
        counts = collections.Counter(shapes)
        raise RuntimeError(
            f"default_collate: {exc}. The examples of a batch must have one shape to be stacked; "
            f"this batch has shapes {dict(counts)} (shape: count). Pad or crop them to one shape "
            "in the dataset, or pass DataLoader(collate_fn=...) to batch them yourself") from None


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    """NumPy arrays -> tensors, then stacked as tensors (strings and objects are refused)."""
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    """NumPy scalars -> a 1-d tensor of their dtype."""
    return as_tensor(batch)


def collate_float_fn(batch, *, collate_fn_map=None):
    """Python floats -> a float64 tensor (a Python float is a double), as torch."""
    return tensor(batch, dtype=float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    """Python ints -> an int64 tensor (bools -> bool): class labels, mostly."""
    return tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    """Strings and bytes are left as they are: the sequence of them."""
    return batch


default_collate_fn_map = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch):
    """Turn a list of ``batch_size`` examples into one batch, as a DataLoader does.

    Tensors are stacked (a new first dimension), NumPy arrays become tensors and are
    stacked, Python floats become a float64 tensor and ints an int64 tensor, strings stay
    as they are; tuples and lists are transposed and collated field by field (a tuple
    comes back as a list, as in torch), dicts key by key, namedtuples field by field.

    >>> import dlmath as dm
    >>> default_collate([(dm.tensor([1., 2.]), 0), (dm.tensor([3., 4.]), 1)])
    [tensor([[1., 2.],
            [3., 4.]]), tensor([0, 1])]
    >>> default_collate([{"a": 0.5, "s": "x"}, {"a": 1.5, "s": "y"}])
    {'a': tensor([0.5000, 1.5000], dtype=dlmath.float64), 's': ['x', 'y']}
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
