"""``dm.compile``: torch.compile's signature, and the model returned as it is (dlmath runs eagerly)."""
from __future__ import annotations


def compile(model=None, *, fullgraph=False, dynamic=None, backend=None, mode=None, options=None, name=None,
            disable=False, recompile_limit=None, isolate_recompiles=False, shapes_spec=None):
    """``torch.compile(model)``: the same function, computed as written.

    torch.compile traces a function or module and generates faster code that computes the same
    values; dlmath runs eagerly, op by op, and has no compiler, so the function (or module) comes
    back unchanged, which computes exactly what the compiled one would. The options are accepted
    and ignored. As torch's, it works as ``compile(f)``, ``@compile`` and ``@compile(mode=...)``.
    """
    if model is None:
        def decorate(fn):
            return compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode, options=options,
                           name=name, disable=disable, recompile_limit=recompile_limit,
                           isolate_recompiles=isolate_recompiles, shapes_spec=shapes_spec)
        return decorate
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    return model
