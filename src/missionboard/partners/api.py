"""The partners part of the public JSON API (``api_router``, included in ``/api/v1``): the
register of commitments (filters and pages, as on the register's page), one commitment with its
progress reports, the partners, and filing a progress report with a token of the partner's
verified staff. Errors are ``application/problem+json``. No member of staff's name or email
address is ever in a response."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from missionboard.accounts import access as accounts_access
from missionboard.errors import NotFound
from missionboard.partners import access, register, service
from missionboard.partners.models import Partner, PartnerKind, Sector
from missionboard.partners.schemas import (
    CommitmentDetailOut,
    CommitmentPage,
    PartnerList,
    PartnerOut,
    RegisterQuery,
    ReportCreatedOut,
    ReportIn,
    ReportOut,
)
from missionboard.partners.views import today
from missionboard.web import api as public_api
from missionboard.web.api import (
    MAX_OFFSET,
    Caller,
    TokenUser,
    json_response,
    problem_responses,
)
from missionboard.web.uploads import base_url

api_router = APIRouter(tags=["partners"])


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses({
        401: "The API token is missing, unknown or revoked",
        403: "The token's user does not act for this partner",
        404: "No such commitment or partner (or not public)",
        409: "The commitment takes no reports (withdrawn or rejected)",
        422: "The input has errors",
    }, *codes)


class RegisterParams(RegisterQuery):
    """The register's filters and page."""

    limit: int | None = Field(default=None, ge=1, description=(
        "Page size, at most the server's page_size_max (1000 unless configured); by default "
        "its page_size_default (100 unless configured)"))
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


def _base(request: Request) -> str:
    return base_url(request).removesuffix("/api/v1")


@api_router.get("/commitments", response_model=CommitmentPage, responses=_problems(422))
def api_commitments(request: Request, db: public_api.DB,
                    params: Annotated[RegisterParams, Query()]) -> Response:
    """The public register of partners' commitments, newest first, filtered as on
    ``/commitments``. The status is derived today: ``lapsed`` means no progress report for
    longer than the reporting schedule allows plus a grace period."""
    size = public_api._limit(request.app.state.settings, params.limit)
    query = RegisterQuery.model_validate(params.model_dump(exclude={"limit", "offset"}))
    found = register.page(db, query, today=today(), base=_base(request), limit=size,
                          offset=params.offset)
    following = params.offset + size
    return json_response(CommitmentPage(
        items=found.items, total=found.total, limit=size, offset=params.offset,
        next=(str(request.url.include_query_params(limit=size, offset=following))
              if following < found.total else None)))


@api_router.get("/commitments/{commitment_id}", response_model=CommitmentDetailOut,
                responses=_problems(404))
def api_commitment(request: Request, commitment_id: int, db: public_api.DB, caller: Caller
                   ) -> Response:
    """One commitment with its progress reports (a pending one only for a token of its
    partner's staff, its mission's editors or an administrator)."""
    commitment = service.get_commitment(db, commitment_id=commitment_id)
    if not access.can_see_commitment(caller, commitment,
                                     service.member_partner_ids(db, caller)):
        raise NotFound(f"No commitment {commitment_id}")
    row = register.one(db, commitment.id, today=today(), base=_base(request))
    return json_response(CommitmentDetailOut(**row.model_dump(), progress_reports=[
        ReportOut.model_validate(r) for r in commitment.reports]))


@api_router.post("/commitments/{commitment_id}/reports", response_model=ReportCreatedOut,
                 status_code=201, responses=_problems(401, 403, 404, 409, 422))
def api_add_report(commitment_id: int, body: ReportIn, db: public_api.DB, user: TokenUser
                   ) -> Response:
    """File a progress report, with a token of a verified member of the partner's staff (or
    an administrator). It is published at once, self-reported until a moderator says
    otherwise."""
    commitment = service.get_commitment(db, commitment_id=commitment_id)
    mine = service.member_partner_ids(db, user)
    if not access.can_see_commitment(user, commitment, mine):
        raise NotFound(f"No commitment {commitment_id}")
    accounts_access.require(access.can_act_for(user, commitment.partner, mine),
                            f"report for {commitment.partner.name}")
    report = service.add_report(db, commitment=commitment, data=body, author=user,
                                today=today())
    return json_response(ReportCreatedOut(
        report=ReportOut.model_validate(report),
        status=service.current_status(commitment, today=today())), status_code=201)


def _partner_out(partner: Partner, base: str) -> PartnerOut:
    return PartnerOut(
        slug=partner.slug, name=partner.name, kind=partner.kind, sector=partner.sector,
        size=partner.size, url=f"{base}/partners/{partner.slug}",
        description=partner.description, website=partner.website,
        company_number=partner.company_number, charity_number=partner.charity_number,
        union_number=partner.union_number, areas=[a.code for a in partner.areas],
        illustrative=partner.illustrative)


@api_router.get("/partners", response_model=PartnerList, responses=_problems(422))
def api_partners(
    request: Request, db: public_api.DB, *,
    kind: Annotated[PartnerKind | None, Query(description="Only this kind")] = None,
    sector: Annotated[Sector | None, Query(description="Only this sector")] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """The approved partners, by name."""
    size = public_api._limit(request.app.state.settings, limit)
    partners, total = service.list_partners(db, limit=size, offset=offset, kind=kind,
                                            sector=sector)
    base = _base(request)
    following = offset + size
    return json_response(PartnerList(
        items=[_partner_out(p, base) for p in partners], total=total, limit=size,
        offset=offset, next=(str(request.url.include_query_params(limit=size, offset=following))
                             if following < total else None)))


@api_router.get("/partners/{slug}", response_model=PartnerOut, responses=_problems(404))
def api_partner(request: Request, slug: str, db: public_api.DB, caller: Caller) -> Response:
    partner = service.get_partner(db, slug=slug)
    if not access.can_see_partner(caller, partner, service.member_partner_ids(db, caller)):
        raise NotFound(f"No partner {slug!r}")
    return json_response(_partner_out(partner, _base(request)))
