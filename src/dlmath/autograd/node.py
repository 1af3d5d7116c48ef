"""The graph node: one recorded application of a primitive.

Every primitive is a subclass of :class:`Op` and is one small unit: ``forward``
on NumPy arrays, ``vjp`` (reverse mode: given the output cotangent ``g``, the
cotangent of each input) and ``jvp`` (forward mode: given input tangents, the
output tangent), next to each other, as one would write them on paper.

``vjp`` and ``jvp`` take ``xp``, an array namespace with NumPy's names: the
``numpy`` module on the plain backward pass (fast, raw arrays), or
:mod:`dlmath.ops.xp` under ``create_graph=True``, where the same formula
runs on Tensors and is itself recorded, so derivatives of any order come from
one formula. Saved inputs and the output are passed in the same form as ``g``.

An instance is made for each call, with the call's parameters (an axis, an
index); once applied with grad on, the same object is the graph's node for that
call: :func:`record`, the one recording path, writes its edges, the versions
of what it saved and its sequence number. After that nothing writes to a node
while backward runs (the pass keeps its pending cotangents in a table of its
own, see ``engine``), so backward passes can nest (a ``Function`` whose
``backward`` calls ``autograd.grad``) and run in several threads at once.
(One object rather than a rule plus a node: it is one allocation per op on the
hot path, and the parameters and values a rule saves belong to the call anyway,
as in torch's ``*Backward`` nodes.)

Broadcasting is undone once, in the engine (``sum_to``), not in each rule.
"""
from __future__ import annotations

import itertools
import weakref as _weakref

import numpy as np

from .. import _grad_mode
from ..tensor import Tensor, make_tensor  # noqa: F401  (make_tensor: re-exported for the ops)
from . import _flags
from . import views as _views

_grad_state = _grad_mode.state


class Op:
    """A primitive; once applied with grad on, also the node that records the application.

    Class attributes a primitive sets:
      uses_inputs  the vjp reads input values (so their in-place modification
                   after the forward pass is an error at backward)
      uses_output  the vjp reads the output value
      saves_values the vjp reads other values kept from forward (a Function's ctx)
      is_view      the output shares memory with input 0 (reshape, transpose, basic indexing)
      n_out        number of outputs (eigh, svd, ... return several)
      batched      vjp/jvp accept cotangents/tangents with extra leading (batch)
                   dims (jacrev, jacfwd, hessian); if False the engine loops per row

    Fields :func:`record` writes on a node:
      inputs       the input Tensors (their values for the vjp, their version counters)
      fns          each input's ``grad_fn`` at the time of recording: the graph's edges.
                   Taken then, not read off the tensor at backward time, because an
                   in-place op gives a tensor a new ``grad_fn``, and a node recorded
                   before it must still send its cotangent to the old one
      needs        which inputs want a gradient (a rule may skip work for the others)
      versions     the inputs' version counters' values, checked before a rule reads them
      out, out_vc, out_ver   the output array(s), their version counter(s) and values
      seq          creation order: consumers are always newer than what they consume
      retained     weak references to tensors that asked ``retain_grad()``
    """
    __slots__ = ("inputs", "fns", "needs", "out", "versions", "out_vc", "out_ver", "retained", "trace",
                 "out_tangent", "seq", "released")
    uses_inputs = True
    uses_output = False
    is_view = False
    n_out = 1
    batched = False
    saves_values = False   # the rule reads values kept from forward other than inputs/output
    # Optional ``vjp_donated(g, x, y)`` for one-input ops: the vjp on arrays when the
    # plain backward pass donates ``g`` (no one else holds it), so the rule may reuse its
    # memory instead of allocating (ReLU's mask, in place).
    vjp_donated = None
    # Optional ``vjp_into(acc, g, y)`` for one-input ops: add the input's cotangent into
    # ``acc`` (the input's pending cotangent sum, which the engine holds alone) and return
    # True, or return False to have ``vjp`` called instead (basic indexing: a split's pieces).
    vjp_into = None

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
        """The primitive's name ('Tanh'), a string; calling it, ``grad_fn.name()``, gives
        torch's name of the node, 'TanhBackward0'."""
        n = type(self).__name__
        return _Name(n[:-8] if n.endswith("Backward") else n, self)

    def used_inputs(self):
        """Indices of inputs whose values the vjp reads, given ``self.needs``."""
        return range(len(self.inputs)) if self.uses_inputs else ()

    def _torch_name(self):
        """'TanhBackward0': the node's name as torch prints it; a custom Function's node is
        'MyFnBackward', as torch's."""
        if type(self).name is not _OP_NAME:
            return f"{self.name}Backward"
        n = type(self).__name__
        return n + "0" if n.endswith("Backward") else n + "Backward0"

    # --- torch's read-only view of the graph (computed when asked; nothing on the hot path)
    @property
    def next_functions(self):
        """torch's edges: one ``(node, output_index)`` per input, in order: the node that made
        the input (and which of its outputs it is), an ``AccumulateGrad`` for a leaf that
        requires grad, ``(None, 0)`` for an input that needs no gradient."""
        fns, inputs, needs = self.fns, self.inputs, self.needs
        if fns is None or inputs is None:
            raise RuntimeError(f"{self._torch_name()}.next_functions: the graph was freed by a backward pass "
                               f"(this node saved values); use backward(retain_graph=True) to inspect it after")
        edges = []
        for a, fn, need in zip(inputs, fns, needs):
            if not need:
                edges.append((None, 0))
            elif fn is not None:
                edges.append((fn, a._out_idx))
            else:
                edges.append((_accumulator(a), 0))
        return tuple(edges)

    @property
    def metadata(self):
        return {}

    def __repr__(self):
        return f"<{self._torch_name()} object at {id(self):#x}>"


