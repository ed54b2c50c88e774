"""Interactive explorers: move a knob, watch gains, gates and nonlinearities compound.

Each explorer is a function returning an :class:`~rnncourse.widgets.explorer.Explorer`
(the rendering engine, in :mod:`rnncourse.widgets.explorer`), one module per explorer:

- :mod:`~rnncourse.widgets.gain`: recurrent gain, eigenvalues and gradient reach
- :mod:`~rnncourse.widgets.leaky_unit`: the gated leaky unit and its time constant
- :mod:`~rnncourse.widgets.lstm_gates`: the forget, input and output gates of an LSTM
- :mod:`~rnncourse.widgets.repeated_nonlinearity`: tanh applied again and again
- :mod:`~rnncourse.widgets.sampling`: temperature and top-k on a character model

Display one in a notebook to get sliders above a figure; a change of a control
recomputes the data and redraws what changed. Without a widget frontend the same object
shows its current figure as a plain image. Tests and scripts drive it directly::

    ex = gain_explorer()
    ex.set(gain=1.2, nonlinearity="relu")
    ex.data()["jac_norm"]        # what the figure shows
"""

from rnncourse.widgets.explorer import Explorer
from rnncourse.widgets.gain import gain_explorer
from rnncourse.widgets.leaky_unit import leaky_unit_explorer
from rnncourse.widgets.lstm_gates import lstm_gate_explorer, lstm_gates
from rnncourse.widgets.repeated_nonlinearity import repeated_nonlinearity_explorer
from rnncourse.widgets.sampling import sampling_explorer

__all__ = [
    "Explorer",
    "gain_explorer",
    "leaky_unit_explorer",
    "lstm_gate_explorer",
    "lstm_gates",
    "repeated_nonlinearity_explorer",
    "sampling_explorer",
]
