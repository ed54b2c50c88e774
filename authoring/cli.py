"""``python -m authoring``: the course's author and instructor commands, run in a clone.

``python -m authoring release [--check] [--execute [NN ...]] [--root DIR]``
    build the student notebooks from ``notebooks/solutions/``. ``--check`` writes
    nothing and exits with status 1 if anything is out of date; ``--execute`` first
    re-runs the solution notebooks (all, or those numbered NN) so their stored outputs
    are fresh. Outside a clone it exits with status 2 and says so.
``python -m authoring site [--root DIR] [--out DIR] [--no-frames]``
    build the course website (Sphinx, from the solution notebooks' stored outputs) into
    ``site/_build/html``; needs ``pip install -e ".[site]"``. The notebooks that show
    explorers run once in a kernel to draw the pictures their sliders swap on the site;
    ``--no-frames`` skips that (the explorers show their stored picture).

``--root`` names the clone (default: the current folder).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from authoring import release as release_mod


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m authoring", description="Course tools for authors and instructors."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="make student notebooks from the solutions")
    rel.add_argument("--check", action="store_true", help="only report what is out of date")
    rel.add_argument(
        "--execute",
        nargs="*",
        metavar="NN",
        default=None,
        help="re-run the solution notebooks (all, or those numbered NN) before releasing",
    )
    site = sub.add_parser("site", help="build the course website into site/_build/html")
    site.add_argument("--out", default=None, help="HTML folder (default: site/_build/html)")
    site.add_argument(
        "--no-frames", action="store_true", help="explorers as stored pictures (runs nothing)"
    )
    for command in (rel, site):
        command.add_argument("--root", default=".", help="the clone (default: this folder)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "site":
        from authoring import site as site_mod  # needs the [site] extra; imported only here

        try:
            site_mod.build(args.root, args.out, frames=not args.no_frames)
        except (ValueError, RuntimeError, ImportError) as err:
            print(f"python -m authoring site: {err}", file=sys.stderr)
            return 1
        return 0
    root = Path(args.root)
    try:
        release_mod.solutions_folder(root)
    except ValueError as err:
        print(
            f"python -m authoring release: {err}\nRun it in a clone of the course repository, "
            f"or name the clone with --root, e.g. --root path/to/rnncourse.",
            file=sys.stderr,
        )
        return 2
    if args.execute is not None and not args.check:
        for name, seconds in release_mod.execute_solutions(root, args.execute or None).items():
            print(f"executed {name} in {seconds:.1f} s")
    changed = release_mod.release(root, check=args.check)
    names = [str(p.relative_to(root)) for p in changed]
    if args.check:
        if names:
            print("Out of date (run `python -m authoring release`):\n  " + "\n  ".join(names))
            return 1
        print("All notebooks are up to date.")
        return 0
    print("Wrote:\n  " + "\n  ".join(names) if names else "Nothing to do: all up to date.")
    return 0
