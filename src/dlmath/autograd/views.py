"""Views whose base was written in place after they were made.

A view (``h[0:2]``, ``h.T``, ``h.view(-1)``) shares memory with its base. When
the base is then changed by a recorded in-place op (``h[0] = 5``), the view's
numbers change too, but its ``grad_fn`` still leads to the base's old history.
PyTorch regenerates such a view's ``grad_fn`` the next time the view is used;
so does dlmath: the view becomes a gather from the base's current value, its
elements located from the two arrays' memory layouts, so chains of views
(``h.T[1:].reshape(-1)``) need no replaying. A base written without a new history
(``W -= lr * W.grad`` under no_grad) leaves its views' nodes as they are; only
their version stamps move.
"""
from __future__ import annotations

import numpy as np


def is_stale(t) -> bool:
    """True for a view whose memory has been written since it was made (a recorded view),
    or since its base, then without history, acquired one (``buf += w`` after ``v = buf[0]``)."""
    fn = t.grad_fn
    if fn is not None:
        return fn.out_vc is t._vc and fn.out_ver != t._vc[0]
    return t._base.requires_grad and t._view_ver != t._vc[0]


def refresh(t):
    """Point the stale view ``t`` at its base's current history (in place on ``t``)."""
    from ..ops.indexing import GetItem
    from .node import record, restamp

    base = t._base
    view, root = t._data, base._data
    fn = t.grad_fn
    t._view_ver = t._vc[0]
    if fn is not None and _edges_current(t, base):
        # written without a new history (a no_grad optimiser step): the view's node still
        # leads where the base's history is; only its version stamp is out of date
        restamp(fn, t._vc)
        return
    if view.size and not np.may_share_memory(view, root):
        # empty, or a "view" NumPy had to copy: nothing of the base's can have changed in it
        if fn is not None:
            restamp(fn, t._vc)
        return
    if not base.requires_grad:
        t.grad_fn = None
        t._requires_grad = False
        return
    if root.ndim == 0:  # one number seen in a shape: an expand (its cotangent sums back)
        from ..ops.shape import Expand
        op = Expand(view.shape)
    else:
        op = GetItem(view_index(root, view))
    # recorded as any op is; the node's output is then t itself (its memory, its counter)
    record(op, (base,), (True,), view)
    restamp(op, t._vc)
    t.grad_fn = op
    t._out_idx = 0
    t._requires_grad = True


def _edges_current(t, base) -> bool:
    """True when the chain of view nodes from ``t`` back to ``base`` still points at each
    tensor's present ``grad_fn`` (no recorded write since the view was made)."""
    while t is not base:
        fn = t.grad_fn
        if fn is None or fn.inputs is None or len(fn.inputs) != 1 or fn.out_vc is not t._vc:
            return False
        src = fn.inputs[0]
        if fn.fns[0] is not src.grad_fn:
            return False
        t = src
    return True


def view_index(root: np.ndarray, view: np.ndarray) -> tuple:
    """An index such that ``root[index]`` has the elements of ``view``, in its shape."""
    if root.ndim == 0:  # the view can only add size-1 dims to the one element
        return (None,) * view.ndim
    return np.unravel_index(element_positions(root, view), root.shape)


def element_positions(root: np.ndarray, view: np.ndarray) -> np.ndarray:
    """For each element of ``view``, the flat (C-order) index of the ``root`` element at
    the same address. ``view`` must lie in ``root``'s memory."""
    start = (view.__array_interface__["data"][0] - root.__array_interface__["data"][0])
    view_offsets = start + _byte_offsets(view)
    if root.flags.c_contiguous:
        return view_offsets // root.itemsize
    root_offsets = _byte_offsets(root).ravel()
    order = np.argsort(root_offsets, kind="stable")
    return order[np.searchsorted(root_offsets[order], view_offsets)]


def _byte_offsets(a: np.ndarray) -> np.ndarray:
    """The byte offset of every element of ``a`` from its first one (its strides at work)."""
    offsets = np.zeros(a.shape, dtype=np.intp)
    for axis, (n, stride) in enumerate(zip(a.shape, a.strides)):
        shape = [1] * a.ndim
        shape[axis] = n
        offsets = offsets + (np.arange(n, dtype=np.intp) * stride).reshape(shape)
    return offsets
