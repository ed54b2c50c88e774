"""Pictures of each explorer over its main slider, for the website's explorers.

A page of the website has no kernel, so there an explorer's slider swaps pictures that
were drawn when the site was built. :func:`explorer_frames` runs a solution notebook in
a kernel up to its last explorer and, after each cell that shows one, moves the
explorer's first control (its main slider) across its range, at most ``most`` values,
the other controls as the cell left them. Each explorer ``k`` gets ``folder/k/NN.png``
and ``folder/k/index.json``: the slider's description, the label of each value, and the
index of the value that the notebook shows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PROGRESS_ENV = "RNNCOURSE_PROGRESS"

# Run in the kernel right after an explorer's cell, on that cell's result.
_DRAW_FRAMES = """
def _draw_frames(ex, model_id, folder, most):
    import json, math, pathlib
    if getattr(getattr(ex, "widget", None), "model_id", None) != model_id:
        return
    name, control = next(iter(ex.controls.items()))
    if not hasattr(control, "step"):
        return
    count = round((control.max - control.min) / control.step) + 1
    stride = math.ceil((count - 1) / (most - 1))
    shown = control.value
    values = {round(control.min + k * control.step, 10) for k in range(0, count, stride)}
    values = sorted(values | {shown})
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True)
    for k, value in enumerate(values):
        ex.set(**{name: type(shown)(value)})
        (folder / f"{k:02d}.png").write_bytes(ex.png())
    ex.set(**{name: shown})
    labels = [format(v, control.readout_format) for v in values]
    index = dict(description=control.description, labels=labels, shown=values.index(shown))
    (folder / "index.json").write_text(json.dumps(index))
"""


def _views(outputs) -> list[str]:
    return [o["data"][WIDGET_VIEW]["model_id"] for o in outputs if WIDGET_VIEW in o.get("data", {})]


def explorer_frames(
    path: str | Path, folder: str | Path, *, progress: str | Path, most: int = 41
) -> list[dict | None]:
    """Run the notebook at ``path`` and draw its explorers' frames into ``folder``.

    ``progress`` is the progress file the kernel uses (``RNNCOURSE_PROGRESS``): notebooks
    run in order with one file, as a student's do, so an answer that passed earlier runs
    here too. Returns one entry per explorer, in order: its ``index.json`` as a dict, with
    ``"files"`` (the PNG paths) added, or ``None`` where its main control is no slider.
    """
    from nbclient import NotebookClient

    path, folder = Path(path), Path(folder)
    nb = nbformat.read(path, as_version=4)
    shown = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and _views(c.outputs)]
    if not shown:
        return []
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    found = []
    with client.setup_kernel(env={**os.environ, PROGRESS_ENV: str(progress)}):
        for index, cell in enumerate(nb.cells[: shown[-1] + 1]):
            if cell.cell_type != "code":
                continue
            client.execute_cell(cell, index)
            for model_id in _views(cell.outputs) if index in shown else []:
                where = folder / str(len(found))
                result = f"Out.get({cell.execution_count})"  # the cell's result
                call = f"_draw_frames({result}, {model_id!r}, {str(where)!r}, {most})"
                code = f"{_DRAW_FRAMES}\n{call}\ndel _draw_frames"
                client.execute_cell(nbformat.v4.new_code_cell(code), index, store_history=False)
                found.append(_read(where))
    return found


def _read(where: Path) -> dict | None:
    if not (where / "index.json").is_file():
        return None
    index = json.loads((where / "index.json").read_text())
    index["files"] = sorted(where.glob("*.png"))
    return index
