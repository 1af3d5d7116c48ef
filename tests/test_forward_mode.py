"""Forward mode and batched rules, generically over every op of op_table.OPS.

* jvp against vjp: <J u, v> = <u, J^T v> for random u, v, and J u against a
  central difference along u;
* batched Jacobians (all rows / columns in one pass) against the row-by-row
  (vjp per basis vector) and column-by-column (jvp per basis vector) results;
* second order through the batched rules on Tensors: jacfwd(jacrev), jacrev(jacrev)
  and jacfwd(jacfwd) of a scalar objective agree, and H u matches differences of gradients.
Then forward mode's own machinery: nesting, dtypes, in-place-free tangents, the hook switch.
"""

import numpy as np
import pytest

from helpers import build, dlmath_only, dm, flatten_outputs, materialize
from op_table import cases

pytestmark = dlmath_only

F = dm.func if hasattr(dm, "func") else None


def _setup(op, sample):
    """f(*differentiable inputs) -> tuple of the floating outputs, and those inputs."""
    args = build(dm, materialize(sample, "float64", op.domain))
    diff = [i for i, a in enumerate(args) if isinstance(a, dm.Tensor) and a.requires_grad]
    prims = [args[i].detach() for i in diff]

    def f(*xs):
        full = list(args)
        for i, x in zip(diff, xs):
            full[i] = x
        return tuple(o for o in flatten_outputs(op.fn(dm, *full)) if o.dtype.kind == "f")
    return f, prims


def _params(predicate):
    triples = cases(lambda o: o.grad and o.fd and predicate(o))
    return pytest.mark.parametrize("op,sample", [(o, s) for _, o, s in triples],
                                   ids=[i for i, _, _ in triples])


def _np(t):
    return t.detach().numpy()


@_params(lambda o: True)
def test_jvp_is_transpose_of_vjp_and_a_directional_derivative(op, sample):
    f, prims = _setup(op, sample)
    rng = np.random.default_rng(1)
    us = [rng.standard_normal(tuple(p.shape)) for p in prims]
    out, jv = F.jvp(f, tuple(prims), tuple(dm.tensor(u) for u in us))
    assert len(out) == len(jv) and all(tuple(t.shape) == tuple(o.shape) for t, o in zip(jv, out))
    vs = [rng.standard_normal(tuple(o.shape)) for o in out]
    _, vjp_fn = F.vjp(f, *prims)
    grads = vjp_fn(tuple(dm.tensor(v) for v in vs))
    lhs = sum(float((_np(t) * v).sum()) for t, v in zip(jv, vs))
    rhs = sum(float((_np(g) * u).sum()) for g, u in zip(grads, us))
    assert np.isclose(lhs, rhs, rtol=1e-9, atol=1e-9), (lhs, rhs)
    eps = 1e-6
    hi = f(*[dm.tensor(p.numpy() + eps * u) for p, u in zip(prims, us)])
    lo = f(*[dm.tensor(p.numpy() - eps * u) for p, u in zip(prims, us)])
    for t, a, b in zip(jv, hi, lo):
        np.testing.assert_allclose(_np(t), (_np(a) - _np(b)) / (2 * eps), rtol=1e-5, atol=1e-6)


def _small(op, sample, limit=60):
    f, prims = _setup(op, sample)
    outs = f(*prims)
    return sum(o.numel() for o in outs) <= limit and sum(p.numel() for p in prims) <= limit


