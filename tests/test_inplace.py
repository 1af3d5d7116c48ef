"""In-place operations: values, identity, dtype rules, and autograd safety
(leaves, no_grad updates, version checks on saved tensors), as in PyTorch."""

import numpy as np
import pytest

from helpers import assert_raises_like_torch, dm, dtype_name, to_numpy


def _f64(lib, values, requires_grad=False):
    return lib.tensor(np.asarray(values, dtype=np.float64), dtype=lib.float64,
                      requires_grad=requires_grad)


def same_result_as_torch(scenario, torch):
    """Run ``scenario(lib) -> list of tensors/arrays`` on both libraries."""
    ours, theirs = scenario(dm), scenario(torch)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        a = to_numpy(a) if hasattr(a, "detach") else np.asarray(a)
        b = to_numpy(b) if hasattr(b, "detach") else np.asarray(b)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------- values ----
INPLACE = {  # name -> fn(lib, t) modifying t in place and returning the result
    "iadd": lambda lib, t: _iop(t, "__iadd__", 2.0),
    "isub_tensor": lambda lib, t: _iop(t, "__isub__", _f64(lib, [1.0, 2.0, 3.0])),
    "imul_broadcast": lambda lib, t: _iop(t, "__imul__", _f64(lib, [[2.0], [3.0]])[0]),
    "itruediv": lambda lib, t: _iop(t, "__itruediv__", 4.0),
    "add_": lambda lib, t: t.add_(1.5),
    "add_alpha": lambda lib, t: t.add_(_f64(lib, [1.0, 1.0, 1.0]), alpha=2),
    "add_alpha_broadcast": lambda lib, t: t.add_(_f64(lib, 3.0), alpha=-0.5),
    "sub_alpha": lambda lib, t: t.sub_(_f64(lib, [1.0, -2.0, 0.25]), alpha=0.5),
    "sub_alpha_float32": lambda lib, t: _f32_sub_alpha(lib, t),
    "sub_": lambda lib, t: t.sub_(_f64(lib, [0.5, 0.5, 0.5])),
    "mul_": lambda lib, t: t.mul_(3),
    "div_": lambda lib, t: t.div_(_f64(lib, [1.0, 2.0, 4.0])),
    "zero_": lambda lib, t: t.zero_(),
    "fill_": lambda lib, t: t.fill_(7.5),
    "copy_": lambda lib, t: t.copy_(_f64(lib, [9.0, 8.0, 7.0])),
    "copy_broadcast": lambda lib, t: t.copy_(_f64(lib, 4.0)),
    "clamp_": lambda lib, t: t.clamp_(-0.5, 1.0),
    "clamp_min": lambda lib, t: t.clamp_(min=0.0),
}


def _f32_sub_alpha(lib, t):
    t32 = t.float()
    t32.sub_(lib.tensor([1.0, 2.0, 3.0]), alpha=0.25)
    return t.copy_(t32)


def _iop(t, method, other):
    result = getattr(t, method)(other)
    assert result is t, f"{method} must return the same tensor"
    return result


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_values_and_identity(name, torch):
    def scenario(lib):
        t = _f64(lib, [-1.0, 0.5, 2.0])
        before = id(t)
        out = INPLACE[name](lib, t)
        assert out is t and id(t) == before
        return [t]
    same_result_as_torch(scenario, torch)


def test_augmented_assignment_keeps_identity():
    t = dm.ones(2, 3)
    ident = id(t)
    t += 1
    t -= dm.ones(3)
    t *= 4
    t /= 2
    assert id(t) == ident
    np.testing.assert_array_equal(to_numpy(t), np.full((2, 3), 2.0))
    assert t.dtype == dm.float32


