"""Noisebank: collect, measure and publish field noise recordings."""


def __getattr__(name: str) -> str:
    # Read on first use, not at import: `noisebank worker` installs its signal handlers in the
    # first lines of noisebank.cli, and everything imported before them delays that.
    if name != "__version__":
        raise AttributeError(f"module 'noisebank' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("noisebank")
    except PackageNotFoundError:  # running from a checkout that was never installed
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found
