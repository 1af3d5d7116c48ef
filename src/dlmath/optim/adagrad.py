"""Adagrad (torch.optim.Adagrad)."""
from __future__ import annotations

from ..creation import full_like
from .optimizer import (Optimizer, _check_flags, _check_lr, _check_nonneg, _check_real, _step_tensor,
                        _value)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad: each coordinate's step divided by the root of the sum of its squared gradients.

    For each parameter :math:`\theta` with gradient :math:`g` (negated if ``maximize``), at step t::

        g <- g + weight_decay * theta                       (if weight_decay != 0)
        clr = lr / (1 + (t - 1) * lr_decay)
        s <- s + g^2                                        (s starts at initial_accumulator_value)
        theta <- theta - clr * g / (sqrt(s) + eps)

    Coordinates that have seen large gradients take small steps and rare ones large steps; the
    effective rate only decreases. As in torch, the state (``'step'``, ``'sum'``) is created for
    every parameter when the optimiser is made, so a state dict has an entry per parameter from
    the start.

    Args: lr (1e-2), lr_decay (0), weight_decay (0), initial_accumulator_value (0), eps (1e-10),
    foreach; keywords maximize (False), differentiable, fused.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_lr("Adagrad", lr)
        _check_nonneg("Adagrad", "lr_decay value", lr_decay)
        _check_nonneg("Adagrad", "weight_decay value", weight_decay)
        _check_nonneg("Adagrad", "initial_accumulator_value value", initial_accumulator_value)
        _check_nonneg("Adagrad", "epsilon value", eps)
        _check_flags("Adagrad", foreach=foreach, fused=fused, differentiable=differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p):
        _check_real("Adagrad", p)
        state = self.state[p]
        state["step"] = _step_tensor()
        # torch reads the optimiser's default here, not the group's
        state["sum"] = full_like(p, self.defaults["initial_accumulator_value"])

    def _fill_group_defaults(self):
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("fused", None)
        self._steps_as_tensors()

    def step(self, closure=None):
        """One Adagrad step for every parameter with a gradient; returns the closure's loss."""
        return self._run_step(closure, self._update_group)

    def _update_group(self, group):
        lr = _value(group["lr"])
        lr_decay, eps, weight_decay, maximize = (group["lr_decay"], group["eps"], group["weight_decay"],
                                                 group["maximize"])
        for p, grad in self._params_with_grad(group):
            state = self.state[p]
            if len(state) == 0:         # a parameter added with add_param_group after construction
                self._init_state(p)
            step_t, state_sum = state["step"], state["sum"]
            step_t.add_(1)
            step = step_t.item()
            if maximize:
                grad = -grad
            if weight_decay != 0:
                grad = grad.add(p, alpha=weight_decay)
            clr = lr / (1 + (step - 1) * lr_decay)
            state_sum.addcmul_(grad, grad, value=1)
            std = state_sum.sqrt().add_(eps)
            p.addcdiv_(grad, std, value=-clr)
