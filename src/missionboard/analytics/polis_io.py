"""Read and write a Pol.is conversation export (the folder Pol.is's "export" writes).

The files, their columns found by name when read (so the exports' differing column sets all
read) and written in the order given here:

- ``votes.csv``: timestamp (ms), datetime, comment-id, voter-id, vote — the event log, in the
  export's sign convention (+1 agree, −1 disagree, 0 pass). Every vote is a row, superseded
  ones too; the last vote by timestamp per voter and comment stands
  (:func:`missionboard.analytics.deliberation_matrix.standing_votes`).
- ``comments.csv``: timestamp (ms), comment-id, author-id, agrees, disagrees, moderated (1 in,
  0 unmoderated, −1 out), is-meta, is-seed, group-informed-consensus, comment-body. Older
  exports lack is-meta, is-seed and group-informed-consensus and have a datetime column.
- ``participants-votes.csv``: participant, xid, group-id (blank: not grouped), n-comments,
  n-votes, n-agree, n-disagree, then one column per comment id holding the participant's
  standing vote or a blank. Older exports have no xid column.
- ``summary.csv``: key,value rows without a header (topic, url, views, voters,
  voters-in-conv, commenters, comments, groups, conversation-description).

**Pol.is's counting rules**, as its export code (``math/.../darwin/export.clj``) has them and
as checked against the three published exports in ``tests/fixtures/polis``:

- votes.csv rows are ordered by comment id, voter id, then timestamp; the datetime column is
  Java's ``Date.toString()`` of the timestamp (Pol.is: the server's zone; here UTC).
- agrees and disagrees in comments.csv count every agree (disagree) row of votes.csv on the
  comment, superseded votes included — not the standing votes. Pol.is writes the comments
  in its database's order, which the data cannot reproduce; they are written here by id.
- participants-votes.csv has a row for each participant with a vote (an author who never
  voted has none), in order of first appearance in votes.csv — by the lowest comment id they
  voted on, then by participant id — and a column for each comment with a vote, by id.
  n-votes counts standing votes (passes too), n-agree and n-disagree standing agrees and
  disagrees, and n-comments every comment the participant wrote, moderated out or not.
- In summary.csv, voters and voters-in-conv both count participants with a vote (Pol.is's
  ``n``, the rows of its vote matrix), commenters the distinct authors, comments the comments
  with a vote (``n-cmts``, its columns), groups the opinion groups.

The files are UTF-8 without a byte-order mark, with ``\\n`` line ends, and a field is quoted
only when it holds a comma, a double quote or a line break. A malformed file raises
:class:`ValueError` naming the file, the row (the header is row 1) and the column.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from missionboard.analytics.deliberation import VoteTable
from missionboard.analytics.deliberation_matrix import standing_votes

VOTE_COLUMNS = ("timestamp", "comment-id", "voter-id", "vote")
COMMENT_COLUMNS = ("comment-id", "moderated", "comment-body")

VOTES_HEADER = ("timestamp", "datetime", "comment-id", "voter-id", "vote")
COMMENTS_HEADER = ("timestamp", "comment-id", "author-id", "agrees", "disagrees", "moderated",
                   "is-meta", "is-seed", "group-informed-consensus", "comment-body")
PARTICIPANTS_HEADER = ("participant", "xid", "group-id", "n-comments", "n-votes", "n-agree",
                       "n-disagree")
#: summary.csv's keys in Pol.is's order; other keys given are written after them.
SUMMARY_KEYS = ("topic", "url", "views", "voters", "voters-in-conv", "commenters", "comments",
                "groups", "conversation-description")

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT64 = (-(2**63), 2**63 - 1)

T = TypeVar("T")
#: Each participant's opinion group, None when not grouped; ``Analysis.participants`` as it is.
Groups = Mapping[int, int | None] | Mapping[Hashable, int | None]


@dataclass(frozen=True, kw_only=True)
class PolisStatement:
    """A comment: its text, moderation state (1 in, 0 unmoderated, −1 out) and meta flag;
    its author's participant id, when it was written (ms) and whether the moderator seeded
    it, where known."""

    text: str
    moderated: int
    is_meta: bool
    author: int | None = None
    timestamp: int | None = None
    is_seed: bool = False


@dataclass(frozen=True, kw_only=True)
class PolisExport:
    """What :func:`read_polis_export` found.

    ``votes`` and ``statements`` (by comment id) always; from participants-votes.csv, when
    present, each participant's ``xids`` (non-blank ones) and Pol.is's ``groups`` (grouped
    participants only); from comments.csv the ``group_informed_consensus`` it holds; the
    ``summary`` rows of summary.csv, when present.
    """

    votes: VoteTable
    statements: dict[int, PolisStatement]
    xids: dict[int, str] = field(default_factory=dict)
    groups: dict[int, int] = field(default_factory=dict)
    group_informed_consensus: dict[int, float] = field(default_factory=dict)
    summary: dict[str, str] = field(default_factory=dict)

    @property
    def moderated_out(self) -> frozenset[int]:
        """Comments the moderator took out, which the analysis zeroes and never reports."""
        return frozenset(i for i, s in self.statements.items() if s.moderated < 0)

    @property
    def meta(self) -> frozenset[int]:
        """Meta comments (about the conversation itself), which the analysis zeroes."""
        return frozenset(i for i, s in self.statements.items() if s.is_meta)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------

def read_polis_export(folder: str | Path) -> PolisExport:
    """The votes, comments, participants' xids and groups, and summary of an export folder.

    votes.csv and comments.csv are required; participants-votes.csv and summary.csv are read
    when present.
    """
    folder = Path(folder)
    votes = _read_votes(_Table.read(folder / "votes.csv", VOTE_COLUMNS))
    statements, consensus = _read_comments(_Table.read(folder / "comments.csv",
                                                       COMMENT_COLUMNS))
    xids: dict[int, str] = {}
    groups: dict[int, int] = {}
    if (folder / "participants-votes.csv").exists():
        xids, groups = _read_participants(
            _Table.read(folder / "participants-votes.csv", ("participant",)))
    summary = {}
    if (folder / "summary.csv").exists():
        summary = _read_summary(folder / "summary.csv")
    return PolisExport(votes=votes, statements=statements, xids=xids, groups=groups,
                       group_informed_consensus=consensus, summary=summary)


@dataclass(frozen=True)
class _Table:
    """A CSV file's data rows and header, for parsing with errors that say where."""

    name: str
    header: list[str]
    rows: list[list[str]]

    @classmethod
    def read(cls, path: Path, required: tuple[str, ...]) -> _Table:
        with path.open(encoding="utf-8-sig", newline="") as file:
            reader = csv.reader(file)
            header = next(reader, [])
            rows = list(reader)
        missing = [c for c in required if c not in header]
        if missing:
            raise ValueError(f"{path.name} has no column {', '.join(missing)}")
        for index, row in enumerate(rows):
            if row and len(row) != len(header):
                raise ValueError(f"{path.name}, row {index + 2}: {len(row)} fields where the "
                                 f"header has {len(header)}")
        # Blank lines (a trailing one, say) are no rows; counting them keeps row numbers true.
        return cls(path.name, header, rows)

    def cells(self, column: str) -> Iterable[tuple[int, str]]:
        """(row index, text) of ``column`` in every non-blank row."""
        position = self.header.index(column)
        return ((i, row[position]) for i, row in enumerate(self.rows) if row)

    def column(self, column: str) -> list[str]:
        return [text for _, text in self.cells(column)]

    def error(self, index: int, column: str, problem: str) -> ValueError:
        return ValueError(f"{self.name}, row {index + 2}, column {column!r}: {problem}")

    def parse(self, index: int, column: str, text: str, parser: Callable[[str], T]) -> T:
        try:
            return parser(text)
        except ValueError as exc:
            raise self.error(index, column, f"{text!r} {exc}") from None

    def integers(self, column: str, parser: Callable[[str], int] | None = None, *,
                 allowed: tuple[int, ...] | None = None) -> npt.NDArray[np.int64]:
        """``column`` as integers (``allowed`` ones only): vectorised, with a row-by-row pass
        by ``parser`` when that fails, which names the bad cell."""
        try:
            values = np.asarray(self.column(column), dtype=np.str_).astype(np.int64)
            if allowed is None or np.isin(values, allowed).all():
                return values
        except (ValueError, OverflowError):
            pass
        parser = parser or _integer
        return np.array([self.parse(i, column, text, parser)
                         for i, text in self.cells(column)], dtype=np.int64)


