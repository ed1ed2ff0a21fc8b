"""The CustomResourceDefinitions, generated from the models.

``kubemedic crds`` prints them; ``crds/`` holds the output, and a test fails
when the two differ, so the models stay the one source of truth.
"""

from __future__ import annotations

from typing import Any

import yaml

from kubemedic import GROUP, VERSION
from kubemedic.api import incidents, policies
from kubemedic.api.schemas import structural_schema

CATEGORY = "kubemedic"


def _condition_column(name: str, condition: str, *, priority: int = 0) -> dict[str, Any]:
    return {
        "name": name,
        "type": "string",
        "jsonPath": f'.status.conditions[?(@.type=="{condition}")].status',
        "priority": priority,
    }


def _crd(
    *,
    kind: str,
    plural: str,
    short_names: list[str],
    spec_model: type[Any],
    status_model: type[Any],
    columns: list[dict[str, Any]],
    description: str,
) -> dict[str, Any]:
    schema = {
        "type": "object",
        "description": description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": structural_schema(spec_model),
            "status": structural_schema(status_model),
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "labels": {"app.kubernetes.io/name": "kubemedic"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short_names,
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def policy_crd() -> dict[str, Any]:
    """The RemediationPolicy CRD."""
    return _crd(
        kind=policies.KIND,
        plural=policies.PLURAL,
        short_names=["rpol"],
        spec_model=policies.RemediationPolicySpec,
        status_model=policies.RemediationPolicyStatus,
        description="RemediationPolicy declares what to watch, what to do about failures, and the "
        "safety rails of doing it, for workloads of its namespace.",
        columns=[
            {"name": "Mode", "type": "string", "jsonPath": ".status.mode"},
            _condition_column("Ready", "Ready"),
            _condition_column("Allowed", "RemediationAllowed"),
            {"name": "Open", "type": "integer", "jsonPath": ".status.openIncidents"},
            {"name": "Actions/1h", "type": "integer", "jsonPath": ".status.actionsLastHour"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            {
                "name": "Targets",
                "type": "integer",
                "jsonPath": ".status.targets",
                "priority": 1,
            },
            {
                "name": "Reason",
                "type": "string",
                "jsonPath": '.status.conditions[?(@.type=="RemediationAllowed")].reason',
                "priority": 1,
            },
        ],
    )


def incident_crd() -> dict[str, Any]:
    """The Incident CRD."""
    return _crd(
        kind=incidents.KIND,
        plural=incidents.PLURAL,
        short_names=["inc"],
        spec_model=incidents.IncidentSpec,
        status_model=incidents.IncidentStatus,
        description="Incident records one failure of one target: its severity, lifecycle, "
        "timeline, the actions taken and their results.",
        columns=[
            {"name": "Sev", "type": "string", "jsonPath": ".status.severity"},
            {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
            {"name": "Target", "type": "string", "jsonPath": ".spec.target.name"},
            {"name": "Actions", "type": "integer", "jsonPath": ".status.actionCount"},
            {"name": "Ack", "type": "string", "jsonPath": ".spec.acknowledgedBy"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            {
                "name": "Kind",
                "type": "string",
                "jsonPath": ".spec.target.kind",
                "priority": 1,
            },
            {"name": "Policy", "type": "string", "jsonPath": ".spec.policyRef.name", "priority": 1},
            {"name": "Trigger", "type": "string", "jsonPath": ".spec.trigger", "priority": 1},
            {
                "name": "Occurrences",
                "type": "integer",
                "jsonPath": ".status.occurrences",
                "priority": 1,
            },
            {
                "name": "Escalation",
                "type": "integer",
                "jsonPath": ".status.escalationLevel",
                "priority": 1,
            },
            {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
        ],
    )


def all_crds() -> list[dict[str, Any]]:
    """Every CRD of kubemedic, in the order they are applied."""
    return [policy_crd(), incident_crd()]


def render_yaml(crd: dict[str, Any]) -> str:
    """One CRD as a YAML document, stable across runs."""
    return yaml.safe_dump(crd, sort_keys=False, width=100, allow_unicode=True)
