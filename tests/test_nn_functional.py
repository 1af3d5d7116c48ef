"""dm.nn.functional's training-stack functions against torch.nn.functional (issue #10).

Activations (leaky_relu, elu, selu, glu), normalisation (layer_norm, rms_norm, batch_norm,
normalize), similarity (cosine_similarity, pairwise_distance), embedding, bilinear, pad,
scaled_dot_product_attention and the regression/ranking losses: values, dtypes and
gradients against PyTorch in float64 and float32 for each option, first derivatives against
central differences and second derivatives in float64, edge cases (fully masked attention
rows, eps, padding_idx, running statistics) and errors of torch's type.
"""

import warnings

import numpy as np
import pytest

from helpers import (AGAINST_TORCH, Arg, assert_raises_like_torch, dlmath_only, build, compare_with_torch, dm, grads_like_torch,
                     materialize, numerical_vjp_check, second_order_check, to_numpy)


def F(lib):
    return lib.nn.functional


def _idx(values):
    return Arg(value=np.asarray(values), dtype="int64")


def _bool(values):
    return Arg(value=np.asarray(values, dtype=bool), dtype="bool")


def _const(values):
    return Arg(value=np.asarray(values, dtype=np.float64), grad=False)


RNG = np.random.default_rng(11)
_MASK = RNG.random((3, 5)) > 0.4
_MASK[:, 0] = True
_MASK_DEAD = _MASK.copy()
_MASK_DEAD[1] = False
_FMASK = np.where(_MASK_DEAD, RNG.standard_normal((3, 5)), -np.inf)
_PAIRS = np.array([1.0, -1.0, 1.0, -1.0])

