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
import dlmath.nn.functional as F
from dlmath.distributions import Normal

from .registry import at_most, between, close_to, experiment, satisfies


def digits_split(generator, train=1300):
    """The 1797 8x8 digits shuffled by ``generator``: (x_train, y_train, x_test, y_test), 1300 / 497,
    each image a row of 64 pixels standardised with the training set's mean and std (the
    std floored at 1 grey level, so a pixel that is blank in every training image stays ~0)."""
    images, labels = dm.datasets.load_digits()
    order = dm.randperm(labels.shape[0], generator=generator)
    x, y = images.reshape(-1, 64)[order], labels[order]
    mean, std = x[:train].mean(0), x[:train].std(0).clamp(min=1.0)
    x = (x - mean) / std
    return x[:train], y[:train], x[train:], y[train:]


def train_classifier(run, model, optimizer, x, y, steps, *, batch=64, clip=None, every=0, on_eval=None,
                     what="training"):
    """Minibatch SGD on cross-entropy: the loop a PyTorch user writes. Returns the loss of every
    step; ``on_eval(step)`` runs before the first step and then every ``every`` steps."""
    losses = []
    for step in run.progress(range(steps), what):
        if every and step % every == 0 and on_eval is not None:
            model.eval()
            with dm.no_grad():
                on_eval(step)
            model.train()
        rows = dm.randint(0, x.shape[0], (batch,), generator=run.generator)
        loss = F.cross_entropy(model(x[rows]), y[rows])
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            dm.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        losses.append(loss.item())
    if every and on_eval is not None:
        model.eval()
        with dm.no_grad():
            on_eval(steps)
    return losses


def _gaussian_mean(f, q, points=4001):
    """E[f(sqrt(q) z)], z ~ N(0, 1), by a Riemann sum on [-10, 10]: the mean-field expectation."""
    z = dm.linspace(-10, 10, points, dtype=dm.float64)
    weight = Normal(0.0, 1.0).log_prob(z).exp() * (20 / (points - 1))
    return (f(math.sqrt(q) * z) * weight).sum().item()


def _mean_field(phi, gain, depth):
    """Iterate q_l = gain * E[phi(h)^2], h ~ N(0, q_(l-1)), from q_1 = gain (unit-variance inputs),
    gain = fan_in * Var(w). Returns the predicted std of phi(h_l) at every layer, and q_depth."""
    q, stds = gain, []
    for _ in range(depth):
        second_moment = _gaussian_mean(lambda t: phi(t) ** 2, q)
        stds.append(math.sqrt(second_moment - _gaussian_mean(phi, q) ** 2))
        q_last, q = q, gain * second_moment
    return stds, q_last


# name -> (in-place initialiser of a weight, fan_in * Var(w) when fan_in = fan_out)
INITS = {
    "naive": (lambda w: dm.nn.init.normal_(w, 0.0, 1.0), lambda n: n),
    "xavier": (lambda w: dm.nn.init.xavier_normal_(w), lambda n: 1.0),
    "he": (lambda w: dm.nn.init.kaiming_normal_(w, nonlinearity="relu"), lambda n: 2.0),
}
ACTIVATIONS = {"tanh": dm.tanh, "relu": dm.relu}


def _deep_stack(x, activation, init, depth):
    """phi(W_l ... phi(W_1 x)) through ``depth`` square layers: every layer's output, and the
    gradient of a random unit-variance loss direction with respect to each of them."""
    hidden, h = [], x
    for _ in range(depth):
        layer = dm.nn.Linear(x.shape[1], x.shape[1], bias=False, dtype=x.dtype).requires_grad_(False)
        INITS[init][0](layer.weight)  # (no weight gradients needed: only dLoss/dh)
        h = ACTIVATIONS[activation](layer(h))
        hidden.append(h)
    upstream = dm.randn(*h.shape, dtype=x.dtype)
    return hidden, dm.autograd.grad(hidden[-1], hidden, grad_outputs=upstream)


