"""Automatic differentiation: the engine, ``grad``, ``backward`` (torch.autograd)."""
from .._grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled


def __getattr__(name):
    # imported lazily: the Tensor class imports this package's node module first
    if name in ("backward", "grad"):
        from . import functional_api
        return getattr(functional_api, name)
    if name == "shadow_float64":
        from .shadow import shadow_float64
        return shadow_float64
    raise AttributeError(f"module 'dlmath.autograd' has no attribute {name!r}")


__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]
