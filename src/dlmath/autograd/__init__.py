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
    if name in ("gradcheck", "gradgradcheck", "GradcheckError"):
        from . import checks
        return getattr(checks, name)
    if name == "Variable":
        from .variable import Variable
        return Variable
    if name in ("Function", "FunctionCtx"):
        from . import function
        return getattr(function, name)
    if name in ("detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled"):
        from . import anomaly
        return getattr(anomaly, name)
    raise AttributeError(f"module 'dlmath.autograd' has no attribute {name!r}")


__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "gradcheck", "gradgradcheck", "Function", "detect_anomaly", "set_detect_anomaly", "Variable"]
