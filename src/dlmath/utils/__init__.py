"""dm.utils [torch.utils]: the helpers around a training loop that are not mathematics.

- ``dm.utils.data``: datasets, samplers, ``DataLoader`` and ``default_collate``, which
  turn a pile of examples into the shuffled mini-batches an optimiser steps on.
- ``dm.utils.benchmark``: timing, loaded on first use.
"""
from . import data

__all__ = ["data"]


def __getattr__(name):
    # benchmark is loaded when first touched, so ``import dlmath`` does not pay for it
    # (and dm.utils.benchmark works without its own import statement).
    if name == "benchmark":
        import importlib
        try:
            return importlib.import_module(f"{__name__}.benchmark")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.benchmark":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
