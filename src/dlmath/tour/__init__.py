"""``dlmath tour``: the notes' mathematics run as experiments, each with a figure and a checked result.

One module per chapter of the notes: :mod:`.linear_algebra` (10.1), :mod:`.calculus` (10.2),
:mod:`.probability` (10.3) and :mod:`.stability` (10.4). Each experiment is a short function
written against dlmath's public API only, registered with its claim and the numbers the
mathematics predicts (:mod:`.registry`); :mod:`.run` runs them, :mod:`.terminal` prints them
and :mod:`.report` writes the self-contained ``report.html``. The library never imports
this package.
"""
from .registry import (SECTIONS, Experiment, Expectation, above, all_experiments, at_least, at_most,
                       below, between, close_to, experiment, is_false, is_true, satisfies, select)
from .run import Run, run_tour

__all__ = ["SECTIONS", "Experiment", "Expectation", "Run", "above", "all_experiments", "at_least",
           "at_most", "below", "between", "close_to", "experiment", "is_false", "is_true", "run_tour",
           "satisfies", "select"]
