"""dm.nn.init against torch.nn.init: the statistics each initialiser promises (bounds, std,
orthogonality, truncation) on large tensors, torch's formulas for gains and fans, exact values
for the deterministic ones, reproducibility with a seeded generator, and torch's exceptions."""
import math
import warnings

import numpy as np
import pytest
import scipy.stats

from helpers import AGAINST_TORCH, dlmath_only, dm

init = dm.nn.init
N = 512  # 512 x 512 = 262144 draws: a sample std is within ~0.3% of the true one


def gen(seed=0):
    return dm.Generator().manual_seed(seed)


def arr(t):
    return t.detach().numpy().astype(np.float64)


def weight(*shape, dtype=None):
    """A leaf that requires grad, as a Parameter: init must write it without recording."""
    return dm.zeros(*shape, dtype=dtype or dm.float32, requires_grad=True)


def same_exception(torch, fn):
    """Run fn(lib) on dlmath and torch: both raise the same exception type (returned)."""
    with pytest.raises(Exception) as theirs:
        fn(torch)
    with pytest.raises(type(theirs.value)) as ours:
        fn(dm)
    assert type(ours.value) is type(theirs.value)
    return ours.value


# --- gains and fans --------------------------------------------------------------------
NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]


@pytest.mark.parametrize("name", NONLINEARITIES)
def test_calculate_gain_matches_torch(torch, name):
    assert init.calculate_gain(name) == torch.nn.init.calculate_gain(name)


@pytest.mark.parametrize("param", [None, 0, 0.2, 1, math.sqrt(5)])
def test_calculate_gain_leaky_relu_param(torch, param):
    ours = init.calculate_gain("leaky_relu", param)
    assert ours == torch.nn.init.calculate_gain("leaky_relu", param)
    slope = 0.01 if param is None else param
    assert ours == pytest.approx(math.sqrt(2 / (1 + slope ** 2)))


@pytest.mark.parametrize("args", [("foo",), ("leaky_relu", True), ("leaky_relu", "0.1"), ("Relu",)])
def test_calculate_gain_errors(torch, args):
    err = same_exception(torch, lambda lib: lib.nn.init.calculate_gain(*args))
    assert isinstance(err, ValueError)


