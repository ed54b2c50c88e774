"""rnncourse: a course companion for learning recurrent neural networks.

Modules, from the lowest layer up: ``cells`` (one step: RNN, gated leaky unit, LSTM,
GRU, or your own), ``sequences`` and ``stacked`` (running cells over time in every
topology), ``bptt`` and ``lstm_bptt`` (backpropagation by hand, in NumPy), ``dynamics``
(gains, Jacobians, time constants), ``scan`` and ``depth`` (parallel scans), ``graphs``
and ``diagrams`` (autograd graphs, drawings), ``tasks`` (seeded data with baselines),
``training`` (the train loop, clipping), ``generation`` (teacher forcing, scheduled
sampling, sampling), ``charmodel`` (a character model; trained names and Shakespeare
models), ``plots`` and ``widgets`` (figures, explorers) and ``checks`` (exercise
checkers). Import what you need, e.g. ``from rnncourse import cells``.

Notation, used by every module and notebook (time index: h^(t) in notebook maths, h(t)
in plain text, h_t only as a Python name)::

    x(t), h(t), o(t), y(t)  input, state, output, target; tau or T steps
    U, W, b                 input weights, recurrent weights, bias: h(t) = phi(a(t)),
                            a(t) = W h(t-1) + U x(t) + b. torch (and cells) keep two
                            biases b_x + b_h that only ever appear summed; by hand
                            their sum b is enough, and dL/db_x = dL/db_h = dL/db
    V, b_o                  readout o(t) = V h(t) + b_o (Goodfellow et al. write c;
                            not the LSTM output gate's bias, which sits in b)
    phi, phi', gamma        an element-wise nonlinearity, its slope, its largest slope
                            (the lecture writes g; gamma = 1 for tanh, 1/4 for sigmoid)
    rho                     recurrent gain: spectral radius of W (explorers: "gain rho")
    s(t), theta             gated leaky unit s(t) = sigmoid(theta) s(t-1) + x(t); the
                            lecture writes sigmoid(c)
    i, f, g, o; c(t)        LSTM gates, candidate g, cell state c (torch's name; the
                            lecture notes write a(t))
    r, z, n                 GRU reset and update gates, candidate n
    dh, dh_prev             dL/dh(t), the total at step t (its readout plus what step
                            t+1 sent back), and the part step t sends back to h(t-1);
                            da = dL/da(t); dc, dc_prev likewise for the LSTM cell
    grads, max_norm         all gradients (grad L) as one vector, and the largest norm
                            that clipping allows (m in notebook 05)
    temperature             sampling from softmax(o(t) / temperature), written out since
                            T and tau name sequence lengths
"""

__version__ = "0.1.0"


def _show_figures_as_images() -> None:
    """In IPython, show a Figure (built without pyplot) as a PNG even before the inline
    backend is active."""
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
