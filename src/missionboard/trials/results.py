"""A trial's results: the locked plan's analyses run on the loaded outcome data, and the
evidence summary built on them (the primary effect in plain words, its cost and the security
of the finding in padlocks).

Nothing here writes to the database: the results are computed afresh from the stored rows
each time (a trial has at most a few hundred thousand values), so they always match the data
and the plan in force.

**What is run.** For every outcome in the plan in force (and, marked exploratory, any other
registered outcome with data), each treatment arm is compared with the control arm — the
first arm — with :func:`missionboard.analytics.trials.analyse`:

- the plan's model: ``difference_in_means`` → ``difference``; ``ancova`` → ``ancova`` on the
  plan's covariates; ``cuped`` → ``cuped`` with the outcome's pre-period covariate (the
  covariate named like the outcome, ``pre_<outcome>``, ``<outcome>_pre``,
  ``baseline_<outcome>`` or ``prior_<outcome>``, else the first covariate);
  ``cluster_robust`` → ``ancova`` on the covariates, or ``difference`` without any;
- a 0/1 outcome is a binary one: its difference is a risk difference (``risk_difference``,
  Wald or cluster-robust), and with covariates the ANCOVA is the linear probability model;
- the variance: with clusters (a cluster trial, or the ``cluster_robust`` model), CR2 with
  the Bell–McCaffrey (Satterthwaite) degrees of freedom when there are fewer than
  :data:`FEW_CLUSTERS` clusters, else CR1 on G − 1 df; otherwise the library's default (Welch
  for differences, HC2 for ANCOVA, Wald for risk differences);
- intervals at 1 − the plan's significance level; units missing a covariate the model needs
  are left out of that analysis (and counted in the CONSORT flow as not analysed).

Each continuous outcome also has a standardised effect, Hedges' g: the model's effect and
interval divided by the pooled SD of the outcome and multiplied by Hedges' J
(:func:`missionboard.analytics.trials.hedges_g_from_summary`), so that its interval carries
the clustering and the covariate adjustment (as the EEF reports effect sizes); for a plan
marked ``education`` it is read as months of additional progress
(:func:`~missionboard.analytics.trials.eef_months`).

Adjusted p-values follow the plan's rule, Holm or Benjamini–Hochberg, within the family of
the primary outcomes and separately within the secondary ones. Pre-specified subgroups are
tested by the treatment × subgroup interaction on the primary outcomes. Each analysis is
classed pre-specified or exploratory by :func:`missionboard.trials.service.classify_analysis`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from missionboard.analytics import trial_power
from missionboard.analytics import trials as stats
from missionboard.analytics.trials import (
    ConsortFlow,
    EffectSize,
    Estimate,
    Method,
    SubgroupResult,
    TrialInputError,
    Variance,
)
from missionboard.delivery import service as delivery_service
from missionboard.delivery.models import EvidenceKind, InterventionEffect
from missionboard.trials import service
from missionboard.trials.models import (
    AnalysisModel,
    AnalysisPlan,
    MultipleTesting,
    OutcomeRole,
    OutcomeValue,
    Trial,
    TrialDesign,
    TrialExposure,
    TrialUnit,
    UnitKind,
)
from missionboard.trials.service import AnalysisClass

#: Below this many clusters the SE is CR2 with Bell–McCaffrey df; from it, CR1 (G − 1 df).
FEW_CLUSTERS = 50
#: The EEF's minimum detectable effect size is at 80% power, 5% two-sided.
MDES_POWER = 0.8
MDES_ALPHA = 0.05
#: A baseline standardised difference above this costs a padlock.
IMBALANCE = 0.1
#: EEF padlock bands: the largest MDES (and attrition) allowing 5, 4, 3, 2, 1 padlocks.
MDES_BANDS = (0.2, 0.29, 0.39, 0.49, 0.59)
ATTRITION_BANDS = (0.10, 0.20, 0.30, 0.40, 0.50)

Kind = Literal["continuous", "binary"]
#: An outcome's values: the units' positions and the values.
FloatPair = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


# Results -----------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class StandardisedEffect:
    """Hedges' g of the model's effect: g = J·effect/s_p, the interval J·[low, high]/s_p."""

    g: float
    ci_low: float
    ci_high: float
    sd_pooled: float
    correction: float
    months: int | None


@dataclass(frozen=True, kw_only=True)
class SampleDesign:
    """The achieved sample of an analysis, for its minimum detectable effect size: units,
    clusters (with their mean size) and the treated share, the outcome's intra-cluster
    correlation and the share of its variance the covariates explain."""

    n: int
    clusters: int | None
    cluster_size: float | None
    ratio: float
    icc: float
    r2: float


@dataclass(frozen=True, kw_only=True)
class OutcomeAnalysis:
    """One outcome, one treatment arm against control."""

    outcome: str
    title: str
    role: OutcomeRole
    in_plan: bool
    family: str  # "primary", "secondary", or "" outside the plan (not adjusted)
    arm: str
    arm_label: str
    control: str
    control_label: str
    kind: Kind
    method: str
    covariates: tuple[str, ...]
    estimate: Estimate | None
    error: str
    p_adjusted: float | None
    mean_treated: float | None
    mean_control: float | None
    effect_size: StandardisedEffect | None
    classification: AnalysisClass
    design: SampleDesign | None

    @property
    def estimated(self) -> bool:
        return self.estimate is not None

    @property
    def method_label(self) -> str:
        return describe_method(self.method, self.kind, self.estimate)


@dataclass(frozen=True, kw_only=True)
class SubgroupAnalysis:
    """A pre-specified subgroup's interaction with treatment on a primary outcome."""

    outcome: str
    subgroup: str
    level: str
    arm: str
    result: SubgroupResult | None
    error: str
    classification: AnalysisClass


