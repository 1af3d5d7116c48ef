"""Stochastic gradient descent, with momentum and Nesterov momentum (torch.optim.SGD)."""
from __future__ import annotations

from .._foreach import _foreach_add_   # (dm._foreach_add_, from where it is defined)
from .optimizer import Optimizer, _check_flags, _check_lr, _check_nonneg, _value

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent: step against the gradient, optionally with momentum.

    For each parameter :math:`\theta` with gradient :math:`g` (negated if ``maximize``)::

        g <- g + weight_decay * theta                           (L2 penalty, if weight_decay != 0)
        b <- g                                                   on the first step (momentum != 0)
        b <- momentum * b + (1 - dampening) * g                  afterwards
        g <- g + momentum * b  (nesterov)   or   g <- b
        theta <- theta - lr * g

    Momentum averages the gradients over about ``1 / (1 - momentum)`` steps, so the steps keep
    their direction along a ravine and cancel across it. The state per parameter is
    ``'momentum_buffer'`` (only with momentum != 0), as torch's.

    Args: lr (default 1e-3), momentum (0), dampening (0), weight_decay (0), nesterov (False),
    maximize (False, keyword); foreach, differentiable, fused as torch's (see ``_check_flags``).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        _check_lr("SGD", lr)
        _check_nonneg("SGD", "momentum value", momentum)
        _check_nonneg("SGD", "weight_decay value", weight_decay)
        _check_flags("SGD", foreach=foreach, fused=fused, differentiable=differentiable)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum and zero dampening "
                             f"(got momentum={momentum}, dampening={dampening})")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _fill_group_defaults(self):
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    def step(self, closure=None):
        """One SGD step for every parameter with a gradient; returns the closure's loss."""
        return self._run_step(closure, self._update_group)

    def _update_group(self, group):
        lr = _value(group["lr"])
        momentum, dampening = group["momentum"], group["dampening"]
        weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        params, steps = [], []
        for p, grad in self._params_with_grad(group):
            if maximize:
                grad = -grad
            if weight_decay != 0:
                grad = grad.add(p, alpha=weight_decay)       # a new tensor: p.grad stays as backward left it
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    # torch's first step: the buffer is the gradient itself (no (1 - dampening) factor)
                    buf = grad.detach().clone()
                    state["momentum_buffer"] = buf
                else:
                    buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                grad = grad.add(buf, alpha=momentum) if nesterov else buf
            params.append(p)
            steps.append(grad)
        if params:
            # one call for the group: an axpy pass over each weight, without add_'s dispatch and
            # checks per parameter (torch's foreach SGD does the same)
            _foreach_add_(params, steps, alpha=-lr)
