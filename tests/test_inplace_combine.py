"""The in-place combinations optimisers are written with (addcmul_, addcdiv_, lerp_),
against torch: under no_grad (the fast path), recorded, and their checks."""
import numpy as np
import pytest

from helpers import dm, dlmath_only

RNG = np.random.default_rng(3)
A, B, C = (RNG.standard_normal((3, 4)) for _ in range(3))
POS = np.abs(C) + 0.5


def _step(lib, dtype):
    """One Adam-like update, written as torch.optim writes it."""
    t = lambda a: lib.tensor(a, dtype=getattr(lib, dtype))  # noqa: E731
    p, g, m, v = t(A), t(B), t(C), t(POS)
    with lib.no_grad():
        m.lerp_(g, 0.1)
        v.mul_(0.999).addcmul_(g, g, value=0.001)
        p.addcdiv_(m, v.sqrt().add_(1e-8), value=-0.01)
        m.lerp_(g, t(np.full((4,), 0.25)))
        p.addcmul_(g, t(np.ones(4)))
    return [x.numpy() for x in (p, m, v)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_optimiser_step_matches_torch(torch, dtype):
    ours, theirs = _step(dm, dtype), _step(torch, dtype)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-6 if dtype == "float32" else 1e-13)


def test_recorded_in_place_gradients_match_torch(torch):
    grads = []
    for lib in (dm, torch):
        x, e, w = (lib.tensor(a, requires_grad=True) for a in (A, B, np.full((3, 4), 0.3)))
        y = x * 1
        y.lerp_(e, w).addcmul_(x, e, value=2).addcdiv_(x, e.exp())
        (y * y).sum().backward()
        grads.append([t.grad.numpy() for t in (x, e, w)])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("method", ["addcmul_", "addcdiv_", "lerp_"])
def test_each_bumps_the_version_counter(torch, method):
    for lib in (dm, torch):
        x = lib.tensor(A, requires_grad=True)
        y = x.exp()              # exp saves its output: a write to it must be caught
        args = (lib.tensor(B), lib.tensor(POS)) if method != "lerp_" else (lib.tensor(B), 0.5)
        getattr(y, method)(*args)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@pytest.mark.parametrize("case", ["leaf", "shape", "int_addcdiv", "float_into_int"])
def test_bad_input_raises_like_torch(torch, case):
    from helpers import assert_raises_like_torch

    def fn(lib):
        if case == "leaf":
            return lib.ones(3, requires_grad=True).addcmul_(lib.ones(3), lib.ones(3))
        if case == "shape":
            return lib.ones(3).addcmul_(lib.ones(2, 3), lib.ones(3))
        if case == "int_addcdiv":
            return lib.tensor([1, 2]).addcdiv_(lib.tensor([1, 2]), lib.tensor([1, 2]))
        return lib.tensor([1, 2]).addcmul_(lib.tensor([1.5, 2.0]), lib.tensor([1.0, 1.0]))
    assert_raises_like_torch(fn)


@dlmath_only
def test_no_grad_path_writes_into_the_same_memory():
    p = dm.tensor(A)
    before = p.numpy()
    with dm.no_grad():
        p.addcdiv_(dm.tensor(B), dm.tensor(POS), value=-0.1)
    assert p.numpy() is before
    np.testing.assert_allclose(before, A - 0.1 * B / POS)


@dlmath_only
def test_the_in_place_fast_paths_are_wired():
    """``w -= lr * g`` and ``add_(g, alpha=a)`` under no_grad take one NumPy ufunc / one BLAS axpy
    (their tables are filled when the methods are bound; an empty table silently halved W2's speed)."""
    from dlmath import inplace
    from dlmath.ops import binary
    assert inplace._UFUNCS.get(binary.sub) is np.subtract and inplace._AXPY.get("f") is not None


@pytest.mark.parametrize("case", ["int", "bounds", "std", "leaf"])
def test_random_fills_check_like_torch(torch, case):
    from helpers import assert_raises_like_torch

    def fn(lib):
        if case == "int":
            return lib.zeros(3, dtype=lib.long).uniform_()
        if case == "bounds":
            return lib.zeros(3).uniform_(2, 1)
        if case == "std":
            return lib.zeros(3).normal_(0, -1)
        return lib.ones(3, requires_grad=True).normal_()
    assert_raises_like_torch(fn)


def test_random_fill_of_a_recorded_tensor_cuts_its_history(torch):
    grads = []
    for lib in (dm, torch):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        y.uniform_()
        (y * 3).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
