"""Remediation end to end: the ladder, verification, escalation and the rails.

Each test runs the operator as a real process against the local control
plane; kwok plays the kubelet, so an evicted pod's replacement really is
created by its ReplicaSet and becomes Ready.
"""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import pytest
from kubernetes.client import (
    ApiClient,
    AppsV1Api,
    AutoscalingV2Api,
    BatchV1Api,
    CoreV1Api,
    PolicyV1Api,
)

from support.incidents import (
    create_policy,
    list_incidents,
    phase_of,
    timeline_types,
    wait_for,
    wait_for_incidents,
)
from support.operators import OperatorProcess, free_port
from support.workloads import (
    create_deployment,
    simulate_crash_loop,
    simulate_oom_kill,
    wait_for_rollout,
)

pytestmark = pytest.mark.cluster

FAST = {"cooldownSeconds": 0, "maxUnavailablePercent": 50, "stormThresholdPercent": 100}


def policy(
    name: str,
    *,
    app: str,
    actions: list[dict[str, Any]],
    reasons: tuple[str, ...] = ("OOMKilled",),
    safety: dict[str, Any] | None = None,
    stabilization: int = 4,
    **spec: Any,
) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": app}},
            "severity": "SEV3",
            "triggers": [
                {"name": "pods", "type": "PodFailure", "podFailure": {"reasons": list(reasons)}}
            ],
            "actions": actions,
            "safety": {**FAST, **(safety or {})},
            "closing": {"stabilizationSeconds": stabilization},
            **spec,
        },
    }


def pods_of(api: ApiClient, namespace: str, app: str) -> list[Any]:
    items = CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return sorted(
        (p for p in items if p.metadata.deletion_timestamp is None),
        key=lambda p: p.metadata.name,
    )


def the_incident(api: ApiClient, namespace: str) -> dict[str, Any]:
    items = list_incidents(api, namespace)
    assert len(items) == 1, [i["metadata"]["name"] for i in items]
    return items[0]


def wait_for_phase(api: ApiClient, namespace: str, phase: str, timeout: float) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        items = list_incidents(api, namespace)
        assert len(items) <= 1, [i["metadata"]["name"] for i in items]
        return items[0] if items and phase_of(items[0]) == phase else None

    result: dict[str, Any] = wait_for(probe, timeout=timeout, what=f"phase {phase}")
    return result


def actions_of(incident: dict[str, Any]) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = (incident.get("status") or {}).get("actions", [])
    return actions


def test_oom_incident_evicts_the_pod_and_resolves_once_the_replacement_is_ready(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "api", replicas=2)
    evict = {"name": "evict", "type": "EvictPod", "verification": {"timeoutSeconds": 30}}
    create_policy(kube_api, namespace, policy("oom", app="api", actions=[evict]))
    operator.start()
    victim = pods_of(kube_api, namespace, "api")[0]

    simulate_oom_kill(kube_api, namespace, victim.metadata.name)
    resolved = wait_for_phase(kube_api, namespace, "Resolved", timeout=60)

    # The pod is gone, its ReplicaSet replaced it, and the replacement is Ready.
    pods = pods_of(kube_api, namespace, "api")
    assert victim.metadata.uid not in {p.metadata.uid for p in pods}
    assert len(pods) == 2
    assert all(c.status == "True" for p in pods for c in p.status.conditions if c.type == "Ready")

    # The record: detect → evict → monitoring → resolved, with times, in order.
    [action] = actions_of(resolved)
    assert action["type"] == "EvictPod"
    assert action["result"] == "Succeeded"
    assert victim.metadata.name in action["object"]
    types = timeline_types(resolved)
    expected = ["Detected", "ActionStarted", "ActionSucceeded", "Monitoring", "Resolved"]
    positions = [types.index(t) for t in expected]
    assert positions == sorted(positions), types
    times = [e["time"] for e in resolved["status"]["timeline"]]
    assert times == sorted(times)
    status = resolved["status"]
    assert status["detectedAt"] <= status["mitigatedAt"] <= status["resolvedAt"]