def _integer(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError("is not a whole number") from None
    if not _INT64[0] <= value <= _INT64[1]:
        raise ValueError("is out of range")
    return value


def _optional_integer(text: str) -> int | None:
    return None if text.strip() == "" else _integer(text)


def _vote(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = np.nan
    if value not in (-1.0, 0.0, 1.0):
        raise ValueError("is not a vote (-1 disagree, 0 pass, 1 agree)")
    return int(value)


def _moderation(text: str) -> int:
    value = _integer(text)
    if value not in (-1, 0, 1):
        raise ValueError("is not a moderation state (-1 out, 0 unmoderated, 1 in)")
    return value


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false", ""):
        raise ValueError("is not true or false")
    return value == "true"


def _optional_float(text: str) -> float | None:
    if text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError("is not a number") from None


def _read_votes(table: _Table) -> VoteTable:
    return VoteTable(
        voter=table.integers("voter-id"),
        statement=table.integers("comment-id"),
        vote=table.integers("vote", _vote, allowed=(-1, 0, 1)).astype(np.int8),
        timestamp=table.integers("timestamp"),
    )


def _read_comments(table: _Table) -> tuple[dict[int, PolisStatement], dict[int, float]]:
    columns = set(table.header)

    def get(row: list[str], index: int, column: str, parser: Callable[[str], T],
            default: T) -> T:
        if column not in columns:
            return default
        return table.parse(index, column, row[table.header.index(column)], parser)

    statements: dict[int, PolisStatement] = {}
    consensus: dict[int, float] = {}
    for index, row in enumerate(table.rows):
        if not row:
            continue
        comment = get(row, index, "comment-id", _integer, 0)
        if comment in statements:
            raise table.error(index, "comment-id", f"comment {comment} appears twice")
        statements[comment] = PolisStatement(
            text=row[table.header.index("comment-body")],
            moderated=get(row, index, "moderated", _moderation, 1),
            is_meta=get(row, index, "is-meta", _flag, False),
            author=get(row, index, "author-id", _optional_integer, None),
            timestamp=get(row, index, "timestamp", _optional_integer, None),
            is_seed=get(row, index, "is-seed", _flag, False),
        )
        gic = get(row, index, "group-informed-consensus", _optional_float, None)
        if gic is not None:
            consensus[comment] = gic
    return statements, consensus


def _read_participants(table: _Table) -> tuple[dict[int, str], dict[int, int]]:
    participants = [(i, table.parse(i, "participant", text, _integer))
                    for i, text in table.cells("participant")]
    xids: dict[int, str] = {}
    groups: dict[int, int] = {}
    if "xid" in table.header:
        position = table.header.index("xid")
        xids = {p: table.rows[i][position] for i, p in participants
                if table.rows[i][position] != ""}
    if "group-id" in table.header:
        position = table.header.index("group-id")
        for i, p in participants:
            group = table.parse(i, "group-id", table.rows[i][position], _optional_integer)
            if group is not None:
                groups[p] = group
    return xids, groups


def _read_summary(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    summary: dict[str, str] = {}
    for index, row in enumerate(rows):
        if len(row) > 2:
            raise ValueError(f"{path.name}, row {index + 1}: {len(row)} fields where a "
                             "key,value row has 2")
        if row:
            summary[row[0]] = row[1] if len(row) == 2 else ""
    return summary


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

def write_polis_export(
    folder: str | Path, *, votes: VoteTable, statements: Mapping[int, PolisStatement],
    groups: Groups | None = None, xids: Mapping[int, str] | None = None,
    group_informed_consensus: Mapping[int, float] | None = None,
    summary: Mapping[str, str] | None = None,
) -> None:
    """Write ``votes.csv``, ``comments.csv``, ``participants-votes.csv`` and ``summary.csv``
    into ``folder`` (created if need be), in Pol.is's format and by its counting rules
    (module docstring).

    ``votes`` is written whole, superseded votes too; ids must be integers and timestamps
    whole milliseconds. ``groups`` gives each participant's opinion group (None or absent:
    not grouped; e.g. ``Analysis.participants``), ``xids`` their external ids,
    ``group_informed_consensus`` the comments' GIC (blank where absent). ``summary`` gives
    the rows that cannot be computed (topic, url, views, conversation-description; other keys
    follow Pol.is's); voters, voters-in-conv, comments, and — where authors or ``groups``
    are given — commenters and groups are counted from the data instead.
    """
    folder = Path(folder)
    voter = _integer_ids(votes.voter, "voter")
    statement = _integer_ids(votes.statement, "comment")
    timestamp = _milliseconds(votes.timestamp)
    vote = np.asarray(votes.vote, dtype=np.int64)
    groups = groups or {}
    folder.mkdir(parents=True, exist_ok=True)

    order = np.lexsort((timestamp, voter, statement))
    _write(folder / "votes.csv", VOTES_HEADER, (
        (str(t), _java_datetime(t), str(c), str(p), str(v)) for t, c, p, v in zip(
            timestamp[order].tolist(), statement[order].tolist(), voter[order].tolist(),
            vote[order].tolist(), strict=True)))

    agrees = Counter(statement[vote == 1].tolist())
    disagrees = Counter(statement[vote == -1].tolist())
    consensus = group_informed_consensus or {}
    _write(folder / "comments.csv", COMMENTS_HEADER, (
        (_blank(s.timestamp), str(c), _blank(s.author), str(agrees[c]), str(disagrees[c]),
         str(s.moderated), _boolean(s.is_meta), _boolean(s.is_seed),
         repr(float(consensus[c])) if c in consensus else "", s.text)
        for c, s in sorted(statements.items())))

    table = _ParticipantsTable.of(voter, statement, vote, timestamp)
    authored = Counter(s.author for s in statements.values() if s.author is not None)
    _write(folder / "participants-votes.csv",
           (*PARTICIPANTS_HEADER, *map(str, table.comments)),
           table.rows(xids or {}, groups, authored))

    counted: dict[str, object] = {"voters": len(table.participants),
                                  "voters-in-conv": len(table.participants),
                                  "comments": len(table.comments)}
    if authored:
        counted["commenters"] = len(authored)
    if groups:
        counted["groups"] = len({groups[p] for p in table.participants
                                 if groups.get(p) is not None})
    given = dict(summary or {})
    keys = [*SUMMARY_KEYS, *(k for k in given if k not in SUMMARY_KEYS)]
    _write(folder / "summary.csv", None, (
        (key, str(counted[key] if key in counted else given[key]))
        for key in keys if key in counted or key in given))


@dataclass(frozen=True)
class _ParticipantsTable:
    """Standing votes laid out as Pol.is's participants-votes.csv lays them out."""

    participants: list[int]  # in Pol.is's row order
    comments: list[int]  # the comments with a vote, by id
    cells: list[list[tuple[int, int]]]  # each participant's (column, standing vote)

    @classmethod
    def of(cls, voter: npt.NDArray[np.int64], statement: npt.NDArray[np.int64],
           vote: npt.NDArray[np.int64], timestamp: npt.NDArray[np.int64],
           ) -> _ParticipantsTable:
        if voter.size == 0:
            return cls([], [], [])
        matrix = standing_votes(voter, statement, vote.astype(np.int8), timestamp)
        # A row's columns increase, so its first is the lowest comment id voted on.
        first_comment = matrix.indices[matrix.indptr[:-1]]
        order = np.lexsort((matrix.voters, first_comment))
        indptr, indices, standing = (matrix.indptr.tolist(), matrix.indices.tolist(),
                                     matrix.votes.tolist())
        cells = [list(zip(indices[indptr[r]:indptr[r + 1]], standing[indptr[r]:indptr[r + 1]],
                          strict=True)) for r in order.tolist()]
        return cls(matrix.voters[order].tolist(), matrix.statements.tolist(), cells)

    def rows(self, xids: Mapping[int, str], groups: Groups,
             authored: Mapping[int, int]) -> Iterable[Sequence[str]]:
        for participant, cells in zip(self.participants, self.cells, strict=True):
            row = [""] * len(self.comments)
            for column, value in cells:
                row[column] = str(value)
            yield (str(participant), xids.get(participant, ""),
                   _blank(groups.get(participant)), str(authored.get(participant, 0)),
                   str(len(cells)), str(sum(v == 1 for _, v in cells)),
                   str(sum(v == -1 for _, v in cells)), *row)


def _integer_ids(ids: npt.NDArray[Any], what: str) -> npt.NDArray[np.int64]:
    if ids.dtype.kind not in "iu":
        raise ValueError(f"a Pol.is export needs integer {what} ids, not {ids.dtype}")
    return np.asarray(ids, dtype=np.int64)


def _milliseconds(timestamp: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    if timestamp.dtype.kind == "f":
        if not np.array_equal(timestamp, np.round(timestamp)):
            raise ValueError("a Pol.is export needs timestamps in whole milliseconds")
        if timestamp.size and np.abs(timestamp).max() > 2**62:
            raise ValueError("timestamps out of range")
    return np.asarray(timestamp, dtype=np.int64)


def _java_datetime(ms: int) -> str:
    """Java's ``Date.toString()`` in UTC, as Pol.is writes it: ``Fri Sep 20 19:29:43 UTC 2024``."""
    try:
        moment = _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        raise ValueError(f"timestamp {ms} ms is out of range for a date") from None
    return (f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day:02d} "
            f"{moment:%H:%M:%S} UTC {moment.year}")


def _blank(value: int | None) -> str:
    return "" if value is None else str(value)


def _boolean(value: bool) -> str:
    return "true" if value else "false"


def _field(text: str) -> str:
    """A CSV field, quoted only when it must be (Pol.is's and RFC 4180's rule; the csv
    module's, with ``\\n`` line ends, would leave a lone ``\\r`` unquoted)."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _write(path: Path, header: Sequence[str] | None,
           rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        if header is not None:
            file.write(",".join(map(_field, header)) + "\n")
        file.writelines(",".join(map(_field, row)) + "\n" for row in rows)
