"""Creation functions, default dtype, dtype promotion (exactly PyTorch's),
conversion to NumPy/Python, repr, and which dtypes may require grad.

dlmath's dtypes are dm.dtype objects that print as torch's (dlmath.float32) and stand
in for their NumPy dtypes (dm.float32 == np.dtype('float32')); dtypes are compared with
torch's by name (helpers.dtype_name).
"""
import copy
import pickle

import numpy as np
import pytest

from helpers import assert_raises_like_torch, dlmath_only, dm, dtype_name, to_numpy

PUBLIC_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
                 "complex64", "complex128", "half", "float", "double", "short", "int", "long", "cfloat",
                 "cdouble"]


@dlmath_only
def test_dtypes_stand_in_for_numpy_dtypes():
    assert dm.float32 == np.dtype("float32") and np.dtype("float64") == dm.float64
    assert dm.int64 == np.int64 and dm.int32 == "int32" and dm.bool == np.dtype("bool")
    assert hash(dm.float32) == hash(np.dtype("float32"))
    assert {np.dtype("float32"): "x"}[dm.float32] == "x" and dm.float16 in {np.dtype("float16")}
    assert np.zeros(2, dm.float16).dtype == np.float16 and np.ones(2).astype(dm.int8).dtype == np.int8
    assert dm.float32 != dm.float64 and dm.float64 != None and dm.float32 != "float64"  # noqa: E711
    assert dm.float32.kind == "f" and dm.int64.name == "int64" and dm.float64.itemsize == 8
    assert not hasattr(dm.float32, "shape") and not hasattr(dm.float32, "ndim")   # no array look-alike


