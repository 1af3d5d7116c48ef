"""A per-thread pool of warm memory for the large arrays that ops and fused layers write.

Used with ``out=``: ``np.exp(x, out=take(x.shape, x.dtype))``. An array from the pool is
an ordinary ndarray; it goes back to the pool by itself when the last reference to it (or
to a view of it) is dropped.
"""
from __future__ import annotations

import sys
import threading

import numpy as np


class _Pool(threading.local):
    """Warm memory for the fused forms' outputs and scratch (megabytes each in a transformer).

    A fresh array of that size comes from the OS page by page at first touch, and glibc gives
    the heap top back when a step's activations are freed together, so a training loop pays a
    page fault per 4 KiB of every temporary on every step (W9: ~8000 faults, a third of the
    step). The pool keeps up to ``PER_SHAPE`` arrays per (shape, dtype), ``CAP`` bytes in all;
    an array is free again when the pool holds its only reference (no tensor, view, ctx or
    cotangent left: every one of those keeps a reference to the array or to its base), so
    nothing needs to give it back. Small arrays (under ``MIN_BYTES``) come from malloc's bins
    warm anyway and are not pooled. dlmath's own buffers only: malloc's settings are untouched
    (issue #9)."""
    PER_SHAPE = 24
    CAP = 128 << 20
    MIN_BYTES = 1 << 16

    def __init__(self):
        self.free = {}
        self.nbytes = 0

    def take(self, shape, dtype):
        dtype = np.dtype(dtype)
        n = dtype.itemsize
        for d in shape:
            n *= d
        if n < self.MIN_BYTES:
            return np.empty(shape, dtype)
        key = (shape, dtype)
        stack = self.free.get(key)
        if stack is None:
            stack = self.free[key] = []
        for a in stack:
            if sys.getrefcount(a) <= _FREE_REFS:
                return a
        a = np.empty(shape, dtype)
        if len(stack) < self.PER_SHAPE and self.nbytes + n <= self.CAP:
            stack.append(a)
            self.nbytes += n
        return a

    def holds(self, a):
        """Whether ``a`` is one of the pool's arrays: then the pool's list holds one reference
        to it, besides its users' (the engine donates such a cotangent to an in-place rule
        when nobody else holds it)."""
        stack = self.free.get((a.shape, a.dtype))
        if stack:
            for b in stack:
                if b is a:
                    return True
        return False

    def clear(self):
        self.free.clear()
        self.nbytes = 0


def _free_refs():
    """The reference count of an array held by nothing but a pool's list, seen from the loop in
    ``take`` (the list's, the loop variable's and getrefcount's own argument)."""
    stack = [np.empty(1)]
    for a in stack:
        return sys.getrefcount(a)


_FREE_REFS = _free_refs()
_pool = _Pool()


def take(shape, dtype):
    """An uninitialised array of ``shape`` and ``dtype``, warm from this thread's pool when one
    is free (see ``_Pool``)."""
    return _pool.take(tuple(shape), dtype)


def holds(a):
    """Whether ``a`` came from this thread's pool (see ``_Pool.holds``)."""
    return _pool.holds(a)
