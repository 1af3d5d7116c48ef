"""Chapter 10.2 (calculus): each experiment's headline from the quick tour, asserted against
what the mathematics predicts.

``DLMATH_TOUR_SECTION=10.2 .venv/bin/pytest -q tests/tour/test_calculus.py`` runs only this chapter.
"""
import math

import numpy as np
import pytest

EPS64, EPS32 = float(np.finfo(np.float64).eps), float(np.finfo(np.float32).eps)


def within_a_decade(value, target):
    return target / 10 <= value <= target * 10


def test_finite_differences(headline):
    h = headline("finite-differences")
    # best steps: sqrt(eps) for the forward difference, eps^(1/3) for the central one
    assert within_a_decade(h["best_h_forward_f64"], math.sqrt(EPS64))
    assert within_a_decade(h["best_h_central_f64"], EPS64 ** (1 / 3))
    assert within_a_decade(h["best_h_central_f32"], EPS32 ** (1 / 3))
    assert within_a_decade(h["best_h_forward_f32"], math.sqrt(EPS32))
    # errors at the optimum: ~ sqrt(eps) and ~ eps^(2/3) (f'' and f''' of tanh are below 1)
    assert 1e-10 <= h["error_forward_f64"] <= 5e-8
    assert 1e-13 <= h["error_central_f64"] <= 1e-10
    assert 1e-7 <= h["error_central_f32"] <= 1e-5
    assert 1e-6 <= h["error_forward_f32"] <= 1e-3
    # the central difference beats the forward one, and float64 beats float32, by decades
    assert h["error_central_f64"] < h["error_forward_f64"] / 100
    assert h["error_central_f64"] < h["error_central_f32"] / 1e4
    # numerical_grad's default eps=1e-6 sits a little past the optimum (~6e-6): close to the best error
    assert h["numerical_grad_default_error"] <= 1e-9
    assert h["numerical_grad_default_error"] <= 30 * h["error_central_f64"]
    assert h["cbrt_eps_f64"] == pytest.approx(EPS64 ** (1 / 3))


def test_steepest_ascent(headline):
    h = headline("steepest-ascent")
    # forward mode's directional derivatives are grad . u to rounding
    assert h["jvp_vs_grad_max_abs_diff"] <= 1e-14
    # Cauchy-Schwarz: nothing beats |grad L|, and the best direction is the gradient's
    assert h["n_beating_gradient"] == 0
    assert h["max_directional_over_grad_norm"] <= 1 + 1e-12
    assert h["cos_best_direction_to_gradient"] >= math.cos(math.pi * math.log(1e6) / h["n_directions"])
    # D_u L = |grad L| cos(angle): the best slope over |grad L| is that direction's cosine
    assert h["max_directional_over_grad_norm"] == pytest.approx(h["cos_best_direction_to_gradient"], abs=1e-12)
    # in 1000 dimensions the best random direction is nearly orthogonal: cos ~ sqrt(2 ln n / d)
    assert h["best_random_cos_1000d"] == pytest.approx(h["predicted_cos_1000d"], rel=0.3)
    assert h["best_random_cos_1000d"] < 0.2
    assert h["grad_norm"] > 0.1


def test_chain_rule(headline, quick_tour):
    h = headline("chain-rule")
    # the product of local Jacobians is autograd's gradient, to float64 rounding
    assert h["max_abs_diff"] <= 1e-14
    assert h["loss"] > 0
    # explain's backward pass reaches the four parameters, through at least the loss's
    # square and difference, two layers and tanh (how many ops a layer is depends on nn)
    assert h["explain_leaves"] == 4
    assert h["explain_steps"] >= 5
    report = (quick_tour.out / "report.html").read_text()
    assert "steps of the chain rule" in report
    for name in ("0.weight", "0.bias", "2.weight", "2.bias", "Tanh"):
        assert name in report


def test_jacobians(headline):
    h = headline("jacobians")
    # diag(p) - p p^T is jacrev's and jacfwd's Jacobian, and its rows sum to zero
    assert h["softmax_max_abs_diff"] <= 1e-15
    assert h["softmax_row_sum_max_abs"] <= 1e-15
    # the RNN step's Jacobian diag(1 - h^2) W_hh, alone and multiplied over the sequence
    assert h["rnn_max_abs_diff"] <= 1e-14
    assert h["rnn_product_max_rel_diff"] <= 1e-12
    # default init (spectral radius < 1): the gradient through 30 steps has vanished, faster
    # than the linear RNN's rho^T because every tanh slope is below 1
    assert h["rnn_steps"] == 30
    assert h["spectral_radius_w_hh"] < 1
    assert h["rnn_norm_after_all_steps"] < 1e-3
    assert h["rnn_norm_after_all_steps"] < h["spectral_radius_w_hh"] ** h["rnn_steps"]


def test_hessian_curvature(headline):
    h = headline("hessian-curvature")
    # Newton converges quadratically: a handful of steps to |grad| <= 1e-8
    assert h["newton_iters"] <= 15
    # gradient descent, uncapped, needs more than 10x as many
    assert h["gd_hit_cap"] is False
    assert h["gd_iters"] > 10 * h["newton_iters"]
    # and converges at the rate the smallest Hessian eigenvalue predicts
    assert h["gd_rate_rel_error"] <= 0.02
    assert h["gd_rate_measured"] == pytest.approx(h["gd_rate_predicted"], abs=1e-4)
    # the Hessian at the minimum is positive definite and ill-conditioned
    assert 0 < h["hessian_min_eigenvalue"] < h["hessian_max_eigenvalue"] / 20
    # SGD on kappa = 1000: within the bound ln(1e8) / (2 ln(1/rho)) and not far below it
    assert h["kappa"] == 1000
    assert 0.8 * h["sgd_steps_bound"] <= h["sgd_steps"] <= h["sgd_steps_bound"]
    # Adam on the axis-aligned quadratic: far fewer steps; rotated, its advantage shrinks
    assert h["adam_steps"] < h["sgd_steps"] / 10
    assert h["adam_steps"] < h["adam_steps_rotated"] / 5
