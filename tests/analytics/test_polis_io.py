"""The Pol.is export format, read and written, against Pol.is's own exports.

Reference data: ``tests/fixtures/polis/`` — three real Pol.is exports (CC BY 4.0, see
ATTRIBUTION.md there). What the writer counts (agrees and disagrees per comment; each
participant's n-votes, n-agree, n-disagree, n-comments and standing votes; the summary's
counts) is compared with what Pol.is published, read here with the csv module alone, so the
reference does not pass through the reader under test.
"""

from __future__ import annotations

import csv
import re
import tempfile
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from missionboard.analytics.deliberation import VoteTable, analyse
from missionboard.analytics.polis_io import (
    PolisStatement,
    read_polis_export,
    write_polis_export,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "polis"
EXPORTS = ["bg2050-volunteers", "brexit-consensus", "london.youth.policing"]
# The zones of Pol.is's servers in the fixtures' datetime column, as hours from UTC.
ZONES = {"CDT": -5, "WIB": 7}
COUNTED = ("voters", "voters-in-conv", "commenters", "comments", "groups")


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def polis_groups(name: str) -> dict[int, int]:
    """Pol.is's group of each participant it grouped, from its participants-votes.csv."""
    return {int(r["participant"]): int(r["group-id"])
            for r in rows(FIXTURES / name / "participants-votes.csv") if r["group-id"] != ""}


def written(name: str, folder: Path, *, groups: Mapping[int, int | None] | None = None,
            summary: Mapping[str, str] | None = None,
            group_informed_consensus: Mapping[int, float] | None = None) -> Path:
    """Pol.is's export ``name`` read, then written into ``folder``."""
    export = read_polis_export(FIXTURES / name)
    write_polis_export(folder, votes=export.votes, statements=export.statements,
                       groups=groups, summary=summary,
                       group_informed_consensus=group_informed_consensus)
    return folder


# --------------------------------------------------------------------------------------------
# Round trip
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", EXPORTS)
def test_round_trip_gives_back_everything_read(name: str, tmp_path: Path) -> None:
    first = read_polis_export(FIXTURES / name)
    write_polis_export(tmp_path, votes=first.votes, statements=first.statements,
                       groups=first.groups, xids=first.xids, summary=first.summary,
                       group_informed_consensus=first.group_informed_consensus)
    again = read_polis_export(tmp_path)
    # Every vote is written, in Pol.is's row order, so the tables are identical.
    for column in ("voter", "statement", "vote", "timestamp"):
        np.testing.assert_array_equal(getattr(again.votes, column),
                                      getattr(first.votes, column))
    assert again.statements == first.statements
    assert again.moderated_out == first.moderated_out
    assert again.meta == first.meta
    assert again.xids == first.xids
    assert again.groups == first.groups == polis_groups(name)
    assert again.group_informed_consensus == first.group_informed_consensus
    assert again.summary == first.summary
    with (FIXTURES / name / "summary.csv").open(newline="", encoding="utf-8") as file:
        assert again.summary["topic"] == next(csv.reader(file))[1]


def test_reader_reads_the_new_comment_and_participant_columns() -> None:
    export = read_polis_export(FIXTURES / "bg2050-volunteers")
    assert export.statements[2] == PolisStatement(
        text="I hope it can retain its southern hospitality", moderated=1, is_meta=False,
        author=0, timestamp=1726860676783, is_seed=True)
    assert export.statements[42].author == 11
    assert not export.statements[42].is_seed
    assert export.group_informed_consensus[2] == 0.6839080459770114
    assert export.xids == {}  # the column is there, every xid blank
    assert export.summary["topic"] == "Together, we'll build the BG of 2050."
    assert export.summary["groups"] == "2"
    assert export.summary["conversation-description"].startswith("In the next 25 years")
    old = read_polis_export(FIXTURES / "brexit-consensus")  # no is-seed, is-meta or GIC
    assert old.statements[36].author == 0
    assert old.statements[36].timestamp == 1500282615559
    assert not any(s.is_seed or s.is_meta for s in old.statements.values())
    assert old.group_informed_consensus == {}


def test_xids_are_read_where_given(tmp_path: Path) -> None:
    votes = VoteTable(voter=np.array([3, 5, 8]), statement=np.array([0, 0, 1]),
                      vote=np.array([1, -1, 0]), timestamp=np.array([1, 2, 3]))
    statements = {0: PolisStatement(text="a", moderated=1, is_meta=False),
                  1: PolisStatement(text="b", moderated=1, is_meta=False)}
    write_polis_export(tmp_path, votes=votes, statements=statements,
                       xids={3: "ext-3", 8: "x,\"8\""}, groups={3: 0, 5: None})
    export = read_polis_export(tmp_path)
    assert export.xids == {3: "ext-3", 8: "x,\"8\""}
    assert export.groups == {3: 0}


def test_a_conversation_without_votes_writes_headers_and_counts(tmp_path: Path) -> None:
    nothing = VoteTable(voter=np.array([], dtype=np.int64),
                        statement=np.array([], dtype=np.int64),
                        vote=np.array([], dtype=np.int8), timestamp=np.array([], dtype=np.int64))
    seed = {0: PolisStatement(text="First", moderated=1, is_meta=False, is_seed=True)}
    write_polis_export(tmp_path, votes=nothing, statements=seed, summary={"topic": "T"})
    export = read_polis_export(tmp_path)
    assert len(export.votes) == 0
    assert export.statements == seed
    assert export.summary == {"topic": "T", "voters": "0", "voters-in-conv": "0",
                              "comments": "0"}
    assert (tmp_path / "participants-votes.csv").read_text() == (
        "participant,xid,group-id,n-comments,n-votes,n-agree,n-disagree\n")


# --------------------------------------------------------------------------------------------
# The written files against Pol.is's
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", EXPORTS)
def test_participants_votes_equals_polis_file(name: str, tmp_path: Path) -> None:
    folder = written(name, tmp_path, groups=polis_groups(name))
    ours = rows(folder / "participants-votes.csv")
    theirs = rows(FIXTURES / name / "participants-votes.csv")
    # Same participants in the same order, the same comment columns, the same cells.
    assert [r["participant"] for r in ours] == [r["participant"] for r in theirs]
    assert [k for k in ours[0] if k != "xid"] == [k for k in theirs[0] if k != "xid"]
    for mine, published in zip(ours, theirs, strict=True):
        assert {k: v for k, v in mine.items() if k != "xid"} == {
            k: v for k, v in published.items() if k != "xid"}, mine["participant"]


@pytest.mark.parametrize("name", ["bg2050-volunteers", "london.youth.policing"])
def test_participants_votes_is_byte_for_byte_polis_file(name: str, tmp_path: Path) -> None:
    # These two have the xid column (all blank), as the writer always writes it.
    folder = written(name, tmp_path, groups=polis_groups(name))
    assert ((folder / "participants-votes.csv").read_bytes()
            == (FIXTURES / name / "participants-votes.csv").read_bytes())


@pytest.mark.parametrize("name", EXPORTS)
def test_comments_equal_polis_file_but_for_row_order(name: str, tmp_path: Path) -> None:
    folder = written(name, tmp_path)
    ours = {r["comment-id"]: r for r in rows(folder / "comments.csv")}
    theirs = {r["comment-id"]: r for r in rows(FIXTURES / name / "comments.csv")}
    assert ours.keys() == theirs.keys()
    for comment, published in theirs.items():
        # agrees and disagrees count every vote event, superseded ones too (Pol.is's rule).
        shared = published.keys() - {"datetime", "group-informed-consensus"}
        assert {k: ours[comment][k] for k in shared} == {k: published[k] for k in shared}
    assert list(ours) == sorted(ours, key=int)


def test_comments_carry_group_informed_consensus_as_given(tmp_path: Path) -> None:
    export = read_polis_export(FIXTURES / "bg2050-volunteers")
    folder = written("bg2050-volunteers", tmp_path,
                     group_informed_consensus=export.group_informed_consensus)
    theirs = {r["comment-id"]: r for r in rows(FIXTURES / "bg2050-volunteers" / "comments.csv")}
    ours = rows(folder / "comments.csv")
    assert list(ours[0]) == list(theirs["2"])  # the header, column for column
    for row in ours:
        assert row == theirs[row["comment-id"]]


@pytest.mark.parametrize("name", EXPORTS)
def test_votes_equal_polis_file_but_for_time_zone(name: str, tmp_path: Path) -> None:
    folder = written(name, tmp_path)
    ours, theirs = rows(folder / "votes.csv"), rows(FIXTURES / name / "votes.csv")
    assert list(ours[0]) == list(theirs[0])
    assert len(ours) == len(theirs)
    for mine, published in zip(ours, theirs, strict=True):
        assert {k: v for k, v in mine.items() if k != "datetime"} == {
            k: v for k, v in published.items() if k != "datetime"}
        # Java's Date.toString(): the same instant, in UTC rather than the server's zone.
        day, month, date, time, zone, year = published["datetime"].split()
        local = datetime.strptime(f"{day} {month} {date} {time} {year}",  # noqa: DTZ007
                                  "%a %b %d %H:%M:%S %Y")
        utc = datetime.strptime(mine["datetime"], "%a %b %d %H:%M:%S UTC %Y")  # noqa: DTZ007
        assert local - utc == timedelta(hours=ZONES[zone])


def test_datetime_is_javas_date_to_string_in_utc(tmp_path: Path) -> None:
    votes = VoteTable(voter=np.array([0, 0, 0]), statement=np.array([0, 1, 2]),
                      vote=np.array([1, 0, -1]),
                      timestamp=np.array([1726860583813, 0, -1]))
    write_polis_export(tmp_path, votes=votes, statements={})
    assert [r["datetime"] for r in rows(tmp_path / "votes.csv")] == [
        "Fri Sep 20 19:29:43 UTC 2024", "Thu Jan 01 00:00:00 UTC 1970",
        "Wed Dec 31 23:59:59 UTC 1969"]


@pytest.mark.parametrize("name", EXPORTS)
def test_summary_counts_equal_polis_file(name: str, tmp_path: Path) -> None:
    published = (FIXTURES / name / "summary.csv").read_bytes()
    with (FIXTURES / name / "summary.csv").open(newline="", encoding="utf-8") as file:
        given = {key: value for key, value in csv.reader(file) if key not in COUNTED}
    folder = written(name, tmp_path, groups=polis_groups(name), summary=given)
    assert (folder / "summary.csv").read_bytes() == published


@pytest.mark.parametrize("name", EXPORTS)
def test_files_are_utf8_with_unix_line_ends_like_polis(name: str, tmp_path: Path) -> None:
    folder = written(name, tmp_path)
    for file in ("votes.csv", "comments.csv", "participants-votes.csv", "summary.csv"):
        data = (folder / file).read_bytes()
        assert b"\r" not in data
        assert data.endswith(b"\n")
        assert not data.startswith(b"\xef\xbb\xbf")


def test_group_column_holds_the_analysis_groups(tmp_path: Path) -> None:
    export = read_polis_export(FIXTURES / "bg2050-volunteers")
    analysis = analyse(export.votes, moderated_out=export.moderated_out, meta=export.meta)
    write_polis_export(tmp_path, votes=export.votes, statements=export.statements,
                       groups=analysis.participants)
    table = rows(tmp_path / "participants-votes.csv")
    assert {int(r["participant"]) for r in table} == set(analysis.participants)
    for row in table:
        expected = analysis.participants[int(row["participant"])]
        assert row["group-id"] == ("" if expected is None else str(expected))
    assert read_polis_export(tmp_path).groups == {
        p: g for p, g in analysis.participants.items() if g is not None}
    assert read_polis_export(tmp_path).summary["groups"] == str(analysis.k)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

Event = tuple[int, int, int, int]  # voter, statement, vote, timestamp


@st.composite
def vote_logs(draw: st.DrawFn) -> list[Event]:
    """Small vote logs with random ids, repeated and superseded votes, tied timestamps."""
    voters = draw(st.lists(st.integers(0, 10**9), min_size=1, max_size=8, unique=True))
    statements = draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=6, unique=True))
    return draw(st.lists(st.tuples(st.sampled_from(voters), st.sampled_from(statements),
                                   st.sampled_from([-1, 0, 1]),
                                   st.integers(0, 4 * 10**12)), min_size=1, max_size=40)
                | st.lists(st.tuples(st.sampled_from(voters), st.sampled_from(statements),
                                     st.sampled_from([-1, 0, 1]), st.integers(0, 3)),
                           min_size=1, max_size=40))


