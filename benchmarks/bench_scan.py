"""Speed of the parallel scans against the step-by-step loop for h_t = a_t * h_{t-1} + b_t.

Prints a markdown table of median wall times (forward, and forward + backward) and the
speed-up over the loop at T in {256, 1024, 4096}, for each (batch, hidden) in --shapes
(default: one sequence of 64 channels, and 8 sequences of 64 channels).
Usage: python benchmarks/bench_scan.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rnncourse import scan


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shapes", nargs="+", default=["1x64", "8x64"], help="BxH ...")
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 1024, 4096])
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    print(
        f"float32, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"median of {args.repeats}\n"
    )
    print("| B x H | T | method | depth | forward ms | speed-up | fwd+bwd ms | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for shape in args.shapes:
        batch, hidden = (int(v) for v in shape.split("x"))
        for T in args.lengths:
            a = torch.rand(batch, T, hidden, generator=g) * 0.9 + 0.05
            b = torch.randn(batch, T, hidden, generator=g)
            base_f = base_b = None
            for method in ("loop", "hillis_steele", "blelloch", "blocked", "log"):

                def fwd(method=method, a=a, b=b):
                    with torch.no_grad():
                        scan.parallel_scan(a, b, method=method)

                def fwd_bwd(method=method, a=a, b=b):
                    a_ = a.detach().requires_grad_(True)
                    b_ = b.detach().requires_grad_(True)
                    scan.parallel_scan(a_, b_, method=method).sum().backward()

                tf = median_ms(fwd, args.repeats)
                tb = median_ms(fwd_bwd, max(3, args.repeats // 2))
                base_f = base_f or tf
                base_b = base_b or tb
                depth = scan.sequential_depth(T, method)
                print(
                    f"| {shape} | {T} | {method} | {depth} | {tf:.2f} | {base_f / tf:.1f}x | "
                    f"{tb:.2f} | {base_b / tb:.1f}x |"
                )


if __name__ == "__main__":
    main()
