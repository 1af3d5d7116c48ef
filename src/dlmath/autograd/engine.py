"""The backward pass: the chain rule, applied from the outputs back to the leaves.

Walk the graph once to order the nodes (each after every node that consumes
its output), then visit them in that order: a node receives the sum of the
cotangents of its output, calls its primitive's ``vjp`` to get each input's
cotangent, un-broadcasts that to the input's shape, and passes it on.

On the plain pass the cotangents are raw NumPy arrays and recording is off.
With ``create_graph=True`` they are Tensors, the vjp formulas run on Tensors
through :mod:`dlmath.autograd.xp`, and the backward pass becomes a graph that
can itself be differentiated (Hessians, gradient penalties).
"""
from __future__ import annotations

import numpy as np

from .. import _grad_mode
from . import xp as tensor_xp
from . import xp_numpy
from . import _flags
from .node import make_tensor

_grad_state = _grad_mode.state


def sum_to(xp, g, shape):
    """Undo broadcasting: sum ``g`` over the axes that broadcasting added or stretched."""
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    if lead:
        g = xp.reshape(g, shape)
    return g


def _topological_order(roots):
    """Nodes reachable from the roots, each listed after all its consumers."""
    order = []
    seen = set()
    for root in roots:
        if root is None or id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            stack.append((node, True))
            inputs = node.inputs
            if inputs is None:
                raise RuntimeError(
                    f"Trying to backward through the graph a second time (node {node.name}), "
                    "but its saved values were freed after the first backward. "
                    "Pass retain_graph=True to the first backward() if you need to go through it twice.")
            for a, need in zip(inputs, node.needs):
                if need:
                    fn = a.grad_fn
                    if fn is not None and id(fn) not in seen:
                        seen.add(id(fn))
                        stack.append((fn, False))
    order.reverse()
    return order


def _check_versions(node):
    inputs, versions = node.inputs, node.versions
    for i in node.used_inputs():
        a = inputs[i]
        if hasattr(a, "_vc") and a._vc[0] != versions[i]:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: input {i} of {node.name} (shape {tuple(a.shape)}) is at version "
                f"{a._vc[0]}; expected version {versions[i]} instead.")
    if node.uses_output and node.out_vc is not None and node.out_vc[0] != node.out_ver:
        raise RuntimeError(
            f"one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: the output of {node.name} is at version {node.out_vc[0]}; "
            f"expected version {node.out_ver} instead.")


def _saved_args(node, create_graph):
    """The inputs and output as the vjp sees them: arrays, or Tensors when recording."""
    if create_graph:
        args = list(node.inputs)
        if node.n_out == 1:
            out = make_tensor(node.out, True, node)
            out._vc = node.out_vc
        else:
            out = tuple(_rebuild_output(node, i, o) for i, o in enumerate(node.out))
        args.append(out)
        return args
    args = [a._data if hasattr(a, "_data") else a for a in node.inputs]
    args.append(node.out)
    return args


def _rebuild_output(node, i, o):
    t = make_tensor(o, o.dtype.kind in "fc", node)
    t._out_idx = i
    return t


def _accumulate(store, key, g):
    old = store.get(key)
    store[key] = g if old is None else old + g


