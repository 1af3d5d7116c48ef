"""``dm.explain(loss)``: the backward pass written out, op by op -- the chain rule made visible.

Backpropagation visits the ops from the loss back to the leaves. At each op
it multiplies the gradient arriving at the op's output (d loss / d out) by the
op's local derivative (d out / d in) and passes the product on to the op's
inputs. ``explain`` runs exactly that (the same vjp rules as ``backward``,
without touching ``.grad`` or freeing the graph) and prints every step: the
op, its shapes, its local derivative as a formula (the first paragraph of the
primitive's docstring) and, for small tensors, as numbers, the gradient that
comes in and the gradient that flows on.

    >>> import dlmath as dm
    >>> x = dm.tensor([1.0, 2.0], requires_grad=True)
    >>> text = dm.explain((x * x).sum(), names={"x": x}, file=None)
    >>> print(text.splitlines()[0])
    Backward pass of a scalar of value 5 to 1 leaf: 2 steps of the chain rule.
"""
from __future__ import annotations

import sys

import numpy as np

from .autograd import xp_numpy
from .autograd.engine import _special_vjp, sum_to
from .tensor import Tensor

__all__ = ["explain"]


def _fmt(a, max_numel):
    a = np.asarray(a)
    if a.size <= max_numel:
        body = np.array2string(a, precision=4, suppress_small=True, separator=", ", max_line_width=100)
        return body.replace("\n", "\n" + " " * 8)
    return (f"<{a.size} numbers: min {a.min():.4g}, max {a.max():.4g}, "
            f"norm {np.linalg.norm(a.astype(np.float64)):.4g}>")


def _doc(node):
    """The formula a node's docstring starts with: its first paragraph, on one line. A node made by
    a custom ``Function.apply`` is described by that Function's docstring, not the node's."""
    owner = getattr(node, "fn", None)
    kind = owner if isinstance(owner, type) else type(node)
    doc = (kind.__doc__ or "").strip()
    if not doc:
        return kind.__name__
    paragraph = doc.split("\n\n")[0]
    return " ".join(line.strip() for line in paragraph.splitlines())


def _order(root):
    """Nodes from the root to the leaves, each after every node that consumes its output."""
    deps, stack, seen = {}, [root], {id(root): root}
    while stack:
        node = stack.pop()
        if node.inputs is None or getattr(node, "released", False):
            raise RuntimeError("explain: the graph was freed by a backward pass; call explain before "
                               "backward(), or pass retain_graph=True to backward()")
        for fn, need in zip(node.fns, node.needs):
            fn = fn if need else None
            if fn is not None:
                deps[id(fn)] = deps.get(id(fn), 0) + 1
                if id(fn) not in seen:
                    seen[id(fn)] = fn
                    stack.append(fn)
    order, ready = [], [root]
    while ready:
        node = ready.pop()
        order.append(node)
        for fn, need in zip(node.fns, node.needs):
            fn = fn if need else None
            if fn is not None:
                deps[id(fn)] -= 1
                if deps[id(fn)] == 0:
                    ready.append(fn)
    return order


def _local_jacobian(node, args, k, out_shape, in_shape):
    """d out / d input k as an (out.numel, in.numel) matrix, from the vjp with every basis row."""
    m = int(np.prod(out_shape))
    basis = np.eye(m, dtype=np.asarray(args[-1]).dtype).reshape((m,) + tuple(out_shape))
    grads = _special_vjp(node, xp_numpy, basis, args, False, (m,))
    g = grads[k]
    if g is None:
        return None
    return np.asarray(sum_to(xp_numpy, g, tuple(in_shape), (m,))).reshape(m, -1)


