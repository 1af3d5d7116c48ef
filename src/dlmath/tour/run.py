"""Running the tour: what each experiment is handed (:class:`Run`), and the loop that runs them.

The loop seeds every experiment the same way, times it, saves its one figure, checks its
headline against the expectations it was registered with, and never lets one failing
experiment stop the others: an exception is reported as that experiment's failure.
"""
from __future__ import annotations

import json
import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import dlmath as dm

from .registry import Experiment

# One look for every figure: small, gridded, no top/right spines, readable at report width.
FIGURE_STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}


class Run:
    """What an experiment receives.

    ``run.quick`` and ``run.size(full, quick)`` pick the experiment's size; ``run.generator``
    is a :class:`dlmath.Generator` seeded with ``--seed`` (the global generator is seeded
    too); ``run.figure(...)`` gives the experiment its one figure, as matplotlib's
    ``plt.subplots`` would; ``run.progress(iterable, "what")`` shows a progress bar;
    ``run.log(text)`` keeps text (a printed graph, a caught error message) for the report.
    """

    def __init__(self, experiment: Experiment, *, quick: bool, seed: int, plots: bool, progress):
        self.experiment = experiment
        self.quick = quick
        self.seed = seed
        self.plots = plots
        self.generator = dm.Generator().manual_seed(seed)
        self.logs: list[str] = []
        self.figure_object = None
        self._progress = progress

    def size(self, full, quick):
        """``full`` in the full tour, ``quick`` under ``--quick``."""
        return quick if self.quick else full

    def log(self, text: str) -> None:
        self.logs.append(str(text).rstrip("\n"))

    def progress(self, iterable, description: str, total: int | None = None):
        return self._progress(iterable, description, total)

    def figure(self, nrows: int = 1, ncols: int = 1, *, width: float | None = None,
               height: float | None = None, **subplots_kw):
        """``(fig, axes)`` for this experiment's figure (``axes`` squeezed as ``plt.subplots`` does)."""
        if self.figure_object is not None:
            raise RuntimeError(f"experiment {self.experiment.id!r} asked for a second figure; "
                               "the tour shows one idea per figure")
        if not self.plots:
            self.figure_object = _Sink()
            return self.figure_object, _sink_axes(nrows, ncols, subplots_kw.get("squeeze", True))
        import matplotlib.pyplot as plt

        size = (width or 4.4 * ncols + 0.4, height or 3.4 * nrows + 0.3)
        fig, axes = plt.subplots(nrows, ncols, figsize=size, layout="constrained", **subplots_kw)
        self.figure_object = fig
        return fig, axes


