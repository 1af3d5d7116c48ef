"""dm.nn.functional against torch.nn.functional: activations, linear, dropout, one_hot, losses.

Every function and option: values, dtypes, shapes and gradients against PyTorch
(float64 and float32), first derivatives against central differences and
second derivatives (grad of grad) in float64; PyTorch's reductions, weights,
ignore_index and label smoothing; errors of the same type naming the function.
"""

import warnings

import numpy as np
import pytest

from helpers import (AGAINST_TORCH, Arg, assert_raises_like_torch, compare_with_torch, dm,
                     materialize, build, numerical_vjp_check, second_order_check, to_numpy)

RNG = np.random.default_rng(7)


def _probs(shape, axis=1, rng=RNG):
    p = rng.uniform(0.1, 1.0, shape)
    return p / p.sum(axis=axis, keepdims=True)


def _idx(values):
    return Arg(value=np.asarray(values), dtype="int64")


def F(lib):
    return lib.nn.functional


# ----------------------------------------------------------------- activations ----
ACTIVATIONS = [
    ("softmax_dim1", lambda lib, x: F(lib).softmax(x, dim=1), [((3, 5),), ((2, 3, 4),)]),
    ("softmax_dim-1_dtype", lambda lib, x: F(lib).softmax(x, -1, dtype=lib.float64), [((3, 5),)]),
    ("log_softmax_dim0", lambda lib, x: F(lib).log_softmax(x, dim=0), [((4,),), ((3, 5),)]),
    ("softmin", lambda lib, x: F(lib).softmin(x, dim=-1), [((3, 5),)]),
    ("sigmoid", lambda lib, x: F(lib).sigmoid(x), [((3, 4),), ((),)]),
    ("tanh", lambda lib, x: F(lib).tanh(x), [((3, 4),)]),
    ("relu", lambda lib, x: F(lib).relu(x), [(Arg((3, 4), domain="grid"),)]),
    ("gelu", lambda lib, x: F(lib).gelu(x), [((3, 4),), (np.array([-12.0, -5.0, -0.3, 0.0, 2.0, 9.0]),)]),
    ("gelu_tanh", lambda lib, x: F(lib).gelu(x, approximate="tanh"), [((3, 4),)]),
    ("softplus", lambda lib, x: F(lib).softplus(x), [((3, 4),), (np.array([-40.0, -3.0, 0.0, 19.5, 20.5, 60.0]),)]),
    ("softplus_beta_threshold", lambda lib, x: F(lib).softplus(x, beta=2.0, threshold=3.0),
     [(np.array([-40.0, -3.0, 0.0, 1.2, 1.6, 60.0]),), ((3, 4),)]),
    ("logsigmoid", lambda lib, x: F(lib).logsigmoid(x),
     [((3, 4),), (np.array([-800.0, -40.0, -1.0, 0.0, 1.0, 40.0, 800.0]),)]),
    ("silu", lambda lib, x: F(lib).silu(x), [((3, 4),)]),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,fn,samples", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_torch(name, fn, samples, dtype, torch):
    for s in samples:
        compare_with_torch(fn, s, dtype=dtype, torch=torch)


@pytest.mark.parametrize("name,fn,samples", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_derivatives(name, fn, samples):
    for s in samples:
        args = build(dm, materialize(s))
        numerical_vjp_check(fn, args)
        if name != "relu":
            second_order_check(fn, args)


@pytest.mark.filterwarnings("ignore:Implicit dimension")
def test_softmax_implicit_dim_warns_like_torch(torch):
    for shape in [(4,), (3, 4), (2, 3, 4), (2, 3, 4, 5)]:
        compare_with_torch(lambda lib, x: F(lib).softmax(x), (shape,), torch=torch)
        compare_with_torch(lambda lib, x: F(lib).log_softmax(x), (shape,), torch=torch)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        F(dm).softmax(dm.ones(3, 4))


def test_activation_errors(torch):
    x = Arg((3, 4))
    e = assert_raises_like_torch(lambda lib: F(lib).gelu(lib.ones(3), approximate="erf"), torch=torch)
    assert "approximate" in str(e)
    for fname in ("softplus", "gelu", "logsigmoid"):
        e = assert_raises_like_torch(lambda lib: getattr(F(lib), fname)(lib.tensor([1, 2])), torch=torch)
        assert AGAINST_TORCH or fname in str(e)
    del x


def test_relu_inplace():
    x = dm.tensor([-1.0, 2.0, -3.0])
    y = F(dm).relu(x, inplace=True)
    assert y is x and to_numpy(x).tolist() == [0.0, 2.0, 0.0]


# ------------------------------------------------------- one_hot, linear, dropout ----
@pytest.mark.parametrize("args", [([0, 2, 1],), ([[0, 3], [1, 1]], 5), (2, 4), ([], 3)])
def test_one_hot_matches_torch(args, torch):
    values = np.asarray(args[0], dtype=np.int64)
    compare_with_torch(lambda lib, t, *n: F(lib).one_hot(t, *n), (_idx(values), *args[1:]), torch=torch)


@pytest.mark.parametrize("values,n", [([0, 2], 2), ([0, -1], -1), ([], -1), ([0, 1], -2)])
def test_one_hot_errors(values, n, torch):
    e = assert_raises_like_torch(
        lambda lib: F(lib).one_hot(lib.tensor(np.asarray(values, dtype=np.int64)), n), torch=torch)
    assert "lass" in str(e)
    assert_raises_like_torch(lambda lib: F(lib).one_hot(lib.tensor([0, 1], dtype=lib.int32)), torch=torch)


LINEAR = [((2, 3), (4, 3), (4,)), ((3,), (4, 3), (4,)), ((2, 5, 3), (4, 3), (4,)), ((2, 3), (4, 3)),
          ((2, 3), (3,)), ((2, 3), (4, 3), ()), ((2, 3), (4, 3), (2, 4))]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sample", LINEAR, ids=str)
def test_linear_matches_torch(sample, dtype, torch):
    compare_with_torch(lambda lib, *a: F(lib).linear(*a), sample, dtype=dtype, torch=torch)
    if dtype == "float64":
        numerical_vjp_check(lambda lib, *a: F(lib).linear(*a), build(dm, materialize(sample)))


@pytest.mark.parametrize("shapes", [((2, 3), (5, 4)), ((2, 3), (4, 3), (5,)), ((), (4, 1))], ids=str)
def test_linear_errors(shapes, torch):
    e = assert_raises_like_torch(lambda lib: F(lib).linear(*[lib.ones(s) for s in shapes]), torch=torch)
    assert AGAINST_TORCH or "linear" in str(e)
    assert_raises_like_torch(lambda lib: F(lib).linear(lib.ones(2, 3), lib.ones(4, 3, dtype=lib.float64)),
                             torch=torch)


def test_dropout_statistics_and_gradient():
    dm.manual_seed(0)
    x = dm.ones(200, 500, requires_grad=True)
    y = F(dm).dropout(x, p=0.3)
    out = to_numpy(y)
    zero = out == 0
    assert abs(zero.mean() - 0.3) < 0.005                     # Bernoulli(0.3) over 1e5 draws
    np.testing.assert_allclose(out[~zero], 1 / 0.7, rtol=1e-6)  # survivors scaled: E[y] = x
    y.sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), out)          # d y / d x = mask / (1 - p)
    dm.manual_seed(3)
    a = to_numpy(F(dm).dropout(dm.ones(50)))
    dm.manual_seed(3)
    assert np.array_equal(a, to_numpy(F(dm).dropout(dm.ones(50))))  # the default generator decides


