"""What is sent, and to whom: the pure half of notifications."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from kubemedic.api.common import Severity
from kubemedic.api.incidents import NOTIFICATIONS_LIMIT, IncidentStatus, NotificationRecord
from kubemedic.api.policies import NotificationEvent
from kubemedic.domain.notices import (
    ACKNOWLEDGED,
    Link,
    NoticeEvent,
    build_notice,
    is_already_sent,
    notification_key,
    notification_record,
    pagerduty_event,
    receivers_for,
    record,
    slack_message,
    webhook_document,
)

from .examples import (
    NOW,
    UID,
    make_incident,
    pagerduty_receiver,
    policy_with,
    slack_receiver,
    webhook_receiver,
)

OPENED = NotificationEvent.OPENED
ACTION_TAKEN = NotificationEvent.ACTION_TAKEN
ESCALATED = NotificationEvent.ESCALATED
RESOLVED = NotificationEvent.RESOLVED


# --- The notice ----------------------------------------------------------------------------------


def test_notice_reads_what_on_call_needs_from_the_incident() -> None:
    notice = build_notice(make_incident(), OPENED, now=NOW)

    assert notice.incident == "Incident shop/oom-api-x1"
    assert notice.target == "Deployment shop/api"
    assert notice.severity is Severity.SEV2
    assert notice.title == "[SEV2] Incident opened: Deployment shop/api"
    assert notice.summary == (
        "[SEV2] Incident opened: Deployment shop/api: "
        "Container api was OOMKilled 3 times in 10 minutes"
    )
    assert [entry.type for entry in notice.timeline] == ["Detected", "ActionStarted"]
    assert notice.labels == {"team": "checkout"}


def test_notice_takes_the_severity_escalation_raised() -> None:
    incident = make_incident(status={"severity": "SEV1", "escalationLevel": 1})

    assert build_notice(incident, ESCALATED, now=NOW).severity is Severity.SEV1


def test_notice_keeps_only_the_tail_of_a_long_timeline() -> None:
    entries = [
        {"time": f"2026-12-03T10:{minute:02d}:00Z", "type": "Joined", "message": str(minute)}
        for minute in range(40)
    ]
    incident = make_incident(status={"timeline": entries})

    notice = build_notice(incident, ACTION_TAKEN, now=NOW, timeline_tail=3)

    assert [entry.message for entry in notice.timeline] == ["37", "38", "39"]


# --- PagerDuty -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        pytest.param("SEV1", "critical", id="SEV1-critical"),
        pytest.param("SEV2", "error", id="SEV2-error"),
        pytest.param("SEV3", "warning", id="SEV3-warning"),
        pytest.param("SEV4", "info", id="SEV4-info"),
    ],
)
def test_pagerduty_severity_follows_the_incident_severity(severity: str, expected: str) -> None:
    notice = build_notice(make_incident(spec={"severity": severity}), OPENED, now=NOW)

    assert pagerduty_event(notice, routing_key="k")["payload"]["severity"] == expected


@pytest.mark.parametrize(
    ("event", "action"),
    [
        pytest.param(OPENED, "trigger", id="opened-triggers"),
        pytest.param(ACTION_TAKEN, "trigger", id="action-taken-adds-to-the-alert"),
        pytest.param(ESCALATED, "trigger", id="escalated-triggers"),
        pytest.param(ACKNOWLEDGED, "acknowledge", id="acknowledged-acknowledges"),
        pytest.param(RESOLVED, "resolve", id="resolved-resolves"),
    ],
)
def test_pagerduty_event_action_follows_the_event(event: NoticeEvent, action: str) -> None:
    notice = build_notice(make_incident(), event, now=NOW)

    assert pagerduty_event(notice, routing_key="k")["event_action"] == action


def test_pagerduty_trigger_carries_the_documented_fields() -> None:
    notice = build_notice(
        make_incident(), OPENED, now=NOW, links=[Link("Dashboard", "https://grafana/d/api")]
    )

    event = pagerduty_event(notice, routing_key="R" * 32)

    assert event["routing_key"] == "R" * 32
    assert event["dedup_key"] == f"kubemedic/shop/oom-api-x1/{UID}#1"
    assert event["client"] == "kubemedic"
    assert event["links"] == [{"href": "https://grafana/d/api", "text": "Dashboard"}]
    payload = event["payload"]
    assert payload["summary"] == notice.summary
    assert payload["source"] == "Deployment shop/api"
    assert payload["timestamp"] == "2026-12-03T10:05:00Z"
    assert (payload["component"], payload["group"], payload["class"]) == ("api", "shop", "oom")
    details = payload["custom_details"]
    assert details["incident"] == "shop/oom-api-x1"
    assert details["actions"] == ["evict (EvictPod) on Pod api-7d9f: Succeeded: Evicted"]
    assert details["kubectl"] == "kubectl -n shop describe incident oom-api-x1"


@pytest.mark.parametrize(
    "event", [pytest.param(RESOLVED, id="resolve"), pytest.param(ACKNOWLEDGED, id="acknowledge")]
)
def test_pagerduty_resolve_and_acknowledge_name_the_alert_the_trigger_opened(
    event: NoticeEvent,
) -> None:
    trigger = pagerduty_event(build_notice(make_incident(), OPENED, now=NOW), routing_key="k")
    later = make_incident(spec={"acknowledgedBy": "ana"}, status={"phase": "Resolved"})

    closing = pagerduty_event(build_notice(later, event, now=NOW), routing_key="k")

    assert closing == {
        "routing_key": "k",
        "event_action": closing["event_action"],
        "dedup_key": trigger["dedup_key"],
    }


def test_pagerduty_alert_of_a_reopened_incident_is_a_new_one() -> None:
    first = build_notice(make_incident(), OPENED, now=NOW)
    again = build_notice(make_incident(status={"reopened": 1}), OPENED, now=NOW)

    assert first.dedup_key != again.dedup_key
    assert again.dedup_key.endswith("#2")


def test_pagerduty_summary_is_clipped_to_1024_characters() -> None:
    incident = make_incident(status={"message": "x" * 2048})

    summary = pagerduty_event(build_notice(incident, OPENED, now=NOW), routing_key="k")["payload"][
        "summary"
    ]

    assert len(summary) == 1024
    assert summary.endswith("…")


def test_pagerduty_dedup_key_stays_within_255_characters_for_long_names() -> None:
    incident = make_incident()
    incident.metadata["name"] = "n" * 253
    incident.metadata["namespace"] = "s" * 63

    key = build_notice(incident, OPENED, now=NOW).dedup_key

    assert len(key) <= 255
    assert key == build_notice(incident, RESOLVED, now=NOW).dedup_key


# --- Slack ---------------------------------------------------------------------------------------


def test_slack_message_has_a_readable_fallback_text_and_blocks() -> None:
    message = slack_message(build_notice(make_incident(), OPENED, now=NOW))

    assert message["text"] == build_notice(make_incident(), OPENED, now=NOW).summary
    header, target, facts, *rest = message["blocks"]
    assert header == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": ":rotating_light: [SEV2] Incident opened: Deployment shop/api",
            "emoji": True,
        },
    }
    assert target["text"]["text"] == (
        "*Deployment shop/api*\nContainer api was OOMKilled 3 times in 10 minutes"
    )
    assert {"type": "mrkdwn", "text": "*Severity*\nSEV2"} in facts["fields"]
    assert rest[-1]["elements"][0]["text"] == "`kubectl -n shop describe incident oom-api-x1`"
    assert "channel" not in message


def test_slack_timeline_shows_times_in_the_readers_timezone() -> None:
    blocks = slack_message(build_notice(make_incident(), OPENED, now=NOW))["blocks"]

    timeline = next(b for b in blocks if b.get("text", {}).get("text", "").startswith("*Timeline"))
    assert (
        "<!date^1796292000^{date_short_pretty} {time_secs}|2026-12-03 10:00:00 UTC> *Detected* "
        "Pod api-7d9f was OOMKilled" in timeline["text"]["text"]
    )


def test_slack_escapes_the_characters_of_its_markup() -> None:
    incident = make_incident(status={"message": "limit <512Mi> & rising"})

    message = slack_message(build_notice(incident, OPENED, now=NOW))

    assert message["text"].endswith("limit &lt;512Mi&gt; &amp; rising")
    assert "limit &lt;512Mi&gt; &amp; rising" in message["blocks"][1]["text"]["text"]


def test_slack_channel_override_is_sent_when_set() -> None:
    message = slack_message(build_notice(make_incident(), OPENED, now=NOW), channel="#oncall")

    assert message["channel"] == "#oncall"


def test_slack_blocks_stay_within_slack_limits_for_long_texts() -> None:
    long = "y" * 2048
    incident = make_incident(
        spec={"acknowledgedBy": "a" * 256},
        status={
            "message": long,
            "timeline": [{"time": "2026-12-03T10:00:00Z", "type": "Joined", "message": long}] * 5,
        },
    )

    blocks = slack_message(build_notice(incident, OPENED, now=NOW))["blocks"]

    assert len(blocks[0]["text"]["text"]) <= 150
    for block in blocks:
        if "text" in block and block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000


# --- Webhook -------------------------------------------------------------------------------------


def test_webhook_document_is_versioned_and_leaves_unset_fields_out() -> None:
    document = webhook_document(build_notice(make_incident(), ACTION_TAKEN, now=NOW))

    assert document["version"] == "v1"
    assert document["event"] == "ActionTaken"
    assert document["time"] == "2026-12-03T10:05:00Z"
    incident = document["incident"]
    assert incident["target"] == {"kind": "Deployment", "namespace": "shop", "name": "api"}
    assert incident["uid"] == UID
    assert incident["detectedAt"] == "2026-12-03T10:00:00Z"
    assert incident["actions"] == [
        {
            "step": "evict",
            "type": "EvictPod",
            "object": "Pod api-7d9f",
            "result": "Succeeded",
            "message": "Evicted",
            "startedAt": "2026-12-03T10:01:00Z",
            "endedAt": "2026-12-03T10:01:01Z",
        }
    ]
    assert "acknowledgedBy" not in incident
    assert "resolvedAt" not in incident


# --- Whom to tell --------------------------------------------------------------------------------


SLACK_ALL = slack_receiver("slack-all", events=["Opened", "ActionTaken", "Escalated", "Resolved"])
SLACK_SEV1 = slack_receiver("slack-sev1", minSeverity="SEV1")
PAGER = pagerduty_receiver("pager", events=["Opened", "Resolved"])
PAGER_ON_ESCALATION = pagerduty_receiver("pager-escalation", events=[])
HOOK_RESOLVED = webhook_receiver("hook-resolved", events=["Resolved"])
ALL = (SLACK_ALL, SLACK_SEV1, PAGER, PAGER_ON_ESCALATION, HOOK_RESOLVED)


@pytest.mark.parametrize(
    ("event", "status", "expected"),
    [
        pytest.param(OPENED, {}, ["slack-all", "pager"], id="opened-to-subscribers-at-severity"),
        pytest.param(ACTION_TAKEN, {}, ["slack-all"], id="action-taken-to-its-subscribers"),
        pytest.param(
            ESCALATED,
            {"escalationLevel": 1},
            ["slack-all", "pager-escalation"],
            id="escalated-adds-escalation-receivers",
        ),
        pytest.param(
            ESCALATED,
            {"escalationLevel": 1, "severity": "SEV1"},
            ["slack-all", "slack-sev1", "pager-escalation"],
            id="raised-severity-reaches-stricter-receivers",
        ),
        pytest.param(
            RESOLVED,
            {},
            ["slack-all", "pager", "hook-resolved"],
            id="resolved-not-escalated-spares-escalation-receivers",
        ),
        pytest.param(
            RESOLVED,
            {"escalationLevel": 1},
            ["slack-all", "pager", "pager-escalation", "hook-resolved"],
            id="resolved-after-escalation-closes-the-page",
        ),
        pytest.param(ACKNOWLEDGED, {}, ["pager"], id="acknowledged-only-to-open-pagerduty"),
        pytest.param(
            ACKNOWLEDGED,
            {"escalationLevel": 2},
            ["pager", "pager-escalation"],
            id="acknowledged-after-escalation-to-the-paged",
        ),
    ],
)
def test_receivers_for_respect_events_severity_and_escalation(
    event: NoticeEvent, status: dict[str, Any], expected: list[str]
) -> None:
    policy = policy_with(*ALL, escalation=["pager-escalation"])
    notice = build_notice(make_incident(status=status), event, now=NOW)

    assert [r.name for r in receivers_for(policy, notice)] == expected


def test_escalation_receivers_still_respect_their_minimum_severity() -> None:
    policy = policy_with(SLACK_SEV1, escalation=["slack-sev1"])
    notice = build_notice(make_incident(status={"escalationLevel": 1}), ESCALATED, now=NOW)

    assert receivers_for(policy, notice) == []


# --- Sending once --------------------------------------------------------------------------------


def test_notification_keys_tell_receivers_events_and_occurrences_apart() -> None:
    incident = make_incident()
    reopened = make_incident(status={"reopened": 1})
    keys = {
        notification_key(PAGER, OPENED, incident),
        notification_key(SLACK_ALL, OPENED, incident),
        notification_key(PAGER, RESOLVED, incident),
        notification_key(PAGER, OPENED, reopened),
    }

    assert len(keys) == 4
    assert notification_key(PAGER, OPENED, incident) == f"pager/Opened/{UID}/1"


@pytest.mark.parametrize(
    ("event", "first", "second"),
    [
        pytest.param(ACTION_TAKEN, {"actionCount": 1}, {"actionCount": 2}, id="each-action"),
        pytest.param(
            ESCALATED, {"escalationLevel": 1}, {"escalationLevel": 2}, id="each-escalation"
        ),
    ],
)
def test_repeated_events_of_one_occurrence_get_their_own_keys(
    event: NoticeEvent, first: dict[str, Any], second: dict[str, Any]
) -> None:
    one = notification_key(SLACK_ALL, event, make_incident(status=first))
    two = notification_key(SLACK_ALL, event, make_incident(status=second))

    assert one != two


def test_notification_key_fits_the_record_for_the_longest_names() -> None:
    receiver = slack_receiver("r" * 63)

    key = notification_key(receiver, ACTION_TAKEN, make_incident(status={"actionCount": 99999}))

    assert len(key) <= 160
    NotificationRecord(receiver="r", event="ActionTaken", key=key, sent_at=NOW, result="Delivered")


def a_record(key: str) -> NotificationRecord:
    return notification_record(
        PAGER, OPENED, key=key, delivered=True, message="Delivered to pager", now=NOW
    )


def test_a_recorded_key_is_already_sent() -> None:
    status = IncidentStatus(notifications=[a_record("pager/Opened/u/1")])

    assert is_already_sent(status, "pager/Opened/u/1")
    assert not is_already_sent(status, "pager/Resolved/u/1")


def test_record_keeps_the_newest_within_the_limit() -> None:
    records = [a_record(f"k{i}") for i in range(NOTIFICATIONS_LIMIT)]

    kept = record(records, a_record("new"))

    assert len(kept) == NOTIFICATIONS_LIMIT
    assert kept[0].key == "k1"
    assert kept[-1].key == "new"
    assert len(records) == NOTIFICATIONS_LIMIT  # the input is left alone


def test_record_replaces_the_record_of_the_same_key() -> None:
    failed = notification_record(
        PAGER, OPENED, key="k", delivered=False, message="HTTP 500", now=NOW
    )

    kept = record([failed, a_record("other")], a_record("k"))

    assert [(r.key, r.result) for r in kept] == [("other", "Delivered"), ("k", "Delivered")]


def test_notices_module_imports_no_io_library() -> None:
    code = (
        "import sys, kubemedic.domain.notices; "
        "print(sorted(m for m in ('kopf', 'kubernetes', 'httpx', 'prometheus_api_client') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    assert loaded.strip() == "[]"
