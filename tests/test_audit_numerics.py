"""Numerics audit against torch 2.13: edge values where dlmath once gave a silent wrong answer.

1. integer %, fmod, // and div(rounding_mode=...) by zero raise (torch: RuntimeError
   "ZeroDivisionError"); bool quotients are not implemented; trunc division is exact.
2. float16 reductions (sum, mean, var, std, cumsum, softmax, ...) accumulate in float32 and
   round once, prod rounds at every step, as torch; sigmoid/erf keep float16; bool square,
   sign, abs, relu, floor, ... behave as torch.
3. pow's gradient at 0, +-inf and NaN, for every kind of exponent (x ** 0 has gradient 0).
4. cumsum (and sort, topk, max(dim)) of a 0-d tensor is a new tensor.
5. var/std derivatives where n - correction <= 0 or the std is 0.
6. NaN is the largest value in sort/argsort/topk/max(dim)/argmax; max()/min() send the
   gradient to the NaNs; atan2's gradient at the origin is 0.

Every case runs on dlmath and on torch (the oracle) and compares values, dtypes, gradients or
exception types; run with DLMATH_TESTS_AGAINST_TORCH=1 the same file checks itself on torch.
"""

import warnings

import numpy as np
import pytest

from helpers import (AGAINST_TORCH, assert_close_tensor, assert_raises_like_torch,
                     compare_with_torch, dm, grads_like_torch, to_numpy)

INF, NAN = float("inf"), float("nan")
F16_TOL = {"float16": (1e-3, 1e-3, 2e-3, 1e-3)}


