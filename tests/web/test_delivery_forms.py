"""The forms that create and edit interventions, plan items, delivery chains and overlaps,
and the public record of changes to a published mission's, driven through HTTP on both
databases."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry
from missionboard.delivery import service
from missionboard.delivery.models import ChainLink, Intervention, InterventionOverlap, PlanItem
from missionboard.delivery.schemas import InterventionIn, PlanItemIn
from missionboard.missions.models import ChangeRecord
from missionboard.missions.schemas import OrganisationIn
from missionboard.missions.service import create_organisation
from tests.factories import World
from tests.web.conftest import check_page, csrf_from, sign_in

MANAGE = "/manage/missions/published-mission/interventions"
PAGE = "/missions/published-mission/interventions"
DRAFT_MANAGE = "/manage/missions/draft-mission/interventions"


@pytest.fixture
def editor(client: TestClient, world: World, session: Session) -> str:
    """The mission's editor, signed in, with two organisations to choose from; the CSRF token."""
    for slug, name in (("dhsc", "Department of Health"), ("nhse", "NHS England")):
        create_organisation(session, data=OrganisationIn(slug=slug, name=name,
                                                         kind="central_department"))
    session.commit()
    sign_in(client, world.editor)
    return csrf_from(client.get("/sign-in").text)


def _form(world: World, **changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "slug": "more-scanners", "title": "More diagnostic scanners", "owner_slug": "dhsc",
        "contributor_slugs": ["nhse"], "status": "in_delivery", "start": "2025-01-01",
        "lag_months": "0", "ramp": "linear", "ramp_months": "6", "persistence": "permanent",
        "evidence_kind": "pilot_trial", "evidence_strength": "moderate",
        "evidence_reference": "Pilot in three trusts",
        "budgets.0.year": "", "budgets.0.amount": "",
        "budgets.1.year": "2025", "budgets.1.amount": "1,500,000",
        "effects.0.metric_slug": world.metric.slug, "effects.0.area_code": "E92000001",
        "effects.0.distribution": "normal", "effects.0.central": "5", "effects.0.low": "2",
        "effects.0.high": "8", "effects.0.interval_level": "80",
    }
    form.update(changes)
    return form


def _count(session: Session, model: type[Any]) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _saved(session: Session, world: World, slug: str = "more-scanners") -> Intervention:
    session.expire_all()
    return service.get_intervention(session, mission=world.mission, slug=slug)


def _intervention(session: Session, world: World, slug: str) -> Intervention:
    saved = service.save_intervention(session, mission=world.mission, data=InterventionIn(
        slug=slug, title=f"Intervention {slug}", start=dt.date(2025, 1, 1),
        evidence_kind="pilot_trial", evidence_strength="moderate"))
    session.commit()
    return saved


class _FormFields(HTMLParser):
    """The fields a browser would submit from the form posting to ``action``."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside = action, False
        self.fields: dict[str, Any] = {}
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside or a.get("name") == "csrf_token":
            return
        if tag == "input" and a.get("type") == "checkbox":
            if "checked" in a:
                self.fields.setdefault(a["name"], []).append(a["value"])
        elif tag == "input" and (a.get("type") != "radio" or "checked" in a):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select = a["name"]
            self.fields[self.select] = ""
        elif tag == "option" and self.select and "selected" in a:
            self.fields[self.select] = a["value"]
        elif tag == "textarea":
            self.textarea = a["name"]
            self.fields[self.textarea] = ""

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def _fields(html: str, action: str) -> dict[str, Any]:
    parser = _FormFields(action)
    parser.feed(html)
    return {k: v.removeprefix("\n") if isinstance(v, str) else v
            for k, v in parser.fields.items()}


def _public(client: TestClient) -> TestClient:
    """A visitor who is not signed in."""
    return TestClient(client.app, base_url="https://testserver")


def _history(html: str) -> str:
    """The page's record of changes."""
    return html.split('id="changes"')[1]


def _chance(html: str) -> float:
    found = re.search(r"Chance of meeting the target</dt>"
                      r"<dd class=\"govuk-summary-list__value\"><strong>([\d.]+)%", html)
    assert found, "the metric page shows no chance of meeting the target"
    return float(found.group(1))


# Interventions ---------------------------------------------------------------------------

