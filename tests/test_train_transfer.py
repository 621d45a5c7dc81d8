"""Sweeps that start from trained weights: keeping a source's weights, starting from a file or a sweep folder with
both engines, freezing the encoder, run identities apart from scratch, resuming, and sources that do not fit."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from samplecast.cli import cli
from samplecast.errors import InputError
from samplecast.train.config import SweepConfig, TrainSettings
from samplecast.train.inputs import load_sweep_data
from samplecast.train.start import is_encoder, read_weights
from samplecast.train.store import RunStore
from samplecast.train.sweep import run_sweep

TINY = TrainSettings(steps=6, batch_size=4, val_every=3)

pytestmark = pytest.mark.usefixtures("one_thread")


def _config(data, out, **options) -> SweepConfig:
    values = {"fractions": (0.5, 1.0), "depths": (2,), "seeds": (0,), "image_size": 32, "device": "cpu",
              "train": TINY, **options}
    return SweepConfig(data, out, **values)


@pytest.fixture(scope="module")
def source(polyps, tmp_path_factory):
    """A sweep on all of a dataset that kept its weights: the source transfer runs start from."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("source")
    run_sweep(_config(polyps, out, fractions=(1.0,), depths=(2, 3), keep_weights=True,
                      train=TrainSettings(steps=30, batch_size=4)))
    return out


def _kept(source, depth=2) -> dict:
    (record,) = [r for r in RunStore(source).records() if r["depth"] == depth]
    return record


def test_a_sweep_keeps_each_runs_weights_with_their_checksum(source):
    record = _kept(source)
    weights = read_weights(source / record["weights"])
    assert weights.sha256 == record["weights_sha256"]
    assert weights.meta["depth"] == 2 and weights.meta["in_channels"] == 3 and weights.meta["spatial_dims"] == 2
    assert weights.meta["run_id"] == record["run_id"] and weights.meta["dice"] == record["dice"]


def test_transfer_runs_start_from_the_source_and_are_told_apart_from_scratch(polyps, source, tmp_path):
    scratch = run_sweep(_config(polyps, tmp_path / "scratch"))
    transfer = run_sweep(_config(polyps, tmp_path / "transfer", init_from=source))
    assert set(scratch["scenario"]) == {"scratch"}
    assert set(transfer["scenario"]) == {f"transfer:{source.name}"}
    assert not set(scratch["run_id"]) & set(transfer["run_id"])
    assert not (scratch["dice"].to_numpy() == transfer["dice"].to_numpy()).all()
    kept = _kept(source)
    for record in RunStore(tmp_path / "transfer").records():
        assert record["start"]["sha256"] == kept["weights_sha256"] and record["start"]["run_id"] == kept["run_id"]
    again = run_sweep(_config(polyps, tmp_path / "transfer", init_from=source))  # resumes: nothing trains
    assert again["run_id"].tolist() == transfer["run_id"].tolist()
    assert again["dice"].tolist() == transfer["dice"].tolist()
    wider = run_sweep(_config(polyps, tmp_path / "transfer", init_from=source, depths=(2, 3)))  # adds depth 3 only
    assert wider[wider["depth"] == 2]["run_id"].tolist() == transfer["run_id"].tolist()
    assert wider[wider["depth"] == 3]["dice"].notna().all()


def test_local_and_fused_engines_train_the_same_transfer_runs(polyps, source, tmp_path):
    weights = source / _kept(source)["weights"]
    local = run_sweep(_config(polyps, tmp_path / "local", init_from=weights, encoder_lr=0.1, engine="local"))
    fused = run_sweep(_config(polyps, tmp_path / "fused", init_from=weights, encoder_lr=0.1, engine="fused"))
    assert local["run_id"].tolist() == fused["run_id"].tolist()
    assert fused["dice"].to_numpy() == pytest.approx(local["dice"].to_numpy(), abs=1e-4)


