"""Small JSON state files written atomically.

AppDaemon 4.5.13's namespace persistence is unreliable (see the AppDaemon notes), so the
apps keep counters and last values in their own files: a crash mid-write must leave
either the old file or the new one, never half of each.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)

TMP_SUFFIX = ".tmp"
CORRUPT_SUFFIX = ".corrupt"
# A temporary file older than this process was left by a writer that died mid-write.
_PROCESS_STARTED = time.time()
_swept: set[Path] = set()
_swept_lock = threading.Lock()

Schema = Mapping[str, type | tuple[type, ...]]
"""Top-level keys and the JSON types their values must have when present (None always allowed)."""


def sweep_stale_temporaries(directory: Path) -> list[Path]:
    """Remove ``.<name>.*.tmp`` files older than this process (once per folder and process)."""
    with _swept_lock:
        if directory in _swept:
            return []
        _swept.add(directory)
    removed: list[Path] = []
    try:
        candidates = list(directory.glob(f".*{TMP_SUFFIX}"))
    except OSError:
        return removed
    for candidate in candidates:
        try:
            if candidate.is_file() and candidate.stat().st_mtime < _PROCESS_STARTED:
                candidate.unlink()
                removed.append(candidate)
        except OSError as exc:
            _LOGGER.warning("Could not remove the stale temporary file %s: %s", candidate, exc)
    if removed:
        _LOGGER.info("Removed %d temporary file(s) left by an interrupted write in %s", len(removed), directory)
    return removed


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` via a synced temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temporaries(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def set_aside(path: Path, reason: str) -> Path | None:
    """Rename an unusable state file (or folder) to the first free ``<name>.corrupt.<n>``; never overwrite one."""
    number = 1
    while True:
        aside = path.with_name(f"{path.name}{CORRUPT_SUFFIX}.{number}")
        if not os.path.lexists(aside):
            break
        number += 1
    try:
        os.rename(path, aside)
    except OSError as exc:
        _LOGGER.error("State file %s is unusable (%s) and could not be set aside: %s", path, reason, exc)
        return None
    _LOGGER.warning("State file %s is unusable (%s); kept it as %s and used defaults", path, reason, aside.name)
    return aside


def schema_problem(data: Mapping[str, Any], schema: Schema) -> str | None:
    """The first value whose type does not match ``schema``, described; None when all match."""
    for key, expected in schema.items():
        value = data.get(key)
        if value is None:
            continue
        kinds = expected if isinstance(expected, tuple) else (expected,)
        wrong_bool = isinstance(value, bool) and bool not in kinds
        if wrong_bool or not isinstance(value, kinds):
            names = " or ".join(kind.__name__ for kind in kinds)
            return f"{key} is {value!r}, not {names}"
    return None


def load_json_object(path: Path, schema: Schema | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """``(object, None)``; ``(None, None)`` when missing; ``(None, reason)`` when unusable (then set aside)."""
    sweep_stale_temporaries(path.parent)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as exc:  # a folder, no permission, bad bytes
        unreadable = f"cannot be read: {type(exc).__name__}: {exc.strerror if isinstance(exc, OSError) else exc}"
        set_aside(path, unreadable)
        return None, unreadable
    reason: str | None = None
    try:
        data = json.loads(text)
    except ValueError as exc:
        reason = f"not JSON: {exc}"
    except RecursionError:
        reason = "not JSON: nested too deeply"
    else:
        if not isinstance(data, dict):
            reason = f"not a JSON object but {type(data).__name__}"
        elif schema is not None:
            reason = schema_problem(data, schema)
    if reason is not None:
        set_aside(path, reason)
        return None, reason
    return data, None


def read_json_object(path: Path, schema: Schema | None = None) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when missing or unusable (a clear line names the file, set aside)."""
    return load_json_object(path, schema)[0]
