"""The incident state machine.

::

    Detected ─► Investigating ─► Remediating ─► Monitoring ─► Resolved
                     │  ▲             │  ▲          │            │
                     │  └─────────────┘  └──────────┘            │ a new signal
                     ▼                                           ▼ within reopenWithinSeconds
                 Escalated ◄── ladder exhausted, storm         Investigating
                     │
                     └─► Investigating when a human raises spec.retries

Each function takes the incident's status (and whatever was observed) and
returns a new status plus what the caller must do about it: Events to post,
notifications to send, an action to run. Nothing here talks to the cluster;
every timestamp comes in as ``now``. Timestamps such as ``detectedAt`` are
stamped once; each transition adds a timeline entry.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Sequence

from kubemedic.api.common import ConditionStatus, Severity
from kubemedic.api.incidents import (
    ACTIONS_LIMIT,
    EVIDENCE_KEYS_LIMIT,
    ActionRecord,
    ActionResult,
    HealthState,
    Incident,
    IncidentSpec,
    IncidentStatus,
    Phase,
    PolicyRef,
    Target,
)
from kubemedic.api.policies import (
    Action,
    NotificationEvent,
    RemediationPolicySpec,
    SeverityTimeout,
    Trigger,
)
from kubemedic.domain.conditions import find_condition, set_condition
from kubemedic.domain.detecting import parse_time
from kubemedic.domain.fingerprints import fingerprint_of, incident_labels, incident_name
from kubemedic.domain.health import Reading, is_stable, merge_health
from kubemedic.domain.rails import RailsContext, Unavailability, Verdict
from kubemedic.domain.timelines import add_entry

# Condition types of an Incident.
RESOLVED = "Resolved"
REMEDIATING = "Remediating"
ACKNOWLEDGED = "Acknowledged"
EVIDENCE_AVAILABLE = "EvidenceAvailable"
REMEDIATION_ALLOWED = "RemediationAllowed"

# The notice sent when a human acknowledges (not an event a receiver can list).
ACKNOWLEDGED_NOTICE = "Acknowledged"

# Event reasons, posted on the incident (and on the target where noted).
OPENED = "IncidentOpened"
REOPENED = "IncidentReopened"
RESOLVED_EVENT = "IncidentResolved"
ESCALATED_EVENT = "IncidentEscalated"
EVIDENCE_MISSING = "EvidenceMissing"
ACTION_TAKEN = "ActionTaken"
ACTION_PLANNED = "ActionPlanned"
ACTION_BLOCKED = "ActionBlocked"
ACTION_FAILED = "ActionFailed"
ACTION_REFUSED = "ActionRefused"

_COUNTED_RESULTS = {
    ActionResult.PENDING,
    ActionResult.SUCCEEDED,
    ActionResult.FAILED,
    ActionResult.DRY_RUN,
}


@dataclasses.dataclass(frozen=True)
class Signal:
    """One observation of a failure, from a pod or a query."""

    trigger: str
    reason: str
    evidence_key: str
    began_at: datetime.datetime
    message: str
    value: float | None = None


@dataclasses.dataclass(frozen=True)
class Note:
    """An Event to post: ``Normal`` or ``Warning``, a CamelCase reason, a message."""

    type: str
    reason: str
    message: str
    on_target: bool = False


@dataclasses.dataclass(frozen=True)
class StepPlan:
    """An action the ladder wants to run now."""

    index: int
    action: Action
    key: str


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a reconciliation decided: the new status and what to carry out."""

    status: IncidentStatus
    notes: tuple[Note, ...] = ()
    notify: tuple[str, ...] = ()
    step: StepPlan | None = None


# --- Opening and joining -------------------------------------------------------------------------


