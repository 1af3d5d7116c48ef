"""Inputs an audit against torch 2.13 found mishandled: grad-mode decorators on generators,
integers that overflow, non-numeric data, impossible sizes, repeated or 0-d dims, and
out-of-range indices.

Where torch raises, dlmath raises the builtin exception type torch does, with a message of
its own naming the op and the value at fault (never NumPy's, never a wrapped result);
where torch succeeds, the results agree.
"""

import datetime
import threading

import numpy as np
import pytest

from helpers import assert_raises_like_torch, dlmath_only, dm, dtype_name, to_numpy


def _same_result(fn, torch):
    """fn(lib) gives the same values and dtype on dlmath and on torch."""
    ours, theirs = fn(dm), fn(torch)
    assert dtype_name(ours.dtype) == dtype_name(theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))


def _message(fn):
    with pytest.raises(Exception) as info:
        fn(dm)
    return str(info.value)


# --------------------------------------------------------------- 1. grad mode ----

def _generator_trace(lib, decorate):
    """What a decorated generator sees at each step, and what its caller sees in between."""
    w = lib.ones(2, requires_grad=True)

    @decorate(lib)
    def gen():
        got = yield (w * 2).requires_grad, lib.is_grad_enabled()
        yield got, (w * 2).requires_grad, lib.is_grad_enabled()
        return "done"

    trace = []
    it = gen()
    trace.append(next(it))
    trace.append(("caller", lib.is_grad_enabled(), (w * 2).requires_grad))
    trace.append(it.send(7))
    with pytest.raises(StopIteration) as stop:
        next(it)
    trace.append(stop.value.value)
    trace.append(("after", lib.is_grad_enabled()))
    return trace


DECORATORS = {
    "no_grad()": lambda lib: lib.no_grad(),
    "no_grad": lambda lib: lib.no_grad,
    "set_grad_enabled(False)": lambda lib: lib.set_grad_enabled(False),
}


@pytest.mark.parametrize("name", sorted(DECORATORS))
def test_grad_mode_decorator_applies_inside_a_generator(name, torch):
    ours = _generator_trace(dm, DECORATORS[name])
    assert ours == _generator_trace(torch, DECORATORS[name])
    assert ours[0] == (False, False)   # the body does not record
    assert ours[1] == ("caller", True, True)   # the caller's mode is back between steps


@pytest.mark.parametrize("bare", [True, False])
def test_enable_grad_decorator_on_a_generator_inside_no_grad(bare, torch):
    def trace(lib):
        w = lib.ones(2, requires_grad=True)
        deco = lib.enable_grad if bare else lib.enable_grad()

        @deco
        def gen():
            yield (w * 2).requires_grad
            yield (w * 2).requires_grad
        with lib.no_grad():
            return list(gen()), lib.is_grad_enabled()
    assert trace(dm) == trace(torch) == ([True, True], False)


def test_bare_decorators_on_functions(torch):
    def trace(lib):
        w = lib.ones(2, requires_grad=True)

        @lib.no_grad
        def off():
            return (w * 2).requires_grad

        @lib.enable_grad
        def on():
            return (w * 2).requires_grad
        with lib.no_grad():
            inside = on()
        return off(), inside, lib.is_grad_enabled(), off.__name__
    assert trace(dm) == trace(torch) == (False, True, True, "off")


def test_generator_throw_and_close_run_under_the_mode(torch):
    def trace(lib):
        seen = []

        @lib.no_grad()
        def gen():
            try:
                yield 1
            except ValueError:
                seen.append(("caught", lib.is_grad_enabled()))
                yield 2
            finally:
                seen.append(("finally", lib.is_grad_enabled()))
        it = gen()
        next(it)
        seen.append(it.throw(ValueError("x")))
        it.close()
        seen.append(lib.is_grad_enabled())
        return seen
    assert trace(dm) == trace(torch) == [("caught", False), 2, ("finally", False), True]


def test_grad_mode_stays_thread_local_with_decorated_generators():
    seen = []

    @dm.no_grad()
    def gen():
        yield dm.is_grad_enabled()

    it = gen()
    assert next(it) is False
    thread = threading.Thread(target=lambda: seen.append(dm.is_grad_enabled()))
    thread.start()
    thread.join()
    assert seen == [True] and dm.is_grad_enabled()


# ------------------------------------------------------- 2. integer overflow ----

