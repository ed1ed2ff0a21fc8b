"""Delivering notices over HTTP, to a real receiver on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest

from kubemedic.api.policies import NotificationEvent, Receiver
from kubemedic.clients.notifying import Notifier, Retries
from kubemedic.domain.notices import (
    build_notice,
    notification_key,
    pagerduty_event,
    slack_message,
    webhook_document,
)

from .conftest import AUTHORIZATION, ROUTING_KEY, SLACK_PATH
from .examples import (
    NOW,
    InMemorySecrets,
    make_incident,
    pagerduty_receiver,
    slack_receiver,
    webhook_receiver,
)
from .receivers import RecordingReceiver, Reply

OPENED = NotificationEvent.OPENED
NOTICE = build_notice(make_incident(), OPENED, now=NOW)
PAGERDUTY_ACCEPTED = Reply(202, '{"status": "success", "message": "Event processed"}')


def pagerduty_at(receiver: RecordingReceiver) -> Receiver:
    return pagerduty_receiver(
        pagerDuty={
            "routingKeySecretRef": {"name": "pagerduty", "key": "routing-key"},
            "url": f"{receiver.url}/v2/enqueue",
        }
    )


def webhook_at(receiver: RecordingReceiver, *, authorized: bool = True) -> Receiver:
    webhook: dict[str, Any] = {"url": f"{receiver.url}/hooks/kubemedic"}
    if authorized:
        webhook["authorizationSecretRef"] = {"name": "hook", "key": "authorization"}
    return webhook_receiver(webhook=webhook)


# --- What arrives --------------------------------------------------------------------------------


async def test_slack_gets_the_message_at_the_webhook_url_from_its_secret(
    notifier: Notifier, receiver: RecordingReceiver
) -> None:
    slack = slack_receiver(
        slack={"webhookURLSecretRef": {"name": "slack", "key": "url"}, "channel": "#oncall"}
    )

    result = await notifier.deliver(slack, NOTICE, namespace="shop")

    assert result.delivered, result.message
    assert result.message == "Delivered to Slack receiver team-slack at 127.0.0.1"
    [request] = receiver.requests
    assert request.path == SLACK_PATH
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("kubemedic/")
    assert request.json() == slack_message(NOTICE, channel="#oncall")


async def test_pagerduty_gets_the_event_with_the_routing_key_from_its_secret(
    notifier: Notifier, receiver: RecordingReceiver
) -> None:
    receiver.answer(PAGERDUTY_ACCEPTED)

    result = await notifier.deliver(pagerduty_at(receiver), NOTICE, namespace="shop")

    assert result.delivered, result.message
    [request] = receiver.requests
    assert request.path == "/v2/enqueue"
    assert request.json() == pagerduty_event(NOTICE, routing_key=ROUTING_KEY)
    assert request.json()["event_action"] == "trigger"


async def test_pagerduty_resolve_arrives_with_the_dedup_key_of_the_trigger(
    notifier: Notifier, receiver: RecordingReceiver
) -> None:
    receiver.answer(PAGERDUTY_ACCEPTED, PAGERDUTY_ACCEPTED)
    resolved = build_notice(
        make_incident(status={"phase": "Resolved"}), NotificationEvent.RESOLVED, now=NOW
    )

    await notifier.deliver(pagerduty_at(receiver), NOTICE, namespace="shop")
    await notifier.deliver(pagerduty_at(receiver), resolved, namespace="shop")

    trigger, resolve = (request.json() for request in receiver.requests)
    assert resolve == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": trigger["dedup_key"],
    }


async def test_webhook_gets_the_document_with_authorization_and_idempotency_key(
    notifier: Notifier, receiver: RecordingReceiver
) -> None:
    hook = webhook_at(receiver)
    key = notification_key(hook, OPENED, make_incident())

    result = await notifier.deliver(hook, NOTICE, namespace="shop", key=key)

    assert result.delivered, result.message
    [request] = receiver.requests
    assert request.path == "/hooks/kubemedic"
    assert request.headers["authorization"] == AUTHORIZATION
    assert request.headers["idempotency-key"] == key
    assert request.headers["x-kubemedic-event"] == "Opened"
    assert request.json() == webhook_document(NOTICE)


async def test_webhook_without_authorization_sends_no_authorization_header(
    notifier: Notifier, receiver: RecordingReceiver
) -> None:
    result = await notifier.deliver(
        webhook_at(receiver, authorized=False), NOTICE, namespace="shop"
    )

    assert result.delivered, result.message
    [request] = receiver.requests
    assert "authorization" not in request.headers
    assert "idempotency-key" not in request.headers


async def test_webhook_url_may_come_from_a_secret(
    notifier: Notifier, receiver: RecordingReceiver
) -> None:
    hook = webhook_receiver(webhook={"urlSecretRef": {"name": "hook", "key": "url"}})

    result = await notifier.deliver(hook, NOTICE, namespace="shop")

    assert result.delivered, result.message
    assert [request.path for request in receiver.requests] == ["/hooks/kubemedic"]


# --- Retries -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failures",
    [
        pytest.param([Reply(500, "rollup_error")], id="500"),
        pytest.param([Reply(502), Reply(503)], id="502-then-503"),
        pytest.param([Reply(429)], id="429-without-retry-after"),
    ],
)
async def test_server_errors_and_rate_limits_are_retried_until_delivered(
    notifier: Notifier, receiver: RecordingReceiver, failures: list[Reply]
) -> None:
    receiver.answer(*failures, PAGERDUTY_ACCEPTED)

    result = await notifier.deliver(pagerduty_at(receiver), NOTICE, namespace="shop")

    assert result.delivered, result.message
    bodies = [request.json() for request in receiver.requests]
    assert len(bodies) == len(failures) + 1
    assert all(body == bodies[0] for body in bodies)


async def test_rate_limit_waits_as_long_as_retry_after_says(
    notifier: Notifier, receiver: RecordingReceiver
) -> None:
    receiver.answer(Reply(429, "rate_limited", {"Retry-After": "1"}), Reply(200, "ok"))
    started = time.monotonic()

    result = await notifier.deliver(slack_receiver(), NOTICE, namespace="shop")

    assert result.delivered, result.message
    assert time.monotonic() - started >= 1.0
    assert len(receiver.requests) == 2


async def test_retry_after_longer_than_the_notifier_waits_is_left_to_the_caller(
    notifier: Notifier, receiver: RecordingReceiver
) -> None:
    receiver.answer(Reply(429, "rate_limited", {"Retry-After": "120"}))

    result = await notifier.deliver(slack_receiver(), NOTICE, namespace="shop")

    assert not result.delivered
    assert result.retry_after == 120
    assert "HTTP 429" in result.message
    assert len(receiver.requests) == 1


async def test_server_errors_give_up_after_the_attempts_and_ask_to_retry_later(
    notifier: Notifier, receiver: RecordingReceiver
) -> None:
    receiver.answer(Reply(500), Reply(500), Reply(503, "down for maintenance"))

    result = await notifier.deliver(webhook_at(receiver), NOTICE, namespace="shop")

    assert not result.delivered
    assert result.retry_after is not None
    assert "HTTP 503: down for maintenance" in result.message
    assert len(receiver.requests) == 3


@pytest.mark.parametrize(
    ("reply", "advice"),
    [
        pytest.param(Reply(400, "invalid_payload"), "rejected the notification", id="400"),
        pytest.param(Reply(403, "action_prohibited"), "refused the credentials", id="403"),
        pytest.param(Reply(404, "no_service"), "create a new one", id="404"),
        pytest.param(Reply(410, "channel_is_archived"), "create a new one", id="410"),
    ],
)
async def test_client_errors_are_not_retried_and_say_what_to_fix(
    notifier: Notifier, receiver: RecordingReceiver, reply: Reply, advice: str
) -> None:
    receiver.answer(reply)

    result = await notifier.deliver(slack_receiver(), NOTICE, namespace="shop")

    assert not result.delivered
    assert result.retry_after is None
    assert f"answered HTTP {reply.status}: {reply.body}" in result.message
    assert advice in result.message
    assert len(receiver.requests) == 1


async def test_connection_refused_is_reported_clearly(secrets: InMemorySecrets) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    hook = webhook_receiver(webhook={"url": f"http://127.0.0.1:{closed_port}/hook"})
    retries = Retries(attempts=2, backoff_seconds=0.01)

    async with Notifier(secrets, retries=retries) as notifier:
        result = await notifier.deliver(hook, NOTICE, namespace="shop")

    assert not result.delivered
    assert result.retry_after is not None
    assert result.message.startswith("Could not connect to Webhook receiver hook at 127.0.0.1")
    assert "reachable from the operator" in result.message


# --- Secrets -------------------------------------------------------------------------------------


async def test_missing_secret_is_reported_and_nothing_is_sent(
    receiver: RecordingReceiver,
) -> None:
    async with Notifier(InMemorySecrets({})) as notifier:
        result = await notifier.deliver(slack_receiver(), NOTICE, namespace="shop")

    assert not result.delivered
    assert result.retry_after is None
    assert result.message == (
        "Slack receiver team-slack: Secret shop/slack has no key url; create it"
    )
    assert receiver.requests == []


async def test_secret_that_holds_no_url_is_refused(receiver: RecordingReceiver) -> None:
    secrets = InMemorySecrets({("shop", "slack", "url"): "hooks.slack.com/services/x"})

    async with Notifier(secrets) as notifier:
        result = await notifier.deliver(slack_receiver(), NOTICE, namespace="shop")

    assert not result.delivered
    assert "Key url of Secret shop/slack does not hold an http(s) URL" in result.message
    assert "hooks.slack.com" not in result.message
    assert receiver.requests == []


async def test_secret_values_appear_in_no_log_and_no_message(
    notifier: Notifier, receiver: RecordingReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    # Each receiver echoes its own credentials back, as a careless one might.
    token = SLACK_PATH.rsplit("/", 1)[-1]
    slack_url = f"{receiver.url}{SLACK_PATH}"
    receiver.answer(
        Reply(500, f"rollup_error {slack_url}"),
        Reply(404, f"no_service {token}"),
        Reply(400, f"invalid routing_key {ROUTING_KEY}"),
        Reply(401, f"unauthorized: {AUTHORIZATION}"),
    )
    caplog.set_level(logging.DEBUG, logger="kubemedic")

    results = [
        await notifier.deliver(slack_receiver(), NOTICE, namespace="shop"),
        await notifier.deliver(pagerduty_at(receiver), NOTICE, namespace="shop"),
        await notifier.deliver(webhook_at(receiver), NOTICE, namespace="shop"),
    ]

    shown = caplog.text + "\n".join(result.message for result in results)
    assert not any(result.delivered for result in results)
    assert shown.count("<secret>") >= 4
    for secret in (token, ROUTING_KEY, AUTHORIZATION.split()[-1]):
        assert secret not in shown


async def test_notifier_logs_before_sending_naming_the_incident_and_receiver(
    notifier: Notifier, receiver: RecordingReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kubemedic")

    await notifier.deliver(slack_receiver(), NOTICE, namespace="shop")

    assert (
        "Sending Opened of Incident shop/oom-api-x1 to Slack receiver team-slack at 127.0.0.1"
        in caplog.messages
    )


async def test_url_that_cannot_be_parsed_is_refused_without_retries(
    secrets: InMemorySecrets,
) -> None:
    secrets.values[("shop", "hook", "url")] = "https://[::1"
    hook = webhook_receiver(webhook={"urlSecretRef": {"name": "hook", "key": "url"}})

    async with Notifier(secrets) as notifier:
        result = await notifier.deliver(hook, NOTICE, namespace="shop")

    assert not result.delivered
    assert result.retry_after is None
    assert result.message == (
        "Could not send to Webhook receiver hook at an invalid URL: InvalidURL; check its URL"
    )
