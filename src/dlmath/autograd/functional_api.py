"""``backward`` and ``autograd.grad``: argument checking around the engine."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .engine import run_backward


def _as_seq(x):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def _root_grads(outputs, grad_outputs, create_graph, opname):
    grads = []
    grad_outputs = grad_outputs or [None] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"{opname}: got {len(grad_outputs)} gradients for {len(outputs)} outputs")
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise TypeError(f"{opname}: outputs must be Tensors, got {type(out).__name__}")
        if not out.requires_grad:
            raise RuntimeError(f"{opname}: element {i} of tensors does not require grad and does not have a "
                               "grad_fn")
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(f"{opname}: grad can be implicitly created only for scalar outputs "
                                   f"(output {i} has shape {tuple(out.shape)}); pass gradient= "
                                   "(the vector of the vector-Jacobian product)")
            g = np.ones(out._data.shape, dtype=out._data.dtype)
            if create_graph:
                from .node import make_tensor
                g = make_tensor(g)
        else:
            gshape = tuple(g.shape) if hasattr(g, "shape") else np.shape(g)
            if gshape != tuple(out.shape):
                raise RuntimeError(f"{opname}: Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{gshape} and output[{i}] has a shape of {tuple(out.shape)}.")
            if create_graph:
                if not isinstance(g, Tensor):
                    from ..ops._util import to_tensor
                    g = to_tensor(np.asarray(g, dtype=out.dtype))
                elif g.dtype != out.dtype:
                    g = g.to(out.dtype)
            else:
                g = g._data if isinstance(g, Tensor) else np.asarray(g)
                if g.dtype != out._data.dtype:
                    g = g.astype(out._data.dtype)
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves (torch.autograd.backward)."""
    tensors = _as_seq(tensors)
    grads = _root_grads(tensors, _as_seq(grad_tensors), create_graph, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = _as_seq(inputs)
        results = run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs, allow_unused=True)
        from .engine import _accumulate_leaf
        for t, g in zip(inputs, results):
            if g is not None:
                _accumulate_leaf(t, g if create_graph else g._data, create_graph, set())
        return
    run_backward(tensors, grads, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         is_grads_batched=False, materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned (``.grad`` is untouched).

    With ``create_graph=True`` the returned gradients are part of a graph, so
    they can be differentiated again: Hessian-vector products, gradient penalties.
    """
    outputs = _as_seq(outputs)
    inputs = _as_seq(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs must be Tensors, got {type(t).__name__} at position {i}")
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad (One of the differentiated Tensors "
                               "does not require grad)")
    if allow_unused is None:
        allow_unused = materialize_grads
    grads = _root_grads(outputs, _as_seq(grad_outputs), create_graph, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    results = run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs, allow_unused=allow_unused)
    if materialize_grads:
        from ..creation import zeros_like
        results = [zeros_like(t) if g is None else g for t, g in zip(inputs, results)]
    return tuple(results)
