"""The scenario format as pydantic sections: types, ranges, defaults and cross-field rules.

No I/O here: files, lines and overrides are in :mod:`.loading`, dotted keys in
:mod:`.keys`. Every field has a description (shown by ``flywheel schema``) and
fields that shape what is built at step 0 are marked *structural*
(:func:`structural`); the list of keys an intervention may not change is derived
from those marks, never kept by hand.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from simulator.errors import InputError

from .deployment import DeploymentPolicy
from .regulation import Delete, Fine, Forbid, Incident, Privacy
from .section import Section, about, structural
from .signals import Signal

__all__ = [
    "Adoption", "Baseline", "Churn", "Data", "Group", "Intervention", "Learning", "Market",
    "NetworkSpec", "Population", "Reinvestment", "Report", "Scenario", "Section",
    "scenario_json_schema", "structural",
]  # fmt: skip

Issue = tuple[tuple, str, "str | None"]
"""A cross-field problem: ``(location relative to the section, message, value repr)``."""


class IssuesError(ValueError):
    """Cross-field problems raised from a validator, each placed at its own key."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(message for _, message, _ in issues))
        self.issues = issues


def raise_if(issues: list[Issue]) -> None:
    """From a model validator: report the problems (if any) at their own keys."""
    if issues:
        raise IssuesError(issues)


Name = Annotated[str, Field(pattern=r"^[a-z0-9_-]+$")]


class Group(Section):
    """A user segment: its share of the population, activity and feedback noise."""

    name: Annotated[Name, structural("Segment name, used in columns such as quality[minority].")]
    share: Annotated[
        float, structural("The segment's share of the population; shares sum to 1.", gt=0, le=1)
    ]
    activity: Annotated[float, about("Mean interactions per active user per week.", ge=0)] = 3.0
    label_noise: Annotated[
        float, about("Share of the segment's feedback signals with a wrong label.", ge=0, le=1)
    ] = 0.10
    data_mean: Annotated[
        float,
        about("Estimator learners: mean of the segment's data distribution N(mean, spread^2)."),
    ] = 0.0
    data_spread: Annotated[
        float, about("Estimator learners: spread (sd) of the segment's data.", gt=0)
    ] = 1.0
    arrivals: Annotated[
        int | None,
        about("Users of the segment who join per step under adoption.rule: arrivals.", ge=0),
    ] = None
    taste_angle: Annotated[
        float,
        about("Preference learner: angle (degrees) by which the segment's true reward "
              "direction is rotated from the reference taste (0 = the reference).",
              ge=-180, le=180),
    ] = 0.0  # fmt: skip


DEFAULT_GROUPS = (Group(name="majority", share=0.8), Group(name="minority", share=0.2))
IMPLICIT_FIRM = "firm"
"""The name of the one firm of a scenario without ``firms:``."""


SOURCE_NAMES = ("users", "curated", "synthetic", "open", "bought", "lighthouse")
"""Where training examples come from (columns ``training_examples[<source>]``): no group
or firm may take one of these names."""
_RESERVED = (
    "is the name of a data source (users, curated, synthetic, open, bought, lighthouse), "
    "whose columns such as training_examples[<source>] would clash; pick another name"
)


class Population(Section):
    """The users: how many, which segments, and how unequal their activity is."""

    size: Annotated[int, structural("Number of users (potential customers).", ge=1)] = 5000
    groups: list[Group] = Field(
        default_factory=lambda: list(DEFAULT_GROUPS),
        min_length=1,
        description="User segments (a named list); shares sum to 1.",
    )
    activity_cv: Annotated[
        float,
        structural("Coefficient of variation of users' activity (Gamma, mean 1); 0 = equal.", ge=0),
    ] = 0.5

    @model_validator(mode="after")
    def _check_groups(self) -> Population:
        issues, seen = [], set()
        total = sum(group.share for group in self.groups)
        if abs(total - 1) > 1e-9:
            issues.append((("groups",), "group shares must sum to 1", repr(round(total, 9))))
        for i, group in enumerate(self.groups):
            if group.name in seen:
                issues.append((("groups", i, "name"), "duplicate group name", repr(group.name)))
            elif group.name in SOURCE_NAMES:
                issues.append((("groups", i, "name"), _RESERVED, repr(group.name)))
            seen.add(group.name)
        raise_if(issues)
        return self


class NetworkSpec(Section):
    """The social network users adopt through (yaml key ``network``)."""

    kind: Annotated[
        Literal[
            "complete", "erdos_renyi", "barabasi_albert", "watts_strogatz",
            "stochastic_block", "file",
        ],
        about("The network model."),
    ] = "barabasi_albert"  # fmt: skip
    mean_degree: Annotated[
        float, about("Target mean number of contacts per user (not complete / file).", gt=0)
    ] = 6.0
    rewire: Annotated[
        float, about("watts_strogatz: probability a ring tie is rewired.", ge=0, le=1)
    ] = 0.1
    homophily: Annotated[
        float,
        about("stochastic_block: 0 = groups mix at random, 1 = no ties across groups.", ge=0, le=1),
    ] = 0.0
    path: Annotated[str | None, about("file: an edge list or GraphML file; nodes are users.")] = (
        None
    )

    @field_validator("path")
    @classmethod
    def _resolve_path(cls, value: str | None, info: ValidationInfo) -> str | None:
        context = info.context or {}
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute() and context.get("base_dir") is not None:
            path = context["base_dir"] / path
            value = str(path)
        if context.get("check_files") and not path.is_file():
            raise ValueError(f"network file not found: {path}")
        return value

    @model_validator(mode="after")
    def _check_kind(self) -> NetworkSpec:
        issues = []
        if self.kind == "file" and self.path is None:
            issues.append((("path",), "is required when kind is 'file'", None))
        degree = self.mean_degree
        even = degree.is_integer() and degree >= 2 and degree % 2 == 0
        if self.kind == "watts_strogatz" and not even:
            message = "must be an even integer >= 2 when kind is 'watts_strogatz'"
            issues.append((("mean_degree",), message, repr(degree)))
        raise_if(issues)
        return self


