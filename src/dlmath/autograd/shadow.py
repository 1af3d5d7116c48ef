"""Precision diagnostics: rerun a float32 computation in float64 and find where they part.

``shadow_float64(fn, *args)`` calls ``fn`` twice: on the arguments as given
(float32) and on float64 copies, with the default dtype set to float64 so
constants made inside ``fn`` follow. Every primitive application is
recorded through the forward hook of :mod:`dlmath.autograd._flags` (the same
hook anomaly detection uses); the two traces are then compared op by op.

An op is flagged when its float32 result differs from the float64 one by
more than ``rtol`` (relative to |float64 value|, with float32's smallest
normal number as the floor, so values that merely underflow harmlessly are
not flagged), or when it contains NaN. A flagged op *created* the problem
if its inputs still agreed (and, for NaN/Inf, were finite), and *passed it
on* otherwise. For a created NaN/Inf, the report also points at inputs that
underflowed to 0 (or overflowed) in float32 and the op that produced them,
which is usually the real cause: ``log(sigmoid(-100))`` is -inf because
sigmoid(-100) = 3.7e-44 rounds to 0 in float32.

>>> import dlmath as dm
>>> report = dm.autograd.shadow_float64(lambda x: dm.log(dm.sigmoid(x)), dm.tensor([-100.0]))
>>> report.first.name, report.first.status
('Log', 'created')
"""
from __future__ import annotations

import os
import sys

import numpy as np

from . import _flags

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TINY32 = float(np.finfo(np.float32).tiny)


# --- recording -----------------------------------------------------------------
class _Entry:
    __slots__ = ("name", "inputs", "producers", "outputs", "location", "out_dtypes")


class _Recorder:
    """A forward hook: copies the inputs and outputs of every primitive applied."""

    def __init__(self):
        self.entries = []
        self.ids = {}      # id(result tensor) -> entry index (the tensors are kept alive below)
        self.keep = []

    def __call__(self, op, inputs, arrays, out, result):
        e = _Entry()
        e.name = op.name
        e.inputs = [np.array(a, copy=True) if isinstance(a, np.ndarray) and a.dtype.kind in "fc" else None
                    for a in arrays]
        e.producers = [self.ids.get(id(a)) for a in inputs]
        outs = out if op.n_out > 1 else (out,)
        e.outputs = [np.array(o, copy=True) for o in outs]
        e.out_dtypes = [np.asarray(o).dtype for o in outs]
        e.location = _user_location()
        results = result if isinstance(result, tuple) else (result,)
        for r in results:
            self.ids[id(r)] = len(self.entries)
        self.keep.append(results)
        self.entries.append(e)


def _user_location():
    """file:line of the innermost frame outside the dlmath package (the user's code)."""
    f = sys._getframe(2)
    while f is not None and f.f_code.co_filename.startswith(_PKG_DIR):
        f = f.f_back
    if f is None:
        return "?"
    return f"{os.path.basename(f.f_code.co_filename)}:{f.f_lineno} in {f.f_code.co_name}"


def _record(fn, args):
    rec = _Recorder()
    _flags._forward_hooks.append(rec)
    _flags.refresh()   # active while any hook is registered
    try:
        out = fn(*args)
    finally:
        _flags._forward_hooks.remove(rec)
        _flags.refresh()
    return out, rec.entries


def _to_float64(a):
    from ..tensor import Tensor
    if isinstance(a, Tensor):
        if a._data.dtype.kind != "f":
            return a
        from ..creation import tensor
        return tensor(a._data.astype(np.float64), requires_grad=a.requires_grad)
    if isinstance(a, np.ndarray):
        return a.astype(np.float64) if a.dtype.kind == "f" else a
    if isinstance(a, (list, tuple)):
        return type(a)(_to_float64(v) for v in a)
    if isinstance(a, dict):
        return {k: _to_float64(v) for k, v in a.items()}
    return a


