"""Numerical stability at the extremes, why the tricks exist, and dm.autograd.shadow_float64.

Logits of +-100, +-1e4 and rows with -inf (masked positions) go through
softmax, log_softmax, logsumexp, cross_entropy and BCE with logits in float32
and float64: values and gradients equal PyTorch's, finite wherever PyTorch's
are, NaN where PyTorch gives NaN (an all -inf row through softmax). dlmath's
documented improvements are marked ``dlmath_only``.
"""

import numpy as np
import pytest

from helpers import compare_with_torch, dlmath_only, dm, to_numpy

INF = np.inf
EXTREME = np.array([
    [100.0, -100.0, 0.0, 50.0],
    [1e4, -1e4, 0.0, 1.0],
    [1e4, 1e4, -1e4, 1e4],
    [-1e4, -1e4, -1e4, -1e4],
    [-INF, 0.0, 3.0, -INF],          # masked positions
    [-INF, -INF, 100.0, -INF],
])
ALL_MASKED = np.array([[-INF, -INF, -INF], [0.0, -INF, 1.0]])
TARGETS = np.array([2, 0, 3, 1, 2, 2])


def F(lib):
    return lib.nn.functional


def _idx(v):
    from helpers import Arg
    return Arg(value=np.asarray(v), dtype="int64")


STABLE = [
    ("softmax", lambda lib, x: F(lib).softmax(x, dim=1)),
    ("log_softmax", lambda lib, x: F(lib).log_softmax(x, dim=1)),
    ("logsumexp", lambda lib, x: lib.logsumexp(x, dim=1)),
    ("bce_with_logits", lambda lib, x: F(lib).binary_cross_entropy_with_logits(
        x[:4], lib.ones_like(x[:4]) * 0.25, reduction="none")),
    ("logsigmoid", lambda lib, x: F(lib).logsigmoid(x[:4])),
    ("softplus", lambda lib, x: F(lib).softplus(x[:4])),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,fn", STABLE, ids=[s[0] for s in STABLE])
def test_extreme_logits_match_torch(name, fn, dtype, torch):
    compare_with_torch(fn, (EXTREME,), dtype=dtype, torch=torch)
    x = dm.tensor(EXTREME, dtype=getattr(dm, dtype), requires_grad=True)
    out = fn(dm, x)
    out.backward(dm.ones_like(out))
    grad = to_numpy(x.grad)[: out.shape[0]] if name != "logsumexp" else to_numpy(x.grad)
    assert np.isfinite(grad).all(), grad                       # finite gradients everywhere
    finite_rows = np.isfinite(EXTREME).all(axis=1)[: out.shape[0]]
    assert np.isfinite(to_numpy(out)[finite_rows]).all()       # finite values for finite logits


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_extreme_cross_entropy_matches_torch(dtype, reduction, torch):
    fn = lambda lib, x, t: F(lib).cross_entropy(x, t, reduction=reduction)  # noqa: E731
    compare_with_torch(fn, (EXTREME, _idx(TARGETS)), dtype=dtype, torch=torch)
    x = dm.tensor(EXTREME, dtype=getattr(dm, dtype), requires_grad=True)
    loss = fn(dm, x, dm.tensor(TARGETS))
    assert np.isfinite(to_numpy(loss)).all()
    loss.sum().backward()
    assert np.isfinite(to_numpy(x.grad)).all()
    # the target logit itself masked: the loss is +inf (the model rules the truth out), gradient finite
    compare_with_torch(fn, (EXTREME[4:], _idx([0, 1])), dtype=dtype, torch=torch)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_cross_entropy_probability_targets(dtype, torch):
    p = np.full(EXTREME[:4].shape, 0.25)
    fn = lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="none", label_smoothing=0.1)  # noqa: E731
    compare_with_torch(fn, (EXTREME[:4], p), dtype=dtype, torch=torch)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fully_masked_row_follows_torch(dtype, torch):
    """softmax / log_softmax of an all -inf row is NaN in PyTorch and in dlmath (0/0: no distribution)."""
    for fn in (lambda lib, x: F(lib).softmax(x, dim=1), lambda lib, x: F(lib).log_softmax(x, dim=1)):
        compare_with_torch(fn, (ALL_MASKED,), dtype=dtype, torch=torch)
    out = to_numpy(F(dm).softmax(dm.tensor(ALL_MASKED, dtype=getattr(dm, dtype)), dim=1))
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()


@dlmath_only
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logsumexp_all_masked_documented_difference(dtype):
    """dlmath: logsumexp of an all -inf row is -inf with gradient 0 (PyTorch: gradient NaN)."""
    x = dm.tensor(ALL_MASKED, dtype=getattr(dm, dtype), requires_grad=True)
    y = dm.logsumexp(x, dim=1)
    assert to_numpy(y)[0] == -INF
    y.sum().backward()
    g = to_numpy(x.grad)
    assert (g[0] == 0).all()
    np.testing.assert_allclose(g[1], [1 / (1 + np.e), 0, np.e / (1 + np.e)], rtol=1e-6)


