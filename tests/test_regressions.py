"""Regressions: small cases where dlmath once differed from PyTorch."""

import numpy as np

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
