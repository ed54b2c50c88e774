"""Interactive explorers: move a knob, watch gains, gates and nonlinearities compound.

Each explorer function returns an :class:`Explorer`: sliders above a figure in a notebook,
the figure alone without a widget frontend. Scripts drive it directly::

    ex = gain_explorer().set(gain=1.2, nonlinearity="relu")
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
