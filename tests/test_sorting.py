"""sort, argsort, topk, all, any against torch; sort/topk values carry gradients."""
import numpy as np
import pytest

import dlmath as dm
from helpers import compare_with_torch

X = np.array([[3.0, 1.0, 2.0, 1.0], [0.5, -1.0, 4.0, 2.0], [1.0, 1.0, 0.0, -2.0]])


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_sort_matches_torch(torch, dim, descending):
    compare_with_torch(lambda lib, a: lib.sort(a, dim=dim, descending=descending, stable=True).values,
                       [X], torch=torch)
    got = dm.sort(dm.tensor(X), dim=dim, descending=descending).indices.numpy()
    want = torch.sort(torch.tensor(X), dim=dim, descending=descending, stable=True).indices.numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(dm.argsort(dm.tensor(X), dim=dim, descending=descending).numpy(), want)


@pytest.mark.parametrize("largest", [True, False])
def test_topk_values_and_gradient_match_torch(torch, largest):
    x = np.random.default_rng(0).standard_normal((3, 6))
    compare_with_torch(lambda lib, a: lib.topk(a, 3, dim=1, largest=largest).values, [x], torch=torch)


def test_topk_checks_k():
    with pytest.raises(RuntimeError, match="topk"):
        dm.topk(dm.ones(3), 4)


def test_all_any(torch):
    x = np.array([[1, 0, 2], [3, 4, 5]])
    for dim in (None, 0, 1):
        for fn in ("all", "any"):
            got = getattr(dm.tensor(x), fn)() if dim is None else getattr(dm.tensor(x), fn)(dim)
            want = getattr(torch.tensor(x), fn)() if dim is None else getattr(torch.tensor(x), fn)(dim)
            np.testing.assert_array_equal(got.numpy(), want.numpy())
            assert got.dtype == dm.bool


def test_device_and_new_constructors():
    x = dm.ones(2, dtype=dm.float64)
    assert x.device == "cpu" and x.device.type == "cpu"
    assert x.new_zeros(3).dtype == dm.float64 and x.new_zeros(3).shape == (3,)
    assert x.new_ones((2, 2)).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0]
    assert x.new_tensor([1, 2]).dtype == dm.float64


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int8", "uint8"])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_partition_path_matches_the_stable_sort(dtype, largest):
    """For small k topk partitions instead of sorting whole rows; ties must keep the sort's order."""
    import dlmath as dm
    rng = np.random.default_rng(3)
    a = (rng.integers(-4, 5, size=(7, 9, 64)) if dtype[0] in "iu" else rng.standard_normal((7, 9, 64))).astype(dtype)
    if dtype == "int64":
        a[0, 0, 0] = np.iinfo(np.int64).min
    for axis, k in ((2, 5), (0, 0), (2, 8)):
        values, indices = dm.tensor(a).topk(k, dim=axis, largest=largest)
        order = dm.tensor(a).sort(dim=axis, descending=largest, stable=True).indices
        expected = np.take(order.numpy(), np.arange(k), axis=axis)
        np.testing.assert_array_equal(indices.numpy(), expected)
        np.testing.assert_array_equal(values.numpy(), np.take_along_axis(a, expected, axis=axis))