# (name, fn(lib, *args), samples, derivative check: "twice" (first and second order against finite
# differences), "once", or "none" where the gradient is torch's by design and not the derivative of the
# value (padding row, scale_grad_by_freq, a clamp taken under no_grad) or the samples sit on a kink)
CASES = [
    ("leaky_relu", lambda lib, x: F(lib).leaky_relu(x), [(Arg((3, 4), domain="grid"),)], "twice"),
    ("leaky_relu_slope", lambda lib, x: F(lib).leaky_relu(x, 0.2), [(np.array([-2.0, -0.5, 0.0, 0.7, 3.0]),)], "none"),
    ("elu", lambda lib, x: F(lib).elu(x), [(Arg((3, 4), domain="grid"),), (np.array([-50.0, -1.0, 0.0, 1.0, 100.0]),)],
     "once"),
    ("elu_alpha", lambda lib, x: F(lib).elu(x, alpha=0.5), [(Arg((3, 4), domain="grid"),)], "twice"),
    ("selu", lambda lib, x: F(lib).selu(x), [(Arg((3, 4), domain="grid"),)], "twice"),
    ("glu", lambda lib, x: F(lib).glu(x), [((3, 4),)], "twice"),
    ("glu_dim0", lambda lib, x: F(lib).glu(x, 0), [((4, 3),), ((2, 4, 3),)], "twice"),
    ("layer_norm", lambda lib, x: F(lib).layer_norm(x, (4,)), [((3, 4),), ((2, 3, 4),)], "twice"),
    ("layer_norm_affine", lambda lib, x, w, b: F(lib).layer_norm(x, [3, 4], w, b, eps=1e-3),
     [((2, 3, 4), (3, 4), (3, 4))], "twice"),
    ("layer_norm_list_shape", lambda lib, x, w: F(lib).layer_norm(x, [5], w), [((2, 5), (5,))], "twice"),
    ("rms_norm", lambda lib, x: F(lib).rms_norm(x, [4]), [((3, 4),)], "twice"),
    ("rms_norm_float64_weight", lambda lib, x, w: F(lib).rms_norm(x.float(), [4], w).double(),
     [((3, 4), (4,))], "none"),
    ("rms_norm_weight_eps", lambda lib, x, w: F(lib).rms_norm(x, (3, 4), w, eps=1e-2), [((2, 3, 4), (3, 4))], "twice"),
    ("batch_norm_eval", lambda lib, x, m, v, w, b: F(lib).batch_norm(x, m, v, w, b),
     [((4, 3), _const([0.1, -0.2, 0.3]), _const([1.5, 0.5, 2.0]), (3,), (3,))], "twice"),
    ("batch_norm_train", lambda lib, x, w, b: F(lib).batch_norm(x, None, None, w, b, training=True),
     [((4, 3), (3,), (3,)), ((2, 3, 5), (3,), (3,)), ((2, 3, 2, 2), (3,), (3,))], "twice"),
    ("batch_norm_train_noaffine", lambda lib, x: F(lib).batch_norm(x, None, None, training=True, eps=1e-3),
     [((5, 2, 3),)], "twice"),
    ("normalize", lambda lib, x: F(lib).normalize(x), [((3, 4),)], "twice"),
    ("normalize_p1_dim", lambda lib, x: F(lib).normalize(x, p=1.0, dim=-1), [(Arg((3, 4), domain="nonzero"),)], "twice"),
    ("normalize_zero_row", lambda lib, x: F(lib).normalize(x, dim=1),
     [(np.array([[0.0, 0.0, 0.0], [1.0, 2.0, -2.0]]),)], "none"),
    ("cosine_similarity", lambda lib, a, b: F(lib).cosine_similarity(a, b), [((3, 4), (3, 4)), ((3, 4), (1, 4))],
     "twice"),
    ("cosine_similarity_dim_eps", lambda lib, a, b: F(lib).cosine_similarity(a, b, dim=-1, eps=0.5),
     [((2, 3, 4), (2, 3, 4))], "twice"),
    ("cosine_similarity_clamped_norm", lambda lib, a, b: F(lib).cosine_similarity(a, b, dim=-1, eps=0.5),
     [(np.array([[1e-3, 0.0, 2e-3]]), (1, 3)), (np.zeros((2, 3)), (2, 3))], "none"),
    ("pairwise_distance", lambda lib, a, b: F(lib).pairwise_distance(a, b), [((3, 4), (3, 4)), ((3, 4), (4,))], "twice"),
    ("pairwise_distance_p1_keepdim", lambda lib, a, b: F(lib).pairwise_distance(a, b, p=1.0, keepdim=True),
     [((3, 4), (3, 4))], "once"),
    ("pairwise_distance_p3_eps", lambda lib, a, b: F(lib).pairwise_distance(a, b, p=3.0, eps=1e-3),
     [((2, 3, 4), (2, 3, 4))], "twice"),
    ("embedding", lambda lib, i, w: F(lib).embedding(i, w), [(_idx([[0, 2, 2], [4, 1, 0]]), (5, 3))], "twice"),
    ("embedding_padding", lambda lib, i, w: F(lib).embedding(i, w, padding_idx=2),
     [(_idx([[0, 2, 2], [4, 1, 0]]), (5, 3))], "none"),
    ("embedding_padding_negative", lambda lib, i, w: F(lib).embedding(i, w, padding_idx=-1),
     [(_idx([4, 1, 4, 3]), (5, 3))], "none"),
    ("embedding_scale_grad", lambda lib, i, w: F(lib).embedding(i, w, scale_grad_by_freq=True),
     [(_idx([[0, 2, 2], [4, 2, 0]]), (5, 3))], "none"),
    ("bilinear", lambda lib, a, b, w, c: F(lib).bilinear(a, b, w, c), [((4, 3), (4, 2), (5, 3, 2), (5,))], "twice"),
    ("bilinear_nobias_batch", lambda lib, a, b, w: F(lib).bilinear(a, b, w), [((2, 4, 3), (2, 4, 2), (5, 3, 2))],
     "twice"),
    ("pad_constant", lambda lib, x: F(lib).pad(x, (1, 2)), [((2, 3),)], "twice"),
    ("pad_constant_value_2d", lambda lib, x: F(lib).pad(x, (1, 0, 2, 1), value=-1.5), [((2, 3, 4),)], "twice"),
    ("pad_constant_negative", lambda lib, x: F(lib).pad(x, (-1, 2, 1, -1)), [((2, 3, 4),)], "twice"),
    ("pad_reflect_1d", lambda lib, x: F(lib).pad(x, (2, 1), mode="reflect"), [((2, 3, 4),), ((3, 4),)], "twice"),
    ("pad_reflect_2d", lambda lib, x: F(lib).pad(x, (1, 2, 2, 1), mode="reflect"), [((1, 2, 3, 4),)], "twice"),
    ("pad_replicate", lambda lib, x: F(lib).pad(x, (3, 1), mode="replicate"), [((2, 3, 4),)], "twice"),
    ("pad_replicate_3d", lambda lib, x: F(lib).pad(x, (1, 1, 0, 2, 1, 0), mode="replicate"), [((1, 2, 2, 3, 2),)],
     "twice"),
    ("pad_circular", lambda lib, x: F(lib).pad(x, (2, 1, 1, 1), mode="circular"), [((1, 2, 3, 4),)], "twice"),
    ("sdpa", lambda lib, q, k, v: F(lib).scaled_dot_product_attention(q, k, v),
     [((2, 3, 4), (2, 5, 4), (2, 5, 6)), ((1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4)), ((3, 4), (5, 4), (5, 2))], "twice"),
    ("sdpa_causal", lambda lib, q, k, v: F(lib).scaled_dot_product_attention(q, k, v, is_causal=True),
     [((2, 4, 4), (2, 4, 4), (2, 4, 3)), ((2, 3, 4), (2, 5, 4), (2, 5, 3))], "twice"),
    ("sdpa_scale", lambda lib, q, k, v: F(lib).scaled_dot_product_attention(q, k, v, scale=0.3),
     [((2, 3, 4), (2, 5, 4), (2, 5, 6))], "twice"),
    ("sdpa_bool_mask", lambda lib, q, k, v, m: F(lib).scaled_dot_product_attention(q, k, v, attn_mask=m),
     [((2, 3, 4), (2, 5, 4), (2, 5, 6), _bool(_MASK))], "twice"),
    ("sdpa_bool_mask_dead_row", lambda lib, q, k, v, m: F(lib).scaled_dot_product_attention(q, k, v, attn_mask=m),
     [((2, 3, 4), (2, 5, 4), (2, 5, 6), _bool(_MASK_DEAD))], "twice"),
    ("sdpa_float_mask_dead_row", lambda lib, q, k, v, m: F(lib).scaled_dot_product_attention(q, k, v, attn_mask=m),
     [((2, 3, 4), (2, 5, 4), (2, 5, 6), _const(_FMASK))], "twice"),
    ("sdpa_float_mask_grad", lambda lib, q, k, v, m: F(lib).scaled_dot_product_attention(q, k, v, attn_mask=m),
     [((2, 3, 4), (2, 5, 4), (2, 5, 6), (3, 5))], "twice"),
    ("sdpa_gqa", lambda lib, q, k, v: F(lib).scaled_dot_product_attention(q, k, v, enable_gqa=True),
     [((1, 4, 3, 2), (1, 2, 5, 2), (1, 2, 5, 3))], "twice"),
    # losses
    ("smooth_l1", lambda lib, x, t: F(lib).smooth_l1_loss(x, t), [(Arg((3, 4), domain="grid"), (3, 4))], "twice"),
    ("smooth_l1_beta_none", lambda lib, x, t: F(lib).smooth_l1_loss(x, t, beta=0.5, reduction="none"),
     [(Arg((3, 4), domain="grid"), (3, 4))], "twice"),
    ("smooth_l1_beta0_sum", lambda lib, x, t: F(lib).smooth_l1_loss(x, t, beta=0.0, reduction="sum"),
     [(Arg((3, 4), domain="grid"), (3, 4))], "once"),
    ("huber", lambda lib, x, t: F(lib).huber_loss(x, t), [(Arg((3, 4), domain="grid"), (3, 4))], "twice"),
    ("huber_delta_sum", lambda lib, x, t: F(lib).huber_loss(x, t, delta=0.3, reduction="sum"),
     [(Arg((3, 4), domain="grid"), (3, 4))], "twice"),
    ("huber_weight_none", lambda lib, x, t, w: F(lib).huber_loss(x, t, reduction="none", weight=w),
     [(Arg((3, 4), domain="grid"), (3, 4), Arg((3, 4), domain="positive"))], "twice"),
    ("huber_weight_mean", lambda lib, x, t, w: F(lib).huber_loss(x, t, weight=w),
     [(Arg((3, 4), domain="grid"), (3, 4), Arg((3, 4), domain="positive"))], "twice"),
    ("margin_ranking", lambda lib, a, b, y: F(lib).margin_ranking_loss(a, b, y),
     [(Arg((4,), domain="grid"), Arg((4,), domain="grid_shift"), _const(_PAIRS))], "once"),
    ("margin_ranking_sum", lambda lib, a, b, y: F(lib).margin_ranking_loss(a, b, y, reduction="sum"),
     [(Arg((4,), domain="grid"), Arg((4,), domain="grid_shift"), _const(_PAIRS))], "once"),
    ("smooth_l1_legacy_size_average", lambda lib, x, t: F(lib).smooth_l1_loss(x, t, size_average=False),
     [(Arg((3, 4), domain="grid"), (3, 4))], "once"),
    ("poisson_nll_legacy_reduce", lambda lib, x, t: F(lib).poisson_nll_loss(x, t, reduce=False),
     [((3, 4), _const(RNG.poisson(2.0, (3, 4))))], "once"),
    ("margin_ranking_margin_none", lambda lib, a, b, y: F(lib).margin_ranking_loss(a, b, y, margin=0.5,
                                                                                   reduction="none"),
     [(Arg((4,), domain="grid"), Arg((4,), domain="grid_shift"), _const(_PAIRS))], "once"),
    ("cosine_embedding", lambda lib, a, b, y: F(lib).cosine_embedding_loss(a, b, y),
     [((4, 3), (4, 3), _const(_PAIRS))], "twice"),
    ("cosine_embedding_margin_sum", lambda lib, a, b, y: F(lib).cosine_embedding_loss(a, b, y, margin=-0.5,
                                                                                      reduction="sum"),
     [((4, 3), (4, 3), _const(_PAIRS))], "twice"),
    ("cosine_embedding_1d", lambda lib, a, b, y: F(lib).cosine_embedding_loss(a, b, y, reduction="none"),
     [((3,), (3,), _const(np.array(-1.0)))], "twice"),
    ("poisson_nll", lambda lib, x, t: F(lib).poisson_nll_loss(x, t), [((3, 4), _const(RNG.poisson(2.0, (3, 4))))],
     "twice"),
    ("poisson_nll_rate_full", lambda lib, x, t: F(lib).poisson_nll_loss(x, t, log_input=False, full=True,
                                                                         reduction="none"),
     [(Arg((3, 4), domain="positive"), _const(RNG.poisson(2.0, (3, 4))))], "twice"),
    ("poisson_nll_full_sum", lambda lib, x, t: F(lib).poisson_nll_loss(x, t, full=True, reduction="sum"),
     [((3, 4), _const(RNG.poisson(2.0, (3, 4))))], "twice"),
    ("gaussian_nll", lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v),
     [((3, 4), (3, 4), Arg((3, 4), domain="positive")), ((3, 4), (3, 4), Arg((3,), domain="positive")),
      ((3, 4), (3, 4), Arg((3, 1), domain="positive"))], "twice"),
    ("gaussian_nll_full_none", lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v, full=True, reduction="none"),
     [((3, 4), (3, 4), Arg((3, 4), domain="positive"))], "twice"),
    ("gaussian_nll_clamped_var", lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v, eps=0.1, reduction="sum"),
     [((4,), (4,), np.array([0.01, 0.5, 0.05, 2.0]))], "none"),
    ("gaussian_nll_float_var", lambda lib, x, t: F(lib).gaussian_nll_loss(x, t, 0.7), [((3, 4), (3, 4))], "twice"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,fn,samples,check", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(name, fn, samples, check, dtype, torch):
    for s in samples:
        compare_with_torch(fn, s, dtype=dtype, torch=torch)


@pytest.mark.parametrize("name,fn,samples,check", CASES, ids=[c[0] for c in CASES])
def test_derivatives(name, fn, samples, check):
    if check == "none":
        pytest.skip("the gradient is torch's by design, not the derivative of the value (see CASES)")
    for s in samples:
        args = build(dm, materialize(s))
        numerical_vjp_check(fn, args)
        if check == "twice" and not (AGAINST_TORCH and name.startswith("sdpa")):
            # (torch's CPU attention has no second derivative; dlmath's has)
            second_order_check(fn, args)


# ------------------------------------------------------------------------ edge cases ----
def test_batch_norm_running_stats_like_torch(torch):
    x = np.random.default_rng(0).standard_normal((6, 3, 2))
    for mod in (dm, torch):
        rm = mod.tensor([0.5, -0.5, 0.0], dtype=mod.float64)
        rv = mod.tensor([1.0, 2.0, 0.5], dtype=mod.float64)
        xt = mod.tensor(x, requires_grad=True)
        y = F(mod).batch_norm(xt, rm, rv, training=True, momentum=0.3)
        y.sum().backward()
        assert not rm.requires_grad and not rv.requires_grad
        if mod is dm:
            ours = (to_numpy(rm), to_numpy(rv), to_numpy(y))
        else:
            for a, b in zip(ours, (to_numpy(rm), to_numpy(rv), to_numpy(y))):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    # the running variance is unbiased: n / (n - 1) times the batch's
    rm, rv = dm.zeros(3, dtype=dm.float64), dm.zeros(3, dtype=dm.float64)
    F(dm).batch_norm(dm.tensor(x), rm, rv, training=True, momentum=1.0)
    np.testing.assert_allclose(to_numpy(rv), x.transpose(1, 0, 2).reshape(3, -1).var(1, ddof=1))


def test_batch_norm_errors(torch):
    assert_raises_like_torch(lambda lib: F(lib).batch_norm(lib.ones(1, 3), None, None, training=True), torch=torch)
    assert_raises_like_torch(lambda lib: F(lib).batch_norm(lib.ones(4, 3), lib.zeros(3), lib.ones(3),
                                                           training=True, momentum=None), torch=torch)
    e = assert_raises_like_torch(lambda lib: F(lib).batch_norm(lib.ones(4, 3), lib.zeros(2), lib.ones(3)),
                                 torch=torch)
    assert AGAINST_TORCH or ("batch_norm" in str(e) and "running_mean" in str(e))


def test_embedding_padding_row_gets_no_gradient():
    w = dm.randn(5, 3, requires_grad=True)
    out = F(dm).embedding(dm.tensor([[1, 2], [2, 4]]), w, padding_idx=2)
    np.testing.assert_array_equal(to_numpy(out[0, 1]), to_numpy(w[2]))   # the value is the row's
    out.sum().backward()
    np.testing.assert_array_equal(to_numpy(w.grad)[2], 0.0)
    np.testing.assert_array_equal(to_numpy(w.grad)[[1, 4]], 1.0)


def test_embedding_max_norm_renormalises_rows_in_place(torch):
    w0 = np.random.default_rng(1).standard_normal((5, 3)) * 3
    results = []
    for mod in (dm, torch):
        w = mod.tensor(w0.copy(), requires_grad=True)
        out = F(mod).embedding(mod.tensor([0, 2, 2]), w, max_norm=1.0)
        out.sum().backward()
        results.append((to_numpy(w).copy(), to_numpy(out), to_numpy(w.grad)))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_embedding_errors(torch):
    w = Arg((5, 3))
    assert_raises_like_torch(lambda lib: F(lib).embedding(lib.tensor([0, 5]), lib.ones(5, 3)), torch=torch)
    assert_raises_like_torch(lambda lib: F(lib).embedding(lib.tensor([0.0]), lib.ones(5, 3)), torch=torch)
    assert_raises_like_torch(lambda lib: F(lib).embedding(lib.tensor([0]), lib.ones(5, 3), padding_idx=5),
                             torch=torch)
    assert_raises_like_torch(lambda lib: F(lib).embedding(lib.tensor([0]), lib.ones(5, 3), padding_idx=-6),
                             torch=torch)
    del w


def test_attention_fully_masked_row_zero_output_and_gradient(torch):
    mask = np.ones((3, 4), dtype=bool)
    mask[1] = False
    rng = np.random.default_rng(3)
    q, k, v = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 4, 5)), rng.standard_normal((2, 4, 2))
    for m in (mask, np.where(mask, 0.0, -np.inf)):
        out, grads = grads_like_torch(
            lambda lib, q, k, v: F(lib).scaled_dot_product_attention(
                q, k, v, attn_mask=lib.tensor(m) if m.dtype == bool else lib.tensor(m, dtype=lib.float64)),
            q, k, v, torch=torch)
        assert np.all(out[:, 1] == 0) and np.all(grads[0][:, 1] == 0)
        assert all(np.isfinite(g).all() for g in grads)