def standing(log: list[Event]) -> dict[tuple[int, int], int]:
    """The standing vote per (voter, statement): the latest, the highest on a tie."""
    best: dict[tuple[int, int], tuple[int, int]] = {}
    for voter, statement, vote, time in log:
        best[voter, statement] = max(best.get((voter, statement), (time, vote)), (time, vote))
    return {key: vote for key, (_, vote) in best.items()}


def table_of(log: list[Event]) -> VoteTable:
    return VoteTable(voter=np.array([e[0] for e in log], dtype=np.int64),
                     statement=np.array([e[1] for e in log], dtype=np.int64),
                     vote=np.array([e[2] for e in log], dtype=np.int8),
                     timestamp=np.array([e[3] for e in log], dtype=np.int64))


@settings(max_examples=150, deadline=None)
@given(log=vote_logs())
def test_written_votes_read_back_with_the_same_standing_votes(log: list[Event]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        write_polis_export(directory, votes=table_of(log), statements={})
        back = read_polis_export(directory).votes
        matrix = rows(Path(directory) / "participants-votes.csv")
    again = list(zip(back.voter.tolist(), back.statement.tolist(), back.vote.tolist(),
                     back.timestamp.tolist(), strict=True))
    assert sorted(again) == sorted(log)  # every event, nothing else
    assert standing(again) == standing(log)
    cells = {(int(r["participant"]), int(c)): int(v) for r in matrix
             for c, v in r.items() if c.isdigit() and v != ""}
    assert cells == standing(log)
    for row in matrix:
        mine = [v for (p, _), v in standing(log).items() if p == int(row["participant"])]
        assert (int(row["n-votes"]), int(row["n-agree"]), int(row["n-disagree"])) == (
            len(mine), mine.count(1), mine.count(-1))


texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)


