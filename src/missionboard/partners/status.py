"""A commitment's status, derived from its terms and its progress reports by pure functions.

The status is one of:

- **withdrawn** — the partner withdrew it (it stays public, marked so);
- **achieved** — the pledge is met: a target's latest value reached the target, the money
  spent or hours given add up to the pledge, or (for an action or in-kind pledge, which has no
  measure) a report says it is done. Achieved is final;
- **lapsed** — no report for longer than the schedule allows plus :data:`GRACE_DAYS`: the next
  report was due one reporting period after the latest one (or after the start, before the
  first), and the grace period has passed too;
- **behind** — the deadline has passed without the pledge being met, or, at the latest report,
  the share of the pledge delivered was more than :data:`TOLERANCE` below the share of the time
  to the deadline that had gone (a straight line from the start to the deadline);
- **on track** — otherwise, once a report has come in;
- **not yet due** — no report yet, and none overdue.

The work is split in two so that the register can filter by status in SQL:
:func:`assess` depends only on the terms and the reports (it is stored with the commitment when
either changes), and :func:`status_on` adds what depends on the day (lapsing and the deadline);
:func:`missionboard.partners.register.status_condition` is its SQL twin.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from missionboard.partners.models import CommitmentKind, CommitmentStatus, ReportingSchedule

#: Days allowed after a report falls due before the commitment lapses.
GRACE_DAYS = 30
#: How far (as a share of the pledge) delivery may trail the straight line and still be on
#: track.
TOLERANCE = 0.1
#: Kinds whose progress is measured; the others are done when a report says so.
MEASURED = frozenset({CommitmentKind.TARGET, CommitmentKind.MONEY, CommitmentKind.TIME})


@dataclass(frozen=True)
class Terms:
    """What a commitment promises, as far as its status is concerned."""

    kind: CommitmentKind
    start_on: dt.date
    schedule: ReportingSchedule
    baseline: float | None = None
    target: float | None = None
    deadline: dt.date | None = None
    pledged_money: float | None = None
    pledged_hours: float | None = None
    withdrawn: bool = False


@dataclass(frozen=True)
class Report:
    """One progress report: the measure's level at ``period_end`` (a target), the money spent
    and hours given since the previous report, and whether the partner says it is done."""

    period_end: dt.date
    value: float | None = None
    money_spent: float | None = None
    hours_given: float | None = None
    completed: bool = False


@dataclass(frozen=True)
class Assessment:
    """The status as of the latest report, before lapsing and the deadline are considered,
    with the figures it rests on."""

    status: CommitmentStatus
    #: The commitment lapses the day after this one without a new report.
    report_due_on: dt.date
    last_report_on: dt.date | None
    latest_value: float | None
    delivered_money: float
    delivered_hours: float
    #: The share of the pledge delivered (measured kinds), or None.
    progress: float | None
    #: The share of the time to the deadline gone at the latest report, or None.
    expected: float | None


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or the month's last day when it is shorter."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def report_due_on(*, start_on: dt.date, last_report_on: dt.date | None,
                  schedule: ReportingSchedule, grace_days: int = GRACE_DAYS) -> dt.date:
    """The last day on which the next report still counts as on time."""
    return (add_months(last_report_on or start_on, schedule.months)
            + dt.timedelta(days=grace_days))


def progress_of(terms: Terms, *, latest_value: float | None, money: float, hours: float
                ) -> float | None:
    """The share of the pledge delivered (1 = all of it), or None for an unmeasured kind."""
    if terms.kind == CommitmentKind.TARGET:
        if terms.baseline is None or terms.target is None or terms.target == terms.baseline:
            return None
        value = terms.baseline if latest_value is None else latest_value
        return (value - terms.baseline) / (terms.target - terms.baseline)
    if terms.kind == CommitmentKind.MONEY and terms.pledged_money:
        return money / terms.pledged_money
    if terms.kind == CommitmentKind.TIME and terms.pledged_hours:
        return hours / terms.pledged_hours
    return None


def time_share(*, start_on: dt.date, deadline: dt.date | None, on: dt.date) -> float | None:
    """The share of the time from the start to the deadline gone on ``on``, in [0, 1]."""
    if deadline is None:
        return None
    if deadline <= start_on:
        return 1.0
    share = (on - start_on).days / (deadline - start_on).days
    return min(1.0, max(0.0, share))


def assess(terms: Terms, reports: Sequence[Report], *, grace_days: int = GRACE_DAYS
           ) -> Assessment:
    """The status as of the latest report (see the module's rules), without today."""
    ordered = sorted(reports, key=lambda r: r.period_end)
    last = ordered[-1].period_end if ordered else None
    valued = [r.value for r in ordered if r.value is not None]
    latest_value = valued[-1] if valued else None
    money = sum(r.money_spent or 0.0 for r in ordered)
    hours = sum(r.hours_given or 0.0 for r in ordered)
    due = report_due_on(start_on=terms.start_on, last_report_on=last, schedule=terms.schedule,
                        grace_days=grace_days)
    progress = progress_of(terms, latest_value=latest_value, money=money, hours=hours)
    expected = (time_share(start_on=terms.start_on, deadline=terms.deadline, on=last)
                if last is not None else None)

    def result(status: CommitmentStatus) -> Assessment:
        return Assessment(status=status, report_due_on=due, last_report_on=last,
                          latest_value=latest_value, delivered_money=money,
                          delivered_hours=hours, progress=progress, expected=expected)

    if terms.withdrawn:
        return result(CommitmentStatus.WITHDRAWN)
    if last is None:
        return result(CommitmentStatus.NOT_YET_DUE)
    if terms.kind in MEASURED and progress is not None:
        achieved = progress >= 1.0
    else:
        achieved = any(r.completed for r in ordered)
    if achieved:
        return result(CommitmentStatus.ACHIEVED)
    if terms.deadline is not None and last >= terms.deadline:
        return result(CommitmentStatus.BEHIND)
    if progress is not None and expected is not None and progress < expected - TOLERANCE:
        return result(CommitmentStatus.BEHIND)
    return result(CommitmentStatus.ON_TRACK)


def status_on(assessment: Assessment, *, deadline: dt.date | None, today: dt.date
              ) -> CommitmentStatus:
    """The status on ``today``: lapsed once the next report is overdue beyond the grace
    period; behind once the deadline has passed unmet."""
    if assessment.status in (CommitmentStatus.WITHDRAWN, CommitmentStatus.ACHIEVED):
        return assessment.status
    if today > assessment.report_due_on:
        return CommitmentStatus.LAPSED
    if deadline is not None and today > deadline:
        return CommitmentStatus.BEHIND
    return assessment.status


def derive_status(terms: Terms, reports: Sequence[Report], *, today: dt.date,
                  grace_days: int = GRACE_DAYS) -> CommitmentStatus:
    """The commitment's status on ``today`` (the one function the rules live in)."""
    return status_on(assess(terms, reports, grace_days=grace_days), deadline=terms.deadline,
                     today=today)
