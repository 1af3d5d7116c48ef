"""``gradcheck`` / ``gradgradcheck``: the backward pass against the definition of the derivative.

For every output element, the analytical row of the Jacobian comes from one
plain backward pass (the code ``.backward()`` runs); every column of the
numerical Jacobian from a central difference (f(x + eps e_j) - f(x - eps e_j)) / 2 eps.
They must agree within ``atol + rtol * |numerical|``; on failure the report
names the output, the input, and the worst element with both values.
Use float64 inputs: eps = 1e-6 is below float32's resolution.
"""
from __future__ import annotations

import warnings

import numpy as np

from .node import make_tensor


class GradcheckError(RuntimeError):
    """The analytical and numerical Jacobians disagree (a RuntimeError, as torch's)."""


def _outputs(out):
    from ..tensor import Tensor
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor)]


def _analytical(func, inputs, diff):
    from ..tensor import Tensor
    from .engine import run_backward
    outs = _outputs(func(*inputs))
    jac = []                                  # jac[o][i]: (numel out o, numel input i)
    for o in outs:
        rows = [np.zeros((o._data.size, inputs[i]._data.size)) for i in diff]
        if o.requires_grad and o._data.dtype.kind in "fc":
            for k in range(o._data.size):
                g = np.zeros(o._data.shape, o._data.dtype)
                g.flat[k] = 1
                grads = run_backward([o], [g], retain_graph=True, inputs=[inputs[i] for i in diff],
                                     allow_unused=True)
                for r, gr in zip(rows, grads):
                    if gr is not None:
                        r[k] = (gr._data if isinstance(gr, Tensor) else np.asarray(gr)).reshape(-1)
        jac.append(rows)
    return outs, jac


def _numerical(func, inputs, diff, outs, eps):
    # f runs as it is (grad mode on): it may differentiate inside (gradgradcheck does)
    jac = [[np.zeros((o._data.size, inputs[i]._data.size)) for i in diff] for o in outs]
    for col, i in enumerate(diff):
        x = inputs[i]
        base = x._data
        for j in range(base.size):
            vals = []
            for step in (eps, -eps):
                xs = base.copy()
                xs.flat[j] += step
                args = list(inputs)
                args[i] = make_tensor(xs, x.requires_grad)
                vals.append([o._data.astype(np.float64) for o in _outputs(func(*args))])
            for o, (hi, lo) in enumerate(zip(*vals)):
                jac[o][col][:, j] = ((hi - lo) / (2 * eps)).reshape(-1)
    return jac


def _index(shape, k):
    return tuple(int(v) for v in np.unravel_index(k, shape)) if shape else ()


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **unused):
    """True if ``func``'s analytical gradients match central differences at ``inputs``.

    Checks every Tensor input with ``requires_grad`` against every floating
    output. On a mismatch: GradcheckError (or False with raise_exception=False).
    """
    from ..tensor import Tensor
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of them have requires_grad=True.")
    for i in diff:
        if inputs[i]._data.dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point. "
                          "This check will likely fail if all the inputs are not of double precision.",
                          UserWarning, stacklevel=2)
    outs, analytical = _analytical(func, inputs, diff)
    numerical = _numerical(func, inputs, diff, outs, eps)
    for o, (arow, nrow) in enumerate(zip(analytical, numerical)):
        for col, (a, n) in enumerate(zip(arow, nrow)):
            excess = np.abs(a - n) - (atol + rtol * np.abs(n))
            bad = ~(excess <= 0)              # NaN counts as a failure
            if not bad.any():
                continue
            k = int(np.argmax(np.where(np.isnan(excess), np.inf, excess)))
            r, c = divmod(k, a.shape[1])
            i = diff[col]
            oi, ii = _index(tuple(outs[o].shape), r), _index(tuple(inputs[i].shape), c)
            msg = (f"Jacobian mismatch for output {o} with respect to input {i},\n"
                   f"numerical:\n{n}\nanalytical:\n{a}\n\n"
                   f"worst element: d output{o}{list(oi)} / d input{i}{list(ii)}: analytical {a[r, c]:.6g}, "
                   f"numerical {n[r, c]:.6g}, |difference| {abs(a[r, c] - n[r, c]):.3g} > "
                   f"atol + rtol * |numerical| = {atol + rtol * abs(n[r, c]):.3g} "
                   f"({int(bad.sum())} of {bad.size} elements out of tolerance)")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, **unused):
    """gradcheck of the backward pass itself: second derivatives (``create_graph=True``).

    Checks (inputs, grad_outputs) -> autograd.grad(func(inputs), inputs,
    grad_outputs, create_graph=True); random float64 grad_outputs by default.
    """
    from ..tensor import Tensor
    from .functional_api import grad as autograd_grad
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    n_in = len(inputs)
    outs = [o for o in _outputs(func(*inputs)) if o._data.dtype.kind in "fc"]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(make_tensor(rng.standard_normal(o._data.shape).astype(o._data.dtype), True)
                             for o in outs)
    else:
        grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)

    def first_derivative(*args):
        xs, gos = args[:n_in], args[n_in:]
        ys = [o for o in _outputs(func(*xs)) if o._data.dtype.kind in "fc"]
        pairs = [(y, g) for y, g in zip(ys, gos) if y.requires_grad]
        wrt = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        if not pairs:
            return tuple(x * 0 for x in wrt)
        grads = autograd_grad([y for y, _ in pairs], wrt, [g for _, g in pairs], create_graph=True,
                              allow_unused=True)
        return tuple(g if g is not None else x * 0 for g, x in zip(grads, wrt))
    return gradcheck(first_derivative, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
