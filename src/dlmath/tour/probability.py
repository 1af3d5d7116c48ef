"""Chapter 10.3 of the notes: probability and statistics, where probability explains why networks train.

The variance experiments (initialisation, BatchNorm, attention scaling) live in
:mod:`.probability_variance`, imported first so that they open the chapter, in the
notes' order; the distributions behind the output layers, maximum likelihood,
entropy and KL, and temperature follow here.
"""
from __future__ import annotations

import math

import dlmath as dm
import dlmath.nn.functional as F

from . import probability_variance  # noqa: F401  (registers the chapter's first experiments)
from .registry import at_most, between, close_to, experiment, is_true, satisfies

from dlmath.distributions import Bernoulli, Categorical, Normal  # noqa: E402


@experiment(
    "distributions", section="10.3", title="The distributions behind the output layers",
    claim="An output layer is a probability distribution and its loss is that distribution's "
          "negative log-likelihood: BCE on a sigmoid is -log of a Bernoulli, cross-entropy on a "
          "softmax is -log of a Categorical, MSE is -log of a Gaussian up to constants. The "
          "Gaussian is also the initial weights, GELU = x Phi(x), and, reparameterised as "
          "mu + sigma * eps, a random sample the gradient can flow through.",
    formula="BCE(sigmoid(z), y) = -log Bernoulli(sigmoid(z)).p(y);  CE(z, y) = -log Categorical(softmax(z)).p(y);  "
            "GELU(x) = x Phi(x);  d/dtheta E[x^2] = E[2x dx/dtheta], x = mu + sigma eps",
    expect={
        "bce_vs_neg_log_lik_max_abs_diff": at_most(1e-12),
        "ce_vs_neg_log_lik_max_abs_diff": at_most(1e-12),
        "mse_vs_gaussian_nll_max_abs_diff": at_most(1e-12),
        "gelu_vs_x_phi_max_abs_diff": at_most(1e-12),
        # the tanh form's largest error, 4.73e-4 at |x| = 2.70 (computed once with erf in float64)
        "gelu_tanh_max_abs_error": close_to(4.73e-4, rel_tol=0.01),
        "init_std_rel_error": at_most(0.01),  # 7 standard errors of a std from 512^2 draws
        # Monte Carlo: the rms relative error is sqrt(1.2 / N) (see the docstring): 0.0035 at the
        # full tour's N = 10^5, 0.011 at --quick's 10^4, measured as the rms of 16 estimates
        "rsample_grad_rel_error": satisfies("<= 0.006 (full), <= 0.018 (--quick)",
                                            lambda v, h: v <= (0.018 if h["quick"] else 0.006)),
    })
