"""``dm.func``: derivatives as function transforms (torch.func, with what JAX users expect).

``grad(f)`` is a new function that returns the gradient of ``f``; transforms
compose, so ``grad(grad(f))`` is the second derivative and
``jacfwd(jacrev(f))`` the Hessian::

    >>> import dlmath as dm
    >>> f = lambda x: (x ** 3).sum()
    >>> dm.func.grad(f)(dm.tensor([1.0, 2.0]))
    tensor([ 3., 12.])
    >>> dm.func.hessian(f)(dm.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])

Functions take Tensors or NumPy arrays, and tuples, lists and dicts of them
(pytrees). Tensors in give Tensors out; NumPy arrays in (and no Tensors) give
arrays out, as HIPS autograd and JAX users expect. ``jacrev`` pushes all the rows of the
Jacobian through the graph at once (a batch of cotangents carried as one
leading dim through every vjp rule), ``jacfwd`` all the columns through one
forward pass (a batch of tangents), so an n x n Jacobian costs one batched
pass of NumPy calls, not n Python passes.

``vmap`` is a loop over the mapped dim (documented; correctness first),
except for the ``vjp_fn`` returned by :func:`vjp`, which it batches.
"""
from __future__ import annotations

import functools

import numpy as np

from .. import _grad_mode
from ..autograd.node import make_tensor
from ..tensor import Tensor
from ._core import Forward, Reverse, as_tensor, cotangent, state, tangent_tensor
from ._tree import tree_flatten, tree_map, tree_unflatten
from ._module import functional_call, stack_module_state

_grad_state = _grad_mode.state

__all__ = ["grad", "grad_and_value", "value_and_grad", "vjp", "jvp", "jacrev", "jacfwd", "jacobian",
           "hessian", "hvp", "vmap", "numerical_grad", "tree_flatten", "tree_unflatten", "tree_map",
           "functional_call", "stack_module_state"]


# --- reshaping helpers (on Tensors when they carry a graph, else on arrays) ---------------
def _raw(t):
    return not t.requires_grad and not t._tangent


def _reshape(t, shape):
    if _raw(t):
        return make_tensor(np.ascontiguousarray(t._data).reshape(shape))
    return t.reshape(shape)


def _rows(t, r0, r1, shape):
    """t[r0:r1] (rows of a batched gradient) reshaped to ``shape``."""
    if _raw(t):
        return make_tensor(t._data[r0:r1].reshape(shape))
    return t[r0:r1].reshape(shape)


def _cols(t, c0, c1, out_shape, in_shape):
    """Columns c0:c1 of a batch of tangents (n, *out_shape) as a block out_shape + in_shape."""
    rows = int(np.prod(tuple(out_shape)))
    if _raw(t):
        block = t._data[c0:c1].reshape((c1 - c0, rows)).T
        return make_tensor(np.ascontiguousarray(block).reshape(tuple(out_shape) + tuple(in_shape)))
    block = t[c0:c1].reshape(c1 - c0, rows)
    return block.T.reshape(tuple(out_shape) + tuple(in_shape))


def _zeros(shape, dtype):
    return make_tensor(np.zeros(tuple(shape), dtype))


def _scalar(out, fname):
    if not isinstance(out, Tensor):
        raise RuntimeError(f"{fname}: expected f(*args) to return a scalar Tensor, got {type(out).__name__}")
    if out.ndim != 0:
        raise RuntimeError(
            f"{fname}: expected f(*args) to return a scalar Tensor, got a tensor of shape {tuple(out.shape)}. "
            "The gradient is defined for scalar functions; for a non-scalar output use dm.func.jacrev "
            "(the whole Jacobian) or dm.func.vjp (a vector-Jacobian product).")
    return out


# --- gradients ------------------------------------------------------------------------------
def _grad_parts(f, args, argnums, has_aux, fname):
    run = Reverse(f, args, argnums, has_aux, fname)
    out = _scalar(run.out, fname)
    ones = np.ones((), out._data.dtype)
    grads = run.backward([make_tensor(ones) if run.create else ones])
    return tree_unflatten(run.in_spec, grads), run.value(), run.aux_value()


def grad(func, argnums=0, has_aux=False):
    """The gradient of a scalar function: ``grad(f)(x)`` has the shape of x.

    ``argnums`` (int or tuple) chooses the arguments; with ``has_aux=True``, f
    returns ``(loss, aux)`` and the result is ``(gradient, aux)``.
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, _, aux = _grad_parts(functools.partial(func, **kwargs), args, argnums, has_aux, "grad")
        return (g, aux) if has_aux else g
    return wrapper


def grad_and_value(func, argnums=0, has_aux=False):
    """torch.func.grad_and_value: ``(gradient, value)``, or ``(gradient, (value, aux))``."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, v, aux = _grad_parts(functools.partial(func, **kwargs), args, argnums, has_aux, "grad_and_value")
        return (g, (v, aux)) if has_aux else (g, v)
    return wrapper


