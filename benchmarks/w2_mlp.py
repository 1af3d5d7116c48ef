"""W2 "MLP step": one SGD step of a 784-512-256-10 ReLU MLP, batch 128, float32.

    logits = relu(relu(x @ W1 + b1) @ W2 + b2) @ W3 + b3
    loss   = -(log_softmax(logits, dim=1)[arange(128), y]).mean()
    backward, then p -= 0.01 * p.grad for every parameter (no optimizer object)

Reported as steps per second.  Each ``w2_<lib>()`` returns
``(seconds_per_step, check)``; ``check`` is ``[loss, sum|dW1|, sum|db1|, ...]``
from the first step (read off the parameter change), compared across
libraries by the parent.
"""

from __future__ import annotations

import numpy as np

from timing import as_float, import_dlmath, import_torch, per_iteration

BATCH, SIZES, LR = 128, (784, 512, 256, 10), 0.01


def w2_data():
    """Return ``x (128, 784) f32, y (128,) int64, [W1, b1, W2, b2, W3, b3] f32``."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], size=BATCH).astype(np.int64)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        params.append((rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32))
        params.append((0.01 * rng.standard_normal(fan_out)).astype(np.float32))
    return x, y, params


def _to_numpy(p) -> np.ndarray:
    for get in (lambda: p.detach().numpy(), lambda: p.numpy(), lambda: np.asarray(p)):
        try:
            return np.array(get(), dtype=np.float64, copy=True)
        except Exception:
            pass
    raise TypeError(f"cannot convert {type(p).__name__} to numpy")


def _check(loss, before, after) -> list[float]:
    """Loss and sum |grad| per parameter, recovered from one SGD update."""
    return [as_float(loss)] + [float(np.abs(b - a).sum() / LR) for b, a in zip(before, after)]


def _first_step(step, get_params):
    before = [_to_numpy(p) for p in get_params()]
    loss = step()
    return _check(loss, before, [_to_numpy(p) for p in get_params()])


# -- PyTorch and dlmath: literally the same code --------------------------

def _w2_torchlike(T):
    xs, ys, ps = w2_data()
    params = [T.tensor(p, requires_grad=True) for p in ps]
    W1, b1, W2, b2, W3, b3 = params
    x, y, rows = T.tensor(xs), T.tensor(ys), T.arange(BATCH)

    def step():
        h = (x @ W1 + b1).relu()
        h = (h @ W2 + b2).relu()
        logits = h @ W3 + b3
        loss = -(logits.log_softmax(dim=1)[rows, y]).mean()
        loss.backward()
        with T.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None
        return loss

    check = _first_step(step, lambda: params)
    return per_iteration(step), check


def w2_torch():
    return _w2_torchlike(import_torch())


def w2_dlmath():
    return _w2_torchlike(import_dlmath())


# -- NumPy floor (benchmarks/numpy_floor.py) --------------------------------

def w2_numpy(as_written=False):
    from numpy_floor import make_step

    x, y, params = w2_data()
    step = make_step(params, x, y, lr=LR, as_written=as_written)
    check = _first_step(step, lambda: params)
    return per_iteration(step), check


def w2_numpy_as_written():
    """The ceiling of a framework running the user code above: no framework costs,
    but the fresh arrays that code asks for (see numpy_floor.make_step)."""
    return w2_numpy(as_written=True)


# -- HIPS autograd: value_and_grad of a function of the parameter list ------

def w2_autograd():
    import autograd.numpy as anp
    from autograd import value_and_grad
    from autograd.scipy.special import logsumexp

    x, y, params = w2_data()
    rows = np.arange(BATCH)

    def loss_fn(params):
        W1, b1, W2, b2, W3, b3 = params
        h = anp.maximum(anp.dot(x, W1) + b1, 0.0)
        h = anp.maximum(anp.dot(h, W2) + b2, 0.0)
        logits = anp.dot(h, W3) + b3
        logp = logits - logsumexp(logits, axis=1, keepdims=True)
        return -anp.mean(logp[rows, y])

    vg = value_and_grad(loss_fn)

    def step():
        loss, grads = vg(params)
        for p, g in zip(params, grads):
            p -= LR * g
        return loss

    check = _first_step(step, lambda: params)
    return per_iteration(step), check


# -- MyGrad: tensors with .backward() ----------------------------------------

def w2_mygrad():
    import mygrad as mg
    from mygrad.nnet import logsoftmax, relu

    x, y, ps = w2_data()
    params = [mg.tensor(p) for p in ps]
    W1, b1, W2, b2, W3, b3 = params
    rows = np.arange(BATCH)

    def step():
        h = relu(mg.matmul(x, W1) + b1)
        h = relu(mg.matmul(h, W2) + b2)
        logits = mg.matmul(h, W3) + b3
        loss = -mg.mean(logsoftmax(logits, axis=1)[rows, y])
        loss.backward()
        for p in params:
            p.data -= LR * p.grad
            p.null_grad()
        return loss

    check = _first_step(step, lambda: [p.data for p in params])
    return per_iteration(step), check


# -- JAX, eager: jax.value_and_grad without jit -----------------------------

def w2_jax():
    import jax
    import jax.numpy as jnp

    xs, ys, ps = w2_data()
    x, y, rows = jnp.asarray(xs), jnp.asarray(ys), jnp.arange(BATCH)
    state = {"params": [jnp.asarray(p) for p in ps]}

    def loss_fn(params):
        W1, b1, W2, b2, W3, b3 = params
        h = jax.nn.relu(x @ W1 + b1)
        h = jax.nn.relu(h @ W2 + b2)
        logits = h @ W3 + b3
        return -jnp.mean(jax.nn.log_softmax(logits, axis=1)[rows, y])

    vg = jax.value_and_grad(loss_fn)  # deliberately not jitted

    def step():
        loss, grads = vg(state["params"])
        state["params"] = [p - LR * g for p, g in zip(state["params"], grads)]
        jax.block_until_ready(state["params"])
        return loss

    check = _first_step(step, lambda: state["params"])
    return per_iteration(step), check


FUNCS = {
    "torch": w2_torch,
    "dlmath": w2_dlmath,
    "numpy": w2_numpy,
    "numpy_as_written": w2_numpy_as_written,
    "autograd": w2_autograd,
    "mygrad": w2_mygrad,
    "jax": w2_jax,
}
