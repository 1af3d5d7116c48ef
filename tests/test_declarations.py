"""Each public op is declared once (ops/declare.py), and the declarations are the truth:
every declared op is exported, bound as a method with its in-place form, and
exercised by an entry of the test table (tests/op_table.py), which has no duplicate names."""
import collections

import numpy as np
import pytest

from helpers import build, dlmath_only, dm, materialize
from op_table import OPS

pytestmark = dlmath_only

# the operators, by the op they call
DUNDERS = {
    "add": ("__add__", "__radd__", "__iadd__"), "sub": ("__sub__", "__rsub__", "__isub__"),
    "mul": ("__mul__", "__rmul__", "__imul__"), "div": ("__truediv__", "__rtruediv__", "__itruediv__"),
    "floor_divide": ("__floordiv__", "__rfloordiv__"), "remainder": ("__mod__", "__rmod__"),
    "pow": ("__pow__", "__rpow__"), "matmul": ("__matmul__", "__rmatmul__"),
    "bitwise_and": ("__and__", "__rand__"), "bitwise_or": ("__or__", "__ror__"),
    "bitwise_xor": ("__xor__", "__rxor__"), "bitwise_not": ("__invert__",), "neg": ("__neg__",),
    "abs": ("__abs__",), "eq": ("__eq__",), "ne": ("__ne__",), "lt": ("__lt__",), "le": ("__le__",),
    "gt": ("__gt__",), "ge": ("__ge__",),
}


def _declared():
    from dlmath.ops.declare import FUNCTIONS
    return FUNCTIONS


def test_the_op_table_has_no_duplicate_names():
    counts = collections.Counter(info.name for info in OPS)
    assert not [n for n, c in counts.items() if c > 1]


def test_every_declared_op_is_exported_and_bound():
    for d in _declared().values():
        for name in d.names():
            exported = getattr(dm, name)
            # functions that take out= are exported wrapped (ops/declare.py: OUT)
            assert getattr(exported, "__wrapped__", exported) is d.fn, name
            if d.method:
                assert getattr(dm.Tensor, name) is d.fn, name
            if d.inplace:
                assert callable(getattr(dm.Tensor, name + "_")), name + "_"


def test_declaring_a_name_twice_raises():
    from dlmath.ops.declare import public
    with pytest.raises(RuntimeError, match="declared twice"):
        public(lambda x: x, name="exp")
    with pytest.raises(RuntimeError, match="declared twice"):
        public(lambda x: x, name="new_op_for_this_test", aliases=("clip",))


def test_every_declared_op_is_in_the_test_table(monkeypatch):
    """Run each table entry's first sample with every declared function, method and operator
    wrapped to note which op the entry calls (only the outermost call counts: an op built
    from others does not cover them)."""
    called, depth = set(), [0]

    def traced(name, fn):
        def wrapper(*args, **kwargs):
            if depth[0] == 0:
                called.add(name)
            depth[0] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                depth[0] -= 1
        return wrapper

    for d in _declared().values():
        for name in d.names():
            monkeypatch.setattr(dm, name, traced(d.name, d.fn))
            if d.method:
                monkeypatch.setattr(dm.Tensor, name, traced(d.name, getattr(dm.Tensor, name)))
            if d.inplace:
                monkeypatch.setattr(dm.Tensor, name + "_", traced(d.name, getattr(dm.Tensor, name + "_")))
        for dunder in DUNDERS.get(d.name, ()):
            monkeypatch.setattr(dm.Tensor, dunder, traced(d.name, getattr(dm.Tensor, dunder)))
    for info in OPS:
        args = build(dm, materialize(info.samples[0], "float64", info.domain))
        try:
            info.fn(dm, *args)
        except Exception:  # noqa: BLE001 -- error-case entries still name the op they call
            pass
    missing = sorted(set(_declared()) - called)
    assert not missing, f"declared ops with no entry in tests/op_table.py: {missing}"