def _quiet(fn):
    """Run fn with torch's 'degrees of freedom is <= 0' UserWarning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn()


def _both(fn, torch):
    """fn(lib) on dlmath and torch; the results as (ours, theirs)."""
    return fn(dm), fn(torch)


def _assert_same_tensors(ours, theirs, what="", rtol=0, atol=0):
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for k, (o, t) in enumerate(zip(ours, theirs)):
            _assert_same_tensors(o, t, f"{what}[{k}]", rtol, atol)
        return
    assert_close_tensor(ours, theirs, rtol, atol, what or "result")


# ------------------------------------------------ 1. integer division by zero ----

ZERO_DIVISIONS = {
    "mod_tensor": lambda T: T.tensor([5, 3]) % T.tensor([0, 2]),
    "mod_number": lambda T: T.tensor([5, 3]) % 0,
    "rmod": lambda T: 5 % T.tensor([0, 1]),
    "remainder_fn": lambda T: T.remainder(T.tensor([5, 3]), 0),
    "remainder_number_base": lambda T: T.remainder(5, T.tensor([1, 0])),
    "remainder_method": lambda T: T.tensor([[5], [4]]).remainder(T.tensor([1, 0, 2])),
    "fmod_tensor": lambda T: T.fmod(T.tensor([5, 3]), T.tensor([0, 2])),
    "fmod_number": lambda T: T.fmod(T.tensor([-5, 3]), 0),
    "fmod_method": lambda T: T.tensor([5, 3]).fmod(T.tensor(0)),
    "floordiv": lambda T: T.tensor([5, 3]) // T.tensor([0, 2]),
    "floordiv_number": lambda T: T.tensor([5, 3]) // 0,
    "div_floor": lambda T: T.div(T.tensor([5, 3]), 0, rounding_mode="floor"),
    "div_trunc": lambda T: T.div(T.tensor([5, 3]), T.tensor([1, 0]), rounding_mode="trunc"),
    "uint8": lambda T: T.tensor([5, 3], dtype=T.uint8) % 0,
    "int32": lambda T: T.tensor([5, 3], dtype=T.int32) % T.tensor([0, 1], dtype=T.int32),
    "int8_fmod": lambda T: T.fmod(T.tensor([5, 3], dtype=T.int8), T.tensor([1, 0], dtype=T.int8)),
    "zero_dim": lambda T: T.tensor(5) % T.tensor(0),
    "bool_divisor": lambda T: T.tensor([5, 3]) % T.tensor(False),
    "inplace_mod": lambda T: T.tensor([5, 3]).remainder_(0),
    "inplace_operator": lambda T: T.tensor([5, 3]).__imod__(T.tensor([1, 0])),
}


@pytest.mark.parametrize("name", sorted(ZERO_DIVISIONS))
def test_integer_division_by_zero_raises_as_torch(name, torch):
    exc = assert_raises_like_torch(ZERO_DIVISIONS[name], torch=torch)
    if not AGAINST_TORCH:
        assert "ZeroDivisionError" in str(exc)


@pytest.mark.dlmath_only
def test_integer_division_by_zero_message_names_the_op_and_the_values():
    with pytest.raises(RuntimeError) as info:
        dm.tensor([7, 5, 3]) % dm.tensor([1, 0, 0])
    text = str(info.value)
    assert text.startswith("remainder:") and "ZeroDivisionError" in text
    assert "2 of 3" in text and "index (1,)" in text and "5 % 0" in text
    with pytest.raises(RuntimeError, match=r"fmod: .*-4 fmod 0"):
        dm.fmod(dm.tensor([[-4]]), 0)
    with pytest.raises(RuntimeError, match=r"floor_divide: .*9 // 0"):
        dm.tensor([9]) // 0


@pytest.mark.parametrize("expr", [
    lambda T: T.tensor([True, False]) % T.tensor([True, False]),
    lambda T: T.tensor([True, False]) // T.tensor([True, True]),
    lambda T: T.fmod(T.tensor([True, False]), T.tensor([True, True])),
    lambda T: T.div(T.tensor([True]), T.tensor([True]), rounding_mode="trunc"),
    lambda T: T.div(T.tensor([True]), T.tensor([True]), rounding_mode="floor"),
    lambda T: T.div(T.tensor([5]), 2, rounding_mode="nearest"),
])
def test_bool_quotients_and_unknown_rounding_modes_raise_as_torch(expr, torch):
    assert_raises_like_torch(expr, torch=torch)


@pytest.mark.parametrize("expr", [
    lambda T: T.tensor([], dtype=T.int64) % 0,  # an empty quotient divides nothing
    lambda T: T.tensor([5.0, -3.0, 0.0]) % 0,  # floats: NaN, no error
    lambda T: T.fmod(T.tensor([5.0, -3.0]), 0.0),
    lambda T: T.tensor([5.0, -3.0, 0.0]) // 0,  # floats: +-inf and NaN
    lambda T: T.tensor([5, -3]) % 0.0,  # an integer tensor and a float number: float
    lambda T: T.tensor([7, -7, 7, -7, 0]) % T.tensor([2, 2, -2, -2, 3]),
    lambda T: T.fmod(T.tensor([7, -7, 7, -7, 0]), T.tensor([2, 2, -2, -2, 3])),
    lambda T: T.tensor([7, -7, 7, -7, 0]) // T.tensor([2, 2, -2, -2, 3]),
    lambda T: T.div(T.tensor([7, -7, 7, -7, 0, -6]), T.tensor([2, 2, -2, -2, -3, 3]),
                    rounding_mode="trunc"),
    # exact in int64 (a float quotient would round 2**62 + 1 to 2**62)
    lambda T: T.div(T.tensor([2 ** 62 + 1, -(2 ** 62) - 3, -(2 ** 63)]), T.tensor([1, 1, 2]),
                    rounding_mode="trunc"),
    lambda T: T.div(T.tensor([7, -7], dtype=T.int16), T.tensor([[2], [-2]], dtype=T.int16),
                    rounding_mode="trunc"),
    lambda T: T.div(7, T.tensor([2, -2]), rounding_mode="trunc"),
    lambda T: T.div(T.tensor([7.5, -7.5]), 2, rounding_mode="trunc"),
    lambda T: T.tensor([True, False]) % 2,
])
def test_division_values_as_torch(expr, torch):
    ours, theirs = _both(expr, torch)
    _assert_same_tensors(ours, theirs)


# -------------------------------------------------------------- 2. float16 ----

def test_float16_mean_accumulates_in_float32(torch):
    ours, theirs = _both(lambda T: T.full((10,), 1e4, dtype=T.float16).mean(), torch)
    _assert_same_tensors(ours, theirs)
    assert float(ours) == 10000.0


F16_OUTER = np.array([[2048.0] * 2] + [[1.0] * 2] * 8)  # 2048 + eight 1s, down axis 0
F16_LARGE = np.arange(10.0) * 1000  # var 9.2e6: beyond float16, its sqrt is not


@pytest.mark.parametrize("fn, values", [
    (lambda T, x: x.sum(0), F16_OUTER),
    (lambda T, x: x.sum(), F16_OUTER),
    (lambda T, x: x.sum(0, dtype=T.float16), F16_OUTER),
    (lambda T, x: x.sum(0, dtype=T.float32), F16_OUTER),
    (lambda T, x: x.mean(0), F16_OUTER),
    (lambda T, x: x.mean(), np.full(10, 1e4)),
    (lambda T, x: x.cumsum(0), F16_OUTER),
    (lambda T, x: x.cumsum(0), np.full(10, 1e4)),
    (lambda T, x: x.var(), np.full(10, 1e4)),
    (lambda T, x: x.std(), np.full(10, 1e4)),
    (lambda T, x: x.var(), F16_LARGE),
    (lambda T, x: x.std(), F16_LARGE),
    (lambda T, x: x.std(0), F16_LARGE),
    (lambda T, x: x.reshape(2, 5).std(1), F16_LARGE),
    (lambda T, x: T.std_mean(x), F16_LARGE),
    (lambda T, x: T.var_mean(x, 0), F16_OUTER),
    (lambda T, x: x.var(), np.array([1.0, 2.0, 4.0, 8.0])),
    (lambda T, x: x.std(0), np.array([[1.0, 3.0], [2.0, 3.0], [4.0, 3.0]])),
    (lambda T, x: x.prod(), np.array([300.0, 300.0, 1 / 300])),  # torch: inf (float16 steps)
    (lambda T, x: x.prod(1, keepdim=True), np.array([[300.0, 300.0, 1 / 300]])),
    (lambda T, x: x.prod(0), np.array([[300.0], [300.0], [1 / 300]])),
    (lambda T, x: x.prod(), np.array([1.0, 2.0, 4.0, 8.0])),
    (lambda T, x: x.softmax(0), F16_OUTER),
    (lambda T, x: x.softmax(1), np.array([[1.0, 2.0, 4.0, 8.0], [0.5, -1.0, 3.0, 2.0]])),
    (lambda T, x: x.log_softmax(0), F16_OUTER),
    (lambda T, x: x.log_softmax(-1), np.array([[1.0, 2.0, 4.0, 8.0], [0.5, -1.0, 3.0, 2.0]])),
    (lambda T, x: x.logsumexp(0), F16_OUTER),
    (lambda T, x: x.sigmoid(), np.array([1.0, -2.0, 0.0, 8.0])),
    (lambda T, x: T.erf(x), np.array([0.3, -2.0, 0.0, 1.0])),
])
def test_float16_reductions_as_torch(fn, values, torch):
    compare_with_torch(lambda lib, x: _quiet(lambda: fn(lib, x)), (values,), dtype="float16",
                       torch=torch, tolerances=F16_TOL["float16"])


def test_float16_cumsum_and_sum_round_once(torch):
    ours, theirs = _both(lambda T: T.tensor(F16_OUTER[:, 0], dtype=T.float16).cumsum(0), torch)
    _assert_same_tensors(ours, theirs)  # 2048, 2048, 2050, 2052, ...: not stuck at 2048
    ours, theirs = _both(lambda T: T.tensor(F16_OUTER, dtype=T.float16).sum(0), torch)
    _assert_same_tensors(ours, theirs)
    assert to_numpy(ours).tolist() == [2056.0, 2056.0]


def test_float16_softmax_gradient_does_not_cancel_in_float16(torch):
    """y * (g - <g, y>) with g = 3 against <g, y> = 2.97: in float16 the difference is gone."""
    x = np.array([1.0, 2.0, 4.0, 8.0])
    grads = []
    for lib in (dm, torch):
        t = lib.tensor(x, dtype=lib.float16, requires_grad=True)
        (t.softmax(0) * lib.arange(4.0).to(lib.float16)).sum().backward()
        grads.append(to_numpy(t.grad).astype(np.float64))
    np.testing.assert_allclose(grads[0], grads[1], rtol=2e-3, atol=1e-5)


@pytest.mark.parametrize("expr", [
    lambda T: T.tensor([1.0, -2.0], dtype=T.float16).sigmoid(),
    lambda T: T.sigmoid(T.tensor([1.0, -2.0], dtype=T.float16)),
    lambda T: T.erf(T.tensor([1.0, -2.0], dtype=T.float16)),
    lambda T: T.tensor([True, False]).square(),
    lambda T: T.tensor([True, False]).square() * 200,  # int64, not an int8 overflow
    lambda T: T.tensor([True, False]).sign(),
    lambda T: T.tensor([3, -2, 0], dtype=T.int8).sign(),
    lambda T: T.tensor([3, -2], dtype=T.int8).square(),
    lambda T: T.tensor([3, -2], dtype=T.int8).abs(),
    lambda T: T.tensor([3, -2], dtype=T.int8).relu(),
    lambda T: T.tensor([3, -2], dtype=T.int16).floor(),
    lambda T: T.tensor([15, 25]).round(),
    lambda T: T.tensor([1, 2]).softmax(0, dtype=T.float64),
])
def test_dtypes_of_small_and_bool_inputs_as_torch(expr, torch):
    ours, theirs = _both(expr, torch)
    _assert_same_tensors(ours, theirs, rtol=1e-3)


@pytest.mark.parametrize("expr", [
    lambda T: T.tensor([True, False]).abs(),
    lambda T: T.tensor([True, False]).relu(),
    lambda T: T.tensor([True, False]).floor(),
    lambda T: T.tensor([True, False]).ceil(),
    lambda T: T.tensor([True, False]).trunc(),
    lambda T: T.tensor([True, False]).round(),
    lambda T: T.round(T.tensor([15, 25]), decimals=-1),
    lambda T: T.tensor([True, False]).argmax(),
    lambda T: T.tensor([True, False]).argmin(),
    lambda T: T.tensor([True, False]).topk(1),
    lambda T: T.tensor([1, 2]).var(),
    lambda T: T.tensor([1, 2]).std(0),
    lambda T: T.var_mean(T.tensor([1, 2])),
    lambda T: T.tensor([1, 2]).softmax(0),
    lambda T: T.tensor([True, False]).log_softmax(0),
])
def test_ops_torch_refuses_for_bool_or_integer_inputs(expr, torch):
    assert_raises_like_torch(expr, torch=torch)


# -------------------------------------------------------- 3. pow gradients ----

POW_BASES = [0.0, -0.0, 1.0, -1.0, 2.0, INF, -INF, NAN, 0.5, -0.5]


@pytest.mark.parametrize("exponent", [0, 0.0, 1, 2, 3, -1, -2, 0.5, -0.5, 1.5, -1.5, 2.5,
                                      INF, -INF, NAN])
def test_pow_number_exponent_gradient_at_edges(exponent, torch):
    out, (grad,) = grads_like_torch(lambda lib, x: x ** exponent, POW_BASES, torch=torch)
    ours, theirs = _both(lambda T: T.pow(T.tensor(POW_BASES, dtype=T.float64), exponent), torch)
    # the sign of a zero too: (-0) ** 0.5 = sqrt(-0) = -0 and (-0) ** -0.5 = -inf, as torch
    a, b = to_numpy(ours), to_numpy(theirs)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_array_equal(np.signbit(a[~np.isnan(a)]), np.signbit(b[~np.isnan(b)]))
    if exponent == 0:
        assert not np.isnan(grad).any() and (grad == 0).all()


def test_pow_zero_exponent_gradient_is_zero_at_inf_and_nan(torch):
    out, (grad,) = grads_like_torch(lambda lib, x: x ** 0, [INF, -INF, NAN, 2.0], torch=torch)
    assert grad.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_pow_tensor_exponent_gradients_at_edges(torch):
    exps = [0.0, 1.0, 2.0, -1.0, 0.5, -0.5, INF, -INF, NAN, 3.0]
    a = np.repeat(POW_BASES, len(exps))
    b = np.tile(exps, len(POW_BASES))
    grads_like_torch(lambda lib, x, y: x ** y, a, b, torch=torch, rtol=1e-12, atol=0)


def test_pow_number_base_gradients_at_edges(torch):
    for base in (0.0, 2.0, 1.0, -2.0, 0.5, INF):
        grads_like_torch(lambda lib, x: base ** x, [0.0, 1.0, -1.0, 0.5, INF, -INF, NAN, 2.0],
                         torch=torch)


def test_pow_zero_exponent_gradient_with_an_infinite_cotangent(torch):
    """torch: where(b == 0, 0, g * b a^(b-1)); x ** 0 gives zeros whatever g is."""
    for lib_fn in (lambda lib, x: x ** 0, lambda lib, x: x ** lib.zeros(3, dtype=lib.float64)):
        grads = []
        for lib in (dm, torch):
            x = lib.tensor([INF, 1.0, NAN], dtype=lib.float64, requires_grad=True)
            y = lib_fn(lib, x)
            (g,) = lib.autograd.grad(y, x, lib.tensor([INF, NAN, 1.0], dtype=lib.float64))
            grads.append(to_numpy(g))
        np.testing.assert_array_equal(grads[0], grads[1])


def test_pow_zero_exponent_forward_mode_and_second_order(torch):
    x0 = np.array([INF, -2.0, NAN, 0.0])
    results = []
    for lib in (dm, torch):
        x = lib.tensor(x0, dtype=lib.float64)
        _, tangent = lib.func.jvp(lambda v: v ** 0, (x,), (lib.ones_like(x),))
        xg = lib.tensor(x0, dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad((xg ** 0).sum(), xg, create_graph=True)
        results.append((to_numpy(tangent), to_numpy(g)))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------- 4. 0-d results ----

@pytest.mark.parametrize("make", [
    lambda T, x: x.cumsum(0),
    lambda T, x: T.cumsum(x, dim=-1),
    lambda T, x: x.sort()[0],
    lambda T, x: x.topk(1)[0],
    lambda T, x: x.max(0)[0],
    lambda T, x: x.min(dim=0).values,
])
@pytest.mark.parametrize("dtype", ["float64", "int64", "float32"])
def test_zero_dim_results_are_new_tensors(make, dtype, torch):
    for lib in (dm, torch):
        x = lib.tensor(3, dtype=getattr(lib, dtype))
        y = make(lib, x)
        assert y is not x
        y.add_(1)
        assert x.item() == 3, f"writing the result wrote the input ({lib.__name__})"
    ours, theirs = make(dm, dm.tensor(3, dtype=getattr(dm, dtype))), \
        make(torch, torch.tensor(3, dtype=getattr(torch, dtype)))
    _assert_same_tensors(ours, theirs)


def test_zero_dim_cumsum_of_integers_is_int64_and_differentiable_for_floats(torch):
    ours, theirs = _both(lambda T: T.tensor(3, dtype=T.int32).cumsum(0), torch)
    _assert_same_tensors(ours, theirs)
    grads_like_torch(lambda lib, x: x.cumsum(0) * 2, 1.5, torch=torch)


# ------------------------------------------------------- 5. var / std ----

VAR_CASES = {
    # no dim, n - correction <= 0: torch gives g * (inf, or NaN where x == mean)
    "var_dof0": (lambda T, x: x.var(correction=2), [2.0, 3.0]),
    "var_dof_negative": (lambda T, x: x.var(correction=3), [2.0, 3.0]),
    "var_dof0_at_mean": (lambda T, x: x.var(correction=3), [2.0, 2.5, 3.0]),
    "var_mean_dof0": (lambda T, x: T.var_mean(x, correction=2)[0], [2.0, 3.0]),
    "var_inf_dof0": (lambda T, x: x.var(correction=2), [INF, 3.0]),
    # with dim: 2 / (n - correction) * (x - mean), so +-inf, NaN, or negative factors
    "var_dim_dof0": (lambda T, x: x.var(0, correction=2), [[2.0, 3.0], [3.0, 3.0]]),
    "var_dim_dof_negative": (lambda T, x: x.var(0, correction=3, keepdim=True),
                             [[2.0, 3.0], [3.0, 3.0]]),
    "var_dims_tuple_dof0": (lambda T, x: x.var((0, 1), correction=4), [[2.0, 3.0], [3.0, 5.0]]),
    "std_dim_dof0": (lambda T, x: x.std(0, correction=2), [[2.0, 3.0], [3.0, 3.0]]),
    "std_dof0": (lambda T, x: x.std(correction=2), [2.0, 3.0]),
    # a constant row: torch's std (Welford) is exactly 0 there, and so is its gradient
    "std_constant_rows": (lambda T, x: x.std(1), [[0.1, 0.1, 0.1], [0.7, 0.7, 0.7]]),
    "std_mean_constant": (lambda T, x: T.std_mean(x)[0], [0.1, 0.1, 0.1]),
    "std_constant_keepdim": (lambda T, x: x.std(0, keepdim=True) * 3,
                             [[0.3, 1.0], [0.3, 2.0], [0.3, 4.0]]),
    # a reduction to one number: torch's two passes, and its formula (x - mean) / (std * dof)
    "std_constant_whole": (lambda T, x: x.std() * 3, [0.1, 0.1, 0.1]),
    "std_constant_correction0": (lambda T, x: x.std(correction=0), [0.1, 0.1, 0.1]),
    "var_constant_whole": (lambda T, x: x.var(), [0.1, 0.1, 0.1]),
    "var_0d": (lambda T, x: x.var(), 2.0),
    "var_0d_correction0": (lambda T, x: x.var(correction=0), 2.0),
    "std_0d_dim": (lambda T, x: x.std(0, correction=2), 2.0),
    "std_one_element": (lambda T, x: x.std(), [2.0]),
    "std_inf": (lambda T, x: x.std(), [2.0, INF]),
    "std_nan": (lambda T, x: x.std(), [2.0, NAN]),
    "std_empty": (lambda T, x: x.std(), np.zeros(0)),
    "std_empty_dim": (lambda T, x: x.std(1), np.zeros((2, 0))),
}


@pytest.mark.parametrize("name", sorted(VAR_CASES))
def test_var_std_values_and_gradients_as_torch(name, torch):
    fn, values = VAR_CASES[name]
    _quiet(lambda: grads_like_torch(fn, values, torch=torch, rtol=1e-12, atol=1e-300))


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.var(1),
    lambda lib, x: x.std((0, 2), keepdim=True),
    lambda lib, x: x.var(correction=0),
    lambda lib, x: x.std(),
    lambda lib, x: lib.var_mean(x, 2),
    lambda lib, x: lib.std_mean(x, (0, 1), correction=2),
])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_var_std_random_inputs_as_torch(fn, dtype, torch):
    compare_with_torch(fn, ((2, 3, 4),), dtype=dtype, torch=torch)


def test_var_std_second_derivatives():
    from helpers import second_order_check
    rng = np.random.default_rng(3)
    x = dm.tensor(rng.standard_normal((3, 4)), dtype=dm.float64, requires_grad=True)
    for fn in (lambda lib, t: t.var(1), lambda lib, t: t.std(0), lambda lib, t: t.var(),
               lambda lib, t: lib.std_mean(t, 1)[0]):
        second_order_check(fn, [x])


# --------------------------------------------------------- 6. NaN ordering ----

ROW = "T.tensor([3., nan, 1., nan, 5., -inf, inf, 0.5])"
GRID = "T.tensor([[1., nan, 2.], [nan, 3., nan], [4., 5., 6.]])"
ORDER_CASES = [
    f"{ROW}.sort()", f"{ROW}.sort(descending=True)", f"{ROW}.sort(stable=True)",
    f"{ROW}.sort(descending=True, stable=True)", f"T.sort({ROW}, 0, True)",
    f"{ROW}.argsort()", f"{ROW}.argsort(descending=True)",
    f"T.argsort({ROW}, descending=True, stable=True)",
    f"{ROW}.topk(1)", f"{ROW}.topk(2)", f"{ROW}.topk(3)", f"{ROW}.topk(4, sorted=True)",
    f"{ROW}.topk(3, largest=False)", f"{ROW}.topk(6, largest=False)",
    f"{ROW}.max(0)", f"{ROW}.min(0)", f"{ROW}.argmax()", f"{ROW}.argmin()", f"{ROW}.argmax(0)",
    f"{ROW}.max()", f"{ROW}.min()", f"{ROW}.amax()", f"{ROW}.amin(0)",
    f"{GRID}.max(1)", f"{GRID}.min(0)", f"{GRID}.argmax(1)", f"{GRID}.argmin(0, keepdim=True)",
    f"{GRID}.sort(1, descending=True)", f"{GRID}.sort(0)", f"{GRID}.sort(0, descending=True)",
    f"{GRID}.argsort(0, descending=True)", f"{GRID}.topk(2, 0)", f"{GRID}.topk(1, 1)",
    f"{GRID}.topk(2, 1, largest=False)",
    # ties keep their order in a stable descending sort; no negation (int8 -128, int64 min)
    "T.tensor([2, 1, 2, 1]).sort(descending=True, stable=True)",
    "T.tensor([-0., 0., -0., 0.]).argsort(descending=True, stable=True)",
    "T.tensor([True, False, True]).sort(descending=True, stable=True)",
    "T.tensor([1, 0, 255], dtype=T.uint8).sort(descending=True)",
    "T.tensor([1, -128, 127], dtype=T.int8).sort(descending=True)",
    "T.tensor([1, -128, 127], dtype=T.int8).topk(2)",
    "T.tensor([1, -9223372036854775808, 5]).sort(descending=True)",
    "T.tensor([1, -9223372036854775808, 5]).topk(2)",
    "T.tensor([1, -9223372036854775808, 5]).argsort(descending=True)",
]


@pytest.mark.parametrize("expr", ORDER_CASES)
def test_nan_is_the_largest_value_as_torch(expr, torch):
    ours, theirs = _both(lambda T: eval(expr, {"T": T, "nan": NAN, "inf": INF}), torch)
    _assert_same_tensors(ours, theirs)


@pytest.mark.parametrize("fn, values", [
    (lambda lib, x: x.max(), [1.0, NAN, 3.0]),
    (lambda lib, x: x.max(), [1.0, NAN, 3.0, NAN]),  # two NaNs share the gradient
    (lambda lib, x: x.min(), [1.0, NAN, -3.0, NAN]),
    (lambda lib, x: x.max(), [[1.0, NAN], [3.0, NAN]]),
    (lambda lib, x: x.max() * 3, [3.0, 1.0, 3.0]),  # no NaN: ties share it
    (lambda lib, x: x.amax(), [1.0, NAN, 3.0, NAN]),  # torch: NaN everywhere
    (lambda lib, x: x.amin(0), [[1.0, NAN, 3.0, NAN], [1.0, 2.0, 3.0, 3.0]]),
    (lambda lib, x: x.amax(1), [[1.0, NAN, 3.0, NAN], [1.0, 2.0, 3.0, 3.0]]),
    (lambda lib, x: x.max(1)[0], [[1.0, NAN, 3.0, NAN], [1.0, 2.0, 3.0, 3.0]]),
    (lambda lib, x: x.min(1)[0], [[1.0, NAN, 3.0, NAN], [1.0, 2.0, 3.0, 3.0]]),
    (lambda lib, x: x.sort(descending=True)[0] * lib.arange(4.0, dtype=lib.float64),
     [1.0, NAN, 3.0, 2.0]),
    (lambda lib, x: x.sort()[0] * lib.arange(4.0, dtype=lib.float64), [1.0, NAN, 3.0, 2.0]),
    (lambda lib, x: x.topk(2)[0] * lib.arange(2.0, dtype=lib.float64), [1.0, NAN, 3.0, 2.0]),
    (lambda lib, x: x.topk(2, largest=False)[0] * lib.arange(2.0, dtype=lib.float64),
     [1.0, NAN, 3.0, 2.0]),
])
def test_gradients_with_nan_inputs_as_torch(fn, values, torch):
    grads_like_torch(fn, values, torch=torch)


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.sign() * x,  # torch: sign(NaN) = 0
    lambda lib, x: x.abs(),  # torch: d|x|/dx = sgn(x), 0 at NaN
    lambda lib, x: x.relu(),  # torch: where(y <= 0, 0, g), so 1 at NaN
    lambda lib, x: lib.nn.functional.relu(x) * 2,
])
def test_sign_abs_relu_at_nan_as_torch(fn, torch):
    grads_like_torch(fn, [NAN, -0.0, 0.0, 2.0, -3.0, INF, -INF], torch=torch)


def test_sign_abs_relu_at_nan_forward_mode_and_create_graph(torch):
    results = []
    for lib in (dm, torch):
        x0 = lib.tensor([NAN, -0.0, 0.0, 2.0, -3.0], dtype=lib.float64)
        row = []
        for f in (lib.abs, lib.relu, lib.sign):
            _, t = lib.func.jvp(f, (x0,), (lib.ones_like(x0),))
            row.append(to_numpy(t))
        x = x0.clone().requires_grad_(True)
        (g,) = lib.autograd.grad((x.abs() + x.relu()).sum(), x, create_graph=True)
        row.append(to_numpy(g))
        results.append(row)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_max_of_everything_with_nan_second_order_and_create_graph(torch):
    results = []
    for lib in (dm, torch):
        x = lib.tensor([1.0, NAN, 3.0, NAN], dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(x.max() * 2, x, create_graph=True)
        results.append(to_numpy(g))
    np.testing.assert_array_equal(results[0], results[1])


def test_atan2_gradient_at_the_origin_is_zero(torch):
    a = [0.0, 0.0, -0.0, -0.0, 1.0, 0.0, 1e-200, 1e-200, INF, 1.0, INF, NAN]
    b = [0.0, -0.0, 0.0, -0.0, 0.0, 1.0, 1e-200, 0.0, 1.0, INF, INF, 0.0]
    out, (ga, gb) = grads_like_torch(lambda lib, y, x: lib.atan2(y, x), a, b, torch=torch)
    assert not np.isnan(ga[:4]).any() and not np.isnan(gb[:4]).any()


def test_atan2_gradient_at_the_origin_forward_mode_and_batches(torch):
    """Reverse mode (jacrev) gives 0 at the origin; torch's forward-mode formula gives NaN."""
    results = []
    for lib in (dm, torch):
        y = lib.tensor([0.0, 1.0, 0.0], dtype=lib.float64)
        x = lib.tensor([0.0, 2.0, -0.0], dtype=lib.float64)
        _, t = lib.func.jvp(lib.atan2, (y, x), (lib.ones_like(y), lib.ones_like(x)))
        jac = lib.func.jacrev(lib.atan2, argnums=(0, 1))(y, x)
        results.append([to_numpy(t)] + [to_numpy(j) for j in jac])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, equal_nan=True)