def open_incident(
    *,
    policy: str,
    namespace: str,
    spec: RemediationPolicySpec,
    trigger: Trigger,
    target: Target,
    signal: Signal,
    now: datetime.datetime,
    sequence: int = 0,
) -> tuple[Incident, Plan]:
    """A new incident for ``signal`` and what to announce about it."""
    fingerprint = fingerprint_of(policy=policy, trigger=trigger.name, target=target)
    severity = spec.severity_of(trigger)
    name = incident_name(policy=policy, target=target, fingerprint=fingerprint, sequence=sequence)
    status = IncidentStatus(
        phase=Phase.DETECTED,
        severity=severity,
        first_seen_at=min(signal.began_at, now),
        detected_at=now,
        last_seen_at=now,
        occurrences=1,
        evidence_keys=[signal.evidence_key],
        message=signal.message[:2048],
    )
    status = add_entry(status, "Detected", signal.message, now=now)
    status = status.model_copy(
        update={
            "conditions": set_condition(
                status.conditions,
                RESOLVED,
                ConditionStatus.FALSE,
                "Open",
                f"{target.display} is failing: {signal.reason}",
                now=now,
            )
        }
    )
    incident = Incident(
        metadata={
            "name": name,
            "namespace": namespace,
            "labels": incident_labels(
                policy=policy,
                trigger=trigger.name,
                target=target,
                severity=severity,
                fingerprint=fingerprint,
            ),
        },
        spec=IncidentSpec(
            policy_ref=PolicyRef(name=policy),
            target=target,
            trigger=trigger.name,
            severity=severity,
            fingerprint=fingerprint,
        ),
        status=status,
    )
    note = Note(
        "Normal",
        OPENED,
        f"Opened {severity} incident {name} for {target.display}: {signal.message}"[:1024],
        on_target=True,
    )
    return incident, Plan(status=status, notes=(note,), notify=(NotificationEvent.OPENED,))


def complete_creation(incident: Incident, *, now: datetime.datetime) -> IncidentStatus:
    """A status for an incident whose creator stopped between its two writes.

    The object exists but its status was never written; the signal that
    opened it is lost, so the status says so instead of inventing one.
    """
    created = incident.metadata.get("creationTimestamp")
    detected = parse_time(created) if created else None
    message = "Opened by an operator that stopped before recording the signal"
    status = IncidentStatus(
        phase=Phase.DETECTED,
        severity=incident.spec.severity,
        first_seen_at=detected or now,
        detected_at=detected or now,
        last_seen_at=detected or now,
        occurrences=1,
        message=message,
    )
    status = add_entry(status, "Detected", message, now=now)
    return status.model_copy(
        update={
            "conditions": set_condition(
                status.conditions, RESOLVED, ConditionStatus.FALSE, "Open", message, now=now
            )
        }
    )


def is_joinable(
    status: IncidentStatus, *, now: datetime.datetime, reopen_within_seconds: int
) -> bool:
    """Whether a new signal joins this incident rather than opening another."""
    if status.phase != Phase.RESOLVED:
        return True
    if status.resolved_at is None:
        return False
    return (now - status.resolved_at).total_seconds() <= reopen_within_seconds


def join_signal(status: IncidentStatus, signal: Signal, *, now: datetime.datetime) -> Plan:
    """The incident after another signal of the same failure; reopens a resolved one.

    A signal whose evidence key was already joined changes nothing.
    """
    if signal.evidence_key in status.evidence_keys:
        return Plan(status=status)
    keys = [*status.evidence_keys, signal.evidence_key][-EVIDENCE_KEYS_LIMIT:]
    updated = status.model_copy(
        update={
            "occurrences": status.occurrences + 1,
            "last_seen_at": now,
            "evidence_keys": keys,
            "message": signal.message[:2048],
        }
    )
    if status.phase != Phase.RESOLVED:
        updated = add_entry(updated, "Joined", signal.message, now=now)
        return Plan(status=updated)

    # A recurrence soon after resolution means the fix did not hold: same incident.
    updated = updated.model_copy(
        update={
            "phase": Phase.INVESTIGATING,
            "reopened": status.reopened + 1,
            "monitoring_until": None,
            "health": None,
            "conditions": set_condition(
                status.conditions,
                RESOLVED,
                ConditionStatus.FALSE,
                "Reopened",
                f"The failure recurred: {signal.message}"[:2048],
                now=now,
            ),
        }
    )
    updated = add_entry(updated, "Reopened", signal.message, now=now)
    note = Note("Normal", REOPENED, f"Reopened: {signal.message}"[:1024], on_target=True)
    return Plan(status=updated, notes=(note,), notify=(NotificationEvent.OPENED,))


