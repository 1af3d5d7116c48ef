"""Drawing a program: the choosers and ``Builder``.

A chooser makes every random choice: ``HypothesisChooser`` draws from
Hypothesis (so examples shrink), ``RandomChooser`` from ``random.Random`` (the
hunting script). ``Builder`` keeps the pool of named results and runs each
step on the oracle (torch) as it is drawn, to know shapes; the program ends at
the first step torch rejects.
"""

import re

import numpy as np
from hypothesis import strategies as st

from helpers import dtype_name
from programs.known import SKIP_TORCH_ERRORS, avoid


# --------------------------------------------------------------- choosers ----

class HypothesisChooser:
    """Choices drawn by Hypothesis (shrinks towards the first option / False)."""

    def __init__(self, draw):
        self._draw = draw

    def int(self, lo, hi):
        return self._draw(st.integers(lo, hi))

    def pick(self, seq):
        seq = list(seq)
        return seq[self.int(0, len(seq) - 1)]

    def coin(self, p):
        return self.int(0, 99) >= 100 - round(100 * p)

    def weighted(self, table):
        items = [(k, round(2 * w)) for k, w in table.items() if w > 0]
        total = sum(w for _, w in items)
        r = self.int(0, total - 1)
        for k, w in items:
            if r < w:
                return k
            r -= w
        raise AssertionError


class RandomChooser(HypothesisChooser):
    """The same choices from ``random.Random`` (the hunting script)."""

    def __init__(self, rnd):
        self._rnd = rnd

    def int(self, lo, hi):
        return self._rnd.randint(lo, hi)


# ---------------------------------------------------------------- helpers ----

def _is_tensor(v):
    return hasattr(v, "detach") and hasattr(v, "shape")


def _is_float(t):
    return _is_tensor(t) and dtype_name(t.dtype).startswith("float")


