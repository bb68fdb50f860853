"""Comparing frontline units in a real headless Chromium, with axe-core on every page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser


def test_find_a_unit_doing_better_then_record_what_it_does(page: Page,
                                                            live_server: LiveServer) -> None:
    page.goto(live_server.url + "/units")
    expect(page.locator(".mb-caution")).to_contain_text("not a league table")
    assert_accessible(page)
    page.get_by_role("link", name="Referral to treatment").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Units compared")
    expect(page.locator(".mb-chart__canvas svg").first).to_be_visible(timeout=15_000)
    assert_accessible(page)

    page.get_by_label("Compare with").select_option(label="The 15 most similar trusts")
    page.get_by_label("Unit for nearest neighbours (code, optional)").fill("RX001")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("#units-table tbody tr")).to_have_count(16)
    better = page.locator(".mb-better")
    expect(better).to_contain_text("Illustrative trust 001")
    expect(better).to_contain_text("Sustained")
    assert_accessible(page)

    better.get_by_role("link", name="Illustrative trust 001").click()
    expect(page.locator(".mb-standing")).to_contain_text("Better than expected (99.8%)")
    expect(page.locator(".mb-chart__canvas svg").first).to_be_visible(timeout=15_000)
    assert_accessible(page)

    sign_in(page, live_server)
    page.goto(live_server.url + "/units/RX001")
    page.get_by_role("textbox", name="Title", exact=True).fill(
        "Browser test: one waiting list per specialty")
    page.get_by_label("What is done differently, and how").fill(
        "Browser test: patients are pooled across consultants.")
    page.get_by_role("button", name="Add the note").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Practice note added")
    page.goto(live_server.url + "/practice?q=pooled")
    expect(page.locator(".govuk-summary-card")).to_contain_text("one waiting list")
    assert_accessible(page)
