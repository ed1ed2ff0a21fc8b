"""The models alone: defaults, validation, severities and round trips."""

from __future__ import annotations

import datetime
from typing import Any

import pydantic
import pytest

from kubemedic.api.common import Severity
from kubemedic.api.incidents import Incident, IncidentStatus, Phase
from kubemedic.api.policies import (
    ActionType,
    Comparator,
    Mode,
    NoDataPolicy,
    PrometheusTrigger,
    RemediationPolicy,
    RemediationPolicySpec,
    ScaleAction,
    WorkloadKind,
)

from .policies_table import INVALID_POLICIES, Breakage, valid_policy


def minimal_spec() -> dict[str, Any]:
    return {
        "triggers": [
            {"name": "oom", "type": "PodFailure", "podFailure": {"reasons": ["OOMKilled"]}}
        ]
    }


def test_minimal_policy_gets_safe_defaults() -> None:
    spec = RemediationPolicySpec.from_wire(minimal_spec())

    assert spec.severity is Severity.SEV3
    assert spec.actions == []
    assert spec.paused is False
    assert spec.selector.kinds == list(WorkloadKind)
    assert spec.safety.mode is Mode.ENFORCE
    assert spec.safety.cooldown_seconds == 60
    assert spec.safety.max_unavailable_percent == 25
    assert spec.safety.storm_threshold_percent == 50
    assert spec.closing.stabilization_seconds == 120
    assert spec.notifications.receivers == []


def test_prometheus_trigger_defaults_to_failing_upwards_and_inconclusive_without_data() -> None:
    trigger = PrometheusTrigger.from_wire({"query": "up", "threshold": 1})

    assert trigger.comparator is Comparator.GREATER_THAN
    assert trigger.on_no_data is NoDataPolicy.INCONCLUSIVE
    assert trigger.resolve_threshold is None
    assert trigger.for_seconds == 0
    assert trigger.target_labels.name_label == "deployment"
    assert trigger.target_labels.namespace_label == "namespace"


def test_scale_min_replicas_defaults_to_one() -> None:
    scale = ScaleAction.from_wire({"replicasStep": 2, "maxReplicas": 3})

    assert scale.min_replicas == 1


def test_valid_policy_of_the_table_is_valid() -> None:
    policy = RemediationPolicy.from_wire(valid_policy())

    assert [t.name for t in policy.spec.triggers] == ["oom", "errors"]
    assert [a.type for a in policy.spec.actions] == [ActionType.EVICT_POD, ActionType.SCALE]


@pytest.mark.parametrize("breakage", INVALID_POLICIES)
def test_invalid_policy_is_rejected_by_the_model(breakage: Breakage) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        RemediationPolicy.from_wire(breakage.apply(valid_policy()))

    assert breakage.model_hint in str(info.value) + "\n"


@pytest.mark.parametrize(
    ("comparator", "threshold", "resolve_threshold"),
    [
        pytest.param("GreaterThan", 5, 3, id="greater-than-resolves-below"),
        pytest.param("GreaterOrEqual", 5, 5, id="greater-or-equal-resolves-at"),
        pytest.param("LessThan", 5, 7, id="less-than-resolves-above"),
        pytest.param("LessOrEqual", 5, 5, id="less-or-equal-resolves-at"),
    ],
)
def test_resolve_threshold_on_the_healthy_side_is_accepted(
    comparator: str, threshold: float, resolve_threshold: float
) -> None:
    trigger = PrometheusTrigger.from_wire(
        {
            "query": "up",
            "comparator": comparator,
            "threshold": threshold,
            "resolveThreshold": resolve_threshold,
        }
    )

    assert trigger.resolve_threshold == resolve_threshold


@pytest.mark.parametrize(
    ("severity", "raised"),
    [
        pytest.param(Severity.SEV4, Severity.SEV3, id="sev4-to-sev3"),
        pytest.param(Severity.SEV3, Severity.SEV2, id="sev3-to-sev2"),
        pytest.param(Severity.SEV2, Severity.SEV1, id="sev2-to-sev1"),
        pytest.param(Severity.SEV1, Severity.SEV1, id="sev1-stays"),
    ],
)
def test_raising_a_severity_makes_it_one_level_worse_but_never_past_sev1(
    severity: Severity, raised: Severity
) -> None:
    assert severity.raised() is raised


def test_severity_ranks_sev1_as_the_worst() -> None:
    assert Severity.SEV1.is_at_least(Severity.SEV2)
    assert Severity.SEV2.is_at_least(Severity.SEV2)
    assert not Severity.SEV3.is_at_least(Severity.SEV2)


def test_policy_manifest_round_trips_without_defaults() -> None:
    manifest = valid_policy()

    policy = RemediationPolicy.from_wire(manifest)

    assert policy.to_manifest() == manifest
    assert RemediationPolicy.from_wire(policy.to_wire()) == policy


def test_wire_form_is_camel_case_and_carries_the_defaults() -> None:
    wire = RemediationPolicy.from_wire(valid_policy()).to_wire()

    assert wire["spec"]["safety"]["maxUnavailablePercent"] == 25
    assert wire["spec"]["triggers"][1]["prometheus"]["onNoData"] == "Inconclusive"
    receiver = wire["spec"]["notifications"]["receivers"][0]
    assert receiver["webhook"]["urlSecretRef"] == {"name": "receivers", "key": "url"}


def test_slack_secret_ref_keeps_its_url_spelling() -> None:
    spec = minimal_spec() | {
        "notifications": {
            "receivers": [
                {
                    "name": "team",
                    "type": "Slack",
                    "slack": {"webhookURLSecretRef": {"name": "receivers", "key": "slack"}},
                }
            ]
        }
    }

    wire = RemediationPolicySpec.from_wire(spec).to_wire()

    assert "webhookURLSecretRef" in wire["notifications"]["receivers"][0]["slack"]


def test_incident_round_trips_with_its_status() -> None:
    detected = datetime.datetime(2026, 12, 3, 9, 30, tzinfo=datetime.UTC)
    manifest = {
        "apiVersion": "kubemedic.io/v1alpha1",
        "kind": "Incident",
        "metadata": {"name": "web-oom-x1"},
        "spec": {
            "policyRef": {"name": "web"},
            "target": {"kind": "Deployment", "namespace": "shop", "name": "web"},
            "trigger": "oom",
            "severity": "SEV3",
            "fingerprint": "web/oom/Deployment/web",
        },
        "status": {
            "phase": "Remediating",
            "severity": "SEV2",
            "detectedAt": "2026-12-03T09:30:00Z",
            "actions": [
                {
                    "key": "web-oom-x1/evict/1",
                    "step": "evict",
                    "type": "EvictPod",
                    "startedAt": "2026-12-03T09:30:00Z",
                    "result": "Pending",
                }
            ],
        },
    }

    incident = Incident.from_wire(manifest)

    assert incident.status.phase is Phase.REMEDIATING
    assert incident.status.detected_at == detected
    assert Incident.from_wire(incident.to_wire()) == incident


def test_new_incident_status_starts_detected_with_nothing_counted() -> None:
    status = IncidentStatus()

    assert status.phase is Phase.DETECTED
    assert status.occurrences == 0
    assert status.action_count == 0
    assert status.timeline == []