class Adoption(Section):
    """How potential users become adopters (Bass hazard, neighbour threshold or arrivals)."""

    rule: Annotated[
        Literal["bass", "threshold", "arrivals"],
        about("bass: word-of-mouth hazard; threshold: adopt once a share of contacts has; "
              "arrivals: each group's fixed count joins per step."),
    ] = "bass"  # fmt: skip
    innovation: Annotated[float, about("p: spontaneous adoption hazard per week.", ge=0)] = 0.002
    imitation: Annotated[
        float, about("q: word-of-mouth hazard per week per unit share of active contacts.", ge=0)
    ] = 0.3
    threshold: Annotated[
        float, about("threshold rule: share of active contacts needed to adopt.", ge=0, le=1)
    ] = 0.18
    quality_sensitivity: Annotated[
        float, about("kappa: adoption speeds up by exp(kappa (Q - Q_ref)); 0 = plain Bass.", ge=0)
    ] = 4.0
    arrivals: Annotated[
        int | None,
        about("rule arrivals: users who join per step, chosen at random among all non-active "
              "users whatever their group (instead of each group's own arrivals).", ge=0),
    ] = None  # fmt: skip
    initial_adopters: Annotated[int, structural("Users active at step 0.", ge=0)] = 10
    seeding: Annotated[
        Literal["random", "hubs"],
        structural("Who the initial adopters are: random users or the best-connected ones."),
    ] = "random"


class Data(Section):
    """How interactions turn into feedback signals and filtered training data."""

    feedback_rate: Annotated[
        float, about("Share of interactions that yield a usable feedback signal.", ge=0, le=1)
    ] = 0.3
    filter_recall: Annotated[
        float, about("Share of correct signals the quality filter keeps.", ge=0, le=1)
    ] = 0.9
    filter_false_accept: Annotated[
        float, about("Share of wrong signals the quality filter lets through.", ge=0, le=1)
    ] = 0.3
    synthetic_share: Annotated[
        float,
        about("Estimator learners: share of each generation's batch sampled from the "
              "deployed model (synthetic data).", ge=0, le=1),
    ] = 0.0  # fmt: skip
    policy: Annotated[
        Literal["accumulate", "replace"],
        about("Estimator learners: keep every generation's data, or train on the newest only."),
    ] = "accumulate"
    batch_size: Annotated[
        int | None,
        about("Estimator learners: points per group per generation (required when "
              "synthetic_share is 1).", ge=1),
    ] = None  # fmt: skip
    signals: list[Signal] = Field(
        default=[],
        description="Typed feedback signals (a named list: thumbs, correction, dwell, copy, "
        "share, edit); none = one thumbs signal at feedback_rate with the groups' label_noise.",
    )
    top_k: Annotated[
        int | None,
        about("At each retrain, train only on the best K examples (by quality score) of those "
              "collected since the last retrain; null = keep them all.", ge=1),
    ] = None  # fmt: skip

    @model_validator(mode="after")
    def _check_batch(self) -> Data:
        issues = []
        if self.synthetic_share == 1 and self.batch_size is None:
            message = (
                "must be set when data.synthetic_share is 1 (with no real data in the batch, "
                "it sets how many synthetic points each generation draws)"
            )
            issues.append((("batch_size",), message, "None"))
        seen: set[str] = set()
        for i, signal in enumerate(self.signals):
            if signal.name in seen:
                issues.append((("signals", i, "name"), "duplicate signal name", repr(signal.name)))
            seen.add(signal.name)
        raise_if(issues)
        return self


PREFERENCE_KEYS = ("pair_share", "features", "beta", "ridge", "max_pairs")
"""The ``learning`` keys only the preference learner reads."""


class Learning(Section):
    """The learner: a learning curve from data counts, or an estimator fitted to data points."""

    kind: Annotated[
        Literal["curve", "estimator", "preference"],
        structural("curve: a learning curve over data counts; estimator: a statistical model "
                   "fitted to the users' data points; preference: a Bradley-Terry reward "
                   "model fitted to preference pairs."),
    ] = "curve"  # fmt: skip
    estimator: Annotated[
        Literal["median", "mean", "gaussian", "logistic"],
        about("Estimator learners: which model is fitted."),
    ] = "median"
    objective: Annotated[
        Literal["erm", "group_dro"],
        about("Estimator learners: average loss (erm) or Hashimoto et al.'s robust risk."),
    ] = "erm"
    alpha_min: Annotated[
        float, about("group_dro: the smallest group share to protect.", gt=0, le=1)
    ] = 0.3
    initial_examples: Annotated[
        int, structural("Clean examples per group held at step 0 (the curated cold-start set).",
                        ge=0),
    ] = 0  # fmt: skip
    initial_error: Annotated[
        float, about("e_0: error of the cold-start model (no data).", gt=0, le=1)
    ] = 0.5
    floor_error: Annotated[
        float, about("e_inf: error no amount of data removes; < initial_error.", ge=0)
    ] = 0.05
    exponent: Annotated[float, about("alpha: power-law exponent of the learning curve.", gt=0)] = (
        0.3
    )
    scale: Annotated[
        float, about("D_c: examples at which the learning curve starts to bend.", gt=0)
    ] = 2000.0
    transfer: Annotated[
        float, about("tau: how much one group's data helps another's model.", ge=0, le=1)
    ] = 0.5
    noise_penalty: Annotated[
        float, about("lambda: error added per unit share of mislabelled training data.", ge=0)
    ] = 0.5
    pair_share: Annotated[
        float,
        about("Preference learner: share of sessions with a thumbs signal in which the user "
              "saw two responses and rated one up, one down (a preference pair).", ge=0, le=1),
    ] = 0.1  # fmt: skip
    features: Annotated[
        int, structural("Preference learner: d, the responses' feature dimension.", ge=2, le=64)
    ] = 8
    beta: Annotated[
        float,
        about("Preference learner: Bradley-Terry sharpness; P(a > b) = sigma(beta (u(a) - "
              "u(b))).", gt=0),
    ] = 1.0  # fmt: skip
    ridge: Annotated[
        float, about("Preference learner: L2 penalty (ridge / 2) |w|^2 of the reward fit.", gt=0)
    ] = 1.0
    max_pairs: Annotated[
        int, about("Preference learner: at most this many pairs per retrain (for speed).", ge=1)
    ] = 20000

    @model_validator(mode="after")
    def _check_floor(self) -> Learning:
        issues = []
        if self.floor_error >= self.initial_error:
            message = f"must be < learning.initial_error ({self.initial_error:g})"
            issues.append((("floor_error",), message, repr(self.floor_error)))
        if self.kind != "preference":
            only = "is only used by the preference learner (learning.kind: preference)"
            for key in PREFERENCE_KEYS:
                value = getattr(self, key)
                if value != type(self).model_fields[key].default:
                    issues.append(((key,), only, repr(value)))
        if self.objective == "group_dro" and self.kind != "estimator":
            message = "is only used by estimator learners (learning.kind: estimator)"
            issues.append((("objective",), message, repr(self.objective)))
        elif self.objective == "group_dro" and self.estimator == "gaussian":
            message = "group_dro is available for the median, mean and logistic estimators"
            issues.append((("objective",), message, repr(self.objective)))
        raise_if(issues)
        return self


