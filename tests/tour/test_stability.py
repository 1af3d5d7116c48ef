"""Chapter 10.4 (numerical stability): each experiment's headline from the quick tour, asserted
against what floating point and the mathematics predict.

``DLMATH_TOUR_SECTION=10.4 .venv/bin/pytest -q tests/tour/test_stability.py`` runs only this chapter.
"""
import math

import pytest

import dlmath as dm

CHAPTER = ["logsumexp", "eps-guards", "fused-losses", "gradient-clipping"]

LN_MAX32 = 128 * math.log(2)                       # exp overflows float32 beyond this
LN_MAX64 = math.log(1.7976931348623157e308)        # ... and float64 beyond this


def test_logsumexp(headline):
    h = headline("logsumexp")
    # exp(1000) is inf in both dtypes: inf / inf; exp(-1000) is 0: 0 / 0
    assert h["naive_has_nan"] is True
    assert h["stable_is_finite"] is True
    assert h["stable_max_error_float32"] <= 1e-6       # a few float32 roundings of probabilities <= 1
    assert h["stable_max_error_float64"] <= 1e-14
    assert h["dm_softmax_max_abs_diff"] <= 1e-6        # dm.softmax is the max-shifted form
    assert h["dm_logsumexp_max_rel_error"] <= 1e-6     # m + log sum exp(z - m) at |m| up to 1000
    # the sum e^c (1 + e^-1 + e^-2 + e^-3) overflows at c = ln(max) - 0.4402; the sweep's step is 1/4
    headroom = math.log(1 + math.exp(-1) + math.exp(-2) + math.exp(-3))
    for key, ln_max in (("naive_float32_breaks_at", LN_MAX32), ("naive_float64_breaks_at", LN_MAX64)):
        assert ln_max - headroom <= h[key] < ln_max - headroom + 0.25, key
    assert h["naive_float32_breaks_at"] == 88.5
    assert h["naive_float64_breaks_at"] == 709.5


def test_eps_guards(headline):
    h = headline("eps-guards")
    assert h["without_eps_has_nan"] is True           # 0 * log 0 and 0 / 0
    assert h["with_eps_is_finite"] is True
    # a constant row through layer norm: the gain 1 / sqrt(sigma^2 + eps) at sigma = 0
    assert h["gain_at_zero_spread"] == pytest.approx(1 / math.sqrt(1e-5), rel=1e-12)
    assert h["gain_max_rel_error"] <= 1e-9
    assert h["layer_norm_vs_hand_max_abs_diff"] <= 1e-12
    # -(1 log(1 + eps) + 0 + 0) = -log(1 + eps) ~ -eps
    assert h["entropy_with_eps"] == pytest.approx(-1e-8, rel=1e-6)


def test_fused_losses(headline):
    h = headline("fused-losses")
    # Quick sweep: 401 logits, step 1/2, for 4 (loss, target) cases. Counted by hand:
    # sigmoid rounds to 1 for z > 24 ln 2 = 16.6 (z = 17 .. 100: 167 points) and to 0 for
    # z < -88.7 (z = -100 .. -89: 23 points), for both BCE targets: 2 x 190; -1/p overflows in
    # CE for z < -(88.72 - ln 9) = -86.5 (z = -100 .. -87: 27) and for a rival's z > 88.7 (23).
    assert h["predicted_nonfinite_fraction"] == pytest.approx((2 * 190 + 27 + 23) / 1604, abs=1e-12)
    assert h["naive_nonfinite_fraction"] == pytest.approx(h["predicted_nonfinite_fraction"], abs=1e-3)
    assert h["fused_nonfinite_fraction"] == 0
    assert h["fused_max_error"] <= 1e-6               # float32 rounding, relative to max(1, loss)
    assert h["fused_grad_max_abs_diff"] <= 1e-6       # sigmoid(z) - y and softmax(z) - onehot(y)
    assert h["fused_grad_max_abs_error"] <= 1e-6      # ... and against the float64 slope


def test_gradient_clipping(headline):
    h = headline("gradient-clipping")
    assert 0.7 <= h["chance_loss"] <= 1.3             # the variance of 256 standard normals
    assert h["clipped_final_loss"] < 0.5 * h["chance_loss"]
    assert h["clipped_nonfinite_steps"] == 0
    # without clipping the loss overflows: non-finite values are null in results.json
    assert h["unclipped_final_loss"] is None or h["unclipped_final_loss"] > 2 * h["clipped_final_loss"]
    assert h["unclipped_nonfinite_steps"] >= 1
    assert h["unclipped_max_finite_grad_norm"] > 1e6 > h["clipped_max_grad_norm"]
    assert 0 < h["clipped_steps_fraction"] <= 1


def test_recall_model_has_the_spectral_radius_asked_for():
    from dlmath.tour.stability import _recall_model

    rnn, _ = _recall_model(16, 2.0, seed=0)
    assert dm.linalg.spectral_radius(rnn.weight_hh_l0).item() == pytest.approx(2.0, rel=1e-5)


def test_chapter_passes_with_one_figure_each(chapter_passed):
    chapter_passed("10.4", CHAPTER)
