"""Input and output shapes for trials: the registration, the analysis plan, the seed
commitment, the assignment API and the register's export."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from missionboard.missions.schemas import ShortText, Slug, Text
from missionboard.panels.models import SeedSource
from missionboard.panels.schemas import Sha256
from missionboard.trials.models import (
    AnalysisModel,
    MultipleTesting,
    OutcomeRole,
    TrialDesign,
    TrialStatus,
    UnitKind,
)

#: An arm's, outcome's, covariate's or subgroup's machine name (a column in the files).
Key = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_]*$",
                                        min_length=1, max_length=60)]


class ArmIn(BaseModel):
    key: Key
    label: ShortText
    ratio: int = Field(default=1, ge=1, le=100)


class OutcomeIn(BaseModel):
    key: Key
    title: ShortText
    role: OutcomeRole


class TrialIn(BaseModel):
    slug: Slug
    title: ShortText
    question: Text
    population: Text
    comparator: str = ""
    intervention_id: int | None = None
    unit_kind: UnitKind = UnitKind.INDIVIDUAL
    cluster_kind: str = Field(default="", max_length=100)
    design: TrialDesign = TrialDesign.PARALLEL
    planned_units: int | None = Field(default=None, ge=1, le=10**9)
    planned_clusters: int | None = Field(default=None, ge=1, le=10**7)
    start_on: dt.date | None = None
    end_on: dt.date | None = None
    analysis_on: dt.date | None = None
    owner: ShortText
    ethics: str = ""
    data_sharing: str = ""
    cost_per_participant: float | None = Field(default=None, ge=0, le=10**9)
    arms: list[ArmIn] = Field(min_length=2, max_length=20)
    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=50)

    @field_validator("cluster_kind")
    @classmethod
    def _cluster_named(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("unit_kind") == UnitKind.CLUSTER and not value.strip():
            raise ValueError("Say what a cluster is (for example school or GP practice)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TrialIn:
        if self.start_on and self.end_on and self.end_on < self.start_on:
            raise ValueError("The trial cannot end before it starts")
        if self.end_on and self.analysis_on and self.analysis_on < self.end_on:
            raise ValueError("The planned analysis cannot be before the trial ends")
        arm_keys = [a.key for a in self.arms]
        if len(set(arm_keys)) != len(arm_keys):
            raise ValueError("Each arm must have its own key")
        outcome_keys = [o.key for o in self.outcomes]
        if len(set(outcome_keys)) != len(outcome_keys):
            raise ValueError("Each outcome must have its own key")
        if not any(o.role == OutcomeRole.PRIMARY for o in self.outcomes):
            raise ValueError("Name at least one primary outcome")
        return self


class PlanOutcomeIn(BaseModel):
    key: Key
    role: OutcomeRole


class PlanIn(BaseModel):
    """The analysis plan: what is hashed when it is locked (in this shape, as canonical
    JSON)."""

    outcomes: list[PlanOutcomeIn] = Field(min_length=1, max_length=50)
    model: AnalysisModel
    covariates: list[Key] = Field(default_factory=list, max_length=50)
    subgroups: list[Key] = Field(default_factory=list, max_length=50)
    multiple_testing: MultipleTesting = MultipleTesting.NONE
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    notes: str = ""
    #: The outcomes are attainment measures: effect sizes are also given as the EEF's months
    #: of additional progress. Left out of the hashed content when false, so that plans
    #: written before the field existed keep their hashes.
    education: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> PlanIn:
        keys = [o.key for o in self.outcomes]
        if len(set(keys)) != len(keys):
            raise ValueError("Each outcome may appear once in the plan")
        if not any(o.role == OutcomeRole.PRIMARY for o in self.outcomes):
            raise ValueError("The plan needs a primary outcome")
        if len(set(self.covariates)) != len(self.covariates):
            raise ValueError("Each covariate may appear once")
        if len(set(self.subgroups)) != len(self.subgroups):
            raise ValueError("Each subgroup may appear once")
        if self.model in (AnalysisModel.ANCOVA, AnalysisModel.CUPED) and not self.covariates:
            raise ValueError(f"{self.model.value.upper()} needs at least one covariate")
        return self


class AllocationIn(BaseModel):
    """The seed commitment made before the allocation, and the randomisation's options."""

    seed_source: SeedSource
    commitment: Sha256 | None = None
    seed_description: str = ""
    stratify: bool = False
    block_size: int | None = Field(default=None, ge=2, le=1000)
    balance_threshold: float | None = Field(default=None, gt=0, le=2)

    @model_validator(mode="after")
    def _commitment_when_organiser_holds_the_seed(self) -> AllocationIn:
        if self.seed_source == SeedSource.ORGANISER and self.commitment is None:
            raise ValueError("Enter the SHA-256 of your seed")
        return self


class AssignIn(BaseModel):
    unit_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=100, pattern=r"^[^\x00-\x1f]+$")] = (
        Field(description="The unit's identifier in your service (not personal data)",
              examples=["case-20260314-0042"]))


class AssignOut(BaseModel):
    trial: str = Field(description="The trial's slug")
    unit_id: str
    arm: str = Field(description="The arm's key")
    first_exposure: bool = Field(description="True when this call logged the unit's exposure; "
                                             "false when it had been assigned before")
    exposed_at: dt.datetime


class RegistrationOut(BaseModel):
    """The fields the main trial registries ask for (WHO Trial Registration Data Set,
    ISRCTN), as Missionboard holds them."""

    trial_id: str
    url: str
    registered_at: dt.datetime | None
    public_title: str
    scientific_question: str
    sponsor: str
    mission: str
    intervention_tested: str | None
    population: str
    study_type: str = "interventional"
    design: TrialDesign
    unit_of_randomisation: str
    interventions: list[str]
    comparator: str
    allocation_ratio: str
    primary_outcomes: list[str]
    secondary_outcomes: list[str]
    target_sample_size: int | None
    target_clusters: int | None
    date_of_first_enrolment: dt.date | None
    date_of_completion: dt.date | None
    date_of_planned_analysis: dt.date | None
    recruitment_status: TrialStatus
    ethics_review: str
    ipd_sharing_statement: str
    cost_per_participant: float | None
    analysis_plan_sha256: str | None
    analysis_plan_locked_at: dt.datetime | None
    illustrative: bool


class RegisterOut(BaseModel):
    items: list[RegistrationOut]
