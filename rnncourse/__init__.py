"""rnncourse: a course companion for learning recurrent neural networks.

Modules, from the lowest layer up (lower layers never import higher ones):

- ``cells``      one recurrent step (RNN, gated leaky unit, LSTM, GRU)
- ``sequences``  running a cell over time (topologies, stacking, bidirectional)
- ``bptt``       backpropagation through time by hand, in NumPy
- ``graphs``     printing the autograd graph
- ``diagrams``   drawing a network folded and unrolled over time
- ``dynamics``   recurrent gain, eigenvalues, Jacobian products, time constants
- ``tasks``      seeded, in-memory data generators with baselines
- ``training``   a small train loop, clipping, a gradient-norm log
- ``generation`` teacher forcing, scheduled sampling, autoregressive sampling
- ``plots``, ``explorer``, ``widgets``  figures, the explorers' engine, the explorers
- ``checks``     exercise checkers with specific feedback

Import what you need, e.g. ``from rnncourse import cells``.
"""

__version__ = "0.1.0"


def _show_figures_as_images() -> None:
    """In IPython, display a returned matplotlib Figure as a PNG image.

    The package builds its figures without pyplot (so none leak), and IPython shows such
    a Figure as an image only once the inline backend is active. Registering the PNG
    formatter here makes ``fig`` as a cell's last line show the picture in any kernel.
    """
    import sys

    if "IPython" not in sys.modules:
        return
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
        from matplotlib.figure import Figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    png = shell.display_formatter.formatters["image/png"]
    if Figure not in png.type_printers:
        png.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


_show_figures_as_images()
