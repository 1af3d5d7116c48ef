"""``nn.Module``: the base class of every layer and network (torch.nn.Module).

A module owns its parameters (the learnable tensors an optimiser updates),
its buffers (state that is saved but not learned, such as BatchNorm's running
mean) and its submodules, registered simply by assigning them to attributes.
``model(x)`` runs ``forward`` (with any hooks); ``parameters()`` walks the tree;
``state_dict()``/``load_state_dict()`` save and restore everything under
torch's key names (``"0.weight"``, ``"encoder.norm.running_var"``), so weights
move between dlmath and PyTorch unchanged.
"""
from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict, namedtuple

import numpy as np

from ..._grad_mode import no_grad
from ...tensor import Device as _DeviceType, Tensor
from ..parameter import Parameter

__all__ = ["Module"]


def _addindent(s, num_spaces):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join(num_spaces * " " + line for line in lines)


def _typename(obj):
    if isinstance(obj, Tensor):
        return "dlmath.nn.Parameter" if isinstance(obj, Parameter) else "dlmath.Tensor"
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module in (None, "builtins") else f"{module}.{name}"


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys the module wanted but did not get, and the rest."""
    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """What ``register_*_hook`` returns: ``handle.remove()`` takes the hook off again
    (also usable as a context manager)."""
    _next_id = itertools.count()

    def __init__(self, hooks_dict, *extra_dicts):
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.extra_dict_refs = tuple(weakref.ref(d) for d in extra_dicts)
        self.id = next(RemovableHandle._next_id)

    def remove(self):
        for ref in (self.hooks_dict_ref,) + self.extra_dict_refs:
            d = ref()
            if d is not None and self.id in d:
                del d[self.id]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _HookDict(dict):
    """A dict that a weakref can point to (plain dicts cannot be weakly referenced)."""
    __slots__ = ("__weakref__",)


def _float_only(convert):
    """Apply ``convert`` to floating tensors and leave integer ones (num_batches_tracked, indices)."""
    return lambda t: convert(t) if t.is_floating_point() else t


def _parse_to(args, kwargs):
    """``module.to(dtype)``, ``.to("cpu")``, ``.to(device, dtype)``, ``.to(tensor)`` -> the dtype or None."""
    from ... import _dtype
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("copy", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, (str, _DeviceType)) and not _is_dtype(a):
            device = a
        elif isinstance(a, bool):          # non_blocking given positionally
            continue
        else:
            dtype = a
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"Module.to: dlmath runs on the CPU only (got device {device!r})")
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind not in "fc":
            raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, "
                            f"but got desired dtype={_dtype.dtype_name(dtype)}")
    return dtype


def _is_dtype(a):
    try:
        np.dtype(a)
    except TypeError:
        return False
    return not isinstance(a, str)


class Module:
    """Base class of all layers and networks: subclass it, register parameters and
    submodules in ``__init__`` by assigning them, and write ``forward``.

    >>> import dlmath as dm
    >>> class Net(dm.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = dm.nn.Linear(4, 2)
    ...     def forward(self, x):
    ...         return self.fc(x).relu()
    >>> [k for k in Net().state_dict()]
    ['fc.weight', 'fc.bias']
    """
    training: bool
    _version = 1        # of the state-dict layout; a subclass bumps it when its keys change (BatchNorm: 2)
    call_super_init = False

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments: "
                            f"{args!r} {kwargs!r}")
        setattr_ = object.__setattr__   # the registries themselves bypass __setattr__
        setattr_(self, "training", True)
        setattr_(self, "_parameters", {})
        setattr_(self, "_buffers", {})
        setattr_(self, "_non_persistent_buffers_set", set())
        setattr_(self, "_modules", {})
        setattr_(self, "_forward_hooks", _HookDict())
        setattr_(self, "_forward_hooks_with_kwargs", _HookDict())
        setattr_(self, "_forward_hooks_always_called", _HookDict())
        setattr_(self, "_forward_pre_hooks", _HookDict())
        setattr_(self, "_forward_pre_hooks_with_kwargs", _HookDict())
        setattr_(self, "_backward_hooks", _HookDict())
        setattr_(self, "_backward_pre_hooks", _HookDict())
        setattr_(self, "_state_dict_hooks", _HookDict())
        setattr_(self, "_state_dict_pre_hooks", _HookDict())
        setattr_(self, "_load_state_dict_pre_hooks", _HookDict())
        setattr_(self, "_load_state_dict_post_hooks", _HookDict())

    # --- the forward pass ----------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        # the common case (no hooks) costs three dict truth tests on top of forward
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args, kwargs):
        bw_state = None
        try:
            args, kwargs = self._run_forward_pre_hooks(args, kwargs)
            if self._backward_hooks or self._backward_pre_hooks:
                bw_state = _BackwardHookState(self)
                args = bw_state.wrap_inputs(args)
            out = self.forward(*args, **kwargs)
        except Exception:
            # hooks registered with always_call run even when a pre-hook or forward raises (their
            # result is dropped), as torch's
            for hook_id, hook in list(self._forward_hooks.items()):
                if hook_id in self._forward_hooks_always_called:
                    if hook_id in self._forward_hooks_with_kwargs:
                        hook(self, args, kwargs, None)
                    else:
                        hook(self, args, None)
            raise
        for hook_id, hook in list(self._forward_hooks.items()):
            if hook_id in self._forward_hooks_with_kwargs:
                result = hook(self, args, kwargs, out)
            else:
                result = hook(self, args, out)
            if result is not None:
                out = result
        if bw_state is not None:
            out = bw_state.wrap_outputs(out)
        return out

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output) -> None or new grad_input`` runs when the
        gradients with respect to the module's tensor inputs have been computed (grad_input:
        one entry per positional tensor argument, None where none flows)."""
        handle = RemovableHandle(self._backward_hooks)
        _add_hook(self._backward_hooks, handle.id, hook, prepend)
        return handle

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output) -> None or new grad_output`` runs when the gradients
        with respect to the module's outputs arrive, before they flow into it."""
        handle = RemovableHandle(self._backward_pre_hooks)
        _add_hook(self._backward_pre_hooks, handle.id, hook, prepend)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args) -> None or new args`` runs before ``forward``
        (``with_kwargs=True``: ``hook(module, args, kwargs) -> None or (args, kwargs)``)."""
        handle = RemovableHandle(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs)
        _add_hook(self._forward_pre_hooks, handle.id, hook, prepend)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def _run_forward_pre_hooks(self, args, kwargs):
        for hook_id, hook in list(self._forward_pre_hooks.items()):
            if hook_id in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        return args, kwargs

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """``hook(module, args, output) -> None or new output`` runs after ``forward``
        (``with_kwargs=True``: ``hook(module, args, kwargs, output)``); ``always_call``: also
        when forward raises (with output None)."""
        handle = RemovableHandle(self._forward_hooks, self._forward_hooks_with_kwargs,
                                 self._forward_hooks_always_called)
        _add_hook(self._forward_hooks, handle.id, hook, prepend)
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    # --- attribute registration -------------------------------------------------------
    def __getattr__(self, name):
        # only called when normal lookup fails: parameters, buffers and submodules live in registries
        d = self.__dict__
        if "_parameters" in d:
            if name in d["_parameters"]:
                return d["_parameters"][name]
            if name in d["_buffers"]:
                return d["_buffers"][name]
            if name in d["_modules"]:
                return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            _remove_from(name, d, d["_buffers"], d["_modules"], d["_non_persistent_buffers_set"])
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                "(dlmath.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        else:
            modules = d.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise AttributeError("cannot assign module before Module.__init__() call")
                _remove_from(name, d, d["_parameters"], d["_buffers"], d["_non_persistent_buffers_set"])
                modules[name] = value
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' "
                                    "(dlmath.nn.Module or None expected)")
                modules[name] = value
            else:
                buffers = d.get("_buffers")
                if buffers is not None and name in buffers:
                    if value is not None and not isinstance(value, Tensor):
                        raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' "
                                        "(dlmath.Tensor or None expected)")
                    buffers[name] = value
                else:
                    object.__setattr__(self, name, value)

    def __delattr__(self, name):
        d = self.__dict__
        if name in d.get("_parameters", ()):
            del d["_parameters"][name]
        elif name in d.get("_buffers", ()):
            del d["_buffers"][name]
            d["_non_persistent_buffers_set"].discard(name)
        elif name in d.get("_modules", ()):
            del d["_modules"][name]
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        keys = (dir(type(self)) + list(self.__dict__) + list(self._parameters) + list(self._modules)
                + list(self._buffers))
        return sorted(k for k in keys if not k[0].isdigit())

    def _check_name(self, kind, name, registry):
        if registry not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {_typename(name)}")
        if "." in name:
            raise KeyError(f"{kind} name can't contain \".\"")
        if name == "":
            raise KeyError(f"{kind} name can't be empty string \"\"")
        if hasattr(self, name) and name not in self.__dict__[registry]:
            raise KeyError(f"attribute '{name}' already exists")

    def register_buffer(self, name, tensor, persistent=True):
        """Register ``tensor`` as state that is saved in the state dict (when ``persistent``)
        and moved by ``float()``/``to()``, but not learned (``running_mean``)."""
        self._check_name("buffer", name, "_buffers")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                            "(dlmath Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent one such as ``bias=False``)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"parameter name should be a string. Got {_typename(name)}")
        if "." in name:
            raise KeyError("parameter name can't contain \".\"")
        if name == "":
            raise KeyError("parameter name can't be empty string \"\"")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is None:
            self._parameters[name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            "(dlmath.nn.Parameter or None required)")
        if param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                             f"created explicitly. To express '{name}' as a function of another Tensor, "
                             "compute the value in the forward() method.")
        self._parameters[name] = param

    def add_module(self, name, module):
        """Register ``module`` as the child ``name`` (same as assigning ``self.<name> = module``)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {_typename(name)}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f"module name can't contain \".\", got: {name}")
        if name == "":
            raise KeyError("module name can't be empty string \"\"")
        self._modules[name] = module

    def register_module(self, name, module):
        """Alias for :meth:`add_module`."""
        self.add_module(name, module)

    def get_submodule(self, target):
        """The submodule at the dotted path ``target`` (``"encoder.layers.0"``); ``""`` is self."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not an nn.Module")
        return mod

    def get_parameter(self, target):
        """The parameter at the dotted path ``target`` (``"fc.weight"``)."""
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError("`" + name + "` is not an nn.Parameter")
        return param

    def get_buffer(self, target):
        """The buffer at the dotted path ``target`` (``"bn.running_mean"``)."""
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        if name not in mod._buffers:
            raise AttributeError("`" + name + "` is not a buffer")
        return getattr(mod, name)

    # --- walking the tree -----------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for self and every descendant, each module once."""
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """(name, module) for the direct submodules, each once."""
        memo = set()
        for name, module in self._modules.items():
            if module is not None and module not in memo:
                memo.add(module)
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for module_prefix, module in modules:
            for k, v in getattr(module, registry).items():
                if v is None or v in memo:
                    continue
                if remove_duplicate:
                    memo.add(v)
                yield module_prefix + ("." if module_prefix else "") + k, v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, parameter) over the tree; a parameter shared by two modules comes once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """The learnable tensors, in registration order: what an optimiser is given."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        """Call ``fn`` on every submodule (children first) and on self: custom init."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # --- modes and gradients ----------------------------------------------------------
    def train(self, mode=True):
        """Training mode (dropout drops, BatchNorm uses batch statistics); returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Switch gradient tracking of every parameter (freezing a pretrained part)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear the gradients of every parameter: drop them (default) or fill them with zeros."""
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad = p.grad.detach()
                    else:
                        p.grad.requires_grad_(False)
                    with no_grad():
                        p.grad.zero_()

    # --- dtype (and device) -------------------------------------------------------------
    def _apply(self, fn):
        for module in self.children():
            module._apply(fn)
        for key, param in self._parameters.items():
            if param is None:
                continue
            with no_grad():
                new = fn(param)
            if new is not param:
                param.data = new        # same Parameter object, so optimisers holding it still work
            if param.grad is not None:
                with no_grad():
                    g = fn(param.grad)
                if g is not param.grad:
                    param.grad = g
        for key, buf in self._buffers.items():
            if buf is not None:
                self._buffers[key] = fn(buf)
        return self

    def float(self):
        """Cast floating parameters and buffers to float32."""
        return self._apply(_float_only(lambda t: t.float()))

    def double(self):
        """Cast floating parameters and buffers to float64."""
        return self._apply(_float_only(lambda t: t.double()))

    def half(self):
        """Cast floating parameters and buffers to float16."""
        return self._apply(_float_only(lambda t: t.half()))

    def type(self, dst_type):
        """Cast all parameters and buffers to ``dst_type``."""
        return self._apply(lambda t: t.to(dst_type))

    def to(self, *args, **kwargs):
        """``to(dtype)`` casts floating parameters and buffers; ``to("cpu")`` is a no-op
        (dlmath runs on the CPU); ``to(tensor)`` takes the tensor's dtype."""
        dtype = _parse_to(args, dict(kwargs))
        if dtype is None:
            return self
        return self._apply(lambda t: t.to(dtype) if t.is_floating_point() or t.is_complex() else t)

    def cpu(self):
        """A no-op: dlmath runs on the CPU."""
        return self

    def cuda(self, device=None):
        raise RuntimeError(f"{self._get_name()}.cuda(): dlmath runs on the CPU only")

    def share_memory(self):
        """A no-op kept for torch's API (dlmath has no multiprocessing tensor sharing)."""
        return self

    # --- state dict ------------------------------------------------------------------
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars else buf.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + _EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def get_extra_state(self):
        """Override (with :meth:`set_extra_state`) to save non-tensor state under the key
        ``"_extra_state"`` of the state dict, as torch."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be called.")

    def set_extra_state(self, state):
        """Restore what :meth:`get_extra_state` returned."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be called.")

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """An OrderedDict of every parameter and persistent buffer under torch's dotted keys,
        detached (sharing memory) unless ``keep_vars``."""
        if args:   # torch's deprecated positional form state_dict(destination, prefix, keep_vars)
            destination, prefix, keep_vars = (list(args) + [destination, prefix, keep_vars][len(args):])[:3]
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        metadata = getattr(destination, "_metadata", None)
        if metadata is not None:
            metadata[prefix[:-1]] = {"version": self._version}
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            result = hook(self, destination, prefix, {"version": self._version})
            if result is not None:
                destination = result
        return destination

    def _load_state_dict_pre_hook(self, state_dict, prefix, local_metadata):
        """A subclass's chance to adapt an older layout of its keys before loading (BatchNorm)."""

    def _check_state_dict(self, state_dict, prefix, metadata, plan, missing, unexpected, errors, strict=True):
        """Check this module's keys (recursively); record what to copy in ``plan``, write nothing."""
        local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
        self._load_state_dict_pre_hook(state_dict, prefix, local_metadata)
        for hook in self._load_state_dict_pre_hooks.values():
            hook(self, state_dict, prefix, local_metadata, strict, missing, unexpected, errors)
        local = {k: v for k, v in self._parameters.items() if v is not None}
        local.update((k, v) for k, v in self._buffers.items()
                     if v is not None and k not in self._non_persistent_buffers_set)
        for name, target in local.items():
            key = prefix + name
            if key not in state_dict:
                missing.append(key)
                continue
            raw = state_dict[key]
            value = _as_value(raw)
            if not isinstance(value, Tensor):
                errors.append(f'While copying the parameter named "{key}", expected dlmath.Tensor or '
                              f"Tensor-like object from checkpoint but received {type(value)}")
                continue
            if target.ndim == 0 and value.ndim == 1 and value.numel() == 1:
                value = value[0]         # torch's backward compatibility for 0-d params saved as (1,)
            if tuple(value.shape) != tuple(target.shape):
                errors.append(f"size mismatch for {key}: copying a param with shape {value.shape} from "
                              f"checkpoint, the shape in current model is {target.shape}.")
                continue
            plan.append((self, name, target, value, value is not raw))
        extra_key = prefix + _EXTRA_STATE_KEY_SUFFIX
        has_extra = type(self).set_extra_state is not Module.set_extra_state
        if has_extra:
            if extra_key in state_dict:
                plan.append((self, _EXTRA_STATE_KEY_SUFFIX, None, state_dict[extra_key], False))
            else:
                missing.append(extra_key)
        for key in state_dict:
            if key.startswith(prefix) and not (has_extra and key == extra_key):
                first = key[len(prefix):].split(".", 1)[0]
                if first not in self._modules and first not in local:
                    unexpected.append(key)
        for name, child in self._modules.items():
            if child is not None:
                child._check_state_dict(state_dict, prefix + name + ".", metadata, plan, missing,
                                        unexpected, errors, strict)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy parameters and buffers from ``state_dict`` (in place, under no_grad, so an
        optimiser holding the parameters keeps working).

        Everything is checked before anything is written: with ``strict``, missing or
        unexpected keys raise RuntimeError (torch's message), and a shape mismatch always
        does, leaving the module unchanged. Returns ``_IncompatibleKeys(missing_keys,
        unexpected_keys)``. Values may be dlmath Tensors or NumPy arrays.
        """
        if not isinstance(state_dict, dict) and not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)     # a copy: the pre-hooks may add keys
        plan, missing, unexpected, errors = [], [], [], []
        self._check_state_dict(state_dict, "", metadata, plan, missing, unexpected, errors, strict)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        with no_grad():
            for module, name, target, value, converted in plan:
                if target is None:                 # the module's extra state
                    module.set_extra_state(value)
                elif assign:
                    # the checkpoint's tensors become the module's (copied if they came from outside)
                    value = value.clone() if converted else value.detach()
                    if name in module._parameters:
                        module._parameters[name] = Parameter(value, target.requires_grad)
                    else:
                        module._buffers[name] = value
                else:
                    target.copy_(value)
        result = _IncompatibleKeys(missing, unexpected)
        for module in self.modules():
            for hook in module._load_state_dict_post_hooks.values():
                hook(module, result)
        return result

    def register_state_dict_pre_hook(self, hook):
        """``hook(module, prefix, keep_vars)`` runs before the module's ``state_dict``."""
        handle = RemovableHandle(self._state_dict_pre_hooks)
        self._state_dict_pre_hooks[handle.id] = hook
        return handle

    def register_state_dict_post_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata)`` runs after the module (and its
        children) wrote their entries; it may edit ``state_dict`` in place."""
        handle = RemovableHandle(self._state_dict_hooks)
        self._state_dict_hooks[handle.id] = hook
        return handle

    def register_load_state_dict_pre_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
        error_msgs)`` runs before the module's keys are checked; it may rename keys in
        ``state_dict`` (a copy: the caller's dict is left alone), as torch's."""
        handle = RemovableHandle(self._load_state_dict_pre_hooks)
        self._load_state_dict_pre_hooks[handle.id] = hook
        return handle

    def register_load_state_dict_post_hook(self, hook):
        """``hook(module, incompatible_keys)`` runs after a successful load. Unlike torch's, it runs
        once the values are written, so it cannot clear keys to avoid the strict error: dlmath
        checks everything before writing anything."""
        handle = RemovableHandle(self._load_state_dict_post_hooks)
        self._load_state_dict_post_hooks[handle.id] = hook
        return handle

    # --- printing ----------------------------------------------------------------------
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """The layer's own settings for its repr (``in_features=4, out_features=2, bias=True``)."""
        return ""

    def __repr__(self):
        extra_lines = []
        extra = self.extra_repr()
        if extra:
            extra_lines = extra.split("\n")
        child_lines = [f"({key}): " + _addindent(repr(module), 2) for key, module in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __setstate__(self, state):
        self.__dict__.update(state)


_EXTRA_STATE_KEY_SUFFIX = "_extra_state"


def _named_error(module, exc):
    """``exc`` again, its message prefixed with the layer's repr (``Linear(in_features=4, ...): ...``),
    same type; a layer's forward raises it ``from None`` in an except clause (free on the happy path)."""
    if type(exc) in (RuntimeError, ValueError, IndexError, TypeError):
        return type(exc)(f"{module!r}: {exc}")
    return exc


def _identity_function():
    """An identity autograd Function over several tensors whose backward calls ``ctx.on_grads``
    (made on first use: nn is loaded before autograd.Function is needed)."""
    global _Identity
    if _Identity is None:
        from ...autograd.function import Function

        class Identity(Function):
            @staticmethod
            def forward(ctx, on_grads, *tensors):
                ctx.on_grads = on_grads
                outs = tuple(t.view_as(t) for t in tensors)
                # one output as a Tensor: dlmath's Function.apply does not take a 1-tuple
                return outs[0] if len(outs) == 1 else outs

            @staticmethod
            def backward(ctx, *grads):
                return (None,) + tuple(ctx.on_grads(grads))

        _Identity = Identity
    return _Identity


_Identity = None


class _BackwardHookState:
    """One call's bridge between the module's outputs and inputs in the backward pass
    (torch's BackwardHook): the output identity receives grad_output and runs the pre-hooks,
    the input identity receives grad_input and runs the full backward hooks."""

    def __init__(self, module):
        self.module = module
        self.grad_output = None
        self.n_inputs = 0
        self.input_positions = ()

    def wrap_inputs(self, args):
        from ..._grad_mode import is_grad_enabled
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_inputs = len(args)
        self.input_positions = positions
        live = [i for i in positions if args[i].requires_grad]
        if not live or not is_grad_enabled():
            self.input_positions = ()
            return args
        wrapped = _identity_function().apply(self._on_grad_input, *(args[i] for i in live))
        if isinstance(wrapped, Tensor):
            wrapped = (wrapped,)
        args = list(args)
        for i, w in zip(live, wrapped):
            args[i] = w
        self.live = live
        return tuple(args)

    def wrap_outputs(self, out):
        from ..._grad_mode import is_grad_enabled
        single = isinstance(out, Tensor)
        outs = (out,) if single else out
        if not isinstance(outs, tuple) or not is_grad_enabled():
            return out
        live = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not live:
            return out
        self.out_live, self.n_out = live, len(outs)
        wrapped = _identity_function().apply(self._on_grad_output, *(outs[i] for i in live))
        if isinstance(wrapped, Tensor):
            wrapped = (wrapped,)
        outs = list(outs)
        for i, w in zip(live, wrapped):
            outs[i] = w
        return outs[0] if single else tuple(outs)

    def _on_grad_output(self, grads):
        full = [None] * self.n_out
        for i, g in zip(self.out_live, grads):
            full[i] = g
        grad_output = tuple(full)
        for hook in list(self.module._backward_pre_hooks.values()):
            result = hook(self.module, grad_output)
            if result is not None:
                grad_output = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        self.grad_output = grad_output
        if not self.input_positions:
            # no input needs a gradient: the hooks run now, with grad_input all None (as torch)
            self._run_hooks((None,) * max(1, self.n_inputs))
        return tuple(grad_output[i] for i in self.out_live)

    def _on_grad_input(self, grads):
        full = [None] * self.n_inputs
        for i, g in zip(self.live, grads):
            full[i] = g
        grad_input = self._run_hooks(tuple(full))
        return tuple(grad_input[i] for i in self.live)

    def _run_hooks(self, grad_input):
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
                if len(result) != len(grad_input):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got "
                                       f"{len(result)}, but expected {len(grad_input)}")
                grad_input = result
        return grad_input


def _as_value(value):
    """A state-dict value as a dlmath Tensor: a NumPy array, or any array-like (a torch tensor
    from ``torch_model.state_dict()``), is accepted; anything else is returned for the error."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray) or (hasattr(value, "__array__") and hasattr(value, "shape")):
        import dlmath as dm
        return dm.as_tensor(np.asarray(value))
    return value


def _add_hook(hooks, hook_id, hook, prepend):
    hooks[hook_id] = hook
    if prepend:
        items = list(hooks.items())
        hooks.clear()
        hooks[hook_id] = hook
        hooks.update((k, v) for k, v in items if k != hook_id)


def _remove_from(name, *dicts_or_sets):
    for d in dicts_or_sets:
        if name in d:
            if isinstance(d, dict):
                del d[name]
            else:
                d.discard(name)
