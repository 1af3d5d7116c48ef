"""glibc's malloc settings: ``import dlmath`` leaves them as it found them (issue #9).

By default this module changes nothing in the host process: no call into libc,
no environment variable. Every allocator setting is the one the program had.

Opt-in, for a whole program that wants it: ``DLMATH_MALLOC_TUNING=1`` in the
environment before ``import dlmath``, or ``dlmath._alloc.tune()``, sets
``M_MMAP_THRESHOLD`` to 32 MiB and ``M_TRIM_THRESHOLD`` to 64 MiB (Linux with
glibc only; elsewhere it does nothing and returns False). What that changes,
for the rest of the process and for every library in it:

* blocks under 32 MiB come from the heap, not a fresh ``mmap``, and freed heap
  memory is only given back to the OS when more than 64 MiB lie free at its
  top. A program that frees many 1 MiB buffers while smaller objects sit
  between them keeps it all resident (1500 such buffers: 1561 MB resident
  after the free instead of 61 MB);
* glibc's dynamic thresholds are switched off for good: any ``mallopt`` of
  these parameters sets glibc's ``no_dyn_threshold``, and there is no getter
  and no way back, which is also why dlmath cannot apply the tuning only
  around its own calls and "restore" it afterwards.

Why it is off by default. Without any tuning, glibc serves a block of 128 KiB
or more with ``mmap`` and, when the program frees such a block, raises the
mmap threshold to that block's size and the trim threshold to twice it, so
arrays of one size that are freed as soon as they are dropped are reused from
the heap. Softmax's 256 x 256 Jacobian (W5) then runs with no page faults, as
fast as tuned (0.12 ms, 0.3x torch). The tuning used to matter for W5 only
because the pytree helpers (``func/_tree.py``) built reference cycles that
kept each result alive until the cyclic GC: about 20 Jacobians (11 MiB) were
freed at once, over the 1 MiB trim threshold, given back to the OS and
page-faulted again (127 faults and 0.44 ms per call). What the opt-in still
buys: a call whose temporaries freed together exceed twice the largest block
the process has freed so far -- W4's Hessian frees about a dozen 128 KiB
batched tangents per call -- has its heap top trimmed and re-faulted on every
call in a process that has freed nothing larger: W4 takes 1.0 ms instead of
0.54 ms (0.37x torch instead of 0.20x; the target is 0.5x). A program that
has already freed an array of half a MiB or more (a W5 Jacobian, say) does not
pay this.
"""
from __future__ import annotations

import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20


def tune(mmap_threshold=MMAP_THRESHOLD, trim_threshold=TRIM_THRESHOLD):
    """Opt-in: set glibc's mmap and trim thresholds for the whole process (see the module
    docstring for what that changes). Returns True if glibc accepted them."""
    global tuned
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        ok = bool(libc.mallopt(M_MMAP_THRESHOLD, int(mmap_threshold))) and bool(
            libc.mallopt(M_TRIM_THRESHOLD, int(trim_threshold)))
    except (OSError, AttributeError):   # not glibc (musl, ...): nothing to do
        return False
    tuned = tuned or ok
    return ok


tuned = False   # True once tune() has changed the process's malloc settings
if os.environ.get("DLMATH_MALLOC_TUNING") == "1":
    tune()
