import base64
import io
import re
from pathlib import Path

import ipywidgets
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
import pytest
import torch

from rnncourse import charmodel, dynamics, tasks, widgets
from rnncourse.tasks.text import Vocab
from rnncourse.widgets import explorer

pytestmark = pytest.mark.usefixtures("one_thread")


def _suptitle(ex) -> str:
    """The figure's title: the one figure-level text (``fig.suptitle`` adds it to fig.texts)."""
    (title,) = ex.fig.texts
    return title.get_text()


def _static_png(ex):
    """The picture of a display's first output, which holds no widget view."""
    still, live = ex._display_bundles()
    assert "application/vnd.jupyter.widget-view+json" in live
    assert "application/vnd.jupyter.widget-view+json" not in still
    png = base64.b64decode(still["image/png"])
    assert png.startswith(b"\x89PNG") and png == ex.png()
    assert f'src="data:image/png;base64,{still["image/png"]}"' in still["text/html"]
    return png


def test_gain_explorer_regimes_and_gradient_reach():
    ex = widgets.gain_explorer(n=32, T=40)
    png0 = _static_png(ex)
    ex.set(gain=0.5, nonlinearity="linear")
    small = ex.data()
    assert small["regime"] == "vanishing"
    assert small["rate"] == pytest.approx(np.log(0.5), abs=0.05)  # linear: rate -> ln rho
    np.testing.assert_allclose(np.abs(small["eigenvalues"]).max(), 0.5)
    ex.set(gain=1.5)
    big = ex.data()
    assert big["regime"] == "exploding" and big["jac_norm"][-1] > small["jac_norm"][-1]
    assert ex.png() != png0
    ex.set(gain=1.5, nonlinearity="tanh", input=True)  # a strong input tames rho = 1.5
    assert ex.data()["regime"] == "vanishing"
    assert _suptitle(ex).startswith("ρ = 1.50, tanh + input: vanishing")
    assert ex.controls["gain"].value == 1.5 and ex.image.value == ex.png()


def test_leaky_unit_explorer_time_constant_and_context():
    ex = widgets.leaky_unit_explorer()
    png0 = _static_png(ex)
    ex.set(gate=0.5, pattern="impulse")
    d = ex.data()
    assert d["tau"] == pytest.approx(-1 / np.log(0.5)) and d["half_life"] == pytest.approx(1.0)
    assert d["theta"] == pytest.approx(0.0)  # sigmoid(0) = 0.5
    np.testing.assert_allclose(d["s"][4:10], 0.5 ** np.arange(6))  # impulse at t = 5
    ex.set(gate=0.95, pattern="pulses")
    assert ex.data()["influence"][16] == pytest.approx(0.95**12)
    ex.set(mode="context")
    d = ex.data()
    assert d["gate"][17] == pytest.approx(0.05) and d["gate"][16] == pytest.approx(0.95)
    assert d["influence"][-1] < 1e-3 and d["s"][18] < 0.1  # used, then cleared
    assert ex.png() != png0


def test_lstm_gate_explorer_constant_mode_and_lazy_trained_mode():
    ex = widgets.lstm_gate_explorer()
    _static_png(ex)
    ex.set(f=1.0, i=1.0, o=1.0, g=0.5)
    d = ex.data()
    assert d["c"][-1] == pytest.approx(1.5)  # three pulses, nothing forgotten
    np.testing.assert_allclose(d["h"], np.tanh(d["c"]))
    ex.set(f=0.0)
    assert ex.data()["c"][5] == 0.0  # forgets at once
    png_const = ex.png()
    ex.set(mode="trained", sequence=2)
    d = ex.data()
    assert d["mse"] < 0.2 * tasks.ADDING_BASELINE_MSE
    assert d["prediction"] == pytest.approx(d["target"], abs=0.3)
    x, _ = tasks.adding_problem(8, 10, seed=1234)
    np.testing.assert_array_equal(d["markers"], np.nonzero(x[2, :, 1].numpy())[0] + 1)
    for k in "ifo":
        assert d[k].shape == (10, 12) and ((d[k] > 0) & (d[k] < 1)).all()
    assert ex.png() != png_const and ex.controls["f"].disabled
    assert _suptitle(ex).startswith("LSTM on the adding problem")


