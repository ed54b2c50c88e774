"""The course website (`python -m authoring site`): its pieces, its build, and a page in Chromium.

The fast tests need no Sphinx. The build test (``slow``) and the browser test (``browser``)
build the site once into a temporary folder; they are skipped, with the reason, where Sphinx
and MyST-NB or Chromium are missing (``pip install -e ".[site]"``,
``bash .ci/setup_browser.sh``). The browser test serves the built site on loopback, opens the
first notebook page that holds an explorer in headless Chromium with every request to another
host refused, checks that a figure and rendered math (MathJax 3's ``mjx-container``) are
visible, moves the explorer's slider and checks that its picture changed, and saves a
screenshot to ``test-artifacts/site-<notebook>.png``.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import re
import threading
import time
from pathlib import Path

import nbformat
import pytest

from authoring import guide, site
from tests.test_browser import CHROMIUM_ARGS, page  # noqa: F401 (page is a fixture)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = ROOT / "test-artifacts"
HAS_SPHINX = all(importlib.util.find_spec(m) for m in ("sphinx", "myst_nb", "sphinx_book_theme"))
MATH_MS = 30_000  # MathJax typesets the page


# --- the pieces ----------------------------------------------------------------------------


def test_broken_links_finds_a_missing_page_and_image_and_nothing_else(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "pic.png").write_bytes(b"png")
    (tmp_path / "sub" / "index.html").write_text("<p>a folder page</p>")
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "macros.html").write_text("<a href=\"{{ pathto('x') }}\">theme</a>")
    (tmp_path / "index.html").write_text(
        '<a href="sub/index.html#top">ok</a> <a href="sub/">ok</a> <a href="#here">ok</a>'
        '<a href="https://example.org/x">external</a> <img src="pic.png?v=1">'
        '<img src="data:image/png;base64,AAAA"> <a href="mailto:a@b.c">mail</a>'
        '<a href="gone.html#x">broken</a> <img src="_images/missing.png">'
    )
    assert site.broken_links(tmp_path) == [
        "index.html: <a> gone.html#x",
        "index.html: <img> _images/missing.png",
    ]
    with pytest.raises(ValueError, match="folder of built HTML"):
        site.broken_links(tmp_path / "nowhere")


def test_static_explorers_keep_the_picture_and_add_the_note():
    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    explorer = nbformat.v4.new_code_cell(
        "widgets.gain_explorer()",
        outputs=[
            nbformat.v4.new_output(
                "execute_result",
                {site.WIDGET_VIEW: view, "image/png": "iVBORw0KGgo=", "text/plain": "<Explorer>"},
                execution_count=1,
            ),
            nbformat.v4.new_output("display_data", {site.WIDGET_VIEW: view}),
        ],
    )
    nb = nbformat.v4.new_notebook(cells=[explorer, nbformat.v4.new_markdown_cell("next")])
    assert site.static_explorers(nb) == 2
    nbformat.validate(nb)
    first, second = nb.cells[0].outputs
    assert site.WIDGET_VIEW not in first.data and first.data["image/png"] == "iVBORw0KGgo="
    assert second.data == {"text/markdown": site.NO_PICTURE}
    assert [c.source for c in nb.cells[1:]] == [site.LIVE_NOTE, "next"]


def test_static_explorers_make_a_slider_over_the_frames(tmp_path):
    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    still = {"text/html": '<img class="rnncourse-still-abc" src="">', "image/png": "iVBO",
             "text/plain": "<Explorer>"}  # fmt: skip
    explorer = nbformat.v4.new_code_cell(
        "widgets.gain_explorer()",
        outputs=[
            nbformat.v4.new_output("stream", text="before\n"),
            nbformat.v4.new_output("display_data", still),
            nbformat.v4.new_output("display_data", {site.WIDGET_VIEW: view, "text/plain": "x"}),
        ],
    )
    nb = nbformat.v4.new_notebook(cells=[explorer])
    files = [tmp_path / f"{k:02d}.png" for k in range(3)]
    frames = {"description": "gain ρ", "labels": ["0.0", "0.5", "1.0"], "shown": 1, "files": files}
    assert site.static_explorers(nb, [frames], lambda f: f"../x/{f.name}") == 1
    nbformat.validate(nb)
    stream, slider = nb.cells[0].outputs
    assert stream.text == "before\n" and list(slider.data) == ["text/html"]
    html = slider.data["text/html"]
    assert 'class="rnncourse-frames"' in html and '<img src="../x/01.png"' in html
    assert '\'["../x/00.png", "../x/01.png", "../x/02.png"]\'' in html
    assert 'max="2"' in html and 'value="1"' in html and "<output>0.5</output>" in html
    assert nb.cells[1].source == site.FRAMES_NOTE


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_notebook_summary_reads_title_goals_and_nbgrader_points(path):
    summary = site.notebook_summary(path)
    nb = nbformat.read(path, as_version=4)
    graded = [c.metadata.nbgrader for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert summary["exercises"] == [(g["grade_id"], float(g["points"])) for g in graded]
    assert summary["points"] == sum(float(g["points"]) for g in graded) > 0
    assert summary["title"].startswith(path.name[:2])
    assert summary["goals"].startswith("- ")


# --- the build -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The site built once from this clone: (HTML folder, seconds it took)."""
    if not HAS_SPHINX:
        pytest.skip('Sphinx, MyST-NB or the theme is missing: pip install -e ".[site]"')
    out = tmp_path_factory.mktemp("site") / "html"
    start = time.perf_counter()
    site.build(ROOT, out)
    return out, time.perf_counter() - start


