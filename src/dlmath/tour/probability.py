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
from dlmath.distributions import Bernoulli, Categorical, Normal, kl_divergence

# importing the variance module registers its experiments first: they open the chapter
from .probability_variance import digits_split, train_classifier
from .registry import at_most, close_to, experiment, is_true, satisfies


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
    shown = slice(0, 400)  # every point agrees; 400 of each are enough to see it
    ax[0, 0].plot([0, 20], [0, 20], "k-", lw=0.8, label="loss = -log p")
    ax[0, 0].plot(ce_nll[shown].numpy(), ce[shown].numpy(), "s", ms=5, mfc="none",
                  label="Categorical / cross-entropy")
    ax[0, 0].plot(bce_nll[shown].numpy(), bce[shown].numpy(), "o", ms=3, label="Bernoulli / BCE")
    ax[0, 0].plot(gauss_nll[shown].numpy(), (mse / (2 * s ** 2) + shift)[shown].numpy(), "^", ms=3,
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
    inset = ax[1, 0].inset_axes([0.16, 0.52, 0.42, 0.36])
    inset.plot(x.numpy(), tanh_error.numpy(), color="C3", lw=1)
    inset.set(xlim=(-6, 6), yticks=[0, 2e-4, 4e-4], yticklabels=["0", "2e-4", "4e-4"])
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
    # three classes drawn in the triangle whose corners are the one-hot distributions
    corners = dm.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]], dtype=f64)
    for scale in scales:
        z = scale * dm.randn(rows, 10, generator=g, dtype=f64)
        p = z.softmax(-1)
        shift = 200 * dm.rand(rows, 1, generator=g, dtype=f64) - 100  # one constant per row, in [-100, 100]
        sum_error = max(sum_error, (p.sum(-1) - 1).abs().max().item())
        min_prob = min(min_prob, p.min().item())
        shift_diff = max(shift_diff, ((z + shift).softmax(-1) - p).abs().max().item())
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


@experiment(
    "mle-cross-entropy", section="10.3", title="Cross-entropy is maximum likelihood",
    claim="A classifier's softmax output is a distribution over labels, and the likelihood of the "
          "training labels is the product of the probabilities it gives them. Its negative log, "
          "averaged, is exactly the cross-entropy loss: minimising one maximises the other. For a "
          "coin, the maximum is known in closed form (the sample mean), and gradient descent on "
          "BCE finds it.",
    formula="-1/N log prod_i p(y_i | x_i) = -1/N sum_i log softmax(f(x_i))_(y_i) = CE;   "
            "argmax_p prod p^y (1-p)^(1-y) = mean(y)",
    expect={
        "test_accuracy": satisfies(">= 0.97 (full), >= 0.93 (--quick)",
                                   lambda v, h: v >= (0.93 if h["quick"] else 0.97)),
        "nll_vs_ce_max_abs_diff": at_most(1e-5),  # float32 training: agreement to rounding
        "bernoulli_mle_abs_error": at_most(1e-8),
    })
