"""``python -m dlmath`` / ``dlmath``: the main job, run on data it makes itself.

For now: logistic regression trained by gradient descent, the smallest
network there is (one neuron, a sigmoid, binary cross-entropy), with every
derivative coming from dlmath's reverse-mode autodiff. The tour of every
concept will take this place.
"""
from __future__ import annotations

import argparse
import sys
import time


def logistic_regression(steps: int = 200, lr: float = 0.5, seed: int = 0, out=None) -> float:
    """Fit p(y=1|x) = sigmoid(x . w + b) on two Gaussian blobs; return the final accuracy."""
    import dlmath as dm

    out = out or sys.stdout
    gen = dm.Generator().manual_seed(seed)
    n, d = 512, 2
    # two classes: centres at (+1.5, +1) and (-1.5, -1), unit noise
    y = (dm.rand(n, generator=gen) < 0.5).float()
    centres = dm.tensor([1.5, 1.0])
    x = dm.randn(n, d, generator=gen) + (2 * y - 1).unsqueeze(1) * centres

    w = dm.zeros(d, requires_grad=True)
    b = dm.zeros(1, requires_grad=True)
    print(f"logistic regression: {n} points in {d}-D, {steps} steps of gradient descent (lr={lr})", file=out)
    start = time.perf_counter()
    for step in range(steps + 1):
        logits = x @ w + b
        # binary cross-entropy from logits, in its stable form:
        # max(z, 0) - z y + log(1 + exp(-|z|))
        loss = (logits.relu() - logits * y + (-logits.abs()).exp().log1p()).mean()
        loss.backward()
        with dm.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
            w.grad = None
            b.grad = None
        if step % (steps // 10 or 1) == 0:
            print(f"  step {step:4d}  loss {loss.item():.4f}", file=out)
    with dm.no_grad():
        accuracy = (((x @ w + b) > 0).float() == y).float().mean().item()
    elapsed = time.perf_counter() - start
    print(f"weights {[round(v, 3) for v in w.tolist()]}, bias {b.item():.3f}", file=out)
    print(f"final accuracy {accuracy:.3f} ({elapsed:.2f} s)", file=out)
    return accuracy


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="dlmath", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logistic_regression(steps=args.steps, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
