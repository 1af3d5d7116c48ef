"""The tour's registry: every experiment, with its claim and the checks on its headline numbers.

An experiment is a plain function ``f(run) -> {key: number or bool}``, registered with
:func:`experiment`. Its *headline* is the dict it returns; its *expectations* say what
the mathematics predicts for some of those keys, as text a reader can check by eye and
as a predicate the tour checks by machine::

    @experiment("broadcasting", section="10.1", title="Broadcasting a bias",
                claim="A bias vector is added to every row; its gradient sums them back.",
                formula="dL/db = sum_i dL/dY[i, :]",
                expect={"bias_grad_max_abs_diff": at_most(1e-6)})
    def broadcasting(run):
        ...
        return {"bias_grad_max_abs_diff": diff}

Keys a function returns but no expectation names are shown as context (a chance level,
a count), not checked.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

# The notes' chapter numbers, in the order the tour runs them.
SECTIONS = {
    "10.1": "Linear algebra",
    "10.2": "Calculus",
    "10.3": "Probability and statistics",
    "10.4": "Numerical stability",
}


@dataclass(frozen=True)
class Expectation:
    """What the mathematics predicts for one headline value.

    ``text`` is shown to the reader (and written to results.json); ``holds(value,
    headline)`` is the check. It also sees the whole headline, so an expectation can
    compare two numbers (precision against the chance level, say).
    """

    text: str
    holds: Callable[[Any, dict], bool]

    def check(self, value, headline) -> bool:
        # A NaN fails every comparison, so a broken number never passes by accident.
        try:
            return bool(self.holds(value, headline))
        except (TypeError, ValueError, KeyError):
            return False


def at_most(bound: float) -> Expectation:
    return Expectation(f"<= {bound:g}", lambda v, h: v <= bound)


def at_least(bound: float) -> Expectation:
    return Expectation(f">= {bound:g}", lambda v, h: v >= bound)


def below(bound: float) -> Expectation:
    return Expectation(f"< {bound:g}", lambda v, h: v < bound)


def above(bound: float) -> Expectation:
    return Expectation(f"> {bound:g}", lambda v, h: v > bound)


def between(low: float, high: float) -> Expectation:
    return Expectation(f"in [{low:g}, {high:g}]", lambda v, h: low <= v <= high)


def close_to(target: float, *, abs_tol: float = 0.0, rel_tol: float = 0.0) -> Expectation:
    tol = f"± {abs_tol:g}" if abs_tol else f"± {rel_tol:.0%}"
    return Expectation(f"{target:g} {tol}",
                       lambda v, h: math.isclose(v, target, abs_tol=abs_tol, rel_tol=rel_tol))


def is_true() -> Expectation:
    return Expectation("true", lambda v, h: v is True)


def is_false() -> Expectation:
    return Expectation("false", lambda v, h: v is False)


def satisfies(text: str, holds: Callable[[Any, dict], bool]) -> Expectation:
    """A check in words of its own, e.g. ``satisfies("> 3 x chance", lambda v, h: v > 3 * h["chance"])``."""
    return Expectation(text, holds)


@dataclass(frozen=True)
class Experiment:
    id: str
    section: str
    title: str
    claim: str
    formula: str
    expect: dict[str, Expectation]
    function: Callable = field(repr=False)

    @property
    def section_name(self) -> str:
        return SECTIONS[self.section]


_REGISTRY: dict[str, Experiment] = {}


def experiment(id: str, *, section: str, title: str, claim: str, formula: str = "",
               expect: dict[str, Expectation] | None = None):
    """Register ``f(run) -> headline`` as the tour's experiment ``id``."""
    if section not in SECTIONS:
        raise ValueError(f"experiment {id!r}: unknown section {section!r}; sections are {list(SECTIONS)}")

    def register(function):
        if id in _REGISTRY:
            raise ValueError(f"experiment {id!r} is registered twice")
        _REGISTRY[id] = Experiment(id, section, title, claim, formula, dict(expect or {}), function)
        return function

    return register


def all_experiments() -> list[Experiment]:
    """Every experiment, by section, in the order its chapter defines them."""
    from . import calculus, linear_algebra, probability, stability  # noqa: F401  (they register)

    order = list(SECTIONS)
    return sorted(_REGISTRY.values(), key=lambda e: order.index(e.section))


def select(section: str | None = None, only: list[str] | None = None) -> list[Experiment]:
    """The experiments named by ``--section`` (a number or a name) and ``--only``; clear errors otherwise."""
    chosen = all_experiments()
    if section is not None:
        wanted = section.strip().lower()
        matches = [number for number, name in SECTIONS.items()
                   if wanted in (number, name.lower()) or name.lower().startswith(wanted)]
        if not matches:
            choices = ", ".join(f"{n} ({name})" for n, name in SECTIONS.items())
            raise ValueError(f"unknown section {section!r}; choose one of {choices}")
        chosen = [e for e in chosen if e.section == matches[0]]
    if only:
        known = {e.id for e in all_experiments()}
        unknown = [i for i in only if i not in known]
        if unknown:
            raise ValueError(f"unknown experiment id(s) {unknown}; `dlmath list` shows them all")
        chosen = [e for e in chosen if e.id in only]
    return chosen