def mle_cross_entropy(run):
    """For labels y_i with model probabilities p(y | x_i) = softmax(f(x_i))_y, the log-likelihood
    of the data is sum_i log p(y_i | x_i), and -1/N of it is the cross-entropy with one-hot
    targets. The product itself underflows (1300 labels at p ~ 0.1 give 10^-1300), which is
    why every library works with its log.

    A Bernoulli(p) sample y_1..y_n has log-likelihood k log p + (n - k) log(1 - p), k = sum y;
    its derivative k / p - (n - k) / (1 - p) is zero at p = k / n. Gradient descent on the
    mean BCE over the logit of p must land there.
    """
    g = run.generator
    x_train, y_train, x_test, y_test = digits_split(g)
    model = dm.nn.Sequential(dm.nn.Linear(64, 64), dm.nn.ReLU(), dm.nn.Linear(64, 10))
    loss_fn = dm.nn.CrossEntropyLoss()
    optimizer = dm.optim.Adam(model.parameters(), lr=3e-3)
    log = []  # (step, CE on the training set, its -log-likelihood / N, test accuracy)

    def evaluate(step):
        logits = model(x_train)
        neg_log_lik = -Categorical(logits=logits).log_prob(y_train).mean()
        accuracy = (model(x_test).argmax(-1) == y_test).double().mean().item()
        log.append((step, loss_fn(logits, y_train).item(), neg_log_lik.item(), accuracy))

    steps = run.size(600, 250)
    train_classifier(run, model, optimizer, x_train, y_train, steps, every=25, on_eval=evaluate,
                     what="MLP on the digits")
    step_axis, ce, nll, accuracy = zip(*log)

    # a coin with p = 0.3: the maximum-likelihood p is the fraction of heads
    flips = (dm.rand(run.size(1000, 200), generator=g, dtype=dm.float64) < 0.3).double()
    logit = dm.tensor(2.0, dtype=dm.float64, requires_grad=True)  # start far off, at p = 0.88
    optimizer = dm.optim.SGD([logit], lr=0.5)
    path = []
    for _ in range(200):
        loss = F.binary_cross_entropy_with_logits(logit.expand(flips.shape), flips)
        path.append((logit.sigmoid().item(), -loss.item()))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    p_hat = logit.sigmoid().item()

    fig, ax = run.figure(1, 3, width=12, height=3.8)
    ax[0].semilogy(step_axis, ce, "-", lw=3, alpha=0.5, label="CrossEntropyLoss on the train set")
    ax[0].semilogy(step_axis, nll, "k.", label="-log-likelihood / N (Categorical)")
    ax[0].set(xlabel="Adam step (batch 64)", ylabel="nats per label", title="Minimising CE = maximising likelihood")
    ax[0].legend(fontsize=8)
    ax[1].plot(step_axis, accuracy, "o-", ms=3)
    ax[1].axhline(0.97, color="0.5", ls="--", lw=1, label="0.97")
    ax[1].set(xlabel="Adam step", ylabel="test accuracy (497 digits)", ylim=(0, 1),
              title=f"64-64-10 MLP: {accuracy[-1]:.1%} on held-out digits")
    ax[1].legend()
    p = dm.linspace(0.01, 0.99, 197, dtype=dm.float64)
    heads, n = flips.sum().item(), flips.shape[0]
    ax[2].plot(p.numpy(), (Bernoulli(probs=p[:, None]).log_prob(flips).mean(-1)).numpy(), label="log-likelihood / n")
    ax[2].plot(*zip(*path[:40:2]), "o", ms=4, label="gradient descent on BCE (every 2nd step)")
    ax[2].axvline(heads / n, color="k", ls="--", lw=1, label=f"sample mean {heads / n:.3f}")
    ax[2].set(xlabel="p", ylabel="mean log p(y_i) (nats)", ylim=(-2, 0),
              title=f"Coin: MLE of p from {n} flips")
    ax[2].legend(fontsize=8)
    return {
        "test_accuracy": accuracy[-1],
        "nll_vs_ce_max_abs_diff": max(abs(a - b) for a, b in zip(ce, nll)),
        "final_train_ce": ce[-1],
        "log10_likelihood_of_train_labels": -ce[-1] * len(y_train) / math.log(10),
        "bernoulli_mle": p_hat,
        "bernoulli_mle_abs_error": abs(p_hat - heads / n),
        "quick": run.quick,
    }


def _adam_to_convergence(parameters, objective, steps, lr=0.1):
    """Minimise ``objective()`` with Adam, annealing the step to zero so it settles on the optimum
    (beta2 = 0.9: the step size forgets the large gradients of the first steps quickly)."""
    opt = dm.optim.Adam(parameters, lr=lr, betas=(0.9, 0.9))
    schedule = dm.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        loss = objective()
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    return objective().item()


def _fit_gaussian(log_p, x, direction, steps):
    """The Gaussian q = N(mu, sigma^2) minimising KL(p||q) ("forward") or KL(q||p) ("reverse"), the
    integral a Riemann sum over the grid ``x``: returns (mu, sigma, the KL reached)."""
    dx = (x[1] - x[0]).item()
    mu = dm.tensor(0.5, dtype=x.dtype, requires_grad=True)  # off centre: the reverse fit must pick a side
    log_sigma = dm.tensor(0.0, dtype=x.dtype, requires_grad=True)

    def kl():
        log_q = Normal(mu, log_sigma.exp()).log_prob(x)
        a, b = (log_p, log_q) if direction == "forward" else (log_q, log_p)
        return (a.exp() * (a - b)).sum() * dx  # KL(a||b) = integral of a log(a / b)

    value = _adam_to_convergence([mu, log_sigma], kl, steps)
    return mu.item(), log_sigma.exp().item(), value