def distributions(run):
    """Three distributions, and where a network meets them.

    Bernoulli(p = sigmoid(z)): -log p(y) = -[y log p + (1 - y) log(1 - p)], the BCE.
    Categorical(softmax(z)): -log p(y) = -log softmax(z)_y, the cross-entropy.
    Gaussian N(f(x), s^2): -log p(y) = (y - f(x))^2 / (2 s^2) + log(s sqrt(2 pi)), the MSE.
    The Gaussian's other roles: He init draws W ~ N(0, 2 / fan_in); GELU weighs x by
    Phi(x) = P(N(0, 1) <= x); and x = mu + sigma * eps, eps ~ N(0, 1), makes a sample a
    differentiable function of (mu, sigma): here E[x^2] = mu^2 + sigma^2, whose exact
    gradient (2 mu, 2 sigma) the sampled gradient must approach as 1 / sqrt(N): the
    per-sample terms (2x, 2x eps) have variances 4 sigma^2 and 4 (mu^2 + 2 sigma^2), so the
    rms relative error is sqrt((12 sigma^2 + 4 mu^2) / (4 (mu^2 + sigma^2) N)) = sqrt(1.2 / N)
    at mu = 1.5, sigma = 0.5.
    """
    g, f64 = run.generator, dm.float64
    n = run.size(4096, 1024)
    # a binary classifier's logits and labels: the loss is the Bernoulli's -log-likelihood
    z = 3 * dm.randn(n, generator=g, dtype=f64)
    y = (dm.rand(n, generator=g, dtype=f64) < z.sigmoid()).to(f64)
    bce = F.binary_cross_entropy(z.sigmoid(), y, reduction="none")
    bce_nll = -Bernoulli(logits=z).log_prob(y)
    # a ten-class classifier: the loss is the Categorical's -log-likelihood
    logits = 3 * dm.randn(n, 10, generator=g, dtype=f64)
    labels = dm.randint(0, 10, (n,), generator=g)
    ce = F.cross_entropy(logits, labels, reduction="none")
    ce_nll = -Categorical(logits=logits).log_prob(labels)
    # a regression head with Gaussian noise of std s: the loss is MSE, scaled and shifted
    pred, s = dm.randn(n, generator=g, dtype=f64), 0.5
    target = pred + s * dm.randn(n, generator=g, dtype=f64)
    mse = F.mse_loss(pred, target, reduction="none")
    gauss_nll = -Normal(pred, s).log_prob(target)
    mse_diff = (mse / (2 * s ** 2) + math.log(s * math.sqrt(2 * math.pi)) - gauss_nll).abs().max()

    # the Gaussian in He initialisation: N(0, 2 / fan_in)
    W = dm.empty(512, 512, dtype=f64)
    dm.nn.init.kaiming_normal_(W, nonlinearity="relu", generator=g)
    init_std = math.sqrt(2 / 512)
    # GELU = x Phi(x), and the tanh approximation of Phi used by GPT-2 and BERT
    x = dm.linspace(-6, 6, 12001, dtype=f64)
    standard = Normal(dm.tensor(0.0, dtype=f64), dm.tensor(1.0, dtype=f64))
    gelu = F.gelu(x)
    tanh_error = (F.gelu(x, approximate="tanh") - gelu).abs()
    # reparameterised sampling: the gradient of E[x^2] through x = mu + sigma * eps
    mu = dm.tensor(1.5, dtype=f64, requires_grad=True)
    sigma = dm.tensor(0.5, dtype=f64, requires_grad=True)
    exact = dm.tensor([2 * 1.5, 2 * 0.5], dtype=f64)
    counts = [10 ** k for k in range(1, run.size(6, 5))]
    grad_error, repeats = [], 16  # rms over 16 independent estimates at each sample size
    for count in counts:
        squared = 0.0
        for _ in range(repeats):
            sample = Normal(mu, sigma).rsample((count,), generator=g)
            grads = dm.autograd.grad((sample ** 2).mean(), [mu, sigma])
            squared += ((dm.stack(grads) - exact).norm() / exact.norm()).item() ** 2
        grad_error.append(math.sqrt(squared / repeats))

    fig, ax = run.figure(2, 2, width=9.5, height=7)
    shift = math.log(s * math.sqrt(2 * math.pi))
    ax[0, 0].plot([0, 20], [0, 20], "k-", lw=0.8, label="loss = -log p")
    ax[0, 0].plot(ce_nll.numpy(), ce.numpy(), "s", ms=5, mfc="none", label="Categorical / cross-entropy")
    ax[0, 0].plot(bce_nll.numpy(), bce.numpy(), "o", ms=3, label="Bernoulli / BCE")
    ax[0, 0].plot(gauss_nll.numpy(), (mse / (2 * s ** 2) + shift).numpy(), "^", ms=3,
                  label="Gaussian / MSE / 2s² + log(s sqrt(2 pi))")
    ax[0, 0].set(xlabel="-log-likelihood from dm.distributions (nats)", ylabel="loss from dm.nn.functional (nats)",
                 title="The loss is the output distribution's -log p")
    ax[0, 0].legend()
    ax[0, 1].hist(W.flatten().numpy(), bins=80, density=True, alpha=0.6, label="kaiming_normal_ weights")
    grid = dm.linspace(-4 * init_std, 4 * init_std, 200, dtype=f64)
    ax[0, 1].plot(grid.numpy(), Normal(0.0, init_std).log_prob(grid).exp().numpy(), "k",
                  label="N(0, 2 / fan_in) density")
    ax[0, 1].set(xlabel="weight value", ylabel="density", title="The Gaussian in He initialisation (fan_in = 512)")
    ax[0, 1].legend(loc="upper left", fontsize=8)
    ax[1, 0].plot(x.numpy(), gelu.numpy(), lw=2.5, alpha=0.6, label="F.gelu(x)")
    ax[1, 0].plot(x.numpy(), (x * standard.cdf(x)).numpy(), "k--", lw=1, label="x * Normal(0, 1).cdf(x)")
    ax[1, 0].plot(x.numpy(), x.relu().numpy(), ":", color="gray", label="ReLU, for comparison")
    ax[1, 0].set(xlabel="x", ylabel="activation", xlim=(-4, 4), ylim=(-0.5, 4),
                 title="The Gaussian inside GELU(x) = x Phi(x)")
    ax[1, 0].legend(loc="lower right")
    inset = ax[1, 0].inset_axes([0.1, 0.5, 0.45, 0.38])
    inset.plot(x.numpy(), tanh_error.numpy(), color="C3", lw=1)
    inset.set_xlim(-6, 6)
    inset.set_title("|tanh approximation - exact|", fontsize=8)
    inset.tick_params(labelsize=7)
    ax[1, 1].loglog(counts, grad_error, "o-", label="rsample gradient, rms of 16 runs")
    ax[1, 1].loglog(counts, [math.sqrt(1.2 / c) for c in counts], "k--", lw=1,
                    label="theory: rms error sqrt(1.2 / N)")
    ax[1, 1].set(xlabel="samples N", ylabel="relative error of d E[x²] / d(mu, sigma)",
                 title="A gradient through a random sample")
    ax[1, 1].legend()
    return {
        "bce_vs_neg_log_lik_max_abs_diff": (bce - bce_nll).abs().max(),
        "ce_vs_neg_log_lik_max_abs_diff": (ce - ce_nll).abs().max(),
        "mse_vs_gaussian_nll_max_abs_diff": mse_diff,
        "gelu_vs_x_phi_max_abs_diff": (gelu - x * standard.cdf(x)).abs().max(),
        "gelu_tanh_max_abs_error": tanh_error.max(),
        "gelu_tanh_worst_x": x[tanh_error.argmax()].abs(),
        "init_std_rel_error": abs(W.std().item() / init_std - 1),
        "rsample_grad_rel_error": grad_error[-1],
        "quick": run.quick,
    }