# --- Reconciling -------------------------------------------------------------------------------


def action_key(incident_uid: str, status: IncidentStatus, index: int) -> str:
    """The idempotency key of ladder step ``index`` in the incident's current episode.

    It depends only on persisted values, so a restarted operator computes the
    same key for the same step and finds the action it may already have taken.
    """
    episode = f"{incident_uid}/{status.reopened}/{status.observed_retries}/{index}"
    digest = hashlib.sha256(episode.encode()).hexdigest()[:10]
    return f"km-{digest}-s{index}"


def pending_action(status: IncidentStatus) -> ActionRecord | None:
    """The action whose mutation was announced but not confirmed, if any."""
    for record in reversed(status.actions):
        if record.result == ActionResult.PENDING:
            return record
    return None


def counted_action_times(status: IncidentStatus) -> list[datetime.datetime]:
    """Start times of the actions that count against cooldowns and budgets."""
    return [a.started_at for a in status.actions if a.result in _COUNTED_RESULTS]


def is_being_remediated(status: IncidentStatus) -> bool:
    """Whether an action of the incident is under way or being verified."""
    if status.phase == Phase.REMEDIATING:
        return True
    return status.phase == Phase.MONITORING and status.monitoring_until is not None


def reconcile(
    incident: Incident,
    spec: RemediationPolicySpec | None,
    reading: Reading | None,
    *,
    now: datetime.datetime,
) -> Plan:
    """The next state of an open incident, given the latest health reading.

    ``spec`` is None when the policy is gone or invalid: the incident is then
    only observed, never acted on. ``reading`` is None when nothing was
    observed this time (the health in status stays as it was).
    """
    status = incident.status
    notes: list[Note] = []
    notify: list[str] = []

    # Human input first: acknowledgement, false positives, a ladder reset.
    status, human_notes = _apply_human_input(incident.spec, status, now=now)
    notes.extend(human_notes)
    if status.acknowledged_at is not None and incident.status.acknowledged_at is None:
        notify.append(ACKNOWLEDGED_NOTICE)
    if status.phase == Phase.RESOLVED:
        return Plan(status=status, notes=tuple(notes), notify=tuple(notify))
    if incident.spec.false_positive:
        status = _resolve(status, "FalsePositive", "marked as a false positive", now=now)
        notify.append(NotificationEvent.RESOLVED)
        return Plan(status=status, notes=tuple(notes), notify=tuple(notify))

    # The newest observation, and whether there is evidence at all.
    if reading is not None:
        status, evidence_notes = _observe(status, reading, now=now)
        notes.extend(evidence_notes)
    if status.phase == Phase.DETECTED:
        status = status.model_copy(update={"phase": Phase.INVESTIGATING})
        status = add_entry(
            status, "Investigating", f"Observing {incident.spec.target.display}", now=now
        )
    if pending_action(status) is not None:
        return Plan(status=status, notes=tuple(notes))

    # Closing: healthy for the whole stabilization window.
    stabilization = spec.closing.stabilization_seconds if spec else 120
    if is_stable(status.health, now=now, seconds=stabilization):
        status = _resolve(
            status,
            "TargetHealthy",
            f"{incident.spec.target.display} healthy for {stabilization}s",
            now=now,
        )
        notes.append(
            Note(
                "Normal",
                RESOLVED_EVENT,
                f"Resolved: {incident.spec.target.display} healthy for {stabilization}s",
                on_target=True,
            )
        )
        notify.append(NotificationEvent.RESOLVED)
        return Plan(status=status, notes=tuple(notes), notify=tuple(notify))

    # Escalation timeouts page a human whatever the phase.
    if spec is not None:
        status, timeout_notes, timed_out = _check_timeouts(incident.spec, status, spec, now=now)
        notes.extend(timeout_notes)
        if timed_out:
            notify.append(NotificationEvent.ESCALATED)
    if status.phase == Phase.ESCALATED or spec is None:
        return Plan(status=status, notes=tuple(notes), notify=tuple(notify))

    health = status.health
    if health is not None and health.state == HealthState.HEALTHY:
        # Healthy but not yet for long enough: watch through the window.
        if status.phase != Phase.MONITORING or status.monitoring_until is not None:
            update: dict[str, object] = {"phase": Phase.MONITORING, "monitoring_until": None}
            if status.actions and status.mitigated_at is None:
                update["mitigated_at"] = now
            status = status.model_copy(update=update)
            status = add_entry(
                status,
                "Monitoring",
                f"Target healthy; resolving after {stabilization}s of stability",
                now=now,
            )
            status = _set_remediating(status, False, "Verifying", "waiting for stability", now)
        return Plan(status=status, notes=tuple(notes), notify=tuple(notify))
    if health is None or health.state == HealthState.UNKNOWN:
        return Plan(status=status, notes=tuple(notes), notify=tuple(notify))

    # Unhealthy: wait out the current step's verification, then take the next.
    if status.monitoring_until is not None:
        if now < status.monitoring_until:
            return Plan(status=status, notes=tuple(notes), notify=tuple(notify))
        last = status.actions[-1] if status.actions else None
        step_name = last.step if last else "?"
        status = status.model_copy(update={"monitoring_until": None, "phase": Phase.INVESTIGATING})
        status = add_entry(
            status,
            "VerificationFailed",
            f"Step {step_name} did not make the target healthy in time: {health.message}",
            now=now,
        )
    if status.phase == Phase.MONITORING:
        status = status.model_copy(update={"phase": Phase.INVESTIGATING})
        status = add_entry(status, "Investigating", f"Unhealthy again: {health.message}", now=now)
    ladder = spec.ladder_for(incident.spec.trigger)
    if not ladder:
        return Plan(status=status, notes=tuple(notes), notify=tuple(notify))
    if status.next_step >= len(ladder):
        status, escalation_notes = escalate(
            status,
            "LadderExhausted",
            f"all {len(ladder)} steps tried; the target is still unhealthy: {health.message}",
            now=now,
        )
        notes.extend(escalation_notes)
        notify.append(NotificationEvent.ESCALATED)
        return Plan(status=status, notes=tuple(notes), notify=tuple(notify))
    index = status.next_step
    uid = str(incident.metadata.get("uid", incident.metadata.get("name", "")))
    step = StepPlan(index=index, action=ladder[index], key=action_key(uid, status, index))
    return Plan(status=status, notes=tuple(notes), notify=tuple(notify), step=step)