@experiment(
    "kl-divergence", section="10.3", title="Entropy, cross-entropy, KL, and the RLHF penalty",
    claim="Cross-entropy is the entropy of the labels plus the KL divergence from them, so "
          "minimising it minimises the KL. KL is not symmetric: fitting one Gaussian to two modes "
          "by KL(p||q) covers both, by KL(q||p) picks one. RLHF's penalty beta KL(pi||pi_ref) keeps "
          "a policy near its reference: the optimum is pi_ref reweighted by exp(r / beta).",
    formula="H(p, q) = H(p) + KL(p||q);   argmax_pi E_pi[r] - beta KL(pi||pi_ref) = pi_ref exp(r / beta) / Z",
    expect={
        "identity_max_abs_error": at_most(1e-12),
        "min_kl": satisfies(">= 0 (Gibbs' inequality)", lambda v, h: v >= 0),
        # forward KL matches moments: Var p = 0.5^2 + 2^2
        "forward_kl_sigma": close_to(math.sqrt(4.25), abs_tol=0.003),
        "reverse_kl_sigma": close_to(0.5, abs_tol=0.005),  # one mode, N(2, 0.5^2)
        # separated modes: KL(p||N(0, 4.25)) = 1/2 ln(4.25 / 0.25) - ln 2; KL(N(2, 0.25)||p) = ln 2
        "kl_pq": close_to(0.5 * math.log(17) - math.log(2), abs_tol=1e-3),
        "kl_qp": close_to(math.log(2), abs_tol=1e-3),
        "max_abs_diff_to_closed_form": at_most(1e-4),
        "kl_by_beta": satisfies("= KL(pi*||pi_ref) of the closed form, ± 1e-4",
                                lambda v, h: max(abs(a - b) for a, b in zip(v, h["kl_closed_form_by_beta"])) <= 1e-4),
    })