OVERFLOW = {  # name -> fn(lib); torch raises
    "int_2_63": lambda lib: lib.tensor([2 ** 63]),
    "int_2_63_scalar": lambda lib: lib.tensor(2 ** 63),
    "int_below_int64": lambda lib: lib.tensor([-2 ** 63 - 1]),
    "int64_max_and_2_63": lambda lib: lib.tensor([2 ** 63 - 1, 2 ** 63]),
    "int_2_64": lambda lib: lib.tensor([[1], [2 ** 64]]),
    "int_2_63_as_int64": lambda lib: lib.tensor([2 ** 63], dtype=lib.int64),
    "as_tensor_2_63": lambda lib: lib.as_tensor([2 ** 63]),
    "int8_300": lambda lib: lib.tensor([300], dtype=lib.int8),
    "int8_300_scalar": lambda lib: lib.tensor(300, dtype=lib.int8),
    "int8_minus_129": lambda lib: lib.tensor([-129], dtype=lib.int8),
    "uint8_256": lambda lib: lib.tensor([256], dtype=lib.uint8),
    "uint8_minus_256": lambda lib: lib.tensor([-256], dtype=lib.uint8),
    "uint8_minus_1_float": lambda lib: lib.tensor([-1.0], dtype=lib.uint8),
    "int32_2_40": lambda lib: lib.tensor([[1, 2 ** 40]], dtype=lib.int32),
    "int8_float_300": lambda lib: lib.tensor([300.0], dtype=lib.int8),
    "int8_127_9": lambda lib: lib.tensor([127.9], dtype=lib.int8),
    "int8_nan": lambda lib: lib.tensor([float("nan")], dtype=lib.int8),
    "int8_inf": lambda lib: lib.tensor([float("inf")], dtype=lib.int8),
    "int64_1e30": lambda lib: lib.tensor([1e30], dtype=lib.int64),
    "int8_numpy_scalar": lambda lib: lib.tensor(np.int64(300), dtype=lib.int8),
    "int8_numpy_scalar_in_list": lambda lib: lib.tensor([np.int64(300)], dtype=lib.int8),
    "int8_tensor_in_list": lambda lib: lib.tensor([lib.tensor(300)], dtype=lib.int8),
    "int8_long_list": lambda lib: lib.tensor(list(range(100)) + [300], dtype=lib.int8),
    "int8_complex": lambda lib: lib.tensor([1 + 2j], dtype=lib.int8),
    "float32_complex": lambda lib: lib.tensor([1j], dtype=lib.float32),
    "as_tensor_int8_300": lambda lib: lib.as_tensor([300], dtype=lib.int8),
    "float_beyond_float64": lambda lib: lib.tensor([2 ** 1100, 1.0]),
    "full_int8_300": lambda lib: lib.full((2,), 300, dtype=lib.int8),
    "full_int8_127_5": lambda lib: lib.full((2,), 127.5, dtype=lib.int8),
    "full_int8_nan": lambda lib: lib.full((2,), float("nan"), dtype=lib.int8),
    "full_2_63": lambda lib: lib.full((2,), 2 ** 63),
    "full_float32_1e300": lambda lib: lib.full((2,), 1e300, dtype=lib.float32),
    "full_float16_1e6": lambda lib: lib.full((2,), 1e6, dtype=lib.float16),
    "full_float32_complex": lambda lib: lib.full((2,), 1j, dtype=lib.float32),
    "full_float32_2_200": lambda lib: lib.full((2,), 2 ** 200, dtype=lib.float32),
    "full_like_uint8_minus_256": lambda lib: lib.full_like(lib.zeros(2, dtype=lib.uint8), -256),
    "full_like_int8_1e30": lambda lib: lib.full_like(lib.zeros(2, dtype=lib.int8), 1e30),
}


@pytest.mark.parametrize("name", sorted(OVERFLOW))
def test_overflow_raises_like_torch(name, torch):
    assert_raises_like_torch(OVERFLOW[name], torch=torch)


@dlmath_only
@pytest.mark.parametrize("fn, words", [
    (OVERFLOW["int8_300"], ("tensor", "300", "int8")),
    (OVERFLOW["int_2_63"], ("tensor", "9223372036854775808", "int64")),
    (OVERFLOW["int64_max_and_2_63"], ("tensor", "9223372036854775808")),
    (OVERFLOW["as_tensor_int8_300"], ("as_tensor", "300", "int8")),
    (OVERFLOW["int8_nan"], ("tensor", "nan", "int8")),
    (OVERFLOW["full_int8_300"], ("full", "300", "int8")),
    (OVERFLOW["full_like_int8_1e30"], ("full_like", "1e+30", "int8")),
])
def test_overflow_message_names_op_value_and_dtype(fn, words):
    message = _message(fn)
    for w in words:
        assert w in message, f"{w!r} not in {message!r}"