@pytest.mark.parametrize("shape", [(3, 5), (7, 2), (4, 3, 5), (8, 3, 2, 2), (2, 3, 1, 4, 5), (0, 5)])
def test_fan_in_and_fan_out(torch, shape):
    ours = init._calculate_fan_in_and_fan_out(dm.empty(*shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    receptive = int(np.prod(shape[2:], dtype=int))
    assert ours == (shape[1] * receptive, shape[0] * receptive)


@pytest.mark.parametrize("value", [1.0, [1.0, 2.0]])
def test_fan_needs_two_dims(torch, value):
    err = same_exception(torch, lambda lib: lib.nn.init._calculate_fan_in_and_fan_out(lib.tensor(value)))
    assert isinstance(err, ValueError)


# --- the random initialisers: distributions -----------------------------------------------
def check_uniform(values, lo, hi):
    assert values.min() >= lo and values.max() <= hi
    # the extremes are reached: the bound is the formula's, not a smaller one
    assert values.min() < lo + 1e-3 * (hi - lo) and values.max() > hi - 1e-3 * (hi - lo)
    assert values.mean() == pytest.approx((lo + hi) / 2, abs=0.01 * (hi - lo))
    assert values.std() == pytest.approx((hi - lo) / math.sqrt(12), rel=0.02)


def check_normal(values, mean, std):
    assert values.mean() == pytest.approx(mean, abs=0.02 * std)
    assert values.std() == pytest.approx(std, rel=0.02)
    # a normal's tails: about 4.55% beyond 2 std
    assert np.mean(np.abs(values - mean) > 2 * std) == pytest.approx(0.0455, abs=0.005)


def test_uniform_(torch):
    w = weight(N, N)
    out = init.uniform_(w, -0.3, 0.7, generator=gen())
    assert out is w
    check_uniform(arr(w), -0.3, 0.7)
    check_uniform(arr(init.uniform_(weight(N, N))), 0.0, 1.0)  # defaults a=0, b=1


def test_normal_(torch):
    w = weight(N, N)
    assert init.normal_(w, 0.5, 2.0, generator=gen()) is w
    check_normal(arr(w), 0.5, 2.0)
    check_normal(arr(init.normal_(weight(N, N))), 0.0, 1.0)


@pytest.mark.parametrize("mean,std,a,b", [
    (0.0, 1.0, -2.0, 2.0),     # the defaults: redraw out-of-range normals
    (0.0, 0.02, -0.04, 0.04),  # BERT/ViT style
    (0.0, 1.0, 1.0, 3.0),      # < 30% of the mass: accept/reject of uniform proposals
    (1.0, 0.5, -1.0, 0.2),     # mean right of the interval
    (0.0, 1.0, -0.1, 0.1),     # narrow: nearly uniform
])
def test_trunc_normal_(torch, mean, std, a, b):
    w = weight(N, N)
    assert init.trunc_normal_(w, mean, std, a, b, generator=gen()) is w
    values = arr(w)
    assert values.min() >= np.float32(a) and values.max() <= np.float32(b)
    dist = scipy.stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    assert values.mean() == pytest.approx(dist.mean(), abs=0.01 * dist.std())
    assert values.std() == pytest.approx(dist.std(), rel=0.02)
    # the shape too: the fraction below the truncated distribution's median is one half
    assert np.mean(values < dist.median()) == pytest.approx(0.5, abs=0.005)


def test_trunc_normal_defaults_and_far_tail_warning(torch):
    values = arr(init.trunc_normal_(weight(N, N), generator=gen()))
    assert values.min() >= -2 and values.max() <= 2
    assert values.std() == pytest.approx(scipy.stats.truncnorm(-2, 2).std(), rel=0.02)
    for lib in (dm, torch):
        with pytest.warns(UserWarning, match="more than 2 std"):
            lib.nn.init.trunc_normal_(lib.empty(100), mean=0.0, std=1.0, a=5.0, b=6.0)
    with pytest.warns(UserWarning):
        values = arr(init.trunc_normal_(weight(100, 100), 0.0, 1.0, 5.0, 6.0, generator=gen()))
    assert values.min() >= 5 and values.max() <= 6  # the tail is sampled, not stalled on
    assert values.mean() == pytest.approx(scipy.stats.truncnorm(5, 6).mean(), abs=0.01)


@pytest.mark.parametrize("shape,gain", [((N, N), 1.0), ((256, 1024), 1.0), ((N, 64, 3, 3), 2.0)])
def test_xavier_uniform_(torch, shape, gain):
    w = weight(*shape)
    assert init.xavier_uniform_(w, gain=gain, generator=gen()) is w
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    check_uniform(arr(w), -bound, bound)


@pytest.mark.parametrize("shape,gain", [((N, N), 1.0), ((256, 1024), 5 / 3), ((N, 64, 3, 3), 1.0)])
def test_xavier_normal_(torch, shape, gain):
    w = init.xavier_normal_(weight(*shape), gain, generator=gen())
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    check_normal(arr(w), 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


KAIMING = [  # shape, a, mode, nonlinearity
    ((N, N), 0, "fan_in", "leaky_relu"),
    ((256, 1024), 0, "fan_in", "relu"),
    ((256, 1024), 0, "fan_out", "relu"),
    ((1024, 256), math.sqrt(5), "fan_in", "leaky_relu"),   # nn.Linear's default
    ((N, 32, 3, 3), 0.2, "fan_out", "leaky_relu"),
    ((N, N), 0, "FAN_IN", "tanh"),                         # mode is case-insensitive, as torch
    ((N, N), 0, "fan_in", "selu"),
]


def kaiming_std(torch, shape, a, mode, nonlinearity):
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    fan = fan_in if mode.lower() == "fan_in" else fan_out
    return torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)


@pytest.mark.parametrize("shape,a,mode,nonlinearity", KAIMING)
def test_kaiming_uniform_(torch, shape, a, mode, nonlinearity):
    w = weight(*shape)
    assert init.kaiming_uniform_(w, a=a, mode=mode, nonlinearity=nonlinearity, generator=gen()) is w
    bound = math.sqrt(3.0) * kaiming_std(torch, shape, a, mode, nonlinearity)
    check_uniform(arr(w), -bound, bound)


@pytest.mark.parametrize("shape,a,mode,nonlinearity", KAIMING)
def test_kaiming_normal_(torch, shape, a, mode, nonlinearity):
    w = init.kaiming_normal_(weight(*shape), a, mode, nonlinearity, generator=gen())
    check_normal(arr(w), 0.0, kaiming_std(torch, shape, a, mode, nonlinearity))


def test_kaiming_keeps_relu_activations_variance():
    """The point of fan_in scaling: through 10 ReLU layers the signal's second moment stays put."""
    g = gen(1)
    x = dm.randn(1024, 256, generator=g)
    start = float((x * x).mean())
    for _ in range(10):
        w = init.kaiming_normal_(dm.empty(256, 256), nonlinearity="relu", generator=g)
        x = dm.relu(x @ w.T)
    assert float((x * x).mean()) == pytest.approx(start, rel=0.25)


@pytest.mark.parametrize("shape", [(N, N), (64, N), (N, 64), (16, 8, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_(torch, shape, gain):
    w = weight(*shape)
    assert init.orthogonal_(w, gain=gain, generator=gen()) is w
    m = arr(w).reshape(shape[0], -1)
    rows, cols = m.shape
    gram = m @ m.T if rows <= cols else m.T @ m
    np.testing.assert_allclose(gram / gain ** 2, np.eye(min(rows, cols)), atol=1e-5)
    # Haar-distributed (the sign correction): no bias towards a positive diagonal
    if rows == cols == N:
        assert abs(np.mean(np.sign(np.diag(m)))) < 0.15
        assert m.std() == pytest.approx(gain / math.sqrt(N), rel=0.02)


def test_orthogonal_float64_is_orthogonal_to_rounding():
    w = init.orthogonal_(dm.empty(100, 100, dtype=dm.float64), generator=gen())
    np.testing.assert_allclose(arr(w) @ arr(w).T, np.eye(100), atol=1e-12)


@dlmath_only
def test_sparse_draws_its_zero_rows_from_the_generator():
    """torch's sparse_ takes the rows to zero from the global randperm whatever ``generator`` is;
    dlmath draws them from ``generator``, so a seeded generator alone reproduces the tensor."""
    a = arr(init.sparse_(dm.empty(30, 40), 0.5, generator=gen(5)))
    dm.manual_seed(123)
    np.testing.assert_array_equal(a, arr(init.sparse_(dm.empty(30, 40), 0.5, generator=gen(5))))


def test_sparse_():
    rows, cols, sparsity = 200, 300, 0.3
    w = weight(rows, cols)
    assert init.sparse_(w, sparsity, std=0.05, generator=gen()) is w
    values = arr(w)
    zeros_per_column = (values == 0).sum(axis=0)
    assert (zeros_per_column == math.ceil(sparsity * rows)).all()
    nonzero = values[values != 0]
    assert nonzero.std() == pytest.approx(0.05, rel=0.03)


# --- the deterministic initialisers: exact values -------------------------------------------
@pytest.mark.parametrize("case", ["constant", "zeros", "ones", "eye_wide", "eye_tall", "dirac3", "dirac4",
                                  "dirac5", "dirac_groups"])
def test_deterministic_match_torch(torch, case):
    def run(lib):
        I = lib.nn.init
        t = {"eye_wide": (3, 5), "eye_tall": (5, 3), "dirac3": (4, 3, 5), "dirac4": (3, 4, 3, 3),
             "dirac5": (2, 2, 3, 2, 3), "dirac_groups": (6, 2, 3, 3)}.get(case, (4, 5))
        t = lib.full(t, 7.0, requires_grad=True)
        out = {"constant": lambda: I.constant_(t, -0.25), "zeros": lambda: I.zeros_(t),
               "ones": lambda: I.ones_(t), "dirac_groups": lambda: I.dirac_(t, groups=3)}.get(
            case, lambda: (I.eye_(t) if case.startswith("eye") else I.dirac_(t)))()
        assert out is t and t.requires_grad and t.grad_fn is None
        return t.detach().numpy()

    np.testing.assert_array_equal(run(dm), run(torch))


# --- in place on parameters, dtypes, reproducibility -------------------------------------------
RANDOM_INITS = {
    "uniform_": lambda I, t, g: I.uniform_(t, -1, 1, generator=g),
    "normal_": lambda I, t, g: I.normal_(t, 0, 1, generator=g),
    "trunc_normal_": lambda I, t, g: I.trunc_normal_(t, generator=g),
    "xavier_uniform_": lambda I, t, g: I.xavier_uniform_(t, generator=g),
    "xavier_normal_": lambda I, t, g: I.xavier_normal_(t, generator=g),
    "kaiming_uniform_": lambda I, t, g: I.kaiming_uniform_(t, a=math.sqrt(5), generator=g),
    "kaiming_normal_": lambda I, t, g: I.kaiming_normal_(t, generator=g),
    "orthogonal_": lambda I, t, g: I.orthogonal_(t, generator=g),
    "sparse_": lambda I, t, g: I.sparse_(t, 0.5, generator=g),
}


@pytest.mark.parametrize("name", sorted(RANDOM_INITS))
def test_reproducible_with_a_generator(name):
    if name == "sparse_" and AGAINST_TORCH:
        pytest.skip("torch's sparse_ draws its zero rows from the default generator (see the dlmath_only test)")
    fn = RANDOM_INITS[name]
    a = arr(fn(init, weight(20, 30), gen(7)))
    b = arr(fn(init, weight(20, 30), gen(7)))
    c = arr(fn(init, weight(20, 30), gen(8)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # dm.manual_seed makes the default generator's draws reproducible too
    dm.manual_seed(3)
    d = arr(fn(init, weight(20, 30), None))
    dm.manual_seed(3)
    np.testing.assert_array_equal(d, arr(fn(init, weight(20, 30), None)))


@pytest.mark.parametrize("name", sorted(RANDOM_INITS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_writes_a_parameter_in_place_without_recording(name, dtype):
    w = weight(6, 4, dtype=getattr(dm, dtype))
    view = w.detach()  # shares w's memory: the write goes into w's storage
    with dm.enable_grad():
        out = RANDOM_INITS[name](init, w, gen())
    assert out is w and w.requires_grad and w.grad_fn is None and w.is_leaf
    assert str(w.dtype) == str(getattr(dm, dtype)) and tuple(w.shape) == (6, 4)
    np.testing.assert_array_equal(arr(view), arr(w))
    assert np.any(arr(w) != 0)
    # the parameter still trains: a gradient reaches it
    (w * w).sum().backward()
    np.testing.assert_allclose(arr(w.grad), 2 * arr(w))


def test_kaiming_on_zero_element_tensor_warns_and_returns(torch):
    for lib in (dm, torch):
        t = lib.empty(0, 3)
        for fn in (lib.nn.init.kaiming_uniform_, lib.nn.init.kaiming_normal_):
            with pytest.warns(UserWarning, match="zero-element"):
                assert fn(t) is t


def test_orthogonal_zero_element_is_a_no_op():
    t = dm.empty(0, 3)
    assert init.orthogonal_(t) is t


def test_deprecated_names_warn(torch):
    for lib in (dm, torch):
        with pytest.warns(FutureWarning, match="deprecated"):
            lib.nn.init.uniform(lib.empty(3, 3))
        with pytest.warns(FutureWarning):
            assert lib.nn.init.eye(lib.empty(2, 2)).sum().item() == 2


# --- bad input: torch's exception types --------------------------------------------------------
ERRORS = {
    "uniform_reversed": lambda lib: lib.nn.init.uniform_(lib.empty(3), 1.0, 0.0),
    "normal_negative_std": lambda lib: lib.nn.init.normal_(lib.empty(3), 0.0, -1.0),
    "trunc_normal_reversed": lambda lib: lib.nn.init.trunc_normal_(lib.empty(3), a=2.0, b=-2.0),
    "trunc_normal_zero_std": lambda lib: lib.nn.init.trunc_normal_(lib.empty(3), std=0.0),
    "eye_1d": lambda lib: lib.nn.init.eye_(lib.empty(3)),
    "eye_3d": lambda lib: lib.nn.init.eye_(lib.empty(2, 2, 2)),
    "dirac_2d": lambda lib: lib.nn.init.dirac_(lib.empty(3, 3)),
    "dirac_groups": lambda lib: lib.nn.init.dirac_(lib.empty(4, 2, 3), groups=3),
    "orthogonal_1d": lambda lib: lib.nn.init.orthogonal_(lib.empty(4)),
    "sparse_1d": lambda lib: lib.nn.init.sparse_(lib.empty(4), 0.1),
    "xavier_1d": lambda lib: lib.nn.init.xavier_uniform_(lib.empty(4)),
    "xavier_normal_0d": lambda lib: lib.nn.init.xavier_normal_(lib.tensor(1.0)),
    "xavier_empty": lambda lib: lib.nn.init.xavier_uniform_(lib.empty(0, 0)),
    "kaiming_bad_mode": lambda lib: lib.nn.init.kaiming_uniform_(lib.empty(3, 3), mode="fan_avg"),
    "kaiming_normal_bad_mode": lambda lib: lib.nn.init.kaiming_normal_(lib.empty(3, 3), mode="in"),
    "kaiming_1d": lambda lib: lib.nn.init.kaiming_normal_(lib.empty(3)),
    "kaiming_bad_nonlinearity": lambda lib: lib.nn.init.kaiming_uniform_(lib.empty(3, 3), nonlinearity="gelu"),
    "kaiming_bad_slope": lambda lib: lib.nn.init.kaiming_uniform_(lib.empty(3, 3), a="0.1"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(torch, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_exception(torch, ERRORS[case])


@dlmath_only
def test_error_messages_name_the_shape():
    with pytest.raises(ValueError, match=r"\(3,\)"):
        init.eye_(dm.empty(3))
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_uniform_(dm.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="gelu"):
        init.calculate_gain("gelu")


@pytest.mark.parametrize("name", sorted(RANDOM_INITS))
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_random_init_of_an_integer_tensor_raises_as_torch(torch, name, dtype):
    """torch has no random kernels for integer or bool tensors: NotImplementedError, not zeros."""
    fn = RANDOM_INITS[name]
    same_exception(torch, lambda lib: fn(lib.nn.init, lib.zeros(4, 6, dtype=getattr(lib, dtype)), None))


@pytest.mark.parametrize("name", sorted(set(RANDOM_INITS) | {"eye_", "constant_", "ones_"}))
def test_init_through_a_view_writes_the_base(torch, name):
    """``init.xxx_(w[:, 2:5])`` fills that block of w and nothing else, as torch."""
    for lib in (dm, torch):
        fn = RANDOM_INITS.get(name) or (lambda I, t, g: getattr(I, name)(t, *([0.5] if name == "constant_" else [])))
        base = lib.zeros(6, 8, requires_grad=True)
        with lib.no_grad():
            view = base[:, 2:5]
        fn(lib.nn.init, view, None)
        values = base.detach().numpy()
        assert not values[:, [0, 1, 5, 6, 7]].any()
        assert values[:, 2:5].any()


@pytest.mark.parametrize("name", sorted(set(RANDOM_INITS) - {"orthogonal_"}))
def test_float16(name):
    w = RANDOM_INITS[name](init, dm.zeros(40, 50, dtype=dm.float16), gen())
    assert str(w.dtype) == str(dm.float16) and np.isfinite(arr(w)).all() and arr(w).any()


@dlmath_only
def test_orthogonal_float16():
    """torch has no half-precision QR; dlmath computes Q in float64 and rounds it."""
    w = arr(init.orthogonal_(dm.empty(30, 40, dtype=dm.float16), generator=gen()))
    np.testing.assert_allclose(w @ w.T, np.eye(30), atol=5e-3)


def test_init_on_a_parameter(torch):
    """The modules' default init: a Parameter stays a Parameter (same object, a leaf, requires grad)."""
    if not hasattr(dm.nn, "Parameter"):
        pytest.skip("dm.nn.Parameter is not there yet")
    for lib in (dm, torch):
        w = lib.nn.Parameter(lib.empty(64, 32))
        assert lib.nn.init.kaiming_uniform_(w, a=math.sqrt(5)) is w
        assert isinstance(w, lib.nn.Parameter) and w.requires_grad and w.is_leaf and w.grad_fn is None
        bound = 1 / math.sqrt(32)  # gain sqrt(2 / (1 + 5)) * sqrt(3 / fan_in): nn.Linear's weight bound
        top = float(w.detach().abs().max())
        assert 0.9 * bound < top <= bound


@pytest.mark.parametrize("name,args,dist", [
    ("uniform_", (-0.3, 0.7), scipy.stats.uniform(-0.3, 1.0)),
    ("normal_", (0.5, 2.0), scipy.stats.norm(0.5, 2.0)),
    ("trunc_normal_", (0.0, 1.0, -2.0, 2.0), scipy.stats.truncnorm(-2, 2)),            # redraw branch
    ("trunc_normal_", (0.0, 1.0, 1.0, 3.0), scipy.stats.truncnorm(1, 3)),              # accept/reject branch
    ("trunc_normal_", (1.0, 0.5, -1.0, 0.2), scipy.stats.truncnorm(-4, -1.6, loc=1.0, scale=0.5)),
])
def test_whole_distribution_kolmogorov_smirnov(name, args, dist):
    """Not just the moments: the empirical CDF of 20000 draws matches the target's (seeded, so
    the test is deterministic; a wrong sampler gives p ~ 0)."""
    values = arr(getattr(init, name)(dm.empty(20000, dtype=dm.float64), *args, generator=gen(11)))
    assert scipy.stats.kstest(values, dist.cdf).pvalue > 1e-3


def test_init_errors_name_the_function():
    cases = [(lambda: dm.nn.init.calculate_gain("gelu"), "calculate_gain: Unsupported nonlinearity gelu"),
             (lambda: dm.nn.init.kaiming_uniform_(dm.empty(3, 4), mode="fan_avg"), "kaiming init: Mode fan_avg"),
             (lambda: dm.nn.init.kaiming_normal_(dm.empty(3, 4), a=0.1, nonlinearity="swish"), "calculate_gain"),
             (lambda: dm.nn.init.normal_(dm.empty(3), std=-1.0), "normal_: normal expects std >= 0.0"),
             (lambda: dm.nn.init.uniform_(dm.empty(3), 2.0, 1.0), "uniform_: uniform_ expects")]
    for fn, text in cases:
        with pytest.raises((ValueError, RuntimeError), match=text):
            fn()
