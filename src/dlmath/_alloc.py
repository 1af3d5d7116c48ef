"""Keep large NumPy temporaries off the mmap/munmap path (glibc only; a no-op elsewhere).

glibc serves an allocation of 128 KiB or more with a fresh ``mmap`` and gives
it back to the OS on free, so every new large array page-faults on first
touch (about 1 us per 4 KiB page). glibc raises that threshold by itself once
the program frees a larger block (importing PyTorch does, for instance), up to
32 MiB; a process that only ever allocates arrays of one size -- a batched
Jacobian makes two 512 KiB arrays per call -- never gets there and spends more
time in page faults than in arithmetic (softmax's 256 x 256 Jacobian: 330 us
instead of 190 us). dlmath sets the values glibc's own heuristic ends at: a
32 MiB mmap threshold and a 64 MiB trim threshold (freed memory below that is
kept for reuse). ``DLMATH_MALLOC_TUNING=0`` in the environment turns this off.
"""
from __future__ import annotations

import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20


def tune():
    """Apply the thresholds; returns True if glibc accepted them."""
    if os.environ.get("DLMATH_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
            libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):   # not glibc (musl, ...): nothing to do
        return False


tuned = tune()
