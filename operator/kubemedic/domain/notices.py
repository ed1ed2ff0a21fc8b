"""Notices: whom to tell about an incident, in which words, and only once.

A notice is one moment of one incident (it opened, an action was taken, it
escalated, it resolved, a human acknowledged it), read once from the Incident
into the plain values every receiver needs. From a notice this module decides

- which receivers of the policy hear of it: ``receivers_for``;
- what each kind of receiver is sent: a Slack incoming-webhook message
  (``slack_message``), a PagerDuty Events API v2 event (``pagerduty_event``)
  or our own webhook document (``webhook_document``);
- how each notification goes out once: ``notification_key`` names one
  (receiver, event, occurrence of the incident); the caller checks
  ``is_already_sent`` before sending and keeps the outcome in
  ``status.notifications`` with ``record``.

PagerDuty keeps state, the other receivers do not: every event of one
occurrence of an incident carries the same ``dedup_key``, so the trigger of
Opened or Escalated, the acknowledge and the resolve all act on one PagerDuty
alert. An incident that reopens is a new occurrence and a new alert.

The webhook document, version ``v1``, is posted as JSON::

    {
      "version": "v1",
      "event": "Opened",  # or ActionTaken, Escalated, Resolved, Acknowledged
      "time": "2026-12-03T10:00:00Z",
      "incident": {
        "name": "oom-api-x1", "namespace": "shop", "uid": "...",
        "policy": "api", "trigger": "oom",
        "target": {"kind": "Deployment", "namespace": "shop", "name": "api"},
        "severity": "SEV2", "phase": "Remediating",
        "summary": "[SEV2] Incident opened: Deployment shop/api: ...",
        "message": "...",
        "occurrence": 1, "escalationLevel": 0, "actionCount": 1,
        "acknowledgedBy": "...", "commander": "...",
        "detectedAt": "...", "acknowledgedAt": "...", "resolvedAt": "...",
        "dedupKey": "kubemedic/shop/oom-api-x1/<uid>#1",
        "labels": {"team": "shop"},
        "links": [{"text": "Dashboard", "href": "https://..."}],
        "timeline": [{"time": "...", "type": "Detected", "message": "..."}],
        "actions": [{"step": "evict", "type": "EvictPod", "object": "Pod api-1",
                     "result": "Succeeded", "message": "...",
                     "startedAt": "...", "endedAt": "..."}]
      }
    }

Fields that are unset (``uid``, ``acknowledgedBy``, ``commander``, the
timestamps, an action's ``object`` and ``endedAt``) are left out; ``timeline``
and ``actions`` hold the latest entries only. Within ``v1`` fields are only
ever added, so a consumer must ignore the fields it does not know.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, TypeAlias

from kubemedic.api.common import Severity
from kubemedic.api.incidents import (
    NOTIFICATIONS_LIMIT,
    ActionRecord,
    Incident,
    IncidentStatus,
    NotificationRecord,
    Phase,
    TimelineEntry,
)
from kubemedic.api.policies import (
    NotificationEvent,
    Receiver,
    ReceiverType,
    RemediationPolicySpec,
)

# NB: not a NotificationEvent, because a policy cannot subscribe to it: an
# acknowledgement only keeps PagerDuty in step with the incident.
ACKNOWLEDGED: Final = "Acknowledged"
NoticeEvent: TypeAlias = NotificationEvent | Literal["Acknowledged"]

WEBHOOK_VERSION: Final = "v1"
TIMELINE_TAIL: Final = 5
ACTIONS_TAIL: Final = 5

# Limits of the receivers' formats; a longer value is clipped, not refused.
PAGERDUTY_SUMMARY_LIMIT: Final = 1024
PAGERDUTY_DEDUP_KEY_LIMIT: Final = 255
SLACK_HEADER_LIMIT: Final = 150
SLACK_TEXT_LIMIT: Final = 3000
SLACK_FIELD_LIMIT: Final = 2000
SLACK_LINE_LIMIT: Final = 300  # per action or timeline line, so that five fit a section

PAGERDUTY_SEVERITIES: Final[Mapping[Severity, str]] = {
    Severity.SEV1: "critical",
    Severity.SEV2: "error",
    Severity.SEV3: "warning",
    Severity.SEV4: "info",
}

DELIVERED: Final = "Delivered"
FAILED: Final = "Failed"

_HEADLINES: Final[Mapping[str, str]] = {
    NotificationEvent.OPENED: "Incident opened",
    NotificationEvent.ACTION_TAKEN: "Action taken",
    NotificationEvent.ESCALATED: "Incident escalated",
    NotificationEvent.RESOLVED: "Incident resolved",
    ACKNOWLEDGED: "Incident acknowledged",
}
_SLACK_EMOJIS: Final[Mapping[str, str]] = {
    NotificationEvent.OPENED: ":rotating_light:",
    NotificationEvent.ACTION_TAKEN: ":wrench:",
    NotificationEvent.ESCALATED: ":sos:",
    NotificationEvent.RESOLVED: ":white_check_mark:",
    ACKNOWLEDGED: ":eyes:",
}


@dataclasses.dataclass(frozen=True)
class Link:
    """A link shown with a notice: a dashboard, a runbook, a log query."""

    text: str
    href: str


@dataclasses.dataclass(frozen=True)
class Notice:
    """One moment of one incident, in the words every receiver needs.

    Build it with ``build_notice``; the builders of this module turn it into
    what each kind of receiver is sent::

        notice = build_notice(incident, NotificationEvent.OPENED, now=now)
        for receiver in receivers_for(policy.spec, notice):
            ...
    """

    event: NoticeEvent
    time: datetime.datetime
    incident_name: str
    incident_namespace: str
    incident_uid: str | None
    policy: str
    trigger: str
    target: str
    target_kind: str
    target_namespace: str
    target_name: str
    severity: Severity
    phase: Phase
    message: str
    occurrence: int
    escalation_level: int
    action_count: int
    dedup_key: str
    acknowledged_by: str | None = None
    commander: str | None = None
    detected_at: datetime.datetime | None = None
    acknowledged_at: datetime.datetime | None = None
    resolved_at: datetime.datetime | None = None
    timeline: tuple[TimelineEntry, ...] = ()
    actions: tuple[ActionRecord, ...] = ()
    links: tuple[Link, ...] = ()
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def headline(self) -> str:
        """What happened, in two or three words: ``Incident opened``."""
        headline = _HEADLINES[self.event]
        if self.event == NotificationEvent.ESCALATED and self.escalation_level > 1:
            headline = f"{headline} (level {self.escalation_level})"
        if self.event == ACKNOWLEDGED and self.acknowledged_by:
            headline = f"{headline} by {self.acknowledged_by}"
        return headline

    @property
    def title(self) -> str:
        """``[SEV2] Incident opened: Deployment shop/api``."""
        return f"[{self.severity}] {self.headline}: {self.target}"

    @property
    def summary(self) -> str:
        """The title and the incident's message, on one line."""
        message = " ".join(self.message.split())
        return f"{self.title}: {message}" if message else self.title

    @property
    def incident(self) -> str:
        """``Incident namespace/name``, as logs name it."""
        return f"Incident {self.incident_namespace}/{self.incident_name}"

    @property
    def kubectl_command(self) -> str:
        """The command that shows the whole incident."""
        return f"kubectl -n {self.incident_namespace} describe incident {self.incident_name}"


