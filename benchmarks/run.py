"""Benchmark runner: dlmath beside PyTorch (and HIPS autograd, MyGrad, JAX).

    .venv/bin/python benchmarks/run.py                  # all workloads, 7 reps
    .venv/bin/python benchmarks/run.py --quick          # 3 reps, shorter blocks
    .venv/bin/python benchmarks/run.py --only W1 --threads 2 --libs torch,dlmath
    .venv/bin/python benchmarks/run.py --child torch W1 # one measurement, JSON

Every measurement runs in a fresh subprocess (``--child LIB WORKLOAD``).
Repetitions are interleaved: for each rep, each workload, each library in
turn (the starting library rotates from rep to rep), so that drifts in
machine speed hit every library alike.  All children get the same thread
count (OMP/OPENBLAS/MKL_NUM_THREADS, torch.set_num_threads) and run without
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which slow NumPy's OpenBLAS here.
The table gives per-library medians over reps and ratios to PyTorch.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
import traceback

from report import blas_line, fmt, report

MARK = "@@BENCH_RESULT "
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
UNSET_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# ---------------------------------------------------------------- child side

def _blas_info() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("user_api", "internal_api", "prefix", "version", "architecture", "num_threads")
    return [{k: d.get(k) for k in keep} for d in threadpool_info()]


def child_main(lib: str, wl_name: str) -> None:
    out = {"lib": lib, "workload": wl_name, "ok": False, "pid": os.getpid()}
    try:
        from workloads import REGISTRY
        fn = REGISTRY[wl_name].funcs[lib]
        res = fn()
        seconds, check = res if isinstance(res, tuple) else (res, None)
        out.update(ok=True, seconds=float(seconds), check=check)
    except BaseException as exc:  # report anything, including SystemExit from a library
        tb = traceback.format_exc().strip().splitlines()
        out.update(error=f"{type(exc).__name__}: {exc}".strip()[:400], traceback=tb[-12:])
    out["blas"] = _blas_info()
    if "torch" in sys.modules:
        out["torch_threads"] = sys.modules["torch"].get_num_threads()
    print(MARK + json.dumps(out), flush=True)


def probe_main() -> None:
    """Report what NumPy's BLAS looks like inside a benchmark child."""
    import numpy as np
    info = {"numpy": np.__version__, "python": sys.version.split()[0], "blas": _blas_info(),
            "env": {k: os.environ.get(k) for k in THREAD_VARS + UNSET_VARS}}
    if not info["blas"]:
        try:
            cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            info["blas_config"] = {k: cfg.get(k) for k in ("name", "version")}
        except Exception as exc:
            info["blas_config"] = {"error": str(exc)}
    print(MARK + json.dumps(info), flush=True)


# --------------------------------------------------------------- parent side

def child_env(threads: int, target_s: float) -> dict:
    env = dict(os.environ)
    for k in THREAD_VARS:
        env[k] = str(threads)
    for k in UNSET_VARS:
        env.pop(k, None)
    env["DLMATH_BENCH_TARGET_S"] = str(target_s)
    env["JAX_PLATFORMS"] = "cpu"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if threads == 1:  # XLA:CPU otherwise runs Eigen on a thread pool of all cores
        flags = env.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" not in flags:
            env["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false").strip()
    env.pop("PYTHONSTARTUP", None)
    return env


def run_child(argv: list[str], env: dict, timeout: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__)] + argv
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f}s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"ok": False, "error": f"child exited {proc.returncode}: " + " | ".join(tail)}


def available_libs(selected: list[str] | None) -> tuple[list[str], list[str]]:
    from workloads import LIBRARIES, REQUIRED
    libs, missing = [], []
    for key, (module, _label) in LIBRARIES.items():
        if selected and key not in selected:
            continue
        if key in REQUIRED or importlib.util.find_spec(module) is not None:
            libs.append(key)
        else:
            missing.append(key)
    return libs, missing


