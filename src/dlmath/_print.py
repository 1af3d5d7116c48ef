"""How a tensor prints: torch's layout and number formatting, and ``dm.set_printoptions``.

The rules are torch's (``torch/_tensor_str.py``), on NumPy arrays: one format for all
the elements, chosen from the nonzero finite ones (whole numbers print as ``2.``;
scientific notation when the largest is over 1e8, the smallest under 1e-4, or their
ratio over 1000), right-aligned to a common width, wrapped at ``linewidth``, and
summarised with ``...`` beyond ``threshold`` elements, keeping ``edgeitems`` at each end
of each dim. So a dlmath tensor prints as the torch tensor does, digit for digit.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["set_printoptions", "get_printoptions", "printoptions"]


class _Options:
    __slots__ = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

    def __init__(self):
        self.precision, self.threshold, self.edgeitems, self.linewidth, self.sci_mode = 4, 1000, 3, 80, None


OPTS = _Options()

_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None):
    """torch.set_printoptions: digits after the point (``precision``, 4), the element count
    beyond which a tensor is summarised (``threshold``, 1000), the items kept at each end
    of a summarised dim (``edgeitems``, 3), the line width (80), a ``profile``
    ('default', 'short', 'full') to start from, and ``sci_mode`` (True, False, or None for
    the automatic choice; as in torch, a call without it resets it to None)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        OPTS.precision, OPTS.threshold, OPTS.edgeitems, OPTS.linewidth = _PROFILES[profile]
    if precision is not None:
        OPTS.precision = precision
    if threshold is not None:
        OPTS.threshold = threshold
    if edgeitems is not None:
        OPTS.edgeitems = edgeitems
    if linewidth is not None:
        OPTS.linewidth = linewidth
    OPTS.sci_mode = sci_mode


def get_printoptions():
    """The current options, as keyword arguments for :func:`set_printoptions`."""
    return {k: getattr(OPTS, k) for k in _Options.__slots__}


class printoptions:
    """``with dm.printoptions(precision=2): ...``: the options for the block, then the old ones."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def __enter__(self):
        self.old = get_printoptions()
        set_printoptions(**self.kwargs)

    def __exit__(self, *exc):
        set_printoptions(**self.old)


class _Formatter:
    """One format for every element of a (real) array, as torch's ``_Formatter``."""

    def __init__(self, a):
        self.floating = a.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.max_width = True, False, 1
        p = OPTS.precision
        flat = a.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(f"{v}"))
            return
        vals = flat[np.isfinite(flat) & (flat != 0)]
        if vals.size == 0:
            return
        absv = np.abs(vals).astype(np.float64)
        lo, hi = absv.min(), absv.max()
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        self.sci_mode = (hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4) if OPTS.sci_mode is None \
            else OPTS.sci_mode
        values = vals.astype(np.float64).tolist()
        if self.sci_mode:
            width = max(len(f"{v:.{p}e}") for v in values)
        elif self.int_mode:
            width = max(len(f"{v:.0f}") for v in values) + 1
        else:
            width = max(len(f"{v:.{p}f}") for v in values)
        self.max_width = max(self.max_width, width)

    def format(self, v):
        if self.floating:
            p = OPTS.precision
            if self.sci_mode:
                s = f"{v:{self.max_width}.{p}e}"
            elif self.int_mode:
                s = f"{v:.0f}"
                if not (math.isinf(v) or math.isnan(v)):
                    s += "."
            else:
                s = f"{v:.{p}f}"
        else:
            s = f"{v}"
        return (self.max_width - len(s)) * " " + s


def _summarized(a):
    """The elements a summarised print shows (the edges of each dim), for choosing the format."""
    e = OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate((a[:e], a[-e:])) if a.shape[0] > 2 * e else a
    if not e:
        return a[(slice(0, 0),) * a.ndim]
    rows = list(range(e)) + list(range(a.shape[0] - e, a.shape[0])) if a.shape[0] > 2 * e \
        else range(a.shape[0])
    return np.stack([_summarized(a[i]) for i in rows])


def _element(v, f1, f2):
    if f2 is None:
        return f1.format(v)
    real = f1.format(v.real)
    imag = (f2.format(v.imag) + "j").lstrip()
    return real + imag if imag[0] in "+-" else real + "+" + imag


def _vector(a, indent, summarize, f1, f2):
    width = f1.max_width + 2 + (f2.max_width + 1 if f2 is not None else 0)
    per_line = max(1, math.floor((OPTS.linewidth - indent) / width))
    e = OPTS.edgeitems
    if summarize and not e:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * e:
        data = ([_element(v, f1, f2) for v in a[:e].tolist()] + [" ..."]
                + [_element(v, f1, f2) for v in a[-e:].tolist()])
    else:
        data = [_element(v, f1, f2) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _layout(a, indent, summarize, f1, f2):
    if a.ndim == 0:
        return _element(a.item(), f1, f2)
    if a.ndim == 1:
        return _vector(a, indent, summarize, f1, f2)
    e = OPTS.edgeitems
    n = a.shape[0]
    if summarize and n > 2 * e:
        parts = ([_layout(a[i], indent + 1, summarize, f1, f2) for i in range(e)] + ["..."]
                 + [_layout(a[i], indent + 1, summarize, f1, f2) for i in range(n - e, n)])
    else:
        parts = [_layout(a[i], indent + 1, summarize, f1, f2) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def array_str(a, indent):
    """The bracketed body of a tensor's repr (torch's ``_tensor_str``); ``indent`` is the
    column the body starts at (7, after 'tensor(')."""
    if a.size == 0:
        return "[]"
    summarize = a.size > OPTS.threshold
    if a.dtype.kind == "c":
        f1 = _Formatter(_summarized(a.real) if summarize else a.real)
        f2 = _Formatter(_summarized(a.imag) if summarize else a.imag)
        return _layout(a, indent, summarize, f1, f2)
    return _layout(a, indent, summarize, _Formatter(_summarized(a) if summarize else a), None)


def with_suffixes(text, suffixes, indent):
    """``text`` + ', dtype=...' etc., each on a new line when it would pass the line width (torch's)."""
    parts = [text]
    last = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > OPTS.linewidth:
            parts.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            parts.append(", " + s)
            last += len(s) + 2
    parts.append(")")
    return "".join(parts)
