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


# The functions that take ``out=`` (torch's everyday ones: elementwise arithmetic and math,
# products, reductions to one tensor, joins, where). Only the package's functions get it; the
# Tensor methods are the plain functions, so no method pays for the keyword.
OUT = frozenset("""
    add sub mul div pow neg exp log log1p expm1 sqrt rsqrt reciprocal sin cos tan tanh sigmoid erf erfc
    erfinv abs square sign floor ceil trunc round clamp maximum minimum remainder fmod atan2 floor_divide
    asin acos atan sinh cosh asinh acosh atanh log2 log10 exp2 lgamma digamma polygamma hypot logaddexp
    matmul mm bmm mv dot outer sum mean prod cumsum logsumexp cat stack where
""".split())


def _with_out(name, fn):
    def function(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        from .out import write_out  # only a call that passes out= loads the writer

        return write_out(name, fn(*args, **kwargs), out)
    function.__name__, function.__qualname__, function.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    function.__wrapped__ = fn
    return function


def namespace():
    """Every declared function under each of its names (what ``dlmath`` exports)."""
    exported = {}
    for d in FUNCTIONS.values():
        fn = _with_out(d.name, d.fn) if d.name in OUT else d.fn
        for n in d.names():
            exported[n] = fn
    return exported
