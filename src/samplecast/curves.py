"""The curves table: one row per training run, grouped into learning curves (Dice against training-set size).

The table is long-format CSV (Parquet when ``pyarrow`` is installed). A user's own table needs only ``n_train`` and
``dice``; the grouping columns ``dataset, model, depth, seed`` default when absent. The trainer writes the full schema
(:data:`TRAINER_COLUMNS`). Column aliases accepted for hand-made tables: ``n`` or ``size`` for ``n_train``, ``score``
for ``dice``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samplecast.errors import InputError, raise_if_any

REQUIRED_COLUMNS = ("n_train", "dice")
GROUP_COLUMNS = ("dataset", "model", "depth", "seed")
GROUP_DEFAULTS: dict[str, Any] = {"dataset": "dataset", "model": "model", "depth": 0, "seed": 0}
COLUMN_ALIASES = {"n": "n_train", "size": "n_train", "score": "dice"}
TRAINER_COLUMNS = (
    "dataset", "model", "depth", "seed", "fraction", "n_train", "dice",
    "dice_sd", "n_test", "steps", "epochs", "wall_s", "status", "run_id", "started_at",
)
#: Rows whose ``status`` is one of these are measurements; others (e.g. ``failed``) are kept in the file but not fitted.
OK_STATUSES = ("ok",)
MIN_SIZES = 3


@dataclass(frozen=True)
class Curve:
    """One learning curve: mean Dice at each distinct training-set size, in increasing order of size.

    Args:
        key: the grouping columns that identify the curve, e.g. ``{"dataset": "kvasir", "depth": 5, "seed": 0}``.
        n: distinct training-set sizes, strictly increasing, shape ``(k,)``.
        dice: mean Dice at each size, shape ``(k,)``.
        sd: standard deviation across replicates (seeds) at each size, ``nan`` where there is one replicate.
        count: number of replicates at each size.
    """

    key: dict[str, Any]
    n: np.ndarray
    dice: np.ndarray
    sd: np.ndarray = field(default=None)  # type: ignore[assignment]
    count: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = np.asarray(self.n, dtype=float)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "dice", np.asarray(self.dice, dtype=float))
        sd = np.full(n.shape, np.nan) if self.sd is None else np.asarray(self.sd, dtype=float)
        count = np.ones(n.shape, dtype=int) if self.count is None else np.asarray(self.count, dtype=int)
        object.__setattr__(self, "sd", sd)
        object.__setattr__(self, "count", count)

    @property
    def label(self) -> str:
        """A short human-readable name, e.g. ``kvasir-seg / resunet / depth 5 / seed 0``."""
        parts = []
        for name, value in self.key.items():
            parts.append(f"{name} {value}" if name in ("depth", "seed") else str(value))
        return " / ".join(parts) if parts else "curve"

    @property
    def n_max(self) -> float:
        """The largest observed training-set size."""
        return float(self.n[-1])

    def up_to(self, n_max: float) -> Curve:
        """The prefix of this curve with sizes ``<= n_max`` (what a planner would have seen at that point)."""
        keep = self.n <= n_max
        return Curve(self.key, self.n[keep], self.dice[keep], self.sd[keep], self.count[keep])

    def noise_sd(self) -> np.ndarray | None:
        """Per-size noise estimate from replicates, or ``None`` when no size has two or more replicates."""
        if not np.any(self.count >= 2):
            return None
        return self.sd


def load_table(path: str | Path) -> pd.DataFrame:
    """Read and validate a curves table; return only the measured rows, grouping columns filled in.

    Raises:
        InputError: with one line per problem (missing file, empty file, missing columns, non-numeric values, NaN,
            Dice outside [0, 1], non-positive sizes), all collected before raising.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; expected a curves table (.csv or .parquet)")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: file is empty; expected a header with n_train and dice, then one row per run")
    except ImportError as exc:
        raise InputError(f"{path}: cannot read Parquet ({exc}); install pyarrow or save the table as CSV")
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable table ({first})")
    return validate_table(table, source=str(path))