def test_create_an_intervention_and_see_it_with_its_estimate(
    client: TestClient, world: World, session: Session, editor: str
) -> None:
    page = check_page(client.get(PAGE))
    assert f'href="{MANAGE}/new"' in page
    form = check_page(client.get(f"{MANAGE}/new"))
    assert "50% of the estimate is counted by default" in form  # pilot trial
    assert "16% of the estimate is counted by default" in form  # academic trial
    assert "An override needs a reason" in form

    response = client.post(f"{MANAGE}/new", data={**_form(world), "csrf_token": editor})
    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"] == f"{PAGE}#intervention-more-scanners"

    html = check_page(client.get(PAGE))
    assert "Intervention ‘More diagnostic scanners’ added." in html
    assert "Department of Health, with NHS England" in html
    assert "£1,500,000 in 2025-26" in html
    assert "2 to 8 (80%, normal)" in html
    assert ">2.5<" in html  # 5 counted at 50% for a pilot trial
    saved = _saved(session, world)
    assert [(b.year, b.amount) for b in saved.budgets] == [(2025, 1_500_000)]
    assert (saved.ramp.value, saved.ramp_months, saved.status.value) == (
        "linear", 6, "in_delivery")


def test_an_effect_entered_in_the_form_moves_the_trajectory(
    client: TestClient, world: World, editor: str
) -> None:
    before = check_page(client.get(f"/metrics/{world.metric.slug}"))
    assert _chance(before) == 0  # flat at 60 with nothing to reach 90
    response = client.post(f"{MANAGE}/new", data={**_form(
        world, **{"evidence_kind": "at_scale_evaluation", "ramp": "step", "ramp_months": "0",
                  "effects.0.central": "40", "effects.0.low": "36", "effects.0.high": "44"}),
        "csrf_token": editor})
    assert response.status_code == 303, response.text[:2000]
    after = check_page(client.get(f"/metrics/{world.metric.slug}"))
    assert _chance(after) > 95
    assert "More diagnostic scanners</a>" in after  # in the contributions table


@pytest.mark.parametrize("case", [
    ({"effects.0.low": "9", "effects.0.high": "3"}, "effects.0",
     "Effect 1: the estimate must have low ≤ central ≤ high"),
    ({"optimism_override": "30"}, "optimism_override_reason",
     "overriding the optimism adjustment needs a reason"),
    ({"optimism_override": "250", "optimism_override_reason": "Because"}, "optimism_override",
     "Enter the share to count as a percentage above 0 and up to 200"),
    ({"owner_slug": "no-such-body"}, "owner_slug", "There is no organisation"),
    ({"contributor_slugs": ["nhse", "no-such-body"]}, "contributor_slugs",
     "There is no organisation"),
    ({"effects.0.metric_slug": "draft-metric"}, "effects.0.metric_slug",
     "Effect 1: choose a metric"),
    ({"effects.0.central": "a lot"}, "effects.0.central",
     "Effect 1: enter the central estimate as a number"),
    ({"budgets.2.year": "2025", "budgets.2.amount": "10"}, "budgets.1.year",
     "Budget 2: 2025 is given twice"),
    ({"ramp_months": "0"}, "ramp_months", "a gradual ramp-up needs its length in months"),
    ({"persistence": "decay"}, "half_life_months", "needs a half-life in months"),
    ({"start": ""}, "start", "Enter start"),
])
def test_invalid_input_is_shown_with_the_field_and_nothing_is_saved(
    client: TestClient, world: World, session: Session, editor: str,
    case: tuple[dict[str, Any], str, str]
) -> None:
    changes, field, message = case
    audit = _count(session, AuditEntry)
    response = client.post(f"{MANAGE}/new", data={**_form(world, **changes),
                                                  "csrf_token": editor})
    html = check_page(response, status=422)
    assert "There is a problem" in html
    assert f'href="#{field}"' in html
    assert f'id="{field}"' in html
    assert message in html
    assert 'value="More diagnostic scanners"' in html  # what was typed is kept
    assert _count(session, Intervention) == 0
    assert _count(session, AuditEntry) == audit


def test_a_slug_already_used_is_refused(
    client: TestClient, world: World, session: Session, editor: str
) -> None:
    _intervention(session, world, "more-scanners")
    audit = _count(session, AuditEntry)
    html = check_page(client.post(f"{MANAGE}/new", data={**_form(world), "csrf_token": editor}),
                      status=422)
    assert 'href="#slug"' in html
    assert "is already used" in html
    assert _count(session, Intervention) == 1
    assert _count(session, AuditEntry) == audit


