"""The ``dlmath`` command: ``dlmath tour`` runs the notes' mathematics as checked experiments,
``dlmath list`` names them. ``python -m dlmath ...`` is the same command."""
from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlmath", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    tour = commands.add_parser("tour", help="run the experiments, write figures, results.json and report.html")
    tour.add_argument("--section", help="one chapter: 10.1, 10.2, 10.3, 10.4 or its name (e.g. calculus)")
    tour.add_argument("--only", help="comma-separated experiment ids (see `dlmath list`)")
    tour.add_argument("--quick", action="store_true", help="smaller sizes and fewer steps: under a minute")
    tour.add_argument("--out", default="dlmath-tour", help="output directory (default ./dlmath-tour)")
    tour.add_argument("--no-plots", action="store_true", help="skip figures and report.html")
    tour.add_argument("--seed", type=int, default=0, help="seed for every experiment (default 0)")
    commands.add_parser("list", help="print every experiment's id, section and claim")
    return parser


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from dlmath import tour

    if args.command == "list":
        for experiment in tour.all_experiments():
            print(f"{experiment.id:<22} {experiment.section}  {experiment.claim}")
        return 0
    only = [i.strip() for i in args.only.split(",") if i.strip()] if args.only else None
    try:
        experiments = tour.select(args.section, only)
    except ValueError as exc:
        parser.error(str(exc))
    document = tour.run_tour(experiments, quick=args.quick, seed=args.seed, plots=not args.no_plots,
                             out_dir=args.out)
    return 0 if all(e["passed"] for e in document["experiments"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