class Reinvestment(Section):
    """How fast collected data is turned back into a better model."""

    rate: Annotated[
        float, about("Share of filtered data used for training; 0 = data hoarding.", ge=0, le=1)
    ] = 1.0
    retrain_every: Annotated[int, about("Steps between retrains.", ge=1)] = 4
    latency: Annotated[int, about("Steps from training to deployment.", ge=0)] = 1
    data_half_life: Annotated[
        float | None, about("Steps for training data to lose half its weight; null = never.", gt=0)
    ] = 104.0
    ab_test: Annotated[
        bool, about("A retrained model goes live only if it beats the deployed one.")
    ] = True
    deployment: DeploymentPolicy | None = Field(
        default=None,
        description="The deployment policy (perfect, always, or a real ab_test); null = "
        "reinvestment.ab_test decides (true: perfect, false: always).",
    )


class Churn(Section):
    """Why active users leave: base hazard, dissatisfaction, softened by lock-in."""

    base_rate: Annotated[
        float, about("c_0: churn hazard per week at satisfaction equal to the outside option.",
                     ge=0),
    ] = 0.01  # fmt: skip
    sensitivity: Annotated[
        float, about("beta: churn is multiplied by exp(-beta (s - Q_ref)).", ge=0)
    ] = 5.0
    satisfaction_rate: Annotated[
        float, about("mu: share of the gap to current quality satisfaction closes per step.",
                     ge=0, le=1),
    ] = 0.3  # fmt: skip
    lock_in: Annotated[
        float, about("l: largest share by which switching costs cut churn.", ge=0, le=1)
    ] = 0.5
    lock_in_time: Annotated[float, about("T_l: steps for lock-in to build up.", gt=0)] = 26.0
    rejoin_rate: Annotated[
        float, about("Hazard per week for a churned user to become a potential user again.", ge=0)
    ] = 0.0
    retention: Annotated[
        Literal["hazard", "risk"],
        about("hazard: the churn hazard; risk (estimator learners): an active user stays "
              "with probability exp(-R_g dt)."),
    ] = "hazard"  # fmt: skip


class Baseline(Section):
    """Quality users can get elsewhere, rising from ``start`` towards ``ceiling``."""

    start: Annotated[float, about("b_0: outside quality at step 0.", ge=0, le=1)] = 0.5
    ceiling: Annotated[float, about("b_inf: where the outside quality is heading.", ge=0, le=1)] = (
        0.8
    )
    time_constant: Annotated[
        float | None, about("T_b: steps to cover 63% of the way; null = stays at start.", gt=0)
    ] = 156.0


class Market(Section):
    """The competitive environment of the product."""

    baseline: Baseline = Field(
        default=Baseline(), description="The free open model users can always switch to."
    )
    regulatory_barrier: Annotated[
        bool, about("Regulation shields the incumbent (an input of the defensibility audit).")
    ] = False
    compliance_steps: Annotated[
        int,
        structural("Markets of firms, with regulatory_barrier: steps a firm entering after "
                   "step 0 needs to comply before its product may enter (it goes on offer at "
                   "enters_at + compliance_steps). 0 = no compliance time.", ge=0),
    ] = 0  # fmt: skip
    tipping_share: Annotated[
        float,
        structural("Markets of firms: the market has tipped once one firm keeps more than this "
                   "share of the firms' active users until the end.", gt=0.5, le=1),
    ] = 0.9  # fmt: skip


class Curation(Section):
    """Hand-curation: a firm's first users are served by hand, their data labelled by hand."""

    users: Annotated[
        int, about("While the firm has had at most this many users, every interaction is "
                   "served and labelled by hand: a clean training example. 0 = off.", ge=0),
    ] = 0  # fmt: skip
    service_quality: Annotated[
        float | None,
        about("Quality the hand-served users get (null: the model's).", ge=0, le=1),
    ] = None
    cost_per_example: Annotated[
        float, about("Economics: cost of one hand-labelled example.", ge=0)
    ] = 0.0


class SyntheticStart(Section):
    """Synthetic data: generated examples for the use case, to train a first model."""

    examples: Annotated[int, about("Synthetic examples per group; 0 = off.", ge=0)] = 0
    weight: Annotated[
        float,
        about("Learning curve: what a synthetic example is worth in real ones (its quality "
              "discount).", gt=0, le=1),
    ] = 0.5  # fmt: skip
    at: Annotated[int, about("The step they are added.", ge=0)] = 0


class OpenData(Section):
    """Open data (Wikipedia, CommonCrawl): a public pool any firm can use; never exclusive."""

    examples: Annotated[int, about("Examples in the pool, before relevance; 0 = off.", ge=0)] = 0
    relevance: Annotated[
        dict[str, float],
        about("Per group, the share of the pool relevant to it, in [0, 1] (groups not named: "
              "default_relevance)."),
    ] = {}  # fmt: skip
    default_relevance: Annotated[
        float, about("The relevance of the pool to groups not named.", ge=0, le=1)
    ] = 0.5
    label_noise: Annotated[
        float, about("Share of the pool's examples with a wrong label.", ge=0, le=1)
    ] = 0.1
    at: Annotated[int, about("The step the firm starts using it.", ge=0)] = 0


class Acquisition(Section):
    """Acquisition: a dataset bought at a step, at a price."""

    examples: Annotated[int, about("Examples bought; 0 = off.", ge=0)] = 0
    group: Annotated[
        str | None, about("The group it is about (null: every group, by population share).")
    ] = None
    at: Annotated[int, about("The step it is bought and added.", ge=0)] = 0
    price: Annotated[float, about("Economics: what it costs.", ge=0)] = 0.0
    label_noise: Annotated[
        float, about("Share of its examples with a wrong label.", ge=0, le=1)
    ] = 0.05
    exclusive: Annotated[
        bool, about("Bought exclusively (no rival can buy it): counts as exclusive data.")
    ] = False


