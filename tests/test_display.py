"""What a kernel displays: figures without the magic, explorers without a widget frontend."""

import nbformat
import pytest
from nbclient import NotebookClient

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


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


@pytest.mark.slow
def test_an_explorer_shows_its_picture_where_no_widget_manager_runs():
    """nbconvert's HTML of an executed notebook holds the explorer's picture.

    The notebook is executed as ``jupyter nbconvert --execute`` does, widget state saved
    with it; with that state nbconvert renders a widget view in place of any other MIME
    type of its output (and VS Code always prefers it), so the picture must be an output
    of its own, beside the one holding the view.
    """
    exporter = pytest.importorskip("nbconvert").HTMLExporter()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from rnncourse import widgets\n"
                                          "widgets.repeated_nonlinearity_explorer()")]  # fmt: skip
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True).execute()
    assert "widgets" in nb.metadata
    still, live = nb.cells[0].outputs
    assert WIDGET_VIEW not in still.data and still.data["image/png"]
    assert WIDGET_VIEW in live.data
    html, _ = exporter.from_notebook_node(nb)
    assert f'src="data:image/png;base64,{still.data["image/png"]}"' in html
