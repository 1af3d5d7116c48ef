"""The graph node: one recorded application of a primitive.

Every primitive is a subclass of :class:`Op` and is one small unit: ``forward``
on NumPy arrays, ``vjp`` (reverse mode: given the output cotangent ``g``, the
cotangent of each input) and ``jvp`` (forward mode: given input tangents, the
output tangent), next to each other, as one would write them on paper.

``vjp`` and ``jvp`` take ``xp``, an array namespace with NumPy's names: the
``numpy`` module on the plain backward pass (fast, raw arrays), or
:mod:`dlmath.autograd.xp` under ``create_graph=True``, where the same formula
runs on Tensors and is itself recorded, so derivatives of any order come from
one formula. Saved inputs and the output are passed in the same form as ``g``.

Broadcasting is undone once, in the engine (``sum_to``), not in each rule.
"""
from __future__ import annotations

import itertools

import numpy as np

from .. import _grad_mode
from . import _flags
from . import views as _views

_grad_state = _grad_mode.state


class Op:
    """A node of the graph; subclasses are primitives.

    Class attributes a primitive sets:
      uses_inputs  the vjp reads input values (so their in-place modification
                   after the forward pass is an error at backward)
      uses_output  the vjp reads the output value
      is_view      the output shares memory with input 0 (reshape, transpose, basic indexing)
      n_out        number of outputs (eigh, svd, ... return several)
      batched      vjp/jvp accept cotangents/tangents with extra leading (batch)
                   dims (jacrev, jacfwd, hessian); if False the engine loops per row

    A recorded node holds ``inputs`` (the input tensors: their values for the vjp,
    their version counters) and ``fns``, each input's ``grad_fn`` at the time of
    recording: the graph's edges. They are taken then, not read off the tensor at
    backward time, because an in-place op gives a tensor a new ``grad_fn``, and a
    node recorded before it must still send its cotangent to the old one.
    """
    __slots__ = ("inputs", "fns", "needs", "out", "versions", "out_vc", "out_ver", "retained", "trace",
                 "pending", "deps", "out_tangent", "seq", "released")
    uses_inputs = True
    uses_output = False
    is_view = False
    n_out = 1
    batched = False
    # Optional ``vjp_donated(g, x, y)`` for one-input ops: the vjp on arrays when the
    # plain backward pass donates ``g`` (no one else holds it), so the rule may reuse its
    # memory instead of allocating (ReLU's mask, in place).
    vjp_donated = None

    # --- the three parts of a primitive -------------------------------
    def forward(self, *arrays):
        raise NotImplementedError

    def vjp(self, xp, g, *args):
        """Cotangents of each input (None where not needed); args = inputs..., output."""
        raise NotImplementedError(f"{self.name}: no reverse-mode derivative")

    def jvp(self, xp, tangents, *args):
        """Output tangent from input tangents (None for inputs without tangent)."""
        raise NotImplementedError(f"{self.name}: no forward-mode derivative")

    # --- bookkeeping --------------------------------------------------
    @property
    def name(self) -> str:
        n = type(self).__name__
        return n[:-8] if n.endswith("Backward") else n

    def used_inputs(self):
        """Indices of inputs whose values the vjp reads, given ``self.needs``."""
        return range(len(self.inputs)) if self.uses_inputs else ()

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"


def make_tensor(data, requires_grad=False, grad_fn=None):
    """Wrap an ndarray without copying (the library's internal constructor)."""
    if data.__class__ is not np.ndarray:
        # NumPy returns scalars from 0-d operations; a tensor always holds an array
        data = np.asarray(data)
    t = _new(_Tensor)
    t._data = data
    t.requires_grad = requires_grad
    t.grad = None
    t.grad_fn = grad_fn
    t._out_idx = 0
    t._vc = [0]
    t._base = None
    t._tangent = None
    return t


_new = object.__new__
_Tensor = None  # set by dlmath.tensor once the class exists


_ndarray = np.ndarray
_asarray = np.asarray


def apply1(op: Op, a):
    """``apply`` for one Tensor input and one output: the hot path of unary ops, unrolled."""
    out = op.forward(a._data)
    if out.__class__ is not _ndarray:
        out = _asarray(out)
    t = _new(_Tensor)
    t._data = out
    t.grad = None
    t._out_idx = 0
    t._tangent = None
    vc = [0]
    if a._base is not None and _grad_state.enabled and _views.is_stale(a):
        _views.refresh(a)
    if a.requires_grad and _grad_state.enabled:
        op.needs = _NEEDS1
        if op.uses_inputs:
            op.versions = (a._vc[0],)
        op.inputs = (a,)
        op.fns = (a.grad_fn,)
        op.retained = op.pending = op.deps = None
        op.seq = _next_seq()
        op.out = out
        op.out_vc = vc
        op.out_ver = 0
        t.requires_grad = True
        t.grad_fn = op
    else:
        t.requires_grad = False
        t.grad_fn = None
    if op.is_view and _shares(out, a._data):  # (NumPy copies what it cannot view: not a view then)
        vc = a._vc
        t._base = a._base if a._base is not None else a
        t._view_ver = vc[0]
        if t.grad_fn is not None:
            op.out_vc = vc
            op.out_ver = vc[0]
    else:
        t._base = None
    t._vc = vc
    if _flags.active:
        _flags.after_forward(op, (a,), (a._data,), out, t)
    return t


