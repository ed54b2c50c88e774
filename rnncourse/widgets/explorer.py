"""The rendering engine of the interactive explorers (ipywidgets 7.7 or 8), and helpers
for writing one (rounded axis limits change only now and then, so backgrounds are reused)."""

import base64
import collections
import html
import io
import math

import ipywidgets
import matplotlib
import numpy as np
import PIL.Image
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.legend import Legend
from matplotlib.transforms import Bbox

from rnncourse._validation import check_choice, check_float, check_int

__all__ = ["Explorer", "OPAQUE", "slider", "nice_ceiling", "nice_limits", "for_log_axis"]

#: no font hinting: the same look at 96 dpi, and text draws about a fifth faster
_QUICK_TEXT = {"text.hinting": "no_hinting"}
_FAST_OCTREE, _NO_DITHER = 2, 0  # Pillow's Quantize.FASTOCTREE, Dither.NONE (named from 9.1)
#: Every slider's width: its track keeps at least 150 px beside the longest label.
SLIDER_WIDTH = "400px"
#: ``ax.legend(**OPAQUE)``: an opaque legend is kept as pixels and pasted, not redrawn
OPAQUE = {"frameon": True, "framealpha": 1, "edgecolor": "none"}


class Explorer:
    """Controls, a figure drawn once, and a PNG view of it.

    ``draw(**values)`` gets every control's value by name (no figure: it closes over its
    artists), updates the artists and returns the data shown. Only the ``dynamic`` artists
    (and legends over them) are redrawn on an update, over a background kept per state of
    the axes; without ``dynamic`` every update draws the whole figure. Attributes:
    ``controls`` (dict {name: ipywidget}, the main knob first), ``fig`` (the Figure, not
    registered with pyplot), ``image`` (the ``widgets.Image`` of the figure) and
    ``widget`` (the whole view, a ``widgets.VBox``).
    """

    dpi = 96  # a laptop screen at 100 %: 9-pt text is 12 px high
    #: backgrounds kept (about 0.6 MB each), so moving a knob back and forth reuses them
    max_backgrounds = 16

    def __init__(self, controls: dict, fig, draw, dynamic=()):
        self.controls, self.fig, self._draw = controls, fig, draw
        if not isinstance(fig.canvas, FigureCanvasAgg):  # e.g. a bare matplotlib Figure()
            FigureCanvasAgg(fig)
        self._dynamic = list(dynamic)
        # static key -> (background pixels, pasted legends' pixels), most recent last
        self._backgrounds: collections.OrderedDict = collections.OrderedDict()
        self._hold = False
        self.image = ipywidgets.Image(
            format="png", layout=ipywidgets.Layout(max_width="100%", height="auto")
        )
        row = ipywidgets.Layout(flex_flow="row wrap", align_items="center")
        self.widget = ipywidgets.VBox([ipywidgets.HBox(list(controls.values()), layout=row)])
        # Where the live view renders, this rule hides the plain picture shown beside it.
        hide = f"<style>img.{self._still_class()} {{display: none !important}}</style>"
        hider = ipywidgets.HTML(hide, layout=ipywidgets.Layout(display="none"))
        self.widget.children += (self.image, hider)
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    def _on_change(self, change) -> None:
        if not self._hold:
            self.update()

    def set(self, **values) -> "Explorer":
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
        if isinstance(w, ipywidgets.IntSlider):
            return check_int(value, name, min_value=w.min, max_value=w.max)
        if isinstance(w, ipywidgets.FloatSlider):
            return check_float(value, name, min_value=w.min, max_value=w.max)
        if isinstance(w, ipywidgets.Checkbox):
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
        """How many backgrounds are kept for reuse (read-only; 0 without ``dynamic``)."""
        return len(self._backgrounds)

    def data(self) -> dict:
        """The numbers the figure currently shows (NumPy arrays and floats)."""
        return dict(self._data)

    def png(self) -> bytes:
        """The current figure as PNG bytes."""
        return self._png

    def update(self) -> None:
        """Recompute from the controls, update the artists and re-render the PNG."""
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # small tensors: much faster on a busy CPU
        try:
            self._data = self._draw(**self.values)
        finally:
            torch.set_num_threads(threads)
        with matplotlib.rc_context(_QUICK_TEXT):
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
        for ax in fig.axes:
            key += [ax.get_visible(), tuple(ax.get_position().bounds), ax.get_xlim(),
                    ax.get_ylim(), ax.get_xscale(), ax.get_yscale(), ax.get_xlabel(),
                    ax.get_ylabel(), ax.get_title(), ax.get_legend()]  # fmt: skip
        return tuple(key)

    def _render(self) -> bytes:
        """Draw the overlay over a kept background (or a new one) and return the PNG."""
        if self.fig.dpi != self.dpi:
            self.fig.set_dpi(self.dpi)
        canvas, overlay = self.fig.canvas, self._overlay()
        # an opaque legend is kept as pixels and pasted: drawing its text costs about as
        # much as the rest of an update
        pasted = [a for a in overlay if isinstance(a, Legend) and _opaque(a)]
        key = self._static_key()
        if self._dynamic and key in self._backgrounds:
            self._backgrounds.move_to_end(key)
            background, patches = self._backgrounds[key]
            canvas.restore_region(background)
        else:
            patches = self._draw_background(overlay, pasted)
        renderer = canvas.get_renderer()
        for a in overlay:
            if a not in pasted:
                a.draw(renderer)
        for patch in patches:
            canvas.restore_region(patch)
        return _png(canvas)

    def _draw_background(self, overlay: list, pasted: list) -> list:
        """Draw all but the overlay (with ``dynamic``, kept); returns the pasted legends."""
        fig, canvas = self.fig, self.fig.canvas
        engine = fig.get_layout_engine()
        if engine is not None and type(engine).__name__ != "PlaceHolderLayoutEngine":
            # lay out once with everything visible, then keep the axes where they are
            # (a draw function that changes labels sets "constrained" again)
            engine.execute(fig)
            fig.set_layout_engine("none")
        shown = [a.get_visible() for a in overlay]
        for a in overlay:
            a.set_visible(False)
        try:
            canvas.draw()
        finally:
            for a, visible in zip(overlay, shown, strict=True):
                a.set_visible(visible)
        patches = []
        if self._dynamic:
            renderer = canvas.get_renderer()
            background = canvas.copy_from_bbox(fig.bbox)
            for legend in pasted:
                legend.draw(renderer)
                box = legend.get_window_extent(renderer)  # whole pixels inside the box:
                inside = [math.ceil(box.x0), math.ceil(box.y0), int(box.x1), int(box.y1)]
                patches.append(canvas.copy_from_bbox(Bbox.from_extents(*inside)))
            canvas.restore_region(background)
            # keyed after the layout ran: positions and engine changed
            self._backgrounds[self._static_key()] = (background, patches)
            while len(self._backgrounds) > self.max_backgrounds:
                self._backgrounds.popitem(last=False)
        return patches

    def _still_class(self) -> str:
        """The HTML class of this explorer's plain picture (its view's id makes it unique)."""
        return f"rnncourse-still-{getattr(self.widget, 'model_id', None) or id(self)}"

    def _display_bundles(self) -> list[dict]:
        """The two outputs a display makes: the plain picture (its own output, for frontends
        without a widget manager; the live view hides it by its class), then the live view."""
        png = base64.b64encode(self._png).decode("ascii")
        name = f"<{type(self).__name__} {self.values}>"
        still = {
            "text/html": f'<img class="{self._still_class()}" alt="{html.escape(name[1:-1])}" '
            f'src="data:image/png;base64,{png}">',
            "image/png": png,
            "text/plain": name,
        }
        live = {"text/plain": f"{name} (its sliders move while the kernel runs)"}
        model_id = getattr(self.widget, "model_id", None)
        if model_id:
            view = {"version_major": 2, "version_minor": 0, "model_id": model_id}
            live["application/vnd.jupyter.widget-view+json"] = view
        return [still, live]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for bundle in self._display_bundles():
            display(bundle, raw=True)


