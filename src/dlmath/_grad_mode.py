"""Grad mode: whether operations record the graph (thread-local, as in PyTorch)."""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    def __init__(self):
        self.enabled = True


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


class _GradModeContext:
    """Base for context managers that are also decorators."""
    _target = True

    def __enter__(self):
        self._prev = state.enabled
        state.enabled = self._target
        return self

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradModeContext):
    """Don't record operations: for evaluation and for in-place parameter updates.

    >>> import dlmath as dm
    >>> w = dm.ones(2, requires_grad=True)
    >>> with dm.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """
    _target = False


class enable_grad(_GradModeContext):
    """Record operations again inside a ``no_grad`` block."""
    _target = True


class set_grad_enabled(_GradModeContext):
    """Switch recording on or off: ``with dm.set_grad_enabled(training): ...``."""

    def __init__(self, mode: bool):
        self._target = bool(mode)
        self._prev = state.enabled
        state.enabled = self._target

    def __enter__(self):
        return self

    def __call__(self, fn):
        state.enabled = self._prev
        mode = self._target

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper
