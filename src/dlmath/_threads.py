"""``dm.get_num_threads`` and ``dm.set_num_threads``: dlmath's threads are NumPy's BLAS threads.

Only the matrix products (and the linear algebra) of dlmath run on several threads, inside the
BLAS library NumPy is linked to. threadpoolctl reads and sets that library's thread count at
run time; it is an optional dependency (the ``test`` and ``tour`` extras), so without it the
count is read from the environment variables BLAS reads at start-up, and setting it raises.
"""
from __future__ import annotations

import os

# the variables the BLAS libraries NumPy ships with (OpenBLAS, MKL, BLIS) read when loaded
_BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
_interop = [None]   # torch's inter-op pool size: dlmath runs ops one after another, so it is only kept
_blas_threads = [None]   # get_num_threads() as last read or set (see blas_threads)


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _check_count(n, opname):
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"{opname} expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{opname} expects a positive integer")


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS uses for matrix products (threadpoolctl's reading when it
    is installed; else the BLAS environment variables, or the cores this process may run on)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        counts = [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
        if counts:
            return max(counts)
    for name in _BLAS_ENV:
        value = os.environ.get(name, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return _cores()


def blas_threads() -> int:
    """get_num_threads(), read once and then kept (set_num_threads keeps it true): for code that
    picks a way of computing on every call, where a fresh reading (about 1 ms) would cost more
    than it saves. A count changed behind dlmath's back (threadpoolctl, directly) is not seen:
    only speed depends on it."""
    if _blas_threads[0] is None:
        _blas_threads[0] = get_num_threads()
    return _blas_threads[0]


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in NumPy's BLAS (the matrix products) from now on. Needs threadpoolctl
    (``pip install threadpoolctl``); without it, set OMP_NUM_THREADS before starting Python."""
    _check_count(n, "set_num_threads")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise RuntimeError("set_num_threads: dlmath's threads are NumPy's BLAS threads, and setting their "
                           "number while running needs threadpoolctl: pip install threadpoolctl (or set "
                           "OMP_NUM_THREADS=n before Python starts)") from None
    threadpool_limits(limits=n, user_api="blas")   # in force until changed again
    _blas_threads[0] = n


def get_num_interop_threads() -> int:
    """torch's inter-op thread pool (independent ops run side by side): dlmath runs ops one after
    another, so this is only the number last set (the number of cores until then)."""
    return _interop[0] if _interop[0] is not None else _cores()


def set_num_interop_threads(n: int) -> None:
    """Recorded for ``get_num_interop_threads``; dlmath has no inter-op pool for it to size."""
    _check_count(n, "set_num_interop_threads")
    _interop[0] = n
