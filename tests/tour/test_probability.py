"""Chapter 10.3 (probability and statistics): each experiment's headline from the quick tour,
asserted against what the mathematics (or the paper behind it) predicts.

``DLMATH_TOUR_SECTION=10.3 .venv/bin/pytest -q tests/tour/test_probability.py`` runs only this chapter.
"""
import math

import pytest


def test_attention_scaling(headline):
    h = headline("attention-scaling")
    # Var(q.k) = d_k: at most 4 standard errors off at every head size
    assert h["var_over_dk_max_rel_error"] <= 0.18
    assert h["var_over_dk_at_1024"] == pytest.approx(1.0, abs=0.18)
    # scaled logits have unit variance: entropy ln L - 1/2 over L = 64 keys
    assert h["entropy_scaled"] == pytest.approx(math.log(64) - 0.5, abs=0.1)
    # unscaled (variance 512) rows are nearly one-hot, and their gradient vanishes
    assert h["entropy_unscaled"] < 0.5
    assert 0.13 <= h["grad_norm_scaled"] <= 0.23
    assert h["grad_norm_unscaled"] < h["grad_norm_scaled"] / 10
    assert h["vanishing_rows_scaled"] == 0
    assert h["vanishing_rows_unscaled"] > 0.25


def test_distributions(headline):
    h = headline("distributions")
    # each loss is its distribution's -log-likelihood, to float64 rounding
    assert h["bce_vs_neg_log_lik_max_abs_diff"] <= 1e-12
    assert h["ce_vs_neg_log_lik_max_abs_diff"] <= 1e-12
    assert h["mse_vs_gaussian_nll_max_abs_diff"] <= 1e-12
    assert h["gelu_vs_x_phi_max_abs_diff"] <= 1e-12
    # the tanh GELU's worst error: 4.73e-4 at |x| = 2.70
    assert h["gelu_tanh_max_abs_error"] == pytest.approx(4.73e-4, rel=0.01)
    assert h["gelu_tanh_worst_x"] == pytest.approx(2.70, abs=0.02)
    assert h["init_std_rel_error"] <= 0.01
    # rms error sqrt(1.2 / N) = 0.011 at the quick tour's N = 10^4
    assert 0.005 <= h["rsample_grad_rel_error"] <= 0.018


def test_softmax_distribution(headline):
    h = headline("softmax-distribution")
    assert h["max_abs_sum_error"] <= 1e-12
    assert h["min_probability"] > 0  # even for logits of scale 30
    assert h["largest_logit_scale"] >= 30
    assert h["shift_invariance_max_abs_diff"] <= 1e-12


def test_kl_divergence(headline):
    h = headline("kl-divergence")
    assert h["identity_max_abs_error"] <= 1e-12  # H(p, q) = H(p) + KL(p||q)
    assert h["min_kl"] >= 0
    # forward KL: moment matching over both modes; reverse KL: one mode
    assert h["forward_kl_sigma"] == pytest.approx(math.sqrt(4.25), abs=0.003)
    assert abs(h["forward_kl_mu"]) < 0.01
    assert h["reverse_kl_sigma"] == pytest.approx(0.5, abs=0.005)
    assert abs(h["reverse_kl_mu"]) == pytest.approx(2.0, abs=0.01)
    assert h["kl_pq"] == pytest.approx(0.5 * math.log(17) - math.log(2), abs=1e-3)
    assert h["kl_qp"] == pytest.approx(math.log(2), abs=1e-3)
    # RLHF: the trained policy is pi_ref exp(r / beta) / Z, and its KL falls as beta grows
    assert h["max_abs_diff_to_closed_form"] <= 1e-4
    assert h["kl_by_beta"] == pytest.approx(h["kl_closed_form_by_beta"], abs=1e-4)
    assert h["kl_by_beta"][0] > h["kl_by_beta"][1] > h["kl_by_beta"][2] > 0


