"""Representative statements, consensus, group-informed consensus and priorities.

Pol.is ``repness.clj``, ``stats.clj`` and ``conversation.clj`` (the spec's §1.6–1.8), on vote
counts: agrees, disagrees and seen (every vote, passes included) per group and statement.

**Tests.** One proportion: Z₁(s, n) = 2·√(n+1)·((s+1)/(n+1) − ½). Two proportions:
p₁ = (s₁+1)/(n₁+1), p₂ = (s₂+1)/(n₂+1), p̂ = (s₁+s₂+2)/(n₁+n₂+2),
Z₂ = (p₁ − p₂)/√(p̂(1−p̂)(1/(n₁+1) + 1/(n₂+1))), and Z₂ = 0 when p̂ = 1. A value is
significant when it exceeds 1.2816 (one-sided 90%).

**Repness** of statement c for group g, with na, nd, ns the group's agrees, disagrees and seen
and NA, ND, NS those of all other groups pooled: pa = (na+1)/(ns+2), pd = (nd+1)/(ns+2),
ra = pa/((NA+1)/(NS+2)), rd = pd/((ND+1)/(NS+2)), pat = Z₁(na, ns), pdt = Z₁(nd, ns),
rat = Z₂(na, NA, ns, NS), rdt = Z₂(nd, ND, ns, NS). Its direction is agree when rat > rdt,
disagree otherwise; repness, repness test, p-success and p-test are that direction's
(ra, rat, pa, pat) or (rd, rdt, pd, pdt), and its score their product. It *qualifies* when
(rat and pat) or (rdt and pdt) are both significant.

**Selection** for a group, scanning the statements in order (moderated-out ones excluded):

- *best agree*: statements with na = nd = 0 are skipped; a statement replaces the current best
  when the best has ra > 1 and the statement's ra·rat·pa·pat is larger, or the best has
  ra ≤ 1 and the statement's pa·pat is larger, or there is no best yet and pat is significant
  or ra > 1 with pa > 0.5;
- if some statements qualify: best agree first (if any), then the other qualifying statements
  by descending score (stable), the first 5 of these, agrees then disagrees (stable);
- otherwise [best agree], or failing that the statement with the largest max(rat, rdt).

**Consensus** over every participant (grouped or not): agree — statements with pa > 0.5 and
pat significant, by descending pa·pat, the first 5; disagree likewise with pd and pdt.

**Group-informed consensus** GIC(c) = ∏_g (A_g + 1)/(S_g + 2), over the groups' raw votes.

**Priority** from the groups' raw votes summed (A, D, S; P = S − A − D) and the statement's
extremity E: a = (A+1)/(S+2), p = (P+1)/(S+2), importance = a·(1 − p)·(1 + E),
priority = (importance·(1 + 8·2^(−S/5)))²; meta statements 7² = 49.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: One-sided 90% critical value of the standard normal (Pol.is ``z-sig-90?``).
Z90 = 1.2816
REPRESENTATIVE_COUNT = 5
CONSENSUS_COUNT = 5
META_PRIORITY = 7.0


@dataclass(frozen=True)
class Tally:
    """Agrees, disagrees and seen per group (rows) and statement (columns)."""

    agree: FloatArray
    disagree: FloatArray
    seen: FloatArray


@dataclass(frozen=True)
class Pick:
    """A representative statement: a column index and its chosen direction's statistics."""

    column: int
    agree: bool
    repness: float
    repness_test: float
    p_success: float
    p_test: float
    n_success: int
    n_trials: int
    best_agree: bool


@dataclass(frozen=True)
class ConsensusPick:
    column: int
    p_success: float
    p_test: float
    n_success: int
    n_trials: int