@dataclass(frozen=True, kw_only=True)
class TrialResults:
    """Every analysis of the plan in force, the CONSORT flow of the primary outcome and the
    allocation's balance table. ``has_data`` is false until outcome data is loaded."""

    trial: str
    plan_version: int | None
    plan_sha256: str | None
    model: AnalysisModel | None
    multiple_testing: MultipleTesting
    alpha: float
    education: bool
    control: str
    has_data: bool
    analyses: tuple[OutcomeAnalysis, ...] = ()
    subgroups: tuple[SubgroupAnalysis, ...] = ()
    flow: ConsortFlow | None = None
    flow_outcome: str = ""
    flow_error: str = ""
    balance: tuple[dict[str, Any], ...] = ()
    max_abs_smd: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def primary(self) -> OutcomeAnalysis | None:
        """The first primary outcome of the plan, for the first treatment arm."""
        return next((a for a in self.analyses if a.family == "primary"), None)


def describe_method(method: str, kind: Kind, estimate: Estimate | None) -> str:
    """The analysis in words, with its standard error."""
    names = {"difference": "difference in means", "ancova": "ANCOVA (adjusted)",
             "cuped": "CUPED (variance reduction)", "risk_difference": "risk difference"}
    text = names.get(method, method)
    if kind == "binary" and method == "ancova":
        text = "risk difference, linear probability model (adjusted)"
    elif kind == "binary" and method == "cuped":
        text = "risk difference, CUPED"
    if estimate is not None:
        se = {"welch": "Welch", "hc2": "HC2", "hc1": "HC1", "cr1": "CR1 cluster-robust",
              "cr2": "CR2 cluster-robust", "wald": "Wald", "pooled": "pooled"}
        text += f"; {se.get(estimate.variance, estimate.variance)} SE"
    return text


# The data ----------------------------------------------------------------------------------

@dataclass
class _Units:
    """Every unit with an arm: its arm, cluster, covariates and strata, in arrays."""

    ids: list[str]
    arms: npt.NDArray[np.str_]
    clusters: npt.NDArray[np.str_]
    covariates: list[Mapping[str, float]]
    strata: list[Mapping[str, str]]
    index: dict[str, int]
    enrolled: int


def _units(session: Session, trial: Trial) -> _Units:
    rows = session.execute(select(TrialUnit.unit_id, TrialUnit.arm, TrialUnit.cluster,
                                  TrialUnit.covariates, TrialUnit.strata)
                           .where(TrialUnit.trial_id == trial.id)
                           .order_by(TrialUnit.unit_id)).all()
    listed = {r.unit_id for r in rows}
    exposures = [e for e in session.execute(
        select(TrialExposure.unit_id, TrialExposure.arm).where(
            TrialExposure.trial_id == trial.id).order_by(TrialExposure.unit_id)).all()
        if e.unit_id not in listed]
    ids, arms, clusters = [], [], []
    covariates: list[Mapping[str, float]] = []
    strata: list[Mapping[str, str]] = []
    for r in rows:
        if r.arm is None:
            continue
        ids.append(r.unit_id)
        arms.append(r.arm)
        clusters.append(r.cluster or "")
        covariates.append(r.covariates or {})
        strata.append(r.strata or {})
    for e in exposures:
        ids.append(e.unit_id)
        arms.append(e.arm)
        clusters.append("")
        covariates.append({})
        strata.append({})
    return _Units(ids=ids, arms=np.array(arms, dtype=np.str_),
                  clusters=np.array(clusters, dtype=np.str_), covariates=covariates,
                  strata=strata, index={u: i for i, u in enumerate(ids)},
                  enrolled=len(rows) + len(exposures))


def _values(session: Session, trial: Trial, units: _Units) -> dict[str, FloatPair]:
    """Each outcome's values: the units' positions and the values (one per unit and
    outcome, as loaded)."""
    found: dict[str, tuple[list[int], list[float]]] = {}
    for unit_id, outcome, value in session.execute(
            select(OutcomeValue.unit_id, OutcomeValue.outcome, OutcomeValue.value)
            .where(OutcomeValue.trial_id == trial.id).order_by(OutcomeValue.id)):
        position = units.index.get(unit_id)
        if position is None:
            continue
        rows, values = found.setdefault(outcome, ([], []))
        rows.append(position)
        values.append(float(value))
    return {k: (np.asarray(r, dtype=np.int64), np.asarray(v, dtype=np.float64))
            for k, (r, v) in found.items()}


def _covariate_matrix(units: _Units, positions: npt.NDArray[np.int64],
                      names: Sequence[str]) -> npt.NDArray[np.float64]:
    """The named covariates of these units, NaN where missing: (n, p)."""
    return np.array([[float(units.covariates[i].get(name, math.nan)) for name in names]
                     for i in positions.tolist()], dtype=np.float64).reshape(len(positions),
                                                                              len(names))


def _cuped_covariate(outcome: str, covariates: Sequence[str]) -> str:
    for name in (outcome, f"pre_{outcome}", f"{outcome}_pre", f"baseline_{outcome}",
                 f"prior_{outcome}"):
        if name in covariates:
            return name
    return covariates[0]


