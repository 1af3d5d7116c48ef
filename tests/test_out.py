"""out= on the everyday functions, against torch: values, dtype, resizing, and torch's errors."""
import warnings

import numpy as np
import pytest

import dlmath as dm

A = np.arange(1.0, 7.0).reshape(2, 3) / 4
B = np.linspace(-1.0, 1.0, 6).reshape(2, 3)

CASES = {
    "add": lambda lib, a, b: (lambda out: lib.add(a, b, alpha=2, out=out)),
    "sub": lambda lib, a, b: (lambda out: lib.sub(a, b, out=out)),
    "mul": lambda lib, a, b: (lambda out: lib.mul(a, b, out=out)),
    "div": lambda lib, a, b: (lambda out: lib.div(a, b + 2, out=out)),
    "pow": lambda lib, a, b: (lambda out: lib.pow(a, 2, out=out)),
    "exp": lambda lib, a, b: (lambda out: lib.exp(a, out=out)),
    "log": lambda lib, a, b: (lambda out: lib.log(a, out=out)),
    "sqrt": lambda lib, a, b: (lambda out: lib.sqrt(a, out=out)),
    "sin": lambda lib, a, b: (lambda out: lib.sin(b, out=out)),
    "tanh": lambda lib, a, b: (lambda out: lib.tanh(b, out=out)),
    "atan": lambda lib, a, b: (lambda out: lib.atan(b, out=out)),
    "abs": lambda lib, a, b: (lambda out: lib.abs(b, out=out)),
    "clamp": lambda lib, a, b: (lambda out: lib.clamp(b, -0.5, 0.5, out=out)),
    "maximum": lambda lib, a, b: (lambda out: lib.maximum(a, b, out=out)),
    "matmul": lambda lib, a, b: (lambda out: lib.matmul(a, b.T, out=out)),
    "mm": lambda lib, a, b: (lambda out: lib.mm(a.T, b, out=out)),
    "sum": lambda lib, a, b: (lambda out: lib.sum(a, 1, out=out)),
    "mean": lambda lib, a, b: (lambda out: lib.mean(a, 0, keepdim=True, out=out)),
    "cumsum": lambda lib, a, b: (lambda out: lib.cumsum(a, 1, out=out)),
    "cat": lambda lib, a, b: (lambda out: lib.cat([a, b], 0, out=out)),
    "stack": lambda lib, a, b: (lambda out: lib.stack([a, b], out=out)),
    "where": lambda lib, a, b: (lambda out: lib.where(b > 0, a, b, out=out)),
}


def _both(torch, name, out_dtype=None):
    results = []
    for lib in (dm, torch):
        a, b = lib.tensor(A), lib.tensor(B)
        call = CASES[name](lib, a, b)
        expected_shape = tuple(call(None).shape)
        out = lib.empty(expected_shape, dtype=getattr(lib, out_dtype or "float64"))
        returned = call(out)
        assert returned is out
        results.append(out)
    return results


@pytest.mark.parametrize("name", sorted(CASES))
def test_out_writes_the_result(torch, name):
    ours, theirs = _both(torch, name)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["add", "exp", "sum", "cumsum", "cat"])
def test_out_of_a_wider_dtype_receives_the_cast_result(torch, name):
    ours, theirs = _both(torch, name, out_dtype="float32")
    assert ours.dtype == dm.float32 and theirs.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_out_of_the_wrong_shape_is_resized_with_torch_warning(torch):
    for lib in (dm, torch):
        out = lib.empty(3, dtype=lib.float64)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.add(lib.tensor(A), 1, out=out)
        assert tuple(out.shape) == (2, 3)
        assert any("was resized since it had shape [3]" in str(w.message) for w in caught)
        quiet = lib.empty(0, dtype=lib.float64)  # an empty out is resized silently
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.add(lib.tensor(A), 1, out=quiet)
        assert tuple(quiet.shape) == (2, 3)


@pytest.mark.parametrize("make, error, message", [
    (lambda lib: lib.add(lib.ones(2), 1, out=lib.empty(2, dtype=lib.int64)), RuntimeError,
     "result type Float can't be cast to the desired output type Long"),
    (lambda lib: lib.add(lib.ones(2, requires_grad=True), 1, out=lib.empty(2)), RuntimeError,
     "add\\(\\): functions with out=... arguments don't support automatic differentiation"),
    (lambda lib: lib.exp(lib.ones(2), out=lib.empty(2, requires_grad=True)), RuntimeError,
     "exp\\(\\): functions with out=... arguments don't support automatic differentiation"),
    (lambda lib: lib.mul(lib.ones(2), lib.ones(2), out=lib.empty(2, dtype=lib.bool)), RuntimeError,
     "can't be cast to the desired output type Bool"),
    (lambda lib: lib.matmul(lib.ones(2, 2), lib.ones(2, 2), out=lib.empty(2, 2, dtype=lib.float64)),
     RuntimeError, "dtype"),
    (lambda lib: lib.abs(lib.ones(2), out=lib.empty(2, dtype=lib.float64)), RuntimeError, "dtype"),
])
def test_out_errors_match_torch(torch, make, error, message):
    for lib in (dm, torch):
        with pytest.raises(error, match=message):
            make(lib)


def test_out_under_no_grad_is_allowed_and_bumps_the_version():
    x = dm.ones(3, requires_grad=True)
    out = dm.empty(3)
    before = out._vc[0]
    with dm.no_grad():
        dm.mul(x, 2, out=out)
    assert out.tolist() == [2.0, 2.0, 2.0] and out._vc[0] > before and not out.requires_grad


def test_out_into_a_view_writes_the_base():
    base = dm.zeros(2, 4)
    dm.add(dm.ones(2, 2), 1, out=base[:, 1:3])
    assert base.tolist() == [[0, 2, 2, 0], [0, 2, 2, 0]]
    with pytest.raises(RuntimeError, match="does not resize views"):
        dm.add(dm.ones(3, 3), 1, out=base[:, 1:3])


def test_methods_take_no_out():
    with pytest.raises(TypeError):
        dm.ones(2).add(1, out=dm.empty(2))
