"""The band and A-weighting filters call sosfilt's kernel directly: the same output."""

from __future__ import annotations

import numpy as np
import pyoctaveband as po
from scipy import signal

from noisebank.ingest.sos import SosFilter


def test_filtering_in_place_block_by_block_gives_sosfilts_output() -> None:
    sos = po.WeightingFilter(192_000, "A").sos
    x = np.random.default_rng(7).standard_normal((2, 20_000))
    ours = SosFilter(sos, channels=2)

    blocks = [
        ours.filter_in_place(part.copy()) for part in np.array_split(x, [0, 7, 9_001], axis=1)
    ]

    np.testing.assert_array_equal(np.hstack(blocks), signal.sosfilt(sos, x, axis=-1))
