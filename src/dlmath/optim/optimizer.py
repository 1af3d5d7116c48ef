"""The optimiser base class (torch.optim.Optimizer): parameter groups, per-parameter state, state dicts.

An optimiser holds ``param_groups``, a list of dicts, each with its ``'params'`` (a list of
tensors) and its hyperparameters (``lr``, ``momentum``, ...; missing ones are filled from
``defaults``), and ``state``, a dict from each parameter to the buffers its rule keeps
(momentum, moving averages, a step count). ``step()`` updates every parameter whose ``.grad``
is set, in place and under ``no_grad``.

The state dict has torch's layout, so a checkpoint's structure is the same in both libraries::

    {'state': {0: {'step': tensor(10.), 'exp_avg': tensor(...), ...}, 1: {...}},
     'param_groups': [{'lr': 0.001, 'betas': (0.9, 0.999), ..., 'params': [0, 1]}]}

parameters are numbered in order of appearance across the groups.
"""
from __future__ import annotations

import copy
import functools
import itertools
from collections import OrderedDict, defaultdict
from itertools import chain

import numpy as np

from .._dtype import get_default_dtype
from .._grad_mode import enable_grad, no_grad
from ..creation import tensor as _tensor
from ..tensor import Tensor

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]


class _RequiredParameter:
    """A hyperparameter every group must give (torch.optim.optimizer.required)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class RemovableHandle:
    """What a ``register_*_hook`` returns: ``handle.remove()`` takes the hook out again."""

    _ids = itertools.count()

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_global_step_pre_hooks = OrderedDict()
_global_step_post_hooks = OrderedDict()


def register_optimizer_step_pre_hook(hook):
    """``hook(optimizer, args, kwargs)`` before every optimiser's step (``args[0]`` is the
    optimiser, as in torch); it may return new ``(args, kwargs)``."""
    handle = RemovableHandle(_global_step_pre_hooks)
    _global_step_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook):
    """``hook(optimizer, args, kwargs)`` after every optimiser's step."""
    handle = RemovableHandle(_global_step_post_hooks)
    _global_step_post_hooks[handle.id] = hook
    return handle


