"""Chapter 10.1 (linear algebra): each experiment's headline from the quick tour, asserted
against what the mathematics predicts.

``DLMATH_TOUR_SECTION=10.1 .venv/bin/pytest -q tests/tour/test_linear_algebra.py`` runs only this chapter.
"""
import math

import pytest

CHAPTER = ["dot-similarity", "matmul-layer", "outer-product-bp3", "inverse-solve", "norms",
           "eigen-rnn-stability", "broadcasting"]


def test_dot_similarity(headline):
    h = headline("dot-similarity")
    assert h["images"] == 1797
    # a random other digit shares the query's label with probability sum_c n_c (n_c - 1) / (n (n - 1))
    assert h["chance"] == pytest.approx(0.0995, abs=5e-4)
    # cosine on raw pixels: 5-NN retrieval is ~98% right, ten times chance
    assert 0.95 <= h["precision_at_5"] <= 1.0
    assert h["precision_at_5"] > 5 * h["chance"]
    # attention with one-hot values is a soft nearest-neighbour classifier
    assert 0.93 <= h["attention_accuracy"] <= 1.0
    assert 0.5 <= h["attention_mass_on_own_digit"] <= 0.75
    # F.scaled_dot_product_attention is softmax(scale * Q K^T) V, to float32 rounding
    assert h["attention_vs_manual_max_abs_diff"] <= 1e-5


def test_matmul_layer(headline):
    h = headline("matmul-layer")
    assert h["forward_max_abs_diff"] <= 1e-12            # F.linear(x, W, b) == x @ W.T + b
    assert h["shape_mismatch_raised"] is True            # x @ W with W (16, 8) and x (n, 8)
    # rotate(90) stretch(2, 1) - stretch rotate = [[0, 1], [1, 0]]: Frobenius norm sqrt(2)
    assert h["rotate_stretch_commutator"] == pytest.approx(math.sqrt(2), abs=1e-12)
    # for Gaussian matrices |AB - BA| / |AB| is of order sqrt(2), never near 0
    assert 0.8 <= h["random_commutator_relative"] <= 2.0
    assert h["bp2_max_abs_diff"] <= 1e-12                # BP2 by hand == autograd (float64)


def test_outer_product_bp3(headline):
    h = headline("outer-product-bp3")
    assert h["bp3_max_abs_diff"] <= 1e-12                # sum_i delta_i x_i^T == W.grad
    assert h["single_example_rank"] == 1
    assert h["ranks"] == [min(b, 6, 10) for b in range(1, 13)]
    assert h["ranks_equal_min_b_out_in"] is True


def test_inverse_solve(headline):
    h = headline("inverse-solve")
    assert h["solve_vs_gd_max_abs_diff"] <= 1e-8
    # the error contracts by (kappa - 1) / (kappa + 1) per step with the step 2 / (L + mu)
    assert h["predicted_rate"] == pytest.approx((h["kappa"] - 1) / (h["kappa"] + 1), rel=1e-12)
    assert h["observed_rate"] == pytest.approx(h["predicted_rate"], abs=0.02)
    assert 3 <= h["kappa"] <= 30                          # column scales 1 .. 0.3: kappa ~ (1/0.3)^2
    # eps = 1e-9: cond(X^T X) ~ 1/eps^2, beyond 0.01/eps(float64) = 4.5e13
    assert h["condition_number"] > 1e15
    assert h["near_singular_warned"] is True
    assert h["well_conditioned_warned"] is False
    assert h["warnings_match_threshold"] is True


def test_norms(headline):
    h = headline("norms")
    # 45 of the 50 true weights are 0: L1 finds (nearly) all of them, L2 none
    assert 0.8 <= h["l1_zero_fraction"] <= 0.9
    assert h["l2_zero_fraction"] <= 0.05
    assert h["l1_support_recovered"] is True
    assert h["unit_norm_max_error"] <= 1e-6
    assert h["cosine_vs_dot_max_abs_diff"] <= 1e-6
    assert h["clipped_norm"] == pytest.approx(1.0, abs=1e-5)
    assert h["grad_norm_before_clip"] > 1.0               # so clipping did something


def test_eigen_rnn_stability(headline):
    h = headline("eigen-rnn-stability")
    assert h["radius_abs_error"] <= 1e-10
    assert h["jacobian_vs_autograd_max_abs_diff"] <= 1e-10
    # Gelfand: |W^T| grows like rho^T, slope log(rho) per step, for each rho
    assert h["slope_abs_error"] <= 0.01
    for slope, log_rho in zip(h["linear_slopes"], h["log_rho"]):
        assert slope == pytest.approx(log_rho, abs=0.01)
    # vanishing below 1, exploding above
    assert h["linear_slopes"][0] < -0.09 and h["linear_slopes"][2] > 0.08
    # the spectral norm of W is not what decides it: it is ~2 rho for a Gaussian W
    assert h["norm_of_w_over_rho"] > 1.5
    # tanh gates every factor with slopes <= 1: the product decays faster than the linear one
    for tanh_slope, slope in zip(h["tanh_slopes"], h["linear_slopes"]):
        assert tanh_slope < slope


def test_broadcasting(headline):
    h = headline("broadcasting")
    assert h["bias_grad_max_abs_diff"] <= 1e-12
    assert h["layer_bias_grad_max_abs_diff"] <= 1e-12
    assert h["expand_equals_outer"] is True
    assert h["incompatible_raised"] is True


def test_chapter_passes_with_one_figure_each(chapter_passed):
    chapter_passed("10.1", CHAPTER)


def test_caught_errors_are_logged_in_the_report(quick_tour):
    if "matmul-layer" not in quick_tour.experiments:
        pytest.skip("chapter 10.1 was not in this run (DLMATH_TOUR_SECTION)")
    report = (quick_tour.out / "report.html").read_text()
    assert "x @ W instead of x @ W.T" in report            # the shape error, caught and logged
    assert "IllConditionedWarning: linalg.solve" in report  # the near-singular solve's warning
