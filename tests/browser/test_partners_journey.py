"""Partners in a real headless Chromium, with axe-core on every page: the public reads what
partners pledged to a mission (the tile map drawn over its table), filters the register and
opens a lapsed commitment; a partner's staff report progress (the form's errors first); an
organisation registers, and an administrator follows its link from the outbox and moderates
a commitment."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser


def test_the_public_reads_what_partners_pledged(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/missions/nhs")
    section = page.locator("#partners")
    expect(section).to_have_text("What partners have pledged and delivered")
    expect(page.locator("[data-vega-spec='partner-map-spec'] svg.marks")).to_be_visible(
        timeout=15_000)
    assert_accessible(page)
    page.get_by_role("link", name="The mission’s commitments in the register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Partners’ commitments")
    page.goto(f"{live_server.url}/commitments")
    page.get_by_label("Status").select_option("lapsed")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"status=lapsed"))
    expect(page.locator("#results")).to_contain_text("commitment")
    assert_accessible(page)
    page.get_by_role("link", name="Electrify 400 delivery vans").click()
    expect(page.locator(".govuk-tag", has_text="Lapsed").first).to_be_visible()
    expect(page.locator("[data-vega-spec='progress-spec'] svg.marks")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Illustrative:").first).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Greenway Logistics Ltd").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Greenway Logistics Ltd")
    assert_accessible(page)


def test_a_partners_staff_report_progress(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "partner@example.org")
    page.goto(f"{live_server.url}/partners/mine")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Northbridge Housing Association")
    assert_accessible(page)
    page.get_by_role("link", name="Report progress on Fit solar panels to 2,000 tenants' "
                                  "homes").click()
    assert_accessible(page)
    page.get_by_label("Homes fitted at the end of the period").fill("")
    page.get_by_role("button", name="Publish the report").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Enter the homes fitted at the end of the period")
    expect(summary).to_contain_text("Enter narrative")
    assert_accessible(page)
    page.get_by_label("Homes fitted at the end of the period").fill("420")
    page.get_by_label("What was done").fill("Second phase of fitting")
    page.get_by_role("button", name="Publish the report").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Your progress report is published")
    expect(page.locator("#reports")).to_be_visible()
    expect(page.get_by_text("Second phase of fitting")).to_be_visible()
    assert_accessible(page)


def test_an_organisation_registers_and_is_moderated(page: Page,
                                                    live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/partners/register")
    assert_accessible(page)
    page.get_by_role("button", name="Register the organisation").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Name of the organisation").fill("Riverside Food Bank")
    page.get_by_label("Charity", exact=True).check()
    page.get_by_label("Main sector").select_option("community")
    page.get_by_label("Small (10 to 49 staff)").check()
    page.get_by_label("Email domain (optional)").fill("riverside-foodbank.example")
    page.get_by_label("Registered charity number (optional)").fill("1188776")
    page.get_by_label("North West").check()
    page.get_by_label("Your full name").fill("Rowan Applicant")
    page.get_by_label("Your work email address").fill("rowan@riverside-foodbank.example")
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_role("button", name="Register the organisation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Riverside Food Bank")
    expect(page.locator(".govuk-warning-text").first).to_contain_text("Follow the link")
    assert_accessible(page)

    # The administrator finds the link in the outbox; the applicant follows it.
    admin = page.context.browser.new_context()  # type: ignore[union-attr]
    admin_page = admin.new_page()
    sign_in(admin_page, live_server)
    admin_page.goto(f"{live_server.url}/admin/outbox")
    expect(admin_page.get_by_role("heading", level=1)).to_have_text("Email outbox")
    assert_accessible(admin_page)
    link = admin_page.locator(".govuk-summary-card", has_text="Riverside Food Bank").first \
        .get_by_role("link").first.get_attribute("href")
    assert link is not None
    page.goto(link)
    assert_accessible(page)
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "you are verified as staff of Riverside Food Bank")
    expect(page.get_by_role("link", name="Make a commitment")).to_be_visible()

    # A moderator approves a commitment awaiting a decision.
    admin_page.goto(f"{live_server.url}/partners/moderation")
    expect(admin_page.locator("#partners")).to_contain_text("New organisations")
    assert_accessible(admin_page)
    admin_page.get_by_role("link", name="Mentor 100 first-time exporters").click()
    admin_page.get_by_label("Approve: make it public").check()
    admin_page.get_by_role("button", name="Save the decision").click()
    expect(admin_page.locator(".govuk-notification-banner")).to_contain_text("approved")
    assert_accessible(admin_page)
    admin.close()
