"""The figure-rendering engine of the interactive explorers.

An :class:`Explorer` holds controls (ipywidgets), a matplotlib figure built once and a
PNG view of it. A change of a control recomputes the data, updates the artists in
place and re-renders the figure to a PNG shown in a ``widgets.Image``; the parts of
the figure that did not change (axes, ticks, labels) are drawn once and reused. Only
core ipywidgets are used (versions 7.7 and 8 both work).

Without a widget frontend (a static viewer, nbval, a converted notebook) the same
object shows its current figure as a plain image.

For writing an explorer: :func:`slider` makes a labelled slider that redraws while it
is dragged, and :func:`nice_limits` rounds axis limits so that they change only now and
then, which lets the background be reused. The explorers themselves are in
:mod:`rnncourse.widgets`.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import io
import math

import ipywidgets as widgets
import PIL.Image
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg

from rnncourse._validation import check_choice, check_float, check_int

__all__ = ["Explorer", "slider", "nice_ceiling", "nice_limits"]


@contextlib.contextmanager
def _one_thread():
    """Small tensors: one thread avoids waiting on others (much faster on a busy CPU)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


class Explorer:
    """Controls, a figure drawn once, and a PNG view of it.

    ``draw(fig, **values)`` updates the artists for new control values and returns the
    data shown. ``dynamic`` lists the artists it changes (lines, markers, the title):
    only those, and the legends drawn over them, are redrawn on an update (without
    ``dynamic``, every update draws the whole figure); the rest
    (axes, ticks, labels) is drawn once per state of the axes (their limits, labels,
    positions and legends, and the layout engine) and kept for reuse. Drawing ticks and
    labels is most of the cost of a full draw, so reusing them makes an update several
    times faster.

    Attributes:
        controls: dict {name: ipywidget}, the knobs.
        fig: the matplotlib Figure (not registered with pyplot).
        image: the ``widgets.Image`` showing the rendered figure.
        widget: the whole view (controls above the image), a ``widgets.VBox``.
    """

    dpi = 96  # a laptop screen at 100 %: 9-pt text is 12 px high (72 dpi made it 9 px)
    #: backgrounds kept (about 0.6 MB each), so moving a knob back and forth reuses them
    max_backgrounds = 16

    def __init__(self, controls: dict, fig, draw, dynamic=()):
        self.controls, self.fig, self._draw = controls, fig, draw
        if not isinstance(fig.canvas, FigureCanvasAgg):  # e.g. a bare matplotlib Figure()
            FigureCanvasAgg(fig)
        self._dynamic = list(dynamic)
        # static key -> pixels of the figure without the overlay, most recent last
        self._backgrounds: collections.OrderedDict = collections.OrderedDict()
        self._data: dict = {}
        self._png = b""
        self._hold = False
        self.image = widgets.Image(format="png")
        self.widget = widgets.VBox([widgets.HBox(list(controls.values())), self.image])
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    def _on_change(self, change) -> None:
        if not self._hold:
            self.update()

    def set(self, **values) -> Explorer:
        """Set controls by name (e.g. ``ex.set(gain=1.2)``), then redraw once. Returns self."""
        checked = {name: self._check(name, value) for name, value in values.items()}
        self._hold = True
        try:
            for name, value in checked.items():
                self.controls[name].value = value
        finally:
            self._hold = False
        self.update()
        return self

    def _check(self, name, value):
        if name not in self.controls:
            raise TypeError(
                f"unknown control {name!r}; this explorer has {', '.join(self.controls)}."
            )
        w = self.controls[name]
        if isinstance(w, widgets.IntSlider):
            return check_int(value, name, min_value=w.min, max_value=w.max)
        if isinstance(w, widgets.FloatSlider):
            return check_float(value, name, min_value=w.min, max_value=w.max)
        if isinstance(w, widgets.Checkbox):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False, got {value!r}.")
            return value
        return check_choice(value, name, tuple(w.options))

    @property
    def values(self) -> dict:
        """The current value of every control."""
        return {name: w.value for name, w in self.controls.items()}

    @property
    def cached_backgrounds(self) -> int:
        """How many rendered backgrounds are kept for reuse, at most ``max_backgrounds``.

        Read-only. An explorer without ``dynamic`` artists redraws everything and keeps
        none.
        """
        return len(self._backgrounds)

    def data(self) -> dict:
        """The numbers the figure currently shows (NumPy arrays and floats)."""
        return dict(self._data)

    def png(self) -> bytes:
        """The current figure as PNG bytes."""
        return self._png

    def update(self) -> None:
        """Recompute from the controls, update the artists and re-render the PNG."""
        with _one_thread():
            self._data = self._draw(self.fig, **self.values)
        self._png = self._render()
        self.image.value = self._png

    def _overlay(self) -> list:
        """The artists redrawn on every update, in drawing order (legends on top)."""
        dynamic = set(self._dynamic)
        overlay = []
        for ax in self.fig.axes:
            mine = [a for a in ax.get_children() if a in dynamic]
            if mine and ax.get_legend() is not None:
                mine.append(ax.get_legend())
            overlay += sorted(mine, key=lambda a: a.get_zorder())
        return overlay + [a for a in self._dynamic if a.axes is None]

    def _static_key(self) -> tuple:
        """What the reusable background depends on; a change forces a full draw."""
        fig = self.fig
        key = [type(fig.get_layout_engine()).__name__, fig.dpi, tuple(fig.get_size_inches())]
        for ax in self.fig.axes:
            key += [ax.get_visible(), tuple(ax.get_position().bounds), ax.get_xlim(),
                    ax.get_ylim(), ax.get_xscale(), ax.get_yscale(), ax.get_xlabel(),
                    ax.get_ylabel(), ax.get_title(), ax.get_legend()]  # fmt: skip
        return tuple(key)

    def _render(self) -> bytes:
        """Draw the figure with Agg and encode it as PNG with fast compression.

        A full draw happens only when the background changed (see the class docstring);
        otherwise the stored background is restored and only the overlay is drawn on it.
        zlib level 1 instead of 6 makes the PNG barely larger for line plots.
        """
        if self.fig.dpi != self.dpi:
            self.fig.set_dpi(self.dpi)
        canvas = self.fig.canvas
        overlay = self._overlay()
        # without a list of dynamic artists anything may have changed: draw everything
        key = self._static_key()
        background = self._backgrounds.get(key) if self._dynamic else None
        if background is None:
            engine = self.fig.get_layout_engine()
            if engine is not None and type(engine).__name__ != "PlaceHolderLayoutEngine":
                # lay out once with everything visible, then keep the axes where they are
                # (a draw function that changes labels sets "constrained" again)
                engine.execute(self.fig)
                self.fig.set_layout_engine("none")
            shown = [a.get_visible() for a in overlay]
            for a in overlay:
                a.set_visible(False)
            try:
                canvas.draw()
            finally:
                for a, visible in zip(overlay, shown, strict=True):
                    a.set_visible(visible)
            if self._dynamic:  # keyed after the layout ran: positions and engine changed
                self._backgrounds[self._static_key()] = canvas.copy_from_bbox(self.fig.bbox)
            while len(self._backgrounds) > self.max_backgrounds:
                self._backgrounds.popitem(last=False)
        else:
            self._backgrounds.move_to_end(key)
            canvas.restore_region(background)
        renderer = canvas.get_renderer()
        for a in overlay:
            a.draw(renderer)
        width, height = canvas.get_width_height(physical=True)
        rgba = PIL.Image.frombuffer(
            "RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1
        )
        buf = io.BytesIO()
        rgba.save(buf, format="png", compress_level=1)
        return buf.getvalue()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {
            "text/plain": f"<{type(self).__name__} {self.values}>",
            "image/png": base64.b64encode(self._png).decode("ascii"),
        }
        model_id = getattr(self.widget, "model_id", None)
        if model_id:
            bundle["application/vnd.jupyter.widget-view+json"] = {
                "version_major": 2,
                "version_minor": 0,
                "model_id": model_id,
            }
        return bundle


