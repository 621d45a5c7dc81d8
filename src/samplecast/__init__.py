"""samplecast: forecast how many annotated images a segmentation model needs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("samplecast")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