class Lighthouse(Section):
    """A lighthouse customer: one large customer whose users join, and may leave, together."""

    users: Annotated[int, about("Users the customer brings; 0 = off.", ge=0)] = 0
    group: Annotated[
        str | None, about("The group its users belong to (null: the first group).")
    ] = None
    at: Annotated[int, about("The step it joins.", ge=0)] = 0
    leaves_at: Annotated[
        int | None, about("The step all its users leave together (null: they stay).", ge=1)
    ] = None
    examples: Annotated[
        int, about("The customer's own history, added to the training data when it joins.",
                   ge=0),
    ] = 0  # fmt: skip
    label_noise: Annotated[
        float, about("Share of its history's examples with a wrong label.", ge=0, le=1)
    ] = 0.05
    discount: Annotated[
        float, about("Economics: the share of the price its users do not pay.", ge=0, le=1)
    ] = 0.0


class FreeTier(Section):
    """Product-led growth: a free tier raises adoption and data; some free users convert."""

    enabled: Annotated[bool, about("New users start on a free tier.")] = False
    attraction: Annotated[
        float, about("Utility a free product adds when a user considers adopting it.", ge=0)
    ] = 0.5
    revenue_per_user: Annotated[
        float, about("Economics: revenue per free user per week (below the price).", ge=0)
    ] = 0.0
    conversion_rate: Annotated[
        float, about("Hazard per week that a free user converts to the paid tier.", ge=0)
    ] = 0.02


class ColdStart(Section):
    """Cold-start tactics, each off by default (``docs/scenarios.md#cold_start``)."""

    curation: Curation = Field(default=Curation(), description="Hand-curation of the first users.")
    synthetic: SyntheticStart = Field(default=SyntheticStart(), description="Synthetic data.")
    open_data: OpenData = Field(default=OpenData(), description="A public data pool.")
    acquisition: Acquisition = Field(default=Acquisition(), description="A bought dataset.")
    lighthouse: Lighthouse = Field(default=Lighthouse(), description="A lighthouse customer.")
    free_tier: FreeTier = Field(default=FreeTier(), description="A free tier.")

    @property
    def in_use(self) -> bool:
        """Whether any tactic is on."""
        return bool(
            self.curation.users or self.synthetic.examples or self.open_data.examples
            or self.acquisition.examples or self.lighthouse.users or self.lighthouse.examples
            or self.free_tier.enabled
        )  # fmt: skip


class Economics(Section):
    """The money side of a flywheel: revenue and costs per week (off unless set)."""

    price: Annotated[float, about("Revenue per paying active user per week.", ge=0)] = 0.0
    cost_per_user: Annotated[
        float, about("Cost of serving one active user for a week (free users too).", ge=0)
    ] = 0.0
    cost_per_retrain: Annotated[float, about("Compute cost of one retrain.", ge=0)] = 0.0
    cost_per_example: Annotated[
        float, about("Cost of labelling one training example from users' feedback.", ge=0)
    ] = 0.0
    fixed_cost: Annotated[float, about("Other costs per week.", ge=0)] = 0.0


def partial(section: type[Section]) -> type[Section]:
    """The same section with every key optional and no defaults: a firm's own values,
    taken over the scenario's top-level section key by key (cross-field rules are checked
    on the merged section)."""
    from pydantic import create_model

    fields = {}
    for name, info in section.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else None
        meta = Field(description=info.description, json_schema_extra=extra)
        fields[name] = (Annotated[info.annotation | None, meta, *info.metadata], None)
    model = create_model(
        f"Firm{section.__name__}", __base__=Section, __doc__=section.__doc__, **fields
    )
    return model


FirmData = partial(Data)
FirmLearning = partial(Learning)
FirmReinvestment = partial(Reinvestment)
FirmColdStart = partial(ColdStart)
FirmEconomics = partial(Economics)
FIRM_SECTIONS = {
    "data": Data, "learning": Learning, "reinvestment": Reinvestment,
    "cold_start": ColdStart, "economics": Economics,
}  # fmt: skip
"""The sections a firm may set for itself, and their full models."""


def merge_section(model: type[Section], base: Section | None, own: Section | None):
    """A firm's section: its own keys (``own``, a partial section) over the scenario's
    ``base``; None if neither is set (economics is off unless set)."""
    if own is None:
        return base
    changes = own.model_dump(exclude_none=True)
    return model.model_validate((base.model_dump() if base is not None else {}) | changes)


class Firm(Section):
    """One firm of the market: its product enters at a step and runs its own flywheel."""

    name: Annotated[Name, structural("Firm name, used in columns such as market_share[entrant].")]
    enters_at: Annotated[int, structural("Step from which its product is on offer.", ge=0)] = 0
    initial_adopters: Annotated[
        int | None,
        structural("Users who start on its product when it enters (default: "
                   "adoption.initial_adopters).", ge=0),
    ] = None  # fmt: skip
    data: FirmData | None = Field(  # type: ignore[valid-type]
        default=None, description="Its own data-pipeline keys (others: the top-level data)."
    )
    learning: FirmLearning | None = Field(  # type: ignore[valid-type]
        default=None, description="Its own learner keys (others: the top-level learning)."
    )
    reinvestment: FirmReinvestment | None = Field(  # type: ignore[valid-type]
        default=None,
        description="Its own retraining keys (others: the top-level reinvestment).",
    )
    cold_start: FirmColdStart | None = Field(  # type: ignore[valid-type]
        default=None,
        description="Its own cold-start tactics (a tactic it sets replaces the top-level one).",
    )
    economics: FirmEconomics | None = Field(  # type: ignore[valid-type]
        default=None, description="Its own prices and costs (others: the top-level economics)."
    )