_OP_NAME = Op.__dict__["name"]


class _Name(str):
    """A node's name: 'Tanh' as a string; ``node.name()`` is torch's 'TanhBackward0'."""
    __slots__ = ("_node",)

    def __new__(cls, text, node):
        self = str.__new__(cls, text)
        self._node = node
        return self

    def __call__(self):
        return self._node._torch_name()


class AccumulateGrad:
    """The node torch shows at a leaf that requires grad (``next_functions`` of its consumers):
    backward accumulates the leaf's gradient into ``.grad`` there. ``variable`` is the leaf.
    Made when asked and kept while the leaf lives, so the same leaf gives the same node."""
    __slots__ = ("_ref", "__weakref__")
    next_functions = ()

    def __init__(self, leaf):
        self._ref = _weakref.ref(leaf)

    @property
    def variable(self):
        return self._ref()

    def name(self):
        return "dlmath::autograd::AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


_accumulators = {}   # id(leaf) -> AccumulateGrad, dropped when the leaf dies (tensors compare elementwise,
                     # so no WeakKeyDictionary)


def _accumulator(leaf):
    key = id(leaf)
    acc = _accumulators.get(key)
    if acc is None or acc._ref() is not leaf:
        acc = AccumulateGrad(leaf)
        acc._ref = _weakref.ref(leaf, lambda _, key=key: _accumulators.pop(key, None))
        _accumulators[key] = acc
    return acc


_new = object.__new__
_Tensor = Tensor
_ndarray = np.ndarray
_asarray = np.asarray
_shares = np.may_share_memory
_NEEDS1 = (True,)
# creation order: a node's consumers are always created after it, so visiting
# nodes newest-first is a topological order (as PyTorch's sequence numbers).
# (count's __next__ is atomic under the GIL: threads never share a number.)
_next_seq = itertools.count().__next__


# --- applying a primitive ----------------------------------------------------
def apply(op: Op, *inputs):
    """Run ``op`` on Tensors / Python scalars and record it when grad is on.

    Inputs must already have the dtype the op computes in (the caller applies
    the promotion rules). Returns a Tensor, or a tuple of them for n_out > 1.
    """
    if op.n_out == 1:
        if len(inputs) == 1:
            return apply1(op, inputs[0])
        if len(inputs) == 2:
            return apply2(op, inputs[0], inputs[1])
        if len(inputs) == 3:
            return apply3(op, *inputs)
    T = _Tensor
    enabled = _grad_state.enabled
    if enabled:
        for a in inputs:
            if isinstance(a, T) and a._base is not None and _views.is_stale(a):
                _views.refresh(a)
    out = op.forward(*[a._data if isinstance(a, T) else a for a in inputs])
    if op.n_out == 1 and out.__class__ is not _ndarray:
        out = _asarray(out)
    needs = tuple(isinstance(a, T) and a._requires_grad for a in inputs)
    return record(op, inputs, needs if enabled and True in needs else None, out)


def apply1(op: Op, a):
    """``apply`` for one Tensor input and one output: the hot path of unary ops."""
    if a._base is not None and _grad_state.enabled and _views.is_stale(a):
        _views.refresh(a)
    out = op.forward(a._data)
    if out.__class__ is not _ndarray:
        out = _asarray(out)
    return record(op, (a,), _NEEDS1 if a._requires_grad and _grad_state.enabled else None, out)


def apply2(op: Op, a, b):
    """``apply`` for two inputs (Tensors or Python scalars) and one output."""
    T = _Tensor
    if isinstance(a, T):
        if a._base is not None and _grad_state.enabled and _views.is_stale(a):
            _views.refresh(a)
        da, ra = a._data, a._requires_grad
    else:
        da, ra = a, False
    if isinstance(b, T):
        if b._base is not None and _grad_state.enabled and _views.is_stale(b):
            _views.refresh(b)
        db, rb = b._data, b._requires_grad
    else:
        db, rb = b, False
    out = op.forward(da, db)
    if out.__class__ is not _ndarray:
        out = _asarray(out)
    return record(op, (a, b), (ra, rb) if (ra or rb) and _grad_state.enabled else None, out)