@dlmath_only
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ignored_fully_masked_row_has_zero_gradient(dtype, torch):
    """A padded position (all -inf, target ignored) costs 0 and gets gradient 0; PyTorch's gradient is NaN."""
    x = dm.tensor(ALL_MASKED, dtype=getattr(dm, dtype), requires_grad=True)
    loss = F(dm).cross_entropy(x, dm.tensor([-100, 2]))
    loss.backward()
    xt = torch.tensor(ALL_MASKED, dtype=getattr(torch, dtype), requires_grad=True)
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor([-100, 2]))
    lt.backward()
    np.testing.assert_allclose(loss.item(), lt.item(), rtol=1e-6)
    assert np.isnan(xt.grad[0].numpy()).all()                  # PyTorch
    assert (to_numpy(x.grad)[0] == 0).all()                     # dlmath
    np.testing.assert_allclose(to_numpy(x.grad)[1], xt.grad[1].numpy(), rtol=1e-6)


@dlmath_only
def test_masked_classes_with_zero_target_cost_nothing(torch):
    """Probability targets: 0 * log softmax(-inf) = 0 * -inf is NaN in PyTorch, 0 in dlmath (0 log 0 = 0)."""
    z = np.array([[0.0, -INF, 1.0]])
    p = np.array([[0.5, 0.0, 0.5]])
    x, t = dm.tensor(z, requires_grad=True), dm.tensor(p, requires_grad=True)
    loss = F(dm).cross_entropy(x, t)
    loss.backward()
    expect = -(0.5 * np.log(1 / (1 + np.e)) + 0.5 * np.log(np.e / (1 + np.e)))
    np.testing.assert_allclose(loss.item(), expect, rtol=1e-6)
    assert np.isfinite(to_numpy(x.grad)).all() and np.isfinite(to_numpy(t.grad)).all()
    assert np.isnan(torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(p)).item())
    kl = F(dm).kl_div(dm.tensor([[0.0, -INF]]), dm.tensor([[1.0, 0.0]]), reduction="sum")
    assert kl.item() == 0.0


# --------------------------------------------------------- why the tricks exist ----
def test_naive_softmax_overflows_stable_does_not():
    for dtype, big in (("float32", 100.0), ("float64", 1e4)):
        z = dm.tensor([big, 0.0, -big], dtype=getattr(dm, dtype))
        with np.errstate(all="ignore"):
            naive = dm.exp(z) / dm.exp(z).sum()              # exp(big) = inf, inf / inf = NaN
        assert np.isnan(to_numpy(naive)[0])
        stable = to_numpy(F(dm).softmax(z, dim=0))           # exp(z - max z): the largest term is exp(0)
        assert np.isfinite(stable).all() and stable[0] == 1.0
        with np.errstate(all="ignore"):
            assert np.isinf(to_numpy(dm.log(dm.exp(z).sum())))
        np.testing.assert_allclose(dm.logsumexp(z, dim=0).item(), big, rtol=1e-6)


def test_naive_log_sigmoid_loses_value_and_gradient():
    z = dm.tensor([-100.0, 100.0], requires_grad=True)       # float32
    with np.errstate(all="ignore"):
        naive = dm.log(dm.sigmoid(z))                        # sigmoid(-100) = 3.7e-44 underflows to 0
        naive.sum().backward()
    assert to_numpy(naive)[0] == -INF
    assert not np.isfinite(to_numpy(z.grad)[0])              # (1 / 0) * 0: NaN
    z.grad = None
    stable = F(dm).logsigmoid(z)                             # -softplus(-z)
    stable.sum().backward()
    np.testing.assert_allclose(to_numpy(stable), [-100.0, 0.0], atol=1e-30)
    np.testing.assert_allclose(to_numpy(z.grad), [1.0, 0.0], atol=1e-40)  # sigmoid(-z)


def test_naive_cross_entropy_vs_fused():
    z = dm.tensor([[0.0, -200.0, 5.0]], requires_grad=True)  # float32; the target's probability is e^-205
    y = dm.tensor([1])
    with np.errstate(all="ignore"):
        naive = -dm.log(F(dm).softmax(z, dim=1)[0, 1])      # softmax underflows to 0: log 0 = -inf
        naive.backward()
    assert naive.item() == INF and not np.isfinite(to_numpy(z.grad)).all()
    z.grad = None
    loss = F(dm).cross_entropy(z, y)                          # -log_softmax: z_y - logsumexp(z)
    loss.backward()
    np.testing.assert_allclose(loss.item(), 205.0 + np.log1p(np.exp(-5.0)), rtol=1e-6)
    p = np.exp([-5.0, -205.0, 0.0]) / (1 + np.exp(-5.0))
    np.testing.assert_allclose(to_numpy(z.grad), [p - np.array([0, 1, 0])], atol=1e-6)  # softmax - y