def test_editing_keeps_the_fields_not_changed(
    client: TestClient, world: World, session: Session, editor: str
) -> None:
    client.post(f"{MANAGE}/new", data={**_form(
        world, optimism_override="30", optimism_override_reason="Scaled nationally in Wales",
        persistence="decay", half_life_months="18"), "csrf_token": editor})
    action = f"{MANAGE}/more-scanners/edit"
    before = _fields(check_page(client.get(action)), action)
    assert before["budgets.0.amount"] == "1500000"
    assert before["effects.0.interval_level"] == "80"
    assert before["optimism_override"] == "30"
    assert before["contributor_slugs"] == ["nhse"]

    response = client.post(action, data={**before, "title": "Scanners, renamed",
                                         "csrf_token": editor})
    assert response.status_code == 303, response.text[:2000]
    after = _fields(check_page(client.get(action)), action)
    assert after == {**before, "title": "Scanners, renamed"}
    saved = _saved(session, world)
    assert saved.slug == "more-scanners"
    assert (saved.optimism_override, saved.half_life_months) == (0.3, 18)
    assert [(e.central, e.low, e.high) for e in saved.effects] == [(5, 2, 8)]


def test_editing_cannot_change_the_slug(
    client: TestClient, world: World, session: Session, editor: str
) -> None:
    _intervention(session, world, "more-scanners")
    response = client.post(f"{MANAGE}/more-scanners/edit",
                           data={**_form(world, slug="renamed"), "reason": "Estimated",
                                 "csrf_token": editor})
    assert response.status_code == 303
    assert _saved(session, world).title == "More diagnostic scanners"


def test_a_published_estimate_changes_only_with_a_reason_shown_publicly(
    client: TestClient, world: World, session: Session, editor: str
) -> None:
    new_form = check_page(client.get(f"{MANAGE}/new"))
    assert "Reason for adding it (optional)" in new_form
    response = client.post(f"{MANAGE}/new", data={**_form(world), "csrf_token": editor})
    assert response.status_code == 303, response.text[:2000]
    action = f"{MANAGE}/more-scanners/edit"
    form = check_page(client.get(action))
    assert "This mission is published" in form
    fields = _fields(form, action)
    assert fields["reason"] == ""
    records, audit = _count(session, ChangeRecord), _count(session, AuditEntry)

    changed = {**fields, "effects.0.central": "7", "effects.0.low": "3", "effects.0.high": "9"}
    html = check_page(client.post(action, data={**changed, "csrf_token": editor}), status=422)
    assert "There is a problem" in html
    assert 'href="#reason"' in html
    assert "Give a reason for this change: it is shown publicly with the change" in html
    assert 'value="7"' in html  # what was typed is kept
    assert [(e.central, e.low, e.high) for e in _saved(session, world).effects] == [(5, 2, 8)]
    assert (_count(session, ChangeRecord), _count(session, AuditEntry)) == (records, audit)

    response = client.post(action, data={**changed, "reason": "Final evaluation of the pilot",
                                         "csrf_token": editor})
    assert response.status_code == 303, response.text[:2000]
    old = "published-metric E92000001 normal 5 [2, 8] at 80%"
    new = "published-metric E92000001 normal 7 [3, 9] at 80%"
    public = _public(client)
    for page in (f"/missions/{world.mission.slug}", PAGE, f"/metrics/{world.metric.slug}"):
        history = _history(check_page(public.get(page)))
        assert f"from <strong>{old}</strong> to <strong>{new}</strong>" in history, page
        assert "Final evaluation of the pilot" in history
        assert world.editor.name in history
        if page != PAGE:  # the interventions page has a column for the intervention
            assert "Intervention ‘More diagnostic scanners’ effects" in history, page
    history = _history(check_page(public.get(PAGE)))
    assert "<strong>More diagnostic scanners</strong>, for" in history
    assert "Added; no reason given" in history  # the addition, with no reason needed
    items = public.get("/api/v1/changes").json()["items"]
    (item,) = [i for i in items if i["reason"] == "Final evaluation of the pilot"]
    assert (item["entity_type"], item["mission"], item["metric"]) == (
        "intervention", "published-mission", "published-metric")
    assert item["fields"] == {"effects": {"old": old, "new": new}}


