"""Regressions: small cases where dlmath once differed from PyTorch."""

import numpy as np
import pytest

from helpers import dm


def test_integer_outputs_of_multi_output_ops_are_leaves(torch):
    for lib in (dm, torch):
        x = lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        values, indices = x.max(dim=1)
        assert values.requires_grad and not values.is_leaf
        assert not indices.requires_grad and indices.is_leaf and indices.grad_fn is None


def test_cast_to_integer_is_a_leaf(torch):
    for lib in (dm, torch):
        x = lib.tensor([1.5, -2.5], requires_grad=True)
        y = x.long()
        assert not y.requires_grad and y.is_leaf and y.grad_fn is None


def test_fully_masked_softmax_row_leaves_no_nan_in_the_input_gradient(torch):
    """where/masked_fill send a true 0 (not g * 0) to the branch not taken."""
    scores = np.array([[0.3, -1.2, 0.5], [1.0, 2.0, -0.5]])
    mask = np.array([[True, True, True], [False, True, False]])
    grads = []
    for lib in (dm, torch):
        x = lib.tensor(scores, requires_grad=True)
        m = lib.tensor(mask)
        attn = x.masked_fill(m, float("-inf")).softmax(-1)
        attn = lib.where(lib.tensor(mask.all(-1, keepdims=True)), 0.0, attn)
        (attn * lib.tensor([[1.0, 2.0, 3.0]], dtype=lib.float64)).sum().backward()
        grads.append(x.grad.numpy())
    assert not np.isnan(grads[0]).any()
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-15)


def test_assignment_through_an_empty_index_list_is_a_no_op(torch):
    for lib in (dm, torch):
        x = lib.ones(3, 2)
        x[[]] = 5.0
        assert x.sum().item() == 6.0


def test_bool_minus_bool_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="(?i)sub"):
        dm.tensor([True]) - dm.tensor([False])


def test_empty_dim_list_reduces_everything_as_torch(torch):
    x = np.arange(6.0).reshape(2, 3)
    for name in ("sum", "mean", "var", "std"):
        got = getattr(dm.tensor(x), name)(dim=())
        want = getattr(torch.tensor(x), name)(dim=())
        np.testing.assert_allclose(got.numpy(), want.numpy())


@pytest.mark.parametrize("expr", [
    "T.tensor([2, 3, 0, 1, -1, -1, -2]) ** T.tensor([-1, -2, -1, -5, -3, -4, 2])",
    "2 ** T.tensor([-1, 2])",
    "(-1) ** T.tensor([-3, -2])",
    "T.tensor([[1], [-1], [2]]) ** T.tensor([-1, -2, 3])",
    "T.tensor([2], dtype=T.int32) ** T.tensor([-1])",
])
def test_integer_tensor_to_negative_integer_tensor_powers(expr, torch):
    """torch truncates 1 / a**n for integer tensors: 0 unless the base is 1 or -1."""
    ours, theirs = eval(expr, {"T": dm}), eval(expr, {"T": torch})
    assert ours.tolist() == theirs.tolist()
    assert str(ours.dtype).replace("dlmath.", "") == str(theirs.dtype).replace("torch.", "")


def test_negative_python_integer_exponent_of_an_integer_tensor_is_refused(torch):
    for lib in (dm, torch):
        with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
            lib.tensor([2, 3]) ** -1


