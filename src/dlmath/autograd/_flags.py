"""Switches that make `apply` do extra work (forward-mode AD, anomaly detection).

One attribute test (`active`) in the hot path when everything is off.
"""
active = False
forward_levels = 0
anomaly = False
_forward_hooks = []


def refresh():
    global active
    active = forward_levels > 0 or anomaly or bool(_forward_hooks)


def after_forward(op, inputs, arrays, out, result):
    for hook in _forward_hooks:
        hook(op, inputs, arrays, out, result)
