"""rnncourse: a course companion for learning recurrent neural networks.

Modules, from the lowest layer up (lower layers never import higher ones):

- ``cells``      one recurrent step (RNN, gated leaky unit, LSTM, GRU)
- ``sequences``  running a cell over time (topologies, stacking, bidirectional)
- ``bptt``       backpropagation through time by hand, in NumPy
- ``graphs``     printing and drawing computation graphs
- ``dynamics``   recurrent gain, eigenvalues, Jacobian products, time constants
- ``tasks``      seeded, in-memory data generators with baselines
- ``training``   a small train loop, clipping, teacher forcing, sampling
- ``plots``, ``widgets``  figures and interactive explorers
- ``checks``     exercise checkers with specific feedback

Import what you need, e.g. ``from rnncourse import cells``.
"""

__version__ = "0.1.0"
