"""Tests of voclab.spectral: STFT/iSTFT, MelConfig and its presets, mel spectrograms."""

from __future__ import annotations

import json

import librosa
import numpy as np
import pytest
import torch

from voclab import spectral
from voclab.errors import ConfigError, EmptyAudioError, MelMismatchError, ShapeError, VoclabError
from voclab.spectral import (
    MEL_PRESETS,
    MelConfig,
    istft,
    log_compress,
    log_decompress,
    magnitude_phase,
    mel_filterbank,
    mel_spectrogram,
    mel_to_linear,
    polar,
    stft,
)

CENTERED_PRESETS = [name for name, cfg in MEL_PRESETS.items() if cfg.center]


@pytest.fixture
def noise():
    return np.random.default_rng(0).standard_normal(5000).astype(np.float32)


def speechlike(n, sr=22050, seed=1):
    """Harmonics of a gliding pitch plus a little noise: energy across the mel range."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    f0 = 120 + 40 * np.sin(2 * np.pi * 3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, 30))
    return (0.3 * y / np.abs(y).max() + 0.01 * rng.standard_normal(n)).astype(np.float32)


# --------------------------------------------------------------------------- STFT


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_fft=512, hop_length=128),
        dict(n_fft=512, hop_length=100, win_length=400),
        dict(n_fft=1024),
        dict(n_fft=256, hop_length=64, center=False),
        dict(n_fft=512, hop_length=128, pad_mode="reflect"),
    ],
)
def test_stft_matches_librosa(noise, kwargs):
    ours = stft(noise, **kwargs)
    ref = librosa.stft(noise, **kwargs)
    assert ours.shape == ref.shape
    assert ours.dtype == np.complex64
    assert np.abs(ours - ref).max() / np.abs(ref).max() < 1e-5


def test_stft_default_hop_is_a_quarter_window(noise):
    assert stft(noise, n_fft=512).shape == stft(noise, n_fft=512, hop_length=128).shape
    assert stft(noise, n_fft=512, win_length=256).shape == (257, 1 + 5000 // 64)


@pytest.mark.parametrize("n", [4096, 5000, 4097])
def test_istft_inverts_stft(n):
    y = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    back = istft(stft(y, n_fft=512, hop_length=128), hop_length=128, length=n)
    assert back.shape == y.shape and back.dtype == np.float32
    np.testing.assert_allclose(back, y, atol=1e-5)


def test_istft_inverts_stft_with_short_window(noise):
    S = stft(noise, n_fft=512, hop_length=100, win_length=400)
    back = istft(S, hop_length=100, win_length=400, length=len(noise))
    np.testing.assert_allclose(back, noise, atol=1e-5)


def test_batched_stft_and_istft_equal_per_item():
    y = np.random.default_rng(2).standard_normal((2, 3, 3000)).astype(np.float32)
    S = stft(y, n_fft=256, hop_length=64)
    assert S.shape == (2, 3, 129, 1 + 3000 // 64)
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(S[i, j], stft(y[i, j], n_fft=256, hop_length=64), atol=1e-5)
    back = istft(S, hop_length=64, length=3000)
    assert back.shape == y.shape
    np.testing.assert_allclose(back[1, 2], istft(S[1, 2], hop_length=64, length=3000), atol=1e-6)
    np.testing.assert_allclose(back, y, atol=1e-5)


def test_numpy_in_numpy_out_torch_in_torch_out(noise):
    S_np = stft(noise, n_fft=256)
    assert isinstance(S_np, np.ndarray)
    assert isinstance(istft(S_np), np.ndarray)
    S_t = stft(torch.from_numpy(noise), n_fft=256)
    assert isinstance(S_t, torch.Tensor) and S_t.dtype == torch.complex64
    y_t = istft(S_t)
    assert isinstance(y_t, torch.Tensor) and y_t.dtype == torch.float32
    np.testing.assert_allclose(S_t.numpy(), S_np, atol=1e-5)
    mel_t = mel_spectrogram(torch.from_numpy(noise))
    assert isinstance(mel_t, torch.Tensor)
    assert isinstance(mel_spectrogram(noise), np.ndarray)


def test_float64_stays_float64(noise):
    y = noise.astype(np.float64)
    S = stft(y, n_fft=256)
    assert S.dtype == np.complex128
    back = istft(S, length=len(y))
    assert back.dtype == np.float64
    np.testing.assert_allclose(back, y, atol=1e-12)
    assert mel_spectrogram(y).dtype == np.float64
    assert stft(torch.from_numpy(y), n_fft=256).dtype == torch.complex128


def test_integer_and_list_input_become_float32():
    S = stft(np.arange(1000) % 7, n_fft=64)
    assert S.dtype == np.complex64
    assert stft([0.0] * 300, n_fft=64).shape == (33, 1 + 300 // 16)


def test_stft_and_istft_errors(noise):
    with pytest.raises(ShapeError, match="real waveform"):
        stft(noise.astype(np.complex64), n_fft=256)
    with pytest.raises(EmptyAudioError):
        stft(np.zeros(0, dtype=np.float32), n_fft=256)
    with pytest.raises(ShapeError, match="shorter than n_fft"):
        stft(noise[:100], n_fft=256, center=False)
    with pytest.raises(ShapeError, match="polar"):
        istft(np.abs(stft(noise, n_fft=256)))  # a real array: magnitude only
    with pytest.raises(ShapeError, match="transposed"):
        istft(stft(noise, n_fft=256), n_fft=512)
    with pytest.raises(ConfigError):
        stft(noise, n_fft=256, window="hamming")


# --------------------------------------------------------------------------- magnitude / phase


def test_magnitude_phase_polar_round_trip(noise):
    S = stft(noise, n_fft=256)
    mag, phase = magnitude_phase(S)
    assert mag.dtype == np.float32 and (mag >= 0).all()
    assert (phase > -np.pi - 1e-6).all() and (phase <= np.pi + 1e-6).all()
    back = polar(mag, phase)
    assert back.dtype == np.complex64
    np.testing.assert_allclose(back, S, atol=1e-5)

    S_t = torch.from_numpy(S)
    mag_t, phase_t = magnitude_phase(S_t)
    assert isinstance(mag_t, torch.Tensor)
    back_t = polar(mag_t, phase_t)
    assert isinstance(back_t, torch.Tensor)
    np.testing.assert_allclose(back_t.numpy(), S, atol=1e-5)


def test_magnitude_phase_known_values():
    mag, phase = magnitude_phase(np.array([[1j, -2.0, 3.0]]))
    np.testing.assert_allclose(mag, [[1, 2, 3]])
    np.testing.assert_allclose(phase, [[np.pi / 2, np.pi, 0]])
    np.testing.assert_allclose(polar(np.float64(2.0), np.pi / 2), 2j, atol=1e-12)


# --------------------------------------------------------------------------- HiFi-GAN mel


def hifigan_mel_reference(y: np.ndarray) -> np.ndarray:
    """HiFi-GAN's published mel recipe, written out from its description with numpy, in float64."""
    sr, n_fft, hop, win, n_mels, fmin, fmax = 22050, 1024, 256, 1024, 80, 0, 8000
    y = np.asarray(y, dtype=np.float64)
    pad = (n_fft - hop) // 2
    y = np.pad(y, (pad, pad), mode="reflect")
    n_frames = 1 + (len(y) - n_fft) // hop
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)  # periodic Hann
    frames = np.stack([y[t * hop : t * hop + n_fft] * window for t in range(n_frames)])
    spec = np.fft.rfft(frames, axis=1).T  # (freq, frames), center=False
    magnitude = np.sqrt(spec.real**2 + spec.imag**2 + 1e-9)
    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    return np.log(np.clip(basis.astype(np.float64) @ magnitude, 1e-5, None))