class Choice(Section):
    """How users choose between the firms' products and the outside option, and switch."""

    rule: Annotated[
        Literal["logit", "best"],
        about("logit: random utility, a product is picked with probability proportional to "
              "its attraction; best: the highest utility (ties: the first firm listed)."),
    ] = "logit"  # fmt: skip
    quality_weight: Annotated[
        float | None,
        about("Utility per unit of quality; null = adoption.quality_sensitivity.", ge=0),
    ] = None
    local_network_effect: Annotated[
        float, about("Utility per unit share of the user's neighbours on the product.", ge=0)
    ] = 0.0
    global_network_effect: Annotated[
        float, about("Utility per user of the product's installed base (direct network effect).",
                     ge=0),
    ] = 0.0  # fmt: skip
    preferences: Annotated[
        dict[str, dict[str, float]],
        about("Intrinsic taste per group, per firm (utility), e.g. {minority: {entrant: 0.5}}."),
    ] = {}
    reconsider_rate: Annotated[
        float, about("Hazard per week that an active user compares products.", ge=0)
    ] = 0.0
    switching_cost: Annotated[
        float,
        about("Utility given up to switch; it grows with tenure like lock-in, "
              "c (1 - exp(-tenure / lock_in_time)).", ge=0),
    ] = 0.0  # fmt: skip
    price_weight: Annotated[
        float,
        about("Utility lost per unit of a product's price per week (economics.price); "
              "0 = users ignore prices.", ge=0),
    ] = 0.0  # fmt: skip


class Intervention(Section):
    """A change from step ``at`` on: ``set`` maps dotted keys (non-structural) to values; the
    regulatory verbs ``delete`` (GDPR erasure), ``fine`` and ``incident`` (a privacy
    incident) are events of that step (``simulator/regulation.py``)."""

    at: Annotated[int, about("The step at which the change takes effect.", ge=1)]
    set: Annotated[
        dict[str, Any], about("Dotted keys to new values (mappings merge).", min_length=1)
    ] = {}
    delete: Delete | None = Field(
        default=None, description="GDPR erasure: a share of a group's or a source's data."
    )
    fine: Fine | None = Field(default=None, description="A fine, booked as a cost.")
    incident: Incident | None = Field(
        default=None, description="A privacy incident: churn up, word of mouth against."
    )
    forbid: Forbid | None = Field(
        default=None, description="A signal that may no longer be collected, from the step on."
    )

    @model_validator(mode="after")
    def _check_something(self) -> Intervention:
        if not (self.set or self.delete or self.fine or self.incident or self.forbid):
            message = "an intervention needs set, delete, fine, incident or forbid"
            raise_if([(("set",), message, None)])
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        # Verbs not used are left out, so that a file's interventions dump as they always did.
        data = handler(self)
        return {key: value for key, value in data.items()
                if key == "at" or (value is not None and value != {})}  # fmt: skip

    @property
    def verbs(self) -> bool:
        """Whether the intervention has a regulatory verb (delete, fine, incident, forbid)."""
        return bool(self.delete or self.fine or self.incident or self.forbid)


class Report(Section):
    """What a run's plots, comparisons and handout put first (no effect on the dynamics)."""

    highlight: Annotated[
        list[Annotated[str, Field(min_length=1)]],
        about("The scenario's key metrics: timeseries columns (share[minority], model_spread) "
              "or summary fields (half_adoption_step, defensibility.score)."),
    ] = []  # fmt: skip
    notice: Annotated[
        list[Annotated[str, Field(min_length=1)]],
        about("Things to notice: short results a run shows, for the handout."),
    ] = []

    @model_validator(mode="after")
    def _check_unique(self) -> Report:
        issues, seen = [], set()
        for i, name in enumerate(self.highlight):
            if name in seen:
                issues.append((("highlight", i), "duplicate metric", repr(name)))
            seen.add(name)
        raise_if(issues)
        return self


def _check_network_file(path: str, size: int) -> list[Issue]:
    """A network file must parse and have one node per user."""
    from simulator.world.network.files import read_network_file

    if not Path(path).is_file():
        return []  # reported by the path validator
    try:
        nodes, _ = read_network_file(path)
    except InputError as exc:
        return [(("network", "path"), str(exc).removeprefix("network.path: "), None)]
    if nodes != size:
        message = (
            f"file {path!r} has {nodes} nodes but population.size is {size}; "
            f"set population.size: {nodes}"
        )
        return [(("network", "path"), message, None)]
    return []