def test_naive_bce_saturates_fused_does_not():
    z = dm.tensor([-200.0, 40.0], requires_grad=True)         # float32; targets 1 and 0: confidently wrong
    t = dm.tensor([1.0, 0.0])
    clamped = F(dm).binary_cross_entropy(dm.sigmoid(z), t, reduction="sum")
    clamped.backward()
    assert clamped.item() == pytest.approx(200.0)             # log clamped at -100 twice: 100 + 100
    assert not to_numpy(z.grad).any()                         # the gradient is gone: sigmoid saturated
    z.grad = None
    fused = F(dm).binary_cross_entropy_with_logits(z, t, reduction="sum")
    fused.backward()
    assert fused.item() == pytest.approx(240.0)               # the true losses, 200 and 40
    np.testing.assert_allclose(to_numpy(z.grad), [-1.0, 1.0])  # sigmoid(z) - t: full-strength signal


# ------------------------------------------------------------- shadow_float64 ----
@dlmath_only
def test_shadow_names_the_op_in_naive_log_sigmoid():
    report = dm.autograd.shadow_float64(lambda x: dm.log(dm.sigmoid(x)), dm.tensor([-100.0, 0.5, -3.0]))
    assert not report.ok and not report
    first = report.first
    assert (first.name, first.status, first.created) == ("Log", "created", True)
    assert first.nonfinite == "-inf"
    assert "Sigmoid" in first.cause and "underflowed" in first.cause
    text = str(report)
    assert "FIRST PROBLEM at op #1 Log" in text and "-inf" in text and "test_stability.py" in text
    assert report.output_rel_err == INF
    assert to_numpy(report.output64).dtype == np.float64


@dlmath_only
@pytest.mark.parametrize("fn", [
    lambda x: F(dm).logsigmoid(x),
    lambda x: F(dm).cross_entropy(x.reshape(1, -1), dm.tensor([1])),
    lambda x: F(dm).binary_cross_entropy_with_logits(x, dm.ones_like(x) * 0.5),
    lambda x: F(dm).log_softmax(x, dim=0),
], ids=["logsigmoid", "cross_entropy", "bce_with_logits", "log_softmax"])
def test_shadow_clean_for_stable_formulas(fn):
    report = dm.autograd.shadow_float64(fn, dm.tensor([-100.0, 0.5, -3.0, 80.0]))
    assert report.ok and report.first is None, str(report)
    assert "clean" in str(report) and report.output_rel_err < 1e-6


@dlmath_only
def test_shadow_created_versus_propagated():
    report = dm.autograd.shadow_float64(lambda z: dm.exp(z) / dm.exp(z).sum(), dm.tensor([100.0, 1.0]))
    names = [(r.name, r.status) for r in report.flagged]
    assert names[0] == ("Exp", "created")                     # exp(100) = inf in float32: made here
    assert ("Div", "propagated") in names                     # inf / inf = NaN: passed on
    assert [r.name for r in report.created] == ["Exp", "Exp"]


@dlmath_only
def test_shadow_finds_catastrophic_cancellation():
    var = lambda x: (x * x).mean() - x.mean() ** 2            # noqa: E731  (the textbook unstable variance)
    report = dm.autograd.shadow_float64(var, dm.tensor([1e4 + 0.1, 1e4 - 0.1]))
    assert report.first.name == "Sub" and report.first.created and report.first.nonfinite == ""
    assert "precision lost here" in report.first.detail
    assert dm.autograd.shadow_float64(lambda x: dm.var(x, correction=0), dm.tensor([1e4 + 0.1, 1e4 - 0.1])).ok


@dlmath_only
def test_shadow_restores_state():
    from dlmath.autograd import _flags
    hooks, active = list(_flags._forward_hooks), _flags.active
    with pytest.raises(ZeroDivisionError):
        dm.autograd.shadow_float64(lambda x: 1 / 0, dm.ones(2))
    assert _flags._forward_hooks == hooks and _flags.active == active
    dm.autograd.shadow_float64(lambda x: dm.exp(x), dm.ones(2))
    assert _flags._forward_hooks == hooks and _flags.active == active
    assert dm.get_default_dtype() == dm.float32
    # randomness is replayed: dropout draws the same mask in both runs
    assert dm.autograd.shadow_float64(lambda x: F(dm).dropout(x, 0.5) * 3, dm.ones(100)).ok
    # constants made inside fn follow the default dtype; numpy inputs are converted too
    report = dm.autograd.shadow_float64(lambda x, a: x * dm.tensor(0.1) + dm.tensor(a), dm.ones(3),
                                        np.ones(3, np.float32))
    assert report.ok and to_numpy(report.output64).dtype == np.float64
