"""Tests of voclab.display: plots, audio players and the listening grid (matplotlib Agg)."""

from __future__ import annotations

import base64
import io
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402

from voclab import display  # noqa: E402
from voclab.errors import ShapeError, VoclabError  # noqa: E402
from voclab.spectral import stft  # noqa: E402

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
    fig, given = plt.subplots()
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