def test_on_a_draft_mission_changes_need_no_reason(
    client: TestClient, world: World, session: Session, editor: str
) -> None:
    form = _form(world, **{"effects.0.metric_slug": world.draft_metric.slug})
    assert 'name="reason"' not in check_page(client.get(f"{DRAFT_MANAGE}/new"))
    response = client.post(f"{DRAFT_MANAGE}/new", data={**form, "csrf_token": editor})
    assert response.status_code == 303, response.text[:2000]
    action = f"{DRAFT_MANAGE}/more-scanners/edit"
    page = check_page(client.get(action))
    assert 'name="reason"' not in page
    assert "This mission is published" not in page
    response = client.post(action, data={**form, "start": "2026-01-01",
                                         "effects.0.central": "7", "csrf_token": editor})
    assert response.status_code == 303, response.text[:2000]
    session.expire_all()
    saved = service.get_intervention(session, mission=world.draft_mission, slug="more-scanners")
    assert (saved.start, [e.central for e in saved.effects]) == (dt.date(2026, 1, 1), [7])

    service.save_intervention(session, mission=world.draft_mission, data=InterventionIn(
        slug="other", title="Other", start=dt.date(2025, 1, 1), evidence_kind="pilot_trial",
        evidence_strength="moderate"))
    session.commit()
    base = f"{DRAFT_MANAGE}/more-scanners/overlaps"
    response = client.post(base, data={"second": "other", "kind": "shared",
                                       "shared_fraction": "30", "csrf_token": editor})
    assert response.status_code == 303, response.text[:2000]
    assert f'action="{base}/other/remove"' in check_page(client.get(base))  # one click
    for path, data in ((f"{base}/other/edit", {"kind": "shared", "shared_fraction": "40"}),
                       (f"{base}/other/remove", {})):
        response = client.post(path, data={**data, "csrf_token": editor})
        assert response.status_code == 303, response.text[:2000]
    assert _count(session, InterventionOverlap) == 0
    assert _count(session, ChangeRecord) == 0


# Plan items ------------------------------------------------------------------------------

def test_add_and_edit_a_plan_item(
    client: TestClient, world: World, session: Session, editor: str
) -> None:
    _intervention(session, world, "more-scanners")
    check_page(client.get(f"{MANAGE}/more-scanners/plan/new"))
    response = client.post(f"{MANAGE}/more-scanners/plan/new", data={
        "kind": "milestone", "title": "First centre open", "owner": "NHS England",
        "due": "2030-06-30", "status": "not_started", "csrf_token": editor})
    assert response.status_code == 303, response.text[:2000]
    item = session.scalars(select(PlanItem)).one()
    page = check_page(client.get(PAGE))
    assert "First centre open" in page
    assert f'href="{MANAGE}/more-scanners/plan/{item.id}/edit"' in page

    action = f"{MANAGE}/more-scanners/plan/{item.id}/edit"
    fields = _fields(check_page(client.get(action)), action)
    assert fields == {"kind": "milestone", "title": "First centre open",
                      "owner": "NHS England", "due": "2030-06-30", "status": "not_started",
                      "completed_on": ""}
    html = check_page(client.post(action, data={**fields, "status": "done",
                                                "csrf_token": editor}), status=422)
    assert 'href="#completed_on"' in html
    assert "give the completion date exactly when the item is done" in html
    response = client.post(action, data={**fields, "status": "done",
                                         "completed_on": "2030-05-01", "csrf_token": editor})
    assert response.status_code == 303
    assert "done 1 May 2030" in check_page(client.get(PAGE))


def test_a_plan_item_with_missing_fields_is_refused(
    client: TestClient, world: World, session: Session, editor: str
) -> None:
    _intervention(session, world, "more-scanners")
    html = check_page(client.post(f"{MANAGE}/more-scanners/plan/new", data={
        "kind": "action", "title": " ", "owner": "", "due": "soon", "status": "not_started",
        "csrf_token": editor}), status=422)
    for field in ("title", "owner", "due"):
        assert f'href="#{field}"' in html
    assert _count(session, PlanItem) == 0


# Delivery chains -------------------------------------------------------------------------

