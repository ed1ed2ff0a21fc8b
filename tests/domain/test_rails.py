"""The safety rails: each one refuses with its own reason, in a fixed order."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from kubemedic.api.policies import Action, ActionType, RemediationPolicySpec
from kubemedic.domain import rails
from kubemedic.domain.rails import RailsContext, Unavailability, check_rails, max_unavailable

from .pods import NOW, ago

RESTART = Action(name="restart", type=ActionType.ROLLOUT_RESTART)
EVICT = Action(name="evict", type=ActionType.EVICT_POD)


def policy(**safety: Any) -> RemediationPolicySpec:
    return RemediationPolicySpec.from_wire(
        {
            "triggers": [
                {"name": "oom", "type": "PodFailure", "podFailure": {"reasons": ["OOMKilled"]}}
            ],
            "safety": {
                "cooldownSeconds": 60,
                "maxActionsPerHour": 20,
                "maxActionsPerTargetPerHour": 5,
                "maxConcurrent": 2,
                "maxUnavailablePercent": 25,
                "stormMinFailingTargets": 3,
                "stormThresholdPercent": 50,
                **safety,
            },
        }
    )


CALM = RailsContext(
    now=NOW,
    policy_action_times=[],
    target_action_times=[],
    other_remediating=0,
    is_mid_ladder=False,
    failing_targets=1,
    total_targets=10,
)


def context(**changes: Any) -> RailsContext:
    return dataclasses.replace(CALM, **changes)


def test_calm_context_allows_the_action() -> None:
    verdict = check_rails(policy(), RESTART, CALM)

    assert verdict.is_allowed
    assert verdict.reason == rails.ALLOWED


@pytest.mark.parametrize(
    ("spec", "ctx", "action", "reason"),
    [
        pytest.param(
            policy(), context(is_globally_paused=True), RESTART, rails.PAUSED, id="global"
        ),
        pytest.param(
            RemediationPolicySpec.from_wire(policy().to_wire() | {"paused": True}),
            CALM,
            RESTART,
            rails.PAUSED,
            id="policy-paused",
        ),
        pytest.param(
            policy(),
            context(failing_targets=5, total_targets=10),
            RESTART,
            rails.STORM_DETECTED,
            id="storm",
        ),
        pytest.param(
            policy(),
            context(target_action_times=[ago(30)]),
            RESTART,
            rails.COOLDOWN_ACTIVE,
            id="cooldown",
        ),
        pytest.param(
            policy(cooldownSeconds=0),
            context(target_action_times=[ago(60 * m) for m in range(1, 6)]),
            RESTART,
            rails.BUDGET_EXHAUSTED,
            id="target-budget",
        ),
        pytest.param(
            policy(),
            context(policy_action_times=[ago(60 * m) for m in range(1, 21)]),
            RESTART,
            rails.BUDGET_EXHAUSTED,
            id="policy-budget",
        ),
        pytest.param(
            policy(),
            context(other_remediating=2),
            RESTART,
            rails.CONCURRENCY_LIMITED,
            id="concurrency",
        ),
        pytest.param(
            policy(),
            context(unavailability=Unavailability(desired=4, unavailable=1, touching_ready=1)),
            EVICT,
            rails.UNAVAILABILITY_LIMITED,
            id="unavailability",
        ),
    ],
)
def test_each_rail_refuses_with_its_reason(
    spec: RemediationPolicySpec, ctx: RailsContext, action: Action, reason: str
) -> None:
    verdict = check_rails(spec, action, ctx)

    assert not verdict.is_allowed
    assert verdict.reason == reason
    assert verdict.message


def test_rails_are_checked_in_order() -> None:
    # Every rail would refuse; peel them off one by one, in the documented order.
    spec = RemediationPolicySpec.from_wire(policy().to_wire() | {"paused": True})
    everything = context(
        is_globally_paused=True,
        failing_targets=10,
        target_action_times=[ago(10), *[ago(60 * m) for m in range(1, 20)]],
        other_remediating=5,
        unavailability=Unavailability(desired=4, unavailable=4, touching_ready=1),
    )
    steps: list[tuple[str, RemediationPolicySpec, RailsContext]] = [
        (rails.PAUSED, spec, everything),
        (rails.PAUSED, spec, dataclasses.replace(everything, is_globally_paused=False)),
        (rails.STORM_DETECTED, policy(), dataclasses.replace(everything, is_globally_paused=False)),
    ]
    ctx = dataclasses.replace(everything, is_globally_paused=False, failing_targets=1)
    steps.append((rails.COOLDOWN_ACTIVE, policy(), ctx))
    steps.append((rails.BUDGET_EXHAUSTED, policy(cooldownSeconds=0), ctx))
    ctx = dataclasses.replace(ctx, target_action_times=[])
    steps.append((rails.CONCURRENCY_LIMITED, policy(), ctx))
    ctx = dataclasses.replace(ctx, other_remediating=0)
    steps.append((rails.UNAVAILABILITY_LIMITED, policy(), ctx))

    assert [check_rails(s, EVICT, c).reason for _, s, c in steps] == [r for r, _, _ in steps]


def test_storm_refusal_asks_for_escalation_and_others_do_not() -> None:
    storm = check_rails(policy(), RESTART, context(failing_targets=5))
    cooldown = check_rails(policy(), RESTART, context(target_action_times=[ago(30)]))

    assert storm.should_escalate
    assert not cooldown.should_escalate


def test_dry_run_policy_passes_the_rails() -> None:
    # A dry run records the step it would take; the rails judge it like a real one.
    verdict = check_rails(policy(mode="DryRun"), RESTART, CALM)

    assert verdict.is_allowed


# --- Cooldown and budgets -----------------------------------------------------------------------


def test_cooldown_says_when_to_retry() -> None:
    verdict = check_rails(policy(), RESTART, context(target_action_times=[ago(200), ago(45)]))

    assert verdict.reason == rails.COOLDOWN_ACTIVE
    assert verdict.retry_at == ago(45) + datetime.timedelta(seconds=60)


def test_cooldown_is_over_at_exactly_cooldown_seconds() -> None:
    verdict = check_rails(policy(), RESTART, context(target_action_times=[ago(60)]))

    assert verdict.is_allowed


def test_budgets_count_only_the_last_hour() -> None:
    older = [ago(3_600), ago(4_000), ago(7_200), ago(3_601), ago(5_000)]

    verdict = check_rails(policy(), RESTART, context(target_action_times=older))

    assert verdict.is_allowed


def test_target_budget_frees_when_the_oldest_counted_action_leaves_the_hour() -> None:
    times = [ago(3_000), ago(2_000), ago(1_500), ago(1_000), ago(500)]

    verdict = check_rails(policy(), RESTART, context(target_action_times=times))

    assert verdict.reason == rails.BUDGET_EXHAUSTED
    assert verdict.retry_at == ago(3_000) + datetime.timedelta(hours=1)


def test_policy_budget_frees_when_enough_actions_leave_the_hour() -> None:
    # Three actions over a limit of two: the second oldest must leave first.
    times = [ago(3_000), ago(2_000), ago(100)]

    verdict = check_rails(policy(maxActionsPerHour=2), RESTART, context(policy_action_times=times))

    assert verdict.reason == rails.BUDGET_EXHAUSTED
    assert verdict.retry_at == ago(2_000) + datetime.timedelta(hours=1)


@pytest.mark.parametrize(
    "safety",
    [
        pytest.param({"maxActionsPerHour": 0}, id="policy-budget"),
        pytest.param({"maxActionsPerTargetPerHour": 0}, id="target-budget"),
    ],
)
def test_zero_budget_refuses_without_a_retry_time(safety: dict[str, int]) -> None:
    verdict = check_rails(policy(**safety), RESTART, CALM)

    assert verdict.reason == rails.BUDGET_EXHAUSTED
    assert verdict.retry_at is None


# --- Concurrency --------------------------------------------------------------------------------


def test_incident_mid_ladder_keeps_its_concurrency_slot() -> None:
    verdict = check_rails(policy(), RESTART, context(other_remediating=2, is_mid_ladder=True))

    assert verdict.is_allowed


def test_concurrency_below_the_limit_is_allowed() -> None:
    assert check_rails(policy(), RESTART, context(other_remediating=1)).is_allowed


# --- Blast radius -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unavailability", "is_allowed"),
    [
        pytest.param(Unavailability(4, 0, 1), True, id="one-of-four"),
        pytest.param(Unavailability(4, 1, 0), True, id="acting-on-an-unavailable-pod"),
        pytest.param(Unavailability(4, 1, 1), False, id="two-of-four"),
        pytest.param(Unavailability(1, 0, 1), True, id="single-replica-gets-one"),
    ],
)
def test_pod_actions_respect_max_unavailable(
    unavailability: Unavailability, is_allowed: bool
) -> None:
    verdict = check_rails(policy(), EVICT, context(unavailability=unavailability))

    assert verdict.is_allowed is is_allowed


def test_workload_actions_ignore_max_unavailable() -> None:
    ctx = context(unavailability=Unavailability(desired=2, unavailable=2, touching_ready=2))

    assert check_rails(policy(), RESTART, ctx).is_allowed


@pytest.mark.parametrize(
    ("desired", "percent", "expected"),
    [
        pytest.param(10, 25, 2, id="rounded-down"),
        pytest.param(3, 25, 1, id="at-least-one"),
        pytest.param(10, 0, 0, id="zero-percent-means-none"),
        pytest.param(10, 100, 10, id="all"),
        pytest.param(0, 50, 1, id="no-replicas"),
        pytest.param(7, 50, 3, id="half-of-odd"),
    ],
)
def test_max_unavailable(desired: int, percent: int, expected: int) -> None:
    assert max_unavailable(desired, percent) == expected


# --- Storms -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("safety", "failing", "total", "is_expected_storm"),
    [
        pytest.param({}, 5, 10, True, id="half-failing"),
        pytest.param({}, 4, 10, False, id="below-threshold"),
        pytest.param({}, 2, 2, False, id="all-failing-but-below-min-targets"),
        pytest.param({}, 3, 3, True, id="all-failing-at-min-targets"),
        pytest.param({"stormMinFailingTargets": 1}, 1, 1, True, id="min-targets-one"),
        pytest.param({"stormThresholdPercent": 100}, 10, 10, False, id="threshold-100-disables"),
        pytest.param({}, 0, 0, False, id="no-targets"),
    ],
)
def test_is_storm(
    safety: dict[str, int], failing: int, total: int, is_expected_storm: bool
) -> None:
    assert rails.is_storm(policy(**safety), failing=failing, total=total) is is_expected_storm