def test_attention_dropout_statistics():
    dm.manual_seed(0)
    q = dm.zeros(1, 2000, 4)
    k = dm.zeros(1, 8, 4)
    v = dm.ones(1, 8, 1)
    out = F(dm).scaled_dot_product_attention(q, k, v, dropout_p=0.25)
    a = to_numpy(out)
    assert abs(a.mean() - 1.0) < 0.05          # E[out] = the undropped output
    assert F(dm).scaled_dot_product_attention(q, k, v, dropout_p=1.0).abs().sum().item() == 0


def test_attention_float32_mask_with_float64_query(torch):
    m = np.random.default_rng(4).standard_normal((3, 5)).astype(np.float32)
    grads_like_torch(lambda lib, q, k, v: F(lib).scaled_dot_product_attention(q, k, v, attn_mask=lib.tensor(m)),
                     *(np.random.default_rng(5).standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 2))),
                     torch=torch)


ATTENTION_ERRORS = [
    lambda lib: F(lib).scaled_dot_product_attention(lib.ones(2, 3, 4), lib.ones(2, 5, 4), lib.ones(2, 5, 4),
                                                    dropout_p=1.5),
    lambda lib: F(lib).scaled_dot_product_attention(lib.ones(2, 3, 4), lib.ones(2, 5, 3), lib.ones(2, 5, 4)),
    lambda lib: F(lib).scaled_dot_product_attention(lib.ones(2, 3, 4), lib.ones(2, 5, 4, dtype=lib.float64),
                                                    lib.ones(2, 5, 4)),
    lambda lib: F(lib).scaled_dot_product_attention(lib.ones(2, 3, 4), lib.ones(2, 5, 4), lib.ones(2, 5, 4),
                                                    attn_mask=lib.ones(3, 4, dtype=lib.bool)),
    lambda lib: F(lib).scaled_dot_product_attention(lib.ones(2, 3, 4), lib.ones(2, 5, 4), lib.ones(2, 5, 4),
                                                    attn_mask=lib.ones(3, 5, dtype=lib.int64)),
    lambda lib: F(lib).scaled_dot_product_attention(lib.ones(1, 4, 3, 2), lib.ones(1, 2, 5, 2), lib.ones(1, 2, 5, 2)),
    lambda lib: F(lib).scaled_dot_product_attention(lib.ones(2, 3, 4), lib.ones(2, 5, 4), lib.ones(2, 5, 4),
                                                    attn_mask=lib.zeros(3, 5, dtype=lib.float64)),
]