def kl_divergence_experiment(run):
    """H(p, q) = -sum p log q = -sum p log p + sum p log(p / q) = H(p) + KL(p||q) >= H(p).

    KL(p||q) = E_p[log p - log q] is large wherever p has mass and q does not: minimised
    over Gaussians q it matches p's mean and variance and spreads over both modes. The
    reverse, KL(q||p) = E_q[log q - log p], is large wherever q has mass and p does not:
    q hides inside one mode. RLHF maximises E_pi[r] - beta KL(pi||pi_ref); writing
    pi* = pi_ref exp(r / beta) / Z turns it into -beta KL(pi||pi*) + beta log Z, so the
    optimum is pi* and the KL it reaches falls as beta grows.
    """
    g, f64 = run.generator, dm.float64
    # 1. the identity, for random pairs of distributions over 10 classes
    p_logits = 2 * dm.randn(run.size(5000, 1000), 10, generator=g, dtype=f64)
    q_logits = 2 * dm.randn(p_logits.shape[0], 10, generator=g, dtype=f64)
    p, q = Categorical(logits=p_logits), Categorical(logits=q_logits)
    entropy, kl = p.entropy(), kl_divergence(p, q)
    cross_entropy = F.cross_entropy(q_logits, p.probs, reduction="none")  # probabilities as targets
    identity_error = (cross_entropy - (entropy + kl)).abs().max()

    # 2. one Gaussian fitted to two modes, each way, by integrals on a grid
    x = dm.linspace(-10, 10, 4001, dtype=f64)
    modes = Normal(dm.tensor([-2.0, 2.0], dtype=f64), dm.tensor([0.5, 0.5], dtype=f64))
    log_p = (modes.log_prob(x[:, None]) + math.log(0.5)).logsumexp(-1)
    fits = {direction: _fit_gaussian(log_p, x, direction, run.size(300, 200)) for direction in ("forward", "reverse")}

    # 3. the RLHF penalty: a policy over 8 tokens, one row per beta, trained by gradient ascent
    betas = [0.1, 1.0, 10.0]
    ref_logits = dm.randn(8, generator=g, dtype=f64)
    reward = dm.randn(8, generator=g, dtype=f64)
    beta = dm.tensor(betas, dtype=f64)[:, None]
    ref = Categorical(logits=ref_logits.expand(3, 8))
    logits = ref_logits.expand(3, 8).clone().requires_grad_()  # start at the reference policy

    def negative_objective():
        policy = Categorical(logits=logits)
        return -((policy.probs * reward).sum(-1) - beta[:, 0] * kl_divergence(policy, ref)).sum()

    _adam_to_convergence([logits], negative_objective, 500)
    closed_form = Categorical(logits=ref_logits.log_softmax(-1) + reward / beta)
    policy = Categorical(logits=logits.detach())
    kl_reached = kl_divergence(policy, ref)

    fig, ax = run.figure(2, 2, width=10, height=7.4)
    pairs = dm.arange(6).numpy()
    ax[0, 0].bar(pairs, entropy[:6].numpy(), label="H(p)")
    ax[0, 0].bar(pairs, kl[:6].numpy(), bottom=entropy[:6].numpy(), label="KL(p||q)")
    ax[0, 0].plot(pairs, cross_entropy[:6].numpy(), "k_", ms=22, mew=2, label="H(p, q) = F.cross_entropy")
    ax[0, 0].set(xlabel="random pair (p, q) over 10 classes", ylabel="nats",
                 ylim=(0, 1.3 * cross_entropy[:6].max().item()), title="Cross-entropy = entropy + KL")
    ax[0, 0].legend(loc="upper left", fontsize=8, ncol=3)
    ax[0, 1].fill_between(x.numpy(), log_p.exp().numpy(), color="0.8", label="p: two modes")
    for (direction, (mu, sigma, value)), style in zip(fits.items(), ("C0-", "C3--")):
        q_density = Normal(mu, sigma).log_prob(x).exp()
        name = "KL(p||q)" if direction == "forward" else "KL(q||p)"
        ax[0, 1].plot(x.numpy(), q_density.numpy(), style, label=f"min {name}: sigma = {sigma:.3f}")
    ax[0, 1].set(xlabel="x", ylabel="density", xlim=(-6, 6), title="Forward KL covers, reverse KL seeks a mode")
    ax[0, 1].legend(fontsize=8)
    tokens = dm.arange(8).numpy()
    ax[1, 0].bar(tokens - 0.3, ref.probs[0].numpy(), width=0.2, color="0.6", label="pi_ref")
    for k, b in enumerate(betas):
        ax[1, 0].bar(tokens - 0.1 + 0.2 * k, policy.probs[k].numpy(), width=0.2, label=f"trained, beta = {b:g}")
        ax[1, 0].plot(tokens - 0.1 + 0.2 * k, closed_form.probs[k].numpy(), "k.", ms=4)
    ax[1, 0].plot([], [], "k.", label="pi_ref exp(r / beta) / Z")
    ax[1, 0].set_xticks(tokens, [f"{t}\nr={v:.2f}" for t, v in zip(tokens, reward.tolist())])
    ax[1, 0].tick_params(axis="x", labelsize=7.5)
    ax[1, 0].set(xlabel="token and its reward", ylabel="probability",
                 title="RLHF: the trained policy is the closed form")
    ax[1, 0].legend(fontsize=7)
    sweep = dm.logspace(-1.5, 1.5, 60, dtype=f64)
    optimum = Categorical(logits=ref_logits.log_softmax(-1) + reward / sweep[:, None])
    ax[1, 1].plot(kl_divergence(optimum, Categorical(logits=ref_logits.expand(60, 8))).numpy(),
                  (optimum.probs * reward).sum(-1).numpy(), "k-", lw=1, label="closed form, beta from 0.03 to 30")
    for k, b in enumerate(betas):
        ax[1, 1].plot(kl_reached[k].item(), (policy.probs[k] * reward).sum().item(), "o", ms=8,
                      label=f"trained, beta = {b:g}")
    ax[1, 1].set(xlabel="KL(pi||pi_ref) (nats)", ylabel="expected reward E_pi[r]",
                 title="The penalty trades reward for staying close")
    ax[1, 1].legend(fontsize=8)
    return {
        "identity_max_abs_error": identity_error,
        "min_kl": kl.min(),
        "forward_kl_sigma": fits["forward"][1],
        "forward_kl_mu": fits["forward"][0],
        "reverse_kl_sigma": fits["reverse"][1],
        "reverse_kl_mu": fits["reverse"][0],
        "kl_pq": fits["forward"][2],
        "kl_qp": fits["reverse"][2],
        "max_abs_diff_to_closed_form": (policy.probs - closed_form.probs).abs().max(),
        "kl_by_beta": kl_reached,
        "kl_closed_form_by_beta": kl_divergence(closed_form, ref),
    }


