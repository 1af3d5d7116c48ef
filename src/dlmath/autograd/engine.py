"""The backward pass: the chain rule, applied from the outputs back to the leaves.

Visit the nodes newest first (each after every node that consumes its
output): a node receives the sum of the cotangents of its output, calls its
primitive's ``vjp`` to get each input's cotangent, un-broadcasts that to the
input's shape, and passes it on. One loop, ``run_backward``, does it for every
caller; the pass's own state lives in that call, not on the graph.

On the plain pass the cotangents are raw NumPy arrays and recording is off.
With ``create_graph=True`` they are Tensors, the vjp formulas run on Tensors
through :mod:`dlmath.ops.xp`, and the backward pass becomes a graph that
can itself be differentiated (Hessians, gradient penalties). They are Tensors
too while a forward-mode level is open, so that tangents flow through the
backward pass (forward-over-reverse: ``jacfwd(jacrev(f))``, ``hvp``).

Batched mode (``batch_shape=(B,)``, used by ``jacrev`` and ``hessian``): the root
cotangent has shape ``(B,) + out.shape``, B rows of the Jacobian pushed through
the graph at once; every ``batched`` vjp rule accepts the extra leading dims,
the others are called row by row, and ``sum_to`` keeps the leading dims.
"""
from __future__ import annotations

import heapq
import sys

import numpy as np

from .. import _grad_mode
from . import xp_numpy
from . import _flags
from .forward import _stack
from .node import make_tensor
from ..tensor import Tensor

_grad_state = _grad_mode.state


def sum_to(xp, g, shape, batch_shape=()):
    """Undo broadcasting: sum ``g`` over the axes that broadcasting added or stretched.

    With ``batch_shape``, the leading dims of ``g`` are a batch of cotangents and
    stay: only the trailing dims are summed down to ``shape``.
    """
    if batch_shape:
        return _sum_to_batched(xp, g, tuple(shape), tuple(batch_shape))
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead == 1 and gshape[1:] == shape:  # a bias: summed over the batch
        return xp.sum(g, axis=0)
    stretched = tuple(i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
    if not stretched:  # only added leading dims (a bias): one reduction, no reshape
        return xp.sum(g, axis=0 if lead == 1 else tuple(range(lead)))
    g = xp.sum(g, axis=tuple(range(lead)) + stretched, keepdims=True)
    if lead:
        g = xp.reshape(g, shape)
    return g


def _sum_to_batched(xp, g, shape, bshape):
    want = bshape + shape
    gshape = tuple(g.shape)
    if gshape == want:
        return g
    nb = len(bshape)
    lead = len(gshape) - len(want)
    if lead >= 0:
        axes = tuple(range(nb, nb + lead)) + tuple(
            i + nb + lead for i, s in enumerate(shape) if s == 1 and gshape[i + nb + lead] != 1)
        if axes:
            g = xp.sum(g, axis=axes, keepdims=True)
        if lead:
            g = xp.reshape(g, tuple(g.shape[:nb]) + shape)
    if tuple(g.shape) != want:   # a cotangent constant along the batch
        g = xp.broadcast_to(g, want)
    return g


def _astype(g, dtype):
    if isinstance(g, Tensor):
        from ..ops._util import cast
        return cast(g, dtype)
    return g.astype(dtype)


def _check_versions(node):
    inputs = node.inputs
    if node.uses_inputs:
        versions = node.versions
        stale = [i for i, a in enumerate(inputs) if isinstance(a, Tensor) and a._vc[0] != versions[i]]
        used = node.used_inputs() if stale else ()
    else:
        stale = used = ()
    for i in stale:
        a = inputs[i]
        if i in used:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: input {i} of {node.name} (shape {tuple(a.shape)}) is at version "
                f"{a._vc[0]}; expected version {versions[i]} instead.")
    if node.uses_output and node.out_vc is not None:
        if node.n_out == 1:
            counters, expected, which = (node.out_vc,), (node.out_ver,), ""
        else:  # several outputs: one counter each
            counters, expected, which = node.out_vc, node.out_ver, "s"
        for k, (vc, ver) in enumerate(zip(counters, expected)):
            if vc[0] != ver:
                name = f"output {k} of {node.name}" if which else f"the output of {node.name}"
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: {name} is at version {vc[0]}; expected version {ver} instead.")