def escalate(
    status: IncidentStatus, reason: str, message: str, *, now: datetime.datetime
) -> tuple[IncidentStatus, list[Note]]:
    """The incident escalated: a human is needed and automation stops on it."""
    severity = (status.severity or Severity.SEV3).raised()
    updated = status.model_copy(
        update={
            "phase": Phase.ESCALATED,
            "severity": severity,
            "escalation_level": status.escalation_level + 1,
            "monitoring_until": None,
            "message": f"Escalated: {message}"[:2048],
        }
    )
    updated = _set_remediating(updated, False, reason, message, now)
    updated = add_entry(updated, "Escalated", f"{reason}: {message} (now {severity})", now=now)
    note = Note("Warning", ESCALATED_EVENT, f"Escalated to {severity} ({reason}): {message}"[:1024])
    return updated, [note]


# --- Actions -------------------------------------------------------------------------------------


def start_action(
    status: IncidentStatus,
    step: StepPlan,
    *,
    object_: str | None,
    is_dry_run: bool,
    now: datetime.datetime,
) -> IncidentStatus:
    """The status with the action announced: written *before* the mutation.

    NB: the key must reach the API server before the mutation does; that is
    what lets a restarted operator reconcile instead of repeating.
    """
    verb = "Planning (dry run)" if is_dry_run else "Starting"
    record = ActionRecord(
        key=step.key,
        step=step.action.name,
        type=step.action.type,
        object=object_,
        started_at=now,
        result=ActionResult.PENDING,
        message=f"{verb} {step.action.type}",
    )
    updated = status.model_copy(
        update={
            "actions": [*status.actions, record][-ACTIONS_LIMIT:],
            "action_count": status.action_count + 1,
            "phase": Phase.REMEDIATING,
        }
    )
    updated = _set_remediating(
        updated, True, step.action.type.value, f"step {step.action.name} under way", now
    )
    return add_entry(
        updated,
        "ActionStarted",
        f"{verb} step {step.action.name}: {step.action.type}"
        + (f" on {object_}" if object_ else ""),
        now=now,
    )


