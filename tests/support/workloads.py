"""Deployments, pods, and pods that report what a failing kubelet would.

kwok plays the kubelet: it binds nothing (the scheduler does), but it moves a
scheduled pod from Pending to Running and Ready, and deletes a pod as soon as
it is marked for deletion. Its stages (`hack/kwok-stages.yaml`) decide when
it touches a pod:

- `pod-ready` fires only while the pod's phase is Pending and its Ready
  condition is not True;
- `pod-complete` fires only for pods owned by a Job;
- `pod-delete` fires once the pod has a deletionTimestamp.

So once a pod is Running, kwok never writes its status again: a container
status patched here (OOMKilled, CrashLoopBackOff, not ready) stays exactly as
patched until the pod is deleted, however long a test watches it. (Checked:
patched pods kept their status, resourceVersion included, for 150 s while
kwok ran.) A replacement pod
created by the ReplicaSet starts Pending, so kwok makes it Running and Ready
within about a second. Keep the phase Running in any patch: a pod patched
back to Pending with Ready not True would be "started" again by kwok.

The patches go through the `status` subresource, as a kubelet's do, with a
full PUT and optimistic concurrency (a conflict is retried).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api, V1Deployment, V1Pod
from kubernetes.client.exceptions import ApiException

DEFAULT_IMAGE = "registry.invalid/kubemedic/demo-app:v1"

ContainerStatus = dict[str, Any]


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment_manifest(
    name: str,
    *,
    replicas: int = 3,
    image: str = DEFAULT_IMAGE,
    labels: Mapping[str, str] | None = None,
    memory_limit: str = "128Mi",
) -> dict[str, Any]:
    """A Deployment of one container `app`, selected by `app=<name>`."""
    pod_labels = {"app": name, **(labels or {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": pod_labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [
                        {
                            "name": "app",
                            "image": image,
                            "resources": {
                                "requests": {"cpu": "10m", "memory": "32Mi"},
                                "limits": {"memory": memory_limit},
                            },
                        }
                    ],
                },
            },
        },
    }


def create_deployment(
    api: ApiClient,
    namespace: str,
    name: str,
    *,
    replicas: int = 3,
    image: str = DEFAULT_IMAGE,
    labels: Mapping[str, str] | None = None,
    memory_limit: str = "128Mi",
    wait: bool = True,
    timeout: float = 60.0,
) -> V1Deployment:
    """Create a Deployment and (by default) wait until all its pods are Ready."""
    manifest = deployment_manifest(
        name, replicas=replicas, image=image, labels=labels, memory_limit=memory_limit
    )
    AppsV1Api(api).create_namespaced_deployment(namespace, manifest)
    if not wait:
        return AppsV1Api(api).read_namespaced_deployment(name, namespace)
    return wait_for_rollout(api, namespace, name, timeout=timeout)


def wait_for_rollout(
    api: ApiClient, namespace: str, name: str, *, timeout: float = 60.0
) -> V1Deployment:
    """Wait until the Deployment's current template is fully rolled out and Ready."""
    apps = AppsV1Api(api)
    deadline = time.monotonic() + timeout
    while True:
        deployment = apps.read_namespaced_deployment(name, namespace)
        spec, status = deployment.spec, deployment.status
        is_done = (
            (status.observed_generation or 0) >= deployment.metadata.generation
            and (status.updated_replicas or 0) == spec.replicas
            and (status.ready_replicas or 0) == spec.replicas
            and (status.available_replicas or 0) == spec.replicas
            and (status.replicas or 0) == spec.replicas
        )
        if is_done:
            return deployment
        if time.monotonic() > deadline:
            raise TimeoutError(f"Deployment {namespace}/{name} not rolled out: {status}")
        time.sleep(0.2)


def wait_for_ready_pods(
    api: ApiClient, namespace: str, label_selector: str, *, count: int, timeout: float = 60.0
) -> list[V1Pod]:
    """Wait until exactly `count` live pods match and all of them are Ready."""
    core = CoreV1Api(api)
    deadline = time.monotonic() + timeout
    while True:
        pods = core.list_namespaced_pod(namespace, label_selector=label_selector).items
        live = [p for p in pods if p.metadata.deletion_timestamp is None]
        if len(live) == count and all(is_pod_ready(p) for p in live):
            return live
        if time.monotonic() > deadline:
            states = {p.metadata.name: p.status.phase for p in live}
            raise TimeoutError(
                f"Pods {label_selector} in {namespace}: want {count} Ready: {states}"
            )
        time.sleep(0.2)


