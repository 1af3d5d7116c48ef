"""Timing helpers shared by every workload.

A workload function builds its data, then hands a zero-argument ``step``
callable to :func:`per_iteration`, which warms it up, picks an inner
iteration count so that one timed block lasts about ``target_s`` seconds,
and returns the time of one iteration (``time.perf_counter``; median of
sub-blocks).
Repetitions across fresh processes are the parent's job (``run.py``).
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent

# Set by the child entry point from --target; read by workload functions.
TARGET_S = float(os.environ.get("DLMATH_BENCH_TARGET_S", "0.4"))


def per_iteration(step, target_s: float | None = None, warmup_s: float = 0.1,
                  min_warmup: int = 3, min_iters: int = 3, blocks: int = 5) -> float:
    """Return the time in seconds of one call to ``step``.

    After warm-up the timed budget is split into ``blocks`` sub-blocks; the
    result is the median over sub-blocks of (block time / iterations), which
    shrugs off a transient disturbance from another process.
    """
    target_s = TARGET_S if target_s is None else target_s
    # Warm-up: caches, lazily compiled kernels, allocator pools.
    n_warm = 0
    t0 = time.perf_counter()
    while n_warm < min_warmup or time.perf_counter() - t0 < warmup_s:
        step()
        n_warm += 1
    est = (time.perf_counter() - t0) / n_warm
    iters = max(min_iters, int(target_s / blocks / max(est, 1e-9)))
    gc.collect()
    times = []
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        times.append((time.perf_counter() - t0) / iters)
    return statistics.median(times)


def import_dlmath():
    """Import dlmath from this work tree (falls back to the installed one)."""
    src = str(REPO_ROOT / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    import dlmath
    return dlmath


def import_torch(threads: int | None = None):
    import torch
    n = threads if threads is not None else int(os.environ.get("OMP_NUM_THREADS", "1"))
    torch.set_num_threads(n)
    return torch


def as_float(value) -> float:
    """Best-effort scalar extraction from any library's array/tensor."""
    if hasattr(value, "item"):
        try:
            return float(value.item())
        except Exception:
            pass
    return float(np.asarray(value, dtype=np.float64).sum())