def build_notice(
    incident: Incident,
    event: NoticeEvent,
    *,
    now: datetime.datetime,
    links: Sequence[Link] = (),
    timeline_tail: int = TIMELINE_TAIL,
    actions_tail: int = ACTIONS_TAIL,
) -> Notice:
    """The notice of ``event`` for ``incident`` as it is now."""
    spec, status = incident.spec, incident.status
    name = str(incident.metadata.get("name") or "")
    namespace = str(incident.metadata.get("namespace") or spec.target.namespace)
    uid = incident.metadata.get("uid")
    labels = incident.metadata.get("labels") or {}

    # The incident's own summary says most; the latest entry of the timeline
    # stands in for it while the operator has not written one yet.
    message = status.message or (status.timeline[-1].message if status.timeline else "")

    return Notice(
        event=event,
        time=now,
        incident_name=name,
        incident_namespace=namespace,
        incident_uid=str(uid) if uid else None,
        policy=spec.policy_ref.name,
        trigger=spec.trigger,
        target=spec.target.display,
        target_kind=str(spec.target.kind),
        target_namespace=spec.target.namespace,
        target_name=spec.target.name,
        severity=status.severity or spec.severity,
        phase=status.phase,
        message=message,
        occurrence=_occurrence_of(status),
        escalation_level=status.escalation_level,
        action_count=status.action_count,
        dedup_key=_dedup_key(namespace, name, str(uid) if uid else None, _occurrence_of(status)),
        acknowledged_by=spec.acknowledged_by,
        commander=spec.commander,
        detected_at=status.detected_at,
        acknowledged_at=status.acknowledged_at,
        resolved_at=status.resolved_at,
        timeline=tuple(status.timeline[-timeline_tail:]) if timeline_tail > 0 else (),
        actions=tuple(status.actions[-actions_tail:]) if actions_tail > 0 else (),
        links=tuple(links),
        labels={str(k): str(v) for k, v in labels.items()},
    )


