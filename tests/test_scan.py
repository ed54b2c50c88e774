import math

import pytest
import torch

from rnncourse import scan

METHODS = ["hillis_steele", "blelloch", "blocked", "log"]


def _coeffs(B=3, T=37, H=4, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(B, T, H, generator=g, dtype=dtype) * 0.9 + 0.05  # in (0, 1)
    b = torch.randn(B, T, H, generator=g, dtype=dtype)
    return a, b


def test_loop_is_the_recurrence_written_out():
    a, b = _coeffs(B=1, T=3, H=1)
    h = scan.linear_recurrence_loop(a, b)
    h1 = b[0, 0, 0]
    h2 = a[0, 1, 0] * h1 + b[0, 1, 0]
    h3 = a[0, 2, 0] * h2 + b[0, 2, 0]
    torch.testing.assert_close(h[0, :, 0], torch.stack([h1, h2, h3]))


def test_combine_is_associative_and_order_matters():
    g = torch.Generator().manual_seed(1)
    p, q, r = [(torch.randn(5, generator=g), torch.randn(5, generator=g)) for _ in range(3)]
    left = scan.combine(scan.combine(p, q), r)
    right = scan.combine(p, scan.combine(q, r))
    for x, y in zip(left, right, strict=True):
        torch.testing.assert_close(x, y)
    swapped = scan.combine(q, p)
    assert not torch.allclose(scan.combine(p, q)[1], swapped[1])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("T", [1, 2, 5, 8, 37, 64, 100])
def test_scans_equal_loop(method, T):
    a, b = _coeffs(T=T)
    h0 = torch.randn(3, 4, dtype=torch.float64)
    for init in (None, h0):
        ref = scan.linear_recurrence_loop(a, b, init)
        got = scan.parallel_scan(a, b, init, method=method)
        torch.testing.assert_close(got, ref, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("method", ["hillis_steele", "blelloch", "blocked"])
def test_tree_scans_equal_loop_float32_1e5(method):
    a, b = _coeffs(B=2, T=2048, H=8, dtype=torch.float32)
    ref = scan.linear_recurrence_loop(a.double(), b.double())
    assert (scan.parallel_scan(a, b, method=method).double() - ref).abs().max() < 1e-5


def test_log_space_float32_loses_precision_with_length_as_documented():
    errors = []
    for T in (64, 2048):
        a, b = _coeffs(B=2, T=T, H=8, dtype=torch.float32)
        ref = scan.linear_recurrence_loop(a.double(), b.double())
        errors.append((scan.log_space_scan(a, b).double() - ref).abs().max().item())
    assert errors[0] < 1e-4 and errors[1] < 1e-2
    assert errors[1] > errors[0]


@pytest.mark.parametrize("method", ["hillis_steele", "blelloch", "blocked"])
def test_complex_scan(method):
    g = torch.Generator().manual_seed(3)
    a = torch.polar(
        torch.rand(2, 33, 3, generator=g, dtype=torch.float64),
        torch.randn(2, 33, 3, generator=g, dtype=torch.float64),
    )
    b = torch.complex(
        torch.randn(2, 33, 3, generator=g, dtype=torch.float64),
        torch.randn(2, 33, 3, generator=g, dtype=torch.float64),
    )
    torch.testing.assert_close(
        scan.parallel_scan(a, b, method=method), scan.linear_recurrence_loop(a, b)
    )


@pytest.mark.parametrize("method", METHODS)
def test_scan_gradients_equal_loop(method):
    a, b = _coeffs(B=2, T=19, H=3)
    a.requires_grad_(True)
    b.requires_grad_(True)
    w = torch.randn(2, 19, 3, dtype=torch.float64)
    ga = torch.autograd.grad((scan.linear_recurrence_loop(a, b) * w).sum(), (a, b))
    gs = torch.autograd.grad((scan.parallel_scan(a, b, method=method) * w).sum(), (a, b))
    for x, y in zip(ga, gs, strict=True):
        torch.testing.assert_close(x, y, atol=1e-9, rtol=1e-9)


def test_sequential_depth_is_logarithmic():
    assert scan.sequential_depth(4096, "loop") == 4096
    assert scan.sequential_depth(4096, "hillis_steele") == 12
    assert scan.sequential_depth(4097, "hillis_steele") == 13
    assert scan.sequential_depth(1, "blelloch") == 0
    # blocked: 64 blocks of 64 steps; reduce 63, scan the blocks 63, rescan 64
    assert scan.sequential_depth(4096, "blocked") == 190
    assert scan.sequential_depth(1, "blocked") == 1


@pytest.mark.parametrize("block", [1, 3, 7, 37, 50])
def test_blocked_scan_any_block_size(block):
    a, b = _coeffs(T=37)
    h0 = torch.randn(3, 4, dtype=torch.float64)
    torch.testing.assert_close(
        scan.blocked_scan(a, b, h0, block=block), scan.linear_recurrence_loop(a, b, h0)
    )
    with pytest.raises(ValueError, match="block must be >= 1"):
        scan.blocked_scan(a, b, block=0)


def test_mingru_scan_equals_step_loop():
    torch.manual_seed(0)
    model = scan.MinGRU(3, 5).double()
    x = torch.randn(4, 23, 3, dtype=torch.float64)
    h0 = torch.randn(4, 5, dtype=torch.float64)
    h, states = h0, []
    for x_t in x.unbind(1):
        h = model.step(x_t, h)
        states.append(h)
    ref = torch.stack(states, 1)
    for method in ("hillis_steele", "blelloch", "log", "loop"):
        torch.testing.assert_close(model(x, h0, method=method), ref)


def test_mingru_gradcheck():
    torch.manual_seed(0)
    model = scan.MinGRU(2, 3).double()
    x = torch.randn(2, 6, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: model(inp), (x,))


def test_lru_eigenvalues_on_ring_and_normalised():
    lru = scan.LRU(2, 256, r_min=0.5, r_max=0.9, max_phase=math.pi / 2, seed=1)
    lam = lru.eigenvalues().detach()
    assert lam.abs().min() >= 0.5 - 1e-6 and lam.abs().max() <= 0.9 + 1e-6
    assert lam.angle().min() >= 0 and lam.angle().max() <= math.pi / 2 + 1e-6
    # gamma = sqrt(1 - |lambda|^2) makes the stationary state variance independent of |lambda|
    gamma = torch.sqrt(1 - lam.abs() ** 2)
    torch.testing.assert_close(gamma**2 / (1 - lam.abs() ** 2), torch.ones(256))


def test_lru_scan_equals_loop_and_is_seeded():
    x = torch.randn(3, 50, 2)
    a, b = scan.LRU(2, 16, seed=4), scan.LRU(2, 16, seed=4)
    torch.testing.assert_close(a(x), b(x))
    torch.testing.assert_close(
        a(x, method="hillis_steele"), a(x, method="loop"), atol=1e-5, rtol=1e-5
    )
    for method in ("blelloch", "blocked"):
        torch.testing.assert_close(a(x, method=method), a(x, method="loop"), atol=1e-5, rtol=1e-5)
    assert a(x).dtype == torch.float32 and a(x).shape == x.shape


def test_lru_seed():
    def params(lru):
        return torch.cat([p.detach().flatten() for p in lru.parameters()])

    default = params(scan.LRU(2, 8))  # seed 0 by default: the same layer every time
    torch.testing.assert_close(params(scan.LRU(2, 8, seed=0)), default)
    torch.testing.assert_close(
        params(scan.LRU(2, 8, seed=torch.Generator().manual_seed(0))), default
    )
    assert not torch.equal(params(scan.LRU(2, 8, seed=None)), params(scan.LRU(2, 8, seed=None)))
    with pytest.raises(TypeError, match="seed must be an int"):
        scan.LRU(2, 8, seed=0.5)


def test_lru_stationary_variance_close_to_one():
    lru = scan.LRU(1, 64, r_min=0.9, r_max=0.99, seed=0)
    x = torch.randn(8, 2000, 1, generator=torch.Generator().manual_seed(0))
    lam = lru.eigenvalues().detach()
    gamma = torch.sqrt(1 - lam.abs() ** 2)
    bx = gamma * (x.to(torch.complex64) @ torch.complex(lru.B_re, lru.B_im).detach().T)
    h = scan.parallel_scan(lam.expand_as(bx), bx)
    var = (h[:, 1000:].abs() ** 2).mean(dim=(0, 1))
    expected = (torch.complex(lru.B_re, lru.B_im).detach().abs() ** 2).sum(1)
    torch.testing.assert_close(var, expected, rtol=0.25, atol=0.0)


def test_bad_inputs():
    a, b = _coeffs()
    with pytest.raises(ValueError, match="same shape"):
        scan.parallel_scan(a, b[:, :-1])
    with pytest.raises(ValueError, match="3 dimensions"):
        scan.parallel_scan(a[0], b[0])
    with pytest.raises(TypeError, match="float or complex"):
        scan.parallel_scan(a.long(), b)
    with pytest.raises(ValueError, match="h0 must have shape"):
        scan.parallel_scan(a, b, torch.zeros(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="method must be one of"):
        scan.parallel_scan(a, b, method="fast")
    with pytest.raises(ValueError, match="a_t > 0"):
        scan.log_space_scan(-a, b)
    with pytest.raises(ValueError, match="r_min < r_max"):
        scan.LRU(2, 4, r_min=0.9, r_max=0.5)
    with pytest.raises(ValueError, match="dimension 2 is 3, expected 2"):
        scan.LRU(2, 4)(torch.randn(1, 5, 3))
    with pytest.raises(ValueError, match="T must be >= 1"):
        scan.sequential_depth(0)
