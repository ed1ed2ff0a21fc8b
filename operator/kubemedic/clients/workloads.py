"""Reading workloads: the target of an incident, its pods, its rollout state.

An incident is about a Deployment, a StatefulSet, a DaemonSet, or a single
pod. Workload actions on a pod's incident act on the workload that owns the
pod (a ReplicaSet's Deployment, a StatefulSet, a DaemonSet), found through
the controller owner references. ``observe_workload`` turns what it reads
into the pure observations of ``kubemedic.domain.observations``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import kubernetes.client

from kubemedic.api.incidents import Target, TargetKind
from kubemedic.clients.apiserver import ApiServer, Body, resource_path
from kubemedic.domain.observations import (
    ContainerObservation,
    PodObservation,
    WorkloadObservation,
)
from kubemedic.domain.rollouts import parse_timestamp

WORKLOAD_PLURALS: Mapping[str, str] = {
    TargetKind.DEPLOYMENT: "deployments",
    TargetKind.STATEFUL_SET: "statefulsets",
    TargetKind.DAEMON_SET: "daemonsets",
}


@dataclass(frozen=True)
class Workload:
    """A workload as just read from the API server."""

    kind: str
    namespace: str
    name: str
    body: Body

    @property
    def path(self) -> str:
        return workload_path(self.kind, self.namespace, self.name)

    @property
    def display(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    @property
    def uid(self) -> str:
        return str(self.body.get("metadata", {}).get("uid", ""))

    @property
    def is_paused(self) -> bool:
        """Whether a human paused the rollout (only Deployments can be)."""
        return bool(self.body.get("spec", {}).get("paused"))

    @property
    def selector(self) -> str:
        return format_selector(self.body.get("spec", {}).get("selector") or {})


def workload_path(kind: str, namespace: str, name: str) -> str:
    return resource_path("apps/v1", WORKLOAD_PLURALS[kind], namespace=namespace, name=name)


def pod_path(namespace: str, name: str, *, subresource: str | None = None) -> str:
    return resource_path("v1", "pods", namespace=namespace, name=name, subresource=subresource)


def find_controller(body: Body) -> tuple[str, str] | None:
    """The kind and name of the controller owning an object, if any."""
    for owner in body.get("metadata", {}).get("ownerReferences") or []:
        if owner.get("controller"):
            return str(owner.get("kind")), str(owner.get("name"))
    return None


async def read_workload(server: ApiServer, target: Target) -> Workload | None:
    """The workload a target is, or owns the target pod; None for a bare pod.

    Raises ``NotFoundError`` when the target itself (or its owner) is gone.
    """
    if target.kind != TargetKind.POD:
        body = await server.get(workload_path(target.kind, target.namespace, target.name))
        return Workload(kind=target.kind, namespace=target.namespace, name=target.name, body=body)

    # A pod's controller is a ReplicaSet (whose own controller may be a
    # Deployment), a StatefulSet or a DaemonSet; anything else is no workload
    # the actions know how to handle.
    pod = await server.get(pod_path(target.namespace, target.name))
    owner = find_controller(pod)
    if owner is not None and owner[0] == "ReplicaSet":
        replica_set = await server.get(
            resource_path("apps/v1", "replicasets", namespace=target.namespace, name=owner[1])
        )
        owner = find_controller(replica_set)
    if owner is None or owner[0] not in WORKLOAD_PLURALS:
        return None
    kind, name = owner
    body = await server.get(workload_path(kind, target.namespace, name))
    return Workload(kind=kind, namespace=target.namespace, name=name, body=body)


def format_selector(selector: Mapping[str, Any]) -> str:
    """A metav1.LabelSelector in the string form ``labelSelector`` takes."""
    terms = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = ",".join(expression.get("values") or [])
        if operator == "In":
            terms.append(f"{key} in ({values})")
        elif operator == "NotIn":
            terms.append(f"{key} notin ({values})")
        elif operator == "Exists":
            terms.append(key)
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


async def list_owned_pods(server: ApiServer, workload: Workload) -> list[Body]:
    """The pods the workload controls, found by its selector and owner uids."""
    namespace = workload.namespace
    pods = await server.list(
        resource_path("v1", "pods", namespace=namespace), label_selector=workload.selector
    )

    # NB: selectors of two workloads may overlap; ownership is what counts.
    # A Deployment owns its pods through its ReplicaSets.
    owner_uids = {workload.uid}
    if workload.kind == TargetKind.DEPLOYMENT:
        replica_sets = await server.list(
            resource_path("apps/v1", "replicasets", namespace=namespace),
            label_selector=workload.selector,
        )
        owner_uids = {
            rs["metadata"]["uid"]
            for rs in replica_sets
            if any(o.get("uid") == workload.uid for o in rs["metadata"].get("ownerReferences", []))
        }
    return [
        pod
        for pod in pods
        if any(o.get("uid") in owner_uids for o in pod["metadata"].get("ownerReferences", []))
    ]


async def observe_workload(api: kubernetes.client.ApiClient, target: Target) -> WorkloadObservation:
    """What the target looks like now: replica counts, rollout state and pods.

    Raises ``NotFoundError`` when the target is gone.
    """
    server = ApiServer(api)
    now = datetime.datetime.now(datetime.UTC)

    # A single pod is observed as itself, with the counts of one replica.
    if target.kind == TargetKind.POD:
        pod = observe_pod(await server.get(pod_path(target.namespace, target.name)))
        ready = 1 if pod.ready else 0
        return WorkloadObservation(
            kind=TargetKind.POD,
            namespace=target.namespace,
            name=target.name,
            uid=pod.uid,
            observed_at=now,
            desired_replicas=1,
            ready_replicas=ready,
            available_replicas=ready,
            updated_replicas=1,
            pods=(pod,),
        )

    workload = await read_workload(server, target)
    assert workload is not None  # only a pod target can lack a workload
    pods = await list_owned_pods(server, workload)
    metadata, spec = workload.body["metadata"], workload.body.get("spec", {})
    status = workload.body.get("status") or {}
    if workload.kind == TargetKind.DAEMON_SET:
        counts = (
            status.get("desiredNumberScheduled", 0),
            status.get("numberReady", 0),
            status.get("numberAvailable", 0),
            status.get("updatedNumberScheduled", 0),
        )
    else:
        counts = (
            spec.get("replicas", 1),
            status.get("readyReplicas", 0),
            status.get("availableReplicas", 0),
            status.get("updatedReplicas", 0),
        )
    return WorkloadObservation(
        kind=workload.kind,
        namespace=workload.namespace,
        name=workload.name,
        uid=workload.uid,
        observed_at=now,
        generation=metadata.get("generation", 0),
        observed_generation=status.get("observedGeneration", 0),
        desired_replicas=counts[0],
        ready_replicas=counts[1],
        available_replicas=counts[2],
        updated_replicas=counts[3],
        paused=workload.is_paused,
        selector=workload.selector,
        match_labels=dict((spec.get("selector") or {}).get("matchLabels") or {}),
        pods=tuple(sorted((observe_pod(pod) for pod in pods), key=lambda pod: pod.name)),
    )


def observe_pod(pod: Body) -> PodObservation:
    """The observation of one pod as read from the API."""
    metadata, status = pod["metadata"], pod.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    containers = [
        *(observe_container(c, is_init=True) for c in status.get("initContainerStatuses") or []),
        *(observe_container(c, is_init=False) for c in status.get("containerStatuses") or []),
    ]
    return PodObservation(
        name=metadata["name"],
        uid=metadata.get("uid", ""),
        phase=status.get("phase", "Unknown"),
        ready=conditions.get("Ready") == "True",
        created_at=parse_timestamp(metadata.get("creationTimestamp")),
        deletion_timestamp=parse_timestamp(metadata.get("deletionTimestamp")),
        reason=status.get("reason"),
        node_name=(pod.get("spec") or {}).get("nodeName"),
        containers=tuple(containers),
    )


def observe_container(status: Body, *, is_init: bool) -> ContainerObservation:
    """The observation of one container status."""
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated") or {}
    name = next((key for key in ("running", "waiting", "terminated") if key in state), "unknown")
    current = state.get(name) or {}
    return ContainerObservation(
        name=status.get("name", ""),
        is_init=is_init,
        ready=bool(status.get("ready")),
        restart_count=int(status.get("restartCount", 0)),
        state=name,
        reason=current.get("reason"),
        exit_code=current.get("exitCode"),
        last_terminated_reason=last.get("reason"),
        last_terminated_at=parse_timestamp(last.get("finishedAt")),
    )
