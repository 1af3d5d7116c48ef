"""Grad mode: whether operations record the graph (thread-local, as in PyTorch)."""
from __future__ import annotations

import functools
import inspect
import sys
import threading


class _State(threading.local):
    def __init__(self):
        self.enabled = True
        self.inference = False


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


def is_inference_mode_enabled() -> bool:
    """Whether an ``inference_mode()`` block is running (in this thread)."""
    return state.inference


def _wrap_generator(make_ctx, gen_fn):
    """A generator function whose body runs under a fresh ``make_ctx()`` at every resumption.

    Wrapping the call alone would only cover the creation of the generator object: the body
    runs later, at each ``next``/``send``, under whatever mode the caller then has. Between
    two resumptions the caller's own mode is back in force (torch does the same).
    """
    @functools.wraps(gen_fn)
    def wrapper(*args, **kwargs):
        gen = gen_fn(*args, **kwargs)
        try:
            with make_ctx():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with make_ctx():
                        gen.close()
                    raise
                except BaseException:
                    with make_ctx():
                        response = gen.throw(*sys.exc_info())
                else:
                    with make_ctx():
                        response = gen.send(request)
        except StopIteration as stop:
            return stop.value
    return wrapper


def _decorate(make_ctx, fn):
    if inspect.isgeneratorfunction(fn):
        return _wrap_generator(make_ctx, fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with make_ctx():
            return fn(*args, **kwargs)
    return wrapper


class _GradModeContext:
    """Base for context managers that are also decorators, with or without parentheses
    (``@dm.no_grad`` and ``@dm.no_grad()``)."""
    _target = True

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments (got {type(orig_func).__name__}); "
                            f"use it as @{cls.__name__} or @{cls.__name__}() on a function")
        return cls()(orig_func)

    def __enter__(self):
        self._prev = state.enabled
        state.enabled = self._target
        return self

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, fn):
        return _decorate(self.__class__, fn)


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
    """Switch recording on or off: ``with dm.set_grad_enabled(training): ...``.

    As torch's, it takes effect when called (so a bare ``dm.set_grad_enabled(False)``
    statement works); as a decorator it restores the mode and applies it at each call.
    """

    def __new__(cls, mode):
        return object.__new__(cls)

    def __init__(self, mode: bool):
        self._target = bool(mode)
        self._prev = state.enabled
        state.enabled = self._target

    def __enter__(self):
        return self

    def __call__(self, fn):
        state.enabled = self._prev
        mode = self._target
        return _decorate(lambda: set_grad_enabled(mode), fn)


class inference_mode(_GradModeContext):
    """``no_grad`` for code that will never be differentiated (serving a model): nothing is
    recorded and tensors made inside do not require grad. ``inference_mode(False)`` turns grad
    mode on, as torch's. A context manager and a decorator, with or without parentheses.

    (torch also marks the tensors made inside as inference tensors, which autograd then refuses;
    dlmath keeps no such mark: here the block is exactly ``no_grad``.)

    >>> import dlmath as dm
    >>> w = dm.ones(2, requires_grad=True)
    >>> with dm.inference_mode():
    ...     y = w * 2
    >>> y.requires_grad, dm.is_inference_mode_enabled()
    (False, False)
    """

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return object.__new__(cls)
        if not callable(mode):
            raise TypeError(f"inference_mode(): mode must be a bool, not {type(mode).__name__}")
        return cls()(mode)   # @dm.inference_mode, without parentheses

    def __init__(self, mode=True):
        self.mode = mode

    def __enter__(self):
        self._prev = (state.enabled, state.inference)
        state.enabled = not self.mode   # as torch: inference_mode(False) turns grad mode on
        state.inference = self.mode
        return self

    def __exit__(self, *exc):
        state.enabled, state.inference = self._prev
        return False

    def __call__(self, fn):
        mode = self.mode
        return _decorate(lambda: inference_mode(mode), fn)