@pytest.mark.parametrize("name", PUBLIC_DTYPES)
def test_dtype_prints_and_answers_as_torch(name, torch):
    ours, theirs = getattr(dm, name), getattr(torch, name)
    assert isinstance(ours, dm.dtype)
    assert str(ours) == repr(ours) == str(theirs).replace("torch.", "dlmath.")
    for attr in ("is_floating_point", "is_complex", "is_signed", "itemsize"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert str(ours.to_real()) == str(theirs.to_real()).replace("torch.", "dlmath.")
    if ours.is_floating_point and ours != dm.float16:
        assert str(ours.to_complex()) == str(theirs.to_complex()).replace("torch.", "dlmath.")


@dlmath_only
@pytest.mark.parametrize("name", PUBLIC_DTYPES)
def test_a_tensors_dtype_is_the_public_object(name):
    d = getattr(dm, name)
    t = dm.zeros(2, dtype=d)
    assert t.dtype is d and (t + t).dtype is d and t.numpy().dtype == d
    assert pickle.loads(pickle.dumps(d)) is d and copy.deepcopy(d) is d and copy.copy(d) is d


@dlmath_only
def test_functions_that_return_dtypes_return_the_public_objects():
    assert dm.get_default_dtype() is dm.float32
    assert dm.promote_types(dm.int64, dm.float16) is dm.float16
    assert dm.result_type(dm.ones(2), 2.0) is dm.float32
    assert dm.tensor([1, 2]).to(dm.tensor(1.0)).dtype is dm.float32
    assert dm.from_numpy(np.zeros(2, np.uint16)).dtype == np.uint16   # beyond torch's names: made on demand
    assert str(dm.from_numpy(np.zeros(2, np.uint16)).dtype) == "dlmath.uint16"


def test_printing_a_dtype_reads_as_torch(torch):
    for lib, prefix in ((dm, "dlmath"), (torch, "torch")):
        x = lib.tensor([1.0, 2.0])
        assert f"{x.dtype} {x.long().dtype} {x.double().dtype}" == \
            f"{prefix}.float32 {prefix}.int64 {prefix}.float64"


# ------------------------------------------------------------ creation ----
CREATION = {  # name -> (fn(lib), expected dtype name, expected shape)
    "tensor_float_list": (lambda lib: lib.tensor([1.0, 2.0]), "float32", (2,)),
    "tensor_int_list": (lambda lib: lib.tensor([1, 2]), "int64", (2,)),
    "tensor_mixed_list": (lambda lib: lib.tensor([1, 2.0]), "float32", (2,)),
    "tensor_bool": (lambda lib: lib.tensor(True), "bool", ()),
    "tensor_int_scalar": (lambda lib: lib.tensor(3), "int64", ()),
    "tensor_float_scalar": (lambda lib: lib.tensor(3.0), "float32", ()),
    "tensor_nested_dtype": (lambda lib: lib.tensor([[1, 2], [3, 4]], dtype=lib.float64),
                            "float64", (2, 2)),
    "tensor_numpy_f64_keeps": (lambda lib: lib.tensor(np.array([1.0])), "float64", (1,)),
    "tensor_numpy_i32_keeps": (lambda lib: lib.tensor(np.array([1, 2], dtype=np.int32)),
                               "int32", (2,)),
    "as_tensor_list": (lambda lib: lib.as_tensor([1, 2]), "int64", (2,)),
    "as_tensor_numpy": (lambda lib: lib.as_tensor(np.ones((2, 3), np.float32)), "float32", (2, 3)),
    "from_numpy": (lambda lib: lib.from_numpy(np.ones(3)), "float64", (3,)),
    "zeros_varargs": (lambda lib: lib.zeros(2, 3), "float32", (2, 3)),
    "zeros_tuple": (lambda lib: lib.zeros((2, 3)), "float32", (2, 3)),
    "zeros_list": (lambda lib: lib.zeros([4]), "float32", (4,)),
    "zeros_scalar_shape": (lambda lib: lib.zeros(()), "float32", ()),
    "zeros_dtype": (lambda lib: lib.zeros(2, dtype=lib.int64), "int64", (2,)),
    "ones": (lambda lib: lib.ones(3, 1, dtype=lib.float64), "float64", (3, 1)),
    "full_float": (lambda lib: lib.full((2, 3), 1.5), "float32", (2, 3)),
    "full_int": (lambda lib: lib.full((2,), 7), "int64", (2,)),
    "full_bool": (lambda lib: lib.full((2,), True), "bool", (2,)),
    "eye": (lambda lib: lib.eye(3), "float32", (3, 3)),
    "eye_rect": (lambda lib: lib.eye(2, 3, dtype=lib.float64), "float64", (2, 3)),
    "arange_int": (lambda lib: lib.arange(5), "int64", (5,)),
    "arange_start_stop": (lambda lib: lib.arange(2, 7), "int64", (5,)),
    "arange_float_step": (lambda lib: lib.arange(0, 1, 0.25), "float32", (4,)),
    "arange_dtype": (lambda lib: lib.arange(5, dtype=lib.float64), "float64", (5,)),
    "linspace": (lambda lib: lib.linspace(0, 1, 5), "float32", (5,)),
    "zeros_like": (lambda lib: lib.zeros_like(lib.ones(2, 3, dtype=lib.int32)), "int32", (2, 3)),
    "ones_like": (lambda lib: lib.ones_like(lib.ones(2, dtype=lib.float64)), "float64", (2,)),
    "ones_like_dtype": (lambda lib: lib.ones_like(lib.ones(2), dtype=lib.int64), "int64", (2,)),
    "full_like": (lambda lib: lib.full_like(lib.ones(2, 2), 2.5), "float32", (2, 2)),
    "full_like_int": (lambda lib: lib.full_like(lib.arange(3), 2.7), "int64", (3,)),
    "rand": (lambda lib: lib.rand(2, 3), "float32", (2, 3)),
    "rand_tuple": (lambda lib: lib.rand((4,)), "float32", (4,)),
    "randn": (lambda lib: lib.randn(2, 3, dtype=lib.float64), "float64", (2, 3)),
    "randint": (lambda lib: lib.randint(0, 10, (3, 4)), "int64", (3, 4)),
    "randint_high_only": (lambda lib: lib.randint(5, (6,)), "int64", (6,)),
}


@pytest.mark.parametrize("name", sorted(CREATION))
def test_creation_dtype_and_shape(name, torch):
    fn, dtype, shape = CREATION[name]
    ours, theirs = fn(dm), fn(torch)
    assert dtype_name(ours.dtype) == dtype_name(theirs.dtype) == dtype
    assert tuple(ours.shape) == tuple(theirs.shape) == shape
    if not name.startswith("rand"):
        np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))