def slider(cls, value, lo, hi, step, description, continuous=True):
    """A ``widgets.IntSlider`` or ``widgets.FloatSlider`` (``cls``) with a readable label.

    ``value`` in ``[lo, hi]`` moves in steps of ``step``; with ``continuous`` the
    explorer redraws while the slider is dragged.
    """
    # Redraw while the slider is dragged: an update (recompute, overlay on the kept
    # background, PNG) takes 15-31 ms here, under the ~50 ms that smooth dragging needs
    # (benchmarks/bench_widgets.py).
    if not (isinstance(cls, type) and issubclass(cls, (widgets.IntSlider, widgets.FloatSlider))):
        raise TypeError(f"cls must be widgets.IntSlider or widgets.FloatSlider, got {cls!r}.")
    return cls(
        value=value,
        min=lo,
        max=hi,
        step=step,
        description=description,
        continuous_update=continuous,
        style={"description_width": "initial"},
    )


def nice_ceiling(value: float) -> float:
    """The smallest of 0, 1, 1.5, 2, 3, 5, 7.5 times a power of ten that is >= value.

    Axis limits rounded this way change only now and then while a slider is dragged, so
    the figure's background (ticks and labels) can be reused between updates.
    """
    value = check_float(value, "value")
    if not value > 0:
        return 0.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 1.5, 2, 3, 5, 7.5, 10) if m * power >= value * (1 - 1e-12))


def nice_limits(lo: float, hi: float, pad_low: float = 0.05, pad_high: float = 0.05):
    """Limits around [lo, hi] (lo <= 0 <= hi) rounded by :func:`nice_ceiling`, with padding.

    ``pad_low`` and ``pad_high`` are fractions of the rounded span added below and above.
    Returns ``(low, high)``.
    """
    lo = check_float(lo, "lo", max_value=0.0)
    hi = check_float(hi, "hi", min_value=0.0)
    pad_low = check_float(pad_low, "pad_low", min_value=0.0)
    pad_high = check_float(pad_high, "pad_high", min_value=0.0)
    lo, hi = -nice_ceiling(-lo), nice_ceiling(hi)
    span = (hi - lo) or 1.0
    return lo - pad_low * span, hi + pad_high * span
