"""Drawing a recurrent network folded (a loop) and unfolded over time, with matplotlib."""

from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from ._validation import check_choice, check_int

__all__ = ["draw_unrolled"]

_COLORS = {"x": "#cfe2f3", "h": "#fde3c8", "o": "#d9ead3", "C": "#ead1f5"}
_EDGE = dict(edgecolor="0.2", linewidth=1.3, zorder=2)
_R = 0.32  # node radius
_DX = 1.5  # distance between time steps
_Y = {"x": 0.0, "h": 1.5, "o": 3.0}  # rows: inputs, states, outputs
_CENTER = dict(ha="center", va="center")
_WEIGHT_STYLE = dict(
    _CENTER, fontsize=11, color="#8b1e1e", fontweight="bold", zorder=3, gid="weight"
)
_LABEL_STYLE = dict(_CENTER, fontsize=12, zorder=3, gid="node")
_NOTE_STYLE = dict(_CENTER, fontsize=10, color="0.3")


def _node(ax, xy, label, kind, *, dashed=False):
    """A circle with a label at ``xy``; returns ``(xy, patch)`` (arrows attach to its edge)."""
    face, line = ("white", "--") if dashed else (_COLORS[kind], "-")
    patch = ax.add_patch(Circle(xy, _R, facecolor=face, linestyle=line, **_EDGE))
    ax.text(*xy, label, **_LABEL_STYLE)
    return xy, patch


def _arrow(ax, start, end, label=None, *, rad=0.0, at=(0.5, 0.0), color="0.25"):
    """An arrow between two (xy, patch) pairs, clipped to the patches' edges; the label
    sits ``at[0]`` of the way along, ``at[1]`` to the left of the direction of travel."""
    (xa, ya), patch_a = start
    (xb, yb), patch_b = end
    ends = dict(posA=(xa, ya), posB=(xb, yb), patchA=patch_a, patchB=patch_b)
    style = dict(arrowstyle="-|>", mutation_scale=14, linewidth=1.3, color=color, zorder=1)
    ax.add_patch(FancyArrowPatch(**ends, connectionstyle=f"arc3,rad={rad}", **style))
    if label:
        frac, side = at
        dx, dy = xb - xa, yb - ya
        norm = max((dx**2 + dy**2) ** 0.5, 1e-9)
        x = xa + frac * dx - side * dy / norm
        y = ya + frac * dy + side * dx / norm
        ax.text(x, y, label, **_WEIGHT_STYLE)


def _sup(name: str, t) -> str:
    return rf"$\mathbf{{{name}}}^{{({t})}}$"


def _column(ax, x, t, outputs_here: bool, prev, state="h", weights=("U", "W", "V")):
    """Draw x(t) -> h(t) (-> o(t)) at horizontal position x; prev is the previous h."""
    U, W, V = weights
    h = _node(ax, (x, _Y["h"]), _sup(state, t), "h")
    if U is not None:
        _arrow(ax, _node(ax, (x, _Y["x"]), _sup("x", t), "x"), h, U, at=(0.5, -0.2))
    if prev is not None:
        _arrow(ax, prev, h, W, at=(0.5, 0.2))
    if outputs_here:
        _arrow(ax, h, _node(ax, (x, _Y["o"]), _sup("o", t), "o"), V, at=(0.5, -0.2))
    return h


def _folded(ax, x0, outputs: str):
    """The folded network: x -> h -> o, and h back to itself through a delay square."""
    h = _column(ax, x0, "t", outputs != "none", None)
    side, sq_xy = 0.22, (x0 + 1.05, _Y["h"])
    corner = (sq_xy[0] - side / 2, sq_xy[1] - side / 2)
    square = ax.add_patch(Rectangle(corner, side, side, color="0.15", zorder=2))
    _arrow(ax, h, (sq_xy, square), rad=-0.7)
    _arrow(ax, (sq_xy, square), h, "W", rad=-0.7, at=(0.5, 0.55))
    ax.text(sq_xy[0] + 0.05, sq_xy[1] - 0.75, "delay", **{**_NOTE_STYLE, "fontsize": 9})