# ------------------------------------------------- forward mode at the edges ----

@pytest.mark.parametrize("fn, values", [
    (lambda T, x: x.var(correction=2), [2.0, 3.0]),
    (lambda T, x: x.var(correction=3), [2.0, 2.5, 3.0]),
    (lambda T, x: x.var(0, correction=3), [[2.0, 3.0], [3.0, 3.0]]),
    (lambda T, x: x.var(0, correction=2), [[2.0, 3.0], [3.0, 3.0]]),
    (lambda T, x: x.std(1), [[0.1, 0.1, 0.1], [0.7, 0.8, 0.7]]),
    (lambda T, x: x.std(), [0.1, 0.1, 0.1]),
    (lambda T, x: x.max(), [1.0, NAN, 3.0, NAN]),  # torch's forward mode: NaN
    (lambda T, x: x.min(), [1.0, NAN, 3.0]),
    (lambda T, x: x.max(), [1.0, 3.0, 3.0]),
    (lambda T, x: x ** 0, [INF, NAN, 1.0]),
    (lambda T, x: x ** 0.5, [-0.0, 0.0, 4.0]),
    (lambda T, x: x ** -0.5, [-0.0, -INF, 4.0]),
    (lambda T, x: x ** 1.5, [-0.0, 0.0, 4.0]),
    (lambda T, x: x.half().cumsum(0).double(), [2048.0] + [1.0] * 8),
])
def test_forward_mode_at_edge_values_as_torch(fn, values, torch):
    results = []
    for lib in (dm, torch):
        x = lib.tensor(np.asarray(values, dtype=np.float64))
        t = lib.tensor(np.linspace(1.0, 2.0, x.numel()).reshape(tuple(x.shape)))
        _, tangent = _quiet(lambda: lib.func.jvp(lambda a: fn(lib, a), (x,), (t,)))
        results.append(to_numpy(tangent))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-14, equal_nan=True)


