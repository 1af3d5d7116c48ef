"""Randomness: a default generator and ``dm.Generator`` objects, NumPy's PCG64 underneath.

``dm.manual_seed(s)`` makes every later draw from the default generator
reproducible; passing ``generator=`` isolates a stream, as in PyTorch.
"""
from __future__ import annotations

import numpy as np


class Generator:
    """A random stream: ``g = dm.Generator().manual_seed(0)``."""

    def __init__(self, device="cpu"):
        self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        self._seed = int(seed)
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self):
        return self.manual_seed(int(np.random.SeedSequence().entropy % (2 ** 63)))._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The stream's state (PCG64's, a dict): ``set_state`` of it replays the same draws."""
        import copy
        return copy.deepcopy(self._rng.bit_generator.state)

    def set_state(self, new_state):
        self._rng.bit_generator.state = new_state
        return self

    @property
    def numpy(self) -> np.random.Generator:
        """The NumPy generator behind it (for code that draws with NumPy directly)."""
        return self._rng


default_generator = Generator().manual_seed(0)


def manual_seed(seed):
    """Seed the default generator; returns it, as torch.manual_seed does."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


class fork_rng:
    """torch.random.fork_rng: draws inside the block leave the default generator as it was.
    (``devices``, ``enabled`` and ``device_type`` are accepted; only the CPU has a generator.)"""

    def __init__(self, devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices", device_type="cuda"):
        self.enabled = enabled

    def __enter__(self):
        if self.enabled:
            self.state = default_generator.get_state()

    def __exit__(self, *exc):
        if self.enabled:
            default_generator.set_state(self.state)


def rng(generator=None) -> np.random.Generator:
    """The NumPy generator to draw from."""
    if generator is None:
        return default_generator._rng
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a dm.Generator, got {type(generator).__name__}")
    return generator._rng