@dataclass(frozen=True)
class _Spec:
    """How one outcome is analysed under the plan."""

    method: Method
    covariates: tuple[str, ...]  # the covariates the model uses
    cuped: str | None
    clustered: bool


def _spec(trial: Trial, model: AnalysisModel, covariates: Sequence[str], outcome: str,
          kind: Kind) -> _Spec:
    clustered = trial.unit_kind == UnitKind.CLUSTER or model == AnalysisModel.CLUSTER_ROBUST
    difference: Method = "risk_difference" if kind == "binary" else "difference"
    if model == AnalysisModel.CUPED:
        name = _cuped_covariate(outcome, covariates)
        return _Spec("cuped", (name,), name, clustered)
    if model == AnalysisModel.ANCOVA or (model == AnalysisModel.CLUSTER_ROBUST and covariates):
        return _Spec("ancova", tuple(covariates), None, clustered)
    return _Spec(difference, (), None, clustered)


def _variance(clustered: bool, n_clusters: int) -> Variance | None:
    if not clustered:
        return None
    return "cr2" if n_clusters < FEW_CLUSTERS else "cr1"


@dataclass
class _Rows:
    """The units of one comparison that have the outcome (and every covariate needed)."""

    y: npt.NDArray[np.float64]
    treated: npt.NDArray[np.bool_]
    clusters: npt.NDArray[np.str_] | None
    x: npt.NDArray[np.float64] | None
    positions: npt.NDArray[np.int64]


def _rows(units: _Units, data: FloatPair, *, arm: str, control: str, spec: _Spec) -> _Rows:
    positions, values = data
    arms = units.arms[positions]
    keep = (arms == arm) | (arms == control)
    positions, values = positions[keep], values[keep]
    x = None
    if spec.covariates:
        x = _covariate_matrix(units, positions, spec.covariates)
        complete = np.isfinite(x).all(axis=1)
        positions, values, x = positions[complete], values[complete], x[complete]
    clusters = units.clusters[positions] if spec.clustered else None
    return _Rows(y=values, treated=units.arms[positions] == arm, clusters=clusters, x=x,
                 positions=positions)


def _kind(values: npt.NDArray[np.float64]) -> Kind:
    return "binary" if values.size and bool(np.isin(values, (0.0, 1.0)).all()) else "continuous"


def _analyse(rows: _Rows, spec: _Spec, *, level: float) -> Estimate:
    n_clusters = len(set(rows.clusters.tolist())) if rows.clusters is not None else 0
    if rows.clusters is not None and "" in set(rows.clusters.tolist()):
        raise TrialInputError("some units have no cluster: a cluster-robust analysis needs "
                              "each unit's cluster", field="clusters")
    x = rows.x
    return stats.analyse(
        rows.y, rows.treated, method=spec.method, clusters=rows.clusters,
        covariates=x if spec.method == "ancova" else None,
        cuped_pre=x[:, 0] if spec.method == "cuped" and x is not None else None,
        se=_variance(spec.clustered, n_clusters), level=level)


def _standardised(rows: _Rows, estimate: Estimate, *, education: bool) -> StandardisedEffect:
    y1, y0 = rows.y[rows.treated], rows.y[~rows.treated]
    base: EffectSize = stats.hedges_g_from_summary(
        mean_treated=estimate.effect, mean_control=0.0, sd_treated=float(y1.std(ddof=1)),
        sd_control=float(y0.std(ddof=1)), n_treated=int(y1.size), n_control=int(y0.size),
        level=estimate.level)
    sd = _pooled_sd(y1, y0)
    scale = base.correction / sd
    return StandardisedEffect(g=base.g, ci_low=estimate.ci_low * scale,
                              ci_high=estimate.ci_high * scale, sd_pooled=sd,
                              correction=base.correction,
                              months=stats.eef_months(base.g) if education else None)


def _pooled_sd(y1: npt.NDArray[np.float64], y0: npt.NDArray[np.float64]) -> float:
    n1, n0 = y1.size, y0.size
    return math.sqrt(((n1 - 1) * float(y1.var(ddof=1)) + (n0 - 1) * float(y0.var(ddof=1)))
                     / (n1 + n0 - 2))


def _design(rows: _Rows, spec: _Spec) -> SampleDesign:
    """The achieved sample, the outcome's ICC (one-way ANOVA within arms) and the covariates'
    R² (the share of the outcome's variance, net of treatment, they explain)."""
    n = int(rows.y.size)
    treated = rows.treated
    resid = rows.y - np.where(treated, rows.y[treated].mean(), rows.y[~treated].mean())
    r2 = 0.0
    if rows.x is not None and rows.x.shape[1]:
        design = np.column_stack([np.ones(n), treated.astype(np.float64), rows.x])
        beta, *_ = np.linalg.lstsq(design, rows.y, rcond=None)
        full = rows.y - design @ beta
        total = float(resid @ resid)
        r2 = min(max(1 - float(full @ full) / total, 0.0), 0.95) if total > 0 else 0.0
    if rows.clusters is None:
        return SampleDesign(n=n, clusters=None, cluster_size=None,
                            ratio=int(treated.sum()) / max(int((~treated).sum()), 1),
                            icc=0.0, r2=r2)
    labels, codes = np.unique(rows.clusters, return_inverse=True)
    g = labels.size
    sizes = np.bincount(codes, minlength=g).astype(np.float64)
    treated_clusters = int(np.count_nonzero(np.bincount(codes[treated], minlength=g)))
    return SampleDesign(n=n, clusters=int(g), cluster_size=n / g,
                        ratio=treated_clusters / max(g - treated_clusters, 1),
                        icc=_icc(resid, codes, sizes), r2=r2)


