"""Noisebank: collect, measure and publish field noise recordings."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("noisebank")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"
