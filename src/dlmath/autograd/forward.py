"""Forward-mode AD: tangents carried beside the values, one jvp rule per op.

A *level* is one active ``jvp`` / ``jacfwd``. While a level is open, every
primitive applied looks for tangents of its inputs at that level (stored on
``Tensor._tangent``, a dict ``level id -> tangent Tensor``) and, right after
the forward value, computes the output's tangent with the primitive's ``jvp``
rule: the directional derivative J t at the price of one extra pass. A level
may carry a batch of tangents as leading dims (``jacfwd`` pushes all n basis
vectors at once), which every ``batched`` rule accepts; other rules are run
row by row.

Levels nest. While the rule of level k runs, only levels below k propagate (a
tangent of a tangent at the same level would be perturbation confusion). When
an outer level is open, or the tangents may later be differentiated in reverse
(reverse-over-forward), the rule runs on Tensors, so it is itself an
operation that carries the outer tangents and records a graph.

The hook runs from ``apply`` only while a level is open (``_flags.active``):
with forward mode off, the hot path pays one attribute test.
"""
from __future__ import annotations

import itertools

import numpy as np

from .. import _grad_mode
from . import _flags, xp_numpy
from ..tensor import Tensor
from .node import Op, make_tensor

_base_vjp = Op.vjp

_grad_state = _grad_mode.state
_Tensor = Tensor


class Level:
    """One open forward level: its id (inner levels have larger ids), how many
    leading batch dims its tangents carry, and whether its tangent computations
    must be recorded for a reverse pass."""
    __slots__ = ("id", "bdims", "needs_grad")

    def __repr__(self):
        return f"<forward level {self.id}, batch dims {self.bdims}>"


_levels = {}                 # id -> Level, the open ones
_ids = itertools.count(1)    # never reused: a stale tangent of a closed level is never mistaken
_limit = [float("inf")]      # levels >= limit do not propagate (their rule is running)


def enter(bdims=0, needs_grad=False):
    """Open a forward level (returns it); pair with :func:`exit`."""
    lv = Level()
    lv.id, lv.bdims, lv.needs_grad = next(_ids), bdims, needs_grad
    if not _levels:
        _flags._forward_hooks.append(_hook)
    _levels[lv.id] = lv
    _flags.forward_levels += 1
    _flags.refresh()
    return lv


def exit(lv):
    del _levels[lv.id]
    _flags.forward_levels -= 1
    if not _levels:
        _flags._forward_hooks.remove(_hook)
    _flags.refresh()


def is_open(lv):
    return lv.id in _levels


def tangent_of(t, lv):
    """The tangent of Tensor ``t`` at level ``lv`` (None if it has none)."""
    d = getattr(t, "_tangent", None)
    return None if not d else d.get(lv.id)


def set_tangent(t, lv, tangent):
    d = t._tangent
    if d is None:
        d = t._tangent = {}
    d[lv.id] = tangent


# --- the hook ------------------------------------------------------------------
def _hook(op, inputs, arrays, out, result):
    T = _Tensor
    found = None
    for a in inputs:
        if isinstance(a, T) and a._tangent:
            if found is None:
                found = list(a._tangent)
            else:
                found.extend(k for k in a._tangent if k not in found)
    if found is None:
        return
    limit = _limit[0]
    ids = sorted(k for k in found if k < limit and k in _levels)
    if not ids:
        return
    outs = result if op.n_out > 1 else (result,)
    for k in ids:      # outer levels first: an inner rule run on Tensors needs the outer tangents of its inputs
        _propagate(op, inputs, arrays, out, outs, _levels[k])
    if outs[0].grad_fn is op:
        # the backward pass rebuilds the output from the node: it needs its tangents too
        op.out_tangent = outs[0]._tangent if op.n_out == 1 else tuple(o._tangent for o in outs)


def _propagate(op, inputs, arrays, out, outs, lv):
    k = lv.id
    T = _Tensor
    tangents = tuple(a._tangent.get(k) if isinstance(a, T) and a._tangent else None for a in inputs)
    first = next((t for t in tangents if t is not None), None)
    if first is None:
        return
    lead = tuple(first.shape[:lv.bdims])
    record = _grad_state.enabled and (
        any(t is not None and t.requires_grad for t in tangents)
        or (lv.needs_grad and any(isinstance(a, T) and a.requires_grad for a in inputs)))
    outer = any(j < k for j in _levels)
    if record or outer:
        # the rule runs on Tensors: recorded for reverse mode, carrying outer levels' tangents
        from ..ops import xp as tensor_xp
        prev_limit, prev_grad = _limit[0], _grad_state.enabled
        _limit[0], _grad_state.enabled = k, record
        try:
            r = _call_jvp(op, tensor_xp, tangents, inputs, outs[0] if op.n_out == 1 else outs, lead)
        finally:
            _limit[0], _grad_state.enabled = prev_limit, prev_grad
    else:
        ts = tuple(None if t is None else t._data for t in tangents)
        r = _call_jvp(op, xp_numpy, ts, arrays, out, lead)
    rs = (r,) if op.n_out == 1 else (tuple(r) if isinstance(r, (tuple, list)) else (r,) + (None,) * (op.n_out - 1))
    for res, ri in zip(outs, rs):
        if ri is None or res._data.dtype.kind not in "fc":
            continue
        set_tangent(res, lv, _fit(ri, lead + res._data.shape, res._data.dtype))