def draw_unrolled(
    T: int = 4,
    ax=None,
    outputs: str = "every",
    encoder_decoder: bool = False,
    show_loop: bool = True,
    T_out: int | None = None,
    title: str | None = None,
):
    """Draw a recurrent network unfolded over ``T`` (1 to 12) steps, sharing U, W, V.

    ``outputs``: ``"every"``, ``"last"`` or ``"none"``; ``show_loop``: the folded network
    beside; ``encoder_decoder``: a seq2seq model instead, its context C fed to every step
    of a decoder (W', V) of ``T_out`` steps (default T). Returns the Figure (of ``ax``).
    """
    T = check_int(T, "T", min_value=1, max_value=12)
    check_choice(outputs, "outputs", ("every", "last", "none"))
    T_out = T if T_out is None else check_int(T_out, "T_out", min_value=1, max_value=12)
    if not isinstance(encoder_decoder, bool) or not isinstance(show_loop, bool):
        raise TypeError("encoder_decoder and show_loop must be True or False.")
    loop = show_loop and not encoder_decoder
    width = (T + T_out + 1 if encoder_decoder else T) * _DX + (3.7 if loop else 0) + 1.4
    if ax is None:
        height = 2.6 if outputs == "none" else 3.6
        ax = Figure(figsize=(max(4.0, 0.95 * width), height), layout="constrained").add_subplot()

    x = 0.0
    if loop:
        _folded(ax, x, outputs)
        ax.text(x + 0.5, -0.85, "folded", gid="caption", **_NOTE_STYLE)
        ends = (x + 1.75, _Y["h"]), (x + 2.75, _Y["h"])
        arrow = dict(arrowstyle="simple", mutation_scale=22, color="0.75", zorder=1)
        ax.add_patch(FancyArrowPatch(*ends, **arrow))
        ax.text(x + 2.25, _Y["h"] + 0.4, "unfold", **_NOTE_STYLE)
        x += 3.7
    start = x

    prev = _node(ax, (x, _Y["h"]), _sup("h", 0), "h", dashed=True)
    for t in range(1, T + 1):
        x += _DX
        here = (outputs == "every" or (outputs == "last" and t == T)) and not encoder_decoder
        prev = _column(ax, x, t, here, prev)
    shared = "U, W" if outputs == "none" else "U, W, V"
    caption = f"unfolded over T = {T} steps: {shared} shared"

    if encoder_decoder:
        # the context C: a bar under the decoder, feeding every decoder step
        x_first, x_last = x + 2 * _DX, x + (T_out + 1) * _DX
        corner, width = (x_first - 0.45, _Y["x"] - 0.27), x_last - x_first + 0.9
        box = dict(boxstyle="round,pad=0.03", facecolor=_COLORS["C"], **_EDGE)
        bar = ax.add_patch(FancyBboxPatch(corner, width, 0.54, **box))
        ax.text((x_first + x_last) / 2, _Y["x"], r"$\mathbf{C}$", **_LABEL_STYLE)
        _arrow(ax, prev, ((x_first - 0.3, _Y["x"]), bar))
        prev = None
        x += _DX
        for t in range(1, T_out + 1):
            x += _DX
            here = outputs == "every" or (outputs == "last" and t == T_out)
            s = _column(ax, x, t, here, prev, "s", (None, "W'", "V"))
            _arrow(ax, ((x, _Y["x"]), bar), s)
            prev = s
        caption = f"encoder over T = {T} steps, context C, decoder over {T_out} steps"

    ax.text((start + x) / 2, -0.85, caption, gid="caption", **_NOTE_STYLE)
    if title:
        ax.set_title(title)
    ax.set_xlim((-0.7 if loop else start - 0.7), x + 0.7)
    ax.set_ylim(-1.15, (_Y["h"] + 0.75) if outputs == "none" else (_Y["o"] + 0.55))
    ax.set_aspect("equal")
    ax.axis("off")
    return ax.figure
