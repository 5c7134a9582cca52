"""User-side mechanisms, one room each, and their registration.

- :mod:`.states`: the user's states and moves, and how a move is committed;
- :mod:`.arrivals`: a fixed number of users joins per step (Hashimoto et al. 2018);
- :mod:`.adoption`: Bass and threshold adoption with word of mouth;
- :mod:`.retention`: satisfaction, churn with lock-in, risk-based retention, rejoining.

:data:`USER_MECHANISMS` is the registration: the mechanisms a model runs, in the order
they decide (for each start-of-step state, the first to give a user a move wins).
Adding a mechanism is one new room plus one entry here (docs/architecture.md).
"""

from .adoption import Adoption
from .arrivals import Arrivals
from .base import Decision, Members, UserMechanism, fires
from .choice import Switching
from .retention import Rejoining, Retention
from .states import ACTIVE, CHURNED, POTENTIAL, Move, UserState

USER_MECHANISMS: tuple[UserMechanism, ...] = (
    Arrivals(),
    Adoption(),
    Retention(),
    Switching(),
    Rejoining(),
)
"""The registered user-side mechanisms, in decision order."""

__all__ = [
    "ACTIVE", "CHURNED", "POTENTIAL", "USER_MECHANISMS", "Adoption", "Arrivals", "Decision",
    "Members", "Move", "Rejoining", "Retention", "Switching", "UserMechanism", "UserState",
    "fires",
]  # fmt: skip