def test_dropout_edge_cases(torch):
    x = dm.randn(3, 4)
    assert F(dm).dropout(x, 0.5, training=False) is x
    assert F(dm).dropout(x, 0.0) is x
    z = dm.randn(3, 4, requires_grad=True)
    y = F(dm).dropout(z, 1.0)
    assert not to_numpy(y).any()
    y.sum().backward()
    assert not to_numpy(z.grad).any()
    for p in (-0.1, 1.5):
        assert_raises_like_torch(lambda lib: F(lib).dropout(lib.ones(3), p), torch=torch)
    w = dm.ones(1000)
    F(dm).dropout(w, 0.5, inplace=True)
    assert 0.4 < (to_numpy(w) == 0).mean() < 0.6


# ---------------------------------------------------------------------- losses ----
W5 = Arg(value=np.array([0.2, 1.0, 2.0, 0.5, 1.5]), grad=False)
T_N = _idx([0, 4, 2, 2])
T_IGN = _idx([0, -100, 2, 3])
T_IGN3 = _idx([[1, 7, 0], [7, 7, 4]])
LOSSES = [
    # cross_entropy with class indices
    ("ce", lambda lib, x, t: F(lib).cross_entropy(x, t), ((4, 5), T_N)),
    ("ce_1d", lambda lib, x, t: F(lib).cross_entropy(x, t), ((5,), _idx(3))),
    ("ce_1d_target1", lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="none"),  # torch's backward fails
     (Arg((5,), grad=False), _idx([3]))),
    ("ce_3d", lambda lib, x, t: F(lib).cross_entropy(x, t), ((2, 5, 3), _idx([[0, 1, 4], [2, 2, 3]]))),
    ("ce_4d_none", lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="none"),
     ((2, 5, 2, 3), _idx(RNG.integers(0, 5, (2, 2, 3))))),
    ("ce_5d_sum", lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="sum"),
     ((2, 3, 2, 1, 2), _idx(RNG.integers(0, 3, (2, 2, 1, 2))))),
    ("ce_weight", lambda lib, x, t, w: F(lib).cross_entropy(x, t, weight=w), ((4, 5), T_N, W5)),
    ("ce_weight_none", lambda lib, x, t, w: F(lib).cross_entropy(x, t, w, reduction="none"), ((4, 5), T_N, W5)),
    ("ce_ignore", lambda lib, x, t: F(lib).cross_entropy(x, t), ((4, 5), T_IGN)),
    ("ce_ignore_none", lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="none"), ((4, 5), T_IGN)),
    ("ce_ignore_custom_3d", lambda lib, x, t, w: F(lib).cross_entropy(x, t, w, ignore_index=7),
     ((2, 5, 3), T_IGN3, W5)),
    ("ce_smooth", lambda lib, x, t: F(lib).cross_entropy(x, t, label_smoothing=0.1), ((4, 5), T_N)),
    ("ce_smooth_all", lambda lib, x, t, w: F(lib).cross_entropy(x, t, w, label_smoothing=0.3, ignore_index=7),
     ((2, 5, 3), T_IGN3, W5)),
    ("ce_smooth_none", lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="none", label_smoothing=0.2),
     ((4, 5), T_IGN)),
    ("ce_smooth_sum", lambda lib, x, t, w: F(lib).cross_entropy(x, t, w, reduction="sum", label_smoothing=0.2),
     ((4, 5), T_IGN, W5)),
    ("ce_smooth_negative_ignored", lambda lib, x, t: F(lib).cross_entropy(x, t, label_smoothing=-0.5),
     ((4, 5), T_N)),
    ("ce_legacy_flags", lambda lib, x, t: F(lib).cross_entropy(x, t, size_average=False), ((4, 5), T_N)),
    ("ce_uint8_target", lambda lib, x, t: F(lib).cross_entropy(x, t),
     ((4, 5), Arg(value=np.array([0, 4, 2, 1]), dtype="uint8"))),
    # cross_entropy with class probabilities (the target gradient is compared too)
    ("ce_probs", lambda lib, x, p: F(lib).cross_entropy(x, p), ((4, 5), _probs((4, 5)))),
    ("ce_probs_1d", lambda lib, x, p: F(lib).cross_entropy(x, p), ((5,), _probs((5,), 0))),
    ("ce_probs_3d_none", lambda lib, x, p: F(lib).cross_entropy(x, p, reduction="none"),
     ((2, 5, 3), _probs((2, 5, 3)))),
    ("ce_probs_weight_smooth", lambda lib, x, p, w: F(lib).cross_entropy(x, p, w, label_smoothing=0.2),
     ((4, 5), _probs((4, 5)), W5)),
    ("ce_probs_weight_sum", lambda lib, x, p, w: F(lib).cross_entropy(x, p, w, reduction="sum"),
     ((2, 5, 3), _probs((2, 5, 3)), W5)),
    # nll_loss
    ("nll", lambda lib, x, t: F(lib).nll_loss(F(lib).log_softmax(x, 1), t), ((4, 5), T_N)),
    ("nll_raw_weight_ignore", lambda lib, x, t, w: F(lib).nll_loss(x, t, w, ignore_index=7),
     ((2, 5, 3), T_IGN3, W5)),
    ("nll_none", lambda lib, x, t: F(lib).nll_loss(x, t, reduction="none"), ((4, 5), T_IGN)),
    ("nll_1d", lambda lib, x, t: F(lib).nll_loss(x, t), ((5,), _idx(1))),
    # binary cross-entropy on probabilities and on logits
    ("bce", lambda lib, x, t: F(lib).binary_cross_entropy(x, t),
     (RNG.uniform(0.05, 0.95, (3, 4)), RNG.uniform(0, 1, (3, 4)))),
    ("bce_weight_none", lambda lib, x, t, w: F(lib).binary_cross_entropy(x, t, w, reduction="none"),
     (RNG.uniform(0.05, 0.95, (3, 4)), RNG.uniform(0, 1, (3, 4)), Arg(value=RNG.uniform(0, 2, (4,)), grad=False))),
    ("bce_sum", lambda lib, x, t: F(lib).binary_cross_entropy(x, t, reduction="sum"),
     (RNG.uniform(0.05, 0.95, (5,)), RNG.uniform(0, 1, (5,)))),
    ("bce_logits", lambda lib, z, t: F(lib).binary_cross_entropy_with_logits(z, t),
     ((3, 4), RNG.uniform(0, 1, (3, 4)))),
    ("bce_logits_pos_weight", lambda lib, z, t, pw: F(lib).binary_cross_entropy_with_logits(z, t, pos_weight=pw),
     ((3, 4), RNG.uniform(0, 1, (3, 4)), Arg(value=RNG.uniform(0.5, 3, (4,)), grad=False))),
    ("bce_logits_all_none", lambda lib, z, t, w, pw: F(lib).binary_cross_entropy_with_logits(
        z, t, w, reduction="none", pos_weight=pw),
     ((2, 3, 4), RNG.uniform(0, 1, (2, 3, 4)), Arg((3, 1), grad=False), Arg((4,), "positive", grad=False))),
    ("bce_logits_sum_weight", lambda lib, z, t, w: F(lib).binary_cross_entropy_with_logits(
        z, t, weight=w, reduction="sum"), ((3, 4), RNG.uniform(0, 1, (3, 4)), Arg((4,), grad=False))),
    # regression losses
    ("mse", lambda lib, x, y: F(lib).mse_loss(x, y), ((3, 4), (3, 4))),
    ("mse_none", lambda lib, x, y: F(lib).mse_loss(x, y, reduction="none"), ((3, 4), (3, 4))),
    ("mse_weight", lambda lib, x, y, w: F(lib).mse_loss(x, y, weight=w), ((3, 4), (3, 4), Arg((3, 4), "positive"))),
    ("mse_weight_sum", lambda lib, x, y, w: F(lib).mse_loss(x, y, reduction="sum", weight=w),
     ((3, 4), (3, 4), (3, 4))),
    ("l1", lambda lib, x, y: F(lib).l1_loss(x, y), (Arg((3, 4), "grid"), Arg((3, 4), "grid_shift"))),
    ("l1_sum", lambda lib, x, y: F(lib).l1_loss(x, y, reduction="sum"), (Arg((5,), "grid"), Arg((5,), "grid_shift"))),
    ("l1_weight_none", lambda lib, x, y, w: F(lib).l1_loss(x, y, reduction="none", weight=w),
     (Arg((5,), "grid"), Arg((5,), "grid_shift"), (5,))),
    # kl_div: input log-probabilities, target probabilities (or log-probabilities)
    ("kl_batchmean", lambda lib, x, t: F(lib).kl_div(F(lib).log_softmax(x, 1), t, reduction="batchmean"),
     ((4, 5), _probs((4, 5)))),
    ("kl_sum_log_target", lambda lib, x, t: F(lib).kl_div(x, t, reduction="sum", log_target=True), ((4, 5), (4, 5))),
    ("kl_none", lambda lib, x, t: F(lib).kl_div(x, t, reduction="none"), ((4, 5), _probs((4, 5)))),
    ("kl_batchmean_0d", lambda lib, x, t: F(lib).kl_div(x, t, reduction="batchmean"), ((), Arg((), "positive"))),
]
NO_SECOND = {"l1", "l1_sum", "l1_weight_none"}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,fn,sample", LOSSES, ids=[c[0] for c in LOSSES])
def test_loss_matches_torch(name, fn, sample, dtype, torch):
    compare_with_torch(fn, sample, dtype=dtype, torch=torch)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name,fn,sample", LOSSES, ids=[c[0] for c in LOSSES])
