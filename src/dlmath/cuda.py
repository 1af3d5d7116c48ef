"""``dm.cuda`` [torch.cuda] on a library that computes on the CPU only.

The queries answer as torch's do on a machine without a GPU (``is_available()`` is
False, ``device_count()`` is 0), so the everyday guard
``device = "cuda" if dm.cuda.is_available() else "cpu"`` picks the CPU. Seeding and
cache calls are no-ops, as torch's are before CUDA starts; a call that needs a GPU
(``synchronize``, ``current_device``, ``get_device_name``) raises RuntimeError.
"""

__all__ = ["is_available", "device_count", "is_initialized", "manual_seed", "manual_seed_all", "seed",
           "seed_all", "empty_cache", "synchronize", "current_device", "get_device_name", "memory_allocated",
           "max_memory_allocated", "memory_reserved", "is_bf16_supported"]


def _no_gpu(what):
    return RuntimeError(f"dm.cuda.{what}: no CUDA device: dlmath runs on the CPU only "
                        f"(guard the call with dm.cuda.is_available())")


def is_available():
    """False: dlmath computes on the CPU."""
    return False


def device_count():
    return 0


def is_initialized():
    return False


def is_bf16_supported(including_emulation=True):
    return False


def manual_seed(seed):
    """A no-op (there is no GPU generator), as torch's without CUDA."""


def manual_seed_all(seed):
    """A no-op (there is no GPU generator), as torch's without CUDA."""


def seed():
    """A no-op, as torch's without CUDA."""


def seed_all():
    """A no-op, as torch's without CUDA."""


def empty_cache():
    """A no-op: there is no GPU memory to release."""


def memory_allocated(device=None):
    return 0


def max_memory_allocated(device=None):
    return 0


def memory_reserved(device=None):
    return 0


def synchronize(device=None):
    raise _no_gpu("synchronize")


def current_device():
    raise _no_gpu("current_device")


def get_device_name(device=None):
    raise _no_gpu("get_device_name")
