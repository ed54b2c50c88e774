"""Kernel-side update time of each explorer: set a value, recompute, re-render the PNG.

Run ``python benchmarks/bench_widgets.py``; prints a markdown table of median update
times in milliseconds, one math thread as in a notebook's explorer (target: a drag within
30 ms, so dragging a slider stays smooth on a busy laptop):

- drag: the slider moved one step at a time up its range on a fresh explorer, as a
  student drags it the first time (every value new; back down if fewer than
  ``--repeats`` steps);
- jump: the slider set to far-apart values in turn;
- full redraw: every update draws the whole figure, ticks and labels included, as
  happens the first time the axes take new limits (later visits reuse the drawing).

The gain and sampling explorers keep what they computed per setting, so jump, which
revisits values after drag, measures drawing only there.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import numpy as np

from rnncourse import widgets

TARGET_MS = 30

CASES = {
    "gain_explorer": (widgets.gain_explorer, "gain", [0.5, 0.9, 1.0, 1.2, 1.5]),
    "gain_explorer(n=128), as in notebook 05 (every 5th lag, single precision)": (
        functools.partial(widgets.gain_explorer, n=128),
        "gain",
        [0.5, 0.9, 1.0, 1.2, 1.5],
    ),
    "leaky_unit_explorer": (widgets.leaky_unit_explorer, "gate", [0.5, 0.8, 0.9, 0.95]),
    "lstm_gate_explorer": (widgets.lstm_gate_explorer, "f", [0.5, 0.8, 0.9, 1.0]),
    "repeated_nonlinearity_explorer": (
        widgets.repeated_nonlinearity_explorer,
        "T",
        [1, 5, 10, 20, 30],
    ),
    "sampling_explorer": (widgets.sampling_explorer, "temperature", [0.3, 0.7, 1.0, 1.5, 2.0]),
}


def sweep(slider) -> list:
    """The slider's values from min to max in its own steps, then back down."""
    up = np.arange(slider.min, slider.max + slider.step / 2, slider.step)
    up = [type(slider.value)(round(v, 6)) for v in up]
    return up + up[-2:0:-1]


def median_ms(ex, control, values, repeats, *, full=False) -> float:
    times = []
    for k in range(repeats):
        if full:
            ex._backgrounds.clear()
        start = time.perf_counter()
        ex.set(**{control: values[k % len(values)]})
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print(
        f"| explorer | control | drag (ms) | drag within {TARGET_MS} ms | jump (ms) "
        "| full redraw (ms) | PNG size (kB) |"
    )
    print("|---|---|---:|---|---:|---:|---:|")
    for name, (make, control, jumps) in CASES.items():
        ex = make()
        steps = sweep(ex.controls[control])
        drag = median_ms(ex, control, steps, max(args.repeats, (len(steps) + 2) // 2))
        jump = median_ms(ex, control, jumps, args.repeats)
        full = median_ms(ex, control, jumps, args.repeats, full=True)
        print(
            f"| {name} | {control} | {drag:.1f} | {'yes' if drag <= TARGET_MS else 'NO'} "
            f"| {jump:.1f} | {full:.1f} | {len(ex.png()) / 1e3:.0f} |"
        )


if __name__ == "__main__":
    main()