def value_and_grad(func, argnums=0, has_aux=False):
    """JAX's order: ``(value, gradient)``, or ``((value, aux), gradient)``."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, v, aux = _grad_parts(functools.partial(func, **kwargs), args, argnums, has_aux, "value_and_grad")
        return ((v, aux), g) if has_aux else (v, g)
    return wrapper


def vjp(func, *primals, has_aux=False):
    """``(output, vjp_fn)``: vjp_fn(v) = v^T J, a tuple with one gradient per primal.

    vjp_fn may be called many times (the graph is kept), and ``vmap(vjp_fn)``
    pushes a whole batch of cotangents through the graph at once.
    """
    run = Reverse(func, primals, tuple(range(len(primals))), has_aux, "vjp")

    def _cots(cotangents):
        leaves, spec = tree_flatten(cotangents)
        if spec != run.out_spec or len(leaves) != len(run.outs):
            raise RuntimeError(f"vjp_fn: expected cotangents with the structure of the output "
                               f"({len(run.outs)} tensors), got {len(leaves)}")
        return leaves

    def _create(leaves):
        return run.create or (_grad_state.enabled and (state.rev_depth > 0 or any(
            isinstance(g, Tensor) and g.requires_grad for g in leaves)))

    def vjp_fn(cotangents):
        leaves = _cots(cotangents)
        create = _create(leaves)
        cots = [cotangent(g, o, create, k) for k, (g, o) in enumerate(zip(leaves, run.outs))]
        grads = run.backward(cots, retain_graph=True, create=create)
        return tuple(tree_unflatten(run.in_spec, grads))

    def batched(cotangents):
        leaves = _cots(cotangents)
        create = _create(leaves)
        cots, batch = [], None
        for k, (g, o) in enumerate(zip(leaves, run.outs)):
            g = g if isinstance(g, Tensor) else make_tensor(np.asarray(g))
            if batch is None:
                batch = tuple(g.shape[:g.ndim - o.ndim])
            if tuple(g.shape) != batch + tuple(o.shape):
                raise RuntimeError(f"vmap(vjp_fn): cotangent {k} has shape {tuple(g.shape)}, expected "
                                   f"{batch + tuple(o.shape)} (the batch, then output {k}'s shape)")
            cots.append(g if create else g._data.astype(o._data.dtype, copy=False))
        grads = run.backward(cots, batch_shape=batch, retain_graph=True, create=create)
        return tuple(tree_unflatten(run.in_spec, grads))

    vjp_fn._dm_batched = batched
    out = run.value()
    return (out, vjp_fn, run.aux_value()) if has_aux else (out, vjp_fn)


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """Forward mode: ``(f(*primals), J @ tangents)`` in one pass (torch.func.jvp).

    primals and tangents are tuples of the same structure and shapes.
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise RuntimeError("jvp: expected primals and tangents to be tuples, e.g. jvp(f, (x,), (v,))")
    if len(primals) != len(tangents):
        raise RuntimeError(f"jvp: got {len(primals)} primals and {len(tangents)} tangents; they must match")
    t_leaves, t_spec = tree_flatten(tuple(tangents))
    if t_spec != tree_flatten(tuple(primals))[1]:
        raise RuntimeError("jvp: expected tangents to have the same structure as primals")

    def make(leaves):
        return [tangent_tensor(t, x, k, "jvp") for k, (t, x) in enumerate(zip(t_leaves, leaves))]
    run = Forward(func, tuple(primals), tuple(range(len(primals))), has_aux, "jvp", make, 0)
    tans = [t if t is not None else _zeros(o.shape, o._data.dtype) for t, o in zip(run.tangents, run.outs)]
    out_t = tree_unflatten(run.out_spec, tans)
    return (run.out, out_t, run.aux) if has_aux else (run.out, out_t)


# --- Jacobians --------------------------------------------------------------------------------
def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None):
    """The Jacobian by reverse mode: ``jacrev(f)(x)`` has shape f(x).shape + x.shape.

    All m rows are pushed through the graph at once (``chunk_size`` rows at a
    time if given): one batched backward pass.
    """
    @functools.wraps(func)
    def wrapper(*args):
        run = Reverse(func, args, argnums, has_aux, "jacrev")
        sizes = [o._data.size for o in run.outs]
        m = sum(sizes)
        if m == 1:   # one row: a plain backward pass
            o = run.outs[0]
            one = np.ones(o._data.shape, o._data.dtype)
            rows = [[_reshape(g, tuple(o.shape) + tuple(x.shape)) for g, x in
                     zip(run.backward([make_tensor(one) if run.create else one]), run.inputs)]]
        else:
            grads = _jacrev_rows(run, sizes, m, chunk_size)
            rows, off = [], 0
            for o, n in zip(run.outs, sizes):
                rows.append([_rows(g, off, off + n, tuple(o.shape) + tuple(x.shape))
                             for g, x in zip(grads, run.inputs)])
                off += n
        jac = tree_unflatten(run.out_spec, [tree_unflatten(run.in_spec, r) for r in rows])
        return (jac, run.aux_value()) if has_aux else jac
    return wrapper


