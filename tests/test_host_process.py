"""``import dlmath`` leaves the host process as it found it (issue #9).

An earlier dlmath tuned glibc's malloc at import (a 32 MiB mmap threshold, a
64 MiB trim threshold) for the whole process: a host program that freed many
1 MiB buffers, with small objects of its own allocated between them, kept
all that memory resident. Here a host script does exactly that, in a fresh
process, once without dlmath and once after ``import dlmath`` and a few
dlmath calls (among them W5's 256 x 256 Jacobian); the memory it gets back
from the free must be the same. A third run with the documented opt-in
(``DLMATH_MALLOC_TUNING=1``) shows that the check does see the difference.
"""
import os
import subprocess
import sys

import pytest

import dlmath

N_BUFFERS = 128   # 1 MiB each

HOST = r"""
import sys
import numpy as np

def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

if sys.argv[1] == "dlmath":
    import dlmath as dm
    z = dm.tensor(np.random.default_rng(0).standard_normal(256))
    J = dm.func.jacrev(lambda z: dm.softmax(z, dim=-1))(z)             # W5's Jacobian
    H = dm.func.hessian(lambda w: (dm.tanh(w) ** 2).sum())(dm.ones(32))
    W = dm.randn(64, 32, requires_grad=True)
    (dm.randn(16, 64) @ W).relu().sum().backward()
    del J, H, W

n = int(sys.argv[2])
bufs, keep = [], []
for i in range(n):
    bufs.append(bytearray(1 << 20))    # 1 MiB, written (bytearray zero-fills)
    keep.append(bytes(32 << 10))       # a smaller object of the host's own, kept: it sits
                                       # after the buffer on the heap (a small one may not)
peak = rss_mib()
del bufs
print(peak - rss_mib())                # MiB given back to the OS by the free
"""


def _start(mode, tuning=None):
    env = dict(os.environ)
    env.pop("DLMATH_MALLOC_TUNING", None)
    if tuning is not None:
        env["DLMATH_MALLOC_TUNING"] = tuning
    # the child imports the same dlmath as this process
    src = os.path.dirname(os.path.dirname(os.path.abspath(dlmath.__file__)))
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-c", HOST, mode, str(N_BUFFERS)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _is_glibc():
    import ctypes.util
    return sys.platform.startswith("linux") and "libc.so.6" in (ctypes.util.find_library("c") or "")


@pytest.fixture(scope="module")
def returned():
    """MiB each host run gives back to the OS when it frees its buffers (the runs in parallel)."""
    if not os.path.exists("/proc/self/status"):
        pytest.skip("reads VmRSS from /proc/self/status (Linux)")
    runs = {"plain": ("plain",), "dlmath": ("dlmath",)}
    if _is_glibc():
        runs["dlmath, opt-in tuning"] = ("dlmath", "1")
    procs = {k: _start(*a) for k, a in runs.items()}
    out = {}
    for k, p in procs.items():
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, f"{k}: {stderr}"
        out[k] = float(stdout.split()[-1])
    return out


@pytest.mark.dlmath_only
def test_host_gets_its_freed_memory_back(returned):
    without, with_dm = returned["plain"], returned["dlmath"]
    # the plain host gives back (nearly) all it freed; dlmath must not change that
    assert without > 0.8 * N_BUFFERS, f"plain host got back only {without:.0f} MiB of {N_BUFFERS}"
    assert with_dm > without - 0.1 * N_BUFFERS, (
        f"after import dlmath the host got back {with_dm:.0f} MiB of the {N_BUFFERS} MiB it freed, "
        f"without dlmath {without:.0f} MiB: dlmath changed the process's allocator")


@pytest.mark.dlmath_only
def test_opt_in_tuning_is_what_the_check_sees(returned):
    """The check above can fail: with the opt-in, the freed buffers stay resident."""
    if "dlmath, opt-in tuning" not in returned:
        pytest.skip("the opt-in is glibc's mallopt")
    assert returned["dlmath, opt-in tuning"] < 0.5 * N_BUFFERS, returned


@pytest.mark.dlmath_only
def test_import_changes_nothing_by_default():
    if os.environ.get("DLMATH_MALLOC_TUNING") == "1":
        pytest.skip("the opt-in is on in this environment")
    assert dlmath._alloc.tuned is False
