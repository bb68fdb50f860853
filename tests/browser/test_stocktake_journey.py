"""Prepare a stocktake pack, record a judgement and actions, see them at the next stocktake:
in a real headless Chromium, with axe-core on every page visited."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser

MISSION = "/missions/safer-streets"


def _schedule(page: Page, server: LiveServer, *, title: str, meeting: str, as_of: str) -> None:
    page.goto(server.url + MISSION + "/stocktakes")
    page.get_by_role("button", name="Schedule a stocktake").click()
    assert_accessible(page)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Date of the meeting").fill(meeting)
    page.get_by_label("Data as of").fill(as_of)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def _judge(page: Page, overall: str) -> None:
    for fieldset in page.locator("fieldset").all():
        fieldset.locator("input[type=radio]").first.check()
    for reason in page.get_by_label("Reason", exact=True).all():
        reason.fill("Browser test reason")
    page.get_by_role("group", name="Overall: the likelihood of delivery").get_by_label(
        overall, exact=True).check()
    page.get_by_label("Reason for the overall judgement").fill(
        f"Browser test: {overall} because the trajectory needs more")


def test_prepare_a_pack_judge_act_then_see_it_at_the_next_stocktake(
    page: Page, live_server: LiveServer
) -> None:
    sign_in(page, live_server)
    _schedule(page, live_server, title="Browser stocktake one", meeting="2026-12-02",
              as_of="2026-11-25")
    expect(page.locator(".mb-pack-state")).to_contain_text("Draft")
    expect(page.locator(".mb-headline tbody tr").first).to_be_visible()
    expect(page.locator(".mb-chart__canvas svg").first).to_be_visible(timeout=15_000)
    assert_accessible(page)

    page.get_by_role("button", name="Issue the pack").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Pack issued")
    expect(page.locator(".mb-digest")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    with page.expect_download() as info:
        page.evaluate("""() => { const a = document.createElement('a');
            a.href = location.pathname + '/pack.pdf'; a.download = 'pack.pdf';
            document.body.appendChild(a); a.click(); }""")
    assert info.value.path().read_bytes().startswith(b"%PDF")

    page.get_by_role("link", name="Record the judgement").click()
    assert_accessible(page)
    page.get_by_role("button", name="Record the judgement").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose the overall")
    assert_accessible(page)
    _judge(page, "Amber-red")
    page.get_by_role("button", name="Record the judgement").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Judgement recorded")
    expect(page.locator(".mb-judgement")).to_contain_text("Browser test reason")

    page.get_by_label("Add a decision").fill("Browser test: double the patrols pilot")
    page.get_by_role("button", name="Add the decision").click()
    page.get_by_label("What will be done").fill("Browser test: report on patrol numbers")
    page.get_by_label("Owner").fill("Home Office")
    page.get_by_label("Due by").fill("2027-01-15")
    page.get_by_role("button", name="Add the action").click()
    expect(page.locator(".mb-actions")).to_contain_text("Browser test: report on patrol")
    assert_accessible(page)

    _schedule(page, live_server, title="Browser stocktake two", meeting="2027-02-03",
              as_of="2027-01-27")
    last = page.locator(".mb-last-actions")
    expect(last).to_contain_text("Browser test: report on patrol numbers")
    expect(last).to_contain_text("Overdue")  # still open after its date of 15 January
    expect(page.locator(".govuk-inset-text")).to_contain_text("Amber-red")
    assert_accessible(page)

    page.get_by_role("link", name="Stocktakes", exact=True).click()
    timeline = page.locator("#judgements ~ table").first
    expect(timeline).to_contain_text("Amber-red")
    expect(page.locator(".mb-chart__canvas svg").first).to_be_visible(timeout=15_000)
    assert_accessible(page)
