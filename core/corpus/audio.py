"""Procedural sound: 15 kinds of sound event (tones, chords, noise bands, beats, chirps, babble), placed in 6 s.

An event renderer has the signature `(rng, n, style) -> float32 (n,)` roughly at unit peak, where `style`
carries the venue's tempo (bpm), musical root (Hz) and music kind, so a shared event (music, beats, chimes)
still sounds a little different per venue. `render_audio` mixes the events at random onsets and loudness
over background noise.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 22050
SECONDS = 6
N_SAMPLES = SAMPLE_RATE * SECONDS
MUSIC_STYLES = ("organ", "jazz", "synth", "muzak", "orchestra", "acoustic")


@dataclass(frozen=True)
class Style:
    tempo: float = 110.0  # bpm
    root: float = 220.0  # Hz
    music: str = "muzak"


def _t(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float32) / SAMPLE_RATE


def band_noise(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """White noise kept between lo and hi Hz (FFT mask), unit RMS."""
    import scipy.fft  # here, not at the top: 0.6 s to import, which `demo`'s parent process never needs

    spec = scipy.fft.rfft(rng.standard_normal(n, dtype=np.float32))
    k = np.arange(len(spec)) * (SAMPLE_RATE / n)
    spec[(k < lo) | (k > hi)] = 0
    y = scipy.fft.irfft(spec, n)
    return y / (np.sqrt(np.mean(y**2)) + 1e-9)


def _smooth_env(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """A random positive envelope that changes about rate_hz times a second."""
    k = max(int(n / SAMPLE_RATE * rate_hz) + 2, 2)
    return np.interp(np.arange(n), np.linspace(0, n, k), rng.random(k)).astype(np.float32)


def _decay(n: int, seconds: float) -> np.ndarray:
    return np.exp(-_t(n) / seconds)


def _place(out: np.ndarray, sound: np.ndarray, at: int) -> None:
    end = min(at + len(sound), len(out))
    if at < end:
        out[at:end] += sound[: end - at]


def _harmonic(f0: np.ndarray | float, t: np.ndarray, n_harm: int, rolloff: float = 1.0) -> np.ndarray:
    """A harmonic tone; f0 may vary over time (then the phase is integrated)."""
    phase = 2 * np.pi * (np.cumsum(np.broadcast_to(f0, t.shape)) / SAMPLE_RATE)
    return sum(np.sin(h * phase) / h**rolloff for h in range(1, n_harm + 1)).astype(np.float32)


# ------------------------------------------------------------------------------------------------ events


def babble(rng, n, style):
    """Several talkers: speech-band noise with syllable-rate amplitude modulation."""
    y = np.zeros(n, np.float32)
    for _ in range(rng.integers(2, 5)):
        lo = rng.uniform(200, 400)
        y += band_noise(rng, n, lo, lo * rng.uniform(5, 9)) * _smooth_env(rng, n, rng.uniform(3, 6)) ** 2
    return y


def cheer(rng, n, style):
    t = _t(n)
    swell = np.minimum(t / rng.uniform(0.3, 1.0), 1) * np.exp(-np.maximum(t - rng.uniform(1, 3), 0) / 1.5)
    y = band_noise(rng, n, 300, 6000) * swell * (0.6 + 0.4 * _smooth_env(rng, n, 8))
    claps = np.zeros(n, np.float32)
    click = band_noise(rng, 300, 1000, 8000) * _decay(300, 0.004)
    for at in rng.integers(0, n, int(rng.uniform(10, 40) * n / SAMPLE_RATE)):
        _place(claps, click, at)
    return y + 2 * claps


def beat(rng, n, style):
    period = int(SAMPLE_RATE * 60 / style.tempo)
    m = int(0.18 * SAMPLE_RATE)
    t = _t(m)
    kick = np.sin(2 * np.pi * np.cumsum(50 + 90 * np.exp(-t / 0.03)) / SAMPLE_RATE) * _decay(m, 0.07)
    hat = band_noise(rng, m, 6000, 10000) * _decay(m, 0.015) * 0.3
    y = np.zeros(n, np.float32)
    for i, at in enumerate(range(int(rng.integers(0, period)), n, period)):
        _place(y, kick, at)
        _place(y, hat, at + period // 2)
        if style.music == "synth" and i % 2:
            _place(y, hat, at)
    return y


def dribble(rng, n, style):
    m = int(0.06 * SAMPLE_RATE)
    thump = np.sin(2 * np.pi * rng.uniform(90, 140) * _t(m)) * _decay(m, 0.015)
    squeak_n = int(0.08 * SAMPLE_RATE)
    squeak = np.sin(2 * np.pi * np.cumsum(np.linspace(2200, 3200, squeak_n)) / SAMPLE_RATE) * 0.3
    y = np.zeros(n, np.float32)
    period = SAMPLE_RATE * 60 / (style.tempo * 1.5)
    at = rng.uniform(0, period)
    while at < n:
        _place(y, thump, int(at))
        if rng.random() < 0.15:
            _place(y, squeak, int(at + period / 2))
        at += period * rng.uniform(0.85, 1.15)
    return y


def whistle(rng, n, style):
    t = _t(n)
    f = rng.uniform(2800, 3400) + 60 * np.sin(2 * np.pi * 28 * t)  # the pea's trill
    gate = np.zeros(n, np.float32)
    at = rng.integers(0, max(n // 2, 1))
    for _ in range(rng.integers(1, 4)):
        length = int(rng.uniform(0.2, 0.8) * SAMPLE_RATE)
        gate[at:at + length] = 1
        at += length + int(rng.uniform(0.1, 0.4) * SAMPLE_RATE)
    return _harmonic(f, t, 2) * gate


_CHORDS = {"major": (1, 5 / 4, 3 / 2), "minor": (1, 6 / 5, 3 / 2), "seventh": (1, 5 / 4, 3 / 2, 9 / 5)}
_STYLE = {  # music kind -> (chord kinds, harmonics, note length in beats, pluck decay s or None)
    "organ": (("major", "minor"), 8, 4, None), "jazz": (("seventh",), 4, 2, 0.6),
    "synth": (("minor",), 6, 1, 0.25), "muzak": (("major",), 3, 2, None),
    "orchestra": (("major", "minor"), 6, 4, None), "acoustic": (("major", "minor"), 5, 1, 0.4),
}


def music(rng, n, style):
    kinds, n_harm, beats, pluck = _STYLE[style.music]
    step = int(SAMPLE_RATE * 60 / style.tempo * beats)
    progression = (1, 4 / 3, 3 / 2, 9 / 8, 5 / 3)
    y = np.zeros(n, np.float32)
    t = _t(step)
    env = _decay(step, pluck) if pluck else np.minimum(t / 0.05, 1) * np.minimum((step - np.arange(step)) / 800, 1)
    vibrato = 1 + 0.004 * np.sin(2 * np.pi * 5 * t) if style.music == "orchestra" else 1
    for at in range(0, n, step):
        root = style.root * progression[rng.integers(0, len(progression))]
        chord = _CHORDS[kinds[rng.integers(0, len(kinds))]]
        note = sum(_harmonic(root * r * vibrato, t, n_harm, rolloff=1.3) for r in chord)
        _place(y, note * env, at)
    return y


def chime(rng, n, style):
    m = int(1.2 * SAMPLE_RATE)
    t = _t(m)
    y = np.zeros(n, np.float32)
    at = int(rng.integers(0, max(n - 2 * m, 1)))
    for ratio in (1.0, 0.8) if rng.random() < 0.7 else (1.0, 1.25, 1.5):  # ding-dong or a rising triad
        partials = (1, 2.0, 2.76) if style.root < 300 else (1, 2.0, 3.0)  # low roots ring like bells
        tone = sum(np.sin(2 * np.pi * style.root * ratio * p * t) / (i + 1) for i, p in enumerate(partials))
        _place(y, tone * _decay(m, 0.5), at)
        at += int(0.5 * SAMPLE_RATE)
    return y


def birds(rng, n, style):
    y = np.zeros(n, np.float32)
    for _ in range(int(rng.uniform(3, 12) * n / SAMPLE_RATE)):
        m = int(rng.uniform(0.04, 0.15) * SAMPLE_RATE)
        f = np.linspace(rng.uniform(2500, 5000), rng.uniform(2500, 6000), m)
        _place(y, _harmonic(f, _t(m), 2) * np.hanning(m).astype(np.float32), int(rng.integers(0, n)))
    return y


def wind(rng, n, style):
    return band_noise(rng, n, 20, rng.uniform(300, 700)) * (0.3 + _smooth_env(rng, n, 0.5))


def waves(rng, n, style):
    t = _t(n)
    period = rng.uniform(4, 8)
    swell = (0.5 - 0.5 * np.cos(2 * np.pi * (t / period + rng.random()))) ** 2
    return band_noise(rng, n, 80, rng.uniform(2500, 4000)) * (0.15 + swell)


def rumble(rng, n, style):
    t = _t(n)
    y = band_noise(rng, n, 25, 250) * (0.5 + _smooth_env(rng, n, 0.7))
    hum = _harmonic(rng.uniform(45, 90), t, 4) * 0.4
    whine = np.sin(2 * np.pi * np.cumsum(np.linspace(style.root * 2, style.root * 3, n)) / SAMPLE_RATE) * 0.15
    return y + hum + (whine if style.root > 400 else 0)  # jet engines (high roots) whine


def scream(rng, n, style):
    y = np.zeros(n, np.float32)
    for _ in range(rng.integers(1, 4)):
        m = int(rng.uniform(0.5, 1.5) * SAMPLE_RATE)
        t = _t(m)
        f0 = rng.uniform(400, 900) * (1 + 0.3 * np.sin(np.pi * t / t[-1])) + 15 * np.sin(2 * np.pi * 6 * t)
        _place(y, _harmonic(f0, t, 5) * np.hanning(m).astype(np.float32), int(rng.integers(0, max(n - m, 1))))
    return y


def clink(rng, n, style):
    m = int(0.3 * SAMPLE_RATE)
    t = _t(m)
    y = np.zeros(n, np.float32)
    for _ in range(rng.integers(2, 8)):
        f = rng.uniform(2000, 5000)
        tone = (np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * f * 2.4 * t)) * _decay(m, 0.06)
        _place(y, tone, int(rng.integers(0, n)))
    return y


def animal(rng, n, style):
    y = np.zeros(n, np.float32)
    for _ in range(rng.integers(1, 3)):
        m = int(rng.uniform(0.5, 1.5) * SAMPLE_RATE)
        t = _t(m)
        if rng.random() < 0.5:  # a growl: low and rough
            tone = _harmonic(rng.uniform(70, 180), t, 8) * (0.6 + 0.4 * np.sin(2 * np.pi * 25 * t))
        else:  # a trumpet: high and bright
            tone = _harmonic(rng.uniform(400, 700) * (1 + 0.1 * t), t, 6)
        _place(y, tone * np.hanning(m).astype(np.float32), int(rng.integers(0, max(n - m, 1))))
    return y


def footsteps(rng, n, style):
    m = int(0.05 * SAMPLE_RATE)
    step = band_noise(rng, m, 800, 4000) * _decay(m, 0.01)
    echo = np.zeros(m + 3000, np.float32)
    _place(echo, step, 0)
    _place(echo, 0.4 * step, 1500)  # a hard room answers
    _place(echo, 0.15 * step, 3000)
    y = np.zeros(n, np.float32)
    period = SAMPLE_RATE / rng.uniform(1.6, 2.2)
    at = rng.uniform(0, period)
    while at < n:
        _place(y, echo, int(at))
        at += period * rng.uniform(0.9, 1.1)
    return y


EVENTS: dict[str, Callable] = {f.__name__: f for f in (
    babble, cheer, beat, dribble, whistle, music, chime, birds, wind, waves, rumble, scream, clink, animal, footsteps)}
_LONG = {"babble", "wind", "waves", "rumble", "music", "beat", "birds", "footsteps"}  # ambient: most of the clip


def render_audio(events: tuple[str, ...], style: Style, seed_key: tuple[int, ...]) -> np.ndarray:
    """6 s of mono float32 audio at 22,050 Hz: the events at random times and loudness over background noise."""
    rng = np.random.default_rng([*seed_key, 2])
    y = band_noise(rng, N_SAMPLES, 20, 8000) * 10 ** rng.uniform(-3.2, -2.0)  # room tone / mic hiss
    for name in events:
        seconds = rng.uniform(3, 6) if name in _LONG else rng.uniform(1, 3)
        n = int(seconds * SAMPLE_RATE)
        sound = EVENTS[name](rng, n, style)
        sound = sound / (np.abs(sound).max() + 1e-9) * 10 ** (rng.uniform(-18, 0) / 20)
        fade = np.minimum(1, np.minimum(np.arange(n), n - np.arange(n)) / 2000).astype(np.float32)
        _place(y, sound * fade, int(rng.integers(0, N_SAMPLES - n + 1)))
    return (y / (np.abs(y).max() + 1e-9) * rng.uniform(0.3, 0.9)).astype(np.float32)
