"""Trials in a real headless Chromium, with axe-core on every page: the public goes from a
mission to what works, reads the demo trial's results (the forest plot drawn over its table,
the padlocks) and the adoption of what it tested; an editor's evidence form re-displays its
errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from missionboard.trials import adoption_demo, demo
from tests.browser.conftest import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser


def test_the_public_follows_the_evidence(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/missions/{demo.MISSION}")
    page.get_by_role("link", name="What works: the findings of the mission’s trials").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("What works")
    assert_accessible(page)
    card = page.locator(".govuk-summary-card", has_text="Early language programme")
    expect(card).to_contain_text("of 5 padlocks")
    card.get_by_role("link", name="Early language programme in reception classes "
                                  "(illustrative)").first.click()
    expect(page).to_have_url(f"{live_server.url}/trials/{demo.SLUG}/results")
    expect(page.locator("#headline")).to_be_visible()
    expect(page.locator("#security")).to_contain_text("of 5 padlocks")
    expect(page.locator(".mb-chart__canvas svg").first).to_be_visible(timeout=15_000)
    assert_accessible(page)
    page.goto(f"{live_server.url}/adoption/{adoption_demo.SLUG}")
    expect(page.locator(".mb-chart__canvas svg").first).to_be_visible(timeout=15_000)
    expect(page.locator("#not-adopting")).to_contain_text("not adopting")
    assert_accessible(page)


def test_the_evidence_form_shows_its_errors(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/trials/{demo.SLUG}/results/evidence")
    assert_accessible(page)
    page.get_by_label("Conversion factor").fill("not a number")
    page.get_by_role("button", name="Use this result as the evidence").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("factor", ignore_case=True)
    assert_accessible(page)