def apply2(op: Op, a, b):
    """``apply`` for two inputs (Tensors or Python scalars) and one output, unrolled."""
    T = _Tensor
    if isinstance(a, T):
        if a._base is not None and _grad_state.enabled and _views.is_stale(a):
            _views.refresh(a)
        da, ra = a._data, a.requires_grad
    else:
        da, ra = a, False
    if isinstance(b, T):
        if b._base is not None and _grad_state.enabled and _views.is_stale(b):
            _views.refresh(b)
        db, rb = b._data, b.requires_grad
    else:
        db, rb = b, False
    out = op.forward(da, db)
    if out.__class__ is not _ndarray:
        out = _asarray(out)
    t = _new(T)
    t._data = out
    t.grad = None
    t._out_idx = 0
    t._tangent = None
    t._base = None
    vc = t._vc = [0]
    if (ra or rb) and _grad_state.enabled:
        op.needs = (ra, rb)
        if op.uses_inputs:
            op.versions = (a._vc[0] if da is not a else 0, b._vc[0] if db is not b else 0)
        op.inputs = (a, b)
        op.fns = (a.grad_fn if ra else None, b.grad_fn if rb else None)
        op.retained = op.pending = op.deps = None
        op.seq = _next_seq()
        op.out = out
        op.out_vc = vc
        op.out_ver = 0
        t.requires_grad = True
        t.grad_fn = op
    else:
        t.requires_grad = False
        t.grad_fn = None
    if _flags.active:
        _flags.after_forward(op, (a, b), (da, db), out, t)
    return t


_NEEDS1 = (True,)
_shares = np.may_share_memory
# creation order: a node's consumers are always created after it, so visiting
# nodes newest-first is a topological order (as PyTorch's sequence numbers)
_next_seq = itertools.count().__next__


def apply(op: Op, *inputs):
    """Run ``op`` on Tensors / Python scalars and record it when grad is on.

    Inputs must already have the dtype the op computes in (the caller applies
    the promotion rules). Returns a Tensor, or a tuple of them for n_out > 1.
    """
    if op.n_out == 1:
        if len(inputs) == 1:
            return apply1(op, inputs[0])
        if len(inputs) == 2 and not op.is_view:
            return apply2(op, inputs[0], inputs[1])
    T = _Tensor
    if _grad_state.enabled:
        for a in inputs:
            if isinstance(a, T) and a._base is not None and _views.is_stale(a):
                _views.refresh(a)
    arrays = [a._data if isinstance(a, T) else a for a in inputs]
    out = op.forward(*arrays)
    needs = tuple(isinstance(a, T) and a.requires_grad for a in inputs)
    record = True in needs and _grad_state.enabled
    fn = None
    if record:
        op.needs = needs
        if op.uses_inputs:
            op.versions = tuple(a._vc[0] if isinstance(a, T) else 0 for a in inputs)
        op.inputs = inputs
        op.fns = tuple(a.grad_fn if n else None for a, n in zip(inputs, needs))
        op.retained = op.pending = op.deps = None
        op.seq = _next_seq()
        op.out = out
        fn = op
    if op.n_out == 1:
        result = make_tensor(out, record, fn)
        if op.is_view and _shares(out, inputs[0]._data):
            base = inputs[0]
            result._vc = base._vc
            result._base = base._base if base._base is not None else base
            result._view_ver = base._vc[0]
        if record:
            op.out_vc = result._vc
            op.out_ver = result._vc[0]
    else:
        # integer outputs (indices) are leaves that do not require grad, as in PyTorch
        result = tuple(make_tensor(o, True, fn) if record and o.dtype.kind in "fc"
                       else make_tensor(o) for o in out)
        for i, r in enumerate(result):
            r._out_idx = i
        if record:  # each output has its own version counter; a vjp reading them checks all
            op.out_vc = tuple(r._vc for r in result)
            op.out_ver = (0,) * len(result)
    if _flags.active:
        # forward-mode tangents and anomaly checks cost nothing when off
        _flags.after_forward(op, inputs, arrays, out, result)
    return result