def test_lstm_gates_reproduce_torchs_own_lstm():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(2, 12, batch_first=True)
    x, _ = tasks.adding_problem(3, 10, seed=1234)
    gates = widgets.lstm_gates(lstm, x[2])
    with torch.no_grad():
        hs, (h_T, c_T) = lstm(x[2:3])
    np.testing.assert_allclose(gates["h"], hs[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(gates["c"][-1], c_T[0, 0].numpy(), atol=1e-6)
    for k in "ifo":
        assert gates[k].shape == (10, 12) and ((gates[k] > 0) & (gates[k] < 1)).all()
    # c_t = f_t c_{t-1} + i_t g_t and h_t = o_t tanh(c_t), step by step
    c_prev = np.vstack([np.zeros((1, 12)), gates["c"][:-1]])
    expected_c = gates["f"] * c_prev + gates["i"] * gates["g"]
    np.testing.assert_allclose(gates["c"], expected_c, atol=1e-6)
    np.testing.assert_allclose(gates["h"], gates["o"] * np.tanh(gates["c"]), atol=1e-6)
    with pytest.raises(ValueError, match="x must have shape"):
        widgets.lstm_gates(lstm, torch.zeros(10, 3))
    with pytest.raises(TypeError, match="one-layer"):
        widgets.lstm_gates(torch.nn.LSTM(2, 4, num_layers=2), x[0])


def test_repeated_nonlinearity_sharpens_with_T():
    ex = widgets.repeated_nonlinearity_explorer()
    png0 = _static_png(ex)
    ex.set(T=1, gain=2.0)
    d1 = ex.data()
    np.testing.assert_allclose(d1["h"], np.tanh(d1["x"]))
    ex.set(T=20)
    d20 = ex.data()
    assert d20["steps"].shape == (20, len(d20["x"]))
    assert d20["slope"].max() > 3 * d1["slope"].max()
    assert ex.png() != png0
    # input weight u and bias b: h(1) = tanh(u x + b)
    d = widgets.repeated_nonlinearity_explorer(u=2.0, b=0.5).set(T=1).data()
    np.testing.assert_allclose(d["h"], np.tanh(2.0 * d["x"] + 0.5))


def test_no_figures_leak_after_many_updates():
    before = len(plt.get_fignums())
    ex = widgets.repeated_nonlinearity_explorer()
    ex.dpi = 20  # the same render path, smaller pixels: keeps 100 updates quick
    for k in range(100):
        ex.set(T=1 + k % 30)
    assert len(plt.get_fignums()) == before


def test_invalid_set_values_raise_clear_errors():
    ex = widgets.gain_explorer(n=8, T=10)
    with pytest.raises(ValueError, match="gain must be <= 2.0"):
        ex.set(gain=3.0)
    with pytest.raises(TypeError, match="gain must be a number"):
        ex.set(gain="big")
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        ex.set(nonlinearity="sigmoid")
    with pytest.raises(TypeError, match="True or False"):
        ex.set(input=1)
    with pytest.raises(TypeError, match="unknown control 'g'"):
        ex.set(g=1.0)
    assert ex.values["gain"] == 0.9  # nothing changed by a rejected call
    with pytest.raises(TypeError, match="T must be an int"):
        widgets.repeated_nonlinearity_explorer().set(T=2.5)
    with pytest.raises(ValueError, match="n must be >= 2"):
        widgets.gain_explorer(n=1)


def test_repeated_nonlinearity_slope_is_exact():
    ex = widgets.repeated_nonlinearity_explorer()
    data = ex.set(T=10, gain=1.5).data()
    # at x = 0 (with c = 0) every h_t is 0, so the slope is sum_k gain^k * b = (1.5^10 - 1) / 0.5
    i = int(np.argmin(np.abs(data["x"])))
    assert abs(data["x"][i]) < 1e-12
    assert data["slope"][i] == pytest.approx((1.5**10 - 1) / 0.5, rel=1e-9)
    x = torch.tensor(data["x"][::40], dtype=torch.float64, requires_grad=True)
    h = torch.zeros_like(x)
    for _ in range(10):
        h = torch.tanh(1.5 * h + x)  # the explorer's defaults: b = 1, c = 0
    (grad,) = torch.autograd.grad(h.sum(), x)
    assert np.allclose(data["slope"][::40], grad.numpy(), rtol=1e-9, atol=1e-12)


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(PIL.Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _differs_from_plain_draw(ex) -> float:
    """Fraction of pixels where the explorer's PNG differs clearly from a plain full draw."""
    with matplotlib.rc_context(explorer._QUICK_TEXT):  # text as the explorer draws it
        ex.fig.canvas.draw()  # everything, in matplotlib's own order
    plain = np.asarray(ex.fig.canvas.buffer_rgba())[..., :3].astype(int)
    return float((np.abs(_pixels(ex.png()) - plain).max(axis=2) > 64).mean())


@pytest.mark.parametrize(
    "make, first, second, new_limits",
    [
        (widgets.gain_explorer, dict(gain=0.9), dict(gain=0.3, nonlinearity="linear"), True),
        (widgets.leaky_unit_explorer, dict(gate=0.5), dict(gate=0.98, pattern="noise"), True),
        (widgets.lstm_gate_explorer, dict(f=0.5), dict(f=1.0, mode="trained", sequence=3), True),
        (widgets.repeated_nonlinearity_explorer, dict(T=3), dict(T=25, gain=2.5), True),
    ],
)  # fmt: skip
def test_reused_background_matches_a_full_draw(make, first, second, new_limits):
    ex = make()
    ex.set(**first)
    ex.set(**first)  # the second render reuses the background
    assert _differs_from_plain_draw(ex) < 1e-3
    limits = [(ax.get_xlim(), ax.get_ylim()) for ax in ex.fig.axes]
    ex.set(**second)  # new axis limits or a new mode: the background must follow
    assert ([(ax.get_xlim(), ax.get_ylim()) for ax in ex.fig.axes] != limits) == new_limits
    assert _differs_from_plain_draw(ex) < 1e-3
    ex.set(**first)  # back again: a kept background, still right
    assert _differs_from_plain_draw(ex) < 1e-3


def test_backgrounds_are_reused_and_bounded():
    ex = widgets.repeated_nonlinearity_explorer()
    ex.set(T=5)
    assert ex.cached_backgrounds == 1
    for T in range(1, 9):
        ex.set(T=T)  # the slope axis holds while the curve fits under it: one background
    assert ex.cached_backgrounds == 1
    ex.dpi = 36  # a new size: a new background, not the old pixels
    ex.update()
    assert _differs_from_plain_draw(ex) < 1e-3 and ex.cached_backgrounds == 2
    ex.max_backgrounds = 3
    for k in range(8):
        ex.fig.axes[0].set_xlim(-3 - k, 3 + k)  # a new background each time
        ex.update()
    assert ex.cached_backgrounds == 3


def test_gain_norms_are_spectral_norms():
    # the network as the gain explorer's docstring says it is built
    gen = torch.Generator().manual_seed(3)
    W1 = dynamics.random_recurrent_matrix(16, 1.0, seed=gen)
    h0 = torch.randn(16, generator=gen, dtype=torch.float64)
    ex = widgets.gain_explorer(n=16, T=30, seed=3).set(gain=1.3, nonlinearity="tanh")
    data = ex.data()
    hs, jacs = dynamics.jacobian_products(ex.values["gain"] * W1, h0, None, "tanh", steps=30)
    np.testing.assert_allclose(
        data["jac_norm"], torch.linalg.matrix_norm(jacs, ord=2).flip(0), rtol=1e-10
    )
    np.testing.assert_allclose(data["h_norm"], hs.norm(dim=1), rtol=1e-12)
    np.testing.assert_array_equal(data["lag"], np.arange(31))


@pytest.mark.parametrize("gain", [0.05, 0.5, 1.1, 2.0])
def test_gain_norms_of_many_units_are_shown_at_every_fifth_lag(gain):
    gen = torch.Generator().manual_seed(0)
    W1 = dynamics.random_recurrent_matrix(128, 1.0, seed=gen)
    h0 = torch.randn(128, generator=gen, dtype=torch.float64)
    ex = widgets.gain_explorer(n=128).set(gain=gain, nonlinearity="tanh")
    data = ex.data()
    _, jacs = dynamics.jacobian_products(gain * W1, h0, None, "tanh", steps=50)
    np.testing.assert_array_equal(data["lag"], np.arange(0, 51, 5))
    expected = torch.linalg.matrix_norm(jacs, ord=2).flip(0)[::5]  # double precision
    shown = expected > 1e-30  # single precision: norms far below the axis become 0
    np.testing.assert_allclose(data["jac_norm"][shown], expected[shown], rtol=1e-3)
    assert (data["jac_norm"][~shown] < 1e-30).all()  # and far below the axis:
    assert shown.all() or expected[~shown].max() < 1e-6 * ex.fig.axes[1].get_ylim()[0]
    reach = int(np.cumprod(data["jac_norm"] > 0).sum())  # the rate's lags: up to a zero
    rate = dynamics.log_growth_rate(expected[:reach]) / 5  # per step
    assert data["rate"] == pytest.approx(rate, rel=1e-3)


@pytest.mark.parametrize(
    "make",
    [widgets.gain_explorer, widgets.leaky_unit_explorer, widgets.lstm_gate_explorer,
     widgets.repeated_nonlinearity_explorer, widgets.sampling_explorer],
)  # fmt: skip
def test_controls_wrap_onto_rows_and_every_slider_keeps_its_width(make):
    ex = make()
    controls, image, hider = ex.widget.children
    assert controls.layout.flex_flow == "row wrap" and image is ex.image
    assert list(controls.children) == list(ex.controls.values())
    sliders = [
        w
        for w in ex.controls.values()
        if isinstance(w, ipywidgets.FloatSlider | ipywidgets.IntSlider)
    ]
    assert sliders and all(s.layout.width == explorer.SLIDER_WIDTH for s in sliders)
    # the live view hides the plain picture of its display, by the picture's class
    still = ex._display_bundles()[0]["text/html"]
    assert (
        hider.layout.display == "none"
        and ex._still_class() in still
        and ex._still_class() in hider.value
    )


def test_custom_explorer_without_dynamic_artists_redraws_everything():
    fig = plt.Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    (line,) = ax.plot([0, 1], [0, 0])
    ax.set_ylim(-1, 1)

    def draw(level):
        line.set_ydata([level, level])
        return {"level": level}

    slider = ipywidgets.FloatSlider(value=0.0, min=-1.0, max=1.0)
    ex = widgets.Explorer({"level": slider}, fig, draw)
    first = ex.png()
    ex.set(level=0.8)  # same axes, no dynamic list: the line must still move
    assert ex.png() != first and _differs_from_plain_draw(ex) < 1e-3
    assert ex.cached_backgrounds == 0


def test_explorer_helpers_round_limits_and_check_inputs():
    assert [explorer.nice_ceiling(v) for v in (0.0, 0.8, 1.0, 1.2, 4.0, 80.0)] == [
        0.0, 1.0, 1.0, 1.5, 5.0, 100.0,
    ]  # fmt: skip
    assert explorer.nice_limits(-0.4, 1.2, 0.0, 0.0) == (-0.5, 1.5)
    with pytest.raises(ValueError, match="lo must be <= 0"):
        explorer.nice_limits(0.5, 1.0)
    with pytest.raises(TypeError, match="value must be a number"):
        explorer.nice_ceiling("big")
    s = explorer.slider(ipywidgets.IntSlider, 3, 1, 9, 1, "steps")
    assert (s.value, s.min, s.max, s.description, s.continuous_update) == (3, 1, 9, "steps", True)
    with pytest.raises(TypeError, match="IntSlider or widgets.FloatSlider"):
        explorer.slider(ipywidgets.Checkbox, 1, 0, 1, 1, "no")
    assert widgets.Explorer is explorer.Explorer


# --------------------------------------------------------------------------- sampling explorer


@pytest.fixture(scope="module")
def names_sampler():
    return widgets.sampling_explorer(prefix="ma", n_samples=12)


def test_sampling_explorer_draws_samples_and_distribution(names_sampler):
    ex = names_sampler.set(temperature=1.0, top_k=29, draw=0)
    _static_png(ex)
    d = ex.data()
    assert len(d["samples"]) == 12 and all(s.startswith("ma") for s in d["samples"])
    names = set(tasks.load_names())
    np.testing.assert_array_equal(d["known"], [s in names for s in d["samples"]])
    assert d["share_new"] == pytest.approx(1 - d["known"].mean())
    assert d["tokens"][3:] == list("abcdefghijklmnopqrstuvwxyz") and len(d["probs"]) == 29
    assert d["probs"].sum() == pytest.approx(1.0) and (d["probs"] >= 0).all()
    np.testing.assert_allclose(d["probs"], d["model_probs"], atol=1e-12)  # T = 1, all tokens
    png0 = ex.png()
    ex.set(draw=1)
    assert ex.data()["samples"] != d["samples"] and ex.png() != png0
    ex.set(draw=0)  # the same values give the same samples and picture
    assert ex.data()["samples"] == d["samples"] and ex.png() == png0
    again = widgets.sampling_explorer(prefix="ma", n_samples=12)
    assert again.data()["samples"] == d["samples"]  # reproducible across explorers
    ex.set(temperature=1.5)
    assert ex.png() != png0 and ex.image.value == ex.png()
    assert ex.data()["entropy"] > d["entropy"]  # a higher temperature flattens


def test_sampling_explorer_low_temperature_and_top_k_one_are_greedy(names_sampler):
    ex = names_sampler
    greedy = ex.data()["greedy"]
    ex.set(temperature=1.0, top_k=1, draw=5)
    d = ex.data()
    assert d["samples"] == [greedy] * 12
    assert np.count_nonzero(d["probs"]) == 1 and d["probs"].max() == pytest.approx(1.0)
    assert d["probs"].argmax() == d["model_probs"].argmax()
    ex.set(temperature=0.05, top_k=29)
    d = ex.data()
    assert d["probs"].max() > 0.99  # one-hot-ish
    assert d["samples"].count(greedy) >= 6
    ex.set(temperature=1.0, top_k=3)
    d = ex.data()
    assert np.count_nonzero(d["probs"]) == 3 and d["probs"].sum() == pytest.approx(1.0)
    kept = np.argsort(d["model_probs"])[-3:]
    np.testing.assert_allclose(
        d["probs"][kept], d["model_probs"][kept] / d["model_probs"][kept].sum(), rtol=1e-9
    )


def test_sampling_explorer_empty_prefix_and_other_models():
    ex = widgets.sampling_explorer(n_samples=30)  # three columns
    d = ex.data()
    assert len(d["samples"]) == 30 and 0 < d["share_new"] < 1
    text = widgets.sampling_explorer(
        charmodel.load_pretrained("shakespeare"), prefix="ROMEO:", n_samples=3, length=10
    )
    d = text.data()
    assert [len(s) for s in d["samples"]] == [16] * 3 and d["share_new"] >= 0
    untrained = charmodel.CharModel(5, 4, 8)
    untrained.vocab = Vocab(list("ab"))
    d = widgets.sampling_explorer(untrained, prefix="a", n_samples=2, length=3).data()
    assert np.isnan(d["share_new"]) and len(d["samples"]) == 2
    assert all(s.startswith("a") for s in d["samples"])


def test_sampling_explorer_rejects_bad_inputs(names_sampler):
    with pytest.raises(ValueError, match="temperature must be >= 0.05"):
        names_sampler.set(temperature=0.0)
    with pytest.raises(ValueError, match="temperature must be <= 2.0"):
        names_sampler.set(temperature=5.0)
    with pytest.raises(ValueError, match="top_k must be <= 29"):
        names_sampler.set(top_k=30)
    with pytest.raises(ValueError, match=r"characters the model does not know: \['1', 'M'\]"):
        widgets.sampling_explorer(prefix="Ma1")
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        widgets.sampling_explorer(n_samples=0)
    with pytest.raises(TypeError, match="prefix must be a str"):
        widgets.sampling_explorer(prefix=None)
    with pytest.raises(TypeError, match="model must be a CharModel with a vocab"):
        widgets.sampling_explorer(torch.nn.GRU(2, 2))
    with pytest.raises(ValueError, match="needs a prefix"):
        widgets.sampling_explorer(charmodel.load_pretrained("shakespeare"))


def test_the_explorer_fixture_calls_every_explorer_the_notebooks_call():
    """tests/browser/explorers.ipynb stands for the notebooks' explorers in the browser test and
    in the Colab environment's run (ipywidgets 7.7.1): it calls every one the notebooks call."""
    root = Path(__file__).resolve().parents[1]

    def called(path):
        return set(re.findall(r"widgets\.(\w+_explorer)\(", path.read_text(encoding="utf-8")))

    notebooks = set().union(*map(called, (root / "notebooks" / "solutions").glob("*.ipynb")))
    assert len(notebooks) >= 5
    assert notebooks <= called(root / "tests" / "browser" / "explorers.ipynb")