# --- Python ints outside an integer dtype's range wrap, as torch ------------------------
@pytest.mark.parametrize("expr", ["t * 200", "t + 300", "300 - t", "t // -300", "u + -1", "t == 300"])
def test_out_of_range_python_ints_wrap_like_torch(torch, expr):
    outs = []
    for lib in (dm, torch):
        t, u = lib.tensor([1, 2, 100], dtype=lib.int8), lib.tensor([1, 2], dtype=lib.uint8)
        outs.append(eval(expr).numpy())
    assert outs[0].dtype == outs[1].dtype
    np.testing.assert_array_equal(outs[0], outs[1])


def test_out_of_range_python_ints_wrap_in_place_like_torch(torch):
    outs = []
    for lib in (dm, torch):
        t = lib.tensor([1, 2, 100], dtype=lib.int8)
        t *= 200
        t.add_(300)
        t -= 1000
        outs.append(t.numpy())
    np.testing.assert_array_equal(outs[0], outs[1])


def test_a_python_int_beyond_64_bits_is_an_overflow_error(torch):
    assert_raises_like_torch(lambda lib: lib.tensor([1], dtype=lib.int8) * 2 ** 70, torch=torch)


@pytest.mark.dlmath_only
def test_comparisons_keep_the_python_int_as_it_is():
    """torch wraps 1000 into int8 (-24) before comparing; dlmath compares the numbers."""
    t = dm.tensor([1, 2, 100], dtype=dm.int8)
    assert (t < 1000).all().item() and not (t == 1000 - 256 * 4).any().item()


