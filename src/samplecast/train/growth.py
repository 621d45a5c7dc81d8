"""A sweep's dataset across annotation rounds: which cases were added when, the fixed test and validation cases, and
a checksum per case, read from what the results folder recorded and checked against the dataset folder now.

A rerun on a dataset that gained cases keeps the recorded test and validation cases, puts the new cases into the
pool after the old ones (:func:`~samplecast.data.splits.pool_order`) and keys the protocol id on the first round's
cases, so every earlier run keeps its id and its training set (DESIGN.md, "Nested subsets"). A recorded case that
is missing, or whose content changed, is an input error: the runs trained on it would no longer describe the data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from samplecast.data import SegmentationDataset, Splits, split_cases
from samplecast.data.splits import pool_order
from samplecast.errors import raise_if_any
from samplecast.train.config import SweepConfig
from samplecast.train.store import CASES_DIR, CONFIG_FILE

#: Settings that decide the test and validation split: recorded splits are kept only while these stay the same.
SPLIT_SETTINGS = ("test_fraction", "val_fraction", "split_seed")
#: Settings that decide the arrays a case's checksum is taken of: compared only while these stay the same.
ARRAY_SETTINGS = ("image_size", "format", "label")


@dataclass(frozen=True)
class DataHistory:
    """A dataset's splits and the rounds its pool grew in.

    Args:
        splits: the fixed test and validation cases and the whole pool (sorted).
        batches: the pool cases each round added, round 0 first.
        rounds: per round ``{"added": case ids, "first_seen": ISO time, "pool": pool size after it}`` (round 0 adds
            every case of the first version, test and validation included; ``first_seen`` is ``None`` for a folder
            written before rounds were recorded).
        checksums: a content checksum per case (:func:`case_checksums`).
    """

    splits: Splits
    batches: tuple[tuple[str, ...], ...]
    rounds: list[dict[str, Any]]
    checksums: dict[str, str]

    @property
    def first_cases(self) -> list[str]:
        """The cases of the first version of the dataset, which the protocol id is keyed on."""
        return list(self.rounds[0]["added"])

    def order(self, seed: int) -> list[str]:
        """The pool in ``seed``'s draw order: every subset of an earlier round is a prefix of it."""
        return pool_order(self.batches, seed)

    def pool_version(self, n_train: int) -> int:
        """The first round whose pool holds ``n_train`` cases: the version of the data a run on them trains on."""
        return next((i for i, entry in enumerate(self.rounds) if entry["pool"] >= n_train), len(self.rounds) - 1)


def dataset_history(config: SweepConfig, dataset: SegmentationDataset) -> DataHistory:
    """The history of ``dataset`` in ``config.out``: as recorded there plus a round of the cases added since, or a
    first round (a fresh split) when the folder recorded none for these split settings.

    Raises:
        InputError: one line per recorded case that is missing from the dataset or whose content changed.
    """
    now = datetime.now(UTC).isoformat(timespec="seconds")
    checksums = case_checksums(dataset)
    recorded = _recorded(config, dataset.name)
    if recorded is None:
        splits = split_cases(dataset.case_ids, test_fraction=config.test_fraction, val_fraction=config.val_fraction,
                             seed=config.split_seed)
        first = {"added": sorted(dataset.case_ids), "first_seen": now, "pool": len(splits.pool)}
        return DataHistory(splits, (tuple(splits.pool),), [first], checksums)
    rounds, held_out, known_sums = recorded
    present = set(dataset.case_ids)
    known = [case_id for entry in rounds for case_id in entry["added"]]
    problems = [f"case {case_id} is missing, but {config.out} recorded it (runs were scored or trained on it); put "
                "it back, or sweep into a new folder" for case_id in known if case_id not in present]
    problems += [f"case {case_id} changed since {config.out} recorded it (its image or mask differs); "
                 "restore it, or sweep into a new folder" for case_id in known
                 if case_id in present and known_sums.get(case_id, checksums[case_id]) != checksums[case_id]]
    raise_if_any(problems)
    added = sorted(present - set(known))
    if added:
        rounds = [*rounds, {"added": added, "first_seen": now, "pool": rounds[-1]["pool"] + len(added)}]
    held = {*held_out["val"], *held_out["test"]}
    batches = tuple(tuple(c for c in entry["added"] if c not in held) for entry in rounds)
    pool = sorted(case_id for batch in batches for case_id in batch)
    return DataHistory(Splits(pool, held_out["val"], held_out["test"]), batches, rounds, checksums)


def case_checksums(dataset: SegmentationDataset) -> dict[str, str]:
    """A checksum of each case's preprocessed image and mask, so a later sweep notices a case whose files changed."""
    return {case_id: hashlib.sha256(image.tobytes() + mask.tobytes()).hexdigest()[:16]
            for case_id, image, mask in zip(dataset.case_ids, dataset.images, dataset.masks)}


def _recorded(config: SweepConfig, name: str) -> tuple[list[dict[str, Any]], dict[str, list[str]],
                                                        dict[str, str]] | None:
    """The rounds, held-out cases (``val``, ``test``) and checksums ``config.out`` recorded for dataset ``name`` under
    ``config``'s split settings, or ``None`` when it recorded none (checksums only under the same array settings)."""
    try:
        written = json.loads((config.out / CONFIG_FILE).read_text())
        lists = json.loads(sorted((config.out / CASES_DIR).glob("seed*/splits.json"))[0].read_text())
        before, dataset = written["config"], written["dataset"]
        held_out = {"val": sorted(lists["val"]), "test": sorted(lists["test"])}
        everything = sorted({*lists["pool"], *held_out["val"], *held_out["test"]})
    except (OSError, ValueError, IndexError, KeyError, TypeError):
        return None
    if dataset.get("name") != name or any(before.get(key) != getattr(config, key) for key in SPLIT_SETTINGS):
        return None
    rounds = dataset.get("rounds") or [{"added": everything, "first_seen": None, "pool": len(lists["pool"])}]
    same_arrays = all(before.get(key) == getattr(config, key) for key in ARRAY_SETTINGS)
    return rounds, held_out, dict(dataset.get("checksums") or {}) if same_arrays else {}
