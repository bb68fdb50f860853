"""The stocktake pack as a PDF, drawn from the same plain data as the web page.

The PDF is built from the frozen pack (or, before issue, a draft marked as such), so a PDF of
an issued pack always says what the board read.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from typing import Any

from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from missionboard.stocktakes.framework import RATING_LABELS, value_label
from missionboard.stocktakes.models import Rating

_STYLES = getSampleStyleSheet()
_BODY = ParagraphStyle("body", parent=_STYLES["BodyText"], fontName="Helvetica", fontSize=9.5,
                       leading=12)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=10)
_H1 = ParagraphStyle("h1", parent=_STYLES["Heading1"], fontName="Helvetica-Bold", fontSize=18)
_H2 = ParagraphStyle("h2", parent=_STYLES["Heading2"], fontName="Helvetica-Bold", fontSize=13,
                     spaceBefore=10)
_H3 = ParagraphStyle("h3", parent=_STYLES["Heading3"], fontName="Helvetica-Bold", fontSize=10.5)
_WIDTH = A4[0] - 36 * mm
_TABLE_STYLE = TableStyle([
    ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5),
    ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5),
    ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
    ("LINEBELOW", (0, 1), (-1, -1), 0.3, colors.HexColor("#b1b4b6")),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
])


def _p(text: object, style: ParagraphStyle = _BODY) -> Paragraph:
    escaped = (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    return Paragraph(escaped, style)


def _date(value: str | None) -> str:
    return dt.date.fromisoformat(value[:10]).strftime("%-d %B %Y") if value else ""


def _num(value: float | None, places: int = 1) -> str:
    if value is None:
        return ""
    return f"{value:,.{places}f}".rstrip("0").rstrip(".") if places else f"{value:,.0f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]],
           widths: Sequence[float] | None = None) -> Table:
    data: list[list[Flowable]] = [[_p(h, _SMALL) for h in header]]
    data += [[c if isinstance(c, Flowable) else _p(c, _SMALL) for c in row] for row in rows]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(_TABLE_STYLE)
    return table


def _fan(row: Mapping[str, Any]) -> Drawing:
    """Median and 10–90% band of the projection, and the required path, by month."""
    months = [dt.date.fromisoformat(p["month"]) for p in row["fan"]]

    def x(day: dt.date) -> float:
        return day.year + (day.timetuple().tm_yday - 1) / 365.25

    drawing = Drawing(_WIDTH, 150)
    plot = LinePlot()
    plot.x, plot.y, plot.height = 40, 25, 110
    plot.width = int(_WIDTH - 60)
    series = [
        [(x(m), p["p10"]) for m, p in zip(months, row["fan"], strict=True)],
        [(x(m), p["p50"]) for m, p in zip(months, row["fan"], strict=True)],
        [(x(m), p["p90"]) for m, p in zip(months, row["fan"], strict=True)],
        [(x(dt.date.fromisoformat(p["date"])), p["value"]) for p in row["path"]],
    ]
    plot.data = series
    blue, grey = colors.HexColor("#1d70b8"), colors.HexColor("#505a5f")
    for i, (colour, width, dash) in enumerate([(blue, 0.5, (2, 2)), (blue, 1.6, None),
                                               (blue, 0.5, (2, 2)), (grey, 1.2, (6, 3))]):
        plot.lines[i].strokeColor = colour
        plot.lines[i].strokeWidth = width
        if dash:
            plot.lines[i].strokeDashArray = dash
    plot.xValueAxis.labelTextFormat = "%d"
    plot.xValueAxis.valueStep = 1
    plot.xValueAxis.labels.fontSize = 7
    plot.yValueAxis.labels.fontSize = 7
    drawing.add(plot)
    drawing.add(String(40, 4, "Median (solid), 10% and 90% (dotted), required path (dashed)",
                       fontSize=7, fillColor=grey))
    return drawing


def _headline(pack: Mapping[str, Any]) -> list[Flowable]:
    out: list[Flowable] = [_p("Headline metrics against trajectory", _H2)]
    if not pack["headline"]:
        return [*out, _p("The mission has no targets yet.")]
    rows = []
    for r in pack["headline"]:
        latest = (f"{_num(r['latest_value'])} ({r['latest_period']})"
                  if r["latest_value"] is not None else "No data yet")
        rows.append([f"{r['metric_title']}: {r['target']}", latest,
                     _num(r["required_value"]), r["status_label"], f"{r['probability']:.0%}",
                     _num(max(r["additional_effect_needed"], 0.0))])
    out.append(_table(["Target", "Latest", "Required now", "Status", "Chance",
                       "Extra effect for 80%"], rows,
                      [0.34 * _WIDTH, 0.16 * _WIDTH, 0.12 * _WIDTH, 0.12 * _WIDTH,
                       0.1 * _WIDTH, 0.16 * _WIDTH]))
    for r in pack["headline"]:
        caption = (f"{r['metric_title']} ({r['unit']}): {r['target']}, "
                   f"{_num(r['target_value'])} by {_date(r['deadline'])}")
        out.append(KeepTogether([_p(caption, _H3), _fan(r)]))
    return out


def _listing(title: str, header: Sequence[str], rows: Sequence[Sequence[object]],
             empty: str) -> list[Flowable]:
    if not rows:
        return [_p(title, _H2), _p(empty)]
    return [_p(title, _H2), _table(header, rows)]


def _sections(pack: Mapping[str, Any]) -> list[Flowable]:
    changes = pack["changes"]
    milestones = pack["milestones"]
    out = _listing(
        "Changes since the last stocktake",
        ["When", "What", "Who", "Reason"],
        [[_date(c["at"]), f"{c['what']}: {', '.join(c['fields'])}", c["author"], c["reason"]]
         for c in changes["records"]],
        "No published changes since the last stocktake.")
    out += _listing("New data", ["Metric", "New or revised values", "Latest period ends"],
                    [[d["metric_title"], d["observations"], _date(d["latest_period_end"])]
                     for d in changes["new_data"]], "No new data.")
    out += _listing("Milestones overdue", ["Due", "What", "Intervention", "Owner"],
                    [[_date(m["due"]), m["title"], m["intervention"], m["owner"]]
                     for m in milestones["overdue"]], "None overdue.")
    out += _listing("Milestones due", ["Due", "What", "Intervention", "Owner", "State"],
                    [[_date(m["due"]), m["title"], m["intervention"], m["owner"],
                      m["state_label"]] for m in milestones["due"]],
                    "None due in the next four months.")
    out += _listing("Risks", ["Risk", "Owner", "Likelihood × impact", "Mitigation"],
                    [[r["title"], r["owner"], f"{r['likelihood']} × {r['impact']} = {r['score']}",
                      r["mitigation"]] for r in pack["risks"]["register"]],
                    "No open risks in the register.")
    out += [_p(f"• {flag}") for flag in pack["risks"]["flags"]]
    out += _listing("Actions from the last stocktake", ["Action", "Owner", "Due", "Status"],
                    [[a["title"], a["owner"], _date(a["due"]),
                      ("Overdue" if a["overdue"] else a["status"].capitalize())
                      + (f": {a['progress']}" if a["progress"] else "")]
                     for a in pack["last_actions"]], "No actions from a previous stocktake.")
    out += _listing("Open challenges", ["Raised", "By", "Question"],
                    [[_date(c["raised_on"]), c["raised_by"], c["question"]]
                     for c in pack["open_challenges"]], "No unanswered challenges.")
    council = pack.get("council")  # packs issued before councils existed have none
    if council:
        out += _listing(f"{council['name']}: awaiting a response or overdue",
                        ["No.", "Recommendation", "Response due", "Status"],
                        [[r["number"], r["title"], _date(r["response_due"]), r["status_label"]]
                         for r in council["outstanding"]], "None awaiting a response.")
        out += _listing(f"{council['name']}: responses since the last stocktake",
                        ["No.", "Recommendation", "Response", "Given"],
                        [[r["number"], r["title"], r["status_label"], _date(r["responded_on"])]
                         for r in council["responses"]], "No responses since then.")
    return out


def _meeting(record: Mapping[str, Any]) -> list[Flowable]:
    out: list[Flowable] = [_p("The meeting", _H2)]
    judgement = record.get("judgement")
    if judgement:
        overall = RATING_LABELS[Rating(judgement["overall"])]
        out.append(_p(f"Likelihood of delivery: {overall}. {judgement['overall_reason']}"))
        out.append(_table(["Criterion", "Judgement", "Reason"],
                          [[i["title"], value_label(i["criterion"], i["value"]), i["reason"]]
                           for i in judgement["items"]],
                          [0.3 * _WIDTH, 0.18 * _WIDTH, 0.52 * _WIDTH]))
    out += [_p(f"Decision: {d}") for d in record.get("decisions", [])]
    actions = record.get("actions", [])
    if actions:
        out.append(_table(["Action", "Owner", "Due", "Status"],
                          [[a["title"], a["owner"], _date(a["due"]), a["status"].capitalize()]
                           for a in actions]))
    return out


def render_pack(pack: Mapping[str, Any], *, issued: Mapping[str, Any] | None,
                meeting: Mapping[str, Any] | None = None) -> bytes:
    """The pack as PDF bytes. ``issued`` has ``at``, ``by`` and ``sha256`` once issued;
    ``meeting`` the judgement, decisions and actions once recorded."""
    buffer = io.BytesIO()
    stocktake, mission = pack["stocktake"], pack["mission"]
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=16 * mm,
                            title=f"{stocktake['title']} – {mission['title']}",
                            author="Missionboard", subject="Stocktake pack")
    status = (f"Issued {_date(issued['at'])} by {issued['by']}. SHA-256 {issued['sha256']}"
              if issued else "DRAFT: built from the live data; it will change until issued.")
    story: list[Flowable] = [
        _p(f"{mission['title']}: {stocktake['title']}", _H1),
        _p(f"Meeting on {_date(stocktake['meeting_on'])}. Data as of "
           f"{_date(stocktake['as_of'])}." + (f" Chair: {stocktake['chair']}."
                                             if stocktake["chair"] else "")),
        _p(status, _SMALL),
        Spacer(1, 4 * mm),
    ]
    previous = pack["previous"]
    if previous and previous["judgement"]:
        rating = RATING_LABELS[Rating(previous["judgement"]["overall"])]
        story.append(_p(f"Last judgement ({_date(previous['meeting_on'])}): {rating}. "
                        f"{previous['judgement']['reason']}"))
    story += _headline(pack) + _sections(pack)
    if meeting and (meeting.get("judgement") or meeting.get("decisions")
                    or meeting.get("actions")):
        story += _meeting(meeting)
    doc.build(story)
    return buffer.getvalue()
