"""Home Assistant's own log over the whole end-to-end run: no warning, error or deprecation caused by us.

Runs last (modules run in name order), after HA has seen our entities from the start, through
its restart, AppDaemon's restarts, the notification faults, Charge HQ pushes, statistics and the
dashboard in a real browser. It reads HA's console output (``hass-output.log``, appended across
restarts; ``home-assistant.log`` is rotated at each start), splits it into records (a record
starts with a timestamp; tracebacks belong to it) and keeps every WARNING, ERROR and CRITICAL
record and every record that mentions a deprecation at any level. Each must match one line of
the allow-list below, which names harmless noise of this test set-up; anything else fails the
test with the records, our entities' ones first.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import Session

pytestmark = pytest.mark.e2e

RECORD_START = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+\+\d{2}:\d{2} (\w+) ", re.MULTILINE)
FLAGGED_LEVELS = {"WARNING", "ERROR", "CRITICAL"}
OURS = re.compile(r"apsystems|chargehq|appdaemon", re.IGNORECASE)

# Harmless here, each with the reason. Patterns match the record's first line.
ALLOWED: tuple[tuple[str, str], ...] = (
    (r"\[homeassistant\.bootstrap\] Skipping pip installation", "--skip-pip: scripts/ha_env.py pre-installs them"),
    (r"\[aiohttp_fast_zlib\] zlib_ng and isal are not available", "optional speed-ups not installed"),
    (r"\[homeassistant\.components\.network\] Because the system does not have any enabled IPv4", "loopback only"),
    (r"\[haffmpeg\.(core|tools)\] (FFmpeg fails|Error starting FFmpeg)", "no ffmpeg binary on the machine"),
    (r"\[homeassistant\.components\.camera\.img_util\] Error loading libturbojpeg", "no libturbojpeg"),
    # Both create HA's shared web client, whose zeroconf (mDNS) finds no multicast device in the
    # loopback-only namespace (scripts/netns.py); the first start logs it under the integration.
    (r"\[homeassistant\.(config_entries|components\.marketplace)\] Error setting up entry +for marketplace", "mDNS"),
    (r"\[homeassistant\.(config_entries|components\.analytics)\] Error setting up entry Analytics for", "mDNS"),
    (r"\[homeassistant\.loader\] We found a custom integration analytics", "the analytics stub without a namespace"),
)
ALLOWED_PATTERNS = [re.compile(pattern) for pattern, _reason in ALLOWED]


def records(text: str) -> list[tuple[str, str]]:
    """``(level, record text)`` for each log record (a timestamped line and its continuation lines)."""
    starts = list(RECORD_START.finditer(text))
    found = []
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        found.append((match.group(1), text[match.start() : end].rstrip()))
    return found


def flagged(text: str) -> list[str]:
    """Records that are warnings, errors or deprecations and not on the allow-list."""
    problems = []
    for level, record in records(text):
        first_line = record.splitlines()[0]
        if level not in FLAGGED_LEVELS and "deprecat" not in record.lower():
            continue
        if any(pattern.search(first_line) for pattern in ALLOWED_PATTERNS):
            continue
        problems.append(record)
    return sorted(problems, key=lambda record: not OURS.search(record))


def test_records_are_split_and_filtered() -> None:
    """The filter itself: a traceback stays with its record; allowed noise passes; ours is flagged first."""
    log = (
        "2026-12-06 04:04:16.030+00:00 WARNING (MainThread) [homeassistant.bootstrap] Skipping pip installation\n"
        "2026-12-06 04:04:17.000+00:00 ERROR (MainThread) [homeassistant.components.sensor] boom\n"
        "Traceback (most recent call last):\n  File x\n"
        "2026-12-06 04:04:18.000+00:00 INFO (MainThread) [homeassistant.helpers.frame] something is deprecated\n"
        "2026-12-06 04:04:19.000+00:00 WARNING (Recorder) [homeassistant.components.sensor.recorder] "
        "sensor.apsystems_x_power has unit W\n"
        "2026-12-06 04:04:20.000+00:00 INFO (MainThread) [homeassistant.core] fine\n"
    )
    problems = flagged(log)
    assert len(problems) == 3
    assert problems[0].startswith("2026-12-06 04:04:19") and "apsystems" in problems[0]
    assert any("Traceback" in problem and "boom" in problem for problem in problems)
    assert any("deprecated" in problem for problem in problems)


def test_home_assistant_log_has_no_warning_caused_by_us(session: Session) -> None:
    log_path = session.hass.process.log_path
    text = log_path.read_text(encoding="utf-8", errors="replace")
    assert len(records(text)) > 50, f"{log_path} has too few records: is HA logging at info level?"
    problems = flagged(text)
    assert problems == [], f"{len(problems)} unexpected record(s) in {log_path}:\n\n" + "\n\n".join(problems[:30])
