#!/usr/bin/env bash
# Build a second virtual environment pinned the way Google Colab runs notebooks
# (ipywidgets 7.7.1, ipykernel 6.17.1, ipython 7.34, matplotlib 3.10.0, numpy 2.0.2),
# with the course package installed editable on top and the notebook test tools.
#
# Usage:   bash .ci/colab_env.sh [VENV_DIR]        (default: /tmp/colab-venv)
# Then:    VENV_DIR/bin/python -m pytest --nbval-lax --nbval-current-env notebooks/
#
# Running it again on a finished environment built from the same constraints only points
# its editable course package at this clone. Set PYTHON to choose the interpreter (default:
# python3, 3.11: Colab runs 3.12, but its pyzmq 24.0.1 has no wheel for 3.12 and does not
# build there). Any failed step stops the script with a non-zero exit code.
set -euo pipefail

venv="${1:-/tmp/colab-venv}"
python="${PYTHON:-python3}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
constraints="$repo/.ci/colab-constraints.txt"
stamp="$venv/.colab-constraints.sha256"
start=$SECONDS
# shellcheck source=.ci/editable.sh
source "$repo/.ci/editable.sh"

want="$(sha256sum "$constraints" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    # the pinned packages are there; point the course package at this clone (the one
    # installed before may come from another, since removed, clone)
    editable "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$repo"
    "$venv/bin/python" -c "import rnncourse, sys; sys.exit(rnncourse.__file__.startswith('$repo') is False)" \
        || { echo "colab_env: rnncourse does not come from $repo"; exit 1; }
    echo "colab_env: $venv is up to date; rnncourse from $repo"
    exit 0
fi

echo "colab_env: building $venv with $("$python" --version 2>&1)"
rm -rf "$venv"
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)

# torch first (a large wheel, taken from the local wheel folder or pip's cache).
"${pip[@]}" install -q -c "$constraints" torch==2.13.0
# The Colab pins and the notebook runners, then the course package itself.
"${pip[@]}" install -q -c "$constraints" \
    numpy matplotlib ipywidgets ipykernel ipython jupyter-client \
    nbformat nbclient nbval pytest
editable "${pip[@]}" install -q -c "$constraints" -e "$repo"
"${pip[@]}" check

# A kernelspec inside the venv, so a notebook run from it uses its own interpreter.
PYDEVD_DISABLE_FILE_VALIDATION=1 "$venv/bin/python" -m ipykernel install --sys-prefix --name python3 \
    --display-name "Python 3 (Colab pins)" >/dev/null

# Fail loudly if anything is not the version Colab has.
"$venv/bin/python" - <<'EOF'
import ipykernel, IPython, ipywidgets, matplotlib, numpy, torch

got = {
    "torch": torch.__version__.split("+")[0],
    "numpy": numpy.__version__,
    "matplotlib": matplotlib.__version__,
    "ipywidgets": ipywidgets.__version__,
    "ipykernel": ipykernel.__version__,
    "ipython": IPython.__version__,
}
want = {"torch": "2.13.0", "numpy": "2.0.2", "matplotlib": "3.10.0",
        "ipywidgets": "7.7.1", "ipykernel": "6.17.1", "ipython": "7.34.0"}
bad = {k: (got[k], v) for k, v in want.items() if got[k] != v}
if bad:
    raise SystemExit(f"colab_env: wrong versions (got, want): {bad}")
import rnncourse  # noqa: F401  (the editable install works)
print("colab_env: versions OK:", ", ".join(f"{k} {v}" for k, v in got.items()))
EOF

echo "$want" >"$stamp"
echo "colab_env: built $venv in $((SECONDS - start)) s"