class _Sink:
    """Stands in for a figure or an axis under ``--no-plots``: takes every call and does nothing."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __getitem__(self, key):
        return self

    def __iter__(self):
        return iter(())


def _sink_axes(nrows, ncols, squeeze):
    import numpy as np

    axes = np.empty((nrows, ncols), dtype=object)
    for index in np.ndindex(axes.shape):
        axes[index] = _Sink()
    if squeeze:
        return axes[0, 0] if axes.size == 1 else axes.squeeze()
    return axes


@dataclass
class Result:
    experiment: Experiment
    headline: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)  # key -> (expected text, passed)
    seconds: float = 0.0
    figure: str | None = None  # path relative to the output directory
    error: str | None = None
    logs: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.error is None and all(ok for _, ok in self.checks.values())


def plain(value):
    """A headline value as JSON can hold it: bool, int, float (non-finite as None) or a list of them."""
    if isinstance(value, bool):
        return value
    if isinstance(value, dm.Tensor):
        value = value.tolist()
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        value = value.tolist()  # NumPy scalars and arrays
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    value = float(value)
    return value if math.isfinite(value) else None


def run_one(experiment: Experiment, *, quick: bool, seed: int, plots: bool, out_dir: Path,
            progress) -> Result:
    result = Result(experiment)
    run = Run(experiment, quick=quick, seed=seed, plots=plots, progress=progress)
    dm.manual_seed(seed)
    start = time.perf_counter()
    try:
        headline = experiment.function(run)
        if not isinstance(headline, dict):
            raise TypeError(f"experiment {experiment.id!r} returned {type(headline).__name__}, not a dict")
    except Exception as exc:  # one broken experiment must not stop the tour
        result.error = f"{type(exc).__name__}: {exc}"
        run.log(traceback.format_exc())
        headline = {}
    result.seconds = time.perf_counter() - start
    for key, expectation in experiment.expect.items():
        if key not in headline:
            result.checks[key] = (expectation.text, False)
            if result.error is None:
                result.error = f"headline key {key!r} is missing"
            continue
        result.checks[key] = (expectation.text, expectation.check(headline[key], headline))
    result.headline = {key: plain(value) for key, value in headline.items()}
    result.logs = run.logs
    if plots and run.figure_object is not None and not isinstance(run.figure_object, _Sink):
        import matplotlib.pyplot as plt

        path = out_dir / "figures" / f"{experiment.id}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        run.figure_object.savefig(path)
        plt.close(run.figure_object)
        result.figure = f"figures/{experiment.id}.png"
    return result


def run_tour(experiments: list[Experiment], *, quick: bool = False, seed: int = 0, plots: bool = True,
             out_dir: str | Path = "dlmath-tour", console=None) -> dict:
    """Run ``experiments`` in order; write ``results.json`` (and, with plots, the figures and
    ``report.html``) to ``out_dir``; return the results document (see :func:`results_document`)."""
    from .terminal import Console

    console = console or Console()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    start = time.perf_counter()
    with _figure_context(plots), _one_blas_thread():
        section = None
        for experiment in experiments:
            if experiment.section != section:
                section = experiment.section
                console.section(section, experiment.section_name)
            console.start(experiment)
            result = run_one(experiment, quick=quick, seed=seed, plots=plots, out_dir=out_dir,
                             progress=console.progress)
            console.finish(result)
            results.append(result)
    seconds = time.perf_counter() - start
    document = results_document(results, quick=quick, seed=seed, seconds=seconds)
    (out_dir / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    report = None
    if plots:
        from .report import write_report

        report = write_report(results, document, out_dir / "report.html")
    console.summary(results, seconds, out_dir, report)
    return document


def _one_blas_thread():
    """The tour's matrix products are small (a 100-unit layer, a batch of 64): BLAS threads cost
    more in hand-offs than they save, and on a busy 2-core machine they stall (a 60x100 @ 100x100
    product measured 0.08 ms on one thread, up to 1 ms on two). PyTorch users set the same with
    ``torch.set_num_threads(1)``. threadpoolctl comes with the ``tour`` extra."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1)


def _figure_context(plots: bool):
    if not plots:
        import contextlib

        return contextlib.nullcontext()
    try:
        import matplotlib
    except ImportError as exc:
        raise RuntimeError("the tour's figures need matplotlib: pip install 'dlmath[tour]', "
                           "or run with --no-plots") from exc
    matplotlib.use("Agg")  # headless: the tour writes PNG files and never opens a window
    return matplotlib.rc_context(FIGURE_STYLE)


def results_document(results: list[Result], *, quick: bool, seed: int, seconds: float) -> dict:
    """The content of results.json."""
    return {
        "dlmath_version": dm.__version__,
        "quick": quick,
        "seed": seed,
        "seconds": round(seconds, 3),
        "experiments": {
            r.experiment.id: {
                "section": r.experiment.section,
                "title": r.experiment.title,
                "claim": r.experiment.claim,
                "headline": r.headline,
                "expected": {key: text for key, (text, _) in r.checks.items()},
                "passed": r.passed,
                "seconds": round(r.seconds, 3),
                "figure": r.figure,
                **({"error": r.error} if r.error else {}),
            }
            for r in results
        },
    }
