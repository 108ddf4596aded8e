"""Atomic JSON state files."""

import json
import os
import time
from pathlib import Path

import pytest

from apsystems.common.json_file import read_json_object, write_json_atomic


def test_round_trip_and_no_temporary_files_left(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "state.json"
    write_json_atomic(target, {"a": 1, "b": [1.5, None]})
    write_json_atomic(target, {"a": 2})
    assert read_json_object(target) == {"a": 2}
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


def test_missing_is_none(tmp_path: Path) -> None:
    assert read_json_object(tmp_path / "nope.json") is None


@pytest.mark.parametrize("content", ["{half", "[1, 2]", ""])
def test_corrupt_file_is_set_aside(tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture) -> None:
    target = tmp_path / "state.json"
    target.write_text(content)
    assert read_json_object(target) is None
    assert (tmp_path / "state.json.corrupt.1").read_text() == content
    assert not target.exists()
    assert "unusable" in caplog.text


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_json_atomic(target, {"ok": True})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"bad": object()})
    assert json.loads(target.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_every_corrupt_copy_is_kept_numbered(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    for content in ("{first", "{second", "[third]"):
        target.write_text(content)
        assert read_json_object(target) is None
    assert [(tmp_path / f"state.json.corrupt.{n}").read_text() for n in (1, 2, 3)] == ["{first", "{second", "[third]"]


def test_a_state_file_that_is_a_folder_is_set_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    target = tmp_path / "budget_x.json"
    target.mkdir()
    assert read_json_object(target) is None
    assert "budget_x.json" in caplog.text and "IsADirectoryError" in caplog.text
    assert (tmp_path / "budget_x.json.corrupt.1").is_dir()
    write_json_atomic(target, {"ok": True})  # defaults can be saved again
    assert read_json_object(target) == {"ok": True}


def test_wrong_types_are_set_aside_naming_the_key(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    target = tmp_path / "budget.json"
    target.write_text('{"inverters": "six", "ecus": 1}')
    assert read_json_object(target, {"inverters": int, "ecus": int}) is None
    assert "budget.json" in caplog.text and "inverters is 'six', not int" in caplog.text
    target.write_text('{"inverters": true}')
    assert read_json_object(target, {"inverters": int}) is None  # a bool is not a count
    target.write_text('{"inverters": 6, "ecus": null}')
    assert read_json_object(target, {"inverters": int, "ecus": int}) == {"inverters": 6, "ecus": None}


def test_deeply_nested_state_is_set_aside_not_a_recursion_error(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("[" * 100_000 + "]" * 100_000)
    assert read_json_object(target) is None


def test_stale_temporaries_of_a_dead_writer_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.time() - 60  # this process, as if it had started a minute ago (not when pytest did)
    monkeypatch.setattr("apsystems.common.json_file._PROCESS_STARTED", started)
    folder = tmp_path / "state"
    folder.mkdir()
    stale = folder / ".api_calls.json.abc123.tmp"
    stale.write_text("{half")
    os.utime(stale, (started - 3600, started - 3600))
    fresh = folder / ".other.json.def456.tmp"  # a write under way in this process: kept
    fresh.write_text("{")
    keep = folder / "notes.tmp.txt"
    keep.write_text("x")
    assert read_json_object(folder / "api_calls.json") is None
    assert not stale.exists() and fresh.exists() and keep.exists()