@pytest.mark.parametrize("k", range(len(ATTENTION_ERRORS)))
def test_attention_errors(k, torch):
    e = assert_raises_like_torch(ATTENTION_ERRORS[k], torch=torch)
    assert str(e)


PAD_ERRORS = [
    lambda lib: F(lib).pad(lib.ones(2, 3), (1, 1), mode="foo"),
    lambda lib: F(lib).pad(lib.ones(2, 3), (1,)),
    lambda lib: F(lib).pad(lib.ones(1, 2, 3), (3, 3), mode="reflect"),
    lambda lib: F(lib).pad(lib.ones(3), (1, 1, 1, 1)),
]


@pytest.mark.parametrize("k", range(len(PAD_ERRORS)))
def test_pad_errors(k, torch):
    assert_raises_like_torch(PAD_ERRORS[k], torch=torch)


MISC_ERRORS = [
    lambda lib: F(lib).layer_norm(lib.ones(3, 4), (4,), lib.ones(4, dtype=lib.float64)),
    lambda lib: F(lib).layer_norm(lib.ones(3, 4), (4,), None, lib.ones(4, dtype=lib.float64)),
    lambda lib: F(lib).layer_norm(lib.ones(3, 5), 5),
    lambda lib: F(lib).scaled_dot_product_attention(lib.ones(2, 3, 4, requires_grad=True), lib.ones(2, 3, 4),
                                                    lib.ones(2, 3, 4), attn_mask=lib.ones(3, 3, dtype=lib.bool),
                                                    is_causal=True),
    lambda lib: F(lib).layer_norm(lib.ones(3, 5), (4,)),
    lambda lib: F(lib).layer_norm(lib.ones(3, 4), (4,), lib.ones(3)),
    lambda lib: F(lib).rms_norm(lib.ones(3, 5), [4]),
    lambda lib: F(lib).glu(lib.ones(3, 3)),
    lambda lib: F(lib).glu(lib.ones(())),
    lambda lib: F(lib).bilinear(lib.ones(4, 3), lib.ones(4, 2), lib.ones(5, 2, 2)),
    lambda lib: F(lib).bilinear(lib.ones(4, 3), lib.ones(3, 2), lib.ones(5, 3, 2)),
    lambda lib: F(lib).smooth_l1_loss(lib.ones(3), lib.ones(3), beta=-1.0),
    lambda lib: F(lib).huber_loss(lib.ones(3), lib.ones(3), reduction="avg"),
    lambda lib: F(lib).gaussian_nll_loss(lib.ones(3, 4), lib.ones(3, 4), -lib.ones(3, 4)),
    lambda lib: F(lib).gaussian_nll_loss(lib.ones(3, 4), lib.ones(3, 4), lib.ones(2, 2)),
    lambda lib: F(lib).margin_ranking_loss(lib.ones(3), lib.ones(3, 1), lib.ones(3)),
    lambda lib: F(lib).cosine_embedding_loss(lib.ones(3, 2), lib.ones(3, 2), lib.ones(3, 1)),
]


