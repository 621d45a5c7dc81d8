"""The curves table: one row per training run, grouped into learning curves (Dice against training-set size).

The table is long-format CSV (Parquet when ``pyarrow`` is installed). A user's own table needs only ``n_train`` and
``dice``; the grouping columns ``dataset, model, depth, scenario, seed`` default when absent. The trainer writes the
full schema (:data:`TRAINER_COLUMNS`). Column aliases accepted for hand-made tables: ``n`` or ``size`` for
``n_train``, ``score`` for ``dice``.

``scenario`` says how the model was trained: ``scratch`` (random weights), ``transfer:<source>`` (started from the
weights of ``source``) or any label a user gives. It is part of a curve's key, so runs of different scenarios are
never one curve, nor averaged together; a table without the column, or whose runs are all ``scratch`` (as a sweep
from random weights writes), is all ``scratch`` and its curves' keys and labels do not name it.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from samplecast.errors import InputError, raise_if_any
from samplecast.files import check_input_file

if TYPE_CHECKING:  # pandas loads when a table is read, not when the command line starts
    import pandas as pd

REQUIRED_COLUMNS = ("n_train", "dice")
GROUP_COLUMNS = ("dataset", "model", "depth", "scenario", "seed")
#: Filled into a grouping column's empty cells. A table without any grouping column is one curve named after its file.
GROUP_DEFAULTS: dict[str, Any] = {"dataset": "dataset", "model": "model", "depth": 0, "seed": 0}
COLUMN_ALIASES = {"n": "n_train", "size": "n_train", "score": "dice"}
TRAINER_COLUMNS = (
    "dataset", "model", "scenario", "depth", "seed", "fraction", "n_train", "dice",
    "dice_sd", "n_test", "steps", "epochs", "wall_s", "status", "run_id", "started_at",
)
#: Rows whose ``status`` is one of these are measurements; others (e.g. ``failed``) are kept in the file but not fitted.
OK_STATUSES = ("ok",)
MIN_SIZES = 3
#: Largest training-set size accepted: far beyond any annotation pool, small enough to be exact in floating point.
MAX_N_TRAIN = 10**9
#: Most curves forecast from one table: each takes a fit of its own, so more would run for hours.
MAX_CURVES = 2000
#: The scenario of a curve trained from random weights, and of every row of a table without a ``scenario`` column.
SCRATCH = "scratch"
#: How a transfer scenario starts: ``transfer:<source>``.
TRANSFER_PREFIX = "transfer:"
#: The longest scenario label accepted.
MAX_SCENARIO = 200
#: Largest curves table read, checked before it is opened, and most rows (runs) in it: seeds averaged, many runs
#: can make one curve.
MAX_TABLE_BYTES = 64 * 1024 * 1024
MAX_ROWS = 1_000_000
#: Separators a table saved by a spreadsheet in some locales uses instead of the comma.
OTHER_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


@dataclass(frozen=True)
class Curve:
    """One learning curve: mean Dice at each distinct training-set size, in increasing order of size.

    Args:
        key: the grouping columns that identify the curve, e.g. ``{"dataset": "kvasir", "depth": 5, "seed": 0}``.
        n: distinct training-set sizes, strictly increasing, shape ``(k,)``.
        dice: mean Dice at each size, shape ``(k,)``.
        sd: standard deviation across replicates (seeds) at each size, ``nan`` where there is one replicate.
        count: number of replicates at each size.
        n_test: test cases each Dice was measured on (the fewest among replicates), or ``None`` when not recorded.
        dice_sd: standard deviation of per-case test Dice (the mean among replicates), or ``None`` when not recorded.
    """

    key: dict[str, Any]
    n: np.ndarray
    dice: np.ndarray
    sd: np.ndarray = field(default=None)  # type: ignore[assignment]
    count: np.ndarray = field(default=None)  # type: ignore[assignment]
    n_test: np.ndarray | None = None
    dice_sd: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = np.asarray(self.n, dtype=float)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "dice", np.asarray(self.dice, dtype=float))
        sd = np.full(n.shape, np.nan) if self.sd is None else np.asarray(self.sd, dtype=float)
        count = np.ones(n.shape, dtype=int) if self.count is None else np.asarray(self.count, dtype=int)
        object.__setattr__(self, "sd", sd)
        object.__setattr__(self, "count", count)
        for name in ("n_test", "dice_sd"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=float))

    @property
    def label(self) -> str:
        """A short human-readable name, e.g. ``kvasir-seg / resunet / depth 5 / seed 0``: plain text, its control
        characters (terminal escape sequences, bidirectional overrides) removed, as a table can hold anything."""
        parts = []
        for name, value in self.key.items():
            parts.append(f"{name} {value}" if name in ("depth", "seed") else str(value))
        return printable(" / ".join(parts)) if parts else "curve"

    @property
    def n_max(self) -> float:
        """The largest observed training-set size."""
        return float(self.n[-1])

    @property
    def scenario(self) -> str:
        """How the curve's runs were trained: its key's ``scenario``, :data:`SCRATCH` when the key has none."""
        return str(self.key.get("scenario", SCRATCH))

    def up_to(self, n_max: float) -> Curve:
        """The prefix of this curve with sizes ``<= n_max`` (what a planner would have seen at that point)."""
        keep = self.n <= n_max
        return Curve(self.key, self.n[keep], self.dice[keep], self.sd[keep], self.count[keep],
                     None if self.n_test is None else self.n_test[keep],
                     None if self.dice_sd is None else self.dice_sd[keep])

    def noise_sd(self) -> np.ndarray | None:
        """Per-size noise estimate from replicates, or ``None`` when no size has two or more replicates."""
        if not np.any(self.count >= 2):
            return None
        return self.sd


def printable(text: str) -> str:
    """``text`` without control and format characters (Unicode categories Cc and Cf, such as ESC, which starts a
    terminal escape sequence, or a right-to-left override), except the joiners that emoji and some scripts need."""
    return "".join(ch for ch in text if ch in "\u200c\u200d" or unicodedata.category(ch) not in ("Cc", "Cf"))


def load_table(path: str | Path) -> pd.DataFrame:
    """Read and validate a curves table; return only the measured rows, grouping columns filled in.

    Raises:
        InputError: with one line per problem (missing file, empty file, duplicated or missing columns, non-numeric
            values, NaN, Dice outside [0, 1], sizes that are not whole numbers of cases), all collected first.
    """
    import pandas as pd

    path = check_input_file(path, "a curves table (.csv or .parquet)", MAX_TABLE_BYTES)
    parquet = path.suffix.lower() in (".parquet", ".pq")
    try:
        if parquet:
            _check_parquet_rows(path)
            table = pd.read_parquet(path)
        else:
            _check_header(path)
            table = pd.read_csv(path, skipinitialspace=True, dtype={"scenario": str},  # labels such as "1" stay text
                                nrows=MAX_ROWS + 1)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: file is empty; expected a header with n_train and dice, then one row per run")
    except ImportError as exc:
        raise InputError(f"{path}: cannot read Parquet ({exc}); install pyarrow or save the table as CSV")
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable table ({first})")
    if len(table) > MAX_ROWS:
        raise InputError(f"{path}: more than {MAX_ROWS:,} rows, the limit for a curves table (one row per run)")
    if len(table.columns) == 1:
        header = str(table.columns[0])
        for separator, name in OTHER_SEPARATORS.items():
            if separator in header:
                raise InputError(f"{path}: one column {header!r}: its values look separated by {name}; samplecast "
                                 "reads comma-separated tables (save it as CSV with commas)")
    return validate_table(table, source=str(path))


def _check_parquet_rows(path: Path) -> None:
    """Refuse a Parquet file of more than :data:`MAX_ROWS` rows from its footer, before its columns are read (a
    small file can hold many compressed rows)."""
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(path).metadata.num_rows
    if rows > MAX_ROWS:
        raise InputError(f"{path}: {rows:,} rows, over the limit of {MAX_ROWS:,} for a curves table (one row per run)")


def _check_header(path: Path) -> None:
    """Refuse a CSV whose header repeats a column name (pandas would silently rename the copy ``name.1``)."""
    try:
        with path.open(newline="") as handle:
            header = next(csv.reader(handle), [])
    except (UnicodeDecodeError, csv.Error):
        return  # the reader proper reports an unreadable file
    _check_unique([name.strip() for name in header], str(path))


def _check_unique(columns: Sequence[str], source: str) -> None:
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise InputError(f"{source}: column{'s' if len(repeated) > 1 else ''} {', '.join(map(repr, repeated))} "
                         "appear more than once in the header; keep one of each")


def validate_table(table: pd.DataFrame, source: str = "table") -> pd.DataFrame:
    """Check a curves table in memory and return its measured rows with standard column names.

    Grouping columns the table has get their empty cells filled with :data:`GROUP_DEFAULTS`; absent ones stay absent
    (:func:`group_curves` then names the curve after ``source``). ``source`` names the table in error messages (a
    file path for tables read from disk). Row numbers in messages are 1-based data rows, as a spreadsheet shows them
    below the header.
    """
    import pandas as pd

    table = table.rename(columns=lambda c: str(c).strip())
    _check_unique(list(table.columns), source)
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
        table[column] = _numbers(table[column], column, source, problems)
    dice, n = table["dice"], table["n_train"]
    for row in table.index[(dice < 0) | (dice > 1)]:
        problems.append(f"{source}: row {row}: dice {dice[row]:g} is outside [0, 1] (Dice is a fraction, not a "
                        "percent)")
    bad_n = ~((n >= 1) & (n <= MAX_N_TRAIN) & (n == np.floor(n))) & n.notna()
    for row in table.index[bad_n]:
        problems.append(f"{source}: row {row}: n_train {n[row]:g} must be a whole number of training cases from 1 to "
                        f"{MAX_N_TRAIN:,}")
    for column in ("n_test", "dice_sd"):
        if column in table:
            table[column] = pd.to_numeric(table[column], errors="coerce")
    if "scenario" in table:
        table["scenario"] = _scenarios(table["scenario"], source, problems)
    raise_if_any(problems)
    if "scenario" in table and (table["scenario"] == SCRATCH).all():  # the default: read as a table without it
        table = table.drop(columns="scenario")

    for column, default in GROUP_DEFAULTS.items():
        if column in table:
            table[column] = table[column].fillna(default)
    return table.reset_index(drop=True)


def _numbers(raw: pd.Series, column: str, source: str, problems: list[str]) -> pd.Series:
    """A required column as floats; every cell that is not a plain number (text, NaN, a boolean, a date) is a
    problem naming its row."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(raw) or pd.api.types.is_datetime64_any_dtype(raw) or isinstance(
            raw.dtype, pd.DatetimeTZDtype):
        kind = "true/false values" if pd.api.types.is_bool_dtype(raw) else "dates"
        problems.append(f"{source}: {column} holds {kind}, not numbers")
        return pd.Series(np.nan, index=raw.index)
    values = pd.to_numeric(raw, errors="coerce")
    if raw.dtype == object:  # mixed cells: a Python bool or date among numbers is not a number either
        odd = raw.map(lambda v: isinstance(v, bool) or hasattr(v, "year"))
        values[odd] = np.nan
    values = values.astype(float)
    for row in values.index[values.isna()]:
        text = raw[row]
        if not isinstance(text, bool) and (pd.isna(text) or str(text).strip().lower() in ("", "nan")):
            problems.append(f"{source}: row {row}: {column} is missing (NaN)")
        else:
            problems.append(f"{source}: row {row}: {column} {str(text)!r} is not a number")
    for row in values.index[np.isinf(values)]:
        problems.append(f"{source}: row {row}: {column} is infinite")
    return values