jacobian = jacrev


def _jacrev_rows(run, sizes, m, chunk_size):
    """Gradients of every output element: per input, a (m,) + input shape batch."""
    if m == 0:
        return [_zeros((0,) + tuple(x.shape), x._data.dtype) for x in run.inputs]
    step = m if not chunk_size else int(chunk_size)
    chunks = []
    for r0 in range(0, m, step):
        r1 = min(m, r0 + step)
        cots, off = [], 0
        for o, n in zip(run.outs, sizes):
            basis = _identity_rows(m, r0, r1, o._data.dtype)
            c = basis[:, off:off + n].reshape((r1 - r0,) + o._data.shape)
            cots.append(make_tensor(c) if run.create else c)
            off += n
        last = r1 == m
        grads = run.backward(cots, batch_shape=(r1 - r0,), retain_graph=run.create or not last)
        # a gradient that is the (cached, read-only) basis itself gets its own memory
        chunks.append([make_tensor(g._data.copy()) if not g._data.flags.writeable else g for g in grads])
    if len(chunks) == 1:
        return chunks[0]
    from ..ops.shape import cat
    return [cat([c[j] for c in chunks], 0) for j in range(len(run.inputs))]


_BASES = {}


def _identity_rows(m, r0, r1, dtype):
    """Rows r0:r1 of the m x m identity, read-only. The basis of a jacobian of moderate
    size is cached: allocating (and page-faulting) a fresh m x m array per call cost as
    much as the whole batched backward pass of softmax's 256 x 256 jacobian."""
    key = (m, r0, r1, np.dtype(dtype))
    e = _BASES.get(key)
    if e is None:
        e = np.zeros((r1 - r0, m), dtype)
        e[np.arange(r1 - r0), np.arange(r0, r1)] = 1
        e.flags.writeable = False
        if e.size <= 1 << 20:
            if len(_BASES) >= 8:
                _BASES.pop(next(iter(_BASES)))
            _BASES[key] = e
    return e


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian by forward mode: all n columns in one forward pass of batched tangents."""
    @functools.wraps(func)
    def wrapper(*args):
        layout = []

        def basis(leaves):
            sizes = [x._data.size for x in leaves]
            n, off, out = sum(sizes), 0, []
            for x, s in zip(leaves, sizes):
                e = _identity_rows(n, 0, n, x._data.dtype)[:, off:off + s]
                out.append(make_tensor(e.reshape((n,) + x._data.shape)))
                layout.append((off, off + s))
                off += s
            return out
        run = Forward(func, args, argnums, has_aux, "jacfwd", basis, 1)
        cols = []
        for o, t in zip(run.outs, run.tangents):
            if t is None:
                cols.append([_zeros(tuple(o.shape) + tuple(x.shape), o._data.dtype) for x in run.leaves])
            else:
                cols.append([_cols(t, c0, c1, o.shape, x.shape) for (c0, c1), x in zip(layout, run.leaves)])
        jac = tree_unflatten(run.out_spec, [tree_unflatten(run.in_spec, c) for c in cols])
        return (jac, run.aux) if has_aux else jac
    return wrapper


def hessian(func, argnums=0):
    """The Hessian of a scalar function: forward over reverse, ``jacfwd(jacrev(f))``, as torch.func."""
    return jacfwd(jacrev(func, argnums), argnums)


def hvp(func, primals, tangents):
    """``(f(*primals), H @ tangents)`` without forming H: forward mode over the gradient.

    One primal gives one Hessian-vector product; several give a tuple.
    """
    if not isinstance(primals, (tuple, list)):
        primals, tangents = (primals,), (tangents,)
    nums = tuple(range(len(primals)))

    def grad_and_loss(*p):
        g, v, _ = _grad_parts(func, p, nums, False, "hvp")
        return g, v
    _, hv, value = jvp(grad_and_loss, tuple(primals), tuple(tangents), has_aux=True)
    return value, (hv[0] if len(primals) == 1 else hv)


# --- vmap ------------------------------------------------------------------------------------------
def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Map ``func`` over a dim of its inputs and stack the results (torch.func.vmap).

    A Python loop over the mapped dim (documented; correctness first), except
    for a ``vjp_fn`` from :func:`vjp` with in_dims=out_dims=0, whose batch of
    cotangents goes through the graph in one pass. ``in_dims``: an int or None
    (not mapped) for all arguments, or a tuple with one per argument.
    """
    @functools.wraps(func)
    def wrapper(*args):
        batched = getattr(func, "_dm_batched", None)
        if batched is not None and in_dims == 0 and out_dims == 0 and len(args) == 1:
            return batched(args[0])
        dims = in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap: in_dims has {len(dims)} entries for {len(args)} arguments")
        args = [tree_map(lambda a: as_tensor(a) if isinstance(a, np.ndarray) else a, a) for a in args]
        sizes = set()
        for a, d in zip(args, dims):
            if d is not None:
                for leaf in tree_flatten(a)[0]:
                    sizes.add(leaf.shape[d])
        if not sizes:
            raise ValueError("vmap: at least one argument must be mapped over (all in_dims are None)")
        if len(sizes) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, "
                             f"got sizes {sorted(sizes)} for the mapped dimension")
        n = sizes.pop()
        results = []
        for i in range(n):
            sliced = [a if d is None else tree_map(lambda t, d=d, i=i: t[(slice(None),) * (d % t.ndim) + (i,)], a)
                      for a, d in zip(args, dims)]
            results.append(func(*sliced))
        leaves = [tree_flatten(r)[0] for r in results]
        spec = tree_flatten(results[0])[1]
        from ..ops.shape import stack
        outs = [stack([as_tensor(r[j]) for r in leaves], out_dims if out_dims >= 0 else
                      out_dims + as_tensor(leaves[0][j]).ndim + 1) for j in range(len(leaves[0]))]
        return tree_unflatten(spec, outs)
    return wrapper