def test_a_pdb_blocks_eviction_and_the_incident_escalates_without_looping(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "db", replicas=2)
    pdb: Any = {
        "metadata": {"name": "db"},
        "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "db"}}},
    }
    PolicyV1Api(kube_api).create_namespaced_pod_disruption_budget(namespace, pdb)
    evict = {"name": "evict", "type": "EvictPod", "verification": {"timeoutSeconds": 30}}
    create_policy(kube_api, namespace, policy("oom", app="db", actions=[evict]))
    operator.start()
    victim = pods_of(kube_api, namespace, "db")[0]

    simulate_oom_kill(kube_api, namespace, victim.metadata.name)
    escalated = wait_for_phase(kube_api, namespace, "Escalated", timeout=30)

    [action] = actions_of(escalated)
    assert action["result"] == "Blocked"
    assert "disruption budget" in action["message"]
    assert escalated["status"]["severity"] == "SEV2"
    assert escalated["status"]["escalationLevel"] == 1
    assert victim.metadata.uid in {p.metadata.uid for p in pods_of(kube_api, namespace, "db")}

    # Nothing loops: a while later there is still exactly one action.
    time.sleep(4)
    assert len(actions_of(the_incident(kube_api, namespace))) == 1


def roll_out_bad_revision(api: ApiClient, namespace: str, name: str) -> list[str]:
    """Update the Deployment to a new image and make its new pods crash-loop."""
    apps = AppsV1Api(api)
    patch: Any = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "image": "registry.invalid/kubemedic/demo-app:broken"}
                    ]
                }
            }
        }
    }
    apps.patch_namespaced_deployment(name, namespace, patch)
    wait_for_rollout(api, namespace, name)
    return [p.metadata.name for p in pods_of(api, namespace, name)]


def image_of(api: ApiClient, namespace: str, name: str) -> str:
    deployment = AppsV1Api(api).read_namespaced_deployment(name, namespace)
    image: str = deployment.spec.template.spec.containers[0].image
    return image


def test_a_crash_looping_rollout_is_rolled_back_and_the_incident_resolves(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "shop", replicas=2)
    original = image_of(kube_api, namespace, "shop")
    rollback = {
        "name": "rollback",
        "type": "Rollback",
        "rollback": {"onlyWithinSecondsOfRollout": 600},
        "verification": {"timeoutSeconds": 60},
    }
    create_policy(
        kube_api,
        namespace,
        policy("deploys", app="shop", actions=[rollback], reasons=("CrashLoopBackOff",)),
    )
    operator.start()

    for pod in roll_out_bad_revision(kube_api, namespace, "shop"):
        simulate_crash_loop(kube_api, namespace, pod)
    resolved = wait_for_phase(kube_api, namespace, "Resolved", timeout=60)

    assert image_of(kube_api, namespace, "shop") == original
    [action] = actions_of(resolved)
    assert (action["type"], action["result"]) == ("Rollback", "Succeeded")


def test_a_crash_loop_long_after_the_rollout_is_not_rolled_back(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "shop", replicas=1)
    rollback = {
        "name": "rollback",
        "type": "Rollback",
        "rollback": {"onlyWithinSecondsOfRollout": 2},
    }
    create_policy(
        kube_api,
        namespace,
        policy("deploys", app="shop", actions=[rollback], reasons=("CrashLoopBackOff",)),
    )
    pods = roll_out_bad_revision(kube_api, namespace, "shop")
    time.sleep(4)
    operator.start()

    for pod in pods:
        simulate_crash_loop(kube_api, namespace, pod)
    escalated = wait_for_phase(kube_api, namespace, "Escalated", timeout=30)

    [action] = actions_of(escalated)
    assert action["result"] == "Blocked"
    assert "onlyWithinSecondsOfRollout" in action["message"]
    assert image_of(kube_api, namespace, "shop").endswith(":broken")


