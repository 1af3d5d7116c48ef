"""Formatting of benchmark results: the table, target lines, BLAS line."""

from __future__ import annotations

import statistics


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    a = abs(v)
    return f"{v:.0f}" if a >= 1000 else f"{v:.1f}" if a >= 100 else f"{v:.2f}" if a >= 1 else f"{v:.3g}"


def _check_status(check, ref) -> str:
    if check is None or ref is None:
        return "-"
    a = check if isinstance(check, list) else [check]
    b = ref if isinstance(ref, list) else [ref]
    if len(a) != len(b):
        return "MISMATCH (shape)"
    rel = max(abs(x - y) / max(abs(y), 1e-6) for x, y in zip(a, b))
    return "ok" if rel < 2e-3 else f"MISMATCH (rel {rel:.1e})"


def report(workloads, libs, runs) -> tuple[list[str], dict]:
    from workloads import LIBRARIES, REFERENCE
    lines = []
    hdr = f"{'workload':<9}{'library':<28}{'median':>10}  {'unit':<8}{'vs torch':>9}  {'min..max':<19}{'n':>3}  check"
    lines += [hdr, "-" * len(hdr)]
    summary = {}
    for wl in workloads:
        medians = {lib: statistics.median(runs[(wl.name, lib)]["values"])
                   for lib in libs if (wl.name, lib) in runs and runs[(wl.name, lib)]["values"]}
        summary[wl.name] = medians
        ref_lib = REFERENCE if REFERENCE in medians else ("numpy" if "numpy" in medians else None)
        ref_check = runs[(wl.name, ref_lib)]["check"] if ref_lib else None
        ref_val = medians.get(REFERENCE)
        for lib in libs:
            if (wl.name, lib) not in runs:
                continue
            r, label = runs[(wl.name, lib)], LIBRARIES[lib][1]
            if lib not in medians:
                lines.append(f"{wl.name:<9}{label:<28}{'ERROR':>10}  {r['error']}")
                continue
            v = medians[lib]
            ratio = f"{v / ref_val:.2f}x" if ref_val else "-"
            spread = f"{fmt(min(r['values']))}..{fmt(max(r['values']))}"
            chk = "ref" if lib == ref_lib else _check_status(r["check"], ref_check)
            lines.append(f"{wl.name:<9}{label:<28}{fmt(v):>10}  {wl.unit:<8}{ratio:>9}  "
                         f"{spread:<19}{len(r['values']):>3}  {chk}")
        lines.append("")
    for wl in workloads:
        lines.append(target_line(wl, summary[wl.name], runs))
    return lines, summary


def target_line(wl, medians, runs) -> str:
    if wl.target is None:
        return f"TARGET {wl.name}: none"
    t = wl.target
    head = f"TARGET {wl.name}: {wl.target_text()}: "
    for lib in (t.lib, t.ref):
        if lib not in medians:
            err = runs.get((wl.name, lib), {}).get("error") or "not measured"
            return head + f"N/A ({lib}: {err})"
    v, limit = medians[t.lib], t.factor * medians[t.ref]
    ok = v >= limit if wl.higher_is_better else v <= limit
    return (head + f"{t.lib} {fmt(v)} vs limit {fmt(limit)} "
            f"(= {v / medians[t.ref]:.2f}x {t.ref}) -> {'PASS' if ok else 'FAIL'}")


def blas_line(probe: dict) -> str:
    if not probe.get("ok", True):
        return f"NumPy BLAS: probe failed: {probe.get('error')}"
    for d in probe.get("blas", []):
        if d.get("user_api") == "blas":
            return (f"NumPy {probe['numpy']} BLAS: {d.get('internal_api')} {d.get('version')} "
                    f"({d.get('prefix')}), kernel {d.get('architecture')}, "
                    f"{d.get('num_threads')} thread(s) [threadpoolctl]")
    cfg = probe.get("blas_config", {})
    return f"NumPy {probe.get('numpy')} BLAS: {cfg} (install threadpoolctl to see the kernel)"
