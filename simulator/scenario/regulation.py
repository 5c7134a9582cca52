"""Regulation and privacy in the scenario format: the intervention verbs beside ``set``
(``delete``, ``fine``, ``incident``, ``forbid``) and the ``privacy:`` section (differential privacy,
applied by the learners, :mod:`simulator.firm.privacy`).

No I/O and no dynamics here: the verbs are applied by :mod:`simulator.regulation`.
Cross-field rules that need the whole scenario (a group or firm that must exist, a fine
that needs economics) are checked by ``Scenario._check_verbs`` (schema.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import model_serializer

from .section import Section, about

SOURCE_NAMES = ("users", "curated", "synthetic", "open", "bought", "lighthouse")
"""The data store's sources (:data:`simulator.firm.sources.SOURCES`), as the schema names
them."""


class Delete(Section):
    """GDPR erasure: a share of a group's training data, or of one source's, is erased."""

    share: Annotated[
        float, about("Share of the matching training data erased, in (0, 1].", gt=0, le=1)
    ] = 1.0
    group: Annotated[str | None, about("The group whose data is erased (null: every group).")] = (
        None
    )
    source: Annotated[
        Literal["users", "curated", "synthetic", "open", "bought", "lighthouse"] | None,
        about("The source whose data is erased (null: every source)."),
    ] = None
    firm: Annotated[str | None, about("The firm that must erase (null: every firm).")] = None
    retrain: Annotated[
        bool,
        about("The firm must stop serving models trained on the erased data: it retrains on "
              "what remains and deploys that model at once, whatever the deployment gate "
              "(false: the deployed model stays, only the store loses the data)."),
    ] = True  # fmt: skip


class Fine(Section):
    """A regulator's fine: a one-off cost booked in the economics ledger at the step."""

    amount: Annotated[float, about("The fine (money, as economics.price).", gt=0)]
    firm: Annotated[str | None, about("The firm fined (null: the first firm).")] = None


class Incident(Section):
    """A privacy incident: a trust shock that raises churn and turns word of mouth against
    the product for ``duration`` steps."""

    duration: Annotated[
        int, about("Steps the shock lasts, from the intervention's step.", ge=1)
    ] = 8
    churn_multiplier: Annotated[
        float, about("The churn hazard (churn.base_rate) is multiplied by this.", ge=1)
    ] = 3.0
    word_of_mouth: Annotated[
        float,
        about("What word of mouth does meanwhile, in [-1, 1]: 1 = as before, 0 = nobody "
              "recommends the product, below 0 = users warn each other: the imitation "
              "hazard is off and each active user's churn hazard grows by "
              "-word_of_mouth x adoption.imitation x (share of its contacts who are active).",
              ge=-1, le=1),
    ] = -0.5  # fmt: skip


class Forbid(Section):
    """A ban on collecting one feedback signal (e.g. dwell-time tracking), from the step on."""

    signal: Annotated[
        str,
        about("The signal no longer collected: a name in data.signals (without data.signals "
              "the one signal, thumbs)."),
    ]  # fmt: skip
    firm: Annotated[str | None, about("The firm that must stop (null: every firm).")] = None


FEDERATED_KEYS = ("clients", "participation", "rounds", "local_steps", "learning_rate", "split")
"""The keys that only federated learning (``privacy.federated: true``) reads."""


class Privacy(Section):
    """Differential privacy on training (the Gaussian mechanism), and federated learning
    (FedAvg, with DP-FedAvg under epsilon); off unless set."""

    epsilon: Annotated[
        float | None,
        about("epsilon: the privacy budget of one training run; smaller = more private, "
              "noisier. Required, unless federated: true (null there: FedAvg without "
              "differential privacy).", gt=0),
    ] = None  # fmt: skip
    delta: Annotated[
        float, about("delta: the chance the guarantee fails, in (0, 1).", gt=0, lt=1)
    ] = 1e-5
    clip: Annotated[
        float,
        about("B: each data point is clipped to [-B, B] before training, which bounds one "
              "user's influence (the sensitivity of a mean of n points is 2 B / n); the "
              "learning curve uses it, in units of each group's data_spread, in its "
              "effective-sample-size penalty.", gt=0),
    ] = 3.0  # fmt: skip
    federated: Annotated[
        bool,
        about("Federated learning (FedAvg): the users' data stays on their devices, split into "
              "clients; each retrain runs rounds in which sampled clients train the global "
              "model on their own data and send only the weight difference, averaged by the "
              "server. With epsilon: DP-FedAvg (each client's update clipped to L2 norm "
              "clip, Gaussian noise on the average).")
    ] = False  # fmt: skip
    clients: Annotated[
        int, about("Federated: clients per group (the users' data is split into this many "
                   "clients in each group).", ge=1)
    ] = 10  # fmt: skip
    participation: Annotated[
        float, about("Federated: share q of the clients sampled in each round, in (0, 1] "
                     "(max(1, round(q N)) of the N clients).", gt=0, le=1)
    ] = 0.2  # fmt: skip
    rounds: Annotated[int, about("Federated: FedAvg rounds per retrain.", ge=1)] = 10
    local_steps: Annotated[
        int, about("Federated: local (damped Newton) steps each sampled client takes on its "
                   "own data per round.", ge=1)
    ] = 5  # fmt: skip
    learning_rate: Annotated[
        float, about("Federated: the local steps' size, in (0, 1] (1 = a full Newton step).",
                     gt=0, le=1)
    ] = 0.5  # fmt: skip
    split: Annotated[
        Literal["group", "shuffle"],
        about("Federated: group = a client holds data of one group only (non-IID, a client "
              "is users of one group); shuffle = each point goes to a random client (IID)."),
    ] = "group"  # fmt: skip

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        """Without federated learning the section dumps as before: epsilon, delta, clip."""
        data = handler(self)
        if not self.federated:
            for key in ("federated", *FEDERATED_KEYS):
                data.pop(key, None)
        return data
