"""Chapter 10.3, first part: random variables, expectation and variance.

The notes name three places where a network is designed around a variance: the weight
initialisation (keep the variance of activations and gradients the same at every layer),
BatchNorm (normalise each unit's mean and variance over the batch) and the 1/sqrt(d_k) of
attention (keep the variance of the attention logits at one). Each is an experiment here;
:mod:`.probability` imports this module first, so these run first in the chapter.
"""
from __future__ import annotations

import math

import dlmath as dm

from .registry import at_most, between, close_to, experiment, satisfies


@experiment(
    "attention-scaling", section="10.3", title="Why attention divides by sqrt(d_k)",
    claim="A dot product of two vectors with unit-variance entries has variance d_k, so unscaled "
          "attention logits grow with the head size, the softmax collapses onto one key and its "
          "gradient vanishes. Dividing by sqrt(d_k) keeps the logits at unit variance for every "
          "head size (Vaswani et al. 2017, footnote 4).",
    formula="Var(q·k) = sum_i Var(q_i k_i) = d_k;   attention = softmax(Q K^T / sqrt(d_k)) V",
    expect={
        # 4 standard errors of a variance estimated from n = 4096 (1024 quick) dot products
        # at d_k = 1024: sqrt((2 + 6 / d_k) / n) = 0.022 (0.044)
        "var_over_dk_max_rel_error": satisfies("<= 0.09 (full), <= 0.18 (--quick)",
                                               lambda v, h: v <= (0.18 if h["quick"] else 0.09)),
        # unit-variance logits over L keys: H = ln L - 1/2 (the Gaussian log-sum-exp, see below)
        "entropy_scaled": close_to(math.log(64) - 0.5, abs_tol=0.1),
        "entropy_unscaled": at_most(0.5),
        # |p * (v - p.v)| with v ~ N(0, 1): root-mean-square sqrt(e / L) = 0.21; a median row a little below
        "grad_norm_scaled": between(0.13, 0.23),
        "grad_norm_unscaled": satisfies("< grad_norm_scaled / 10",
                                        lambda v, h: v < h["grad_norm_scaled"] / 10),
    })
def attention_scaling(run):
    """Var(q·k) = d_k for independent q_i, k_i ~ N(0, 1): each product q_i k_i has mean 0 and
    variance E[q_i^2] E[k_i^2] = 1, and variances of independent terms add.

    Logits z with variance s^2 spread over L keys give a softmax of entropy about
    ln L - s^2 / 2 (E[e^z] = e^(s^2/2) in the log-sum-exp, minus the mean logit under p,
    which is s^2); at s^2 = d_k = 512 the row is one-hot, entropy ~0. The softmax Jacobian
    diag(p) - p p^T is then ~0 too: the gradient that reaches Q and K disappears.
    """
    g = run.generator
    dims = [4, 8, 16, 32, 64, 128, 256, 512, 1024]
    entries = run.size(2 ** 22, 2 ** 20)  # q-k entry pairs per head size: n = entries / d_k dot products
    keys, queries = 64, 256                # one attention matrix: 256 query rows over 64 keys
    variance, rel_error, stats = [], [], {True: [], False: []}
    for d in run.progress(dims, "head sizes"):
        n = entries // d
        q = dm.randn(n, d, generator=g, dtype=dm.float64)
        k = dm.randn(n, d, generator=g, dtype=dm.float64)
        variance.append((q * k).sum(-1).var().item())
        rel_error.append(abs(variance[-1] / d - 1))

        Q = dm.randn(queries, d, generator=g, dtype=dm.float64)
        K = dm.randn(keys, d, generator=g, dtype=dm.float64)
        upstream = dm.randn(queries, keys, generator=g, dtype=dm.float64)  # dLoss/d(weights)
        for scaled in (True, False):
            logits = (Q @ K.T / (math.sqrt(d) if scaled else 1.0)).requires_grad_()
            weights = logits.softmax(-1)
            # -sum p log p, through log_softmax: a weight that underflows to 0 adds 0, not 0 * -inf
            entropy = -(weights * logits.log_softmax(-1)).sum(-1).mean()
            (weights * upstream).sum().backward()  # the softmax's vector-Jacobian product
            # a typical row: the median (the mean is dominated by the few rows whose top two keys tie)
            row_norms = logits.grad.norm(dim=-1).sort().values
            stats[scaled].append((entropy.item(), row_norms[queries // 2].item(),
                                  (row_norms < 1e-3).double().mean().item()))

    at = dims.index(512)
    fig, ax = run.figure(1, 3, width=11.5, height=3.6)
    ax[0].loglog(dims, variance, "o", label="measured Var(q·k)", base=2)
    ax[0].loglog(dims, dims, "k--", lw=1, label="d_k (theory)", base=2)
    ax[0].loglog(dims, [v / d for v, d in zip(variance, dims)], "s", label="Var(q·k / sqrt(d_k))", base=2)
    ax[0].set(xlabel="head size d_k", ylabel="variance of the attention logit",
              title="Unscaled logits: variance = d_k")
    ax[0].legend()
    for scaled, style, name in ((True, "o-", "q·k / sqrt(d_k)"), (False, "s-", "q·k unscaled")):
        ax[1].semilogx(dims, [row[0] for row in stats[scaled]], style, label=name, base=2)
        ax[2].loglog(dims, [row[1] for row in stats[scaled]], style, label=name, base=2)
    ax[1].axhline(math.log(keys), color="k", lw=1, ls=":", label=f"ln {keys} (uniform)")
    ax[1].axhline(math.log(keys) - 0.5, color="k", lw=1, ls="--", label="ln L - 1/2 (theory)")
    ax[1].set(xlabel="head size d_k", ylabel="entropy of an attention row (nats)",
              title=f"Attention over {keys} keys")
    ax[2].set(xlabel="head size d_k", ylabel="|dLoss/dlogits| of a row (median)",
              title="Gradient through the softmax")
    for a in ax[1:]:
        a.legend()
    return {
        "var_over_dk_max_rel_error": max(rel_error),
        "var_over_dk_at_1024": variance[-1] / dims[-1],
        "entropy_scaled": stats[True][at][0],
        "entropy_unscaled": stats[False][at][0],
        "grad_norm_scaled": stats[True][at][1],
        "grad_norm_unscaled": stats[False][at][1],
        "vanishing_rows_scaled": stats[True][at][2],    # fraction of rows with |gradient| < 1e-3
        "vanishing_rows_unscaled": stats[False][at][2],
        "quick": run.quick,
    }
