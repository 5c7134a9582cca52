"""A firm: its data store, pipeline, learner and deployment policy (:class:`Firm`)."""

from .firm import Firm, FirmRecord

__all__ = ["Firm", "FirmRecord"]
