"""report.html in a real browser: headless Chromium opens a copy of the page with a small
checking script in it and writes a verdict into the DOM, which ``--dump-dom`` prints.

The verdict says whether every <img> decoded (naturalWidth > 0), whether every ``#...``
link has a target, and whether the page asked for anything outside itself: resource
timing entries, Content-Security-Policy violations (the page forbids every load but its
own data: images), stylesheets or scripts from a file. Without a browser the test skips,
unless ``DLMATH_REQUIRE_BROWSER=1`` (CI), when it fails.
"""
import html as html_module
import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest


def _test_report():
    # The hand-made experiments and their `fake` report live in test_report.py; under
    # --import-mode=importlib test modules do not import each other, so load it by path.
    spec = importlib.util.spec_from_file_location("tour_test_report", Path(__file__).with_name("test_report.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fake = _test_report().fake  # the fixture, used here as in test_report.py

BROWSERS = ["chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"]

# Runs first in <head>, before the page's Content-Security-Policy applies, so it may run and
# can hear every violation; the verdict is taken just after the load event.
CHECK = """<script>
(function () {
  var violations = [];
  document.addEventListener('securitypolicyviolation', function (e) {
    violations.push(e.violatedDirective + ' ' + e.blockedURI);
  });
  addEventListener('load', function () { setTimeout(function () {
    var images = Array.prototype.map.call(document.images, function (img) {
      return {alt: img.alt, complete: img.complete, width: img.naturalWidth};
    });
    var links = Array.prototype.map.call(document.querySelectorAll('a[href]'), function (a) {
      return a.getAttribute('href');
    });
    var verdict = {
      images: images,
      links: links.length,
      dangling: links.filter(function (h) { return h[0] !== '#' || !document.getElementById(h.slice(1)); }),
      resources: performance.getEntriesByType('resource').map(function (r) { return r.name; }),
      violations: violations,
      external: Array.prototype.map.call(document.querySelectorAll('link[href], script[src], iframe, object, embed'),
                                         function (el) { return el.outerHTML.slice(0, 120); }),
      sheets: Array.prototype.filter.call(document.styleSheets, function (s) { return s.href; }).length
    };
    var pre = document.createElement('pre');
    pre.id = 'verdict';
    pre.textContent = JSON.stringify(verdict);
    document.body.appendChild(pre);
  }, 50); });
})();
</script>"""


@pytest.fixture(scope="module")
def browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    reason = f"no headless browser on PATH (looked for {', '.join(BROWSERS)})"
    if os.environ.get("DLMATH_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " and DLMATH_REQUIRE_BROWSER=1")
    pytest.skip(reason)


def verdict(browser, html: str, tmp_path) -> dict:
    """Open ``html`` (with the checking script put first in <head>) and return the verdict."""
    page = tmp_path / "page.html"
    page.write_text(html.replace("<head>", "<head>\n" + CHECK, 1), encoding="utf-8")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
               "--disable-default-apps", f"--user-data-dir={tmp_path / 'profile'}",
               "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="verdict">(.*?)</pre>', done.stdout, re.S)
    assert found, f"no verdict from {browser} (exit {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(html_module.unescape(found.group(1)))


def assert_self_contained(result: dict, figures: int):
    assert len(result["images"]) == figures
    broken = [image["alt"] for image in result["images"] if not (image["complete"] and image["width"] > 0)]
    assert not broken, f"images that did not decode: {broken}"
    assert result["links"] > 0 and not result["dangling"], result["dangling"]
    assert result["resources"] == [] and result["violations"] == [], (result["resources"], result["violations"])
    assert result["external"] == [] and result["sheets"] == 0


def test_fake_report_in_the_browser(browser, fake, tmp_path):
    result = verdict(browser, (fake.out / "report.html").read_text(encoding="utf-8"), tmp_path)
    assert_self_contained(result, sum(1 for e in fake.experiments.values() if e["figure"]))


def test_tour_report_in_the_browser(browser, quick_tour, tmp_path):
    result = verdict(browser, (quick_tour.out / "report.html").read_text(encoding="utf-8"), tmp_path)
    assert_self_contained(result, sum(1 for e in quick_tour.experiments.values() if e["figure"]))


def test_the_check_sees_broken_pages(browser, tmp_path):
    """The verdict is not vacuous: a broken image, a dangling link and a stylesheet from a file
    (which the page's policy blocks) are all caught. Nothing here goes near the network."""
    (tmp_path / "style.css").write_text("body { color: red }")
    broken = """<!DOCTYPE html><html><head>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<link rel="stylesheet" href="style.css"></head><body>
<img alt="broken" src="data:image/png;base64,AAAA"><a href="#nowhere">nowhere</a></body></html>"""
    result = verdict(browser, broken, tmp_path)
    assert [image["width"] for image in result["images"]] == [0]
    assert result["dangling"] == ["#nowhere"]
    assert result["violations"] and result["external"]
