"""A forecaster folder is one checked unit: every file is checked when the folder is opened, whatever the method, the
files carry their build's id and checksums of each other, and each file is read against its schema (the weights'
shapes from their headers, before anything is allocated)."""

from __future__ import annotations

import io
import json
import shutil
import tracemalloc
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from samplecast.cli import cli
from samplecast.errors import InputError
from samplecast.files import shipped
from samplecast.forecast.folder import BUILD, CHECKED, ForecasterFolder, sha256


def reseal(folder):
    """Record the sha256 of every file in build.json again: what a build of these files would have written, so a test
    reaches the check of a file's contents rather than stopping at its checksum."""
    record = json.loads((folder / BUILD).read_text())
    record["files"] = {name: sha256(folder / name) for name in CHECKED}
    (folder / BUILD).write_text(json.dumps(record))


def edit(folder, name, change, sealed=True):
    """Change the JSON file ``name`` of ``folder`` in place (``change(document)`` returns the new document)."""
    path = folder / name
    path.write_text(json.dumps(change(json.loads(path.read_text()))))
    if sealed:
        reseal(folder)


def restamp(folder, build_id):
    """Make ``folder`` the output of another build: every file stamped with ``build_id``, the checksums recorded."""
    for name in ("ensemble.json", "surrogate.json", "backtest_summary.json"):
        edit(folder, name, lambda d: {**d, "build": build_id}, sealed=False)
    edit(folder, BUILD, lambda d: {**d, "build_id": build_id})


@pytest.fixture
def folder(tmp_path):
    """A copy of the shipped forecaster folder, to change."""
    return shutil.copytree(shipped(), tmp_path / "fc")


@pytest.fixture
def curves(tmp_path):
    path = tmp_path / "curves.csv"
    path.write_text("n_train,dice\n" + "".join(f"{n},{0.8 - 0.9 * n ** -0.5:.4f}\n" for n in (20, 40, 80, 160)))
    return path


def errors(folder, curves, method="pow3"):
    """The error lines of ``forecast --forecaster folder`` (which must fail with exit 2 and no traceback)."""
    result = CliRunner().invoke(cli, ["forecast", str(curves), "--forecaster", str(folder), "--method", method])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), result.stderr
    return [line.removeprefix("error: ") for line in lines]


def test_the_shipped_folder_and_a_copy_of_it_open(folder):
    assert ForecasterFolder.open().shipped and ForecasterFolder.open(folder).path == folder
    record = json.loads((folder / BUILD).read_text())
    assert all(json.loads((folder / name).read_text())["build"] == record["build_id"]
               for name in ("ensemble.json", "surrogate.json", "backtest_summary.json"))


@pytest.mark.parametrize("name", CHECKED)
def test_a_file_changed_after_the_build_is_refused_by_its_checksum(folder, curves, name):
    with open(folder / name, "ab") as stream:
        stream.write(b" ")
    assert errors(folder, curves) == [f"{folder / name}: its sha256 is not the one build.json records: the file "
                                      "changed after the build"]


def test_a_tampered_command_is_refused_not_printed(folder, curves):
    edit(folder, "backtest_summary.json", lambda d: {**d, "source": {**d["source"], "command": "rm -rf ~"}},
         sealed=False)
    [line] = errors(folder, curves)
    assert "backtest_summary.json: its sha256 is not the one" in line and "rm -rf" not in line


def test_a_folder_mixing_two_builds_is_refused_naming_the_file(folder, curves, tmp_path):
    """A build killed after moving its first file in place: the new ensemble.json beside the old files."""
    newer = shutil.copytree(folder, tmp_path / "newer")
    edit(newer, "ensemble.json", lambda d: {**d, "weights": [0.2, 0.4, 0.4]}, sealed=False)
    restamp(newer, "20270101T000000Z-0000beef")
    shutil.copy(newer / "ensemble.json", folder / "ensemble.json")
    old = json.loads((folder / BUILD).read_text())["build_id"]
    assert errors(folder, curves) == [f"{folder / 'ensemble.json'}: written by build '20270101T000000Z-0000beef', not "
                                      f"by build '{old}' of build.json: the folder mixes the files of two builds; "
                                      "build it again"]


def test_a_folder_of_an_older_build_format_is_refused_with_what_to_do(folder, curves):
    edit(folder, BUILD, lambda d: {**d, "format": "samplecast-build/1"})
    [line] = errors(folder, curves)
    assert line.startswith(f"{folder / BUILD}: format 'samplecast-build/1' is not 'samplecast-build/2'")
    assert line.endswith("(a forecaster built by another version of samplecast, or not a build record); build it "
                         "again")


def _first_row(field, value):
    return lambda d: {**d, "rows": [{**d["rows"][0], field: value}, *d["rows"][1:]]}


def _drop_from_first_row(field):
    return lambda d: {**d, "rows": [{k: v for k, v in d["rows"][0].items() if k != field}, *d["rows"][1:]]}


