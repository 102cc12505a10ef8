"""Where the signal checks draw their lines: shared by the measuring code, filters and pages."""

SILENCE_DBFS = -120.0
SILENT_SHARE = 0.99  # more than 99 % of the samples below -120 dBFS: "no signal"
CLIP_MARGIN_DB = 0.01  # a sample at or within 0.01 dB of full scale (or beyond) is clipped
CLIPPED_SHARE_LIMIT = 0.001  # more than 0.1 % of the samples clipped: the recording is "clipped"
DC_OFFSET_LIMIT = 0.001  # a channel mean beyond ±0.001 of full scale (-60 dBFS): "DC offset"
DEAD_CHANNEL_DB = 6.0  # a channel whose LAeq is more than 6 dB below the loudest one's: "dead"
