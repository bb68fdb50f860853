"""A trial's results on both backends: each analysis equals the analytics library's on the
same arrays, built here from the raw rows the trial was loaded with; the plan's model,
variance and multiple-testing rule are followed; subgroups, the CONSORT flow and the
pre-specified/exploratory classification."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session

from missionboard.analytics import trials as stats
from missionboard.analytics.trials import Estimate
from missionboard.missions.models import Mission
from missionboard.trials import results, service
from missionboard.trials.models import TrialStatus
from missionboard.trials.results import OutcomeAnalysis
from tests import factories
from tests.trials import builders
from tests.trials.results_builders import Built, with_results

INDIVIDUAL = {"unit_kind": "individual", "cluster_kind": "", "design": "parallel"}
FOUR_OUTCOMES = {"outcomes": [
    {"key": "maths", "title": "Maths", "role": "primary"},
    {"key": "reading", "title": "Reading", "role": "primary"},
    {"key": "wellbeing", "title": "Wellbeing", "role": "secondary"},
    {"key": "attendance", "title": "Attendance", "role": "secondary"}]}


@pytest.fixture
def mission(session: Session) -> Mission:
    return factories.mission(session, "opportunity")


def arrays(built: Built, outcome: str) -> dict[str, Any]:
    """The comparison's arrays, from the rows the trial was loaded with."""
    units = {u["unit_id"]: u for u in built.units}
    treated_arm = built.trial.arms[1].key
    rows = [r for r in built.outcomes if r["outcome"] == outcome]
    return {
        "y": np.array([float(r["value"]) for r in rows]),
        "t": np.array([built.arms[r["unit_id"]] == treated_arm for r in rows]),
        "clusters": np.array([units[r["unit_id"]]["cluster"] for r in rows]),
        "prior": np.array([float(units[r["unit_id"]]["covariate_prior"]) for r in rows]),
        "fsm": np.array([units[r["unit_id"]]["stratum_fsm"] for r in rows]),
    }


def same(found: Estimate | None, expected: Estimate) -> None:
    assert found is not None
    assert found.method == expected.method
    assert found.variance == expected.variance
    for name in ("effect", "se", "ci_low", "ci_high", "p_value"):
        assert getattr(found, name) == pytest.approx(getattr(expected, name), rel=1e-9), name
    assert found.df == pytest.approx(expected.df)
    assert (found.n_treated, found.n_control, found.n_clusters) == (
        expected.n_treated, expected.n_control, expected.n_clusters)


def by_outcome(found: results.TrialResults) -> dict[str, OutcomeAnalysis]:
    return {a.outcome: a for a in found.analyses}


def test_a_cluster_trial_is_analysed_by_ancova_with_cr2(session: Session,
                                                       mission: Mission) -> None:
    built = with_results(session, mission)
    found = results.trial_results(session, built.trial)
    assert found.has_data
    for outcome in ("maths", "reading"):
        a = arrays(built, outcome)
        expected = stats.analyse(a["y"], a["t"], method="ancova", clusters=a["clusters"],
                                 covariates=a["prior"], se="cr2")
        analysis = by_outcome(found)[outcome]
        same(analysis.estimate, expected)
        assert analysis.covariates == ("prior",)
        assert analysis.classification.pre_specified
        assert analysis.mean_treated == pytest.approx(float(a["y"][a["t"]].mean()))


def test_fifty_clusters_or_more_use_cr1(session: Session, mission: Mission) -> None:
    built = with_results(session, mission, schools=52, pupils=3,
                         plan={"model": "difference_in_means", "covariates": []})
    a = arrays(built, "maths")
    expected = stats.analyse(a["y"], a["t"], method="difference", clusters=a["clusters"],
                             se="cr1")
    same(by_outcome(results.trial_results(session, built.trial))["maths"].estimate, expected)


