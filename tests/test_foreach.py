"""dm._foreach_add_ against torch._foreach_add_ (optim.SGD's step: one call per group)."""
import numpy as np
import pytest
import torch

import dlmath as dm


def _pair(shapes, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    arrs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return arrs, [dm.tensor(a) for a in arrs], [torch.tensor(a) for a in arrs]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [1, -0.01, 2.5])
def test_tensor_lists_match_torch(dtype, alpha):
    shapes = [(4, 3), (3,), (), (0, 2)]
    _, xs, txs = _pair(shapes, dtype, 0)
    _, os, tos = _pair(shapes, dtype, 1)
    vers = [x._vc[0] for x in xs]
    r = dm._foreach_add_(xs, os, alpha=alpha)
    torch._foreach_add_(txs, tos, alpha=alpha)
    assert [id(a) for a in r] == [id(a) for a in xs]
    for x, tx, v in zip(xs, txs, vers):
        np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-6, atol=1e-6)
        assert x.dtype == getattr(dm, str(tx.dtype).split(".")[1])
        assert x._vc[0] == v + 1 == tx._version   # bumped once, as one add_


def test_scalar_and_scalar_list():
    _, xs, txs = _pair([(2, 2), (3,)])
    dm._foreach_add_(xs, 2.0)
    torch._foreach_add_(txs, 2.0)
    dm._foreach_add_(xs, [1.0, -3.0])
    torch._foreach_add_(txs, [1.0, -3.0])
    for x, tx in zip(xs, txs):
        np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-6)
        assert x._vc[0] == tx._version == 2


def test_unusual_pairs_fall_back_to_add_():
    # a view (its base sees the write), mixed dtypes, a non-contiguous other, broadcasting
    base = dm.zeros(4, 4)
    tbase = torch.zeros(4, 4)
    xs = [base[1], dm.ones(3, dtype=dm.float64), dm.ones(2, 3), dm.ones(2, 3)]
    txs = [tbase[1], torch.ones(3, dtype=torch.float64), torch.ones(2, 3), torch.ones(2, 3)]
    os = [dm.arange(4.0), dm.arange(3.0), dm.arange(6.0).reshape(3, 2).t(), dm.arange(3.0)]
    tos = [torch.arange(4.0), torch.arange(3.0), torch.arange(6.0).reshape(3, 2).t(), torch.arange(3.0)]
    dm._foreach_add_(xs, os, alpha=0.5)
    torch._foreach_add_(txs, tos, alpha=0.5)
    for x, tx in zip(xs, txs):
        np.testing.assert_allclose(x.numpy(), tx.numpy())
        assert x._vc[0] == tx._version
    np.testing.assert_allclose(base.numpy(), tbase.numpy())
    assert base._vc[0] == tbase._version


def test_grad_mode_leaf_errors_and_no_grad_works():
    w = dm.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        dm._foreach_add_([w], [dm.ones(3)])
    with dm.no_grad():
        dm._foreach_add_([w], [dm.ones(3)], alpha=-0.5)
    np.testing.assert_allclose(w.detach().numpy(), 0.5)
    assert w.requires_grad and w._vc[0] == 1


def test_recorded_when_grad_on():
    # neither is a leaf requiring grad: x is a non-leaf, the add is recorded as add_'s
    a = dm.ones(3, requires_grad=True)
    ta = torch.ones(3, requires_grad=True)
    x, tx = a * 2, ta * 2
    o, to = dm.arange(3.0, requires_grad=True), torch.arange(3.0, requires_grad=True)
    dm._foreach_add_([x], [o], alpha=3.0)
    torch._foreach_add_([tx], [to], alpha=3.0)
    x.sum().backward()
    tx.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy())
    np.testing.assert_allclose(o.grad.numpy(), to.grad.numpy())


def test_errors_as_torch():
    with pytest.raises(RuntimeError, match="at least one tensor"):
        dm._foreach_add_([], [])
    with pytest.raises(RuntimeError, match="same number of tensors"):
        dm._foreach_add_([dm.ones(1), dm.ones(1)], [dm.ones(1)])


def test_sgd_step_matches_torch():
    rng = np.random.default_rng(3)
    ws = [rng.standard_normal(s).astype(np.float32) for s in [(5, 4), (5,), (2, 5)]]
    gs = [rng.standard_normal(w.shape).astype(np.float32) for w in ws]
    for kw in [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
               {"maximize": True}]:
        ps = [dm.tensor(w, requires_grad=True) for w in ws]
        tps = [torch.tensor(w, requires_grad=True) for w in ws]
        opt, topt = dm.optim.SGD(ps, lr=0.1, **kw), torch.optim.SGD(tps, lr=0.1, **kw)
        for _ in range(2):
            for p, tp, g in zip(ps, tps, gs):
                p.grad, tp.grad = dm.tensor(g), torch.tensor(g)
            opt.step()
            topt.step()
        for p, tp in zip(ps, tps):
            np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("how", ["foreach", "add_", "sub_"])
def test_unaligned_memory_is_written(how):
    # f2py copies an unaligned array instead of writing into it: the result is written back
    raw = np.zeros(21, np.uint8)[1:].view(np.float32)
    raw[:] = np.arange(5)
    t = dm.from_numpy(raw)
    with dm.no_grad():
        if how == "foreach":
            dm._foreach_add_([t], [dm.ones(5)], alpha=2.0)
        else:
            getattr(t, how)(dm.ones(5), alpha=2.0 if how == "add_" else -2.0)
    np.testing.assert_array_equal(raw, np.arange(5) + 2.0)
    assert t._version == 1