def _icc(resid: npt.NDArray[np.float64], codes: npt.NDArray[np.intp],
         sizes: npt.NDArray[np.float64]) -> float:
    """The ANOVA estimator of the intra-cluster correlation (Donner & Klar 2000, ch. 5):
    (MSB − MSW)/(MSB + (n₀ − 1)MSW), n₀ = (N − Σnᵢ²/N)/(G − 1); 0 when negative."""
    g, n = sizes.size, resid.size
    if g < 2 or n <= g:
        return 0.0
    means = np.bincount(codes, weights=resid, minlength=g) / sizes
    grand = float(resid.mean())
    msb = float((sizes * (means - grand) ** 2).sum()) / (g - 1)
    msw = float(((resid - means[codes]) ** 2).sum()) / (n - g)
    n0 = (n - float((sizes**2).sum()) / n) / (g - 1)
    denominator = msb + (n0 - 1) * msw
    return max(0.0, (msb - msw) / denominator) if denominator > 0 else 0.0


# The analyses ------------------------------------------------------------------------------

def trial_results(session: Session, trial: Trial) -> TrialResults:
    """Run the plan in force on the loaded outcome data (module docstring)."""
    plan = service.locked_plan(session, trial)
    control = trial.arms[0].key if trial.arms else ""
    allocation = service.allocation(session, trial)
    balance = tuple(allocation.balance) if allocation is not None and allocation.balance else ()
    smd = _max_abs_smd(balance, allocation.max_abs_smd if allocation else None)
    if plan is None:
        return TrialResults(trial=trial.slug, plan_version=None, plan_sha256=None, model=None,
                            multiple_testing=MultipleTesting.NONE, alpha=0.05, education=False,
                            control=control, has_data=False, balance=balance, max_abs_smd=smd)
    content = plan.content
    model = AnalysisModel(content["model"])
    alpha = float(content["alpha"])
    education = bool(content.get("education", False))
    rule = MultipleTesting(content["multiple_testing"])
    units = _units(session, trial)
    data = _values(session, trial, units)
    base = TrialResults(trial=trial.slug, plan_version=plan.version, plan_sha256=plan.sha256,
                        model=model, multiple_testing=rule, alpha=alpha, education=education,
                        control=control, has_data=False, balance=balance, max_abs_smd=smd)
    if not data:
        return base
    analyses = _analyses(session, trial, plan, units, data, level=1 - alpha,
                         education=education)
    analyses = _adjust(analyses, rule)
    primary = next((a for a in analyses if a.family == "primary"), None)
    flow, flow_error = _flow(trial, units, data, primary)
    notes = []
    if any(a.kind == "binary" for a in analyses):
        notes.append("Outcomes recorded as 0 or 1 are analysed as binary: their effects are "
                     "differences in the share (risk differences), shown in percentage points.")
    return replace(
        base, has_data=True, analyses=tuple(analyses),
        subgroups=tuple(_subgroups(session, trial, plan, units, data, level=1 - alpha)),
        flow=flow, flow_outcome=primary.outcome if primary else "", flow_error=flow_error,
        notes=tuple(notes))


def _max_abs_smd(balance: Sequence[Mapping[str, Any]], stored: float | None) -> float | None:
    found = [abs(float(r["smd"])) for r in balance if r.get("smd") is not None]
    if found:
        return max(found)
    return stored


def _analyses(session: Session, trial: Trial, plan: AnalysisPlan, units: _Units,
              data: Mapping[str, FloatPair], *, level: float, education: bool
              ) -> list[OutcomeAnalysis]:
    content = plan.content
    model = AnalysisModel(content["model"])
    plan_roles = {o["key"]: OutcomeRole(o["role"]) for o in content["outcomes"]}
    registered = {o.key: o for o in trial.outcomes}
    order = [k for k in plan_roles if k in data]
    order += [o.key for o in trial.outcomes if o.key not in plan_roles and o.key in data]
    labels = {a.key: a.label for a in trial.arms}
    control = trial.arms[0].key
    out = []
    for outcome in order:
        kind = _kind(data[outcome][1])
        spec = _spec(trial, model, content["covariates"], outcome, kind)
        in_plan = outcome in plan_roles
        role = plan_roles.get(outcome) or registered[outcome].role
        classification = service.classify_analysis(
            session, trial=trial, outcome=outcome, model=model, covariates=spec.covariates)
        for arm in trial.arms[1:]:
            rows = _rows(units, data[outcome], arm=arm.key, control=control, spec=spec)
            estimate, error, effect_size, design = None, "", None, None
            try:
                estimate = _analyse(rows, spec, level=level)
            except (TrialInputError, ValueError) as exc:
                error = str(exc)
            if estimate is not None:
                design = _design(rows, spec)
                if kind == "continuous":
                    try:
                        effect_size = _standardised(rows, estimate, education=education)
                    except ValueError:
                        effect_size = None
            has_both = bool(rows.treated.any() and (~rows.treated).any())
            out.append(OutcomeAnalysis(
                outcome=outcome, title=registered[outcome].title if outcome in registered
                else outcome, role=role, in_plan=in_plan,
                family=role.value if in_plan else "", arm=arm.key, arm_label=labels[arm.key],
                control=control, control_label=labels[control], kind=kind,
                method=spec.method, covariates=spec.covariates, estimate=estimate, error=error,
                p_adjusted=None,
                mean_treated=float(rows.y[rows.treated].mean()) if has_both else None,
                mean_control=float(rows.y[~rows.treated].mean()) if has_both else None,
                effect_size=effect_size, classification=classification, design=design))
    return out