ALPHABET = ".abcdefghijklmnopqrstuvwxyz"  # "." starts and ends every name


def _char_examples(names, context=3):
    """(contexts, next characters) of every position of every name: "emma" gives
    ... -> e, ..e -> m, .em -> m, emm -> a, mma -> ."""
    xs, ys = [], []
    for name in names:
        window = [0] * context
        for ch in name + ".":
            xs.append(window)
            ys.append(ALPHABET.index(ch))
            window = window[1:] + [ys[-1]]
    return dm.tensor(xs), dm.tensor(ys)


def _generate(model, count, generator, **sampling):
    """``count`` names, one character at a time from ``dm.sample(logits, **sampling)`` (cut at 15)."""
    context = dm.zeros(count, 3, dtype=dm.int64)
    letters = [[] for _ in range(count)]
    with dm.no_grad():
        for _ in range(15):
            ids = dm.sample(model(context), generator=generator, **sampling)
            context = dm.cat([context[:, 1:], ids[:, None]], dim=1)
            for row, i in zip(letters, ids.tolist()):
                row.append(ALPHABET[i])
    return ["".join(row).split(".")[0] for row in letters]


@experiment(
    "temperature", section="10.3", title="Temperature: the entropy knob of sampling",
    claim="A language model's output is a distribution over the next token; dividing its logits by a "
          "temperature T before the softmax sharpens it (T < 1, lower entropy) or flattens it (T > 1, "
          "toward uniform), and T -> 0 is the argmax. A character-level model of first names, trained "
          "here, beats the bigram and uniform baselines, and samples names from dull to wild as T rises.",
    formula="p_T(c) = softmax(z / T)_c;   H(p_T) increases with T, from 0 (argmax) to ln V (uniform)",
    expect={
        "entropy_by_temperature": satisfies("each in (0, ln 27) for T = 0.25, 0.5, 1, 1.5, 2",
                                            lambda v, h: all(0 < e < math.log(27) for e in v)),
        "entropy_increasing": is_true(),
        "t0_is_argmax": is_true(),
        # a calibrated model's average entropy at T = 1 is its expected cross-entropy
        "entropy_at_t1": satisfies("= model_loss ± 0.1 (calibration)",
                                   lambda v, h: abs(v - h["model_loss"]) <= 0.1),
        "model_loss": satisfies("< bigram_loss - 0.1 (full), < bigram_loss (--quick)",
                                lambda v, h: v < h["bigram_loss"] - (0 if h["quick"] else 0.1)),
        "bigram_loss": satisfies("< uniform_loss", lambda v, h: v < h["uniform_loss"]),
        "uniform_loss": close_to(math.log(27), abs_tol=1e-6),
    })
