"""The shipped dashboard (``dashboards/apsystems.yaml``) in Home Assistant's real frontend.

The file is loaded as it ships, with only its placeholders (``<sid>``, ``<inverter1>``, ...)
replaced by the fake site's system ID and inverter UIDs, into a storage-mode dashboard. Debian's
Chromium, headless and driven by Playwright (never a browser of Playwright's own), logs in on
HA's login page as the test user, opens the dashboard and waits until every card shows the
entities' current values (the power chart: that it is drawn), read from the rendered DOM (HA's
frontend is web components: the text lives in shadow roots, so it is collected through them).
The screenshot is
saved under the session's output folder (``<tmp>/e2e*/dashboard/apsystems-dashboard.png``)
and copied into docs/ by hand for the README.

Runs after the Energy test, so the recorder has compiled statistics once by then.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.ad_config import REPO
from tests.e2e.conftest import Session
from tests.e2e.homeassistant import PASSWORD, USERNAME
from tests.e2e.processes import wait_for

pytestmark = pytest.mark.e2e

DASHBOARD_FILE = REPO / "dashboards" / "apsystems.yaml"
URL_PATH = "dashboard-apsystems"
VIEW_PATH = "solar"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
)
VIEWPORT = {"width": 1400, "height": 1000}
PLACEHOLDER = re.compile(r"<(sid|inverter\d+)>")
RENDER_TIMEOUT_S = 90
TITLES = ("Power now", "Production", "Production today, by hour", "Power today", "Inverters", "API budget", "Charge HQ")

# Every card with its text and number of drawn charts (canvas elements), collected through shadow
# roots (hui-*-card elements, in page order).
CARDS_JS = """
() => {
  const cards = [];
  const text = (node, out) => {
    if (node.nodeType === Node.TEXT_NODE) { out.push(node.textContent); return; }
    if (node.nodeType !== Node.ELEMENT_NODE && node.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) return;
    if (node.nodeName === 'STYLE' || node.nodeName === 'SCRIPT') return;
    if (node.nodeName === 'CANVAS') out.charts += 1;
    if (node.shadowRoot) text(node.shadowRoot, out);
    for (const child of node.childNodes) text(child, out);
  };
  const find = (node) => {
    if (node.nodeType === Node.ELEMENT_NODE && /^HUI-.*-CARD$/.test(node.nodeName)) {
      const out = [];
      out.charts = 0;
      text(node, out);
      const joined = out.join(' ').replace(/\\s+/g, ' ').trim();
      cards.push({tag: node.nodeName.toLowerCase(), text: joined, charts: out.charts});
      return;
    }
    if (node.shadowRoot) find(node.shadowRoot);
    for (const child of node.childNodes) find(child);
  };
  find(document.body);
  return cards;
}
"""


def dashboard_config(sid: str, inverter_uids: list[str]) -> dict[str, Any]:
    """The shipped YAML with its placeholders filled in, as a user's search-and-replace would."""
    text = DASHBOARD_FILE.read_text(encoding="utf-8")
    placeholders = sorted(set(PLACEHOLDER.findall(text)))
    inverter_slots = [name for name in placeholders if name.startswith("inverter")]
    assert len(inverter_slots) == len(inverter_uids), (
        f"the dashboard has {len(inverter_slots)} inverter lines, the fake site {len(inverter_uids)} inverters"
    )
    values = {"sid": sid.lower()} | {f"inverter{n}": uid.lower() for n, uid in enumerate(inverter_uids, start=1)}
    filled = PLACEHOLDER.sub(lambda match: values[match.group(1)], text)
    config: dict[str, Any] = yaml.safe_load(filled)
    return config


