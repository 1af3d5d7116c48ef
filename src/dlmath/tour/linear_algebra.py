"""10.1 Linear algebra: the operations every layer is made of, each run where a network uses it.

A dot product scores similarity (retrieval, attention); a matrix product is a layer's
forward pass and, transposed, its backward pass (BP2); an outer product is a weight
gradient (BP3); a linear solve is least squares in one step; norms regularise and
normalise; the spectral radius decides whether a recurrent network's gradients vanish or
explode; broadcasting adds a bias to every row and sums its gradient back.
"""
from __future__ import annotations

import math
import warnings

import dlmath as dm
import dlmath.nn.functional as F

from .registry import at_least, at_most, close_to, experiment, is_false, is_true, satisfies

F64 = dm.float64


def _slope(x, y):
    """Least-squares slope of y against x (both 1-d tensors)."""
    dx, dy = x - x.mean(), y - y.mean()
    return ((dx * dy).sum() / (dx * dx).sum()).item()


def _max_abs_diff(a, b):
    return (a - b).abs().max().item()


def _box(ax, x0, y0, size, color):
    """A square outline drawn with plain lines (so it also works on the --no-plots stand-ins)."""
    ax.plot([x0, x0 + size, x0 + size, x0, x0], [y0, y0, y0 + size, y0 + size, y0], color=color, lw=1.6)


# --------------------------------------------------------------------------------------
@experiment(
    "dot-similarity", section="10.1", title="Dot products: retrieval and attention scores",
    claim="The cosine of two digit images (a dot product of unit vectors) finds images of the "
          "same digit far above chance; attention is the same score, turned into weights by a softmax.",
    formula="cos(u, v) = u.v / (|u| |v|);  attention = softmax(scale * Q K^T) V",
    expect={
        "precision_at_5": satisfies(">= 0.9 and > 5 x chance", lambda v, h: v >= 0.9 and v > 5 * h["chance"]),
        "chance": close_to(0.1, abs_tol=0.005),
        "attention_accuracy": at_least(0.9),
        "attention_vs_manual_max_abs_diff": at_most(1e-5),
    })
def dot_similarity(run):
    """Nearest neighbours by cosine similarity, and attention as a soft nearest neighbour.

    Each 8x8 digit is a vector in R^64; after ``F.normalize`` the matrix product Z Z^T
    holds every pairwise cosine. Retrieval keeps the 5 largest of a row (RAG does this
    with text embeddings); attention keeps all of them, as softmax weights over a
    memory. With the labels as values, attention over the other digits is a classifier.
    """
    images, labels = dm.datasets.load_digits()
    n = len(labels)
    z = F.normalize(images.reshape(n, 64) / 16, dim=1)   # unit rows: dot product = cosine
    itself = dm.eye(n).bool()                             # an image must not retrieve itself
    cos = (z @ z.T).masked_fill(itself, -2.0)

    top_cos, top = cos.topk(5, dim=1)
    hits = labels[top] == labels.unsqueeze(1)
    precision = hits.float().mean().item()
    # Chance: a random other image has the query's label with probability (n_c - 1) / (n - 1).
    counts = dm.stack([(labels == c).sum() for c in range(10)]).float()
    chance = ((counts[labels] - 1) / (n - 1)).mean().item()

    # Attention over the memory of all other digits, values = one-hot labels. The default
    # scale 1/sqrt(64) spreads the weight almost uniformly over unit vectors (learned
    # projections would fix that); an inverse temperature of 20 makes it a soft 5-NN.
    values = F.one_hot(labels, 10).float()
    sharp = 20.0
    out = F.scaled_dot_product_attention(z, z, values, attn_mask=~itself, scale=sharp)
    by_hand = (z @ z.T * sharp).masked_fill(itself, float("-inf")).softmax(-1) @ values
    accuracy = (out.argmax(1) == labels).float().mean().item()
    own_mass = out.gather(1, labels.unsqueeze(1)).mean().item()

    # Figure: query digits and their 5 neighbours; one query's attention row.
    fig, (ax, ax_att) = run.figure(1, 2, width=9.6, height=4.4, gridspec_kw={"width_ratios": [1, 1.5]})
    queries = [int(dm.nonzero(labels == c)[0, 0]) for c in (0, 2, 4, 6, 8, 9)]   # the first of six digits
    tiles = F.pad(images / 16, (1, 1, 1, 4), value=0.0)   # 8x8 digits in 10x13 tiles, room for a label
    rows = [dm.cat([tiles[q]] + [tiles[j] for j in top[q].tolist()], dim=1) for q in queries]
    ax.imshow(dm.cat(rows, dim=0).numpy(), cmap="gray_r", vmin=0, vmax=1)
    for r, q in enumerate(queries):
        for c in range(5):
            ok = bool(hits[q, c])
            _box(ax, 10 * (c + 1) + 0.5, 13 * r + 0.5, 8, "tab:green" if ok else "tab:red")
            ax.text(10 * (c + 1) + 5, 13 * r + 11.3, f"{top_cos[q, c].item():.2f}", ha="center",
                    va="center", fontsize=7)
    ax.set_xticks([5 + 10 * c for c in range(6)], ["query"] + [f"#{k}" for k in range(1, 6)])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_xlabel("number under a neighbour: its cosine with the query")
    ax.set_title(f"5 nearest by cosine (green: same digit)\nprecision@5 = {precision:.3f}, chance = {chance:.3f}")

    # With one-hot values, a query's attention output is the weight its row puts on each digit.
    q = queries[2]                                     # the first '4'
    default = F.scaled_dot_product_attention(z[q:q + 1], z, values, attn_mask=~itself[q:q + 1])
    digits = dm.arange(10).float()
    ax_att.bar((digits - 0.2).numpy(), default[0].numpy(), width=0.4, color="tab:gray",
               label="scale 1/sqrt(64) (the default): nearly uniform")
    ax_att.bar((digits + 0.2).numpy(), out[q].numpy(), width=0.4, color="tab:blue",
               label=f"scale {sharp:g}: a soft nearest neighbour")
    ax_att.set_xticks(range(10))
    ax_att.set_xlabel("digit of the memory item")
    ax_att.set_ylabel("attention weight on that digit (sums to 1)")
    ax_att.set_title(f"attention of one query (a '{labels[q].item()}') over the other {n - 1} digits\n"
                     f"values = one-hot labels; leave-one-out accuracy at scale {sharp:g}: {accuracy:.3f}")
    ax_att.legend(loc="upper left")
    return {"precision_at_5": precision, "chance": chance, "attention_accuracy": accuracy,
            "attention_vs_manual_max_abs_diff": _max_abs_diff(out, by_hand),
            "attention_mass_on_own_digit": own_mass, "images": n}


