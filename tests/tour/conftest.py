"""The quick tour runs once per test session, through the real command line; the tour's
tests read its exit status, its output, results.json, the figures and report.html.

``DLMATH_TOUR_SECTION=10.1`` (say) restricts that run to one chapter while working on it.
"""
import contextlib
import io
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from dlmath.__main__ import main


@pytest.fixture(scope="session")
def quick_tour(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour")
    argv = ["tour", "--quick", "--out", str(out)]
    section = os.environ.get("DLMATH_TOUR_SECTION")
    if section:
        argv += ["--section", section]
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        status = main(argv)
    document = json.loads((out / "results.json").read_text())
    return SimpleNamespace(status=status, out=Path(out), output=text.getvalue(), document=document,
                           experiments=document["experiments"])


@pytest.fixture
def headline(quick_tour):
    """``headline("dot-similarity")`` is that experiment's headline from the quick tour
    (the test skips when a DLMATH_TOUR_SECTION run left the experiment out)."""

    def get(experiment_id):
        entry = quick_tour.experiments.get(experiment_id)
        if entry is None:
            pytest.skip(f"{experiment_id} was not in this run (DLMATH_TOUR_SECTION)")
        assert "error" not in entry, entry["error"]
        return entry["headline"]

    return get


@pytest.fixture
def chapter_passed(quick_tour):
    """``chapter_passed(section, ids)`` checks a whole chapter of the quick tour (see below)."""
    return lambda section, chapter: assert_chapter_passed(quick_tour, section, chapter)


def assert_chapter_passed(quick_tour, section, chapter):
    """Every experiment of ``chapter`` (ids, in running order) ran in ``section``, passed, and drew
    a real figure (skips when a DLMATH_TOUR_SECTION run left the chapter out)."""
    ran = [i for i in chapter if i in quick_tour.experiments]
    if not ran:
        pytest.skip(f"chapter {section} was not in this run (DLMATH_TOUR_SECTION)")
    assert ran == chapter
    for experiment_id in ran:
        entry = quick_tour.experiments[experiment_id]
        assert entry["section"] == section
        assert entry["passed"], (experiment_id, entry)
        assert entry["figure"] == f"figures/{experiment_id}.png"
        assert (quick_tour.out / entry["figure"]).stat().st_size > 10_000
