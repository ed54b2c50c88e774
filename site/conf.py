"""Sphinx configuration of the course website; `python -m authoring site` builds it.

The command (authoring/site.py) copies this folder, the solution notebooks and generated
tables into site/_build/src and builds from there: the notebooks' stored outputs are shown,
each explorer as a slider over pictures drawn for it (_static/explorers.js swaps them), and
nothing is fetched: MathJax is served from _static/mathjax.
"""

project = "rnncourse"
author = "the rnncourse authors"
copyright = "the rnncourse authors, MIT licence"

extensions = ["myst_nb"]
exclude_patterns = ["_build", "_generated", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type"]

# notebooks: stored outputs only, never executed; errors kept as stored
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# math: MathJax 3 served from this site (copied from the sphinx-mathjax-offline package)
html_static_path = ["_static"]
mathjax_path = "mathjax/tex-chtml.js"

html_js_files = [("explorers.js", {"defer": "defer"})]

html_theme = "sphinx_book_theme"
html_title = "rnncourse"  # the landing page's own heading is the course's title
html_theme_options = {
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "navbar_persistent": [],  # one search field, the sidebar's, not a second in the header
}
html_last_updated_fmt = None