def test_loss_derivatives(name, fn, sample):
    args = build(dm, materialize(sample))
    numerical_vjp_check(fn, args)
    if name not in NO_SECOND:
        second_order_check(fn, args)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("extra", [{}, {"weight": True}, {"label_smoothing": 0.1}], ids=str)
def test_every_target_ignored(reduction, extra, torch):
    """'mean' of nothing is NaN (0 / 0, as PyTorch), 'sum' is 0, 'none' is zeros."""
    w = W5 if extra.get("weight") else None
    ls = extra.get("label_smoothing", 0.0)
    fn = (lambda lib, x, t, w: F(lib).cross_entropy(x, t, w, reduction=reduction, label_smoothing=ls)) if w \
        else (lambda lib, x, t: F(lib).cross_entropy(x, t, reduction=reduction, label_smoothing=ls))
    sample = ((3, 5), _idx([-100, -100, -100])) + ((w,) if w else ())
    compare_with_torch(fn, sample, torch=torch)
    out = fn(dm, *build(dm, materialize(sample)))
    if reduction == "mean":
        assert np.isnan(to_numpy(out))
    else:
        assert not to_numpy(out).any()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_empty_batch(reduction, torch):
    for fn in (lambda lib, x: F(lib).cross_entropy(x, lib.zeros(0, dtype=lib.int64), reduction=reduction),
               lambda lib, x: F(lib).cross_entropy(x, lib.zeros(0, 5), reduction=reduction)):
        compare_with_torch(fn, ((0, 5),), torch=torch)
    compare_with_torch(lambda lib, x, y: F(lib).mse_loss(x, y, reduction=reduction), ((0,), (0,)), torch=torch)