@pytest.mark.parametrize("name, change, expected", [
    ("ensemble.json", lambda d: [d], "document: expected an object, got list"),
    ("ensemble.json", lambda d: {**d, "weights": [float("nan"), 0.5, 0.5]}, "weights[0]: expected a finite number, "
                                                                            "got nan"),
    ("ensemble.json", lambda d: {**d, "weights": [-0.5, 1.0, 0.5]}, "weights[0]: -0.5 must not be negative"),
    ("ensemble.json", lambda d: {**d, "weights": [0.5, 0.5]}, "document: members, weights must be as long as each "
                                                              "other (got 3, 2)"),
    ("ensemble.json", lambda d: {**d, "members": ["pow3", "pow3", "average"]}, "members: 'pow3' named more than once"),
    ("ensemble.json", lambda d: {**d, "members": ["pow3", "pow2", "oracle"]}, "members: 'oracle' not a method the "
                                                                              "ensemble can stack"),
    ("ensemble.json", lambda d: {**d, "calibration": {"widen": "wide", "floor": 0}}, "calibration.widen: expected a "
                                                                                     "number, got str"),
    ("backtest_summary.json", lambda d: {**d, "rows": {}}, "rows: expected a list of objects, got dict"),
    ("backtest_summary.json", _drop_from_first_row("held_out"), "rows[0].held_out: missing"),
    ("backtest_summary.json", _first_row("cutoff", 0), "rows[0].cutoff: 0 is outside (0, 1]"),
    ("backtest_summary.json", _first_row("mae", -0.5), "rows[0].mae: -0.5 must not be negative"),
    ("backtest_summary.json", _first_row("coverage80", -3), "rows[0].coverage80: -3 is outside [0, 1]"),
    ("backtest_summary.json", _first_row("curves", "17"), "rows[0].curves: expected a whole number, got str"),
    ("backtest_summary.json", lambda d: {**d, "rows": d["rows"] + d["rows"][:1]}, "rows: 1 (method, held_out, "
                                                                                  "cutoff) given twice"),
    ("surrogate.json", lambda d: {**d, "architecture": {**d["architecture"], "hidden": 0}},
     "architecture.hidden: 0 must be positive"),
    ("surrogate.json", lambda d: {**d, "architecture": {**d["architecture"], "hidden": 10 ** 6}},
     "the architecture in surrogate.json has more than 20,000,000 weights"),
    (BUILD, lambda d: {**d, "files": {**d["files"], "surrogate.npz": "abc"}}, "files.surrogate.npz: not a sha256"),
    (BUILD, lambda d: {**d, "corpus": "data/*.csv"}, "corpus: expected a list of objects, got str"),
])
def test_each_file_is_checked_against_its_schema_whatever_the_method(folder, curves, name, change, expected):
    edit(folder, name, change, sealed=name != BUILD)
    lines = errors(folder, curves)
    assert any(line.startswith(f"{folder / name if name != 'surrogate.json' else folder / 'surrogate'}")
               and expected in line for line in lines), lines


def test_deep_nesting_and_huge_integers_are_one_line(folder, curves):
    (folder / "ensemble.json").write_text("[" * 100_000 + "]" * 100_000)
    reseal(folder)
    assert errors(folder, curves) == [f"{folder / 'ensemble.json'}: not valid JSON (nested too deep)"]
    shutil.copy(shipped("ensemble.json"), folder / "ensemble.json")
    edit(folder, "ensemble.json", lambda d: {**d, "weights": [10 ** 400, 0, 0]})
    assert errors(folder, curves) == [f"{folder / 'ensemble.json'}: weights[0]: expected a finite number, got a whole "
                                      "number of 1329 bits"]


def _replace_array(path, name, header, body=b""):
    """Rewrite the ``.npz`` at ``path`` with the member ``name`` replaced by a ``.npy`` of ``header`` and ``body``."""
    with zipfile.ZipFile(path) as archive:
        kept = {info.filename: archive.read(info) for info in archive.infolist() if info.filename != f"{name}.npy"}
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, header)
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in kept.items():
            archive.writestr(member, data)
        archive.writestr(f"{name}.npy", stream.getvalue() + body)


def test_a_header_declaring_a_huge_array_is_refused_without_allocating_it(folder):
    _replace_array(folder / "surrogate.npz", "lstm.weight_ih_l0",
                   {"descr": "<f4", "fortran_order": False, "shape": (10 ** 7, 10 ** 7)})
    reseal(folder)
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as error:
            ForecasterFolder.open(folder)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20
    assert error.value.problems == [
        f"{folder / 'surrogate.npz'}: array lstm.weight_ih_l0 has shape (10000000, 10000000), expected (512, 6)",
        f"{folder / 'surrogate.npz'}: weights do not fit the architecture in surrogate.json"]


@pytest.mark.parametrize("header, body, expected", [
    ({"descr": "|O", "fortran_order": False, "shape": (512, 6)}, b"", "is not floating point (dtype object)"),
    ({"descr": "<i4", "fortran_order": False, "shape": (512, 6)}, bytes(512 * 6 * 4), "is not floating point"),
    ({"descr": "<f4", "fortran_order": False, "shape": (512, 6)}, bytes(100), "holds"),
    ({"descr": "<f4", "fortran_order": False, "shape": (512, 6)}, np.full(512 * 6, np.inf, "<f4").tobytes(),
     "is not finite floating point"),
], ids=["object", "integers", "truncated", "infinite"])
def test_an_array_of_the_wrong_dtype_size_or_values_is_named(folder, header, body, expected):
    _replace_array(folder / "surrogate.npz", "lstm.weight_ih_l0", header, body)
    reseal(folder)
    with pytest.raises(InputError) as error:
        ForecasterFolder.open(folder)
    assert error.value.problems[0].startswith(f"{folder / 'surrogate.npz'}: array lstm.weight_ih_l0 {expected}")


def test_a_folder_without_a_build_record_is_incomplete(folder, curves):
    (folder / BUILD).unlink()
    assert errors(folder, curves) == [f"{folder}: not a complete forecaster folder, it lacks build.json (a build "
                                      "writes them all at once)"]