def finish_action(
    status: IncidentStatus,
    key: str,
    *,
    result: ActionResult,
    message: str,
    object_: str | None,
    verification_seconds: int,
    now: datetime.datetime,
) -> tuple[IncidentStatus, list[Note]]:
    """The status once the action with ``key`` ended (anything but PENDING)."""
    records = []
    step_name = "?"
    for record in status.actions:
        if record.key == key:
            step_name = record.step
            record = record.model_copy(
                update={
                    "result": result,
                    "ended_at": now,
                    "message": message[:2048],
                    "object": object_ or record.object,
                }
            )
        records.append(record)
    updated = status.model_copy(
        update={"actions": records, "next_step": status.next_step + 1, "message": message[:2048]}
    )
    if result in (ActionResult.SUCCEEDED, ActionResult.DRY_RUN):
        until = now + datetime.timedelta(seconds=verification_seconds)
        updated = updated.model_copy(update={"phase": Phase.MONITORING, "monitoring_until": until})
        updated = add_entry(updated, f"Action{result.value}", message, now=now)
        updated = add_entry(
            updated,
            "Monitoring",
            f"Verifying step {step_name} for up to {verification_seconds}s",
            now=now,
        )
        updated = _set_remediating(updated, True, "Verifying", f"verifying {step_name}", now)
        reason = ACTION_PLANNED if result == ActionResult.DRY_RUN else ACTION_TAKEN
        return updated, [Note("Normal", reason, message[:1024], on_target=True)]

    # Blocked, failed or skipped: the next step is tried on the next pass.
    updated = updated.model_copy(update={"phase": Phase.INVESTIGATING, "monitoring_until": None})
    updated = add_entry(updated, f"Action{result.value}", message, now=now)
    updated = _set_remediating(updated, False, f"Action{result.value}", message, now)
    if result == ActionResult.SKIPPED:
        return updated, [Note("Normal", f"Action{result.value}", message[:1024])]
    reason = ACTION_BLOCKED if result == ActionResult.BLOCKED else ACTION_FAILED
    return updated, [Note("Warning", reason, message[:1024], on_target=True)]


def rails_context(
    incident: Incident,
    siblings: Sequence[Incident],
    *,
    total_targets: int,
    is_globally_paused: bool,
    unavailability: Unavailability | None,
    now: datetime.datetime,
) -> RailsContext:
    """The rails' inputs for ``incident``, from every incident of its policy.

    Counts come from the incidents' status (as just read from the API), so
    they hold across restarts and leader changes.
    """
    name = incident.metadata.get("name")
    target = incident.spec.target
    policy_times: list[datetime.datetime] = []
    target_times: list[datetime.datetime] = []
    other_remediating = 0
    failing_targets: set[tuple[str, str]] = set()
    for sibling in siblings:
        times = counted_action_times(sibling.status)
        policy_times.extend(times)
        other = sibling.spec.target
        if (other.kind, other.name) == (target.kind, target.name):
            target_times.extend(times)
        if sibling.status.phase != Phase.RESOLVED:
            failing_targets.add((other.kind.value, other.name))
        if sibling.metadata.get("name") != name and is_being_remediated(sibling.status):
            other_remediating += 1
    return RailsContext(
        now=now,
        policy_action_times=policy_times,
        target_action_times=target_times,
        other_remediating=other_remediating,
        is_mid_ladder=bool(incident.status.actions),
        failing_targets=len(failing_targets),
        total_targets=max(total_targets, len(failing_targets)),
        is_globally_paused=is_globally_paused,
        unavailability=unavailability,
    )


