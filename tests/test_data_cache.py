"""The preprocessed-array cache: reused while the files are unchanged, renewed when they change, placed sensibly."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from samplecast.data import load_dataset
from samplecast.data.cache import DatasetCache, default_cache_dir
from samplecast.errors import InputError


def _entries(folder):
    return sorted(folder.glob("*.npz"))


def test_second_load_reads_the_cache_not_the_files(synthetic_2d, copy_dataset, tmp_path):
    root = copy_dataset(synthetic_2d)
    first = load_dataset(root, image_size=16, cache_dir=tmp_path / "cache")
    assert len(_entries(tmp_path / "cache")) == 1
    # Garble an image but keep its size and modification time: only a load that re-reads files would notice.
    image = root / "images" / "case_0000.png"
    info = image.stat()
    image.write_bytes(b"\x00" * info.st_size)
    os.utime(image, ns=(info.st_atime_ns, info.st_mtime_ns))
    second = load_dataset(root, image_size=16, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(second.images, first.images)
    np.testing.assert_array_equal(second.masks, first.masks)
    assert second.case_ids == first.case_ids and second.spatial_dims == 2
    # A changed modification time is a changed file: the dataset is read again and the garbled image found.
    os.utime(image, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))
    with pytest.raises(InputError, match="case_0000.png: unreadable image"):
        load_dataset(root, image_size=16, cache_dir=tmp_path / "cache")


def test_changed_files_replace_the_entry_and_other_settings_add_one(synthetic_2d, copy_dataset, tmp_path):
    root, cache = copy_dataset(synthetic_2d), tmp_path / "cache"
    load_dataset(root, image_size=16, cache_dir=cache)
    load_dataset(root, image_size=24, cache_dir=cache)
    assert len(_entries(cache)) == 2
    (root / "images" / "case_0011.png").unlink()
    (root / "masks" / "case_0011.png").unlink()
    assert len(load_dataset(root, image_size=16, cache_dir=cache)) == 11
    assert len(_entries(cache)) == 2  # the 16-pixel entry of the old files was replaced, the 24-pixel one kept


def test_damaged_entry_is_rebuilt(synthetic_2d, copy_dataset, tmp_path):
    root, cache = copy_dataset(synthetic_2d), tmp_path / "cache"
    first = load_dataset(root, image_size=16, cache_dir=cache)
    (entry,) = _entries(cache)
    entry.write_bytes(b"PK\x03\x04 truncated")
    np.testing.assert_array_equal(load_dataset(root, image_size=16, cache_dir=cache).images, first.images)


def test_default_cache_is_inside_a_writable_dataset(synthetic_2d, copy_dataset):
    root = copy_dataset(synthetic_2d)
    load_dataset(root, image_size=16)
    assert len(_entries(root / ".samplecast-cache")) == 1


def test_read_only_dataset_is_cached_in_the_user_cache_folder(synthetic_2d, copy_dataset, tmp_path, monkeypatch):
    root = copy_dataset(synthetic_2d)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    mode = root.stat().st_mode
    root.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        assert default_cache_dir(root) == tmp_path / "user-cache" / "samplecast" / "datasets"
        load_dataset(root, image_size=16)
    finally:
        root.chmod(mode)
    assert not (root / ".samplecast-cache").exists()
    assert len(_entries(tmp_path / "user-cache" / "samplecast" / "datasets")) == 1


def test_unwritable_cache_warns_and_still_loads(synthetic_2d, copy_dataset, tmp_path):
    root = copy_dataset(synthetic_2d)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(RuntimeWarning, match="could not write the dataset cache"):
        data = load_dataset(root, image_size=16, cache_dir=blocker)
    assert len(data) == 12


def test_cache_key_depends_on_settings_and_files(tmp_path):
    (tmp_path / "a.png").write_bytes(b"1")
    base = DatasetCache(tmp_path, {"size": 16}, [tmp_path / "a.png"], tmp_path)
    assert DatasetCache(tmp_path, {"size": 16}, [tmp_path / "a.png"], tmp_path).path == base.path
    other_size = DatasetCache(tmp_path, {"size": 32}, [tmp_path / "a.png"], tmp_path)
    assert other_size.prefix != base.prefix
    (tmp_path / "a.png").write_bytes(b"22")
    changed = DatasetCache(tmp_path, {"size": 16}, [tmp_path / "a.png"], tmp_path)
    assert changed.prefix == base.prefix and changed.path != base.path
