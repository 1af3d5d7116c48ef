"""The op families and ``generate()``, which draws a program of 3-10 steps.

Each step applies one op to tensors made by earlier steps: elementwise,
broadcasting binary ops, reductions, softmax, matmul, shape and view ops,
indexing, and above all in-place writes (``programs.inplace``). A program is a
list of (Python source line, names of its outputs) with ``lib`` free, so the
very same text runs with ``lib=dm`` and ``lib=torch``. It ends with
``loss = sum(w_i * t_i.sum())`` and ``loss.backward()``, or for the second
order ``autograd.grad(loss, inputs, create_graph=True)`` followed by
``sum(g*g).backward()``.
"""

import warnings

import numpy as np

from programs.builder import Builder, _broadcast, _matmul_ok, _taints
from programs.inplace import op_inplace, op_inplace_nograd
from programs.known import avoid


UNARY = [
    "lib.exp({a})", "lib.log({a}.abs() + 1)", "lib.tanh({a})", "{a}.sigmoid()", "lib.relu({a})",
    "{a}.abs()", "lib.sqrt({a}.abs())", "{a}.sin()", "-{a}", "lib.neg({a})", "lib.square({a})",
    "{a} ** 2", "{a}.clamp(min={lo})", "{a}.clamp(max={hi})", "lib.clamp({a}, {lo}, {hi})",
    "{a}.clamp({lo}, {hi})", "{a}.exp()", "{a}.tanh()", "lib.sigmoid({a})", "{a}.relu()",
    "lib.abs({a})", "{a}.square()", "lib.clamp({a}, min={lo}, max={hi})",
]


def op_unary(b):
    a = b.pick_float()
    if a is None:
        return False
    ch = b.ch
    tmpl = ch.pick(UNARY)
    lo, hi = ch.pick([-1.0, -0.5, 0.0, 0.25]), ch.pick([0.0, 0.5, 1.0, -0.75])
    out = b.new()
    return b.run(f"{out} = " + tmpl.format(a=a, lo=lo, hi=hi), [out])


BINARY = [
    "{a} + {b}", "{a} - {b}", "{a} * {b}", "{a} / {bp}", "{a} / {b}", "{b} - {a}", "{b} * {a}",
    "{bp} / {ap}", "lib.add({a}, {b})", "lib.sub({a}, {b}, alpha=2)", "lib.mul({a}, {b})",
    "lib.div({a}, {bp})", "{a}.add({b}, alpha=-0.5)", "lib.maximum({a}, {bt})",
    "lib.minimum({a}, {bt})", "{a}.maximum({bt})", "{ap} ** {b}", "lib.pow({ap}, {b})",
    "{ap}.pow({b})", "{bp} ** {a}", "lib.where({a} > {b}, {a}, {b})", "lib.where({a} > 0, {a}, {b})",
    "lib.where({bt} <= 0.1, {bt}, {a})", "lib.where({a} < {bt}, {bt} * 2, {a})",
]


def op_binary(b):
    a = b.pick_float()
    if a is None:
        return False
    ch = b.ch
    shape = b.shape(a)
    tmpl = ch.pick(BINARY)
    kw = {"a": a, "ap": f"({a}.abs() + 0.5)"}
    if "{bp}" in tmpl:
        kw["bp"] = b.operand(shape, positive=True)
    if "{b}" in tmpl:
        kw["b"] = b.operand(shape)
    if "{bt}" in tmpl:
        kw["bt"] = b.operand(shape, scalar=False)
    out = b.new()
    return b.run(f"{out} = " + tmpl.format(**kw), [out])


