"""One LSTM step by hand, in NumPy (float64): forward and backward side by side.

The cell state c(t) is a branch like h(t) in :mod:`rnncourse.bptt`: it feeds h(t)
(through tanh) and the next step, so going backwards the two deltas add; and the path
back to c(t-1) is multiplied by the forget gate only, ``dc_prev = dc * f``, which is why
a forget gate near 1 carries a gradient far back. ``dh``, ``dc`` are the totals at step
t, ``dh_prev``, ``dc_prev`` what step t sends back to step t-1.
"""

import numpy as np

from rnncourse._validation import check_array
from rnncourse.bptt import get_params

__all__ = ["lstm_step_forward", "lstm_step_backward"]


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def lstm_step_forward(x_t, h_prev, c_prev, params):
    """One LSTM step, with ``a = U x(t) + W h(t-1) + b`` split into four blocks of H in
    torch's gate order i, f, g, o::

        i = sigmoid(a_i)   input gate        f = sigmoid(a_f)   forget gate
        g = tanh(a_g)      candidate         o = sigmoid(a_o)   output gate
        c(t) = f * c(t-1) + i * g            h(t) = o * tanh(c(t))

    ``x_t``: x(t) (B, I); ``h_prev``, ``c_prev``: h(t-1), c(t-1) (B, H); ``params``: dict
    with U (4H, I), W (4H, H), b (4H,), torch's ``weight_ih``, ``weight_hh`` and
    ``bias_ih + bias_hh``. Returns ``(h_t, c_t, cache)``: h(t) and c(t), each (B, H), and a
    cache for :func:`lstm_step_backward`.
    """
    p = get_params(params, ("U", "W", "b"), "LSTM step")
    H4, I = check_array(p["U"], "params['U']", ("4H", "I")).shape
    if H4 % 4:
        raise ValueError(f"params['U'] must have 4H rows (gates i, f, g, o), got {H4}.")
    H = H4 // 4
    check_array(p["W"], "params['W']", (4 * H, H))
    check_array(p["b"], "params['b']", (4 * H,))
    B = check_array(x_t, "x_t", ("B", I)).shape[0]
    check_array(h_prev, "h_prev", (B, H))
    check_array(c_prev, "c_prev", (B, H))

    a_i, a_f, a_g, a_o = np.split(x_t @ p["U"].T + h_prev @ p["W"].T + p["b"], 4, axis=1)
    i, f, g, o = _sigmoid(a_i), _sigmoid(a_f), np.tanh(a_g), _sigmoid(a_o)
    c_t = f * c_prev + i * g
    tanh_c = np.tanh(c_t)
    h_t = o * tanh_c
    return h_t, c_t, (x_t, h_prev, c_prev, i, f, g, o, tanh_c, p["U"], p["W"])


def lstm_step_backward(dh, dc, cache):
    """Backward through one step of :func:`lstm_step_forward`.
    ``dh``: the total dL/dh(t) (B, H) (readout delta plus what step t+1 sent back);
    ``dc``: what step t+1 sent back to c(t) (its ``dc_prev``), (B, H); this step adds the
    path through h(t). Returns ``(dx, dh_prev, dc_prev, dU, dW, db)`` of shapes (B, I),
    (B, H), (B, H), (4H, I), (4H, H), (4H,)."""
    x_t, h_prev, c_prev, i, f, g, o, tanh_c, U, W = cache
    check_array(dh, "dh", i.shape, hint="dh has the shape of h(t).")
    check_array(dc, "dc", i.shape, hint="dc has the shape of c(t).")
    d_o = dh * tanh_c
    dc = dc + dh * o * (1.0 - tanh_c**2)  # branch at c(t): the deltas add
    dc_prev = dc * f  # the cell-state path: multiplied by the forget gate only
    d_i, d_f, d_g = dc * g, dc * c_prev, dc * i
    da = np.concatenate(
        [d_i * i * (1 - i), d_f * f * (1 - f), d_g * (1 - g**2), d_o * o * (1 - o)], axis=1
    )
    return da @ U, da @ W, dc_prev, da.T @ x_t, da.T @ h_prev, da.sum(axis=0)