def _saved_args(node, create_graph):
    """The inputs and output as the vjp sees them: arrays, or Tensors when recording."""
    if create_graph:
        args = list(node.inputs)
        if node.n_out == 1:
            out = make_tensor(node.out, True, node)
            out._vc = node.out_vc
        else:
            out = tuple(_rebuild_output(node, i, o) for i, o in enumerate(node.out))
        if _flags.forward_levels:
            try:
                tangent = node.out_tangent
            except AttributeError:
                tangent = None
            if node.n_out == 1:
                out._tangent = tangent
            elif tangent is not None:
                for o, tg in zip(out, tangent):
                    o._tangent = tg
        args.append(out)
        return args
    args = [a._data if hasattr(a, "_data") else a for a in node.inputs]
    args.append(node.out)
    return args


def _rebuild_output(node, i, o):
    t = make_tensor(o, o.dtype.kind in "fc", node)
    t._out_idx = i
    if node.out_vc is not None:
        t._vc = node.out_vc[i]
    return t


def run_backward(roots, root_grads, retain_graph=False, create_graph=False,
                 inputs=None, allow_unused=False, accumulate_into_grad=True,
                 batch_shape=(), stop_at_inputs=False):
    """Backpropagate ``root_grads`` from ``roots``: the one backward loop.

    Nodes wait in a heap keyed by creation order and the newest runs first:
    every consumer of a node is newer than the node, so by the time a node is
    popped every cotangent meant for it has arrived (a topological order with
    no counting pass). Everything the pass tracks -- the cotangents waiting at
    each node, the heap, the leaves' sums -- lives in this call's locals, never
    on the nodes, so passes can nest (a ``Function`` whose backward calls
    ``autograd.grad`` on the same graph) and run in several threads at once.

    ``loss.backward()`` is the lean case of this loop: arrays flow, nothing is
    recorded, gradients land in ``.grad``. The options switch on more:
    ``create_graph`` (Tensors flow through the rules, which are recorded),
    ``inputs`` (autograd.grad: their gradients are returned instead of
    accumulated; with ``stop_at_inputs`` the pass ends at them, as dm.func's
    inputs are fresh aliases), ``batch_shape`` (the root cotangents carry these
    leading dims, see the module docstring), anomaly mode (each rule checked).
    """
    # Tensors (not arrays) flow when the pass is recorded or tangents must flow through it
    tensors = create_graph or _flags.forward_levels > 0
    if tensors:
        from ..ops import xp   # the rules run on Tensors, through the ops (a layer above)
    else:
        xp = xp_numpy
    batch_shape = tuple(batch_shape)
    anomaly = _flags.local.anomaly
    special = anomaly or bool(batch_shape)
    capture = stop = None
    if inputs is not None:
        capture = {}   # node -> [(position in inputs, output index)]
        for k, t in enumerate(inputs):
            if t.grad_fn is not None:
                capture.setdefault(t.grad_fn, []).append((k, t._out_idx))
        if stop_at_inputs:
            stop = capture
    captured = {}
    pending = {}      # node -> the sum of the cotangents it has received (a list of slots for n_out > 1)
    heap = []         # (-seq, node) for every node in ``pending``
    leaf_grads = {}   # id(leaf) -> [leaf, cotangent]
    push, pop = heapq.heappush, heapq.heappop
    prev_mode = _grad_state.enabled
    _grad_state.enabled = create_graph
    try:
        for r, g in zip(roots, root_grads):
            if tensors and not isinstance(g, Tensor):
                g = make_tensor(np.asarray(g))
            fn = r.grad_fn
            if fn is None:
                _add_leaf(leaf_grads, r, g)
            else:
                if fn not in pending:
                    push(heap, (-fn.seq, fn))
                _add_pending(pending, fn, r._out_idx, g)
        while heap:
            node = pop(heap)[1]
            g = pending.pop(node)
            node_inputs = node.inputs
            if node_inputs is None:
                raise RuntimeError(
                    f"Trying to backward through the graph a second time (node {node.name}), "
                    "but its saved values were freed after the first backward. "
                    "Pass retain_graph=True to the first backward() if you need to go through it twice.")
            if node.retained is not None and not batch_shape:
                _store_retained(node, g, tensors)
            if capture is not None and node in capture:
                for k, idx in capture[node]:
                    captured[k] = g if node.n_out == 1 else g[idx]
                if stop is not None:
                    continue
            if node.uses_inputs:
                # the full check only when some saved input was written in place since
                for a, ver in zip(node_inputs, node.versions):
                    if ver != (a._vc[0] if a.__class__ is Tensor or isinstance(a, Tensor) else 0):
                        _check_versions(node)
                        break
            if node.uses_output and node.out_vc is not None and node.out_vc[0] != node.out_ver:
                # (several outputs: out_vc[0] is a counter, never equal to the tuple out_ver,
                # so _check_versions looks at each)
                _check_versions(node)
            n = len(node_inputs)
            if tensors or special:
                args = _saved_args(node, tensors)
                if special:
                    in_grads = _special_vjp(node, xp, g, args, anomaly, batch_shape)
                else:
                    in_grads = node.vjp(xp, g, *args)
            # the plain pass: arrays, the common input counts spelled out (no argument tuple)
            elif n == 1:
                into = node.vjp_into
                if into is not None and node.needs[0]:
                    # the input's cotangent sum already waits in a buffer only this pass holds:
                    # the rule adds into it (x[index] += g) instead of making a full-size array
                    fn0 = node.fns[0]
                    old = pending.get(fn0) if fn0 is not None and fn0.n_out == 1 else None
                    if (old is not None and old.__class__ is np.ndarray and old.base is None
                            and old.flags.writeable and old.shape == node_inputs[0]._data.shape
                            and old.dtype is node_inputs[0]._data.dtype and _held_by_pending(old)
                            and into(old, g, node.out)):
                        del g, old
                        if not retain_graph:
                            _release(node)
                        continue
                    old = None
                if node.vjp_donated is not None and _donatable(g):
                    # g is ours alone: the rule may write into it
                    in_grads = node.vjp_donated(g, node_inputs[0]._data, node.out)
                else:
                    in_grads = node.vjp(xp, g, node_inputs[0]._data, node.out)
            elif n == 2:
                a, b = node_inputs
                in_grads = node.vjp(xp, g, a._data if isinstance(a, Tensor) else a,
                                    b._data if isinstance(b, Tensor) else b, node.out)
            elif n == 3:   # (a Linear's Addmm)
                a, b, c = node_inputs
                in_grads = node.vjp(xp, g, a._data if isinstance(a, Tensor) else a,
                                    b._data if isinstance(b, Tensor) else b,
                                    c._data if isinstance(c, Tensor) else c, node.out)
            else:
                in_grads = node.vjp(xp, g, *[a._data if isinstance(a, Tensor) else a for a in node_inputs],
                                    node.out)
            del g  # a cotangent passed on below must not count this frame as a holder
            for a, fn, need, gi in zip(node_inputs, node.fns, node.needs, in_grads):
                if not need or gi is None:
                    continue
                data = a._data
                if gi.shape != data.shape:
                    gi = sum_to(xp, gi, data.shape, batch_shape)
                if gi.dtype is not data.dtype and gi.dtype != data.dtype:
                    gi = _astype(gi, data.dtype)
                if fn is None:   # (_add_leaf, inlined: a Linear's weight and bias every step)
                    entry = leaf_grads.get(id(a))
                    if entry is None:
                        leaf_grads[id(a)] = [a, gi]
                    else:
                        entry[1] = entry[1] + gi
                elif fn.n_out == 1:
                    old = pending.get(fn)
                    if old is None:
                        pending[fn] = gi
                        push(heap, (-fn.seq, fn))
                    elif (old.__class__ is np.ndarray and gi.__class__ is np.ndarray and old.nbytes >= 65536
                          and old.shape == gi.shape and old.dtype is gi.dtype):
                        # a large sum (a split's pieces, a residual stream) into a warm pooled
                        # buffer: fresh megabytes here page-fault on every training step
                        from ..ops._pool import take   # (ops sits above autograd: imported here)
                        pending[fn] = np.add(old, gi, out=take(old.shape, old.dtype))
                    else:
                        pending[fn] = old + gi
                else:
                    if fn not in pending:
                        push(heap, (-fn.seq, fn))
                    _add_pending(pending, fn, a._out_idx, gi)
            in_grads = gi = None  # so that the next node's cotangent has no stale holder here
            if not retain_graph:
                if node.uses_inputs or node.uses_output or node.saves_values:
                    node.inputs = node.fns = node.out = None   # (_release's first case, inlined)
                else:
                    _release(node)
        if inputs is not None:
            results = []
            for k, t in enumerate(inputs):
                if t.grad_fn is not None:
                    g = captured.get(k)
                else:
                    g = leaf_grads.get(id(t))
                    g = None if g is None else g[1]
                if g is None and not allow_unused:
                    raise RuntimeError(
                        f"autograd.grad: input {k} (shape {tuple(t.shape)}) was not used to compute "
                        "the outputs, or does not require grad. Pass allow_unused=True to get None for it.")
                results.append(None if g is None else (g if tensors else make_tensor(g)))
            return results
        if accumulate_into_grad:
            # the caller's arrays (and what they are views of) never become a .grad
            handed_out = {id(g) for g in root_grads} | {id(g.base) for g in root_grads
                                                          if getattr(g, "base", None) is not None}
            for leaf, g in leaf_grads.values():
                if not leaf._requires_grad:
                    continue
                if not tensors and leaf._grad is None and g.base is None and id(g) not in handed_out:
                    leaf._grad = make_tensor(g)  # the common case of _accumulate_leaf, inlined
                else:
                    _accumulate_leaf(leaf, g, tensors, handed_out)
                handed_out.add(id(g))
    finally:
        _grad_state.enabled = prev_mode
    return None