def test_abs_of_a_0d_nan_backward_like_torch(torch):
    """abs' vjp takes sign(x) with 0 at NaN; a 0-d NaN once raised a NumPy TypeError (fuzzer)."""
    grads = []
    for lib in (dm, torch):
        x = lib.tensor([2.0], dtype=lib.float64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x.var().abs().sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    assert dm.sign(dm.tensor(float("nan"))).item() == 0


def test_double_backward_through_var_without_degrees_of_freedom_like_torch(torch):
    """var of one element is NaN; a second derivative through it is NaN too (fuzzer: dlmath
    had treated the first derivative's inf/NaN as a constant and returned a finite number)."""
    grads = []
    for lib in (dm, torch):
        x1 = lib.tensor(0.17, dtype=lib.float64, requires_grad=True)
        x3 = lib.tensor(1.05, dtype=lib.float64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t6 = x1.var(-1, keepdim=True)
        t6.relu_()
        g1, g3 = lib.autograd.grad(-0.4 * (x1 / x3).sum() + 0.9 * t6.sum(), [x1, x3], create_graph=True)
        ((g1 * g1).sum() + (g3 * g3).sum()).backward()
        grads.append((x1.grad.item(), x3.grad.item()))
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("form", ["where", "masked_fill"])
def test_forward_mode_through_a_minus_inf_mask_like_torch(torch, form):
    """The branch without tangent gives an exact 0 tangent, not y * 0 (NaN at y = -inf)."""
    outs = []
    for lib in (dm, torch):
        m = lib.tensor([True, False, True])
        if form == "where":
            f = (lambda x: lib.where(m, float("-inf"), x).softmax(0))
        else:
            f = (lambda x: x.masked_fill(m, float("-inf")).softmax(0))
        _, t = lib.func.jvp(f, (lib.tensor([1.0, 2.0, 3.0]),), (lib.ones(3),))
        outs.append(t.numpy())
    np.testing.assert_array_equal(outs[0], outs[1])


def test_double_backward_through_var_of_everything_without_degrees_of_freedom_like_torch(torch):
    """var() of one element: torch's first derivative (NaN) is a constant, so a second derivative
    does not see it (fuzzer find: dlmath had made it depend on x, and returned NaN)."""
    grads = []
    for lib in (dm, torch):
        x0 = lib.tensor([[[0.19, -0.39, -1.24], [1.46, -0.38, 0.43]]], dtype=lib.float64, requires_grad=True)
        x2 = lib.tensor([[1.25]], dtype=lib.float64, requires_grad=True)
        t4, _ = lib.split(x0, [1, 2], dim=-1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t10 = lib.var(lib.gather(t4, -3, lib.tensor([[[0]]])))
        loss = 0.8 * t4.matmul(x2.repeat(1, 1, 2)).sum() + 0.7 * t10.sum()
        g0, g2 = lib.autograd.grad(loss, [x0, x2], create_graph=True)
        ((g0 * g0).sum() + (g2 * g2).sum()).backward()
        grads.append(x0.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