def test_init_variance(headline):
    h = headline("init-variance")
    # He keeps a ReLU stack's variance (1 in expectation; one width-256 net wanders log-normally)
    assert 0.4 <= h["relu_he_std_ratio_l50"] <= 2.5
    assert 0.4 <= h["relu_he_grad_ratio_l1_over_l50"] <= 2.5
    # Xavier halves it at every layer: 29 halvings of the variance by layer 30
    assert h["relu_xavier_log2_std_ratio_l30"] == pytest.approx(-14.5, abs=1.0)
    # naive N(0, 1) weights: x sqrt(256 / 2) per layer
    assert h["relu_naive_log10_std_ratio_l50"] == pytest.approx(49 * math.log10(math.sqrt(128)), abs=1.5)
    # tanh under Xavier decays slowly, as the mean-field recursion says
    assert h["tanh_xavier_mean_field_l50"] == pytest.approx(0.16, abs=0.01)
    assert h["tanh_xavier_std_ratio_l50"] == pytest.approx(h["tanh_xavier_mean_field_l50"], rel=0.2)
    # naive tanh: ~86% of the units at |tanh| > 0.99
    assert h["naive_tanh_saturated_mean_field"] == pytest.approx(0.865, abs=0.01)
    assert h["naive_tanh_saturated_fraction"] == pytest.approx(h["naive_tanh_saturated_mean_field"], abs=0.03)
    # 30 ReLU layers: He learns, Xavier stalls at chance (He et al. 2015, fig. 3)
    assert h["he_final_loss"] <= 1.5
    assert h["xavier_final_loss"] >= math.log(10) - 0.05


def test_batchnorm(headline):
    h = headline("batchnorm")
    assert h["target_accuracy"] == 0.9
    # BN reaches 90% test accuracy within a few evaluations; without it, at least twice as slow
    # (the quick run may end before the plain network gets there: None means never)
    assert h["steps_to_target_bn"] <= 150
    plain = h["steps_to_target_plain"]
    assert plain is None or h["steps_to_target_bn"] < plain / 2
    assert h["bn_final_acc"] >= 0.9
    # in the second half of training the BN sigmoid's input distribution stays put; the plain one's moves
    assert h["percentile_drift_bn"] < h["percentile_drift_plain"] / 2
    # 5x the learning rate: BN still learns (0.9 in the full tour), the plain net saturates at chance
    assert h["bn_final_acc_5x_lr"] >= 0.8
    assert h["plain_final_acc_5x_lr"] <= 0.3


def test_mle_cross_entropy(headline):
    h = headline("mle-cross-entropy")
    assert h["test_accuracy"] >= 0.93  # the quick run's bound (0.97 in the full tour)
    # CE and the Categorical -log-likelihood / N agree at every logged step (float32)
    assert h["nll_vs_ce_max_abs_diff"] <= 1e-5
    assert h["log10_likelihood_of_train_labels"] == pytest.approx(
        -h["final_train_ce"] * 1300 / math.log(10), rel=1e-6)
    # the coin's MLE by gradient descent is the sample mean, near the true 0.3
    assert h["bernoulli_mle_abs_error"] <= 1e-8
    assert h["bernoulli_mle"] == pytest.approx(0.3, abs=0.1)


def test_temperature(headline):
    h = headline("temperature")
    entropy = h["entropy_by_temperature"]  # T = 0.25, 0.5, 1, 1.5, 2
    assert len(entropy) == 5
    assert h["entropy_increasing"] is True
    assert all(a < b for a, b in zip(entropy, entropy[1:]))
    assert 0 < entropy[0] and entropy[-1] < math.log(27)
    assert h["t0_is_argmax"] is True
    # calibration: the mean entropy at T = 1 is close to the held-out cross-entropy
    assert h["entropy_at_t1"] == pytest.approx(h["model_loss"], abs=0.1)
    # uniform > bigram > the trained model (quick: fewer steps, still below the bigram)
    assert h["uniform_loss"] == pytest.approx(math.log(27), abs=1e-6)
    assert h["bigram_loss"] == pytest.approx(2.36, abs=0.05)
    assert h["model_loss"] < h["bigram_loss"]
    assert h["novel_names_at_t1"] > 0.5  # it invents names rather than reciting the list