def _adjust(analyses: list[OutcomeAnalysis], rule: MultipleTesting) -> list[OutcomeAnalysis]:
    """Adjusted p-values, within the primary family and within the secondary one."""
    adjusted: dict[int, float] = {}
    for family in ("primary", "secondary"):
        members = [i for i, a in enumerate(analyses)
                   if a.family == family and a.estimate is not None]
        if not members:
            continue
        p = np.array([analyses[i].estimate.p_value for i in members  # type: ignore[union-attr]
                      ], dtype=np.float64)
        if rule == MultipleTesting.HOLM:
            p = stats.holm(p)
        elif rule == MultipleTesting.BH:
            p = stats.benjamini_hochberg(p)
        adjusted.update(zip(members, (float(v) for v in p), strict=True))
    return [replace(a, p_adjusted=adjusted.get(i)) for i, a in enumerate(analyses)]


def _flow(trial: Trial, units: _Units, data: Mapping[str, FloatPair],
          primary: OutcomeAnalysis | None) -> tuple[ConsortFlow | None, str]:
    """The CONSORT flow of the primary outcome: allocated, followed up (a value loaded) and
    analysed (in the primary analysis) in each arm."""
    if primary is None:
        return None, "No primary outcome of the plan has data yet."
    positions, _ = data[primary.outcome]
    keys = [a.key for a in trial.arms]
    allocated = {k: int(np.count_nonzero(units.arms == k)) for k in keys}
    followed = units.arms[positions]
    followed_up = {k: int(np.count_nonzero(followed == k)) for k in keys}
    analysed = dict(followed_up)
    if primary.covariates:
        x = _covariate_matrix(units, positions, primary.covariates)
        complete = units.arms[positions[np.isfinite(x).all(axis=1)]]
        analysed = {k: int(np.count_nonzero(complete == k)) for k in keys}
    try:
        return stats.consort_flow(enrolled=units.enrolled, allocated=allocated,
                                  followed_up=followed_up, analysed=analysed,
                                  control=primary.control), ""
    except ValueError as exc:
        return None, f"The CONSORT flow cannot be drawn: {exc}"


def _subgroup_levels(units: _Units, positions: npt.NDArray[np.int64], name: str
                     ) -> list[str | None]:
    out: list[str | None] = []
    for i in positions.tolist():
        value: object = units.strata[i].get(name)
        if value is None:
            value = units.covariates[i].get(name)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
        out.append(None if value is None else str(value))
    return out


def _subgroups(session: Session, trial: Trial, plan: AnalysisPlan, units: _Units,
               data: Mapping[str, FloatPair], *, level: float) -> list[SubgroupAnalysis]:
    """Each pre-specified subgroup on each primary outcome: a two-level subgroup as one
    interaction (the second level, in sorted order, against the first); a subgroup with more
    levels as one interaction per level (that level against the rest)."""
    content = plan.content
    model = AnalysisModel(content["model"])
    control = trial.arms[0].key
    out = []
    primaries = [o["key"] for o in content["outcomes"]
                 if o["role"] == OutcomeRole.PRIMARY.value and o["key"] in data]
    for outcome in primaries:
        kind = _kind(data[outcome][1])
        spec = _spec(trial, model, content["covariates"], outcome, kind)
        for name in content["subgroups"]:
            classification = service.classify_analysis(
                session, trial=trial, outcome=outcome, model=model,
                covariates=spec.covariates, subgroup=name)
            for arm in trial.arms[1:]:
                rows = _rows(units, data[outcome], arm=arm.key, control=control, spec=spec)
                levels = _subgroup_levels(units, rows.positions, name)
                present = sorted({v for v in levels if v is not None})
                if len(present) < 2:
                    out.append(SubgroupAnalysis(
                        outcome=outcome, subgroup=name, level="", arm=arm.key, result=None,
                        error=f"The units have fewer than two values of {name!r}",
                        classification=classification))
                    continue
                known = np.array([v is not None for v in levels])
                tested = present[1:] if len(present) == 2 else present
                for value in tested:
                    indicator = np.array([v == value for v in levels], dtype=np.float64)
                    result, error = None, ""
                    try:
                        result = _interaction(rows, known, indicator, spec, level=level)
                    except (TrialInputError, ValueError) as exc:
                        error = str(exc)
                    out.append(SubgroupAnalysis(
                        outcome=outcome, subgroup=name, level=value, arm=arm.key,
                        result=result, error=error, classification=classification))
    return out


def _interaction(rows: _Rows, known: npt.NDArray[np.bool_],
                 indicator: npt.NDArray[np.float64], spec: _Spec, *,
                 level: float) -> SubgroupResult:
    clusters = rows.clusters[known] if rows.clusters is not None else None
    if clusters is not None and "" in set(clusters.tolist()):
        raise TrialInputError("some units have no cluster", field="clusters")
    n_clusters = len(set(clusters.tolist())) if clusters is not None else 0
    return stats.subgroup_interaction(
        rows.y[known], rows.treated[known], indicator[known],
        covariates=rows.x[known] if rows.x is not None else None, clusters=clusters,
        se=_variance(spec.clustered, n_clusters), level=level)