def scenario_problem(value: Any) -> str | None:
    """What is wrong with a scenario label (``scratch``, ``transfer:<source>`` or a user's own), or ``None``: it must
    be text, not empty, at most :data:`MAX_SCENARIO` characters, without control characters, and a transfer must
    name its source."""
    if not isinstance(value, str):
        return "is missing" if value is None or value != value else f"{value!r} is not text"
    text = value.strip()
    if not text:
        return "is empty; name how the runs were trained (scratch, transfer:<source> or a label of your own)"
    if len(text) > MAX_SCENARIO:
        return f"is {len(text):,} characters long; at most {MAX_SCENARIO} are allowed"
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        return f"{text!r} holds control characters"
    if text == TRANSFER_PREFIX:
        return f"{text!r} names no source; write {TRANSFER_PREFIX}<source>"
    return None


def _scenarios(raw: pd.Series, source: str, problems: list[str]) -> pd.Series:
    """The scenario column with its labels stripped; each bad cell is a problem naming its row."""
    for row, value in raw.items():
        problem = scenario_problem(value)
        if problem:
            problems.append(f"{source}: row {row}: scenario {problem}")
    return raw.map(lambda v: v.strip() if isinstance(v, str) else v)


def group_curves(
    table: pd.DataFrame,
    *,
    average_seeds: bool = True,
    min_sizes: int = MIN_SIZES,
    source: str = "table",
    max_curves: int = MAX_CURVES,
) -> list[Curve]:
    """Group a validated table into curves keyed by its grouping columns (``dataset, model, depth, scenario, seed``),
    ordered by size.

    Rows sharing a key and a size are replicates; their mean is the curve's point and their spread its noise estimate.
    With ``average_seeds`` (the default) the seed is dropped from the key, so the seeds of a configuration become
    replicates of one curve; without it each seed is a curve of its own. The scenario stays in the key, so runs of
    different scenarios are never averaged together. A table without grouping columns (other than a merged seed) is one
    curve whose ``dataset`` is the stem of ``source`` (its file name), and so is each scenario of a table naming no
    dataset, model or depth.

    Raises:
        InputError: when a curve has fewer than ``min_sizes`` distinct sizes (one line per such curve), or the
            table holds more than ``max_curves`` curves (checked before any curve is built).
    """
    by = [c for c in GROUP_COLUMNS if c in table and not (average_seeds and c == "seed")]
    if not by or ("scenario" in by and set(by) <= {"scenario", "seed"}):
        table, by = table.assign(_name=Path(source).stem), ["_name", *by]
    count = table.groupby(by, sort=False).ngroups
    if count > max_curves:
        raise InputError(f"{source}: {count:,} curves; at most {max_curves:,} are forecast at once (each is fitted "
                         "on its own): split the table, or merge seeds into one curve per configuration "
                         "(average_seeds)")
    extra = {c: (c, "min" if c == "n_test" else "mean") for c in ("n_test", "dice_sd") if c in table}
    stats = (table.groupby([*by, "n_train"], sort=True)
             .agg(mean=("dice", "mean"), std=("dice", "std"), count=("dice", "size"), **extra).reset_index())
    curves, problems = [], []
    for values, rows in stats.groupby(by, sort=True):
        values = values if isinstance(values, tuple) else (values,)
        key = {("dataset" if name == "_name" else name): _plain(v) for name, v in zip(by, values)}
        curve = Curve(key, rows["n_train"].to_numpy(), rows["mean"].to_numpy(), rows["std"].to_numpy(),
                      rows["count"].to_numpy(), rows["n_test"].to_numpy() if "n_test" in rows else None,
                      rows["dice_sd"].to_numpy() if "dice_sd" in rows else None)
        if len(curve.n) < min_sizes:
            problems.append(
                f"{source}: curve {curve.label}: only {len(curve.n)} distinct size{'s' if len(curve.n) != 1 else ''} "
                f"(n_train {', '.join(f'{x:g}' for x in curve.n)}); at least {min_sizes} are needed to fit a curve"
            )
        curves.append(curve)
    _raise_first(problems, lambda more: f"{source}: and {more:,} more curves with too few sizes")
    return curves