FITS = {  # torch accepts these: same values and dtype
    "uint8_minus_1_wraps": lambda lib: lib.tensor([-1, True, -255], dtype=lib.uint8),
    "float_and_2_63": lambda lib: lib.tensor([2 ** 63, 1.5]),
    "float32_2_70": lambda lib: lib.tensor([2 ** 70], dtype=lib.float32),
    "bool_2_70": lambda lib: lib.tensor([2 ** 70, 0], dtype=lib.bool),
    "complex_and_2_63": lambda lib: lib.tensor([2 ** 63, 1j]),
    "float16_1e6_is_inf": lambda lib: lib.tensor([1e6], dtype=lib.float16),
    "int64_extremes": lambda lib: lib.tensor([-2 ** 63, 2 ** 63 - 1]),
    "int8_bounds": lambda lib: lib.tensor([[-128, 127]], dtype=lib.int8),
    "array_wraps": lambda lib: lib.tensor(np.array([300]), dtype=lib.int8),
    "zero_d_array_wraps": lambda lib: lib.tensor(np.array(300), dtype=lib.int8),
    "full_uint8_minus_1": lambda lib: lib.full((2,), -1, dtype=lib.uint8),
    "full_float64_2_63": lambda lib: lib.full((2,), 2 ** 63, dtype=lib.float64),
    "full_int8_true": lambda lib: lib.full((2,), True, dtype=lib.int8),
    "full_float32_inf": lambda lib: lib.full((2,), float("inf"), dtype=lib.float32),
    "empty_list_int8": lambda lib: lib.tensor([], dtype=lib.int8),
    "nested_empty": lambda lib: lib.tensor([[], []]),
    "decimal_as_float": lambda lib: lib.tensor([__import__("decimal").Decimal("1.5")], dtype=lib.float32),
}


@pytest.mark.parametrize("name", sorted(FITS))
def test_values_that_fit_match_torch(name, torch):
    _same_result(FITS[name], torch)


# -------------------------------------------------------- 3. non-numeric data ----

class _Thing:
    pass


NOT_NUMBERS = {
    "str": lambda lib: lib.tensor("abc"),
    "str_with_dtype": lambda lib: lib.tensor("1.0", dtype=lib.float32),
    "bytes": lambda lib: lib.tensor(b"ab"),
    "list_of_str": lambda lib: lib.tensor(["a", "b"]),
    "nested_str": lambda lib: lib.tensor([["a"]]),
    "str_as_int": lambda lib: lib.tensor(["1"], dtype=lib.int64),
    "object": lambda lib: lib.tensor(_Thing()),
    "list_of_objects": lambda lib: lib.tensor([_Thing(), _Thing()]),
    "tuple_of_object": lambda lib: lib.tensor((object(),)),
    "datetime": lambda lib: lib.tensor(datetime.datetime(2024, 1, 1)),
    "list_of_dates": lambda lib: lib.tensor([datetime.date(2024, 1, 1)]),
    "none": lambda lib: lib.tensor(None),
    "none_in_list": lambda lib: lib.tensor([1.0, None]),
    "none_with_dtype": lambda lib: lib.tensor([None], dtype=lib.float32),
    "object_with_int_dtype": lambda lib: lib.tensor([object()], dtype=lib.int64),
    "dict": lambda lib: lib.tensor({1: 2}),
    "set": lambda lib: lib.tensor({1, 2}),
    "decimal": lambda lib: lib.tensor([__import__("decimal").Decimal(1)]),
    "ragged": lambda lib: lib.tensor([[1, 2], [3]]),
    "ragged_longer": lambda lib: lib.tensor([[1, 2], [3, 4, 5]]),
    "ragged_deep": lambda lib: lib.tensor([[[1]], [[1, 2]]]),
    "scalar_where_list": lambda lib: lib.tensor([[1], 2]),
    "list_where_scalar": lambda lib: lib.tensor([1, [2]]),
    "object_array": lambda lib: lib.tensor(np.array([1, 2], dtype=object)),
    "str_array": lambda lib: lib.tensor(np.array(["a", "b"])),
    "datetime_array": lambda lib: lib.tensor(np.array(["2024-01-01"], dtype="datetime64[D]")),
    "timedelta_array": lambda lib: lib.tensor(np.array([1], dtype="timedelta64[s]")),
    "structured_array": lambda lib: lib.tensor(np.zeros(2, dtype=[("a", "i4")])),
    "datetime64_scalar": lambda lib: lib.tensor(np.datetime64("2024-01-01")),
    "object_array_in_list": lambda lib: lib.tensor([np.array([1], dtype=object)]),
    "as_tensor_str": lambda lib: lib.as_tensor("abc"),
    "as_tensor_list_of_str": lambda lib: lib.as_tensor(["a"]),
    "as_tensor_object": lambda lib: lib.as_tensor(_Thing()),
    "as_tensor_object_array": lambda lib: lib.as_tensor(np.array([1, 2], dtype=object)),
    "as_tensor_datetime_array": lambda lib: lib.as_tensor(np.array(["2024-01-01"], dtype="datetime64[D]")),
    "from_numpy_object": lambda lib: lib.from_numpy(np.array([1, 2], dtype=object)),
    "from_numpy_str": lambda lib: lib.from_numpy(np.array(["a"])),
    "from_numpy_datetime": lambda lib: lib.from_numpy(np.array(["2024-01-01"], dtype="datetime64[D]")),
    "from_numpy_longdouble": lambda lib: lib.from_numpy(np.ones(2, dtype=np.longdouble)),
    "from_numpy_big_endian": lambda lib: lib.from_numpy(np.ones(2, dtype=">f4")),
    "from_numpy_list": lambda lib: lib.from_numpy([1.0]),
}


