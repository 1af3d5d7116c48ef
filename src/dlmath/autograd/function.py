"""``autograd.Function``: an op of your own, with the derivative you write (torch.autograd.Function).

    >>> import dlmath as dm
    >>> class Cube(dm.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         x, = ctx.saved_tensors
    ...         return g * 3 * x ** 2
    >>> x = dm.tensor([1.0, 2.0], requires_grad=True)
    >>> Cube.apply(x).sum().backward()
    >>> x.grad
    tensor([ 3., 12.])

It is an :class:`~dlmath.autograd.node.Op` like every primitive: ``forward``
runs the user's function on detached Tensors (no graph inside), ``vjp`` calls
the user's ``backward`` with Tensors. Under ``create_graph=True`` that
backward is recorded, so it is differentiable when written with dlmath ops.
An optional ``jvp(ctx, *tangents)`` gives forward mode.
"""
from __future__ import annotations

import numpy as np

from .. import _grad_mode
from . import xp_numpy
from .node import Op, apply, make_tensor

_grad_state = _grad_mode.state


class FunctionCtx:
    """What ``forward`` leaves for ``backward``: saved tensors, flags, anything else as attributes."""

    def __init__(self):
        self._saved = ()
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._non_diff = set()
        self._substitute = {}   # while a recorded backward runs: inner tensor -> the graph's tensor

    def save_for_backward(self, *tensors):
        self._saved = tensors

    def save_for_forward(self, *tensors):
        self._saved_fwd = tensors

    @property
    def saved_tensors(self):
        sub = self._substitute
        return tuple(sub.get(id(t), t) for t in self._saved)

    def mark_non_differentiable(self, *tensors):
        self._non_diff.update(id(t) for t in tensors)

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        pass


class _FunctionOp(Op):
    """The graph node of one ``Function.apply``."""
    __slots__ = ("fn", "ctx", "kwargs", "is_tensor", "n_out", "single", "non_diff", "inner")
    uses_inputs = False

    @property
    def name(self):
        return self.fn.__name__

    def forward(self, *arrays):
        from ..tensor import Tensor
        args = [make_tensor(a) if t else a for a, t in zip(arrays, self.is_tensor)]
        self.inner = args
        prev = _grad_state.enabled
        _grad_state.enabled = False
        try:
            out = self.fn.forward(self.ctx, *args, **self.kwargs)
        finally:
            _grad_state.enabled = prev
        self.single = not isinstance(out, tuple)
        outs = (out,) if self.single else out
        for k, o in enumerate(outs):
            if not isinstance(o, Tensor):
                raise RuntimeError(f"{self.name}.forward must return Tensors, got {type(o).__name__} "
                                   f"at output {k}")
        self.n_out = len(outs)
        self.non_diff = [k for k, o in enumerate(outs) if id(o) in self.ctx._non_diff]
        self.inner = (self.inner, list(outs))
        return outs[0]._data if self.n_out == 1 else tuple(o._data for o in outs)

    def vjp(self, xp, g, *args):
        from ..tensor import Tensor
        recording = xp is not xp_numpy
        outs = args[-1] if self.n_out > 1 else (args[-1],)
        gs = g if self.n_out > 1 else (g,)
        ctx = self.ctx
        grads_out = []
        for gi, o in zip(gs, outs):
            if gi is None and ctx.materialize_grads:
                data = o._data if isinstance(o, Tensor) else o
                gi = np.zeros(np.shape(data), np.asarray(data).dtype)
            if gi is not None and not isinstance(gi, Tensor):
                gi = make_tensor(gi)
            grads_out.append(gi)
        if recording:
            # saved inputs and outputs are those of the graph, so the backward is differentiable
            ins, inner_outs = self.inner
            ctx._substitute = {id(w): a for w, a, t in zip(ins, args[:-1], self.is_tensor) if t}
            ctx._substitute.update((id(w), o) for w, o in zip(inner_outs, outs))
        prev = _grad_state.enabled
        _grad_state.enabled = recording and prev
        try:
            result = self.fn.backward(ctx, *grads_out)
        finally:
            _grad_state.enabled = prev
            ctx._substitute = {}
        result = result if isinstance(result, tuple) else (result,)
        n_in = len(self.is_tensor)
        if len(result) != n_in:
            raise RuntimeError(f"function {self.name}Backward returned an incorrect number of gradients "
                               f"(expected {n_in}, got {len(result)})")
        grads = []
        for k, (r, need, x) in enumerate(zip(result, self.needs, args[:-1])):
            if r is None or not need:
                grads.append(None)
                continue
            if not isinstance(r, Tensor):
                r = make_tensor(np.asarray(r, dtype=x._data.dtype if isinstance(x, Tensor) else None))
            try:
                np.broadcast_shapes(tuple(r.shape), tuple(np.shape(x._data if isinstance(x, Tensor) else x)))
            except ValueError:
                raise RuntimeError(f"Function {self.name}Backward returned an invalid gradient at index {k} - "
                                   f"got {list(r.shape)} but expected shape compatible with "
                                   f"{list(x.shape)}") from None
            grads.append(r if recording else r._data)
        return grads

    def jvp(self, xp, t, *args):
        from ..tensor import Tensor
        user = getattr(self.fn, "jvp", None)
        if user is None or user is Function.jvp:
            raise NotImplementedError(f"{self.name}: no forward-mode derivative; define a static method "
                                      "jvp(ctx, *tangents) on the Function")
        ts = [None if ti is None else (ti if isinstance(ti, Tensor) else make_tensor(ti)) for ti in t]
        out = user(self.ctx, *ts)
        if xp is xp_numpy:
            unwrap = (lambda o: None if o is None else (o._data if isinstance(o, Tensor) else o))
            return unwrap(out) if not isinstance(out, tuple) else tuple(unwrap(o) for o in out)
        return out


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``; call ``apply``.

    ``backward`` returns one gradient per argument of ``forward`` (None for
    non-Tensor arguments or those that need none); ``ctx.needs_input_grad``
    says which are wanted.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or the vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @staticmethod
    def jvp(ctx, *tangents):
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use "
                                  "it with forward mode AD.")

    vjp = backward

    def __init__(self, *args, **kwargs):
        raise RuntimeError("Function is used through its static methods: call MyFunction.apply(...), "
                           "not MyFunction()(...)")

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor
        ctx = FunctionCtx()
        is_tensor = tuple(isinstance(a, Tensor) for a in args)
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad and _grad_state.enabled
                                     for a in args)
        if not any(is_tensor):
            return cls.forward(ctx, *args, **kwargs)
        op = _FunctionOp()
        op.fn, op.ctx, op.kwargs, op.is_tensor, op.n_out = cls, ctx, kwargs, is_tensor, 1
        result = apply(op, *args)
        outs = result if isinstance(result, tuple) else (result,)
        for k in op.non_diff:
            outs[k].requires_grad = False
        if op.single:
            return result
        return result if isinstance(result, tuple) else (result,)
