"""Reading incidents and policies in tests, and waiting for them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kubernetes.client import ApiClient, CustomObjectsApi

GROUP, VERSION = "kubemedic.io", "v1alpha1"


def create_policy(api: ApiClient, namespace: str, policy: dict[str, Any]) -> dict[str, Any]:
    body: Any = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "RemediationPolicy", **policy}
    created: dict[str, Any] = CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "remediationpolicies", body, field_validation="Strict"
    )
    return created


def list_incidents(api: ApiClient, namespace: str) -> list[dict[str, Any]]:
    result: Any = CustomObjectsApi(api).list_namespaced_custom_object(
        GROUP, VERSION, namespace, "incidents"
    )
    items: list[dict[str, Any]] = result["items"]
    return items


def read_policy(api: ApiClient, namespace: str, name: str) -> dict[str, Any]:
    result: dict[str, Any] = CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "remediationpolicies", name
    )
    return result


def patch_incident(api: ApiClient, namespace: str, name: str, patch: dict[str, Any]) -> None:
    body: Any = patch
    CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "incidents", name, body
    )


def wait_for(
    probe: Callable[[], Any], *, timeout: float, interval: float = 0.2, what: str = "condition"
) -> Any:
    """Call ``probe`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def wait_for_incidents(
    api: ApiClient,
    namespace: str,
    *,
    count: int = 1,
    timeout: float = 30.0,
    where: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> list[dict[str, Any]]:
    # NB: an incident is created in two writes; one without status yet is
    # not there for a test, which would read half of it.
    def probe() -> list[dict[str, Any]] | None:
        found = [
            i
            for i in list_incidents(api, namespace)
            if (i.get("status") or {}).get("detectedAt") and where(i)
        ]
        return found if len(found) >= count else None

    result: list[dict[str, Any]] = wait_for(probe, timeout=timeout, what=f"{count} incidents")
    return result


def phase_of(incident: dict[str, Any]) -> str | None:
    phase: str | None = (incident.get("status") or {}).get("phase")
    return phase


def timeline_types(incident: dict[str, Any]) -> list[str]:
    return [e["type"] for e in (incident.get("status") or {}).get("timeline", [])]
