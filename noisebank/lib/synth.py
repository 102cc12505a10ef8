"""Deterministic signals for tests, benchmarks and the demo data.

Levels follow the convention of ``noisebank.ingest.analysis``: digital full scale is 1.0, a
signal's level is ``L_dBFS = 20·log10(RMS)`` (a full-scale sine reads -3.01 dBFS), and a
recording made with calibration offset ``C`` dB reads ``L_SPL = L_dBFS + C``. So a sine meant to
be 94 dB SPL on a recorder whose offset is 120 dB has an RMS of 10**((94 - 120) / 20).

Every generator returns a float64 mono array at ``SAMPLE_RATE`` unless told otherwise, and the
same arguments (seed included) always give the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from scipy import signal

SAMPLE_RATE = 48_000
REFERENCE_PRESSURE_PA = 20e-6
SPEED_OF_SOUND_M_S = 343.0

# The demo recorder: 0 dBFS RMS would be 120 dB SPL, so the demo sounds land at plausible
# railway levels (ambience near 55 dB(A), a horn near 105 dB(A)) when analysed with it.
DEMO_CALIBRATION_OFFSET_DB = 120.0


def rms_for_dbfs(level_dbfs: float) -> float:
    return float(10 ** (level_dbfs / 20))


def rms_for_spl(level_db: float, calibration_offset_db: float) -> float:
    return rms_for_dbfs(level_db - calibration_offset_db)


def rms_for_pascal(pressure_pa_rms: float, calibration_offset_db: float) -> float:
    return rms_for_spl(
        20 * math.log10(pressure_pa_rms / REFERENCE_PRESSURE_PA), calibration_offset_db
    )


def sine(
    frequency_hz: float,
    duration_s: float,
    *,
    rms: float,
    sample_rate: int = SAMPLE_RATE,
    phase_rad: float = 0.0,
) -> np.ndarray:
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    return rms * math.sqrt(2) * np.sin(2 * np.pi * frequency_hz * t + phase_rad)


def level_steps(
    steps: Sequence[tuple[float, float]],
    *,
    frequency_hz: float = 1000.0,
    calibration_offset_db: float = 0.0,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """A sine whose level jumps between steps of ``(duration_s, level_db)``.

    Levels are dB SPL for the given calibration offset (dBFS when the offset is 0). The phase
    runs on across steps so the jumps add no clicks.
    """
    counts = [round(duration * sample_rate) for duration, _ in steps]
    gains = np.repeat([rms_for_spl(level, calibration_offset_db) for _, level in steps], counts)
    t = np.arange(gains.size) / sample_rate
    return gains * math.sqrt(2) * np.sin(2 * np.pi * frequency_hz * t)


def pink_noise(
    duration_s: float, *, rms: float, sample_rate: int = SAMPLE_RATE, seed: int = 0
) -> np.ndarray:
    """Noise with equal energy per octave (power ∝ 1/f), scaled to an exact RMS."""
    n = round(duration_s * sample_rate)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    frequencies = np.fft.rfftfreq(n, 1 / sample_rate)
    spectrum[0] = 0.0
    spectrum[1:] /= np.sqrt(frequencies[1:])
    return _scaled(np.fft.irfft(spectrum, n), rms)


def noise_bursts(
    bursts: Sequence[tuple[float, float]],
    *,
    duration_s: float,
    background_rms: float,
    burst_rms: float,
    sample_rate: int = SAMPLE_RATE,
    seed: int = 0,
) -> np.ndarray:
    """Pink background with louder pink bursts given as ``(start_s, length_s)``."""
    background = pink_noise(duration_s, rms=background_rms, sample_rate=sample_rate, seed=seed)
    loud = pink_noise(duration_s, rms=burst_rms, sample_rate=sample_rate, seed=seed + 1)
    gate = np.zeros_like(background)
    for start, length in bursts:
        gate[round(start * sample_rate) : round((start + length) * sample_rate)] = 1.0
    return background + gate * loud


def train_passby(
    *,
    duration_s: float = 14.0,
    speed_m_s: float = 30.0,
    distance_m: float = 25.0,
    train_length_m: float = 200.0,
    sample_rate: int = SAMPLE_RATE,
    seed: int = 0,
) -> np.ndarray:
    """A 200 m train passing at 108 km/h, 25 m away.

    Rolling noise and rumble follow the energy envelope of a line of wheelsets; the locomotive's
    engine tone and a rail-corrugation tone are Doppler-shifted; rail joints give the
    "clack-clack" of each bogie.
    """
    rng = np.random.default_rng(seed)
    n = round(duration_s * sample_rate)
    t = np.arange(n) / sample_rate
    front_arrival_s = 4.0
    front_x = speed_m_s * (t - front_arrival_s)  # along the track, 0 = closest to us
    wheelsets = np.linspace(0.0, train_length_m, 32)
    energy = sum(1.0 / (distance_m**2 + (front_x - offset) ** 2) for offset in wheelsets)
    envelope = np.sqrt(energy / energy.max())

    rolling = _band_limited(
        pink_noise(duration_s, rms=1.0, sample_rate=sample_rate, seed=seed),
        (150.0, 5000.0),
        sample_rate,
    )
    rumble = _band_limited(
        pink_noise(duration_s, rms=1.0, sample_rate=sample_rate, seed=seed + 1),
        (25.0, 180.0),
        sample_rate,
    )
    nearest_x = np.clip(0.0, front_x - train_length_m, front_x)
    corrugation = _doppler_tone(620.0, nearest_x, distance_m, sample_rate) * envelope
    locomotive = _locomotive(front_x, distance_m, sample_rate)
    joints = _rail_joint_clicks(t, front_arrival_s, speed_m_s, train_length_m, sample_rate, rng)

    mix = (envelope * (rolling + 0.8 * rumble)) + 0.25 * corrugation + 0.3 * locomotive
    mix += joints * envelope
    ambience = pink_noise(duration_s, rms=0.01, sample_rate=sample_rate, seed=seed + 2)
    return _scaled(mix, rms_for_dbfs(-32.0)) + _scaled(ambience, rms_for_dbfs(-66.0))


def horn(*, duration_s: float = 5.0, sample_rate: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """A two-tone train horn: long, short, long blasts of two brassy chords (311 and 370 Hz)."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * sample_rate)
    t = np.arange(n) / sample_rate
    gate = np.zeros(n)
    for start, length in ((0.3, 1.5), (2.2, 0.5), (3.1, 1.6)):
        gate += _blast_envelope(t, start, length)
    vibrato = 1 + 0.004 * np.sin(2 * np.pi * 5.5 * t + rng.uniform(0, 2 * np.pi))
    tones = sum(_harmonic_tone(f, vibrato, sample_rate, harmonics=10) for f in (311.1, 370.0))
    background = pink_noise(duration_s, rms=1.0, sample_rate=sample_rate, seed=seed)
    return _scaled(gate * tones, rms_for_dbfs(-20.0)) + _scaled(background, rms_for_dbfs(-64.0))


