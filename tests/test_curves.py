"""The curves table: loading, defaults, grouping and every kind of bad input reported at once."""

import numpy as np
import pandas as pd
import pytest

from samplecast.curves import Curve, check_points, load_curves, load_table
from samplecast.errors import InputError


def write(tmp_path, text, name="curves.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_table_without_grouping_columns_is_one_curve_named_after_its_file(tmp_path):
    path = write(tmp_path, "n_train,dice\n10,0.5\n20,0.6\n40,0.65\n", name="my_sweep.csv")
    (curve,) = load_curves(path)
    assert curve.key == {"dataset": "my_sweep"} and curve.label == "my_sweep"
    np.testing.assert_array_equal(curve.n, [10, 20, 40])
    np.testing.assert_allclose(curve.dice, [0.5, 0.6, 0.65])


def test_aliases_and_unsorted_rows(tmp_path):
    path = write(tmp_path, "size,score\n40,0.65\n10,0.5\n20,0.6\n")
    (curve,) = load_curves(path)
    np.testing.assert_array_equal(curve.n, [10, 20, 40])


def test_groups_by_configuration_and_seed(tmp_path):
    rows = [(d, s, n, 0.5 + 0.01 * n / 10 + 0.01 * s) for d in (4, 5) for s in (0, 1) for n in (10, 20, 40)]
    table = pd.DataFrame(rows, columns=["depth", "seed", "n_train", "dice"])
    table.to_csv(tmp_path / "c.csv", index=False)
    curves = load_curves(tmp_path / "c.csv", average_seeds=False)
    assert [(c.key["depth"], c.key["seed"]) for c in curves] == [(4, 0), (4, 1), (5, 0), (5, 1)]
    averaged = load_curves(tmp_path / "c.csv", average_seeds=True)
    assert len(averaged) == 2 and "seed" not in averaged[0].key
    np.testing.assert_array_equal(averaged[0].count, [2, 2, 2])
    np.testing.assert_allclose(averaged[0].sd, np.std([0.0, 0.01], ddof=1))


def test_failed_runs_are_kept_out_of_curves(tmp_path):
    path = write(tmp_path, "n_train,dice,status\n10,0.5,ok\n20,,failed\n20,0.6,ok\n40,0.7,ok\n")
    (curve,) = load_curves(path)
    np.testing.assert_array_equal(curve.n, [10, 20, 40])


def test_every_bad_value_is_reported_at_once(tmp_path):
    path = write(tmp_path, "n_train,dice\n10,0.5\nten,0.6\n40,\n80,1.4\n0,0.7\n160,-0.1\n")
    with pytest.raises(InputError) as info:
        load_table(path)
    problems = info.value.problems
    assert len(problems) == 5
    assert all(str(path) in p for p in problems)
    text = "\n".join(problems)
    for expected in ("row 2: n_train 'ten' is not a number", "row 3: dice is missing", "row 4: dice 1.4 is outside",
                     "row 5: n_train 0 must be a whole number", "row 6: dice -0.1 is outside"):
        assert expected in text


@pytest.mark.parametrize("content, message", [
    (None, "file not found"),
    ("", "file is empty"),
    ("n_train\n10\n", "missing required column dice"),
    ("n_train,dice\n", "no rows"),
    ("n_train,dice\n10,0.5\n20,0.6\n", "only 2 distinct sizes"),
])
def test_unusable_tables(tmp_path, content, message):
    path = tmp_path / "c.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_curves(path)


def test_parquet_round_trip(tmp_path):
    pytest.importorskip("pyarrow")
    pd.DataFrame({"n_train": [5, 10, 20], "dice": [0.3, 0.4, 0.5]}).to_parquet(tmp_path / "c.parquet")
    (curve,) = load_curves(tmp_path / "c.parquet")
    np.testing.assert_allclose(curve.dice, [0.3, 0.4, 0.5])


def test_prefix_keeps_only_smaller_sizes():
    curve = Curve({"dataset": "x"}, [10, 20, 40, 80], [0.1, 0.2, 0.3, 0.4])
    assert list(curve.up_to(40).n) == [10, 20, 40]


@pytest.mark.parametrize("n, dice, message", [
    ([10, 10, 20], [0.1, 0.2, 0.3], "strictly increasing"),
    ([10, 20, 30], [0.1, np.nan, 0.3], "NaN"),
    ([10, 20, 30], [0.1, 0.2, 1.3], r"\[0, 1\]"),
    ([10, 20], [0.1, 0.2], "at least 3"),
    ([-1, 20, 30], [0.1, 0.2, 0.3], "positive"),
])
def test_fit_input_checks(n, dice, message):
    with pytest.raises(InputError, match=message):
        check_points(n, dice)


@pytest.mark.parametrize("value", ["10.5", "0.25", "1e-300", "1e308", "12345678901234567890", "0", "True",
                                   "2024-01-05"])
def test_n_train_must_be_a_whole_number_of_cases(tmp_path, value):
    path = write(tmp_path, f"n_train,dice\n10,0.5\n{value},0.6\n40,0.65\n")
    with pytest.raises(InputError) as info:
        load_table(path)
    (problem,) = info.value.problems
    assert str(path) in problem and "row 2: n_train" in problem


def test_boolean_and_date_columns_are_not_sizes(tmp_path):
    booleans = write(tmp_path, "n_train,dice\nTrue,0.5\nFalse,0.6\nTrue,0.65\n")
    with pytest.raises(InputError, match="n_train holds true/false values"):
        load_table(booleans)
    dates = pd.DataFrame({"n_train": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
                          "dice": [0.5, 0.6, 0.7]})
    dates.to_parquet(tmp_path / "dates.parquet")
    with pytest.raises(InputError, match="n_train holds dates"):
        load_table(tmp_path / "dates.parquet")


def test_duplicated_column_names_are_refused(tmp_path):
    path = write(tmp_path, "n_train,dice,dice\n10,0.5,0.1\n20,0.6,0.2\n40,0.65,0.3\n")
    with pytest.raises(InputError, match="'dice' appear more than once"):
        load_table(path)


def test_a_table_of_too_many_curves_is_refused_before_fitting(tmp_path):
    rows = 200_000
    table = pd.DataFrame({"dataset": "big", "seed": np.repeat(np.arange(rows // 5), 5),
                          "n_train": np.tile([10, 20, 40, 80, 160], rows // 5), "dice": 0.5})
    table.to_csv(tmp_path / "big.csv", index=False)
    with pytest.raises(InputError) as info:
        load_curves(tmp_path / "big.csv", average_seeds=False)
    (problem,) = info.value.problems
    assert "40,000 curves; at most 2,000" in problem
    assert len(load_curves(tmp_path / "big.csv", average_seeds=True)) == 1


def test_test_set_size_and_case_spread_travel_with_the_curve(tmp_path):
    path = write(tmp_path, "seed,n_train,dice,n_test,dice_sd\n0,10,0.5,40,0.2\n1,10,0.52,30,0.3\n"
                           "0,20,0.6,40,0.2\n0,40,0.65,40,0.2\n")
    (curve,) = load_curves(path, average_seeds=True)
    np.testing.assert_array_equal(curve.n_test, [30, 40, 40])
    np.testing.assert_allclose(curve.dice_sd, [0.25, 0.2, 0.2])
    assert curve.up_to(20).n_test.tolist() == [30, 40]