@pytest.mark.parametrize("name", sorted(NOT_NUMBERS))
def test_non_numeric_data_is_refused_like_torch(name, torch):
    assert_raises_like_torch(NOT_NUMBERS[name], torch=torch)


@dlmath_only
@pytest.mark.parametrize("fn, words", [
    (NOT_NUMBERS["str"], ("tensor", "str")),
    (NOT_NUMBERS["list_of_str"], ("tensor", "str")),
    (NOT_NUMBERS["object"], ("tensor", "_Thing")),
    (NOT_NUMBERS["datetime"], ("tensor", "datetime")),
    (NOT_NUMBERS["none_with_dtype"], ("tensor", "NoneType", "float32")),
    (NOT_NUMBERS["ragged"], ("tensor", "length 2", "dim 1")),
    (NOT_NUMBERS["object_array"], ("tensor", "object")),
    (NOT_NUMBERS["datetime_array"], ("tensor", "datetime64")),
    (NOT_NUMBERS["as_tensor_object_array"], ("as_tensor", "object")),
    (NOT_NUMBERS["from_numpy_str"], ("from_numpy", "str")),
    (NOT_NUMBERS["from_numpy_datetime"], ("from_numpy", "datetime64")),
])
def test_non_numeric_message_names_function_and_type(fn, words):
    message = _message(fn)
    for w in words:
        assert w in message, f"{w!r} not in {message!r}"


@dlmath_only
def test_object_array_never_reaches_an_op():
    """Before the audit an object array made a tensor and `t + 1` failed with KeyError: 'O'."""
    with pytest.raises(TypeError):
        dm.as_tensor(np.array([1.0, 2.0], dtype=object))
    with pytest.raises(TypeError):
        dm.from_numpy(np.array(["1", "2"]))


def test_supported_numpy_dtypes_still_convert(torch):
    for name in ("bool", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64",
                 "float16", "float32", "float64", "complex64", "complex128"):
        arr = np.ones(3, dtype=name)
        _same_result(lambda lib: lib.from_numpy(arr), torch)
        _same_result(lambda lib: lib.tensor(arr), torch)


# ------------------------------------------------------------ 4. sizes ----

SIZES = {
    "randperm_negative": lambda lib: lib.randperm(-1),
    "randperm_float": lambda lib: lib.randperm(3.0),
    "randperm_int8_too_long": lambda lib: lib.randperm(200, dtype=lib.int8),
    "randperm_uint8_257": lambda lib: lib.randperm(257, dtype=lib.uint8),
    "randperm_float16_2050": lambda lib: lib.randperm(2050, dtype=lib.float16),
    "randperm_huge": lambda lib: lib.randperm(2 ** 62),
    "randint_negative_size": lambda lib: lib.randint(0, 10, (-1,)),
    "randint_low_equals_high": lambda lib: lib.randint(5, 5, (2,)),
    "randint_low_above_high": lambda lib: lib.randint(5, 3, (2,)),
    "randint_high_zero": lambda lib: lib.randint(0, (2,)),
    "randint_int8_high": lambda lib: lib.randint(0, 300, (2,), dtype=lib.int8),
    "randint_int8_low": lambda lib: lib.randint(-200, 0, (2,), dtype=lib.int8),
    "randint_uint8_negative_low": lambda lib: lib.randint(-1, 3, (2,), dtype=lib.uint8),
    "randint_bool_3": lambda lib: lib.randint(0, 3, (2,), dtype=lib.bool),
    "randint_high_2_63": lambda lib: lib.randint(0, 2 ** 63, (2,)),
    "randint_huge": lambda lib: lib.randint(0, 10, (2 ** 62,)),
    "eye_negative": lambda lib: lib.eye(-1),
    "eye_negative_m": lambda lib: lib.eye(2, -1),
    "eye_float": lambda lib: lib.eye(2.5),
    "eye_huge": lambda lib: lib.eye(2 ** 40),
    "zeros_negative": lambda lib: lib.zeros(-1),
    "zeros_negative_second": lambda lib: lib.zeros(2, -3),
    "ones_negative": lambda lib: lib.ones(-1),
    "empty_negative": lambda lib: lib.empty((2, -1)),
    "full_negative": lambda lib: lib.full((-1,), 1.0),
    "rand_negative": lambda lib: lib.rand(-1),
    "randn_negative": lambda lib: lib.randn(2, -1),
    "zeros_float": lambda lib: lib.zeros(1.5),
    "zeros_str": lambda lib: lib.zeros("a"),
    "zeros_2_62": lambda lib: lib.zeros(2 ** 62),
    "zeros_2_31_squared": lambda lib: lib.zeros(2 ** 31, 2 ** 31),
    "zeros_2_63": lambda lib: lib.zeros(2 ** 63),
    "empty_2_62": lambda lib: lib.empty(2 ** 62),
    "ones_huge": lambda lib: lib.ones(2 ** 40, 2 ** 40),
    "full_huge": lambda lib: lib.full((2 ** 62,), 1.0),
    "rand_huge": lambda lib: lib.rand(2 ** 62),
    "randn_huge": lambda lib: lib.randn(2 ** 31, 2 ** 31),
    "arange_huge": lambda lib: lib.arange(2 ** 62),
    "arange_wrong_sign": lambda lib: lib.arange(5, 0),
    "arange_wrong_sign_step": lambda lib: lib.arange(0, 5, -1),
    "arange_nan": lambda lib: lib.arange(0, float("nan")),
    "arange_inf": lambda lib: lib.arange(0, float("inf")),
    "linspace_negative": lambda lib: lib.linspace(0, 1, -1),
    "logspace_negative": lambda lib: lib.logspace(0, 1, -1),
    "linspace_float_steps": lambda lib: lib.linspace(0, 1, 2.5),
}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_bad_sizes_raise_like_torch(name, torch):
    assert_raises_like_torch(SIZES[name], torch=torch)


