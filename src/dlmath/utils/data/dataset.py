"""Datasets: what a DataLoader indexes (map-style) or iterates (iterable-style).

A map-style dataset is anything with ``__getitem__(i)`` and ``__len__``: one example per
index, as ``(x, y)`` pairs usually. ``TensorDataset`` wraps tensors that share their first
dimension; ``Subset`` and ``random_split`` carve a dataset into train/validation parts
without copying; ``ConcatDataset`` (also ``ds1 + ds2``) and ``StackDataset`` join
datasets end to end or side by side.
"""
import bisect
import itertools
import math
import numbers
import warnings
from typing import Generic, Iterable, TypeVar

from ...creation import randperm
from ..._random import default_generator

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset",
           "ChainDataset", "Subset", "random_split"]

_T_co = TypeVar("_T_co", covariant=True)


class Dataset(Generic[_T_co]):
    """A map from indices to examples: subclass it and define ``__getitem__`` (and ``__len__``,
    which samplers and ``len(loader)`` need). The DataLoader asks it for one example per index.

    ``__len__`` has no default, as in torch: ``list(ds)`` and samplers can then tell a
    dataset without a length from one whose length is broken.
    """

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset[_T_co], Iterable[_T_co]):
    """A stream of examples: subclass it and define ``__iter__``. For data read as it comes
    (a file line by line, a generator of synthetic samples) rather than looked up by index;
    the DataLoader batches the stream in order (no shuffle, no sampler).
    """

    def __add__(self, other):
        return ChainDataset([self, other])


def _first_dim(t, k):
    shape = getattr(t, "shape", None)
    if shape is None or len(shape) == 0:
        raise ValueError(f"TensorDataset: tensor {k} has no first dimension to index "
                         f"(shape {tuple(shape) if shape is not None else type(t).__name__})")
    return shape[0]


class TensorDataset(Dataset):
    """Example ``i`` is ``tuple(t[i] for t in tensors)``: inputs and targets as rows of
    tensors (or NumPy arrays) with the same first dimension, e.g.
    ``TensorDataset(images, labels)``.

    >>> import dlmath as dm
    >>> ds = TensorDataset(dm.arange(6).reshape(3, 2), dm.tensor([0, 1, 0]))
    >>> len(ds), ds[1]
    (3, (tensor([2, 3]), tensor(1)))
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        sizes = [_first_dim(t, k) for k, t in enumerate(tensors)]
        if any(s != sizes[0] for s in sizes):
            # AssertionError as torch; the sizes say which tensor is off
            raise AssertionError(f"Size mismatch between tensors: first dimensions {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return _first_dim(self.tensors[0], 0)


class StackDataset(Dataset):
    """Datasets side by side: example ``i`` is ``(d1[i], d2[i], ...)``, or a dict
    ``{name: d[i]}`` when given as keywords (images from one dataset, captions from another).
    """

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) "
                             "like input/output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        parts = list(args) if args else list(kwargs.values())
        self._length = len(parts[0])
        if any(len(d) != self._length for d in parts):
            raise ValueError(f"Size mismatch between datasets: lengths {[len(d) for d in parts]}")
        self.datasets = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


class ConcatDataset(Dataset):
    """Datasets end to end: indices ``0 .. len(d1)-1`` reach ``d1``, the next ``len(d2)``
    reach ``d2``, and so on; negative indices count from the end. ``d1 + d2`` makes one.

    >>> ds = ConcatDataset([range(3), range(10, 12)])
    >>> len(ds), ds[3], ds[-1], ds.cumulative_sizes
    (5, 10, 11, [3, 5])
    """

    @staticmethod
    def cumsum(sequence):
        return list(itertools.accumulate(len(d) for d in sequence))

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = n + idx
        elif idx >= n:
            raise IndexError(f"index {idx} is out of range for a ConcatDataset of length {n}")
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[k][idx - (self.cumulative_sizes[k - 1] if k else 0)]


class ChainDataset(IterableDataset):
    """Streams one after another: iterating it iterates each IterableDataset in turn."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self):
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)
        return total


class Subset(Dataset):
    """The examples of ``dataset`` at ``indices``, in that order, without copying them: a
    training or validation split (what ``random_split`` returns).

    >>> s = Subset(range(10, 20), [4, 0, 7])
    >>> len(s), s[0], s[-1], Subset(s, [2, 0])[0]
    (3, 14, 17, 17)
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices
        # the DataLoader fetches a batch through __getitems__, which would skip an
        # overridden __getitem__: torch refuses such a subclass, and so do we
        if type(self).__getitem__ is not Subset.__getitem__ and type(self).__getitems__ is Subset.__getitems__:
            raise NotImplementedError(
                f"{type(self).__name__} overrides __getitem__ but not __getitems__. "
                "When subclassing Subset and overriding __getitem__, you must also override "
                "__getitems__ to ensure DataLoader works correctly with your custom logic. "
                "A simple implementation:\n\n"
                "def __getitems__(self, indices):\n"
                "    return [self.__getitem__(idx) for idx in indices]")

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        # a batch at once: the parent's own batched fetch if it has one
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


def _split_lengths(n, lengths):
    """Fractions summing to 1 -> sizes: floor each, then one more to each split in turn
    (round-robin from the first) until all ``n`` items are placed, as torch does."""
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(math.floor(n * frac))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                              stacklevel=3)
        return sizes
    if total != n:
        if all(isinstance(x, numbers.Integral) for x in lengths):
            detail = f"the lengths {list(lengths)} sum to {total}, but the dataset has {n} items"
        else:
            detail = (f"the lengths {list(lengths)} are neither integers summing to the dataset's size "
                      f"{n} nor fractions summing to 1 (they sum to {total})")
        raise ValueError(f"Sum of input lengths does not equal the length of the input dataset! ({detail})")
    for i, size in enumerate(lengths):
        if not isinstance(size, numbers.Integral) or size < 0:
            raise ValueError(f"random_split: length at index {i} must be a non-negative integer, got {size!r}")
    return [int(size) for size in lengths]


def random_split(dataset, lengths, generator=default_generator):
    """Shuffle the indices of ``dataset`` once and cut them into Subsets of the given
    ``lengths`` (sizes, or fractions summing to 1): the train/validation/test split.

    ``generator`` (a ``dm.Generator``) makes the split reproducible: the same seed, the
    same split. Fractions become sizes by flooring each, then handing the remaining items
    out one by one from the first split on (``[0.5, 0.5]`` of 5 items gives 3 and 2).

    >>> import dlmath as dm
    >>> train, val = random_split(range(10), [0.7, 0.3], generator=dm.Generator().manual_seed(0))
    >>> len(train), len(val), sorted(list(train) + list(val)) == list(range(10))
    (7, 3, True)
    """
    sizes = _split_lengths(len(dataset), lengths)
    indices = randperm(sum(sizes), generator=generator).tolist()
    return [Subset(dataset, indices[end - size:end])
            for end, size in zip(itertools.accumulate(sizes), sizes)]