def crossing_bell(
    *, duration_s: float = 8.0, sample_rate: int = SAMPLE_RATE, seed: int = 0
) -> np.ndarray:
    """A level-crossing bell: about 110 strikes a minute of decaying inharmonic partials."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * sample_rate)
    t = np.arange(n) / sample_rate
    ratios = (1.0, 1.52, 2.21, 2.76, 3.61, 5.40)
    decays_s = (0.22, 0.16, 0.12, 0.09, 0.07, 0.05)
    bell = np.zeros(n)
    for strike in np.arange(0.2, duration_s - 0.3, 0.55):
        start = strike + rng.normal(0, 0.004)
        since = t - start
        ring = since >= 0
        gain = rng.uniform(0.85, 1.0)
        for k, (ratio, decay) in enumerate(zip(ratios, decays_s, strict=True)):
            partial = np.sin(2 * np.pi * 680.0 * ratio * since[ring]) * np.exp(-since[ring] / decay)
            bell[ring] += gain * partial / (1 + 0.5 * k)
    background = pink_noise(duration_s, rms=1.0, sample_rate=sample_rate, seed=seed)
    return _scaled(bell, rms_for_dbfs(-36.0)) + _scaled(background, rms_for_dbfs(-64.0))


def station_ambience(
    *, duration_s: float = 15.0, sample_rate: int = SAMPLE_RATE, seed: int = 0
) -> np.ndarray:
    """Platform background: pink noise, a PA chime, footsteps and a distant train rumble."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * sample_rate)
    t = np.arange(n) / sample_rate
    floor = pink_noise(duration_s, rms=rms_for_dbfs(-64.0), sample_rate=sample_rate, seed=seed)
    chime = np.zeros(n)
    chime_at = rng.uniform(1.0, 3.0)
    for k, frequency in enumerate((659.3, 523.3)):
        since = t - (chime_at + 0.6 * k)
        ring = since >= 0
        chime[ring] += np.sin(2 * np.pi * frequency * since[ring]) * np.exp(-since[ring] / 0.8)
    steps = np.zeros(n)
    for step in np.arange(rng.uniform(5.0, 6.0), 9.0, 0.52):
        steps += _click(t, step + rng.normal(0, 0.01), 0.03, rng) * rng.uniform(0.6, 1.0)
    steps = _band_limited(steps, (200.0, 4000.0), sample_rate)
    rumble = _band_limited(
        pink_noise(duration_s, rms=1.0, sample_rate=sample_rate, seed=seed + 1),
        (30.0, 400.0),
        sample_rate,
    )
    rumble *= np.exp(-(((t - 12.0) / 1.8) ** 2))
    return (
        floor
        + _scaled(chime, rms_for_dbfs(-56.0))
        + _scaled(steps, rms_for_dbfs(-62.0))
        + _scaled(rumble, rms_for_dbfs(-60.0))
    )