def test_an_individual_trial_is_compared_with_welch(session: Session,
                                                    mission: Mission) -> None:
    built = with_results(session, mission, trial=INDIVIDUAL,
                         plan={"model": "difference_in_means", "covariates": [],
                               "subgroups": []})
    a = arrays(built, "maths")
    found = by_outcome(results.trial_results(session, built.trial))["maths"]
    same(found.estimate, stats.analyse(a["y"], a["t"], method="difference", se="welch"))
    # Hedges' g is the model's effect over the pooled SD, with its interval.
    y1, y0 = a["y"][a["t"]], a["y"][~a["t"]]
    g = stats.hedges_g(a["y"], a["t"])
    assert found.effect_size is not None
    assert found.effect_size.g == pytest.approx(g.g)
    assert found.effect_size.months is None  # the plan does not say education
    assert found.estimate is not None
    pooled = np.sqrt(((y1.size - 1) * y1.var(ddof=1) + (y0.size - 1) * y0.var(ddof=1))
                     / (y1.size + y0.size - 2))
    assert found.effect_size.ci_low == pytest.approx(
        found.estimate.ci_low * g.correction / pooled)


@pytest.mark.parametrize("model", ["ancova", "cuped"])
def test_an_individual_trial_with_a_covariate(session: Session, mission: Mission,
                                              model: str) -> None:
    built = with_results(session, mission, trial=INDIVIDUAL,
                         plan={"model": model, "subgroups": [], "education": True})
    a = arrays(built, "maths")
    expected = (stats.analyse(a["y"], a["t"], method="ancova", covariates=a["prior"])
                if model == "ancova" else
                stats.analyse(a["y"], a["t"], method="cuped", cuped_pre=a["prior"]))
    found = by_outcome(results.trial_results(session, built.trial))["maths"]
    same(found.estimate, expected)
    assert found.effect_size is not None
    assert found.effect_size.months == stats.eef_months(found.effect_size.g)


def test_a_binary_outcome_is_a_risk_difference(session: Session, mission: Mission) -> None:
    built = with_results(session, mission, trial=INDIVIDUAL,
                         outcomes={"maths": "binary", "reading": "continuous"},
                         plan={"model": "difference_in_means", "covariates": [],
                               "subgroups": []})
    a = arrays(built, "maths")
    found = results.trial_results(session, built.trial)
    maths = by_outcome(found)["maths"]
    assert maths.kind == "binary"
    same(maths.estimate, stats.analyse(a["y"], a["t"], method="risk_difference"))
    assert maths.effect_size is None
    assert by_outcome(found)["reading"].kind == "continuous"
    assert found.notes


@pytest.mark.parametrize("rule", ["holm", "bh", "none"])
def test_the_plans_correction_within_each_family(session: Session, mission: Mission,
                                                 rule: str) -> None:
    keys = ("maths", "reading", "wellbeing", "attendance")
    built = with_results(
        session, mission, trial=FOUR_OUTCOMES,
        outcomes=dict.fromkeys(keys, "continuous"), effect=2.0,
        plan={"outcomes": [{"key": "maths", "role": "primary"},
                           {"key": "reading", "role": "primary"},
                           {"key": "wellbeing", "role": "secondary"},
                           {"key": "attendance", "role": "secondary"}],
              "multiple_testing": rule})
    found = by_outcome(results.trial_results(session, built.trial))
    p = {k: stats.analyse(arrays(built, k)["y"], arrays(built, k)["t"], method="ancova",
                          clusters=arrays(built, k)["clusters"],
                          covariates=arrays(built, k)["prior"], se="cr2").p_value
         for k in keys}
    adjust = {"holm": stats.holm, "bh": stats.benjamini_hochberg,
              "none": np.asarray}[rule]
    for family in (("maths", "reading"), ("wellbeing", "attendance")):
        expected = adjust([p[k] for k in family])
        assert [found[k].p_adjusted for k in family] == pytest.approx(list(expected))
        assert {found[k].family for k in family} == {found[family[0]].role.value}
    if rule == "holm":  # the smaller p of each family is doubled (capped at 1)
        smallest = min(("maths", "reading"), key=lambda k: p[k])
        assert found[smallest].p_adjusted == pytest.approx(min(1.0, 2 * p[smallest]))


def test_subgroups_are_tested_by_their_interaction(session: Session,
                                                   mission: Mission) -> None:
    built = with_results(session, mission)
    found = results.trial_results(session, built.trial)
    (subgroup,) = [s for s in found.subgroups if s.outcome == "maths"]
    a = arrays(built, "maths")
    expected = stats.subgroup_interaction(a["y"], a["t"], a["fsm"] == "yes",
                                          covariates=a["prior"], clusters=a["clusters"],
                                          se="cr2")
    assert (subgroup.subgroup, subgroup.level) == ("fsm", "yes")
    assert subgroup.result is not None
    same(subgroup.result.interaction, expected.interaction)
    same(subgroup.result.effect_inside, expected.effect_inside)
    assert subgroup.classification.pre_specified
    assert not [s for s in found.subgroups if s.outcome == "reading"]  # primary only


