"""``dm.accelerator`` [torch.accelerator]: there is none; dlmath computes on the CPU.

``current_accelerator()`` is None and ``is_available()`` False, as torch's on a machine
without a GPU, so ``dm.accelerator.current_accelerator() or "cpu"`` gives the CPU.
"""

__all__ = ["is_available", "current_accelerator", "device_count", "synchronize", "empty_cache"]


def is_available(check_available=False):
    return False


def current_accelerator(check_available=False):
    """None: there is no accelerator."""
    return None


def device_count():
    return 0


def synchronize(device=None):
    """A no-op: the CPU computes synchronously."""


def empty_cache():
    """A no-op: there is no accelerator memory to release."""