def test_weighted_mean_divides_by_weights_of_kept_targets():
    x = dm.tensor(RNG.standard_normal((4, 3)))
    t = dm.tensor([0, 2, -100, 2])
    w = dm.tensor([1.0, 2.0, 3.0], dtype=dm.float64)
    logp = to_numpy(F(dm).log_softmax(x, 1))
    per = [-logp[i, c] * [1.0, 2.0, 3.0][c] for i, c in enumerate([0, 2, None, 2]) if c is not None]
    expect = sum(per) / (1.0 + 3.0 + 3.0)
    np.testing.assert_allclose(to_numpy(F(dm).cross_entropy(x, t, weight=w)), expect, rtol=1e-12)


def test_clean_gradients():
    """d CE / dz = (softmax(z) - onehot(y)) / N and d BCE / dz = (sigmoid(z) - y) / n, at z = 0 too."""
    z = dm.tensor(np.concatenate([RNG.standard_normal((5, 4)) * 3, np.zeros((1, 4))]), requires_grad=True)
    y = dm.tensor([0, 3, 1, 1, 2, 0])
    F(dm).cross_entropy(z, y).backward()
    expect = (to_numpy(F(dm).softmax(z, 1)) - np.eye(4)[to_numpy(y)]) / 6
    np.testing.assert_allclose(to_numpy(z.grad), expect, atol=1e-15)
    z.grad = None
    t = dm.tensor(RNG.uniform(0, 1, (6, 4)))
    F(dm).binary_cross_entropy_with_logits(z, t, reduction="sum").backward()
    np.testing.assert_allclose(to_numpy(z.grad), to_numpy(dm.sigmoid(z)) - to_numpy(t), atol=1e-15)
    assert np.allclose(to_numpy(z.grad)[-1], 0.5 - to_numpy(t)[-1])  # the kinks of max and |z| cancel at 0