def _broadcast(a, b):
    try:
        return tuple(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        return None


def _matmul_ok(sa, sb):
    if not sa or not sb:
        return False
    a = tuple(sa) if len(sa) >= 2 else (1,) + tuple(sa)
    b = tuple(sb) if len(sb) >= 2 else tuple(sb) + (1,)
    return a[-1] == b[-2] and _broadcast(a[:-2], b[:-2]) is not None


def _has_nan(t):
    try:
        return _is_float(t) and bool(t.detach().isnan().any())
    except Exception:
        return False


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


class Builder:
    """Draws a program step by step, running each step on the oracle as it goes."""

    def __init__(self, ch, torch):
        self.ch, self.torch = ch, torch
        self.ns = {"lib": torch, "np": np}
        self.lines = []   # (source, names of its outputs)
        self.names = []   # the pool of named results, in order of creation
        self.failed = False
        self.rng = np.random.default_rng(ch.int(0, 2**32 - 1))
        self.count = 0
        self.tainted = {}  # name -> known-bug keys its value carries (see ``avoid``)

    # --- pool --------------------------------------------------------------
    def t(self, name):
        return self.ns[name]

    def shape(self, name):
        return tuple(self.ns[name].shape)

    def new(self, prefix="t"):
        name = f"{prefix}{self.count}"
        self.count += 1
        return name

    def floats(self, pred=lambda t: True):
        def ok(t):
            try:
                return _is_float(t) and pred(t)
            except Exception:  # e.g. torch refuses grad_fn of a stale multi-output view
                return False
        return [n for n in self.names if ok(self.ns[n])]

    def pick_float(self, pred=lambda t: True):
        names = self.floats(pred)
        if not names:
            return None
        # favour recent results: they carry the longest histories
        if self.ch.coin(0.5):
            names = names[-3:]
        return self.ch.pick(names)

    def run(self, code, outputs=(), taint=()):
        try:
            exec(code, self.ns)
        except Exception as exc:
            if any(avoid(k) and p in str(exc) for k, p in SKIP_TORCH_ERRORS.items()):
                return False  # the oracle checks before it writes: the pool is unchanged
            self.failed = True
        self.lines.append((code, list(outputs)))
        if self.failed:
            return True
        inherited = set(taint)
        for name, keys in self.tainted.items():
            if re.search(rf"\b{name}\b", code):
                inherited |= keys
        for o in outputs:
            if _has_nan(self.ns[o]) and avoid("nan_minmax_grad") and avoid("amax_nan_grad"):
                continue  # NaN semantics: known discrepancies, keep NaN out of later steps
            if o not in self.names:
                self.names.append(o)
            if inherited:
                self.tainted[o] = self.tainted.get(o, set()) | inherited
        return True

    def shares_memory(self, expr, name):
        """Whether torch's value of ``expr`` lies in the storage of ``name``."""
        try:
            a, b = eval(expr, dict(self.ns)), self.ns[name]
            return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
        except Exception:
            return True

    def eval_shape(self, expr):
        try:
            return tuple(eval(expr, dict(self.ns)).shape)
        except Exception:
            return None

    # --- values ------------------------------------------------------------
    def rand_shape(self, max_dims=3):
        nd = self.ch.weighted({2: 4, 1: 3, 0: 1, 3: 2})
        nd = min(nd, max_dims)
        return tuple(self.ch.int(1, 3) for _ in range(nd))

    def values(self, shape, positive=False):
        v = np.round(self.rng.standard_normal(shape), 2)
        if positive:
            v = np.abs(v) + 0.5
        return v

    def literal(self, shape, requires_grad=False, positive=False):
        """Source of a new float64 tensor; a requires-grad one becomes a named input."""
        vals = self.values(shape, positive).tolist()
        rg = ", requires_grad=True" if requires_grad else ""
        src = f"lib.tensor({vals!r}, dtype=lib.float64{rg})"
        if requires_grad:
            name = self.new("x")
            self.run(f"{name} = {src}", [name])
            return name
        return src

    def scalar(self, positive=False):
        v = self.ch.pick([0.5, 2.0, -1.5, 1.0, 0.0, -0.25, 3.0, 0.3])
        return repr(abs(v) + 0.5 if positive else v)

    def bshape(self, shape, to=False):
        """A shape that broadcasts with ``shape`` (to ``shape`` if ``to``)."""
        ch = self.ch
        s = list(shape)
        s = s[ch.int(0, len(s)):] if ch.coin(0.4) else s
        s = [1 if ch.coin(0.25) else d for d in s]
        if not to and len(s) < 3 and ch.coin(0.15):
            s = [ch.int(1, 2)] + s
        return tuple(s)

    def operand(self, shape, to=False, positive=False, scalar=True, zero_d=False, strict=False):
        """Source of a second operand broadcasting with (or to) ``shape``."""
        ch = self.ch
        if zero_d:
            fits = lambda t: t.ndim == 0  # noqa: E731
        elif to:
            fits = lambda t: _broadcast(t.shape, shape) == tuple(shape)  # noqa: E731
        else:
            fits = lambda t: _broadcast(t.shape, shape) is not None  # noqa: E731
        pool = self.floats(fits)
        kind = ch.weighted({"pool": 5 if pool else 0, "literal": 4, "scalar": 3 if scalar else 0,
                            "any": 1 if self.floats() and not strict else 0})
        if kind == "scalar":
            return self.scalar(positive)
        if kind == "pool":
            src = ch.pick(pool)
        elif kind == "any":
            src = ch.pick(self.floats())
        else:
            lshape = () if zero_d else self.bshape(shape, to)
            src = self.literal(lshape, requires_grad=ch.coin(0.5), positive=positive)
            return src
        return f"({src}.abs() + 0.5)" if positive else src

    def dim(self, nd, bad=0.01, extra=0):
        """A dim index for an ``nd``-d tensor (``extra=1``: for unsqueeze/stack)."""
        n = max(nd, 1) + extra
        if self.ch.coin(bad):
            return self.ch.pick([n, -n - 1])
        return self.ch.int(-n, n - 1)

    def basic_index(self, shape):
        """Source of a basic index (ints, slices with steps, None, ...)."""
        ch = self.ch
        if not shape:
            return ch.pick(["...", "None", "()", "..., None"])
        parts, dims = [], list(shape)
        if ch.coin(0.15):
            parts.append("...")
            dims = dims[ch.int(0, len(dims) - 1):]
        for size in dims[:ch.int(1, len(dims))]:
            kind = ch.weighted({"slice": 4, "int": 3, "full": 2, "none": 1})
            if kind == "none":
                parts.append("None")
            if kind == "int":
                i = ch.int(-size, size - 1) if size and not ch.coin(0.02) else size
                parts.append(str(i))
            elif kind == "full":
                parts.append(":")
            elif kind in ("slice", "none"):
                start = ch.pick(["", "1", "-1", "0", "2"])
                stop = ch.pick(["", "2", "-1", "1", "3"])
                step = ch.pick(["", "", "2", "3"])
                parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        return ", ".join(parts)

    def adv_index(self, shape):
        """Source of an integer-array (repeats allowed) or boolean index."""
        ch = self.ch
        nd = len(shape)
        if nd == 0:
            return ch.pick(["lib.tensor(True)", "None, [0, 0]"])
        d = ch.int(0, nd - 1)
        size = shape[d]
        kind = ch.weighted({"list": 4, "two_lists": 2, "tensor": 2, "bool": 3})
        lead = ":, " * d
        if kind == "bool":
            mask = [bool(b) for b in self.rng.integers(0, 2, size)]
            if ch.coin(0.5) or d > 0:
                return f"{lead}lib.tensor({mask!r})"
            mshape = shape[:ch.int(1, nd)]
            mask = self.rng.integers(0, 2, mshape).astype(bool).tolist()
            return f"lib.tensor({mask!r})"
        idx = [ch.int(-size, size - 1) if size else 0 for _ in range(ch.int(1, 4))]
        if ch.coin(0.02):
            idx[0] = size  # out of range
        if kind == "tensor":
            return f"{lead}lib.tensor({idx!r})"
        if kind == "two_lists" and d + 1 < nd:
            idx2 = [ch.int(0, max(shape[d + 1] - 1, 0)) for _ in range(len(idx) if ch.coin(0.8) else 1)]
            return f"{lead}{idx!r}, {idx2!r}"
        # (no empty slice after an out-of-range index: torch then skips the index check)
        tail = ", 1:" if d + 1 < nd and idx[0] != size and ch.coin(0.3) else ""
        return f"{lead}{idx!r}{tail}"

    def target_shape(self, numel):
        """A shape with ``numel`` elements, for reshape/view."""
        ch = self.ch
        if numel == 0:
            return ch.pick([(0,), (-1,), (1, 0)])
        nd = ch.weighted({1: 2, 2: 3, 3: 2, 0: 1 if numel == 1 else 0})
        dims, rem = [], numel
        for _ in range(nd - 1):
            d = ch.pick(_divisors(rem))
            dims.append(d)
            rem //= d
        if nd:
            dims.append(rem)
        if dims and ch.coin(0.3):
            dims[ch.int(0, len(dims) - 1)] = -1
        return tuple(dims)

    def view_expr(self, name):
        """Source of a view (sometimes a copy, as torch decides) of ``name``."""
        ch = self.ch
        expr = name
        for _ in range(1 if ch.coin(0.75) else 2):
            shape = self.eval_shape(expr)
            if shape is None:
                break
            nd = len(shape)
            kind = ch.weighted({"index": 5, "T": 2 if nd == 2 else 0, "mT": 1 if nd >= 2 else 0,
                                "transpose": 2 if nd >= 2 else 0, "reshape": 2, "view": 2,
                                "unsqueeze": 1, "squeeze": 1, "flatten": 1, "detach": 0.5,
                                "expand": 0.5, "adv": 0.5, "permute": 1 if nd >= 2 else 0})
            if kind == "index":
                expr = f"{expr}[{self.basic_index(shape)}]"
            elif kind == "adv":
                expr = f"{expr}[{self.adv_index(shape)}]"
            elif kind in ("T", "mT"):
                expr = f"{expr}.{kind}"
            elif kind == "transpose":
                expr = f"{expr}.transpose({self.dim(nd, 0)}, {self.dim(nd, 0)})"
            elif kind == "permute":
                perm = list(range(nd))
                self.rng.shuffle(perm)
                expr = f"{expr}.permute({', '.join(map(str, perm))})"
            elif kind in ("reshape", "view"):
                expr = f"{expr}.{kind}({self.target_shape(int(np.prod(shape)))!r})"
            elif kind == "unsqueeze":
                expr = f"{expr}.unsqueeze({self.dim(nd, 0, extra=1)})"
            elif kind == "squeeze":
                expr = f"{expr}.squeeze()"
            elif kind == "flatten":
                expr = f"{expr}.flatten()"
            elif kind == "detach":
                expr = f"{expr}.detach()"
            elif kind == "expand":
                expr = f"{expr}.expand(2, *{expr}.shape)"
        return expr



def _taints(b, src, a):
    """Known-bug keys a new view ``src`` of ``a`` carries (see ``avoid``)."""
    keys = set()
    if "expand" in src and avoid("expand_readonly"):
        keys.add("expand_readonly")
    if re.search(r"\.(reshape|view|flatten)\(", src) and avoid("layout_alias"):
        keys.add("layout_alias")  # dlmath may copy where torch views, or the reverse
        b.tainted[a] = b.tainted.get(a, set()) | {"layout_alias"}
    return keys