@dlmath_only
@pytest.mark.parametrize("name, words", [
    ("randperm_negative", ("randperm", "-1")),
    ("randint_negative_size", ("randint", "-1")),
    ("randint_low_equals_high", ("randint", "5")),
    ("randint_int8_high", ("randint", "299", "int8")),
    ("eye_negative", ("eye", "-1")),
    ("zeros_negative_second", ("zeros", "-3")),
    ("empty_negative", ("empty", "-1")),
    ("full_negative", ("full", "-1")),
    ("zeros_2_62", ("zeros", "4611686018427387904")),
    ("zeros_2_31_squared", ("zeros", "2147483648")),
    ("randn_huge", ("randn", "2147483648")),
    ("randperm_huge", ("randperm", "4611686018427387904")),
    ("arange_wrong_sign", ("arange", "step")),
    ("linspace_negative", ("linspace", "-1")),
])
def test_size_message_names_op_and_value(name, words):
    message = _message(SIZES[name])
    for w in words:
        assert w in message, f"{w!r} not in {message!r}"
    assert "numpy" not in message.lower() and "arr.size" not in message


@dlmath_only
def test_memory_error_from_numpy_becomes_runtime_error():
    from dlmath import creation

    def out_of_memory():
        raise MemoryError("Unable to allocate 4.00 TiB")
    with pytest.raises(RuntimeError) as info:
        creation._alloc("ones", (2 ** 40,), np.float32, out_of_memory)
    assert "ones" in str(info.value) and "4398046511104 bytes" in str(info.value)


def test_valid_sizes_still_work(torch):
    _same_result(lambda lib: lib.zeros(2 ** 40, 0), torch)
    _same_result(lambda lib: lib.zeros(np.int64(2), lib.tensor(3)), torch)
    _same_result(lambda lib: lib.eye(0), torch)
    _same_result(lambda lib: lib.eye(2, 3, dtype=lib.int64), torch)
    _same_result(lambda lib: lib.randperm(0), torch)
    _same_result(lambda lib: lib.arange(0, 0), torch)
    _same_result(lambda lib: lib.arange(5, 0, -2), torch)
    assert dm.randperm(256, dtype=dm.uint8).shape == (256,)
    assert dm.randperm(2049, dtype=dm.float16).shape == (2049,)
    assert dm.randint(0, 256, (3,), dtype=dm.uint8).dtype == dm.uint8
    assert dm.randint(-2 ** 63, 2 ** 63 - 1, (3,)).dtype == dm.int64


# ----------------------------------------------- 5. repeat, flip, 0-d gather ----

SHAPE_ERRORS = {
    "repeat_negative": lambda lib: lib.ones(2).repeat(-1),
    "repeat_negative_second": lambda lib: lib.ones(2).repeat(2, -1),
    "repeat_float": lambda lib: lib.ones(2).repeat(1.5),
    "repeat_huge": lambda lib: lib.ones(2).repeat(2 ** 62),
    "tile_negative": lambda lib: lib.ones(2).tile(-1),
    "reshape_float": lambda lib: lib.ones(4).reshape(2.0, 2),
    "flip_repeated_dim": lambda lib: lib.ones(2, 3).flip((0, 0)),
    "flip_repeated_negative_dim": lambda lib: lib.ones(2, 3).flip((0, -2)),
    "flip_dim_out_of_range": lambda lib: lib.ones(2, 3).flip(2),
    "flip_0d_dim_1": lambda lib: lib.tensor(1.0).flip(1),
    "gather_0d_index_1": lambda lib: lib.tensor(5.0).gather(0, lib.tensor(1)),
    "gather_0d_index_negative": lambda lib: lib.tensor(5.0).gather(0, lib.tensor(-1)),
    "gather_0d_dim_1": lambda lib: lib.tensor(5.0).gather(1, lib.tensor(0)),
    "gather_0d_input_2d_index": lambda lib: lib.tensor(5.0).gather(0, lib.tensor([[0]])),
    "gather_2d_input_0d_index": lambda lib: lib.ones(2, 3).gather(1, lib.tensor(0)),
    "gather_1d_0d_index_out_of_range": lambda lib: lib.ones(2).gather(0, lib.tensor(2)),
    "scatter_add_0d_out_of_range": lambda lib: lib.zeros(()).scatter_add(0, lib.tensor(1), lib.tensor(2.0)),
    "scatter_add_0d_src_too_small": lambda lib: lib.zeros(3).scatter_add(0, lib.tensor([1, 2]), lib.tensor(2.0)),
    "take_along_dim_0d": lambda lib: lib.take_along_dim(lib.tensor(5.0), lib.tensor(0), 0),
}


