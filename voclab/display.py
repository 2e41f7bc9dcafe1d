"""Seeing and hearing: waveform and spectrogram plots, audio players and the listening grid.

The listening grid shows several clips side by side, each with an ``<audio>`` player
and a small spectrogram with its axes (seconds, kHz). It is plain HTML (audio and images
embedded as base64), so it works in JupyterLab, VS Code, exported HTML and without widgets.

:class:`HTMLOutput` is what the notebooks' sliders redraw into: a drop-in for
``ipywidgets.Output`` (``with out:``, ``out.clear_output(wait=True)``) that turns what the block
prints and displays into HTML in the kernel and shows it in an ``ipywidgets.HTML``. Headless
runs (``jupyter nbconvert --execute``, nbclient, papermill, nbgrader) can hang on an
``Output`` widget; on this one they cannot (see the class).

Notebook: every notebook; introduced in 01_phase_and_griffin_lim.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass

import numpy as np

from .audio import check_waveform
from .errors import ShapeError

__all__ = [
    "HTMLOutput",  # noqa: F822 - built on first use (module __getattr__): no ipywidgets on import
    "ListeningGrid",
    "audio_html",
    "figure_png",
    "listening_grid",
    "output_html",
    "plot_spectrogram",
    "plot_waveform",
]


def _numpy(y) -> np.ndarray:
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    return np.asarray(y)


def plot_waveform(y, sr: int, *, ax=None, title: str | None = None, color: str = "C0"):
    """Plot a waveform against time in seconds.

    Notebook: 01_phase_and_griffin_lim.

    Parameters
    ----------
    y : array [shape=(samples,)]
    sr : int
        Sample rate in Hz.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made if omitted.
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    y = _numpy(y).reshape(-1)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 2))
    ax.plot(np.arange(len(y)) / sr, y, color=color, linewidth=0.6)
    ax.set_xlim(0, len(y) / sr)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    if title:
        ax.set_title(title)
    return ax


