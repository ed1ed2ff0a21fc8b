"""Incidents, policies and Secrets that the notification tests share."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from kubemedic.api.common import SecretKeyRef
from kubemedic.api.incidents import Incident
from kubemedic.api.policies import Receiver, RemediationPolicySpec
from kubemedic.errors import NotFoundError

NOW = datetime.datetime(2026, 12, 3, 10, 5, tzinfo=datetime.UTC)
UID = "6f1c2d4e-0000-4a6b-9c1d-2e3f4a5b6c7d"


def make_incident(*, spec: Mapping[str, Any] = {}, status: Mapping[str, Any] = {}) -> Incident:
    """An OOM incident of Deployment shop/api, with `spec` and `status` merged in."""
    return Incident.from_wire(
        {
            "metadata": {
                "name": "oom-api-x1",
                "namespace": "shop",
                "uid": UID,
                "labels": {"team": "checkout"},
            },
            "spec": {
                "policyRef": {"name": "api"},
                "target": {"kind": "Deployment", "namespace": "shop", "name": "api"},
                "trigger": "oom",
                "severity": "SEV2",
                "fingerprint": "api/oom/Deployment/shop/api",
                **spec,
            },
            "status": {
                "phase": "Remediating",
                "detectedAt": "2026-12-03T10:00:00Z",
                "message": "Container api was OOMKilled 3 times in 10 minutes",
                "timeline": [
                    {
                        "time": "2026-12-03T10:00:00Z",
                        "type": "Detected",
                        "message": "Pod api-7d9f was OOMKilled",
                    },
                    {
                        "time": "2026-12-03T10:01:00Z",
                        "type": "ActionStarted",
                        "message": "Evicting Pod api-7d9f",
                    },
                ],
                "actions": [
                    {
                        "key": "a1",
                        "step": "evict",
                        "type": "EvictPod",
                        "object": "Pod api-7d9f",
                        "startedAt": "2026-12-03T10:01:00Z",
                        "endedAt": "2026-12-03T10:01:01Z",
                        "result": "Succeeded",
                        "message": "Evicted",
                    }
                ],
                "actionCount": 1,
                **status,
            },
        }
    )


def slack_receiver(name: str = "team-slack", **fields: Any) -> Receiver:
    return Receiver.from_wire(
        {
            "name": name,
            "type": "Slack",
            "slack": {"webhookURLSecretRef": {"name": "slack", "key": "url"}},
            **fields,
        }
    )


def pagerduty_receiver(name: str = "oncall", **fields: Any) -> Receiver:
    return Receiver.from_wire(
        {
            "name": name,
            "type": "PagerDuty",
            "pagerDuty": {"routingKeySecretRef": {"name": "pagerduty", "key": "routing-key"}},
            **fields,
        }
    )


def webhook_receiver(name: str = "hook", **fields: Any) -> Receiver:
    return Receiver.from_wire(
        {"name": name, "type": "Webhook", "webhook": {"url": "http://127.0.0.1:9/"}, **fields}
    )


def policy_with(*receivers: Receiver, escalation: list[str] | None = None) -> RemediationPolicySpec:
    return RemediationPolicySpec.from_wire(
        {
            "triggers": [
                {"name": "oom", "type": "PodFailure", "podFailure": {"reasons": ["OOMKilled"]}}
            ],
            "notifications": {"receivers": [r.to_wire() for r in receivers]},
            "escalation": {"receivers": escalation or []},
        }
    )


class InMemorySecrets:
    """A SecretResolver over a dict: (namespace, name, key) -> value."""

    def __init__(self, values: Mapping[tuple[str, str, str], str]) -> None:
        self.values = dict(values)
        self.reads: list[tuple[str, str, str]] = []

    async def read(self, namespace: str, ref: SecretKeyRef) -> str:
        self.reads.append((namespace, ref.name, ref.key))
        try:
            return self.values[(namespace, ref.name, ref.key)]
        except KeyError:
            raise NotFoundError(
                f"Secret {namespace}/{ref.name} has no key {ref.key}; create it"
            ) from None