def test_creation_requires_grad():
    for t in (dm.zeros(2, requires_grad=True), dm.ones((2,), requires_grad=True),
              dm.randn(3, requires_grad=True), dm.tensor([1.0], requires_grad=True),
              dm.full((2,), 1.0, requires_grad=True), dm.rand(2, requires_grad=True)):
        assert t.requires_grad and t.is_leaf


def test_random_ranges():
    r = to_numpy(dm.rand(1000))
    assert r.min() >= 0 and r.max() < 1
    k = to_numpy(dm.randint(2, 5, (1000,)))
    assert set(np.unique(k)) == {2, 3, 4}
    n = to_numpy(dm.randn(20000, dtype=dm.float64))
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05


def test_manual_seed_reproducible():
    dm.manual_seed(123)
    a = to_numpy(dm.randn(5))
    dm.manual_seed(123)
    b = to_numpy(dm.randn(5))
    np.testing.assert_array_equal(a, b)


def test_generator_reproducible_and_independent():
    g1 = dm.Generator()
    g1.manual_seed(7)
    a = to_numpy(dm.randn(4, generator=g1))
    g2 = dm.Generator()
    assert g2.manual_seed(7) is g2
    dm.manual_seed(0)
    dm.randn(10)  # the global generator does not affect g2
    b = to_numpy(dm.randn(4, generator=g2))
    np.testing.assert_array_equal(a, b)
    assert to_numpy(dm.rand(3, generator=g2)).shape == (3,)


def test_from_numpy_shares_memory():
    arr = np.zeros(3)
    t = dm.from_numpy(arr)
    arr[0] = 5.0
    assert t[0].item() == 5.0
    back = t.numpy()
    back[1] = 7.0
    assert arr[1] == 7.0


def test_as_tensor_shares_memory_tensor_copies():
    arr = np.zeros(3, dtype=np.float32)
    shared, copied = dm.as_tensor(arr), dm.tensor(arr)
    arr[0] = 1.0
    assert shared[0].item() == 1.0 and copied[0].item() == 0.0


def test_set_default_dtype():
    assert dm.get_default_dtype() == dm.float32
    dm.set_default_dtype(dm.float64)
    try:
        assert dm.get_default_dtype() == dm.float64
        assert dm.tensor([1.0]).dtype == dm.float64
        assert dm.zeros(2).dtype == dm.float64 and dm.randn(2).dtype == dm.float64
        assert dm.arange(0, 1, 0.5).dtype == dm.float64
        assert (dm.tensor([1, 2]) / dm.tensor([2, 2])).dtype == dm.float64
        assert dm.tensor([1, 2]).dtype == dm.int64
        assert (dm.ones(2, dtype=dm.float32) * 2.5).dtype == dm.float32
    finally:
        dm.set_default_dtype(dm.float32)
    assert dm.tensor([1.0]).dtype == dm.float32


# ----------------------------------------------------------- promotion ----
def _t(lib, dtype, values=(1, 2)):
    return lib.tensor(list(values), dtype=getattr(lib, dtype))


