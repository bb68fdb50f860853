"""Mission councils in a real headless Chromium, with axe-core on every page: the public goes
from the NHS mission to its council's tracker (the overdue recommendation in plain sight, the
balance chart drawn over its table), a recommendation and a meeting's published minutes; the
council's secretary records a recommendation, the form showing its errors first; the
mission's editor responds for the government, a rejection needing its reason."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from missionboard.councils import demo
from tests.browser.conftest import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser

TRACKER = f"/councils/{demo.SLUG}"


def test_the_public_follows_the_council(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/missions/{demo.MISSION}")
    section = page.locator("#council ~ ul.mb-council-counts").first
    expect(section).to_contain_text("Overdue")
    page.get_by_role("link", name="The tracker of the council’s recommendations and the "
                                   "government’s responses").click()
    expect(page).to_have_url(f"{live_server.url}{TRACKER}#recommendations")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "NHS Mission Council (illustrative)")
    expect(page.locator(".mb-council-overdue")).to_contain_text("overdue")
    expect(page.locator(".mb-chart__canvas svg").first).to_be_visible(timeout=15_000)
    assert_accessible(page)

    page.get_by_role("link", name="A national recruitment drive for mental health nurses"
                     ).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "A national recruitment drive for mental health nurses")
    expect(page.locator(".govuk-warning-text").last).to_contain_text("has not been given")
    assert_accessible(page)

    page.goto(f"{live_server.url}{TRACKER}")
    page.get_by_role("link", name="First meeting").click()
    expect(page.locator(".mb-council-minutes")).to_contain_text("first meeting")
    assert_accessible(page)


def test_the_secretary_records_and_the_editor_responds(page: Page,
                                                       live_server: LiveServer) -> None:
    sign_in(page, live_server, "secretary@example.org")
    page.goto(f"{live_server.url}{TRACKER}/manage")
    expect(page.get_by_role("heading", level=1)).to_have_text("Manage the council")
    assert_accessible(page)
    page.goto(f"{live_server.url}{TRACKER}/meetings/new")
    assert_accessible(page)

    page.goto(f"{live_server.url}{TRACKER}/recommendations/new")
    assert_accessible(page)
    page.get_by_role("button", name="Save the recommendation").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Enter title")
    assert_accessible(page)
    page.get_by_label("Title").fill("Publish the mental health workforce plan")
    page.get_by_label("The recommendation, as the council made it").fill(
        "Publish the workforce plan for mental health before the spring stocktake.")
    page.get_by_label("Made at", exact=True).select_option(
        label="Second meeting, 15 September 2026")
    page.get_by_role("button", name="Save the recommendation").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("recorded")
    url = page.url
    assert "/recommendations/" in url

    page.goto(f"{live_server.url}/sign-out")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, "editor@example.org")
    page.goto(f"{url}/respond")
    assert_accessible(page)
    page.get_by_label("Rejected").check()
    page.get_by_label("The response", exact=True).fill("The plan will follow the budget.")
    page.get_by_role("button", name="Save the response").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("say why it was rejected")
    assert_accessible(page)
    page.get_by_label("Reason (needed unless accepted in full)").fill(
        "The plan depends on the spending review.")
    page.get_by_role("button", name="Save the response").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("rejected")
    expect(page.locator("#response ~ dl")).to_contain_text("Rejected")
    assert_accessible(page)