@_params(lambda o: True)
def test_batched_jacobians_equal_row_by_row(op, sample):
    if not _small(op, sample):
        pytest.skip("large sample: covered by the jvp/vjp identity")
    f, prims = _setup(op, sample)
    nums = tuple(range(len(prims)))
    J_rev = F.jacrev(f, argnums=nums)(*prims)
    J_fwd = F.jacfwd(f, argnums=nums)(*prims)
    outs, vjp_fn = F.vjp(f, *prims)
    for k, o in enumerate(outs):
        rows = [np.zeros((o.numel(),) + tuple(p.shape)) for p in prims]
        for e in range(o.numel()):
            cot = [np.zeros(tuple(q.shape)) for q in outs]
            cot[k].flat[e] = 1
            for r, g in zip(rows, vjp_fn(tuple(dm.tensor(c) for c in cot))):
                r[e] = _np(g)
        for i, p in enumerate(prims):
            want = rows[i].reshape(tuple(o.shape) + tuple(p.shape))
            np.testing.assert_allclose(_np(J_rev[k][i]), want, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(_np(J_fwd[k][i]), want, rtol=1e-9, atol=1e-10)
    for i, p in enumerate(prims):       # columns: one jvp per basis vector
        for e in range(p.numel()):
            ts = [np.zeros(tuple(q.shape)) for q in prims]
            ts[i].flat[e] = 1
            _, col = F.jvp(f, tuple(prims), tuple(dm.tensor(t) for t in ts))
            for k, (o, c) in enumerate(zip(outs, col)):
                got = _np(J_fwd[k][i]).reshape(o.numel(), p.numel())[:, e]
                np.testing.assert_allclose(got, _np(c).reshape(-1), rtol=1e-10, atol=1e-12)


@_params(lambda o: o.twice)
def test_second_order_through_batched_rules(op, sample):
    if not _small(op, sample, limit=60):
        pytest.skip("large sample")
    f, prims = _setup(op, sample)
    rng = np.random.default_rng(2)
    ws = [dm.tensor(rng.standard_normal(tuple(o.shape))) for o in f(*prims)]

    def s(*xs):
        total = dm.tensor(0.0, dtype=dm.float64)
        for o, w in zip(f(*xs), ws):
            total = total + (o * w).sum()
        return total
    nums = tuple(range(len(prims)))
    H_fr = F.jacfwd(F.jacrev(s, argnums=nums), argnums=nums)(*prims)
    H_rr = F.jacrev(F.jacrev(s, argnums=nums), argnums=nums)(*prims)
    H_ff = F.jacfwd(F.jacfwd(s, argnums=nums), argnums=nums)(*prims)
    for i in nums:
        for j in nums:
            np.testing.assert_allclose(_np(H_rr[i][j]), _np(H_fr[i][j]), rtol=1e-8, atol=1e-9)
            np.testing.assert_allclose(_np(H_ff[i][j]), _np(H_fr[i][j]), rtol=1e-8, atol=1e-9)
    us = [rng.standard_normal(tuple(p.shape)) for p in prims]   # H u against differences of gradients
    g = F.grad(s, argnums=nums)
    eps = 1e-5
    hi = g(*[dm.tensor(p.numpy() + eps * u) for p, u in zip(prims, us)])
    lo = g(*[dm.tensor(p.numpy() - eps * u) for p, u in zip(prims, us)])
    for i, p in enumerate(prims):
        Hu = sum(_np(H_fr[i][j]).reshape(p.numel(), us[j].size) @ us[j].reshape(-1) for j in nums)
        fd = (_np(hi[i]) - _np(lo[i])).reshape(-1) / (2 * eps)
        np.testing.assert_allclose(Hu, fd, rtol=1e-4, atol=1e-5)


# --- the machinery -------------------------------------------------------------------------
def test_forward_mode_is_off_outside_transforms():
    from dlmath.autograd import _flags
    x = dm.tensor([1.0, 2.0])
    F.jvp(lambda x: x.exp(), (x,), (dm.ones_like(x),))
    F.jacfwd(lambda x: x.exp())(x)
    assert _flags.forward_levels == 0 and not _flags._forward_hooks
    y = x.exp()
    assert y._tangent is None


def test_jvp_with_tangent_requiring_grad_is_differentiable():
    x = dm.tensor([0.3, -1.2], dtype=dm.float64)
    v = dm.tensor([1.0, 2.0], dtype=dm.float64, requires_grad=True)
    _, jv = F.jvp(lambda x: (x.sin() * x).sum(), (x,), (v,))
    jv.backward()                               # d/dv <grad f, v> = grad f
    np.testing.assert_allclose(v.grad.numpy(), np.cos(x.numpy()) * x.numpy() + np.sin(x.numpy()))


def test_jvp_with_primal_requiring_grad_reverse_over_forward():
    x = dm.tensor([0.3, -1.2], dtype=dm.float64, requires_grad=True)
    v = np.array([1.0, 0.5])
    _, jv = F.jvp(lambda x: (x ** 3).sum(), (x,), (v,))
    jv.backward()                               # d/dx <3x^2, v> = 6 x v
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy() * v)


