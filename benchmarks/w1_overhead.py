"""W1 "op overhead": 32 elementwise ops on 64 float32 values, forward + backward.

Every implementation runs the same chain, repeated 8 times::

    y = y * 1.01; y = y + 0.5; y = tanh(y); y = exp(y)

then reduces with a sum and back-propagates to the input.  tanh keeps the
values bounded, so exp never overflows.  The reported figure is
microseconds per op: (forward + backward time of one iteration) / 32.

Each ``w1_<lib>()`` returns ``(seconds_per_iteration, check)`` where
``check`` is ``sum(d sum(y) / dx)`` from the first iteration; the parent
compares it across libraries.  Libraries are imported inside the functions
so that a child process only loads the library it measures.
"""

from __future__ import annotations

import numpy as np

from timing import as_float, import_dlmath, import_torch, per_iteration

N_ELEMS = 64
N_REPEAT = 8
N_OPS = 4 * N_REPEAT  # 32 elementwise ops per forward pass


def w1_data() -> np.ndarray:
    return np.random.default_rng(0).standard_normal(N_ELEMS).astype(np.float32)


# -- PyTorch and dlmath: literally the same code --------------------------

def _w1_torchlike(T):
    x = T.tensor(w1_data(), requires_grad=True)

    def step():
        y = x
        for _ in range(N_REPEAT):
            y = y * 1.01
            y = y + 0.5
            y = y.tanh()
            y = y.exp()
        y.sum().backward()
        g = x.grad
        x.grad = None
        return g

    check = as_float(step().sum())
    return per_iteration(step), check


def w1_torch():
    return _w1_torchlike(import_torch())


def w1_dlmath():
    return _w1_torchlike(import_dlmath())


# -- NumPy floor: forward + hand-written backward, no framework -----------

def w1_numpy():
    x = w1_data()

    def step():
        y = x
        saved = []
        for _ in range(N_REPEAT):
            y = y * 1.01
            y = y + 0.5
            t = np.tanh(y)
            y = np.exp(t)
            saved.append((t, y))
        y.sum()
        g = np.ones_like(y)
        for t, e in reversed(saved):
            g = g * e                # d exp
            g = g * (1.0 - t * t)    # d tanh
            g = g * 1.01             # d mul; d add is the identity
        return g

    check = float(step().sum())
    return per_iteration(step), check


# -- HIPS autograd: grad of a function ------------------------------------

def w1_autograd():
    import autograd.numpy as anp
    from autograd import grad

    def f(x):
        y = x
        for _ in range(N_REPEAT):
            y = y * 1.01
            y = y + 0.5
            y = anp.tanh(y)
            y = anp.exp(y)
        return anp.sum(y)

    df = grad(f)
    x = w1_data()
    check = float(df(x).sum())
    return per_iteration(lambda: df(x)), check


# -- MyGrad: tensors with .backward() --------------------------------------

def w1_mygrad():
    import mygrad as mg

    x = mg.tensor(w1_data())

    def step():
        y = x
        for _ in range(N_REPEAT):
            y = y * 1.01
            y = y + 0.5
            y = mg.tanh(y)
            y = mg.exp(y)
        y.sum().backward()
        return x.grad

    check = float(step().sum())
    return per_iteration(step), check


# -- JAX, eager: jax.grad without jit ---------------------------------------

def w1_jax():
    import jax
    import jax.numpy as jnp

    def f(x):
        y = x
        for _ in range(N_REPEAT):
            y = y * 1.01
            y = y + 0.5
            y = jnp.tanh(y)
            y = jnp.exp(y)
        return jnp.sum(y)

    df = jax.grad(f)  # deliberately not jitted: op-by-op dispatch
    x = jnp.asarray(w1_data())
    check = float(df(x).sum())
    return per_iteration(lambda: df(x).block_until_ready()), check


FUNCS = {
    "torch": w1_torch,
    "dlmath": w1_dlmath,
    "numpy": w1_numpy,
    "autograd": w1_autograd,
    "mygrad": w1_mygrad,
    "jax": w1_jax,
}
