"""``dm.backends`` [torch.backends]: the switches tutorials set, on a CPU-only library.

``dm.backends.mps.is_available()`` and ``dm.backends.cudnn.is_available()`` are False,
as torch's on a machine without those backends. The cuDNN flags (``deterministic``,
``benchmark``, ``enabled``) can be set, as reproducibility recipes do, and change
nothing: dlmath's CPU kernels are deterministic.
"""

import types as _types

__all__ = ["mps", "cuda", "cudnn", "mkldnn", "openmp"]


class _Backend:
    """A backend namespace: ``is_available()``, ``is_built()`` and the flags it carries."""

    def __init__(self, name, available=False, **flags):
        self._name = name
        self._available = available
        self.__dict__.update(flags)

    def is_available(self):
        return self._available

    def is_built(self):
        return self._available

    def __repr__(self):
        return f"<dm.backends.{self._name}: available={self._available}>"


mps = _Backend("mps")
cudnn = _Backend("cudnn", enabled=True, deterministic=False, benchmark=False, allow_tf32=True)
cuda = _Backend("cuda", matmul=_types.SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True))
mkldnn = _Backend("mkldnn", enabled=True)
openmp = _Backend("openmp")
