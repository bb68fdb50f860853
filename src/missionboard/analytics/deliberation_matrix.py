"""The deliberation engine's vote matrix and opinion map (see :mod:`.deliberation`).

A vote table (voter, statement, vote, timestamp) becomes a sparse participants × statements
matrix in a canonical row order; its principal components give the 2-D opinion map.

**Standing votes.** For each (voter, statement) the vote with the latest timestamp stands; among
votes with the same latest timestamp the highest vote stands (agree over pass over disagree),
so that the result does not depend on the order of the rows.

**Canonical order.** Columns are the statements in sorted order of their ids. Rows are the
participants in order of their first standing vote (Pol.is: insertion order, which k-means'
"first distinct points" initialisation depends on); participants whose first standing votes
share a timestamp are ordered by a 64-bit hash of their standing votes (a sum over their
votes of a mixed key, so independent of the voter's id), and only identical vote rows fall
back on the order of voter ids — where the order cannot change any result.

**Opinion map** (Pol.is ``pca.clj``; the spec's §1.2–1.3). With the zeroed columns (moderated
out or meta) set to 0 everywhere, mean imputation and centring leave x_ij − μ_j at the observed
cells and 0 elsewhere, so the centred matrix X has the sparsity of the votes. Its top two right
singular vectors are the components (ARPACK on v ↦ Xᵀ(Xv), from a seeded start vector, to
machine precision; a dense eigendecomposition for small matrices), each signed so that its
largest loading is positive (in an update: so that it agrees with its predecessor).
Participant i is placed at √(C / max(1, nᵢ)) · (X V)ᵢ, where nᵢ counts i's votes on kept
columns plus every zeroed column, and C is every statement with a vote; statement j (a virtual
participant agreeing with j only) at √C · (1 − μ_j) · V_j, whose length is its extremity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import linalg as sparse_linalg

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
IdArray = npt.NDArray[Any]

#: Up to this many cells (participants × kept statements), and this many kept statements, the
#: components come from a dense eigendecomposition of XᵀX rather than from ARPACK.
DENSE_CELLS = 4_000_000
DENSE_STATEMENTS = 600


@dataclass(frozen=True)
class VoteMatrix:
    """Standing votes, participants (rows, canonical order) × statements (sorted ids).

    CSR arrays: row r's votes are ``votes[indptr[r]:indptr[r + 1]]`` on the statement columns
    ``indices[...]`` (increasing); passes are stored as explicit 0s.
    """

    voters: IdArray
    statements: IdArray
    indptr: IntArray
    indices: npt.NDArray[np.int32]
    votes: npt.NDArray[np.int8]

    @property
    def n_participants(self) -> int:
        return int(self.voters.size)

    @property
    def n_statements(self) -> int:
        return int(self.statements.size)

    @property
    def rows(self) -> IntArray:
        """The row of every stored vote."""
        return np.repeat(np.arange(self.n_participants, dtype=np.int64), np.diff(self.indptr))

    @property
    def vote_counts(self) -> IntArray:
        """Standing votes per participant (passes and zeroed statements included)."""
        return np.diff(self.indptr)


@dataclass(frozen=True)
class OpinionMap:
    """Components, centre and projections of :func:`opinion_map`, in the matrix's orders."""

    centre: FloatArray
    components: FloatArray
    participants: FloatArray
    statements: FloatArray
    extremity: FloatArray