def plot_spectrogram(
    S,
    *,
    sr: int,
    hop_length: int,
    ax=None,
    title: str | None = None,
    kind: str = "magnitude",
    top_db: float = 80.0,
    fmax: float | None = None,
    colorbar: bool = True,
    cmap: str = "magma",
):
    """Show a spectrogram image with time and frequency axes.

    Notebook: 01_phase_and_griffin_lim.

    Parameters
    ----------
    S : array [shape=(freq, frames)]
        A magnitude (shown in dB, the top ``top_db`` dB), a phase in radians
        (``kind="phase"``, cyclic colour map), a log-mel or any other image
        (``kind="mel"`` / ``kind="raw"``, shown as is).
    sr, hop_length : int
        For the axes: frequency up to ``sr / 2`` (linear bins) and time in seconds.
    ax : matplotlib Axes, optional
    title : str, optional
    kind : {"magnitude", "phase", "mel", "raw"}
    top_db : float
        Dynamic range of a magnitude plot.
    fmax : float, optional
        Upper frequency limit of the y axis (linear spectrograms).
    colorbar : bool
    cmap : str

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    S = _numpy(S)
    if S.ndim != 2:
        raise ShapeError(f"plot_spectrogram() shows one (freq, frames) image, got shape {S.shape}.")
    if np.iscomplexobj(S):
        S = np.abs(S)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    duration = S.shape[1] * hop_length / sr
    if kind == "magnitude":
        db = 20 * np.log10(np.maximum(S, 1e-10))
        image, label = np.maximum(db, db.max() - top_db), "dB"
        extent = [0, duration, 0, sr / 2]
    elif kind == "phase":
        image, label, cmap = S, "radians", "twilight"
        extent = [0, duration, 0, sr / 2]
    else:
        image, label = S, ("log mel" if kind == "mel" else "")
        extent = [0, duration, 0, S.shape[0]]
    mesh = ax.imshow(image, origin="lower", aspect="auto", cmap=cmap, extent=extent, interpolation="nearest")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)" if kind in ("magnitude", "phase") else "band")
    if fmax and kind in ("magnitude", "phase"):
        ax.set_ylim(0, fmax)
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=label, pad=0.01)
    return ax


def _wav_base64(y: np.ndarray, sr: int, normalize: bool) -> str:
    import soundfile as sf

    y = check_waveform(_numpy(y).reshape(-1))
    peak = float(np.abs(y).max())
    if normalize and peak > 0:
        y = y * (0.9 / peak)
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(y, -1, 1), int(sr), format="WAV", subtype="PCM_16")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def audio_html(y, sr: int, *, normalize: bool = True, width: str | None = None) -> str:
    """An HTML ``<audio controls>`` element with the clip embedded as a 16-bit WAV.

    Notebook: 01_phase_and_griffin_lim.

    Parameters
    ----------
    y : array [shape=(samples,)]
    sr : int
    normalize : bool
        Scale the peak to 0.9 so clips compare at equal loudness (default), as
        ``IPython.display.Audio`` does.
    width : str, optional
        A CSS width for the player, e.g. ``"100%"`` to fill a grid cell.

    Returns
    -------
    html : str
    """
    data = _wav_base64(y, sr, normalize)
    style = f' style="width:{html.escape(width)}"' if width else ""
    return f'<audio controls preload="metadata"{style} src="data:audio/wav;base64,{data}"></audio>'


def figure_png(fig, *, dpi: int = 80) -> str:
    """Render a matplotlib figure to an ``<img>`` tag (base64 PNG) and close it.

    Notebook: every notebook (the listening grid's spectrograms; widgets that redraw).

    Parameters
    ----------
    fig : matplotlib Figure
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    html : str
        ``<img src="data:image/png;base64,...">``.
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" style="max-width:100%"/>'


# The thumbnails of the listening grid: small, but with readable axes. At 100 dpi a 7-point label is
# about 10 px high; the figure is 320 x 150 px before tight cropping, a third of a notebook's width.
THUMBNAIL_SIZE = (3.2, 1.5)   # inches
THUMBNAIL_DPI = 100
THUMBNAIL_FONT = 7            # points: tick labels and axis labels


def _small_spectrogram(y: np.ndarray, sr: int) -> str:
    """A thumbnail spectrogram (dB, top 80 dB) with time in s and frequency in kHz, as an ``<img>``."""
    return figure_png(_small_spectrogram_figure(y, sr), dpi=THUMBNAIL_DPI)


def _small_spectrogram_figure(y: np.ndarray, sr: int):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from .spectral import stft

    n_fft = 1024 if sr > 16000 else 512
    S = np.abs(stft(np.asarray(y, dtype=np.float32), n_fft=n_fft, hop_length=n_fft // 4))
    fig, ax = plt.subplots(figsize=THUMBNAIL_SIZE)
    plot_spectrogram(S, sr=sr, hop_length=n_fft // 4, ax=ax, colorbar=False)
    ax.set_xlabel("time (s)", fontsize=THUMBNAIL_FONT, labelpad=1)
    ax.set_ylabel("kHz", fontsize=THUMBNAIL_FONT, labelpad=1)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda hz, _: f"{hz / 1000:g}"))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda seconds, _: f"{seconds:g}"))
    ax.tick_params(labelsize=THUMBNAIL_FONT, length=2, width=0.6, pad=1)
    for spine in ax.spines.values():
        spine.set_linewidth(0.6)
    return fig


@dataclass
class ListeningGrid:
    """Clips side by side as plain HTML; displays itself in Jupyter (``_repr_html_``)."""

    html: str

    def _repr_html_(self) -> str:
        return self.html

    def save(self, path) -> None:
        """Write a standalone HTML page (e.g. to share a comparison)."""
        from pathlib import Path

        Path(path).write_text(f"<!doctype html><meta charset='utf-8'>{self.html}", encoding="utf-8")


def listening_grid(clips, sr: int | None = None, *, columns: int = 3, title: str | None = None,
                   spectrograms: bool = True, normalize: bool = True) -> ListeningGrid:
    """Several clips side by side, each with a caption, an audio player and a small spectrogram.

    Plain HTML, no widgets: it survives export, VS Code and nbviewer.

    Notebook: every notebook; introduced in 01_phase_and_griffin_lim.

    Parameters
    ----------
    clips : dict {caption: waveform or (waveform, sr)} or list of (caption, waveform[, sr])
        Waveforms [shape=(samples,)], numpy or torch.
    sr : int, optional
        Sample rate of clips given without their own.
    columns : int
        Clips per row.
    title : str, optional
        A heading above the grid.
    spectrograms : bool
        Draw the small spectrograms (turn off for many long clips).
    normalize : bool
        Play every clip at the same peak level (see :func:`audio_html`).

    Returns
    -------
    grid : ListeningGrid
        Shown by Jupyter; ``grid.html`` is the markup.

    Examples
    --------
    >>> t = np.arange(8000) / 8000
    >>> grid = listening_grid({"440 Hz": np.sin(2 * np.pi * 440 * t)}, sr=8000)
    >>> "<audio" in grid.html
    True
    """
    items = list(clips.items()) if isinstance(clips, dict) else list(clips)
    if not items:
        raise ShapeError("listening_grid() needs at least one clip.")
    cells = []
    for item in items:
        caption, rest = item[0], item[1:]
        if len(rest) == 1 and isinstance(rest[0], tuple):
            rest = rest[0]
        y = rest[0]
        clip_sr = rest[1] if len(rest) > 1 else sr
        if clip_sr is None:
            raise ShapeError(f"clip {caption!r} has no sample rate: pass sr= or (waveform, sr).")
        y = _numpy(y).reshape(-1).astype(np.float32)
        image = _small_spectrogram(y, int(clip_sr)) if spectrograms else ""
        cells.append(
            '<div style="border:1px solid #ddd;border-radius:6px;padding:6px;">'
            f'<div style="font-weight:600;font-size:0.9em;margin-bottom:4px">{html.escape(str(caption))}</div>'
            f"{audio_html(y, int(clip_sr), normalize=normalize, width='100%')}"
            f'<div style="font-size:0.75em;color:#666">{len(y) / clip_sr:.2f} s, {int(clip_sr)} Hz</div>'
            f"{image}</div>"
        )
    heading = f"<h4 style='margin:4px 0'>{html.escape(title)}</h4>" if title else ""
    grid = (
        f'<div class="voclab-listening-grid">{heading}<div style="display:grid;'
        f'grid-template-columns:repeat({int(columns)}, minmax(0, 1fr));gap:8px;">'
        + "".join(cells)
        + "</div></div>"
    )
    return ListeningGrid(grid)