def long_recording(
    duration_s: float,
    *,
    sample_rate: int = SAMPLE_RATE,
    channels: int = 1,
    block_s: float = 10.0,
    seed: int = 0,
) -> Iterator[np.ndarray]:
    """A long field recording made block by block, shape (frames, channels) per block.

    Pink background near -50 dBFS whose level drifts by ±2 dB over ten minutes, a train
    pass-by (20 dB louder for 20 s) every 5 minutes with a 311 Hz horn for its middle 2 s.
    One 10 s stretch of noise is made once and reused, rotated by a random amount per block,
    so hours cost little to make; a second channel is the first 2 dB lower.
    """
    rng = np.random.default_rng(seed)
    total = round(duration_s * sample_rate)
    block = max(1, round(block_s * sample_rate))
    noise = pink_noise(block / sample_rate, rms=rms_for_dbfs(-50.0), sample_rate=sample_rate)
    horn = 0.05 * np.sin(2 * np.pi * 311.0 * np.arange(block) / sample_rate)
    for start in range(0, total, block):
        n = min(block, total - start)
        t = (start + np.arange(n)) / sample_rate
        drift = 10 ** (2 * math.sin(2 * math.pi * (start / sample_rate) / 600) / 20)
        cycle = t % 300
        gain = drift * np.where(cycle < 20, 10.0, 1.0)
        x = gain * np.roll(noise, int(rng.integers(block)))[:n]
        x += np.where((cycle > 9) & (cycle < 11), horn[:n], 0.0)
        yield (
            x[:, np.newaxis] if channels == 1 else np.column_stack([x] + [0.8 * x] * (channels - 1))
        )


DemoSound = Callable[..., np.ndarray]

DEMO_SOUNDS: dict[str, DemoSound] = {
    "train_passby": train_passby,
    "horn": horn,
    "crossing_bell": crossing_bell,
    "station_ambience": station_ambience,
}


def _scaled(x: np.ndarray, rms: float) -> np.ndarray:
    current = math.sqrt(float(np.mean(x**2)))
    return x * (rms / current) if current > 0 else x


def _band_limited(x: np.ndarray, band_hz: tuple[float, float], sample_rate: int) -> np.ndarray:
    sos = signal.butter(4, band_hz, btype="bandpass", fs=sample_rate, output="sos")
    return np.asarray(signal.sosfilt(sos, x))


def _doppler_tone(
    frequency_hz: float, source_x: np.ndarray, distance_m: float, sample_rate: int
) -> np.ndarray:
    """A tone from a source moving along ``source_x``: the pitch drops as it passes."""
    radius = np.hypot(distance_m, source_x)
    radial_speed = np.gradient(radius) * sample_rate  # > 0 while receding
    observed = frequency_hz * SPEED_OF_SOUND_M_S / (SPEED_OF_SOUND_M_S + radial_speed)
    return np.sin(2 * np.pi * np.cumsum(observed) / sample_rate)


def _locomotive(front_x: np.ndarray, distance_m: float, sample_rate: int) -> np.ndarray:
    engine = sum(_doppler_tone(95.0 * k, front_x, distance_m, sample_rate) / k for k in range(1, 6))
    return engine * distance_m / np.hypot(distance_m, front_x)


def _rail_joint_clicks(
    t: np.ndarray,
    front_arrival_s: float,
    speed_m_s: float,
    train_length_m: float,
    sample_rate: int,
    rng: np.random.Generator,
) -> np.ndarray:
    clicks = np.zeros_like(t)
    car_length_m = 25.0
    for car_front in np.arange(0.0, train_length_m, car_length_m):
        for bogie in (3.5, car_length_m - 3.5):
            for axle in (-1.25, 1.25):
                at = front_arrival_s + (car_front + bogie + axle) / speed_m_s
                clicks += _click(t, at, 0.012, rng) * rng.uniform(1.5, 2.5)
    return _band_limited(clicks, (300.0, 6000.0), sample_rate)


def _click(t: np.ndarray, at_s: float, decay_s: float, rng: np.random.Generator) -> np.ndarray:
    since = t - at_s
    window = (since >= 0) & (since < 8 * decay_s)
    out = np.zeros_like(t)
    out[window] = rng.standard_normal(int(window.sum())) * np.exp(-since[window] / decay_s)
    return out


def _blast_envelope(t: np.ndarray, start_s: float, length_s: float) -> np.ndarray:
    attack = np.clip((t - start_s) / 0.06, 0.0, 1.0)
    release = np.clip((start_s + length_s - t) / 0.15, 0.0, 1.0)
    return np.minimum(attack, release)


def _harmonic_tone(
    frequency_hz: float, vibrato: np.ndarray, sample_rate: int, *, harmonics: int
) -> np.ndarray:
    phase = 2 * np.pi * np.cumsum(frequency_hz * vibrato) / sample_rate
    return sum(np.sin(k * phase) / k**0.8 for k in range(1, harmonics + 1))