def test_scale_raises_replicas_within_bounds(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "api", replicas=2)
    scale = {
        "name": "scale",
        "type": "Scale",
        "scale": {"replicasStep": 5, "minReplicas": 1, "maxReplicas": 4},
        "verification": {"timeoutSeconds": 60},
    }
    create_policy(kube_api, namespace, policy("load", app="api", actions=[scale]))
    operator.start()

    simulate_oom_kill(kube_api, namespace, pods_of(kube_api, namespace, "api")[0].metadata.name)
    wait_for(
        lambda: AppsV1Api(kube_api).read_namespaced_deployment("api", namespace).spec.replicas == 4,
        timeout=30,
        what="4 replicas (2 + 5, capped at maxReplicas 4)",
    )
    [action] = actions_of(wait_for_incidents(kube_api, namespace)[0])
    assert action["result"] in {"Succeeded", "Pending"}


def test_scale_with_an_hpa_raises_the_hpa_instead_of_replicas(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "api", replicas=2)
    hpa: Any = {
        "metadata": {"name": "api"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
            "minReplicas": 2,
            "maxReplicas": 3,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 80},
                    },
                }
            ],
        },
    }
    AutoscalingV2Api(kube_api).create_namespaced_horizontal_pod_autoscaler(namespace, hpa)
    scale = {
        "name": "scale",
        "type": "Scale",
        "scale": {"replicasStep": 2, "minReplicas": 1, "maxReplicas": 10},
        "verification": {"timeoutSeconds": 60},
    }
    create_policy(kube_api, namespace, policy("load", app="api", actions=[scale]))
    operator.start()

    simulate_oom_kill(kube_api, namespace, pods_of(kube_api, namespace, "api")[0].metadata.name)

    def hpa_raised() -> Any:
        current = AutoscalingV2Api(kube_api).read_namespaced_horizontal_pod_autoscaler(
            "api", namespace
        )
        return current if current.spec.min_replicas == 4 else None

    raised = wait_for(hpa_raised, timeout=30, what="the HPA's minReplicas raised to 4")
    assert raised.spec.max_replicas >= 4
    # The Deployment's replicas are the HPA's to set, not ours.
    assert AppsV1Api(kube_api).read_namespaced_deployment("api", namespace).spec.replicas == 2


def test_a_failing_ladder_escalates_with_severity_raised_and_stops_acting(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "web", replicas=1)
    steps = [
        {"name": "page", "type": "NotifyOnly", "verification": {"timeoutSeconds": 2}},
        {"name": "page-again", "type": "NotifyOnly", "verification": {"timeoutSeconds": 2}},
    ]
    create_policy(
        kube_api,
        namespace,
        policy("crashes", app="web", actions=steps, reasons=("CrashLoopBackOff",)),
    )
    operator.start()

    simulate_crash_loop(kube_api, namespace, pods_of(kube_api, namespace, "web")[0].metadata.name)
    escalated = wait_for_phase(kube_api, namespace, "Escalated", timeout=30)

    assert [a["step"] for a in actions_of(escalated)] == ["page", "page-again"]
    assert escalated["status"]["severity"] == "SEV2"
    assert escalated["spec"]["severity"] == "SEV3"
    assert timeline_types(escalated).count("VerificationFailed") == 2
    time.sleep(4)
    later = the_incident(kube_api, namespace)
    assert len(actions_of(later)) == 2
    assert phase_of(later) == "Escalated"


def test_dry_run_mutates_nothing_and_records_what_it_would_have_done(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "api", replicas=2)
    evict = {"name": "evict", "type": "EvictPod", "verification": {"timeoutSeconds": 2}}
    create_policy(
        kube_api,
        namespace,
        policy("oom", app="api", actions=[evict], safety={"mode": "DryRun"}, stabilization=600),
    )
    operator.start()
    before = {p.metadata.uid for p in pods_of(kube_api, namespace, "api")}
    victim = sorted(pods_of(kube_api, namespace, "api"), key=lambda p: p.metadata.name)[0]

    simulate_oom_kill(kube_api, namespace, victim.metadata.name)
    incident = wait_for(
        lambda: next(
            (
                i
                for i in list_incidents(kube_api, namespace)
                if any(a["result"] == "DryRun" for a in actions_of(i))
            ),
            None,
        ),
        timeout=30,
        what="a DryRun action",
    )

    [action] = actions_of(incident)
    assert action["type"] == "EvictPod"
    assert victim.metadata.name in action["object"]
    assert "ActionDryRun" in timeline_types(incident)
    time.sleep(2)
    assert {p.metadata.uid for p in pods_of(kube_api, namespace, "api")} == before


