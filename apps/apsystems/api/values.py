"""Tolerant conversion of API values.

APsystems sends numbers as strings ("12.28"), sometimes as bare numbers, and null when it
has nothing; a value we cannot read becomes None rather than a wrong number.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from apsystems.api.errors import ResponseFormatError

_LOGGER = logging.getLogger(__name__)


def to_float(value: Any) -> float | None:
    """A finite float from a string or number; None for null, empty, junk, NaN and infinity."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text or text.lower() in {"null", "none", "-"}:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(number):
        _LOGGER.warning("APsystems sent %r, which is not a finite number; read as unknown", value)
        return None
    return number


def to_int(value: Any) -> int | None:
    """An int from an int or an integral string/float; None otherwise."""
    number = to_float(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


def to_str(value: Any) -> str | None:
    """A stripped string (numbers allowed, e.g. an id sent as a number); None for null or empty."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def to_date(value: Any) -> date | None:
    """A yyyy-MM-dd date, or None."""
    text = to_str(value)
    if text is None:
        return None
    try:
        return datetime.strptime(text[:10], "%Y-%m-%d").date()
    except ValueError:
        return None


def float_list(value: Any, field: str) -> tuple[float | None, ...]:
    """A list of numbers; null means empty; a non-list is a format error naming the field."""
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise ResponseFormatError(f"expected a list for {field!r}, got {type(value).__name__}")
    return tuple(to_float(item) for item in value)


def str_list(value: Any, field: str) -> tuple[str, ...]:
    """A list of labels (times, ids); null entries are dropped."""
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise ResponseFormatError(f"expected a list for {field!r}, got {type(value).__name__}")
    return tuple(text for text in (to_str(item) for item in value) if text is not None)


def as_mapping(value: Any, field: str) -> dict[str, Any]:
    """A JSON object, or an empty one for null; anything else is a format error."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ResponseFormatError(f"expected an object for {field!r}, got {type(value).__name__}")
    return value
