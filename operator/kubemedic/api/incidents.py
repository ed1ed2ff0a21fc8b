"""The Incident resource: one failure of one target, from detection to close.

The operator creates incidents and owns their status; humans set the few
``spec`` fields that record their decisions (who acknowledged, who commands,
whether it was a false positive, a request to retry the ladder). Everything an
on-call engineer needs afterwards is in ``status``: the phase, the timestamps
for time-to-detect, -acknowledge and -resolve, a bounded timeline and the
actions taken with their results.
"""

from __future__ import annotations

import datetime
import enum
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from kubemedic.api.common import Condition, Flag, Model, Name, Severity, ShortText, Text
from kubemedic.api.policies import ActionType, WorkloadKind

KIND = "Incident"
PLURAL = "incidents"

# NB: both bounds keep an incident far below etcd's object size limit even
# when every entry is as long as its schema allows.
TIMELINE_LIMIT = 50
ACTIONS_LIMIT = 30
EVIDENCE_KEYS_LIMIT = 30
NOTIFICATIONS_LIMIT = 30


class Phase(enum.StrEnum):
    """Where an incident is in its lifecycle; for display, conditions are the API."""

    DETECTED = "Detected"
    INVESTIGATING = "Investigating"
    REMEDIATING = "Remediating"
    MONITORING = "Monitoring"
    RESOLVED = "Resolved"
    ESCALATED = "Escalated"


class TargetKind(enum.StrEnum):
    """What an incident can be about: a workload, or a single pod."""

    DEPLOYMENT = WorkloadKind.DEPLOYMENT.value
    STATEFUL_SET = WorkloadKind.STATEFUL_SET.value
    DAEMON_SET = WorkloadKind.DAEMON_SET.value
    POD = "Pod"


class Target(Model):
    """The object an incident is about."""

    kind: TargetKind = Field(description="kind of the target: a workload kind or Pod.")
    namespace: Name = Field(description="namespace of the target (the policy's).")
    name: Name = Field(description="name of the target.")
    uid: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="uid of the target when the incident opened."
    )

    @property
    def display(self) -> str:
        """``Kind namespace/name``, as logs and messages name it."""
        return f"{self.kind} {self.namespace}/{self.name}"


class PolicyRef(Model):
    """A reference to the RemediationPolicy that opened an incident."""

    name: Name = Field(description="name of the RemediationPolicy, in the incident's namespace.")


class IncidentSpec(Model):
    """spec of an Incident: set by the operator when it opens, then by humans."""

    policy_ref: PolicyRef = Field(description="policyRef: the policy that opened the incident.")
    target: Target = Field(description="target of the incident.")
    trigger: Annotated[str, StringConstraints(min_length=1, max_length=63)] = Field(
        description="trigger: the name of the policy's trigger that fired."
    )
    severity: Severity = Field(description="severity when the incident opened.")
    fingerprint: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="fingerprint identifies policy, trigger and target; a new signal with the "
        "same fingerprint joins this incident while it is open.",
    )
    acknowledged_by: ShortText | None = Field(
        default=None,
        description="acknowledgedBy is set by the human who took the incident; the operator then "
        "stamps status.acknowledgedAt and stops ack-timeout escalation.",
    )
    commander: ShortText | None = Field(
        default=None, description="commander is the human leading the response."
    )
    false_positive: Flag = Field(
        default=False,
        description="falsePositive, set by a human, resolves the incident without further "
        "actions and records it as a false positive.",
    )
    retries: Annotated[int, Field(ge=0, le=1000)] = Field(
        default=0,
        description="retries: raising this number restarts an Escalated incident's ladder from "
        "its first step (status.observedRetries records the last one honoured).",
    )


class TimelineEntry(Model):
    """One moment of an incident's history."""

    time: datetime.datetime = Field(description="time of the entry.")
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="type of the entry in CamelCase: Detected, Joined, ActionStarted, Monitoring, "
        "Resolved, Escalated, EvidenceMissing, ...",
    )
    message: Text = Field(default="", description="message for humans.")


class ActionResult(enum.StrEnum):
    """How an action ended, or that it has not yet."""

    PENDING = "Pending"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    BLOCKED = "Blocked"
    SKIPPED = "Skipped"
    DRY_RUN = "DryRun"


class ActionRecord(Model):
    """One action the operator took, or tried, or would have taken."""

    key: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="key identifies the action; it is written before the mutation and stamped on "
        "the mutated object, so a restarted operator neither repeats nor loses it.",
    )
    step: Annotated[str, StringConstraints(min_length=1, max_length=63)] = Field(
        description="step: the name of the ladder step."
    )
    type: ActionType = Field(description="type of the action.")
    object: ShortText | None = Field(default=None, description="object acted on, as 'Kind name'.")
    started_at: datetime.datetime = Field(description="startedAt: when the action began.")
    ended_at: datetime.datetime | None = Field(
        default=None, description="endedAt: when the mutation finished (or was refused)."
    )
    result: ActionResult = Field(description="result: Pending until the mutation returns.")
    message: Text = Field(default="", description="message about the result.")


class HealthState(enum.StrEnum):
    """What the latest observation says about the target."""

    HEALTHY = "Healthy"
    UNHEALTHY = "Unhealthy"
    UNKNOWN = "Unknown"


