"""The tour in the terminal: a heading per section, a table of headline numbers per
experiment with its expectation and a pass/fail mark, progress bars while something
trains or sweeps, and a summary. Uses rich when it is installed; plain text otherwise
(and rich itself drops colour when the output is not a terminal).
"""
from __future__ import annotations

import sys


def _format(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:d}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    return str(value)


def headline_rows(result):
    """(key, value, expected, mark) for every headline number, checked ones first."""
    rows = []
    for key, (expected, ok) in result.checks.items():
        rows.append((key, _format(result.headline.get(key)), expected, "PASS" if ok else "FAIL"))
    for key, value in result.headline.items():
        if key not in result.checks:
            rows.append((key, _format(value), "", ""))
    return rows


class Console:
    """Prints the tour as it runs; ``file`` defaults to standard output."""

    def __init__(self, file=None, *, plain: bool | None = None):
        self.file = file or sys.stdout
        try:
            import rich.console
        except ImportError:
            plain = True
        self.rich = None
        if not plain:
            self.rich = rich.console.Console(file=self.file, highlight=False)
            if not self.rich.is_terminal:
                # a log file or a pipe has no width to respect: don't cut headline keys short
                self.rich = rich.console.Console(file=self.file, highlight=False, width=132)

    # ---- sections and experiments
    def section(self, number: str, name: str) -> None:
        if self.rich:
            self.rich.rule(f"[bold]{number}  {name}")
        else:
            print(f"\n== {number}  {name} ==", file=self.file)

    def start(self, experiment) -> None:
        if self.rich:
            self.rich.print(f"[bold cyan]{experiment.id}[/]  {experiment.title}")
        else:
            print(f"\n{experiment.id}  {experiment.title}", file=self.file)

    def finish(self, result) -> None:
        mark = "PASS" if result.passed else "FAIL"
        rows = headline_rows(result)
        if self.rich:
            from rich.table import Table

            table = Table(box=None, padding=(0, 2), show_header=True, header_style="dim")
            for column in ("headline", "value", "expected", ""):
                table.add_column(column, overflow="fold")
            for key, value, expected, ok in rows:
                style = {"PASS": "green", "FAIL": "bold red"}.get(ok, "")
                table.add_row(key, value, expected, f"[{style}]{ok}[/]" if style else ok)
            self.rich.print(table)
            colour = "green" if result.passed else "bold red"
            self.rich.print(f"  [{colour}]{mark}[/]  [dim]{result.seconds:.1f} s[/]")
            if result.error:
                self.rich.print(f"  [red]{result.error}[/]")
        else:
            width = max([len(r[0]) for r in rows] + [8])
            for key, value, expected, ok in rows:
                print(f"  {key:<{width}}  {value:>12}  {expected:<18} {ok}".rstrip(), file=self.file)
            print(f"  {mark}  {result.seconds:.1f} s", file=self.file)
            if result.error:
                print(f"  {result.error}", file=self.file)

    # ---- progress
    def progress(self, iterable, description: str, total: int | None = None):
        if total is None:
            try:
                total = len(iterable)
            except TypeError:
                total = None
        if self.rich is None or not self.rich.is_terminal:
            yield from iterable
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("  {task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TimeElapsedColumn())
        with Progress(*columns, console=self.rich, transient=True) as bar:
            task = bar.add_task(description, total=total)
            for item in iterable:
                yield item
                bar.advance(task)

    # ---- the end
    def summary(self, results, seconds: float, out_dir, report) -> None:
        failed = [r.experiment.id for r in results if not r.passed]
        line = f"{len(results) - len(failed)}/{len(results)} claims passed in {seconds:.1f} s"
        where = f"report: {report}" if report else f"results: {out_dir / 'results.json'}"
        if self.rich:
            self.rich.rule()
            colour = "green" if not failed else "bold red"
            self.rich.print(f"[{colour}]{line}[/]")
            if failed:
                self.rich.print(f"[red]failed: {', '.join(failed)}[/]")
            self.rich.print(where)
        else:
            print(f"\n{line}", file=self.file)
            if failed:
                print(f"failed: {', '.join(failed)}", file=self.file)
            print(where, file=self.file)