def op_reduce(b):
    a = b.pick_float()
    if a is None:
        return False
    ch = b.ch
    nd = b.t(a).ndim
    kind = ch.pick(["sum", "mean", "var", "std", "prod", "max", "min", "logsumexp", "amax", "amin",
                    "max_dim", "min_dim", "argmax"])
    keep = ch.pick(["", ", keepdim=True", ", keepdim=False"])
    multi = kind in ("sum", "mean", "var", "std", "amax", "amin", "logsumexp")
    if multi and nd >= 2 and ch.coin(0.3):
        d0, d1 = b.rng.choice(nd, 2, replace=False).tolist()
        dim = f"({d0}, {d1 - nd})"
    else:
        dim = str(b.dim(nd))
    extra = ""
    if kind in ("var", "std"):
        extra = ch.pick(["", ", correction=0", ", unbiased=False", ", correction=1"])
    out = b.new()
    if kind in ("max_dim", "min_dim"):
        fn = kind[:3]
        idx = b.new()
        form = ch.pick(["{o}, {i} = {a}.{f}(dim={d}{k})", "{o}, {i} = lib.{f}({a}, {d}{k})",
                        "{o} = {a}.{f}({d}{k}).values; {i} = {a}.{f}({d}{k}).indices",
                        "{o} = lib.{f}({a}, dim={d}{k})[0]; {i} = lib.{f}({a}, dim={d}{k})[1]"])
        return b.run(form.format(o=out, i=idx, a=a, f=fn, d=dim, k=keep), [out, idx])
    if kind in ("max", "min") or kind != "logsumexp" and ch.coin(0.25):
        src = ch.pick([f"{a}.{kind}({extra[2:]})", f"lib.{kind}({a}{extra})"])
    else:
        src = ch.pick([f"{a}.{kind}({dim}{keep}{extra})", f"lib.{kind}({a}, dim={dim}{keep}{extra})"])
    done = b.run(f"{out} = {src}", [out])
    if kind == "std" and out in b.names and bool((b.t(out).abs() < 1e-9).any()):
        # equal values: torch's rounding leaves a std of 1e-18 and a finite gradient,
        # an exact 0 has none; the two are not comparable
        b.names.remove(out)
    return done


def op_softmax(b):
    a = b.pick_float()
    if a is None:
        return False
    ch = b.ch
    d = b.dim(b.t(a).ndim)
    tmpl = ch.pick(["lib.softmax({a}, dim={d})", "{a}.softmax({d})", "{a}.log_softmax(dim={d})",
                    "lib.log_softmax({a}, {d})", "lib.nn.functional.softmax({a}, dim={d})",
                    "lib.nn.functional.log_softmax({a}, dim={d})"])
    out = b.new()
    return b.run(f"{out} = " + tmpl.format(a=a, d=d), [out])


def op_matmul(b):
    ch = b.ch
    fl = b.floats(lambda t: t.ndim >= 1)
    pairs = [(x, y) for x in fl for y in fl if _matmul_ok(b.shape(x), b.shape(y))]
    if pairs and ch.coin(0.5):
        x, y = ch.pick(pairs)
    else:
        x = b.pick_float(lambda t: t.ndim >= 1)
        if x is None:
            return False
        s = b.shape(x)
        k = s[-1]
        m = ch.int(1, 3)
        if len(s) >= 2 and ch.coin(0.3):
            y = f"{x}.mT"
        elif len(s) == 1 and ch.coin(0.2):
            y = x
        else:
            batch = b.bshape(s[:-2]) if len(s) > 2 else ((ch.int(1, 2),) if ch.coin(0.2) else ())
            yshape = ch.pick([(k,), (k, m), batch + (k, m)])
            y = b.literal(yshape, requires_grad=ch.coin(0.6))
        if ch.coin(0.3):  # the other way round: y^T-shaped partner on the left
            x, y = (f"{y}.mT" if b.eval_shape(y) and len(b.eval_shape(y)) >= 2 else y), \
                (f"{x}.mT" if len(s) >= 2 else x)
    tmpl = ch.pick(["{x} @ {y}", "lib.matmul({x}, {y})", "{x}.matmul({y})"])
    out = b.new()
    return b.run(f"{out} = " + tmpl.format(x=x, y=y), [out])


