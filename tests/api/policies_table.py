"""A valid policy and a table of broken ones, shared by model and admission tests.

Each broken policy changes one thing in ``valid_policy()`` and says which
field the API server must name in its rejection (``field``, as the server
writes paths) and what pydantic's error must contain (``model``, defaulting
to the same path in pydantic's dotted form).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import pytest

DELETE = object()


def valid_policy(name: str = "web") -> dict[str, Any]:
    """A policy using most blocks, accepted by both the models and the CRD."""
    return {
        "apiVersion": "kubemedic.io/v1alpha1",
        "kind": "RemediationPolicy",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "triggers": [
                {"name": "oom", "type": "PodFailure", "podFailure": {"reasons": ["OOMKilled"]}},
                {
                    "name": "errors",
                    "type": "PrometheusQuery",
                    "prometheus": {"query": "rate(errors_total[1m])", "threshold": 0.05},
                },
            ],
            "actions": [
                {"name": "evict", "type": "EvictPod"},
                {"name": "scale", "type": "Scale", "scale": {"replicasStep": 1, "maxReplicas": 5}},
            ],
            "safety": {"mode": "Enforce"},
            "escalation": {"receivers": ["oncall"]},
            "notifications": {
                "receivers": [
                    {
                        "name": "oncall",
                        "type": "Webhook",
                        "webhook": {"urlSecretRef": {"name": "receivers", "key": "url"}},
                    }
                ]
            },
        },
    }


@dataclass(frozen=True)
class Breakage:
    """What to change in a valid policy's spec, and how the rejection reads."""

    changes: dict[str, Any]
    field: str
    model: str | None = None

    def apply(self, policy: dict[str, Any]) -> dict[str, Any]:
        """A deep copy of ``policy`` with the changes made (paths relative to spec)."""
        broken = copy.deepcopy(policy)
        for path, value in self.changes.items():
            *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
            node = broken["spec"]
            for part in parents:
                node = node[part]
            if value is DELETE:
                del node[last]
            else:
                node[last] = copy.deepcopy(value)
        return broken

    @property
    def model_hint(self) -> str:
        """What pydantic's error message must contain."""
        return self.model or re.sub(r"\[(\d+)\]", r".\1", self.field)


def _trigger(i: int) -> dict[str, Any]:
    return {"name": f"t{i}", "type": "PodFailure", "podFailure": {"reasons": ["Error"]}}


def _action(i: int) -> dict[str, Any]:
    return {"name": f"a{i}", "type": "NotifyOnly"}


LEAK = {"name": "leak", "type": "MemoryTrend", "memoryTrend": {"risingSharePercent": 150}}
SLACK_INLINE = {
    "name": "oncall",
    "type": "Slack",
    "slack": {"webhookURL": "https://hooks.slack.com/services/T0/B0/secret"},
}
PAGERDUTY_INLINE = {
    "name": "oncall",
    "type": "PagerDuty",
    "pagerDuty": {
        "routingKey": "0123456789abcdef",
        "routingKeySecretRef": {"name": "receivers", "key": "pd"},
    },
}
TWO_URLS = {
    "name": "oncall",
    "type": "Webhook",
    "webhook": {"url": "https://example.com/hook", "urlSecretRef": {"name": "r", "key": "url"}},
}