def _add_leaf(leaf_grads, leaf, g):
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, g]
    else:
        entry[1] = entry[1] + g

def _release(node):
    """Free what backward saved, once it has run without ``retain_graph``.

    As in torch, only saved values are freed: a node whose rule reads no values (add, a
    reshape or transpose, a sum, indexing) keeps its edges and its inputs' shapes, so a
    second backward through it still works (a transpose of a weight kept across steps, a
    shared encoding). Its large inputs are swapped for phantoms, the same shape and dtype
    over one zero, so no memory is kept; small ones are cheaper to keep than to swap.
    A node that saved values loses everything, and a second backward through it raises.
    """
    if node.uses_inputs or node.uses_output or node.saves_values:
        node.inputs = node.fns = None
        node.out = None
        return
    node.released = True  # (read by dm.explain, which shows values)
    inputs = node.inputs
    for a in inputs:
        if isinstance(a, Tensor) and a.grad_fn is not None and a._data.size > _KEEP:
            node.inputs = tuple(_phantom(a) if isinstance(a, Tensor) and a.grad_fn is not None else a
                                for a in inputs)
            break
    out = node.out
    if isinstance(out, tuple):
        node.out = tuple(_phantom_array(o) for o in out)
    elif out.size > _KEEP:
        node.out = _phantom_array(out)