def op_shape(b):
    a = b.pick_float()
    if a is None:
        return False
    ch = b.ch
    s = b.shape(a)
    nd = len(s)
    kind = ch.weighted({"reshape": 3, "view": 2, "flatten": 1, "transpose": 2, "permute": 2,
                        "unsqueeze": 2, "squeeze": 2, "expand": 2, "T": 1, "mT": 1, "clone": 1,
                        "contiguous": 1, "detach": 0.5, "repeat": 1})
    if kind in ("reshape", "view"):
        shp = b.target_shape(int(np.prod(s)))
        src = ch.pick([f"{a}.{kind}({shp!r})", f"{a}.{kind}({', '.join(map(str, shp))})"
                       if shp else f"{a}.{kind}(())"])
        if kind == "reshape" and ch.coin(0.3):
            src = f"lib.reshape({a}, {shp!r})"
    elif kind == "flatten":
        src = ch.pick([f"{a}.flatten()", f"{a}.flatten({b.dim(nd, 0)})",
                       f"lib.flatten({a}, start_dim={b.dim(nd, 0)}, end_dim={b.dim(nd, 0)})"])
    elif kind == "transpose":
        src = ch.pick([f"{a}.transpose({b.dim(nd)}, {b.dim(nd)})",
                       f"lib.transpose({a}, {b.dim(nd)}, {b.dim(nd)})"])
    elif kind == "permute":
        perm = list(range(nd))
        b.rng.shuffle(perm)
        src = ch.pick([f"{a}.permute({tuple(perm)!r})", f"lib.permute({a}, {tuple(perm)!r})"])
    elif kind == "unsqueeze":
        src = f"{a}.unsqueeze({b.dim(nd, extra=1)})"
    elif kind == "squeeze":
        src = ch.pick([f"{a}.squeeze()", f"{a}.squeeze({b.dim(nd)})", f"lib.squeeze({a}, {b.dim(nd)})"])
    elif kind == "expand":
        shp = [ch.pick([1, 2, 3, -1]) if d == 1 else ch.pick([d, d, -1]) for d in s]
        if ch.coin(0.4):
            shp = [ch.int(1, 2)] + shp
        if ch.coin(0.2):
            others = b.floats(lambda t: _broadcast(t.shape, s) == tuple(t.shape))
            src = f"{a}.expand_as({ch.pick(others)})" if others else f"{a}.expand({tuple(shp)!r})"
        else:
            src = f"{a}.expand({tuple(shp)!r})"
    elif kind == "T":
        src = f"{a}.T" if nd <= 2 else f"{a}.mT"
    elif kind == "mT":
        src = f"{a}.mT" if nd >= 2 or (nd == 1 and ch.coin(0.1)) else f"{a}.t()"
    elif kind == "repeat":
        reps = [ch.int(1, 2) for _ in range(nd + ch.int(0, 1))]
        src = f"{a}.repeat({', '.join(map(str, reps))})" if reps else f"{a}.repeat(2)"
    else:
        src = f"{a}.{kind}()"
    out = b.new()
    return b.run(f"{out} = {src}", [out], taint=_taints(b, src, a))


def op_join(b):
    a = b.pick_float(lambda t: t.ndim >= 1)
    if a is None:
        return False
    ch = b.ch
    s = b.shape(a)
    nd = len(s)
    if b.t(a).numel() == 0 and avoid("cat_legacy_empty"):
        return False
    if ch.coin(0.35):  # stack: same shapes
        d = b.dim(nd, extra=1)
        same = b.floats(lambda t: tuple(t.shape) == s)
        parts = [a] + [ch.pick(same) if ch.coin(0.6) else b.literal(s, requires_grad=ch.coin(0.5))
                       for _ in range(ch.int(1, 2))]
        src = f"lib.stack([{', '.join(parts)}], dim={d})"
    else:
        d = b.dim(nd)
        dd = d % nd if -nd <= d < nd else 0
        fits = b.floats(lambda t: t.ndim == nd and all(x == y for i, (x, y) in enumerate(zip(t.shape, s))
                                                       if i != dd))
        parts = [a]
        for _ in range(ch.int(1, 2)):
            kind = ch.weighted({"pool": 3, "literal": 2, "slice": 1})
            if kind == "pool":
                parts.append(ch.pick(fits))
            elif kind == "literal":
                shp = list(s)
                shp[dd] = ch.int(1, 2)
                parts.append(b.literal(tuple(shp), requires_grad=ch.coin(0.5)))
            else:
                parts.append(f"{a}[{':, ' * dd}1:]")
        src = ch.pick([f"lib.cat([{', '.join(parts)}], dim={d})", f"lib.cat(({', '.join(parts)}), {d})"])
    out = b.new()
    return b.run(f"{out} = {src}", [out])


def op_split(b):
    a = b.pick_float(lambda t: t.ndim >= 1)
    if a is None:
        return False
    ch = b.ch
    s = b.shape(a)
    d = b.dim(len(s))
    size = s[d] if -len(s) <= d < len(s) else 2
    kind = ch.pick(["split", "split_sizes", "chunk", "unbind"])
    if kind == "split":
        expr = f"{a}.split({ch.int(1, 2)}, dim={d})"
    elif kind == "split_sizes":
        sizes = [1, size - 1] if size > 1 and ch.coin(0.8) else [size]
        expr = f"lib.split({a}, {sizes!r}, dim={d})"
    elif kind == "chunk":
        expr = f"{a}.chunk({ch.int(1, 3)}, {d})"
    else:
        expr = ch.pick([f"{a}.unbind({d})", f"lib.unbind({a}, dim={d})"])
    try:
        n = len(eval(expr, dict(b.ns)))
    except Exception:
        n = 1
    outs = [b.new() for _ in range(max(n, 1))]
    return b.run(f"{', '.join(outs)}, = {expr}", outs)


