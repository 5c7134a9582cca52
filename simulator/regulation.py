"""Regulatory events: the intervention verbs beside ``set`` (``delete``, ``fine``, ``incident``,
``forbid``).

An intervention at step ``t`` applies its ``set`` first, then its verbs, at the start of
step ``t`` (phase 0 of :func:`simulator.engines.step.run_step`):

- ``delete`` (GDPR erasure, Art. 17 GDPR [GDPR16]_): of each named group's training data
  (of one source, or of all), the share ``share`` is erased from the firm's store
  (:meth:`DataStore.erase <simulator.firm.datastore.DataStore.erase>`). With ``retrain``
  (the default) the firm may no longer serve a model that learned from it: it retrains
  on what remains and deploys that model at once (:meth:`Firm.erase
  <simulator.firm.firm.Firm.erase>`), so the quality drop shows at step ``t``;
- ``fine``: ``amount`` is added to the firm's costs of step ``t`` (the economics ledger);
- ``incident`` (a privacy incident): a trust shock for ``duration`` steps, ``t .. t +
  duration - 1`` (:class:`TrustShock`): the churn hazard is multiplied by
  ``churn_multiplier`` and word of mouth turns: the imitation hazard ``q`` becomes
  ``q max(w, 0)``, and for ``w < 0`` an active user's churn hazard grows by
  ``-w q frac``, ``frac`` the share of its contacts who are active users (they warn
  each other: the more of your contacts use it, the more you hear about the breach).

- ``forbid``: the firm (or every firm) may no longer collect the signal ``signal`` from
  step ``t`` on (a ban on, say, dwell-time tracking): the signal yields nothing and draws
  nothing; the other signals are collected as before.

None of them draws random numbers: a scenario with a verb draws exactly what it draws
without it until the verb changes users' states.

References
----------
.. [GDPR16] Regulation (EU) 2016/679 (General Data Protection Regulation), Article 17:
   right to erasure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TrustShock:
    """A privacy incident's effect on users while it lasts (steps ``start .. end - 1``)."""

    start: int
    end: int
    churn_multiplier: float
    word_of_mouth: float

    def in_force(self, step: int) -> bool:
        return self.start <= step < self.end

    @staticmethod
    def combined(shocks: list[TrustShock], step: int) -> TrustShock | None:
        """The shocks in force at ``step`` as one: churn multipliers multiply, word of mouth
        is the worst of them; None if none is in force."""
        now = [shock for shock in shocks if shock.in_force(step)]
        if not now:
            return None
        multiplier = 1.0
        for shock in now:
            multiplier *= shock.churn_multiplier
        return TrustShock(step, step + 1, multiplier, min(s.word_of_mouth for s in now))

    def imitation(self, imitation: float) -> float:
        """The word-of-mouth (imitation) hazard in force: ``q max(w, 0)``."""
        return imitation * max(self.word_of_mouth, 0.0)

    def warning(self, imitation: float) -> float:
        """Extra churn hazard per unit share of active contacts: ``-w q`` for ``w < 0``."""
        return -self.word_of_mouth * imitation if self.word_of_mouth < 0 else 0.0


def apply_verbs(model, intervention, step: int) -> None:
    """Apply ``intervention``'s regulatory verbs to ``model`` at ``step``."""
    names = model.firm_names
    erase = intervention.delete
    if erase is not None:
        groups = model.group_names
        keep = np.ones(len(groups))
        if erase.group is None:
            keep[:] = 1.0 - erase.share
        else:
            keep[groups.index(erase.group)] = 1.0 - erase.share
        targets = range(len(names)) if erase.firm is None else [names.index(erase.firm)]
        for j in targets:
            model.firms[j].erase(keep, erase.source, erase.retrain, step)
    fine = intervention.fine
    if fine is not None:
        j = 0 if fine.firm is None else names.index(fine.firm)
        model.firms[j].fined_this_step += float(fine.amount)
    forbid = intervention.forbid
    if forbid is not None:
        targets = range(len(names)) if forbid.firm is None else [names.index(forbid.firm)]
        for j in targets:
            model.firms[j].forbidden = model.firms[j].forbidden | {forbid.signal}
    incident = intervention.incident
    if incident is not None:
        model.shocks.append(
            TrustShock(step, step + incident.duration, float(incident.churn_multiplier),
                       float(incident.word_of_mouth))
        )  # fmt: skip


