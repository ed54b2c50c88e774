"""``python -m authoring``: the course's author and instructor commands, run in a clone.

``python -m authoring release [--check] [--execute [NN ...]] [--root DIR]``
    build the student notebooks from ``notebooks/solutions/``. ``--check`` writes
    nothing and exits with status 1 if anything is out of date; ``--execute`` first
    re-runs the solution notebooks (all, or those numbered NN) so their stored outputs
    are fresh. Outside a clone it exits with status 2 and says so.
``python -m authoring release --nbgrader COURSE [--pin REF] [--check]``
    instead of ``notebooks/``, write the nbgrader course's source tree,
    ``COURSE/source/NN_topic/NN_topic.ipynb``, whose badges and Colab set-up cell follow
    the student copies at REF (a tag, branch or commit; a version 0.1.0 means the tag
    v0.1.0; default: v and the package's version), and the settings the course needs in
    ``COURSE/nbgrader_config.py`` (:mod:`authoring.assignments`).
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

from authoring import assignments
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
    rel.add_argument(
        "--nbgrader",
        metavar="COURSE",
        default=None,
        help="write the nbgrader source tree of every notebook into this course folder",
    )
    rel.add_argument(
        "--pin",
        metavar="REF",
        default=None,
        help="with --nbgrader: the tag, branch or commit students install (default: v<version>)",
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
    if args.pin is not None and args.nbgrader is None:
        print("python -m authoring release: --pin goes with --nbgrader COURSE.", file=sys.stderr)
        return 2
    if args.execute is not None and not args.check:
        for name, seconds in release_mod.execute_solutions(root, args.execute or None).items():
            print(f"executed {name} in {seconds:.1f} s")
    if args.nbgrader is not None:
        return _nbgrader(root, Path(args.nbgrader), args.pin, args.check)
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


def _nbgrader(root: Path, course: Path, pin: str | None, check: bool) -> int:
    """``release --nbgrader COURSE``: the source tree, then what to look at before a term."""
    try:
        ref = assignments.pin_ref(root, pin)
        changed = assignments.nbgrader_source(root, course, pin=pin, check=check)
    except ValueError as err:
        print(f"python -m authoring release: {err}", file=sys.stderr)
        return 2
    names = [str(p) for p in changed]
    if check:
        if names:
            print("Out of date (run without --check):\n  " + "\n  ".join(names))
            return 1
        print(f"The nbgrader course {course} is up to date (pinned to {ref}).")
        return 0
    print(f"Wrote (pinned to {ref}):\n  " + "\n  ".join(names) if names else "Nothing to do.")
    notes = [p for path in sorted(release_mod.solutions_folder(root).glob("[0-9][0-9]_*.ipynb"))
             for p in assignments.grade_id_problems(path)]  # fmt: skip
    if assignments.ref_exists(root, ref) is False:
        notes.append(
            f"{ref} is no tag, branch or commit of this clone yet: create and push it "
            f"(git tag {ref} && git push origin {ref}) before students open the notebooks."
        )
    notes += [f"{p}: holds answers; delete it" for p in assignments.stray_progress_files(course)]
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"Next, in {course}: nbgrader generate_assignment NN_topic (one per notebook).")
    return 0