# --------------------------------------------------------------------------------------
@experiment(
    "matmul-layer", section="10.1", title="Matrix products: a layer forward, its transpose backward",
    claim="A layer is Y = X W^T + b, defined only when the inner shapes agree; the order of matrix "
          "products matters (AB != BA); and backprop sends the error back through the same W, "
          "transposed (BP2), exactly as autograd does.",
    formula="Y = X W^T + b;  delta_l = (W_{l+1}^T delta_{l+1}) * sigma'(z_l)   (BP2)",
    expect={
        "forward_max_abs_diff": at_most(1e-12),
        "shape_mismatch_raised": is_true(),
        "rotate_stretch_commutator": close_to(math.sqrt(2), abs_tol=1e-12),
        "random_commutator_relative": at_least(0.5),
        "bp2_max_abs_diff": at_most(1e-12),
    })
def matmul_layer(run):
    """A two-hidden-layer tanh network, forward by hand, and BP2 by hand against autograd.

    Rows of X are examples, so a layer is X (n, d_in) @ W^T (d_in, d_out) + b. Backward,
    the error of layer l is the next layer's error pulled back through W_{l+1}^T and
    gated by the activation's slope sigma'(z) = 1 - tanh(z)^2; in batch form
    Delta_l = (Delta_{l+1} W_{l+1}) * (1 - tanh(Z_l)^2).
    """
    n, sizes = run.size(256, 64), [8, 16, 16, 3]
    x = dm.randn(n, sizes[0], dtype=F64, generator=run.generator)
    y = dm.randint(0, sizes[-1], (n,), generator=run.generator)
    layers = [dm.nn.Linear(a, b, dtype=F64) for a, b in zip(sizes, sizes[1:])]

    # Forward by hand: z = h W^T + b, h = tanh(z); keep z's gradient for the comparison.
    h, zs = x, []
    for k, layer in enumerate(layers):
        z = h @ layer.weight.T + layer.bias
        z.retain_grad()
        zs.append(z)
        h = z.tanh() if k < len(layers) - 1 else z
    forward_diff = _max_abs_diff(zs[0], F.linear(x, layers[0].weight, layers[0].bias))
    F.cross_entropy(zs[-1], y).backward()

    # The same product with the wrong orientation: (n, 8) @ (16, 8) has inner sizes 8 and 16.
    try:
        x @ layers[0].weight
        raised = False
    except RuntimeError as err:
        raised = True
        run.log(f"x @ W instead of x @ W.T:\n  RuntimeError: {err}")

    # BP1 then BP2, by hand. Output error of mean cross-entropy: (softmax - one_hot) / n.
    with dm.no_grad():
        delta = (zs[-1].softmax(-1) - F.one_hot(y, sizes[-1]).to(F64)) / n
        deltas = [delta]
        for k in range(len(layers) - 2, -1, -1):
            delta = (delta @ layers[k + 1].weight) * (1 - zs[k].tanh() ** 2)
            deltas.insert(0, delta)
    bp2 = max(_max_abs_diff(d, z.grad) for d, z in zip(deltas, zs))

    # AB != BA: rotating by 90 degrees then stretching x is not stretching then rotating.
    rotate = dm.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=F64)
    stretch = dm.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=F64)
    commutator = dm.linalg.matrix_norm(rotate @ stretch - stretch @ rotate).item()
    a, b = dm.randn(2, 16, 16, dtype=F64, generator=run.generator)
    random_rel = (dm.linalg.matrix_norm(a @ b - b @ a) / dm.linalg.matrix_norm(a @ b)).item()

    fig, (ax, ax_ab) = run.figure(1, 2, width=9.4, height=4.0)
    for k, (d, z) in enumerate(zip(deltas[:-1], zs)):
        ax.scatter(z.grad.flatten().numpy(), d.flatten().numpy(), s=[18, 4][k], alpha=0.7,
                   facecolors=["none", "tab:orange"][k], edgecolors=["tab:blue", "tab:orange"][k],
                   label=f"hidden layer {k + 1}: {d.numel()} entries")
    lim = max(d.abs().max().item() for d in deltas[:-1]) * 1.1
    ax.plot([-lim, lim], [-lim, lim], color="k", lw=0.6, label="y = x")
    ax.set_xlabel("dL/dz from autograd")
    ax.set_ylabel("delta by hand: (W^T delta_next) * (1 - tanh(z)^2)")
    ax.set_title(f"BP2 by hand = autograd (max |diff| = {bp2:.1e})")
    ax.legend(loc="upper left")
    # An 'F' shape (asymmetric, so every turn and flip shows) under the two orders.
    shape = dm.tensor([[0, 0], [0, 3], [2, 3], [2, 2.5], [0.5, 2.5], [0.5, 1.7], [1.5, 1.7],
                       [1.5, 1.2], [0.5, 1.2], [0.5, 0], [0, 0]], dtype=F64)
    for matrix, name, color in [(dm.eye(2, dtype=F64), "original", "k"),
                                (rotate @ stretch, "A B: stretch, then rotate", "tab:blue"),
                                (stretch @ rotate, "B A: rotate, then stretch", "tab:orange")]:
        moved = shape @ matrix.T                      # points are rows, as examples are in X
        ax_ab.fill(moved[:, 0].numpy(), moved[:, 1].numpy(), alpha=0.35, color=color, label=name)
    ax_ab.set_aspect("equal")
    ax_ab.set_xlabel("x")
    ax_ab.set_ylabel("y")
    ax_ab.set_title("A = rotate 90 degrees, B = stretch x by 2:\nA B != B A")
    ax_ab.legend(loc="upper left", fontsize=8)
    return {"forward_max_abs_diff": forward_diff, "shape_mismatch_raised": raised,
            "rotate_stretch_commutator": commutator, "random_commutator_relative": random_rel,
            "bp2_max_abs_diff": bp2, "batch": n}