def _deep_relu_mlp(init, depth=30, width=64):
    """A plain (no normalisation, no skips) ReLU MLP for the digits, every Linear initialised by ``init``."""
    dims = [64] + [width] * depth
    model = dm.nn.Sequential(*[m for a, b in zip(dims, dims[1:]) for m in (dm.nn.Linear(a, b), dm.nn.ReLU())],
                             dm.nn.Linear(width, 10))
    for module in model.modules():
        if isinstance(module, dm.nn.Linear):
            INITS[init][0](module.weight)
            dm.nn.init.zeros_(module.bias)
    return model


@experiment(
    "init-variance", section="10.3", title="Initialisation keeps the variance alive through depth",
    claim="Each layer multiplies the variance of its activations by fan_in * Var(w) * E[phi(h)^2] / Var(h). "
          "Xavier/Glorot's Var(w) = 1 / fan_in makes the factor 1 for tanh near 0 but 1/2 for ReLU, which "
          "zeroes half its inputs; He/Kaiming's 2 / fan_in restores it. Through 50 layers the wrong "
          "choice vanishes or explodes, and a 30-layer ReLU net under Xavier does not train (He et al. 2015).",
    formula="Var(h_l) = n Var(w) E[phi(h_(l-1))^2]:  ReLU, Xavier: Var halves each layer;  ReLU, He: Var constant",
    expect={
        # 1 in expectation; one network of width 256 wanders by a log-normal factor (the sd of
        # its log is ~0.28 over seeds: this band is 3 sd), while a variance gain off by 4% per
        # layer would end outside it
        "relu_he_std_ratio_l50": between(0.4, 2.5),
        "relu_xavier_log2_std_ratio_l30": close_to(-14.5, abs_tol=1.0),  # (30 - 1) halvings of the variance
        # a width-256 net is within ~5% (1 sd over seeds) of the wide limit; gain 1.1 would give 0.46
        "tanh_xavier_std_ratio_l50": satisfies("= mean-field prediction ± 20%",
                                               lambda v, h: abs(v / h["tanh_xavier_mean_field_l50"] - 1) <= 0.2),
        "naive_tanh_saturated_fraction": satisfies("= mean-field prediction ± 0.03",
                                                   lambda v, h: abs(v - h["naive_tanh_saturated_mean_field"]) <= 0.03),
        "he_final_loss": satisfies("<= 1.0 (full), <= 1.5 (--quick)",
                                   lambda v, h: v <= (1.5 if h["quick"] else 1.0)),
        "xavier_final_loss": satisfies("stalls: >= ln 10 - 0.05 = 2.25",
                                       lambda v, h: v >= math.log(10) - 0.05),
    })