def _with_step_hooks(func):
    """``step`` wrapped with the pre- and post-hooks (global ones first before, last after)."""
    @functools.wraps(func)
    def step(*args, **kwargs):
        # as torch, the hooks see the optimiser itself as args[0]
        self = args[0]
        if getattr(self, "_in_hooked_step", False):   # a subclass's step calling super().step()
            return func(*args, **kwargs)
        for hook in chain(_global_step_pre_hooks.values(), self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(f"{func.__qualname__}: a step pre-hook must return None or a tuple "
                                       f"of (new_args, new_kwargs), but got {result!r}.")
        self._in_hooked_step = True
        try:
            out = func(*args, **kwargs)
        finally:
            self._in_hooked_step = False
        for hook in chain(self._optimizer_step_post_hooks.values(), _global_step_post_hooks.values()):
            hook(self, args, kwargs)
        return out
    step._hooked = True
    return step


def _value(x):
    """A hyperparameter as a Python number (a 1-element tensor lr is read once per step)."""
    return x.item() if isinstance(x, Tensor) else x


def _scalar_dtype():
    # torch keeps a step count in float64 when the default dtype is float64, else float32
    return get_default_dtype()


def _step_tensor(value=0.0):
    return _tensor(float(value), dtype=_scalar_dtype())


def _check_flags(name, foreach=None, fused=None, capturable=False, differentiable=False):
    """torch's implementation switches. ``foreach`` and ``fused`` choose between torch's kernels
    for the same rule: dlmath has one (a pass per tensor), so they are accepted and kept in the
    groups (a state dict then has torch's keys). ``capturable`` (CUDA graphs) and
    ``differentiable`` (autograd through the step) have no counterpart here."""
    if capturable:
        raise ValueError(f"{name}: capturable=True is for CUDA graph capture; dlmath runs on the CPU "
                         f"(got capturable={capturable!r})")
    if differentiable:
        raise NotImplementedError(f"{name}: differentiable=True (autograd through the optimiser step) "
                                  f"is not supported; the step runs under no_grad")
    if fused and foreach:
        raise RuntimeError(f"{name}: `fused` and `foreach` cannot be `True` together.")


def _check_nonneg(name, what, value):
    if not 0.0 <= value:
        raise ValueError(f"{name}: invalid {what}: {value}")


def _check_lr(name, lr):
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError(f"{name}: Tensor lr must be 1-element, got shape {tuple(lr.shape)}")
    _check_nonneg(name, "learning rate", lr)


def _check_real(name, p):
    """torch's adaptive optimisers treat a complex parameter as pairs of reals (view_as_real);
    the core has no view_as_real yet, and g * g on complex numbers would be a different rule."""
    if p.is_complex():
        raise NotImplementedError(f"{name}: complex parameters are not supported (shape {tuple(p.shape)}, "
                                  f"dtype {p.dtype}): torch updates them through view_as_real, which dlmath "
                                  "lacks")


class Optimizer:
    """Base class of the optimisers (torch.optim.Optimizer).

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (parameter
            groups, each with ``'params'`` and any hyperparameters that override ``defaults``).
        defaults: the hyperparameters' default values.

    A subclass implements ``step``. A parameter whose ``.grad`` is None is skipped by the step,
    as in torch (a parameter that requires no grad gets no gradient, so it is skipped too).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_hooked", False):
            cls.step = _with_step_hooks(step)

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._init_hooks()
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params argument given to the optimizer should be an "
                            f"iterable of Tensors or dicts, but got a Tensor of shape {tuple(params.shape)}")
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(f"{type(self).__name__}: optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def _init_hooks(self):
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()

    # ------------------------------------------------------------------- hooks --

    @staticmethod
    def _register(hooks, hook, prepend=False):
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` before each step; it may return new ``(args, kwargs)``."""
        return self._register(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` after each step."""
        return self._register(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer)`` before ``state_dict()`` builds the dict."""
        return self._register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict)`` after; it may return a replacement dict."""
        return self._register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict)`` before loading (on a shallow copy); it may return a replacement."""
        return self._register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer)`` after loading."""
        return self._register(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ------------------------------------------------------------------ groups --

    def add_param_group(self, param_group):
        """Add a group (a dict with ``'params'`` and optional hyperparameters) to ``param_groups``.

        Missing hyperparameters take the defaults; a parameter may belong to one group only.
        The dict itself is stored (and completed), as torch does.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{name}: optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple):    # named_parameters()
                names.append(p[0])
                tensors.append(p[1])
            else:
                tensors.append(p)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError(f"{name}: all optimizer params should be with/without names. "
                                 "Some param names are missing")
            param_group["param_names"] = names
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__module__}.{type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (shape {tuple(p.shape)})")
        for key, default in self.defaults.items():
            if default is required and key not in param_group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required "
                                 f"optimization parameter {key}")
            param_group.setdefault(key, default)
        if len({id(p) for p in tensors}) != len(tensors):
            import warnings
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; "
                          "see github.com/pytorch/pytorch/issues/40967 for more information", stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(f"{name}: all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if any(id(p) in seen for p in tensors):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def _params_with_grad(self, group):
        """The group's parameters that have a gradient, with it: the ones a step updates."""
        return [(p, p.grad) for p in group["params"] if p.grad is not None]

    # -------------------------------------------------------------------- step --

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's ``.grad``: set it to None (default), or fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g = p.grad
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g.zero_()

    def step(self, closure=None):
        """One update of every parameter with a gradient; ``closure`` re-evaluates the loss."""
        raise NotImplementedError

    def _run_step(self, closure, update_group):
        """The frame of every step: the closure runs with grad on (its loss is returned), then
        ``update_group(group)`` for each group under no_grad, so the in-place writes are not
        recorded."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                update_group(group)
        return loss

    # -------------------------------------------------------------- state dict --

    def _steps_as_tensors(self):
        """A state dict from before torch 1.12 keeps 'step' as a number: a 0-d tensor from now on."""
        for state in self.state.values():
            # (a value kept under an unknown index, see load_state_dict, need not be a dict)
            if isinstance(state, dict) and "step" in state and not isinstance(state["step"], Tensor):
                state["step"] = _step_tensor(state["step"])

    def state_dict(self):
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``, as torch.

        Parameters are numbered in order of appearance across the groups. As in torch, the state
        tensors are the optimiser's own (``copy.deepcopy`` the dict to keep a snapshot while
        training goes on); ``load_state_dict`` copies them.
        """
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        mapping = {}
        start = 0

        def pack(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack(g) for g in self.param_groups]
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        state_dict = {"state": state, "param_groups": param_groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict):
        """Load a state dict made by ``state_dict()`` (here or, with tensors converted, by torch).

        The groups must match this optimiser's in number and sizes (ValueError otherwise, as
        torch). Tensors are copied (deep copy), floating ones cast to their parameter's dtype
        except ``step``; NumPy arrays are accepted as tensors. As torch, keys other than
        ``'state'`` and ``'param_groups'`` are ignored (a checkpoint often keeps its epoch or
        scheduler beside them), and a state entry under an index no parameter has is kept as it
        is, under that index (``state_dict()`` gives it back; steps never read it).
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(f"{name}.load_state_dict: expected a dict, got {type(state_dict).__name__}")
        state_dict = state_dict.copy()
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise KeyError(f"{name}.load_state_dict: the state dict has no {key!r} entry")
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError(f"{name}: loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}, the optimizer has {len(groups)})")
        for i, (g, s) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(f"{name}: loaded state dict contains a parameter group that doesn't match "
                                 f"the size of optimizer's group (group {i}: {len(s['params'])} parameters "
                                 f"saved, {len(g['params'])} in the optimizer)")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, key=None):
            if isinstance(value, np.ndarray):
                value = _tensor(value)
            if isinstance(value, Tensor):
                value = value.detach().clone()
                if key != "step" and param.is_floating_point() and value.is_floating_point() \
                        and value.dtype != param.dtype:
                    value = value.to(param.dtype)
                return value
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return copy.deepcopy(value)

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v)
            else:   # as torch: kept uncopied under its index, so a save gives it back
                state[k] = v

        for g, new in zip(groups, saved_groups):
            new["params"] = g["params"]
            if "param_names" in g and "param_names" not in new:
                new["param_names"] = g["param_names"]
        self.state = state
        self.param_groups = saved_groups
        self._fill_group_defaults()
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    def _fill_group_defaults(self):
        """After a load: keys a group from an older torch may lack (torch's __setstate__)."""

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "_optimizer_step_pre_hooks" not in self.__dict__:
            self._init_hooks()
        self.defaults.setdefault("differentiable", False)
        self._fill_group_defaults()

    def __repr__(self):
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"
