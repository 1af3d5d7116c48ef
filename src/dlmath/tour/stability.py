"""10.4 Numerical stability: the tricks every deep-learning code base carries, and what breaks without them.

Floating point has a largest number (about 3.4e38 in float32, 1.8e308 in float64), a
smallest, and 24 (or 53) bits in between. ``exp`` reaches the largest at 88.7 (709.8),
``log`` of an underflowed 0 is -inf, ``0 * -inf`` and ``0 / 0`` are NaN, and a NaN in the
forward pass or in a gradient spreads to every weight it touches. Each experiment pushes
one formula across the edge, naive and guarded side by side: the max shift of
log-sum-exp, the eps of a logarithm and of a normalisation, the fused losses, and
gradient clipping.
"""
from __future__ import annotations

import math

import dlmath as dm
import dlmath.nn.functional as F

from .registry import at_least, at_most, close_to, experiment, is_true, satisfies

# ln of the largest finite number: exp(x) overflows to inf beyond these.
LN_MAX = {dm.float32: 128 * math.log(2), dm.float64: math.log(1.7976931348623157e308)}


def _plot_with_failures(ax, x, values, *, fail_at, floor=None, ceiling=None, **style):
    """Plot ``values`` against ``x`` with NaN/inf (and values above ``ceiling``) drawn at ``fail_at``,
    a band outside the data, so a failure is seen, not dropped; values below ``floor`` are drawn at it."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    if floor is not None:
        v = np.maximum(v, floor)
    off = ~np.isfinite(v) | (v > ceiling if ceiling is not None else False)
    ax.plot(np.asarray(x), np.where(off, fail_at, v), **style)


def _fail_band(ax, low, high, text="NaN / inf", text_y=None):
    """Shade the band where :func:`_plot_with_failures` draws failures, with a label at its middle."""
    ax.axhspan(low, high, color="tab:red", alpha=0.08, lw=0)
    middle = (low * high) ** 0.5 if low > 0 else (low + high) / 2
    ax.text(0.5, text_y or middle, text, transform=ax.get_yaxis_transform(), ha="center", va="center",
            fontsize=8, color="tab:red")


# ln(1 + e^-1 + e^-2 + e^-3): how far below ln(max) the sum of the logsumexp sweep's four exponentials overflows.
_HEADROOM = math.log(sum(math.exp(-k) for k in range(4)))


@experiment(
    "logsumexp", section="10.4", title="Softmax at any scale: subtract the max logit",
    claim="exp(z) overflows float32 beyond z = 88.7 and float64 beyond 709.8, so a softmax written as "
          "exp(z) / sum exp(z) returns inf/inf = NaN for large logits (and 0/0 for very negative ones). "
          "Softmax does not change when a constant is subtracted from every logit; subtracting the largest "
          "keeps every exponent <= 0 and the result exact at any scale. dm.softmax and dm.logsumexp do this.",
    formula="softmax(z)_i = exp(z_i - m) / sum_j exp(z_j - m),   logsumexp(z) = m + log sum_j exp(z_j - m),   "
            "m = max_j z_j",
    expect={
        "naive_has_nan": is_true(),
        "stable_is_finite": is_true(),
        "stable_max_error_float32": at_most(1e-6),
        "stable_max_error_float64": at_most(1e-14),
        "dm_softmax_max_abs_diff": at_most(1e-6),
        "dm_logsumexp_max_rel_error": at_most(1e-6),
        # The sum e^c (1 + e^-1 + e^-2 + e^-3) overflows once c > ln(max) - _HEADROOM (within the
        # sweep's step of 1/4): from there p = finite / inf = 0, beyond ln(max) inf / inf = NaN.
        "naive_float32_breaks_at": close_to(LN_MAX[dm.float32] - _HEADROOM, abs_tol=0.25),
        "naive_float64_breaks_at": close_to(LN_MAX[dm.float64] - _HEADROOM, abs_tol=0.25),
    })
def logsumexp(run):
    """softmax(z) = softmax(z - c) for every constant c: the common factor e^-c cancels between
    numerator and denominator. With c = max(z) the largest exponent is exactly 0, so nothing
    overflows and at least one term of the sum is 1, so nothing divides by an underflowed 0.
    Logits of a confident classifier, or attention scores before scaling, reach these sizes;
    every softmax, log_softmax and cross-entropy in a framework is written this way.

    Sweep: four logits c + (0, -1, -2, -3) with the largest, c, from -1000 to 1000. The exact
    softmax does not depend on c at all.
    """
    step = 0.25
    c = dm.arange(-1000, 1000 + step, step, dtype=dm.float64)
    offsets = dm.tensor([0.0, -1.0, -2.0, -3.0], dtype=dm.float64)
    exact = offsets.exp() / offsets.exp().sum()               # no overflow for these four
    exact_lse = c + offsets.exp().sum().log()                  # logsumexp(c + offsets)

    def error(p):  # largest |p - exact| in each row; NaN stays NaN
        return (p.double() - exact).abs().max(dim=1).values

    fig, axes = run.figure(1, 2, width=9.2, height=3.6)
    naive_nan, stable_finite, stable_errors, breaks, softmax_diffs, lse_errors = [], [], {}, {}, [], []
    for ax, dtype, name, span in zip(axes, (dm.float32, dm.float64), ("float32", "float64"), (150, 1000)):
        z = (c.unsqueeze(1) + offsets).to(dtype)               # exact: multiples of 1/4 up to 1000
        naive = z.exp() / z.exp().sum(dim=1, keepdim=True)
        shifted = z - z.max(dim=1, keepdim=True).values         # every exponent <= 0, the largest is 0
        stable = shifted.exp() / shifted.exp().sum(dim=1, keepdim=True)
        naive_error, stable_error = error(naive), error(stable)

        naive_nan.append(bool(naive[0].isnan().any() & naive[-1].isnan().any()))  # at c = -1000 and 1000
        stable_finite.append(bool(stable.isfinite().all()))
        stable_errors[name] = stable_error.max().item()
        broken = ~naive_error.isfinite() | (naive_error > 1e-3)
        breaks[name] = c[broken & (c > 0)].min().item()         # the first logit where the naive form fails
        softmax_diffs.append((dm.softmax(z, dim=1) - stable).abs().max().item())
        lse = dm.logsumexp(z, dim=1).double()
        lse_errors.append(((lse - exact_lse).abs() / exact_lse.abs().clamp(min=1)).max().item())

        # Errors below the unit roundoff u of the dtype are drawn at u: both forms are exact there.
        u = 2.0 ** -24 if dtype == dm.float32 else 2.0 ** -53
        shown = c.abs() <= span
        x = c[shown].numpy()
        _plot_with_failures(ax, x, stable_error[shown].numpy(), floor=u, fail_at=1e3,
                            color="tab:blue", lw=4, alpha=0.45, label="max subtracted (= dm.softmax)")
        _plot_with_failures(ax, x, naive_error[shown].numpy(), floor=u, fail_at=1e3,
                            color="tab:red", lw=1.3, label="naive: exp(z) / sum exp(z)")
        for edge in (-LN_MAX[dtype], LN_MAX[dtype]):
            ax.axvline(edge, color="grey", ls=":", lw=1)
        _fail_band(ax, 3e2, 3e3)
        ax.set_yscale("log")
        ax.set_ylim(u / 10, 1e4)
        ax.set_xlim(-span, span)
        ax.set_xlabel("largest logit c (the logits are c, c-1, c-2, c-3)")
        ax.set_ylabel("max |softmax - exact|  (floor: unit roundoff)")
        ax.set_title(f"{name}: dotted at ±ln(largest {name}) = ±{LN_MAX[dtype]:.1f}")
    axes[1].legend(loc="center", fontsize=8)
    fig.suptitle("Softmax of large logits: the naive form turns into NaN, the shifted one stays exact")
    return {
        "naive_has_nan": all(naive_nan),
        "stable_is_finite": all(stable_finite),
        "stable_max_error_float32": stable_errors["float32"],
        "stable_max_error_float64": stable_errors["float64"],
        "dm_softmax_max_abs_diff": max(softmax_diffs),
        "dm_logsumexp_max_rel_error": max(lse_errors),
        "naive_float32_breaks_at": breaks["float32"],
        "naive_float64_breaks_at": breaks["float64"],
    }


@experiment(
    "eps-guards", section="10.4", title="eps: a plateau where a formula has a pole",
    claim="log(p) is -inf at p = 0 and x / sigma divides by zero for a constant row, and one NaN from "
          "0 * log 0 or 0 / 0 spreads through every gradient. Adding a small eps, log(p + eps) and "
          "(x - mean) / sqrt(var + eps), changes nothing where p or sigma is large and caps the value "
          "and the gradient at the scale of eps where they vanish. F.layer_norm carries eps = 1e-5.",
    formula="-log(p + eps) <= -log(eps);   layer_norm(x) = (x - mean) / sqrt(var + eps),  "
            "gain 1 / sqrt(sigma^2 + eps) <= 1 / sqrt(eps)",
    expect={
        "without_eps_has_nan": is_true(),
        "with_eps_is_finite": is_true(),
        "gain_at_zero_spread": close_to(1 / math.sqrt(1e-5), abs_tol=1e-6),
        "gain_max_rel_error": at_most(1e-9),
        "layer_norm_vs_hand_max_abs_diff": at_most(1e-12),
    })
def eps_guards(run):
    """Two places where a network divides by something that can vanish.

    A probability fed to a log: the entropy -sum p log p of a one-hot distribution holds
    0 * log 0 = 0 * (-inf) = NaN, and d/dp log p = 1/p is unbounded. With log(p + eps) the
    value is at most -log(eps) and the slope at most 1/eps.

    Normalisation: layer norm divides a row by its spread sigma. A constant row (a padding
    token's embedding, a layer of dead ReLUs) has sigma = 0, and 0/0 = NaN. Nearby, the
    gradient that flows back through the division is 1/sigma times the incoming one: for a
    change v that keeps the mean and the variance, d layer_norm(x) = v / sqrt(sigma^2 + eps).
    eps turns the pole 1/sigma into a plateau at 1/sqrt(eps) (316 for PyTorch's 1e-5).
    """
    eps_log, eps_norm = 1e-8, 1e-5
    dtype = dm.float64  # the point is the formulas, not rounding

    # log: the entropy of (1, 0, 0), with and without the guard.
    one_hot = dm.tensor([1.0, 0.0, 0.0], dtype=dtype, requires_grad=True)
    entropy_naive = -(one_hot * one_hot.log()).sum()
    entropy_guarded = -(one_hot * (one_hot + eps_log).log()).sum()
    (guarded_grad,) = dm.autograd.grad(entropy_guarded, one_hot)

    # Normalisation: rows sigma * u with u = (1, -1, 1, -1) (mean 0, variance 1), sigma from 10 down to 0.
    # The loss <layer_norm(x), v> with v = (1, 1, -1, -1) (mean 0, orthogonal to u) sends back
    # x.grad = v / sqrt(sigma^2 + eps): its size over |v| is the gain.
    sigma = dm.cat([dm.logspace(1, -8, 181, dtype=dtype), dm.zeros(1, dtype=dtype)])
    u = dm.tensor([1.0, -1.0, 1.0, -1.0], dtype=dtype)
    v = dm.tensor([1.0, 1.0, -1.0, -1.0], dtype=dtype)

    def normalise(x, eps):  # by hand, over each row
        return (x - x.mean(dim=1, keepdim=True)) / (x.var(dim=1, unbiased=False, keepdim=True) + eps).sqrt()

    gains, outputs = {}, {}
    for name, layer in (("no eps", lambda x: normalise(x, 0.0)),
                        ("eps", lambda x: F.layer_norm(x, (4,), eps=eps_norm))):
        x = (sigma.unsqueeze(1) * u).requires_grad_()
        y = layer(x)
        (y * v).sum().backward()
        gains[name] = x.grad.norm(dim=1) / v.norm()
        outputs[name] = y.detach()
    by_hand = normalise(sigma.unsqueeze(1) * u, eps_norm)
    predicted_gain = 1 / (sigma ** 2 + eps_norm).sqrt()

    fig, (left, right) = run.figure(1, 2, width=9.2, height=3.6)
    p = dm.logspace(-16, 0, 161, dtype=dtype)
    left.plot(p.numpy(), (-p.log()).numpy(), color="tab:red", lw=1.5, label="-log p  (inf at p = 0; 0 * log 0 = NaN)")
    left.plot(p.numpy(), (-(p + eps_log).log()).numpy(), color="tab:blue", lw=1.5,
              label=f"-log(p + eps),  eps = {eps_log:g}")
    left.axhline(-math.log(eps_log), color="grey", ls=":", lw=1)
    left.text(1e-16, -math.log(eps_log) + 0.8, f"-log(eps) = {-math.log(eps_log):.1f}", fontsize=8, color="grey")
    left.set_xscale("log")
    left.set_xlabel("probability p of the target")
    left.set_ylabel("loss term (nats)")
    left.set_title("log: the guard caps -log p at -log(eps)")
    left.legend(loc="upper right", fontsize=8)

    s = sigma[:-1].numpy()  # sigma = 0 has no place on a log axis: its values are in the legend
    right.plot(s, gains["no eps"][:-1].numpy(), color="tab:red", lw=1.5,
               label=f"(x - mean) / sigma:  1/sigma  (at sigma = 0: {gains['no eps'][-1].item():.0f})")
    right.plot(s, gains["eps"][:-1].numpy(), color="tab:blue", lw=3, alpha=0.5,
               label=f"F.layer_norm, eps = {eps_norm:g}  (at 0: {gains['eps'][-1].item():.0f})")
    right.plot(s, predicted_gain[:-1].numpy(), color="black", ls="--", lw=1, label="1 / sqrt(sigma^2 + eps)")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("spread sigma of the row (standard deviation)")
    right.set_ylabel("gradient gain |x.grad| / |v|")
    right.set_title("normalisation: the gain 1/sigma stops at 1/sqrt(eps)")
    right.legend(loc="upper right", fontsize=8)
    fig.suptitle("eps turns a pole into a plateau: finite values and gradients where p or sigma vanishes")

    def finite(*tensors):
        return all(bool(t.isfinite().all()) for t in tensors)

    return {
        "without_eps_has_nan": bool(entropy_naive.isnan()) and bool(outputs["no eps"][-1].isnan().any()),
        "with_eps_is_finite": finite(entropy_guarded, guarded_grad, outputs["eps"], gains["eps"]),
        "gain_at_zero_spread": gains["eps"][-1].item(),
        "gain_max_rel_error": ((gains["eps"] - predicted_gain).abs() / predicted_gain).max().item(),
        "layer_norm_vs_hand_max_abs_diff": (outputs["eps"] - by_hand).abs().max().item(),
        "entropy_with_eps": entropy_guarded.item(),
    }


def _predicted_naive_failures(z, classes):
    """How many of the fused-losses sweep's 4 x len(z) naive (loss, gradient) pairs float32 cannot hold.

    sigmoid(z) = 1 / (1 + e^-z) is exactly 1 once e^-z < 2^-24 (half a float32 step below 1),
    z > 24 ln 2 = 16.6, and exactly 0 once e^-z overflows, z < -ln(max) = -88.7. Either way one
    of log s, log(1 - s) is -inf: the loss is inf, or NaN where the target multiplies that log
    by 0, and so is the gradient, for both targets. The softmax probability p of the target
    stays positive over the sweep, but the gradient of -log p is -1/p, which overflows once
    -log p > ln(max): z < -(ln(max) - ln(K - 1)) when z is the target's logit, z > ln(max) when
    it is a rival's.
    """
    ln_max = LN_MAX[dm.float32]
    sigmoid_saturates = ((z > 24 * math.log(2)) | (z < -ln_max)).sum().item()
    ce_target = (z < -(ln_max - math.log(classes - 1))).sum().item()
    ce_rival = (z > ln_max).sum().item()
    return 2 * sigmoid_saturates + ce_target + ce_rival


@experiment(
    "fused-losses", section="10.4", title="Fused losses: sigmoid + BCE and softmax + CE as one formula",
    claim="Computed in two steps in float32, sigmoid then -log (or softmax then -log) fails for confident "
          "logits: the probability rounds to exactly 1 or 0, a log turns -inf, and 0 * -inf or -1/p "
          "overflowing gives NaN in the loss or its gradient. The fused forms (F.binary_cross_entropy_with_logits, "
          "F.cross_entropy) never round the probability: softplus(z) - y z and logsumexp(z) - z_y are "
          "finite for every logit, and their gradients are the clean sigmoid(z) - y and softmax(z) - y.",
    formula="BCE(z, y) = max(z, 0) - y z + log(1 + e^-|z|),  dBCE/dz = sigmoid(z) - y;   "
            "CE(z, y) = logsumexp(z) - z_y,  dCE/dz = softmax(z) - onehot(y)",
    expect={
        "naive_nonfinite_fraction": satisfies(
            "predicted ± 0.001", lambda v, h: abs(v - h["predicted_nonfinite_fraction"]) <= 1e-3),
        "fused_nonfinite_fraction": at_most(0.0),
        "fused_max_error": at_most(1e-6),
        "fused_grad_max_abs_diff": at_most(1e-6),
    })
def fused_losses(run):
    """Binary and 10-class cross-entropy for logits z from -100 to 100, in float32.

    The naive forms are the definitions: s = sigmoid(z), then -(y log s + (1 - y) log(1 - s));
    p = softmax(z), then -log p_y. (F.binary_cross_entropy clamps its logs at -100, as torch
    does, which would hide the failure.) The fused forms never round a probability:
    log sigmoid(z) = -softplus(-z) and log softmax(z)_y = z_y - logsumexp(z). Their gradient is
    the prediction minus the target, the reason output layers pair sigmoid with BCE and
    softmax with CE.

    Cases: BCE with target y = 1 (z is the truth's logit) and y = 0; CE with logits
    (z, 0, ..., 0) and target class 0 (z is the truth's logit) or 1 (z is a rival's). Each
    exact loss is a softplus of the logit, shifted by ln 9 for CE (the 9 rivals at 0):
    loss = a + softplus(sign (z - shift)) with slope sign * sigmoid(sign (z - shift)),
    evaluated in float64.
    """
    n, classes = run.size(2001, 401), 10
    z64 = dm.linspace(-100, 100, n, dtype=dm.float64)
    ln_rivals = math.log(classes - 1)
    cases = []
    for kind, target, sign, shift in (("BCE", 1, -1, 0.0), ("BCE", 0, 1, 0.0),
                                      ("CE", 0, -1, ln_rivals), ("CE", 1, 1, ln_rivals)):
        z = z64.float().requires_grad_()
        if kind == "BCE":
            y = dm.full_like(z, float(target))
            s = z.sigmoid()
            naive = -(y * s.log() + (1 - y) * (1 - s).log())
            fused = F.binary_cross_entropy_with_logits(z, y, reduction="none")
            clean = z.sigmoid() - y
        else:
            logits = dm.stack([z] + [dm.zeros_like(z)] * (classes - 1), dim=1)
            naive = -dm.softmax(logits, dim=1)[:, target].log()
            fused = F.cross_entropy(logits, dm.full((n,), target, dtype=dm.int64), reduction="none")
            clean = dm.softmax(logits, dim=1)[:, 0] - float(target == 0)  # softmax - onehot, at z's class
        naive_grad, fused_grad = (dm.autograd.grad(loss.sum(), z)[0] for loss in (naive, fused))
        t = sign * (z64 - shift)
        exact = t.clamp(min=0) + (-t.abs()).exp().log1p() + (ln_rivals if kind == "CE" and target == 1 else 0.0)
        cases.append(dict(kind=kind, target=target, naive=naive.detach(), naive_grad=naive_grad,
                          fused=fused.detach(), fused_grad=fused_grad, clean=clean.detach(), exact=exact,
                          exact_grad=sign * t.sigmoid()))

    def nonfinite(loss, grad):
        return (~loss.isfinite() | ~grad.isfinite()).sum().item()

    total = len(cases) * n
    headline = {
        "naive_nonfinite_fraction": sum(nonfinite(c["naive"], c["naive_grad"]) for c in cases) / total,
        "predicted_nonfinite_fraction": _predicted_naive_failures(z64, classes) / total,
        "fused_nonfinite_fraction": sum(nonfinite(c["fused"], c["fused_grad"]) for c in cases) / total,
        # loss error relative to max(1, loss): float32 keeps ~7 digits of a large loss, and an
        # absolute 1e-7 of a tiny one.
        "fused_max_error": max(((c["fused"].double() - c["exact"]).abs() / c["exact"].clamp(min=1)).max().item()
                               for c in cases),
        "fused_grad_max_abs_diff": max((c["fused_grad"] - c["clean"]).abs().max().item() for c in cases),
        "fused_grad_max_abs_error": max((c["fused_grad"].double() - c["exact_grad"]).abs().max().item()
                                        for c in cases),
    }

    fig, axes = run.figure(2, 2, width=9.2, height=6.2, sharex=True)
    x = z64.numpy()
    for column, case in enumerate(cases[::2]):  # the target-is-z cases: BCE y = 1, CE class 0
        for row, (key, low, high) in enumerate((("", -5, 130), ("_grad", -1.15, 0.45))):
            ax = axes[row, column]
            fail = high - (high - low) * 0.06
            ax.plot(x, case["exact" + key].numpy(), color="black", lw=1, label="exact")
            _plot_with_failures(ax, x, case["fused" + key].numpy(), fail_at=fail, color="tab:blue", lw=4,
                                alpha=0.45, label="fused (float32)")
            _plot_with_failures(ax, x, case["naive" + key].numpy(), fail_at=fail, color="tab:red", lw=1.3,
                                label="naive: probability, then -log (float32)")
            _fail_band(ax, high - (high - low) * 0.12, high)
            ax.set_ylim(low, high)
        axes[0, column].set_ylabel("loss (nats)")
        axes[1, column].set_ylabel("dloss / dz")
        axes[1, column].set_xlabel("logit z of the true class")
    axes[0, 0].set_title("BCE: sigmoid, target y = 1")
    axes[0, 1].set_title(f"CE: softmax over {classes} classes, logits (z, 0, ..., 0)")
    axes[0, 0].annotate("sigmoid(z) rounds to 1:\nz > 24 ln 2 = 16.6", (24 * math.log(2), 55), (24, 55),
                        fontsize=8, color="tab:red", va="center")
    axes[1, 1].annotate(f"-1/p overflows:\nz < -{LN_MAX[dm.float32] - ln_rivals:.1f}",
                        (-(LN_MAX[dm.float32] - ln_rivals), -0.5), (-80, -0.5), fontsize=8, color="tab:red",
                        va="center")
    axes[0, 1].legend(loc="center right", fontsize=8)
    fig.suptitle("Confident logits: the two-step forms give NaN where float32 rounds the probability to 0 or 1")
    return headline


def _recall_model(hidden, radius, seed):
    """A tanh RNN and a linear read-out; the recurrent matrix rescaled to spectral radius ``radius``."""
    dm.manual_seed(seed)  # both runs start from the same weights
    rnn, head = dm.nn.RNN(1, hidden, batch_first=True), dm.nn.Linear(hidden, 1)
    with dm.no_grad():
        rnn.weight_hh_l0.mul_(radius / dm.linalg.spectral_radius(rnn.weight_hh_l0))
    return rnn, head


def _train_recall(run, name, rnn, head, x, y, *, steps, lr, max_norm):
    """Plain SGD on the mean squared error; returns the loss and the gradient norm (before clipping) per step."""
    parameters = list(rnn.parameters()) + list(head.parameters())
    optimizer = dm.optim.SGD(parameters, lr=lr)
    losses, norms = [], []
    for _ in run.progress(range(steps), f"training, {name}"):
        optimizer.zero_grad()
        states, _ = rnn(x)
        loss = F.mse_loss(head(states[:, -1]), y)
        loss.backward()
        # Returns the norm before clipping; with max_norm = inf it only measures.
        norms.append(dm.nn.utils.clip_grad_norm_(parameters, max_norm).item())
        optimizer.step()
        losses.append(loss.item())
    return losses, norms


@experiment(
    "gradient-clipping", section="10.4", title="Gradient clipping tames exploding gradients",
    claim="Backpropagation through time multiplies by the recurrent Jacobian once per step, so the gradient "
          "of a tanh RNN whose recurrent matrix has spectral radius 2 is large and grows fast wherever the "
          "weights move. Plain SGD's step is lr * |g|: each step lands where |g| is larger, and within a few "
          "dozen steps loss and gradient overflow to inf/NaN. Rescaling g to norm at most c "
          "(dm.nn.utils.clip_grad_norm_) keeps its direction and bounds every step by lr * c: the same network "
          "at the same learning rate learns the task.",
    formula="g <- g * min(1, c / |g|);   dL/dh_0 = dL/dh_T prod_t diag(1 - h_t^2) W_hh",
    expect={
        "clipped_final_loss": satisfies("< 0.5 x chance", lambda v, h: v < 0.5 * h["chance_loss"]),
        "unclipped_final_loss": satisfies("> 2 x clipped (or non-finite)",
                                          lambda v, h: not math.isfinite(v) or v > 2 * h["clipped_final_loss"]),
        "unclipped_nonfinite_steps": at_least(1),
        "clipped_nonfinite_steps": at_most(0),
    })
def gradient_clipping(run):
    """A recall task: read T = 20 numbers, output the first. The answer has to travel through
    all 20 recurrent steps, and so does its gradient: dL/dh_0 is a product of 20 Jacobians
    diag(1 - h_t^2) W_hh, which can grow like the spectral radius of W_hh to the 20th power
    where the units are not saturated (Pascanu, Mikolov and Bengio, 2013).

    Both runs start from the same weights (W_hh rescaled to spectral radius 2) with SGD at
    learning rate 0.3; one clips the gradient norm at c = 0.2. Here |g| is a few units even
    on a good path, so nearly every step of the clipped run is rescaled to length lr * c:
    clipping makes the step size a choice rather than a consequence of the landscape. The
    chance level is the variance of the target (the loss of predicting 0).
    """
    steps, lr, max_norm = run.size(400, 150), 0.3, 0.2
    x = dm.randn(256, 20, 1, generator=run.generator)
    y = x[:, 0]                                     # recall the first input, 20 steps later
    runs = {}
    for name, clip in (("unclipped", math.inf), ("clipped", max_norm)):
        rnn, head = _recall_model(16, 2.0, run.seed)
        runs[name] = _train_recall(run, name, rnn, head, x, y, steps=steps, lr=lr, max_norm=clip)

    def final(losses):  # the mean of the last 20 steps: SGD's loss is noisy
        return sum(losses[-20:]) / 20

    fig, (left, right) = run.figure(1, 2, width=9.2, height=3.6)
    chance = y.var(unbiased=False).item()
    colors = {"unclipped": "tab:red", "clipped": "tab:blue"}
    for name, (losses, norms) in runs.items():
        for ax, values in ((left, losses), (right, norms)):
            _plot_with_failures(ax, range(steps), values, fail_at=3e6, ceiling=1e6, color=colors[name], lw=1.1,
                                label=name)
    left.axhline(chance, color="grey", ls=":", lw=1, label="chance (predict 0)")
    right.axhline(max_norm, color="black", ls="--", lw=1, label=f"clip threshold c = {max_norm}")
    first_nan = next((k for k, v in enumerate(runs["unclipped"][0]) if not math.isfinite(v)), None)
    for ax, what in ((left, "training loss (MSE)"), (right, "gradient norm |g| before clipping")):
        _fail_band(ax, 2e6, 5e7, "> 1e6, then inf / NaN" + (f" from step {first_nan}" if first_nan else ""),
                   text_y=1.6e7)
        ax.set_yscale("log")
        ax.set_ylim(top=1e8)
        ax.set_xlabel("SGD step")
        ax.set_ylabel(what)
        ax.legend(loc="center right", fontsize=8)
    left.set_title("loss: without clipping it overflows")
    right.set_title("|g| before clipping; the step is lr * min(|g|, c)")
    fig.suptitle(f"Tanh RNN, spectral radius 2, recall over 20 steps, SGD lr = {lr}")

    return {
        "clipped_final_loss": final(runs["clipped"][0]),
        "unclipped_final_loss": final(runs["unclipped"][0]),
        "unclipped_nonfinite_steps": sum(not math.isfinite(v) for v in runs["unclipped"][0]),
        "clipped_nonfinite_steps": sum(not math.isfinite(v) for v in runs["clipped"][0]),
        "chance_loss": chance,
        "unclipped_max_finite_grad_norm": max(v for v in runs["unclipped"][1] if math.isfinite(v)),
        "clipped_max_grad_norm": max(runs["clipped"][1]),
        "clipped_steps_fraction": sum(n > max_norm for n in runs["clipped"][1]) / steps,
    }
