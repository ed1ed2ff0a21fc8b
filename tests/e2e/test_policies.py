"""Policies as the operator sees them: status, counters, and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient, CoreV1Api

from support.devclusters import DevCluster
from support.incidents import create_policy, read_policy, wait_for, wait_for_incidents
from support.operators import OperatorProcess
from support.prometheuses import PrometheusServer
from support.workloads import create_deployment, simulate_oom_kill

pytestmark = pytest.mark.cluster


def condition(policy: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for found in (policy.get("status") or {}).get("conditions", []):
        if found["type"] == type_:
            return dict(found)
    return None


def oom_policy(name: str, *, actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": "api"}},
            "triggers": [
                {"name": "oom", "type": "PodFailure", "podFailure": {"reasons": ["OOMKilled"]}}
            ],
            "actions": actions or [],
            "closing": {"stabilizationSeconds": 600},
        },
    }


def test_a_policy_the_api_server_accepts_but_cannot_run_is_reported_in_status(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    # The Job template is a free-form JobSpec in the CRD; the operator checks
    # it with a server-side dry run and says what is wrong.
    broken_job = {
        "name": "dump",
        "type": "RunJob",
        "runJob": {"jobTemplate": {"template": {"spec": {"containers": [{"name": "x"}]}}}},
    }
    create_policy(kube_api, namespace, oom_policy("broken", actions=[broken_job]))
    create_policy(kube_api, namespace, oom_policy("fine"))
    create_deployment(kube_api, namespace, "api", replicas=1)
    operator.start()

    def reported() -> dict[str, Any] | None:
        ready = condition(read_policy(kube_api, namespace, "broken"), "Ready")
        return ready if ready is not None and ready["status"] == "False" else None

    ready = wait_for(reported, timeout=20, what="the broken policy reported")
    assert ready["reason"] == "InvalidSpec"
    assert "runJob.jobTemplate" in ready["message"]
    assert "image" in ready["message"]

    # The operator goes on: the valid policy works.
    pod = CoreV1Api(kube_api).list_namespaced_pod(namespace).items[0].metadata.name
    simulate_oom_kill(kube_api, namespace, pod)
    [incident] = wait_for_incidents(kube_api, namespace)
    assert incident["spec"]["policyRef"]["name"] == "fine"
    assert operator.process is not None
    assert operator.process.poll() is None, "the operator is still running"


def test_policy_status_counts_open_incidents_and_says_it_is_ready(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_policy(kube_api, namespace, oom_policy("oom"))
    create_deployment(kube_api, namespace, "api", replicas=1)
    operator.start()
    pod = CoreV1Api(kube_api).list_namespaced_pod(namespace).items[0].metadata.name
    simulate_oom_kill(kube_api, namespace, pod)
    wait_for_incidents(kube_api, namespace)

    def counted() -> dict[str, Any] | None:
        policy = read_policy(kube_api, namespace, "oom")
        return policy if (policy.get("status") or {}).get("openIncidents") == 1 else None

    policy = wait_for(counted, timeout=30, what="openIncidents 1")
    status = policy["status"]
    assert status["observedGeneration"] == policy["metadata"]["generation"]
    assert status["mode"] == "Enforce"
    assert status["targets"] == 1
    assert condition(policy, "Ready")["status"] == "True"  # type: ignore[index]


EXAMPLES = Path(__file__).parents[2] / "examples"


def test_every_example_policy_is_ready_under_the_operator(
    devcluster: DevCluster,
    kube_api: ApiClient,
    namespace: str,
    operator: OperatorProcess,
    prometheus: PrometheusServer,
) -> None:
    devcluster.kubectl("apply", "-n", namespace, "-f", str(EXAMPLES))
    names = [
        document["metadata"]["name"]
        for path in sorted(EXAMPLES.glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document and document["kind"] == "RemediationPolicy"
    ]
    assert len(names) >= 6
    operator.prometheus_url = prometheus.url
    operator.start()

    def all_ready() -> list[str] | None:
        waiting = []
        for name in names:
            ready = condition(read_policy(kube_api, namespace, name), "Ready")
            if ready is None or ready["status"] != "True":
                waiting.append(f"{name}: {ready}")
        return None if waiting else names

    wait_for(all_ready, timeout=30, what="every example policy Ready")
