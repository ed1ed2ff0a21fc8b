"""The local control plane behaves like a real cluster where tests need it to."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from kubernetes import watch
from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api

from support.devclusters import DevCluster
from support.workloads import (
    create_deployment,
    is_pod_ready,
    simulate_crash_loop,
    simulate_oom_kill,
    wait_for_ready_pods,
    wait_for_rollout,
)


def test_deployment_pods_are_bound_to_kwok_nodes_and_become_ready(
    kube_api: ApiClient, namespace: str
) -> None:
    create_deployment(kube_api, namespace, "web", replicas=3)

    replica_sets = AppsV1Api(kube_api).list_namespaced_replica_set(namespace).items
    pods = wait_for_ready_pods(kube_api, namespace, "app=web", count=3)
    nodes = {n.metadata.name: n for n in CoreV1Api(kube_api).list_node().items}
    assert len(replica_sets) == 1
    assert all(p.metadata.owner_references[0].name == replica_sets[0].metadata.name for p in pods)
    assert all(p.status.phase == "Running" for p in pods)
    assert all(nodes[p.spec.node_name].metadata.labels["type"] == "kwok" for p in pods)
    assert all(p.status.pod_ip for p in pods)


def test_a_watch_sees_a_pod_report_an_oom_kill(kube_api: ApiClient, namespace: str) -> None:
    create_deployment(kube_api, namespace, "leaky", replicas=1)
    [pod] = wait_for_ready_pods(kube_api, namespace, "app=leaky", count=1)
    seen: list[dict[str, Any]] = []
    is_watching = threading.Event()

    # NB: a watch started without a resourceVersion, the kind that old etcd
    # releases broke after a few seconds.
    def watch_pods() -> None:
        stream = watch.Watch()
        core = CoreV1Api(kube_api)
        for event in stream.stream(core.list_namespaced_pod, namespace, timeout_seconds=30):
            is_watching.set()
            statuses = event["object"].status.container_statuses or []
            for status in statuses:
                terminated = status.last_state and status.last_state.terminated
                if terminated and terminated.reason == "OOMKilled":
                    seen.append({"type": event["type"], "restarts": status.restart_count})
                    stream.stop()

    watcher = threading.Thread(target=watch_pods)
    watcher.start()
    assert is_watching.wait(timeout=10)
    time.sleep(4)  # outlive the 3 s after which old etcd failed such watches
    simulate_oom_kill(kube_api, namespace, pod.metadata.name)
    watcher.join(timeout=30)

    assert seen == [{"type": "MODIFIED", "restarts": 1}]


def test_kwok_leaves_a_patched_container_status_alone(kube_api: ApiClient, namespace: str) -> None:
    create_deployment(kube_api, namespace, "crashy", replicas=2)
    oom_pod, crashing_pod = wait_for_ready_pods(kube_api, namespace, "app=crashy", count=2)
    simulate_oom_kill(kube_api, namespace, oom_pod.metadata.name)
    simulate_crash_loop(kube_api, namespace, crashing_pod.metadata.name)

    time.sleep(5)
    core = CoreV1Api(kube_api)
    oom_pod = core.read_namespaced_pod(oom_pod.metadata.name, namespace)
    crashing_pod = core.read_namespaced_pod(crashing_pod.metadata.name, namespace)
    [oom_status] = oom_pod.status.container_statuses
    [crash_status] = crashing_pod.status.container_statuses
    assert oom_status.last_state.terminated.reason == "OOMKilled"
    assert oom_status.restart_count == 1
    assert is_pod_ready(oom_pod)
    assert crash_status.state.waiting.reason == "CrashLoopBackOff"
    assert not is_pod_ready(crashing_pod)
    deployment = AppsV1Api(kube_api).read_namespaced_deployment("crashy", namespace)
    assert deployment.status.ready_replicas == 1


def test_a_deleted_crashing_pod_is_replaced_by_a_ready_one(
    kube_api: ApiClient, namespace: str
) -> None:
    create_deployment(kube_api, namespace, "api", replicas=1)
    [pod] = wait_for_ready_pods(kube_api, namespace, "app=api", count=1)
    simulate_crash_loop(kube_api, namespace, pod.metadata.name)

    CoreV1Api(kube_api).delete_namespaced_pod(pod.metadata.name, namespace)
    [replacement] = wait_for_ready_pods(kube_api, namespace, "app=api", count=1)

    assert replacement.metadata.name != pod.metadata.name
    assert replacement.status.container_statuses[0].restart_count == 0


def test_kubectl_scale_changes_the_number_of_ready_pods(
    devcluster: DevCluster, kube_api: ApiClient, namespace: str
) -> None:
    create_deployment(kube_api, namespace, "web", replicas=3)

    devcluster.kubectl("-n", namespace, "scale", "deployment/web", "--replicas=5")
    wait_for_ready_pods(kube_api, namespace, "app=web", count=5)
    devcluster.kubectl("-n", namespace, "scale", "deployment/web", "--replicas=1")
    pods = wait_for_ready_pods(kube_api, namespace, "app=web", count=1)

    assert len(pods) == 1


def test_kubectl_rollout_undo_restores_the_previous_image(
    devcluster: DevCluster, kube_api: ApiClient, namespace: str
) -> None:
    create_deployment(kube_api, namespace, "web", replicas=2, image="registry.invalid/web:v1")
    devcluster.kubectl(
        "-n", namespace, "set", "image", "deployment/web", "app=registry.invalid/web:v2"
    )
    wait_for_rollout(kube_api, namespace, "web")

    devcluster.kubectl("-n", namespace, "rollout", "undo", "deployment/web")
    deployment = wait_for_rollout(kube_api, namespace, "web")
    pods = wait_for_ready_pods(kube_api, namespace, "app=web", count=2)

    history = devcluster.kubectl("-n", namespace, "get", "replicasets", "-o", "json").stdout
    assert deployment.spec.template.spec.containers[0].image == "registry.invalid/web:v1"
    assert {p.spec.containers[0].image for p in pods} == {"registry.invalid/web:v1"}
    assert len(json.loads(history)["items"]) == 2
