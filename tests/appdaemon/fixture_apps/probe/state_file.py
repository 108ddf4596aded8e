"""A JSON counter file under AppDaemon's config dir, written atomically (no AppDaemon import)."""

from __future__ import annotations

import json
import os
from pathlib import Path


def bump_counter(path: Path, key: str = "starts") -> int:
    """Increment ``key`` in the JSON object stored at ``path`` and return the new value."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = {}
    value = int(data.get(key, 0)) + 1
    data[key] = value
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)
    return value
