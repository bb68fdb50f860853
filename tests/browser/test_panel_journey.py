"""A citizens' panel in a real headless Chromium, with axe-core on every page: a volunteer
registers with the code from their letter; an organiser commits the draw, the commitment is
public before the draw, then the organiser draws and the public reads the report."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from missionboard.db.session import create_session_factory, unit_of_work
from missionboard.missions.models import Mission
from missionboard.panels import published, service
from missionboard.panels.models import Panel
from tests.browser.conftest import LiveServer, assert_accessible, sign_in
from tests.panels import builders

pytestmark = pytest.mark.browser


def _setup(server: LiveServer, slug: str, *, closed: bool) -> str:
    """A panel on the demo's NHS mission: with its pool closed, or open with a free code."""
    with unit_of_work(create_session_factory(server.engine)) as session:
        if session.scalar(select(Mission.id).join(
                Panel, Panel.mission_id == Mission.id).where(
                Panel.slug == slug)) is not None:
            panel = service.get_panel(session, slug=slug, include_drafts=True)
            return builders.codes(session, panel)[-1]
        nhs = session.scalars(select(Mission).where(Mission.slug == "nhs")).one()
        if closed:
            panel = builders.with_pool(session, nhs, slug=slug, volunteers=40, size=8)
        else:
            panel = builders.recruiting(session, nhs, slug=slug)
        return builders.codes(session, panel)[-1]


def test_a_volunteer_registers_with_their_code(page: Page, live_server: LiveServer) -> None:
    code = _setup(live_server, "browser-open-panel", closed=False)
    page.goto(f"{live_server.url}/panels/browser-open-panel")
    assert_accessible(page)
    page.get_by_role("link", name="Register with your invitation code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register for the citizens’ panel")
    page.get_by_role("button", name="Register").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter the code from your invitation letter")
    expect(summary).to_contain_text("Tick the box")
    assert_accessible(page)
    page.get_by_label("Invitation code").fill(code)
    page.get_by_label("Full name").fill("Browser Volunteer")
    page.get_by_label("Email address").fill("browser@example.org")
    rng = random.Random(4)
    for name, value in builders.answers(rng).items():
        page.locator(f"input[name='{name}'][value='{value}']").check()
    page.get_by_label("I agree to my details being used in this way").check()
    page.get_by_role("button", name="Register").click()
    expect(page.locator(".govuk-panel")).to_contain_text("Your pseudonym is")
    assert_accessible(page)


def test_an_organiser_commits_then_draws_and_the_public_checks(
        page: Page, live_server: LiveServer) -> None:
    _setup(live_server, "browser-panel", closed=True)
    sign_in(page, live_server, "editor@example.org")
    page.goto(f"{live_server.url}/panels/browser-panel/manage")
    expect(page.get_by_role("heading", name="The draw")).to_be_visible()
    assert_accessible(page)
    seed = 123456789012
    page.get_by_label("We do: we enter only its SHA-256 now").check()
    page.get_by_label("SHA-256 of your seed").fill(published.seed_commitment(seed))
    page.get_by_label("How the seed is made").fill("Dice rolled by the browser test")
    page.get_by_role("button", name="Commit the draw").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("committed")

    public = page.context.new_page()
    public.goto(f"{live_server.url}/panels/browser-panel")
    expect(public.locator("#commitment")).to_contain_text("The next draw is committed")
    expect(public.locator("main")).to_contain_text(published.seed_commitment(seed))
    expect(public.locator("main")).to_contain_text("Not revealed until the draw")
    assert_accessible(public)

    page.get_by_label("The seed").fill(str(seed + 1))
    page.get_by_role("button", name="Reveal the seed and draw").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "does not match the published commitment")
    assert_accessible(page)
    page.get_by_label("The seed").fill(str(seed))
    page.get_by_role("button", name="Reveal the seed and draw").click()
    page.wait_for_url(re.compile(r".*/panels/browser-panel/selection#run-1"))
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Drawn: 8 members")

    public.goto(f"{live_server.url}/panels/browser-panel/selection")
    expect(public.get_by_role("heading", level=1)).to_have_text("How the panel was selected")
    expect(public.locator(".mb-chart__canvas svg").first).to_be_visible(timeout=15_000)
    expect(public.locator("main")).to_contain_text("smallest chance under the legacy method")
    expect(public.locator("main")).to_contain_text(f"--seed {seed}")
    expect(public.locator("main")).not_to_contain_text("Ada Volunteer")
    assert_accessible(public)
    public.goto(f"{live_server.url}/panels/nhs-waiting-lists-panel")
    expect(public.locator("#recommendations")).to_be_visible()
    assert_accessible(public)
