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

This is the way to write a fused op outside the core (nn, optim, your own
code): its node is an :class:`~dlmath.autograd.node.Op` like every primitive's,
recorded by the same ``record``. ``forward`` runs the user's function on
detached aliases of the inputs (no graph inside; they share the inputs' memory
and version counters), ``vjp`` calls the user's ``backward`` with Tensors.
Under ``create_graph=True`` that backward is recorded, so it is differentiable
when written with dlmath ops. An optional ``jvp(ctx, *tangents)`` gives
forward mode.

As in torch: a tensor given to ``ctx.save_for_backward`` and modified in place
afterwards makes backward raise (its version moved); ``ctx.mark_dirty(x)`` says
that forward modified input ``x`` in place and returns it: ``apply`` then
returns ``x`` itself, now the output of this node.
"""
from __future__ import annotations

import numpy as np

from .. import _grad_mode
from . import _flags, xp_numpy
from .node import Op, Tensor, make_tensor, record, restamp

_grad_state = _grad_mode.state


class FunctionCtx:
    """What ``forward`` leaves for ``backward``: saved tensors, flags, anything else as attributes."""

    # Rarely used fields are class-level defaults, replaced on first use: one ``apply`` per
    # fused layer per step makes a ctx, so its construction is on the hot path.
    _non_diff = frozenset()
    _dirty = frozenset()
    _saved_fwd = ()
    _saved_versions = None   # each saved tensor's version once forward returned
    _saved_pos = None        # where each saved tensor sits among forward's inputs / outputs
    _graph = None            # while backward runs: (the graph's inputs, its outputs or None)

    def __init__(self):
        self._saved = ()
        self.needs_input_grad = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        self._saved = tensors

    def save_for_forward(self, *tensors):
        self._saved_fwd = tensors

    @property
    def saved_tensors(self):
        """The saved tensors; while backward runs, forward's detached inputs (and, when the
        backward is recorded, its outputs) are given back as the graph's own tensors, as torch
        unpacks them (a backward may run ``autograd.grad`` through them)."""
        graph = self._graph
        if graph is None or self._saved_pos is None:
            return self._saved
        ins, outs = graph
        res = []
        for t, (j, k) in zip(self._saved, self._saved_pos):
            if k is not None and outs is not None:
                t = outs[k]
            elif j is not None:
                t = ins[j]
            res.append(t)
        return tuple(res)

    def mark_non_differentiable(self, *tensors):
        self._non_diff = self._non_diff | {id(t) for t in tensors}

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        """``forward`` modified these inputs in place (and returns them)."""
        self._dirty = self._dirty | {id(t) for t in tensors}

    def _stamp_saved(self, inner, outs):
        """After forward: each saved tensor's version, and its place among forward's inputs
        and outputs (so backward can hand back the graph's tensors without a lookup table)."""
        saved = self._saved
        if not saved:
            return
        versions, pos = [], []
        for t in saved:
            j = k = None
            if not isinstance(t, Tensor):
                versions.append(None)
                pos.append((j, k))
                continue
            versions.append(t._vc[0])
            for i, w in enumerate(inner):   # (by identity: tensors' == is elementwise)
                if w is t:
                    j = i
                    break
            for i, o in enumerate(outs):
                if o is t:
                    k = i
                    break
            pos.append((j, k))
        self._saved_versions = versions
        self._saved_pos = pos

    def _check_saved(self, op):
        """torch's check: a saved tensor written in place since forward gives a wrong gradient."""
        if not self._saved_versions:
            return
        for k, (t, ver) in enumerate(zip(self._saved, self._saved_versions)):
            if ver is not None and t._vc[0] != ver:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: saved tensor {k} of {op.name} (shape {tuple(t.shape)}) is at version "
                    f"{t._vc[0]}; expected version {ver} instead.")