def _err(lib, *, x=(3, 5), t=None, t_dtype=None, **kw):
    fname = kw.pop("fn", "cross_entropy")
    xv = lib.randn(*x) if isinstance(x, tuple) else x
    tv = lib.tensor(t) if t_dtype is None else lib.tensor(t, dtype=getattr(lib, t_dtype))
    return getattr(F(lib), fname)(xv, tv, **kw)


ERRORS = [  # (kwargs for _err, text dlmath's message must contain)
    (dict(t=[0, 5, 1]), "Target 5 is out of bounds"),
    (dict(t=[0, -3, 1]), "Target -3"),
    (dict(t=[0, 1]), "batch_size"),
    (dict(x=(2, 3, 4), t=[[0, 1, 2, 0, 0]] * 2), "Expected target size"),
    (dict(x=(2, 3, 4, 5), t=np.zeros((2, 4, 4), np.int64)), "(2, 3, 4, 5)"),
    (dict(t=[0, 1, 1], t_dtype="int32"), "Long or Byte"),
    (dict(t=[0.0, 1.0, 1.0]), "Long or Byte"),
    (dict(t=np.zeros((3, 5), np.int64)), "floating point type"),
    (dict(t=np.zeros((3, 2), np.int64)), "multi-target"),
    (dict(x=(4,), t=[1, 2]), "1D target"),
    (dict(t=[0, 1, 1], label_smoothing=1.5), "label_smoothing"),
    (dict(t=np.full((3, 5), 0.2), ignore_index=1), "ignore_index"),
    (dict(t=[0, 1, 1], reduction="avg"), "avg"),
    (dict(fn="nll_loss", x=(3, 5), t=[0, 1, 1], reduction="elementwise"), "reduction"),
    (dict(fn="nll_loss", x=(3, 5), t=[0, 9, 1]), "Target 9"),
    (dict(fn="binary_cross_entropy", t=np.full((3, 4), 0.5)), "target size"),
    (dict(fn="binary_cross_entropy_with_logits", t=np.full((3, 4), 0.5)), "Target size"),
    (dict(fn="binary_cross_entropy_with_logits", x=(3, 5), t=np.ones((3, 5), np.int64)), "can't be cast"),
    (dict(fn="kl_div", x=(3, 5), t=np.ones((3, 5), np.int64), reduction="sum"), "Integral"),
    (dict(fn="kl_div", x=(3, 5), t=np.ones((3, 5)), reduction="bad"), "bad"),
    (dict(fn="mse_loss", x=(3,), t=np.ones(4)), "(3,)"),
    (dict(fn="mse_loss", x=(3,), t=np.ones(3), weight=None, reduction="x"), "x is not a valid"),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("kw,text", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_loss_errors_like_torch(kw, text, torch):
    e = assert_raises_like_torch(lambda lib: _err(lib, **dict(kw)), torch=torch)
    if not AGAINST_TORCH:
        assert text in str(e), str(e)


def test_weight_errors_like_torch(torch):
    x = lambda lib: lib.randn(3, 5)  # noqa: E731
    t = lambda lib: lib.tensor([0, 1, 2])  # noqa: E731
    cases = [lambda lib: F(lib).cross_entropy(x(lib), t(lib), weight=lib.ones(4)),
             lambda lib: F(lib).cross_entropy(x(lib), lib.rand(3, 5), weight=lib.ones(4)),
             lambda lib: F(lib).nll_loss(x(lib), t(lib), weight=lib.ones(5, dtype=lib.float64)),
             lambda lib: F(lib).nll_loss(x(lib), t(lib), weight=lib.ones(5, requires_grad=True)).backward(),
             lambda lib: F(lib).binary_cross_entropy(lib.rand(3), lib.rand(3), weight=lib.ones(2)),
             lambda lib: F(lib).binary_cross_entropy(lib.rand(3), lib.rand(3).double()),
             lambda lib: F(lib).binary_cross_entropy(lib.tensor([1.5]), lib.tensor([1.0])),
             lambda lib: F(lib).binary_cross_entropy(lib.tensor([0.5]), lib.tensor([2.0])),
             lambda lib: F(lib).binary_cross_entropy_with_logits(lib.rand(3), lib.rand(3), pos_weight=lib.ones(2)),
             lambda lib: F(lib).mse_loss(lib.ones(3), lib.ones(3), weight=lib.ones(1)),
             lambda lib: F(lib).cross_entropy(lib.ones(3, 5, dtype=lib.int64), t(lib)),
             lambda lib: F(lib).nll_loss(lib.tensor(1.0), lib.tensor(0))]
    for case in cases:
        assert_raises_like_torch(case, torch=torch)


def test_warnings_like_torch():
    with pytest.warns(UserWarning, match="batchmean"):
        F(dm).kl_div(dm.zeros(3), dm.ones(3))
    with pytest.warns(UserWarning, match="different to the input size"):
        F(dm).mse_loss(dm.ones(3, 1), dm.ones(3))
    with pytest.warns(UserWarning, match="reduction='sum'"):
        F(dm).nll_loss(dm.zeros(2, 3), dm.tensor([0, 1]), size_average=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F(dm).kl_div(dm.zeros(3), dm.ones(3), reduction="batchmean")


def test_mle_cross_entropy_recovers_categorical():
    """Minimising cross-entropy on samples of Categorical(p) is maximum likelihood: softmax(z) -> p."""
    p = np.array([0.5, 0.25, 0.15, 0.07, 0.03])
    n = 4000
    y = np.random.default_rng(2024).choice(len(p), size=n, p=p)
    target = dm.tensor(y)
    z = dm.zeros(len(p), dtype=dm.float64, requires_grad=True)
    for _ in range(300):
        loss = F(dm).cross_entropy(z.expand(n, len(p)), target)
        z.grad = None
        loss.backward()
        with dm.no_grad():
            z -= 2.0 * z.grad
    q = to_numpy(F(dm).softmax(z, 0))
    freq = np.bincount(y, minlength=len(p)) / n
    np.testing.assert_allclose(q, freq, atol=1e-6)          # the MLE is the empirical frequency
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(q - p) < 4 * se), (q, p, se)       # within sampling error of the truth
    entropy = -(freq * np.log(freq)).sum()
    np.testing.assert_allclose(loss.item(), entropy, rtol=1e-6)  # the minimum is H(empirical)
