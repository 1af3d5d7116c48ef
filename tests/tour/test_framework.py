"""The tour's framework: expectations, selection, the runner's bookkeeping, the command line."""
import io
import json
import math

import pytest

import dlmath as dm
from dlmath.__main__ import main
from dlmath.tour import registry
from dlmath.tour.registry import (Experiment, above, at_least, at_most, below, between, close_to,
                                  is_false, is_true, satisfies)
from dlmath.tour.run import plain, run_tour
from dlmath.tour.terminal import Console


# ---------------------------------------------------------------- expectations
@pytest.mark.parametrize("expectation, good, bad", [
    (at_most(1e-6), 1e-7, 1e-5),
    (at_least(0.9), 0.9, 0.89),
    (below(3), 2.9, 3),
    (above(3), 3.1, 3),
    (between(1, 2), 1.5, 2.5),
    (close_to(1.0, abs_tol=0.1), 1.05, 1.2),
    (close_to(100.0, rel_tol=0.1), 95.0, 80.0),
    (is_true(), True, 1),  # 1 is not True: a number must not pass a boolean claim
    (is_false(), False, 0),
])
def test_expectations_pass_and_fail(expectation, good, bad):
    assert expectation.check(good, {})
    assert not expectation.check(bad, {})


def test_nan_passes_no_numeric_expectation():
    for expectation in (at_most(1.0), at_least(0.0), between(0, 1), close_to(0, abs_tol=1)):
        assert not expectation.check(math.nan, {})


def test_satisfies_sees_the_whole_headline_and_errors_count_as_failure():
    chance = satisfies("> 3 x chance", lambda v, h: v > 3 * h["chance"])
    assert chance.check(0.9, {"chance": 0.1})
    assert not chance.check(0.2, {"chance": 0.1})
    assert not chance.check(0.9, {})  # a missing key fails the check instead of crashing the tour


def test_expectation_texts_are_readable():
    assert at_most(1e-6).text == "<= 1e-06"
    assert between(0.5, 2).text == "in [0.5, 2]"
    assert close_to(1.0, rel_tol=0.05).text == "1 ± 5%"


def test_plain_makes_json_values():
    assert plain(dm.tensor(2.5)) == 2.5
    assert plain(dm.tensor([1.0, 2.0])) == [1.0, 2.0]
    assert plain(True) is True and plain(3) == 3
    assert plain(float("inf")) is None and plain([1.0, float("nan")]) == [1.0, None]


# ---------------------------------------------------------------- selection
def test_select_by_section_number_and_name():
    every = registry.all_experiments()
    by_number = registry.select("10.2")
    assert by_number and all(e.section == "10.2" for e in by_number)
    assert [e.id for e in registry.select("calculus")] == [e.id for e in by_number]
    sections = [e.section for e in every]
    assert sections == sorted(sections)  # the tour runs chapter by chapter


def test_select_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown section 'topology'"):
        registry.select("topology")
    with pytest.raises(ValueError, match="no-such-experiment"):
        registry.select(only=["no-such-experiment"])


def test_registering_a_duplicate_or_an_unknown_section_fails():
    with pytest.raises(ValueError, match="unknown section"):
        registry.experiment("x", section="11.0", title="t", claim="c")
    taken = registry.all_experiments()[0].id
    with pytest.raises(ValueError, match="registered twice"):
        registry.experiment(taken, section="10.1", title="t", claim="c")(lambda run: {})


# ---------------------------------------------------------------- the runner
def _fake(id, function, expect):
    return Experiment(id, "10.1", f"title of {id}", "a claim", "y = x", expect, function)


def test_runner_records_passes_failures_and_exceptions(tmp_path):
    def good(run):
        assert run.quick and run.size(100, 10) == 10
        fig, axes = run.figure(1, 2)  # stand-ins under plots=False
        axes[0].plot([1, 2], [3, 4])
        total = sum(run.progress(range(5), "counting"))
        run.log("a note")
        return {"total": total, "x": dm.tensor(0.5)}

    def wrong(run):
        return {"total": 11}

    def broken(run):
        raise RuntimeError("boom")

    def missing(run):
        return {"other": 1}

    experiments = [_fake("good", good, {"total": close_to(10, abs_tol=0)}),
                   _fake("wrong", wrong, {"total": close_to(10, abs_tol=0)}),
                   _fake("broken", broken, {"total": at_most(1)}),
                   _fake("missing", missing, {"total": at_most(1)})]
    out = io.StringIO()
    document = run_tour(experiments, quick=True, seed=3, plots=False, out_dir=tmp_path,
                        console=Console(out, plain=True))
    results = document["experiments"]
    assert results["good"]["passed"] and results["good"]["headline"] == {"total": 10, "x": 0.5}
    assert not results["wrong"]["passed"] and "error" not in results["wrong"]
    assert not results["broken"]["passed"] and "boom" in results["broken"]["error"]
    assert "missing" in results["missing"]["error"]
    assert document["seed"] == 3 and document["quick"] is True
    assert json.loads((tmp_path / "results.json").read_text()) == document
    text = out.getvalue()
    assert "1/4 claims passed" in text and "failed: wrong, broken, missing" in text
    assert "\x1b[" not in text  # plain output carries no colour codes


def test_every_experiment_is_seeded_the_same_way(tmp_path):
    draws = []

    def draw(run):
        draws.append((dm.rand(3, generator=run.generator).tolist(), dm.rand(2).tolist()))
        return {}

    experiments = [_fake("a", draw, {}), _fake("b", draw, {})]
    run_tour(experiments, plots=False, out_dir=tmp_path, seed=7, console=Console(io.StringIO(), plain=True))
    assert draws[0] == draws[1]


def test_a_second_figure_is_refused(tmp_path):
    def greedy(run):
        run.figure()
        run.figure()
        return {}

    document = run_tour([_fake("greedy", greedy, {})], plots=False, out_dir=tmp_path,
                        console=Console(io.StringIO(), plain=True))
    assert "one idea per figure" in document["experiments"]["greedy"]["error"]


# ---------------------------------------------------------------- the command line
def test_list_names_every_experiment(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    for experiment in registry.all_experiments():
        assert experiment.id in text


def test_unknown_section_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["tour", "--section", "topology", "--no-plots"])
    assert exit_info.value.code == 2
    assert "unknown section 'topology'" in capsys.readouterr().err


def test_quick_tour_passes_every_claim(quick_tour):
    failed = {i: e.get("error") or e["headline"] for i, e in quick_tour.experiments.items() if not e["passed"]}
    assert failed == {}
    assert quick_tour.status == 0
    assert "claims passed" in quick_tour.output and "report.html" in quick_tour.output


def test_quick_tour_wrote_a_figure_per_experiment(quick_tour):
    for id, entry in quick_tour.experiments.items():
        assert entry["figure"] == f"figures/{id}.png"
        assert (quick_tour.out / entry["figure"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
