"""Surrogate files: weights and description round-trip, a rewritten file is read again, and a broken file is blamed
by name (and field) in one line."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest
from samplecast.errors import InputError
from samplecast.forecast.surrogate import persistence
from samplecast.forecast.calibration import SpreadCalibration
from samplecast.forecast.surrogate import (
    LSTMForecaster, SurrogateConfig, check_output, load_surrogate, new_surrogate, save_surrogate,
)

N, DICE, AT = np.array([16.0, 80, 160]), np.array([0.483, 0.682, 0.755]), np.array([400.0, 800])
SMALL = SurrogateConfig(hidden=8, head_width=8)
CALIBRATION = SpreadCalibration(widen=0.01, floor=0.005, counts=18)


@pytest.fixture
def saved(tmp_path):
    """A small calibrated surrogate written to model.npz and model.json."""
    model = new_surrogate(SMALL, seed=1).with_calibration(CALIBRATION)
    return model, save_surrogate(model, tmp_path / "model.npz")


def test_save_and_load_round_trip(saved, tmp_path):
    model, path = saved
    loaded = load_surrogate(path)
    np.testing.assert_array_equal(loaded.quantiles(N, DICE, AT), model.quantiles(N, DICE, AT))
    assert loaded.calibration == CALIBRATION
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["architecture"]["hidden"] == 8 and meta["format"] == "samplecast-surrogate/4"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.npz"]  # no temporary files left


def test_an_unchanged_file_is_read_once_and_each_caller_gets_its_own_surrogate(saved, monkeypatch):
    _, path = saved
    persistence._load.cache_clear()
    reads = []
    read = persistence._read_description
    monkeypatch.setattr(persistence, "_read_description", lambda meta: reads.append(meta) or read(meta))
    first, second = load_surrogate(path), load_surrogate(str(path))
    assert len(reads) == 1 and first is not second
    first.training["changed"] = True
    assert "changed" not in load_surrogate(path).training
    with pytest.raises(ValueError, match="read-only"):
        next(iter(first.weights.values()))[...] = 0


def test_rewritten_weights_are_read_again_not_served_from_the_cache(saved):
    _, path = saved
    first = load_surrogate(path).quantiles(N, DICE, AT)
    save_surrogate(new_surrogate(SMALL, seed=2).with_calibration(CALIBRATION), path)
    second = load_surrogate(path).quantiles(N, DICE, AT)
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(LSTMForecaster(path).fit(N, DICE).predict_quantiles(AT), second)


def test_a_rewritten_description_alone_is_read_again(saved):
    model, path = saved
    assert load_surrogate(path).calibration == CALIBRATION
    meta = path.with_suffix(".json")
    stat = meta.stat()
    meta.write_text(json.dumps({**model.describe(), "calibration": None}))
    os.utime(meta, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same time stamp: the size still tells them apart
    assert load_surrogate(path).calibration is None


def test_a_surrogate_is_loaded_from_its_npz(saved):
    _, path = saved
    with pytest.raises(InputError, match="model.json: a surrogate is loaded from its .npz file"):
        load_surrogate(path.with_suffix(".json"))


def test_missing_files_are_each_named(tmp_path):
    with pytest.raises(InputError) as missing:
        load_surrogate(tmp_path / "absent.npz")
    assert any("absent.npz: file not found" in p for p in missing.value.problems)
    assert any("absent.json: file not found" in p for p in missing.value.problems)


def _zip(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not weights")


@pytest.mark.parametrize("write", [
    lambda p: p.write_bytes(b"not weights"),
    lambda p: p.write_bytes(b""),
    lambda p: p.write_bytes(np.random.default_rng(0).bytes(2000)),
    lambda p: p.write_text('{"hidden": 8}'),
    _zip,
    lambda p: np.save(open(p, "wb"), np.zeros(3)),
], ids=["text", "empty", "random bytes", "json", "zip", "one array"])
def test_a_file_that_is_not_weights_is_blamed(saved, write):
    _, path = saved
    write(path)
    with pytest.raises(InputError) as error:
        load_surrogate(path)
    assert error.value.problems == [f"{path}: not a weights file (expected named numpy arrays saved with numpy.savez)"]


def test_weights_of_another_shape_are_blamed_array_by_array(saved):
    model, path = saved
    other = new_surrogate(SurrogateConfig(hidden=4, head_width=4))
    save_surrogate(other.with_calibration(CALIBRATION), path)
    (path.with_suffix(".json")).write_text(json.dumps(model.describe()))  # the description of the first model
    with pytest.raises(InputError) as error:
        load_surrogate(path)
    assert f"{path}: array lstm.weight_hh_l0 has shape (16, 4), expected (32, 8)" in error.value.problems
    assert error.value.problems[-1] == f"{path}: weights do not fit the architecture in model.json"
    weights = {**model.weights, "extra": np.zeros(2), "head.0.bias": np.full(8, np.nan, np.float32)}
    del weights["head.4.bias"]
    with open(path, "wb") as handle:
        np.savez(handle, **weights)
    with pytest.raises(InputError) as error:
        load_surrogate(path)
    assert {f"{path}: array head.4.bias is missing", f"{path}: array extra is not part of the architecture",
            f"{path}: array head.0.bias is not finite floating point"} <= set(error.value.problems)


def _edit(path, change):
    meta = json.loads(path.with_suffix(".json").read_text())
    change(meta)
    path.with_suffix(".json").write_text(json.dumps(meta))


@pytest.mark.parametrize("field, change", [
    ("calibration.widen", lambda m: m["calibration"].pop("widen")),
    ("calibration.widen", lambda m: m["calibration"].update(widen=float("nan"))),
    ("calibration.floor", lambda m: m["calibration"].update(floor=-0.01)),
    ("calibration.floor", lambda m: m["calibration"].update(floor="0.01")),
    ("calibration.counts", lambda m: m["calibration"].update(counts=[1, 2])),
    ("calibration.counts", lambda m: m["calibration"].update(counts=-2)),
    ("calibration: expected an object or null", lambda m: m.update(calibration=[1, 2])),
    ("architecture.hidden", lambda m: m["architecture"].update(hidden="8")),
    ("architecture.levels", lambda m: m["architecture"].pop("levels")),
    ("architecture: levels must include the median", lambda m: m["architecture"].update(levels=[0.1, 0.9])),
])
def test_a_malformed_description_is_blamed_by_file_and_field(saved, field, change):
    _, path = saved
    _edit(path, change)
    with pytest.raises(InputError) as error:
        load_surrogate(path)
    assert len(error.value.problems) == 1
    assert error.value.problems[0].startswith(f"{path.with_suffix('.json')}: {field}")


def test_a_surrogate_of_another_format_is_refused_with_what_to_do(saved):
    _, path = saved
    _edit(path, lambda m: m.update(format="samplecast-surrogate/1"))
    with pytest.raises(InputError, match=r"model.json: a surrogate of format 'samplecast-surrogate/1'.*train it again"):
        load_surrogate(path)


def test_a_description_that_is_not_json_is_blamed(saved):
    _, path = saved
    path.with_suffix(".json").write_text("{")
    with pytest.raises(InputError, match=r"model.json: not valid JSON"):
        load_surrogate(path)


def test_output_must_be_a_writable_npz_path(tmp_path):
    assert check_output(tmp_path / "new" / "deeper" / "model.npz") == tmp_path / "new" / "deeper" / "model.npz"
    with pytest.raises(InputError, match=r"model.json: surrogate weights are written to a .npz file.*got .json"):
        check_output(tmp_path / "model.json")
    (tmp_path / "a_file").write_text("")
    with pytest.raises(InputError, match="model.npz: cannot be created, .*a_file is a file, not a folder"):
        check_output(tmp_path / "a_file" / "model.npz")
    (tmp_path / "taken.json").mkdir()
    with pytest.raises(InputError, match="taken.json: is a folder"):
        check_output(tmp_path / "taken.npz")
    with pytest.raises(InputError, match="model.json: surrogate weights are written to a .npz"):
        save_surrogate(new_surrogate(SMALL), tmp_path / "model.json")
    assert not (tmp_path / "model.json").exists()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs the /proc file system, where no file can be made")
def test_output_on_a_file_system_that_refuses_writes_is_refused_before_training():
    with pytest.raises(InputError, match=r"/proc/samplecast-model.npz: cannot be created in /proc \("):
        check_output("/proc/samplecast-model.npz")