def test_inplace_keeps_dtype():
    t = dm.ones(3)
    t += _f64(dm, [1.0, 2.0, 3.0])  # a float64 operand does not change t's dtype
    i = dm.ones(3, dtype=dm.int64)
    i *= 2
    assert dtype_name(t.dtype) == "float32" and dtype_name(i.dtype) == "int64"
    np.testing.assert_array_equal(to_numpy(t), [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(to_numpy(i), [2, 2, 2])


@pytest.mark.parametrize("name", ["int_iadd_float", "int_idiv", "broadcast_grows_self"])
def test_invalid_inplace_raises_like_torch(name, torch):
    fn = {
        "int_iadd_float": lambda lib: lib.ones(3, dtype=lib.int64).add_(1.5),
        "int_idiv": lambda lib: lib.ones(3, dtype=lib.int64).div_(2),
        "broadcast_grows_self": lambda lib: lib.ones(3).add_(lib.ones(2, 3)),
    }[name]
    assert_raises_like_torch(fn, torch=torch)


def test_setitem_without_grad(torch):
    def scenario(lib):
        t = lib.zeros(3, 4)
        t[1] = 5.0
        t[:, 0] = _f64(lib, [1.0, 2.0, 3.0])  # cast to t's dtype
        t[t > 4] = -1.0
        t[[0, 2], [3, 3]] = 9.0
        t[..., 1:3] += 0.5
        return [t]
    same_result_as_torch(scenario, torch)


def test_inplace_on_basic_view_writes_through(torch):
    def scenario(lib):
        a = lib.zeros(3, 4)
        a[0].fill_(1.0)
        a[:, 1:3].mul_(0).add_(2.0)
        v = a.view(12)
        v[-1] = 7.0
        return [a]
    same_result_as_torch(scenario, torch)


# ----------------------------------------------------------- autograd ----

def test_sgd_update_under_no_grad_keeps_leaf_identity():
    w = _f64(dm, [1.0, 2.0, 3.0], requires_grad=True)
    (w * w).sum().backward()
    ident, grad_before = id(w), to_numpy(w.grad).copy()
    lr = 0.1
    with dm.no_grad():
        w -= lr * w.grad
    assert id(w) == ident and w.is_leaf and w.requires_grad and w.grad_fn is None
    np.testing.assert_allclose(to_numpy(w.grad), grad_before)
    np.testing.assert_allclose(to_numpy(w.detach()), [0.8, 1.6, 2.4])
    w.grad.zero_()
    (w * w).sum().backward()
    np.testing.assert_allclose(to_numpy(w.grad), [1.6, 3.2, 4.8])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_update_with_sub_alpha_as_torch_optim_writes_it(dtype, torch):
    """p.sub_(p.grad, alpha=lr) (torch.optim.SGD's form): in place, the leaf kept."""
    def scenario(lib):
        w = lib.tensor(np.linspace(-1.0, 1.0, 12).reshape(3, 4), dtype=getattr(lib, dtype), requires_grad=True)
        (w * w * w).sum().backward()
        ident = id(w)
        with lib.no_grad():
            w.sub_(w.grad, alpha=0.1)
            w[1].add_(w.grad[1], alpha=2.0)
        assert id(w) == ident and w.is_leaf and w.requires_grad
        return [w.detach().double()]
    same_result_as_torch(scenario, torch)


def test_setitem_on_leaf_under_no_grad():
    w = dm.ones(3, requires_grad=True)
    with dm.no_grad():
        w[0] = 5.0
    assert w.is_leaf and w.requires_grad
    np.testing.assert_allclose(to_numpy(w.detach()), [5.0, 1.0, 1.0])


@pytest.mark.parametrize("name", ["iadd", "add_", "mul_", "zero_", "fill_", "setitem", "clamp_"])
def test_inplace_on_leaf_requiring_grad_raises(name, torch):
    def modify(lib):
        x = lib.ones(3, requires_grad=True)
        if name == "iadd":
            x += 1
        elif name == "setitem":
            x[0] = 5.0
        elif name in ("add_", "mul_"):
            getattr(x, name)(2.0)
        elif name == "fill_":
            x.fill_(2.0)
        else:
            getattr(x, name)() if name == "zero_" else x.clamp_(0, 1)
    assert_raises_like_torch(modify, torch=torch)


SAVED_MODIFIED = {  # each modifies a tensor that backward needs
    "exp_output": lambda lib, x: _bump(x.exp()).sum(),
    "sigmoid_output": lambda lib, x: x.sigmoid().mul_(2).sum(),
    "mul_input": lambda lib, x: _mul_then_bump(lib, x),
    "constant_input_of_mul": lambda lib, x: _bump_constant(lib, x),
    "setitem_on_saved": lambda lib, x: _setitem_saved(x),
}


def _bump(t):
    t.add_(1)
    return t


def _mul_then_bump(lib, x):
    y = x.tanh() * 1
    z = y * y
    y.add_(1)
    return z.sum()


def _bump_constant(lib, x):
    b = lib.ones(3)
    y = x * b
    b.add_(1)
    return y.sum()


def _setitem_saved(x):
    y = x * 1
    z = y.exp() * y
    y[0] = 0.0
    return z.sum()


@pytest.mark.parametrize("name", sorted(SAVED_MODIFIED))
def test_modifying_tensor_saved_for_backward_raises_at_backward(name, torch):
    def run(lib):
        x = lib.ones(3, requires_grad=True)
        loss = SAVED_MODIFIED[name](lib, x)  # the forward itself succeeds
        loss.backward()
    assert_raises_like_torch(run, torch=torch)


NON_LEAF_OK = {  # in-place on a non-leaf whose old value backward does not need
    "add_after_mul": lambda lib, x: _bump(x * 2).sum(),
    "setitem_then_square": lambda lib, x: _set0(x * 2).pow(2).sum(),
    "setitem_grad_to_value": lambda lib, x: _set_from(lib, x),
    "mask_assign": lambda lib, x: _mask_zero(x * 3).sum(),
    "clamp_inplace": lambda lib, x: (x * 1).clamp_(0.0, 1.5).sum(),
    "copy_from_graph": lambda lib, x: _copy_graph(lib, x),
    "chain_of_inplace": lambda lib, x: (x * 2).add_(1).mul_(3).div_(2).sub_(x).sum(),
    "iadd_on_result": lambda lib, x: _iadd(x.sin() * 2, x).sum(),
}


def _set0(y):
    y[0] = 0.0
    return y


def _set_from(lib, x):
    y = x * 1
    y[1] = (x[0] * x[2]).exp()
    return (y * y).sum()


def _mask_zero(y):
    y[y > 3.5] = 0.0
    return y


def _copy_graph(lib, x):
    y = lib.zeros(3, dtype=lib.float64)
    y.copy_(x.exp())
    return (y * x).sum()


def _iadd(y, x):
    y += x * x
    return y


def _loss_and_grad(make_loss):
    """A scenario for same_result_as_torch: ``make_loss(lib, x)``, its value and x.grad."""
    def scenario(lib):
        x = _f64(lib, [0.5, 1.5, -1.0], requires_grad=True)
        loss = make_loss(lib, x)
        loss.backward()
        return [loss, x.grad]
    return scenario


@pytest.mark.parametrize("name", sorted(NON_LEAF_OK))
def test_inplace_on_non_leaf_gives_torch_gradient(name, torch):
    same_result_as_torch(_loss_and_grad(NON_LEAF_OK[name]), torch)


def test_setitem_value_receives_gradient(torch):
    def scenario(lib):
        x = _f64(lib, [1.0, 1.0, 1.0], requires_grad=True)
        v = _f64(lib, 2.0, requires_grad=True)
        y = x * 1
        y[1] = v
        (y * y).sum().backward()
        return [x.grad, v.grad]
    same_result_as_torch(scenario, torch)


def test_inplace_result_requires_grad_after_assigning_graph_value():
    x = dm.ones(3, requires_grad=True)
    y = dm.zeros(3)
    y[0] = x[0] * 2
    assert y.requires_grad and not y.is_leaf
    y.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [2.0, 0.0, 0.0])


# ------------------------------------------ history across an in-place write ----
def _used_before(lib, x):
    h = x * 1
    y = h * 2          # recorded before the write: its gradient goes to the old h
    h.mul_(3)
    return y.sum() + h.sum()


def _view_used_before(lib, x):
    h = x * 1
    w = h[0:2]
    y = w * 2
    h[0] = 5.0
    return (h * 1).sum() + y.sum()


def _view_used_after(lib, x):
    h = x * 1
    w = h[0:2]         # made before the write, used after: sees the new h[0]
    h[0] = 5.0
    return (w * w).sum()


def _chained_view_used_after(lib, x):
    h = (x * 1).reshape(3, 1).expand(3, 2)
    w = h.T[:, 1:]
    h2 = x.reshape(3, 1) * 1
    w2 = h2.T
    h2.mul_(x.reshape(3, 1))
    return (w * w).sum() + (w2 * 3).sum()


def _before_and_after(lib, x):
    h = x * 2
    a = (h * 3).sum()
    h.add_(1)
    b = (h * h).sum()
    return a + b


def _rebased_twice(lib, x):
    h = x * 1
    y1 = h * 5
    h.mul_(2)
    y2 = (h * 2).exp()
    h.add_(x)
    return y1.sum() + y2.sum() + (h * x).sum()


HISTORY = {
    "consumer recorded before the write": _used_before,
    "view consumer recorded before the write": _view_used_before,
    "view used after a write to its base": _view_used_after,
    "view of a view used after a write": _chained_view_used_after,
    "consumers before and after": _before_and_after,
    "two writes, consumers between": _rebased_twice,
}


@pytest.mark.parametrize("name", sorted(HISTORY))
def test_each_consumer_differentiates_the_value_it_saw(name, torch):
    """A node recorded before an in-place write keeps its edge to the old history;
    a view used after a write to its base follows the new one (torch's view regeneration)."""
    same_result_as_torch(_loss_and_grad(HISTORY[name]), torch)


def test_history_is_the_same_through_autograd_grad_with_create_graph(torch):
    def scenario(lib):
        x = _f64(lib, [0.5, 1.5, -1.0], requires_grad=True)
        h = x * x
        y = h * 2
        h.mul_(3)
        g, = lib.autograd.grad((y * x).sum() + h.sum(), [x], create_graph=True)
        g2, = lib.autograd.grad(g.sum(), [x])
        return [g, g2]
    same_result_as_torch(scenario, torch)