class Health(Model):
    """The latest observation of the target's health."""

    state: HealthState = Field(description="state: Healthy, Unhealthy or Unknown (no evidence).")
    since: datetime.datetime = Field(description="since when the state has held.")
    observed_at: datetime.datetime = Field(description="observedAt: the latest observation.")
    value: float | None = Field(default=None, description="value of the query, if any.")
    message: Text = Field(default="", description="message: what was observed.")


class NotificationRecord(Model):
    """A notification sent (or attempted) about this incident."""

    receiver: Annotated[str, StringConstraints(max_length=63)] = Field(
        description="receiver name from the policy."
    )
    event: Annotated[str, StringConstraints(max_length=32)] = Field(
        description="event: Opened, ActionTaken, Escalated or Resolved."
    )
    key: Annotated[str, StringConstraints(max_length=160)] = Field(
        description="key that makes the notification sent once."
    )
    sent_at: datetime.datetime = Field(description="sentAt: when it was delivered or given up.")
    result: Annotated[str, StringConstraints(max_length=16)] = Field(
        description="result: Delivered or Failed."
    )
    message: Text = Field(default="", description="message, e.g. the receiver's error.")


class IncidentStatus(Model):
    """status of an Incident: the operator's record."""

    phase: Phase = Field(default=Phase.DETECTED, description="phase, for display.")
    severity: Severity | None = Field(
        default=None, description="severity now; escalation raises it above spec.severity."
    )
    observed_generation: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="observedGeneration of the spec last reconciled."
    )
    conditions: Annotated[list[Condition], Field(max_length=8)] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
        description="conditions: Resolved, Remediating, Acknowledged, EvidenceAvailable.",
    )
    first_seen_at: datetime.datetime | None = Field(
        default=None,
        description="firstSeenAt: when the failure began, as far as the evidence tells "
        "(time-to-detect is detectedAt minus firstSeenAt).",
    )
    detected_at: datetime.datetime | None = Field(
        default=None, description="detectedAt: when the operator opened the incident."
    )
    acknowledged_at: datetime.datetime | None = Field(
        default=None, description="acknowledgedAt: when spec.acknowledgedBy was first seen."
    )
    mitigated_at: datetime.datetime | None = Field(
        default=None, description="mitigatedAt: when the target was first healthy after an action."
    )
    resolved_at: datetime.datetime | None = Field(
        default=None, description="resolvedAt: when the incident was last resolved."
    )
    last_seen_at: datetime.datetime | None = Field(
        default=None, description="lastSeenAt: the latest failure signal."
    )
    occurrences: Annotated[int, Field(ge=0)] = Field(
        default=0, description="occurrences of the failure signal joined into this incident."
    )
    reopened: Annotated[int, Field(ge=0)] = Field(
        default=0, description="reopened: how often the incident reopened after resolving."
    )
    escalation_level: Annotated[int, Field(ge=0, le=100)] = Field(
        default=0, description="escalationLevel: 0 until escalated, then 1, 2, ..."
    )
    next_step: Annotated[int, Field(ge=0, le=100)] = Field(
        default=0, description="nextStep: index of the ladder step to try next."
    )
    monitoring_until: datetime.datetime | None = Field(
        default=None,
        description="monitoringUntil: the end of the current step's verification window.",
    )
    observed_retries: Annotated[int, Field(ge=0)] = Field(
        default=0, description="observedRetries: the spec.retries last honoured."
    )
    timeouts_fired: Annotated[
        list[Annotated[str, StringConstraints(max_length=32)]], Field(max_length=4)
    ] = Field(
        default_factory=list,
        description="timeoutsFired: the escalation timeouts (AckTimeout, ResolveTimeout) that "
        "already paged, so each pages once.",
    )
    health: Health | None = Field(default=None, description="health: the latest observation.")
    timeline: Annotated[list[TimelineEntry], Field(max_length=TIMELINE_LIMIT)] = Field(
        default_factory=list,
        description=f"timeline of the incident, oldest first, at most {TIMELINE_LIMIT} entries.",
    )
    timeline_dropped: Annotated[int, Field(ge=0)] = Field(
        default=0, description="timelineDropped: how many oldest entries were dropped."
    )
    actions: Annotated[list[ActionRecord], Field(max_length=ACTIONS_LIMIT)] = Field(
        default_factory=list, description="actions taken, tried or planned, oldest first."
    )
    action_count: Annotated[int, Field(ge=0)] = Field(
        default=0, description="actionCount: every action recorded, including dropped ones."
    )
    evidence_keys: Annotated[
        list[Annotated[str, StringConstraints(max_length=160)]],
        Field(max_length=EVIDENCE_KEYS_LIMIT),
    ] = Field(
        default_factory=list,
        description="evidenceKeys of the latest signals joined, so a signal seen again (after a "
        "restart, say) is not counted twice.",
    )
    notifications: Annotated[list[NotificationRecord], Field(max_length=NOTIFICATIONS_LIMIT)] = (
        Field(default_factory=list, description="notifications sent about the incident.")
    )
    message: Text = Field(default="", description="message: the latest summary, for humans.")


class Incident(Model):
    """An Incident as stored in the cluster."""

    api_version: ShortText = Field(default="kubemedic.io/v1alpha1", description="apiVersion.")
    kind: ShortText = Field(default=KIND, description="kind.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="metadata.")
    spec: IncidentSpec
    status: IncidentStatus = Field(default_factory=IncidentStatus)

    def to_manifest(self) -> dict[str, Any]:
        """What was set, always with apiVersion and kind, ready to apply."""
        return {"apiVersion": self.api_version, "kind": self.kind} | super().to_manifest()