@pytest.mark.parametrize("data", [
    "[np.float64(2.0), 3]", "[np.float32(2.0), 3]", "[np.int32(2), 3]", "[np.int32(2), np.int32(3)]",
    "[[np.float64(1)], [2]]", "[np.float32(2), 3.5]", "[np.float16(1), 2.0]", "(1.5, np.int64(2))",
    "[1 + 2j, np.float32(1)]", "[np.uint8(3), 4]", "[[np.float32(1), 2], [3, np.float64(4)]]",
    "[T.tensor(1.0, dtype=T.float64), 2]", "[T.tensor(1), T.tensor(3)]", "[1, 2.5]", "[True, False]", "[]",
])
def test_tensor_from_a_list_with_numpy_scalars_takes_torchs_dtype(data, torch):
    """NumPy scalars and tensors inside a list keep their dtype in the promotion."""
    ours = dm.tensor(eval(data, {"np": np, "T": dm}))
    theirs = torch.tensor(eval(data, {"np": np, "T": torch}))
    assert str(ours.dtype).replace("dlmath.", "") == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("make", [
    "T.tensor([0.1, 1 / 3], dtype=T.float64)", "T.tensor(0.1, dtype=T.float64)",
    "T.as_tensor([0.1], dtype=T.float64)", "T.zeros(2, dtype=T.float64).copy_(0.1)",
])
def test_float64_literals_are_not_rounded_through_float32(make, torch):
    """With dtype=float64, 0.1 is float64's 0.1, not float32's (found by the program fuzzer)."""
    ours, theirs = eval(make, {"T": dm}), eval(make, {"T": torch})
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.numpy().ravel()[0] == 0.1


def test_fill_and_copy_overwrite_infinities_and_pass_gradient_to_a_tensor_value(torch):
    """fill_/zero_/copy_ are recorded as an overwrite, not old * 0 + value (inf * 0 = NaN);
    fill_ with a 0-d tensor sends it the gradient (found by the program fuzzer)."""
    results = []
    for lib in (dm, torch):
        x = lib.tensor([1000.0, 1.0], dtype=lib.float64, requires_grad=True)
        t = x.exp() * 1
        t.fill_(2.0)
        u = x.log() * 1
        u.zero_()
        w = x.exp() * 1
        w.copy_(x[1:] * 3)
        v = lib.tensor(0.5, dtype=lib.float64, requires_grad=True)
        c = lib.zeros(2, dtype=lib.float64)
        c.fill_(v)
        loss = t.sum() + u.sum() + w.sum() + (c * 3).sum()
        loss.backward()
        assert c.requires_grad
        results.append([t.detach().numpy(), u.detach().numpy(), w.detach().numpy(), x.grad.numpy(), v.grad.numpy()])
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


def test_second_order_formulas_keep_float64(torch):
    """Under create_graph, number constants in backward formulas stay float64: the log of
    a number base, and 1/count for tied maxima (found by the program fuzzer)."""
    results = []
    for lib in (dm, torch):
        x = lib.tensor([1.0, -0.5], dtype=lib.float64, requires_grad=True)
        g, = lib.autograd.grad((0.8 ** x).sum() + (0 ** x.abs()).sum(), [x], create_graph=True)
        z = lib.tensor([1.0, 1.0, 1.0], dtype=lib.float64, requires_grad=True)
        h, = lib.autograd.grad(z.max(), [z], create_graph=True)
        results.append([g.detach().numpy(), h.detach().numpy()])
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


def test_prod_of_a_0d_tensor_has_a_constant_derivative(torch):
    """torch's prod_backward returns the cotangent as it is for a 0-d input (d prod/dx = 1), so
    its gradient does not depend on x: a second derivative is exactly 0, never 0 * NaN (found
    by the differential fuzzer: a NaN cotangent from var of a 0-d tensor made dlmath's NaN)."""
    for lib in (dm, torch):
        for reduce in (lambda x: x.prod(), lambda x: x.prod(0), lambda x: x.prod(0, keepdim=True)):
            x = lib.tensor(1.39, dtype=lib.float64, requires_grad=True)
            g, = lib.autograd.grad(reduce(x), x, create_graph=True)
            assert g.item() == 1.0 and not g.requires_grad
            _, tangent = lib.func.jvp(reduce, (lib.tensor(1.39, dtype=lib.float64),),
                                      (lib.tensor(2.5, dtype=lib.float64),))
            assert tangent.item() == 2.5
    # a 1-element vector still goes through y / x, in both libraries
    for lib in (dm, torch):
        x = lib.tensor([1.39], dtype=lib.float64, requires_grad=True)
        g, = lib.autograd.grad(x.prod(), x, create_graph=True)
        assert g.requires_grad
