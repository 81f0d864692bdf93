"""The installed version, a leaf every layer may read (as httpx's ``__version__.py``)."""

from importlib.metadata import PackageNotFoundError, version


def _installed() -> str:
    try:
        return version("posting-monitor")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0.0.0"


__version__ = _installed()