@pytest.mark.parametrize("k", range(len(MISC_ERRORS)))
def test_errors_like_torch(k, torch):
    assert_raises_like_torch(MISC_ERRORS[k], torch=torch)


def test_elu_inplace_and_large_inputs():
    x = dm.tensor([-1e4, -1.0, 0.0, 1e4], requires_grad=True)
    F(dm).elu(x * 1.0).sum().backward()
    assert np.isfinite(to_numpy(x.grad)).all()
    y = dm.tensor([-1.0, 2.0])
    F(dm).elu(y, inplace=True)
    np.testing.assert_allclose(to_numpy(y), [np.expm1(-1.0), 2.0], rtol=1e-6)


def test_losses_warn_on_shape_mismatch_like_torch():
    with pytest.warns(UserWarning, match="target size"):
        F(dm).smooth_l1_loss(dm.ones(3, 1), dm.ones(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F(dm).huber_loss(dm.ones(3), dm.ones(3))


def test_non_tensor_arguments_are_type_errors(torch):
    assert_raises_like_torch(lambda lib: F(lib).linear([[1.0, 2.0]], lib.ones(3, 2)), torch=torch)
    assert_raises_like_torch(lambda lib: F(lib).layer_norm([[1.0, 2.0]], [2]), torch=torch)
    assert_raises_like_torch(lambda lib: F(lib).scaled_dot_product_attention([[1.0]], lib.ones(1, 1),
                                                                              lib.ones(1, 1)), torch=torch)


@dlmath_only
def test_all_is_complete():
    names = ["bilinear", "layer_norm", "rms_norm", "batch_norm", "embedding", "normalize", "cosine_similarity",
             "pairwise_distance", "scaled_dot_product_attention", "pad", "leaky_relu", "elu", "glu", "selu",
             "smooth_l1_loss", "huber_loss", "cosine_embedding_loss", "margin_ranking_loss", "poisson_nll_loss",
             "gaussian_nll_loss", "silu", "one_hot", "linear", "dropout"]
    for n in names:
        assert n in F(dm).__all__ and callable(getattr(F(dm), n))


def test_empty_inputs_like_torch(torch):
    for mod in (dm, torch):
        q = mod.ones(2, 3, 4, requires_grad=True)
        out = F(mod).scaled_dot_product_attention(q, mod.zeros(2, 0, 4), mod.zeros(2, 0, 5))
        out.sum().backward()
        assert tuple(out.shape) == (2, 3, 5) and float(out.abs().sum()) == 0 and float(q.grad.abs().sum()) == 0
        x = mod.zeros(0, 4, requires_grad=True)
        y = F(mod).layer_norm(x, (4,), mod.ones(4), mod.zeros(4))
        y.sum().backward()
        assert tuple(y.shape) == (0, 4) and tuple(x.grad.shape) == (0, 4)
