"""The ``rnncourse`` command: ``rnncourse start [DIR]`` copies the course notebooks into
DIR and opens JupyterLab there (``--help`` for more); ``rnncourse --version``."""

import argparse
import sys

from . import __version__, workspace


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnncourse",
        description="The rnncourse course tools.",
        epilog="Course authors and instructors: python -m authoring, in a clone.",
    )
    parser.add_argument("--version", action="version", version=f"rnncourse {__version__}")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args, jupyter_args = _parser().parse_args(argv[:cut]), argv[cut + 1 :]
    return workspace.start(
        args.dir, browser=not args.no_browser, launch=not args.copy_only, jupyter_args=jupyter_args
    )


if __name__ == "__main__":
    raise SystemExit(main())