def _raise_first(problems: list[str], rest: Callable[[int], str], shown: int = 20) -> None:
    """Raise the first ``shown`` problems, and ``rest(count)`` for the others."""
    more = len(problems) - shown
    raise_if_any(problems[:shown] + ([rest(more)] if more > 0 else []))


def load_curves(paths: str | Path | Sequence[str | Path], *, average_seeds: bool = True,
                min_sizes: int = MIN_SIZES) -> list[Curve]:
    """Read a curves table, or several read as one (:func:`join_tables`), and group it into curves; every problem is
    reported in one :class:`InputError`.

    The seeds of a configuration become one curve of their mean unless ``average_seeds`` is false: forecast from the
    mean, the default method's median erred by about a quarter less from 20% of the sizes, held out by image set
    (``benchmarks/forecast_accuracy.md``), since every seed's largest run trains on the same whole pool.
    """
    paths = as_paths(paths)
    table = load_table(paths[0]) if len(paths) == 1 else join_tables(paths)
    return group_curves(table, average_seeds=average_seeds, min_sizes=min_sizes, source=sources_words(paths))


def as_paths(paths: str | Path | Sequence[str | Path] | None) -> list[str | Path]:
    """One curves file, several, or none (``None``) as a list of them."""
    return [] if paths is None else [paths] if isinstance(paths, (str, Path)) else list(paths)


