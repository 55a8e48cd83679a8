"""`decdiff.files`: output files are written whole or not at all; unwritable output paths are refused in words."""

from __future__ import annotations

import os

import pytest

from decdiff.errors import InputError
from decdiff.files import atomic_write, require_writable, write_text


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, failure):
    target = write_text(tmp_path / "out.json", "old\n")
    with pytest.raises(failure), atomic_write(target) as handle:
        handle.write("half of the new")
        raise failure
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_finished_write_replaces_the_file_with_open_s_permissions(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    target = write_text(tmp_path / "out.md", "new\n")
    assert target.read_text() == "new\n" and os.stat(target).st_mode == os.stat(plain).st_mode


@pytest.mark.parametrize("path, folder, needle", [
    ("/nonexistent/dir/out.json", False, "cannot write the file: the folder /nonexistent/dir does not exist"),
    ("/proc/forbidden", True, "cannot write there: the folder /proc refuses new files"),
    ("/proc/self/status/x", True, "cannot create the folder: /proc/self/status is a file"),
    ("/", False, "is a folder, not a file"),
])
def test_unwritable_paths_are_refused_in_words(path, folder, needle):
    with pytest.raises(InputError, match=needle):
        require_writable(path, folder=folder)


def test_writable_paths_pass(tmp_path):
    assert require_writable(tmp_path / "new" / "deeper", folder=True) == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()          # checking creates nothing
    assert require_writable(tmp_path / "out.json") == tmp_path / "out.json"