def test_the_consort_flow_counts_each_arm(session: Session, mission: Mission) -> None:
    built = with_results(session, mission, missing=0.25)
    found = results.trial_results(session, built.trial)
    assert found.flow is not None
    assert found.flow_outcome == "maths"
    followed = {arm.key: 0 for arm in built.trial.arms}
    for r in built.outcomes:
        if r["outcome"] == "maths":
            followed[built.arms[r["unit_id"]]] += 1
    allocated = {arm.key: list(built.arms.values()).count(arm.key) for arm in built.trial.arms}
    expected = stats.consort_flow(enrolled=len(built.units), allocated=allocated,
                                  followed_up=followed, analysed=followed, control="control")
    assert found.flow == expected
    assert 0.1 < found.flow.overall_attrition < 0.4


def test_outcomes_outside_the_plan_are_exploratory_and_not_adjusted(
        session: Session, mission: Mission) -> None:
    built = with_results(session, mission, plan={"outcomes": [{"key": "maths",
                                                               "role": "primary"}]})
    found = by_outcome(results.trial_results(session, built.trial))
    reading = found["reading"]
    assert not reading.in_plan
    assert reading.family == ""
    assert reading.p_adjusted is None
    assert not reading.classification.pre_specified
    assert "not in the plan" in reading.classification.reasons[0]
    assert found["maths"].classification.pre_specified


def test_an_amendment_after_the_data_makes_the_analysis_exploratory(
        session: Session, mission: Mission) -> None:
    built = with_results(session, mission)
    service.amend_plan(session, trial=built.trial,
                       data=builders.plan_data(model="difference_in_means", covariates=[]),
                       reason="Simpler model")
    found = results.trial_results(session, built.trial)
    maths = by_outcome(found)["maths"]
    assert found.plan_version == 2
    assert maths.method == "difference"
    assert not maths.classification.pre_specified
    a = arrays(built, "maths")
    same(maths.estimate, stats.analyse(a["y"], a["t"], clusters=a["clusters"], se="cr2"))


def test_no_results_before_any_outcome_data(session: Session, mission: Mission) -> None:
    trial = builders.new_trial(session, mission, status=TrialStatus.REGISTERED)
    found = results.trial_results(session, trial)
    assert found.plan_version is None
    assert not found.has_data
    service.save_plan_draft(session, trial=trial, data=builders.plan_data())
    service.lock_plan(session, trial=trial)
    found = results.trial_results(session, trial)
    assert found.plan_version == 1
    assert not found.has_data
    assert found.analyses == ()
    summary = results.evidence_summary(session, trial, results=found)
    assert not summary.has_results
    assert summary.headline == "No outcome data has been loaded yet."
    assert summary.security is None


def test_the_downloads_carry_every_estimate(session: Session, mission: Mission) -> None:
    built = with_results(session, mission)
    found = results.trial_results(session, built.trial)
    rows = results.csv_rows(found)
    assert rows[0] == list(results.CSV_HEADER)
    assert [r[0] for r in rows[1:]] == ["maths", "reading"]
    maths = by_outcome(found)["maths"].estimate
    assert maths is not None
    assert rows[1][results.CSV_HEADER.index("effect")] == maths.effect
    body = results.results_json(found, results.evidence_summary(session, built.trial,
                                                                 results=found))
    assert body["analyses"][0]["estimate"]["effect"] == maths.effect
    assert body["consort"]["enrolled"] == len(built.units)
    assert body["plan_sha256"] == found.plan_sha256


def test_the_education_flag_is_hashed_only_when_set(session: Session, mission: Mission) -> None:
    """Plans written before the flag existed keep their content, and so their hashes."""
    plain = builders.new_trial(session, mission, slug="plain")
    plan = service.save_plan_draft(session, trial=plain, data=builders.plan_data())
    assert "education" not in plan.content
    marked = builders.new_trial(session, mission, slug="marked")
    plan = service.save_plan_draft(session, trial=marked,
                                   data=builders.plan_data(education=True))
    assert plan.content["education"] is True
    assert '"education":true' in plan.canonical
