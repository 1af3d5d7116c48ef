"""Modules as functions of their parameters: ``functional_call`` and ``stack_module_state``
(torch.func's), so the transforms can differentiate and map over a network's weights.

``functional_call(model, params, x)`` runs ``model(x)`` with the tensors in ``params``
standing in for its parameters and buffers (by their dotted names), for that call only.
Then ``grad(lambda p: loss(functional_call(model, p, x)))(params)`` is the gradient with
respect to the weights, ``vmap`` of it over examples is per-sample gradients, and
``vmap`` over ``stack_module_state(models)`` runs an ensemble.
"""
from __future__ import annotations

__all__ = ["functional_call", "stack_module_state"]

_MISSING = object()


def _merge(parameter_and_buffer_dicts):
    if isinstance(parameter_and_buffer_dicts, dict):
        return dict(parameter_and_buffer_dicts)
    if not isinstance(parameter_and_buffer_dicts, (tuple, list)):
        raise TypeError("functional_call: parameter_and_buffer_dicts must be a dict or a tuple of dicts, got "
                        f"{type(parameter_and_buffer_dicts).__name__}")
    merged, seen = {}, {}
    for d in parameter_and_buffer_dicts:
        for k, v in d.items():
            seen[k] = seen.get(k, 0) + 1
            merged[k] = v
    repeated = [k for k, n in seen.items() if n > 1]
    if repeated:
        raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
    return merged


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True,
                    strict=False):
    """``module(*args, **kwargs)`` with its parameters and buffers replaced by the tensors of
    ``parameter_and_buffer_dicts`` (a dict, or a tuple of dicts, keyed by the names of
    ``named_parameters()``/``named_buffers()``), restored afterwards even on an error.

    ``tie_weights``: a parameter registered under two names (tied weights) takes the
    replacement given for either. ``strict``: every parameter and buffer must be given,
    and nothing else (RuntimeError listing the missing and unexpected keys)."""
    values = _merge(parameter_and_buffer_dicts)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    kwargs = {} if kwargs is None else kwargs
    params = list(module.named_parameters(remove_duplicate=False))
    buffers = list(module.named_buffers(remove_duplicate=False))
    if tie_weights:
        by_id = {}
        for name, t in params + buffers:
            if name in values:
                by_id[id(t)] = values[name]
        for name, t in params + buffers:
            if name not in values and id(t) in by_id:
                values[name] = by_id[id(t)]
    if strict:
        known = {n for n, _ in params + buffers}
        missing = sorted(known - set(values))
        unexpected = sorted(set(values) - known)
        if missing or unexpected:
            lines = [f"Error(s) in reparametrizing for {type(module).__name__}:"]
            if unexpected:
                lines.append("\tUnexpected key(s): " + ", ".join(repr(k) for k in unexpected) + ".")
            if missing:
                lines.append("\tMissing key(s): " + ", ".join(repr(k) for k in missing) + ".")
            raise RuntimeError("\n".join(lines))
    swapped = []   # (registry dict or the module's __dict__, name, old value)
    try:
        for name, value in values.items():
            prefix, _, leaf = name.rpartition(".")
            owner = module.get_submodule(prefix) if prefix else module
            d = owner.__dict__
            registry = d["_parameters"] if leaf in d["_parameters"] else d["_buffers"] if leaf in d["_buffers"] else d
            swapped.append((registry, leaf, registry.get(leaf, _MISSING)))
            registry[leaf] = value
        return module(*args, **kwargs)
    finally:
        for registry, leaf, old in reversed(swapped):
            if old is _MISSING:
                del registry[leaf]
            else:
                registry[leaf] = old


def stack_module_state(models):
    """(params, buffers): for each name, the models' tensors stacked along a new dim 0 (the
    parameters as new leaves that require grad when the originals do), for ``vmap`` with
    ``functional_call`` over an ensemble of models of one architecture."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    first = type(models[0])
    if not all(type(m) is first for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    from ..ops.shape import stack

    def gather(named):
        out = {}
        for name, t in named(models[0]):
            ts = [dict(named(m))[name] for m in models]
            s = stack([x.detach() for x in ts])
            out[name] = s.requires_grad_(True) if t.requires_grad else s
        return out
    return (gather(lambda m: m.named_parameters()), gather(lambda m: m.named_buffers()))