def measure(workloads, libs, reps, env, timeout, log) -> dict:
    """Round-robin: for rep, for workload, for lib -> one fresh child each."""
    runs = {(wl.name, lib): {"values": [], "seconds": [], "check": None, "error": None, "meta": None}
            for wl in workloads for lib in libs if lib in wl.funcs}
    for rep in range(reps):
        for wl in workloads:
            order = [lib for lib in libs if (wl.name, lib) in runs]
            k = rep % len(order) if order else 0
            parts = []
            for lib in order[k:] + order[:k]:
                r = runs[(wl.name, lib)]
                if r["error"]:
                    continue  # failed before: report once, don't retry every rep
                res = run_child(["--child", lib, wl.name], env, timeout)
                if not res.get("ok"):
                    r["error"] = res.get("error", "unknown error")
                    r["traceback"] = res.get("traceback")
                    parts.append(f"{lib} ERROR")
                    continue
                value = wl.convert(res["seconds"])
                r["seconds"].append(res["seconds"])
                r["values"].append(value)
                if r["check"] is None:
                    r["check"] = res.get("check")
                    r["meta"] = {"blas": res.get("blas"), "torch_threads": res.get("torch_threads")}
                parts.append(f"{lib} {fmt(value)}")
            log(f"[rep {rep + 1}/{reps}] {wl.name} ({wl.unit}): " + ", ".join(parts))
    return runs


# -------------------------------------------------------------------- main

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="threads for every library (default 1)")
    p.add_argument("--reps", type=int, default=None, help="fresh-process repetitions (default 7, --quick 3)")
    p.add_argument("--quick", action="store_true", help="fewer reps and shorter timed blocks")
    p.add_argument("--only", default=None, help="comma-separated workloads, e.g. W1,W2")
    p.add_argument("--libs", default=None, help="comma-separated libraries, e.g. torch,dlmath,numpy")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per child")
    p.add_argument("--no-json", action="store_true", help="don't write benchmarks/results/*.json")
    p.add_argument("--strict", action="store_true", help="exit 1 if a target FAILs or is N/A")
    p.add_argument("--child", nargs=2, metavar=("LIB", "WORKLOAD"), help=argparse.SUPPRESS)
    p.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child_main(*args.child)
        return 0
    if args.probe:
        probe_main()
        return 0

    from workloads import REGISTRY
    names = [n.strip() for n in args.only.split(",")] if args.only else list(REGISTRY)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        p.error(f"unknown workload(s) {unknown}; known: {', '.join(REGISTRY)}")
    workloads = [REGISTRY[n] for n in names]
    libs, missing = available_libs(args.libs.split(",") if args.libs else None)
    reps = args.reps or (3 if args.quick else 7)
    target_s = 0.15 if args.quick else 0.4
    env = child_env(args.threads, target_s)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    probe = run_child(["--probe"], env, 120)
    parent_blas_env = {k: os.environ[k] for k in UNSET_VARS if k in os.environ}
    header = [
        f"dlmath benchmarks: {reps} reps x fresh process per library, interleaved; "
        f"threads={args.threads}; ~{target_s}s timed block per child",
        blas_line(probe),
        f"children run without {', '.join(UNSET_VARS)}"
        + (f" (parent had {parent_blas_env})" if parent_blas_env else " (unset in parent too)"),
        "libraries: " + ", ".join(libs) + (f"; not installed, skipped: {', '.join(missing)}" if missing else ""),
    ]
    load0 = os.getloadavg()[0]
    header.append(f"load average at start {load0:.2f} on {os.cpu_count()} CPUs"
                  + ("  WARNING: other processes are busy, figures will be noisy" if load0 >= 1.0 else ""))
    print("\n".join(header), flush=True)
    for wl in workloads:
        print(f"  {wl.name}: {wl.title} [{wl.unit}, {'higher' if wl.higher_is_better else 'lower'} is better]")
    print(flush=True)

    t0 = time.time()
    runs = measure(workloads, libs, reps, env, args.timeout, log)
    lines, summary = report(workloads, libs, runs)
    print("\n" + "\n".join(lines))
    for (wl_name, lib), r in runs.items():
        if r["error"] and r.get("traceback"):
            print(f"\n{lib} {wl_name} traceback (last lines):\n  " + "\n  ".join(r["traceback"]))
    print(f"\n(total {time.time() - t0:.0f}s; load average at end {os.getloadavg()[0]:.2f}, "
          f"this run itself adds ~1)")

    if not args.no_json:
        out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, time.strftime("bench-%Y%m%d-%H%M%S.json"))
        with open(path, "w") as f:
            json.dump({"argv": sys.argv[1:], "threads": args.threads, "reps": reps, "probe": probe,
                       "header": header, "summary": summary, "table": lines,
                       "runs": {f"{w}/{l}": r for (w, l), r in runs.items()}}, f, indent=1)
        print(f"results written to {os.path.relpath(path)}")
    failed = [ln for ln in lines if ln.startswith("TARGET") and not ln.endswith("PASS") and "none" not in ln]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