def test_set_the_delivery_chain_in_order(
    client: TestClient, world: World, session: Session, editor: str
) -> None:
    _intervention(session, world, "more-scanners")
    action = f"{MANAGE}/more-scanners/chain"
    check_page(client.get(action))
    response = client.post(action, data={
        "chain.0.role": "Secretary of State", "chain.0.organisation_slug": "dhsc",
        "chain.1.role": "", "chain.1.organisation_slug": "",
        "chain.2.role": "Trusts run the scanners", "chain.2.organisation_slug": "",
        "csrf_token": editor})
    assert response.status_code == 303, response.text[:2000]
    page = check_page(client.get(PAGE))
    assert "<li>Secretary of State (Department of Health)</li><li>Trusts run the scanners</li>" \
        in page
    fields = _fields(check_page(client.get(action)), action)
    assert (fields["chain.0.role"], fields["chain.1.role"], fields["chain.2.role"]) == (
        "Secretary of State", "Trusts run the scanners", "")

    html = check_page(client.post(action, data={
        "chain.0.role": "Minister", "chain.1.organisation_slug": "nhse",
        "csrf_token": editor}), status=422)
    assert 'href="#chain.1.role"' in html
    assert "Link 2: enter role" in html
    html = check_page(client.post(action, data={
        "chain.0.role": "Minister", "chain.0.organisation_slug": "no-such-body",
        "csrf_token": editor}), status=422)
    assert 'href="#chain.0.organisation_slug"' in html
    assert [link.role for link in _saved(session, world).chain] == [
        "Secretary of State", "Trusts run the scanners"]

    response = client.post(action, data={"csrf_token": editor})
    assert response.status_code == 303
    assert _count(session, ChainLink) == 0


# Overlaps --------------------------------------------------------------------------------

def test_declare_change_and_remove_an_overlap(
    client: TestClient, world: World, session: Session, editor: str
) -> None:
    """On a published mission: declaring needs no reason; changing and removing do."""
    _intervention(session, world, "first")
    _intervention(session, world, "second")
    base = f"{MANAGE}/first/overlaps"
    assert f'href="{base}"' in check_page(client.get(PAGE))
    check_page(client.get(base))
    response = client.post(base, data={"second": "second", "kind": "shared",
                                       "shared_fraction": "30", "note": "Same patients",
                                       "csrf_token": editor})
    assert response.status_code == 303, response.text[:2000]
    html = check_page(client.get(base))
    assert "30% of the smaller effect counted twice" in html
    assert "Same patients" in html
    assert f'action="{base}/second/remove"' not in html  # removing needs a reason
    # The pair is the same from the other side.
    assert "30% of the smaller effect counted twice" in check_page(
        client.get(f"{MANAGE}/second/overlaps"))
    # Declaring it again replaces it: a change, which needs a reason.
    html = check_page(client.post(f"{MANAGE}/second/overlaps", data={
        "second": "first", "kind": "shared", "shared_fraction": "50", "csrf_token": editor}),
        status=422)
    assert 'href="#reason"' in html

    action = f"{base}/second/edit"
    page = check_page(client.get(action))
    assert "This mission is published" in page
    fields = _fields(page, action)
    assert (fields["kind"], fields["shared_fraction"], fields["reason"]) == ("shared", "30", "")
    records = _count(session, ChangeRecord)
    html = check_page(client.post(action, data={**fields, "kind": "interaction",
                                                "interaction": "0.8", "csrf_token": editor}),
                      status=422)
    assert "There is a problem" in html
    assert 'href="#reason"' in html
    assert 'value="0.8"' in html
    response = client.post(action, data={**fields, "kind": "interaction", "interaction": "0.8",
                                         "reason": "Modelled together", "csrf_token": editor})
    assert response.status_code == 303
    session.expire_all()
    overlap = session.scalars(select(InterventionOverlap)).one()
    assert (overlap.interaction, overlap.note) == (0.8, "Same patients")
    assert _count(session, ChangeRecord) == records + 1

    remove = f"{base}/second/remove"
    html = check_page(client.post(remove, data={"reason": " ", "csrf_token": editor}),
                      status=422)
    assert 'href="#remove_reason"' in html
    assert "Give a reason for removing the overlap" in html
    assert _count(session, InterventionOverlap) == 1
    response = client.post(remove, data={"reason": "They reach different patients",
                                         "csrf_token": editor})
    assert response.status_code == 303
    assert _count(session, InterventionOverlap) == 0
    assert "No overlaps declared" in check_page(client.get(base))
    assert client.post(remove, data={"reason": "Again", "csrf_token": editor}
                       ).status_code == 404

    history = _history(check_page(_public(client).get(PAGE)))
    pair = "‘Intervention first’ and ‘Intervention second’"
    shared = f"{pair}: 30% of the smaller effect counted twice"
    interaction = f"{pair}: interaction factor 0.8"
    assert f"from <strong>(none)</strong> to <strong>{shared}</strong>" in history
    assert f"from <strong>{shared}</strong> to <strong>{interaction}</strong>" in history
    assert f"from <strong>{interaction}</strong> to <strong>(none)</strong>" in history
    assert "They reach different patients" in history


