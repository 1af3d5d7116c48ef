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