# --- Whom to tell --------------------------------------------------------------------------------


def receivers_for(policy_spec: RemediationPolicySpec, notice: Notice) -> list[Receiver]:
    """The receivers of the policy that hear of ``notice``, in the policy's order.

    A receiver hears of the events it lists, for incidents at least as severe
    as its ``minSeverity`` (the incident's current severity, which escalation
    may have raised). Receivers named in ``escalation.receivers`` also hear of
    every escalation, listed or not, and then of the resolution of what they
    were paged for. An acknowledgement goes only to PagerDuty receivers that
    may hold an alert of the incident, to stop it paging.
    """
    paged_on_escalation = set(policy_spec.escalation.receivers)
    return [
        receiver
        for receiver in policy_spec.notifications.receivers
        if notice.severity.is_at_least(receiver.min_severity)
        and _is_told(receiver, notice, is_paged_on_escalation=receiver.name in paged_on_escalation)
    ]


def _is_told(receiver: Receiver, notice: Notice, *, is_paged_on_escalation: bool) -> bool:
    was_paged = is_paged_on_escalation and notice.escalation_level > 0
    if notice.event == ACKNOWLEDGED:
        may_hold_an_alert = was_paged or bool(
            {NotificationEvent.OPENED, NotificationEvent.ESCALATED} & set(receiver.events)
        )
        return receiver.type == ReceiverType.PAGER_DUTY and may_hold_an_alert
    if notice.event in receiver.events:
        return True
    if notice.event == NotificationEvent.ESCALATED:
        return is_paged_on_escalation
    if notice.event == NotificationEvent.RESOLVED:
        return was_paged
    return False


# --- Sending once --------------------------------------------------------------------------------


def notification_key(receiver: Receiver, event: NoticeEvent, incident: Incident) -> str:
    """The key that makes one notification go out once.

    It names the receiver, the event and the occurrence of the incident (a
    reopened incident is told of again); an ActionTaken counts the actions and
    an Escalated the escalation level, as both happen more than once in one
    occurrence. The key fits ``NotificationRecord.key`` (160 characters).
    """
    status = incident.status
    parts = [receiver.name, str(event), _identity_of(incident), str(_occurrence_of(status))]
    if event == NotificationEvent.ACTION_TAKEN:
        parts.append(str(status.action_count))
    elif event == NotificationEvent.ESCALATED:
        parts.append(str(status.escalation_level))
    return "/".join(parts)


def is_already_sent(status: IncidentStatus, key: str) -> bool:
    """Whether a notification of that key was delivered, or given up on, before."""
    return any(record.key == key for record in status.notifications)


def notification_record(
    receiver: Receiver,
    event: NoticeEvent,
    *,
    key: str,
    delivered: bool,
    message: str,
    now: datetime.datetime,
) -> NotificationRecord:
    """The record of one notification delivered (or given up on) at ``now``."""
    return NotificationRecord(
        receiver=receiver.name,
        event=str(event),
        key=key,
        sent_at=now,
        result=DELIVERED if delivered else FAILED,
        message=_clip(message, 2048),
    )


def record(
    status_notifications: Sequence[NotificationRecord], record: NotificationRecord
) -> list[NotificationRecord]:
    """The notifications with ``record`` added last, at most NOTIFICATIONS_LIMIT.

    A record of the same key is replaced, and the oldest records are dropped.
    NB: a dropped key no longer stops a resend; the limit is sized so that the
    keys of an incident's current occurrence outlive the moments they name.
    """
    kept = [existing for existing in status_notifications if existing.key != record.key]
    kept.append(record)
    return kept[-NOTIFICATIONS_LIMIT:]


# --- What to send --------------------------------------------------------------------------------