@pytest.mark.parametrize("name", sorted(SHAPE_ERRORS))
def test_shape_errors_raise_like_torch(name, torch):
    assert_raises_like_torch(SHAPE_ERRORS[name], torch=torch)


@dlmath_only
@pytest.mark.parametrize("name, words", [
    ("repeat_negative", ("repeat", "-1")),
    ("tile_negative", ("tile", "-1")),
    ("repeat_huge", ("repeat", "4611686018427387904")),
    ("flip_repeated_dim", ("flip", "dim 0 appears multiple times")),
    ("flip_repeated_negative_dim", ("flip", "dim 0 appears multiple times")),
])
def test_shape_error_message_names_op_and_value(name, words):
    message = _message(SHAPE_ERRORS[name])
    for w in words:
        assert w in message, f"{w!r} not in {message!r}"


ZERO_D = {
    "flip_0d": lambda lib, x: x.flip(0),
    "flip_0d_negative": lambda lib, x: x.flip(-1),
    "flip_0d_empty": lambda lib, x: x.flip(()),
    "gather_0d_0d": lambda lib, x: x.gather(0, lib.tensor(0)),
    "gather_0d_dim_minus_1": lambda lib, x: x.gather(-1, lib.tensor(0)),
    "gather_0d_1d_index": lambda lib, x: x.gather(0, lib.tensor([0, 0, 0])),
    "gather_0d_empty_index": lambda lib, x: x.gather(0, lib.zeros(0, dtype=lib.int64)),
    "gather_1d_0d_index": lambda lib, x: (x * lib.tensor([1.0, 2.0, 3.0])).gather(0, lib.tensor(2)),
    "scatter_add_0d": lambda lib, x: lib.zeros((), dtype=x.dtype).scatter_add(0, lib.tensor(0), x),
    "scatter_add_0d_input_1d_index": lambda lib, x: lib.zeros((), dtype=x.dtype).scatter_add(
        0, lib.tensor([0, 0]), x * lib.ones(2, dtype=x.dtype)),
    "scatter_add_1d_input_0d_index": lambda lib, x: lib.zeros(3, dtype=x.dtype).scatter_add(
        0, lib.tensor(1), x),
    "scatter_add_into_0d": lambda lib, x: (x * 2).scatter_add(0, lib.tensor([0]), lib.ones(1, dtype=x.dtype)),
    "index_select_0d": lambda lib, x: x.index_select(0, lib.tensor([0])),
    "index_select_0d_index": lambda lib, x: x.index_select(-1, lib.tensor(0)),
}


@pytest.mark.parametrize("name", sorted(ZERO_D))
def test_zero_d_operands_match_torch_with_gradients(name, torch):
    results = []
    for lib in (dm, torch):
        x = lib.tensor(5.0, dtype=lib.float64, requires_grad=True)
        out = ZERO_D[name](lib, x)
        out.sum().backward()
        results.append((out, x.grad))
    (out, grad), (t_out, t_grad) = results
    assert tuple(out.shape) == tuple(t_out.shape)
    np.testing.assert_array_equal(to_numpy(out), to_numpy(t_out))
    np.testing.assert_array_equal(to_numpy(grad), to_numpy(t_grad))


# ---------------------------------------------------- 6. out-of-range indices ----

