"""Tests of voclab.display: plots, audio players and the listening grid (matplotlib Agg)."""

from __future__ import annotations

import base64
import io
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import soundfile as sf
import torch

from voclab import display
from voclab.errors import ShapeError, VoclabError
from voclab.spectral import stft

AUDIO_SRC = re.compile(r'<audio[^>]*src="data:audio/wav;base64,([A-Za-z0-9+/=]+)"')
IMG_SRC = re.compile(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def tone(n, sr, freq=440.0, amplitude=0.3):
    return (amplitude * np.sin(2 * np.pi * freq * np.arange(n) / sr)).astype(np.float32)


def decoded_clips(markup):
    """(samples, sr) of each embedded WAV, in order."""
    clips = []
    for data in AUDIO_SRC.findall(markup):
        y, sr = sf.read(io.BytesIO(base64.b64decode(data)))
        clips.append((len(y), sr))
    return clips


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------- plots


def test_plot_waveform_returns_axes():
    y = tone(1600, 16000)
    ax = display.plot_waveform(y, 16000, title="tone")
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.get_title() == "tone"
    assert ax.get_xlim() == pytest.approx((0, 0.1))
    _fig, given = plt.subplots()
    assert display.plot_waveform(torch.from_numpy(y), 16000, ax=given) is given


@pytest.mark.parametrize("kind", ["magnitude", "phase", "mel", "raw"])
def test_plot_spectrogram_returns_axes(kind):
    S = stft(tone(4000, 16000), n_fft=256, hop_length=64)
    image = np.angle(S) if kind == "phase" else np.abs(S)
    ax = display.plot_spectrogram(image, sr=16000, hop_length=64, kind=kind, title=kind, fmax=4000)
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.get_title() == kind
    if kind in ("magnitude", "phase"):
        assert ax.get_ylim() == pytest.approx((0, 4000))


def test_plot_spectrogram_takes_complex_and_torch_without_colorbar():
    S = stft(tone(4000, 16000), n_fft=256, hop_length=64)
    fig, ax = plt.subplots()
    assert display.plot_spectrogram(S, sr=16000, hop_length=64, ax=ax, colorbar=False) is ax
    assert len(fig.axes) == 1  # no colorbar axes added
    display.plot_spectrogram(torch.from_numpy(np.abs(S)), sr=16000, hop_length=64)


def test_plot_spectrogram_rejects_a_batch():
    with pytest.raises(ShapeError, match="one"):
        display.plot_spectrogram(np.ones((2, 10, 10)), sr=16000, hop_length=64)


def test_figure_png_closes_the_figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    tag = display.figure_png(fig)
    assert tag.startswith("<img") and IMG_SRC.search(tag)
    assert base64.b64decode(IMG_SRC.search(tag).group(1))[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)


def test_audio_html_decodes():
    y = tone(8000, 16000)
    markup = display.audio_html(y, 16000)
    assert markup.startswith("<audio controls")
    data = AUDIO_SRC.search(markup).group(1)
    decoded, sr = sf.read(io.BytesIO(base64.b64decode(data)))
    assert sr == 16000 and len(decoded) == 8000
    assert np.abs(decoded).max() == pytest.approx(0.9, abs=1e-3)  # normalised peak
    raw, _ = sf.read(io.BytesIO(base64.b64decode(AUDIO_SRC.search(display.audio_html(y, 16000, normalize=False)).group(1))))
    assert np.abs(raw).max() == pytest.approx(0.3, abs=1e-3)


def test_audio_html_rejects_bad_audio():
    with pytest.raises(VoclabError):
        display.audio_html(np.zeros(0), 16000)
    with pytest.raises(VoclabError):
        display.audio_html(np.array([0.0, np.nan]), 16000)


# --------------------------------------------------------------------------- listening grid


def test_listening_grid_from_a_dict():
    clips = {"original": tone(8000, 16000), "griffin-lim": tone(4000, 16000, 220)}
    grid = display.listening_grid(clips, sr=16000, title="compare")
    assert isinstance(grid, display.ListeningGrid)
    markup = grid.html
    assert markup.count("<audio") == 2
    assert decoded_clips(markup) == [(8000, 16000), (4000, 16000)]
    assert markup.count("<img") == 2 and len(IMG_SRC.findall(markup)) == 2
    assert "original" in markup and "griffin-lim" in markup and "compare" in markup
    assert "0.50 s, 16000 Hz" in markup and "0.25 s, 16000 Hz" in markup


def test_listening_grid_from_a_list_of_tuples_with_own_rates():
    clips = [
        ("at 16 kHz", tone(16000, 16000), 16000),
        ("at 22.05 kHz", tone(11025, 22050), 22050),
        ("default rate", tone(8000, 8000)),
    ]
    markup = display.listening_grid(clips, sr=8000).html
    assert decoded_clips(markup) == [(16000, 16000), (11025, 22050), (8000, 8000)]
    assert markup.count("<img") == 3


def test_listening_grid_dict_with_waveform_and_rate():
    clips = {"a": (tone(8000, 16000), 16000), "b": (tone(2205, 22050), 22050)}
    markup = display.listening_grid(clips).html
    assert decoded_clips(markup) == [(8000, 16000), (2205, 22050)]


def test_listening_grid_with_torch_tensors():
    clips = {"torch": torch.from_numpy(tone(4000, 16000)), "torch 2-D": torch.from_numpy(tone(4000, 16000))[None]}
    markup = display.listening_grid(clips, sr=16000).html
    assert decoded_clips(markup) == [(4000, 16000), (4000, 16000)]


def test_listening_grid_without_spectrograms():
    markup = display.listening_grid({"a": tone(4000, 16000)}, sr=16000, spectrograms=False).html
    assert markup.count("<audio") == 1 and "<img" not in markup


def test_listening_grid_columns():
    markup = display.listening_grid({"a": tone(800, 8000)}, sr=8000, columns=2, spectrograms=False).html
    assert "repeat(2," in markup


def test_listening_grid_escapes_captions_and_title():
    evil = "<script>alert('x')</script>"
    markup = display.listening_grid({evil: tone(800, 8000)}, sr=8000, title=evil, spectrograms=False).html
    assert "<script>" not in markup
    assert markup.count("&lt;script&gt;") == 2


def test_listening_grid_needs_a_rate():
    with pytest.raises(ShapeError, match="sample rate") as info:
        display.listening_grid({"no rate": tone(800, 8000)})
    assert "no rate" in str(info.value)
    with pytest.raises(ShapeError):
        display.listening_grid([("no rate", tone(800, 8000))])


@pytest.mark.parametrize("empty", [{}, []])
def test_listening_grid_needs_clips(empty):
    with pytest.raises(ShapeError, match="at least one clip"):
        display.listening_grid(empty, sr=16000)


def test_repr_html_and_save(tmp_path):
    grid = display.listening_grid({"a": tone(800, 8000)}, sr=8000)
    assert grid._repr_html_() == grid.html
    path = tmp_path / "grid.html"
    grid.save(path)
    text = path.read_text(encoding="utf-8")
    assert text.lower().startswith("<!doctype html>")
    assert grid.html in text
    assert decoded_clips(text) == [(800, 8000)]


# --------------------------------------------------------------------------- the grid's thumbnails


def png_size(data: str) -> tuple[int, int]:
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")


def visible_ticks(labels, limits, axis):
    """(position, the number its label reads) of the ticks inside the axis limits."""
    low, high = limits
    return [(t.get_position()[axis], float(t.get_text())) for t in labels
            if t.get_text() and low - 1e-9 <= t.get_position()[axis] <= high + 1e-9]


@pytest.mark.parametrize(("sr", "seconds", "top_khz"), [(16000, 0.5, 8), (22050, 2.5, 11.025), (8000, 0.1, 4)])
def test_thumbnail_spectrogram_has_time_and_khz_axes(sr, seconds, top_khz):
    fig = display._small_spectrogram_figure(tone(int(seconds * sr), sr), sr)
    (ax,) = fig.axes
    fig.canvas.draw()
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "kHz"
    start, end = ax.get_xlim()
    assert start == 0 and seconds <= end <= seconds + 512 / sr  # frames x hop: up to one window more
    # frequency ticks are labelled in kHz (the tick at 5000 Hz reads "5"), time ticks in seconds
    y_ticks = visible_ticks(ax.get_yticklabels(), ax.get_ylim(), axis=1)
    assert len(y_ticks) >= 3 and y_ticks[0] == (0.0, 0.0) and y_ticks[-1][1] <= top_khz
    assert all(label == pytest.approx(hz / 1000) for hz, label in y_ticks)
    x_ticks = visible_ticks(ax.get_xticklabels(), ax.get_xlim(), axis=0)
    assert len(x_ticks) >= 3 and all(label == pytest.approx(t) for t, label in x_ticks)
    # small ticks, but readable: 7-point labels at 100 dpi are about 10 px high
    sizes = {t.get_fontsize() for t in ax.get_xticklabels() + ax.get_yticklabels()}
    assert sizes == {display.THUMBNAIL_FONT} and display.THUMBNAIL_FONT * display.THUMBNAIL_DPI / 72 >= 9
    assert ax.xaxis.label.get_fontsize() == display.THUMBNAIL_FONT


def test_listening_grid_thumbnails_stay_small():
    markup = display.listening_grid({"a": tone(16000, 16000), "b": tone(4000, 22050)}, sr=16000).html
    for data in IMG_SRC.findall(markup):
        width, height = png_size(data)
        assert 200 <= width <= 340 and 100 <= height <= 180, (width, height)


# --------------------------------------------------------------------------- HTMLOutput


def test_output_html_per_mime_type():
    assert display.output_html({"text/html": "<b>x</b>", "text/plain": "x"}) == "<b>x</b>"
    png = display.output_html({"image/png": "iVBORw0KGgo=\n", "text/plain": "<Figure>"},
                              {"image/png": {"width": 320, "height": 160}})
    assert png == '<img src="data:image/png;base64,iVBORw0KGgo=" width="320" height="160" style="max-width:100%"/>'
    assert display.output_html({"image/png": b"\x89PNG"}).startswith('<img src="data:image/png;base64,iVBO')
    assert "&lt;Figure size 640x480&gt;" in display.output_html({"text/plain": "<Figure size 640x480>"})


def test_html_output_is_an_html_widget_not_an_output_widget():
    import ipywidgets

    out = display.HTMLOutput()
    assert isinstance(out, ipywidgets.HTML) and not isinstance(out, ipywidgets.Output)
    assert display.HTMLOutput is type(out)  # built once
    assert "HTMLOutput" in display.__all__


def test_html_output_keeps_order_and_replaces_after_clear_wait():
    import sys

    stdout = sys.stdout
    out = display.HTMLOutput()
    with out:
        print("first <line>")
        print("same block")
    assert sys.stdout is stdout
    assert out.value.count("<pre") == 1 and "first &lt;line&gt;\nsame block" in out.value
    with out:
        print("appended")
    assert "first" in out.value and "appended" in out.value
    out.clear_output(wait=True)
    assert "appended" in out.value  # wait=True: the old view stays until the next output
    with out:
        print("redrawn", file=sys.stderr)
    assert "first" not in out.value and "redrawn" in out.value and "#fdd" in out.value
    with out:
        print("old")
        out.clear_output(wait=True)  # inside the block: what came before in the block goes too
        print("new")
    assert "old" not in out.value and "redrawn" not in out.value and "new" in out.value
    out.clear_output()
    assert out.value == ""


def test_html_output_shows_an_exception_and_raises_it():
    import sys

    stdout, out = sys.stdout, display.HTMLOutput()
    with pytest.raises(ZeroDivisionError), out:
        print("before")
        1 / 0  # noqa: B018
    assert sys.stdout is stdout
    assert "before" in out.value and 'class="voclab-widget-error"' in out.value
    assert "ZeroDivisionError" in out.value and "Traceback" in out.value
