"""DataLoader: a dataset -> the stream of mini-batches an epoch of training iterates over.

``for x, y in DataLoader(ds, batch_size=64, shuffle=True):`` asks the sampler for an
order, groups it into batches of indices, fetches those examples from the dataset and
collates them into tensors. Each ``iter()`` (each epoch) starts a new pass, with a new
shuffle. dlmath loads in the main process: there are no worker processes, so
``num_workers`` must be 0 and ``get_worker_info()`` is always None.
"""
import math
import warnings

from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "default_collate", "default_convert"]


def get_worker_info():
    """Information about the worker process running the code, or None in the main process.
    dlmath has no worker processes, so it is always None (an IterableDataset that splits
    its stream between workers then serves the whole stream)."""
    return None


class _InfiniteConstantSampler(Sampler):
    """None forever: the 'indices' of an IterableDataset, which ignores them."""

    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Iterate over ``dataset`` in mini-batches: the loop ``for x, y in loader`` of training.

    Args:
        dataset: a map-style ``Dataset`` (indexed) or an ``IterableDataset`` (streamed).
        batch_size: examples per batch (default 1); None turns batching off, and each
            example is yielded alone, converted by ``default_convert``.
        shuffle: a new random order each epoch (each ``iter(loader)``).
        sampler: the order of indices (any iterable of them); excludes ``shuffle``.
        batch_sampler: yields lists of indices, one per batch; excludes ``batch_size``,
            ``shuffle``, ``sampler`` and ``drop_last``.
        num_workers: must be 0: dlmath loads in the main process.
        collate_fn: list of examples -> batch (default ``default_collate``).
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        generator: the ``dm.Generator`` the shuffle draws from, so a seed gives the same
            sequence of epochs; None uses dlmath's default generator (``dm.manual_seed``).
        pin_memory, timeout, worker_init_fn, multiprocessing_context, prefetch_factor,
        persistent_workers, pin_memory_device, in_order: accepted as torch does without
            workers and without a GPU (``pin_memory`` warns that nothing is pinned).

    ``len(loader)`` is the number of batches per epoch (what a progress bar needs): for a
    map-style dataset, ``ceil(n / batch_size)``, or ``n // batch_size`` with ``drop_last``.

    >>> import dlmath as dm
    >>> ds = dm.utils.data.TensorDataset(dm.arange(10.), dm.arange(10) % 2)
    >>> loader = DataLoader(ds, batch_size=4)
    >>> len(loader), [tuple(x.shape) for x, y in loader]
    (3, [(4,), (4,), (2,)])
    """

    # set True at the end of __init__: after that the loading plan is fixed (see __setattr__)
    __initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="", in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; "
                             "use num_workers=0 to disable multiprocessing.")
        if num_workers > 0:
            raise ValueError(f"num_workers={num_workers}: dlmath loads data in the main process and has no "
                             "worker processes; use num_workers=0 (the default)")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if timeout > 0:
            # torch accepts it here and fails on the first iter(); saying so now is kinder
            raise ValueError(f"timeout={timeout}: the timeout is for waiting on worker processes, "
                             "and dlmath has none; use timeout=0 (the default)")
        if prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if persistent_workers:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None:
            raise ValueError("multiprocessing_context can only be used with multi-process loading "
                             f"(num_workers > 0), but got num_workers={num_workers}")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.in_order = in_order

        # the checks and their messages are torch's, in torch's order
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in {False, None}:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")

        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._IterableDataset_len_called = None
        self.__initialized = True

    def __setattr__(self, attr, val):
        # the samplers were built from these: changing one afterwards would be silently ignored
        if self.__initialized and attr in ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                                           "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        """A new pass over the data (one epoch): the sampler is iterated afresh, so
        ``shuffle=True`` gives a new order each time."""
        return _SingleProcessDataLoaderIter(self)

    def __len__(self):
        """Batches per epoch. For an IterableDataset, an estimate from ``len(dataset)``."""
        if self._iterable:
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)


class _SingleProcessDataLoaderIter:
    """One epoch of a DataLoader: indices from its sampler, examples from its dataset,
    batches from its collate_fn."""

    def __init__(self, loader):
        if loader.pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=3)
        self._source = loader.dataset
        self._iterable = loader._iterable
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._collate_fn = loader.collate_fn
        self._index_sampler = loader._index_sampler
        self._sampler_iter = iter(self._index_sampler)
        self._IterableDataset_len_called = loader._IterableDataset_len_called
        self._num_yielded = 0
        self._stream = iter(self._source) if self._iterable else None
        self._ended = False
        # a batched fetch when the dataset offers one (Subset, or a dataset of one's own)
        getitems = getattr(self._source, "__getitems__", None)
        self._getitems = getitems if callable(getitems) else None

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._index_sampler)

    def _fetch(self, index):
        if self._iterable:
            return self._fetch_stream(index)
        if not self._auto_collation:
            return self._collate_fn(self._source[index])
        if self._getitems is not None:
            return self._collate_fn(self._getitems(index))
        return self._collate_fn([self._source[i] for i in index])

    def _fetch_stream(self, index):
        if self._ended:
            raise StopIteration
        if not self._auto_collation:
            return self._collate_fn(next(self._stream))
        data = []
        for _ in index:
            try:
                data.append(next(self._stream))
            except StopIteration:
                self._ended = True
                break
        if not data or (self._drop_last and len(data) < len(index)):
            raise StopIteration
        return self._collate_fn(data)

    def __next__(self):
        index = next(self._sampler_iter)   # StopIteration here ends the epoch
        data = self._fetch(index)
        self._num_yielded += 1
        if (self._iterable and self._IterableDataset_len_called is not None
                and self._num_yielded > self._IterableDataset_len_called):
            warnings.warn(f"Length of IterableDataset {self._source} was reported to be "
                          f"{self._IterableDataset_len_called}(when accessing len(dataloader)), but "
                          f"{self._num_yielded} samples have been fetched. ", stacklevel=2)
        return data