def _fit(r, shape, dtype):
    """A rule's result as a tangent Tensor of exactly ``shape`` and ``dtype`` (rules may
    return a broadcastable shape, e.g. ``ta`` alone for ``a + b`` with b larger)."""
    if isinstance(r, _Tensor):
        if tuple(r.shape) != shape:
            from ..ops.shape import expand
            r = expand(r, shape)
        if r._data.dtype != dtype:
            from ..ops._util import cast
            r = cast(r, dtype)
        return r
    r = np.asarray(r)
    if r.shape != shape:
        r = np.broadcast_to(r, shape).copy()
    if r.dtype != dtype:
        r = r.astype(dtype)
    return make_tensor(r)


def _call_jvp(op, xp, ts, args, out, lead):
    try:
        if lead and not op.batched:
            return rowwise_jvp(op, xp, ts, args, out, lead)
        return op.jvp(xp, ts, *args, out)
    except NotImplementedError:
        if type(op).vjp is _base_vjp:
            raise
        return jvp_via_vjp(op, xp, ts, args, out, lead)


def jvp_via_vjp(op, xp, ts, args, out, lead):
    """For an op with a vjp rule but no jvp rule (svd, qr, pinv, ...): the Jacobian from m
    vjp calls (one per output element, batched where the rule allows), contracted with the
    tangents. Correct at any order, but O(output size) work: a jvp rule is better."""
    from .engine import _special_vjp, sum_to
    outs = out if op.n_out > 1 else (out,)
    try:
        saved_needs = op.needs
    except AttributeError:
        saved_needs = None
    op.needs = tuple(t is not None for t in ts)
    n_lead = int(np.prod(lead)) if lead else 1
    results = []
    try:
        for k, o in enumerate(outs):
            data = o._data if isinstance(o, _Tensor) else np.asarray(o)
            if data.dtype.kind not in "fc":
                results.append(None)
                continue
            m = data.size
            basis = np.eye(m, dtype=data.dtype).reshape((m,) + data.shape)
            basis = basis if xp is xp_numpy else make_tensor(basis)
            g = basis if op.n_out == 1 else [basis if j == k else None for j in range(op.n_out)]
            acc = None
            for gi, ti, a in zip(_special_vjp(op, xp, g, list(args) + [out], False, (m,)), ts, args):
                if gi is None or ti is None:
                    continue
                shape = tuple(np.shape(a._data if isinstance(a, _Tensor) else a))
                rows = xp.reshape(sum_to(xp, gi, shape, (m,)), (m, int(np.prod(shape))))
                cols = xp.reshape(ti, (n_lead, int(np.prod(shape))))
                d = xp.matmul(cols, xp.transpose(rows, (1, 0)))
                acc = d if acc is None else acc + d
            results.append(None if acc is None else xp.reshape(acc, tuple(lead) + data.shape))
    finally:
        if saved_needs is None:
            del op.needs
        else:
            op.needs = saved_needs
    return results[0] if op.n_out == 1 else tuple(results)


def rowwise_jvp(op, xp, ts, args, out, lead):
    """The fallback for a rule that cannot take batched tangents: one call per row, stacked."""
    n = int(np.prod(lead))
    flat = [None if t is None else xp.reshape(t, (n,) + tuple(t.shape[len(lead):])) for t in ts]
    rows = [op.jvp(xp, tuple(None if t is None else t[i] for t in flat), *args, out) for i in range(n)]
    return _stack_rows(xp, rows, lead, op.n_out)


def _stack_rows(xp, rows, lead, n_out):
    """Stack per-row results (arrays, or tuples of them for several outputs) into lead + shape."""
    if n_out == 1 or not isinstance(rows[0], (tuple, list)):
        return _stack(xp, rows, lead)
    return tuple(_stack(xp, [r[j] for r in rows], lead) for j in range(len(rows[0])))


def _stack(xp, rows, lead):
    if all(r is None for r in rows):
        return None
    ref = next(r for r in rows if r is not None)
    rows = [r if r is not None else ref * 0 for r in rows]
    s = xp.stack(rows) if xp is not xp_numpy else np.stack([np.asarray(r) for r in rows])
    return xp.reshape(s, tuple(lead) + tuple(s.shape[1:]))
