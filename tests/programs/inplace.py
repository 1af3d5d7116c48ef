"""The in-place family: ``add_``, ``+=``, ``t[idx] = v``, ... on non-leaf
tensors, constants, grad leaves and views of them, with and without grad mode,
steered around the known bugs of writes (see ``programs.known``).
"""

import re

from programs.builder import _is_tensor, _taints
from programs.known import avoid


INPLACE = [
    "{t}.add_({v})", "{t}.add_({v}, alpha={s})", "{t}.sub_({v})", "{t}.mul_({v})", "{t}.div_({vp})",
    "{t}.clamp_({lo}, {hi})", "{t}.clamp_(min={lo})", "{t}.clamp_(max={hi})", "{t}.zero_()",
    "{t}.fill_({s})", "{t}.fill_({v0})", "{t}.copy_({v})",
    "{t}.masked_fill_({t} > 0, {s})", "{t}.relu_()", "{t}.exp_()", "{t}.neg_()", "{t}.tanh_()",
    "{t}.sigmoid_()", "{t}.square_()", "{t}.abs_()",
]
AUGMENTED = ["{t} += {v}", "{t} *= {v}", "{t} -= {v}", "{t} /= {vp}"]


def op_inplace(b, nograd=False):
    ch = b.ch
    fine = lambda t: True  # noqa: E731
    def of_leaf(t):  # a grad leaf or a view of one: torch refuses in-place with grad on
        r = t if t._base is None else t._base
        return r.is_leaf and r.requires_grad
    nonleaf = b.floats(lambda t: t.requires_grad and not of_leaf(t))
    const = b.floats(lambda t: not t.requires_grad)
    leaf = b.floats(of_leaf)
    group = ch.weighted({"nonleaf": 12 if nonleaf else 0, "const": 3 if const else 0,
                         "leaf": (6 if nograd else 1) if leaf else 0, "none": 0 if nograd else 4})
    if group == "none":  # (a write to a grad leaf ends the program: torch raises)
        return False
    base = ch.pick({"nonleaf": nonleaf, "const": const, "leaf": leaf}[group][-4:])
    if any(avoid(k) for n in b.names if n == base or b.shares_memory(n, base)
           for k in b.tainted.get(n, ())):
        return False
    kind = ch.weighted({"method": 6, "augmented": 2, "setitem": 4})
    if kind == "setitem":
        s = b.shape(base)
        mask = ch.coin(0.35) and ch.coin(0.4)
        idx = f"{base} > 0" if mask else b.adv_index(s) if ch.coin(0.35) else b.basic_index(s)
        target = f"{base}[{idx}]"
        vshape = b.eval_shape(target)
        if vshape is None:
            v = b.scalar()
        else:
            v = b.operand(vshape, to=True)
        if ch.coin(0.1):
            v = f"{target} * 2"  # a value computed from what it replaces
        code = f"{target} = {v}"
        out = []
    else:
        target = base if ch.coin(0.4) else b.view_expr(base)
        if kind == "augmented" and not (target == base or target.endswith("]")):
            kind = "method"
        tshape = b.eval_shape(target) or ()
        templates = AUGMENTED if kind == "augmented" else INPLACE
        tmpl = ch.pick(templates)
        kw = {"t": target, "s": b.scalar(), "lo": ch.pick([-1.0, -0.5, 0.0, 0.25]),
              "hi": ch.pick([0.0, 0.5, 1.0, -0.75])}
        if "{v}" in tmpl:
            kw["v"] = b.operand(tshape, to=True)
            if ch.coin(0.1):  # aliasing value: another view of the same base
                kw["v"] = b.view_expr(base) if ch.coin(0.5) else base
        if "{vp}" in tmpl:
            kw["vp"] = b.operand(tshape, to=True, positive=True)
        if "{v0}" in tmpl:
            kw["v0"] = b.operand((), zero_d=True)
        code = tmpl.format(**kw)
        out = []
        if kind == "method" and not nograd and ch.coin(0.3):
            name = b.new()  # the returned alias joins the pool (a view when target is one)
            code = f"{name} = {code}"
            out = [name]
    if _known_target(b, base, target, setitem=kind == "setitem"):
        return False
    values = [v] if kind == "setitem" else [kw[k] for k in ("v", "vp", "v0") if k in kw]
    if avoid("overlap_not_detected") and any(_overlaps(b, e, base) for e in values):
        return False  # a value overlapping the written memory (torch does not always notice)
    if nograd:
        code = "with lib.no_grad():\n    " + code
    return b.run(code, out, taint=_taints(b, target, base))


def _overlaps(b, expr, name):
    try:
        t = eval(expr, dict(b.ns))
    except Exception:
        return False
    return _is_tensor(t) and t.untyped_storage().data_ptr() == \
        b.ns[name].untyped_storage().data_ptr()


def _known_target(b, base, target, setitem=False):
    """Whether writing to ``target`` (an expression over ``base``) hits a known bug."""
    try:
        t = eval(target, dict(b.ns))
    except Exception:
        # the write raises in torch: dlmath must raise too (but skips the checks when empty)
        return b.ns[base].numel() == 0 and avoid("empty_write_index_check")
    if avoid("empty_views") and (t.numel() == 0 or any(
            b.ns[n].numel() == 0 for n in b.names if b.shares_memory(n, base))):
        return True
    if (t.numel() == 0 or b.ns[base].numel() == 0) and avoid("empty_write_index_check"):
        return True
    if target == base or setitem:
        return False
    if "expand" in target and avoid("expand_readonly"):
        return True
    return bool(re.search(r"\.(reshape|view|flatten)\(", target)) and avoid("layout_alias")


def op_inplace_nograd(b):
    return op_inplace(b, nograd=True)