# --------------------------------------------------------------------------------------
@experiment(
    "outer-product-bp3", section="10.1", title="Outer products: the weight gradient (BP3)",
    claim="A layer's weight gradient is the outer product of its error and its input, delta x^T, "
          "summed over the batch; one example's gradient is therefore rank 1, and a batch of B "
          "examples gives rank min(B, d_out, d_in).",
    formula="dL/dW = sum_i delta_i x_i^T = Delta^T X   (BP3);  (delta x^T)_jk = delta_j x_k",
    expect={
        "bp3_max_abs_diff": at_most(1e-12),
        "single_example_rank": satisfies("== 1", lambda v, h: v == 1),
        "ranks_equal_min_b_out_in": is_true(),
    })
def outer_product_bp3(run):
    """Autograd's dL/dW of a linear layer against the sum of per-example outer products.

    The layer z = W x + b has dz_j/dW_jk = x_k, so the gradient of example i is its error
    delta_i = dL/dz_i times x_i^T: an (out x in) matrix of rank 1. Summing B of them gives
    Delta^T X, one matrix product; its rank grows with B until the layer's shape caps it.
    """
    n, d_in, d_out = run.size(128, 32), 10, 6
    x = dm.randn(n, d_in, dtype=F64, generator=run.generator)
    target = dm.randn(n, d_out, dtype=F64, generator=run.generator)
    layer = dm.nn.Linear(d_in, d_out, dtype=F64)

    def weight_grad(rows):
        """Autograd's dL/dW and the error delta = dL/dz on the first ``rows`` examples."""
        layer.zero_grad()
        z = layer(x[:rows])
        z.retain_grad()
        F.mse_loss(z.tanh(), target[:rows], reduction="sum").backward()
        return layer.weight.grad.clone(), z.grad

    grad, delta = weight_grad(n)
    by_outer = sum(dm.outer(delta[i], x[i]) for i in range(n))   # BP3, one example at a time
    by_matmul = delta.T @ x                                       # the same sum as one product
    bp3 = max(_max_abs_diff(grad, by_outer), _max_abs_diff(grad, by_matmul))

    batches = list(range(1, 13))
    ranks = [dm.linalg.matrix_rank(weight_grad(b)[0]).item() for b in batches]
    predicted = [min(b, d_out, d_in) for b in batches]

    fig, (ax, ax_rank) = run.figure(1, 2, width=9.4, height=3.9, gridspec_kw={"width_ratios": [1.15, 1]})
    one, d1 = weight_grad(1)
    limit = one.abs().max().item()
    image = ax.imshow(one.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_xticks(range(d_in), [f"{v:+.1f}" for v in x[0].tolist()], rotation=90, fontsize=7)
    ax.set_yticks(range(d_out), [f"{v:+.2f}" for v in d1[0].tolist()], fontsize=7)
    ax.set_xlabel("input x_k of the example (columns)")
    ax.set_ylabel("error delta_j of the example (rows)")
    ax.grid(False)
    ax.set_title("one example's dL/dW = delta x^T:\nevery row is x scaled by delta_j (rank 1)")
    fig.colorbar(image, ax=ax, shrink=0.8, label="dL/dW_jk")
    ax_rank.plot(batches, predicted, color="k", lw=1, label="min(B, d_out = 6, d_in = 10)")
    ax_rank.plot(batches, ranks, "o", color="tab:blue", label="rank of autograd's dL/dW")
    ax_rank.set_xlabel("examples in the batch, B")
    ax_rank.set_ylabel("matrix rank of the weight gradient")
    ax_rank.set_title("a batch sums B rank-1 outer products")
    ax_rank.legend(loc="lower right")
    return {"bp3_max_abs_diff": bp3, "single_example_rank": ranks[0],
            "ranks_equal_min_b_out_in": ranks == predicted, "ranks": ranks, "batch": n}


# --------------------------------------------------------------------------------------
@experiment(
    "inverse-solve", section="10.1", title="Solving instead of descending: least squares",
    claim="Least squares has a closed form, the solution of the normal equations X^T X w = X^T y; "
          "gradient descent on the same loss converges to it at the rate the Hessian's condition "
          "number predicts. Near-singular designs make the solve meaningless, and dlmath says so.",
    formula="w* = (X^T X)^{-1} X^T y = solve(X^T X, X^T y);  |w_k - w*| <= ((kappa-1)/(kappa+1))^k |w_0 - w*|",
    expect={
        "solve_vs_gd_max_abs_diff": at_most(1e-8),
        "observed_rate": satisfies("predicted_rate ± 0.02", lambda v, h: abs(v - h["predicted_rate"]) <= 0.02),
        "near_singular_warned": is_true(),
        "well_conditioned_warned": is_false(),
        "warnings_match_threshold": is_true(),
    })
def inverse_solve(run):
    """``dm.linalg.solve`` on the normal equations against gradient descent, then the ill-conditioned case.

    The loss L(w) = mean((X w - y)^2) is quadratic with Hessian H = 2 X^T X / n, so GD with
    the step 2 / (lambda_max + lambda_min) contracts the error by (kappa - 1)/(kappa + 1)
    per step, kappa = lambda_max / lambda_min. When two columns of X almost coincide,
    cond(X^T X) explodes as 1/eps^2 and the solve returns huge, cancelling coefficients:
    dlmath's solve warns once the condition number leaves fewer than ~2 correct digits.
    """
    n, d = 200, 5
    scales = dm.tensor([1.0, 0.8, 0.6, 0.45, 0.3], dtype=F64)   # unequal columns: kappa ~ 10
    x = dm.randn(n, d, dtype=F64, generator=run.generator) * scales
    w_true = dm.randn(d, dtype=F64, generator=run.generator)
    y = x @ w_true + 0.1 * dm.randn(n, dtype=F64, generator=run.generator)

    w_star = dm.linalg.solve(x.T @ x, x.T @ y)                 # one linear solve
    eig = dm.linalg.eigvalsh(2 * x.T @ x / n)                  # the Hessian's spectrum sets the step
    kappa = (eig[-1] / eig[0]).item()
    predicted_rate = (kappa - 1) / (kappa + 1)
    w = dm.zeros(d, dtype=F64, requires_grad=True)
    opt = dm.optim.SGD([w], lr=2 / (eig[-1] + eig[0]).item())
    errors = []
    for _ in run.progress(range(run.size(240, 150)), "gradient descent"):
        opt.zero_grad()
        F.mse_loss(x @ w, y).backward()
        opt.step()
        errors.append(dm.linalg.vector_norm(w.detach() - w_star).item())
    # The error's geometric rate over the last steps (before it reaches rounding noise).
    errs = dm.tensor(errors, dtype=F64)
    tail = dm.nonzero(errs > 1e-11).flatten()[-40:]
    observed_rate = math.exp(_slope(tail.to(F64), errs[tail].log()))

    # Near-singular: column 2 := column 1 + eps * noise. cond(X^T X) ~ 1/eps^2.
    threshold = 1e-2 / 2.0 ** -52      # dlmath warns above 0.01 / eps(float64), about 4.5e13
    epsilons = [10.0 ** -k for k in range(0, 10)]
    conds, warned, message = [], [], "no warning"
    noise = dm.randn(n, dtype=F64, generator=run.generator)
    for eps in epsilons:
        xe = x.clone()
        xe[:, 1] = x[:, 0] + eps * noise
        gram = xe.T @ xe
        s = dm.linalg.svdvals(gram)
        conds.append((s[0] / s[-1]).item())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            w_eps = dm.linalg.solve(gram, xe.T @ y)
        warned.append(any(issubclass(c.category, dm.linalg.IllConditionedWarning) for c in caught))
        message = str(caught[0].message) if caught else message
    run.log(f"dm.linalg.solve at eps = {epsilons[-1]:g}:\n  IllConditionedWarning: {message}")
    run.log(f"its coefficients for the two nearly equal columns: {w_eps[0].item():+.4g}, {w_eps[1].item():+.4g}")

    fig, (ax, ax_cond) = run.figure(1, 2, width=9.6, height=3.9)
    steps = dm.arange(1, len(errors) + 1, dtype=F64)
    ax.semilogy(steps.numpy(), errors, color="tab:blue", label="gradient descent")
    ax.semilogy(steps.numpy(), (errors[0] / predicted_rate * predicted_rate ** steps).numpy(), "--",
                color="k", lw=0.8, label=f"((kappa-1)/(kappa+1))^k, kappa = {kappa:.1f}")
    ax.set_xlabel("gradient step k")
    ax.set_ylabel("|w_k - w*|  (w* from linalg.solve)")
    ax.set_title("GD approaches the solve's answer geometrically")
    ax.legend(loc="upper right")
    ax_cond.loglog(epsilons, conds, color="tab:gray", lw=0.8)
    for flag, color, name in [(False, "tab:green", "solve silent"), (True, "tab:red", "solve warned")]:
        pts = [(e, c) for e, c, f in zip(epsilons, conds, warned) if f == flag]
        ax_cond.loglog([p[0] for p in pts], [p[1] for p in pts], "o", color=color, label=name)
    ax_cond.axhline(threshold, color="tab:red", lw=0.8, ls="--", label="warning level 0.01 / eps(float64)")
    ax_cond.invert_xaxis()
    ax_cond.set_xlabel("eps: column 2 = column 1 + eps * noise")
    ax_cond.set_ylabel("cond(X^T X) = s_max / s_min")
    ax_cond.set_title("near-collinear columns: cond grows as 1/eps^2")
    ax_cond.legend(loc="upper left")
    return {"solve_vs_gd_max_abs_diff": _max_abs_diff(w.detach(), w_star), "observed_rate": observed_rate,
            "predicted_rate": predicted_rate, "kappa": kappa,
            "near_singular_warned": warned[-1], "condition_number": conds[-1],
            "well_conditioned_warned": warned[0],
            "warnings_match_threshold": warned == [c > threshold for c in conds]}


# --------------------------------------------------------------------------------------
def _fit_penalised(x, y, penalty, steps, lr=0.05):
    """Full-batch gradient descent on mean squared error + penalty(w), the step annealed to 0."""
    w = dm.zeros(x.shape[1], dtype=x.dtype, requires_grad=True)
    opt = dm.optim.SGD([w], lr=lr)
    schedule = dm.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    for _ in range(steps):
        opt.zero_grad()
        (F.mse_loss(x @ w, y) + penalty(w)).backward()
        opt.step()
        schedule.step()
    return w.detach()


@experiment(
    "norms", section="10.1", title="Norms: L1 versus L2 penalties, unit-norm embeddings, clipping",
    claim="An L1 penalty drives most irrelevant weights to zero while an L2 penalty only shrinks "
          "them; dividing embeddings by their L2 norm puts them on the unit sphere, where cosine "
          "similarity is a plain dot product; clipping rescales a gradient to a chosen norm.",
    formula="|w|_1 = sum |w_i|,  |w|_2^2 = sum w_i^2;  normalize(v) = v / |v|_2;  clip: g * min(1, c / |g|)",
    expect={
        "l1_zero_fraction": at_least(0.8),
        "l2_zero_fraction": at_most(0.05),
        "unit_norm_max_error": at_most(1e-6),
        "cosine_vs_dot_max_abs_diff": at_most(1e-6),
        "clipped_norm": close_to(1.0, abs_tol=1e-5),
    })
def norms(run):
    """Sparse regression with L1 and L2 penalties, then F.normalize and clip_grad_norm_.

    The gradient of lambda |w|_1 is lambda sign(w): a constant pull towards 0 however small
    the weight, so weights the data does not need reach 0 (up to the step size, annealed
    here). The gradient of lambda |w|_2^2 is 2 lambda w: it fades as w shrinks, so weights
    get small but never 0. 5 of 50 true weights are non-zero.
    """
    n, d, lam = 100, 50, 0.1
    w_true = dm.zeros(d, dtype=F64)
    w_true[:5] = dm.tensor([2.0, -1.5, 1.0, -0.8, 0.5], dtype=F64)
    x = dm.randn(n, d, dtype=F64, generator=run.generator)
    y = x @ w_true + 0.1 * dm.randn(n, dtype=F64, generator=run.generator)
    steps = run.size(400, 300)
    w_l1 = _fit_penalised(x, y, lambda w: lam * w.abs().sum(), steps)
    w_l2 = _fit_penalised(x, y, lambda w: lam * (w ** 2).sum(), steps)
    zero = 1e-4                                   # "~0": far below every true weight
    l1_zero = (w_l1.abs() < zero).float().mean().item()
    l2_zero = (w_l2.abs() < zero).float().mean().item()

    # Embeddings with very different lengths; normalised, cosine similarity is their dot product.
    emb = dm.randn(500, 32, generator=run.generator) * dm.rand(500, 1, generator=run.generator) * 5
    unit = F.normalize(emb, dim=1)
    unit_err = (dm.linalg.vector_norm(unit, dim=1) - 1).abs().max().item()
    cos_diff = _max_abs_diff(F.cosine_similarity(emb[:-1], emb[1:], dim=1), (unit[:-1] * unit[1:]).sum(1))

    # Gradient clipping: the total norm of all gradients is rescaled to max_norm.
    model = dm.nn.Linear(32, 8)
    (model(emb) ** 2).mean().backward()
    before = dm.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).item()
    after = dm.linalg.vector_norm(dm.cat([p.grad.flatten() for p in model.parameters()])).item()

    fig, (ax, ax_n) = run.figure(1, 2, width=9.6, height=3.9, gridspec_kw={"width_ratios": [1.5, 1]})
    index = dm.arange(d).numpy()
    floor = 1e-9                                  # an exact zero would sit on the log axis' floor
    ax.semilogy(index[:5], w_true[:5].abs().numpy(), "s", color="k", ms=7, mfc="none",
                label="true |w| (the other 45 are 0)")
    ax.semilogy(index, w_l2.abs().clamp(min=floor).numpy(), "o", color="tab:orange", ms=4,
                label=f"L2 penalty: {l2_zero:.0%} below {zero:g}")
    ax.semilogy(index, w_l1.abs().clamp(min=floor).numpy(), "x", color="tab:blue", ms=5,
                label=f"L1 penalty: {l1_zero:.0%} below {zero:g}")
    ax.axhline(zero, color="k", lw=0.6, ls="--")
    ax.set_ylim(floor / 2, 1e4)                   # headroom for the legend
    ax.set_xlabel("weight index")
    ax.set_ylabel("|w_i| (log scale)")
    ax.set_title(f"same data, lambda = {lam:g}: L1 zeroes weights, L2 shrinks them")
    ax.legend(loc="upper right", fontsize=8, ncols=2)
    lengths = dm.linalg.vector_norm(emb, dim=1)
    ax_n.hist(lengths.numpy(), bins=30, color="tab:gray", label="raw embeddings")
    ax_n.axvline(1.0, color="tab:blue", lw=2, label="after F.normalize: all 1")
    ax_n.set_xlabel("L2 norm of an embedding")
    ax_n.set_ylabel("embeddings")
    ax_n.set_title("normalised: cosine = dot product")
    ax_n.legend(loc="upper right")
    return {"l1_zero_fraction": l1_zero, "l2_zero_fraction": l2_zero,
            "l1_support_recovered": bool(((w_l1.abs() >= zero) == (w_true != 0)).all()),
            "unit_norm_max_error": unit_err, "cosine_vs_dot_max_abs_diff": cos_diff,
            "grad_norm_before_clip": before, "clipped_norm": after}


