"""A small JSON copy written in place into space reserved beforehand, so it still works on a full disk.

The ledger's main file is replaced atomically, which needs free space for the new copy; when
the disk fills up, that write fails and a restart would read an old, lower count. This copy
is a file of fixed size, reserved when it is created and then overwritten in place (padded
with spaces), which needs no new blocks on ordinary file systems (ext4, xfs, tmpfs).
A crash mid-write can tear it, which makes it unreadable, never a plausible lower count on its
own: the reader takes the larger of the two copies.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SLOT_BYTES = 64 * 1024


def write_slot(path: Path, data: Any, size: int = SLOT_BYTES) -> None:
    """Overwrite ``path`` in place with ``data`` as JSON padded to ``size`` bytes; reserve it on first use."""
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")
    if len(encoded) >= size:
        raise ValueError(f"{len(encoded)} bytes do not fit the {size} byte slot of {path}")
    padded = encoded + b" " * (size - len(encoded) - 1) + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size < size:
            reserve = getattr(os, "posix_fallocate", None)  # Linux; elsewhere the file is merely extended
            if reserve is not None:
                reserve(fd, 0, size)
            else:
                os.ftruncate(fd, size)
        os.pwrite(fd, padded, 0)
        os.fsync(fd)
    finally:
        os.close(fd)
