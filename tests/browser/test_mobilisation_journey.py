"""The mobilisation dashboard in a real headless Chromium, on the demo's data, with axe-core on
every page: the public follows the link from a mission's page, reads the lapsed commitments at
the top, sees the four charts drawn over their tables, narrows to an area by quarter and opens
a lapsed commitment; then the dashboard for every mission, its lapsed download and a
mission's row."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, assert_accessible

pytestmark = pytest.mark.browser

CHARTS = ("money-chart", "hours-chart", "people-chart", "commitments-chart")


def _charts_drawn(page: Page) -> None:
    for chart in CHARTS:
        expect(page.locator(f"[data-vega-spec='{chart}-spec'] svg.marks")).to_be_visible(
            timeout=15_000)


def test_the_public_follows_a_missions_mobilisation(page: Page,
                                                    live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/missions/nhs")
    page.get_by_role("link", name="The mission’s mobilisation dashboard").click()
    expect(page).to_have_url(re.compile(r"/missions/nhs/mobilisation$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mobilisation")
    expect(page.locator("#lapsed-summary")).to_contain_text("lapsed")
    lapsed = page.locator("#lapsed-table")
    expect(lapsed).to_contain_text("Give 20,000 hours of peer mentoring")
    expect(lapsed).to_contain_text("Allied Care Workers")
    _charts_drawn(page)
    assert_accessible(page)
    # The table beside a chart, opened.
    page.get_by_text("Money delivered: the figures in a table").click()
    expect(page.locator("#money-table")).to_be_visible()
    expect(page.locator("#money-table")).to_contain_text("running total")
    # Narrow to England, by quarter.
    page.get_by_label("Area", exact=True).select_option("E92000001")
    page.get_by_label("By quarter").check()
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page).to_have_url(re.compile(r"area=E92000001"))
    expect(page).to_have_url(re.compile(r"by=quarter"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mobilisation in England")
    expect(page.locator("#over-time")).to_be_visible()
    expect(page.get_by_text("for the last 8 quarters")).to_be_visible()
    _charts_drawn(page)
    assert_accessible(page)
    page.locator("#lapsed-table").get_by_role(
        "link", name="Give 20,000 hours of peer mentoring to new healthcare assistants").click()
    expect(page.locator(".govuk-tag", has_text="Lapsed").first).to_be_visible()
    assert_accessible(page)


def test_every_missions_mobilisation_and_its_download(page: Page,
                                                      live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/mobilisation")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mobilisation")
    rows = page.locator("#lapsed-table tbody tr")
    expect(rows.first).to_be_visible()
    shown = rows.count()
    expect(page.locator("#lapsed")).to_have_text(f"Lapsed commitments ({shown})")
    expect(page.locator("#by-mission")).to_contain_text("Build an NHS fit for the future")
    expect(page.locator("#by-area")).to_contain_text("North West")
    _charts_drawn(page)
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download every lapsed commitment (CSV)").click()
    saved = download.value
    assert saved.suggested_filename == "missionboard-lapsed.csv"
    path = saved.path()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,url,commitment,partner,partner_name,mission")
    assert len(lines) == shown + 1
    page.locator("#by-mission").get_by_role("link", name="Take back our streets").click()
    expect(page).to_have_url(re.compile(r"/missions/safer-streets/mobilisation$"))
    expect(page.locator(".govuk-caption-l")).to_have_text("Take back our streets")
    assert_accessible(page)