# --------------------------------------------------------------------------------------
def _rnn_jacobians(w, h0, inputs, tanh):
    """dh_t/dh_0 for t = 1, 2, ... of h_t = tanh(W h_{t-1} + x_t) (or of h_t = W h_{t-1}),
    built as the chain rule multiplies it: J_t = diag(tanh'(.)) W J_{t-1}."""
    h, jac = h0, dm.eye(len(h0), dtype=h0.dtype)
    for x in inputs:
        if tanh:
            h = dm.tanh(w @ h + x)
            jac = (1 - h ** 2).unsqueeze(1) * (w @ jac)      # tanh' = 1 - tanh^2 scales row i
        else:
            jac = w @ jac
        yield jac


@experiment(
    "eigen-rnn-stability", section="10.1", title="Eigenvalues: vanishing and exploding RNN gradients",
    claim="Backprop through T steps of a recurrent network multiplies T Jacobians; for a linear RNN "
          "their product W^T grows like rho^T, rho the spectral radius of W, so gradients vanish "
          "for rho < 1 and explode for rho > 1. tanh's slope, at most 1, gates every factor; saturation shrinks the product further.",
    formula="h_t = tanh(W h_{t-1} + x_t);  dh_T/dh_0 = prod_t diag(1 - h_t^2) W;  |W^T|^(1/T) -> rho(W)",
    expect={
        "slope_abs_error": at_most(0.01),
        "radius_abs_error": at_most(1e-10),
        "jacobian_vs_autograd_max_abs_diff": at_most(1e-10),
    })
