"""The tour's ``report.html``: one self-contained page a person can open offline.

Everything the page needs is inside the file: the figures as base64 ``data:`` URIs, the CSS
(including the code highlighting) in one ``<style>``, no scripts, fonts or links that load
anything. Per experiment it shows the title, the claim, the formula, the figure, the
headline numbers against what the mathematics predicts (failures in red), the run time,
any logs, and the code that ran. A table of contents leads to every experiment by its id;
the last section maps the notes' notation (10.5) to dlmath's names.
"""
from __future__ import annotations

import base64
import html
import inspect
import textwrap
from pathlib import Path

from .notation import NOTATION, appearances
from .registry import SECTIONS
from .terminal import headline_rows

NOTATION_ID = "notation"
MAX_LINKS = 8  # experiments linked from one notation row

# The browser enforces what the page promises: nothing but the page's own styles and data: images.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

CSS = """
:root { --ink: #1d2330; --muted: #5d6677; --line: #e3e6ec; --paper: #fff; --tint: #f6f7f9;
        --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #c0262d; --fail-bg: #ffebe9; --accent: #2f5fb3; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin: 0; color: var(--ink); background: var(--paper); line-height: 1.55; font-size: 16px;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .formula { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
                      font-size: 0.88em; }
.page { display: grid; grid-template-columns: 15rem minmax(0, 58rem); gap: 2.5rem;
        max-width: 78rem; margin: 0 auto; padding: 0 1.5rem 4rem; }
nav.toc { position: sticky; top: 0; align-self: start; max-height: 100vh; overflow-y: auto;
          padding: 1.5rem 0; font-size: 0.9rem; }
nav.toc h2 { font-size: 0.8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 .5rem; }
nav.toc ol { list-style: none; margin: 0; padding: 0; }
nav.toc > ol > li { margin: 0 0 .7rem; }
nav.toc > ol > li > a { font-weight: 600; color: var(--ink); }
nav.toc ol ol li { display: flex; gap: .4rem; align-items: baseline; padding: .1rem 0 .1rem .6rem; }
nav.toc ol ol a { color: var(--muted); }
nav.toc ol ol li.failed a { color: var(--fail); font-weight: 600; }
.dot { flex: none; width: .5rem; height: .5rem; border-radius: 50%; background: var(--pass); }
.failed .dot { background: var(--fail); }
main { min-width: 0; }
header.top { padding: 2rem 0 1rem; border-bottom: 1px solid var(--line); }
header.top h1 { margin: 0 0 .3rem; font-size: 1.9rem; letter-spacing: -.01em; }
.meta { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; color: var(--muted); font-size: .92rem; }
.meta b { color: var(--ink); font-weight: 600; }
.badge { display: inline-block; padding: .05rem .55rem; border-radius: 999px; font-size: .78rem;
         font-weight: 700; letter-spacing: .03em; vertical-align: middle; }
.badge.pass { color: var(--pass); background: var(--pass-bg); }
.badge.fail { color: #fff; background: var(--fail); }
.summary { margin-top: .8rem; font-size: 1.05rem; }
.lede { margin: .2rem 0 .6rem; color: var(--muted); max-width: 46rem; }
h2.section { margin: 2.6rem 0 .2rem; font-size: 1.45rem; padding-bottom: .3rem; border-bottom: 2px solid var(--ink); }
h2.section .num { color: var(--muted); font-weight: 500; margin-right: .5rem; }
article { padding: 1.6rem 0 1.4rem; border-bottom: 1px solid var(--line); }
article.failed { border-left: 4px solid var(--fail); padding-left: 1rem; margin-left: -1.25rem; }
article h3 { margin: 0 0 .35rem; font-size: 1.2rem; display: flex; flex-wrap: wrap; align-items: center; gap: .3rem .7rem; }
article h3 .id { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .78rem; font-weight: 400;
                 color: var(--muted); }
article h3 .time { margin-left: auto; font-size: .82rem; font-weight: 400; color: var(--muted); }
.claim { margin: .2rem 0 .7rem; }
.formula { background: var(--tint); border-left: 3px solid var(--accent); padding: .45rem .8rem;
           white-space: pre-wrap; margin: 0 0 1rem; }
figure { margin: 0 0 1rem; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
.nofig { color: var(--muted); font-style: italic; font-size: .9rem; }
.error { color: var(--fail); background: var(--fail-bg); padding: .5rem .8rem; border-radius: 4px;
         white-space: pre-wrap; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .85rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; margin: .3rem 0 .8rem; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .75rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); font-weight: 600; }
td.value { font-family: ui-monospace, Menlo, Consolas, monospace; font-variant-numeric: tabular-nums; }
tr.fail td { color: var(--fail); background: var(--fail-bg); font-weight: 600; }
tr.context td { color: var(--muted); }
details { margin: .5rem 0; }
summary { cursor: pointer; color: var(--muted); font-size: .9rem; }
pre { background: var(--tint); padding: .7rem .9rem; overflow-x: auto; border-radius: 4px; line-height: 1.4; margin: .4rem 0; }
.highlight { background: var(--tint); }
pre.log { max-height: 26rem; overflow: auto; }  /* a long log scrolls in place */
td.symbol { font-family: "STIX Two Math", "Cambria Math", "Times New Roman", serif; font-size: 1.15rem; white-space: nowrap; }
td.names code { display: inline-block; background: var(--tint); border: 1px solid var(--line); border-radius: 3px;
                padding: 0 .3rem; margin: 0 .25rem .25rem 0; font-size: .8rem; }
table.notation td:nth-child(2) { min-width: 10rem; }
.where a, .where span { display: inline-block; margin-right: .6rem; font-size: .85rem; }
.where span { color: var(--muted); }
nav.toc .count { color: var(--muted); font-size: .8rem; }
nav.toc .count.bad { color: var(--fail); font-weight: 700; }
@media (max-width: 900px) { .page { display: block; } nav.toc { position: static; max-height: none; } }
@media print { nav.toc { display: none; } .page { display: block; } }
"""


