"""Looking at computation graphs: print torch's autograd graph, draw an unrolled RNN.

``print_graph`` walks the graph that autograd records while a tensor is computed: each
node is a backward function (``MvBackward0`` for a matrix-vector product,
``ReluBackward0``, ...) and ``next_functions`` points to the nodes that produced its
inputs. For a recurrence the graph grows by a fixed set of nodes per time step, which
is why its backward pass (backpropagation through time) costs time linear in T.

``draw_unrolled`` draws, with matplotlib only, the folded recurrent network (a loop
through a delay square) beside the same network unfolded over T steps, where the
shared weights U, W, V appear on every step.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from ._validation import check_choice, check_int

__all__ = ["GraphSummary", "print_graph", "graph_summary", "draw_unrolled"]


# ------------------------------------------------------------------ autograd graphs


@dataclass
class GraphSummary:
    """Size of an autograd graph, counting every node once.

    Attributes:
        total: number of distinct nodes reachable from the root (root included).
        depth: length, in edges, of the longest path from the root to a leaf node.
        counts: number of distinct nodes per class name, e.g. ``{"MvBackward0": 5}``.
    """

    total: int
    depth: int
    counts: dict[str, int] = field(default_factory=dict)


def _children(node) -> list:
    """The nodes that produced ``node``'s inputs (None entries, constants, skipped)."""
    return [child for child, _ in node.next_functions if child is not None]


def _root(grad_fn):
    if isinstance(grad_fn, torch.Tensor):
        if grad_fn.grad_fn is None:
            raise ValueError(
                "the tensor has no grad_fn: it is a leaf or does not require grad. Pass a "
                "result computed from tensors with requires_grad=True, e.g. print_graph(h)."
            )
        return grad_fn.grad_fn
    if grad_fn is None:
        raise ValueError(
            "grad_fn is None: the tensor was not computed from anything that requires "
            "grad. Create the inputs with requires_grad=True and pass result.grad_fn."
        )
    if not hasattr(grad_fn, "next_functions"):
        raise TypeError(
            f"grad_fn must be an autograd node such as tensor.grad_fn (or a tensor), "
            f"got {type(grad_fn).__name__}."
        )
    return grad_fn


def _heights(root) -> dict:
    """Longest path (in edges) from each node reachable from ``root`` down to a leaf.

    An explicit stack instead of recursion, so graphs of long sequences fit; each node
    is finished once, so shared nodes cost nothing extra.
    """
    height: dict = {}
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            height[node] = 1 + max((height[c] for c in _children(node)), default=-1)
        elif node not in height:
            stack.append((node, True))
            stack.extend((c, False) for c in _children(node) if c not in height)
    return height


def graph_summary(grad_fn) -> GraphSummary:
    """Count the distinct nodes of an autograd graph without printing it.

    Args:
        grad_fn: ``tensor.grad_fn`` (or the tensor itself).

    Returns:
        a :class:`GraphSummary`.
    """
    root = _root(grad_fn)
    height = _heights(root)
    counts = Counter(type(node).__name__ for node in height)
    return GraphSummary(total=len(height), depth=height[root], counts=dict(counts))


