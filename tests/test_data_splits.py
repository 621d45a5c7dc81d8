"""Fixed test/validation splits, nested training subsets, fraction checks and the case lists written to disk."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from samplecast.data import Splits, check_fractions, nested_subset, nested_subsets, split_cases, write_case_lists
from samplecast.errors import InputError

CASES = [f"case_{i:04d}" for i in range(1000)]


def test_split_sizes_and_disjoint_cover():
    splits = split_cases(CASES)
    assert (len(splits.test), len(splits.val), len(splits.pool)) == (200, 80, 720)
    assert set(splits.test) | set(splits.val) | set(splits.pool) == set(CASES)
    assert not set(splits.test) & set(splits.val) and not set(splits.pool) & (set(splits.test) | set(splits.val))
    assert splits.pool == sorted(splits.pool) and splits.test == sorted(splits.test)


def test_split_is_fixed_by_seed_and_independent_of_input_order():
    assert split_cases(CASES, seed=3) == split_cases(list(reversed(CASES)), seed=3)
    assert split_cases(CASES, seed=3).test != split_cases(CASES, seed=4).test


def test_small_dataset_still_gets_one_validation_case():
    splits = split_cases([f"c{i}" for i in range(6)], test_fraction=0.2, val_fraction=0.05)
    assert (len(splits.test), len(splits.val), len(splits.pool)) == (1, 1, 4)


def test_split_refuses_bad_fractions_duplicates_and_tiny_datasets():
    with pytest.raises(InputError) as caught:
        split_cases(["a", "a", "b"], test_fraction=1.0, val_fraction=0)
    problems = caught.value.problems
    assert len(problems) == 3 and "test_fraction 1.0" in problems[0] and "val_fraction 0" in problems[1]
    assert problems[2] == "case ids appear more than once: a"
    with pytest.raises(InputError, match="too few"):
        split_cases(["a", "b", "c"])


def test_subsets_are_nested_across_fractions_for_every_seed():
    pool = split_cases(CASES).pool
    for seed in (0, 1):
        subsets = nested_subsets(pool, [0.02, 0.1, 0.2, 0.5, 1.0], seed)
        sizes = [len(subset) for subset in subsets.values()]
        assert sizes == [15, 72, 144, 360, 720]
        for smaller, larger in zip(subsets.values(), list(subsets.values())[1:]):
            assert larger[: len(smaller)] == smaller
    assert nested_subset(pool, 0.1, 0) != nested_subset(pool, 0.1, 1)
    assert sorted(nested_subset(pool, 1.0, 5)) == pool


def test_subset_size_ignores_float_noise():
    assert len(nested_subset([f"c{i}" for i in range(720)], 0.1, 0)) == 72  # 0.1 * 720 is 72.00000000000001
    assert len(nested_subset([f"c{i}" for i in range(10)], 0.25, 0)) == 3  # a partial case rounds up


def test_nested_subset_refuses_fractions_outside_zero_to_one():
    for fraction in (0, -0.1, 1.5):
        with pytest.raises(InputError, match="fraction"):
            nested_subset(CASES, fraction, 0)


def test_check_fractions_reports_every_problem():
    with pytest.raises(InputError) as caught:
        check_fractions(20, [0.01, 0.11, 0.12, 1.3])
    problems = caught.value.problems
    assert len(problems) == 1 and "1.3" in problems[0]  # range problems are reported before size problems
    with pytest.raises(InputError) as caught:
        check_fractions(20, [0.01, 0.11, 0.12, 1.0])
    problems = caught.value.problems
    assert len(problems) == 2
    assert "fraction 0.01 of a pool of 20 case(s) gives 1 training case(s)" in problems[0]
    assert "fractions 0.11, 0.12 all give 3 training case(s)" in problems[1]
    check_fractions(20, [0.1, 0.5, 1.0])


def test_write_case_lists(tmp_path):
    splits = Splits(pool=["c", "d", "e"], val=["b"], test=["a"])
    write_case_lists(tmp_path / "run", splits, {3: ["e", "c", "d"], 2: ["e", "c"]})
    content = json.loads((tmp_path / "run" / "splits.json").read_text())
    assert content == {"pool": ["c", "d", "e"], "val": ["b"], "test": ["a"],
                       "subsets": {"2": ["e", "c"], "3": ["e", "c", "d"]}}
    table = pd.read_csv(tmp_path / "run" / "case_lists.csv")
    assert list(table.columns) == ["list", "n_train", "position", "case_id"]
    assert table[table["list"] == "train"].query("n_train == 2")["case_id"].tolist() == ["e", "c"]
    assert table[table["list"] == "test"]["case_id"].tolist() == ["a"]