def record_revert(
    status: IncidentStatus, step: str, message: str, *, now: datetime.datetime
) -> IncidentStatus:
    """The status after a step's change was undone (or not) on resolution."""
    return add_entry(status, "ActionReverted", f"Step {step}: {message}", now=now)


def refuse_action(
    status: IncidentStatus, step: StepPlan, verdict: Verdict, *, now: datetime.datetime
) -> tuple[IncidentStatus, list[Note]]:
    """The status after the rails refused ``step``; said once per reason, not per pass."""
    previous = find_condition(status.conditions, REMEDIATION_ALLOWED)
    is_news = (
        previous is None
        or previous.reason != verdict.reason
        or (previous.status == ConditionStatus.TRUE)
    )
    updated = status.model_copy(
        update={
            "conditions": set_condition(
                status.conditions,
                REMEDIATION_ALLOWED,
                ConditionStatus.FALSE,
                verdict.reason,
                verdict.message,
                now=now,
            ),
            "message": f"Step {step.action.name} refused: {verdict.message}"[:2048],
        }
    )
    notes: list[Note] = []
    if is_news:
        updated = add_entry(
            updated,
            "ActionRefused",
            f"Step {step.action.name} ({step.action.type}) refused, {verdict.reason}: "
            f"{verdict.message}",
            now=now,
        )
        notes.append(Note("Warning", ACTION_REFUSED, f"{verdict.reason}: {verdict.message}"))
    if verdict.should_escalate and updated.phase != Phase.ESCALATED:
        updated, escalation_notes = escalate(updated, verdict.reason, verdict.message, now=now)
        notes.extend(escalation_notes)
    return updated, notes


def allow_action(status: IncidentStatus, *, now: datetime.datetime) -> IncidentStatus:
    """The status with RemediationAllowed True again."""
    return status.model_copy(
        update={
            "conditions": set_condition(
                status.conditions,
                REMEDIATION_ALLOWED,
                ConditionStatus.TRUE,
                "Allowed",
                "the rails allow actions",
                now=now,
            )
        }
    )


# --- Helpers -------------------------------------------------------------------------------------


def _apply_human_input(
    spec: IncidentSpec, status: IncidentStatus, *, now: datetime.datetime
) -> tuple[IncidentStatus, list[Note]]:
    notes: list[Note] = []
    if spec.acknowledged_by and status.acknowledged_at is None:
        status = status.model_copy(
            update={
                "acknowledged_at": now,
                "conditions": set_condition(
                    status.conditions,
                    ACKNOWLEDGED,
                    ConditionStatus.TRUE,
                    "Acknowledged",
                    f"acknowledged by {spec.acknowledged_by}",
                    now=now,
                ),
            }
        )
        status = add_entry(
            status, "Acknowledged", f"Acknowledged by {spec.acknowledged_by}", now=now
        )
        notes.append(
            Note("Normal", "IncidentAcknowledged", f"Acknowledged by {spec.acknowledged_by}")
        )
    if spec.retries > status.observed_retries:
        status = status.model_copy(update={"observed_retries": spec.retries})
        if status.phase == Phase.ESCALATED:
            status = status.model_copy(
                update={"phase": Phase.INVESTIGATING, "next_step": 0, "monitoring_until": None}
            )
            status = add_entry(
                status,
                "LadderReset",
                f"Retry {spec.retries} requested: the ladder starts again",
                now=now,
            )
            notes.append(Note("Normal", "LadderReset", "A human restarted the remediation ladder"))
    return status, notes