def encode(ids: IdArray) -> tuple[IdArray, IntArray]:
    """The sorted distinct ids and each element's index among them (``np.unique``'s inverse).

    Non-negative integer ids that are not too sparse are encoded by a lookup table, in linear
    time; anything else by sorting.
    """
    if ids.size and np.issubdtype(ids.dtype, np.integer):
        low, high = int(ids.min()), int(ids.max())
        if low >= 0 and high < 4 * ids.size + 1024:
            present = np.zeros(high + 1, dtype=np.bool_)
            present[ids] = True
            table = np.cumsum(present, dtype=np.int64) - 1
            return np.flatnonzero(present).astype(ids.dtype), table[ids]
    distinct, inverse = np.unique(ids, return_inverse=True)
    return distinct, inverse.astype(np.int64).reshape(-1)


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser, element by element (wrapping uint64 arithmetic)."""
    z = values + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    result: npt.NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return result


def standing_votes(voter: IdArray, statement: IdArray, vote: npt.NDArray[np.int8],
                   timestamp: npt.NDArray[Any]) -> VoteMatrix:
    """De-duplicate the votes and lay them out in the canonical order (module docstring)."""
    voters, voter_code = encode(voter)
    statements, statement_code = encode(statement)
    n_statements = int(statements.size)
    shift = max(1, (n_statements - 1).bit_length())
    key = voter_code << shift
    key |= statement_code
    del voter_code, statement_code
    order, sorted_key = _sort(key, voters.size << shift)
    del key
    first_of_cell = np.empty(sorted_key.size, dtype=np.bool_)
    first_of_cell[0] = True
    np.not_equal(sorted_key[1:], sorted_key[:-1], out=first_of_cell[1:])
    if not first_of_cell.all():
        order = _latest(order, first_of_cell, vote, timestamp)
        sorted_key = sorted_key[first_of_cell]
    del first_of_cell
    row = sorted_key >> shift
    column = (sorted_key & ((1 << shift) - 1)).astype(np.int32)
    del sorted_key
    counts = np.bincount(row, minlength=voters.size)
    del row
    indptr = np.zeros(voters.size + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    kept_vote = vote[order]
    # Every voter has a vote, so no row is empty for reduceat.
    first = np.minimum.reduceat(timestamp[order], indptr[:-1])
    del order
    content = _tie_breaker(first, indptr, column, kept_vote)
    permutation = np.lexsort((np.arange(voters.size), content, first))
    lengths = counts[permutation]
    new_indptr = np.zeros_like(indptr)
    np.cumsum(lengths, out=new_indptr[1:])
    source = _spans(indptr[:-1][permutation], lengths)
    return VoteMatrix(
        voters=voters[permutation],
        statements=statements,
        indptr=new_indptr,
        indices=column[source],
        votes=kept_vote[source],
    )


def _sort(key: IntArray, bound: int) -> tuple[IntArray, IntArray]:
    """The order that sorts ``key`` (values below ``bound``) and the sorted keys.

    When key and position fit in 64 bits together they are sorted as one packed integer —
    a plain sort, several times faster than an argsort.
    """
    bits = max(1, (key.size - 1).bit_length())
    if bound >= 1 << (64 - bits):
        order = np.argsort(key)
        return order, key[order]
    packed = key.astype(np.uint64) << np.uint64(bits)
    packed |= np.arange(key.size, dtype=np.uint64)
    packed.sort()
    order = (packed & np.uint64((1 << bits) - 1)).view(np.int64)
    packed >>= np.uint64(bits)
    return order, packed.view(np.int64)


def _spans(starts: IntArray, lengths: IntArray) -> IntArray:
    """starts[i], starts[i] + 1, …, starts[i] + lengths[i] − 1 for every i, concatenated."""
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    positions = np.repeat(starts - offsets[:-1], lengths)
    positions += np.arange(positions.size, dtype=np.int64)
    return positions


def _latest(order: IntArray, first_of_cell: BoolArray, vote: npt.NDArray[np.int8],
            timestamp: npt.NDArray[Any]) -> IntArray:
    """Per run of equal keys, the vote with the latest timestamp (ties: the highest vote).

    Only the runs of two or more votes are looked at, so the cost follows the duplicates.
    """
    repeat = ~first_of_cell
    involved = repeat.copy()
    involved[:-1] |= repeat[1:]
    position = np.flatnonzero(involved)
    del involved, repeat
    run = np.cumsum(first_of_cell[position])
    source = order[position]
    ranking = np.lexsort((vote[source], timestamp[source], run))
    last = np.flatnonzero(np.append(run[1:] != run[:-1], True))
    chosen = order[first_of_cell]
    cell = np.cumsum(first_of_cell) - 1
    chosen[cell[position[last]]] = source[ranking[last]]
    return chosen


def _tie_breaker(first: npt.NDArray[Any], indptr: IntArray, column: npt.NDArray[np.int32],
                 vote: npt.NDArray[np.int8]) -> npt.NDArray[np.uint64]:
    """For participants sharing a first-vote time, a hash of their votes (0 for the rest)."""
    content = np.zeros(first.size, dtype=np.uint64)
    ranked = np.sort(first)
    shared = ranked[1:][ranked[1:] == ranked[:-1]]
    tied = np.flatnonzero(np.isin(first, shared))
    if tied.size:
        lengths = np.diff(indptr)[tied]
        entries = _spans(indptr[:-1][tied], lengths)
        cell = column[entries].astype(np.uint64) * np.uint64(3)
        cell += (vote[entries] + 1).astype(np.uint64)
        local = np.zeros(tied.size, dtype=np.int64)
        np.cumsum(lengths[:-1], out=local[1:])
        content[tied] = np.add.reduceat(_mix(cell), local)
    return content


def opinion_map(matrix: VoteMatrix, *, zeroed: BoolArray, seed: int,
                previous: FloatArray | None = None) -> OpinionMap:
    """Centre, components and projections (module docstring); ``zeroed`` marks columns.

    ``previous``: the last update's components on these columns (0 on new ones), which start
    ARPACK (new columns padded with 1s, as Pol.is pads its power iteration) and fix the signs
    (each component keeps the sign that agrees with its predecessor), so that the map does not
    flip between updates.
    """
    n, c = matrix.n_participants, matrix.n_statements
    columns = matrix.indices
    values = matrix.votes.astype(np.float64)
    seen = np.bincount(columns, minlength=c).astype(np.float64)
    centre = np.bincount(columns, weights=values, minlength=c) / np.maximum(seen, 1.0)
    centre[zeroed] = 0.0
    kept = np.flatnonzero(~zeroed)
    position = np.full(c, -1, dtype=np.int64)
    position[kept] = np.arange(kept.size)
    on_kept = ~zeroed[columns]
    if on_kept.all():
        x = sparse.csr_array((values - centre[columns], columns, matrix.indptr), shape=(n, c))
    else:
        # Every row holds at least one vote, so reduceat sees no empty segment.
        kept_rows = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.add.reduceat(on_kept.astype(np.int64), matrix.indptr[:-1]),
                  out=kept_rows[1:])
        x = sparse.csr_array(
            ((values - centre[columns])[on_kept], position[columns[on_kept]], kept_rows),
            shape=(n, kept.size))
    del values, on_kept
    components = np.zeros((c, 2))
    components[kept] = _top_components(
        x, seed=seed, previous=None if previous is None else previous[kept])
    observed = np.diff(x.indptr) + (c - kept.size)
    scale = np.sqrt(c / np.maximum(observed, 1))
    participants = (x @ components[kept]) * scale[:, None] + 0.0
    statements = np.sqrt(c) * (1.0 - centre)[:, None] * components
    return OpinionMap(
        centre=centre,
        components=components,
        participants=participants,
        statements=statements,
        extremity=np.hypot(statements[:, 0], statements[:, 1]),
    )


def _top_components(x: sparse.csr_array, *, seed: int,
                    previous: FloatArray | None) -> FloatArray:
    """The top two right singular vectors of ``x`` as columns (zeros where rank < 2)."""
    n, c = x.shape
    result = np.zeros((c, 2))
    if n == 0 or c == 0:
        return result
    if c <= 2 or (n * c <= DENSE_CELLS and c <= DENSE_STATEMENTS):
        dense = x.toarray()
        values, vectors = np.linalg.eigh(dense.T @ dense)
        top = vectors[:, ::-1][:, :2]
        values = values[::-1][:2]
    else:
        start = np.random.default_rng(seed).uniform(0.5, 1.5, c)
        if previous is not None and previous[:, 0].any():
            start = np.where(previous[:, 0] == 0, 1.0, previous[:, 0])
        gram = sparse_linalg.LinearOperator(
            (c, c), matvec=lambda v: x.T @ (x @ v), dtype=np.float64)
        values, vectors = sparse_linalg.eigsh(gram, k=2, which="LA", v0=start, tol=0.0)
        order = np.argsort(values)[::-1]
        top, values = vectors[:, order], values[order]
    # Directions with no variance (rank below 2) stay 0 rather than rounding noise.
    floor = 1e-12 * float(np.square(x.data).sum())
    for j in range(top.shape[1]):
        if values[j] <= floor:
            continue
        vector = top[:, j]
        agreement = 0.0 if previous is None else float(previous[:, j] @ vector)
        if agreement == 0.0:
            agreement = float(vector[np.argmax(np.abs(vector))])
        result[:, j] = -vector if agreement < 0 else vector
    return result