class _FunctionOp(Op):
    """The graph node of one ``Function.apply``.

    ``fn``: the Function subclass; ``ctx``: its FunctionCtx; ``is_tensor``: which arguments
    are Tensors; ``n_out``: the number of outputs."""
    __slots__ = ("fn", "ctx", "is_tensor", "n_out")
    uses_inputs = False

    def __init__(self, fn, ctx, is_tensor, n_out):
        self.fn = fn
        self.ctx = ctx
        self.is_tensor = is_tensor
        self.n_out = n_out

    @property
    def saves_values(self):
        """ctx holds saved tensors: backward frees them, as torch does (a second backward raises)."""
        return bool(self.ctx._saved)

    @property
    def name(self):
        # a string ('MyFn'), callable as torch's grad_fn.name() ('MyFnBackward')
        from .node import _Name
        return _Name(self.fn.__name__, self)

    def vjp(self, xp, g, *args):
        recording = xp is not xp_numpy
        ctx = self.ctx
        ctx._check_saved(self)
        if self.n_out == 1:
            outs = args[-1:]
            # the common case, one output with a cotangent: no list to build
            if g is not None and g.__class__ is not Tensor and not isinstance(g, Tensor):
                grads_out = (make_tensor(g),)
            else:
                grads_out = self._grads_out((g,), outs)
        else:
            outs = args[-1]
            grads_out = self._grads_out(g, outs)
        # saved inputs are the graph's tensors, as torch unpacks them (a backward may run
        # autograd.grad through them); saved outputs too when the backward is recorded
        prev_graph = ctx._graph
        ctx._graph = (self.inputs, outs if recording else None)
        prev = _grad_state.enabled
        _grad_state.enabled = recording and prev
        try:
            result = self.fn.backward(ctx, *grads_out)
        finally:
            _grad_state.enabled = prev
            ctx._graph = prev_graph
        result = result if isinstance(result, tuple) else (result,)
        n_in = len(self.is_tensor)
        if len(result) != n_in:
            raise RuntimeError(f"function {self.name}Backward returned an incorrect number of gradients "
                               f"(expected {n_in}, got {len(result)})")
        grads = []
        k = -1
        for r, need, x in zip(result, self.needs, args):   # (zip stops before args' output)
            k += 1
            if r is None or not need:
                grads.append(None)
                continue
            if r.__class__ is not Tensor and not isinstance(r, Tensor):
                r = make_tensor(np.asarray(r, dtype=x._data.dtype if isinstance(x, Tensor) else None))
            xd = x._data if x.__class__ is Tensor or isinstance(x, Tensor) else x
            rshape = r._data.shape
            # (the common case, the input's own shape, needs no check)
            if rshape != (xd.shape if xd.__class__ is np.ndarray else np.shape(xd)):
                try:
                    np.broadcast_shapes(rshape, np.shape(xd))
                except ValueError:
                    raise RuntimeError(f"Function {self.name}Backward returned an invalid gradient at index "
                                       f"{k} - got {list(r.shape)} but expected shape compatible with "
                                       f"{list(x.shape)}") from None
            grads.append(r if recording else r._data)
        return grads

    def _grads_out(self, gs, outs):
        """The output cotangents as Tensors; a missing one is zeros when ``materialize_grads``."""
        materialize = self.ctx.materialize_grads
        grads_out = []
        for gi, o in zip(gs, outs):
            if gi is None and materialize:
                data = o._data if isinstance(o, Tensor) else o
                gi = np.zeros(np.shape(data), np.asarray(data).dtype)
            if gi is not None and not isinstance(gi, Tensor):
                gi = make_tensor(gi)
            grads_out.append(gi)
        return grads_out

    def jvp(self, xp, t, *args):
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
        ctx = FunctionCtx()
        enabled = _grad_state.enabled
        # forward sees detached aliases: the same memory and version counter, no history
        is_tensor, needs, inner = [], [], []
        for a in args:
            if isinstance(a, Tensor):
                is_tensor.append(True)
                needs.append(a._requires_grad)
                w = make_tensor(a._data)
                w._vc = a._vc
                inner.append(w)
            else:
                is_tensor.append(False)
                needs.append(False)
                inner.append(a)
        needs = tuple(needs)
        ctx.needs_input_grad = needs if enabled else (False,) * len(args)
        if True not in is_tensor:
            return cls.forward(ctx, *args, **kwargs)
        _grad_state.enabled = False
        try:
            out = cls.forward(ctx, *inner, **kwargs)
        finally:
            _grad_state.enabled = enabled
        single = not isinstance(out, tuple)
        if (single and out.__class__ is Tensor and not ctx._dirty and not ctx._non_diff
                and out._data.dtype.kind in "fc"):
            for w in inner:
                if w is out:
                    break
            else:
                # the common case (a fused layer: one new float output), without the general
                # path's lists and position tables: ~3 us less per call, 3-10 calls a step
                recording = enabled and True in needs
                r = record(_FunctionOp(cls, ctx, tuple(is_tensor), 1), args, needs if recording else None,
                           out._data)
                r._vc = out._vc   # the inner output's counter: ctx sees writes to the returned tensor
                if recording:
                    restamp(r.grad_fn, r._vc)
                ctx._stamp_saved(inner, (out,))
                return r
        outs = (out,) if single else out
        for k, o in enumerate(outs):
            if not isinstance(o, Tensor):
                raise RuntimeError(f"{cls.__name__}.forward must return Tensors, got {type(o).__name__} "
                                   f"at output {k}")
        # which outputs are inputs returned as they are (or written in place: mark_dirty)
        position = None
        for o in outs:
            for w in inner:
                if w is o:
                    position = {id(w): j for j, (w, t) in enumerate(zip(inner, is_tensor)) if t}
                    break
        if ctx._dirty:
            if position is None:
                position = {id(w): j for j, (w, t) in enumerate(zip(inner, is_tensor)) if t}
            for j in ctx._dirty:
                if j not in position:
                    raise RuntimeError(f"{cls.__name__}: mark_dirty was given a tensor that is not an input "
                                       "of forward")
            dirty = [position.get(id(o)) if id(o) in ctx._dirty else None for o in outs]
        else:
            dirty = None
        op = _FunctionOp(cls, ctx, tuple(is_tensor), len(outs))
        recording = enabled and True in needs
        if recording and dirty is not None:
            for o, j in zip(outs, dirty):
                if j is not None:
                    _check_dirty(args[j], cls.__name__)
        one = len(outs) == 1   # (a 1-tuple from forward is one output, returned as a 1-tuple)
        arrays = outs[0]._data if one else tuple(o._data for o in outs)
        result = record(op, args, needs if recording else None, arrays)
        results = [result] if one else list(result)
        non_diff = ctx._non_diff
        for k, (o, r) in enumerate(zip(outs, results)):
            j = None if dirty is None else dirty[k]
            if j is not None:
                # written in place: the input itself is the output, its history now this node
                x = args[j]
                x._vc[0] += 1
                if r._tangent is not None:
                    x._tangent = r._tangent
                if recording:
                    x.grad_fn, x._requires_grad, x._out_idx = op, True, k
                    restamp(op, x._vc, None if one else k)
                results[k] = x
                continue
            r._vc = o._vc   # the inner output's counter: ctx sees writes to the returned tensor
            if position is not None and id(o) in position:
                # an input returned as it is: the output is a view of it, as in torch
                x = args[position[id(o)]]
                r._base = x._base if x._base is not None else x
                r._vc = x._vc
                r._view_ver = x._vc[0]
            if recording:
                restamp(op, r._vc, None if one else k)
            if (non_diff and id(o) in non_diff) or o._data.dtype.kind not in "fc":
                r._requires_grad = False
                r.grad_fn = None
        ctx._stamp_saved(inner, outs)
        return results[0] if single else tuple(results)


def _alias(a):
    t = make_tensor(a._data)
    t._vc = a._vc
    return t


def _check_dirty(x, name):
    if x.grad_fn is None and x.requires_grad:
        raise RuntimeError(f"{name}: a leaf Variable that requires grad has been used in an in-place operation.")
    if x._base is not None:
        raise RuntimeError(f"{name}: an input modified in place (mark_dirty) is a view; dlmath supports "
                           "in-place Functions on tensors that own their memory. clone() the view first.")
