"""Browser tier: a real JupyterLab in headless Chromium runs the explorer notebooks.

The tests start JupyterLab on a free loopback port with no token, in a temporary root and
temporary Jupyter config/data/runtime/settings folders (nothing global is read or written,
nothing is fetched from the network), and open a notebook in Chromium from the system
package (driven by Playwright with ``executable_path``; Playwright's own browser download
is never used) on a laptop screen, 1280 x 800, with the file browser open. They run all
cells, check that the sliders and the plot render, press ArrowRight on a slider handle and
check that the plot and the slider readout change. ``tests/browser/explorer.ipynb`` holds
the gain explorer; ``tests/browser/explorers.ipynb`` every explorer of the course, called
as in its notebook, whose every slider track must be at least 150 px wide and whose plain
picture (for frontends without widgets) must be hidden by the live view. A notebook saved
after a run and opened again, with no widgets behind its outputs, must show that picture.
Screenshots are kept in ``test-artifacts/``.

Run it with ``pytest -m browser tests/test_browser.py``. It is skipped only when Chromium
or Playwright cannot be found; install them with ``bash .ci/setup_browser.sh``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from authoring.jupyterlab import LabDidNotStart, lab_server

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = Path(__file__).parent / "browser" / "explorer.ipynb"
EVERY_EXPLORER = NOTEBOOK.with_name("explorers.ipynb")
LAPTOP = {"width": 1280, "height": 800}
MIN_TRACK_PX = 150  # a slider track narrower than this is hard to set with a mouse
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
RENDER_MS = 40_000  # all cells run and the widgets shown (kernel start included)
CHANGE_MS = 20_000  # the plot redrawn after a key press


@pytest.fixture
def lab_url(tmp_path):
    """Start JupyterLab on a fresh port in a temporary root with the fixture notebooks;
    yield its base URL."""
    root = tmp_path / "root"
    root.mkdir()
    for notebook in (NOTEBOOK, EVERY_EXPLORER):
        shutil.copy(notebook, root / notebook.name)
    try:
        with lab_server(root, tmp_path / "jupyter") as url:
            yield url
    except LabDidNotStart as err:
        pytest.fail(str(err))
    finally:
        log = tmp_path / "jupyter" / "jupyterlab.log"
        if log.exists():
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(log, ARTIFACTS / "browser_jupyterlab.log")


@pytest.fixture
def page():
    """A page in headless Chromium from the system package."""
    if CHROMIUM is None:
        pytest.skip("Chromium not found on PATH; install it with: bash .ci/setup_browser.sh")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Python Playwright not installed; install it with: pip install playwright")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport=LAPTOP)
            page.set_default_timeout(RENDER_MS)
            yield page
        finally:
            browser.close()


def _plot_state(view) -> tuple[str | None, str]:
    """An explorer's image source and first slider readout, as the browser shows them."""
    src = view.locator("img").first.get_attribute("src")
    return src, view.locator(".widget-slider .widget-readout").first.inner_text()


def _run_all(page, lab_url, notebook: Path, done: str) -> None:
    """Open ``notebook`` with the file browser open, run all cells, wait for ``done``."""
    page.goto(f"{lab_url}/lab/tree/{notebook.name}")
    # Wait for the kernel to be connected and idle (status bar), then focus the notebook.
    page.locator(".jp-StatusBar-Item", has_text="| Idle").first.wait_for()
    if not page.locator(".jp-FileBrowser").first.is_visible():
        page.locator('.jp-SideBar [data-id="filebrowser"]').first.click()
    page.locator(".jp-FileBrowser").first.wait_for(state="visible")
    page.locator(".jp-Notebook .jp-Cell").first.click()
    # Run > Run All Cells from the menu bar.
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    # The last cell prints once everything above has run; then the widgets are shown.
    page.locator(".jp-OutputArea-output", has_text=done).wait_for()