def temperature(run):
    """The model reads the last 3 characters (embedded in 10 dimensions each) and outputs 27
    logits z: an MLP language model in the style of Bengio et al. 2003, trained on 90% of
    the 5163 names with cross-entropy and scored on the other 10%.

    p_T = softmax(z / T): as T -> 0 all mass goes to the largest logit; as T -> infinity
    every token gets 1/V. In between, dH/dT = Var_p_T(z) / T^3 >= 0, so the entropy rises
    with T. Baselines: the uniform guess costs ln 27 = 3.30 nats per character; a bigram
    table (counts of each next character after each character, plus one) costs less.
    """
    g = run.generator
    names = dm.datasets.names()
    names = [names[i] for i in dm.randperm(len(names), generator=g).tolist()]
    split = int(0.9 * len(names))
    x_train, y_train = _char_examples(names[:split])
    x_val, y_val = _char_examples(names[split:])
    training = set(names[:split])

    # baselines: uniform, and the bigram table from one-hot counts (prev^T next, plus one)
    counts = F.one_hot(x_train[:, -1], 27).float().T @ F.one_hot(y_train, 27).float() + 1
    bigram = counts / counts.sum(1, keepdim=True)
    bigram_loss = -bigram[x_val[:, -1], y_val].log().mean().item()
    uniform_loss = -math.log(1 / 27)

    model = dm.nn.Sequential(dm.nn.Embedding(27, 10), dm.nn.Flatten(), dm.nn.Linear(30, 64), dm.nn.Tanh(),
                             dm.nn.Linear(64, 27))
    steps = run.size(2000, 600)
    optimizer = dm.optim.Adam(model.parameters(), lr=0.01)
    schedule = dm.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    val_curve = []  # (step, loss on the held-out names)
    for step in run.progress(range(steps), "character model"):
        if step % 100 == 0:
            with dm.no_grad():
                val_curve.append((step, F.cross_entropy(model(x_val), y_val).item()))
        rows = dm.randint(0, x_train.shape[0], (64,), generator=g)
        loss = F.cross_entropy(model(x_train[rows]), y_train[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    with dm.no_grad():
        logits = model(x_val)
    model_loss = F.cross_entropy(logits, y_val).item()
    val_curve.append((steps, model_loss))

    temperatures = [0.25, 0.5, 1.0, 1.5, 2.0]
    entropy = [dm.sample(logits, temperature=t, generator=g, return_distribution=True).entropy.mean().item()
               for t in temperatures]
    sweep = dm.logspace(-1.3, 0.7, 30).tolist()
    entropy_sweep = [dm.sample(logits, temperature=t, generator=g, return_distribution=True).entropy.mean().item()
                     for t in sweep]
    t0_is_argmax = bool((dm.sample(logits, temperature=0, generator=g) == logits.argmax(-1)).all())

    samples = {f"T = {t:g}": _generate(model, 8, g, temperature=t) for t in (0.25, 0.5, 1.0, 1.5, 2.0)}
    samples["T = 1, top-k 3"] = _generate(model, 8, g, top_k=3)
    samples["T = 1, top-p 0.5"] = _generate(model, 8, g, top_p=0.5)
    for setting, generated in samples.items():
        run.log(f"{setting:>18}: " + ", ".join(generated))
    fresh = _generate(model, 200, g)
    novel = sum(name not in training for name in fresh) / len(fresh)

    fig, ax = run.figure(2, 2, width=10, height=7.4)
    ax[0, 0].plot(*zip(*val_curve), "o-", ms=3, label="MLP, held-out names")
    ax[0, 0].axhline(bigram_loss, color="C1", ls="--", label=f"bigram table: {bigram_loss:.2f}")
    ax[0, 0].axhline(uniform_loss, color="0.5", ls=":", label=f"uniform: ln 27 = {uniform_loss:.2f}")
    ax[0, 0].set(xlabel="Adam step (batch 64)", ylabel="cross-entropy (nats per character)",
                 title=f"Character model: {model_loss:.2f} nats per character")
    ax[0, 0].legend()
    ax[0, 1].semilogx(sweep, entropy_sweep, "-", color="C0", label="mean over held-out contexts")
    ax[0, 1].semilogx(temperatures, entropy, "o", color="C0")
    ax[0, 1].axhline(math.log(27), color="0.5", ls=":", label="ln 27: uniform")
    ax[0, 1].axhline(model_loss, color="C2", ls="--", lw=1, label="model's cross-entropy at T = 1")
    ax[0, 1].set(xlabel="temperature T", ylabel="entropy of p_T (nats)", ylim=(0, 3.5),
                 title="Entropy rises with temperature")
    ax[0, 1].legend(fontsize=8)
    first = logits[0]  # the context "...": the first letter of a name
    letters = list(range(27))
    for k, t in enumerate((0.5, 1.0, 2.0)):
        ax[1, 0].bar([i + 0.27 * (k - 1) for i in letters], (first / t).softmax(-1).numpy(), width=0.27,
                     label=f"T = {t:g}")
    ax[1, 0].set_xticks(letters, list(ALPHABET))
    ax[1, 0].set(xlabel="first letter of a name", ylabel="probability", title="One distribution at three temperatures")
    ax[1, 0].legend()
    ax[1, 1].set_axis_off()
    text = "\n".join(f"{setting}:\n    " + ", ".join(generated[:6]) for setting, generated in samples.items())
    ax[1, 1].text(0, 1, text, va="top", family="monospace", fontsize=8, transform=ax[1, 1].transAxes)
    ax[1, 1].set_title("Names sampled with dm.sample")
    return {
        "entropy_by_temperature": entropy,
        "entropy_increasing": all(a < b for a, b in zip(entropy, entropy[1:])),
        "entropy_at_t1": entropy[temperatures.index(1.0)],
        "t0_is_argmax": t0_is_argmax,
        "model_loss": model_loss,
        "bigram_loss": bigram_loss,
        "uniform_loss": uniform_loss,
        "novel_names_at_t1": novel,
        "quick": run.quick,
    }
