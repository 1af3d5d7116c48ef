"""10.2 Calculus: derivatives, gradients, the chain rule, Jacobians and Hessians, each doing
the job it does in a network.

Training a network is calculus run by machine: the gradient says which way is downhill,
the chain rule (backpropagation) computes it layer by layer, Jacobians carry it through
softmax and through time in a recurrent net, and the Hessian's curvature decides how
fast a first-order method can go -- and what Newton's method and Adam do about it.
"""
from __future__ import annotations

import math
import re

import numpy as np

import dlmath as dm
import dlmath.nn.functional as F

from .registry import above, at_most, between, experiment, is_false, satisfies

# Machine epsilon (the gap between 1 and the next float) of the two dtypes the chapter
# compares. NumPy's finfo holds the constants (dlmath has no dm.finfo yet).
EPS = {dm.float32: float(np.finfo(np.float32).eps), dm.float64: float(np.finfo(np.float64).eps)}


def _quartiles(t):
    """First quartile, median and third quartile of each row of ``t``
    (dlmath has no median/quantile yet: sort, and read the row at 1/4, 1/2, 3/4)."""
    ordered, n = t.sort(dim=1).values, t.shape[1]
    return ordered[:, n // 4], ordered[:, n // 2], ordered[:, (3 * n) // 4]


# ---------------------------------------------------------------------------------------
@experiment(
    "finite-differences", section="10.2", title="The derivative by finite differences",
    claim="A finite difference trades truncation error (shrinks with h) for round-off error "
          "(grows as eps/h), so the best step is a compromise: about sqrt(eps) for the forward "
          "difference and eps^(1/3) for the central one. That is why gradient checks run in "
          "float64 with h ~ 1e-6, and why training uses autograd instead.",
    formula="f'(x) ~ (f(x+h) - f(x)) / h  [error ~ h|f''|/2 + 2 eps|f|/h]    "
            "f'(x) ~ (f(x+h) - f(x-h)) / 2h  [error ~ h^2|f'''|/6 + eps|f|/h]",
    expect={"best_h_forward_f64": between(1e-9, 1e-7),
            "best_h_central_f64": between(5e-7, 5e-5),
            "best_h_central_f32": between(5e-4, 5e-2),
            "best_h_forward_f32": between(3e-5, 3e-3),
            "error_forward_f64": at_most(5e-8),
            "error_central_f64": at_most(1e-10),
            "error_central_f32": at_most(1e-5),
            "numerical_grad_default_error": at_most(1e-9)})
def finite_differences(run):
    """f = tanh (an activation) at many points x; the exact f'(x) comes from autograd.

    Forward difference: Taylor gives f(x+h) = f(x) + h f'(x) + h^2/2 f''(x) + ..., so the
    error is ~ h |f''| / 2 (truncation). But f(x+h) and f(x) are each rounded with relative
    error eps, and their difference is divided by h: ~ 2 eps |f| / h (round-off). The sum is
    smallest at h ~ sqrt(eps). The central difference cancels the h^2 term, its truncation
    error is h^2 |f'''| / 6, and the optimum moves to h ~ eps^(1/3) with a much smaller error.
    """
    n_points = run.size(512, 128)
    steps = dm.logspace(-1, -13, run.size(61, 37), dtype=dm.float64)  # the sweep of h
    x = dm.empty(n_points, dtype=dm.float64).uniform_(-2.0, 2.0, generator=run.generator)

    # The exact derivative, as backprop computes it (float64, exact to rounding).
    x_leaf = x.clone().requires_grad_()
    exact, = dm.autograd.grad(dm.tanh(x_leaf).sum(), x_leaf)

    fig, axes = run.figure(1, 2, width=9.6, height=3.9, sharey=True)
    headline = {}
    for ax, dtype, tag in ((axes[0], dm.float64, "f64"), (axes[1], dm.float32, "f32")):
        # Every (h, x) pair at once: rows are steps, columns are points. The arithmetic
        # runs in `dtype`, so its rounding is the thing being measured.
        h, xs = steps.to(dtype)[:, None], x.to(dtype)[None, :]
        forward = (dm.tanh(xs + h) - dm.tanh(xs)) / h
        central = (dm.tanh(xs + h) - dm.tanh(xs - h)) / (2 * h)
        for name, estimate, colour in (("forward", forward, "tab:orange"), ("central", central, "tab:blue")):
            error = (estimate.to(dm.float64) - exact).abs()
            low, median, high = _quartiles(error)         # typical error at each h
            best = int(median.argmin())
            headline[f"best_h_{name}_{tag}"] = steps[best].item()
            headline[f"error_{name}_{tag}"] = median[best].item()
            ax.fill_between(steps.numpy(), low.numpy(), high.numpy(), color=colour, alpha=0.2, lw=0)
            ax.plot(steps.numpy(), median.numpy(), color=colour, label=f"{name} difference (median, IQR)")
            ax.plot(steps[best].item(), median[best].item(), "o", color=colour)
        # Where the error model puts the minima: sqrt(eps) and eps^(1/3).
        eps = EPS[dtype]
        ax.axvline(math.sqrt(eps), color="tab:orange", ls=":", lw=1, label="predicted best h: √ε")
        ax.axvline(eps ** (1 / 3), color="tab:blue", ls=":", lw=1, label="predicted best h: ε^(1/3)")
        ax.text(0.03, 0.04, "truncation\nerror ∝ h, h²", transform=ax.transAxes, fontsize=8)
        ax.text(0.97, 0.04, "round-off\nerror ∝ ε/h", transform=ax.transAxes, fontsize=8, ha="right")
        ax.set(xscale="log", yscale="log", xlabel="step h (shrinking →)", ylim=(1e-13, 10),
               title=f"{dtype} (ε = {eps:.1e})")
        ax.invert_xaxis()
    axes[1].annotate("x + h rounds to x:\nthe difference is 0", xy=(1e-10, 0.3), xytext=(1e-8, 1e-3),
                     fontsize=8, arrowprops=dict(arrowstyle="->"))
    axes[0].set_ylabel("|finite difference − f'(x) from autograd|")
    axes[0].legend(loc="upper left", fontsize=8)

    # dm.func.numerical_grad (central differences in float64) with its default eps=1e-6
    # sits near that optimum: its error is close to the best the sweep found.
    approx = dm.func.numerical_grad(lambda t: dm.tanh(t).sum(), x[:64])
    headline["numerical_grad_default_error"] = _quartiles((approx - exact[:64]).abs()[None])[1].item()
    headline["sqrt_eps_f64"], headline["cbrt_eps_f64"] = math.sqrt(EPS[dm.float64]), EPS[dm.float64] ** (1 / 3)
    headline["cbrt_eps_f32"] = EPS[dm.float32] ** (1 / 3)
    return headline


# ---------------------------------------------------------------------------------------
def _logistic_regression(generator, n, scales, l2, correlation=0.0):
    """A logistic-regression loss L(w) = mean BCE(sigmoid(X w), y) + l2/2 |w|^2 (float64) on
    data drawn from the model itself, so the classes overlap and the minimum is finite.

    ``w`` is a weight vector (d,), or a batch of them as columns (d, k): then L is (k,).
    """
    d = len(scales)
    z = dm.randn(n, d, generator=generator, dtype=dm.float64)
    z = math.sqrt(1 - correlation ** 2) * z + correlation * z[:, :1]   # features correlated with the first
    X = z * dm.tensor(scales, dtype=dm.float64)
    w_true = dm.randn(d, generator=generator, dtype=dm.float64) / dm.tensor(scales, dtype=dm.float64)
    y = (dm.rand(n, generator=generator, dtype=dm.float64) < dm.sigmoid(X @ w_true)).to(dm.float64)

    def loss(w):
        logits = X @ w
        targets = y if w.ndim == 1 else y[:, None].expand_as(logits)
        data = F.binary_cross_entropy_with_logits(logits, targets, reduction="none").mean(0)
        return data + 0.5 * l2 * (w * w).sum(0)

    return loss, X


def _descent_paths(ax, loss, lr, starts, n_steps):
    """Contours of a two-weight loss and gradient-descent paths on them: each step leaves its
    contour at a right angle."""
    a, b = np.meshgrid(np.linspace(-3, 3, 121), np.linspace(-3, 3, 121))
    surface = loss(dm.tensor(np.stack([a.ravel(), b.ravel()]))).reshape(a.shape)  # one batched call
    low = surface.min().item()   # contours spaced geometrically above the minimum
    ax.contour(a, b, surface.numpy(), levels=low + np.geomspace(1e-3, surface.max().item() - low, 16),
               cmap="viridis", linewidths=0.8)
    grad = dm.func.grad(loss)
    for start in starts:
        w, path = dm.tensor(start, dtype=dm.float64), [start]
        for _ in range(n_steps):
            w = w - lr * grad(w)
            path.append(w.tolist())
        ax.plot(*np.array(path).T, ".-", ms=3, lw=1, color="tab:red")


@experiment(
    "steepest-ascent", section="10.2", title="The gradient points uphill",
    claim="Of all unit directions u, the directional derivative D_u L = grad L . u is largest "
          "along the gradient (Cauchy-Schwarz), so gradient descent steps the opposite way. "
          "In two dimensions random directions find it too; in a thousand they are nearly "
          "orthogonal to it, and one backward pass is the only practical way to get it.",
    formula="D_u L(w) = grad L(w) . u <= |grad L(w)|, with equality iff u = grad L / |grad L|",
    expect={"jvp_vs_grad_max_abs_diff": at_most(1e-14),
            "n_beating_gradient": at_most(0),
            # n random angles leave a fixed one uncovered by pi ln(1e6) / n with probability 1e-6
            "cos_best_direction_to_gradient": satisfies(
                ">= cos(pi ln(1e6) / n_directions)",
                lambda v, h: v >= math.cos(math.pi * math.log(1e6) / h["n_directions"])),
            "best_random_cos_1000d": satisfies(
                "<= 2 x sqrt(2 ln n_directions / 1000)",
                lambda v, h: v <= 2 * math.sqrt(2 * math.log(h["n_directions"]) / 1000))})
def steepest_ascent(run):
    """A two-weight logistic regression (correlated features, so the bowl is elongated).

    At a point w0 the directional derivative along each of many random unit directions is
    computed by forward mode (dm.func.jvp), without ever forming the gradient; the best
    of them is compared with the gradient from reverse mode (dm.func.grad).
    """
    loss, X = _logistic_regression(run.generator, 200, [1.0, 1.0], l2=0.01, correlation=0.9)
    w0 = dm.tensor([-2.0, 1.2], dtype=dm.float64)
    n_dirs = run.size(2000, 500)
    u = dm.randn(n_dirs, 2, generator=run.generator, dtype=dm.float64)
    u = u / dm.linalg.vector_norm(u, dim=1, keepdim=True)
    slopes = dm.func.vmap(lambda v: dm.func.jvp(loss, (w0,), (v,))[1])(u)   # D_u L, forward mode
    grad = dm.func.grad(loss)(w0)                                            # reverse mode
    best = u[int(slopes.argmax())]
    grad_norm = dm.linalg.vector_norm(grad)
    # Forward mode's slopes are the dot products with reverse mode's gradient: D_u L = grad L . u.
    mismatch = (slopes - u @ grad).abs().max()

    # The same search in 1000 dimensions: the best of n_dirs random directions is barely
    # aligned with a fixed direction (cos ~ sqrt(2 ln n_dirs / d)).
    g_big = dm.randn(1000, generator=run.generator, dtype=dm.float64)
    u_big = dm.randn(n_dirs, 1000, generator=run.generator, dtype=dm.float64)
    cos_big = (u_big @ g_big) / (dm.linalg.vector_norm(u_big, dim=1) * dm.linalg.vector_norm(g_big))

    fig, (ax_slope, ax_path) = run.figure(1, 2, width=9.6, height=4.0)
    angle = dm.atan2(u[:, 1], u[:, 0]).numpy()
    ax_slope.scatter(np.degrees(angle), slopes.numpy(), s=3, color="tab:blue", label="random unit directions u")
    grad_angle = math.degrees(math.atan2(grad[1].item(), grad[0].item()))
    ax_slope.axvline(grad_angle, color="tab:red", label="direction of ∇L")
    ax_slope.axhline(grad_norm.item(), color="tab:red", ls=":", label="|∇L| (the bound)")
    ax_slope.set(xlabel="angle of u (degrees)", ylabel="directional derivative D_u L (forward mode)",
                 title=f"At w0: {n_dirs} directions, none above |∇L|",
                 ylim=(-2.0 * grad_norm.item(), 1.25 * grad_norm.item()))
    ax_slope.legend(loc="lower center", ncol=2)

    # A step of 1.8/L, L = the largest curvature the loss can have (|X|^2 / 4n + l2), zig-zags
    # across the valley: the gradient is steepest locally, not aimed at the minimum.
    lr = 1.8 / (dm.linalg.eigvalsh(X.T @ X / (4 * len(X)))[-1].item() + 0.01)
    _descent_paths(ax_path, loss, lr, [[-2.0, 1.2], [2.5, 2.5], [2.5, -2.0]], run.size(40, 20))
    ax_path.annotate("∇L at w0", xy=w0.tolist(), xytext=(w0 + 0.8 * grad / grad_norm).tolist(),
                     arrowprops=dict(arrowstyle="<-", color="black"), ha="center", va="top")
    ax_path.set(xlabel="weight w1", ylabel="weight w2", aspect="equal",
                title="Gradient descent paths (step 1.8/L) on the loss contours")

    return {"cos_best_direction_to_gradient": (best @ grad / grad_norm).item(),
            "jvp_vs_grad_max_abs_diff": mismatch.item(), "n_directions": n_dirs,
            "max_directional_over_grad_norm": (slopes.max() / grad_norm).item(),
            "n_beating_gradient": int((slopes > grad_norm * (1 + 1e-12)).sum()),
            "best_random_cos_1000d": cos_big.max().item(),
            "predicted_cos_1000d": math.sqrt(2 * math.log(n_dirs) / 1000),
            "grad_norm": grad_norm.item()}


# ---------------------------------------------------------------------------------------
def _heatmap(ax, matrix, title):
    """One Jacobian as a heatmap (red positive, blue negative, white zero), entries written in."""
    m = matrix.detach().reshape(matrix.shape[0] if matrix.ndim > 1 else 1, -1).numpy()
    top = max(abs(m).max(), 1e-12)
    ax.imshow(m, cmap="RdBu_r", vmin=-top, vmax=top)
    for (i, j), v in np.ndenumerate(m):
        if v != 0:   # structural zeros stay blank, so the sparsity shows
            ax.text(j, i, f"{np.round(v, 2) + 0.0:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if abs(v) > 0.6 * top else "black",
                    in_layout=False)   # inside the cells: the layout need not measure them
    ax.set_title(title, fontsize=9)
    ax.set_xticks([]), ax.set_yticks([])
    ax.grid(False)


@experiment(
    "chain-rule", section="10.2", title="Backpropagation is the chain rule",
    claim="The gradient of the loss with respect to the first layer's weights is a product of "
          "local derivatives, taken from the loss back to the weights. Multiplying those "
          "Jacobians by hand gives exactly what autograd's backward pass computes; dm.explain "
          "prints that backward pass step by step.",
    formula="dL/dW1 = dL/dy . dy/dh . dh/dz . dz/dW1, with dy/dh = W2, dh/dz = diag(1 - h^2)",
    expect={"max_abs_diff": at_most(1e-14), "explain_leaves": satisfies("= 4 (W1, b1, W2, b2)", lambda v, h: v == 4)})
def chain_rule(run):
    """A two-layer network y = W2 tanh(W1 x + b1) + b2 with the loss L = (y - t)^2 / 2, float64.

    Each op's local derivative is a Jacobian: (1 x 1) for the loss, (1 x 4) for the second
    layer (its weight W2), (4 x 4) diagonal for tanh, (4 x 12) for z = W1 x as a function of
    the 12 entries of W1. Their product, from the loss back, is dL/dW1. A framework never
    forms the (4 x 12) factor -- it is kron(I, x^T), so the product collapses to the outer
    product delta x^T -- but written out, the chain rule is plain matrix multiplication.
    """
    model = dm.nn.Sequential(dm.nn.Linear(3, 4, dtype=dm.float64), dm.nn.Tanh(),
                             dm.nn.Linear(4, 1, dtype=dm.float64))
    x = dm.randn(3, generator=run.generator, dtype=dm.float64)
    target = dm.tensor([0.5], dtype=dm.float64)
    loss = 0.5 * ((model(x) - target) ** 2).sum()
    text = dm.explain(loss, names=dict(model.named_parameters()), file=None)
    run.log(text)
    loss.backward()

    first, second = model[0], model[2]
    with dm.no_grad():                              # the chain rule by hand, outside autograd
        h = dm.tanh(first(x))
        y = second(h)
        dL_dy = (y - target)[None]                  # (1, 1)
        dy_dh = second.weight                       # (1, 4)
        dh_dz = dm.diag(1 - h ** 2)                 # (4, 4), tanh' = 1 - tanh^2
        dz_dW1 = dm.kron(dm.eye(4, dtype=dm.float64), x[None])   # (4, 12)
        delta = dL_dy @ dy_dh @ dh_dz               # dL/dz = dL/db1, (1, 4)
        by_hand = {"0.weight": (delta @ dz_dW1).reshape(4, 3), "0.bias": delta[0],
                   "2.weight": dL_dy @ h[None], "2.bias": dL_dy[0]}
    params = dict(model.named_parameters())
    diff = max((by_hand[name] - params[name].grad).abs().max().item() for name in by_hand)

    fig, axes = run.figure(1, 6, width=11, height=2.3,
                           gridspec_kw={"width_ratios": [1, 4, 4, 12, 0.5, 12]})
    _heatmap(axes[0], dL_dy, "dL/dy\n1 x 1")
    _heatmap(axes[1], dy_dh, "dy/dh = W2\n1 x 4")
    _heatmap(axes[2], dh_dz, "dh/dz = diag(1 - h^2)\n4 x 4")
    _heatmap(axes[3], dz_dW1, "dz/dW1 = kron(I, x^T)\n4 x 12")
    axes[4].axis("off")
    axes[4].text(0.5, 0.5, "=", fontsize=20, ha="center", va="center")
    _heatmap(axes[5], dm.stack([by_hand["0.weight"].reshape(12), first.weight.grad.reshape(12)]),
             "dL/dW1, flattened\n1 x 12")
    axes[5].set_yticks([0, 1], ["product", "autograd"])
    fig.suptitle("The chain rule as a product of Jacobians, from the loss (left) back to the weights W1")
    leaves, steps = re.search(r"to (\d+) leaves: (\d+) steps of the chain rule", text).groups()
    return {"max_abs_diff": diff, "loss": loss.item(), "explain_leaves": int(leaves), "explain_steps": int(steps)}


def _jacobian_products(rnn, xs, h0):
    """dh_t/dh_0 for t = 1..T of a one-layer tanh RNN run over ``xs``, each the product of the
    per-step Jacobians diag(1 - h_s^2) W_hh for s <= t; and the hidden states h_1..h_T."""
    hs = rnn(xs, h0.reshape(1, 1, -1))[0].reshape(len(xs), -1).detach()
    W = rnn.weight_hh_l0.detach()
    products = [dm.diag(1 - hs[0] ** 2) @ W]
    for h in hs[1:]:
        products.append(dm.diag(1 - h ** 2) @ W @ products[-1])
    return products, hs


@experiment(
    "jacobians", section="10.2", title="Jacobians of softmax and of an RNN step",
    claim="Softmax's Jacobian is diag(p) - p p^T: each logit pulls its own probability up and "
          "all others down, and every row sums to zero because probabilities sum to one. An RNN "
          "step's Jacobian is diag(1 - h^2) W; backpropagation through time multiplies one per "
          "step, and the product shrinks or grows geometrically -- vanishing and exploding gradients.",
    formula="d softmax(z)/dz = diag(p) - p p^T;   dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh",
    expect={"softmax_max_abs_diff": at_most(1e-15),
            "softmax_row_sum_max_abs": at_most(1e-15),
            "rnn_max_abs_diff": at_most(1e-14),
            "rnn_product_max_rel_diff": at_most(1e-12)})
def jacobians(run):
    """Closed-form Jacobians against dm.func.jacrev (reverse mode) and jacfwd (forward mode).

    The RNN is a dm.nn.RNN (default init, float64); its last hidden state h_T as a function
    of h_0 is differentiated whole by jacrev, at several T, against the product of one
    closed-form Jacobian per step. With the default init W_hh's spectral radius is below 1,
    and tanh's slopes (below 1) shrink the product faster still: the gradient vanishes.

    Softmax's Jacobian is what turns the cross-entropy gradient into p - y; the recurrence
    Jacobian is the factor backprop through time applies once per step, so its size decides
    whether an RNN can learn long-range dependencies.
    """
    logits = dm.randn(8, generator=run.generator, dtype=dm.float64) * 1.5
    p = F.softmax(logits, dim=-1)
    closed = dm.diag(p) - dm.outer(p, p)
    softmax = lambda z: F.softmax(z, dim=-1)
    softmax_diff = max((dm.func.jacrev(softmax)(logits) - closed).abs().max().item(),
                       (dm.func.jacfwd(softmax)(logits) - closed).abs().max().item())

    # A dm.nn.RNN over a sequence: h_T as a function of h_0, differentiated whole by jacrev,
    # against the product of one closed-form Jacobian per step.
    hidden, steps = 16, run.size(60, 30)
    rnn = dm.nn.RNN(4, hidden, dtype=dm.float64)
    xs = dm.randn(steps, 1, 4, generator=run.generator, dtype=dm.float64)
    h0 = 0.5 * dm.randn(hidden, generator=run.generator, dtype=dm.float64)
    last_state = lambda T: lambda h: rnn(xs[:T], h.reshape(1, 1, hidden))[1].reshape(hidden)
    products, hs = _jacobian_products(rnn, xs, h0)
    rnn_diff = (dm.func.jacrev(last_state(1))(h0) - products[0]).abs().max().item()
    checks = [T for T in (1, 2, 5, 10, 20, 30, 40, 60) if T <= steps]
    whole = {T: dm.func.jacrev(last_state(T))(h0) for T in checks}
    # relative: after many steps both are tiny
    product_diff = max(((whole[T] - products[T - 1]).abs().max() / products[T - 1].abs().max()).item()
                       for T in checks)

    fig, (ax_soft, ax_rnn) = run.figure(1, 2, width=9.6, height=3.9)
    _heatmap(ax_soft, closed, "softmax Jacobian diag(p) - p p^T (8 classes)")
    ax_soft.set_xticks(range(8), [f"{v:.2f}" for v in p.tolist()], fontsize=7)
    ax_soft.set_xlabel("p of each class (column j: d p_i / d z_j)")
    norm = lambda J: dm.linalg.matrix_norm(J, ord=2).item()    # spectral norm: the largest gain
    T = np.arange(1, steps + 1)
    radius = dm.linalg.spectral_radius(rnn.weight_hh_l0.detach()).item()
    ax_rnn.plot(T, [norm(J) for J in products], color="tab:blue", label="product of diag(1 - h_t²) W_hh")
    ax_rnn.plot(checks, [norm(whole[t]) for t in checks], "o", mfc="none", color="black",
                label="dm.func.jacrev of the unrolled dm.nn.RNN")
    # Without tanh (a linear RNN) the product would be W_hh^T, shrinking like rho^T; tanh's
    # slopes, each below 1, make it shrink faster.
    ax_rnn.plot(T, radius ** T, "--", color="tab:gray", label=f"ρ(W_hh)^T, ρ = {radius:.2f}: the linear RNN's rate")
    ax_rnn.set(yscale="log", xlabel="steps back in time T", ylabel="|dh_T / dh_0| (spectral norm)",
               title="Backprop through time: one Jacobian per step")
    ax_rnn.legend(loc="lower left", fontsize=8)
    return {"softmax_max_abs_diff": softmax_diff,
            "softmax_row_sum_max_abs": closed.sum(dim=1).abs().max().item(),
            "rnn_max_abs_diff": rnn_diff, "rnn_product_max_rel_diff": product_diff,
            "rnn_steps": steps, "rnn_norm_after_all_steps": norm(products[-1]),
            "spectral_radius_w_hh": radius}


# ---------------------------------------------------------------------------------------
def _steps_to_tolerance(optimizer_class, lr, loss_fn, w0, tol=1e-8, cap=50000):
    """Steps of a dm.optim optimizer until loss_fn(w) <= tol * loss_fn(w0) (``cap`` if never)."""
    w = dm.nn.Parameter(w0.clone())
    optimizer = optimizer_class([w], lr=lr)
    start = loss_fn(w).item()
    for step in range(cap + 1):
        optimizer.zero_grad()
        loss = loss_fn(w)
        if loss.item() <= tol * start or step == cap:
            return step
        loss.backward()
        optimizer.step()


def _adam_against_sgd(run, kappas, dim=10):
    """Steps to reduce 1/2 sum_i lambda_i w_i^2 1e8-fold, lambda log-spaced in [1, kappa], for
    SGD at its best fixed step, Adam, and Adam on the same quadratic rotated."""
    rotation = dm.linalg.qr(dm.randn(dim, dim, generator=run.generator, dtype=dm.float64))[0]
    w0 = dm.ones(dim, dtype=dm.float64)
    counts = {"sgd": [], "adam": [], "adam_rotated": []}
    for kappa in run.progress(kappas, "condition numbers"):
        lam = dm.logspace(0, math.log10(kappa), dim, dtype=dm.float64)
        aligned = lambda v: 0.5 * (lam * v * v).sum()
        rotated = lambda v: 0.5 * (lam * (rotation @ v) ** 2).sum()
        eig = dm.linalg.eigvalsh(dm.func.hessian(aligned)(w0))    # the curvatures, read off H
        counts["sgd"].append(_steps_to_tolerance(dm.optim.SGD, 2 / (eig[0] + eig[-1]).item(), aligned, w0))
        counts["adam"].append(_steps_to_tolerance(dm.optim.Adam, 0.1, aligned, w0))
        counts["adam_rotated"].append(_steps_to_tolerance(dm.optim.Adam, 0.1, rotated, w0))
    return counts


@experiment(
    "hessian-curvature", section="10.2", title="Curvature: Newton, gradient descent and Adam",
    claim="The Hessian's eigenvalues are the loss's curvatures. Gradient descent must take steps "
          "small enough for the sharpest one, so it crawls along the flattest at the rate "
          "1 - lr * lambda_min, which the eigenvalues predict; Newton's method divides by the "
          "curvature and converges in a handful of steps. Adam divides each coordinate's step "
          "by its own gradient scale: on a quadratic whose curvatures lie along the axes this "
          "removes the condition number, on the same quadratic rotated much less so.",
    formula="Newton: w <- w - H^-1 grad L;  GD: |grad L_k| ~ (1 - lr lambda_min)^k;  "
            "Adam: w_i <- w_i - lr m_i / (sqrt(v_i) + eps)",
    expect={"newton_iters": at_most(15),
            "gd_iters": satisfies("> 10 x newton_iters", lambda v, h: v > 10 * h["newton_iters"]),
            "gd_hit_cap": is_false(),
            "gd_rate_rel_error": at_most(0.02),
            "hessian_min_eigenvalue": above(0.0),
            "sgd_steps": satisfies("in [0.8, 1] x the bound from the eigenvalues",
                                   lambda v, h: 0.8 * h["sgd_steps_bound"] <= v <= h["sgd_steps_bound"]),
            "adam_steps": satisfies("< sgd_steps / 10", lambda v, h: v < h["sgd_steps"] / 10)})
def hessian_curvature(run):
    """Two problems. (1) Logistic regression, 5 weights, features on scales 1 to 8 (so the
    Hessian is ill-conditioned), L2 1e-3: Newton's method against gradient descent with the
    largest safe step, both to |grad L| <= 1e-8. (2) Quadratics 1/2 sum_i lambda_i w_i^2 of
    growing condition number kappa: steps of SGD (best fixed step 2 / (lambda_min +
    lambda_max)) and Adam (lr 0.1) to reduce the loss 1e8-fold.
    """
    loss, X = _logistic_regression(run.generator, 400, [1.0, 1.0, 2.0, 4.0, 8.0], l2=1e-3)
    grad, hessian = dm.func.grad(loss), dm.func.hessian(loss)

    w, newton = dm.zeros(5, dtype=dm.float64), []
    while True:
        g = grad(w)
        newton.append(dm.linalg.vector_norm(g).item())
        if newton[-1] <= 1e-8 or len(newton) > 50:
            break
        w = w - dm.linalg.solve(hessian(w), g)      # jump to the minimum of the local quadratic
    curvatures = dm.linalg.eigvalsh(hessian(w))     # at the minimum, ascending

    # Gradient descent with step 1/L, L = |X|^2 / 4n + l2 >= every curvature the loss has.
    lr = 1 / (dm.linalg.eigvalsh(X.T @ X / (4 * len(X)))[-1].item() + 1e-3)
    w, descent = dm.zeros(5, dtype=dm.float64), []
    for _ in run.progress(range(20001), "gradient descent"):   # capped at 20000 steps
        g = grad(w)
        descent.append(dm.linalg.vector_norm(g).item())
        if descent[-1] <= 1e-8:
            break
        w = w - lr * g
    # Near the minimum the error shrinks by (1 - lr lambda_min) per step.
    predicted_rate = 1 - lr * curvatures[0].item()
    measured_rate = (descent[-1] / descent[-201]) ** (1 / 200)

    fig, (ax_gd, ax_adam) = run.figure(1, 2, width=9.6, height=3.9)
    k = np.arange(len(descent))
    ax_gd.plot(descent, color="tab:blue", label=f"gradient descent, lr = 1/L: {len(descent) - 1} steps")
    ax_gd.plot(k, descent[-1] * predicted_rate ** (k - k[-1]), ":", color="black",
               label=f"predicted (1 - lr·λ_min)^k, λ_min = {curvatures[0].item():.3f}")
    ax_gd.plot(newton, "o-", ms=3, color="tab:green", label=f"Newton: {len(newton) - 1} steps")
    ax_gd.set(yscale="log", ylim=(1e-11, 1e2), xlabel="iteration", ylabel="|∇L|",
              title="Logistic regression: Newton vs gradient descent")
    ax_gd.legend(loc="lower left")
    inset = ax_gd.inset_axes([0.58, 0.55, 0.38, 0.38])   # Newton zoomed in: the exponent doubles
    inset.plot(newton, "o-", ms=3, color="tab:green")
    inset.set(yscale="log", title="Newton: quadratic convergence", xlabel="iteration")
    inset.title.set_fontsize(8)

    # (2) Adam against SGD on axis-aligned and rotated quadratics of growing kappa.
    kappas = run.size([10, 30, 100, 300, 1000], [10, 100, 1000])
    counts = _adam_against_sgd(run, kappas)
    labels = {"sgd": "SGD, lr = 2/(λ_min + λ_max)", "adam": "Adam, lr = 0.1",
              "adam_rotated": "Adam, lr = 0.1, same quadratic rotated"}
    for (key, label), marker in zip(labels.items(), "os^"):
        ax_adam.plot(kappas, counts[key], marker + "-", label=label)
    ax_adam.set(xscale="log", yscale="log", xlabel="condition number κ = λ_max / λ_min",
                ylabel="steps to reduce the loss 1e8-fold", title="Quadratics: Adam adapts to axis-aligned curvature")
    ax_adam.legend()

    # SGD's error along lambda_min and lambda_max shrinks by rho = (kappa-1)/(kappa+1) per step,
    # the loss by rho^2: at most ln(1e8) / (2 ln(1/rho)) steps.
    rho = (kappas[-1] - 1) / (kappas[-1] + 1)
    return {"newton_iters": len(newton) - 1, "gd_iters": len(descent) - 1, "gd_hit_cap": descent[-1] > 1e-8,
            "gd_rate_predicted": predicted_rate, "gd_rate_measured": measured_rate,
            "gd_rate_rel_error": abs((1 - measured_rate) / (1 - predicted_rate) - 1),
            "hessian_min_eigenvalue": curvatures[0].item(), "hessian_max_eigenvalue": curvatures[-1].item(),
            "kappa": kappas[-1], "sgd_steps": counts["sgd"][-1], "adam_steps": counts["adam"][-1],
            "adam_steps_rotated": counts["adam_rotated"][-1],
            "sgd_steps_bound": math.ceil(math.log(1e8) / (2 * math.log(1 / rho)))}
