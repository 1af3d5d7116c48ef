"""RMSprop (torch.optim.RMSprop)."""
from __future__ import annotations

from ..creation import zeros_like
from .optimizer import (Optimizer, _check_flags, _check_lr, _check_nonneg, _check_real, _step_tensor,
                        _value)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop: the gradient divided by the root of a moving average of its square.

    For each parameter :math:`\theta` with gradient :math:`g` (negated if ``maximize``)::

        g <- g + weight_decay * theta                       (if weight_decay != 0)
        v <- alpha * v + (1 - alpha) * g^2
        centered:  a <- alpha * a + (1 - alpha) * g;  d = sqrt(v - a^2) + eps
        otherwise: d = sqrt(v) + eps
        momentum > 0:  b <- momentum * b + g / d;  theta <- theta - lr * b
        otherwise:     theta <- theta - lr * g / d

    Each coordinate's step is normalised by its recent gradient scale (the centered form by its
    recent standard deviation). State per parameter: ``'step'``, ``'square_avg'``,
    ``'momentum_buffer'`` (momentum > 0), ``'grad_avg'`` (centered), as torch's.

    Args: lr (1e-2), alpha (0.99), eps (1e-8), weight_decay (0), momentum (0), centered (False),
    capturable, foreach, maximize (False), differentiable.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_lr("RMSprop", lr)
        _check_nonneg("RMSprop", "epsilon value", eps)
        _check_nonneg("RMSprop", "momentum value", momentum)
        _check_nonneg("RMSprop", "weight_decay value", weight_decay)
        _check_nonneg("RMSprop", "alpha value", alpha)
        _check_flags("RMSprop", foreach=foreach, capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _fill_group_defaults(self):
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)
        self._steps_as_tensors()

    def step(self, closure=None):
        """One RMSprop step for every parameter with a gradient; returns the closure's loss."""
        return self._run_step(closure, self._update_group)

    def _update_group(self, group):
        lr = _value(group["lr"])
        alpha, eps, weight_decay = group["alpha"], group["eps"], group["weight_decay"]
        momentum, centered, maximize = group["momentum"], group["centered"], group["maximize"]
        for p, grad in self._params_with_grad(group):
            state = self.state[p]
            if len(state) == 0:
                _check_real(type(self).__name__, p)
                state["step"] = _step_tensor()
                state["square_avg"] = zeros_like(p)
                if momentum > 0:
                    state["momentum_buffer"] = zeros_like(p)
                if centered:
                    state["grad_avg"] = zeros_like(p)
            if maximize:
                grad = -grad
            square_avg = state["square_avg"]
            state["step"].add_(1)
            if weight_decay != 0:
                grad = grad.add(p, alpha=weight_decay)
            square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
            if centered:
                grad_avg = state["grad_avg"]
                grad_avg.lerp_(grad, 1 - alpha)
                avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
            else:
                avg = square_avg.sqrt()
            avg = avg.add_(eps)
            if momentum > 0:
                buf = state["momentum_buffer"]
                buf.mul_(momentum).addcdiv_(grad, avg)
                p.add_(buf, alpha=-lr)
            else:
                p.addcdiv_(grad, avg, value=-lr)
