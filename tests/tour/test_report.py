"""report.html and results.json: the schema holds, the page is self-contained (every figure
embedded byte for byte, nothing pointing outside the file), its links resolve, failures show.

Checked twice: on the real quick tour (``quick_tour``) and on a report built from a few
hand-made experiments (``fake``), so the report is tested whatever the chapters hold,
including an experiment that fails its check, one that raises and one without a figure.
"""
import base64
import json
import re
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest

import dlmath as dm
from dlmath.tour import run as tour_run
from dlmath.tour.notation import NOTATION, mathematics
from dlmath.tour.registry import Experiment, at_most, close_to, is_true
from dlmath.tour.report import write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ---- a report from hand-made experiments

def _passes(run):
    """Sigmoid of a broadcast sum: a figure, a log, checked and context numbers."""
    x = dm.randn(32, 3, generator=run.generator)
    b = dm.zeros(3, requires_grad=True)
    (x + b).sum().backward()  # the bias gradient sums the 32 rows
    y_hat = dm.sigmoid(x)
    fig, ax = run.figure(1, 2)
    ax[0].plot([1, 2, 3], [1, 4, 9])
    ax[1].hist(x.numpy().ravel(), bins=10)
    run.log("a log block with <angle brackets> & an ampersand")
    return {"grad_rows": b.grad.mean(), "holds": bool((y_hat > 0).all()), "context": [1.5, float("nan")]}


def _fails_check(run):
    fig, ax = run.figure()
    ax.plot([0, 1], [0, 1])
    return {"error_norm": 0.5}


def _raises(run):
    raise ValueError("shapes <3> & <4> differ")


def _learning_rate(optimizer):
    return optimizer.param_groups[0]["lr"]


def _no_figure(run):
    # "sigmoid" in a comment or a string is not a use of the sigmoid
    optimizer = dm.optim.SGD([dm.zeros(2, requires_grad=True)], lr=0.1)
    return {"lr": _learning_rate(optimizer), "note": len("sigmoid")}


FAKE = [
    Experiment("passes", "10.1", "Passes with a figure", "A claim that holds.", "dL/db = sum_i dL/dY[i, :]",
               {"grad_rows": close_to(32.0, rel_tol=1e-12), "holds": is_true()}, _passes),
    Experiment("fails-check", "10.2", "Fails its check", "A claim that does <not> hold.", "e = 0",
               {"error_norm": at_most(1e-6)}, _fails_check),
    Experiment("raises", "10.3", "Raises", "An experiment that raises.", "",
               {"error_norm": at_most(1e-6)}, _raises),
    Experiment("no-figure", "10.4", "No figure", "Numbers only.", "a ⊙ b",
               {"lr": close_to(0.1, abs_tol=1e-12)}, _no_figure),
]


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    out = tmp_path_factory.mktemp("fake-tour")
    results = []
    with tour_run._figure_context(True):
        for experiment in FAKE:
            results.append(tour_run.run_one(experiment, quick=True, seed=0, plots=True, out_dir=out,
                                            progress=lambda iterable, description, total=None: iterable))
    document = tour_run.results_document(results, quick=True, seed=0, seconds=1.5)
    (out / "results.json").write_text(json.dumps(document))
    written = write_report(results, document, out / "report.html")
    assert written == out / "report.html"
    return SimpleNamespace(out=out, document=document, experiments=document["experiments"])


@pytest.fixture(params=["fake", "quick_tour"])
def tour(request):
    return request.getfixturevalue(request.param)


# ---- reading the page