def init_variance(run):
    """A layer h_l = phi(W h_(l-1)) with n inputs and weights of variance s^2 has pre-activations
    of variance q_l = n s^2 E[phi(h)^2]: the mean-field recursion, exact for wide layers.

    ReLU keeps half of a symmetric input: E[relu(h)^2] = q / 2, so q_l = (n s^2 / 2) q_(l-1):
    Xavier (n s^2 = 1) halves it at every layer, He (n s^2 = 2) keeps it. Tanh is linear
    near 0, so Xavier keeps its variance at first, then it decays slowly (q_l ~ 1 / (2l)).
    With s = 1 the pre-activations have std ~ sqrt(n) = 16 and tanh is saturated at +-1:
    its derivative is ~0 and no gradient passes. Backward, the gradient is multiplied by
    W^T and phi' at each layer: the same factor for fan_in = fan_out, so it follows suit.
    """
    depth, width, batch = 50, 256, run.size(128, 64)
    # float64: a naive ReLU stack grows 1e51-fold, beyond float32's range
    x = dm.randn(batch, width, generator=run.generator, dtype=dm.float64, requires_grad=True)
    configs = [(act, init) for act in ACTIVATIONS for init in INITS]
    forward_std, backward_std, theory, last = {}, {}, {}, {}
    for act, init in run.progress(configs, "50-layer stacks"):
        hidden, grads = _deep_stack(x, act, init, depth)
        forward_std[act, init] = [t.std().item() for t in hidden]
        backward_std[act, init] = [t.std().item() for t in grads]
        last[act, init] = hidden[-1].detach()
        if (act, init) != ("relu", "naive"):  # (that one overflows even the theory's grid)
            theory[act, init] = _mean_field(ACTIVATIONS[act], INITS[init][1](width), depth)
    # |tanh(h)| > 0.99 where |h| > atanh(0.99) = 2.65, h ~ N(0, q_50)
    threshold = math.atanh(0.99) / math.sqrt(theory["tanh", "naive"][1])
    saturated_theory = 2 * (1 - Normal(0.0, 1.0).cdf(dm.tensor(threshold)).item())

    # training: 30 ReLU layers of width 64 on the digits, the same SGD for both initialisations
    x_train, y_train, _, _ = digits_split(run.generator)
    steps, curves, final = run.size(300, 200), {}, {}
    for init in ("he", "xavier"):
        model = _deep_relu_mlp(init)
        optimizer = dm.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
        # a deep plain net's first steps spike: clip both runs' gradient norm at 1, the same way
        curves[init] = train_classifier(run, model, optimizer, x_train, y_train, steps, clip=1.0,
                                        what=f"30 layers, {init} init")
        with dm.no_grad():
            final[init] = F.cross_entropy(model(x_train), y_train).item()

    layers_axis = list(range(1, depth + 1))
    fig, ax = run.figure(2, 2, width=10, height=7.6)
    for k, (act, init) in enumerate(configs):
        style = dict(color=f"C{k}", label=f"{act}, {init}")
        ax[0, 0].semilogy(layers_axis, forward_std[act, init], **style)
        ax[0, 1].semilogy(layers_axis, backward_std[act, init], **style)
        if (act, init) in theory:
            ax[0, 0].semilogy(layers_axis, theory[act, init][0], "k:", lw=1)
    ax[0, 0].plot([], [], "k:", lw=1, label="mean-field theory")
    ax[0, 0].set(xlabel="layer", ylabel="std of the activations", title="Forward: 50 layers of width 256")
    ax[0, 1].set(xlabel="layer", ylabel="std of dLoss/d(activations)", title="Backward: the gradient, layer by layer")
    for a in ax[0]:
        a.set_ylim(1e-9, 1e9)  # naive ReLU leaves the chart: x sqrt(128) per layer, 1e51 at layer 50
    ax[0, 0].legend(fontsize=7, ncol=2, loc="lower left")
    ax[0, 0].annotate("relu, naive: x11 per layer", (10, 1e8), fontsize=8, color="C3")
    bins = dm.linspace(-1, 1, 61).numpy()
    ax[1, 0].hist(last["tanh", "naive"].flatten().numpy(), bins=bins, alpha=0.6, density=True,
                  label="naive N(0, 1) weights")
    ax[1, 0].hist(last["tanh", "xavier"].flatten().numpy(), bins=bins, alpha=0.6, density=True,
                  label="Xavier weights")
    ax[1, 0].set(xlabel="tanh activation at layer 50", ylabel="density", yscale="log",
                 title="Naive init saturates tanh at ±1")
    ax[1, 0].legend()
    for k, init in enumerate(("he", "xavier")):
        smooth = [sum(curves[init][max(0, i - 9):i + 1]) / len(curves[init][max(0, i - 9):i + 1])
                  for i in range(steps)]  # running mean of 10 steps over the raw batch losses
        ax[1, 1].plot(curves[init], color=f"C{k}", alpha=0.25, lw=0.8)
        ax[1, 1].plot(smooth, color=f"C{k}", label=f"{init} init: train-set loss {final[init]:.2f} at the end")
    ax[1, 1].axhline(math.log(10), color="0.4", ls=":", lw=1, label="ln 10: chance")
    ax[1, 1].set(xlabel="SGD step (batch 64)", ylabel="cross-entropy (nats)", ylim=(0, 4),
                 title="30 ReLU layers on the digits (cf. He et al. 2015, fig. 3)")
    ax[1, 1].legend()
    ratio = {key: stds[-1] / stds[0] for key, stds in forward_std.items()}
    return {
        "relu_he_std_ratio_l50": ratio["relu", "he"],
        "relu_xavier_log2_std_ratio_l30": math.log2(forward_std["relu", "xavier"][29]
                                                    / forward_std["relu", "xavier"][0]),
        "tanh_xavier_std_ratio_l50": ratio["tanh", "xavier"],
        "tanh_xavier_mean_field_l50": theory["tanh", "xavier"][0][-1] / theory["tanh", "xavier"][0][0],
        "naive_tanh_saturated_fraction": (last["tanh", "naive"].abs() > 0.99).double().mean(),
        "naive_tanh_saturated_mean_field": saturated_theory,
        "relu_naive_log10_std_ratio_l50": math.log10(ratio["relu", "naive"]),
        "relu_he_grad_ratio_l1_over_l50": backward_std["relu", "he"][0] / backward_std["relu", "he"][-1],
        "he_final_loss": final["he"],
        "xavier_final_loss": final["xavier"],
        "quick": run.quick,
    }


