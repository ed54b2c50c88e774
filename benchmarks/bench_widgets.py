"""Kernel-side update time of each explorer: set a value, recompute, re-render the PNG.

Run ``python benchmarks/bench_widgets.py``; prints a markdown table of the median over
``--repeats`` updates (target: at most 50 ms, so dragging a slider stays smooth).
"""

from __future__ import annotations

import argparse
import statistics
import time

from rnncourse import widgets

CASES = {
    "gain_explorer": (widgets.gain_explorer, "gain", [0.5, 0.9, 1.0, 1.2, 1.5]),
    "leaky_unit_explorer": (widgets.leaky_unit_explorer, "gate", [0.5, 0.8, 0.9, 0.95]),
    "lstm_gate_explorer": (widgets.lstm_gate_explorer, "f", [0.5, 0.8, 0.9, 1.0]),
    "repeated_nonlinearity_explorer": (
        widgets.repeated_nonlinearity_explorer,
        "T",
        [1, 5, 10, 20, 30],
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print("| explorer | control | median update (ms) | min (ms) | PNG size (kB) |")
    print("|---|---|---|---|---|")
    for name, (make, control, values) in CASES.items():
        ex = make()
        times = []
        for k in range(args.repeats):
            start = time.perf_counter()
            ex.set(**{control: values[k % len(values)]})
            times.append(time.perf_counter() - start)
        print(
            f"| {name} | {control} | {1e3 * statistics.median(times):.1f} | "
            f"{1e3 * min(times):.1f} | {len(ex.png()) / 1e3:.0f} |"
        )


if __name__ == "__main__":
    main()