def write_report(results, document: dict, path) -> Path:
    """Write the report for ``results`` (the runner's list of ``Result``) to ``path``; return the path."""
    path = Path(path)
    out_dir = path.parent
    style = _code_css() + CSS  # ours last, so it wins where both style the same element
    passed = sum(r.passed for r in results)
    by_section = {number: [r for r in results if r.experiment.section == number] for number in SECTIONS}
    sources = {r.experiment.id: code_that_ran(r.experiment.function) for r in results}
    main = [_header(document, passed, len(results))]
    for number, name in SECTIONS.items():
        if by_section[number]:
            main.append(f'<h2 class="section" id="section-{number}"><span class="num">{number}</span>'
                        f"{_e(name)}</h2>")
            main.extend(_experiment(r, out_dir, sources[r.experiment.id]) for r in by_section[number])
    main.append(_notation(results, sources))
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>dlmath tour — {passed}/{len(results)} claims hold</title>
<style>{style}</style>
</head>
<body>
<div class="page">
{_toc(by_section)}
<main>
{chr(10).join(main)}
</main>
</div>
</body>
</html>
"""
    path.write_text(page, encoding="utf-8")
    return path


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _badge(ok: bool) -> str:
    return '<span class="badge pass">PASS</span>' if ok else '<span class="badge fail">FAIL</span>'


def _header(document: dict, passed: int, total: int) -> str:
    mode = "quick" if document.get("quick") else "full"
    verdict = ("no experiment ran" if total == 0 else "every claim holds" if passed == total
               else f"{total - passed} failed")
    return f"""<header class="top">