# --- the definition of the derivative -------------------------------------------------------
def numerical_grad(func, x, eps=1e-6):
    """Central differences, (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), for each element i.

    Computed in float64 (eps=1e-6 is meaningless in float32); the result has x's
    shape and (floating) dtype. 2 x.numel() evaluations of f: a check, not a method.
    """
    x = as_tensor(x)
    base = x._data.astype(np.float64)
    g = np.empty(base.shape, np.float64)
    with _grad_mode.no_grad():
        for i in range(base.size):
            vals = []
            for step in (eps, -eps):
                xs = base.copy()
                xs.flat[i] += step
                out = func(make_tensor(xs))
                out = out if isinstance(out, Tensor) else as_tensor(np.asarray(out, np.float64))
                if out._data.size != 1:
                    _scalar(out, "numerical_grad")
                vals.append(float(out._data.reshape(())))
            g.flat[i] = (vals[0] - vals[1]) / (2 * eps)
    dtype = x._data.dtype if x._data.dtype.kind == "f" else np.float64
    return make_tensor(g.astype(dtype))


# --- NumPy in, NumPy out ----------------------------------------------------------------------
# The API contract: called with NumPy arrays (and no Tensors), a transform returns
# arrays, as HIPS autograd and JAX users expect; with Tensors it returns Tensors.
# A result that an enclosing transform still differentiates (it requires grad or
# carries a tangent, through a Tensor captured by closure) stays a Tensor.
def _numpy_io(args):
    leaves = tree_flatten(list(args))[0]
    return (any(isinstance(x, np.ndarray) for x in leaves)
            and not any(isinstance(x, Tensor) for x in leaves))


def _to_numpy(tree):
    def convert(x):
        if isinstance(x, Tensor):
            return x if (x.requires_grad or x._tangent is not None) else x._data
        if callable(x):
            return _returning_arrays(x)
        return x
    return tree_map(convert, tree)


def _returning_arrays(fn):
    """A vjp_fn (or similar) whose results come back as arrays."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        return _to_numpy(fn(*args, **kwargs))
    batched = getattr(fn, "_dm_batched", None)
    if batched is not None:
        call._dm_batched = lambda c: _to_numpy(batched(c))
    return call


def _arrays_out_transform(transform):
    @functools.wraps(transform)
    def make(func, *targs, **tkwargs):
        inner = transform(func, *targs, **tkwargs)

        @functools.wraps(inner)
        def call(*args, **kwargs):
            out = inner(*args, **kwargs)
            return _to_numpy(out) if _numpy_io(args) else out
        return call
    return make


def _arrays_out_direct(fn):
    @functools.wraps(fn)
    def call(func, *args, **kwargs):
        out = fn(func, *args, **kwargs)
        return _to_numpy(out) if _numpy_io(args) else out
    return call


grad, grad_and_value, value_and_grad, jacrev, jacfwd, vmap = map(
    _arrays_out_transform, (grad, grad_and_value, value_and_grad, jacrev, jacfwd, vmap))
jacobian = jacrev
vjp, jvp, hvp, numerical_grad = map(_arrays_out_direct, (vjp, jvp, hvp, numerical_grad))