def apply3(op: Op, a, b, c):
    """``apply`` for three inputs (Tensors or Python scalars) and one output: Addmm (a
    Linear's bias, input and weight), spelled out as apply2 (no generators or lists per call)."""
    T = _Tensor
    enabled = _grad_state.enabled
    if isinstance(a, T):
        if a._base is not None and enabled and _views.is_stale(a):
            _views.refresh(a)
        da, ra = a._data, a._requires_grad
    else:
        da, ra = a, False
    if isinstance(b, T):
        if b._base is not None and enabled and _views.is_stale(b):
            _views.refresh(b)
        db, rb = b._data, b._requires_grad
    else:
        db, rb = b, False
    if isinstance(c, T):
        if c._base is not None and enabled and _views.is_stale(c):
            _views.refresh(c)
        dc, rc = c._data, c._requires_grad
    else:
        dc, rc = c, False
    out = op.forward(da, db, dc)
    if out.__class__ is not _ndarray:
        out = _asarray(out)
    return record(op, (a, b, c), (ra, rb, rc) if (ra or rb or rc) and enabled else None, out)


# --- the one recording path --------------------------------------------------
def record(op: Op, inputs, needs, out):
    """Make the output tensor(s) of ``op`` applied to ``inputs`` (its forward gave ``out``)
    and, when ``needs`` is given (grad mode on and some input wants a gradient), make
    ``op`` their node. Every op's outputs are made here and every node's fields are
    written here (see :class:`Op`), view regeneration included."""
    if op.n_out == 1:
        t = result = _new(_Tensor)
        t._data = out
        t._grad = None
        t._out_idx = 0
        t._tangent = None
        if op.is_view and _shares(out, inputs[0]._data):
            # a view shares its base's memory and so its version counter
            # (NumPy copies what it cannot view: then it is no view)
            a = inputs[0]
            out_vc = a._vc
            t._base = a._base if a._base is not None else a
            t._view_ver = out_vc[0]
        else:
            out_vc = [0]
            t._base = None
        t._vc = out_vc
        if needs is None:
            t._requires_grad = False
            t.grad_fn = None
        else:
            t._requires_grad = True
            t.grad_fn = op
            op.out_ver = out_vc[0]
    else:
        # each output has its own version counter; integer outputs (indices) are
        # leaves that do not require grad, as in PyTorch
        fn = None if needs is None else op
        result = tuple(make_tensor(o, True, fn) if fn is not None and o.dtype.kind in "fc" else make_tensor(o)
                       for o in out)
        for i, r in enumerate(result):
            r._out_idx = i
        out_vc = tuple(r._vc for r in result)
        op.out_ver = (0,) * len(result)
    if needs is not None:
        op.inputs = inputs
        op.needs = needs
        op.out = out
        op.out_vc = out_vc
        op.retained = None
        op.seq = _next_seq()
        n = len(inputs)
        if n == 1:   # (one and two inputs unrolled: every elementwise op passes here)
            a = inputs[0]
            op.fns = (a.grad_fn,)
            if op.uses_inputs:
                op.versions = (a._vc[0],)
        elif n == 2:
            a, b = inputs
            ra, rb = needs
            op.fns = (a.grad_fn if ra else None, b.grad_fn if rb else None)
            if op.uses_inputs:
                T = _Tensor
                op.versions = (a._vc[0] if isinstance(a, T) else 0, b._vc[0] if isinstance(b, T) else 0)
        elif n == 3:   # (a Linear's Addmm: unrolled too)
            a, b, c = inputs
            ra, rb, rc = needs
            op.fns = (a.grad_fn if ra else None, b.grad_fn if rb else None, c.grad_fn if rc else None)
            if op.uses_inputs:
                T = _Tensor
                op.versions = (a._vc[0] if isinstance(a, T) else 0, b._vc[0] if isinstance(b, T) else 0,
                               c._vc[0] if isinstance(c, T) else 0)
        else:
            T = _Tensor
            # (a list comprehension: a generator here costs ~1 us more per 3-input op, a fused layer)
            op.fns = tuple([a.grad_fn if n else None for a, n in zip(inputs, needs)])
            if op.uses_inputs:
                op.versions = tuple(a._vc[0] if isinstance(a, T) else 0 for a in inputs)
    if _flags.active:   # forward-mode tangents and anomaly checks: one test when off
        T = _Tensor
        _flags.after_forward(op, inputs, tuple(a._data if isinstance(a, T) else a for a in inputs), out, result)
    return result


def restamp(op: Op, vc, k=None):
    """The node's output (output ``k`` of several) is now the memory behind version counter
    ``vc``, at its present version: an in-place op wrote its result into a tensor that took
    ``op`` as its ``grad_fn``, or a view's base was written without a new history."""
    if k is None:
        op.out_vc, op.out_ver = vc, vc[0]
    else:
        op.out_vc = op.out_vc[:k] + (vc,) + op.out_vc[k + 1:]
        op.out_ver = op.out_ver[:k] + (vc[0],) + op.out_ver[k + 1:]