_KEEP = 1024
_ZERO = bytes(64)  # read-only, and wide enough for one element of any dtype


def _phantom_array(a):
    return np.ndarray(a.shape, a.dtype, _ZERO, 0, (0,) * a.ndim)


def _phantom(t):
    p = make_tensor(_phantom_array(t._data), t.requires_grad, t.grad_fn)
    p._out_idx = t._out_idx
    p._vc = t._vc
    return p


_getrefcount = sys.getrefcount


def _donatable(g):
    """True when the cotangent array ``g`` is held by the engine's frame alone.

    The references counted are that frame's local and this call's argument; any
    other holder (a second consumer's pending slot, a leaf's gradient, a retained
    grad, the caller's ``gradient=``, a view of g) adds one. Such a cotangent may
    be overwritten by the op's vjp: nobody can see it change.
    """
    if g.__class__ is not np.ndarray or g.base is not None or not g.flags.writeable:
        return False
    n = _getrefcount(g)
    # a buffer from the warm pool (a fused layer's gradient) has the pool's reference more
    return n == _EXCLUSIVE or (n == _EXCLUSIVE + 1 and _pooled(g))


def _held_by_pending(a):
    """True when the array ``a`` is held by one slot of the pass's pending table and the
    caller's local alone (the pool's list too, for a pooled buffer): nobody sees it change."""
    n = _getrefcount(a)
    return n == _EXCLUSIVE + 1 or (n == _EXCLUSIVE + 2 and _pooled(a))


_pool_module = None


def _pooled(g):
    """Whether ``g`` is one of this thread's pooled buffers (ops/_pool.py, a layer above:
    imported on first use)."""
    global _pool_module
    if _pool_module is None:
        from ..ops import _pool
        _pool_module = _pool
    return _pool_module.holds(g)


def _exclusive_count(g):
    return _getrefcount(g)


def _calibrate():
    """The count ``_donatable`` sees for an array that only its caller's local holds
    (3 on CPython 3.11: the local, the argument, getrefcount's own), measured rather than
    assumed, since how an interpreter counts references to call arguments may change."""
    g = np.empty(1)
    return _exclusive_count(g)


