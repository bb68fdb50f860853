"""Volunteering in a real headless Chromium, with axe-core on every page: a citizen finds an
opportunity near a postcode, signs up (the form shows its errors first), follows the private
link from their email to log hours and withdraws; an administrator's form to post an
opportunity shows its errors, and they confirm a volunteer's hours; the public counts draw
their chart over the table."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from missionboard.db.session import create_session_factory, unit_of_work
from missionboard.mail import OutboxMessage
from tests.browser.conftest import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser

SLUG = "leeds-home-from-hospital"
TITLE = "Home from hospital: settling people back in"
EMAIL = "browser.volunteer@example.org"


def _private_link(server: LiveServer) -> str:
    with unit_of_work(create_session_factory(server.engine)) as session:
        body = session.scalars(select(OutboxMessage.body).where(
            OutboxMessage.to_address == EMAIL).order_by(OutboxMessage.id.desc())).first()
    assert body is not None, "no email was queued"
    found = re.search(r"/volunteer/manage/[A-Za-z0-9_-]+", body)
    assert found, body
    return found.group(0)


def test_a_citizen_finds_signs_up_logs_hours_and_withdraws(page: Page,
                                                            live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/volunteer")
    assert_accessible(page)
    page.get_by_label("Your postcode").fill("ls1 4ap")
    page.get_by_label("Within").select_option("10")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results")).to_contain_text("within 10 miles (16 km) of LS1")
    expect(page.locator(".govuk-summary-card").first).to_contain_text(TITLE)
    assert_accessible(page)
    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("#places")).to_contain_text("places left")
    assert_accessible(page)

    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign up to volunteer")
    assert_accessible(page)
    page.wait_for_timeout(3200)  # people take more than three seconds to fill the form in
    page.get_by_role("button", name="Sign up").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Enter your full name")
    expect(summary).to_contain_text("criminal-records check")
    assert_accessible(page)
    page.get_by_label("Full name").fill("Browser Volunteer")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("I am 18 or over").check()
    page.get_by_label("I understand that I need this check before I start").check()
    page.get_by_label("I agree to my details being kept for this").check()
    page.get_by_label(re.compile("contacting me about this opportunity")).check()
    page.wait_for_timeout(3200)
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator(".govuk-panel__title")).to_have_text("Thank you for signing up")
    assert_accessible(page)

    page.goto(f"{live_server.url}{_private_link(live_server)}")
    expect(page.locator("#status")).to_have_text("You have a place")
    assert_accessible(page)
    page.get_by_label("Hours").fill("2.5")
    page.get_by_label("What you did (optional)").fill("Settled a neighbour back home")
    page.get_by_role("button", name="Log hours").click()
    expect(page.locator("#your-hours + table")).to_contain_text(
        "Waiting for the organiser")
    assert_accessible(page)
    page.get_by_role("button", name="Withdraw").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Tick the box to confirm")
    assert_accessible(page)
    page.get_by_label("I want to withdraw and have my details deleted").check()
    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You have withdrawn")
    assert_accessible(page)


def test_an_organiser_posts_and_confirms_hours(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/volunteer/organise")
    expect(page.get_by_role("heading", level=1)).to_have_text("Organise volunteering")
    assert_accessible(page)
    page.goto(f"{live_server.url}/volunteer/opportunities/{SLUG}/manage")
    expect(page.locator(".govuk-warning-text", has_text="Personal data")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{live_server.url}/missions/nhs/volunteering/new")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Post a volunteering opportunity")
    assert_accessible(page)
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter title")
    assert_accessible(page)
    page.goto(f"{live_server.url}/volunteer/opportunities/{SLUG}/manage")
    pending = page.locator("#hours + table button", has_text="Confirm")
    count = pending.count()
    assert count > 0
    pending.first.click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("hours confirmed")
    expect(page.locator("#hours")).to_have_text(f"Hours to confirm ({count - 1})")
    assert_accessible(page)


def test_the_public_counts_have_a_chart_and_a_table(page: Page, live_server: LiveServer
                                                    ) -> None:
    page.goto(f"{live_server.url}/volunteer/impact")
    expect(page.locator(".mb-chart__canvas svg").first).to_be_visible(timeout=15_000)
    expect(page.locator("#by-mission")).to_have_text("By mission")
    expect(page.locator("table").first).to_contain_text("Build an NHS fit for the future")
    assert_accessible(page)