INDEX_ERRORS = {
    "index_select_negative": lambda lib: lib.arange(3.0).index_select(0, lib.tensor([-1])),
    "index_select_negative_2d_dim0": lambda lib: lib.ones(2, 3).index_select(0, lib.tensor([0, -1])),
    "index_select_negative_3d_last_dim": lambda lib: lib.ones(2, 3, 4).index_select(2, lib.tensor([-1])),
    "index_select_too_large": lambda lib: lib.arange(3.0).index_select(0, lib.tensor([3])),
    "index_select_empty_input": lambda lib: lib.ones(0).index_select(0, lib.tensor([0])),
    "index_select_0d_out_of_range": lambda lib: lib.tensor(5.0).index_select(0, lib.tensor([1])),
    "index_select_0d_negative": lambda lib: lib.tensor(5.0).index_select(0, lib.tensor([-1])),
    "index_select_0d_two_values": lambda lib: lib.tensor(5.0).index_select(0, lib.tensor([0, 0])),
    "index_select_float_index": lambda lib: lib.arange(3.0).index_select(0, lib.tensor([1.0])),
    "index_select_bool_index": lambda lib: lib.arange(3.0).index_select(0, lib.tensor([True])),
    "index_select_int16_index": lambda lib: lib.arange(3.0).index_select(
        0, lib.tensor([1], dtype=lib.int16)),
    "index_select_2d_index": lambda lib: lib.arange(3.0).index_select(0, lib.tensor([[1]])),
    "gather_negative": lambda lib: lib.ones(2, 3).gather(1, lib.tensor([[0, -1], [0, 0]])),
    "gather_too_large": lambda lib: lib.ones(2, 3).gather(1, lib.tensor([[0, 3], [0, 0]])),
    "gather_negative_dim0": lambda lib: lib.ones(2, 3).gather(0, lib.tensor([[-2, 0]])),
    "gather_int16_index": lambda lib: lib.ones(3).gather(0, lib.tensor([0], dtype=lib.int16)),
    "scatter_add_negative": lambda lib: lib.zeros(3).scatter_add(0, lib.tensor([-1]), lib.ones(1)),
    "scatter_add_too_large": lambda lib: lib.zeros(3).scatter_add(0, lib.tensor([3]), lib.ones(1)),
    "scatter_add_negative_dim1": lambda lib: lib.zeros(2, 3).scatter_add(1, lib.tensor([[-1]]), lib.ones(1, 1)),
    "take_along_dim_ndim": lambda lib: lib.take_along_dim(lib.ones(2, 3), lib.tensor([0]), 1),
    "take_along_dim_float": lambda lib: lib.take_along_dim(lib.ones(2, 3), lib.tensor([[0.0]]), 1),
    "take_along_dim_flat_negative": lambda lib: lib.take_along_dim(lib.ones(2, 3), lib.tensor([5, -1])),
}


@pytest.mark.parametrize("name", sorted(INDEX_ERRORS))
def test_out_of_range_indices_raise_like_torch(name, torch):
    assert_raises_like_torch(INDEX_ERRORS[name], torch=torch)


@dlmath_only
@pytest.mark.parametrize("name, words", [
    ("index_select_negative", ("index_select", "-1", "size 3")),
    ("index_select_too_large", ("index_select", "3")),
    ("gather_negative", ("gather", "-1", "size 3")),
    ("scatter_add_negative", ("scatter_add", "-1", "size 3")),
    ("index_select_float_index", ("index_select", "float32")),
])
def test_index_message_names_op_and_index(name, words):
    message = _message(INDEX_ERRORS[name])
    for w in words:
        assert w in message, f"{w!r} not in {message!r}"


@dlmath_only
def test_index_select_on_a_middle_dim_is_index_error():
    """torch 2.13's CPU kernel raises RuntimeError ('INDICES element is out of DATA bounds')
    for some dims and IndexError for others; dlmath raises IndexError for every dim."""
    with pytest.raises(IndexError):
        dm.ones(2, 3, 4).index_select(1, dm.tensor([-1]))


INDEX_OK = {
    "index_select_int32": lambda lib: lib.arange(3.0).index_select(0, lib.tensor([2, 0], dtype=lib.int32)),
    "index_select_empty": lambda lib: lib.arange(3.0).index_select(0, lib.tensor([], dtype=lib.int64)),
    "index_select_dim1": lambda lib: lib.arange(6.0).reshape(2, 3).index_select(1, lib.tensor([2, 0, 2])),
    "take_along_dim_broadcasts_input": lambda lib: lib.take_along_dim(
        lib.arange(6.0).reshape(2, 3), lib.tensor([[0, 1]]), 1),
    "take_along_dim_broadcasts_both": lambda lib: lib.take_along_dim(
        lib.arange(6.0).reshape(2, 3, 1), lib.tensor([[[0, 1]]]), 1),
    "take_along_dim_flat": lambda lib: lib.take_along_dim(lib.arange(6.0).reshape(2, 3), lib.tensor([[5, 0]])),
    "take_along_dim_sorted": lambda lib: lib.take_along_dim(
        lib.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]]), lib.tensor([[1, 2, 0], [0, 2, 1]]), -1),
}


@pytest.mark.parametrize("name", sorted(INDEX_OK))
def test_valid_indices_match_torch(name, torch):
    _same_result(INDEX_OK[name], torch)


def test_take_along_dim_broadcast_gradient(torch):
    grads = []
    for lib in (dm, torch):
        x = lib.tensor([[1.0, 2.0, 3.0]], dtype=lib.float64, requires_grad=True)
        out = lib.take_along_dim(x, lib.tensor([[0], [2], [2]]), 1)
        (out * lib.tensor([[1.0], [2.0], [3.0]], dtype=lib.float64)).sum().backward()
        grads.append(to_numpy(x.grad))
    np.testing.assert_array_equal(*grads)