# --- comparing --------------------------------------------------------------------
def _compare(a32, a64):
    """(max relative error, index of the worst element) of a float32 result against float64."""
    if a32.shape != a64.shape:
        return np.inf, None
    if a32.dtype.kind not in "fc":
        diff = a32 != a64
        return (np.inf, np.unravel_index(np.argmax(diff), diff.shape)) if diff.any() else (0.0, None)
    a = a32.astype(np.float64)
    b = a64.astype(np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(all="ignore"):
        err = np.where(same, 0.0, np.abs(a - b) / np.maximum(np.abs(b), _TINY32))
    err = np.where(np.isnan(err), np.inf, err)
    if err.size == 0:
        return 0.0, None
    k = int(np.argmax(err))
    return float(err.flat[k]), np.unravel_index(k, err.shape)


def _nonfinite_kind(arrays):
    kinds = []
    for a in arrays:
        if a is None or a.dtype.kind not in "fc":
            continue
        if np.isnan(a).any() and "NaN" not in kinds:
            kinds.append("NaN")
        if np.isposinf(a).any() and "inf" not in kinds:
            kinds.append("inf")
        if np.isneginf(a).any() and "-inf" not in kinds:
            kinds.append("-inf")
    return "/".join(kinds)


def _fmt(v):
    return f"{v:.6g}" if isinstance(v, float) else str(v)


class OpRecord:
    """One flagged op: ``index`` in the trace, ``name``, ``location`` (user code),
    ``max_rel_err``, ``status`` ('created' or 'propagated'), ``nonfinite``
    ('', 'NaN', 'inf', ...), ``detail`` and ``cause`` (text)."""
    __slots__ = ("index", "name", "location", "max_rel_err", "status", "nonfinite", "detail", "cause")

    @property
    def created(self):
        return self.status == "created"

    def __str__(self):
        bad = f", {self.nonfinite}" if self.nonfinite else ""
        return (f"#{self.index} {self.name} at {self.location}: max rel err {_fmt(self.max_rel_err)}{bad}, "
                f"{self.status} here" if self.created else
                f"#{self.index} {self.name} at {self.location}: max rel err {_fmt(self.max_rel_err)}{bad}, "
                "passed on from its inputs")

    __repr__ = __str__


class ShadowReport:
    """The result of :func:`shadow_float64`; ``print(report)`` for the readable form.

    ``ok``: nothing flagged. ``first``: the first flagged :class:`OpRecord`
    (None when ok). ``flagged``: all flagged ops in order. ``n_ops``: ops
    compared. ``output32`` / ``output64``: what ``fn`` returned in each run.
    ``output_rel_err``: max relative error of the final (floating) output.
    ``notes``: anything that limits the comparison.
    """

    def __init__(self, rtol, n_ops, flagged, worst, output32, output64, output_rel_err, notes):
        self.rtol, self.n_ops, self.flagged, self.worst = rtol, n_ops, flagged, worst
        self.output32, self.output64, self.output_rel_err, self.notes = output32, output64, output_rel_err, notes

    @property
    def ok(self):
        return not self.flagged

    @property
    def first(self):
        return self.flagged[0] if self.flagged else None

    @property
    def created(self):
        """The flagged ops that created a problem (the places to fix)."""
        return [r for r in self.flagged if r.created]

    def __bool__(self):
        return self.ok

    def __str__(self):
        lines = [f"shadow_float64: {self.n_ops} ops compared, float32 against float64 (rtol={self.rtol:g})"]
        if self.ok:
            lines.append("  clean: no op differs beyond the tolerance and no NaN/Inf appears")
            if self.worst is not None:
                lines.append(f"  largest relative error {_fmt(self.worst[1])} at op #{self.worst[0]} {self.worst[2]}")
        else:
            f = self.first
            lines.append(f"  FIRST PROBLEM at op #{f.index} {f.name} ({f.location}):")
            lines.append(f"    {f.detail}")
            if f.cause:
                lines.append(f"    cause: {f.cause}")
            lines.append(f"  {'#':>4}  {'op':<16} {'max rel err':>12}  {'status':<18} where")
            for r in self.flagged[:20]:
                status = r.status + (f" ({r.nonfinite})" if r.nonfinite else "")
                lines.append(f"  {r.index:>4}  {r.name:<16} {_fmt(r.max_rel_err):>12}  {status:<18} {r.location}")
            if len(self.flagged) > 20:
                lines.append(f"  ... {len(self.flagged) - 20} more flagged ops")
        if self.output_rel_err is not None:
            lines.append(f"  final output: max relative error {_fmt(self.output_rel_err)}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self):
        if self.ok:
            return f"<ShadowReport ok: {self.n_ops} ops within rtol={self.rtol:g}>"
        return f"<ShadowReport {len(self.flagged)} flagged; first: {self.first}>"


def _describe(e32, e64, err, where):
    """What went wrong at one op, with the worst element's values."""
    for o32, o64 in zip(e32.outputs, e64.outputs):
        e, idx = _compare(o32, o64)
        if e == err and idx is not None:
            a, b = o32[idx].item(), o64[idx].item()
            pos = [int(i) for i in idx] if o32.ndim else "()"
            return f"float32 gives {_fmt(a)} where float64 gives {_fmt(b)} (element {pos}){where}"
    return f"max relative error {_fmt(err)}{where}"


def _cause(e32, e64, entries):
    """Inputs that underflowed to 0 / subnormal or overflowed in float32, and who made them."""
    out = []
    for j, (a, b) in enumerate(zip(e32.inputs, e64.inputs)):
        if a is None or b is None or a.shape != b.shape:
            continue
        a, b = a.astype(np.float64), b.astype(np.float64)
        with np.errstate(all="ignore"):
            under = (np.abs(a) < _TINY32) & (a != b) & np.isfinite(b) & (np.abs(a - b) > 1e-3 * np.abs(b))
            over = np.isinf(a) & np.isfinite(b)
        for mask, what in ((under, "underflowed"), (over, "overflowed")):
            if mask.any():
                k = int(np.argmax(mask.reshape(-1)))
                src = e32.producers[j]
                made = (f", produced by op #{src} {entries[src].name} ({entries[src].location})"
                        if src is not None else "")
                out.append(f"input {j} {what} in float32: {_fmt(a.flat[k])} (float64: {_fmt(b.flat[k])}){made}")
                break
    return "; ".join(out)


def shadow_float64(fn, *args, rtol=1e-3):
    """Run ``fn(*args)`` in float32 and in float64 and report the first op where they diverge.

    ``args``: Tensors, arrays, scalars, or lists/tuples/dicts of them; float
    ones are copied to float64 for the shadow run. The random state is reset
    between the runs, so dropout draws the same masks. Returns a
    :class:`ShadowReport`; ``print`` it.
    """
    from .. import _dtype, random
    state = random.get_rng_state()
    out32, trace32 = _record(fn, args)
    random.set_rng_state(state)
    saved = _dtype.default_dtype()
    _dtype.set_default_dtype(np.float64)
    try:
        out64, trace64 = _record(fn, _to_float64(args))
    finally:
        _dtype.set_default_dtype(saved)
        random.set_rng_state(state)

    notes = []
    t32 = [e for e in trace32 if e.name != "Cast"]
    t64 = [e for e in trace64 if e.name != "Cast"]
    low = [e for e in trace64 if any(d in (np.float32, np.float16) for d in e.out_dtypes)]
    if low:
        notes.append(f"{len(low)} op(s) computed in float32 or lower in the float64 run (first: {low[0].name} "
                     f"at {low[0].location}): constants or dtypes fixed inside fn")
    n = min(len(t32), len(t64))
    for k in range(n):
        if t32[k].name != t64[k].name:
            notes.append(f"the runs took different paths at op #{k} ({t32[k].name} in float32, "
                         f"{t64[k].name} in float64): compared up to there")
            n = k
            break
    else:
        if len(t32) != len(t64):
            notes.append(f"the float32 run applied {len(t32)} ops, the float64 run {len(t64)}")
    _renumber(trace32, t32)

    flagged, worst = [], None
    for k in range(n):
        e32, e64 = t32[k], t64[k]
        errs = [_compare(a, b)[0] for a, b in zip(e32.outputs, e64.outputs)]
        err = max(errs, default=0.0)
        has_nan = any(o.dtype.kind in "fc" and np.isnan(o).any() for o in e32.outputs)
        if not (err > rtol or has_nan):
            if worst is None or err > worst[1]:
                worst = (k, err, e32.name)
            continue
        in_errs = [_compare(a, b)[0] for a, b in zip(e32.inputs, e64.inputs) if a is not None and b is not None]
        in_bad = _nonfinite_kind(e32.inputs)
        out_bad = _nonfinite_kind(e32.outputs)
        r = OpRecord()
        r.index, r.name, r.location, r.max_rel_err = k, e32.name, e32.location, err
        r.nonfinite = out_bad
        if out_bad and err > rtol:
            # a NaN/Inf the float64 run does not have: created if the inputs were finite and agreed
            fresh = [b for b in out_bad.split("/") if b not in in_bad.split("/")]
            created = bool(fresh) and max(in_errs, default=0.0) <= rtol
        elif out_bad:
            created = "NaN" not in in_bad
        else:
            created = max(in_errs, default=0.0) <= rtol
        r.status = "created" if created else "propagated"
        also = " (float64 has it too: not a precision problem, the computation itself is undefined)" \
            if has_nan and any(np.isnan(o).any() for o in e64.outputs if o.dtype.kind in "fc") else ""
        if created:
            what = f"{out_bad} created here from finite inputs" if out_bad and not in_bad else \
                "precision lost here: the inputs still agreed within rtol"
            where = f"; {what}{also}"
        else:
            where = f"; passed on: its inputs already differed or were non-finite{also}"
        r.detail = _describe(e32, e64, err, where)
        r.cause = _cause(e32, e64, t32) if created else ""
        flagged.append(r)

    out_err = None
    o32, o64 = _first_array(out32), _first_array(out64)
    if o32 is not None and o64 is not None:
        out_err = _compare(o32, o64)[0]
    return ShadowReport(rtol, n, flagged, worst, out32, out64, out_err, notes)


def _renumber(trace, kept):
    """Producer indices in the Cast-free numbering (a Cast's input stands for the Cast)."""
    index = {id(e): i for i, e in enumerate(kept)}

    def source(p):
        while p is not None and trace[p].name == "Cast":
            p = trace[p].producers[0]
        return None if p is None else index[id(trace[p])]

    converted = [[source(p) for p in e.producers] for e in kept]
    for e, prods in zip(kept, converted):
        e.producers = prods


def _first_array(out):
    from ..tensor import Tensor
    if isinstance(out, (list, tuple)) and out:
        out = out[0]
    if isinstance(out, Tensor):
        return out._data
    if isinstance(out, np.ndarray):
        return out
    return None
