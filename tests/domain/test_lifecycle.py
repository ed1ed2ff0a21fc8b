"""The incident state machine: opening, joining, reconciling, acting, escalating."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubemedic.api.common import ConditionStatus, Severity
from kubemedic.api.incidents import (
    EVIDENCE_KEYS_LIMIT,
    ActionResult,
    Health,
    HealthState,
    Incident,
    IncidentStatus,
    Phase,
    Target,
    TargetKind,
)
from kubemedic.api.policies import NotificationEvent, RemediationPolicySpec
from kubemedic.domain import lifecycle, rails
from kubemedic.domain.conditions import find_condition
from kubemedic.domain.fingerprints import LABEL_POLICY, LABEL_SEVERITY, LABEL_TRIGGER
from kubemedic.domain.health import Reading
from kubemedic.domain.lifecycle import (
    Plan,
    Signal,
    StepPlan,
    action_key,
    finish_action,
    is_joinable,
    join_signal,
    open_incident,
    pending_action,
    reconcile,
    refuse_action,
    start_action,
)
from kubemedic.domain.rails import Verdict

from .pods import NOW, ago

OPENED_AT = ago(600)
TARGET = Target(kind=TargetKind.DEPLOYMENT, namespace="shop", name="api")


def policy(**fields: Any) -> RemediationPolicySpec:
    return RemediationPolicySpec.from_wire(
        {
            "severity": "SEV2",
            "triggers": [
                {"name": "oom", "type": "PodFailure", "podFailure": {"reasons": ["OOMKilled"]}}
            ],
            "actions": [
                {"name": "evict", "type": "EvictPod", "verification": {"timeoutSeconds": 120}},
                {"name": "restart", "type": "RolloutRestart"},
            ],
            "closing": {"stabilizationSeconds": 120, "reopenWithinSeconds": 600},
            **fields,
        }
    )


SPEC = policy()


def signal(key: str = "api-x1/app/2026-12-03T11:49:30+00:00/OOMKilled") -> Signal:
    return Signal(
        trigger="oom",
        reason="OOMKilled",
        evidence_key=key,
        began_at=ago(630),
        message="Container app of Pod api-x1 was OOMKilled",
    )


def opened(spec: RemediationPolicySpec = SPEC) -> Incident:
    incident, _ = open_incident(
        policy="oom-policy",
        namespace="shop",
        spec=spec,
        trigger=spec.triggers[0],
        target=TARGET,
        signal=signal(),
        now=OPENED_AT,
    )
    incident.metadata["uid"] = "0f6c2a4e-incident"
    return incident


def with_status(incident: Incident, **changes: Any) -> Incident:
    return incident.model_copy(update={"status": incident.status.model_copy(update=changes)})


def with_spec(incident: Incident, **changes: Any) -> Incident:
    return incident.model_copy(update={"spec": incident.spec.model_copy(update=changes)})


def healthy(since: datetime.datetime) -> Reading:
    return Reading(HealthState.HEALTHY, "2 pods Ready", since=since)


UNHEALTHY = Reading(HealthState.UNHEALTHY, "Pod api-x1 is not Ready")
UNKNOWN = Reading(HealthState.UNKNOWN, "no pods to judge health by")


def investigating(**changes: Any) -> Incident:
    """An incident past its first pass, unhealthy since it opened."""
    health = Health(
        state=HealthState.UNHEALTHY, since=OPENED_AT, observed_at=ago(10), message="bad"
    )
    return with_status(opened(), **({"phase": Phase.INVESTIGATING, "health": health} | changes))


def timeline_types(status: IncidentStatus) -> list[str]:
    return [entry.type for entry in status.timeline]


# --- Opening ------------------------------------------------------------------------------------


def test_new_incident_is_detected_with_its_evidence() -> None:
    incident, plan = open_incident(
        policy="oom-policy",
        namespace="shop",
        spec=SPEC,
        trigger=SPEC.triggers[0],
        target=TARGET,
        signal=signal(),
        now=NOW,
    )

    status = incident.status
    assert status == plan.status
    assert status.phase == Phase.DETECTED
    assert status.severity == Severity.SEV2
    assert (status.first_seen_at, status.detected_at, status.last_seen_at) == (ago(630), NOW, NOW)
    assert status.occurrences == 1
    assert status.evidence_keys == [signal().evidence_key]
    assert timeline_types(status) == ["Detected"]
    resolved = find_condition(status.conditions, lifecycle.RESOLVED)
    assert resolved is not None
    assert (resolved.status, resolved.reason) == (ConditionStatus.FALSE, "Open")
    assert incident.metadata["name"].startswith("oom-policy-api-")
    assert incident.metadata["labels"][LABEL_POLICY] == "oom-policy"
    assert incident.metadata["labels"][LABEL_TRIGGER] == "oom"
    assert incident.metadata["labels"][LABEL_SEVERITY] == "SEV2"
    assert incident.spec.fingerprint == "oom-policy/oom/Deployment/shop/api"
    assert plan.notify == (NotificationEvent.OPENED,)
    assert [(n.reason, n.on_target) for n in plan.notes] == [(lifecycle.OPENED, True)]


def test_first_seen_is_never_after_detection() -> None:
    late = Signal("oom", "OOMKilled", "k", began_at=NOW + datetime.timedelta(seconds=5), message="")

    incident, _ = open_incident(
        policy="p",
        namespace="shop",
        spec=SPEC,
        trigger=SPEC.triggers[0],
        target=TARGET,
        signal=late,
        now=NOW,
    )

    assert incident.status.first_seen_at == NOW


def test_trigger_severity_overrides_the_policy_severity() -> None:
    spec = policy(
        triggers=[
            {
                "name": "oom",
                "type": "PodFailure",
                "severity": "SEV1",
                "podFailure": {"reasons": ["OOMKilled"]},
            }
        ]
    )

    assert opened(spec).status.severity == Severity.SEV1


# --- Joining ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "is_expected_joinable"),
    [
        pytest.param(IncidentStatus(phase=Phase.INVESTIGATING), True, id="open"),
        pytest.param(IncidentStatus(phase=Phase.ESCALATED), True, id="escalated"),
        pytest.param(
            IncidentStatus(phase=Phase.RESOLVED, resolved_at=ago(600)), True, id="resolved-recently"
        ),
        pytest.param(
            IncidentStatus(phase=Phase.RESOLVED, resolved_at=ago(601)),
            False,
            id="resolved-long-ago",
        ),
        pytest.param(IncidentStatus(phase=Phase.RESOLVED), False, id="resolved-at-unknown"),
    ],
)
def test_is_joinable(status: IncidentStatus, is_expected_joinable: bool) -> None:
    assert is_joinable(status, now=NOW, reopen_within_seconds=600) is is_expected_joinable


def test_new_occurrence_joins_once_per_evidence_key() -> None:
    status = opened().status

    joined = join_signal(status, signal("api-x1/app/later/OOMKilled"), now=NOW).status
    again = join_signal(
        joined, signal("api-x1/app/later/OOMKilled"), now=NOW + datetime.timedelta(minutes=1)
    )
    replayed = join_signal(again.status, signal(), now=NOW)

    assert joined.occurrences == 2
    assert joined.last_seen_at == NOW
    assert timeline_types(joined) == ["Detected", "Joined"]
    assert again.status == joined
    assert replayed.status == joined
    assert (again.notes, again.notify) == ((), ())


def test_evidence_keys_are_bounded() -> None:
    status = opened().status
    for n in range(EVIDENCE_KEYS_LIMIT + 5):
        status = join_signal(status, signal(f"api-x1/app/{n}/OOMKilled"), now=NOW).status

    assert len(status.evidence_keys) == EVIDENCE_KEYS_LIMIT
    assert status.evidence_keys[-1] == f"api-x1/app/{EVIDENCE_KEYS_LIMIT + 4}/OOMKilled"
    assert status.occurrences == EVIDENCE_KEYS_LIMIT + 6


def test_recurrence_after_resolution_reopens_the_incident() -> None:
    resolved = reconcile(investigating(), SPEC, healthy(ago(300)), now=ago(60)).status
    assert resolved.phase == Phase.RESOLVED

    plan = join_signal(resolved, signal("api-x2/app/again/OOMKilled"), now=NOW)

    assert plan.status.phase == Phase.INVESTIGATING
    assert plan.status.reopened == 1
    assert plan.status.occurrences == 2
    assert plan.status.health is None
    condition = find_condition(plan.status.conditions, lifecycle.RESOLVED)
    assert condition is not None
    assert (condition.status, condition.reason) == (ConditionStatus.FALSE, "Reopened")
    assert timeline_types(plan.status)[-1] == "Reopened"
    assert plan.notify == (NotificationEvent.OPENED,)
    assert [n.reason for n in plan.notes] == [lifecycle.REOPENED]


def test_reopened_incident_gets_new_action_keys() -> None:
    before = investigating()
    after = with_status(before, reopened=1)

    assert action_key("uid", before.status, 0) != action_key("uid", after.status, 0)


# --- Reconciling --------------------------------------------------------------------------------


def test_first_pass_moves_a_detected_incident_to_investigating() -> None:
    plan = reconcile(opened(), SPEC, None, now=NOW)

    assert plan.status.phase == Phase.INVESTIGATING
    assert timeline_types(plan.status) == ["Detected", "Investigating"]
    assert plan.step is None


def test_healthy_for_the_stabilization_window_resolves() -> None:
    plan = reconcile(investigating(), SPEC, healthy(ago(120)), now=NOW)

    status = plan.status
    assert status.phase == Phase.RESOLVED
    assert status.resolved_at == NOW
    condition = find_condition(status.conditions, lifecycle.RESOLVED)
    assert condition is not None
    assert (condition.status, condition.reason) == (ConditionStatus.TRUE, "TargetHealthy")
    assert plan.notify == (NotificationEvent.RESOLVED,)
    assert [n.reason for n in plan.notes] == [lifecycle.RESOLVED_EVENT]
    assert plan.step is None


def test_healthy_not_long_enough_is_monitored() -> None:
    plan = reconcile(investigating(), SPEC, healthy(ago(119)), now=NOW)

    assert plan.status.phase == Phase.MONITORING
    assert plan.status.monitoring_until is None
    assert plan.step is None
    assert plan.notify == ()


def test_monitoring_says_so_once() -> None:
    first = reconcile(investigating(), SPEC, healthy(ago(30)), now=ago(20)).status
    incident = with_status(investigating(), **dict(first))

    second = reconcile(incident, SPEC, healthy(ago(30)), now=ago(10)).status

    assert timeline_types(second).count("Monitoring") == 1


def test_unhealthy_target_gets_the_next_ladder_step() -> None:
    incident = investigating(next_step=1)

    plan = reconcile(incident, SPEC, UNHEALTHY, now=NOW)

    assert plan.step is not None
    assert (plan.step.index, plan.step.action.name) == (1, "restart")
    assert plan.step.key == action_key("0f6c2a4e-incident", plan.status, 1)
    assert (
        plan.step
        == reconcile(incident, SPEC, UNHEALTHY, now=NOW + datetime.timedelta(minutes=1)).step
    )


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"reopened": 1}, id="reopened"),
        pytest.param({"observed_retries": 1}, id="retried"),
    ],
)
def test_action_key_depends_on_the_episode(changes: dict[str, int]) -> None:
    status = IncidentStatus()

    assert action_key("u", status, 0) == action_key("u", status.model_copy(), 0)
    assert action_key("u", status, 0) != action_key("u", status.model_copy(update=changes), 0)
    assert action_key("u", status, 0) != action_key("u", status, 1)
    assert action_key("u", status, 0) != action_key("v", status, 0)


def test_exhausted_ladder_escalates_and_raises_severity() -> None:
    plan = reconcile(investigating(next_step=2), SPEC, UNHEALTHY, now=NOW)

    status = plan.status
    assert plan.step is None
    assert status.phase == Phase.ESCALATED
    assert status.severity == Severity.SEV1
    assert status.escalation_level == 1
    assert plan.notify == (NotificationEvent.ESCALATED,)
    assert [(n.type, n.reason) for n in plan.notes] == [("Warning", lifecycle.ESCALATED_EVENT)]
    assert timeline_types(status)[-1] == "Escalated"


def test_severity_never_rises_past_sev1() -> None:
    status, _ = lifecycle.escalate(
        IncidentStatus(severity=Severity.SEV1), "LadderExhausted", "still bad", now=NOW
    )

    assert status.severity == Severity.SEV1


def test_escalated_incident_takes_no_step_until_retries_are_raised() -> None:
    escalated = reconcile(investigating(next_step=2), SPEC, UNHEALTHY, now=ago(60)).status
    incident = with_status(investigating(), **dict(escalated))

    waiting = reconcile(incident, SPEC, UNHEALTHY, now=NOW)
    retried = reconcile(with_spec(incident, retries=1), SPEC, UNHEALTHY, now=NOW)

    assert waiting.step is None
    assert waiting.status.phase == Phase.ESCALATED
    assert retried.step is not None
    assert retried.step.index == 0
    assert retried.status.phase == Phase.INVESTIGATING
    assert retried.status.observed_retries == 1
    assert "LadderReset" in timeline_types(retried.status)
    assert retried.step.key != action_key("0f6c2a4e-incident", escalated, 0)


def test_escalated_incident_still_resolves_when_healthy() -> None:
    escalated = reconcile(investigating(next_step=2), SPEC, UNHEALTHY, now=ago(300)).status
    incident = with_status(investigating(), **dict(escalated))

    plan = reconcile(incident, SPEC, healthy(ago(200)), now=NOW)

    assert plan.status.phase == Phase.RESOLVED


def test_acknowledgement_is_stamped_once() -> None:
    incident = with_spec(investigating(), acknowledged_by="alice")

    first = reconcile(incident, SPEC, UNHEALTHY, now=NOW)
    later = reconcile(
        with_status(incident, **dict(first.status)),
        SPEC,
        UNHEALTHY,
        now=NOW + datetime.timedelta(minutes=1),
    )

    assert first.status.acknowledged_at == NOW
    condition = find_condition(first.status.conditions, lifecycle.ACKNOWLEDGED)
    assert condition is not None
    assert condition.status == ConditionStatus.TRUE
    assert lifecycle.ACKNOWLEDGED_NOTICE in first.notify
    assert later.status.acknowledged_at == NOW
    assert lifecycle.ACKNOWLEDGED_NOTICE not in later.notify
    assert timeline_types(later.status).count("Acknowledged") == 1


def test_false_positive_resolves_without_acting() -> None:
    plan = reconcile(with_spec(investigating(), false_positive=True), SPEC, UNHEALTHY, now=NOW)

    assert plan.status.phase == Phase.RESOLVED
    condition = find_condition(plan.status.conditions, lifecycle.RESOLVED)
    assert condition is not None
    assert condition.reason == "FalsePositive"
    assert plan.notify == (NotificationEvent.RESOLVED,)
    assert plan.step is None


def test_resolved_incident_is_left_alone() -> None:
    resolved = reconcile(investigating(), SPEC, healthy(ago(300)), now=ago(60)).status
    incident = with_status(investigating(), **dict(resolved))

    plan = reconcile(incident, SPEC, UNHEALTHY, now=NOW)

    assert plan == Plan(status=resolved)


def test_unknown_health_takes_no_step_and_says_so_once() -> None:
    first = reconcile(investigating(), SPEC, UNKNOWN, now=ago(30))
    incident = with_status(investigating(), **dict(first.status))
    second = reconcile(incident, SPEC, UNKNOWN, now=NOW)

    assert first.step is None
    assert second.step is None
    assert [n.reason for n in first.notes] == [lifecycle.EVIDENCE_MISSING]
    assert second.notes == ()
    condition = find_condition(second.status.conditions, lifecycle.EVIDENCE_AVAILABLE)
    assert condition is not None
    assert condition.status == ConditionStatus.FALSE


def test_without_a_policy_the_incident_is_only_observed() -> None:
    plan = reconcile(investigating(), None, UNHEALTHY, now=NOW)

    assert plan.step is None
    assert plan.status.phase == Phase.INVESTIGATING


def test_unfinished_action_blocks_the_next_step() -> None:
    step = reconcile(investigating(), SPEC, UNHEALTHY, now=ago(10)).step
    assert step is not None
    started = start_action(investigating().status, step, object_=None, is_dry_run=False, now=ago(5))

    plan = reconcile(with_status(investigating(), **dict(started)), SPEC, UNHEALTHY, now=NOW)

    assert plan.step is None
    assert plan.status.phase == Phase.REMEDIATING


def test_step_is_verified_before_the_next_one() -> None:
    incident = investigating(
        phase=Phase.MONITORING, next_step=1, monitoring_until=NOW + datetime.timedelta(seconds=1)
    )

    plan = reconcile(incident, SPEC, UNHEALTHY, now=NOW)

    assert plan.step is None
    assert plan.status.phase == Phase.MONITORING


def test_failed_verification_is_recorded_then_the_next_step_runs() -> None:
    incident = investigating(phase=Phase.MONITORING, next_step=1, monitoring_until=NOW)

    plan = reconcile(incident, SPEC, UNHEALTHY, now=NOW)

    assert plan.step is not None
    assert plan.step.index == 1
    assert plan.status.phase == Phase.INVESTIGATING
    assert plan.status.monitoring_until is None
    assert timeline_types(plan.status)[-1] == "VerificationFailed"


def test_target_healthy_during_verification_is_mitigated() -> None:
    step = reconcile(investigating(), SPEC, UNHEALTHY, now=ago(100)).step
    assert step is not None
    status = start_action(investigating().status, step, object_=None, is_dry_run=False, now=ago(99))
    status, _ = finish_action(
        status,
        step.key,
        result=ActionResult.SUCCEEDED,
        message="Evicted Pod shop/api-x1",
        object_="Pod api-x1",
        verification_seconds=120,
        now=ago(98),
    )

    plan = reconcile(with_status(investigating(), **dict(status)), SPEC, healthy(ago(30)), now=NOW)

    assert plan.status.phase == Phase.MONITORING
    assert plan.status.monitoring_until is None
    assert plan.status.mitigated_at == NOW


# --- Escalation timeouts ------------------------------------------------------------------------

TIMED = policy(escalation={"timeouts": [{"severity": "SEV2", "ackTimeoutSeconds": 300}]})


def test_ack_timeout_pages_once() -> None:
    incident = investigating()

    first = reconcile(incident, TIMED, UNHEALTHY, now=NOW)
    second = reconcile(with_status(incident, **dict(first.status)), TIMED, UNHEALTHY, now=NOW)

    assert NotificationEvent.ESCALATED in first.notify
    assert first.status.timeouts_fired == ["AckTimeout"]
    assert first.status.escalation_level == 1
    assert NotificationEvent.ESCALATED not in second.notify
    assert second.status.escalation_level == 1


def test_ack_timeout_does_not_page_before_its_time_or_once_acknowledged() -> None:
    early = reconcile(
        investigating(), TIMED, UNHEALTHY, now=OPENED_AT + datetime.timedelta(seconds=299)
    )
    acked = reconcile(with_spec(investigating(), acknowledged_by="bob"), TIMED, UNHEALTHY, now=NOW)

    assert early.status.timeouts_fired == []
    assert acked.status.timeouts_fired == []


def test_resolve_timeout_pages_once_even_when_acknowledged() -> None:
    spec = policy(escalation={"timeouts": [{"severity": "SEV2", "resolveTimeoutSeconds": 600}]})
    incident = with_spec(investigating(), acknowledged_by="bob")

    first = reconcile(incident, spec, UNHEALTHY, now=NOW)
    second = reconcile(with_status(incident, **dict(first.status)), spec, UNHEALTHY, now=NOW)

    assert first.status.timeouts_fired == ["ResolveTimeout"]
    assert NotificationEvent.ESCALATED in first.notify
    assert NotificationEvent.ESCALATED not in second.notify


# --- Actions ------------------------------------------------------------------------------------


def planned_step(index: int = 0) -> StepPlan:
    action = SPEC.actions[index]
    return StepPlan(index=index, action=action, key=f"km-test-s{index}")


def test_action_is_announced_as_pending_before_the_mutation() -> None:
    status = investigating().status

    started = start_action(status, planned_step(), object_="Pod api-x1", is_dry_run=False, now=NOW)

    record = pending_action(started)
    assert record is not None
    assert (record.key, record.result, record.started_at) == ("km-test-s0", "Pending", NOW)
    assert started.phase == Phase.REMEDIATING
    assert started.action_count == status.action_count + 1
    condition = find_condition(started.conditions, lifecycle.REMEDIATING)
    assert condition is not None
    assert condition.status == ConditionStatus.TRUE
    assert timeline_types(started)[-1] == "ActionStarted"


def test_succeeded_action_is_verified() -> None:
    started = start_action(
        investigating().status, planned_step(), object_=None, is_dry_run=False, now=ago(5)
    )

    status, notes = finish_action(
        started,
        "km-test-s0",
        result=ActionResult.SUCCEEDED,
        message="Evicted Pod shop/api-x1",
        object_="Pod api-x1",
        verification_seconds=120,
        now=NOW,
    )

    assert pending_action(status) is None
    assert status.actions[-1].result == ActionResult.SUCCEEDED
    assert status.actions[-1].ended_at == NOW
    assert status.actions[-1].object == "Pod api-x1"
    assert status.phase == Phase.MONITORING
    assert status.monitoring_until == NOW + datetime.timedelta(seconds=120)
    assert status.next_step == 1
    assert [(n.type, n.reason) for n in notes] == [("Normal", lifecycle.ACTION_TAKEN)]


def test_dry_run_action_is_planned_and_verified_like_a_real_one() -> None:
    started = start_action(
        investigating().status, planned_step(), object_=None, is_dry_run=True, now=ago(5)
    )

    status, notes = finish_action(
        started,
        "km-test-s0",
        result=ActionResult.DRY_RUN,
        message="Would evict Pod shop/api-x1",
        object_=None,
        verification_seconds=60,
        now=NOW,
    )

    assert status.phase == Phase.MONITORING
    assert [n.reason for n in notes] == [lifecycle.ACTION_PLANNED]


@pytest.mark.parametrize(
    ("result", "note"),
    [
        pytest.param(ActionResult.BLOCKED, ("Warning", lifecycle.ACTION_BLOCKED), id="blocked"),
        pytest.param(ActionResult.FAILED, ("Warning", lifecycle.ACTION_FAILED), id="failed"),
        pytest.param(ActionResult.SKIPPED, ("Normal", "ActionSkipped"), id="skipped"),
    ],
)
def test_action_that_did_nothing_moves_on_to_the_next_step(
    result: ActionResult, note: tuple[str, str]
) -> None:
    started = start_action(
        investigating().status, planned_step(), object_=None, is_dry_run=False, now=ago(5)
    )

    status, notes = finish_action(
        started,
        "km-test-s0",
        result=result,
        message="a PodDisruptionBudget forbids it",
        object_=None,
        verification_seconds=120,
        now=NOW,
    )
    plan = reconcile(with_status(investigating(), **dict(status)), SPEC, UNHEALTHY, now=NOW)

    assert status.phase == Phase.INVESTIGATING
    assert status.monitoring_until is None
    assert status.next_step == 1
    assert [(n.type, n.reason) for n in notes] == [note]
    assert plan.step is not None
    assert plan.step.index == 1


COOLDOWN = Verdict(False, rails.COOLDOWN_ACTIVE, "cooling down")
BUDGET = Verdict(False, rails.BUDGET_EXHAUSTED, "no budget left")
STORM = Verdict(False, rails.STORM_DETECTED, "half the targets fail", should_escalate=True)


def test_refusal_is_said_once_per_reason_not_per_pass() -> None:
    status = investigating().status

    first, first_notes = refuse_action(status, planned_step(), COOLDOWN, now=ago(20))
    second, second_notes = refuse_action(first, planned_step(), COOLDOWN, now=ago(10))
    third, third_notes = refuse_action(second, planned_step(), BUDGET, now=NOW)

    assert [n.reason for n in first_notes] == [lifecycle.ACTION_REFUSED]
    assert second_notes == []
    assert [n.reason for n in third_notes] == [lifecycle.ACTION_REFUSED]
    assert timeline_types(third).count("ActionRefused") == 2
    condition = find_condition(third.conditions, lifecycle.REMEDIATION_ALLOWED)
    assert condition is not None
    assert (condition.status, condition.reason) == (ConditionStatus.FALSE, rails.BUDGET_EXHAUSTED)
    assert condition.last_transition_time == ago(20)


def test_refusal_after_an_allowed_action_is_news_again() -> None:
    refused, _ = refuse_action(investigating().status, planned_step(), COOLDOWN, now=ago(20))
    allowed = lifecycle.allow_action(refused, now=ago(10))

    _, notes = refuse_action(allowed, planned_step(), COOLDOWN, now=NOW)

    assert [n.reason for n in notes] == [lifecycle.ACTION_REFUSED]


def test_storm_refusal_escalates_once() -> None:
    status, notes = refuse_action(investigating().status, planned_step(), STORM, now=ago(10))
    again, again_notes = refuse_action(status, planned_step(), STORM, now=NOW)

    assert status.phase == Phase.ESCALATED
    assert status.escalation_level == 1
    assert [n.reason for n in notes] == [lifecycle.ACTION_REFUSED, lifecycle.ESCALATED_EVENT]
    assert again.escalation_level == 1
    assert again_notes == []


def test_an_incident_left_without_status_is_completed_from_its_creation_time() -> None:
    bare = opened().model_copy(update={"status": IncidentStatus()})
    bare.metadata["creationTimestamp"] = "2026-12-03T11:50:00Z"

    status = lifecycle.complete_creation(bare, now=NOW)

    assert status.detected_at == datetime.datetime(2026, 12, 3, 11, 50, tzinfo=datetime.UTC)
    assert status.phase == Phase.DETECTED
    assert status.occurrences == 1
    assert status.severity == Severity.SEV2
    assert [e.type for e in status.timeline] == ["Detected"]
    resolved = find_condition(status.conditions, lifecycle.RESOLVED)
    assert resolved is not None
    assert resolved.status == ConditionStatus.FALSE


def test_rails_context_counts_actions_per_target_and_policy_from_status() -> None:
    def sibling(name: str, target: str, *, phase: Phase, acted_at: list[int]) -> Incident:
        incident = opened()
        status = incident.status
        for i, seconds in enumerate(acted_at):
            step = StepPlan(index=i, action=SPEC.actions[0], key=f"k-{name}-{i}")
            status = start_action(status, step, object_=None, is_dry_run=False, now=ago(seconds))
        return incident.model_copy(
            update={
                "metadata": {**incident.metadata, "name": name},
                "spec": incident.spec.model_copy(
                    update={"target": TARGET.model_copy(update={"name": target})}
                ),
                "status": status.model_copy(update={"phase": phase}),
            }
        )

    mine = sibling("mine", "api", phase=Phase.INVESTIGATING, acted_at=[])
    siblings = [
        mine,
        sibling("old", "api", phase=Phase.RESOLVED, acted_at=[300]),
        sibling("other", "web", phase=Phase.REMEDIATING, acted_at=[60, 30]),
    ]

    ctx = lifecycle.rails_context(
        mine, siblings, total_targets=1, is_globally_paused=False, unavailability=None, now=NOW
    )

    assert ctx.target_action_times == [ago(300)]
    assert sorted(ctx.policy_action_times) == [ago(300), ago(60), ago(30)]
    assert ctx.other_remediating == 1
    assert ctx.failing_targets == 2
    assert ctx.total_targets == 2, "never fewer targets than are failing"
    assert not ctx.is_mid_ladder
