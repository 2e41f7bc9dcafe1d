"""Seeing and hearing: waveform and spectrogram plots, audio players and the listening grid.

The listening grid shows several clips side by side, each with an ``<audio>`` player
and a small spectrogram. It is plain HTML (audio and images embedded as base64), so
it works in JupyterLab, VS Code, exported HTML and without widgets.

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

__all__ = ["plot_waveform", "plot_spectrogram", "audio_html", "figure_png", "listening_grid", "ListeningGrid"]


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


def _small_spectrogram(y: np.ndarray, sr: int) -> str:
    import matplotlib.pyplot as plt

    from .spectral import stft

    n_fft = 1024 if sr > 16000 else 512
    S = np.abs(stft(np.asarray(y, dtype=np.float32), n_fft=n_fft, hop_length=n_fft // 4))
    fig, ax = plt.subplots(figsize=(3.2, 1.5))
    plot_spectrogram(S, sr=sr, hop_length=n_fft // 4, ax=ax, colorbar=False)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(labelsize=6)
    return figure_png(fig, dpi=72)


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