def test_jvp_keeps_dtypes_and_zero_tangent_outputs():
    x = np.array([1.0, 2.0], dtype=np.float32)
    _, t = F.jvp(lambda x: (x * 2, dm.ones(3)), (x,), (np.ones(2, np.float32),))
    assert t[0].dtype == dm.float32
    np.testing.assert_array_equal(np.asarray(t[1]), np.zeros(3, np.float32))


def test_jvp_through_cast_and_mixed_dtypes():
    x = np.array([1.0, 2.0], dtype=np.float32)
    _, t = F.jvp(lambda x: x.double() * dm.tensor([1.0, 3.0], dtype=dm.float64), (x,), (np.ones(2, np.float32),))
    assert t.dtype == dm.float64
    np.testing.assert_allclose(np.asarray(t), [1.0, 3.0])


def test_jacfwd_of_rowwise_fallback_op():
    from dlmath.autograd.forward import rowwise_jvp  # noqa: F401  (the fallback exists)
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    # linalg ops are not marked batched: the engine and the hook loop per row
    J = F.jacfwd(lambda A: dm.linalg.inv(A))(A)
    J2 = F.jacrev(lambda A: dm.linalg.inv(A))(A)
    Ai = np.linalg.inv(A)
    want = -np.einsum("ik,lj->ijkl", Ai, Ai)
    np.testing.assert_allclose(np.asarray(J), want, atol=1e-12)
    np.testing.assert_allclose(np.asarray(J2), want, atol=1e-12)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", ["svdvals", "pinv", "qr", "eigvalsh"])
def test_ops_without_jvp_rule_get_one_from_their_vjp(name):
    # svd, qr, pinv have no jvp rule: forward mode builds J t from the vjp (row by row)
    A = np.random.default_rng(4).standard_normal((3, 3))
    f = {"svdvals": dm.linalg.svdvals, "pinv": dm.linalg.pinv, "qr": lambda A: dm.linalg.qr(A)[1],
         "eigvalsh": lambda A: dm.linalg.eigvalsh(A + A.mT)}[name]
    np.testing.assert_allclose(np.asarray(F.jacfwd(f)(A)), np.asarray(F.jacrev(f)(A)), atol=1e-10)
    s = lambda A: (f(A) ** 2).sum()
    np.testing.assert_allclose(np.asarray(F.jacfwd(F.jacfwd(s))(A)), np.asarray(F.hessian(s)(A)), atol=1e-8)


def test_nested_forward_levels_mixed_partials():
    # d^2/dx dy of sin(x) * y^2 at (x, y): 2 y cos(x)
    x, y = dm.tensor(0.4, dtype=dm.float64), dm.tensor(1.3, dtype=dm.float64)
    f = lambda x, y: dm.sin(x) * y * y
    dfdx = lambda x, y: F.jvp(lambda x: f(x, y), (x,), (dm.ones_like(x),))[1]
    d2 = F.jvp(lambda y: dfdx(x, y), (y,), (dm.ones_like(y),))[1]
    np.testing.assert_allclose(d2.numpy(), 2 * 1.3 * np.cos(0.4))


def test_in_place_ops_carry_tangents():
    def f(x):
        y = x * 2
        y += x * x
        y[0] = x[1] * 5
        y.mul_(3)
        z = dm.zeros(3, dtype=x.dtype)
        z.copy_(y)
        w = x * 1
        w.fill_(2.0)
        return z + w
    x = np.array([1.0, 2.0, 3.0])
    want = np.array([[0, 15, 0], [0, 18, 0], [0, 0, 24]], dtype=float)
    np.testing.assert_allclose(np.asarray(F.jacfwd(f)(x)), want)
    np.testing.assert_allclose(np.asarray(F.jacrev(f)(x)), want)
    with dm.no_grad():                      # forward mode ignores grad mode, as torch's
        _, t = F.jvp(lambda x: (x * 1).mul_(2), (x,), (np.ones(3),))
    np.testing.assert_allclose(np.asarray(t), 2 * np.ones(3))