# The evidence summary ----------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class PadlockReason:
    """One criterion of the security rating: the padlocks it allows (or, for imbalance,
    takes away) and why."""

    criterion: str
    padlocks: int
    explanation: str


@dataclass(frozen=True, kw_only=True)
class SecurityRating:
    """The security of the finding, 0–5 padlocks after the EEF's classification: the least
    of the design's, the MDES's and the attrition's padlocks, less one for baseline
    imbalance."""

    padlocks: int
    reasons: tuple[PadlockReason, ...]
    mdes: float | None
    attrition: float | None
    max_abs_smd: float | None

    @property
    def text(self) -> str:
        return f"{self.padlocks} of 5 padlocks"


@dataclass(frozen=True, kw_only=True)
class ScaledEffect:
    """One of the linked intervention's effect estimates, and what the delivery model counts
    of it after the optimism discount for its evidence."""

    metric: str
    metric_slug: str
    unit: str
    area: str
    central: float
    low: float
    high: float
    interval_level: float
    factor: float
    factor_reason: str
    discounted_central: float
    discounted_low: float
    discounted_high: float
    from_this_trial: bool


@dataclass(frozen=True, kw_only=True)
class EvidenceSummary:
    """What the trial found, in plain words, how much it cost and how secure it is, and what
    it means for the mission."""

    trial: str
    title: str
    illustrative: bool
    has_results: bool
    headline: str
    primary: OutcomeAnalysis | None
    months: int | None
    significant: bool | None
    cost_per_participant: float | None
    cost_per_effect: float | None
    cost_per_effect_label: str
    security: SecurityRating | None
    mission: str
    intervention: str | None
    intervention_slug: str | None
    evidence_kind: EvidenceKind | None
    metrics: tuple[str, ...]
    at_scale: tuple[ScaledEffect, ...]


def _bands(value: float, bands: Sequence[float]) -> int:
    """Padlocks for a value: 5 at or below the first band, … 1 at or below the last, else 0."""
    for i, limit in enumerate(bands):
        if value <= limit + 1e-12:
            return 5 - i
    return 0


def mdes_of(design: SampleDesign) -> float:
    """The minimum detectable effect size (SD units) of the achieved sample, at 80% power
    and 5% two-sided, with :func:`missionboard.analytics.trial_power.continuous_mde`."""
    if design.clusters is not None and design.cluster_size is not None:
        found = trial_power.continuous_mde(
            clusters=design.clusters, cluster_size=design.cluster_size, icc=design.icc,
            r2=design.r2, ratio=design.ratio, alpha=MDES_ALPHA, power=MDES_POWER)
    else:
        found = trial_power.continuous_mde(n_total=design.n, r2=design.r2, ratio=design.ratio,
                                           alpha=MDES_ALPHA, power=MDES_POWER)
    return found.effect


def security_rating(trial: Trial, results: TrialResults) -> SecurityRating | None:
    """The padlocks of the primary finding (class docstring); None without one."""
    primary = results.primary
    if primary is None or primary.design is None:
        return None
    reasons = []
    kind = "cluster randomised" if trial.design == TrialDesign.CLUSTER \
        or trial.unit_kind == UnitKind.CLUSTER else "randomised"
    reasons.append(PadlockReason(criterion="Design", padlocks=5,
                                 explanation=f"A {kind} controlled trial with its analysis "
                                             "plan locked before the outcomes were seen."))
    mdes: float | None
    try:
        mdes = mdes_of(primary.design)
    except ValueError as exc:
        mdes = None
        reasons.append(PadlockReason(criterion="Minimum detectable effect size", padlocks=0,
                                     explanation=f"It cannot be computed: {exc}"))
    if mdes is not None:
        d = primary.design
        sample = (f"{d.clusters} clusters of {d.cluster_size:.1f} on average, intra-cluster "
                  f"correlation {d.icc:.2f}" if d.clusters is not None else f"{d.n} units")
        reasons.append(PadlockReason(
            criterion="Minimum detectable effect size", padlocks=_bands(mdes, MDES_BANDS),
            explanation=f"{mdes:.2f} SD with the sample analysed ({sample}; covariates "
                        f"explain {d.r2:.0%} of the variance), at 80% power and 5% two-sided."
                        " The EEF gives 5 padlocks up to 0.2 SD and none above 0.59."))
    attrition = results.flow.overall_attrition if results.flow is not None else None
    if attrition is not None:
        reasons.append(PadlockReason(
            criterion="Attrition", padlocks=_bands(attrition, ATTRITION_BANDS),
            explanation=f"{attrition:.1%} of the units allocated are not in the primary "
                        "analysis. The EEF gives 5 padlocks up to 10% and none above 50%."))
    else:
        reasons.append(PadlockReason(criterion="Attrition", padlocks=0,
                                     explanation="The CONSORT flow cannot be drawn: "
                                                 + results.flow_error))
    rating = min(r.padlocks for r in reasons)
    smd = results.max_abs_smd
    if smd is not None and smd > IMBALANCE:
        reasons.append(PadlockReason(
            criterion="Baseline imbalance", padlocks=-1,
            explanation=f"The largest standardised difference at baseline is {smd:.2f}, "
                        f"above {IMBALANCE}: one padlock less."))
        rating = max(rating - 1, 0)
    elif smd is not None:
        reasons.append(PadlockReason(
            criterion="Baseline imbalance", padlocks=0,
            explanation=f"The largest standardised difference at baseline is {smd:.2f}, "
                        f"within {IMBALANCE}: no padlock lost."))
    return SecurityRating(padlocks=rating, reasons=tuple(reasons), mdes=mdes,
                          attrition=attrition, max_abs_smd=smd)