_EXCLUSIVE = _calibrate()


def _sole_base(g):
    """The array ``g`` is a view of, when g covers all of it in the same layout and g is its
    only holder (reference counts, calibrated below, as ``_donatable``'s); else None."""
    b = g.base
    if (b.__class__ is np.ndarray and b.shape == g.shape and b.dtype == g.dtype and g.flags.c_contiguous
            and b.flags.c_contiguous and b.flags.writeable and _getrefcount(b) == _SOLE_BASE):
        return b
    return None


def _calibrate_base():
    """The count ``_sole_base`` sees for a base held by one view alone."""
    v = np.empty((2, 2)).T.T
    b = v.base
    return _getrefcount(b) if b.shape == v.shape else -1


_SOLE_BASE = _calibrate_base()


def backward_scalar(root, retain_graph):
    """``loss.backward()`` on a one-element tensor with every option off (the training
    step): straight to the loop, without the argument checks of ``autograd.backward``."""
    data = root._data
    if data.size != 1:
        return False
    run_backward((root,), (np.ones(data.shape, data.dtype),), bool(retain_graph))
    return True

def _special_vjp(node, xp, g, args, anomaly, batch_shape):
    """The vjp call when anomaly mode is on or the cotangents are batched."""
    if anomaly:
        from .anomaly import run_checked_vjp as call
    else:
        def call(node, xp, g, args):
            return node.vjp(xp, g, *args)
    if batch_shape and not node.batched:
        return rowwise_vjp(node, xp, g, args, batch_shape, call)
    return call(node, xp, g, args)


def rowwise_vjp(node, xp, g, args, batch_shape, call):
    """The fallback for a rule that cannot take batched cotangents: one call per row, stacked."""
    n = int(np.prod(batch_shape))
    nb = len(batch_shape)

    def rows(gg):
        return None if gg is None else xp.reshape(gg, (n,) + tuple(gg.shape[nb:]))
    multi = node.n_out > 1
    flat = [rows(gg) for gg in g] if multi else rows(g)
    shapes = [tuple(np.shape(a._data if isinstance(a, Tensor) else a)) for a in args[:-1]]
    per_input = [[] for _ in shapes]
    for i in range(n):
        gi = [None if f is None else f[i] for f in flat] if multi else flat[i]
        for j, (shape, need, r) in enumerate(zip(shapes, node.needs, call(node, xp, gi, args))):
            if need and r is not None and tuple(r.shape) != shape:
                r = sum_to(xp, r, shape)
            per_input[j].append(r if need else None)
    return [_stack(xp, rs, batch_shape) for rs in per_input]


def _add_pending(pending, node, idx, g):
    """Add cotangent ``g`` of output ``idx`` of ``node`` to what the pass holds for it."""
    if node.n_out == 1:
        old = pending.get(node)
        pending[node] = g if old is None else old + g
        return
    slots = pending.get(node)
    if slots is None:
        slots = pending[node] = [None] * node.n_out
    slots[idx] = g if slots[idx] is None else slots[idx] + g


def _store_retained(node, g, create_graph):
    for ref in node.retained:
        t = ref()
        if t is None:
            continue
        gi = g if node.n_out == 1 else (g[t._out_idx] if g is not None else None)
        if gi is None:
            continue
        if create_graph:   # the gradient keeps its graph, accumulated or not
            t._grad = gi if t._grad is None else t._grad + gi
        else:
            gt = make_tensor(gi)
            t._grad = gt if t._grad is None else make_tensor(t._grad._data + gt._data)


def _accumulate_leaf(leaf, g, create_graph, handed_out):
    if create_graph:
        gt = g
    elif g.base is not None or id(g) in handed_out:
        # A pass-through cotangent (from add, reshape, or the user's gradient=)
        # may share memory with another leaf's .grad; an in-place grad.zero_()
        # on one must not clear the other, so it gets its own buffer -- unless g
        # is the whole of an array that nothing else holds (a weight gradient that
        # matmul computed in the transposed layout of x @ W.T, transposed back):
        # then that array is the gradient, with no copy.
        base = _sole_base(g)
        gt = make_tensor(base if base is not None and id(base) not in handed_out else g.copy())
    else:
        gt = make_tensor(g)
    if leaf.grad is None:
        leaf._grad = gt
    elif create_graph or leaf.grad.requires_grad:
        leaf._grad = leaf._grad + gt
    else:
        leaf._grad = make_tensor(leaf._grad._data + gt._data)


