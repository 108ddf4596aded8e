"""Number formatting: the API sends numbers as strings ("12.28"), with fixed decimals per field."""

from __future__ import annotations


def units_str(value: int, scale: int) -> str:
    """An integer counter in 1/scale kWh as an exact decimal string (no float rounding)."""
    digits = len(str(scale)) - 1
    whole, frac = divmod(value, scale)
    return f"{whole}.{frac:0{digits}d}" if digits else str(whole)


def kwh2(value: int) -> str:
    """Centi-kWh → "12.28"."""
    return units_str(value, 100)


def kwh3(value: int) -> str:
    """Milli-kWh → "0.015"."""
    return units_str(value, 1000)


def num(value: float, decimals: int) -> str:
    """A float with fixed decimals; never "-0.00"."""
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


def whole(value: float) -> str:
    """Watts as an integer string ("224")."""
    return str(round(value))