# --------------------------------------------------------------------------- widgets that redraw

_STREAM_STYLE = {
    "stdout": "margin:2px 0;white-space:pre-wrap;font-size:0.85em",
    "stderr": "margin:2px 0;white-space:pre-wrap;font-size:0.85em;background:#fdd",
}


def output_html(data: dict, metadata: dict | None = None) -> str:
    """HTML for one display bundle (the ``{mime type: data}`` dict that ``display()`` publishes).

    Notebook: 01_phase_and_griffin_lim, 02_dilated_convolutions (through :class:`HTMLOutput`).

    ``text/html`` is kept as it is; PNG and JPEG images become ``<img>`` tags with their data
    embedded (``width``/``height`` from ``metadata`` as ``display`` gives them, e.g. for retina
    figures); SVG is inlined; anything else shows its ``text/plain`` form, escaped.

    Parameters
    ----------
    data : dict
        The bundle: mime type -> content (``str``, or ``bytes`` for an image).
    metadata : dict, optional
        Per mime type, e.g. ``{"image/png": {"width": 640, "height": 480}}``.

    Returns
    -------
    html : str

    Examples
    --------
    >>> output_html({"text/plain": "1 < 2"})
    '<pre style="margin:2px 0;white-space:pre-wrap;font-size:0.85em">1 &lt; 2</pre>'
    """
    metadata = metadata or {}
    if "text/html" in data:
        return str(data["text/html"])
    for mime in ("image/png", "image/jpeg"):
        if mime in data:
            payload = data[mime]
            if isinstance(payload, bytes):
                payload = base64.b64encode(payload).decode("ascii")
            size = metadata.get(mime, {}) if isinstance(metadata.get(mime), dict) else {}
            attributes = "".join(f' {key}="{int(size[key])}"' for key in ("width", "height") if key in size)
            return f'<img src="data:{mime};base64,{payload.strip()}"{attributes} style="max-width:100%"/>'
    if "image/svg+xml" in data:
        return str(data["image/svg+xml"])
    text = data.get("text/plain", "")
    return f'<pre style="{_STREAM_STYLE["stdout"]}">{html.escape(str(text))}</pre>'


class _Capture:
    """What one ``with HTMLOutput():`` block printed and displayed, in order, while it runs.

    ``sys.stdout``/``sys.stderr`` and the IPython shell's display publisher are swapped for
    recorders (as :func:`IPython.utils.capture.capture_output` does, but keeping the order of
    text and displays) and put back on exit.
    """

    def __init__(self) -> None:
        self.parts: list[tuple[str, object]] = []   # ("stdout"|"stderr", text) or ("display", html)
        self.cleared = False                        # clear_output() was called inside the block

    def __enter__(self):
        import sys

        self._streams = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Recorder(self, "stdout"), _Recorder(self, "stderr")
        self._shell = _shell()
        if self._shell is not None:
            self._publisher = self._shell.display_pub
            self._shell.display_pub = _publisher_class()(self)
        return self

    def __exit__(self, *exc) -> None:
        import sys

        sys.stdout, sys.stderr = self._streams
        if self._shell is not None:
            self._shell.display_pub = self._publisher

    def clear(self) -> None:
        self.parts.clear()
        self.cleared = True

    def html(self) -> str:
        pieces, stream, text = [], None, []
        for kind, value in self.parts + [("end", "")]:
            if kind == stream:
                text.append(value)
                continue
            if stream is not None and "".join(text):
                pieces.append(f'<pre style="{_STREAM_STYLE[stream]}">{html.escape("".join(text))}</pre>')
            stream, text = (kind, [value]) if kind in _STREAM_STYLE else (None, [])
            if kind == "display":
                pieces.append(value)
        return "".join(pieces)


