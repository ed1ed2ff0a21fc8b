"""The status of a RemediationPolicy, from what the operator knows of it.

``Ready`` says whether the spec is usable (and if not, what to fix);
``RemediationAllowed`` says whether the policy may act right now, with the
first reason it may not, in this order: Paused, InvalidSpec, StormDetected,
BudgetExhausted, DryRun (it plans, it does not act). The counters are derived
from the policy's incidents each time, never accumulated, so they cannot drift.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence

from kubemedic.api.common import ConditionStatus
from kubemedic.api.policies import Mode, RemediationPolicySpec, RemediationPolicyStatus
from kubemedic.domain import rails
from kubemedic.domain.conditions import set_condition

READY = "Ready"
REMEDIATION_ALLOWED = "RemediationAllowed"


@dataclasses.dataclass(frozen=True)
class IncidentFacts:
    """What the policy status needs of one of its incidents."""

    target: tuple[str, str]
    is_open: bool
    is_remediating: bool
    action_times: Sequence[datetime.datetime]


def invalid_status(
    previous: RemediationPolicyStatus | None,
    *,
    generation: int,
    message: str,
    now: datetime.datetime,
) -> RemediationPolicyStatus:
    """The status of a policy whose spec cannot be used; ``message`` says what to fix."""
    base = previous or RemediationPolicyStatus()
    conditions = set_condition(
        base.conditions,
        READY,
        ConditionStatus.FALSE,
        "InvalidSpec",
        message,
        now=now,
        generation=generation,
    )
    conditions = set_condition(
        conditions,
        REMEDIATION_ALLOWED,
        ConditionStatus.FALSE,
        "InvalidSpec",
        "the policy takes no actions until its spec is fixed",
        now=now,
        generation=generation,
    )
    return base.model_copy(update={"conditions": conditions, "observed_generation": generation})


def policy_status(
    previous: RemediationPolicyStatus | None,
    spec: RemediationPolicySpec,
    *,
    generation: int,
    incidents: Sequence[IncidentFacts],
    targets: int,
    is_globally_paused: bool,
    now: datetime.datetime,
    problem: str | None = None,
) -> RemediationPolicyStatus:
    """The status of a valid policy; ``problem`` is a usable spec's remaining issue."""
    base = previous or RemediationPolicyStatus()
    hour_ago = now - datetime.timedelta(hours=1)
    open_incidents = [i for i in incidents if i.is_open]
    failing = {i.target for i in open_incidents}
    actions = sum(1 for i in incidents for t in i.action_times if t > hour_ago)

    # Ready: valid and watched, unless a check beyond the schema failed.
    if problem is None:
        ready = (ConditionStatus.TRUE, "Watching", f"watching {len(spec.triggers)} triggers")
    else:
        ready = (ConditionStatus.FALSE, "InvalidSpec", problem)
    conditions = set_condition(
        base.conditions, READY, ready[0], ready[1], ready[2], now=now, generation=generation
    )

    # RemediationAllowed: the first reason the policy may not act now.
    if is_globally_paused:
        allowed = (ConditionStatus.FALSE, rails.PAUSED, "all actions are paused globally")
    elif spec.paused:
        allowed = (ConditionStatus.FALSE, rails.PAUSED, "spec.paused is true")
    elif problem is not None:
        allowed = (ConditionStatus.FALSE, "InvalidSpec", problem)
    elif rails.is_storm(spec, failing=len(failing), total=max(targets, len(failing))):
        allowed = (
            ConditionStatus.FALSE,
            rails.STORM_DETECTED,
            f"{len(failing)} of {max(targets, len(failing))} targets failing at once",
        )
    elif actions >= spec.safety.max_actions_per_hour:
        allowed = (
            ConditionStatus.FALSE,
            rails.BUDGET_EXHAUSTED,
            f"{actions} actions in the last hour, maxActionsPerHour="
            f"{spec.safety.max_actions_per_hour}",
        )
    elif spec.safety.mode == Mode.DRY_RUN:
        allowed = (ConditionStatus.FALSE, "DryRun", "dry run: actions are recorded, not taken")
    else:
        allowed = (ConditionStatus.TRUE, rails.ALLOWED, "the policy may act")
    conditions = set_condition(
        conditions, REMEDIATION_ALLOWED, *allowed, now=now, generation=generation
    )
    return base.model_copy(
        update={
            "mode": spec.safety.mode,
            "observed_generation": generation,
            "conditions": conditions,
            "open_incidents": len(open_incidents),
            "remediating_incidents": sum(1 for i in open_incidents if i.is_remediating),
            "actions_last_hour": actions,
            "targets": targets,
            "failing_targets": len(failing),
        }
    )