@pytest.mark.parametrize("case", [
    ({"second": "first", "kind": "shared", "shared_fraction": "10"}, "second",
     "An intervention cannot overlap itself"),
    ({"second": "no-such-thing", "kind": "shared", "shared_fraction": "10"}, "second",
     "Choose another intervention of this mission"),
    ({"second": "second", "kind": "shared", "shared_fraction": "120"}, "shared_fraction",
     "Enter the share as a percentage from 0 to 100"),
    ({"second": "second", "kind": "interaction", "interaction": ""}, "interaction",
     "Enter the interaction factor as a number from 0 to 1"),
    ({"second": "second"}, "kind", "Choose how the interventions overlap"),
])
def test_invalid_overlaps_are_refused(
    client: TestClient, world: World, session: Session, editor: str,
    case: tuple[dict[str, str], str, str]
) -> None:
    form, field, message = case
    _intervention(session, world, "first")
    _intervention(session, world, "second")
    html = check_page(client.post(f"{MANAGE}/first/overlaps",
                                  data={**form, "csrf_token": editor}), status=422)
    assert f'href="#{field}"' in html
    assert message in html
    assert _count(session, InterventionOverlap) == 0


# Addresses and who sees the links --------------------------------------------------------

def test_unknown_addresses_are_not_found(
    client: TestClient, world: World, session: Session, editor: str
) -> None:
    _intervention(session, world, "first")
    item = service.add_plan_item(session, intervention=_intervention(session, world, "second"),
                                 data=PlanItemIn(
                                     kind="action", title="Theirs", owner="Team",
                                     due=dt.date(2030, 1, 1)))
    session.commit()
    for path in ("/manage/missions/no-such-mission/interventions/new",
                 f"{MANAGE}/no-such-intervention/edit",
                 f"{MANAGE}/no-such-intervention/chain",
                 f"{MANAGE}/first/plan/999999/edit",
                 f"{MANAGE}/first/plan/{item.id}/edit",  # another intervention's item
                 f"{MANAGE}/first/overlaps/no-such-intervention/edit",
                 f"{MANAGE}/first/overlaps/second/edit"):  # no overlap declared
        check_page(client.get(path), status=404)
    response = client.post(f"{MANAGE}/no-such-intervention/edit",
                           data={**_form(world), "csrf_token": editor})
    assert response.status_code == 404


def test_only_editors_of_the_mission_see_the_editing_links(
    client: TestClient, world: World, session: Session
) -> None:
    saved = _intervention(session, world, "first")
    service.add_plan_item(session, intervention=saved, data=PlanItemIn(
        kind="action", title="Agree funding", owner="Team", due=dt.date(2030, 1, 1)))
    session.commit()
    assert "/manage/" not in check_page(client.get(PAGE)).split("<main")[1]
    sign_in(client, world.other_editor)
    assert f"{MANAGE}/" not in check_page(client.get(PAGE))
    assert client.get(f"{MANAGE}/first/edit").status_code == 403
    client.post("/sign-out", data={"csrf_token": csrf_from(client.get("/sign-in").text)})
    sign_in(client, world.editor)
    html = check_page(client.get(PAGE))
    for link in ("new", "first/edit", "first/plan/new", "first/chain", "first/overlaps"):
        assert f'href="{MANAGE}/{link}"' in html
    assert re.search(rf'href="{MANAGE}/first/plan/\d+/edit"', html)


def test_a_form_without_its_token_is_refused(
    client: TestClient, world: World, session: Session, editor: str
) -> None:
    response = client.post(f"{MANAGE}/new", data=_form(world))
    assert response.status_code == 403
    assert _count(session, Intervention) == 0