class _Recorder(io.TextIOBase):
    def __init__(self, capture: _Capture, name: str) -> None:
        self._capture, self.name = capture, name

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._capture.parts.append((self.name, str(text)))
        return len(text)


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    return get_ipython()


def _publisher_class():
    from IPython.core.displaypub import DisplayPublisher

    class _RecordingPublisher(DisplayPublisher):
        """The shell's display publisher while a block runs: every display becomes HTML, in order."""

        def __init__(self, capture: _Capture) -> None:
            super().__init__()
            self._capture = capture

        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs) -> None:
            self._capture.parts.append(("display", output_html(data, metadata)))

        def clear_output(self, wait=False) -> None:
            self._capture.clear()

    return _RecordingPublisher


_HTMLOUTPUT_CLASS = None


def _html_output_class():
    global _HTMLOUTPUT_CLASS
    if _HTMLOUTPUT_CLASS is not None:
        return _HTMLOUTPUT_CLASS
    import ipywidgets

    class HTMLOutput(ipywidgets.HTML):
        """A widget area that a slider's callback redraws: ``ipywidgets.Output``'s interface, kept in an
        ``ipywidgets.HTML``.

        Notebook: 01_phase_and_griffin_lim and 02_dilated_convolutions (their widgets).

        ::

            out = HTMLOutput()
            def redraw(change=None):
                out.clear_output(wait=True)
                with out:                       # what the block prints and displays replaces the view
                    plt.show()                  # a matplotlib figure (inline backend)
                    print("receptive field", rf)
                    display(HTML(audio_html(y, sr)))
            slider.observe(redraw, names="value")
            redraw()
            display(widgets.VBox([slider, out]))

        The kernel turns the block's output into HTML (:func:`output_html`: figures as embedded
        PNG, ``<audio>`` players as they are, text as ``<pre>``) and sets the widget's ``value``
        once, when the block ends: the view changes in one step. An exception in the block is
        shown in the view (``<pre class="voclab-widget-error">``) and raised as usual, so a failing
        first draw fails its cell, also in a headless run.

        Why not ``ipywidgets.Output``: a headless run has no front end to hold an ``Output``'s
        contents, so nbclient (behind ``jupyter nbconvert --execute``, papermill, nbgrader) plays
        one: for each output it sends the widget's new state back to the kernel on the shell
        socket, while it is waiting on that same socket for the cell's ``execute_reply``. With
        pyzmq's asyncio sockets that send can swallow the wake-up of the wait: the reply sits in the
        socket, the kernel is idle, and nbclient waits until the cell timeout (forever with
        nbconvert's default of none). An ``HTML`` widget has no such stand-in; nothing is sent.

        Differences from ``Output``: a widget displayed inside the block shows as its text form,
        and output is not captured from other threads.
        """

        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            self._captures: list[_Capture] = []
            self._clear_on_next = False

        def clear_output(self, wait: bool = False) -> None:
            """Empty the view now, or (``wait=True``) when the next output arrives, as ``Output`` does."""
            if self._captures:
                self._captures[-1].clear()
            elif wait:
                self._clear_on_next = True
            else:
                self._clear_on_next = False
                self.value = ""

        def __enter__(self):
            capture = _Capture()
            self._captures.append(capture)
            capture.__enter__()
            return self

        def __exit__(self, etype, evalue, tb) -> bool:
            capture = self._captures.pop()
            capture.__exit__(etype, evalue, tb)
            markup = capture.html()
            if etype is not None:
                import traceback

                text = "".join(traceback.format_exception(etype, evalue, tb))
                markup += (f'<pre class="voclab-widget-error" style="{_STREAM_STYLE["stderr"]}">'
                           f"{html.escape(text)}</pre>")
            replace = capture.cleared or self._clear_on_next
            if markup or replace:
                self.value = markup if replace else self.value + markup
                self._clear_on_next = False
            return False  # an exception goes on up

    _HTMLOUTPUT_CLASS = HTMLOutput
    return HTMLOutput


def __getattr__(name: str):
    # HTMLOutput is built on first use: importing voclab.display does not import ipywidgets.
    if name == "HTMLOutput":
        return _html_output_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