@pytest.mark.slow
def test_site_builds_with_every_notebook_and_the_instructor_tables(built):
    out, seconds = built
    print(f"\nsite built in {seconds:.1f} s")
    pages = {p.stem for p in (out / "notebooks").glob("*.html")}
    assert pages == {p.stem for p in SOLUTIONS}
    assert site.broken_links(out) == []
    guide = "".join(p.read_text(encoding="utf-8") for p in sorted(out.glob("instructor*.html")))
    instructor = re.sub(r"<[^>]+>", "", guide)
    index = (out / "index.html").read_text(encoding="utf-8")
    for path in SOLUTIONS:
        summary = site.notebook_summary(path)
        assert f"notebooks/{path.stem}.html" in index
        for grade_id, _ in summary["exercises"]:
            assert grade_id in instructor
    assert "RNNCOURSE_GRADING=1" in instructor and "nbgrader autograde" in instructor
    assert (out / "_static" / "mathjax" / "tex-chtml.js").is_file()
    # one title, one search field, no code line wider than the page's code blocks
    assert re.search(r"<title>([^<]*)</title>", index).group(1).count("by running them") == 1
    assert index.count("search-button-field") == 1
    block = r'<div class="highlight-(?:bash|python)[^>]*><div class="highlight"><pre>(.*?)</pre>'
    code = re.findall(block, index + guide, re.S)
    widest = max(len(line) for block in code for line in re.sub(r"<[^>]+>", "", block).split("\n"))
    assert code and widest <= 72, widest


