"""Generic tests over every op of op_table.OPS.

For each (op, sample): forward, dtype, shape and gradients against torch in
float64 and float32; first derivatives against finite differences (float64);
second derivatives where the op is twice differentiable; gradient shapes.
"""

import pytest

from helpers import Arg, build, compare_with_torch, dm, materialize, \
    numerical_vjp_check, second_order_check
from op_table import cases


def _params(predicate=lambda o: True):
    triples = cases(predicate)
    return pytest.mark.parametrize("op,sample", [(o, s) for _, o, s in triples],
                                   ids=[i for i, _, _ in triples])


def _args(op, sample, dtype="float64"):
    values = materialize(sample, dtype, op.domain)
    if not op.grad:
        values = [(v, False if g else g) for v, g in values]
    return build(dm, values)


def _tolerances(op, dtype):
    return op.tolerances.get(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@_params()
def test_matches_torch(op, sample, dtype, torch):
    if not op.grad:
        sample = tuple(_no_grad(item) for item in sample)
    compare_with_torch(op.fn, sample, dtype=dtype, domains=op.domain, torch=torch,
                       tolerances=_tolerances(op, dtype))


def _no_grad(item):
    if isinstance(item, tuple):
        return Arg(shape=item, grad=False)
    if isinstance(item, Arg):
        return Arg(item.shape, item.domain, item.dtype, item.value, False)
    if hasattr(item, "dtype"):
        return Arg(value=item, grad=False)
    return item


@_params(lambda o: o.grad and o.fd)
def test_finite_differences(op, sample):
    numerical_vjp_check(op.fn, _args(op, sample))


@_params(lambda o: o.grad and o.fd and o.twice)
def test_second_derivatives(op, sample):
    second_order_check(op.fn, _args(op, sample))


@_params(lambda o: o.grad and o.fd)
def test_gradient_shapes(op, sample):
    args = _args(op, sample)
    outs = op.fn(dm, *args)
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    floating = [o for o in outs if o.requires_grad]
    inputs = [a for a in args if getattr(a, "requires_grad", False)]
    assert floating and inputs, "op marked differentiable has no differentiable output"
    loss = floating[0].sum()
    for o in floating[1:]:
        loss = loss + o.sum()
    loss.backward()
    for a in inputs:
        assert a.grad is not None, "leaf input got no gradient"
        assert tuple(a.grad.shape) == tuple(a.shape)
        assert a.grad.dtype == a.dtype