@settings(max_examples=100, deadline=None)
@given(bodies=st.lists(texts, min_size=1, max_size=5),
       extra=st.dictionaries(st.text(st.characters(codec="utf-8", exclude_characters="\x00"),
                                     min_size=1, max_size=8), texts, max_size=3),
       topic=texts)
def test_any_text_reads_back_as_written(bodies: list[str], extra: dict[str, str],
                                        topic: str) -> None:
    statements = {i: PolisStatement(text=b, moderated=1, is_meta=False, author=i)
                  for i, b in enumerate(bodies)}
    votes = VoteTable(voter=np.array([0]), statement=np.array([0]), vote=np.array([1]),
                      timestamp=np.array([5]))
    summary = {**{k: v for k, v in extra.items() if k not in COUNTED}, "topic": topic}
    with tempfile.TemporaryDirectory() as directory:
        write_polis_export(directory, votes=votes, statements=statements, summary=summary,
                           xids={0: topic})
        export = read_polis_export(directory)
    assert export.statements == statements
    assert {k: export.summary[k] for k in summary} == summary
    assert export.xids == ({0: topic} if topic else {})


# --------------------------------------------------------------------------------------------
# Malformed files and data
# --------------------------------------------------------------------------------------------

COMMENTS = "comment-id,moderated,comment-body\n0,1,a\n"


