"""Signals for sequence regression: a synthetic ECG, linear state-space systems, sines."""

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from rnncourse._random import generator
from rnncourse._validation import check_choice, check_float, check_int, check_tensor

__all__ = [
    "ECG", "ecg", "ecg_baseline_mse", "ECG_BASELINE_MSE", "StateSpace", "discretize",
    "linear_state_space", "SineWaves", "sine_waves", "sine_baseline_mse"
]  # fmt: skip


def _range(value, name: str, *, min_value: float, max_value: float | None = None):
    """Read a number or a ``(low, high)`` pair; return ``(low, high)``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a number or a (low, high) pair, got {value!r}.")
        low = check_float(value[0], f"{name}[0]", min_value=min_value, max_value=max_value)
        high = check_float(value[1], f"{name}[1]", min_value=min_value, max_value=max_value)
        if low > high:
            raise ValueError(
                f"{name} must be (low, high) with low <= high, got {value!r}; swap the two."
            )
        return low, high
    value = check_float(value, name, min_value=min_value, max_value=max_value)
    return value, value


def _uniform(low: float, high: float, size: tuple, g: torch.Generator) -> torch.Tensor:
    """float32 draws, uniform on ``[low, high]``, of shape ``size``."""
    return low + (high - low) * torch.rand(size, generator=g)


class ECG(NamedTuple):
    """A batch of synthetic ECG records."""

    x: torch.Tensor  #: voltage in mV, float32 (B, T, 1)
    heart_rate: torch.Tensor  #: beats per minute, float32 (B, 1)
    r_peaks: torch.Tensor  #: 1.0 at each R-peak sample, else 0, float32 (B, T, 1)


# One heartbeat as a sum of Gaussians around the R peak: (offset s, width s, amplitude mV).
# The P and T offsets are for 60 bpm and scale with sqrt(R-R interval) (Bazett's correction).
_WAVES = {
    "P": (-0.20, 0.025, 0.15),
    "Q": (-0.025, 0.010, -0.10),
    "R": (0.0, 0.010, 1.00),
    "S": (0.025, 0.010, -0.25),
    "T": (0.30, 0.050, 0.30),
}


def ecg_baseline_mse(heart_rate=(50.0, 120.0)) -> float:
    """MSE (bpm^2) of predicting the middle of the uniform rate range: (high - low)^2 / 12."""
    low, high = _range(heart_rate, "heart_rate", min_value=1.0)
    return (high - low) ** 2 / 12.0


ECG_BASELINE_MSE = ecg_baseline_mse((50.0, 120.0))
"""About 408 bpm^2 (20 bpm RMS) for the default range 50-120 bpm."""


def ecg(
    batch_size: int,
    duration_s: float = 10.0,
    *,
    fs: float = 250.0,
    heart_rate=(50.0, 120.0),
    rr_jitter: float = 0.03,
    wander: float = 0.1,
    noise: float = 0.02,
    seed=None,
) -> ECG:
    """Synthetic ECG records with their heart rate and R-peak labels.

    Each record's rate is uniform in ``heart_rate`` (bpm, ``(low, high)`` or one number);
    beats ``60 / rate`` s apart, each interval jittered by ``rr_jitter`` (relative), are
    sums of Gaussians for the P, QRS and T waves (after McSharry et al. 2003), plus
    breathing (0.15-0.4 Hz, ``wander`` mV) and white noise (``noise`` mV). ``duration_s``
    at ``fs`` Hz gives ``T = round(duration_s * fs)`` samples, at least two R-R intervals
    at the slowest rate. Predicting the middle rate scores ``ecg_baseline_mse``. Returns
    ``ECG(x (B, T, 1) mV, heart_rate (B, 1) bpm, r_peaks (B, T, 1))``, float32.
    """
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    duration_s = check_float(duration_s, "duration_s", min_value=0.0, strict_min=True)
    fs = check_float(fs, "fs", min_value=0.0, strict_min=True)
    low, high = _range(heart_rate, "heart_rate", min_value=1.0, max_value=300.0)
    if duration_s < 120.0 / low:
        raise ValueError(
            f"duration_s must hold two R-R intervals at the slowest rate ({120.0 / low:.2f} s "
            f"for {low:g} bpm), got {duration_s}; lengthen the record or raise heart_rate."
        )
    rr_jitter = check_float(rr_jitter, "rr_jitter", min_value=0.0, max_value=0.2)
    wander = check_float(wander, "wander", min_value=0.0)
    noise = check_float(noise, "noise", min_value=0.0)
    g = generator(seed)
    T = round(duration_s * fs)
    t = torch.arange(T, dtype=torch.float64) / fs

    rate = _uniform(low, high, (batch_size, 1), g).double()
    rr = 60.0 / rate  # (B, 1) seconds
    shortest = 60.0 / high * (1 - 3 * rr_jitter)
    n_beats = math.ceil((duration_s + 60.0 / low) / shortest) + 2
    jitter = torch.randn(batch_size, n_beats, generator=g, dtype=torch.float64).clamp(-3, 3)
    intervals = rr * (1 + rr_jitter * jitter)
    first = -torch.rand(batch_size, 1, generator=g, dtype=torch.float64) * rr  # in (-rr, 0]
    beats = first + intervals.cumsum(1) - intervals[:, :1]  # (B, n_beats) seconds

    # each beat only in a window around its R peak: 5 widths beyond the P and T waves
    stretch = math.sqrt(60.0 / low)  # the largest sqrt(R-R interval)
    before = 0.20 * stretch + 5 * 0.025
    after = 0.30 * stretch + 5 * 0.050
    window = torch.arange(-math.ceil(before * fs), math.ceil(after * fs) + 1)
    index = torch.round(beats * fs).long()  # (B, n_beats) sample of each R peak
    samples = index[..., None] + window  # (B, n_beats, W)
    since = samples / fs - beats[..., None]  # seconds since the R peak
    beat = torch.zeros_like(since)
    for name, (offset, width, amplitude) in _WAVES.items():
        if name in "PT":
            offset = offset * rr[..., None].sqrt()
        beat += amplitude * torch.exp(-0.5 * ((since - offset) / width) ** 2)
    inside = (samples >= 0) & (samples < T)
    x = torch.zeros(batch_size, T, dtype=torch.float64)
    x.scatter_add_(1, samples.clamp(0, T - 1).flatten(1), (beat * inside).flatten(1))

    breathing = _uniform(0.15, 0.4, (batch_size, 1), g).double()
    phase = _uniform(0.0, 2 * math.pi, (batch_size, 1), g).double()
    x += wander * torch.sin(2 * math.pi * breathing * t + phase)
    x += noise * torch.randn(batch_size, T, generator=g, dtype=torch.float64)

    inside = (index >= 0) & (index < T)
    r_peaks = torch.zeros(batch_size, T)
    r_peaks[inside.nonzero(as_tuple=True)[0], index[inside]] = 1.0
    return ECG(x.float().unsqueeze(-1), rate.float(), r_peaks.unsqueeze(-1))


def _square(A) -> torch.Tensor:
    A = check_tensor(A, "A", (None, None))
    return check_tensor(A, "A", (len(A), len(A)), hint="A must be square (state size n by n).")


class StateSpace(NamedTuple):
    """A simulated linear system."""

    states: torch.Tensor  #: (B, T, n)
    outputs: torch.Tensor  #: (B, T, p)


def discretize(A: torch.Tensor, B: torch.Tensor, dt: float, method: str = "zoh"):
    """Discretize ``x' = A x + B u`` for a step ``dt``: ``x_{t+1} = A_d x_t + B_d u_t``.

    ``"zoh"`` (zero-order hold) is exact for ``u`` constant over each step; ``"euler"``
    (``A_d = I + A dt``, ``B_d = B dt``) only for small ``dt``. ``A`` float ``(n, n)``,
    ``B`` ``(n, m)``; returns ``(A_d (n, n), B_d (n, m))``.
    """
    A = _square(A)
    n = A.shape[0]
    B = check_tensor(B, "B", (n, None), hint="B maps the input to the state: shape (n, m).")
    dt = check_float(dt, "dt", min_value=0.0, strict_min=True)
    check_choice(method, "method", ("zoh", "euler"))
    B = B.to(A.dtype)
    if method == "euler":
        return torch.eye(n, dtype=A.dtype) + A * dt, B * dt
    augmented = F.pad(torch.cat([A, B], dim=1), (0, 0, 0, B.shape[1]))  # [[A, B], [0, 0]]
    exp = torch.linalg.matrix_exp(augmented * dt)
    return exp[:n, :n], exp[:n, n:]


def linear_state_space(A, B, C, D, u, dt, method: str = "zoh", x0=None) -> StateSpace:
    """Simulate the linear system ``x' = A x + B u``, ``y = C x + D u``.

    ``u`` ``(batch, T, m)`` is held over each step of ``dt`` seconds; ``states[:, t]`` is
    the state after step ``t``. ``A (n, n)``, ``B (n, m)``, ``C (p, n)``, ``D (p, m)``
    are cast to the dtype of ``u``; ``method`` as for ``discretize``; ``x0`` ``(batch, n)``
    or zeros. Returns ``StateSpace(states (batch, T, n), outputs (batch, T, p))``.
    """
    u = check_tensor(u, "u", ("batch", "T", None))
    batch, _, m = u.shape
    A = _square(A).to(u.dtype)
    n = A.shape[0]
    B = check_tensor(B, "B", (n, m), hint="B maps the input (m features of u) to the state.")
    C = check_tensor(C, "C", (None, n), hint="C maps the state (n) to the output: (p, n).")
    p = C.shape[0]
    D = check_tensor(D, "D", (p, m), hint="D maps the input to the output: (p, m).")
    A_d, B_d = discretize(A, B.to(u.dtype), dt, method)
    x = torch.zeros(batch, n) if x0 is None else check_tensor(x0, "x0", (batch, n))
    x = x.to(u.dtype)
    states = []
    for u_t in u.unbind(1):
        x = x @ A_d.T + u_t @ B_d.T
        states.append(x)
    states = torch.stack(states, dim=1)
    return StateSpace(states, states @ C.to(u.dtype).T + u @ D.to(u.dtype).T)


class SineWaves(NamedTuple):
    """A batch of noisy sines with next-step targets."""

    x: torch.Tensor  #: (B, T, 1) the signal, with noise
    target: torch.Tensor  #: (B, T, 1) the clean signal one step ahead
    freq: torch.Tensor  #: (B, 1) cycles per step
    amplitude: torch.Tensor  #: (B, 1)


def sine_waves(
    batch_size: int,
    T: int,
    *,
    freq=(0.01, 0.1),
    amplitude=(0.5, 1.5),
    phase=(0.0, 2 * math.pi),
    noise: float = 0.0,
    seed=None,
) -> SineWaves:
    """Sines ``a sin(2 pi f t + phi)`` for next-step prediction.

    ``freq`` (cycles per step, at most 0.5), ``amplitude`` and ``phase`` are each a
    ``(low, high)`` range drawn uniformly per sequence, or one number. ``target[:, t]`` is
    the clean signal at step ``t + 1``. Predicting 0 scores ``sine_baseline_mse``.
    Returns ``SineWaves(x (B, T, 1), target (B, T, 1), freq (B, 1), amplitude (B, 1))``.
    """
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    T = check_int(T, "T", min_value=1)
    f_low, f_high = _range(freq, "freq", min_value=0.0, max_value=0.5)
    a_low, a_high = _range(amplitude, "amplitude", min_value=0.0)
    p_low, p_high = _range(phase, "phase", min_value=-math.inf)
    noise = check_float(noise, "noise", min_value=0.0)
    g = generator(seed)
    f = _uniform(f_low, f_high, (batch_size, 1), g)
    a = _uniform(a_low, a_high, (batch_size, 1), g)
    phi = _uniform(p_low, p_high, (batch_size, 1), g)
    t = torch.arange(T + 1, dtype=torch.float32)
    clean = a * torch.sin(2 * math.pi * f * t + phi)  # (B, T + 1)
    x = clean[:, :T] + noise * torch.randn(batch_size, T, generator=g)
    return SineWaves(x.unsqueeze(-1), clean[:, 1:].unsqueeze(-1), f, a)


def sine_baseline_mse(amplitude=(0.5, 1.5)) -> float:
    """MSE of predicting 0 for ``sine_waves``: E[a^2] / 2 = (low^2 + low high + high^2) / 6."""
    low, high = _range(amplitude, "amplitude", min_value=0.0)
    return (low**2 + low * high + high**2) / 6.0
