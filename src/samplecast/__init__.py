"""samplecast: forecast how many annotated images a segmentation model needs."""

from collections.abc import Callable
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("samplecast")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__", "lazy_names"]


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
