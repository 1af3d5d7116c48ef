"""What ``dir()`` of a public module lists: its public names, not what it imported to do its work.

``dir(dm.nn.functional)`` should read like torch's: functions and classes, not ``np``, ``math``,
``annotations`` or ``make_tensor``, and not the files a package happens to be split into
(``dm.linalg.eigen``). The package installs :func:`public_dir` as each public module's
``__dir__`` (PEP 562) once everything is loaded; attribute access is unchanged.
"""
from __future__ import annotations

import types

# Submodules that are part of the public surface, as in torch (torch.nn.functional, torch.optim.lr_scheduler ...)
PUBLIC_SUBMODULES = frozenset({
    "autograd", "nn", "optim", "linalg", "func", "distributions", "special", "utils", "datasets", "random",
    "cuda", "backends", "accelerator", "functional", "init", "modules", "parameter", "data", "benchmark",
    "lr_scheduler", "kl", "constraints", "mps", "cudnn",
})
# Names a module imports for its own use that are not part of what it offers
INTERNAL = frozenset({"annotations", "make_tensor", "np", "math", "warnings", "functools", "itertools",
                      "operator", "sys", "os", "namedtuple", "dataclass", "field", "Callable", "Any"})


def public_dir(module: types.ModuleType) -> list[str]:
    names = []
    for name, obj in vars(module).items():
        if name.startswith("_") or name in INTERNAL:
            continue
        if isinstance(obj, types.ModuleType):
            if not (obj.__name__.startswith("dlmath.") and name in PUBLIC_SUBMODULES):
                continue
        elif isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)):
            home = getattr(obj, "__module__", None) or ""
            if not home.startswith("dlmath"):
                continue  # a helper imported from numpy, math, typing ...
            if home == "dlmath.tensor" and module.__name__ != "dlmath":
                continue  # dm.Tensor lives at the top; submodules use it, they don't offer it
        names.append(name)
    for name in getattr(module, "__all__", ()):
        if name not in names and hasattr(module, name):
            names.append(name)
    return sorted(names)


def install(modules) -> None:
    for module in modules:
        module.__dir__ = (lambda m=module: public_dir(m))
