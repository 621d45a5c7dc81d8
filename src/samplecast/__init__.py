"""samplecast: forecast how many annotated images a segmentation model needs."""

from collections.abc import Callable
from functools import cache
from importlib import import_module
from typing import Any

__all__ = ["__version__", "lazy_names"]


def __getattr__(name: str) -> Any:
    """``__version__``, read from the installed metadata on first use (importing the metadata reader takes a
    noticeable part of the command line's start, before it can handle Ctrl-C)."""
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'samplecast' has no attribute {name!r}")


@cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("samplecast")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0"


def lazy_names(package: str, homes: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` serving each name of ``homes`` (name -> module in ``package``) from
    its module, imported on first use, so importing the package stays light.

    Example:
        >>> __getattr__ = lazy_names(__name__, {"run_sweep": "sweep"})  # doctest: +SKIP
    """

    def serve(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{homes[name]}"), name)

    return serve
