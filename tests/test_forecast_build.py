"""Building a forecaster from real-looking curves: every part learned on every image set, figures only on held-out
ones, written all at once."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from samplecast.curves import Curve, load_curves
from samplecast.errors import InputError
from samplecast.forecast.build import SurrogateRecipe, build_forecaster, check_output_folder
from samplecast.forecast.folds import default_image_sets, held_out_folds, scored, with_other_seeds
from samplecast.forecast.ensemble import load_stacking_weights
from samplecast.forecast.folder import REQUIRED, ForecasterFolder
from samplecast.forecast.parametric import LogLinearPowerLaw, ParametricForecaster
from samplecast.forecast.prior import sample_prior
from samplecast.forecast.surrogate import (
    LSTMForecaster,
    SurrogateConfig,
    TrainingConfig,
    calibrate_surrogate,
    load_surrogate,
    train_surrogate,
)
from samplecast.forecast.evaluate import BacktestSummary

SIZES = np.array([10.0, 20, 40, 80, 160, 320])


def sweep(name: str, plateau: float, seeds=(0, 1)) -> list[Curve]:
    rng = np.random.default_rng(len(name))
    return [Curve({"dataset": name, "model": "unet", "depth": depth, "seed": seed}, SIZES,
                  plateau + 0.02 * depth - 0.9 * SIZES ** -0.5 + rng.normal(0, 0.005, SIZES.size))
            for depth in (3, 4) for seed in seeds]


CORPUS = {"a_64px.csv": sweep("a", 0.8), "a_256px.csv": sweep("a", 0.85), "b.csv": sweep("b", 0.7)}
IMAGE_SETS = {"a_64px.csv": "a", "a_256px.csv": "a", "b.csv": "b"}
MEMBERS = [ParametricForecaster("pow3", n_boot=20), LogLinearPowerLaw()]


def test_each_image_set_is_scored_by_weights_learned_without_it():
    results, learned = held_out_folds(CORPUS, IMAGE_SETS, MEMBERS, beside=("last1",), cutoffs=(0.3, 0.6))
    assert set(learned) == {"a", "b"}
    assert "a_64px.csv" not in learned["a"].source and "b.csv" in learned["a"].source
    assert "b.csv" not in learned["b"].source and "a_256px.csv" in learned["b"].source
    ensemble = results[results["method"] == "ensemble"]
    assert set(ensemble["held_out"]) == {"a", "b"} and len(ensemble) == 12 * 2
    assert set(results["method"]) == {"last1", "ensemble"}


def test_one_image_set_has_nothing_to_be_held_out_from():
    with pytest.raises(InputError, match="at least two image sets"):
        held_out_folds({"b.csv": CORPUS["b.csv"]}, {}, MEMBERS, beside=(), cutoffs=(0.5,))


@pytest.fixture(scope="module")
def tiny():
    """A tiny surrogate trained for a second on the prior: real forecasts whose intervals a build widens."""
    torch.set_num_threads(1)
    settings = TrainingConfig(epochs=3, lr=1e-2, batch_size=64)
    surrogate, _ = train_surrogate(sample_prior(2000, seed=0), settings=settings,
                                   config=SurrogateConfig(hidden=16, head_width=16))
    return surrogate


def write_corpus(folder, corpus=CORPUS) -> dict[str, list[Curve]]:
    """Write each source as a curves CSV in ``folder``; the corpus read back, keyed by path."""
    written = {}
    for name, curves in corpus.items():
        rows = ["dataset,model,depth,seed,n_train,dice"] + [
            f"{c.key['dataset']},{c.key['model']},{c.key['depth']},{c.key['seed']},{n:g},{d:.5f}"
            for c in curves for n, d in zip(c.n, c.dice)]
        (folder / name).write_text("\n".join(rows) + "\n")
        written[str(folder / name)] = load_curves(folder / name, average_seeds=False)
    return written


def test_build_writes_a_complete_consistent_folder(tmp_path, tiny, one_thread):
    corpus = write_corpus(tmp_path)
    out = tmp_path / "built" / "forecaster"
    result = build_forecaster(corpus, out, recipe=SurrogateRecipe(start=tiny), members=MEMBERS,
                              beside=("pow3", "lstm"), cutoffs=(0.3, 0.6), source={"command": "test"})
    folder = ForecasterFolder.open(out)
    assert sorted(p.name for p in out.iterdir()) == sorted(REQUIRED)
    assert load_stacking_weights(folder.ensemble) == result.parts.stacking
    surrogate = load_surrogate(folder.surrogate)
    assert surrogate.calibration == result.parts.surrogate.calibration is not None
    loaded = BacktestSummary.load(folder.summary)
    assert loaded.protocol == "leave-one-dataset-out" and loaded.source["command"] == "test"
    a_files = [str(tmp_path / "a_64px.csv"), str(tmp_path / "a_256px.csv")]
    assert loaded.source["datasets"] == [{"name": "a", "files": a_files, "curves": 8},  # one dataset column: one set
                                         {"name": "b", "files": [str(tmp_path / "b.csv")], "curves": 4}]
    assert set(loaded.rows["held_out"]) == {"a", "b", "all"}
    assert list(loaded.for_method("ensemble")["curves"]) == [12, 12]
    assert list(loaded.for_method("lstm", held_out="a")["curves"]) == [8, 8]
    record = json.loads(folder.build.read_text())
    assert [c["image_set"] for c in record["corpus"]] == ["a", "a", "b"] and all(c["sha256"] for c in record["corpus"])
    assert record["settings"]["surrogate"]["fine_tune"] is None and record["settings"]["cutoffs"] == [0.3, 0.6]
    assert record["learned"]["surrogate_calibration"] == surrogate.calibration.to_dict()
    assert set(record["folds"]) == {"a", "b"} and record["machine"] and record["versions"]["torch"]
    assert [p.name for p in (tmp_path / "built").iterdir()] == ["forecaster"]  # nothing left half-written


def noisy_sweep(name: str, noise: float, seed: int) -> list[Curve]:
    rng = np.random.default_rng(seed)
    sizes = np.geomspace(10, 640, 7)
    return [Curve({"dataset": name, "seed": s}, sizes, np.clip(0.8 - 0.9 * sizes ** -0.5 + rng.normal(0, noise, 7),
                                                               0.01, 0.99)) for s in range(4)]


def test_the_lstm_of_each_fold_is_calibrated_without_its_held_out_image_set(tiny, one_thread):
    corpus = {"calm.csv": noisy_sweep("calm", 0.002, 1), "steady.csv": noisy_sweep("steady", 0.002, 2),
              "wild.csv": noisy_sweep("wild", 0.2, 3)}
    sets = default_image_sets(corpus)
    results, folds = held_out_folds(corpus, sets, MEMBERS, beside=("lstm",), cutoffs=(0.5,), surrogate=tiny)
    calm = corpus["calm.csv"] + corpus["steady.csv"]
    without_wild = calibrate_surrogate(tiny, calm, groups=["calm"] * 4 + ["steady"] * 4)
    assert folds["wild"].surrogate.calibration == without_wild
    assert folds["calm"].surrogate.calibration.floor > without_wild.floor  # wild curves widen what they are in
    row = results[(results["method"] == "lstm") & (results["held_out"] == "wild")].iloc[0]
    curve = next(c for c in corpus["wild.csv"] if c.label == row["curve"])
    prefix = curve.up_to(row["n_cut"])
    q = LSTMForecaster(tiny.with_calibration(without_wild)).fit(prefix.n, prefix.dice).predict_quantiles(
        [curve.n_max], (0.1, 0.9))[0]
    assert row["width80"] == pytest.approx(q[1] - q[0])


def test_fine_tuning_is_done_again_for_each_fold_without_its_image_set(tmp_path, tiny, one_thread):
    recipe = SurrogateRecipe(start=tiny, fine_tune=TrainingConfig(epochs=1, lr=1e-3), fine_tune_prior_curves=100)
    result = build_forecaster(CORPUS, tmp_path / "out", IMAGE_SETS, recipe=recipe, members=MEMBERS,
                              beside=("lstm",), cutoffs=(0.5,))
    tuned = {images: fold.surrogate for images, fold in result.folds.items()} | {"all": result.parts.surrogate}
    assert all(s.training["fine_tuned_from"] is not None for s in tuned.values())
    assert "4 user curves" in tuned["a"].training["corpus"] and "8 user curves" in tuned["b"].training["corpus"]
    weights = {k: s.weights["lstm.weight_ih_l0"] for k, s in tuned.items()}
    assert not np.allclose(weights["a"], weights["b"]) and not np.allclose(weights["a"], weights["all"])
    assert "fine-tuned" in result.summary.description


def test_an_output_folder_that_cannot_be_written_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="is a file; expected a folder"):
        check_output_folder(tmp_path / "file")
    with pytest.raises(InputError, match="file is a file, not a folder"):
        check_output_folder(tmp_path / "file" / "out")
    assert check_output_folder(tmp_path / "new" / "out") == tmp_path / "new" / "out"
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("")
    with pytest.raises(InputError, match="holds files no build writes \\(notes.txt\\)"):
        check_output_folder(tmp_path / "home")


def test_one_image_set_is_refused_before_any_training(tmp_path):
    recipe = SurrogateRecipe(prior_curves=10**9)  # pre-training this would take hours
    with pytest.raises(InputError, match="at least two image sets"):
        build_forecaster({"a_64px.csv": CORPUS["a_64px.csv"], "a_256px.csv": CORPUS["a_256px.csv"]},
                         tmp_path / "out", recipe=recipe)
    assert not (tmp_path / "out").exists()


def test_other_seeds_become_extra_truths_for_the_same_forecast():
    rows = scored({"b.csv": CORPUS["b.csv"]}, {}, MEMBERS[:1], cutoffs=(0.5,))
    both = with_other_seeds(rows)
    assert len(both) == 2 * len(rows)
    extra = both.iloc[len(rows):]
    assert extra["curve"].str.contains(" vs seed ").all()
    seed0 = rows[(rows["seed"] == 0) & (rows["depth"] == 3)].iloc[0]
    seed1 = rows[(rows["seed"] == 1) & (rows["depth"] == 3)].iloc[0]
    copied = extra[(extra["seed"] == 0) & (extra["depth"] == 3)].iloc[0]
    assert copied["truth"] == seed1["truth"] and copied["q50"] == seed0["q50"]


def test_image_sets_default_to_the_dataset_column_else_the_file_name():
    mixed = [*CORPUS["b.csv"], *sweep("c", 0.6)]  # two datasets in one file: held out together, by the file's name
    unnamed = [Curve({"seed": 0}, SIZES, 0.8 - 0.9 * SIZES ** -0.5)]
    assert default_image_sets({"runs/a_64px.csv": CORPUS["a_64px.csv"], "runs/mixed.csv": mixed,
                               "mine.csv": unnamed}) == {"runs/a_64px.csv": "a", "runs/mixed.csv": "mixed",
                                                         "mine.csv": "mine"}


def test_a_recipe_names_each_setting_out_of_range():
    with pytest.raises(InputError) as caught:
        SurrogateRecipe(prior_curves=0, validation_curves=-1, fine_tune_prior_curves=1.5)
    assert [p.split(" must")[0] for p in caught.value.problems] == [
        "surrogate recipe setting prior_curves", "surrogate recipe setting fine_tune_prior_curves",
        "surrogate recipe setting validation_curves"]
