"""Running a program on dlmath and on torch and comparing; hunting.

Compared (``discrepancy``): every step's outputs right after the step (dtype,
shape, requires_grad, values), every tensor's final value, and every input's
``.grad``; an error must be raised at the same step with the same builtin
exception type. ``minimize`` deletes lines while the same category of
discrepancy remains.

Hunting without Hypothesis, from the repository root::

    .venv/bin/python tests/programs/run.py N [seed]

(or ``python -m programs.run N [seed]`` from ``tests/``): N random programs
(default 1000, seed 0), every discrepancy minimised, bucketed and printed, no
stop at the first (``DLMATH_FUZZ_ALL=1``: known ones included;
``DLMATH_FUZZ_DUMP=file``: pickle them).
"""

import os
import random
import sys
import warnings

import numpy as np

if __name__ == "__main__":  # as a script: import the package from tests/, not from here
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from helpers import dm, dtype_name, load_torch, to_numpy  # noqa: E402
from programs import ATOL, RTOL  # noqa: E402
from programs.builder import RandomChooser, _is_tensor  # noqa: E402
from programs.generate import generate  # noqa: E402
from programs.known import known_discrepancy  # noqa: E402


def source(lines, lib="dm"):
    body = "\n".join(code for code, _ in lines)
    return f"import numpy as np, torch, dlmath as dm\nlib = {lib}\n{body}"


def _snap(v):
    if v is None:
        return None
    if not _is_tensor(v):
        return ("py", repr(v))
    return (dtype_name(v.dtype), tuple(v.shape), bool(v.requires_grad), to_numpy(v).copy())


def execute(lib, lines):
    """Run the program; (snapshots per line, final values and grads, error)."""
    with warnings.catch_warnings():  # (torch's about var/std with 0 degrees of freedom & co.)
        warnings.simplefilter("ignore")
        return _execute(lib, lines)


def _execute(lib, lines):
    ns = {"lib": lib, "np": np}
    trace = []
    for k, (code, outs) in enumerate(lines):
        try:
            exec(code, ns)
        except Exception as exc:  # noqa: BLE001 - the oracle decides what is an error
            return trace, None, (k, exc)
        trace.append([(o, _snap(ns[o])) for o in outs])
    names = [o for _, outs in lines for o in outs]
    final, grads = {}, {}
    for n in dict.fromkeys(names):
        try:  # (torch refuses to touch a stale output of split & co.)
            final[n] = _snap(ns[n])
            if _is_tensor(ns[n]) and ns[n].is_leaf:
                grads[n] = _snap(ns[n].grad)
        except Exception as exc:  # noqa: BLE001
            final[n] = ("py", f"{error_kind(exc)} when read")
    return trace, (final, grads), None


def error_kind(exc):
    for kind in (IndexError, ValueError, TypeError, RuntimeError):
        if isinstance(exc, kind):
            return kind.__name__
    return type(exc).__name__


def _compare(what, ours, theirs):
    """None if equal, else (category, description of the difference)."""
    if theirs is None or ours is None or theirs[0] == "py":
        return None if ours == theirs else ("none-ness", f"{what}: dlmath {ours!r} vs torch {theirs!r}")
    for field, a, c in zip(("dtype", "shape", "requires_grad"), ours[:3], theirs[:3]):
        if a != c:
            return (field, f"{what}: {field} dlmath {a} vs torch {c}")
    a, c = ours[3], theirs[3]
    try:
        np.testing.assert_allclose(a, c, rtol=RTOL, atol=ATOL, equal_nan=True)
    except AssertionError:
        return ("values", f"{what}: values differ\n  dlmath {a.tolist()}\n  torch  {c.tolist()}")
    return None


