#!/usr/bin/env bash
# The grading and website environment, and its tests. Builds a fresh venv at VENV (default:
# $TMPDIR/rnncourse-ci/grading): torch's CPU build, this package with its test, site and
# grading (nbgrader) extras. nbgrader and the site's packages live here, apart from the
# README's environments, which they would only lengthen. Then runs the nbgrader grading test
# (tests/grading) and the website's build and browser tests (tests/test_site.py), which
# build it with the author tooling in authoring/ (python -m authoring site; not installed,
# it runs from this clone).
#
#   bash .ci/grading.sh [VENV]               build, then test
#   bash .ci/grading.sh [VENV] --build-only  build (CI does this in the background)
#   bash .ci/grading.sh [VENV] --test-only   test in an environment built before
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${TMPDIR:-/tmp}/rnncourse-ci/grading BUILD=1 TEST=1
for arg in "$@"; do
    case "$arg" in
        --build-only) TEST="" ;;
        --test-only) BUILD="" ;;
        -*) echo "unknown option $arg"; exit 2 ;;
        *) VENV=$arg ;;
    esac
done
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
# shellcheck source=.ci/editable.sh
source .ci/editable.sh

if [[ -n "$BUILD" ]]; then
    python3 -m venv --clear "$VENV"
    "$VENV/bin/pip" install -q torch==2.13.0  # the CPU build first: nothing below replaces it
    editable "$VENV/bin/pip" install -q -e ".[test,site,grading]"
fi
"$VENV/bin/python" - <<'PY'
from importlib.metadata import version
names = ["torch", "nbgrader", "nbconvert", "jupyterlab", "sphinx", "myst-nb", "sphinx-book-theme"]
print("grading env:", ", ".join(f"{n} {version(n)}" for n in names))
PY
[[ -n "$TEST" ]] || exit 0

# one math thread per kernel: two notebooks are graded side by side on a 2-core machine
OMP_NUM_THREADS=1 "$VENV/bin/python" -m pytest -p no:cacheprovider -q tests/grading tests/test_site.py