class Scenario(Section):
    """One complete, validated scenario; ``Scenario()`` is the baseline."""

    name: Annotated[
        Name, structural("Identifier; names the default results folder results/<name>/.")
    ] = "baseline"
    description: Annotated[str, structural("The question the scenario asks.")] = (
        "One AI product, 5,000 users on a scale-free social network, retraining every "
        "four weeks against an improving open baseline model."
    )
    seed: Annotated[int, structural("Root seed of all randomness.", ge=0)] = 42
    steps: Annotated[int, structural("Number of steps to simulate.", ge=1)] = 156
    dt: Annotated[float, structural("Length of a step, in weeks.", gt=0)] = 1.0
    engine: Annotated[
        Literal["agent", "array", "auto"],
        structural("agent (Mesa agents), array (NumPy; same results) or auto."),
    ] = "auto"
    population: Population = Field(default=Population(), description="The users.")
    network: Annotated[NetworkSpec, structural("The social network.")] = NetworkSpec()
    adoption: Adoption = Field(default=Adoption(), description="How users adopt.")
    data: Data = Field(default=Data(), description="The data pipeline.")
    learning: Learning = Field(default=Learning(), description="The learner.")
    reinvestment: Reinvestment = Field(
        default=Reinvestment(), description="Retraining and deployment."
    )
    churn: Churn = Field(default=Churn(), description="Why users leave.")
    market: Market = Field(default=Market(), description="What users can get elsewhere.")
    firms: list[Firm] = Field(
        default=[],
        description="A market of competing firms (a named list); none = one firm, as above.",
    )
    choice: Choice = Field(
        default=Choice(), description="How users choose between products and switch."
    )
    cold_start: ColdStart = Field(
        default=ColdStart(),
        description="Cold-start tactics (every firm's, unless it sets its own).",
    )
    economics: Economics | None = Field(
        default=None, description="Prices and costs; null = no economics columns."
    )
    privacy: Annotated[
        Privacy | None,
        structural(
            "Differential privacy and federated learning on training (fixed for the "
            "run); null = off."
        ),
    ] = None
    interventions: Annotated[
        list[Intervention], structural("Changes of non-structural keys part-way through a run.")
    ] = []
    report: Annotated[
        Report, structural("Key metrics and things to notice, for plots and the handout.")
    ] = Report()

    @model_validator(mode="after")
    def _check_scenario(self, info: ValidationInfo) -> Scenario:
        issues = []
        size, seeds = self.population.size, self.adoption.initial_adopters
        if self.network.kind == "file" and (info.context or {}).get("check_files"):
            issues += _check_network_file(self.network.path, size)
        if seeds > size:
            message = f"must be <= population.size ({size})"
            issues.append((("adoption", "initial_adopters"), message, repr(seeds)))
        if self.network.kind not in ("complete", "file") and self.network.mean_degree >= size:
            message = f"must be < population.size ({size})"
            issues.append((("network", "mean_degree"), message, repr(self.network.mean_degree)))
        issues += self._check_estimator_keys() + self._check_market()
        if self.market.compliance_steps and not self.market.regulatory_barrier:
            message = ("needs market.regulatory_barrier: true (compliance time is the "
                       "barrier's cost to an entrant)")  # fmt: skip
            issues.append((("market", "compliance_steps"), message,
                           repr(self.market.compliance_steps)))  # fmt: skip
        issues += self._check_cold_start((), self.cold_start, self.learning)
        issues += self._check_verbs() + self._check_privacy() + self._check_tastes()
        raise_if(issues + self._check_interventions())
        return self

    def _check_verbs(self) -> list[Issue]:
        """The regulatory verbs name existing groups and firms; a fine needs economics; an
        erasure needs a learner that counts its data by source (the learning curve)."""
        issues: list[Issue] = []
        groups = [group.name for group in self.population.groups]
        firms = self.firm_names
        for i, change in enumerate(self.interventions):
            where = ("interventions", i)
            erase, fine = change.delete, change.fine
            if erase is not None:
                if erase.group is not None and erase.group not in groups:
                    issues.append(
                        (
                            where + ("delete", "group"),
                            f"no group {erase.group!r}; groups are {groups}",
                            None,
                        )
                    )
                if erase.firm is not None and erase.firm not in firms:
                    issues.append(
                        (
                            where + ("delete", "firm"),
                            f"no firm {erase.firm!r}; firms are {firms}",
                            None,
                        )
                    )
                else:
                    targets = range(len(firms)) if erase.firm is None else [firms.index(erase.firm)]
                    if any(self._learning_of(j).kind != "curve" for j in targets):
                        message = (
                            "is available for the learning curve (learning.kind: curve) only: "
                            "an estimator's data points and a preference learner's pairs "
                            "carry no source or user to erase"
                        )
                        issues.append((where + ("delete",), message, None))
            if fine is not None:
                if fine.firm is not None and fine.firm not in firms:
                    issues.append(
                        (
                            where + ("fine", "firm"),
                            f"no firm {fine.firm!r}; firms are {firms}",
                            None,
                        )
                    )
                else:
                    j = 0 if fine.firm is None else firms.index(fine.firm)
                    if self._economics_of(j) is None:
                        message = (
                            "needs economics (an economics: section): a fine is a cost in the "
                            "firm's ledger"
                        )
                        issues.append((where + ("fine",), message, repr(fine.amount)))
            if change.forbid is not None:
                issues += self._check_forbid(where + ("forbid",), change.forbid)
        return issues  # fmt: skip

    def _check_tastes(self) -> list[Issue]:
        """A group's taste angle is read by the preference learner only."""
        if any(self._learning_of(j).kind == "preference" for j in range(len(self.firm_names))):
            return []
        message = "is only used by the preference learner (learning.kind: preference)"
        return [(("population", "groups", i, "taste_angle"), message, repr(group.taste_angle))
                for i, group in enumerate(self.population.groups)
                if group.taste_angle != 0]  # fmt: skip

    def _check_forbid(self, where: tuple, forbid) -> list[Issue]:
        """A forbidden signal must be one the firm(s) collect; the firm must exist."""
        from .signals import signal_names

        firms = self.firm_names
        if forbid.firm is not None and forbid.firm not in firms:
            return [(where + ("firm",), f"no firm {forbid.firm!r}; firms are {firms}", None)]
        targets = range(len(firms)) if forbid.firm is None else [firms.index(forbid.firm)]
        known: list[str] = []
        for j in targets:
            try:
                names = signal_names(self.firm_sections(j)["data"].signals)
            except ValidationError:
                names = signal_names(self.data.signals)  # reported by _check_market
            known += [name for name in names if name not in known]
        if forbid.signal not in known:
            message = f"no signal {forbid.signal!r}; signals are {known}"
            return [(where + ("signal",), message, repr(forbid.signal))]
        return []

    def _check_signals(self, where: tuple, data, learning) -> list[Issue]:
        """Per-group signal keys name existing groups; top_k needs the learning curve."""
        issues: list[Issue] = []
        groups = [group.name for group in self.population.groups]
        for i, signal in enumerate(data.signals):
            for key in ("noise", "good_median", "bad_median"):
                value = getattr(signal, key)
                for group in value if isinstance(value, dict) else ():
                    if group not in groups:
                        loc = where + ("data", "signals", i, key, group)
                        issues.append((loc, f"no group {group!r}; groups are {groups}", None))
        if (learning.kind == "preference" and data.signals
                and not any(signal.kind == "thumbs" for signal in data.signals)):  # fmt: skip
            message = (
                "the preference learner builds its pairs from thumbs signals, and data.signals "
                "has none: add a signal of kind thumbs, or use another learner"
            )
            kinds = [signal.kind for signal in data.signals]
            issues.append((where + ("learning", "kind"), message, f"'preference' with {kinds}"))
        if data.top_k is not None and learning.kind == "estimator":
            message = (
                "is available for the learning curve (learning.kind: curve) only: an "
                "estimator's data points carry no quality score"
            )
            issues.append((where + ("data", "top_k"), message, repr(data.top_k)))
        return issues

    def _check_privacy(self) -> list[Issue]:
        """Differential privacy adds Gaussian noise to a mean: estimator learners must be
        ``mean`` or ``gaussian`` (the learning curve takes its sample-size penalty)."""
        if self.privacy is None:
            return []
        from ..firm.federated import check

        issues: list[Issue] = check(
            self.privacy, [(name, self._learning_of(j)) for j, name in enumerate(self.firm_names)]
        )
        if self.privacy.federated:
            return issues
        if self.privacy.epsilon is None:
            issues.append(
                (
                    ("privacy", "epsilon"),
                    "is required (a number > 0), unless privacy.federated: true",
                    None,
                )
            )
        for j in range(len(self.firm_names)):
            learning = self._learning_of(j)
            if learning.kind == "estimator" and learning.estimator not in ("mean", "gaussian"):
                message = (
                    "needs the mean or gaussian estimator (or the learning curve): the Gaussian "
                    f"mechanism here privatises a mean; {self.firm_names[j]!r} fits a "
                    f"{learning.estimator}"
                )
                issues.append((("privacy",), message, repr(learning.estimator)))
            elif learning.kind == "preference":
                message = (
                    "is not available for the preference learner: the Gaussian mechanism here "
                    f"privatises a mean; {self.firm_names[j]!r} fits a reward model to pairs"
                )
                issues.append((("privacy",), message, repr(learning.kind)))
            elif learning.kind == "estimator" and learning.objective != "erm":
                message = "needs learning.objective: erm (the private mean is the ERM fit)"
                issues.append((("privacy",), message, repr(learning.objective)))
        return issues

    def _learning_of(self, j: int):
        if not self.firms or self.firms[j].learning is None:
            return self.learning
        try:
            return merge_section(Learning, self.learning, self.firms[j].learning)
        except ValidationError:
            return self.learning  # reported by _check_market

    def _economics_of(self, j: int):
        if not self.firms or self.firms[j].economics is None:
            return self.economics
        try:
            return merge_section(Economics, self.economics, self.firms[j].economics)
        except ValidationError:
            return self.economics

    def _check_estimator_keys(self) -> list[Issue]:
        """Keys that only mean something with estimator learners or the arrivals rule."""
        issues: list[Issue] = []
        arrivals = self.adoption.rule == "arrivals"
        total = self.adoption.arrivals
        if total is not None and not arrivals:
            message = "is only used when adoption.rule is 'arrivals'"
            issues.append((("adoption", "arrivals"), message, repr(total)))
        for i, group in enumerate(self.population.groups):
            where = ("population", "groups", i, "arrivals")
            if arrivals and total is None and group.arrivals is None:
                message = "is required when adoption.rule is 'arrivals' (or set adoption.arrivals)"
                issues.append((where, message, "None"))
            elif arrivals and total is not None and group.arrivals is not None:
                message = "cannot be set together with adoption.arrivals (choose one)"
                issues.append((where, message, repr(group.arrivals)))
            elif not arrivals and group.arrivals is not None:
                message = "is only used when adoption.rule is 'arrivals'"
                issues.append((where, message, repr(group.arrivals)))
        issues += self._check_signals((), self.data, self.learning)
        return issues + self._check_learner_keys((), self.data, self.learning)

    def _check_learner_keys(self, where: tuple, data, learning) -> list[Issue]:
        """Data and retention keys that need an estimator learner (``where``: the firm)."""
        issues: list[Issue] = []
        if learning.kind == "estimator":
            if learning.estimator == "logistic" and data.synthetic_share > 0:
                message = (
                    "needs a generative estimator (median, mean or gaussian): a logistic "
                    "classifier models labels, not the data, so it cannot sample points"
                )
                share = repr(data.synthetic_share)
                issues.append((where + ("data", "synthetic_share"), message, share))
            return issues
        only = "is only used by estimator learners (learning.kind: estimator)"
        if self.churn.retention == "risk" and not where:
            issues.append((("churn", "retention"), only, "'risk'"))
        elif self.churn.retention == "risk":
            message = "needs every firm's learner to be an estimator (churn.retention: risk)"
            issues.append((where + ("learning", "kind"), message, repr(learning.kind)))
        for key, value, default in (("synthetic_share", data.synthetic_share, 0.0),
                                    ("policy", data.policy, "accumulate"),
                                    ("batch_size", data.batch_size, None)):  # fmt: skip
            if value != default:
                issues.append((where + ("data", key), only, repr(value)))
        return issues

    def _check_cold_start(self, where: tuple, cold_start, learning) -> list[Issue]:
        """Tactics must name existing groups; a lighthouse leaves after it joins; synthetic
        data needs a generative learner."""
        issues: list[Issue] = []
        groups = [group.name for group in self.population.groups]
        here = where + ("cold_start",)
        for key, group in (("acquisition", cold_start.acquisition.group),
                           ("lighthouse", cold_start.lighthouse.group)):  # fmt: skip
            if group is not None and group not in groups:
                issues.append((here + (key, "group"), f"no group {group!r}; groups are {groups}",
                               None))  # fmt: skip
        for group, value in cold_start.open_data.relevance.items():
            loc = here + ("open_data", "relevance", group)
            if group not in groups:
                issues.append((loc, f"no group {group!r}; groups are {groups}", None))
            elif not 0 <= value <= 1:
                issues.append((loc, "must be in [0, 1]", repr(value)))
        lighthouse = cold_start.lighthouse
        if lighthouse.leaves_at is not None and lighthouse.leaves_at <= lighthouse.at:
            message = f"must be after cold_start.lighthouse.at ({lighthouse.at})"
            issues.append((here + ("lighthouse", "leaves_at"), message, repr(lighthouse.leaves_at)))
        if (cold_start.synthetic.examples and learning.kind == "estimator"
                and learning.estimator == "logistic"):  # fmt: skip
            message = (
                "needs a generative learner (the learning curve, or a median, mean or gaussian "
                "estimator): a logistic classifier cannot sample points"
            )
            issues.append((here + ("synthetic", "examples"), message,
                           repr(cold_start.synthetic.examples)))  # fmt: skip
        return issues

    # -- the market of firms ---------------------------------------------------------------

    @property
    def firm_names(self) -> list[str]:
        """The firms of the market, in order; one firm called ``firm`` without ``firms:``."""
        return [firm.name for firm in self.firms] or [IMPLICIT_FIRM]

    def firm_sections(self, index: int) -> dict[str, Section | None]:
        """Firm ``index``'s own sections (data, learning, reinvestment, cold_start,
        economics): its keys over the scenario's, key by key."""
        if not self.firms:
            return {name: getattr(self, name) for name in FIRM_SECTIONS}
        firm = self.firms[index]
        return {
            name: merge_section(model, getattr(self, name), getattr(firm, name))
            for name, model in FIRM_SECTIONS.items()
        }

    def for_firm(self, index: int) -> Scenario:
        """The scenario as firm ``index`` sees it (its own sections in place of the top level)."""
        if not self.firms:
            return self
        return self.model_copy(update=self.firm_sections(index))

    def entry_step(self, index: int) -> int:
        """The step firm ``index``'s product goes on offer: its ``enters_at``, plus
        ``market.compliance_steps`` under ``market.regulatory_barrier`` for a firm entering
        after step 0 (the incumbents already on offer need no new approval)."""
        enters = self.firms[index].enters_at if self.firms else 0
        if enters > 0 and self.market.regulatory_barrier:
            return enters + self.market.compliance_steps
        return enters

    def firm_initial_adopters(self, index: int) -> int:
        if not self.firms or self.firms[index].initial_adopters is None:
            return self.adoption.initial_adopters
        return self.firms[index].initial_adopters

    def _check_market(self) -> list[Issue]:
        """Firms: unique names that are not group names, entry before the horizon, sections
        valid once merged with the top level; choice preferences name groups and firms."""
        from .loading import translate

        issues: list[Issue] = []
        groups = [group.name for group in self.population.groups]
        seen: set[str] = set()
        for i, firm in enumerate(self.firms):
            where = ("firms", i)
            if firm.name in seen:
                issues.append((where + ("name",), "duplicate firm name", repr(firm.name)))
            elif firm.name in SOURCE_NAMES:
                issues.append((where + ("name",), _RESERVED, repr(firm.name)))
            elif firm.name in groups:
                message = (
                    "must differ from the group names (columns such as active_users[<name>] "
                    f"would clash); groups are {groups}"
                )
                issues.append((where + ("name",), message, repr(firm.name)))
            seen.add(firm.name)
            if firm.enters_at < self.steps <= self.entry_step(i):
                message = (
                    f"makes {firm.name!r} enter at step {self.entry_step(i)} (enters_at "
                    f"{firm.enters_at} + compliance), at or after the last step ({self.steps})"
                )
                issues.append((("market", "compliance_steps"), message,
                               repr(self.market.compliance_steps)))  # fmt: skip
            if firm.enters_at >= self.steps:
                message = (
                    f"must be < steps ({self.steps}): a firm entering at or after the last step "
                    "never offers its product"
                )
                issues.append((where + ("enters_at",), message, repr(firm.enters_at)))
            sections, broken = {}, False
            for name, model in FIRM_SECTIONS.items():
                try:
                    sections[name] = merge_section(model, getattr(self, name), getattr(firm, name))
                except ValidationError as exc:
                    broken = True
                    for loc, message, value in translate(exc, model):
                        issues.append((where + (name, *loc), message, value))
            if broken:
                continue
            issues += self._check_learner_keys(where, sections["data"], sections["learning"])
            if firm.data is not None or firm.learning is not None:
                issues += self._check_signals(where, sections["data"], sections["learning"])
            if firm.cold_start is not None:
                issues += self._check_cold_start(where, sections["cold_start"],
                                                 sections["learning"])  # fmt: skip
        seeded = sum(
            self.firm_initial_adopters(i)
            for i, firm in enumerate(self.firms)
            if firm.enters_at == 0
        )
        if self.firms and seeded > self.population.size:
            message = (
                f"the firms entering at step 0 start with {seeded} users in all, more than "
                f"population.size ({self.population.size})"
            )
            issues.append((("firms",), message, None))
        names = self.firm_names
        for group, tastes in self.choice.preferences.items():
            where = ("choice", "preferences", group)
            if group not in groups:
                issues.append((where, f"no group {group!r}; groups are {groups}", None))
                continue
            for firm in tastes:
                if firm not in names:
                    issues.append((where + (firm,), f"no firm {firm!r}; firms are {names}", None))
        return issues

    def _check_interventions(self) -> list[Issue]:
        """Apply the interventions cumulatively, in ``at`` order; each result must be valid."""
        from .keys import BadKeyError, apply_key, is_structural
        from .loading import translate

        issues: list[Issue] = []
        current = self.to_dict() | {"interventions": []}
        for i in sorted(range(len(self.interventions)), key=lambda i: self.interventions[i].at):
            change, where = self.interventions[i], ("interventions", i)
            # An intervention after the last step is allowed: it never happens in this
            # run, so shortening a run with --steps never invalidates its file.
            trial, paths = copy.deepcopy(current), {}
            for key, value in change.set.items():
                if key.split(".")[0] == "economics" and self.economics is None:
                    message = (
                        "economics is off in this scenario (no economics section): set it in "
                        "the file to change its values in an intervention"
                    )
                    issues.append((where + ("set", key), message, repr(value)))
                    continue
                if is_structural(key):
                    message = "is structural (fixed at step 0) and cannot change in an intervention"
                    issues.append((where + ("set", key), message, repr(value)))
                    continue
                try:
                    paths[key] = apply_key(trial, key, value)
                except BadKeyError as problem:
                    issues.append((where + ("set", key), str(problem), None))
            try:
                Scenario.model_validate(trial)
            except ValidationError as exc:
                for loc, message, value in translate(exc):
                    key = next((k for k, p in paths.items() if loc[: len(p)] == p), None)
                    rest = (key, *loc[len(paths[key]) :]) if key is not None else loc
                    issues.append((where + ("set", *rest), message, value))
                continue
            if len(paths) == len(change.set):
                current = trial
        return sorted(issues, key=lambda issue: issue[0][1])  # in the file's order

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """Return a new validated scenario with dotted keys set to new values.

        Parameters
        ----------
        overrides : Mapping[str, Any]
            Dotted keys (``reinvestment.retrain_every``, ``population.groups.minority.label_noise``)
            to values.

        Returns
        -------
        Scenario
            The changed scenario; ``self`` is left unchanged.

        Raises
        ------
        ScenarioError
            If a key is unknown or the changed scenario is invalid (all problems listed).
        """
        from .loading import ScenarioError, collect

        scenario, problems = collect(self.to_dict(), overrides, check_files=False)
        if scenario is None:
            raise ScenarioError(problems)
        return scenario

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (lists, dicts, numbers, strings)."""
        return self.model_dump(mode="python")

    def to_yaml(self) -> str:
        """The resolved scenario as YAML text that loads back to an equal scenario."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


def scenario_json_schema() -> dict[str, Any]:
    """The scenario format as JSON Schema (pydantic's own), with a title and the draft.

    Editors use it to complete and check scenario files; keys marked
    ``"structural": true`` cannot change in an intervention.
    """
    schema = Scenario.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Flywheel scenario",
        **{key: value for key, value in schema.items() if key != "title"},
    }
