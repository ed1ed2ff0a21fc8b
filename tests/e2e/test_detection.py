"""Detection end to end: real pods, a real API server, the operator as a process."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes.client import ApiClient, CoreV1Api

from support.incidents import (
    create_policy,
    list_incidents,
    phase_of,
    wait_for,
    wait_for_incidents,
)
from support.operators import OperatorProcess
from support.workloads import create_deployment, simulate_crash_loop, simulate_oom_kill

pytestmark = pytest.mark.cluster


def pod_failure_policy(name: str, *, app: str, reasons: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": app}},
            "triggers": [
                {"name": "pods", "type": "PodFailure", "podFailure": {"reasons": reasons, **extra}}
            ],
            "closing": {"stabilizationSeconds": 600},
        },
    }


def pods_of(api: ApiClient, namespace: str, app: str) -> list[str]:
    pods = CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return sorted(p.metadata.name for p in pods)


def test_oom_kills_of_one_deployment_make_one_incident_with_four_occurrences(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "api", replicas=4)
    create_policy(kube_api, namespace, pod_failure_policy("oom", app="api", reasons=["OOMKilled"]))
    operator.start()
    pods = pods_of(kube_api, namespace, "api")

    started = time.monotonic()
    simulate_oom_kill(kube_api, namespace, pods[0])
    [incident] = wait_for_incidents(kube_api, namespace, timeout=10)
    detected_in = time.monotonic() - started
    assert detected_in < 2.0, f"detected after {detected_in:.2f}s"
    assert incident["spec"]["target"] == {
        "kind": "Deployment",
        "namespace": namespace,
        "name": "api",
    }
    assert incident["metadata"]["labels"]["kubemedic.io/policy"] == "oom"

    for pod in pods[1:]:
        simulate_oom_kill(kube_api, namespace, pod)

    def four_occurrences() -> dict[str, Any] | None:
        items = list_incidents(kube_api, namespace)
        assert len(items) == 1, [i["metadata"]["name"] for i in items]
        return items[0] if items[0]["status"].get("occurrences") == 4 else None

    joined = wait_for(four_occurrences, timeout=10, what="4 occurrences")
    assert phase_of(joined) in {"Detected", "Investigating"}
    time.sleep(2)
    assert len(list_incidents(kube_api, namespace)) == 1


def test_crash_loop_opens_an_incident_for_its_policy_only(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "web", replicas=2)
    create_deployment(kube_api, namespace, "batch", replicas=1)
    create_policy(
        kube_api,
        namespace,
        pod_failure_policy("crashes", app="web", reasons=["CrashLoopBackOff"]),
    )
    create_policy(kube_api, namespace, pod_failure_policy("ooms", app="web", reasons=["OOMKilled"]))
    operator.start()

    simulate_crash_loop(kube_api, namespace, pods_of(kube_api, namespace, "batch")[0])
    simulate_crash_loop(kube_api, namespace, pods_of(kube_api, namespace, "web")[0])

    [incident] = wait_for_incidents(kube_api, namespace, timeout=10)
    assert incident["spec"]["policyRef"]["name"] == "crashes"
    assert incident["spec"]["target"]["name"] == "web"
    time.sleep(2)
    assert len(list_incidents(kube_api, namespace)) == 1, "batch matches no policy"


def test_restart_burst_opens_an_incident(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "flappy", replicas=1)
    policy = pod_failure_policy(
        "bursts", app="flappy", reasons=[], restartBurst={"count": 3, "withinSeconds": 300}
    )
    create_policy(kube_api, namespace, policy)
    operator.start()
    [pod] = pods_of(kube_api, namespace, "flappy")

    simulate_crash_loop(kube_api, namespace, pod)
    simulate_crash_loop(kube_api, namespace, pod)
    time.sleep(1.5)
    assert list_incidents(kube_api, namespace) == [], "two restarts are no burst"
    simulate_crash_loop(kube_api, namespace, pod)

    [incident] = wait_for_incidents(kube_api, namespace, timeout=10)
    assert incident["spec"]["trigger"] == "pods"
    assert "restarted 3 times" in incident["status"]["message"]


def test_a_failure_that_happened_before_the_policy_existed_is_found(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "api", replicas=1)
    operator.start()
    simulate_oom_kill(kube_api, namespace, pods_of(kube_api, namespace, "api")[0])
    time.sleep(1)
    assert list_incidents(kube_api, namespace) == []

    # The pod does not change again; the new policy must look at it anyway.
    create_policy(kube_api, namespace, pod_failure_policy("oom", app="api", reasons=["OOMKilled"]))
    [incident] = wait_for_incidents(kube_api, namespace, timeout=10)
    assert incident["spec"]["target"]["name"] == "api"