def sources_words(paths: Sequence[str | Path]) -> str:
    """The curves files in words, for messages and reports: ``a.csv`` or ``a.csv and b.csv``."""
    names = [str(p) for p in paths]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def join_tables(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Several curves tables read as one, such as the sweeps of two scenarios or of seeds run apart.

    Each table must hold curves of its own (another scenario, seed, depth or dataset): runs of one curve in two tables
    would mix two protocols, or count one run twice, as replicates. A table that names no dataset, model or depth is
    named after its file, as when it is read alone.

    Raises:
        InputError: a table's own problems, or one line per file given twice, per pair of identical tables and per
            curve found in two tables, naming the files.
    """
    import pandas as pd

    paths = [Path(p) for p in paths]
    seen: dict[Path, Path] = {}
    for path in paths:
        same = seen.setdefault(path.resolve(), path)
        if same is not path:
            raise InputError(f"{path}: given twice{f' (also as {same})' if str(same) != str(path) else ''}; "
                             "give each curves table once")
    tables = []
    for path in paths:
        table = load_table(path)
        if not any(c in table for c in ("dataset", "model", "depth")):
            table = table.assign(dataset=path.stem)
        tables.append(table.assign(_file=str(path)))
    joined = pd.concat(tables, ignore_index=True)
    if len(joined) > MAX_ROWS:
        raise InputError(f"{sources_words(paths)}: more than {MAX_ROWS:,} rows together, the limit for curves read "
                         "at once (one row per run)")
    if "scenario" in joined:
        joined["scenario"] = joined["scenario"].fillna(SCRATCH)
        if (joined["scenario"] == SCRATCH).all():
            joined = joined.drop(columns="scenario")
    for column, default in GROUP_DEFAULTS.items():
        if column in joined:
            joined[column] = joined[column].fillna(default)
    key = [c for c in GROUP_COLUMNS if c in joined]
    files = joined.groupby(key, sort=True)["_file"].unique()  # every table has a dataset column by now
    problems = [f"{' and '.join(where)}: both hold runs of curve {_key_words(key, values)}; tables read together "
                "must hold different curves (another seed, scenario, depth or dataset)"
                for values, where in files.items() if len(where) > 1]
    _raise_first(problems, lambda more: f"{sources_words(paths)}: and {more:,} more curves in two tables")
    return joined.drop(columns="_file")


def _key_words(columns: Sequence[str], values: Any) -> str:
    values = values if isinstance(values, tuple) else (values,)
    return " / ".join(f"{c} {_plain(v)}" for c, v in zip(columns, values))


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
