"""Read a Pol.is conversation export (the folder Pol.is's "export" writes).

- ``votes.csv``: timestamp (ms), datetime, comment-id, voter-id, vote — an event log in the
  export's sign convention (+1 agree, −1 disagree, 0 pass); the last vote by timestamp per
  voter and comment stands (:func:`missionboard.analytics.deliberation.analyse` applies that).
- ``comments.csv``: comment-id, moderated (1 in, 0 unmoderated, −1 out), optionally is-meta
  (``true``/``false``), comment-body.

Columns are found by name, so the exports' differing column sets (with or without datetime,
is-meta, is-seed, group-informed-consensus) all read.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from missionboard.analytics.deliberation import VoteTable

VOTE_COLUMNS = ("timestamp", "comment-id", "voter-id", "vote")
COMMENT_COLUMNS = ("comment-id", "moderated", "comment-body")


@dataclass(frozen=True, kw_only=True)
class PolisStatement:
    """A comment: its text, moderation state (1 in, 0 unmoderated, −1 out) and meta flag."""

    text: str
    moderated: int
    is_meta: bool


class PolisExport(NamedTuple):
    """``votes, statements, moderated_out = read_polis_export(folder)``; ``.meta`` too."""

    votes: VoteTable
    statements: dict[int, PolisStatement]
    moderated_out: frozenset[int]

    @property
    def meta(self) -> frozenset[int]:
        """Meta comments (about the conversation itself), which the analysis zeroes."""
        return frozenset(i for i, s in self.statements.items() if s.is_meta)


def read_polis_export(folder: str | Path) -> PolisExport:
    """The votes, the comments by id and the ids moderated out, from an export folder."""
    folder = Path(folder)
    rows = _read(folder / "votes.csv", VOTE_COLUMNS)
    votes = VoteTable(
        voter=np.array([int(r["voter-id"]) for r in rows], dtype=np.int64),
        statement=np.array([int(r["comment-id"]) for r in rows], dtype=np.int64),
        vote=np.array([int(float(r["vote"])) for r in rows], dtype=np.int8),
        timestamp=np.array([int(r["timestamp"]) for r in rows], dtype=np.int64),
    )
    statements = {
        int(r["comment-id"]): PolisStatement(
            text=r["comment-body"], moderated=int(r["moderated"]),
            is_meta=r.get("is-meta", "false").strip().lower() == "true")
        for r in _read(folder / "comments.csv", COMMENT_COLUMNS)
    }
    moderated_out = frozenset(i for i, s in statements.items() if s.moderated < 0)
    return PolisExport(votes=votes, statements=statements, moderated_out=moderated_out)


def _read(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.DictReader(file)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name} has no column {', '.join(missing)}")
        return list(reader)