# ------------------------------------------------- 7. overflow on assignment ----

def _assign(dtype_name_, index, value):
    def fn(lib):
        t = lib.zeros(3, dtype=getattr(lib, dtype_name_))
        if index == "mask":
            t[lib.tensor([True, False, False])] = value
        else:
            t[index] = value
        return t
    return fn


ASSIGN_ERRORS = {
    "int8_300": _assign("int8", 0, 300),
    "int8_minus_129": _assign("int8", 0, -129),
    "int8_300_slice": _assign("int8", slice(None), 300),
    "int8_300_mask": _assign("int8", "mask", 300),
    "int8_300_list_index": _assign("int8", [0, 1], 300),
    "int8_300_float": _assign("int8", 0, 300.0),
    "int8_127_5": _assign("int8", 0, 127.5),
    "int8_nan": _assign("int8", 0, float("nan")),
    "int8_inf": _assign("int8", 0, float("inf")),
    "int8_complex": _assign("int8", 0, 1j),
    "int8_numpy_int": _assign("int8", 0, np.int64(300)),
    "uint8_256": _assign("uint8", 0, 256),
    "uint8_minus_256": _assign("uint8", 0, -256),
    "int32_2_31": _assign("int32", 0, 2 ** 31),
    "int64_2_63": _assign("int64", 0, 2 ** 63),
    "int64_1e30": _assign("int64", 0, 1e30),
    "float32_1e300": _assign("float32", 0, 1e300),
    "float32_numpy_1e300": _assign("float32", 0, np.float64(1e300)),
    "float32_2_200": _assign("float32", 0, 2 ** 200),
    "float32_str": _assign("float32", 0, "a"),
    "float32_none": _assign("float32", 0, None),
    "masked_fill_int8_300": lambda lib: lib.zeros(3, dtype=lib.int8).masked_fill(
        lib.tensor([True, False, False]), 300),
    "masked_fill_float32_1e300": lambda lib: lib.zeros(3).masked_fill(lib.tensor([True, False, False]), 1e300),
    "masked_fill_float16_1e6": lambda lib: lib.zeros(3, dtype=lib.float16).masked_fill(
        lib.tensor([True, False, False]), 1e6),
}


@pytest.mark.parametrize("name", sorted(ASSIGN_ERRORS))
def test_assignment_overflow_raises_like_torch(name, torch):
    assert_raises_like_torch(ASSIGN_ERRORS[name], torch=torch)


@dlmath_only
@pytest.mark.parametrize("name, words", [
    ("int8_300", ("300", "int8", "overflow")),
    ("int8_300_mask", ("300", "int8")),
    ("uint8_256", ("256", "uint8")),
    ("float32_1e300", ("1e+300", "float32")),
    ("masked_fill_int8_300", ("masked_fill", "300", "int8")),
])
def test_assignment_overflow_message(name, words):
    message = _message(ASSIGN_ERRORS[name])
    for w in words:
        assert w in message, f"{w!r} not in {message!r}"
    assert "Python integer" not in message   # NumPy's own message


ASSIGN_OK = {
    "uint8_minus_1_wraps": _assign("uint8", 0, -1),
    "uint8_minus_1_slice": _assign("uint8", slice(None), -1),
    "int8_true": _assign("int8", 0, True),
    "int8_bounds": _assign("int8", slice(0, 2), -128),
    "bool_300": _assign("bool", 0, 300),
    "float16_1e6_is_inf": _assign("float16", 0, 1e6),
    "float32_inf": _assign("float32", 0, float("inf")),
    "float32_nan": _assign("float32", 0, float("nan")),
    "int8_tensor_wraps": _assign("int8", slice(0, 1), None),   # value filled in below
    "masked_fill_uint8_minus_1": lambda lib: lib.zeros(3, dtype=lib.uint8).masked_fill(
        lib.tensor([True, False, False]), -1),
}
ASSIGN_OK["int8_tensor_wraps"] = lambda lib: _assign("int8", slice(0, 1), lib.tensor([300]))(lib)


@pytest.mark.parametrize("name", sorted(ASSIGN_OK))
def test_assignment_that_fits_matches_torch(name, torch):
    _same_result(ASSIGN_OK[name], torch)


def test_assignment_overflow_leaves_the_tensor_unchanged():
    t = dm.tensor([1, 2, 3], dtype=dm.int8)
    with pytest.raises(RuntimeError):
        t[0] = 300
    np.testing.assert_array_equal(to_numpy(t), [1, 2, 3])


@pytest.mark.parametrize("value", [300, 1e30])
def test_fill_overflow_raises_like_torch(value, torch):
    assert_raises_like_torch(lambda lib: lib.zeros(3, dtype=lib.int8).fill_(value), torch=torch)