def _observe(
    status: IncidentStatus, reading: Reading, *, now: datetime.datetime
) -> tuple[IncidentStatus, list[Note]]:
    health = merge_health(status.health, reading, now=now)
    has_evidence = reading.state != HealthState.UNKNOWN
    previous = find_condition(status.conditions, EVIDENCE_AVAILABLE)
    updated = status.model_copy(
        update={
            "health": health,
            "conditions": set_condition(
                status.conditions,
                EVIDENCE_AVAILABLE,
                ConditionStatus.TRUE if has_evidence else ConditionStatus.FALSE,
                "Observed" if has_evidence else "EvidenceMissing",
                reading.message,
                now=now,
            ),
        }
    )
    was_available = previous is None or previous.status == ConditionStatus.TRUE
    if was_available and not has_evidence:
        updated = add_entry(
            updated,
            "EvidenceMissing",
            f"No evidence of the target's health; the incident stays open: {reading.message}",
            now=now,
        )
        return updated, [Note("Warning", EVIDENCE_MISSING, reading.message[:1024])]
    if not was_available and has_evidence:
        updated = add_entry(updated, "EvidenceRestored", reading.message, now=now)
    return updated, []


def _check_timeouts(
    spec: IncidentSpec,
    status: IncidentStatus,
    policy: RemediationPolicySpec,
    *,
    now: datetime.datetime,
) -> tuple[IncidentStatus, list[Note], bool]:
    timeouts = _timeouts_for(policy, status.severity or spec.severity)
    if timeouts is None or status.detected_at is None:
        return status, [], False
    age = (now - status.detected_at).total_seconds()
    candidates = (
        (
            "AckTimeout",
            timeouts.ack_timeout_seconds,
            status.acknowledged_at is None,
            "not acknowledged",
        ),
        ("ResolveTimeout", timeouts.resolve_timeout_seconds, True, "not resolved"),
    )
    # NB: each timeout pages once; timeoutsFired records that it did.
    for name, seconds, is_due, what in candidates:
        if seconds is None or not is_due or age < seconds or name in status.timeouts_fired:
            continue
        message = f"Paging: {what} within {seconds}s"
        updated = status.model_copy(
            update={
                "escalation_level": status.escalation_level + 1,
                "timeouts_fired": [*status.timeouts_fired, name],
            }
        )
        updated = add_entry(updated, name, message, now=now)
        return updated, [Note("Warning", ESCALATED_EVENT, message)], True
    return status, [], False


def _timeouts_for(policy: RemediationPolicySpec, severity: Severity) -> SeverityTimeout | None:
    return next((t for t in policy.escalation.timeouts if t.severity == severity), None)


def _resolve(
    status: IncidentStatus, reason: str, message: str, *, now: datetime.datetime
) -> IncidentStatus:
    update: dict[str, object] = {
        "phase": Phase.RESOLVED,
        "resolved_at": now,
        "monitoring_until": None,
        "message": f"Resolved: {message}"[:2048],
        "conditions": set_condition(
            status.conditions, RESOLVED, ConditionStatus.TRUE, reason, message, now=now
        ),
    }
    if status.actions and status.mitigated_at is None:
        update["mitigated_at"] = status.health.since if status.health else now
    updated = status.model_copy(update=update)
    updated = _set_remediating(updated, False, "Resolved", message, now)
    return add_entry(updated, "Resolved", message, now=now)


def _set_remediating(
    status: IncidentStatus, is_on: bool, reason: str, message: str, now: datetime.datetime
) -> IncidentStatus:
    return status.model_copy(
        update={
            "conditions": set_condition(
                status.conditions,
                REMEDIATING,
                ConditionStatus.TRUE if is_on else ConditionStatus.FALSE,
                reason,
                message,
                now=now,
            )
        }
    )
