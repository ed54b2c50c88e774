"""depth.measure_depth: the longest chain of dependent torch operations of a call."""

from __future__ import annotations

import pytest
import torch

from rnncourse import depth, scan


def _ab(T, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, T, 2, generator=g), torch.randn(1, T, 2, generator=g)


def test_a_chain_of_operations_counts_one_per_operation():
    x = torch.ones(3)
    found = depth.measure_depth(lambda v: ((v + 1) * 2).exp(), x)
    assert found.depth == 3 and found.operations == 3
    torch.testing.assert_close(found.result, torch.full((3,), 4.0).exp())
    side_by_side = depth.measure_depth(lambda v: torch.stack([v + 1, v * 2, v - 3]), x)
    assert side_by_side.depth == 2 and side_by_side.operations == 4


def test_the_loop_grows_with_T_and_the_scans_with_log_T():
    def chain(fn, T):
        return depth.measure_depth(fn, *_ab(T)).depth

    loop = [chain(scan.linear_recurrence_loop, T) for T in (32, 512)]
    assert loop[1] - loop[0] == 2 * (512 - 32)  # a multiply and an add per step
    for fn in (scan.hillis_steele_scan, scan.blelloch_scan):
        short, long = chain(fn, 32), chain(fn, 512)
        assert long < 2 * short, fn.__name__
    assert chain(lambda a, b: scan.log_space_scan(a + 0.05, b), 512) <= 12


def test_writes_in_place_and_through_views_are_followed():
    def preallocated(a, b):
        hs = torch.zeros_like(b)
        hs[:, 0] = b[:, 0]
        for t in range(1, a.shape[1]):
            hs[:, t] = a[:, t] * hs[:, t - 1] + b[:, t]
        return hs

    def through_a_view(a, b):
        hs = b.clone()
        for t in range(1, a.shape[1]):
            hs[:, t].add_(a[:, t] * hs[:, t - 1])
        return hs

    def augmented(a, b):
        h = torch.zeros_like(b[:, 0])
        for t in range(a.shape[1]):
            h *= a[:, t]
            h += b[:, t]
        return h

    a, b = _ab(64)
    states = scan.linear_recurrence_loop(a, b)
    for fn in (preallocated, through_a_view, augmented):
        found = depth.measure_depth(fn, a, b)
        assert found.depth >= 2 * 63, fn.__name__
        last = found.result if fn is augmented else found.result[:, -1]
        torch.testing.assert_close(last, states[:, -1])


def test_inputs_and_untouched_results_have_depth_zero():
    x = torch.ones(2)
    assert depth.measure_depth(lambda v: v, x).depth == 0
    assert depth.measure_depth(lambda v: (v.shape, len(v)), x).depth == 0


def test_bad_arguments():
    with pytest.raises(TypeError, match="fn must be a function"):
        depth.measure_depth(torch.ones(2))