def _figure(value: float) -> str:
    """A number for a sentence: a real minus sign, fewer places for bigger numbers."""
    size = abs(value)
    text = f"{size:,.0f}" if size >= 100 else f"{size:.1f}" if size >= 1 else f"{size:.2f}"
    return ("−" if value < 0 and text.strip("0.,") else "") + text


def _lower(label: str) -> str:
    """The label inside a sentence: its first letter lower-cased, unless it starts an
    abbreviation (KS2, EYFS)."""
    if len(label) > 1 and (label[1].isupper() or label[1].isdigit()):
        return label
    return label[:1].lower() + label[1:]


def headline(trial: Trial, analysis: OutcomeAnalysis, *, months: int | None) -> str:
    """The primary effect and its interval in plain words."""
    e = analysis.estimate
    assert e is not None
    level = f"{e.level:.0%}"
    arm = _lower(analysis.arm_label)
    if not arm.startswith(("the ", "a ", "an ")):
        arm = f"the {arm}"
    where = (f"In {trial.cluster_kind}s with {arm}" if trial.unit_kind == UnitKind.CLUSTER
             and trial.cluster_kind else f"With {arm}")
    against = _lower(analysis.control_label)
    outcome = _lower(analysis.title)
    direction = "higher" if e.effect >= 0 else "lower"
    if analysis.kind == "binary":
        text = (f"{where}, the share with ‘{outcome}’ was {_figure(abs(e.effect) * 100)} "
                f"percentage points {direction} than with {against} ({level} CI "
                f"{_figure(e.ci_low * 100)} to {_figure(e.ci_high * 100)})")
    else:
        text = (f"{where}, {outcome} was {_figure(abs(e.effect))} {direction} than with "
                f"{against} ({level} CI {_figure(e.ci_low)} to {_figure(e.ci_high)})")
    if months is not None and months != 0:
        text += (f" — about {abs(months)} {'month' if abs(months) == 1 else 'months'}' "
                 f"{'additional' if months > 0 else 'less'} progress")
    text += "."
    p = analysis.p_adjusted if analysis.p_adjusted is not None else e.p_value
    if e.ci_low <= 0 <= e.ci_high:
        text += (f" The interval includes no difference at all: the result could be due to "
                 f"chance (p = {p:.2g}).")
    return text


def evidence_summary(session: Session, trial: Trial, *,
                     results: TrialResults | None = None) -> EvidenceSummary:
    """The trial's evidence in brief (class docstring); ``results`` saves recomputing them."""
    if results is None:
        results = trial_results(session, trial)
    primary = results.primary if results.has_data else None
    estimated = primary if primary is not None and primary.estimate is not None else None
    months = (estimated.effect_size.months if estimated is not None
              and estimated.effect_size is not None else None)
    cost_per_effect, cost_label = None, ""
    if estimated is not None and trial.cost_per_participant is not None:
        e = estimated.estimate
        assert e is not None
        if not e.ci_low <= 0 <= e.ci_high:
            if estimated.kind == "binary":
                cost_per_effect = trial.cost_per_participant / abs(e.effect)
                cost_label = "for each additional participant with the outcome"
            else:
                cost_per_effect = trial.cost_per_participant / abs(e.effect)
                cost_label = "per participant for each point of difference"
    intervention = trial.intervention
    at_scale: list[ScaledEffect] = []
    if intervention is not None:
        adjustment = delivery_service.optimism(intervention)
        reference = f"/trials/{trial.slug}"
        at_scale = [_scaled(e, adjustment.factor, adjustment.reason,
                            from_this_trial=reference in intervention.evidence_reference)
                    for e in intervention.effects]
    if estimated is None:
        text = ("No outcome data has been loaded yet." if not results.has_data
                else "The primary outcome could not be estimated"
                + (f": {primary.error}" if primary is not None and primary.error else "."))
    else:
        text = headline(trial, estimated, months=months)
    return EvidenceSummary(
        trial=trial.slug, title=trial.title, illustrative=trial.illustrative,
        has_results=estimated is not None,
        headline=text, primary=estimated, months=months,
        significant=None if estimated is None or estimated.estimate is None
        else not estimated.estimate.ci_low <= 0 <= estimated.estimate.ci_high,
        cost_per_participant=trial.cost_per_participant, cost_per_effect=cost_per_effect,
        cost_per_effect_label=cost_label,
        security=security_rating(trial, results) if estimated is not None else None,
        mission=trial.mission.title,
        intervention=intervention.title if intervention else None,
        intervention_slug=intervention.slug if intervention else None,
        evidence_kind=intervention.evidence_kind if intervention else None,
        metrics=tuple(dict.fromkeys(e.metric.title for e in intervention.effects))
        if intervention else (),
        at_scale=tuple(at_scale))


