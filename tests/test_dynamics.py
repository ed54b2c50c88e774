import inspect
import math

import numpy as np
import pytest
import torch

from rnncourse import dynamics as d

D64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- eigenvalues and scaling


def test_eigenvalues_match_numpy():
    W = torch.randn(6, 6, generator=_gen(0), dtype=D64)
    ours = np.sort_complex(d.eigenvalues(W).numpy())
    ref = np.sort_complex(np.linalg.eigvals(W.numpy()))
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    assert d.eigenvalues(W).is_complex()
    assert d.spectral_radius(W) == pytest.approx(np.abs(ref).max())


def test_spectral_radius_of_rotation_and_scaling():
    theta = 0.3
    R = torch.tensor([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    assert d.spectral_radius(0.7 * R.double()) == pytest.approx(0.7)
    W = torch.randn(10, 10, generator=_gen(1), dtype=D64)
    W2 = d.scale_to_spectral_radius(W, 1.3)
    assert d.spectral_radius(W2) == pytest.approx(1.3, rel=1e-10)
    # scaling keeps the direction of the matrix
    torch.testing.assert_close(W2 / W2.norm(), W / W.norm())


def test_random_recurrent_matrix_is_seeded_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    A = d.random_recurrent_matrix(20, 0.9, seed=3)
    B = d.random_recurrent_matrix(20, 0.9, seed=3)
    C = d.random_recurrent_matrix(20, 0.9, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(A, B) and not torch.equal(A, C)
    assert A.dtype == D64 and A.shape == (20, 20)
    assert d.spectral_radius(A) == pytest.approx(0.9)
    # Before scaling the entries are N(0, 1/n), so rho(W0) is about 1 (circular law).
    W0 = d.random_recurrent_matrix(200, 1.0, seed=0) * 1.0
    assert W0.std() * math.sqrt(200) == pytest.approx(1.0, abs=0.1)


def test_seed_means_the_same_in_every_function():
    W = torch.diag(torch.tensor([2.0, 0.5], dtype=D64))
    # an int and a Generator seeded with it give the same numbers; None gives fresh ones
    A = d.random_recurrent_matrix(8, 0.9, seed=5)
    assert torch.equal(d.random_recurrent_matrix(8, 0.9, seed=_gen(5)), A)
    assert not torch.equal(d.random_recurrent_matrix(8, 0.9), d.random_recurrent_matrix(8, 0.9))
    ratios = d.pascanu_bound(A, steps=5).ratios  # the default seed is 0: reproducible
    torch.testing.assert_close(d.pascanu_bound(A, steps=5, seed=_gen(0)).ratios, ratios)
    assert not torch.equal(d.pascanu_bound(A, steps=5, seed=None).ratios, ratios)
    assert len(d.fixed_points(W, seed=None)) == len(d.fixed_points(W, seed=_gen(3))) == 3
    for call in (
        lambda seed: d.random_recurrent_matrix(4, 1.0, seed=seed),
        lambda seed: d.fixed_points(W, seed=seed),
        lambda seed: d.pascanu_bound(W, seed=seed),
    ):
        with pytest.raises(TypeError, match="seed must be an int"):
            call(1.5)
        with pytest.raises(ValueError, match="seed must be >= 0"):
            call(-1)


def test_scaling_errors():
    with pytest.raises(ValueError, match="spectral radius"):
        d.scale_to_spectral_radius(torch.zeros(3, 3), 1.0)
    with pytest.raises(ValueError, match="square"):
        d.scale_to_spectral_radius(torch.ones(3, 2), 1.0)
    with pytest.raises(ValueError, match=">= 0"):
        d.scale_to_spectral_radius(torch.eye(3), -1.0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        d.eigenvalues(np.eye(3))
    with pytest.raises(TypeError, match="floating-point"):
        d.spectral_radius(torch.eye(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="2 dimensions"):
        d.eigenvalues(torch.ones(3))
    with pytest.raises(TypeError, match="int"):
        d.random_recurrent_matrix(4.5, 1.0)


# ---------------------------------------------------------------- Jacobian products


def _run(W, h, xs, U, b, act):
    for x in xs:
        h = act(W @ h + U @ x + b)
    return h


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu", "linear", "sigmoid"])
def test_jacobian_products_match_autograd(nonlinearity):
    g = _gen(5)
    H, I, T = 4, 3, 6
    W = torch.randn(H, H, generator=g, dtype=D64)
    U = torch.randn(H, I, generator=g, dtype=D64)
    b = torch.randn(H, generator=g, dtype=D64)
    h0 = torch.randn(H, generator=g, dtype=D64)
    xs = torch.randn(T, I, generator=g, dtype=D64)
    act = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda a: a}.get(
        nonlinearity, torch.sigmoid
    )
    hs, jacs = d.jacobian_products(W, h0, xs, nonlinearity, U, b)
    assert hs.shape == (T + 1, H) and jacs.shape == (T + 1, H, H)
    torch.testing.assert_close(hs[-1], _run(W, h0, xs, U, b, act))
    for t in range(T + 1):
        ref = torch.autograd.functional.jacobian(
            lambda h, t=t: _run(W, h, xs[t:], U, b, act), hs[t]
        )
        torch.testing.assert_close(jacs[t], ref, rtol=1e-10, atol=1e-12)


def test_jacobian_without_U_adds_input_and_steps_gives_zero_input():
    W = torch.randn(3, 3, generator=_gen(2), dtype=D64)
    h0 = torch.randn(3, generator=_gen(3), dtype=D64)
    xs = torch.randn(5, 3, generator=_gen(4), dtype=D64)
    hs, _ = d.jacobian_products(W, h0, xs, "tanh")
    hs2, _ = d.jacobian_products(W, h0, xs, "tanh", U=torch.eye(3, dtype=D64))
    torch.testing.assert_close(hs, hs2)
    hs0, _ = d.jacobian_products(W, h0, None, "tanh", steps=5)
    hs3, _ = d.jacobian_products(W, h0, torch.zeros(5, 3, dtype=D64), "tanh")
    torch.testing.assert_close(hs0, hs3)


def test_jacobian_norms_of_scaled_orthogonal_linear_rnn_are_powers():
    Q, _ = torch.linalg.qr(torch.randn(8, 8, generator=_gen(6), dtype=D64))
    a = 0.8
    norms = d.jacobian_norms(a * Q, torch.ones(8, dtype=D64), nonlinearity="linear", steps=10)
    torch.testing.assert_close(norms, a ** torch.arange(11, dtype=D64))
    fro = d.jacobian_norms(a * Q, torch.ones(8, dtype=D64), None, "linear", steps=10, ord="fro")
    torch.testing.assert_close(fro, math.sqrt(8) * a ** torch.arange(11, dtype=D64))
    assert d.log_growth_rate(norms) == pytest.approx(math.log(a))


def test_jacobian_norms_take_the_arguments_of_jacobian_products():
    products = inspect.signature(d.jacobian_products).parameters
    norms = inspect.signature(d.jacobian_norms).parameters
    assert list(norms) == [*products, "ord"]
    g = _gen(2)
    W, U = (0.5 * torch.randn(4, n, generator=g, dtype=D64) for n in (4, 3))
    h0, xs, b = (torch.randn(*s, generator=g, dtype=D64) for s in [(4,), (6, 3), (4,)])
    _, jacs = d.jacobian_products(W, h0, xs, "relu", U, b)
    expected = torch.linalg.matrix_norm(jacs, "fro").flip(0)
    torch.testing.assert_close(d.jacobian_norms(W, h0, xs, "relu", U, b, ord="fro"), expected)
    got = d.jacobian_norms(W=W, h0=h0, xs=xs, nonlinearity="relu", U=U, b=b, ord="fro")
    torch.testing.assert_close(got, expected)


def test_jacobian_input_errors():
    W, h0 = torch.eye(3, dtype=D64), torch.zeros(3, dtype=D64)
    with pytest.raises(ValueError, match="steps"):
        d.jacobian_products(W, h0)
    with pytest.raises(ValueError, match="h0"):
        d.jacobian_products(W, torch.zeros(4, dtype=D64), steps=2)
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        d.jacobian_products(W, h0, steps=2, nonlinearity="softsign")
    with pytest.raises(ValueError, match="xs must have shape"):
        d.jacobian_products(W, h0, torch.zeros(5, 2, dtype=D64))
    with pytest.raises(ValueError, match="U must have shape"):
        d.jacobian_products(W, h0, torch.zeros(5, 2, dtype=D64), U=torch.zeros(3, 3))
    with pytest.raises(ValueError, match="ord must be one of"):
        d.jacobian_norms(W, h0, steps=2, ord="nuc")
    with pytest.raises(TypeError, match="jacobian_norms.*unexpected keyword argument 'stepz'"):
        d.jacobian_norms(W, h0, stepz=2)
    with pytest.raises(TypeError, match=r"jacobian_norms.*missing 1 required .*'h0'"):
        d.jacobian_norms(W)
    with pytest.raises(ValueError, match="steps"):
        d.jacobian_norms(W, h0)
    with pytest.raises(ValueError, match="skip"):
        d.log_growth_rate(torch.ones(3), skip=5)


def test_log_growth_rate_exact_and_zero():
    lag = torch.arange(20, dtype=D64)
    assert d.log_growth_rate(3.0 * torch.exp(-0.25 * lag)) == pytest.approx(-0.25)
    assert d.log_growth_rate(torch.tensor([1.0, 0.5, 0.0])) == -math.inf


def _tanh_rate(gain, input_std, seeds=range(3), n=128, T=60):
    rates = []
    for seed in seeds:
        W = d.random_recurrent_matrix(n, gain, seed=seed)
        g = _gen(100 + seed)
        h0 = torch.randn(n, generator=g, dtype=D64)
        xs = input_std * torch.randn(T, n, generator=g, dtype=D64)
        rates.append(d.log_growth_rate(d.jacobian_norms(W, h0, xs, "tanh")))
    return float(np.mean(rates))


@pytest.mark.parametrize(
    "gain, expected, tol",
    [(0.5, -0.69, 0.03), (0.9, -0.10, 0.03), (1.0, 0.0, 0.03), (1.5, 0.03, 0.05)],
)
def test_reference_growth_rates_of_128_unit_tanh_rnn(gain, expected, tol):
    # Without input the state decays towards 0 for g < 1, where tanh' = 1, so the rate
    # tends to ln g (ln 0.5 = -0.69, ln 0.9 = -0.105). For g = 1.5 the state settles on
    # a saturated, chaotic orbit: tanh' < 1 there cancels most of ln 1.5 = 0.41, leaving a
    # small positive rate; single seeds range from about +0.02 to +0.07 (mean here about
    # +0.05), so the quoted +0.03 is inside that spread rather than a sharp value.
    rate = _tanh_rate(gain, 0.0)
    assert rate == pytest.approx(expected, abs=tol)
    if gain == 1.5:
        assert 0 < rate < 0.25 * math.log(1.5)


def test_strong_input_makes_every_gain_up_to_1_5_vanish():
    for gain in (0.5, 1.0, 1.5):
        assert _tanh_rate(gain, 1.0, seeds=[0]) < -0.1


# ---------------------------------------------------------------- time constants


def test_time_constant_and_half_life():
    gate = math.exp(-1 / 5)
    assert d.time_constant(gate) == pytest.approx(5.0)
    assert d.half_life(gate) == pytest.approx(5 * math.log(2))
    theta = 2.0
    sig = 1 / (1 + math.exp(-theta))
    assert d.time_constant(theta=theta) == pytest.approx(-1 / math.log(sig))
    assert d.half_life(theta=theta) == pytest.approx(-math.log(2) / math.log(sig))
    # the impulse response of s(t) = gate * s(t-1) + x(t) halves after half_life steps
    s, k = 1.0, 0
    while s > 0.5:
        s, k = 0.9 * s, k + 1
    assert k - 1 < d.half_life(0.9) <= k
    # tensors in, float64 tensors out; theta works far beyond where sigmoid rounds to 1
    out = d.time_constant(torch.tensor([0.5, 0.9], dtype=D64))
    torch.testing.assert_close(out, -1 / torch.log(torch.tensor([0.5, 0.9], dtype=D64)))
    assert math.isfinite(d.time_constant(theta=40.0)) and d.time_constant(theta=40.0) > 1e15


@pytest.mark.parametrize("bad", [0.0, 1.0, 1.5, -0.1])
def test_time_constant_rejects_gates_outside_open_interval(bad):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        d.time_constant(bad)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        d.half_life(torch.tensor([0.5, bad]))


def test_time_constant_argument_errors():
    with pytest.raises(ValueError, match="exactly one"):
        d.time_constant()
    with pytest.raises(ValueError, match="exactly one"):
        d.time_constant(0.5, theta=1.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'c'"):
        d.time_constant(theta=1.0, c=1.0)  # the lecture's c is theta here
    with pytest.raises(ValueError, match="theta must be finite"):
        d.time_constant(theta=float("nan"))


# ---------------------------------------------------------------- fixed points


def _root_of_tanh(w):
    """Positive solution of h = tanh(w h) by bisection (w > 1)."""
    lo, hi = 1e-9, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.tanh(w * mid) > mid else (lo, mid)
    return lo


def test_scalar_fixed_points_one_then_three():
    pts = d.fixed_points(torch.tensor([[0.5]], dtype=D64))
    assert len(pts) == 1 and abs(float(pts[0].h)) < 1e-12 and pts[0].stable
    pts = d.fixed_points(torch.tensor([[2.0]], dtype=D64))
    assert len(pts) == 3
    r = _root_of_tanh(2.0)
    np.testing.assert_allclose([float(p.h) for p in pts], [-r, 0.0, r], atol=1e-9)
    assert [p.stable for p in pts] == [True, False, True]
    assert float(pts[1].eigenvalues.real) == pytest.approx(2.0)
    assert float(pts[2].eigenvalues.real) == pytest.approx(2 * (1 - r**2))


def test_two_dimensional_fixed_points():
    W = torch.diag(torch.tensor([2.0, 0.5], dtype=D64))
    pts = d.fixed_points(W)
    r = _root_of_tanh(2.0)
    got = np.array([p.h.numpy() for p in pts])
    np.testing.assert_allclose(got, [[-r, 0], [0, 0], [r, 0]], atol=1e-9)
    assert [p.stable for p in pts] == [True, False, True]
    # a linear RNN has the single fixed point (I - W)^-1 (U x + b)
    g = _gen(7)
    W = 0.5 * torch.randn(2, 2, generator=g, dtype=D64)
    U, b, x = (torch.randn(*s, generator=g, dtype=D64) for s in [(2, 3), (2,), (3,)])
    pts = d.fixed_points(W, U, b, x, "linear")
    assert len(pts) == 1
    torch.testing.assert_close(pts[0].h, torch.linalg.solve(torch.eye(2, dtype=D64) - W, U @ x + b))
    assert pts[0].stable == (d.spectral_radius(W) < 1)


def test_fixed_point_errors():
    with pytest.raises(ValueError, match="without U"):
        d.fixed_points(torch.eye(2, dtype=D64), x=torch.ones(2, dtype=D64))
    with pytest.raises(ValueError, match="n_starts"):
        d.fixed_points(torch.eye(2, dtype=D64), n_starts=0)


# ---------------------------------------------------------------- Pascanu bound


def test_pascanu_bound():
    W = d.random_recurrent_matrix(16, 1.0, seed=0)
    sigma = float(torch.linalg.svdvals(W)[0])
    res = d.pascanu_bound(0.9 * W / sigma, "tanh")
    assert res.sigma_max == pytest.approx(0.9) and res.bound == 1.0 and res.vanishing
    assert res.max_ratio <= 1 + 1e-9
    # lag 0 (the identity, ratio 1) is left out: tanh slopes below 1 keep every later ratio < 1
    assert res.ratios.shape == (31,) and res.ratios[0] == pytest.approx(1.0)
    assert res.max_ratio == pytest.approx(float(res.ratios[1:].max())) and res.max_ratio < 0.99
    res = d.pascanu_bound(3.9 * W / sigma, "sigmoid")
    assert res.gamma == 0.25 and res.bound == 4.0 and res.vanishing
    assert res.max_ratio <= 1 + 1e-9
    res = d.pascanu_bound(1.5 * W / sigma, "tanh")
    assert not res.vanishing and res.max_ratio <= 1 + 1e-9  # the inequality still holds
    # the bound is tight for a linear network with an orthogonal W
    Q, _ = torch.linalg.qr(torch.randn(5, 5, generator=_gen(1), dtype=D64))
    assert d.pascanu_bound(0.7 * Q, "linear").max_ratio == pytest.approx(1.0)
    with pytest.raises(ValueError, match="square"):
        d.pascanu_bound(torch.ones(2, 3))


def test_spectral_norms_equal_svd_at_any_scale():
    J = torch.randn(5, 7, 7, generator=_gen(4), dtype=D64)
    J[1] *= 1e-200  # J^T J would underflow without the rescaling
    J[2] *= 1e150  # ... or overflow
    J[3] = 0.0
    ref = torch.linalg.matrix_norm(J, ord=2)
    torch.testing.assert_close(d.spectral_norms(J), ref, rtol=1e-12, atol=0.0)
    tiny = (J[:1] * 1e-25).float()  # float32: (1e-25)^2 is below the smallest float32
    torch.testing.assert_close(d.spectral_norms(tiny), torch.linalg.matrix_norm(tiny, ord=2))
    with pytest.raises(ValueError, match=r"square matrices \(\.\.\., H, H\)"):
        d.spectral_norms(torch.ones(3, 2))
