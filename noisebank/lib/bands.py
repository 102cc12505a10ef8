"""The 1/3-octave bands Noisebank reports: nominal centre frequencies (IEC 61260-1), 25 Hz-20 kHz.

They key NoiseAnalysis.band_levels and name the band_* export columns.
"""

BAND_CENTRES = [
    "25", "31.5", "40", "50", "63", "80", "100", "125", "160", "200", "250", "315", "400",
    "500", "630", "800", "1000", "1250", "1600", "2000", "2500", "3150", "4000", "5000",
    "6300", "8000", "10000", "12500", "16000", "20000",
]  # fmt: skip