def op_index(b):
    a = b.pick_float()
    if a is None:
        return False
    ch = b.ch
    s = b.shape(a)
    nd = len(s)
    kind = ch.weighted({"basic": 4, "adv": 3, "mask": 2, "gather": 2 if nd >= 1 else 0,
                        "masked_fill": 2, "tril": 1 if nd >= 2 else 0.1, "view": 2})
    if kind == "basic":
        src = f"{a}[{b.basic_index(s)}]"
    elif kind == "view":
        src = b.view_expr(a)
    elif kind == "adv":
        src = f"{a}[{b.adv_index(s)}]"
    elif kind == "mask":
        other = b.floats(lambda t: tuple(t.shape) == s)
        src = f"{a}[{ch.pick(other)} > {ch.pick(['0', '0.5', '-0.3'])}]"
    elif kind == "gather":
        d = b.dim(nd, 0)
        dd = d % nd
        ishape = [ch.int(1, 3) if i == dd else ch.int(1, max(n, 1)) for i, n in enumerate(s)]
        idx = b.rng.integers(0, max(s[dd], 1), ishape).tolist()
        src = ch.pick([f"lib.gather({a}, {d}, lib.tensor({idx!r}))",
                       f"{a}.gather({d}, lib.tensor({idx!r}))"])
    elif kind == "masked_fill":
        m = b.operand(s, to=True, scalar=False)
        value = b.operand((), zero_d=True) if ch.coin(0.3) else b.scalar()
        src = ch.pick([f"{a}.masked_fill({m} > 0, {value})", f"lib.masked_fill({a}, {m} < 0.2, {value})"])
    else:
        k = ch.int(-1, 1)
        src = ch.pick([f"{a}.tril({k})", f"lib.triu({a}, diagonal={k})", f"{a}.triu()"])
    out = b.new()
    return b.run(f"{out} = {src}", [out], taint=_taints(b, src, a))


def op_new_input(b):
    name = b.literal(b.rand_shape(), requires_grad=True)
    return bool(name)


OPS = {  # op -> weight
    op_unary: 6, op_binary: 8, op_reduce: 6, op_softmax: 2, op_matmul: 3, op_shape: 7,
    op_join: 2, op_split: 2, op_index: 6, op_inplace: 18, op_inplace_nograd: 2, op_new_input: 1,
}


def generate(ch, torch, second_order=False, min_steps=3, max_steps=10):
    """Draw a program: a list of (source line, output names), run on torch as drawn."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _generate(ch, torch, second_order, min_steps, max_steps)


def _generate(ch, torch, second_order, min_steps, max_steps):
    b = Builder(ch, torch)
    for _ in range(ch.int(1, 3)):
        name = b.new("x")
        b.run(f"{name} = {b.literal(b.rand_shape())[:-1]}, requires_grad={not ch.coin(0.2)})", [name])
    for _ in range(ch.int(min_steps, max_steps)):
        for _attempt in range(20):
            op = ch.weighted(OPS)
            if op(b):
                break
        if b.failed:
            return b.lines
    _add_loss(b, second_order)
    return b.lines


def _add_loss(b, second_order):
    terms = [n for n in b.floats(lambda t: t.requires_grad)]
    if not terms:
        return
    weights = np.round(b.rng.uniform(-1.5, 1.5, len(terms)), 1)
    loss = " + ".join(f"{w!r} * {n}.sum()" for w, n in zip(weights.tolist(), terms))
    if not b.run(f"loss = {loss}", ["loss"]) or b.failed:
        return
    inputs = [n for n in b.names if n.startswith("x") and b.t(n).requires_grad]
    if not second_order:
        b.run("loss.backward()")
        return
    gs = [f"g_{n}" for n in inputs]
    if not b.run(f"{', '.join(gs)}, = lib.autograd.grad(loss, [{', '.join(inputs)}], "
                 "create_graph=True, allow_unused=True)", gs) or b.failed:
        return
    live = [g for g in gs if b.t(g) is not None and b.t(g).requires_grad]
    if live:
        if b.run(f"gg = {' + '.join(f'({g} * {g}).sum()' for g in live)}", ["gg"]) \
                and not b.failed:
            b.run("gg.backward()")

