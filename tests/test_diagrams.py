"""The unrolled-network drawing: folded loop, unfolded steps, encoder-decoder."""

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from rnncourse import diagrams, plots


def node_labels(fig):
    return [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "node"]


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, 3 + 1 + 3 * 4),  # folded x, h, o; h(0); x, h, o per step
        ({"T": 3, "outputs": "last"}, 3 + 1 + 2 * 3 + 1),
        ({"T": 5, "outputs": "none", "show_loop": False}, 1 + 2 * 5),
        ({"T": 3, "encoder_decoder": True, "T_out": 2}, 1 + 2 * 3 + 1 + 2 * 2),
    ],
)
def test_draw_unrolled_node_labels(kwargs, expected):
    before = plt.get_fignums()
    fig = diagrams.draw_unrolled(**kwargs)
    assert isinstance(fig, Figure)
    labels = node_labels(fig)
    assert len(labels) == expected
    T = kwargs.get("T", 4)
    assert rf"$\mathbf{{h}}^{{({T})}}$" in labels
    weights = {t.get_text() for t in fig.axes[0].texts if t.get_gid() == "weight"}
    assert {"U", "W"} <= weights
    assert ("V" in weights) == (kwargs.get("outputs", "every") != "none")
    assert plt.get_fignums() == before  # nothing left open in pyplot


def test_draw_unrolled_saves_a_png(tmp_path):
    fig = diagrams.draw_unrolled(T=4)
    path = tmp_path / "unrolled.png"
    fig.savefig(path, dpi=60)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = plt.imread(path)
    assert image.shape[1] > 2 * image.shape[0]  # wide: the folded graph beside T steps
    assert image[..., :3].std() > 0.05  # something was drawn


def test_draw_unrolled_into_given_axes():
    fig, (ax1, ax2) = plt.subplots(2, 1)
    assert diagrams.draw_unrolled(T=2, ax=ax2, outputs="last") is fig
    assert len(ax1.texts) == 0 and len(ax2.texts) > 0
    plt.close(fig)
    fig = diagrams.draw_unrolled(3, outputs="last")
    assert "folded" in " ".join(t.get_text() for t in fig.axes[0].texts)
    fig2, axes = plots.figure()  # into a house-style figure
    assert diagrams.draw_unrolled(2, show_loop=False, ax=axes[0, 0]) is fig2


def test_draw_unrolled_bad_inputs():
    with pytest.raises(ValueError, match="T must be >= 1"):
        diagrams.draw_unrolled(T=0)
    with pytest.raises(TypeError, match="T must be an int"):
        diagrams.draw_unrolled(T=2.5)
    with pytest.raises(ValueError, match="outputs must be one of"):
        diagrams.draw_unrolled(outputs="all")
    with pytest.raises(ValueError, match="T_out must be <= 12"):
        diagrams.draw_unrolled(encoder_decoder=True, T_out=50)
    with pytest.raises(TypeError, match="True or False"):
        diagrams.draw_unrolled(show_loop="yes")
