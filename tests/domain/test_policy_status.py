"""A policy's status: Ready, RemediationAllowed with its first reason, counters."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubemedic.api.common import ConditionStatus
from kubemedic.api.policies import Mode, RemediationPolicySpec, RemediationPolicyStatus
from kubemedic.domain import policy_status as statuses
from kubemedic.domain.conditions import find_condition
from kubemedic.domain.policy_status import IncidentFacts, invalid_status, policy_status

from .pods import NOW, ago


def policy(**fields: Any) -> RemediationPolicySpec:
    return RemediationPolicySpec.from_wire(
        {
            "triggers": [
                {"name": "oom", "type": "PodFailure", "podFailure": {"reasons": ["OOMKilled"]}}
            ],
            **fields,
        }
    )


def facts(
    name: str, *, is_open: bool = True, is_remediating: bool = False, actions: int = 0
) -> IncidentFacts:
    times = [ago(60 * (n + 1)) for n in range(actions)]
    return IncidentFacts(("Deployment", name), is_open, is_remediating, times)


def status_of(
    spec: RemediationPolicySpec,
    incidents: list[IncidentFacts] | None = None,
    *,
    targets: int = 10,
    is_globally_paused: bool = False,
    problem: str | None = None,
    previous: RemediationPolicyStatus | None = None,
    now: datetime.datetime = NOW,
) -> RemediationPolicyStatus:
    return policy_status(
        previous,
        spec,
        generation=4,
        incidents=incidents or [],
        targets=targets,
        is_globally_paused=is_globally_paused,
        now=now,
        problem=problem,
    )


def allowed(status: RemediationPolicyStatus) -> tuple[ConditionStatus, str]:
    condition = find_condition(status.conditions, statuses.REMEDIATION_ALLOWED)
    assert condition is not None
    return condition.status, condition.reason


STORM = [facts(f"w{n}") for n in range(5)]
SPENT = [facts("w0", is_open=False, actions=20)]


@pytest.mark.parametrize(
    ("spec", "incidents", "options", "reason"),
    [
        pytest.param(policy(), [], {}, "Allowed", id="allowed"),
        pytest.param(
            policy(paused=True, safety={"mode": "DryRun"}),
            STORM + SPENT,
            {"is_globally_paused": True, "problem": "bad"},
            "Paused",
            id="global-pause-first",
        ),
        pytest.param(
            policy(paused=True, safety={"mode": "DryRun"}),
            STORM + SPENT,
            {"problem": "bad"},
            "Paused",
            id="policy-pause",
        ),
        pytest.param(
            policy(safety={"mode": "DryRun"}),
            STORM + SPENT,
            {"problem": "bad"},
            "InvalidSpec",
            id="problem",
        ),
        pytest.param(
            policy(safety={"mode": "DryRun"}), STORM + SPENT, {}, "StormDetected", id="storm"
        ),
        pytest.param(policy(safety={"mode": "DryRun"}), SPENT, {}, "BudgetExhausted", id="budget"),
        pytest.param(policy(safety={"mode": "DryRun"}), [], {}, "DryRun", id="dry-run-last"),
    ],
)
def test_remediation_allowed_gives_the_first_reason(
    spec: RemediationPolicySpec,
    incidents: list[IncidentFacts],
    options: dict[str, Any],
    reason: str,
) -> None:
    status = status_of(spec, incidents, **options)

    expected = ConditionStatus.TRUE if reason == "Allowed" else ConditionStatus.FALSE
    assert allowed(status) == (expected, reason)


def test_ready_says_what_is_wrong_with_a_usable_spec() -> None:
    good = status_of(policy())
    bad = status_of(policy(), problem="receiver pager has no Secret")

    ready = find_condition(good.conditions, statuses.READY)
    not_ready = find_condition(bad.conditions, statuses.READY)
    assert ready is not None
    assert not_ready is not None
    assert (ready.status, ready.reason) == (ConditionStatus.TRUE, "Watching")
    assert (not_ready.status, not_ready.message) == (
        ConditionStatus.FALSE,
        "receiver pager has no Secret",
    )
    assert {c.observed_generation for c in good.conditions} == {4}


def test_counters_are_derived_from_the_incidents() -> None:
    incidents = [
        facts("a", is_remediating=True, actions=2),
        facts("a"),  # a second open incident of the same target
        facts("b"),
        facts("c", is_open=False, is_remediating=True, actions=1),
    ]

    status = status_of(policy(), incidents, targets=7)

    assert status.open_incidents == 3
    assert status.remediating_incidents == 1
    assert status.failing_targets == 2
    assert status.targets == 7
    assert status.actions_last_hour == 3
    assert status.observed_generation == 4
    assert status.mode == Mode.ENFORCE


def test_actions_count_over_the_last_hour_only() -> None:
    old = IncidentFacts(("Deployment", "a"), False, False, [ago(3_600), ago(7_200), ago(3_599)])

    assert status_of(policy(), [old]).actions_last_hour == 1


def test_storm_counts_at_least_the_failing_targets() -> None:
    # Targets not yet listed (0) must not hide a storm of known failures.
    status = status_of(policy(), STORM, targets=0)

    assert allowed(status) == (ConditionStatus.FALSE, "StormDetected")


def test_allowed_again_moves_the_transition_time() -> None:
    paused = status_of(policy(paused=True), now=ago(60))
    still_paused = status_of(policy(paused=True), previous=paused)
    resumed = status_of(policy(), previous=paused)

    def moved(status: RemediationPolicyStatus) -> datetime.datetime:
        condition = find_condition(status.conditions, statuses.REMEDIATION_ALLOWED)
        assert condition is not None
        return condition.last_transition_time

    assert moved(still_paused) == ago(60)
    assert moved(resumed) == NOW


def test_invalid_spec_blocks_remediation_and_keeps_the_counters() -> None:
    previous = status_of(policy(), [facts("a")])

    status = invalid_status(previous, generation=5, message="triggers[0]: bad", now=NOW)

    ready = find_condition(status.conditions, statuses.READY)
    assert ready is not None
    assert (ready.status, ready.reason, ready.message) == (
        ConditionStatus.FALSE,
        "InvalidSpec",
        "triggers[0]: bad",
    )
    assert allowed(status) == (ConditionStatus.FALSE, "InvalidSpec")
    assert status.observed_generation == 5
    assert status.open_incidents == 1


def test_invalid_spec_without_previous_status() -> None:
    status = invalid_status(None, generation=1, message="bad", now=NOW)

    assert allowed(status) == (ConditionStatus.FALSE, "InvalidSpec")
