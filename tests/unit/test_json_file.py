"""Atomic JSON state files."""

import json
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
    assert (tmp_path / "state.json.corrupt").read_text() == content
    assert not target.exists()
    assert "unreadable" in caplog.text


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_json_atomic(target, {"ok": True})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"bad": object()})
    assert json.loads(target.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
