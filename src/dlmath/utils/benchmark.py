"""``dm.utils.benchmark`` [torch.utils.benchmark]: timing a statement, with replicates.

``Timer(stmt, setup, globals=...)`` runs ``setup`` once and then ``stmt`` in blocks,
as torch's does (on :mod:`timeit`): ``timeit(number)`` times one block of ``number``
runs; ``blocked_autorange(min_run_time=0.2)`` picks a block size at which the timer's
own overhead is negligible, then times blocks until ``min_run_time`` has passed;
``adaptive_autorange()`` keeps timing blocks until the interquartile range is under
``threshold`` of the median. Each returns a :class:`Measurement` holding the time per
run of every block (``times``), with ``mean``, ``median``, ``iqr``, and torch's repr::

    >>> import dlmath as dm
    >>> m = dm.utils.benchmark.Timer("x @ x", globals={"x": dm.ones(8, 8)}).timeit(10)
    >>> m.number_per_run, len(m.times)
    (10, 1)
"""
from __future__ import annotations

import textwrap
import timeit as _timeit

import numpy as np

__all__ = ["Timer", "Measurement"]

_IQR_WARN_THRESHOLD = 0.1
_IQR_GROSS_WARN_THRESHOLD = 0.25


def select_unit(t):
    """('us', 1e-6) for a time of a few microseconds: the unit that makes it O(1)."""
    unit = {-3: "ns", -2: "us", -1: "ms"}.get(int(np.log10(t) // 3) if t > 0 else -3, "s")
    return unit, {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1}[unit]


class Measurement:
    """The result of a Timer: ``raw_times`` (seconds per block of ``number_per_run`` runs),
    ``times`` (seconds per run), ``mean``, ``median``, ``iqr``, and the task's metadata
    (``stmt``, ``setup``, ``label``, ``sub_label``, ``description``, ``num_threads``)."""

    def __init__(self, number_per_run, raw_times, stmt="pass", setup="pass", label=None, sub_label=None,
                 description=None, num_threads=1, env=None):
        self.number_per_run = number_per_run
        self.raw_times = list(raw_times)
        self.stmt, self.setup, self.label, self.sub_label = stmt, setup, label, sub_label
        self.description, self.num_threads, self.env = description, num_threads, env
        t = np.sort(np.asarray(self.times, dtype=np.float64))
        self._median = float(np.quantile(t, 0.5))
        self._mean = float(t.mean())
        self._p25, self._p75 = float(np.quantile(t, 0.25)), float(np.quantile(t, 0.75))

    @property
    def times(self):
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def median(self):
        return self._median

    @property
    def mean(self):
        return self._mean

    @property
    def iqr(self):
        return self._p75 - self._p25

    def meets_confidence(self, threshold=_IQR_WARN_THRESHOLD):
        return self.iqr / self.median < threshold

    def has_warnings(self):
        return bool(self._warnings())

    def _warnings(self):
        if self.meets_confidence(_IQR_WARN_THRESHOLD):
            return []
        why = ("This suggests significant environmental influence."
               if not self.meets_confidence(_IQR_GROSS_WARN_THRESHOLD) else "This could indicate system fluctuation.")
        return [f"  WARNING: Interquartile range is {self.iqr / self.median * 100:.1f}% "
                f"of the median measurement.\n           {why}"]

    @property
    def title(self):
        sub = f": {self.sub_label}" if self.sub_label else ""
        if self.label is not None:
            return self.label + sub
        if "\n" not in self.stmt:
            return self.stmt + sub
        return f"stmt:{f' ({self.sub_label})' if self.sub_label else ''}\n{textwrap.indent(self.stmt, '  ')}"

    def _summary(self):
        setup = ("" if self.setup in ("pass", "") else f"setup:\n{textwrap.indent(self.setup, '  ')}"
                 if "\n" in self.setup else f"setup: {self.setup}")
        sections = [self.title, self.description or "", setup]
        return "\n".join(f"{s}\n" if "\n" in s else s for s in sections if s)

    def __repr__(self):
        n = len(self.raw_times)
        unit, scale = select_unit(self.median)
        lines = [f"<dlmath.utils.benchmark.Measurement object at {id(self):#x}>", self._summary(),
                 f"  {'Median: ' if n > 1 else ''}{self.median / scale:.2f} {unit}"]
        if n >= 4:
            lines.append(f"  IQR:    {self.iqr / scale:.2f} {unit} ({self._p25 / scale:.2f} to "
                         f"{self._p75 / scale:.2f})")
        lines.append(f"  {n} measurement{'s' if n > 1 else ''}, {self.number_per_run} runs "
                     f"{'per measurement,' if n > 1 else ','} {self.num_threads} thread"
                     f"{'s' if self.num_threads > 1 else ''}")
        lines.extend(self._warnings())
        return "\n".join(lines).strip()

    __str__ = __repr__


class _Threads:
    """BLAS threads limited to ``n`` for the measurement (as torch sets its thread pool), when
    threadpoolctl is installed; otherwise nothing."""

    def __init__(self, n):
        self.n, self.ctx = n, None

    def __enter__(self):
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return
        self.ctx = threadpool_limits(self.n)

    def __exit__(self, *exc):
        if self.ctx is not None:
            self.ctx.unregister() if hasattr(self.ctx, "unregister") else self.ctx.restore_original_limits()


class Timer:
    """torch.utils.benchmark.Timer: ``Timer(stmt, setup="pass", globals=None, label=None,
    sub_label=None, description=None, num_threads=1)`` (see the module's docstring)."""

    def __init__(self, stmt="pass", setup="pass", global_setup="", timer=_timeit.default_timer, globals=None,
                 label=None, sub_label=None, description=None, env=None, num_threads=1, language="python"):
        if language not in ("python", "py"):
            raise ValueError(f"Timer: dlmath times Python statements only (language={language!r})")
        if not isinstance(stmt, str) and not callable(stmt):
            raise TypeError(f"Timer: stmt must be a string of code (or a callable), got {type(stmt).__name__}")
        self._stmt = textwrap.dedent(stmt) if isinstance(stmt, str) else stmt
        self._setup = textwrap.dedent(setup) if isinstance(setup, str) else setup
        if global_setup:
            self._setup = textwrap.dedent(global_setup) + "\n" + self._setup
        self._meta = dict(stmt=stmt if isinstance(stmt, str) else getattr(stmt, "__name__", repr(stmt)),
                          setup=setup if isinstance(setup, str) else getattr(setup, "__name__", "setup"),
                          label=label, sub_label=sub_label, description=description, num_threads=num_threads,
                          env=env)
        self._num_threads = num_threads
        self._timer = _timeit.Timer(stmt=self._stmt, setup=self._setup, timer=timer,
                                    globals=dict(globals) if globals is not None else {})

    def _timeit(self, number):
        return max(self._timer.timeit(number), 1e-9)

    def _measurement(self, number, times):
        return Measurement(number, times, **self._meta)

    def timeit(self, number=1000000):
        """One block of ``number`` runs (after a short warm-up): a Measurement of one time."""
        with _Threads(self._num_threads):
            self._timeit(max(number // 100, 2))
            return self._measurement(number, [self._timeit(number)])

    def repeat(self, repeat=-1, number=-1):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback=None):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _block_size(self, min_run_time):
        overhead = float(np.median([self._timeit(0) for _ in range(5)]))
        number = 1
        while True:
            taken = self._timeit(number)
            if overhead / taken <= 1e-4 and taken >= min_run_time / 1000:
                break
            if taken > min_run_time or number * 10 > 2147483647:
                break
            number *= 10
        return number

    def _loop(self, number, stop, min_run_time, max_run_time=None, callback=None):
        total, times, can_stop = 0.0, [], False
        while total < min_run_time or not can_stop:
            t = self._timeit(number)
            times.append(t)
            total += t
            if callback:
                callback(number, t)
            can_stop = stop(times)
            if max_run_time and total > max_run_time:
                break
        return times

    def blocked_autorange(self, callback=None, min_run_time=0.2):
        """Blocks of a size that makes the timer's overhead negligible, until ``min_run_time`` s."""
        with _Threads(self._num_threads):
            number = self._block_size(min_run_time)
            return self._measurement(number, self._loop(number, lambda times: True, min_run_time,
                                                        callback=callback))

    def adaptive_autorange(self, threshold=0.1, *, min_run_time=0.01, max_run_time=10.0, callback=None):
        """Blocks until their IQR is under ``threshold`` of the median (or ``max_run_time`` s)."""
        with _Threads(self._num_threads):
            number = self._block_size(0.05)

            def stop(times):
                return len(times) > 3 and self._measurement(number, times).meets_confidence(threshold)
            return self._measurement(number, self._loop(number, stop, min_run_time, max_run_time, callback))