def _png(canvas) -> bytes:
    """The canvas as a 256-colour PNG (enough for lines and text: half the size, quicker
    to encode), with zlib level 1 (barely larger than level 6)."""
    size = canvas.get_width_height(physical=True)
    rgba = PIL.Image.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    palette = rgba.convert("RGB").quantize(256, method=_FAST_OCTREE, dither=_NO_DITHER)
    buf = io.BytesIO()
    palette.save(buf, format="png", compress_level=1)
    return buf.getvalue()


def _opaque(legend: Legend) -> bool:
    """Whether a legend's frame hides everything under it."""
    return legend.get_frame_on() and legend.get_frame().get_facecolor()[3] == 1.0


def slider(cls, value, lo, hi, step, description, continuous=True):
    """A ``SLIDER_WIDTH`` wide ``widgets.IntSlider`` or ``FloatSlider`` (``cls``) from ``lo``
    to ``hi`` in steps of ``step``; ``continuous``: redraw while dragged (an update takes
    at most 30 ms)."""
    sliders = (ipywidgets.IntSlider, ipywidgets.FloatSlider)
    if not (isinstance(cls, type) and issubclass(cls, sliders)):
        raise TypeError(f"cls must be widgets.IntSlider or widgets.FloatSlider, got {cls!r}.")
    return cls(
        value=value,
        min=lo,
        max=hi,
        step=step,
        description=description,
        continuous_update=continuous,
        style={"description_width": "initial"},
        layout=ipywidgets.Layout(width=SLIDER_WIDTH),
    )


def nice_ceiling(value: float) -> float:
    """The smallest of 0, 1, 1.5, 2, 3, 5, 7.5 times a power of ten that is >= value."""
    value = check_float(value, "value")
    if not value > 0:
        return 0.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 1.5, 2, 3, 5, 7.5, 10) if m * power >= value * (1 - 1e-12))


def nice_limits(lo: float, hi: float, pad_low: float = 0.05, pad_high: float = 0.05):
    """``(low, high)`` around [lo, hi] (lo <= 0 <= hi) rounded by :func:`nice_ceiling`,
    padded by ``pad_low`` and ``pad_high`` times the rounded span."""
    lo = check_float(lo, "lo", max_value=0.0)
    hi = check_float(hi, "hi", min_value=0.0)
    pad_low = check_float(pad_low, "pad_low", min_value=0.0)
    pad_high = check_float(pad_high, "pad_high", min_value=0.0)
    lo, hi = -nice_ceiling(-lo), nice_ceiling(hi)
    span = (hi - lo) or 1.0
    return lo - pad_low * span, hi + pad_high * span


def for_log_axis(y: np.ndarray) -> np.ndarray:
    """Values to draw on a log axis: non-positive or tiny ones become gaps (NaN)."""
    return np.where(y > 1e-30, y, np.nan)