def slack_message(notice: Notice, *, channel: str | None = None) -> dict[str, Any]:
    """The JSON body of a Slack incoming-webhook post about ``notice``.

    ``text`` is what Slack shows in the notification and where blocks cannot
    be rendered; the blocks lay out what on-call reads first: the target and
    what is wrong, severity and phase, the latest actions and timeline, and
    the command that shows the rest. Times render in each reader's timezone.
    """
    emoji = _SLACK_EMOJIS[notice.event]
    fields = [
        ("Severity", notice.severity),
        ("Phase", notice.phase),
        ("Incident", f"{notice.incident_namespace}/{notice.incident_name}"),
        ("Policy / trigger", f"{notice.policy} / {notice.trigger}"),
    ]
    if notice.acknowledged_by:
        fields.append(("Acknowledged by", notice.acknowledged_by))
    if notice.commander:
        fields.append(("Commander", notice.commander))
    if notice.escalation_level:
        fields.append(("Escalation level", str(notice.escalation_level)))
    if notice.action_count:
        fields.append(("Actions taken", str(notice.action_count)))

    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _clip(f"{emoji} {notice.title}", SLACK_HEADER_LIMIT),
                "emoji": True,
            },
        },
        _slack_section(f"*{_escape(notice.target)}*\n{_escape(notice.message or notice.headline)}"),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": _clip(f"*{label}*\n{_escape(value)}", SLACK_FIELD_LIMIT)}
                for label, value in fields
            ],
        },
    ]
    if notice.actions:
        lines = [
            f"• {_escape(_clip(_describe_action(action), SLACK_LINE_LIMIT))}"
            for action in notice.actions
        ]
        blocks.append(_slack_section("*Latest actions*\n" + "\n".join(lines)))
    if notice.timeline:
        lines = [
            f"• {_slack_date(entry.time)} *{_escape(entry.type)}* "
            f"{_escape(_clip(entry.message, SLACK_LINE_LIMIT))}"
            for entry in notice.timeline
        ]
        blocks.append(_slack_section("*Timeline*\n" + "\n".join(lines)))
    if notice.links:
        anchors = [f"<{link.href}|{_escape(link.text)}>" for link in notice.links]
        blocks.append(_slack_section(" · ".join(anchors)))
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"`{notice.kubectl_command}`"}]}
    )

    message: dict[str, Any] = {"text": _escape(notice.summary), "blocks": blocks}
    if channel:
        message["channel"] = channel
    return message


def pagerduty_event(notice: Notice, *, routing_key: str) -> dict[str, Any]:
    """The JSON body of a PagerDuty Events API v2 alert event about ``notice``.

    Resolved resolves and Acknowledged acknowledges the alert of the same
    ``dedup_key``; every other event triggers it (a trigger on an open alert
    adds to it rather than opening another). Only a trigger carries a payload.
    """
    event_action = _pagerduty_action(notice.event)
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": event_action,
        "dedup_key": notice.dedup_key,
    }
    if event_action != "trigger":
        return event

    custom_details: dict[str, Any] = {
        "event": str(notice.event),
        "incident": f"{notice.incident_namespace}/{notice.incident_name}",
        "policy": notice.policy,
        "trigger": notice.trigger,
        "phase": str(notice.phase),
        "severity": str(notice.severity),
        "message": notice.message,
        "occurrence": notice.occurrence,
        "escalation_level": notice.escalation_level,
        "action_count": notice.action_count,
        "timeline": [_describe_entry(entry) for entry in notice.timeline],
        "actions": [_describe_action(action) for action in notice.actions],
        "kubectl": notice.kubectl_command,
    }
    if notice.acknowledged_by:
        custom_details["acknowledged_by"] = notice.acknowledged_by
    if notice.commander:
        custom_details["commander"] = notice.commander
    if notice.labels:
        custom_details["labels"] = dict(notice.labels)
    event["payload"] = {
        "summary": _clip(notice.summary, PAGERDUTY_SUMMARY_LIMIT),
        "source": notice.target,
        "severity": PAGERDUTY_SEVERITIES[notice.severity],
        "timestamp": _iso(notice.time),
        "component": notice.target_name,
        "group": notice.target_namespace,
        "class": notice.trigger,
        "custom_details": custom_details,
    }
    event["client"] = "kubemedic"
    if notice.links:
        event["links"] = [{"href": link.href, "text": link.text} for link in notice.links]
    return event