def test_default_config_is_hifigan():
    cfg = MelConfig()
    assert (cfg.sample_rate, cfg.n_fft, cfg.hop_length, cfg.win_length, cfg.n_mels) == (
        22050, 1024, 256, 1024, 80)
    assert (cfg.fmin, cfg.fmax, cfg.log, cfg.log_floor, cfg.magnitude_eps) == (0, 8000, "ln", 1e-5, 1e-9)
    assert (cfg.center, cfg.pad_mode, cfg.mel_scale, cfg.mel_norm) == (False, "reflect", "slaney", "slaney")
    assert MelConfig.preset("hifigan") == cfg


@pytest.mark.parametrize("n", [256 * 40, 22050])
def test_default_mel_equals_hifigan_recipe(n):
    y = speechlike(n)
    ref = hifigan_mel_reference(y)
    # float64 input: the same numbers to float precision
    ours64 = mel_spectrogram(y.astype(np.float64))
    assert ours64.shape == ref.shape == (80, n // 256)
    np.testing.assert_allclose(ours64, ref, atol=1e-8)
    # float32 input (what a model sees): close in the log domain
    ours32 = mel_spectrogram(y)
    assert ours32.dtype == np.float32
    np.testing.assert_allclose(ours32, ref, atol=2e-3)
    assert np.abs(ours32 - ref).mean() < 1e-4


def test_default_mel_of_silence_is_the_floor():
    mel = mel_spectrogram(np.zeros(2560, dtype=np.float32))
    assert mel.shape == (80, 10)
    np.testing.assert_allclose(mel, np.log(1e-5), atol=1e-6)


@pytest.mark.parametrize("frames", [2, 10, 87])
def test_multiple_of_hop_gives_len_over_hop_frames(frames):
    y = speechlike(256 * frames)
    assert mel_spectrogram(y).shape == (80, frames)


@pytest.mark.parametrize("n", [385, 1000, 1024, 4095, 4096, 4097, 22050, 256 * 50 + 255])
def test_n_frames_agrees_with_the_mel(n):
    cfg = MelConfig()
    y = speechlike(n)
    assert mel_spectrogram(y, cfg).shape[-1] == cfg.n_frames(n)


@pytest.mark.parametrize("name", CENTERED_PRESETS)
@pytest.mark.parametrize("n", [1024, 4095, 4096, 12345])
def test_n_frames_agrees_for_centred_presets(name, n):
    cfg = MelConfig.preset(name)
    assert cfg.center
    y = speechlike(n, sr=cfg.sample_rate)
    assert mel_spectrogram(y, cfg).shape[-1] == cfg.n_frames(n) == 1 + n // cfg.hop_length


def test_batched_mel_equals_per_item():
    y = np.stack([speechlike(4096, seed=s) for s in range(4)]).reshape(2, 2, 4096)
    mel = mel_spectrogram(y)
    assert mel.shape == (2, 2, 80, 16)
    np.testing.assert_allclose(mel[1, 0], mel_spectrogram(y[1, 0]), atol=1e-5)


# --------------------------------------------------------------------------- presets


def test_expected_presets_exist():
    assert {"hifigan", "hifigan_loss", "melgan", "pwg", "wavenet", "vocos"} <= set(MEL_PRESETS)


@pytest.mark.parametrize("name", list(MEL_PRESETS))
def test_every_preset_builds_a_mel(name):
    cfg = MelConfig.preset(name)
    n = cfg.sample_rate // 2
    y = speechlike(n, sr=cfg.sample_rate)
    mel = mel_spectrogram(y, cfg)
    assert mel.shape == (cfg.n_mels, cfg.n_frames(n))
    assert np.isfinite(mel).all()
    assert mel_filterbank(cfg).shape == (cfg.n_mels, cfg.n_fft // 2 + 1)
    assert mel_filterbank(cfg).dtype == np.float32


def test_preset_values_from_the_reference_table():
    assert MelConfig.preset("hifigan_loss").top_frequency == 11025
    pwg = MelConfig.preset("pwg")
    assert (pwg.fmin, pwg.fmax, pwg.log, pwg.center) == (80, 7600, "log10", True)
    wavenet = MelConfig.preset("wavenet")
    assert (wavenet.fmin, wavenet.fmax, wavenet.log) == (125, 7600, "db_norm")
    vocos = MelConfig.preset("vocos")
    assert (vocos.sample_rate, vocos.n_mels, vocos.fmax, vocos.mel_scale, vocos.mel_norm) == (
        24000, 100, 12000, "htk", None)
    assert (vocos.log, vocos.log_floor, vocos.center) == ("ln", 1e-7, True)


def test_melgan_preset_uses_log10_and_full_band():
    cfg = MelConfig.preset("melgan")
    assert cfg.log == "log10"
    assert cfg.fmax == 11025
    assert cfg.center is False and cfg.log_floor == 1e-5
    y = speechlike(256 * 20)
    magnitude = mel_spectrogram(y, cfg, log=False)
    np.testing.assert_allclose(
        mel_spectrogram(y, cfg), np.log10(np.maximum(magnitude, 1e-5)), atol=1e-6
    )
    # full band: a 9 kHz tone shows up in the MelGAN mel, not in HiFi-GAN's 0-8 kHz input mel
    t = np.arange(256 * 20) / 22050
    high = (0.5 * np.sin(2 * np.pi * 9000 * t)).astype(np.float32)
    middle = slice(3, -3)  # away from the edge transients of the reflect padding
    assert mel_spectrogram(high, cfg, log=False)[:, middle].mean(axis=1).max() > 1e-1
    assert mel_spectrogram(high, MelConfig(), log=False)[:, middle].mean(axis=1).max() < 1e-4


# --------------------------------------------------------------------------- comparing configs


def test_diff_names_exactly_the_differing_fields():
    cfg = MelConfig()
    assert cfg.diff(cfg) == {}
    assert cfg.diff(MelConfig()) == {}
    other = cfg.replace(fmax=7600.0, n_mels=64)
    assert other.diff(other.replace()) == {}
    assert cfg.diff(other) == {"fmax": (8000.0, 7600.0), "n_mels": (80, 64)}
    assert set(MelConfig.preset("hifigan").diff(MelConfig.preset("melgan"))) == {
        "fmax", "log", "magnitude_eps"}


def test_require_match_names_the_field():
    cfg = MelConfig()
    cfg.require_match(MelConfig())  # no error
    with pytest.raises(MelMismatchError, match="fmax") as info:
        cfg.require_match(cfg.replace(fmax=None), what="the acoustic model's mel")
    message = str(info.value)
    assert "the acoustic model's mel" in message
    assert "expected 8000.0" in message and "got None" in message
    assert "n_mels" not in message
    assert isinstance(info.value, VoclabError)


def test_config_is_frozen_and_hashable():
    cfg = MelConfig()
    with pytest.raises(Exception):
        cfg.fmax = 1.0
    assert hash(cfg) == hash(MelConfig())


@pytest.mark.parametrize("name", list(MEL_PRESETS))
def test_to_dict_from_dict_round_trip(name):
    cfg = MelConfig.preset(name)
    values = cfg.to_dict()
    assert isinstance(values, dict)
    assert MelConfig.from_dict(values) == cfg
    assert MelConfig.from_dict(json.loads(json.dumps(values))) == cfg


def test_from_dict_unknown_field():
    values = MelConfig().to_dict()
    values["hop_size"] = 256
    with pytest.raises(ConfigError, match="hop_size"):
        MelConfig.from_dict(values)


@pytest.mark.parametrize(
    "changes, field",
    [
        (dict(win_length=2048), "win_length"),
        (dict(fmax=12000.0), "fmax"),
        (dict(fmin=9000.0), "fmin"),
        (dict(log="log2"), "log"),
        (dict(n_mels=0), "n_mels"),
        (dict(hop_length=0), "hop_length"),
        (dict(sample_rate=0), "sample_rate"),
        (dict(mel_scale="bark"), "mel_scale"),
        (dict(mel_norm="l2"), "mel_norm"),
        (dict(log_floor=0.0), "log_floor"),
    ],
)
def test_invalid_configs(changes, field):
    with pytest.raises(ConfigError, match=field):
        MelConfig(**changes)
    with pytest.raises(ConfigError):
        MelConfig().replace(**changes)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ConfigError, match="nope") as info:
        MelConfig.preset("nope")
    for name in MEL_PRESETS:
        assert name in str(info.value)


# --------------------------------------------------------------------------- log, inverse mel


LOG_KINDS = ["ln", "log10", "db_norm"]


@pytest.mark.parametrize("kind", LOG_KINDS)
def test_log_compress_decompress_are_inverses(kind):
    cfg = MelConfig(log=kind)
    if kind == "db_norm":
        # r9y9's normalisation clips to [0, 1]: invertible between 1e-4 (-100 dB re 20 dB) and 10
        x = np.geomspace(2e-4, 9.0, 200)
    else:
        x = np.geomspace(cfg.log_floor * 1.5, 1e3, 200)
    for array in (x, x.astype(np.float32)):
        back = log_decompress(log_compress(array, cfg), cfg)
        assert isinstance(back, np.ndarray)
        np.testing.assert_allclose(back, array, rtol=1e-4 if array.dtype == np.float32 else 1e-9)
    back_t = log_decompress(log_compress(torch.from_numpy(x), cfg), cfg)
    assert isinstance(back_t, torch.Tensor)
    np.testing.assert_allclose(back_t.numpy(), x, rtol=1e-9)


@pytest.mark.parametrize("kind", LOG_KINDS)
def test_log_compress_clamps_at_the_floor(kind):
    cfg = MelConfig(log=kind)
    low = log_compress(np.array([0.0, cfg.log_floor / 10, cfg.log_floor]), cfg)
    assert np.all(low == low[-1])
    assert np.isfinite(low).all()


def test_log_kinds_known_values():
    x = np.array([1.0, 10.0, 100.0])
    np.testing.assert_allclose(log_compress(x, MelConfig(log="ln")), np.log(x))
    np.testing.assert_allclose(log_compress(x, MelConfig(log="log10")), [0, 1, 2])
    # db_norm: (20 log10 x - 20 + 100) / 100, clipped to [0, 1]
    np.testing.assert_allclose(log_compress(x, MelConfig(log="db_norm")), [0.8, 1.0, 1.0])
    np.testing.assert_allclose(log_compress(np.array([1e-4]), MelConfig(log="db_norm")), [0.0], atol=1e-12)


def test_mel_to_linear_is_non_negative():
    mel = log_decompress(mel_spectrogram(speechlike(256 * 30)))
    linear = mel_to_linear(mel)
    assert linear.shape == (513, 30)
    assert isinstance(linear, np.ndarray)
    assert (linear >= 0).all()
    linear_t = mel_to_linear(torch.from_numpy(mel))
    assert isinstance(linear_t, torch.Tensor)
    np.testing.assert_allclose(linear_t.numpy(), linear, atol=1e-6)


def test_mel_to_linear_recovers_a_magnitude_in_the_row_space():
    cfg = MelConfig()
    basis = mel_filterbank(cfg).astype(np.float64)
    coefficients = np.random.default_rng(3).uniform(0.1, 1.0, size=(cfg.n_mels, 12))
    magnitude = basis.T @ coefficients  # non-negative, in the row space of the filterbank
    recovered = mel_to_linear(basis @ magnitude, cfg)
    assert recovered.shape == magnitude.shape
    assert np.linalg.norm(recovered - magnitude) / np.linalg.norm(magnitude) < 1e-3
    recovered32 = mel_to_linear((basis @ magnitude).astype(np.float32), cfg)
    assert np.linalg.norm(recovered32 - magnitude) / np.linalg.norm(magnitude) < 1e-2


def test_mel_to_linear_batched():
    mel = np.random.default_rng(4).uniform(0, 1, size=(2, 80, 7)).astype(np.float32)
    out = mel_to_linear(mel)
    assert out.shape == (2, 513, 7)
    np.testing.assert_allclose(out[1], mel_to_linear(mel[1]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(30, 80), (64, 30), (80,), (2, 30, 80)])
def test_mel_to_linear_wrong_shape(shape):
    with pytest.raises(ShapeError, match="n_mels=80"):
        mel_to_linear(np.ones(shape, dtype=np.float32))


@pytest.mark.parametrize("name", list(MEL_PRESETS))
@pytest.mark.parametrize("n", [1, 100, 300])
def test_too_short_audio(name, n):
    with pytest.raises(EmptyAudioError, match="too short"):
        mel_spectrogram(np.zeros(n, dtype=np.float32), MelConfig.preset(name))


@pytest.mark.parametrize("name", CENTERED_PRESETS)
def test_too_short_audio_for_centred_reflect_presets(name):
    cfg = MelConfig.preset(name)
    assert cfg.center and cfg.pad_mode == "reflect"
    with pytest.raises(EmptyAudioError, match="too short"):
        mel_spectrogram(np.zeros(cfg.n_fft // 2, dtype=np.float32), cfg)


def test_stft_reflect_too_short():
    with pytest.raises(VoclabError):
        stft(np.zeros(100, dtype=np.float32), n_fft=512, pad_mode="reflect")


def test_mel_spectrogram_rejects_scalars_and_complex():
    with pytest.raises(VoclabError):  # a scalar is one sample: too short (or a shape error)
        mel_spectrogram(np.float32(1.0))
    with pytest.raises(ShapeError):
        mel_spectrogram(np.zeros(4096, dtype=np.complex64))


# --------------------------------------------------------------------------- FramedSTFT


@pytest.mark.parametrize(
    "n_fft, hop, win, center",
    [(1024, 256, 1024, True), (512, 128, 400, True), (512, 100, 512, True), (256, 64, 256, False)],
)
def test_framed_stft_matches_stft_and_istft(n_fft, hop, win, center):
    from voclab.spectral import FramedSTFT

    y = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 4000))).float()
    framed = FramedSTFT(n_fft=n_fft, hop_length=hop, win_length=win, center=center,
                        dtype=torch.float32, device="cpu")
    S = framed.forward(y)  # (batch, frames, freq)
    expected = stft(y, n_fft=n_fft, hop_length=hop, win_length=win, center=center)
    assert torch.allclose(S.transpose(1, 2), expected, atol=1e-4)
    if center:  # torch.istft refuses center=False with a Hann window (its first sample is 0)
        back = framed.inverse(S)
        reference = istft(expected, n_fft=n_fft, hop_length=hop, win_length=win, center=center)
        assert back.shape == reference.shape
        assert torch.allclose(back, reference, atol=1e-5)
    else:  # away from the edges the least-squares inverse gives the signal back
        back = framed.inverse(S)
        assert torch.allclose(back[:, n_fft:-n_fft], y[:, n_fft : back.shape[-1] - n_fft], atol=1e-5)


def test_resolve_takes_a_preset_name_a_dict_or_a_melconfig():
    melgan = MelConfig.preset("melgan")
    assert MelConfig.resolve("melgan") is melgan
    assert MelConfig.resolve(melgan.to_dict()) == melgan
    assert MelConfig.resolve(melgan) is melgan
    with pytest.raises(ConfigError, match="preset name or a MelConfig dict"):
        MelConfig.resolve(80)
    with pytest.raises(ConfigError, match="No mel preset"):
        MelConfig.resolve("no-such-preset")