@pytest.mark.slow
def test_every_explorer_moves_on_the_site_within_2_mb(built):
    out, _ = built
    for path in SOLUTIONS:
        nb = nbformat.read(path, as_version=4)
        shown = sum(site.WIDGET_VIEW in o.get("data", {}) for c in nb.cells
                    if c.cell_type == "code" for o in c.outputs)  # fmt: skip
        html = (out / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
        assert html.count('class="rnncourse-frames"') == shown, path.name
        for k in range(shown):
            folder = out / "_static" / "explorers" / path.stem / str(k)
            sizes = [f.stat().st_size for f in folder.glob("*.png")]
            assert len(sizes) >= 20 and sum(sizes) <= 2_000_000, (folder, len(sizes), sum(sizes))
            for src in re.findall(r"data-frames='([^']*)'", html)[k][1:-1].split(", "):
                assert (out / "notebooks" / src.strip('"')).resolve().is_file()


@pytest.mark.slow
def test_instructor_guide_holds_what_a_term_needs(built):
    out, _ = built
    pages = {p.stem: _text(p) for p in out.glob("instructor*.html")}
    assert set(pages) == {"instructor", "instructor-plan", "instructor-grading",
                          "instructor-changing"}  # fmt: skip
    plan = pages["instructor-plan"]
    for path in SOLUTIONS:
        summary = site.notebook_summary(path)
        assert summary["title"] in plan
        first_goal = re.sub(r"[*`]", "", summary["goals"].split("\n")[0][2:].split("$")[0])
        assert " ".join(first_goal.split()[:5]) in plan, first_goal
    assert plan.count("Before it:") == len(SOLUTIONS)
    assert plan.count("Estimated student time:") == len(SOLUTIONS)
    assert "it is an estimate, and no student was timed for it" in plan
    for words in ("150 to 250 words a minute", "notebook_times.json", "solution lines",
                  "A sample schedule", "What to lecture beside the notebooks",
                  "Backpropagation through time.", "scheduled sampling"):  # fmt: skip
        assert words in plan, words
    grading = pages["instructor-grading"]
    for words in ('pip install -e ".[grading]"', "nbgrader quickstart", "--nbgrader",
                  "--pin", "header notebook", "git tag v0.1.0", "release_feedback",
                  "Spawner.environment", "RNNCOURSE_PROGRESS", "/srv/nbgrader/exchange",
                  "nbgrader export", "lms.csv", "Changing a grade id breaks the gradebook",
                  "CourseDirectory.ignore"):  # fmt: skip
        assert words in grading, words
    changing = pages["instructor-changing"]
    for words in ("Its points", "Its checker", "tests/exercise_cases", "BEGIN HIDDEN TESTS",
                  "Constants", "Signatures", "Held-out cases"):  # fmt: skip
        assert words in changing, words


def _text(built_page: Path) -> str:
    """The words of a built page, tags and entities gone."""
    import html

    text = built_page.read_text(encoding="utf-8")
    text = re.sub(r"<(script|style)\b.*?</\1>", "", text, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


def test_student_time_is_an_estimate_made_of_counts(tmp_path):
    counted = guide.measure(FIXTURES / "01_demo.ipynb")
    # markdown words (badges aside), the two lines between the markers, one widget
    assert counted == {"words": 38, "exercises": 1, "lines": 2, "explorers": 1}
    # 38 words at 250 and 150 a minute, 2 lines at 2 and 5 minutes, one explorer at 2 and 5,
    # a minute's run: 7.2 and 16.3 minutes, rounded outward to 5
    assert guide.estimate(counted, 60.0) == (5, 20)
    summaries = [site.notebook_summary(p) for p in SOLUTIONS]
    parts = guide.fragments(ROOT, summaries, site._times(ROOT))
    table = parts["student_time.md"]
    assert all(f"notebooks/{p.name}" in table for p in SOLUTIONS) and "| all |" in table
    assert (
        "**estimate**" in parts["time_method.md"]
        and "no student was timed" in parts["time_method.md"]
    )


def test_schedule_takes_every_notebook_once_in_eight_weeks_or_six():
    numbers = [n for notebooks, _, _ in guide.SCHEDULE for n in notebooks]
    assert numbers == sorted(p.name[:2] for p in SOLUTIONS)
    assert 6 <= len(guide.SCHEDULE) <= 8
    short = [week for _, _, week in guide.SCHEDULE]
    assert short == sorted(short) and max(short) == 6
    assert set(guide.BACKGROUND) == {p.name[:2] for p in SOLUTIONS}


def test_builds_on_finds_the_earlier_answers_a_notebook_runs():
    found = guide.builds_on(SOLUTIONS)
    assert found["01"]["runs"] == {"00": ["rnn_step"]}
    assert found["02"]["runs"] == {"01": ["rnn_forward"]}
    assert set(found["09"]["runs"]) == {"00", "02", "05", "06", "07", "08"}
    assert "gru_step" in found["09"]["runs"]["06"]
    for number, earlier in found.items():
        assert all(n < number for n in [*earlier["named"], *earlier["runs"]])


def test_the_lms_snippet_turns_the_export_around(tmp_path, monkeypatch):
    text = (ROOT / "site" / "instructor-grading.md").read_text(encoding="utf-8")
    section = text.split("## Scores for a learning-management system", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    columns = ("assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,"
               "late_submission_penalty,score,max_score")  # fmt: skip
    rows = [
        "01_stateful,,,ada,,,,4.0,0.0,4.0,4.0",
        "00_getting_started,,,ada,,,,1.0,0.0,1.0,1.0",
        "00_getting_started,,,bo,,,,0.0,0.0,0.0,1.0",
    ]
    (tmp_path / "grades.csv").write_text("\n".join([columns, *rows]) + "\n")
    monkeypatch.chdir(tmp_path)
    exec(snippet, {})
    assert (tmp_path / "lms.csv").read_text().splitlines() == [
        "student_id,00_getting_started,01_stateful",
        "max_score,1.0,4.0",
        "ada,1.0,4.0",
        "bo,0.0,",
    ]


def test_instructor_times_are_the_benchmarks_table_of_the_pinned_run():
    readme = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    table = json.loads((ROOT / "site" / "notebook_times.json").read_text())
    rows = dict(re.findall(r"^\| (\d\d) [^|]+\| ([\d.]+) \| [\d.]+ \|$", readme, re.M))
    assert {name[:2]: f"{s}" for name, s in table.items() if name.endswith(".ipynb")} == rows
    times = site._generated(ROOT, [site.notebook_summary(p) for p in SOLUTIONS])["times.md"]
    assert "CI's pinned run" in times and "benchmarks/notebook_times.py" in times
    assert "test suite" not in times


# --- in a browser --------------------------------------------------------------------------


def _explorer_notebook() -> Path:
    """The first solution notebook with an explorer (a widget output) in it."""
    for path in SOLUTIONS:
        nb = nbformat.read(path, as_version=4)
        if any(
            site.WIDGET_VIEW in o.get("data", {})
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.outputs
        ):
            return path
    pytest.skip("no notebook has an explorer output")


@pytest.fixture
def served(built):
    """The built site on a loopback HTTP server; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(built[0]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.browser
def test_notebook_page_shows_a_figure_and_rendered_math_offline(page, served):  # noqa: F811
    notebook = _explorer_notebook()
    refused = []

    def refuse(route):
        refused.append(route.request.url)
        route.abort()

    page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), refuse)
    try:
        page.goto(f"{served}/notebooks/{notebook.stem}.html")
        math = page.locator("mjx-container").first
        math.wait_for(state="visible", timeout=MATH_MS)
        assert page.locator("mjx-container").count() > 5
        figures = page.locator(".cell_output img")
        figures.first.wait_for(state="visible")
        widths = figures.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        assert widths and all(w > 0 for w in widths), f"figures not loaded: {widths}"
        # the explorer's slider swaps its pictures, with no kernel
        explorer = page.locator(".rnncourse-frames").first
        explorer.scroll_into_view_if_needed()
        before = explorer.locator("img").get_attribute("src")
        explorer.locator("input").focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "([box, before]) => { const i = box.querySelector('img');"
            " return i.getAttribute('src') !== before && i.complete && i.naturalWidth > 0; }",
            arg=[explorer.element_handle(), before],
        )
        assert explorer.locator("output").inner_text().strip()
        page.get_by_text(site.FRAMES_NOTE.strip("*")).first.wait_for(state="visible")
        # nothing the page needs comes from elsewhere (only the Colab/Binder badges do)
        assert all("colab" in url or "binder" in url for url in refused), refused
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        note = page.get_by_text(site.FRAMES_NOTE.strip("*")).first
        if note.count():  # the explorer, just above its note
            note.evaluate("e => e.scrollIntoView({block: 'end'})")
        page.screenshot(path=str(ARTIFACTS / f"site-{notebook.stem}.png"))


def test_cli_site_reports_a_folder_that_is_no_course_clone(tmp_path, capsys):
    from authoring import cli

    assert cli.main(["site", "--root", str(tmp_path), "--out", str(tmp_path / "html")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("python -m authoring site: ")
    assert "notebooks/solutions" in err or ".[site]" in err
