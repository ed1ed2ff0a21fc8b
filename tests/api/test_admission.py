"""The CRDs against the real API server: what it accepts, rejects and shows."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml
from kubernetes.client import ApiClient, CoreV1Api, CustomObjectsApi
from kubernetes.client.exceptions import ApiException

from kubemedic import GROUP, VERSION
from kubemedic.api.incidents import Incident
from kubemedic.api.policies import RemediationPolicy
from support.devclusters import DevCluster

from .policies_table import INVALID_POLICIES, Breakage, valid_policy

EXAMPLES_DIR = Path(__file__).parents[2] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("kubemedic_crds")]


def create_policy(kube_api: ApiClient, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    created: Any = CustomObjectsApi(kube_api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "remediationpolicies", body, field_validation="Strict"
    )
    return dict(created)


def test_valid_policy_is_accepted(kube_api: ApiClient, namespace: str) -> None:
    created = create_policy(kube_api, namespace, valid_policy())

    assert created["spec"] == valid_policy()["spec"]


@pytest.mark.parametrize("breakage", INVALID_POLICIES)
def test_invalid_policy_is_rejected_naming_the_field(
    kube_api: ApiClient, namespace: str, breakage: Breakage
) -> None:
    broken = breakage.apply(valid_policy())

    with pytest.raises(ApiException) as info:
        create_policy(kube_api, namespace, broken)

    assert info.value.status in (400, 422)
    assert breakage.field in json.loads(info.value.body or "{}")["message"]
    with pytest.raises(pydantic.ValidationError):
        RemediationPolicy.from_wire(broken)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_applies_and_reads_back_unchanged(
    kube_api: ApiClient, namespace: str, devcluster: DevCluster, path: Path
) -> None:
    manifest = yaml.safe_load(path.read_text())

    devcluster.kubectl(
        "apply", "--server-side", "--validate=strict", "-n", namespace, "-f", str(path)
    )

    if manifest["kind"] == "Secret":
        secret = CoreV1Api(kube_api).read_namespaced_secret(manifest["metadata"]["name"], namespace)
        assert set(secret.data or {}) == set(manifest["stringData"])
        return
    stored: Any = CustomObjectsApi(kube_api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "remediationpolicies", manifest["metadata"]["name"]
    )
    assert stored["spec"] == manifest["spec"]
    assert RemediationPolicy.from_wire(stored).to_manifest()["spec"] == manifest["spec"]


def retry(check: Callable[[], str], *, until: Callable[[str], bool], seconds: float = 20) -> str:
    """Run ``check`` until its output satisfies ``until`` (the API publishes lazily)."""
    deadline = time.monotonic() + seconds
    output = check()
    while not until(output) and time.monotonic() < deadline:
        time.sleep(0.5)
        output = check()
    return output


def test_get_inc_shows_the_on_call_columns(
    kube_api: ApiClient, namespace: str, devcluster: DevCluster
) -> None:
    objects = CustomObjectsApi(kube_api)
    incident = Incident.from_wire(
        {
            "metadata": {"name": "web-oom-x1"},
            "spec": {
                "policyRef": {"name": "web"},
                "target": {"kind": "Deployment", "namespace": namespace, "name": "web"},
                "trigger": "oom",
                "severity": "SEV3",
                "fingerprint": "web/oom/deployment/web",
                "acknowledgedBy": "alice",
            },
        }
    )
    objects.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "incidents", incident.to_manifest(), field_validation="Strict"
    )

    # The operator writes status through the subresource; so does the test.
    status = {"phase": "Remediating", "severity": "SEV2", "actionCount": 2, "occurrences": 4}
    objects.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, "incidents", "web-oom-x1", {"status": status}
    )

    output = devcluster.kubectl("get", "inc", "-n", namespace).stdout
    header, row = (line.split() for line in output.strip().splitlines())
    assert header == ["NAME", "SEV", "PHASE", "TARGET", "ACTIONS", "ACK", "AGE"]
    assert row[:6] == ["web-oom-x1", "SEV2", "Remediating", "web", "2", "alice"]
    wide = devcluster.kubectl("get", "inc", "-n", namespace, "-o", "wide").stdout
    assert wide.split()[7:10] == ["KIND", "POLICY", "TRIGGER"]


def test_get_rpol_shows_the_on_call_columns(
    kube_api: ApiClient, namespace: str, devcluster: DevCluster
) -> None:
    objects = CustomObjectsApi(kube_api)
    create_policy(kube_api, namespace, valid_policy("web"))
    now = "2026-12-03T10:00:00Z"
    status = {
        "mode": "Enforce",
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "Watching", "lastTransitionTime": now},
            {
                "type": "RemediationAllowed",
                "status": "False",
                "reason": "CooldownActive",
                "lastTransitionTime": now,
            },
        ],
        "openIncidents": 2,
        "actionsLastHour": 3,
    }
    objects.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, "remediationpolicies", "web", {"status": status}
    )

    output = devcluster.kubectl("get", "rpol", "-n", namespace).stdout
    header, row = (line.split() for line in output.strip().splitlines())
    assert header == ["NAME", "MODE", "READY", "ALLOWED", "OPEN", "ACTIONS/1H", "AGE"]
    assert row[:6] == ["web", "Enforce", "True", "False", "2", "3"]
    wide = devcluster.kubectl("get", "rpol", "-n", namespace, "-o", "wide").stdout
    assert "CooldownActive" in wide


@pytest.mark.parametrize(
    ("field", "descriptions"),
    [
        pytest.param(
            "remediationpolicy.spec.triggers",
            ["the failure signals watched", "podFailure settings", "prometheus settings"],
            id="policy-triggers",
        ),
        pytest.param(
            "incident.status",
            ["the operator's record", "phase, for display", "timeline of the incident"],
            id="incident-status",
        ),
    ],
)
def test_kubectl_explain_prints_the_field_descriptions(
    devcluster: DevCluster, field: str, descriptions: list[str]
) -> None:
    def explain() -> str:
        result = devcluster.kubectl("explain", field, check=False)
        return " ".join((result.stdout + result.stderr).split())

    output = retry(explain, until=lambda out: all(d in out for d in descriptions))

    assert [d for d in descriptions if d not in output] == []
