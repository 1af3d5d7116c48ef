"""What the transforms share: inputs made differentiable, one reverse pass, one forward level.

Reverse mode (``_Reverse``): every differentiated input becomes a fresh tensor
that requires grad -- a leaf, or an ``Alias`` node when the input already has
a graph (an enclosing transform), so that the inner gradient is taken with
respect to this use only (no perturbation confusion) while the outer graph
still reaches through. The backward pass stops at those aliases. When the
result may be differentiated again (an enclosing reverse transform, or inputs
that require grad), the pass is recorded (``create_graph``).

Forward mode (``_Forward``): a level of :mod:`dlmath.autograd.forward` is
opened and every differentiated input becomes a *dual*: the value, with its
tangent (or a batch of tangents) attached at that level.
"""
from __future__ import annotations

import numpy as np

from .. import _grad_mode
from ..autograd import forward
from ..autograd.engine import run_backward
from ..autograd.node import Op, apply, make_tensor
from ..tensor import Tensor
from ._tree import tree_flatten, tree_unflatten

_grad_state = _grad_mode.state


class _State:
    rev_depth = 0   # reverse transforms whose function is running (their inputs require grad)


state = _State()


class Alias(Op):
    """The identity, as a new node: the handle a transform differentiates with respect to."""
    __slots__ = ()
    uses_inputs = False
    batched = True

    def forward(self, x):
        return x

    def vjp(self, xp, g, x, y):
        return (g,)

    def jvp(self, xp, t, x, y):
        return t[0]


