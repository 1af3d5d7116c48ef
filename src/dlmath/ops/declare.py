"""Each public op is declared once, beside its definition.

    @public(aliases=("arctan2",), inplace="binary")
    def atan2(input, other):
        ...

gives ``dm.atan2`` and ``dm.arctan2``, the methods ``Tensor.atan2`` and
``Tensor.arctan2`` (the tensor is the first argument), and the in-place
``Tensor.atan2_`` and ``Tensor.arctan2_``. The package namespace
(``dlmath/__init__.py``) and the Tensor's methods (``_methods.py``) are both
made from these tables, so an op cannot be half-declared, and
``tests/test_declarations.py`` checks that every declared op is in the test table.

``inplace`` names how the in-place form is made (in ``dlmath.inplace``):
``"binary"`` for ``x.op_(other)``, ``"unary"`` for ``x.op_(*args)``. An in-place
op with a fast path of its own (``add_`` with ``alpha``, ``addcmul_``, ``fill_``)
is declared where it is written, with :func:`method`.
"""
from __future__ import annotations


class Declared:
    """One public op: the function and the names it goes by."""
    __slots__ = ("name", "fn", "function", "method", "aliases", "inplace")

    def names(self):
        return (self.name,) + self.aliases

    def __repr__(self):
        return f"<declared {self.name}>"


FUNCTIONS: dict = {}   # name -> Declared, in declaration order
METHODS: dict = {}     # Tensor methods that are no function of the package (view_as, add_, ...)


def public(fn=None, *, method=True, aliases=(), inplace=None, name=None):
    """Declare ``fn`` as ``dm.<name>`` (and its aliases); ``method``: also ``Tensor.<name>``;
    ``inplace``: ``"binary"`` or ``"unary"`` to make ``Tensor.<name>_`` as well."""
    if inplace not in (None, "binary", "unary"):
        raise ValueError(f"inplace must be None, 'binary' or 'unary', not {inplace!r}")

    def declare(f):
        d = Declared()
        d.name, d.fn, d.function, d.method = name or f.__name__, f, True, method
        d.aliases, d.inplace = tuple(aliases), inplace
        for n in d.names():
            if n in FUNCTIONS or any(n in other.aliases for other in FUNCTIONS.values()):
                raise RuntimeError(f"dlmath: the op {n!r} is declared twice")
        FUNCTIONS[d.name] = d
        return f

    return declare(fn) if fn is not None else declare


def method(name, *aliases):
    """Declare ``fn`` as ``Tensor.<name>`` only (no function of the package)."""
    def declare(f):
        for n in (name,) + aliases:
            if n in METHODS:
                raise RuntimeError(f"dlmath: the method {n!r} is declared twice")
            METHODS[n] = f
        return f
    return declare


def namespace():
    """Every declared function under each of its names (what ``dlmath`` exports)."""
    return {n: d.fn for d in FUNCTIONS.values() for n in d.names()}
