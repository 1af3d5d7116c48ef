"""``detect_anomaly``: the op, and the line of your code, that first made a NaN or an Inf.

While it is on, every op applied records where the user's code created it
(the innermost frame outside dlmath, on the node's ``trace`` slot), and with
``check_nan`` (the default):

* forward: an op whose output holds a NaN its inputs did not have (or an Inf
  from inputs without NaN/Inf) raises at once, naming the op and the line:
  ``log(0)``, ``0/0``, ``exp(1000)``;
* backward: a vjp that turns a finite incoming gradient into NaN/Inf raises,
  naming the op, which input's gradient went bad, and where the op was created.

PyTorch checks the backward pass only; JAX's ``debug_nans`` (forward) is the
model for the first half. It costs a scan of every result, so it is for
debugging. An Inf that comes *in* (a mask filled with -inf before softmax) is
passed on silently; only its creation is reported.

    >>> import dlmath as dm
    >>> x = dm.tensor([1.0, 0.0])
    >>> with dm.autograd.detect_anomaly():
    ...     y = dm.log(x)            # doctest: +ELLIPSIS
    Traceback (most recent call last):
    RuntimeError: Function 'Log' produced -inf in its output (forward pass) ...
"""
from __future__ import annotations

import linecache
import os
import sys
import threading

import numpy as np

from . import _flags

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _State(threading.local):
    """Per thread, as in torch: one thread's detect_anomaly leaves the others' ops alone."""
    depth = 0          # nested detect_anomaly contexts that are on
    check_nan = True


_state = _State()
_lock = threading.Lock()
_threads_on = [0]      # threads with anomaly mode on: the forward hook is registered while any is


def user_location(skip=1):
    """'file.py:LINE in fn: source' of the innermost frame outside the dlmath package."""
    f = sys._getframe(skip)
    while f is not None and f.f_code.co_filename.startswith(_PKG_DIR):
        f = f.f_back
    if f is None:
        return "<unknown location>"
    src = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
    where = f"{f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}"
    return f"{where}\n    {src}" if src else where


def _bad(a):
    """(has nan, has inf) of an array (False, False) for non-float data."""
    a = a._data if hasattr(a, "_data") else a
    if not isinstance(a, np.ndarray):
        a = np.asarray(a)
    if a.dtype.kind not in "fc" or a.size == 0:
        return False, False
    if np.isfinite(a).all():
        return False, False
    nan = bool(np.isnan(a).any())
    return nan, bool(np.isinf(a).any())


def _kind(a):
    """'nan', 'inf', '-inf' or 'inf and -inf' for a non-finite array."""
    a = a._data if hasattr(a, "_data") else np.asarray(a)
    if np.isnan(a).any():
        return "nan"
    pos, neg = bool((a == np.inf).any()), bool((a == -np.inf).any())
    return "inf and -inf" if pos and neg else ("inf" if pos else "-inf")


def _forward_hook(op, inputs, arrays, out, result):
    if not _state.depth:
        return
    op.trace = loc = user_location()
    if not _state.check_nan:
        return
    outs = out if op.n_out > 1 else (out,)
    for k, o in enumerate(outs):
        nan, inf = _bad(o)
        if not (nan or inf):
            continue
        bad_in = [_bad(a) for a in arrays]
        if (nan and not any(n for n, _ in bad_in)) or (inf and not any(n or i for n, i in bad_in)):
            which = f" {k}" if op.n_out > 1 else ""
            shapes = ", ".join(str(tuple(np.shape(a))) for a in arrays)
            raise RuntimeError(
                f"Function '{op.name}' produced {_kind(o)} in its output{which} (forward pass) from inputs "
                f"without it (input shapes {shapes}). The op was created at\n  {loc}")


def run_checked_vjp(node, xp, g, args):
    """The engine's vjp call in anomaly mode: raise if the vjp turns a finite gradient into NaN/Inf."""
    grads = node.vjp(xp, g, *args)
    if not _state.check_nan:
        return grads
    incoming = g if isinstance(g, (list, tuple)) else (g,)
    if any(gi is not None and any(_bad(gi)) for gi in incoming):
        return grads   # already bad when it arrived: reported where it was made
    for i, gi in enumerate(grads):
        if gi is not None and any(_bad(gi)):
            trace = getattr(node, "trace", None)   # an unset slot reads as None
            where = (f"The op was created at\n  {trace}" if trace else
                     "Turn detect_anomaly on around the forward pass too, to see where the op was created.")
            raise RuntimeError(
                f"Function '{node.name}Backward' returned {_kind(gi)} values in its {i}th output (the gradient "
                f"with respect to input {i}, shape {tuple(np.shape(gi))}) from a finite incoming gradient. "
                f"{where}")
    return grads


def _enable(check_nan):
    prev = (_state.depth, _state.check_nan)
    _set(_state.depth + 1, check_nan)
    return prev


def _restore(prev):
    _set(*prev)


def _set(depth, check_nan):
    """This thread's anomaly state; the hook stays registered while any thread has it on."""
    was_on = bool(_state.depth)
    _state.depth, _state.check_nan = depth, check_nan
    _flags.local.anomaly = on = bool(depth)
    if on == was_on:
        return
    with _lock:
        _threads_on[0] += 1 if on else -1
        registered = _forward_hook in _flags._forward_hooks
        if _threads_on[0] and not registered:
            _flags._forward_hooks.append(_forward_hook)
        elif not _threads_on[0] and registered:
            _flags._forward_hooks.remove(_forward_hook)
        _flags.refresh()


class detect_anomaly:
    """Context manager (and decorator): raise at the first op that makes a NaN/Inf, forward or backward.

    ``check_nan=False`` only records where each op was created (torch's semantics).
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = _enable(self.check_nan)
        return self

    def __exit__(self, *exc):
        _restore(self._prev)
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly:
    """``set_detect_anomaly(True)`` turns it on (off with False); also a context manager."""

    def __init__(self, mode, check_nan=True):
        self._prev = (_state.depth, _state.check_nan)
        _set(max(_state.depth, 1) if mode else 0, check_nan if mode else _state.check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _restore(self._prev)
        return False


def is_anomaly_enabled():
    return bool(_state.depth)


def is_anomaly_check_nan_enabled():
    return bool(_state.depth) and _state.check_nan