@experiment(
    "softmax-distribution", section="10.3", title="Softmax turns any logits into a distribution",
    claim="Softmax maps every real vector to a probability distribution, positive entries that sum "
          "to one, whatever the scale of the logits, and adding one constant to all logits changes "
          "nothing (which is why a stable softmax may subtract the largest). It is the output of "
          "every classifier and the weights of every attention row.",
    formula="softmax(z)_i = exp(z_i) / sum_j exp(z_j) > 0;   sum_i softmax(z)_i = 1;   softmax(z + c) = softmax(z)",
    expect={
        "max_abs_sum_error": at_most(1e-12),
        "min_probability": satisfies("> 0", lambda v, h: v > 0),
        "shift_invariance_max_abs_diff": at_most(1e-12),
    })
def softmax_distribution(run):
    """exp makes every entry positive and dividing by the sum makes them sum to one, for any
    real logits; exp(z_i + c) / sum_j exp(z_j + c) = e^c exp(z_i) / (e^c sum_j exp(z_j)).

    The scale of the logits sets how far the distribution moves from uniform toward a
    corner of the simplex (a confident prediction), not whether it is a distribution.
    Float64 here: the point is the exact identities (float32's underflow is chapter 10.4's).
    """
    g, f64 = run.generator, dm.float64
    rows = run.size(20000, 4000)
    scales = [0.3, 1.0, 3.0, 10.0, 30.0]
    sum_error, min_prob, shift_diff, simplex = 0.0, 1.0, 0.0, {}
    for scale in scales:
        z = scale * dm.randn(rows, 10, generator=g, dtype=f64)
        p = z.softmax(-1)
        shift = 200 * dm.rand(rows, 1, generator=g, dtype=f64) - 100  # one constant per row, in [-100, 100]
        sum_error = max(sum_error, (p.sum(-1) - 1).abs().max().item())
        min_prob = min(min_prob, p.min().item())
        shift_diff = max(shift_diff, ((z + shift).softmax(-1) - p).abs().max().item())
        # three classes, drawn in the triangle whose corners are the one-hot distributions
        corners = dm.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]], dtype=f64)
        simplex[scale] = z[:400, :3].softmax(-1) @ corners

    fig, ax = run.figure(1, 2, width=9.5, height=4.2)
    for scale in reversed(scales[:4]):
        ax[0].plot(*simplex[scale].T.numpy(), ".", ms=3, alpha=0.6, label=f"logits ~ N(0, {scale:g}²)")
    ax[0].plot([0, 1, 0.5, 0], [0, 0, math.sqrt(3) / 2, 0], "k-", lw=1)
    for (cx, cy), name in zip(corners.tolist(), ["p = (1, 0, 0)", "(0, 1, 0)", "(0, 0, 1)"]):
        ax[0].annotate(name, (cx, cy), textcoords="offset points", xytext=(0, -12 if cy == 0 else 5),
                       ha="center", fontsize=8)
    ax[0].set(title="softmax of 3 random logits: always in the simplex", aspect="equal",
              xlim=(-0.15, 1.15), ylim=(-0.12, 0.98), xticks=[], yticks=[])
    ax[0].set_axis_off()
    ax[0].legend(loc="upper left", fontsize=8, markerscale=3)
    z = dm.tensor([2.0, 1.0, 0.1, -1.0, 3.5, 0.5], dtype=f64)
    ids = dm.arange(6).numpy()
    ax[1].bar(ids - 0.2, z.softmax(-1).numpy(), width=0.4, label="softmax(z)")
    ax[1].bar(ids + 0.2, (z + 100).softmax(-1).numpy(), width=0.4, hatch="//", label="softmax(z + 100)")
    ax[1].set_xticks(ids, [f"{k}\nz = {v:g}" for k, v in zip(ids, z.tolist())])
    ax[1].set(xlabel="class and its logit", ylabel="probability",
              title=f"sum = {z.softmax(-1).sum().item():.15f}, shift changes nothing")
    ax[1].legend()
    return {
        "max_abs_sum_error": sum_error,
        "min_probability": min_prob,
        "shift_invariance_max_abs_diff": shift_diff,
        "largest_logit_scale": scales[-1],
    }