@pytest.mark.parametrize("engine", ["local", "fused"])
def test_a_frozen_encoder_keeps_the_source_weights(polyps, source, tmp_path, engine):
    out = tmp_path / "frozen"
    run_sweep(_config(polyps, out, fractions=(1.0,), init_from=source, encoder_lr=0.0, keep_weights=True,
                      engine=engine))
    start = read_weights(source / _kept(source)["weights"]).state
    trained = read_weights(out / RunStore(out).records()[0]["weights"]).state
    encoder = [name for name in start if is_encoder(name)]
    decoder = [name for name in start if not is_encoder(name)]
    assert encoder and decoder
    assert all(torch.equal(start[name], trained[name]) for name in encoder)
    assert any(not torch.equal(start[name], trained[name]) for name in decoder)


def test_a_source_that_does_not_fit_names_every_mismatch(synthetic_3d, polyps, source, tmp_path):
    with pytest.raises(InputError) as caught:
        load_sweep_data(SweepConfig(synthetic_3d, tmp_path / "volumes", fractions=(1.0,), depths=(2,),
                                    image_size=16, device="cpu", init_from=source))
    text = "\n".join(caught.value.problems)
    assert "2D U-Net, but the dataset holds 3D images" in text and "3 channels" in text
    with pytest.raises(InputError, match=r"keeps no weights of depth 4 \(depths kept: 2, 3\)"):
        load_sweep_data(_config(polyps, tmp_path / "deeper", depths=(2, 4), init_from=source))
    with pytest.raises(InputError, match=r"weights of depth 2, but runs of depth 3 start from them"):
        load_sweep_data(_config(polyps, tmp_path / "file", depths=(3,), init_from=source / _kept(source)["weights"]))


def test_a_file_that_is_not_kept_weights_is_refused(polyps, tmp_path):
    bogus = tmp_path / "weights.pt"
    torch.save({"not": "weights"}, bogus)
    with pytest.raises(InputError, match="weights.pt: not a weights file kept by a samplecast sweep"):
        load_sweep_data(_config(polyps, tmp_path / "out", init_from=bogus))


def test_a_folder_that_is_not_a_sweep_is_refused_naming_it(polyps, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="empty is neither a weights file nor a sweep folder"):
        load_sweep_data(_config(polyps, tmp_path / "out", init_from=empty))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(InputError, match=r"broken/config.json: not valid JSON"):
        load_sweep_data(_config(polyps, tmp_path / "out", init_from=broken))
    (broken / "config.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="no protocol_id; not the config of a sweep"):
        load_sweep_data(_config(polyps, tmp_path / "out", init_from=broken))


def test_options_of_a_start_are_checked_with_the_rest(polyps, tmp_path):
    problems = _config(polyps, tmp_path, encoder_lr=0.5).problems()
    assert problems == ["an encoder learning rate applies only to runs that start from weights (init_from)"]
    assert _config(polyps, tmp_path, init_from=tmp_path, encoder_lr=float("nan")).problems()
    assert _config(polyps, tmp_path, scenario="a\tb").problems()
    assert _config(polyps, tmp_path, scenario="ImageNet start").problems() == []


def test_the_command_line_refuses_a_mismatched_source_in_one_line(synthetic_3d, source, tmp_path):
    result = CliRunner().invoke(cli, ["sweep", str(synthetic_3d), "--out", str(tmp_path / "out"), "--fractions", "1",
                                      "--depths", "2", "--image-size", "16", "--device", "cpu", "--steps", "2",
                                      "--init-from", str(source)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert lines and all(str(source) in line or "dataset" in line for line in lines)
    assert not (tmp_path / "out" / "runs").exists()


def test_a_labelled_scenario_names_the_curves_and_the_config(polyps, source, tmp_path):
    table = run_sweep(_config(polyps, tmp_path / "labelled", fractions=(1.0,), init_from=source,
                              scenario="kvasir start"))
    assert set(table["scenario"]) == {"kvasir start"}
    written = json.loads((tmp_path / "labelled" / "config.json").read_text())
    assert written["config"]["scenario"] == "kvasir start" and written["config"]["init_from"] == str(source)
