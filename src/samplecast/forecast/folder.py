"""A built forecaster on disk: the folder :func:`samplecast.forecast.build.build_forecaster` writes, found, checked and
turned into forecasters.

A forecaster folder holds everything the learned methods and the report's trust figures need, learned together on
one corpus of complete curves, so they cannot disagree: ``ensemble.json`` (stacking weights and interval
correction), ``surrogate.npz`` and ``surrogate.json`` (the LSTM with the widening of its intervals),
``backtest_summary.json`` (the leave-one-dataset-out backtest of every method) and ``build.json`` (how it was built).
The folder shipped with samplecast (``samplecast/assets/``) is one.

Example:
    >>> from samplecast.forecast.methods import make_forecaster
    >>> folder = ForecasterFolder.open("my-forecaster")                     # doctest: +SKIP
    >>> make_forecaster("ensemble", folder).fit([16, 80, 160, 400], [0.45, 0.61, 0.68, 0.72])  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samplecast.errors import InputError
from samplecast.files import shipped

ENSEMBLE = "ensemble.json"
SURROGATE = "surrogate.npz"
SURROGATE_DESCRIPTION = "surrogate.json"
SUMMARY = "backtest_summary.json"
BUILD = "build.json"
#: The files a forecaster folder must hold (``build.json`` is a record, not needed to forecast).
REQUIRED: tuple[str, ...] = (ENSEMBLE, SURROGATE, SURROGATE_DESCRIPTION, SUMMARY)
#: Every file a build writes.
FILES: tuple[str, ...] = (*REQUIRED, BUILD)


@dataclass(frozen=True)
class ForecasterFolder:
    """The files of one built forecaster.

    Args:
        path: the folder.
        shipped: whether it is the folder shipped with samplecast (named so in reports).
    """

    path: Path
    shipped: bool = False

    @classmethod
    def open(cls, path: str | Path | None = None) -> ForecasterFolder:
        """The forecaster in folder ``path`` (default: the one shipped with samplecast), checked to hold every file
        of :data:`REQUIRED`.

        Raises:
            InputError: when ``path`` is not a folder or lacks files (one line naming them all).
        """
        if path is None:
            return cls(shipped(), shipped=True)
        folder = Path(path)
        if not folder.is_dir():
            raise InputError(f"{folder}: not a folder; expected a forecaster folder written by a build")
        missing = [name for name in REQUIRED if not (folder / name).is_file()]
        if missing:
            raise InputError(f"{folder}: not a complete forecaster folder, it lacks {', '.join(missing)} (a build "
                             "writes them all at once)")
        return cls(folder)

    @property
    def ensemble(self) -> Path:
        return self.path / ENSEMBLE

    @property
    def surrogate(self) -> Path:
        return self.path / SURROGATE

    @property
    def summary(self) -> Path:
        return self.path / SUMMARY

    @property
    def build(self) -> Path:
        return self.path / BUILD

    @property
    def name(self) -> str:
        """How reports name it: ``"shipped"`` or the folder's path."""
        return "shipped" if self.shipped else str(self.path)

    def backtest_summary(self) -> dict[str, Any]:
        """The leave-one-dataset-out backtest summary, as its JSON document."""
        try:
            return json.loads(self.summary.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{self.summary}: not valid JSON ({exc})") from None
