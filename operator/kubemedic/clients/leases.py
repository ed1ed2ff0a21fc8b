"""Leader election with a coordination.k8s.io Lease.

Two replicas of the operator must never both act. The replica that holds
the Lease runs the handlers; the others wait. The holder renews the Lease
every few seconds; a replica takes over only when the Lease has not been
renewed for its whole duration. Writes carry the Lease's resourceVersion, so
two candidates racing for an expired Lease cannot both win.

A holder that fails to renew before its Lease expires stops acting at once
(the caller stops the operator and exits), so that a replica cut off from
the API server cannot keep acting after another has taken over.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from typing import Any

from kubemedic.clients.apiserver import AlreadyExistsError, ApiServer, resource_path
from kubemedic.errors import ConflictError, KubemedicError, NotFoundError

logger = logging.getLogger(__name__)


class LeaderElector:
    """Acquires and keeps a Lease for one identity."""

    def __init__(
        self,
        server: ApiServer,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_seconds: int = 15,
        renew_seconds: float = 5.0,
        retry_seconds: float = 2.0,
    ) -> None:
        self._server = server
        self._namespace = namespace
        self._name = name
        self.identity = identity
        self._lease_seconds = lease_seconds
        self._renew_seconds = renew_seconds
        self._retry_seconds = retry_seconds
        self._path = resource_path(
            "coordination.k8s.io/v1", "leases", namespace=namespace, name=name
        )

    async def acquire(self) -> None:
        """Wait until this identity holds the Lease."""
        announced = False
        while True:
            try:
                if await self._try_acquire():
                    logger.info(
                        "Acquired Lease %s/%s as %s", self._namespace, self._name, self.identity
                    )
                    return
            except KubemedicError as exc:
                logger.warning("Acquiring Lease %s/%s failed: %s", self._namespace, self._name, exc)
            if not announced:
                logger.info(
                    "Waiting for Lease %s/%s, held by another replica", self._namespace, self._name
                )
                announced = True
            await asyncio.sleep(self._retry_seconds)

    async def hold(self) -> None:
        """Renew the Lease until it is lost; returns when it is."""
        last_renewal = asyncio.get_running_loop().time()
        while True:
            await asyncio.sleep(self._renew_seconds)
            try:
                if await self._try_acquire():
                    last_renewal = asyncio.get_running_loop().time()
                    continue
                logger.error("Lost Lease %s/%s to another replica", self._namespace, self._name)
                return
            except KubemedicError as exc:
                logger.warning("Renewing Lease %s/%s failed: %s", self._namespace, self._name, exc)
            # NB: stop before the Lease can expire, not after: a margin of one renewal.
            elapsed = asyncio.get_running_loop().time() - last_renewal
            if elapsed > self._lease_seconds - self._renew_seconds:
                logger.error(
                    "Could not renew Lease %s/%s for %.0fs; stopping",
                    self._namespace,
                    self._name,
                    elapsed,
                )
                return

    async def release(self) -> None:
        """Give the Lease up so a standby takes over at once."""
        try:
            lease = await self._server.get(self._path)
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"]["holderIdentity"] = None
            lease["spec"]["leaseDurationSeconds"] = 1
            await self._server.request("PUT", self._path, body=lease)
            logger.info("Released Lease %s/%s", self._namespace, self._name)
        except KubemedicError as exc:
            logger.warning("Releasing Lease %s/%s failed: %s", self._namespace, self._name, exc)

    async def _try_acquire(self) -> bool:
        now = datetime.datetime.now(datetime.UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        try:
            lease = await self._server.get(self._path)
        except NotFoundError:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self._name, "namespace": self._namespace},
                "spec": self._spec(stamp, acquire=stamp, transitions=0),
            }
            try:
                await self._server.create(
                    resource_path("coordination.k8s.io/v1", "leases", namespace=self._namespace),
                    body,
                )
            except AlreadyExistsError:
                return False
            return True

        spec: dict[str, Any] = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        if holder and holder != self.identity and not _is_expired(spec, now):
            return False
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder == self.identity:
            new_spec = self._spec(
                stamp, acquire=spec.get("acquireTime") or stamp, transitions=transitions
            )
        else:
            new_spec = self._spec(stamp, acquire=stamp, transitions=transitions + 1)
        lease["spec"] = new_spec
        try:
            await self._server.request("PUT", self._path, body=lease)
        except ConflictError:
            return False
        return True

    def _spec(self, renew: str, *, acquire: str, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self._lease_seconds,
            "acquireTime": acquire,
            "renewTime": renew,
            "leaseTransitions": transitions,
        }


def _is_expired(spec: dict[str, Any], now: datetime.datetime) -> bool:
    renew = spec.get("renewTime")
    if not renew:
        return True
    renewed = datetime.datetime.fromisoformat(str(renew).replace("Z", "+00:00"))
    duration = datetime.timedelta(seconds=int(spec.get("leaseDurationSeconds") or 15))
    return now > renewed + duration
