"""Crashes, restarts and two replicas: every action happens exactly once.

The operator writes an action's key to the incident before the mutation and
the result after it. These tests kill it between the two (with failpoints,
since a SIGKILL timed from outside cannot hit that window reliably), restart
it, and count the mutations on the live object.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient, AppsV1Api, CoordinationV1Api, CoreV1Api

from notifications.receivers import RecordingReceiver
from support.devclusters import DevCluster
from support.incidents import create_policy, list_incidents, wait_for, wait_for_incidents
from support.operators import OperatorProcess
from support.workloads import create_deployment, simulate_crash_loop, simulate_oom_kill

pytestmark = pytest.mark.cluster


def scale_policy(app: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": f"scale-{app}"},
        "spec": {
            "selector": {"matchLabels": {"app": app}},
            "triggers": [
                {"name": "oom", "type": "PodFailure", "podFailure": {"reasons": ["OOMKilled"]}}
            ],
            "actions": [
                {
                    "name": "scale-up",
                    "type": "Scale",
                    "scale": {"replicasStep": 1, "minReplicas": 1, "maxReplicas": 10},
                    "verification": {"timeoutSeconds": 300},
                }
            ],
            "safety": {"cooldownSeconds": 0},
            "closing": {"stabilizationSeconds": 600},
            **spec,
        },
    }


def replicas(api: ApiClient, namespace: str, name: str) -> int:
    count: int = AppsV1Api(api).read_namespaced_deployment(name, namespace).spec.replicas
    return count


def first_pod(api: ApiClient, namespace: str, app: str) -> str:
    pods = CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return sorted(p.metadata.name for p in pods)[0]


def actions(api: ApiClient, namespace: str) -> list[dict[str, Any]]:
    [incident] = list_incidents(api, namespace)
    found: list[dict[str, Any]] = (incident.get("status") or {}).get("actions", [])
    return found


@pytest.mark.parametrize(
    ("failpoint", "replicas_after_crash"),
    [
        pytest.param("after-action-key", 2, id="killed-before-the-mutation"),
        pytest.param("after-mutation", 3, id="killed-after-the-mutation"),
    ],
)
def test_a_sigkill_around_an_action_leads_to_exactly_one_mutation(
    kube_api: ApiClient,
    namespace: str,
    operator: OperatorProcess,
    failpoint: str,
    replicas_after_crash: int,
) -> None:
    create_deployment(kube_api, namespace, "api", replicas=2)
    create_policy(kube_api, namespace, scale_policy("api"))
    operator.env["KUBEMEDIC_FAILPOINTS"] = failpoint
    operator.start()

    simulate_oom_kill(kube_api, namespace, first_pod(kube_api, namespace, "api"))
    assert operator.wait_exit(timeout=30) == -signal.SIGKILL
    [pending] = actions(kube_api, namespace)
    assert pending["result"] == "Pending", "the key is written before the mutation"
    assert replicas(kube_api, namespace, "api") == replicas_after_crash

    # The restarted operator reconciles the key with the live object.
    del operator.env["KUBEMEDIC_FAILPOINTS"]
    operator.start()
    done = wait_for(
        lambda: next((a for a in actions(kube_api, namespace) if a["result"] != "Pending"), None),
        timeout=30,
        what="the pending action settled",
    )
    assert done["result"] == "Succeeded"
    assert done["key"] == pending["key"]
    time.sleep(3)
    assert replicas(kube_api, namespace, "api") == 3
    assert len(actions(kube_api, namespace)) == 1


def test_two_replicas_act_once_and_the_standby_takes_over_when_the_leader_dies(
    kube_api: ApiClient,
    devcluster: DevCluster,
    namespace: str,
    tmp_path: Path,
    operator: OperatorProcess,
    request: pytest.FixtureRequest,
) -> None:
    for app in ("first", "second"):
        create_deployment(kube_api, namespace, app, replicas=2)
        create_policy(kube_api, namespace, scale_policy(app))
    standby = OperatorProcess(
        kubeconfig=devcluster.kubeconfig, namespace=namespace, log_path=tmp_path / "standby.log"
    )
    request.addfinalizer(standby.stop)
    operator.start()
    standby.start(wait=False)

    simulate_oom_kill(kube_api, namespace, first_pod(kube_api, namespace, "first"))
    wait_for(lambda: replicas(kube_api, namespace, "first") == 3, timeout=30, what="a scale-up")
    time.sleep(3)
    assert replicas(kube_api, namespace, "first") == 3, "two replicas, one mutation"
    assert "Waiting for Lease" in standby.logs()

    # The leader dies without releasing the Lease; the standby waits it out.
    operator.kill()
    simulate_oom_kill(kube_api, namespace, first_pod(kube_api, namespace, "second"))
    standby.wait_ready(timeout=40)
    wait_for(
        lambda: replicas(kube_api, namespace, "second") == 3, timeout=30, what="the standby acting"
    )
    lease = CoordinationV1Api(kube_api).read_namespaced_lease("kubemedic-leader", namespace)
    assert lease.spec.lease_transitions >= 1
    assert replicas(kube_api, namespace, "first") == 3


def test_notifications_reach_a_webhook_once_per_moment(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    receiver = RecordingReceiver()
    try:
        create_deployment(kube_api, namespace, "web", replicas=1)
        create_policy(
            kube_api,
            namespace,
            {
                "metadata": {"name": "crashes"},
                "spec": {
                    "selector": {"matchLabels": {"app": "web"}},
                    "triggers": [
                        {
                            "name": "pods",
                            "type": "PodFailure",
                            "podFailure": {"reasons": ["CrashLoopBackOff"]},
                        }
                    ],
                    "actions": [
                        {
                            "name": "page",
                            "type": "NotifyOnly",
                            "verification": {"timeoutSeconds": 1},
                        }
                    ],
                    "escalation": {"receivers": ["hook"]},
                    "notifications": {
                        "receivers": [
                            {
                                "name": "hook",
                                "type": "Webhook",
                                "webhook": {"url": receiver.url},
                                "events": ["Opened", "ActionTaken", "Escalated", "Resolved"],
                            },
                        ]
                    },
                    "safety": {"cooldownSeconds": 0},
                },
            },
        )
        operator.start()
        simulate_crash_loop(kube_api, namespace, first_pod(kube_api, namespace, "web"))

        def events() -> list[str]:
            return [r.json()["event"] for r in receiver.requests]

        wait_for(lambda: "Escalated" in events(), timeout=30, what="an Escalated notification")
        time.sleep(3)
        assert events() == ["Opened", "ActionTaken", "Escalated"]
        [incident] = wait_for_incidents(kube_api, namespace)
        document = receiver.requests[0].json()
        assert document["incident"]["name"] == incident["metadata"]["name"]
        assert document["incident"]["target"]["name"] == "web"
        sent = incident["status"]["notifications"]
        assert {(n["event"], n["result"]) for n in sent} == {
            ("Opened", "Delivered"),
            ("ActionTaken", "Delivered"),
            ("Escalated", "Delivered"),
        }
    finally:
        receiver.close()


def test_an_incident_left_without_status_by_a_crash_is_completed_after_restart(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "api", replicas=1)
    create_policy(kube_api, namespace, scale_policy("api"))
    operator.env["KUBEMEDIC_FAILPOINTS"] = "after-incident-object"
    operator.start()

    simulate_oom_kill(kube_api, namespace, first_pod(kube_api, namespace, "api"))
    assert operator.wait_exit(timeout=30) == -signal.SIGKILL
    [bare] = list_incidents(kube_api, namespace)
    assert "status" not in bare

    del operator.env["KUBEMEDIC_FAILPOINTS"]
    operator.start()
    completed = wait_for(
        lambda: next(
            (
                i
                for i in list_incidents(kube_api, namespace)
                if (i.get("status") or {}).get("detectedAt")
            ),
            None,
        ),
        timeout=40,
        what="the incident's status completed",
    )
    assert completed["status"]["occurrences"] >= 1
    assert "stopped before recording" in completed["status"]["timeline"][0]["message"]
    assert len(list_incidents(kube_api, namespace)) == 1
