"""The statistic's identity and the metadata ``recorder/import_statistics`` takes.

Checked against Home Assistant 2026.11's ``recorder/websocket_api.py``: ``mean_type``
(0 = no mean) and ``unit_class`` replaced ``has_mean``; leaving them out logs a deprecation.
"""

from __future__ import annotations

from typing import Any

SOURCE = "apsystems"
MEAN_TYPE_NONE = 0
ENERGY_UNIT_CLASS = "energy"
KWH = "kWh"


def solar_statistic_id(sid: str) -> str:
    """``apsystems:<sid>_solar_energy`` (an external statistic: source, colon, lower-case id)."""
    if not sid or not sid.isalnum():
        raise ValueError(f"system id {sid!r} must be letters and digits")
    return f"{SOURCE}:{sid.lower()}_solar_energy"


def energy_metadata(statistic_id: str, name: str) -> dict[str, Any]:
    """Metadata of a kWh statistic with a running sum and no mean."""
    return {
        "statistic_id": statistic_id,
        "source": SOURCE,
        "name": name,
        "unit_of_measurement": KWH,
        "unit_class": ENERGY_UNIT_CLASS,
        "mean_type": MEAN_TYPE_NONE,
        "has_sum": True,
    }


def solar_metadata(sid: str) -> dict[str, Any]:
    return energy_metadata(solar_statistic_id(sid), f"APsystems {sid} solar production")