def _scaled(effect: InterventionEffect, factor: float, reason: str, *,
            from_this_trial: bool) -> ScaledEffect:
    return ScaledEffect(
        metric=effect.metric.title, metric_slug=effect.metric.slug, unit=effect.metric.unit,
        area=effect.area.name, central=effect.central, low=effect.low, high=effect.high,
        interval_level=effect.interval_level, factor=factor, factor_reason=reason,
        discounted_central=effect.central * factor, discounted_low=effect.low * factor,
        discounted_high=effect.high * factor, from_this_trial=from_this_trial)


# Downloads ---------------------------------------------------------------------------------

CSV_HEADER = ("outcome", "role", "in_plan", "arm", "control", "kind", "method", "covariates",
              "effect", "se", "ci_low", "ci_high", "level", "df", "p_value", "p_adjusted",
              "n_treated", "n_control", "clusters", "variance", "mean_treated", "mean_control",
              "hedges_g", "g_ci_low", "g_ci_high", "eef_months", "analysis", "plan_version",
              "error")


def csv_rows(results: TrialResults) -> list[list[object]]:
    """The estimates as CSV rows, a header first."""
    rows: list[list[object]] = [list(CSV_HEADER)]
    for a in results.analyses:
        e, g = a.estimate, a.effect_size
        rows.append([
            a.outcome, a.role.value, "yes" if a.in_plan else "no", a.arm, a.control, a.kind,
            a.method, " ".join(a.covariates), *(_blank(v) for v in (
                e and e.effect, e and e.se, e and e.ci_low, e and e.ci_high, e and e.level,
                e and e.df, e and e.p_value, a.p_adjusted, e and e.n_treated,
                e and e.n_control, e and e.n_clusters)),
            e.variance if e else "", _blank(a.mean_treated), _blank(a.mean_control),
            *(_blank(v) for v in (g and g.g, g and g.ci_low, g and g.ci_high, g and g.months)),
            a.classification.label, a.classification.plan_version, a.error])
    return rows


def _blank(value: object) -> object:
    return "" if value is None else value


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def results_json(results: TrialResults, summary: EvidenceSummary) -> dict[str, Any]:
    """The results and the evidence summary as JSON (no NaN: missing numbers are null)."""
    def estimate(e: Estimate | None) -> dict[str, object] | None:
        if e is None:
            return None
        return {k: (_number(v) if isinstance(v, float) else v) for k, v in e.to_dict().items()}

    flow = results.flow
    security = summary.security
    return {
        "trial": results.trial, "plan_version": results.plan_version,
        "plan_sha256": results.plan_sha256,
        "model": results.model.value if results.model else None,
        "multiple_testing": results.multiple_testing.value, "alpha": results.alpha,
        "education": results.education, "control": results.control,
        "has_data": results.has_data, "illustrative": summary.illustrative,
        "summary": {
            "headline": summary.headline, "months": summary.months,
            "cost_per_participant": summary.cost_per_participant,
            "cost_per_effect": _number(summary.cost_per_effect),
            "cost_per_effect_label": summary.cost_per_effect_label,
            "padlocks": security.padlocks if security else None,
            "security": [{"criterion": r.criterion, "padlocks": r.padlocks,
                          "explanation": r.explanation} for r in security.reasons]
            if security else [],
            "mdes": _number(security.mdes) if security and security.mdes is not None else None,
            "intervention": summary.intervention,
            "at_scale": [{"metric": s.metric_slug, "area": s.area, "central": s.central,
                          "low": s.low, "high": s.high, "interval_level": s.interval_level,
                          "optimism_factor": s.factor,
                          "discounted_central": s.discounted_central,
                          "discounted_low": s.discounted_low,
                          "discounted_high": s.discounted_high,
                          "from_this_trial": s.from_this_trial} for s in summary.at_scale],
        },
        "analyses": [{
            "outcome": a.outcome, "title": a.title, "role": a.role.value,
            "in_plan": a.in_plan, "arm": a.arm, "control": a.control, "kind": a.kind,
            "method": a.method, "covariates": list(a.covariates),
            "estimate": estimate(a.estimate), "p_adjusted": _number(a.p_adjusted),
            "mean_treated": _number(a.mean_treated), "mean_control": _number(a.mean_control),
            "hedges_g": None if a.effect_size is None else {
                "g": a.effect_size.g, "ci_low": a.effect_size.ci_low,
                "ci_high": a.effect_size.ci_high, "eef_months": a.effect_size.months},
            "analysis": a.classification.label, "reasons": list(a.classification.reasons),
            "error": a.error or None} for a in results.analyses],
        "subgroups": [{
            "outcome": s.outcome, "subgroup": s.subgroup, "level": s.level, "arm": s.arm,
            "interaction": estimate(s.result.interaction) if s.result else None,
            "effect_inside": estimate(s.result.effect_inside) if s.result else None,
            "effect_outside": estimate(s.result.effect_outside) if s.result else None,
            "analysis": s.classification.label, "error": s.error or None}
            for s in results.subgroups],
        "consort": None if flow is None else {
            "outcome": results.flow_outcome, "enrolled": flow.enrolled,
            "excluded": flow.excluded, "overall_attrition": flow.overall_attrition,
            "differential_attrition": flow.differential_attrition,
            "differential_flag": flow.differential_flag,
            "arms": [{"arm": r.arm, "allocated": r.allocated, "followed_up": r.followed_up,
                      "lost_to_follow_up": r.lost_to_follow_up, "analysed": r.analysed,
                      "attrition": r.attrition} for r in flow.arms]},
        "balance": list(results.balance), "max_abs_smd": results.max_abs_smd,
    }