def _entity_ids(config: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            entity = node.get("entity")
            if isinstance(entity, str):
                found.add(entity)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return found


def _numbers(text: str) -> set[float]:
    """Every number shown in a card's text ("1,234.5" -> 1234.5)."""
    return {float(token.replace(",", "")) for token in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def _title(text: str) -> str | None:
    """The card's title: the longest known title its text starts with (or, for the gauge, contains)."""
    padded = f" {text} "
    matches = [
        title for title in TITLES if text.startswith(f"{title} ") or (title == "Power now" and f" {title} " in padded)
    ]
    return max(matches, key=len, default=None)


def _card(cards: list[dict[str, Any]], title: str) -> str:
    for card in cards:
        if _title(card["text"]) == title:
            return str(card["text"])
    raise AssertionError(f"no card titled {title!r} among {[c['text'][:40] for c in cards]}")


def _budget_problems(cards: list[dict[str, Any]], budget: dict[str, Any]) -> list[str]:
    """The API budget card shows the plan's figures (attribute rows) and its reason."""
    try:
        text = _card(cards, "API budget")
    except AssertionError as exc:
        return [str(exc)]
    problems = [
        f"API budget: {attribute} = {budget['attributes'][attribute]} not shown in {text!r}"
        for attribute in ("quota", "remaining", "projected", "interval_s")
        if float(budget["attributes"][attribute]) not in _numbers(text)
    ]
    if str(budget["attributes"]["plan"])[:30] not in text:
        problems.append(f"API budget: the plan {budget['attributes']['plan']!r} not shown in {text!r}")
    return problems


def _chargehq_problems(cards: list[dict[str, Any]], status: dict[str, Any]) -> list[str]:
    try:
        text = _card(cards, "Charge HQ")
    except AssertionError as exc:
        return [str(exc)]
    if f"Push status {status['state']}" not in text:
        return [f"Charge HQ: status {status['state']!r} not shown in {text!r}"]
    return []


def _problems(cards: list[dict[str, Any]], states: dict[str, dict[str, Any]], session: Session) -> list[str]:
    """What the rendered cards do not (yet) show; empty when every value is there."""
    prefix = session.expected.prefix
    problems: list[str] = []

    def shows(title: str, entity_id: str, unit: str | None = None) -> None:
        try:
            text = _card(cards, title)
        except AssertionError as exc:
            problems.append(str(exc))
            return
        value = float(states[entity_id]["state"])
        if value not in _numbers(text):
            problems.append(f"{title}: {entity_id} = {value} not shown in {text!r}")
        if unit is not None and unit not in text:
            problems.append(f"{title}: unit {unit} missing in {text!r}")

    for suffix in ("today_energy", "month_energy", "year_energy", "total_energy"):
        shows("Production", f"{prefix}_{suffix}", "kWh")
    shows("Production", f"{prefix}_power", "W")
    shows("Power now", f"{prefix}_power", "W")
    for entity_id in sorted(session.expected.inverter_ids()):
        if entity_id.endswith("_power") and "_dc_power" not in entity_id:
            shows("Inverters", entity_id, "W")
    shows("API budget", f"{prefix}_api_calls", "calls")
    problems += _budget_problems(cards, states[f"{prefix}_api_calls"])
    problems += _chargehq_problems(cards, states["sensor.chargehq_push_status"])
    try:
        # The hourly bars come from HA's hourly statistics, compiled after each full hour: a test
        # run usually ends before the first one, so only the card itself is required here.
        _card(cards, "Production today, by hour")
        power_chart = next(card for card in cards if _title(card["text"]) == "Power today")
        if not power_chart["charts"]:
            problems.append(f"Power today: no chart drawn: {power_chart['text']!r}")
    except (AssertionError, StopIteration) as exc:
        problems.append(f"chart cards: {exc!r}")
    joined = " ".join(card["text"] for card in cards)
    for marker in ("Entity not available", "Entity not found", "Configuration error"):
        if marker in joined:
            problems.append(f"a card says {marker!r}: {joined!r}")
    return problems


@pytest.fixture(scope="module")
def browser_page(e2e_session: Session) -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make e2e-env` installs Debian's chromium (scripts/system_packages.py)")
    profile = e2e_session.root / "chromium-profile"
    with playwright_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=list(CHROMIUM_FLAGS),
            viewport=VIEWPORT,
            locale="en-GB",
            timezone_id="UTC",
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def test_dashboard_renders_the_entities_values(session: Session, browser_page: Any) -> None:
    expected = session.expected
    uids = sorted(inverter.uid for inverter in expected.inverters)
    config = dashboard_config(expected.sid, uids)
    ids = _entity_ids(config)
    unknown = ids - set(expected.all_ids)
    assert not unknown, f"the dashboard names entities the apps do not publish: {unknown}"
    session.hass.save_dashboard(URL_PATH, "APsystems", config)
    assert session.hass.dashboard(URL_PATH) == config, "HA stores the dashboard as given (storage mode)"
    session.wait_for_entities(sorted(ids))

    page = browser_page
    page.goto(f"{session.hass.url}/{URL_PATH}/{VIEW_PATH}")
    # HA redirects to its login page (/auth/authorize); the form's inputs live in shadow roots,
    # which Playwright's CSS selectors pierce.
    page.locator("input[name='username']").fill(USERNAME, timeout=60_000)
    page.locator("input[name='password']").fill(PASSWORD)
    page.locator("input[name='password']").press("Enter")
    page.wait_for_url(f"**/{URL_PATH}/{VIEW_PATH}*", timeout=60_000)

    seen: list[object] = []

    def rendered() -> list[dict[str, Any]] | None:
        cards: list[dict[str, Any]] = page.evaluate(CARDS_JS)
        states = session.hass.states()
        problems = _problems(cards, states, session)
        seen[:] = problems
        return cards if not problems else None

    cards = wait_for(
        "the dashboard's cards to show every entity's value",
        rendered,
        timeout=RENDER_TIMEOUT_S,
        interval=2,
        context=lambda: "\n".join(str(problem) for problem in seen),
    )
    page.wait_for_timeout(1500)  # let the charts finish their entry animation for the picture
    out = session.root / "dashboard"
    out.mkdir(exist_ok=True)
    screenshot = Path(out / "apsystems-dashboard.png")
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"dashboard screenshot: {screenshot}")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(cards) == len(config["views"][0]["cards"]), [card["tag"] for card in cards]