def eigen_rnn_stability(run):
    """Norms of the recurrent Jacobian product for spectral radius 0.9, 1.0 and 1.1.

    W is a random Gaussian matrix rescaled so that dm.linalg.spectral_radius(W) = rho.
    Gelfand's formula says |W^T|^(1/T) -> rho, so log |W^T| has slope log(rho) per step
    for large T, even though |W| itself is about twice rho for such a matrix. The product
    is built step by step (the chain rule's order), and checked against dm.func.jacrev of
    the unrolled network.
    """
    n, steps = 64, run.size(200, 120)
    base = dm.randn(n, n, dtype=F64, generator=run.generator)
    base = base / dm.linalg.spectral_radius(base)
    inputs = 0.5 * dm.randn(steps, n, dtype=F64, generator=run.generator)
    h0 = 0.5 * dm.randn(n, dtype=F64, generator=run.generator)
    t = dm.arange(1, steps + 1, dtype=F64)
    late = slice(steps // 2, None)                 # fit the slope where transients have died

    curves, slopes, tanh_slopes, radius_err = {}, {}, {}, 0.0
    for rho in run.progress([0.9, 1.0, 1.1], "spectral radii"):
        w = rho * base
        radius_err = max(radius_err, abs(dm.linalg.spectral_radius(w).item() - rho))
        for tanh, fitted in ((False, slopes), (True, tanh_slopes)):
            log_norms = dm.stack([dm.linalg.matrix_norm(jac, ord=2)
                                  for jac in _rnn_jacobians(w, h0, inputs, tanh)]).log()
            curves[rho, tanh] = log_norms
            fitted[rho] = _slope(t[late], log_norms[late])

    # The hand-built product is the true Jacobian: compare with autograd on 10 steps of the tanh RNN.
    def unrolled(h):
        for x in inputs[:10]:
            h = dm.tanh(base @ h + x)
        return h
    *_, by_hand = _rnn_jacobians(base, h0, inputs[:10], tanh=True)
    jac_diff = _max_abs_diff(dm.func.jacrev(unrolled)(h0), by_hand)

    fig, axes = run.figure(1, 2, width=9.6, height=3.9, sharex=True)
    colors = {0.9: "tab:blue", 1.0: "tab:gray", 1.1: "tab:red"}
    for ax, tanh in zip(axes, (False, True)):
        for rho, color in colors.items():
            slope = (tanh_slopes if tanh else slopes)[rho]
            ax.semilogy(t.numpy(), curves[rho, tanh].exp().numpy(), color=color,
                        label=f"rho = {rho:g}: slope {slope:+.3f}/step")
            if not tanh:
                ax.semilogy(t.numpy(), (rho ** t).numpy(), "--", color=color, lw=0.7)
        ax.set_xlabel("steps backpropagated, T")
        ax.set_ylabel("|dh_T / dh_0|  (spectral norm)")
        ax.legend(loc="lower left", fontsize=8)
    axes[0].set_title("linear RNN: |W^T| follows rho^T (dashed)\nlog(rho) = -0.105, 0, +0.095 per step")
    axes[1].set_title("tanh RNN (inputs 0.5 N(0,1)): saturation\ndamps the product, every rho vanishes")
    error = max(abs(slopes[rho] - math.log(rho)) for rho in slopes)
    return {"slope_abs_error": error, "radius_abs_error": radius_err,
            "jacobian_vs_autograd_max_abs_diff": jac_diff,
            "linear_slopes": [slopes[r] for r in colors], "tanh_slopes": [tanh_slopes[r] for r in colors],
            "log_rho": [math.log(r) for r in colors],
            "norm_of_w_over_rho": dm.linalg.matrix_norm(base, ord=2).item()}


# --------------------------------------------------------------------------------------
@experiment(
    "broadcasting", section="10.1", title="Broadcasting a bias",
    claim="Adding a bias vector to a batch copies it, virtually, to every row; so in the backward "
          "pass the bias collects the gradient of every row: the column sums of dL/dY.",
    formula="Y = X W^T + 1 b^T;  dL/db = sum_i dL/dY[i, :] = 1^T dL/dY",
    expect={
        "bias_grad_max_abs_diff": at_most(1e-12),
        "layer_bias_grad_max_abs_diff": at_most(1e-12),
        "expand_equals_outer": is_true(),
        "incompatible_raised": is_true(),
    })
def broadcasting(run):
    """A (d,) bias broadcast over an (n, d) batch, and its gradient summed back by autograd.

    Broadcasting aligns shapes from the right and stretches size-1 (or missing) dimensions:
    (n, d) + (d,) acts as (n, d) + (1, d) -> (n, d), the same as adding the outer product
    1 b^T, without building it. The transpose of "copy b to n rows" is "sum the n rows",
    which is what autograd does for the bias of every nn.Linear.
    """
    n, d = run.size(512, 64), 8
    x = dm.randn(n, d, dtype=F64, generator=run.generator)
    b = dm.randn(d, dtype=F64, generator=run.generator, requires_grad=True)
    upstream = dm.randn(n, d, dtype=F64, generator=run.generator)   # a stand-in for dL/dY
    y = x + b
    (y * upstream).sum().backward()                # L = sum(Y * G), so dL/dY = G
    bias_diff = _max_abs_diff(b.grad, upstream.sum(0))
    same_as_outer = bool(dm.equal(y, x + dm.outer(dm.ones(n, dtype=F64), b)))

    # The same inside a layer: nn.Linear's bias gradient is the column sum of dL/dZ.
    layer = dm.nn.Linear(d, 4, dtype=F64)
    z = layer(x)
    z.retain_grad()
    F.mse_loss(z.tanh(), dm.zeros(n, 4, dtype=F64)).backward()
    layer_diff = _max_abs_diff(layer.bias.grad, z.grad.sum(0))

    try:
        dm.zeros(n, d) + dm.zeros(d + 1)
        raised = False
    except RuntimeError as err:
        raised = True
        run.log(f"(n, d) + (d + 1,): RuntimeError: {err}")

    rows = 12                                       # a few rows, so every cell is visible
    fig, (ax, ax_sum) = run.figure(2, 1, width=6.4, height=5.4, sharex=True,
                                   gridspec_kw={"height_ratios": [2.2, 1]})
    limit = upstream[:rows].abs().max().item()
    ax.imshow(upstream[:rows].numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.grid(False)
    ax.set_ylabel("example i (first 12 of the batch)")
    ax.set_title(f"dL/dY: every row's gradient flows into the one shared bias\n"
                 f"dL/db = column sums over all {n} rows")
    feature = dm.arange(d).numpy()
    ax_sum.bar(feature, upstream.sum(0).numpy(), color="tab:gray", label="sum_i dL/dY[i, :] (by hand)")
    ax_sum.plot(feature, b.grad.numpy(), "o", color="tab:blue", label="b.grad (autograd)")
    ax_sum.axhline(0, color="k", lw=0.5)
    ax_sum.set_xlabel("feature j")
    ax_sum.set_ylabel("dL/db_j")
    low, high = upstream.sum(0).min().item(), upstream.sum(0).max().item()
    ax_sum.set_ylim(min(low, 0) * 1.2, max(high, 0) * 1.2 + (high - low) * 0.5)   # room for the legend
    ax_sum.legend(loc="upper left", fontsize=8, ncols=2)
    return {"bias_grad_max_abs_diff": bias_diff, "layer_bias_grad_max_abs_diff": layer_diff,
            "expand_equals_outer": same_as_outer, "incompatible_raised": raised, "rows": n}
