"""The main journeys in a real headless Chromium, with axe-core on every page visited."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.metrics.models import Observation
from tests.browser.conftest import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser


def _observation_count(server: LiveServer) -> int:
    with Session(server.engine) as s:
        return int(s.scalar(select(func.count()).select_from(Observation)) or 0)


def test_browse_missions_then_metric_then_download(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    expect(page).to_have_title("Missions – Missionboard")
    assert_accessible(page)

    page.get_by_role("link", name="Build an NHS fit for the future").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("NHS")
    expect(page.get_by_role("heading", name="Mission board")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="The policies and programmes expected to deliver").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Interventions")
    expect(page.locator(".govuk-summary-card").first).to_be_visible()
    assert_accessible(page)
    page.go_back()

    page.locator("table a[href^='/metrics/']").first.click()
    expect(page.get_by_role("heading", name="Changes to this measure")).to_be_visible()
    # The chart is drawn over its accessible table once vega-embed has run.
    expect(page.locator(".mb-chart__canvas svg").first).to_be_visible(timeout=15_000)
    expect(page.locator("#data-table tbody tr").first).to_be_visible()
    assert_accessible(page)

    with page.expect_download() as info:
        page.get_by_role("link", name="All areas and periods (CSV)").click()
    download = info.value
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert rows, "the download is empty"
    assert {"metric", "area_code", "period", "value", "illustrative"} <= rows[0].keys()
    table_rows = page.locator("#data-table tbody tr").count()
    assert len(rows) >= table_rows


def test_change_a_target_with_a_reason_then_see_it_in_public(
    page: Page, live_server: LiveServer
) -> None:
    sign_in(page, live_server)
    assert_accessible(page)
    page.goto(live_server.url + "/missions/nhs")
    page.locator("table a[href^='/metrics/']").first.click()
    metric_url = page.url
    page.locator(".govuk-summary-card__action a").first.click()
    expect(page.get_by_role("heading", name="Change the target")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Target value").fill("93")
    page.get_by_role("button", name="Save target").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Give a reason")
    expect(page).to_have_title("Error: Change the target – " +
                               page.title().split("– ", 1)[1])
    assert_accessible(page)

    page.get_by_label("Reason for the change").fill("Browser test: the board raised the bar")
    page.get_by_role("button", name="Save target").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Target updated")

    page.get_by_role("link", name="Sign out").click()
    page.get_by_role("button", name="Sign out").click()
    page.goto(metric_url)
    history = page.locator("#changes + table")
    expect(history).to_contain_text("Browser test: the board raised the bar")
    expect(history).to_contain_text("93")
    expect(history).to_contain_text("from 92 to 93")
    expect(history).to_contain_text("Demo administrator")
    assert_accessible(page)


def test_bad_upload_shows_every_error_and_changes_nothing(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    before = _observation_count(live_server)
    bad = tmp_path / "bad.csv"
    bad.write_text("metric,area_code,period,value\n"
                   "no-such-metric,E92000001,2025-01,1\n"
                   "no-such-metric,XX000000,2025-13,not a number\n")
    sign_in(page, live_server)
    page.goto(live_server.url + "/manage/upload")
    assert_accessible(page)
    page.get_by_label("File").set_input_files(str(bad))
    page.get_by_role("button", name="Upload and import").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Row 2, column ‘metric’")
    expect(summary).to_contain_text("Row 3, column ‘value’")
    expect(page.locator("#upload-result")).to_contain_text("Nothing was imported")
    assert_accessible(page)
    assert _observation_count(live_server) == before
