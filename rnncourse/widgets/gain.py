"""The gain explorer: how the spectral radius of W decides whether gradients survive."""

import functools
import math

import ipywidgets
import numpy as np
import torch

from rnncourse import dynamics, plots
from rnncourse._random import generator
from rnncourse._validation import check_int
from rnncourse.widgets.explorer import Explorer, for_log_axis, slider

__all__ = ["gain_explorer"]

_C = plots.PALETTE
_REGIME_COLORS = {"vanishing": _C["blue"], "stable": _C["green"], "exploding": _C["vermillion"]}


def gain_explorer(n: int = 64, T: int = 50, *, seed: int = 0) -> Explorer:
    """Recurrent gain: how the spectral radius rho of W decides whether gradients survive.

    ``h(t) = phi(W h(t-1) + x(t))`` with ``n`` units runs ``T`` steps. Controls: ``gain``
    rho in [0, 2], ``nonlinearity`` phi ("linear", "tanh", "relu"), ``input`` (x(t) ~
    N(0, 1) or 0). The regime follows the fitted growth rate r per step: vanishing
    (r < -0.02), stable or exploding (r > 0.02). ``generator(seed)`` draws, in this order,
    ``W_1 = dynamics.random_recurrent_matrix(n, 1.0, seed=gen)`` (``W = rho W_1``),
    ``h(0)`` ``(n,)`` and the inputs ``(T, n)``, float64 N(0, 1). Jacobian norms are exact
    spectral norms at every lag up to 32 units, every 2nd up to 64, every 5th above (in
    single precision: within 1e-3, 0 under about 1e-38); the rate fits their log up to
    the first zero.

    ``data()`` keys: t (T+1,), h_norm (T+1,), lag (L,), jac_norm (L,), eigenvalues (n,)
    complex, rate, regime.
    """
    n = check_int(n, "n", min_value=2, max_value=512)
    T = check_int(T, "T", min_value=2, max_value=500)
    lags = np.arange(0, T + 1, min(1 if n <= 32 else 2 if n <= 64 else 5, T // 2))
    gen = generator(seed)
    W1 = dynamics.random_recurrent_matrix(n, 1.0, seed=gen)
    h0 = torch.randn(n, generator=gen, dtype=torch.float64)
    noise = torch.randn(T, n, generator=gen, dtype=torch.float64)
    eig1 = dynamics.eigenvalues(W1).numpy()
    # the log axes span at most what the fastest growth (gain 2, linear) needs
    fastest = (_gain_norms(2.0 * W1, h0, xs, "linear", T, lags) for xs in (None, noise))
    k_max = math.ceil(math.log10(max(float(v.max()) for vs in fastest for v in vs))) + 1

    fig, axes = plots.figure(1, 3, figsize=(10.0, 3.0))
    ax_h, ax_j, ax_e = axes[0]
    (line_h,) = ax_h.plot([], [], color=_C["blue"])
    ax_h.set(yscale="log", xlim=(0, T), xlabel="time step t", ylabel=r"$\|h^{(t)}\|$")
    ax_h.set_title("state size over time")
    (line_j,) = ax_j.plot([], [], ".-" if len(lags) < T + 1 else "-", color=_C["vermillion"])
    ax_j.set(yscale="log", xlim=(0, T), xlabel="lag $T - t$ (steps)", title="gradient reach")
    ax_j.set_ylabel(r"$\|\partial h^{(T)}/\partial h^{(t)}\|$")
    plots.plot_eigenvalues(torch.from_numpy(eig1), ax=ax_e, title="eigenvalues of W", legend=None)
    ax_e.set(xlim=(-2.2, 2.2), ylim=(-2.2, 2.2))
    dots = ax_e.collections[0]
    title = fig.suptitle("")

    @functools.lru_cache(maxsize=512)  # a slider dragged back and forth: compute once
    def norms(gain, nonlinearity, input):
        W, xs = gain * W1, noise if input else None
        if n > 64:  # single precision: half the time of each product
            W, xs = W.float(), None if xs is None else xs.float()
        return _gain_norms(W, h0.to(W.dtype), xs, nonlinearity, T, lags)

    def draw(gain, nonlinearity, input):
        h_norm, jac = (v.copy() for v in norms(gain, nonlinearity, input))
        reach = int(np.cumprod(jac > 0).sum())  # up to the first zero: log needs a norm
        rate = -math.inf
        if reach > 1:  # per step
            rate = dynamics.log_growth_rate(torch.from_numpy(jac[:reach])) / lags[1]
        regime = "vanishing" if rate < -0.02 else "exploding" if rate > 0.02 else "stable"
        t = np.arange(T + 1)
        for line, x, y in ((line_h, t, h_norm), (line_j, lags, jac)):
            line.set_data(x, for_log_axis(y))
            line.axes.set_ylim(_log_window(y, k_max))
        eig = gain * eig1
        dots.set_offsets(np.column_stack([eig.real, eig.imag]))
        title.set_text(
            f"ρ = {gain:.2f}, {nonlinearity}{' + input' if input else ''}: {regime} "
            f"gradients (rate {rate:+.2f}/step)"
        )
        title.set_color(_REGIME_COLORS[regime])
        return dict(t=t, h_norm=h_norm, lag=lags.copy(), jac_norm=jac, eigenvalues=eig, rate=rate,
                    regime=regime)  # fmt: skip

    controls = {
        "gain": slider(ipywidgets.FloatSlider, 0.9, 0.0, 2.0, 0.05, "gain ρ"),
        "nonlinearity": ipywidgets.Dropdown(
            options=["linear", "tanh", "relu"], value="tanh", description="nonlinearity"
        ),
        "input": ipywidgets.Checkbox(value=False, description="input x(t) ~ N(0, 1)"),
    }
    return Explorer(controls, fig, draw, dynamic=[line_h, line_j, dots, title])


def _log_window(values: np.ndarray, k_max: int) -> tuple[float, float]:
    """Log-axis limits 10^-k .. 10^k for the smallest k in 2, 4, 8, ... (at most k_max) that
    holds the positive values: they change in big steps, so the background is reused."""
    v = values[np.isfinite(values) & (values > 0)]
    reach = float(np.abs(np.log10(v)).max()) + 0.3 if v.size else 0.0
    k = 2
    while k < min(reach, k_max):
        k *= 2
    k = min(k, k_max)
    return 10.0**-k, 10.0**k


def _gain_norms(W, h0, xs, nonlinearity, T, lags):
    """||h(t)|| for t = 0..T (T+1,) and ||dh(T)/dh(T - lag)|| (spectral) at ``lags`` (L,)."""
    hs, jacs = dynamics.jacobian_products(W, h0, xs, nonlinearity, steps=T if xs is None else None)
    jacs = jacs[torch.from_numpy(T - lags)].double()
    return hs.norm(dim=1).double().numpy(), dynamics.spectral_norms(jacs).numpy()