class Page(HTMLParser):
    """Every tag with its attributes, the ids, the <style> text, and which article each <img> is in."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.ids, self.styles, self.images, self.text = [], set(), [], [], []
        self._article, self._in_style = [], False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            assert attrs["id"] not in self.ids, f"duplicate id {attrs['id']!r}"
            self.ids.add(attrs["id"])
        if tag == "article":
            self._article.append(attrs.get("id"))
        if tag == "img":
            self.images.append((self._article[-1] if self._article else None, attrs.get("src", "")))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "article" and self._article:
            self._article.pop()
        self._in_style = False

    def handle_data(self, data):
        (self.styles if self._in_style else self.text).append(data)

    def find(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def _page(tour):
    return Page((tour.out / "report.html").read_text(encoding="utf-8"))


def _schema():
    return json.loads((resources.files("dlmath.tour") / "results.schema.json").read_text())


# ---- results.json

def test_results_json_validates_against_the_schema(tour):
    document = json.loads((tour.out / "results.json").read_text())
    jsonschema.Draft202012Validator.check_schema(_schema())
    jsonschema.validate(document, _schema(), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("break_it", [
    lambda d: d.pop("seed"),
    lambda d: d.update(quick="yes"),
    lambda d: d["experiments"]["passes"].update(section="10.5"),
    lambda d: d["experiments"]["passes"]["headline"].update(text="a string"),
    lambda d: d["experiments"]["passes"].update(figure="/etc/passwd"),
    lambda d: d["experiments"]["passes"].pop("passed"),
    lambda d: d["experiments"]["passes"].update(unknown=1),
])
def test_the_schema_rejects_a_broken_document(fake, break_it):
    document = json.loads(json.dumps(fake.document))
    break_it(document)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, _schema(), cls=jsonschema.Draft202012Validator)


def test_fake_results_hold_what_happened(fake):
    e = fake.experiments
    assert [e[i]["passed"] for i in ("passes", "fails-check", "raises", "no-figure")] == [True, False, False, True]
    assert e["passes"]["headline"]["context"] == [1.5, None]  # NaN becomes null
    assert e["raises"]["error"].startswith("ValueError")
    assert e["no-figure"]["figure"] is None and e["passes"]["figure"] == "figures/passes.png"


# ---- report.html

def test_every_figure_is_embedded_byte_for_byte(tour):
    page = _page(tour)
    with_figure = {i: e["figure"] for i, e in tour.experiments.items() if e["figure"]}
    assert len(page.images) == len(with_figure)
    assert {article for article, _ in page.images} == set(with_figure)
    for article, src in page.images:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix), src[:40]
        data = base64.b64decode(src[len(prefix):], validate=True)
        assert data.startswith(PNG_SIGNATURE)
        assert data == (tour.out / with_figure[article]).read_bytes()


def test_every_experiment_has_its_article_and_toc_link(tour):
    page = _page(tour)
    links = {a["href"] for a in page.find("a") if a.get("href", "").startswith("#")}
    for experiment_id in tour.experiments:
        assert experiment_id in page.ids and f"#{experiment_id}" in links
    assert len(page.find("article")) == len(tour.experiments)


def test_every_internal_link_has_a_target(tour):
    page = _page(tour)
    targets = [a["href"][1:] for a in page.find("a") if "href" in a]
    assert targets and set(targets) <= page.ids


URL_ATTRIBUTES = {"src", "href", "srcset", "action", "formaction", "poster", "data", "background",
                  "xlink:href", "cite", "manifest", "ping"}


def test_nothing_points_outside_the_file(tour):
    page = _page(tour)
    for tag, attrs in page.tags:
        assert tag not in {"script", "link", "iframe", "object", "embed", "base", "video", "audio", "source"}, tag
        for name, value in attrs.items():
            if name in URL_ATTRIBUTES:
                assert (value or "").startswith(("#", "data:")), f"<{tag} {name}={value!r}>"
            assert "url(" not in (value or "").lower(), f"<{tag} {name}=...url(...)>"
        if tag == "meta" and attrs.get("http-equiv", "").lower() == "refresh":
            pytest.fail("a meta refresh navigates away")
    css = "".join(page.styles).lower()
    assert "@import" not in css and "url(" not in css and "@font-face" not in css


def test_the_page_forbids_loading_anything(tour):
    """The Content-Security-Policy makes the promise hold in the browser, whatever is added later."""
    policy = _page(tour).find("meta", **{"http-equiv": "Content-Security-Policy"})
    assert len(policy) == 1
    assert "default-src 'none'" in policy[0]["content"] and "img-src data:" in policy[0]["content"]


def test_header_and_notation(tour):
    page = _page(tour)
    text = " ".join(page.text)
    experiments = tour.experiments.values()
    assert f"{sum(e['passed'] for e in experiments)}/{len(experiments)}" in text
    assert "quick" in text and "seed" in text and dm.__version__ in text
    assert "notation" in page.ids and "#notation" in {a.get("href") for a in page.find("a")}
    table = (tour.out / "report.html").read_text().split('id="notation"')[1]
    assert table.count("<tr>") == len(NOTATION) + 1  # the header row and one per symbol
    for name in ("dm.sigmoid", "optim.SGD", "loss.backward()", "nn.MultiheadAttention", "x.var()"):
        assert name in text


def test_failed_experiments_are_marked(tour):
    page = _page(tour)
    failed = {i for i, e in tour.experiments.items() if not e["passed"]}
    marked = {a["id"] for a in page.find("article") if "failed" in a.get("class", "").split()}
    assert marked == failed
    toc_failed = {a["href"][1:] for a in page.find("a")
                  if a.get("href", "#")[1:] in tour.experiments} & failed
    assert toc_failed == failed


def test_fake_report_shows_each_case(fake):
    html = (fake.out / "report.html").read_text()
    page = Page(html)
    text = " ".join(page.text)
    articles = {a["id"]: a for a in page.find("article")}
    assert set(articles) == {"passes", "fails-check", "raises", "no-figure"}
    # a failing check is a red row with its expectation; the error and traceback are shown, escaped
    assert re.search(r'<tr class="fail"><td>error_norm</td><td class="value">0.5</td><td>&lt;= 1e-06</td>', html)
    assert "ValueError: shapes <3> & <4> differ" in text and "Traceback (most recent call last)" in text
    assert "<3>" not in html and "<not>" not in html and "<angle brackets>" not in html
    assert "A claim that does <not> hold." in text
    assert "2/4" in text
    # the code that ran, highlighted
    assert 'class="highlight"' in html and "def _passes(run):" in "".join(page.text)
    # the notation table links the experiment that uses the sigmoid and the one with a learning rate
    notation = html.split('id="notation"')[1]
    assert 'href="#passes"' in notation and 'href="#no-figure"' in notation
    sigmoid_row = next(row for row in notation.split("<tr>") if "activation" in row)
    assert 'href="#passes"' in sigmoid_row and 'href="#no-figure"' not in sigmoid_row
    # the code that ran includes the module's helpers it calls
    no_figure = html.split('id="no-figure"')[1]
    assert "_learning_rate" in "".join(Page(no_figure).text) and "test_report._no_figure" in text
    # run times and the formula
    assert "dL/db = sum_i dL/dY[i, :]" in text and re.search(r"\d\.\d\d s", text)


def test_notation_searches_only_the_mathematics():
    source = '''@experiment("x", claim="uses the sigmoid")
def f(run):
    """Docstring: sigmoid."""
    y = dm.sigmoid(x)  # a sigmoid
    label = "x.var()"
    ax.plot(a * b)
    return {"lr": 0.1}
'''
    lines = [line.strip() for line in mathematics(source) if line.strip()]
    assert lines[0] == "def f(run):"
    assert "dm.sigmoid(x)" in lines[1] and "a sigmoid" not in lines[1]
    assert not any("var" in line or "ax.plot" in line or "Docstring" in line for line in lines)


def test_a_report_of_nothing_and_of_a_lost_figure(tmp_path, fake):
    document = {**fake.document, "experiments": {}}
    page = Page(write_report([], document, tmp_path / "empty.html").read_text())
    assert "notation" in page.ids and "0/0" in " ".join(page.text)
    # a figure file that went missing: the page is still written, without that image
    result = tour_run.Result(FAKE[0], headline={"grad_rows": 32.0}, checks={"grad_rows": ("32", True)},
                             figure="figures/gone.png")
    page = Page(write_report([result], document, tmp_path / "lost.html").read_text())
    assert page.images == [] and "could not be read" in " ".join(page.text)
