"""Fixed test and validation splits, and the nested training subsets a learning curve is measured on.

The choice (DESIGN.md, "Nested subsets"): the test split is drawn once per dataset with a fixed seed and never
trained on, so every run of a sweep is scored on the same cases. The validation split (for checkpoint selection and
early stopping) is drawn from the remaining cases the same way, so it is also shared by all runs and never trained
on; its size does not change with the training fraction, so small runs are not judged on a tiny validation set.
The rest is the pool. For each training seed the pool is permuted once, and the subset for fraction ``f`` is the
first ``ceil(f * |pool|)`` cases of that permutation (an absolute size ``n``, the first ``n``): every smaller subset is
contained in every larger one, so a learning curve measures the effect of adding data, not of drawing different data.
When the pool grows between annotation rounds, the new cases follow the old order (:func:`pool_order`).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from samplecast.errors import InputError, raise_if_any
from samplecast.files import put_text

#: The smallest training set a learning-curve point may use.
MIN_TRAIN_CASES = 2


@dataclass(frozen=True)
class Splits:
    """A dataset's cases split three ways, each list sorted.

    Args:
        pool: cases training subsets are drawn from.
        val: fixed validation cases (model selection), never trained on.
        test: fixed test cases (the reported Dice), never trained on.
    """

    pool: list[str]
    val: list[str]
    test: list[str]


def split_cases(case_ids: Sequence[str], *, test_fraction: float = 0.2, val_fraction: float = 0.1,
                seed: int = 0) -> Splits:
    """Split cases into a fixed test set (``test_fraction`` of all), a validation set (``val_fraction`` of the
    rest, at least one case) and the training pool (the remainder).

    The result depends only on the set of case ids and ``seed``, not on their order; keep ``seed`` fixed for a
    dataset (it is not the training seed) so every run of a sweep shares the split.

    Raises:
        InputError: for fractions outside (0, 1), duplicate ids, or too few cases to leave a pool.
    """
    problems = [f"{name} {value!r}: expected a number between 0 and 1 (exclusive)"
                for name, value in (("test_fraction", test_fraction), ("val_fraction", val_fraction))
                if not 0 < value < 1]
    duplicates = sorted(case_id for case_id, count in Counter(case_ids).items() if count > 1)
    if duplicates:
        problems.append(f"case ids appear more than once: {', '.join(duplicates[:5])}")
    raise_if_any(problems)
    order = _permuted(case_ids, seed)
    n_test = max(1, _round(test_fraction * len(order)))
    n_val = max(1, _round(val_fraction * (len(order) - n_test)))
    if len(order) - n_test - n_val < MIN_TRAIN_CASES:
        raise InputError(f"{len(order)} cases: too few to hold out {n_test} test and {n_val} validation case(s) and "
                         f"still train on at least {MIN_TRAIN_CASES}")
    return Splits(pool=sorted(order[n_test + n_val:]), val=sorted(order[n_test:n_test + n_val]),
                  test=sorted(order[:n_test]))


def subset_size(n_pool: int, fraction: float) -> int:
    """``ceil(fraction * n_pool)``, ignoring float noise (``0.1 * 720`` is 72, not 73)."""
    return math.ceil(round(fraction * n_pool, 9))


def nested_subset(pool: Sequence[str], fraction: float, seed: int) -> list[str]:
    """The first ``ceil(fraction * |pool|)`` cases of the pool permuted by ``seed``: nested across fractions.

    Raises:
        InputError: when ``fraction`` is not in (0, 1] or the pool is empty.
    """
    problems = [] if 0 < fraction <= 1 else [f"fraction {fraction!r}: expected a number in (0, 1]"]
    if not pool:
        problems.append("the training pool is empty")
    raise_if_any(problems)
    return _permuted(pool, seed)[: subset_size(len(pool), fraction)]


def nested_subsets(pool: Sequence[str], fractions: Iterable[float], seed: int) -> dict[float, list[str]]:
    """:func:`nested_subset` for several fractions at once, after :func:`check_fractions`."""
    fractions = sorted(fractions)
    check_fractions(len(pool), fractions)
    return {fraction: nested_subset(pool, fraction, seed) for fraction in fractions}


def check_fractions(n_pool: int, fractions: Iterable[float], sizes: Iterable[int] = ()) -> None:
    """Check that the fractions and absolute sizes of a sweep give distinct training sets of at least two cases from
    ``n_pool``.

    Raises:
        InputError: listing every fraction outside (0, 1], a size above the pool, a smallest subset below two cases,
            and fractions or sizes that give the same number of cases.
    """
    fractions, sizes = list(fractions), sorted(set(sizes))
    problems = [f"fraction {f!r}: expected a number in (0, 1]" for f in fractions if not 0 < f <= 1]
    problems += [f"size {n}: more than the {n_pool} case(s) of the training pool (annotate more, or ask for at most "
                 f"{n_pool})" for n in sizes if n > n_pool]
    if not fractions and not sizes:
        problems.append("no fractions or sizes given; expected e.g. fractions 0.1, 0.2, 0.5, 1")
    raise_if_any(problems)
    asked = [("fraction", f"{f:g}", subset_size(n_pool, f)) for f in sorted(set(fractions))]
    asked += [("size", str(n), n) for n in sizes]
    kind, value, smallest = min(asked, key=lambda item: item[2])
    if smallest < MIN_TRAIN_CASES:
        problems.append(f"{kind} {value} of a pool of {n_pool} case(s) gives {smallest} training case(s); at least "
                        f"{MIN_TRAIN_CASES} are needed (use a larger {kind} or more data)")
    for size in sorted({item[2] for item in asked}):
        same = {kind: [value for k, value, n in asked if (k, n) == (kind, size)] for kind in ("fraction", "size")}
        if sum(map(len, same.values())) > 1:
            named = " and ".join(f"{kind}{'s' if len(values) > 1 else ''} {', '.join(values)}"
                                 for kind, values in same.items() if values)
            problems.append(f"{named} all give {size} training case(s) of a pool of {n_pool}; drop all but one or "
                            "annotate more data")
    raise_if_any(problems)


def pool_order(batches: Sequence[Sequence[str]], seed: int) -> list[str]:
    """The pool in the order ``seed`` draws it when it grew in batches (annotation rounds): each batch permuted by
    ``seed`` among itself, after the batches before it, so every subset drawn before a batch joined stays a prefix.
    With one batch this is the order :func:`nested_subset` draws from."""
    return [case_id for batch in batches for case_id in _permuted(batch, seed)]


def write_case_lists(out_dir: str | Path, splits: Splits, subsets: Mapping[int, Sequence[str]] | None = None) -> None:
    """Write which case went where beside the results: ``splits.json`` and the same in long form, ``case_lists.csv``.

    ``splits.json`` holds ``pool``, ``val``, ``test`` and ``subsets`` (training-set size -> case ids in draw order;
    sizes, not fractions, name a subset for good, as the pool may grow). ``case_lists.csv`` has one row per case and
    list, columns ``list, n_train, position, case_id``, where ``list`` is ``test``, ``val``, ``pool`` or ``train``
    (a subset, with its ``n_train``).
    """
    out_dir = Path(out_dir)
    subsets = dict(sorted((subsets or {}).items()))
    content = {**asdict(splits), "subsets": {str(size): list(ids) for size, ids in subsets.items()}}
    put_text(out_dir / "splits.json", json.dumps(content, indent=1) + "\n")
    rows = [(name, np.nan, position, case_id) for name in ("test", "val", "pool")
            for position, case_id in enumerate(getattr(splits, name))]
    rows += [("train", size, position, case_id) for size, ids in subsets.items()
             for position, case_id in enumerate(ids)]
    table = pd.DataFrame(rows, columns=["list", "n_train", "position", "case_id"])
    put_text(out_dir / "case_lists.csv", table.to_csv(index=False))


def _permuted(case_ids: Sequence[str], seed: int) -> list[str]:
    """The sorted ids in an order drawn by ``seed``: a function of the set of ids and the seed only."""
    ordered = sorted(case_ids)
    return [ordered[i] for i in np.random.default_rng(seed).permutation(len(ordered))]


def _round(value: float) -> int:
    """Round half up (Python's ``round`` rounds half to even), so 0.5 of a case counts as one."""
    return math.floor(value + 0.5)