def run_backward(roots, root_grads, retain_graph=False, create_graph=False,
                 inputs=None, allow_unused=False, accumulate_into_grad=True):
    """Backpropagate ``root_grads`` from ``roots``.

    With ``inputs`` given (autograd.grad), return their gradients instead of
    accumulating into ``.grad``.
    """
    xp = tensor_xp if create_graph else xp_numpy
    prev_mode = _grad_state.enabled
    _grad_state.enabled = create_graph
    try:
        node_grads = {}   # id(node) -> cotangent of its output (list for multi-output)
        leaf_grads = {}   # id(leaf) -> cotangent
        leaves = {}
        root_nodes = []
        for r, g in zip(roots, root_grads):
            fn = r.grad_fn
            if fn is None:
                leaves[id(r)] = r
                _accumulate(leaf_grads, id(r), g)
            else:
                _add_node_grad(node_grads, fn, r._out_idx, g)
                root_nodes.append(fn)
        capture = {}
        if inputs is not None:
            for k, t in enumerate(inputs):
                if t.grad_fn is not None:
                    capture.setdefault(id(t.grad_fn), []).append((k, t._out_idx))
        captured = {}
        for node in _topological_order(root_nodes):
            g = node_grads.pop(id(node), None)
            if node.retained is not None:
                _store_retained(node, g, create_graph)
            if id(node) in capture:
                for k, idx in capture[id(node)]:
                    captured[k] = g if node.n_out == 1 else (g[idx] if g is not None else None)
            if g is None:
                continue
            _check_versions(node)
            if _flags.anomaly:
                from .anomaly import run_checked_vjp
                in_grads = run_checked_vjp(node, xp, g, _saved_args(node, create_graph))
            else:
                in_grads = node.vjp(xp, g, *_saved_args(node, create_graph))
            for a, need, gi in zip(node.inputs, node.needs, in_grads):
                if not need or gi is None:
                    continue
                shape = a._data.shape
                if gi.shape != shape:
                    gi = sum_to(xp, gi, shape)
                if gi.dtype != a._data.dtype:
                    gi = gi.astype(a._data.dtype)
                fn = a.grad_fn
                if fn is None:
                    leaves[id(a)] = a
                    _accumulate(leaf_grads, id(a), gi)
                else:
                    _add_node_grad(node_grads, fn, a._out_idx, gi)
            if not retain_graph:
                _release(node)
        if inputs is not None:
            results = []
            for k, t in enumerate(inputs):
                g = captured.get(k) if t.grad_fn is not None else leaf_grads.get(id(t))
                if g is None and not allow_unused:
                    raise RuntimeError(
                        f"autograd.grad: input {k} (shape {tuple(t.shape)}) was not used to compute "
                        "the outputs, or does not require grad. Pass allow_unused=True to get None for it.")
                results.append(None if g is None else (g if create_graph else make_tensor(g)))
            return results
        if accumulate_into_grad:
            handed_out = {id(g) for g in root_grads}
            for key, g in leaf_grads.items():
                leaf = leaves[key]
                if not leaf.requires_grad:
                    continue
                _accumulate_leaf(leaf, g, create_graph, handed_out)
                handed_out.add(id(g))
    finally:
        _grad_state.enabled = prev_mode
    return None


def _add_node_grad(store, node, idx, g):
    if node.n_out == 1:
        _accumulate(store, id(node), g)
        return
    slots = store.get(id(node))
    if slots is None:
        slots = store[id(node)] = [None] * node.n_out
    slots[idx] = g if slots[idx] is None else slots[idx] + g


def _store_retained(node, g, create_graph):
    for ref in node.retained:
        t = ref()
        if t is None:
            continue
        gi = g if node.n_out == 1 else (g[t._out_idx] if g is not None else None)
        if gi is None:
            continue
        gt = gi if create_graph else make_tensor(gi)
        t.grad = gt if t.grad is None else make_tensor(t.grad._data + gt._data)


def _accumulate_leaf(leaf, g, create_graph, handed_out):
    if create_graph:
        gt = g
    elif g.base is not None or id(g) in handed_out:
        # A pass-through cotangent (from add, reshape, or the user's gradient=)
        # may share memory with another leaf's .grad; an in-place grad.zero_()
        # on one must not clear the other, so it gets its own buffer.
        gt = make_tensor(g.copy())
    else:
        gt = make_tensor(g)
    if leaf.grad is None:
        leaf.grad = gt
    elif create_graph or leaf.grad.requires_grad:
        leaf.grad = leaf.grad + gt
    else:
        leaf.grad = make_tensor(leaf.grad._data + gt._data)


def _release(node):
    """Free what the node saved for backward (PyTorch frees saved tensors the same way)."""
    node.inputs = None
    node.out = None