def explain(tensor, names=None, max_numel=16, file=sys.stdout):
    """Print the backward pass from ``tensor`` to the leaves to ``file``; with ``file=None``, return it
    as text instead (printing and returning both would show it twice at a REPL prompt).

    ``names``: optional {name: tensor} (e.g. ``dict(model.named_parameters())``)
    to label the leaves; ``max_numel``: tensors up to this size are printed in
    full, larger ones as min/max/norm.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"explain: expected a Tensor, got {type(tensor).__name__}")
    if tensor._data.size != 1:
        raise RuntimeError(f"explain: expected a scalar (a loss), got shape {tuple(tensor.shape)}; "
                           "backward of a non-scalar needs a vector, see dm.func.vjp")
    if tensor.grad_fn is None:
        raise RuntimeError("explain: the tensor has no graph (it is a leaf, or was computed without grad)")
    label = {id(t): n for n, t in (names or {}).items()}
    root = tensor.grad_fn
    order = _order(root)
    step_of = {id(n): i + 1 for i, n in enumerate(order)}
    seed = np.ones(tensor._data.shape, tensor._data.dtype)
    if root.n_out > 1:   # one output of several (x.max(0).values[0] ...)
        slots = [None] * root.n_out
        slots[tensor._out_idx] = seed
        seed = slots
    pending = {id(root): seed}
    leaves, leaf_grads = [], {}
    lines = []
    for i, node in enumerate(order, 1):
        g = pending.pop(id(node), None)
        args = [a._data if isinstance(a, Tensor) else a for a in node.inputs] + [node.out]
        out_shape = np.shape(node.out) if node.n_out == 1 else None
        shown = (str(tuple(out_shape)) if node.n_out == 1 else
                 ", ".join(str(np.shape(o)) for o in node.out))
        in_shapes = ", ".join(str(tuple(np.shape(a))) for a in args[:-1])
        lines.append(f"[{i}] {node.name}: {in_shapes} -> {shown}")
        lines.append(f"    local derivative: {_doc(node)}")
        gin = g[0] if isinstance(g, list) else g
        lines.append(f"    gradient in  d loss/d out: {_fmt(gin, max_numel)}")
        grads = _special_vjp(node, xp_numpy, g, args, False, ()) if g is not None else [None] * len(args[:-1])
        for k, (a, src, need, gk) in enumerate(zip(node.inputs, node.fns, node.needs, grads)):
            if not need or gk is None:
                continue
            shape = a._data.shape
            gk = np.asarray(sum_to(xp_numpy, gk, shape)).astype(a._data.dtype, copy=False)
            dest = (f"[{step_of[id(src)]}] {src.name}" if src is not None else
                    f"leaf {label.get(id(a), tuple(shape))}")
            if node.n_out == 1 and int(np.prod(out_shape)) * a._data.size <= 4096:
                jac = _local_jacobian(node, args, k, out_shape, shape)
                if jac is not None and jac.shape[0] == jac.shape[1] and not (jac - np.diag(np.diag(jac))).any():
                    # diagonal: an elementwise derivative, shown in the input's shape
                    lines.append(f"    d out/d input {k} (elementwise): "
                                 f"{_fmt(np.diag(jac).reshape(shape), max_numel)}")
                elif jac is not None:
                    lines.append(f"    d out/d input {k}, ({int(np.prod(out_shape))} x {a._data.size}): "
                                 f"{_fmt(jac, 4 * max_numel)}")
            lines.append(f"    gradient out to input {k} -> {dest}: {_fmt(gk, max_numel)}")
            if src is None:
                if id(a) not in leaf_grads:
                    leaves.append(a)
                leaf_grads[id(a)] = gk if id(a) not in leaf_grads else leaf_grads[id(a)] + gk
            elif src.n_out == 1:
                pending[id(src)] = gk if id(src) not in pending else pending[id(src)] + gk
            else:
                slots = pending.setdefault(id(src), [None] * src.n_out)
                j = a._out_idx
                slots[j] = gk if slots[j] is None else slots[j] + gk
    value = float(np.asarray(tensor._data).reshape(()))
    head = [f"Backward pass of a scalar of value {value:.6g} to {len(leaves)} "
            f"lea{'f' if len(leaves) == 1 else 'ves'}: {len(order)} steps of the chain rule.",
            "Each step multiplies the gradient arriving at an op's output by the op's local derivative",
            "and passes it on to the op's inputs (d loss/d in = d loss/d out . d out/d in).", ""]
    tail = ["", "Gradients reached at the leaves (what backward() accumulates into .grad):"]
    for a in leaves:
        tail.append(f"    {label.get(id(a), 'leaf ' + str(tuple(a.shape)))}: {_fmt(leaf_grads[id(a)], max_numel)}")
    text = "\n".join(head + lines + tail)
    if file is not None:
        print(text, file=file)
        return None
    return text
