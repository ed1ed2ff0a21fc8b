"""Which workload owns a pod: Pod → ReplicaSet → Deployment, StatefulSet, DaemonSet.

A ReplicaSet's owner never changes, so its answer is cached (bounded); the
pod's own owner reference comes with the pod. A pod costs at most one GET,
once per ReplicaSet.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from typing import Any

from kubemedic.clients.apiserver import ApiServer, resource_path
from kubemedic.errors import NotFoundError

_CACHE_SIZE = 4096
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}


class OwnerResolver:
    """Resolves pods to the workloads that own them."""

    def __init__(self, server: ApiServer) -> None:
        self._server = server
        self._replica_sets: collections.OrderedDict[tuple[str, str], tuple[str, str] | None] = (
            collections.OrderedDict()
        )

    async def workload_of(self, pod: Mapping[str, Any]) -> tuple[str, str] | None:
        """``(kind, name)`` of the workload owning ``pod``, or None for a bare pod."""
        metadata = pod.get("metadata") or {}
        owner = _controller(metadata)
        if owner is None:
            return None
        kind, name = owner
        if kind in WORKLOAD_KINDS:
            return kind, name
        if kind != "ReplicaSet":
            return None
        return await self._owner_of_replica_set(str(metadata.get("namespace")), name)

    async def _owner_of_replica_set(self, namespace: str, name: str) -> tuple[str, str] | None:
        key = (namespace, name)
        if key in self._replica_sets:
            self._replica_sets.move_to_end(key)
            return self._replica_sets[key]
        try:
            body = await self._server.get(
                resource_path("apps/v1", "replicasets", namespace=namespace, name=name)
            )
        except NotFoundError:
            return None
        owner = _controller(body.get("metadata") or {})
        result = owner if owner is not None and owner[0] == "Deployment" else None
        self._replica_sets[key] = result
        if len(self._replica_sets) > _CACHE_SIZE:
            self._replica_sets.popitem(last=False)
        return result


def _controller(metadata: Mapping[str, Any]) -> tuple[str, str] | None:
    for reference in metadata.get("ownerReferences") or []:
        if reference.get("controller"):
            return str(reference.get("kind")), str(reference.get("name"))
    return None
