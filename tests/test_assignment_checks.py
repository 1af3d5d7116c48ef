"""Assigning .grad and .requires_grad is checked at the assignment, as torch does (issue #14)."""
import pytest

import dlmath as dm


@pytest.mark.parametrize("value, error, message", [
    (lambda lib: 3, TypeError, "assigned grad expected to be a Tensor or None but got grad of type int"),
    (lambda lib: lib.ones(3), RuntimeError, "attempting to assign a gradient of size '\\[3\\]' to a tensor of size '\\[2, 3\\]'"),
    (lambda lib: lib.ones(2, 3, dtype=lib.float64), RuntimeError, "attempting to assign a gradient with dtype"),
])
def test_a_bad_grad_is_refused_at_the_assignment(torch, value, error, message):
    for lib in (dm, torch):
        x = lib.ones(2, 3, requires_grad=True)
        with pytest.raises(error, match=message):
            x.grad = value(lib)
        assert x.grad is None


def test_a_good_grad_is_kept_and_accumulated_into(torch):
    for lib in (dm, torch):
        x = lib.ones(2, requires_grad=True)
        x.grad = lib.full((2,), 0.5)
        (x * 3).sum().backward()
        assert x.grad.tolist() == [3.5, 3.5]
        del x.grad
        assert x.grad is None


def test_requires_grad_of_a_non_leaf_cannot_be_switched_off(torch):
    for lib in (dm, torch):
        y = lib.ones(2, requires_grad=True) * 2
        with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
            y.requires_grad = False
        with pytest.raises(RuntimeError, match="leaf variables"):
            y.requires_grad = True  # torch refuses even the value it already has
        y.requires_grad_(True)      # ... which the method allows
        with pytest.raises(RuntimeError, match="only Tensors of floating point"):
            lib.ones(2, dtype=lib.int64).requires_grad = True
        leaf = lib.ones(2)
        leaf.requires_grad = True
        assert leaf.requires_grad