def regulation_summary(scenario, timeseries) -> dict | None:
    """``summary.json``'s ``regulation`` field: what each verb did (None without verbs).

    - an erasure at step ``t``: ``quality_before`` (step ``t - 1``), ``quality_after``
      (step ``t``), ``drop``, ``recovered_at`` (the first step ``>= t`` at which quality is
      back at ``quality_before`` or above; null if never) and ``recovery_steps``;
    - an incident from ``t`` for ``d`` steps: the churn rate (churns per active user per
      step) over the ``d`` steps before, during, and the peak step's, and their ratio;
    - fines: their total;
    - forbidden signals: the step, the signal and the firm (null: every firm) of each.
    """
    planned = [iv for iv in scenario.interventions if iv.verbs]
    if not planned:
        return None
    # A verb after the last step never happens (--steps may shorten a run): its one-number
    # fields are then null, so that the scenario's highlights still name fields of the run.
    changes = [iv for iv in planned if iv.at <= scenario.steps]
    ts = timeseries.set_index("step")
    quality = ts["quality"]
    active_before = ts["active_users"].shift(1)
    churn_rate = ts["churns"] / active_before.where(active_before > 0)
    erasures, incidents, fines, forbidden = [], [], 0.0, []
    for change in sorted(changes, key=lambda iv: iv.at):
        t = change.at
        if change.delete is not None and t - 1 in quality.index:
            before, after = float(quality[t - 1]), float(quality[t])
            later = quality[quality.index >= t]
            back = later[later >= before - 1e-12]
            recovered = int(back.index[0]) if len(back) else None
            erasures.append({
                "step": t, "share": change.delete.share, "group": change.delete.group,
                "source": change.delete.source, "quality_before": before,
                "quality_after": after, "drop": before - after, "recovered_at": recovered,
                "recovery_steps": None if recovered is None else recovered - t,
            })  # fmt: skip
        if change.incident is not None:
            d = change.incident.duration
            during = churn_rate[(churn_rate.index >= t) & (churn_rate.index < t + d)]
            prior = churn_rate[(churn_rate.index >= t - d) & (churn_rate.index < t)]
            mean_before, mean_during = _mean(prior), _mean(during)
            incidents.append({
                "step": t, "duration": d, "churn_rate_before": mean_before,
                "churn_rate_during": mean_during,
                "peak_churn_rate": None if during.dropna().empty else float(during.max()),
                "churn_ratio": (mean_during / mean_before
                                if mean_before and mean_during is not None else None),
            })  # fmt: skip
        if change.fine is not None:
            fines += float(change.fine.amount)
        if change.forbid is not None:
            forbidden.append({"step": t, "signal": change.forbid.signal,
                              "firm": change.forbid.firm})  # fmt: skip
    out: dict = {}
    if any(iv.delete for iv in planned):
        out |= {"erasure_drop": None, "recovery_steps": None, "erasures": []}
    if any(iv.incident for iv in planned):
        out |= {"churn_ratio": None, "peak_churn_rate": None, "incidents": []}
    if any(iv.fine for iv in planned):
        out["fines"] = 0.0
    if erasures:  # the first erasure's figures as one-number fields (report.highlight)
        out |= {
            "erasure_drop": erasures[0]["drop"],
            "recovery_steps": erasures[0]["recovery_steps"],
            "erasures": erasures,
        }
    if incidents:
        out |= {
            "churn_ratio": incidents[0]["churn_ratio"],
            "peak_churn_rate": incidents[0]["peak_churn_rate"],
            "incidents": incidents,
        }
    if fines:
        out["fines"] = fines
    if any(iv.forbid for iv in planned):
        out["forbidden"] = forbidden
    return out  # fmt: skip


def regulation_fields(scenario) -> list[str]:
    """The one-number fields of summary.json's ``regulation`` block this scenario has."""
    changes = [iv for iv in scenario.interventions if iv.verbs]
    fields = []
    if any(iv.delete for iv in changes):
        fields += ["regulation.erasure_drop", "regulation.recovery_steps"]
    if any(iv.incident for iv in changes):
        fields += ["regulation.churn_ratio", "regulation.peak_churn_rate"]
    if any(iv.fine for iv in changes):
        fields.append("regulation.fines")
    return fields


def _mean(values) -> float | None:
    values = values.dropna()
    return float(values.mean()) if len(values) else None
