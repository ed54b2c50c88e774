"""A Figure returned by the package shows as an image in a kernel, without %matplotlib."""

import nbformat
import pytest
from nbclient import NotebookClient


@pytest.mark.slow
def test_returned_figure_displays_as_png_without_the_magic():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from rnncourse import diagrams\nfig = diagrams.draw_unrolled(T=3)\nfig"
        ),
        nbformat.v4.new_code_cell("fig"),  # shown again on request, once per cell
    ]
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    for cell in nb.cells:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(images) == 1, cell.outputs
