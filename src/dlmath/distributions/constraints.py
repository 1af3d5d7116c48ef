"""Constraints: where a parameter or a value is allowed to live (torch.distributions.constraints).

Each constraint has ``check(value)``: a bool array, one entry per event. The
distributions use them to validate their parameters (``arg_constraints``) and
the values passed to ``log_prob`` (``support``); the repr is PyTorch's, so the
error messages read the same.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Constraint", "boolean", "real", "real_vector", "positive", "unit_interval", "simplex",
           "integer_interval", "positive_definite", "lower_cholesky", "dependent"]


def _arr(value):
    return np.asarray(value._data if hasattr(value, "_data") else value)


class Constraint:
    """A region of values. ``event_dim``: how many rightmost dims make one event."""
    is_discrete = False
    event_dim = 0

    def check(self, value):
        raise NotImplementedError

    def __repr__(self):
        return type(self).__name__[1:] + "()"


class _Dependent(Constraint):
    """Depends on other parameters (e.g. Categorical's support needs K): not checked on its own."""

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        v = _arr(value)
        return (v == 0) | (v == 1)


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        v = _arr(value)
        return (v % 1 == 0) & (self.lower_bound <= v) & (v <= self.upper_bound)

    def __repr__(self):
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _Real(Constraint):
    def check(self, value):
        v = _arr(value)
        return v == v  # False for NaN only


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return self.lower_bound < _arr(value)

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        v = _arr(value)
        return (self.lower_bound <= v) & (v <= self.upper_bound)

    def __repr__(self):
        return f"Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IndependentConstraint(Constraint):
    """A base constraint that must hold for every entry of the last ``n`` dims (one event)."""

    def __init__(self, base, n):
        self.base_constraint, self.reinterpreted_batch_ndims = base, n
        self.event_dim = base.event_dim + n

    def check(self, value):
        ok = self.base_constraint.check(value)
        return np.all(ok, axis=tuple(range(-self.reinterpreted_batch_ndims, 0))) if ok.ndim else ok

    def __repr__(self):
        return f"IndependentConstraint({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class _Simplex(Constraint):
    """Nonnegative entries summing to 1 along the last dim (tolerance 1e-6, as torch)."""
    event_dim = 1

    def check(self, value):
        v = _arr(value)
        return np.all(v >= 0, axis=-1) & (np.abs(v.sum(-1) - 1) < 1e-6)


class _LowerCholesky(Constraint):
    """Lower triangular with a positive diagonal: a Cholesky factor L, Sigma = L L^T."""
    event_dim = 2

    def check(self, value):
        v = _arr(value)
        lower = np.all(np.tril(v) == v, axis=(-2, -1))
        positive = np.all(np.diagonal(v, axis1=-2, axis2=-1) > 0, axis=-1)
        return lower & positive


class _PositiveDefinite(Constraint):
    """Symmetric (to atol 1e-6) with a Cholesky factorisation: a valid covariance or precision."""
    event_dim = 2

    def check(self, value):
        v = _arr(value)
        sym = np.all(np.isclose(v, np.swapaxes(v, -1, -2), atol=1e-6), axis=(-2, -1))
        if not np.all(sym):
            return sym
        ok = np.zeros(v.shape[:-2], dtype=bool)
        for idx in np.ndindex(*v.shape[:-2]):
            try:
                np.linalg.cholesky(v[idx])
                ok[idx] = True
            except np.linalg.LinAlgError:
                pass
        return ok


dependent = _Dependent()
boolean = _Boolean()
integer_interval = _IntegerInterval
real = _Real()
real_vector = _IndependentConstraint(real, 1)
positive = _GreaterThan(0.0)
unit_interval = _Interval(0.0, 1.0)
simplex = _Simplex()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()


def is_dependent(constraint):
    return isinstance(constraint, _Dependent)
