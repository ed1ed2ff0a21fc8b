"""What the operator saw of a workload and its pods at one moment.

These are plain frozen dataclasses filled by the clients from the live
objects, so that the health and rail decisions of the domain read a workload
without touching the Kubernetes library. Counts the API leaves out (a
fresh ``status``) are zero; times are timezone-aware UTC.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ContainerObservation:
    """One container of a pod (init containers included, marked as such)."""

    name: str
    is_init: bool
    ready: bool
    restart_count: int
    state: str  # "running", "waiting", "terminated" or "unknown"
    reason: str | None = None  # of the waiting or terminated state, e.g. CrashLoopBackOff
    exit_code: int | None = None  # of the terminated state
    last_terminated_reason: str | None = None  # e.g. OOMKilled
    last_terminated_at: datetime.datetime | None = None


@dataclass(frozen=True)
class PodObservation:
    """One pod of a workload."""

    name: str
    uid: str
    phase: str  # Pending, Running, Succeeded, Failed or Unknown
    ready: bool
    created_at: datetime.datetime | None
    deletion_timestamp: datetime.datetime | None = None
    reason: str | None = None  # the pod's own status reason, e.g. Evicted
    node_name: str | None = None
    containers: tuple[ContainerObservation, ...] = ()

    @property
    def is_terminating(self) -> bool:
        return self.deletion_timestamp is not None

    @property
    def restart_count(self) -> int:
        """Restarts summed over the pod's containers."""
        return sum(container.restart_count for container in self.containers)


@dataclass(frozen=True)
class WorkloadObservation:
    """A Deployment, StatefulSet or DaemonSet and its pods.

    For a DaemonSet, ``desired_replicas`` is the number of nodes it should run
    on. For a target that is a single pod, ``kind`` is ``Pod``, the counts
    describe that pod alone (one desired replica) and ``pods`` holds it.
    """

    kind: str
    namespace: str
    name: str
    uid: str
    observed_at: datetime.datetime
    generation: int = 0
    observed_generation: int = 0
    desired_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    updated_replicas: int = 0
    paused: bool = False
    selector: str = ""  # the label selector in its string form, as for `kubectl -l`
    match_labels: dict[str, str] = field(default_factory=dict)
    pods: tuple[PodObservation, ...] = ()

    @property
    def display(self) -> str:
        """``Kind namespace/name``, as logs and messages name it."""
        return f"{self.kind} {self.namespace}/{self.name}"

    @property
    def is_generation_observed(self) -> bool:
        """Whether the controller has seen the latest spec."""
        return self.observed_generation >= self.generation

    @property
    def is_rollout_complete(self) -> bool:
        """Whether every desired replica runs the latest template and is available."""
        return (
            self.is_generation_observed
            and self.updated_replicas >= self.desired_replicas
            and self.available_replicas >= self.desired_replicas
        )
