"""Switches that make `apply` do extra work (forward-mode AD, anomaly detection).

One attribute test (`active`) in the hot path when everything is off. `active`
is process-wide (some thread has a hook on); whether a hook acts is decided by
the hook, from its own state (anomaly mode is per thread, as in torch).
"""
import threading

active = False
forward_levels = 0
_forward_hooks = []


class _Local(threading.local):
    anomaly = False   # detect_anomaly is on in this thread: the backward pass checks each rule


local = _Local()


def refresh():
    global active
    active = forward_levels > 0 or bool(_forward_hooks)


def after_forward(op, inputs, arrays, out, result):
    for hook in _forward_hooks:
        hook(op, inputs, arrays, out, result)
