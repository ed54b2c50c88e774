import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from rnncourse import dynamics, plots, training


@pytest.fixture(autouse=True)
def _no_pyplot_figures():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before, "a plot function registered a figure with pyplot"


def _render(fig):
    fig.canvas.draw()  # layout and text must render without errors
    return fig


def _legend_side(ax) -> tuple[str, str]:
    """Where the drawn legend sits in its axes, e.g. ("upper", "right")."""
    _render(ax.figure)
    box, frame = ax.get_legend().get_window_extent(), ax.get_window_extent()
    vertical = "upper" if (box.y0 + box.y1) / 2 > (frame.y0 + frame.y1) / 2 else "lower"
    horizontal = "right" if (box.x0 + box.x1) / 2 > (frame.x0 + frame.x1) / 2 else "left"
    return vertical, horizontal


def test_style_context_and_palette():
    assert len(set(plots.PALETTE.values())) == 8
    before = matplotlib.rcParams["axes.spines.top"]
    with plots.style():
        assert matplotlib.rcParams["axes.spines.top"] is False
        assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"][0] == "#0072B2"
    assert matplotlib.rcParams["axes.spines.top"] == before
    fig, axes = plots.figure(2, 3)
    assert isinstance(fig, Figure) and axes.shape == (2, 3)


def test_plot_states_2d_and_3d():
    hs = torch.randn(20, 3)
    fig = _render(plots.plot_states(hs))
    (ax,) = fig.axes
    assert len(ax.lines) == 3
    np.testing.assert_allclose(ax.lines[1].get_ydata(), hs[:, 1].numpy())
    assert ax.get_xlabel() == "time step t" and "state" in ax.get_ylabel()
    assert any(t.get_text() for t in fig.texts)  # the suptitle (a figure text on 3.7 too)
    fig = _render(plots.plot_states(np.zeros((6, 20, 12)), units=5))
    assert len(fig.axes) == 4 and all(len(a.lines) == 5 for a in fig.axes)


def test_plot_gradient_norms_log_axis_and_rate():
    lag = np.arange(30)
    fig = _render(plots.plot_gradient_norms({"g=0.5": 0.5**lag, "g=1": np.ones(30)}))
    (ax,) = fig.axes
    assert ax.get_yscale() == "log" and len(ax.lines) == 2
    assert "lag" in ax.get_xlabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == f"g=0.5 (rate {np.log(0.5):+.2f}/step)"
    # a tensor from dynamics, drawn into an existing axes
    W = dynamics.random_recurrent_matrix(8, 0.9, seed=0)
    norms = dynamics.jacobian_norms(W, torch.ones(8, dtype=torch.float64), steps=10)
    fig2, axes = plots.figure(1, 2)
    assert plots.plot_gradient_norms(norms, ax=axes[0, 1]) is fig2
    np.testing.assert_allclose(axes[0, 1].lines[0].get_ydata(), norms.numpy())


def test_plot_eigenvalues_has_unit_circle():
    W = dynamics.random_recurrent_matrix(10, 1.3, seed=1)
    fig = _render(plots.plot_eigenvalues(W))
    (ax,) = fig.axes
    circle = ax.lines[0].get_xydata()
    np.testing.assert_allclose(np.hypot(circle[:, 0], circle[:, 1]), 1.0)
    points = ax.collections[0].get_offsets()
    assert len(points) == 10
    assert np.abs(points[:, 0] + 1j * points[:, 1]).max() == pytest.approx(1.3)
    assert "1.30" in ax.get_title() and "outside" in ax.get_title()
    fig = plots.plot_eigenvalues(torch.tensor([0.5 + 0.5j, 0.5 - 0.5j]))
    assert "inside" in fig.axes[0].get_title()
    assert _legend_side(fig.axes[0]) == ("upper", "right")  # the default


def test_plot_eigenvalues_legend_placement():
    eig = torch.tensor([0.5 + 0.5j, 0.5 - 0.5j])
    assert plots.plot_eigenvalues(eig, legend=None).axes[0].get_legend() is None
    fig = _render(plots.plot_eigenvalues(eig, legend="outside"))
    ax = fig.axes[0]
    box = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    assert box.x0 > ax.get_window_extent().x1  # right of the axes, off the points
    assert _legend_side(plots.plot_eigenvalues(eig, legend="lower left").axes[0]) == (
        "lower",
        "left",
    )
    with pytest.raises(TypeError, match="legend must be a location string"):
        plots.plot_eigenvalues(eig, legend=True)


