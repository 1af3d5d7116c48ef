"""Adam and AdamW (torch.optim.Adam, torch.optim.AdamW)."""
from __future__ import annotations

from ..tensor import Tensor
from ..creation import zeros_like
from ..inplace import _fused_adam_, _fused_adamw_   # (dm._fused_adam_, from where it is defined)
from .optimizer import (Optimizer, _check_flags, _check_lr, _check_nonneg, _check_real, _step_tensor,
                        _value)

__all__ = ["Adam", "AdamW"]


def _check_betas(name, betas):
    """torch's checks, in its order: betas[0] then betas[1] in [0, 1), so a missing beta is an
    IndexError (torch's, from indexing) once the ones before it passed; extra items are left to
    the step, as in torch."""
    for i in range(2):
        if i >= len(betas):
            raise IndexError(f"{name}: betas must hold two coefficients (beta1, beta2), got {betas!r}")
        b = betas[i]
        if not 0.0 <= b < 1.0:
            raise ValueError(f"{name}: invalid beta parameter at index {i}: {b} (betas must be in [0, 1))")
    if not (all(isinstance(b, float) for b in betas[:2]) or all(isinstance(b, Tensor) for b in betas[:2])):
        raise ValueError(f"{name}: betas must be either both floats or both Tensors, got {betas!r}")
    for i, b in enumerate(betas[:2]):
        if isinstance(b, Tensor) and b.numel() != 1:
            raise ValueError(f"{name}: Tensor betas[{i}] must be 1-element")


class Adam(Optimizer):
    r"""Adam: a step per coordinate scaled by running estimates of the gradient's first two moments.

    For each parameter :math:`\theta` with gradient :math:`g` (negated if ``maximize``), at step t::

        g <- g + weight_decay * theta          (L2 penalty; with decoupled_weight_decay instead
                                                theta <- theta * (1 - lr * weight_decay), AdamW)
        m <- beta1 * m + (1 - beta1) * g       (first moment: the mean gradient)
        v <- beta2 * v + (1 - beta2) * g^2     (second moment: its squared scale)
        vmax <- max(vmax, v); v_used = vmax    (amsgrad: a never-shrinking denominator)
        theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v_used) / sqrt(1 - beta2^t) + eps)

    Dividing by the root of the second moment makes the step size about ``lr`` in every
    coordinate, whatever the gradient's scale; the bias corrections undo the moments' start at
    zero. This is torch's single-tensor implementation, operation for operation. State per
    parameter: ``'step'`` (a 0-d float tensor), ``'exp_avg'``, ``'exp_avg_sq'``, and
    ``'max_exp_avg_sq'`` with amsgrad.

    Args: lr (1e-3), betas ((0.9, 0.999)), eps (1e-8), weight_decay (0), amsgrad (False);
    keywords maximize (False), decoupled_weight_decay (False), foreach, capturable,
    differentiable, fused.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        name = type(self).__name__
        _check_lr(name, lr)
        _check_nonneg(name, "epsilon value", eps)
        _check_betas(name, betas)
        _check_nonneg(name, "weight_decay value", weight_decay)
        _check_flags(name, foreach=foreach, fused=fused, capturable=capturable, differentiable=differentiable)
        betas = tuple(b.squeeze() if isinstance(b, Tensor) and b.dim() else b for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _fill_group_defaults(self):
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            group.setdefault("fused", None)
        self._steps_as_tensors()

    def step(self, closure=None):
        """One Adam step for every parameter with a gradient; returns the closure's loss."""
        return self._run_step(closure, self._update_group)

    def _update_group(self, group):
        beta1, beta2 = (_value(b) for b in group["betas"])
        eps, weight_decay = group["eps"], group["weight_decay"]
        amsgrad, maximize, decoupled = group["amsgrad"], group["maximize"], group["decoupled_weight_decay"]
        params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps = [], [], [], [], [], []
        for p, grad in self._params_with_grad(group):
            state = self.state[p]
            if len(state) == 0:
                _check_real(type(self).__name__, p)
                state["step"] = _step_tensor()
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = zeros_like(p)
            step_t = state["step"]
            step_t.add_(1)
            params.append(p)
            grads.append(grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(step_t)
            if amsgrad:
                max_sqs.append(state["max_exp_avg_sq"])
        if not params:
            return
        # torch's fused kernel, the single-tensor algorithm's arithmetic op for op (the same
        # results to the bit) in one call: per parameter, g <- -g if maximize; the L2 term
        # (g + wd p) or AdamW's decay (p *= 1 - lr wd); m.lerp_(g, 1 - beta1);
        # v.mul_(beta2).addcmul_(g, g, 1 - beta2); vmax = max(vmax, v) with amsgrad; then
        # p.addcdiv_(m, sqrt(v) + eps sqrt(bc2), -lr / bc1 * sqrt(bc2)) (the bias corrections
        # folded into the scalars). 8 in-place ops' dispatch per parameter become one call.
        fused = _fused_adamw_ if decoupled else _fused_adam_
        # (lr as the group holds it: a tensor lr keeps its dtype in AdamW's decay, as in torch)
        fused(params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps, lr=group["lr"], beta1=beta1,
              beta2=beta2, weight_decay=weight_decay, eps=eps, amsgrad=amsgrad, maximize=maximize)


class AdamW(Adam):
    r"""Adam with decoupled weight decay: the decay shrinks the weights directly, outside the moments.

    For each parameter, before Adam's update (see ``Adam``) without the L2 term::

        theta <- theta * (1 - lr * weight_decay)

    so the decay is the same fraction of every weight per step, not rescaled by the second
    moment as an L2 penalty in the gradient would be (Loshchilov & Hutter). Default
    weight_decay 0.01, as torch.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def _fill_group_defaults(self):
        super()._fill_group_defaults()
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True    # as torch: loading never turns AdamW into Adam