def validate_table(table: pd.DataFrame, source: str = "table") -> pd.DataFrame:
    """Check a curves table in memory and return its measured rows with standard column names and defaults.

    ``source`` names the table in error messages (a file path for tables read from disk). Row numbers in messages
    are 1-based data rows, as a spreadsheet shows them below the header.
    """
    table = table.rename(columns=lambda c: str(c).strip())
    renames = {alias: name for alias, name in COLUMN_ALIASES.items() if alias in table and name not in table}
    table = table.rename(columns=renames)
    missing = [c for c in REQUIRED_COLUMNS if c not in table]
    if missing:
        found = ", ".join(map(str, table.columns)) or "none"
        raise InputError(
            f"{source}: missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(found: {found}; aliases n/size and score are accepted)"
        )
    if len(table) == 0:
        raise InputError(f"{source}: no rows; expected one row per training run")

    table = table.copy()
    table.index = pd.RangeIndex(1, len(table) + 1)
    if "status" in table:
        table = table[table["status"].astype(str).str.strip().isin(OK_STATUSES)]
        if len(table) == 0:
            raise InputError(f"{source}: no rows with status 'ok'; every run in the table failed or is unfinished")

    problems: list[str] = []
    for column in REQUIRED_COLUMNS:
        raw = table[column]
        values = pd.to_numeric(raw, errors="coerce")
        for row in values.index[values.isna()]:
            text = raw[row]
            if pd.isna(text) or str(text).strip().lower() in ("", "nan"):
                problems.append(f"{source}: row {row}: {column} is missing (NaN)")
            else:
                problems.append(f"{source}: row {row}: {column} {str(text)!r} is not a number")
        table[column] = values
    dice, n = table["dice"], table["n_train"]
    for row in table.index[(dice < 0) | (dice > 1)]:
        problems.append(f"{source}: row {row}: dice {dice[row]:g} is outside [0, 1] (Dice is a fraction, not a percent)")
    for row in table.index[n <= 0]:
        problems.append(f"{source}: row {row}: n_train {n[row]:g} must be a positive number of training cases")
    for row in table.index[np.isinf(n)]:
        problems.append(f"{source}: row {row}: n_train is infinite")
    raise_if_any(problems)

    for column, default in GROUP_DEFAULTS.items():
        if column not in table:
            table[column] = default
        else:
            table[column] = table[column].fillna(default)
    return table.reset_index(drop=True)


def group_curves(
    table: pd.DataFrame,
    *,
    average_seeds: bool = False,
    min_sizes: int = MIN_SIZES,
    source: str = "table",
) -> list[Curve]:
    """Group a validated table into curves keyed by ``(dataset, model, depth, seed)``, ordered by size.

    Rows sharing a key and a size are replicates; their mean is the curve's point and their spread its noise
    estimate. With ``average_seeds`` the seed is dropped from the key, so the seeds of a configuration become
    replicates of one curve.

    Raises:
        InputError: when a curve has fewer than ``min_sizes`` distinct sizes (one line per such curve).
    """
    by = [c for c in GROUP_COLUMNS if not (average_seeds and c == "seed")]
    curves, problems = [], []
    for values, rows in table.groupby(by, sort=True):
        key = {name: _plain(v) for name, v in zip(by, values)}
        stats = rows.groupby("n_train")["dice"].agg(["mean", "std", "count"]).sort_index()
        curve = Curve(key, stats.index.to_numpy(), stats["mean"].to_numpy(), stats["std"].to_numpy(),
                      stats["count"].to_numpy())
        if len(curve.n) < min_sizes:
            problems.append(
                f"{source}: curve {curve.label}: only {len(curve.n)} distinct size{'s' if len(curve.n) != 1 else ''} "
                f"(n_train {', '.join(f'{x:g}' for x in curve.n)}); at least {min_sizes} are needed to fit a curve"
            )
        curves.append(curve)
    raise_if_any(problems)
    return curves


def load_curves(path: str | Path, *, average_seeds: bool = False, min_sizes: int = MIN_SIZES) -> list[Curve]:
    """Read a curves table and group it into curves; every problem is reported in one :class:`InputError`."""
    return group_curves(load_table(path), average_seeds=average_seeds, min_sizes=min_sizes, source=str(path))


def check_points(n: Sequence[float], dice: Sequence[float], *, min_points: int = MIN_SIZES,
                 name: str = "curve") -> tuple[np.ndarray, np.ndarray]:
    """Validate the points an estimator is fitted on: finite, Dice in [0, 1], sizes positive and strictly increasing.

    The shared input check of every forecaster, so all fail with the same words.
    """
    n_arr, dice_arr = np.asarray(n, dtype=float).ravel(), np.asarray(dice, dtype=float).ravel()
    problems = []
    if n_arr.shape != dice_arr.shape:
        raise InputError(f"{name}: {n_arr.size} sizes but {dice_arr.size} Dice values")
    if not np.all(np.isfinite(dice_arr)):
        problems.append(f"{name}: Dice contains NaN or infinite values")
    elif np.any((dice_arr < 0) | (dice_arr > 1)):
        problems.append(f"{name}: Dice values must lie in [0, 1]")
    if not np.all(np.isfinite(n_arr)) or np.any(n_arr <= 0):
        problems.append(f"{name}: sizes must be finite and positive")
    elif np.any(np.diff(n_arr) <= 0):
        problems.append(f"{name}: sizes must be strictly increasing (got {', '.join(f'{x:g}' for x in n_arr)})")
    if n_arr.size < min_points:
        problems.append(f"{name}: {n_arr.size} point{'s' if n_arr.size != 1 else ''}; at least {min_points} are "
                        "needed to fit a curve")
    raise_if_any(problems)
    return n_arr, dice_arr


def _plain(value: Any) -> Any:
    """NumPy scalars to Python scalars, so keys serialise to JSON as they read."""
    return value.item() if isinstance(value, np.generic) else value