def discrepancy(lines, torch):
    """Run on both libraries; None if they agree, else (category, description)."""
    t_trace, t_end, t_err = execute(torch, lines)
    d_trace, d_end, d_err = execute(dm, lines)
    for k, (t_step, d_step) in enumerate(zip(t_trace, d_trace)):
        for (name, theirs), (_, ours) in zip(t_step, d_step):
            diff = _compare(f"line {k + 1} ({lines[k][0]!r}) -> {name}", ours, theirs)
            if diff:
                return (f"step {diff[0]}", diff[1])
    if t_err or d_err:
        tk = (t_err[0], error_kind(t_err[1])) if t_err else None
        dk = (d_err[0], error_kind(d_err[1])) if d_err else None
        if tk == dk:
            return None
        desc = lambda e: "no error" if e is None else (  # noqa: E731
            f"{type(e[1]).__name__} at line {e[0] + 1} ({lines[e[0]][0]!r}): {str(e[1])[:300]}")
        strip = lambda e: "".join(c for c in str(e)[:40] if not c.isdigit())  # noqa: E731
        if dk and (tk is None or dk[0] < tk[0]):
            cat = f"only dlmath raises: {dk[1]} {strip(d_err[1])!r}"
        elif tk and (dk is None or tk[0] < dk[0]):
            cat = f"only torch raises: {tk[1]} {strip(t_err[1])!r}"
        else:
            cat = f"error types: dlmath {dk[1]} {strip(d_err[1])!r} vs torch {tk[1]}"
        return (cat, f"errors differ: dlmath {desc(d_err)}; torch {desc(t_err)}")
    for kind, t_map, d_map in (("final value", t_end[0], d_end[0]), ("grad", t_end[1], d_end[1])):
        for name in t_map:
            diff = _compare(f"{kind} of {name}", d_map.get(name, ("py", "missing")), t_map[name])
            if diff:
                return (f"{kind} {diff[0]}", diff[1])
    return None


def minimize(lines, torch, category=None):
    """Delete lines (and loss terms) while the same category of discrepancy remains."""
    found = discrepancy(lines, torch)
    if found is None:
        return lines
    category = category or found[0]

    def same(candidate):
        try:
            d = discrepancy(candidate, torch)
        except Exception:  # noqa: BLE001
            return False
        return d is not None and d[0] == category

    changed = True
    while changed:
        changed = False
        for i in reversed(range(len(lines))):
            cand = lines[:i] + lines[i + 1:]
            if same(cand):
                lines, changed = cand, True
                continue
            code, outs = lines[i]
            if code.startswith("loss = ") and " + " in code:
                terms = code[len("loss = "):].split(" + ")
                for j in reversed(range(len(terms))):
                    rest = terms[:j] + terms[j + 1:]
                    cand = lines[:i] + [("loss = " + " + ".join(rest), outs)] + lines[i + 1:]
                    if rest and same(cand):
                        lines, terms, changed = cand, rest, True
    return lines


def hunt(n, seed=0, second_order_every=4):
    """Run ``n`` random programs without Hypothesis; return {category: [(diff, program)]}."""
    torch = load_torch()
    found = {}
    rnd = random.Random(seed)
    for i in range(n):
        try:
            lines = generate(RandomChooser(rnd), torch, second_order=(i % second_order_every == 0))
        except Exception as exc:  # noqa: BLE001 - a bug of the generator
            found.setdefault(f"GENERATOR {exc!r}", []).append((repr(exc), []))
            continue
        diff = discrepancy(lines, torch)
        if diff:
            key = known_discrepancy(diff)
            cat = f"KNOWN {key}" if key else diff[0]
            found.setdefault(cat, []).append((diff[1], lines))
    return found


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    torch = load_torch()
    found = hunt(int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
                 seed=int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    print(f"=== {sum(map(len, found.values()))} failing programs, {len(found)} categories")
    if os.environ.get("DLMATH_FUZZ_DUMP"):
        import pickle
        with open(os.environ["DLMATH_FUZZ_DUMP"], "wb") as f:
            pickle.dump(found, f)
    for cat, items in sorted(found.items(), key=lambda kv: -len(kv[1])):
        if cat.startswith(("GENERATOR", "KNOWN")):
            print(f"\n##### {len(items)} x {cat}")
            continue
        best = min((minimize(lines, torch, cat) for _, lines in items[:5]), key=len)
        print(f"\n##### {len(items)} x {cat}\n{discrepancy(best, torch)[1]}\n{source(best)}", flush=True)
