"""Plain JSON requests to the Kubernetes API server, with our exceptions.

The generated ``kubernetes`` client maps every object to a model class and
picks a patch content type by guessing from the body. The actions need the
opposite: objects as the API server writes them (camelCase dicts, unknown
fields kept), the patch type chosen on purpose (JSON patch to replace a pod
template, merge patch elsewhere) and ``dryRun=All`` on any call. So this
module borrows only the client's configuration, authentication and
connection pool, and sends the requests itself.

Every call runs the blocking client in a worker thread, so the event loop of
the kopf handlers keeps turning, and translates failures at this boundary:

- 404 → ``NotFoundError``;
- 409 → ``ConflictError``, or its ``AlreadyExistsError`` when a create
  meets an object of the same name;
- 429 and other refusals (400, 401, 403, 422, ...) → ``RefusedError`` with
  the API's own message and the status;
- 5xx, timeouts and broken connections → ``UnavailableError``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any, Literal

import kubernetes.client
import urllib3

from kubemedic.errors import (
    ConflictError,
    KubemedicError,
    NotFoundError,
    RefusedError,
    UnavailableError,
)

logger = logging.getLogger(__name__)

Body = dict[str, Any]
Bodies = list[Body]  # NB: the alias keeps ApiServer.list from shadowing the builtin
PatchType = Literal["merge", "json", "strategic"]

PATCH_CONTENT_TYPES: Mapping[PatchType, str] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}
REQUEST_TIMEOUT_SECONDS = 30.0


class AlreadyExistsError(ConflictError):
    """A create met an object of the same name (HTTP 409, reason AlreadyExists).

    For an object named after an action key, this is the evidence that the
    action already ran.
    """


def resource_path(
    api_version: str,
    plural: str,
    *,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """The URL path of a collection, an object or a subresource.

    ``api_version`` is ``v1`` for the core group, ``group/version`` otherwise.
    """
    root = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    parts = [root]
    if namespace is not None:
        parts.append(f"namespaces/{namespace}")
    parts.append(plural)
    if name is not None:
        parts.append(name)
    if subresource is not None:
        parts.append(subresource)
    return "/".join(parts)


class ApiServer:
    """The requests the operator sends, as coroutines over plain dicts."""

    def __init__(self, api: kubernetes.client.ApiClient) -> None:
        self._api = api

    async def get(self, path: str, *, query: Mapping[str, str] | None = None) -> Body:
        return await self.request("GET", path, query=query)

    async def list(self, path: str, *, label_selector: str | None = None) -> Bodies:
        """The items of a collection, in one page (no ``limit`` is sent)."""
        query = {"labelSelector": label_selector} if label_selector else None
        items: Bodies = (await self.get(path, query=query)).get("items") or []
        return items

    async def create(self, path: str, body: Body, *, dry_run: bool = False) -> Body:
        return await self.request("POST", path, body=body, dry_run=dry_run)

    async def patch(
        self, path: str, body: Body | Bodies, *, kind: PatchType, dry_run: bool = False
    ) -> Body:
        return await self.request(
            "PATCH", path, body=body, dry_run=dry_run, content_type=PATCH_CONTENT_TYPES[kind]
        )

    async def delete(self, path: str, *, body: Body | None = None, dry_run: bool = False) -> Body:
        return await self.request("DELETE", path, body=body, dry_run=dry_run)

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Body | Bodies | None = None,
        dry_run: bool = False,
        content_type: str = "application/json",
    ) -> Body:
        """Send one request and return the decoded JSON answer."""
        params = dict(query or {})
        if dry_run:
            params["dryRun"] = "All"
        return await asyncio.to_thread(self._send, method, path, params, body, content_type)

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        body: Body | Bodies | None,
        content_type: str,
    ) -> Body:
        # Let the generated client build the URL and the authentication
        # headers, so that every kubeconfig and in-cluster setup it supports
        # works here too.
        serialized = self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list(query.items()),
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body,
            auth_settings=["BearerToken"],
        )
        url, headers, payload = serialized[1], serialized[2], serialized[3]

        try:
            response = self._api.call_api(
                method,
                url,
                header_params=headers,
                body=payload,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
            data = response.read()  # type: ignore[no-untyped-call]
        except kubernetes.client.ApiException as exc:
            raise translate_error(exc.status or 0, exc.body, method=method, path=path) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise UnavailableError(
                f"{method} {path}: the API server did not answer: {exc}"
            ) from exc

        text = data.decode("utf-8") if data else ""
        if not 200 <= response.status <= 299:
            raise translate_error(response.status, text, method=method, path=path)
        decoded: Body = json.loads(text) if text else {}
        return decoded


def translate_error(status: int, body: str | None, *, method: str, path: str) -> KubemedicError:
    """Our exception for an API server's failed answer."""
    message, reason = read_status(body)
    described = f"{method} {path}: {message or f'HTTP {status}'}"
    if status == 404:
        return NotFoundError(described)
    if status == 409 and reason == "AlreadyExists":
        return AlreadyExistsError(described)
    if status == 409:
        return ConflictError(described, delay=1.0)
    if status == 0 or status >= 500:
        return UnavailableError(described)
    return RefusedError(message or described, status=status)


def read_status(body: str | None) -> tuple[str, str]:
    """The message (with its causes) and the reason of a metav1.Status body."""
    try:
        status = json.loads(body or "")
    except ValueError:
        return (body or "").strip(), ""
    if not isinstance(status, dict):
        return str(status), ""
    message = str(status.get("message") or "").rstrip(".")
    causes = [
        str(cause.get("message")).rstrip(".")
        for cause in (status.get("details") or {}).get("causes") or []
        if cause.get("message") and str(cause.get("message")).rstrip(".") not in message
    ]
    if causes:
        message = f"{message}: {'; '.join(causes)}"
    return message, str(status.get("reason") or "")
