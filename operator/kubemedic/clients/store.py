"""Reading and writing our own custom resources, and posting Events.

Incidents are read fresh before every change (a GET, not a cache), changed
through the domain and written back whole: ``status`` through the status
subresource as a merge patch of the entire status (lists are replaced, so
nothing half-merged remains). Writes carry the ``resourceVersion`` they were
based on, so a concurrent writer makes ours fail with a conflict instead of
being overwritten.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from kubemedic import GROUP, VERSION, failpoints
from kubemedic.api.incidents import Incident, IncidentStatus
from kubemedic.api.policies import RemediationPolicyStatus
from kubemedic.clients.apiserver import AlreadyExistsError, ApiServer, Body, resource_path
from kubemedic.domain.fingerprints import LABEL_FINGERPRINT, LABEL_POLICY, fingerprint_hash
from kubemedic.errors import KubemedicError, NotFoundError

logger = logging.getLogger(__name__)

API_VERSION = f"{GROUP}/{VERSION}"
COMPONENT = "kubemedic"


def incidents_path(namespace: str, name: str | None = None, *, status: bool = False) -> str:
    """The path of the incidents of a namespace, one of them, or its status."""
    return resource_path(
        API_VERSION,
        "incidents",
        namespace=namespace,
        name=name,
        subresource="status" if status else None,
    )


def policies_path(namespace: str, name: str | None = None, *, status: bool = False) -> str:
    """The path of the policies of a namespace, one of them, or its status."""
    return resource_path(
        API_VERSION,
        "remediationpolicies",
        namespace=namespace,
        name=name,
        subresource="status" if status else None,
    )


class Store:
    """Incidents, policies and Events, over the API server."""

    def __init__(self, server: ApiServer) -> None:
        self.server = server

    # --- Incidents ---------------------------------------------------------------------------

    async def read_incident(self, namespace: str, name: str) -> Incident:
        """The incident as stored now."""
        return Incident.from_wire(await self.server.get(incidents_path(namespace, name)))

    async def list_by_fingerprint(self, namespace: str, fingerprint: str) -> list[Incident]:
        """Incidents of one fingerprint, newest first."""
        selector = f"{LABEL_FINGERPRINT}={fingerprint_hash(fingerprint)}"
        items = await self.server.list(incidents_path(namespace), label_selector=selector)
        incidents = [Incident.from_wire(i) for i in items]
        incidents = [i for i in incidents if i.spec.fingerprint == fingerprint]
        return sorted(incidents, key=_created, reverse=True)

    async def list_by_policy(self, namespace: str, policy: str) -> list[Incident]:
        """Every incident a policy opened."""
        items = await self.server.list(
            incidents_path(namespace), label_selector=f"{LABEL_POLICY}={policy}"
        )
        return [Incident.from_wire(i) for i in items]

    async def create_incident(self, incident: Incident, *, owner: Body | None) -> Incident:
        """Create the incident and then its status (the create ignores status).

        Raises ``AlreadyExistsError`` when an incident of that name exists.
        """
        namespace = str(incident.metadata["namespace"])
        body = incident.to_wire()
        status = body.pop("status", None)
        if owner is not None:
            body["metadata"]["ownerReferences"] = [
                {
                    "apiVersion": API_VERSION,
                    "kind": "RemediationPolicy",
                    "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"],
                    "blockOwnerDeletion": False,
                }
            ]
        created = await self.server.create(incidents_path(namespace), body)
        failpoints.hit("after-incident-object")
        name = created["metadata"]["name"]
        patch = {
            "metadata": {"resourceVersion": created["metadata"]["resourceVersion"]},
            "status": status,
        }
        stored = await self.server.patch(
            incidents_path(namespace, name, status=True), patch, kind="merge"
        )
        return Incident.from_wire(stored)

    async def write_status(self, incident: Incident, status: IncidentStatus) -> Incident:
        """Replace the incident's status, based on the version it was read at."""
        namespace = str(incident.metadata["namespace"])
        name = str(incident.metadata["name"])
        patch: dict[str, Any] = {"status": _status_patch(incident.status.to_wire(), status)}
        version = incident.metadata.get("resourceVersion")
        if version:
            patch["metadata"] = {"resourceVersion": version}
        stored = await self.server.patch(
            incidents_path(namespace, name, status=True), patch, kind="merge"
        )
        return Incident.from_wire(stored)

    # --- Policies ---------------------------------------------------------------------------

    async def write_policy_status(
        self, namespace: str, name: str, old: Body, status: RemediationPolicyStatus
    ) -> None:
        """Replace a policy's status (only what changed is sent)."""
        patch = {"status": _status_patch(old, status)}
        try:
            await self.server.patch(
                policies_path(namespace, name, status=True), patch, kind="merge"
            )
        except NotFoundError:
            logger.debug(
                "RemediationPolicy %s/%s is gone; its status is not written", namespace, name
            )

    # --- Events -----------------------------------------------------------------------------

    async def post_event(
        self,
        involved: Body,
        *,
        type_: str,
        reason: str,
        message: str,
        now: datetime.datetime,
    ) -> None:
        """Post a core/v1 Event about ``involved`` (an object body or a reference).

        Failing to post is logged, never raised: an Event is a courtesy, and
        the same facts are in the incident's status.
        """
        metadata = involved.get("metadata") or {}
        namespace = metadata.get("namespace") or involved.get("namespace") or "default"
        name = metadata.get("name") or involved.get("name")
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{name}.", "namespace": namespace},
            "involvedObject": {
                "apiVersion": involved.get("apiVersion"),
                "kind": involved.get("kind"),
                "name": name,
                "namespace": namespace,
                "uid": metadata.get("uid") or involved.get("uid"),
            },
            "type": type_,
            "reason": reason,
            "message": message[:1024],
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": COMPONENT,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        try:
            await self.server.create(resource_path("v1", "events", namespace=namespace), event)
        except KubemedicError as exc:
            logger.warning(
                "Posting Event %s about %s %s/%s failed: %s",
                reason,
                involved.get("kind"),
                namespace,
                name,
                exc,
            )


def _status_patch(old: Body, new: IncidentStatus | RemediationPolicyStatus) -> Body:
    # NB: a merge patch leaves out keys it does not name; a field that became
    # unset must be sent as null to be removed.
    wire = new.to_wire()
    for key in old:
        if key not in wire:
            wire[key] = None
    return wire


def _created(incident: Incident) -> str:
    return str(incident.metadata.get("creationTimestamp") or "")


__all__ = ["AlreadyExistsError", "Store", "incidents_path", "policies_path"]