def test_a_config_map_patch_is_reverted_when_the_incident_resolves(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "api", replicas=1)
    core = CoreV1Api(kube_api)
    flags: Any = {"metadata": {"name": "flags"}, "data": {"breaker": "closed"}}
    core.create_namespaced_config_map(namespace, flags)
    trip = {
        "name": "trip-breaker",
        "type": "PatchConfigMap",
        "patchConfigMap": {"name": "flags", "data": {"breaker": "open"}, "revertOnResolve": True},
        "verification": {"timeoutSeconds": 30},
    }
    create_policy(kube_api, namespace, policy("oom", app="api", actions=[trip]))
    operator.start()

    simulate_oom_kill(kube_api, namespace, pods_of(kube_api, namespace, "api")[0].metadata.name)
    wait_for(
        lambda: core.read_namespaced_config_map("flags", namespace).data["breaker"] == "open",
        timeout=30,
        what="the breaker tripped",
    )
    resolved = wait_for_phase(kube_api, namespace, "Resolved", timeout=60)

    assert core.read_namespaced_config_map("flags", namespace).data["breaker"] == "closed"
    assert "ActionReverted" in timeline_types(resolved)


def test_a_runbook_job_runs_with_the_incident_in_its_environment(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "api", replicas=1)
    runbook = {
        "name": "heap-dump",
        "type": "RunJob",
        "runJob": {
            "jobTemplate": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "dump",
                                "image": "registry.invalid/tools:v1",
                                "command": ["dump-heap"],
                            }
                        ],
                    }
                },
            }
        },
        "verification": {"timeoutSeconds": 60},
    }
    create_policy(kube_api, namespace, policy("oom", app="api", actions=[runbook]))
    operator.start()

    simulate_oom_kill(kube_api, namespace, pods_of(kube_api, namespace, "api")[0].metadata.name)
    resolved = wait_for_phase(kube_api, namespace, "Resolved", timeout=60)

    [action] = actions_of(resolved)
    assert (action["type"], action["result"]) == ("RunJob", "Succeeded")
    [job] = BatchV1Api(kube_api).list_namespaced_job(namespace).items
    assert job.metadata.labels["kubemedic.io/incident"] == resolved["metadata"]["name"]
    env = {e.name: e.value for e in job.spec.template.spec.containers[0].env}
    assert env["KUBEMEDIC_INCIDENT"] == resolved["metadata"]["name"]
    assert env["KUBEMEDIC_TARGET_NAME"] == "api"


def test_the_metrics_count_a_dry_run_action(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "api", replicas=2)
    evict = {"name": "evict", "type": "EvictPod", "verification": {"timeoutSeconds": 60}}
    create_policy(
        kube_api,
        namespace,
        policy("oom", app="api", actions=[evict], safety={"mode": "DryRun"}, stabilization=600),
    )
    port = free_port()
    operator.extra_args = ("--metrics-port", str(port))
    operator.start()

    simulate_oom_kill(kube_api, namespace, pods_of(kube_api, namespace, "api")[0].metadata.name)

    def scraped() -> str | None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
        wanted = (
            f'kubemedic_actions_total{{namespace="{namespace}",policy="oom",'
            f'result="DryRun",type="EvictPod"}} 1.0'
        )
        return text if wanted in text else None

    text = wait_for(scraped, timeout=30, what="the DryRun action counted")
    assert f'kubemedic_incidents_opened_total{{namespace="{namespace}"' in text