def _sigmoid_mlp(batchnorm):
    """Ioffe & Szegedy's figure 1 network: 3 hidden layers of 100 sigmoids, BatchNorm before each."""
    layers, width = [], 64
    for _ in range(3):
        layers += [dm.nn.Linear(width, 100), *([dm.nn.BatchNorm1d(100)] if batchnorm else []), dm.nn.Sigmoid()]
        width = 100
    return dm.nn.Sequential(*layers, dm.nn.Linear(100, 10))


def _train_watching_a_sigmoid(run, model, lr, data, steps, every, what):
    """Plain SGD (batch 60, as the paper); every ``every`` steps, the test accuracy and the 15th,
    50th and 85th percentiles of one sigmoid's input over the training batches since the last look."""
    x, y, x_test, y_test = data
    optimizer = dm.optim.SGD(model.parameters(), lr=lr)
    body, head = model[:-2], model[-2:]  # up to the last sigmoids' inputs; those sigmoids and the output
    accuracy, percentiles, window = [], [], []
    for step in run.progress(range(steps), what):
        rows = dm.randint(0, x.shape[0], (60,), generator=run.generator)
        z = body(x[rows])
        loss = F.cross_entropy(head(z), y[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        window.append(z[:, 0].detach())  # one unit of the last hidden layer, as the paper's figure
        if (step + 1) % every == 0:
            model.eval()  # BatchNorm uses its running statistics at test time
            with dm.no_grad():
                accuracy.append((model(x_test).argmax(-1) == y_test).double().mean().item())
            model.train()
            values = dm.cat(window).sort().values
            percentiles.append([values[round(q * (values.shape[0] - 1))].item() for q in (0.15, 0.5, 0.85)])
            window = []
    return accuracy, percentiles


@experiment(
    "batchnorm", section="10.3", title="BatchNorm: normalise each unit's mean and variance",
    claim="BatchNorm subtracts each unit's batch mean and divides by its batch std before the "
          "nonlinearity, so a sigmoid's input keeps its distribution while the layers below "
          "change. A sigmoid network then learns several times faster and survives a 5x "
          "learning rate that saturates it without BatchNorm (Ioffe & Szegedy 2015, fig. 1).",
    formula="BN(h) = gamma (h - mean_B(h)) / sqrt(var_B(h) + eps) + beta",
    expect={
        "steps_to_target_bn": satisfies("< steps_to_target_plain / 2 (never = infinite)",
                                        lambda v, h: v < (h["steps_to_target_plain"] or math.inf) / 2),
        "percentile_drift_bn": satisfies("< percentile_drift_plain / 2",
                                         lambda v, h: v < h["percentile_drift_plain"] / 2),
        # (the mean of the last 4 looks: one look at lr 10 is noisy; --quick trains it 200 steps)
        "bn_final_acc_5x_lr": satisfies(">= 0.9 (full), >= 0.8 (--quick)",
                                        lambda v, h: v >= (0.8 if h["quick"] else 0.9)),
        "plain_final_acc_5x_lr": satisfies("<= 0.3: saturated, near chance (0.1)", lambda v, h: v <= 0.3),
    })
def batchnorm(run):
    """For each unit, over the batch: mu_B = mean h, s_B^2 = var h, h' = (h - mu_B) / sqrt(s_B^2 + eps)
    has mean 0 and variance 1, then gamma h' + beta lets the layer choose its own scale back.

    Without it the distribution of a unit's input moves whenever the weights below move
    ("internal covariate shift"); a sigmoid whose input drifts to large |h| saturates and
    its gradient sigma'(h) vanishes. The learning rate is the plain network's good one
    (2.0, found by a sweep; sigmoid gradients are small); 5x it drives the plain network's
    sigmoids into saturation, where the gradient cannot bring them back. The drift is how
    far the 15th/50th/85th percentiles of one sigmoid's input still move over the second
    half of training (the shaded span), in the units of that input.
    """
    data = digits_split(run.generator)
    steps, fast_steps, every, lr = run.size(800, 300), run.size(400, 200), 25, 2.0
    target = 0.9
    runs = {}
    for name, batchnorm_on, rate, length in [("plain", False, lr, steps), ("bn", True, lr, steps),
                                             ("plain 5x lr", False, 5 * lr, fast_steps),
                                             ("bn 5x lr", True, 5 * lr, fast_steps)]:
        runs[name] = _train_watching_a_sigmoid(run, _sigmoid_mlp(batchnorm_on), rate, data, length, every, name)

    def steps_to(accuracy):
        return next(((k + 1) * every for k, a in enumerate(accuracy) if a >= target), math.inf)

    def drift(percentiles):  # how far the three percentiles still move in the second half of training
        return sum(abs(b - a) for a, b in zip(percentiles[len(percentiles) // 2], percentiles[-1])) / 3

    def final(accuracy):  # the mean of the last 4 looks (100 steps)
        return sum(accuracy[-4:]) / 4

    fig, ax = run.figure(1, 3, width=12, height=3.8)
    for name, style in (("plain", "C0-"), ("bn", "C1-"), ("plain 5x lr", "C0:"), ("bn 5x lr", "C1:")):
        accuracy = runs[name][0]
        ax[0].plot([every * (k + 1) for k in range(len(accuracy))], accuracy, style,
                   label=("with BN" if "bn" in name else "without BN") + (", 5x lr" if "5x" in name else ""))
    ax[0].axhline(target, color="0.5", lw=1, ls="--", label=f"target {target}")
    ax[0].set(xlabel="SGD step (batch 60)", ylabel="test accuracy", ylim=(0, 1), title="Test accuracy (497 digits)")
    ax[0].legend(fontsize=8)
    for a, name, title in ((ax[1], "plain", "Without BN"), (ax[2], "bn", "With BN")):
        percentiles = runs[name][1]
        looks = [every * (k + 1) for k in range(len(percentiles))]
        for q, column in zip((15, 50, 85), zip(*percentiles)):
            a.plot(looks, column, label=f"{q}th percentile")
        a.axvspan(looks[len(looks) // 2], looks[-1], color="0.92", zorder=0)
        a.set(xlabel="SGD step", ylabel="input of one last-layer sigmoid",
              title=f"{title}: second-half drift {drift(percentiles):.2f}")
        a.legend(fontsize=8)
    ax[2].sharey(ax[1])
    return {
        "steps_to_target_bn": steps_to(runs["bn"][0]),
        "steps_to_target_plain": steps_to(runs["plain"][0]),
        "target_accuracy": target,
        "percentile_drift_bn": drift(runs["bn"][1]),
        "percentile_drift_plain": drift(runs["plain"][1]),
        "bn_final_acc": final(runs["bn"][0]),
        "plain_final_acc": final(runs["plain"][0]),
        "bn_final_acc_5x_lr": final(runs["bn 5x lr"][0]),
        "plain_final_acc_5x_lr": final(runs["plain 5x lr"][0]),
        "quick": run.quick,
    }


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