def _move_first_slider(view, page, before_readout: str, after_readout: str) -> None:
    """Press ArrowRight on the first slider of ``view``; check the plot and readout change."""
    view.locator(".widget-slider").first.wait_for(state="visible")
    view.locator("img").first.wait_for(state="visible")
    # The views apply the kernel's last updates (the notebook's own set() calls) a
    # little after its output: wait until the readout and the image have settled.
    deadline = time.monotonic() + CHANGE_MS / 1000
    before, previous = _plot_state(view), None
    while (before[1].strip() != before_readout or before != previous) and (
        time.monotonic() < deadline
    ):
        page.wait_for_timeout(300)
        before, previous = _plot_state(view), before
    assert before[0], "the explorer's <img> has no image data"
    assert before[1].strip() == before_readout, f"readback before: {before[1]!r}"

    # Keyboard on the handle moves the slider reliably (a mouse drag does not).
    handle = view.locator(".widget-slider").first.locator(".noUi-handle, .ui-slider-handle")
    handle.first.focus()
    page.keyboard.press("ArrowRight")
    deadline = time.monotonic() + CHANGE_MS / 1000
    after = _plot_state(view)
    while (after[0] == before[0] or after[1] == before[1]) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        after = _plot_state(view)

    assert after[0] != before[0], "the plot image did not change after pressing ArrowRight"
    assert after[1].strip() == after_readout, f"readback after ArrowRight: {after[1]!r}"


def test_slider_redraws_plot_in_jupyterlab(page, lab_url):
    try:
        _run_all(page, lab_url, NOTEBOOK, "explorer redraws on change")
        view = page.locator(".jp-OutputArea-output .widget-vbox").first
        _move_first_slider(view, page, "0.90", "0.95")
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser_explorer.png"), full_page=True)


def test_every_explorer_is_usable_on_a_laptop_screen(page, lab_url):
    """Every slider of every explorer keeps a track of 150 px or more at 1280 x 800 with the
    file browser open, inside the window; the plain picture hides behind the live view; the
    gain, LSTM forget-gate and temperature sliders move their plots."""
    names = ["leaky_unit", "repeated_nonlinearity", "gain", "lstm_gates", "sampling"]
    views = page.locator(".jp-OutputArea-output .widget-vbox")
    try:
        _run_all(page, lab_url, EVERY_EXPLORER, "every explorer shown")
        views.nth(len(names) - 1).locator("img").first.wait_for(state="visible")
        assert views.count() == len(names)
        assert page.locator(".jp-FileBrowser").first.is_visible()
        stills = page.locator("img[class^='rnncourse-still']")  # one per explorer, hidden
        assert stills.count() == len(names)
        assert not any(stills.nth(k).is_visible() for k in range(len(names)))
        ARTIFACTS.mkdir(exist_ok=True)
        narrow = []
        for k, name in enumerate(names):
            view = views.nth(k)
            view.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"browser_laptop_{name}.png"))
            tracks = view.locator(".widget-slider").locator(".noUi-target, .ui-slider")
            assert tracks.count() >= 1, f"{name}: no slider found"
            for box in tracks.evaluate_all("ts => ts.map(t => t.getBoundingClientRect())"):
                if box["width"] < MIN_TRACK_PX or box["right"] > LAPTOP["width"]:
                    narrow.append((name, round(box["width"]), round(box["right"])))
        assert not narrow, f"slider tracks under {MIN_TRACK_PX} px or off screen: {narrow}"
        _move_first_slider(views.nth(names.index("gain")), page, "0.90", "0.95")
        _move_first_slider(views.nth(names.index("lstm_gates")), page, "0.90", "0.91")
        _move_first_slider(views.nth(names.index("sampling")), page, "1.00", "1.05")
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser_every_explorer.png"), full_page=True)


def test_a_saved_notebook_shows_its_explorer_before_it_runs(page, lab_url, tmp_path):
    """Reopened without its widgets (a closed kernel), the explorer's picture still shows."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    nb.metadata.pop("widgets", None)  # saved as JupyterLab saves it by default
    nbformat.write(nb, tmp_path / "root" / "saved.ipynb")
    try:
        page.goto(f"{lab_url}/lab/tree/saved.ipynb")
        page.locator(".jp-StatusBar-Item", has_text="| Idle").first.wait_for()
        picture = page.locator("img[class^='rnncourse-still']")
        picture.first.wait_for(state="visible")
        assert picture.evaluate("i => i.complete && i.naturalWidth > 0")
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser_saved_notebook.png"))