def webhook_document(notice: Notice) -> dict[str, Any]:
    """The JSON body of a generic webhook post: the ``v1`` document above."""
    incident: dict[str, Any] = {
        "name": notice.incident_name,
        "namespace": notice.incident_namespace,
        "uid": notice.incident_uid,
        "policy": notice.policy,
        "trigger": notice.trigger,
        "target": {
            "kind": notice.target_kind,
            "namespace": notice.target_namespace,
            "name": notice.target_name,
        },
        "severity": str(notice.severity),
        "phase": str(notice.phase),
        "summary": notice.summary,
        "message": notice.message,
        "occurrence": notice.occurrence,
        "escalationLevel": notice.escalation_level,
        "actionCount": notice.action_count,
        "acknowledgedBy": notice.acknowledged_by,
        "commander": notice.commander,
        "detectedAt": _iso_or_none(notice.detected_at),
        "acknowledgedAt": _iso_or_none(notice.acknowledged_at),
        "resolvedAt": _iso_or_none(notice.resolved_at),
        "dedupKey": notice.dedup_key,
        "labels": dict(notice.labels),
        "links": [{"text": link.text, "href": link.href} for link in notice.links],
        "timeline": [
            {"time": _iso(entry.time), "type": entry.type, "message": entry.message}
            for entry in notice.timeline
        ],
        "actions": [_without_nones(_action_document(action)) for action in notice.actions],
    }
    return {
        "version": WEBHOOK_VERSION,
        "event": str(notice.event),
        "time": _iso(notice.time),
        "incident": _without_nones(incident),
    }


# --- Helpers -------------------------------------------------------------------------------------


def _occurrence_of(status: IncidentStatus) -> int:
    return status.reopened + 1


def _identity_of(incident: Incident) -> str:
    # NB: the uid tells apart two incidents that had the same name one after
    # the other; without one (a manifest not yet stored) the name must do.
    uid = incident.metadata.get("uid")
    if uid:
        return str(uid)
    name = incident.metadata.get("name") or ""
    namespace = incident.metadata.get("namespace") or incident.spec.target.namespace
    return hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:16]


def _dedup_key(namespace: str, name: str, uid: str | None, occurrence: int) -> str:
    identity = f"kubemedic/{namespace}/{name}" + (f"/{uid}" if uid else "")
    key = f"{identity}#{occurrence}"
    if len(key) <= PAGERDUTY_DEDUP_KEY_LIMIT:
        return key
    digest = hashlib.sha256(identity.encode()).hexdigest()
    return f"kubemedic/{digest}#{occurrence}"


def _pagerduty_action(event: NoticeEvent) -> str:
    if event == NotificationEvent.RESOLVED:
        return "resolve"
    if event == ACKNOWLEDGED:
        return "acknowledge"
    return "trigger"


def _describe_action(action: ActionRecord) -> str:
    on = f" on {action.object}" if action.object else ""
    text = f"{action.step} ({action.type}){on}: {action.result}"
    return f"{text}: {action.message}" if action.message else text


def _describe_entry(entry: TimelineEntry) -> str:
    text = f"{_iso(entry.time)} {entry.type}"
    return f"{text}: {entry.message}" if entry.message else text


def _action_document(action: ActionRecord) -> dict[str, Any]:
    return {
        "step": action.step,
        "type": str(action.type),
        "object": action.object,
        "result": str(action.result),
        "message": action.message,
        "startedAt": _iso(action.started_at),
        "endedAt": _iso_or_none(action.ended_at),
    }


def _without_nones(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if value is not None}


def _slack_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SLACK_TEXT_LIMIT)}}


def _slack_date(time: datetime.datetime) -> str:
    # Slack renders <!date^...> in the reader's own timezone; the text after
    # the bar is shown where it cannot.
    utc = _utc(time)
    fallback = utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time_secs}}|{fallback}>"


def _escape(text: str) -> str:
    # NB: the three characters Slack's mrkdwn reserves for its own markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _utc(time: datetime.datetime) -> datetime.datetime:
    if time.tzinfo is None:
        return time.replace(tzinfo=datetime.UTC)
    return time.astimezone(datetime.UTC)


def _iso(time: datetime.datetime) -> str:
    return _utc(time).isoformat().replace("+00:00", "Z")


def _iso_or_none(time: datetime.datetime | None) -> str | None:
    return _iso(time) if time is not None else None