def print_graph(grad_fn, max_depth: int | None = None, file=None) -> GraphSummary:
    """Print the autograd graph below ``grad_fn`` as nested class names.

    Each node is printed as ``<class 'Name'>``, indented two spaces more than the node
    that uses it, children in the order of ``next_functions``. The graph is a DAG:
    a node can be reached along many paths (the ``AccumulateGrad`` of a weight used at
    every time step, for example). A plain tree walk would print it once per path,
    which grows exponentially; here each node is printed in full (with the nodes below
    it) only the first time it is reached, and later visits print
    ``<class 'Name'> (seen above)``. So the printout has one line per edge of the graph
    plus one for the root, not one per path.

    Args:
        grad_fn: ``tensor.grad_fn`` (or the tensor itself).
        max_depth: print nodes up to this many levels below the root (0 prints the root
            only); below a cut node a line ``... (N more nodes below)`` gives the number
            of distinct nodes under it. None prints everything.
        file: where to print (default ``sys.stdout``).

    Returns:
        a :class:`GraphSummary` of the whole graph (not limited by ``max_depth``); it
        is also printed at the end: total nodes, depth and nodes per class.
    """
    root = _root(grad_fn)
    if max_depth is not None:
        max_depth = check_int(max_depth, "max_depth", min_value=0)
    out = sys.stdout if file is None else file
    printed = set()
    stack = [(root, 0)]  # depth-first, with an explicit stack: no recursion limit
    while stack:
        node, level = stack.pop()
        pad = "  " * level
        name = f"<class '{type(node).__name__}'>"
        if node in printed:  # a shared node: print it (and what is below it) only once
            print(f"{pad}{name} (seen above)", file=out)
            continue
        printed.add(node)
        print(f"{pad}{name}", file=out)
        children = _children(node)
        if max_depth is not None and level >= max_depth and children:
            below = len(_heights(node)) - 1
            print(f"{pad}  ... ({below} more node{'s' * (below != 1)} below)", file=out)
        else:
            stack.extend((child, level + 1) for child in reversed(children))

    summary = graph_summary(root)
    print(f"total nodes: {summary.total} (depth {summary.depth})", file=out)
    for cls, n in sorted(summary.counts.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {cls}: {n}", file=out)
    return summary


# -------------------------------------------------------------- drawing the unrolled RNN

_COLORS = {"x": "#cfe2f3", "h": "#fde3c8", "o": "#d9ead3", "C": "#ead1f5"}
_R = 0.32  # node radius
_DX = 1.5  # distance between time steps
_Y = {"x": 0.0, "h": 1.5, "o": 3.0}  # rows: inputs, states, outputs
_WEIGHT_STYLE = dict(
    ha="center",
    va="center",
    fontsize=11,
    color="#8b1e1e",
    fontweight="bold",
    zorder=3,
    gid="weight",
)
_NOTE_STYLE = dict(ha="center", va="center", fontsize=10, color="0.3")


def _node(ax, xy, label, kind, *, dashed=False):
    """A circle with a label; returns the patch (arrows attach to its edge)."""
    patch = Circle(
        xy,
        _R,
        facecolor="white" if dashed else _COLORS[kind],
        edgecolor="0.2",
        linewidth=1.3,
        linestyle="--" if dashed else "-",
        zorder=2,
    )
    ax.add_patch(patch)
    ax.text(*xy, label, ha="center", va="center", fontsize=12, zorder=3, gid="node")
    return patch


def _arrow(ax, start, end, label=None, *, rad=0.0, at=(0.5, 0.0), color="0.25"):
    """An arrow between two (xy, patch) pairs, clipped to the patches' edges.

    The label sits at fraction ``at[0]`` of the way from start to end, shifted
    sideways by ``at[1]`` (positive: to the left of the direction of travel).
    """
    (xa, ya), patch_a = start
    (xb, yb), patch_b = end
    ax.add_patch(
        FancyArrowPatch(
            (xa, ya),
            (xb, yb),
            patchA=patch_a,
            patchB=patch_b,
            arrowstyle="-|>",
            mutation_scale=14,
            linewidth=1.3,
            connectionstyle=f"arc3,rad={rad}",
            color=color,
            zorder=1,
        )
    )
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
    h = ((x, _Y["h"]), _node(ax, (x, _Y["h"]), _sup(state, t), "h"))
    if U is not None:
        xt = ((x, _Y["x"]), _node(ax, (x, _Y["x"]), _sup("x", t), "x"))
        _arrow(ax, xt, h, U, at=(0.5, -0.2))
    if prev is not None:
        _arrow(ax, prev, h, W, at=(0.5, 0.2))
    if outputs_here:
        o = ((x, _Y["o"]), _node(ax, (x, _Y["o"]), _sup("o", t), "o"))
        _arrow(ax, h, o, V, at=(0.5, -0.2))
    return h


def _folded(ax, x0, outputs: str):
    """The folded network: x -> h -> o, and h back to itself through a delay square."""
    h = ((x0, _Y["h"]), _node(ax, (x0, _Y["h"]), _sup("h", "t"), "h"))
    xt = ((x0, _Y["x"]), _node(ax, (x0, _Y["x"]), _sup("x", "t"), "x"))
    _arrow(ax, xt, h, "U", at=(0.5, -0.2))
    if outputs != "none":
        o = ((x0, _Y["o"]), _node(ax, (x0, _Y["o"]), _sup("o", "t"), "o"))
        _arrow(ax, h, o, "V", at=(0.5, -0.2))
    side = 0.22
    sq_xy = (x0 + 1.05, _Y["h"])
    square = Rectangle(
        (sq_xy[0] - side / 2, sq_xy[1] - side / 2),
        side,
        side,
        facecolor="0.15",
        edgecolor="0.15",
        zorder=2,
    )
    ax.add_patch(square)
    _arrow(ax, h, (sq_xy, square), rad=-0.7)
    _arrow(ax, (sq_xy, square), h, "W", rad=-0.7, at=(0.5, 0.55))
    ax.text(sq_xy[0] + 0.05, sq_xy[1] - 0.75, "delay", **{**_NOTE_STYLE, "fontsize": 8})


def draw_unrolled(
    T: int = 4,
    ax=None,
    outputs: str = "every",
    encoder_decoder: bool = False,
    show_loop: bool = True,
    T_out: int | None = None,
    title: str | None = None,
):
    """Draw a recurrent network folded (a loop) and unfolded over T time steps.

    The unfolded graph has input nodes x(t) (bottom), states h(t) (middle) and outputs
    o(t) (top); every step reuses the same input weights U, recurrent weights W and
    output weights V. The initial state h(0) = 0 is drawn dashed. On the left, the
    folded graph shows the same network as one cell whose state returns to itself
    through a delay (black square): the value comes back one step later.

    Args:
        T: number of steps to unfold (1 to 12); with ``encoder_decoder`` the number of
            input steps.
        ax: a matplotlib Axes to draw into; None makes a new figure sized to fit.
        outputs: ``"every"`` (an output per step), ``"last"`` (many-to-one: only o(T))
            or ``"none"``.
        encoder_decoder: draw a sequence-to-sequence model instead: an encoder reads
            x(1..T) into states h(t), its last state becomes the context C, and a
            decoder with its own weights W', V runs T_out steps with states s(t), fed C at
            every step. The folded loop is not drawn in this mode.
        show_loop: draw the folded network beside the unfolded one.
        T_out: decoder steps for ``encoder_decoder`` (default: T).
        title: a title above the drawing.

    Returns:
        the matplotlib Figure. It is not shown and not registered with pyplot (so
        nothing is left open): in a notebook it displays as the cell's value, and
        ``fig.savefig(...)`` writes it to a file.
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
        fig = Figure(figsize=(max(4.0, 0.95 * width), height), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure

    x = 0.0
    if loop:
        _folded(ax, x, outputs)
        ax.text(x + 0.5, -0.85, "folded", gid="caption", **_NOTE_STYLE)
        ax.add_patch(
            FancyArrowPatch(
                (x + 1.75, _Y["h"]),
                (x + 2.75, _Y["h"]),
                arrowstyle="simple",
                mutation_scale=22,
                color="0.75",
                zorder=1,
            )
        )
        ax.text(x + 2.25, _Y["h"] + 0.4, "unfold", **_NOTE_STYLE)
        x += 3.7
    start = x

    h0 = ((x, _Y["h"]), _node(ax, (x, _Y["h"]), _sup("h", 0), "h", dashed=True))
    prev = h0
    for t in range(1, T + 1):
        x += _DX
        here = (outputs == "every" or (outputs == "last" and t == T)) and not encoder_decoder
        prev = _column(ax, x, t, here, prev)
    shared = "U, W" if outputs == "none" else "U, W, V"
    caption = f"unfolded over T = {T} steps: {shared} shared"

    if encoder_decoder:
        # The context C: a bar under the decoder, fed by the encoder's last state and
        # feeding every decoder step.
        x_first, x_last = x + 2 * _DX, x + (T_out + 1) * _DX
        bar_xy = ((x_first + x_last) / 2, _Y["x"])
        bar = FancyBboxPatch(
            (x_first - 0.45, _Y["x"] - 0.27),
            x_last - x_first + 0.9,
            0.54,
            boxstyle="round,pad=0.03",
            facecolor=_COLORS["C"],
            edgecolor="0.2",
            linewidth=1.3,
            zorder=2,
        )
        ax.add_patch(bar)
        ax.text(
            *bar_xy, r"$\mathbf{C}$", ha="center", va="center", fontsize=12, zorder=3, gid="node"
        )
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
    return fig
