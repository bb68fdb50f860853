"""Taking part in the demo conversation, reading its report and moderating it, in a real
headless Chromium (with and without JavaScript), with axe-core on every page."""

from __future__ import annotations

import re
import zipfile

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser

STATEMENT = "Browser test: community pharmacies should open on Sundays."


def test_join_vote_write_and_read_the_report(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/missions/nhs")
    page.get_by_role("link", name="Cutting waiting lists").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cutting waiting lists")
    progress = page.locator("#progress")
    expect(progress).to_contain_text("You have voted on 0 of")
    expect(page.locator(".mb-last-run")).to_contain_text("Groups last worked out")
    assert_accessible(page)
    first = page.locator(".mb-statement").inner_text()
    page.get_by_role("button", name="Agree", exact=True).click()
    expect(progress).to_contain_text("You have voted on 1 of")
    assert page.locator(".mb-statement").inner_text() != first
    page.get_by_role("button", name="Disagree").click()
    expect(progress).to_contain_text("You have voted on 2 of")
    page.get_by_role("button", name="Pass or unsure").click()
    expect(progress).to_contain_text("You have voted on 3 of")
    assert_accessible(page)

    page.get_by_label("Your statement").fill(STATEMENT)
    page.get_by_role("button", name="Add statement").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("with the moderators")
    expect(page.locator("#write")).to_contain_text("Waiting for moderation")

    page.get_by_role("link", name="Read the full report and download the data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cutting waiting lists")
    expect(page.locator(".mb-chart__canvas svg").first).to_be_visible(timeout=15_000)
    expect(page.get_by_role("heading", name="Common ground")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Group A")
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Every vote, statement and group")).click()
    path = download.value.path()
    with zipfile.ZipFile(path) as archive:
        names = sorted(n.rsplit("/", 1)[-1] for n in archive.namelist())
    assert names == ["comments.csv", "participants-votes.csv", "summary.csv", "votes.csv"]

    page.goto(live_server.url + "/conversations/waiting-lists/moderation")
    expect(page.locator("main")).to_contain_text("Advertising.")
    assert_accessible(page)


def test_a_moderator_accepts_a_statement_and_recomputes(page: Page,
                                                        live_server: LiveServer) -> None:
    sign_in(page, live_server, "editor@example.org")
    page.goto(live_server.url + "/conversations/waiting-lists/manage")
    expect(page.locator("#queue")).to_contain_text("Moderation queue")
    card = page.locator(".govuk-summary-card", has_text="published every single month")
    expect(card).to_contain_text("Possible repeat of")
    assert_accessible(page)
    card.get_by_label("Reject", exact=True).check()
    card.get_by_role("button", name=re.compile("Record decision")).click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Give the reason")
    card = page.locator(".govuk-summary-card", has_text="published every single month")
    card.get_by_label("Reject", exact=True).check()
    card.get_by_role("textbox").fill("Repeats statement 3.")
    card.get_by_role("button", name=re.compile("Record decision")).click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("rejected")
    page.get_by_role("button", name="Recompute now").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Analysed")
    assert_accessible(page)


def test_voting_works_without_javascript(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/conversations/waiting-lists")
        expect(page.locator("#progress")).to_contain_text("You have voted on 0 of")
        page.get_by_role("button", name="Agree", exact=True).click()
        expect(page.locator("#progress")).to_contain_text("You have voted on 1 of")
        page.get_by_role("button", name="Pass or unsure").click()
        expect(page.locator("#progress")).to_contain_text("You have voted on 2 of")
    finally:
        context.close()