def test_plot_gates_with_markers():
    gates = {"i": np.full(12, 0.2), "f": np.random.default_rng(0).random((12, 4))}
    fig = _render(plots.plot_gates(gates, markers=[3, 8]))
    (ax,) = fig.axes
    # i: one line; f: 4 unit lines + mean; 2 markers
    assert len(ax.lines) == 1 + 5 + 2
    assert ax.get_ylim() == (-0.03, 1.03)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["i", "f (mean)"]
    assert ax.lines[0].get_color() == plots.GATE_COLORS["i"]


def test_plot_history_forms():
    loss = list(np.linspace(1, 0.1, 50))
    fig = _render(plots.plot_history(loss))
    assert len(fig.axes) == 1 and fig.axes[0].get_yscale() == "log"
    hist = {"loss": loss, "grad_norm": np.linspace(5, 1, 50), "val_loss": loss}
    fig = _render(plots.plot_history(hist))
    assert len(fig.axes) == 2
    assert fig.axes[1].get_yscale() == "log" and "gradient" in fig.axes[1].get_ylabel()
    assert len(fig.axes[0].lines) == 2
    steps = [{"loss": v, "grad_norm": 1.0} for v in loss]
    fig = plots.plot_history(steps)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), loss)


def test_plot_history_of_a_training_history_marks_evaluations():
    h = training.History(loss=[1.0, 0.5, 0.25, 0.2], grad_norm=[2.0, 1.0, 0.0, 0.5])
    h.eval_steps, h.eval_metrics = [2, 4], {"mse": [0.6, 0.3]}
    fig = _render(plots.plot_history(h))
    ax, ax2 = fig.axes
    assert ax.get_yscale() == "log" and ax2.get_yscale() == "log"
    np.testing.assert_allclose(ax.lines[1].get_xydata(), [[2, 0.6], [4, 0.3]])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss", "mse", "gradient norm"]
    fig = plots.plot_history(training.History(loss=[0.0, -1.0], grad_norm=[0.0, 0.0]))
    assert fig.axes[0].get_yscale() == "linear" and fig.axes[1].get_yscale() == "linear"
    with pytest.raises(ValueError, match="train first"):
        plots.plot_history(training.History())
    fig = plots.plot_history(training.History(loss=[1.0, 0.5]))  # a custom update's: no norms
    assert len(fig.axes) == 1


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"\(T, H\) or \(B, T, H\)"):
        plots.plot_states(torch.zeros(5))
    with pytest.raises(TypeError, match="numbers"):
        plots.plot_states([["a", "b"]])
    with pytest.raises(ValueError, match="empty"):
        plots.plot_states(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="labels"):
        plots.plot_gradient_norms(np.ones((2, 5)), labels=["a"])
    with pytest.raises(ValueError, match="labels must be None"):
        plots.plot_gradient_norms({"a": np.ones(3)}, labels=["a"])
    with pytest.raises(TypeError, match="Axes"):
        plots.plot_gradient_norms(np.ones(3), ax="left")
    with pytest.raises(ValueError, match="square"):
        plots.plot_eigenvalues(torch.ones(2, 3))
    with pytest.raises(TypeError, match="dict"):
        plots.plot_gates([0.1, 0.2])
    with pytest.raises(ValueError, match="'loss'"):
        plots.plot_history({"grad_norm": [1.0]})


def test_figure_shares_axes_when_asked():
    fig, axes = plots.figure(2, 1, sharex=True, sharey=True)
    a0, a1 = axes[0, 0], axes[1, 0]
    assert a0.get_shared_x_axes().joined(a0, a1)
    assert a0.get_shared_y_axes().joined(a0, a1)
    fig, axes = plots.figure(2, 1)
    assert not axes[0, 0].get_shared_y_axes().joined(axes[0, 0], axes[1, 0])


def test_house_style_text_is_at_least_9_pt():
    sizes = {
        k: v for k, v in plots.RC.items() if k.endswith(("labelsize", "fontsize", "titlesize"))
    }
    assert sizes and all(v >= 9 for v in sizes.values()), sizes