@pytest.mark.parametrize(("votes", "comments", "message"), [
    ("timestamp,comment-id,voter-id,vote\n1,0,0,1\n2,0,1,2\n", COMMENTS,
     "votes.csv, row 3, column 'vote': '2' is not a vote"),
    ("timestamp,comment-id,voter-id,vote\n1,x,0,1\n", COMMENTS,
     "votes.csv, row 2, column 'comment-id': 'x' is not a whole number"),
    ("timestamp,comment-id,voter-id,vote\n1,0,0,1\n,0,1,1\n", COMMENTS,
     "votes.csv, row 3, column 'timestamp': '' is not a whole number"),
    ("timestamp,comment-id,voter-id,vote\n1,0,0\n", COMMENTS,
     "votes.csv, row 2: 3 fields where the header has 4"),
    ("timestamp,comment-id,voter-id,vote\n", "comment-id,moderated,comment-body\nfour,1,a\n",
     "comments.csv, row 2, column 'comment-id': 'four' is not a whole number"),
    ("timestamp,comment-id,voter-id,vote\n", "comment-id,moderated,comment-body\n0,2,a\n",
     "comments.csv, row 2, column 'moderated': '2' is not a moderation state"),
    ("timestamp,comment-id,voter-id,vote\n",
     "comment-id,moderated,is-meta,comment-body\n0,1,yes,a\n",
     "comments.csv, row 2, column 'is-meta': 'yes' is not true or false"),
    ("timestamp,comment-id,voter-id,vote\n", COMMENTS + "0,1,again\n",
     "comments.csv, row 3, column 'comment-id': comment 0 appears twice"),
])
def test_malformed_file_names_file_row_and_column(tmp_path: Path, votes: str, comments: str,
                                                  message: str) -> None:
    (tmp_path / "votes.csv").write_text(votes, encoding="utf-8")
    (tmp_path / "comments.csv").write_text(comments, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)):
        read_polis_export(tmp_path)


def test_malformed_participants_and_summary_are_named(tmp_path: Path) -> None:
    (tmp_path / "votes.csv").write_text("timestamp,comment-id,voter-id,vote\n")
    (tmp_path / "comments.csv").write_text(COMMENTS)
    (tmp_path / "participants-votes.csv").write_text(
        "participant,xid,group-id\n0,,1\n1,,one\n")
    with pytest.raises(ValueError, match=re.escape(
            "participants-votes.csv, row 3, column 'group-id': 'one' is not a whole number")):
        read_polis_export(tmp_path)
    (tmp_path / "participants-votes.csv").unlink()
    (tmp_path / "summary.csv").write_text("topic,a\nurl,b,c\n")
    with pytest.raises(ValueError, match=re.escape("summary.csv, row 2: 3 fields")):
        read_polis_export(tmp_path)


def test_writer_refuses_what_pol_is_cannot_hold(tmp_path: Path) -> None:
    by_name = VoteTable(voter=np.array(["ann"]), statement=np.array([0]),
                        vote=np.array([1]), timestamp=np.array([1]))
    with pytest.raises(ValueError, match="integer voter ids"):
        write_polis_export(tmp_path, votes=by_name, statements={})
    fractional = VoteTable(voter=np.array([0]), statement=np.array([0]),
                           vote=np.array([1]), timestamp=np.array([1.5]))
    with pytest.raises(ValueError, match="whole milliseconds"):
        write_polis_export(tmp_path, votes=fractional, statements={})
