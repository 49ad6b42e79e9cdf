"""Acoustic features: 6 s of mono 22,050 Hz audio -> 6 one-second clips x a 512-d librosa descriptor.

The paper (section 3.2) names librosa and 512 dimensions but not the recipe; ours, per 1-s clip:

| block | values | dims |
|---|---|---|
| log-mel power, 128 bands (in bels = dB / 10) | mean, std, max over the clip's frames | 384 |
| MFCC 1-20 (DCT of the log-mel above) | mean, std | 40 |
| delta-MFCC 1-20 (width 9) | mean, std | 40 |
| chroma, 12 pitch classes | mean, std | 24 |
| spectral contrast, 6 bands + valley (in bels) | mean, std | 14 |
| centroid, bandwidth, rolloff 85 % (kHz), flatness, zero-crossing rate | mean, std | 10 |
| total | | 512 |

Vector layout: [mel mean | mel std | mel max | mfcc mean | mfcc std | delta mean | delta std |
chroma mean | chroma std | contrast mean | contrast std | 5 scalars mean | 5 scalars std].
Frames: n_fft 2048, hop 512 (23 ms), centred; one STFT covers all 6 s and its frames are split into
the 6 clips by their centre time, so librosa (and its numba kernels) runs once per video. Units are
chosen so every value is O(1)-O(100) and fits float16. A silent or missing track gives exact zeros.
"""
from __future__ import annotations

import numpy as np

SAMPLE_RATE = 22050
N_CLIPS = 6
CLIP_SAMPLES = SAMPLE_RATE  # 1 s
DIM = 512
N_FFT = 2048
HOP = 512
N_MELS = 128
N_MFCC = 20
SILENCE_PEAK = 1e-4  # same threshold as core.media: quieter than this is silence


def acoustic_features(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float audio (first 6 s are used, shorter is zero-padded) -> float32 (6, 512)."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"acoustic features expect {SAMPLE_RATE} Hz audio, got {sample_rate} Hz")
    y = np.zeros(N_CLIPS * CLIP_SAMPLES, dtype=np.float32)
    samples = np.asarray(audio, dtype=np.float32).reshape(-1)[: y.size]
    y[: samples.size] = np.nan_to_num(samples)
    if np.abs(y).max(initial=0.0) < SILENCE_PEAK:
        return np.zeros((N_CLIPS, DIM), dtype=np.float32)
    blocks, clip_of_frame = _frame_features(y)
    out = np.zeros((N_CLIPS, DIM), dtype=np.float32)
    for clip in range(N_CLIPS):
        cols = [block[:, clip_of_frame == clip] for block in blocks]  # blocks[0] is the log-mel
        parts = [cols[0].mean(axis=1), cols[0].std(axis=1), cols[0].max(axis=1)]
        for block in cols[1:]:
            parts += [block.mean(axis=1), block.std(axis=1)]
        out[clip] = np.concatenate(parts)
    return out


def _frame_features(y: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-frame feature blocks (log-mel first) over the whole 6 s, and the clip index of every frame."""
    import librosa

    sr = SAMPLE_RATE
    magnitude = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP, center=True))  # (1025, frames)
    power = magnitude**2
    mel_bels = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr, n_mels=N_MELS),
                                   ref=1.0, amin=1e-10, top_db=None) / 10.0
    mfcc = librosa.feature.mfcc(S=mel_bels, n_mfcc=N_MFCC)
    delta = librosa.feature.delta(mfcc, width=9)
    chroma = librosa.feature.chroma_stft(S=power, sr=sr)
    contrast = librosa.feature.spectral_contrast(S=magnitude, sr=sr) / 10.0  # dB -> bels
    scalars = np.vstack([
        librosa.feature.spectral_centroid(S=magnitude, sr=sr) / 1000.0,
        librosa.feature.spectral_bandwidth(S=magnitude, sr=sr) / 1000.0,
        librosa.feature.spectral_rolloff(S=magnitude, sr=sr, roll_percent=0.85) / 1000.0,
        librosa.feature.spectral_flatness(S=magnitude),
        librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP, center=True),
    ])
    n_frames = magnitude.shape[1]
    clip_of_frame = np.minimum(np.arange(n_frames) * HOP // CLIP_SAMPLES, N_CLIPS - 1)
    return [mel_bels, mfcc, delta, chroma, contrast, scalars], clip_of_frame


def warm_up() -> None:
    """Import librosa and compile its numba kernels once per process (set NUMBA_CACHE_DIR to keep them)."""
    rng = np.random.default_rng(0)
    acoustic_features(0.1 * rng.standard_normal(N_CLIPS * CLIP_SAMPLES).astype(np.float32))
