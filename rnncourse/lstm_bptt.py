"""One LSTM step by hand, in NumPy (float64): forward and backward side by side.

The LSTM keeps a cell state c(t) beside h(t). Going backwards, c(t) is a branch like
h(t) in :mod:`rnncourse.bptt`: it feeds h(t) (through tanh) and the next step, so the
two deltas add; and the path back to c(t-1) is multiplied by the forget gate only,
``dc_prev = dc * f``, which is why a forget gate near 1 carries a gradient far back.
Names as in ``bptt``: ``dh``, ``dc`` are the totals at step t, ``dh_prev``, ``dc_prev``
what step t sends back to step t-1. The parameters ``U (4H, I)``, ``W (4H, H)``,
``b (4H,)`` are torch's ``weight_ih``, ``weight_hh`` and ``bias_ih + bias_hh``, rows in
torch's gate order i, f, g, o.
"""

from __future__ import annotations

import numpy as np

from rnncourse._validation import check_array
from rnncourse.bptt import get_params

__all__ = ["lstm_step_forward", "lstm_step_backward"]


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def lstm_step_forward(x_t, h_prev, c_prev, params):
    """One LSTM step, gates in torch's order i, f, g, o.

    ``a = U x(t) + W h(t-1) + b`` is split into four blocks of H::

        i = sigmoid(a_i)   input gate        f = sigmoid(a_f)   forget gate
        g = tanh(a_g)      candidate         o = sigmoid(a_o)   output gate
        c(t) = f * c(t-1) + i * g            h(t) = o * tanh(c(t))

    Args:
        x_t: input x(t), shape (B, I).
        h_prev, c_prev: previous state h(t-1) and cell state c(t-1), shape (B, H) each.
        params: dict with U (4H, I), W (4H, H), b (4H,). These equal torch's
            ``weight_ih``, ``weight_hh`` and ``bias_ih + bias_hh``.

    Returns ``(h_t, c_t, cache)``: h(t) and c(t), each of shape (B, H).
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

    a = x_t @ p["U"].T + h_prev @ p["W"].T + p["b"]  # (B, 4H)
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    i, f, g, o = _sigmoid(a_i), _sigmoid(a_f), np.tanh(a_g), _sigmoid(a_o)
    c_t = f * c_prev + i * g
    tanh_c = np.tanh(c_t)
    h_t = o * tanh_c
    cache = (x_t, h_prev, c_prev, i, f, g, o, tanh_c, p["U"], p["W"])
    return h_t, c_t, cache


def lstm_step_backward(dh, dc, cache):
    """Backward through one step of :func:`lstm_step_forward`.

    Args:
        dh: dL/dh(t), shape (B, H): the total (readout delta plus what step t+1 sent back).
        dc: what step t+1 sent back to c(t) (its ``dc_prev``), shape (B, H); this step
            adds the path through h(t).
        cache: from :func:`lstm_step_forward`.

    Returns:
        ``(dx, dh_prev, dc_prev, dU, dW, db)`` with shapes (B, I), (B, H), (B, H),
        (4H, I), (4H, H), (4H,); ``dh_prev`` and ``dc_prev`` go back to step t-1.
    """
    x_t, h_prev, c_prev, i, f, g, o, tanh_c, U, W = cache
    check_array(dh, "dh", i.shape, hint="dh has the shape of h(t).")
    check_array(dc, "dc", i.shape, hint="dc has the shape of c(t).")
    d_o = dh * tanh_c
    # Branch at c(t): it feeds h(t) (through tanh) and the next step, so the deltas add.
    dc = dc + dh * o * (1.0 - tanh_c**2)
    d_f = dc * c_prev
    d_i = dc * g
    d_g = dc * i
    dc_prev = dc * f  # the cell-state path: multiplied by the forget gate only
    da = np.concatenate(
        [d_i * i * (1 - i), d_f * f * (1 - f), d_g * (1 - g**2), d_o * o * (1 - o)], axis=1
    )
    dx = da @ U
    dh_prev = da @ W
    dU = da.T @ x_t
    dW = da.T @ h_prev
    db = da.sum(axis=0)
    return dx, dh_prev, dc_prev, dU, dW, db