def as_tensor(x, what="input"):
    """A Tensor from a Tensor, ndarray or Python number (NumPy arrays keep their dtype)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return make_tensor(x)
    if isinstance(x, (int, float, np.generic)):
        from ..creation import tensor
        return tensor(x)
    raise TypeError(f"dm.func: expected Tensors or NumPy arrays as {what}, got {type(x).__name__}")


def check_float(t, fname, k):
    if t._data.dtype.kind not in "fc":
        raise RuntimeError(f"{fname}: can only differentiate with respect to floating point inputs, "
                           f"but input {k} has dtype {t.dtype}")


def argnum_tree(args, argnums, fname):
    """The differentiated part of ``args``: args[argnums] (a tuple of them for a tuple argnums)."""
    n = len(args)
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    if not nums:
        raise RuntimeError(f"{fname}: argnums must be non-empty")
    for a in nums:
        if not isinstance(a, int) or isinstance(a, bool):
            raise RuntimeError(f"{fname}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -n <= a < n:
            raise RuntimeError(f"{fname}: got argnums={argnums!r}, but only {n} positional inputs")
    nums = tuple(a % n for a in nums)
    if len(set(nums)) != len(nums):
        raise RuntimeError(f"{fname}: argnums must be unique, got {argnums!r}")
    return nums, (tuple(args[a] for a in nums) if isinstance(argnums, tuple) else args[nums[0]])


def replace_args(args, nums, tree, is_tuple):
    args = list(args)
    parts = tree if is_tuple else (tree,)
    for a, p in zip(nums, parts):
        args[a] = p
    return args


def detach_tree(tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten(spec, [x.detach() if isinstance(x, Tensor) else x for x in leaves])


def output_leaves(out, fname):
    leaves, spec = tree_flatten(out)
    result = []
    for k, o in enumerate(leaves):
        if not isinstance(o, Tensor):
            if isinstance(o, np.ndarray):
                o = make_tensor(o)
            elif fname in ("grad", "grad_and_value", "value_and_grad"):
                raise RuntimeError(f"{fname}: expected f(*args) to return a scalar Tensor, got {type(o).__name__}")
            else:
                raise RuntimeError(f"{fname}: expected f to return Tensors (or a tuple/list/dict of them), "
                                   f"got {type(o).__name__} at output {k}")
        result.append(o)
    return result, spec


def split_aux(out, has_aux, fname):
    if not has_aux:
        return out, None
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise RuntimeError(f"{fname}(f, has_aux=True): f must return a pair (output, aux)")
    return out[0], out[1]


# --- reverse mode ----------------------------------------------------------------
class Reverse:
    """Run ``f`` on differentiable copies of ``args[argnums]``; then ``backward`` from its outputs."""

    def __init__(self, f, args, argnums, has_aux, fname):
        self.fname = fname
        nums, tree = argnum_tree(args, argnums, fname)
        leaves, self.in_spec = tree_flatten(tree)
        leaves = [as_tensor(x) for x in leaves]
        for k, x in enumerate(leaves):
            check_float(x, fname, k)
        outer_grad = _grad_state.enabled
        # record the backward pass when the result may be differentiated again
        self.create = outer_grad and (state.rev_depth > 0 or any(x.requires_grad for x in leaves))
        _grad_state.enabled = True
        state.rev_depth += 1
        try:
            self.inputs = [self._handle(x, outer_grad) for x in leaves]
            new_args = replace_args([as_tensor(a) if isinstance(a, np.ndarray) else a for a in args], nums,
                                    tree_unflatten(self.in_spec, self.inputs), isinstance(argnums, tuple))
            out, self.aux = split_aux(f(*new_args), has_aux, fname)
        finally:
            state.rev_depth -= 1
            _grad_state.enabled = outer_grad
        self.out = out
        self.outs, self.out_spec = output_leaves(out, fname)

    @staticmethod
    def _handle(x, outer_grad):
        """A fresh tensor requiring grad that stands for x (grad mode is on here)."""
        if x.requires_grad and outer_grad:
            return apply(Alias(), x)   # keeps the outer graph (and tangents, via the hook)
        t = make_tensor(x._data, True)
        if x._tangent:
            t._tangent = dict(x._tangent)
        return t

    def backward(self, cotangents, batch_shape=(), retain_graph=None, create=None):
        """Gradients (one per input leaf, zeros where unused) of sum <cotangent, output>."""
        create = self.create if create is None else create
        roots, grads = [], []
        for o, g in zip(self.outs, cotangents):
            if o.requires_grad:
                roots.append(o)
                grads.append(g)
        results = [None] * len(self.inputs)
        if roots:
            results = run_backward(roots, grads, retain_graph=create if retain_graph is None else retain_graph,
                                   create_graph=create, inputs=self.inputs, allow_unused=True,
                                   batch_shape=batch_shape, stop_at_inputs=True)
        return [r if r is not None else make_tensor(np.zeros(tuple(batch_shape) + x._data.shape, x._data.dtype))
                for r, x in zip(results, self.inputs)]

    def value(self):
        return self.out if self.create else detach_tree(self.out)

    def aux_value(self):
        return self.aux if self.create else detach_tree(self.aux)


def cotangent(g, o, create, k):
    """A user's cotangent for output ``o``: checked, in o's dtype, an array (or a Tensor when recording)."""
    if isinstance(g, Tensor):
        if tuple(g.shape) != tuple(o.shape):
            raise RuntimeError(f"vjp: Mismatch in shape: cotangent {k} has a shape of {tuple(g.shape)} and "
                               f"output {k} has a shape of {tuple(o.shape)}")
        if create or g.requires_grad:
            from ..ops._util import cast
            return cast(g, o._data.dtype)
        g = g._data
    g = np.asarray(g)
    if g.shape != o._data.shape:
        raise RuntimeError(f"vjp: Mismatch in shape: cotangent {k} has a shape of {g.shape} and "
                           f"output {k} has a shape of {tuple(o.shape)}")
    g = g.astype(o._data.dtype, copy=False)
    return make_tensor(g) if create else g


# --- forward mode ------------------------------------------------------------------
class Forward:
    """Run ``f`` on duals of ``args[argnums]`` at a fresh forward level.

    ``tangents``: one per input leaf, each of shape batch + leaf shape.
    """

    def __init__(self, f, args, argnums, has_aux, fname, make_tangents, bdims):
        self.fname = fname
        nums, tree = argnum_tree(args, argnums, fname)
        leaves, self.in_spec = tree_flatten(tree)
        leaves = [as_tensor(x) for x in leaves]
        for k, x in enumerate(leaves):
            check_float(x, fname, k)
        self.leaves = leaves
        tangents = make_tangents(leaves)
        needs_grad = _grad_state.enabled and (state.rev_depth > 0 or any(x.requires_grad for x in leaves)
                                              or any(t.requires_grad for t in tangents))
        self.level = lv = forward.enter(bdims, needs_grad)
        try:
            duals = [self._dual(x, t, lv) for x, t in zip(leaves, tangents)]
            new_args = replace_args([as_tensor(a) if isinstance(a, np.ndarray) else a for a in args], nums,
                                    tree_unflatten(self.in_spec, duals), isinstance(argnums, tuple))
            out, self.aux = split_aux(f(*new_args), has_aux, fname)
            self.outs, self.out_spec = output_leaves(out, fname)
            self.tangents = [forward.tangent_of(o, lv) for o in self.outs]
        finally:
            forward.exit(lv)
        for o in self.outs:     # the level is closed: drop its entries
            if o._tangent:
                o._tangent.pop(lv.id, None)
        self.out = out

    @staticmethod
    def _dual(x, t, lv):
        if (x.requires_grad and _grad_state.enabled) or x._tangent:
            d = apply(Alias(), x)   # keeps the graph and the outer levels' tangents
        else:
            d = make_tensor(x._data)
        forward.set_tangent(d, lv, t)
        return d


def tangent_tensor(t, x, k, fname):
    """A user's tangent for input ``x``: same shape (RuntimeError naming both), x's dtype."""
    t = t if isinstance(t, Tensor) else make_tensor(np.asarray(t))
    if tuple(t.shape) != tuple(x.shape):
        raise RuntimeError(f"{fname}: tangent {k} has shape {tuple(t.shape)} but primal {k} has shape "
                           f"{tuple(x.shape)}; each tangent must have the shape of its primal")
    if t._data.dtype != x._data.dtype:
        from ..ops._util import cast
        t = cast(t, x._data.dtype) if t.requires_grad else make_tensor(t._data.astype(x._data.dtype))
    return t