PROMOTION = {  # name -> (fn(lib), expected dtype name)
    "f32_times_python_float": (lambda lib: _t(lib, "float32") * 2.5, "float32"),
    "f32_times_np_float64": (lambda lib: _t(lib, "float32") * np.float64(2.0), "float32"),
    "np_float64_times_f32": (lambda lib: np.float64(2.0) * _t(lib, "float32"), "float32"),
    "int_div_int": (lambda lib: _t(lib, "int64") / _t(lib, "int64"), "float32"),
    "int_div_python_int": (lambda lib: _t(lib, "int64") / 2, "float32"),
    "int_times_python_float": (lambda lib: _t(lib, "int64") * 2.5, "float32"),
    "int_times_python_int": (lambda lib: _t(lib, "int64") * 2, "int64"),
    "int32_plus_python_int": (lambda lib: _t(lib, "int32") + 2, "int32"),
    "f32_plus_f64": (lambda lib: _t(lib, "float32") + _t(lib, "float64"), "float64"),
    "f32_plus_0d_f64": (lambda lib: _t(lib, "float32") + lib.tensor(1.0, dtype=lib.float64),
                        "float32"),
    "0d_f64_times_int": (lambda lib: lib.tensor(1.5, dtype=lib.float64) * _t(lib, "int32"),
                         "float64"),
    "0d_int64_plus_int32": (lambda lib: _t(lib, "int32") + lib.tensor(1), "int32"),
    "0d_int_times_f32": (lambda lib: lib.tensor(2) * _t(lib, "float32"), "float32"),
    "int32_plus_int64": (lambda lib: _t(lib, "int32") + _t(lib, "int64"), "int64"),
    "bool_plus_int32": (lambda lib: _t(lib, "bool", (True, False)) + _t(lib, "int32"), "int32"),
    "bool_plus_python_int": (lambda lib: _t(lib, "bool", (True, False)) + 1, "int64"),
    "bool_plus_python_float": (lambda lib: _t(lib, "bool", (True, False)) + 1.5, "float32"),
    "f32_times_python_bool": (lambda lib: _t(lib, "float32") * True, "float32"),
    "int_floordiv_int": (lambda lib: _t(lib, "int64") // 2, "int64"),
    "int_pow_int": (lambda lib: _t(lib, "int64") ** 2, "int64"),
    "int_pow_float": (lambda lib: _t(lib, "int64") ** 0.5, "float32"),
    "compare_f32_f64": (lambda lib: _t(lib, "float32") < _t(lib, "float64"), "bool"),
    "compare_int_scalar": (lambda lib: _t(lib, "int32") == 2, "bool"),
    "where_f32_python_float": (lambda lib: lib.where(_t(lib, "bool", (True, False)),
                                                     _t(lib, "float32"), 0.0), "float32"),
    "sum_int32": (lambda lib: _t(lib, "int32").sum(), "int64"),
    "sum_bool": (lambda lib: _t(lib, "bool", (True, True)).sum(), "int64"),
    "max_int32": (lambda lib: _t(lib, "int32").max(), "int32"),
    "matmul_f32_f32": (lambda lib: _t(lib, "float32") @ _t(lib, "float32"), "float32"),
    "exp_of_int": (lambda lib: _t(lib, "int64").exp(), "float32"),
    "sqrt_of_int": (lambda lib: lib.sqrt(_t(lib, "int32")), "float32"),
    "abs_of_int": (lambda lib: _t(lib, "int32").abs(), "int32"),
    "argmax": (lambda lib: _t(lib, "float32").argmax(), "int64"),
    "to_float64": (lambda lib: _t(lib, "int64").to(lib.float64), "float64"),
    "float_method": (lambda lib: _t(lib, "int64").float(), "float32"),
    "double_method": (lambda lib: _t(lib, "float32").double(), "float64"),
    "long_method": (lambda lib: lib.tensor([1.7, -1.7]).long(), "int64"),
}


@pytest.mark.parametrize("name", sorted(PROMOTION))
def test_promotion_like_torch(name, torch):
    fn, expected = PROMOTION[name]
    ours, theirs = fn(dm), fn(torch)
    assert dtype_name(theirs.dtype) == expected, "the table is wrong about torch"
    assert dtype_name(ours.dtype) == expected
    np.testing.assert_allclose(to_numpy(ours), to_numpy(theirs), rtol=1e-6)


@pytest.mark.parametrize("name", ["int_pow_negative_int", "neg_bool", "mean_of_int"])
def test_invalid_dtype_ops_raise_like_torch(name, torch):
    fn = {"int_pow_negative_int": lambda lib: _t(lib, "int64") ** -1,
          "neg_bool": lambda lib: -_t(lib, "bool", (True, False)),
          "mean_of_int": lambda lib: _t(lib, "int64").mean()}[name]
    assert_raises_like_torch(fn, torch=torch)


# ---------------------------------------------------- conversions, repr ----
def test_numpy_item_tolist():
    t = dm.tensor([[1.5, 2.0], [3.0, 4.0]], dtype=dm.float64)
    arr = t.numpy()
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float64 and arr.shape == (2, 2)
    assert t.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert type(t.tolist()[0][0]) is float
    assert dm.tensor([1, 2]).tolist() == [1, 2] and type(dm.tensor([1]).tolist()[0]) is int
    x = t[0, 0].item()
    assert x == 1.5 and type(x) is float
    assert type(dm.tensor(3).item()) is int and type(dm.tensor(True).item()) is bool
    assert dm.tensor([[2.5]]).item() == 2.5
    assert dm.tensor(2.0).tolist() == 2.0


def test_item_of_many_elements_raises(torch):
    assert_raises_like_torch(lambda lib: lib.tensor([1.0, 2.0]).item(), torch=torch)


def test_numpy_of_tensor_requiring_grad_raises(torch):
    assert_raises_like_torch(lambda lib: lib.ones(2, requires_grad=True).numpy(), torch=torch)
    np.testing.assert_array_equal(dm.ones(2, requires_grad=True).detach().numpy(), [1.0, 1.0])


def test_repr_shows_values_dtype_and_grad_state():
    r = repr(dm.tensor([1.5, 2.5], dtype=dm.float64))
    assert "1.5" in r and "2.5" in r and "float64" in r
    assert "requires_grad=True" in repr(dm.tensor([1.0], requires_grad=True))
    assert "grad_fn" in repr(dm.tensor([1.0], requires_grad=True) * 2)
    assert "requires_grad" not in repr(dm.tensor([1.0]))
    assert "7" in repr(dm.tensor(7)) and "tensor" in repr(dm.tensor(7))


@pytest.mark.parametrize("make", [
    lambda lib: lib.tensor([1, 2], requires_grad=True),
    lambda lib: lib.zeros(2, dtype=lib.int64, requires_grad=True),
    lambda lib: lib.arange(3).requires_grad_(),
], ids=["tensor", "zeros", "requires_grad_"])
def test_integer_tensor_cannot_require_grad(make):
    with pytest.raises(RuntimeError, match="(?i)floating point"):
        make(dm)


def test_float64_stays_float64_through_ops():
    x = dm.randn(3, 3, dtype=dm.float64, requires_grad=True)
    y = (x @ x * 2.0 + 1).exp().sum() / 3
    y.backward()
    assert y.dtype == dm.float64 and x.grad.dtype == dm.float64


def test_float32_stays_float32_through_numpy_heavy_ops():
    """NumPy would promote float32 with a Python float to float64 in places;
    dlmath must not (PyTorch's rule)."""
    x = dm.randn(4, 3, requires_grad=True)
    outs = [x.softmax(-1), x.log_softmax(0), x.var(), x.std(dim=0), x.mean(), x.norm(),
            x.logsumexp(1), x.sigmoid(), x.clamp(-0.5, 0.5), x ** 2.5, 1.5 / (x.abs() + 1),
            dm.where(x > 0, x, 0.0), x.prod(), x.rsqrt()]
    for o in outs:
        assert o.dtype == dm.float32, repr(o)
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype == dm.float32


def test_allclose_isclose_equal():
    a = dm.tensor([1.0, 2.0])
    assert dm.allclose(a, dm.tensor([1.0, 2.0 + 1e-7]))
    assert not dm.allclose(a, dm.tensor([1.0, 2.1]))
    assert dm.isclose(a, dm.tensor([1.0, 3.0])).tolist() == [True, False]
    assert dm.equal(a, dm.tensor([1.0, 2.0]))
    assert not dm.equal(a, dm.tensor([1.0]))
