"""Elementwise ops, gathered: unary (exp, tanh, ...), binary (+, *, where, ...)
and logical (comparisons, masks). Each primitive lives in its own module;
this one lets callers write ``ew.exp`` without knowing which."""
from .unary import *  # noqa: F401,F403
from .unary import Unary, Piecewise, _unary  # noqa: F401
from .binary import *  # noqa: F401,F403
from .binary import operator, _binary, _shape_error  # noqa: F401
from .logical import *  # noqa: F401,F403
