"""The ``rnncourse`` command.

``rnncourse start [DIR] [--no-browser] [--copy-only] [-- JUPYTER_ARGS ...]``
    copy the course notebooks into DIR (default ``./rnncourse-workspace``) and open
    JupyterLab there; a notebook you changed is never overwritten. Arguments after
    ``--`` go to ``jupyter lab`` as they are (``rnncourse start -- --port=8889``); as
    root, ``--allow-root`` is added with a message.
``rnncourse release [--check] [--execute [NN ...]] [--root DIR]``
    build the student notebooks from ``notebooks/solutions/`` (for course authors);
    run it in a clone of the course repository, or name that clone with ``--root``
    (default: the current folder); without ``notebooks/solutions/`` there it exits
    with status 2 and says so. ``--check`` writes nothing and exits with status 1 if
    anything is out of date; ``--execute`` first re-runs the solution notebooks (all,
    or those numbered NN) so their stored outputs are fresh.
``rnncourse site [--root DIR] [--out DIR]``
    build the course website (Sphinx, from the solution notebooks' stored outputs) into
    ``site/_build/html`` (for course authors; needs ``pip install -e ".[site]"``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import release as release_mod
from . import workspace


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnncourse", description="The rnncourse course tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser(
        "start",
        help="copy the notebooks into a folder and open JupyterLab",
        usage="rnncourse start [-h] [--no-browser] [--copy-only] [dir] [-- JUPYTER_ARGS ...]",
        epilog="Arguments after -- go to jupyter lab as they are, e.g. "
        "rnncourse start -- --port=8889. As root, --allow-root is added for you.",
    )
    start.add_argument("dir", nargs="?", default=workspace.DEFAULT_DIR, help="workspace folder")
    start.add_argument("--no-browser", action="store_true", help="do not open a browser")
    start.add_argument("--copy-only", action="store_true", help="copy, do not start JupyterLab")
    rel = sub.add_parser("release", help="make student notebooks from the solutions")
    rel.add_argument("--check", action="store_true", help="only report what is out of date")
    rel.add_argument(
        "--root",
        default=".",
        help="root of a clone of the course repository (default: the current folder)",
    )
    rel.add_argument(
        "--execute",
        nargs="*",
        metavar="NN",
        default=None,
        help="re-run the solution notebooks (all, or those numbered NN) before releasing",
    )
    site = sub.add_parser("site", help="build the course website into site/_build/html")
    site.add_argument("--root", default=".", help="root of a clone of the course repository")
    site.add_argument("--out", default=None, help="HTML folder (default: site/_build/html)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)  # the rest is for jupyter lab
    argv, passed_on = argv[:cut], argv[cut + 1 :]
    args = _parser().parse_args(argv)
    if passed_on and args.command != "start":
        _parser().error("arguments after -- are only for `rnncourse start` (for jupyter lab)")
    if args.command == "start":
        return workspace.start(
            args.dir,
            browser=not args.no_browser,
            launch=not args.copy_only,
            jupyter_args=passed_on,
        )
    if args.command == "site":
        from . import site as site_mod  # needs the [site] extra; imported only here

        try:
            site_mod.build(args.root, args.out)
        except (ValueError, RuntimeError, ImportError) as err:
            print(f"rnncourse site: {err}", file=sys.stderr)
            return 1
        return 0
    root = Path(args.root)
    try:
        release_mod.solutions_folder(root)
    except ValueError as err:
        print(
            f"rnncourse release: {err}\nRun it from a clone of the course repository, or pass "
            f"the clone's folder with --root, e.g. rnncourse release --root path/to/rnncourse.",
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
            print("Out of date (run `rnncourse release`):\n  " + "\n  ".join(names))
            return 1
        print("All notebooks are up to date.")
        return 0
    print("Wrote:\n  " + "\n  ".join(names) if names else "Nothing to do: all up to date.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
