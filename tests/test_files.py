"""The one writer of files: atomic files, staged folders, permissions."""

from __future__ import annotations

import errno
import os

import pytest

from samplecast.errors import InputError
from samplecast.files import put_file, put_text, shipped, staged_folder


class Killed(RuntimeError):
    """Stands for a process killed while writing."""


def _fail_after(text: bytes):
    def write(stream) -> None:
        stream.write(text)
        raise Killed

    return write


def test_a_file_is_put_in_place_with_its_bytes_and_leaves_nothing_else(tmp_path):
    put_text(tmp_path / "deep" / "a.json", '{"x": 1}\n')
    put_file(tmp_path / "deep" / "a.json", lambda stream: stream.write(b"new"))
    assert (tmp_path / "deep" / "a.json").read_bytes() == b"new"
    assert [path.name for path in (tmp_path / "deep").iterdir()] == ["a.json"]


def test_a_killed_write_leaves_the_old_file_intact_and_no_temporary_file(tmp_path):
    target = put_text(tmp_path / "record.json", "old\n")
    with pytest.raises(Killed):
        put_file(target, _fail_after(b"half of the new"))
    assert target.read_text() == "old\n"
    assert [path.name for path in tmp_path.iterdir()] == ["record.json"]


def test_a_full_disk_is_one_line_naming_the_file_and_leaves_the_old_file(tmp_path):
    path = put_text(tmp_path / "plan.json", "old")

    def full(stream):
        stream.write(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(InputError) as caught:
        put_file(path, full)
    assert caught.value.problems == [f"{path}: cannot write results there (the disk is full)"]
    assert isinstance(caught.value, OSError) and caught.value.errno == errno.ENOSPC  # a cache may still tolerate it
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["plan.json"]


def test_new_files_and_folders_get_the_permissions_of_the_umask(tmp_path):
    previous = os.umask(0o002)
    try:
        put_text(tmp_path / "runs" / "a.json", "{}\n")
        with staged_folder(tmp_path / "built") as folder:
            (folder / "b.json").write_text("{}")
    finally:
        os.umask(previous)
    assert (tmp_path / "runs" / "a.json").stat().st_mode & 0o777 == 0o664
    assert (tmp_path / "runs").stat().st_mode & 0o777 == 0o775
    assert (tmp_path / "built").stat().st_mode & 0o777 == 0o775


def test_a_staged_folder_replaces_the_whole_folder(tmp_path):
    out = tmp_path / "forecaster"
    out.mkdir()
    (out / "old.json").write_text("old")
    (out / "kept.json").write_text("old")
    with staged_folder(out) as folder:
        (folder / "kept.json").write_text("new")
        (folder / "added.json").write_text("new")
    assert sorted(path.name for path in out.iterdir()) == ["added.json", "kept.json"]
    assert (out / "kept.json").read_text() == "new"
    assert [path.name for path in tmp_path.iterdir()] == ["forecaster"]


def test_a_failed_staged_build_leaves_the_old_folder_untouched_and_no_staging(tmp_path):
    out = tmp_path / "forecaster"
    out.mkdir()
    (out / "kept.json").write_text("old")
    with pytest.raises(Killed):
        with staged_folder(out) as folder:
            (folder / "kept.json").write_text("new")
            (folder / "added.json").write_text("new")
            raise Killed
    assert [path.name for path in out.iterdir()] == ["kept.json"]
    assert (out / "kept.json").read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["forecaster"]


def test_a_failed_first_build_creates_no_folder(tmp_path):
    with pytest.raises(Killed):
        with staged_folder(tmp_path / "new" / "forecaster") as folder:
            (folder / "a.json").write_text("x")
            raise Killed
    assert list((tmp_path / "new").iterdir()) == []


def test_staging_left_by_a_killed_build_is_removed_by_the_next(tmp_path):
    leftovers = [tmp_path / ".forecaster.partial-123-abcd", tmp_path / ".forecaster.partial-old-9-ef01"]
    for leftover in leftovers:
        leftover.mkdir()
        (leftover / "half.json").write_text("{")
    (tmp_path / ".other.partial-1-2").mkdir()  # another folder's staging is not this build's to remove
    with staged_folder(tmp_path / "forecaster") as folder:
        (folder / "a.json").write_text("x")
    assert sorted(path.name for path in tmp_path.iterdir()) == [".other.partial-1-2", "forecaster"]
    assert [path.name for path in (tmp_path / "forecaster").iterdir()] == ["a.json"]


def test_the_shipped_files_are_found():
    assert shipped().is_dir() and shipped("ensemble.json").is_file()


def test_an_output_that_is_a_device_pipe_or_folder_is_refused_and_left_as_it_is(tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    link = tmp_path / "full.json"
    link.symlink_to(os.devnull)  # a device behind a link: the link is not swapped for a file either
    for path in (pipe, link, tmp_path):
        with pytest.raises(InputError) as caught:
            put_text(path, "x")
        assert caught.value.problems == [f"{path}: cannot write results there (not a regular file, but a folder, "
                                         "device or pipe; give the path of a file)"]
    assert not pipe.is_file() and link.is_symlink() and sorted(os.listdir(tmp_path)) == ["full.json", "pipe"]