def tally(groups: IntArray | None, n_groups: int, columns: npt.NDArray[np.int32],
          votes: npt.NDArray[np.int8], n_columns: int) -> Tally:
    """Vote counts per group, from each stored vote's group (−1: not counted; None: one
    group of everyone)."""
    if groups is None:
        cell: npt.NDArray[np.int64] = columns.astype(np.int64)
        value = votes
    else:
        counted = groups >= 0
        cell = groups[counted] * n_columns + columns[counted]
        value = votes[counted]
    size = n_groups * n_columns

    def count(selected: npt.NDArray[np.int64]) -> FloatArray:
        return np.bincount(selected, minlength=size).reshape(n_groups, n_columns).astype(
            np.float64)

    return Tally(agree=count(cell[value > 0]), disagree=count(cell[value < 0]),
                 seen=count(cell))


def prop_test(success: FloatArray, trials: FloatArray) -> FloatArray:
    """Z₁(s, n) = 2·√(n+1)·((s+1)/(n+1) − ½)."""
    result: FloatArray = 2.0 * np.sqrt(trials + 1) * ((success + 1) / (trials + 1) - 0.5)
    return result


def two_prop_test(success_in: FloatArray, success_out: FloatArray, trials_in: FloatArray,
                  trials_out: FloatArray) -> FloatArray:
    """Z₂(s₁, s₂, n₁, n₂), 0 where p̂ = 1."""
    s1, s2, n1, n2 = success_in + 1, success_out + 1, trials_in + 1, trials_out + 1
    pooled = (s1 + s2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (s1 / n1 - s2 / n2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    result: FloatArray = np.where(pooled == 1, 0.0, z)
    return result


@dataclass(frozen=True)
class Repness:
    """The statistics of the module docstring, groups (rows) × statements (columns)."""

    na: FloatArray
    nd: FloatArray
    ns: FloatArray
    pa: FloatArray
    pd: FloatArray
    ra: FloatArray
    rd: FloatArray
    pat: FloatArray
    pdt: FloatArray
    rat: FloatArray
    rdt: FloatArray

    @classmethod
    def of(cls, counts: Tally) -> Repness:
        na, nd, ns = counts.agree, counts.disagree, counts.seen
        rest_a, rest_d, rest_s = na.sum(0) - na, nd.sum(0) - nd, ns.sum(0) - ns
        pa, pd = (na + 1) / (ns + 2), (nd + 1) / (ns + 2)
        return cls(
            na=na, nd=nd, ns=ns, pa=pa, pd=pd,
            ra=pa / ((rest_a + 1) / (rest_s + 2)), rd=pd / ((rest_d + 1) / (rest_s + 2)),
            pat=prop_test(na, ns), pdt=prop_test(nd, ns),
            rat=two_prop_test(na, rest_a, ns, rest_s),
            rdt=two_prop_test(nd, rest_d, ns, rest_s))

    @property
    def agree(self) -> BoolArray:
        """Whether each statement's direction is agree (rat > rdt)."""
        result: BoolArray = self.rat > self.rdt
        return result

    @property
    def qualifies(self) -> BoolArray:
        result: BoolArray = (((self.rat > Z90) & (self.pat > Z90))
                             | ((self.rdt > Z90) & (self.pdt > Z90)))
        return result

    def pick(self, g: int, column: int, *, best_agree: bool = False) -> Pick:
        """Statement ``column`` for group ``g``, with its direction's statistics."""
        if self.rat[g, column] > self.rdt[g, column]:
            chosen = (self.ra, self.rat, self.pa, self.pat, self.na)
        else:
            chosen = (self.rd, self.rdt, self.pd, self.pdt, self.nd)
        repness, test, p, p_test, n = (float(a[g, column]) for a in chosen)
        return Pick(column=column, agree=bool(self.agree[g, column]), repness=repness,
                    repness_test=test, p_success=p, p_test=p_test, n_success=int(n),
                    n_trials=int(self.ns[g, column]), best_agree=best_agree)

    def score(self, g: int) -> FloatArray:
        """repness × repness test × p-success × p-test in each statement's direction."""
        agree = self.agree[g]
        result: FloatArray = np.where(agree, self.ra[g] * self.rat[g] * self.pa[g] * self.pat[g],
                                      self.rd[g] * self.rdt[g] * self.pd[g] * self.pdt[g])
        return result

    def best_agree(self, g: int, candidates: IntArray) -> int | None:
        """The group's best-agree statement, by Pol.is's sequential scan (module docstring)."""
        voted = candidates[(self.na[g, candidates] + self.nd[g, candidates]) > 0]
        ra, rat = self.ra[g, voted], self.rat[g, voted]
        pa, pat = self.pa[g, voted], self.pat[g, voted]
        ratios = ra.tolist()
        full = (ra * rat * pa * pat).tolist()
        simple = (pa * pat).tolist()
        opens = ((pat > Z90) | ((ra > 1) & (pa > 0.5))).tolist()
        best: int | None = None
        for i in range(voted.size):
            if best is None:
                if opens[i]:
                    best = i
            elif ratios[best] > 1:
                if full[i] > full[best]:
                    best = i
            elif simple[i] > simple[best]:
                best = i
        return None if best is None else int(voted[best])


def representative(counts: Tally, *, excluded: BoolArray) -> list[list[Pick]]:
    """Each group's representative statements (module docstring)."""
    stats = Repness.of(counts)
    qualifies = stats.qualifies
    candidates = np.flatnonzero(~excluded)
    result: list[list[Pick]] = []
    for g in range(stats.na.shape[0]):
        best = stats.best_agree(g, candidates)
        head = [] if best is None else [stats.pick(g, best, best_agree=True)]
        chosen = candidates[qualifies[g, candidates]]
        if chosen.size == 0:
            if not head and candidates.size:
                strongest = np.maximum(stats.rat[g, candidates], stats.rdt[g, candidates])
                head = [stats.pick(g, int(candidates[np.argmax(strongest)]))]
            result.append(head)
            continue
        if best is not None:
            chosen = chosen[chosen != best]
        chosen = chosen[np.argsort(-stats.score(g)[chosen], kind="stable")]
        picks = (head + [stats.pick(g, int(c)) for c in chosen])[:REPRESENTATIVE_COUNT]
        result.append([p for p in picks if p.agree] + [p for p in picks if not p.agree])
    return result


def consensus(counts: Tally, *, excluded: BoolArray) -> tuple[list[ConsensusPick],
                                                             list[ConsensusPick]]:
    """Agree and disagree consensus statements from one row of counts over everyone."""
    ns = counts.seen[0]
    lists = []
    for success in (counts.agree[0], counts.disagree[0]):
        p = (success + 1) / (ns + 2)
        test = prop_test(success, ns)
        chosen = np.flatnonzero(~excluded & (p > 0.5) & (test > Z90))
        chosen = chosen[np.argsort(-(p * test)[chosen], kind="stable")][:CONSENSUS_COUNT]
        lists.append([ConsensusPick(column=int(c), p_success=float(p[c]),
                                    p_test=float(test[c]), n_success=int(success[c]),
                                    n_trials=int(ns[c])) for c in chosen])
    return lists[0], lists[1]


def group_informed_consensus(counts: Tally) -> FloatArray:
    """∏_g (A_g + 1)/(S_g + 2) per statement (1 where there are no groups)."""
    result: FloatArray = np.prod((counts.agree + 1) / (counts.seen + 2), axis=0)
    return result


def priorities(counts: Tally, *, extremity: FloatArray, meta: BoolArray) -> FloatArray:
    """Each statement's routing priority (module docstring)."""
    agrees, disagrees, seen = (counts.agree.sum(0), counts.disagree.sum(0),
                               counts.seen.sum(0))
    passes = seen - agrees - disagrees
    a = (agrees + 1) / (seen + 2)
    p = (passes + 1) / (seen + 2)
    importance = a * (1 - p) * (1 + extremity)
    result: FloatArray = np.where(
        meta, META_PRIORITY**2, (importance * (1 + 8 * np.exp2(-seen / 5))) ** 2)
    return result
