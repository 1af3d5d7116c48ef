"""Hypothesis: binary ops on every pair (triple, for where) of broadcast-
compatible shapes. Gradients have the shape of their input (the broadcast
is un-reduced) and values, dtypes and gradients match torch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from helpers import Arg, build, compare_with_torch, dm, load_torch, materialize

BINARY = {  # name -> (fn, domains)
    "add": (lambda lib, a, b: a + b, "real"),
    "sub": (lambda lib, a, b: a - b, "real"),
    "mul": (lambda lib, a, b: a * b, "real"),
    "div": (lambda lib, a, b: a / b, ("real", "nonzero")),
    "pow": (lambda lib, a, b: a ** b, ("positive", "real")),
    "maximum": (lambda lib, a, b: lib.maximum(a, b), ("grid", "grid_shift")),
    "minimum": (lambda lib, a, b: lib.minimum(a, b), ("grid", "grid_shift")),
}


def _shapes(num_shapes):
    return mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=0, max_dims=4,
                                         min_side=1, max_side=3)


def _check_gradient_shapes(fn, sample, domains):
    args = build(dm, materialize(sample, "float64", domains))
    fn(dm, *args).sum().backward()
    for a in args:
        if getattr(a, "requires_grad", False):
            assert tuple(a.grad.shape) == tuple(a.shape)


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=_shapes(2), seed=st.integers(0, 2**16), dtype=st.sampled_from(["float64", "float32"]))
def test_binary_broadcasting(name, shapes, seed, dtype):
    torch = load_torch()
    fn, domains = BINARY[name]
    sample = tuple(shapes.input_shapes)
    _check_gradient_shapes(fn, sample, domains)
    compare_with_torch(fn, sample, dtype=dtype, domains=domains, torch=torch, seed=seed)


@given(shapes=_shapes(3), seed=st.integers(0, 2**16))
def test_where_broadcasting(shapes, seed):
    torch = load_torch()
    cond, a, b = shapes.input_shapes
    sample = (Arg(cond, dtype="bool"), a, b)
    fn = lambda lib, c, x, y: lib.where(c, x, y)  # noqa: E731
    _check_gradient_shapes(fn, sample, "real")
    compare_with_torch(fn, sample, domains="real", torch=torch, seed=seed)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])  # maximum: tensors only
@given(shapes=_shapes(2), scalar=st.sampled_from([2, 0.5, -1.5, 3.0]), left=st.booleans())
def test_binary_with_python_scalar(name, shapes, scalar, left):
    """A Python scalar operand keeps the tensor's dtype (float32 stays float32)."""
    torch = load_torch()
    fn, domains = BINARY[name]
    if name == "pow" and left:
        scalar = abs(scalar)  # a negative base to a real power is NaN
    shape = shapes.input_shapes[0]
    sample = (scalar, shape) if left else (shape, scalar)
    compare_with_torch(fn, sample, dtype="float32", domains=domains, torch=torch)


@given(shapes=_shapes(2), seed=st.integers(0, 2**16))
def test_matmul_batch_broadcasting(shapes, seed):
    """Batch dimensions of matmul broadcast like elementwise ops."""
    torch = load_torch()
    batch_a, batch_b = shapes.input_shapes
    rng = np.random.default_rng(seed)
    n, k, m = (int(v) for v in rng.integers(1, 4, 3))
    sample = (tuple(batch_a) + (n, k), tuple(batch_b) + (k, m))
    compare_with_torch(lambda lib, a, b: a @ b, sample, torch=torch, seed=seed)
