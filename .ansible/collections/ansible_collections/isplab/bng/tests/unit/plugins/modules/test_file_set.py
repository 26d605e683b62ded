# SPDX-License-Identifier: GPL-3.0-or-later
"""file_set: many files in one run, modes, validation before any write, exclusive, check mode."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.isplab.bng.plugins.modules import file_set


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def directory(tmp_path):
    target = tmp_path / "peers"
    target.mkdir()
    return target


def test_writes_every_file_with_its_mode_then_changes_nothing(run_module, directory):
    files = {f"cpe{n}": f'user "user{n}"\npassword "secret{n}"\n' for n in range(1, 201)}
    args = {"path": str(directory), "files": files, "mode": "0600"}

    failed, result = run_module(file_set, args)

    assert not failed and result["changed"]
    assert len(result["written"]) == 200 and result["removed"] == []
    assert (directory / "cpe7").read_text() == files["cpe7"]
    assert {_mode(directory / name) for name in files} == {0o600}
    # No temporary file is left behind.
    assert sorted(os.listdir(directory)) == sorted(files)
    failed, again = run_module(file_set, args)
    assert not failed and not again["changed"] and again["written"] == []


def test_only_changed_content_or_mode_is_written(run_module, directory):
    (directory / "a").write_text("old\n")
    (directory / "b").write_text("same\n")
    os.chmod(directory / "b", 0o644)

    failed, result = run_module(
        file_set, {"path": str(directory), "files": {"a": "new\n", "b": "same\n"}, "mode": "0600"}
    )

    assert not failed and result["written"] == ["a", "b"]
    assert (directory / "a").read_text() == "new\n"
    assert _mode(directory / "a") == 0o600 and _mode(directory / "b") == 0o600


def test_contents_never_in_the_result(run_module, directory):
    failed, result = run_module(file_set, {"path": str(directory), "files": {"cpe1": 'password "hunter2"\n'}})

    assert not failed
    assert "hunter2" not in repr(result)


def test_validation_refuses_before_anything_is_written(run_module, directory):
    (directory / "cpe1").write_text("good old\n")
    files = {"cpe1": "good new\n", "cpe2": "bad\n", "cpe3": "good\n"}
    # grep -q good exits 1 on the bad file: the whole set is refused.
    failed, result = run_module(
        file_set, {"path": str(directory), "files": files, "validate": "grep -q good %s"}
    )

    assert failed
    assert "files[cpe2]" in result["msg"] and "nothing was written" in result["msg"]
    assert sorted(os.listdir(directory)) == ["cpe1"]
    assert (directory / "cpe1").read_text() == "good old\n"


def test_validate_must_name_the_file(run_module, directory):
    failed, result = run_module(file_set, {"path": str(directory), "files": {"a": "x"}, "validate": "true"})

    assert failed and "validate must contain %s" in result["msg"]


@pytest.mark.parametrize("name", ["../escape", "sub/file", ".", ".."])
def test_names_with_a_directory_part_are_refused(run_module, directory, name):
    failed, result = run_module(file_set, {"path": str(directory), "files": {name: "x"}})

    assert failed and "plain file names" in result["msg"] and name in result["msg"]
    assert os.listdir(directory) == []


def test_bad_mode_and_missing_directory_are_refused(run_module, directory):
    failed, result = run_module(file_set, {"path": str(directory), "files": {"a": "x"}, "mode": "rw"})
    assert failed and "mode" in result["msg"] and "'rw'" in result["msg"]

    failed, result = run_module(file_set, {"path": str(directory / "none"), "files": {"a": "x"}})
    assert failed and "is not a directory" in result["msg"]


def test_exclusive_removes_files_not_in_the_set_and_keeps_directories(run_module, directory):
    (directory / "keep").write_text("k\n")
    (directory / "old").write_text("o\n")
    (directory / "subdir").mkdir()
    os.symlink("keep", directory / "link")

    failed, result = run_module(
        file_set, {"path": str(directory), "files": {"keep": "k\n"}, "exclusive": True, "mode": "0644"}
    )

    assert not failed and result["removed"] == ["link", "old"]
    assert sorted(os.listdir(directory)) == ["keep", "subdir"]


def test_check_mode_reports_and_writes_nothing(run_module, directory):
    (directory / "old").write_text("o\n")

    failed, result = run_module(
        file_set,
        {"path": str(directory), "files": {"new": "n\n"}, "exclusive": True},
        check_mode=True,
    )

    assert not failed and result["changed"]
    assert result["written"] == ["new"] and result["removed"] == ["old"]
    assert os.listdir(directory) == ["old"]


def test_check_mode_still_validates(run_module, directory):
    failed, result = run_module(
        file_set,
        {"path": str(directory), "files": {"a": "bad\n"}, "validate": "grep -q good %s"},
        check_mode=True,
    )

    assert failed and "files[a]" in result["msg"]
