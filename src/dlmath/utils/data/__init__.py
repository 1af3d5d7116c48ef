"""dm.utils.data [torch.utils.data]: datasets, samplers and the DataLoader, which feed a
training loop its mini-batches.

    train, val = random_split(TensorDataset(X, y), [0.8, 0.2], generator=dm.Generator().manual_seed(0))
    for epoch in range(10):
        for xb, yb in DataLoader(train, batch_size=64, shuffle=True):   # reshuffled every epoch
            loss = F.cross_entropy(model(xb), yb); ...

- ``dataset``: ``Dataset``, ``IterableDataset``, ``TensorDataset``, ``StackDataset``,
  ``ConcatDataset`` (also ``ds1 + ds2``), ``ChainDataset``, ``Subset``, ``random_split``.
- ``sampler``: ``Sampler``, ``SequentialSampler``, ``RandomSampler``,
  ``SubsetRandomSampler``, ``WeightedRandomSampler``, ``BatchSampler``.
- ``collate``: ``default_collate``, ``default_convert`` (and ``collate`` with
  ``default_collate_fn_map``, torch's ``torch.utils.data._utils.collate``).
- ``dataloader``: ``DataLoader``, ``get_worker_info``.

Names, arguments, defaults, errors and the structure of batches are torch's. Where dlmath
differs:

- The random stream is dlmath's: every shuffle and split draws from ``dm.randperm`` /
  ``dm.randint`` / ``dm.multinomial`` on a ``dm.Generator``, so a seed reproduces dlmath's
  own order, not the order torch gives for the same seed. (Without a ``generator``, torch's
  RandomSampler seeds a fresh generator from the global one each epoch; dlmath draws from
  the default generator directly: ``dm.manual_seed`` fixes both.)
- Loading happens in the main process: ``num_workers`` must be 0 (anything else is a
  ValueError), ``timeout`` must be 0, and ``get_worker_info()`` is always None. There are
  no DataPipes and no ``DistributedSampler``.
- ``TensorDataset`` also takes NumPy arrays (``default_collate`` turns their rows into
  tensors); the errors for mismatched sizes and for unstackable shapes name the shapes.
"""
from .dataset import (Dataset, IterableDataset, TensorDataset, StackDataset, ConcatDataset, ChainDataset,
                      Subset, random_split)
from .sampler import (Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler, WeightedRandomSampler,
                      BatchSampler)
from .collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset", "ChainDataset",
           "Subset", "random_split", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DataLoader", "default_collate", "default_convert",
           "get_worker_info"]
