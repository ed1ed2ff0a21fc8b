"""The safety rails: may this action run now?

Automation that goes wrong is worse than none, so every action passes these
checks first, in this order: a pause (global or the policy's), a storm (too
many of the policy's targets failing at once: an outage, not a pod problem),
the per-target cooldown, the per-target and per-policy hourly budgets, the
number of incidents remediated at once, and for pod actions the share of the
workload's replicas that may be unavailable. The counts come from the custom
resources' status (see ``RailsContext``), so they survive restarts and
leader changes.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Sequence

from kubemedic.api.policies import Action, ActionType, RemediationPolicySpec

POD_ACTIONS = {ActionType.EVICT_POD, ActionType.DELETE_POD}

# Reasons, as they appear in conditions, Events and the timeline.
PAUSED = "Paused"
STORM_DETECTED = "StormDetected"
COOLDOWN_ACTIVE = "CooldownActive"
BUDGET_EXHAUSTED = "BudgetExhausted"
CONCURRENCY_LIMITED = "ConcurrencyLimited"
UNAVAILABILITY_LIMITED = "UnavailabilityLimited"
ALLOWED = "Allowed"


@dataclasses.dataclass(frozen=True)
class Unavailability:
    """A workload's replicas for the maxUnavailablePercent rail."""

    desired: int
    unavailable: int
    touching_ready: int


@dataclasses.dataclass(frozen=True)
class RailsContext:
    """What the rails need to know, gathered from the cluster just before acting."""

    now: datetime.datetime
    policy_action_times: Sequence[datetime.datetime]
    target_action_times: Sequence[datetime.datetime]
    other_remediating: int
    is_mid_ladder: bool
    failing_targets: int
    total_targets: int
    is_globally_paused: bool = False
    unavailability: Unavailability | None = None


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The rails' answer: allowed, or refused with a reason and what to do."""

    is_allowed: bool
    reason: str
    message: str
    should_escalate: bool = False
    retry_at: datetime.datetime | None = None


def check_rails(spec: RemediationPolicySpec, action: Action, ctx: RailsContext) -> Verdict:
    """Whether ``action`` may run now under the policy's rails."""
    safety = spec.safety
    now = ctx.now
    hour_ago = now - datetime.timedelta(hours=1)

    # A pause stops every mutation at once; detection goes on.
    if ctx.is_globally_paused:
        return Verdict(False, PAUSED, "all actions are paused by the operator's global switch")
    if spec.paused:
        return Verdict(False, PAUSED, "the policy is paused (spec.paused); no actions are taken")

    # A storm is an outage, not a pod problem: stop and call a human.
    if is_storm(spec, failing=ctx.failing_targets, total=ctx.total_targets):
        return Verdict(
            False,
            STORM_DETECTED,
            f"{ctx.failing_targets} of {ctx.total_targets} targets of the policy are failing at "
            f"once, at or above stormThresholdPercent={safety.storm_threshold_percent}; acting "
            "stops and the incident escalates",
            should_escalate=True,
        )

    # Cooldown and budgets, from the actions recorded on incidents.
    if ctx.target_action_times:
        last = max(ctx.target_action_times)
        ready_at = last + datetime.timedelta(seconds=safety.cooldown_seconds)
        if now < ready_at:
            return Verdict(
                False,
                COOLDOWN_ACTIVE,
                f"the target was acted on at {last.isoformat()}; cooldownSeconds="
                f"{safety.cooldown_seconds} lasts until {ready_at.isoformat()}",
                retry_at=ready_at,
            )
    target_recent = sorted(t for t in ctx.target_action_times if t > hour_ago)
    if len(target_recent) >= safety.max_actions_per_target_per_hour:
        return Verdict(
            False,
            BUDGET_EXHAUSTED,
            f"{len(target_recent)} actions on this target in the last hour reach "
            f"maxActionsPerTargetPerHour={safety.max_actions_per_target_per_hour}",
            retry_at=_budget_frees_at(target_recent, safety.max_actions_per_target_per_hour),
        )
    policy_recent = sorted(t for t in ctx.policy_action_times if t > hour_ago)
    if len(policy_recent) >= safety.max_actions_per_hour:
        return Verdict(
            False,
            BUDGET_EXHAUSTED,
            f"{len(policy_recent)} actions of the policy in the last hour reach "
            f"maxActionsPerHour={safety.max_actions_per_hour}",
            retry_at=_budget_frees_at(policy_recent, safety.max_actions_per_hour),
        )

    # Concurrency: an incident already mid-ladder keeps its slot.
    if not ctx.is_mid_ladder and ctx.other_remediating >= safety.max_concurrent:
        return Verdict(
            False,
            CONCURRENCY_LIMITED,
            f"{ctx.other_remediating} incidents of the policy are being remediated, "
            f"maxConcurrent={safety.max_concurrent}",
        )

    # Blast radius of pod actions.
    if action.type in POD_ACTIONS and ctx.unavailability is not None:
        u = ctx.unavailability
        allowed = max_unavailable(u.desired, safety.max_unavailable_percent)
        after = u.unavailable + u.touching_ready
        if after > allowed:
            return Verdict(
                False,
                UNAVAILABILITY_LIMITED,
                f"acting would leave {after} of {u.desired} replicas unavailable, above "
                f"maxUnavailablePercent={safety.max_unavailable_percent} (at most {allowed})",
            )
    return Verdict(True, ALLOWED, "the rails allow the action")


def max_unavailable(desired: int, percent: int) -> int:
    """Replicas that may be unavailable: the share rounded down, at least one unless 0 %."""
    if percent <= 0:
        return 0
    return max(1, math.floor(desired * percent / 100))


def is_storm(spec: RemediationPolicySpec, *, failing: int, total: int) -> bool:
    """Whether enough of the policy's targets fail at once to call it a storm.

    A storm needs at least ``stormMinFailingTargets`` failing targets, so one
    failing workload of a policy with a single target is never a storm.
    """
    safety = spec.safety
    if total <= 0 or safety.storm_threshold_percent >= 100:
        return False
    if failing < safety.storm_min_failing_targets:
        return False
    return failing * 100 >= safety.storm_threshold_percent * total


def _budget_frees_at(recent: Sequence[datetime.datetime], limit: int) -> datetime.datetime | None:
    # The budget frees when the oldest action that still counts leaves the hour;
    # a budget of zero never does.
    if limit <= 0:
        return None
    return recent[len(recent) - limit] + datetime.timedelta(hours=1)