def is_pod_ready(pod: V1Pod) -> bool:
    conditions = pod.status.conditions or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def patch_container_status(
    api: ApiClient,
    namespace: str,
    pod_name: str,
    mutate: Callable[[ContainerStatus], None],
    *,
    container: str | None = None,
    ready: bool,
) -> V1Pod:
    """Change one container's status as a kubelet would, then the pod's readiness.

    `mutate` gets the container status as a camelCase dict (the API's JSON)
    and changes it in place; `container` defaults to the first one. `ready`
    sets the container's `ready` flag and the pod's Ready and ContainersReady
    conditions to match.
    """
    core = CoreV1Api(api)
    for _ in range(10):
        pod = api.sanitize_for_serialization(core.read_namespaced_pod(pod_name, namespace))
        status = pod["status"]
        statuses: list[ContainerStatus] = status["containerStatuses"]
        name = container or statuses[0]["name"]
        target = next(s for s in statuses if s["name"] == name)
        mutate(target)
        target["ready"] = ready
        set_readiness_conditions(status, ready=ready, unready=[name])

        # NB: the resourceVersion read above makes this PUT fail with 409
        # if anyone (the operator, say) changed the pod in between.
        try:
            result: V1Pod = core.replace_namespaced_pod_status(pod_name, namespace, pod)
        except ApiException as error:
            if error.status == 409:
                continue
            raise
        return result
    raise RuntimeError(f"Pod {namespace}/{pod_name} kept changing; status not patched")


def set_readiness_conditions(status: dict[str, Any], *, ready: bool, unready: list[str]) -> None:
    """Set the Ready and ContainersReady conditions, moving times only on a flip."""
    value = "True" if ready else "False"
    for condition in status.get("conditions") or []:
        if condition["type"] not in ("Ready", "ContainersReady"):
            continue
        if condition["status"] != value:
            condition["lastTransitionTime"] = now_rfc3339()
        condition["status"] = value
        if ready:
            condition.pop("reason", None)
            condition.pop("message", None)
        else:
            condition["reason"] = "ContainersNotReady"
            condition["message"] = f"containers with unready status: [{' '.join(unready)}]"


def simulate_oom_kill(
    api: ApiClient, namespace: str, pod_name: str, *, container: str | None = None
) -> V1Pod:
    """Make a container report that it was OOM-killed and restarted.

    That is what a kubelet shows after the kernel kills a container over its
    memory limit: `restartCount` one higher, `lastState.terminated.reason`
    OOMKilled with exit code 137, and the container running (and Ready) again.
    """
    now = now_rfc3339()

    def record_oom_kill(status: ContainerStatus) -> None:
        started_at = (status.get("state") or {}).get("running", {}).get("startedAt", now)
        status["lastState"] = {
            "terminated": {
                "exitCode": 137,
                "reason": "OOMKilled",
                "startedAt": started_at,
                "finishedAt": now,
                "containerID": status.get("containerID", ""),
            }
        }
        status["state"] = {"running": {"startedAt": now}}
        status["restartCount"] = status.get("restartCount", 0) + 1
        status["started"] = True

    return patch_container_status(
        api, namespace, pod_name, record_oom_kill, container=container, ready=True
    )


def simulate_crash_loop(
    api: ApiClient,
    namespace: str,
    pod_name: str,
    *,
    container: str | None = None,
    last_reason: str = "Error",
    exit_code: int = 1,
) -> V1Pod:
    """Make a container report CrashLoopBackOff after a failed run.

    The container is waiting (reason CrashLoopBackOff), its last run ended
    with `last_reason` (use "OOMKilled" with exit code 137 for a pod that is
    OOM-killed at every start), `restartCount` goes up by one, and the pod
    is no longer Ready. Call it again for each further restart.
    """
    now = now_rfc3339()

    def record_crash(status: ContainerStatus) -> None:
        name = status["name"]
        status["lastState"] = {
            "terminated": {
                "exitCode": exit_code,
                "reason": last_reason,
                "startedAt": now,
                "finishedAt": now,
                "containerID": status.get("containerID", ""),
            }
        }
        status["state"] = {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off 10s restarting failed container={name} pod={pod_name}",
            }
        }
        status["restartCount"] = status.get("restartCount", 0) + 1
        status["started"] = False

    return patch_container_status(
        api, namespace, pod_name, record_crash, container=container, ready=False
    )