<h1>The dlmath tour</h1>
<p class="lede">The mathematics of deep learning, run: each concept of the notes as a small
experiment with a figure, and its headline numbers checked against what the mathematics predicts.</p>
<div class="meta"><span>dlmath <b>{_e(document.get("dlmath_version", "?"))}</b></span>
<span><b>{mode}</b> run</span><span>seed <b>{_e(document.get("seed"))}</b></span>
<span><b>{float(document.get("seconds", 0)):.1f} s</b> in all</span></div>
<p class="summary">{_badge(passed == total)} <b>{passed}/{total}</b> claims passed — {verdict}.</p>
</header>"""


def _toc(by_section: dict) -> str:
    items = []
    for number, name in SECTIONS.items():
        entries = "".join(
            f'<li class="{"passed" if r.passed else "failed"}"><span class="dot"></span>'
            f'<a href="#{_e(r.experiment.id)}">{_e(r.experiment.title)}</a></li>'
            for r in by_section[number])
        if entries:
            held = sum(r.passed for r in by_section[number])
            bad = " bad" if held < len(by_section[number]) else ""
            count = f'<span class="count{bad}">{held}/{len(by_section[number])}</span>'
            items.append(f'<li><a href="#section-{number}">{number} {_e(name)}</a> {count}<ol>{entries}</ol></li>')
    items.append(f'<li><a href="#{NOTATION_ID}">10.5 Notation</a></li>')
    return f'<nav class="toc"><h2>Contents</h2><ol>{"".join(items)}</ol></nav>'


def _experiment(result, out_dir: Path, source: str) -> str:
    ex = result.experiment
    parts = [f'<article id="{_e(ex.id)}" class="{"passed" if result.passed else "failed"}">',
             f'<h3>{_e(ex.title)} {_badge(result.passed)}<span class="id">{_e(ex.id)}</span>'
             f'<span class="time">{result.seconds:.2f} s</span></h3>',
             f'<p class="claim">{_e(ex.claim)}</p>']
    if ex.formula:
        parts.append(f'<div class="formula">{_e(ex.formula)}</div>')
    if result.error:
        parts.append(f'<div class="error">{_e(result.error)}</div>')
    parts.append(_figure(result, out_dir))
    parts.append(_headline_table(result))
    for i, text in enumerate(result.logs):
        label = "traceback" if text.startswith("Traceback") else f"log {i + 1}" if len(result.logs) > 1 else "log"
        lines = text.count("\n") + 1
        parts.append(f"<details open><summary>{label} ({lines} line{'s' * (lines != 1)})</summary>"
                     f'<pre class="log">{_e(text)}</pre></details>')
    where = f"{ex.function.__module__}.{ex.function.__name__}"
    parts.append(f"<details><summary>the code that ran <code>{_e(where)}</code></summary>{_code(source)}</details>")
    parts.append("</article>")
    return "\n".join(parts)


def _figure(result, out_dir: Path) -> str:
    if not result.figure:
        return '<p class="nofig">(no figure)</p>'
    try:
        data = base64.b64encode((out_dir / result.figure).read_bytes()).decode("ascii")
    except OSError as exc:  # a figure gone from the disk costs the report that figure, not the page
        return f'<p class="nofig">(figure {_e(result.figure)} could not be read: {_e(exc.strerror)})</p>'
    alt = f"figure: {result.experiment.title}"
    return f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}"></figure>'


def _headline_table(result) -> str:
    rows = []
    for key, value, expected, mark in headline_rows(result):
        kind = {"PASS": "pass", "FAIL": "fail"}.get(mark, "context")
        cell = _badge(mark == "PASS") if mark else ""
        rows.append(f'<tr class="{kind}"><td>{_e(key)}</td><td class="value">{_e(value)}</td>'
                    f"<td>{_e(expected)}</td><td>{cell}</td></tr>")
    if not rows:
        return ""
    return ("<table><thead><tr><th>headline</th><th>value</th><th>expected</th><th></th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _source(function) -> str:
    try:
        return textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return f"# the source of {getattr(function, '__name__', function)!r} is not available"


def _helpers(function) -> list:
    """The functions of ``function``'s own module that it names (a chapter's private training loop, say)."""
    names, codes = {}, [function.__code__]
    while codes:  # nested functions and comprehensions have code objects of their own
        code = codes.pop(0)
        names.update(dict.fromkeys(code.co_names))
        codes += [c for c in code.co_consts if inspect.iscode(c)]
    found = (function.__globals__.get(name) for name in names)
    return [f for f in found if inspect.isfunction(f) and f.__module__ == function.__module__]


def code_that_ran(function) -> str:
    """The experiment's source, then the source of every helper of its module it calls, transitively."""
    ran, todo = [], [function]
    while todo:
        f = todo.pop(0)
        if f not in ran:
            ran.append(f)
            todo += _helpers(f)
    return "\n\n".join(_source(f) for f in ran)


def _code(source: str) -> str:
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:  # the tour extra brings pygments; plain text without it
        return f"<pre>{_e(source)}</pre>"
    return highlight(source, PythonLexer(), HtmlFormatter(cssclass="highlight"))


def _code_css() -> str:
    try:
        from pygments.formatters import HtmlFormatter
    except ImportError:
        return ""
    return HtmlFormatter(style="friendly").get_style_defs(".highlight")


def _symbol(parts) -> str:
    """``[("x", "b"), ...]`` as HTML: each part's text escaped, in <i>, <b> or <sub> as its style says."""
    return "".join(f"<{s}>{_e(t)}</{s}>" if s in ("i", "b", "sub") else _e(t) for t, s in parts)


def _notation(results, sources: dict) -> str:
    titles = {r.experiment.id: r.experiment.title for r in results}
    rows = []
    for n in NOTATION:
        names = " ".join(f"<code>{_e(name)}</code>" for name in n.dlmath)
        found = appearances(n, sources)
        where = "".join(f'<a href="#{_e(i)}" title="{_e(titles[i])}">{_e(i)}</a>' for i in found[:MAX_LINKS])
        if len(found) > MAX_LINKS:
            where += f"<span>and {len(found) - MAX_LINKS} more</span>"
        if not n.finds:
            where = "every experiment"
        rows.append(f'<tr><td class="symbol">{_symbol(n.symbol)}</td><td>{_e(n.meaning)}</td>'
                    f'<td class="names">{names}</td><td class="where">{where or "—"}</td></tr>')
    return f"""<h2 class="section" id="{NOTATION_ID}"><span class="num">10.5</span>Notation</h2>
<p>The notes' symbols, what they mean, and what to type in dlmath. The last column links the
experiments whose code uses them.</p>
<table class="notation"><thead><tr><th>notes</th><th>meaning</th><th>dlmath</th><th>in the tour</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>"""