# fmt: off
INVALID_POLICIES = [
    # Wrong types and unknown fields.
    pytest.param(Breakage({"triggers.1.prometheus.threshold": "high"},
                          "spec.triggers[1].prometheus.threshold"), id="threshold-not-a-number"),
    pytest.param(Breakage({"paused": "yes"}, "spec.paused"), id="paused-not-a-boolean"),
    pytest.param(Breakage({"safety.cooldownSeconds": "5m"}, "spec.safety.cooldownSeconds"),
                 id="duration-as-a-string"),
    pytest.param(Breakage({"dryRun": True}, "spec.dryRun"), id="unknown-spec-field"),
    pytest.param(Breakage({"notifications.receivers.0": SLACK_INLINE},
                          "spec.notifications.receivers[0].slack.webhookURL"),
                 id="slack-url-inline-instead-of-secret-ref"),
    pytest.param(Breakage({"notifications.receivers.0": PAGERDUTY_INLINE},
                          "spec.notifications.receivers[0].pagerDuty.routingKey"),
                 id="pagerduty-key-inline-instead-of-secret-ref"),
    # Enums.
    pytest.param(Breakage({"actions.0.type": "Reboot"}, "spec.actions[0].type"),
                 id="unknown-action-type"),
    pytest.param(Breakage({"severity": "SEV5"}, "spec.severity"), id="unknown-severity"),
    pytest.param(Breakage({"triggers.0.podFailure.reasons": ["Sad"]},
                          "spec.triggers[0].podFailure.reasons[0]"), id="unknown-failure-reason"),
    pytest.param(Breakage({"triggers.1.prometheus.onNoData": "Panic"},
                          "spec.triggers[1].prometheus.onNoData"), id="unknown-on-no-data"),
    pytest.param(Breakage({"selector.kinds": ["Job"]}, "spec.selector.kinds[0]"),
                 id="unknown-workload-kind"),
    pytest.param(Breakage({"safety.mode": "Yolo"}, "spec.safety.mode"), id="unknown-mode"),
    # Ranges.
    pytest.param(Breakage({"safety.maxUnavailablePercent": 101},
                          "spec.safety.maxUnavailablePercent"), id="percent-above-100"),
    pytest.param(Breakage({"safety.stormThresholdPercent": -1},
                          "spec.safety.stormThresholdPercent"), id="percent-below-0"),
    pytest.param(Breakage({"triggers.0": LEAK}, "spec.triggers[0].memoryTrend.risingSharePercent"),
                 id="rising-share-above-100"),
    pytest.param(Breakage({"safety.cooldownSeconds": -5}, "spec.safety.cooldownSeconds"),
                 id="negative-seconds"),
    pytest.param(Breakage({"triggers.1.prometheus.evaluationIntervalSeconds": 0},
                          "spec.triggers[1].prometheus.evaluationIntervalSeconds"),
                 id="zero-evaluation-interval"),
    pytest.param(Breakage({"safety.maxConcurrent": 0}, "spec.safety.maxConcurrent"),
                 id="zero-concurrency"),
    pytest.param(Breakage({"actions.0.verification": {"timeoutSeconds": 0}},
                          "spec.actions[0].verification.timeoutSeconds"),
                 id="zero-verification-timeout"),
    # Sizes.
    pytest.param(Breakage({"triggers.1.prometheus.query": "x" * 4097},
                          "spec.triggers[1].prometheus.query"), id="oversized-query"),
    pytest.param(Breakage({"selector.matchLabels": {"app": "w" * 64}},
                          "spec.selector.matchLabels.app"), id="oversized-label-value"),
    pytest.param(Breakage({"triggers.0.name": "n" * 64}, "spec.triggers[0].name"),
                 id="oversized-name"),
    pytest.param(Breakage({"triggers.0.name": "Not_OK"}, "spec.triggers[0].name"),
                 id="name-not-a-dns-label"),
    pytest.param(Breakage({"triggers": [_trigger(i) for i in range(17)]}, "spec.triggers"),
                 id="too-many-triggers"),
    pytest.param(Breakage({"actions": [_action(i) for i in range(17)]}, "spec.actions"),
                 id="too-many-actions"),
    pytest.param(Breakage({"triggers": []}, "spec.triggers"), id="no-triggers"),
    # Required fields and blocks.
    pytest.param(Breakage({"triggers.1.prometheus.query": DELETE},
                          "spec.triggers[1].prometheus.query"),
                 id="prometheus-trigger-without-query"),
    pytest.param(Breakage({"triggers.1.prometheus": DELETE}, "spec.triggers[1].prometheus",
                          model="spec.triggers.1\n"), id="prometheus-trigger-without-block"),
    pytest.param(Breakage({"triggers.0.type": "MemoryTrend"}, "spec.triggers[0].memoryTrend",
                          model="needs memoryTrend"), id="trigger-type-without-its-block"),
    pytest.param(Breakage({"triggers.0.prometheus": {"query": "up", "threshold": 1}},
                          "spec.triggers[0]", model="must not set prometheus"),
                 id="trigger-with-a-foreign-block"),
    pytest.param(Breakage({"triggers.0.podFailure": {}}, "spec.triggers[0].podFailure"),
                 id="pod-failure-without-a-signal"),
    pytest.param(Breakage({"actions.1.scale": DELETE}, "spec.actions[1].scale",
                          model="needs scale"), id="scale-action-without-scale"),
    pytest.param(Breakage({"actions.1.scale.replicasStep": DELETE}, "spec.actions[1].scale"),
                 id="scale-without-an-amount"),
    pytest.param(Breakage({"actions.0.rollback": {}}, "spec.actions[0]",
                          model="must not set rollback"), id="action-with-a-foreign-block"),
    pytest.param(Breakage({"triggers.0.name": DELETE}, "spec.triggers[0].name"),
                 id="trigger-without-a-name"),
    # Cross-field rules.
    pytest.param(Breakage({"actions.1.scale.minReplicas": 6}, "spec.actions[1].scale.minReplicas",
                          model="minReplicas (6) must not exceed maxReplicas (5)"),
                 id="min-replicas-above-max"),
    pytest.param(Breakage({"actions.1.scale.maxReplicas": 0}, "spec.actions[1].scale.maxReplicas"),
                 id="max-replicas-zero"),
    pytest.param(Breakage({"triggers.1.prometheus.resolveThreshold": 0.1},
                          "spec.triggers[1].prometheus.resolveThreshold",
                          model="resolveThreshold must not be above threshold"),
                 id="resolve-threshold-above-a-greater-than-threshold"),
    pytest.param(Breakage({"triggers.1.prometheus.comparator": "LessThan",
                           "triggers.1.prometheus.resolveThreshold": 0.01},
                          "spec.triggers[1].prometheus.resolveThreshold",
                          model="resolveThreshold must not be below threshold"),
                 id="resolve-threshold-below-a-less-than-threshold"),
    pytest.param(Breakage({"triggers.1.name": "oom"}, "spec.triggers[1]",
                          model="trigger name 'oom' is used twice"), id="duplicate-trigger-names"),
    pytest.param(Breakage({"actions.1.name": "evict"}, "spec.actions[1]",
                          model="action name 'evict' is used twice"), id="duplicate-action-names"),
    pytest.param(Breakage({"actions.0.triggers": ["nope"]}, "spec.actions",
                          model="action evict names unknown triggers nope"),
                 id="action-names-an-unknown-trigger"),
    pytest.param(Breakage({"escalation.receivers": ["nobody"]}, "spec.escalation.receivers",
                          model="escalation names unknown receivers nobody"),
                 id="escalation-names-an-unknown-receiver"),
    pytest.param(Breakage({"escalation.timeouts": [{"severity": "SEV1"}, {"severity": "SEV1"}]},
                          "spec.escalation.timeouts[1]",
                          model="timeout severity 'SEV1' is used twice"),
                 id="duplicate-escalation-severity"),
    pytest.param(Breakage({"notifications.receivers.0": TWO_URLS},
                          "spec.notifications.receivers[0].webhook",
                          model="exactly one of url and urlSecretRef"),
                 id="webhook-with-url-and-url-secret-ref"),
    pytest.param(Breakage({"notifications.receivers.0.webhook": {}},
                          "spec.notifications.receivers[0].webhook",
                          model="exactly one of url and urlSecretRef"),
                 id="webhook-without-a-url"),
    pytest.param(Breakage({"notifications.receivers.0.type": "Slack"},
                          "spec.notifications.receivers[0].slack", model="needs slack"),
                 id="receiver-type-without-its-block"),
]
# fmt: on
