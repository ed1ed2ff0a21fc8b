"""Reading keys of Secrets from the Kubernetes API.

Policies name their credentials by ``SecretKeyRef`` and never hold them; this
client reads one key when it is needed, so a rotated Secret takes effect at
the next notification. It uses the synchronous ``kubernetes`` client in a
worker thread, off the event loop, and translates its exceptions::

    404 (no such Secret, or no such key)    -> NotFoundError
    401, 403 and other refusals             -> RefusedError
    429, 5xx, the API server unreachable    -> UnavailableError

Values are never logged; messages name the Secret and the key only.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging

import urllib3.exceptions
from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException

from kubemedic.api.common import SecretKeyRef
from kubemedic.errors import (
    KubemedicError,
    NotFoundError,
    PermanentError,
    RefusedError,
    UnavailableError,
)

logger = logging.getLogger(__name__)


class KubernetesSecretResolver:
    """Reads keys of Secrets through a ``CoreV1Api``; a ``SecretResolver``.

    ::

        secrets = KubernetesSecretResolver(CoreV1Api())
        url = await secrets.read("shop", SecretKeyRef(name="slack", key="url"))

    Surrounding whitespace is stripped from the value: a trailing newline is
    what ``echo url > file`` leaves, and no URL, key or header value keeps it.
    """

    def __init__(self, core: CoreV1Api) -> None:
        self._core = core

    async def read(self, namespace: str, ref: SecretKeyRef) -> str:
        """The value of ``ref`` in ``namespace``, decoded as UTF-8 text."""
        logger.debug("Reading key %s of Secret %s/%s", ref.key, namespace, ref.name)
        try:
            secret = await asyncio.to_thread(self._core.read_namespaced_secret, ref.name, namespace)
        except ApiException as error:
            raise _translate(error, namespace, ref) from error
        except urllib3.exceptions.HTTPError as error:
            raise UnavailableError(
                f"Could not read Secret {namespace}/{ref.name}: the API server did not answer "
                f"({type(error).__name__})"
            ) from error

        # A missing key is as much the user's to fix as a missing Secret.
        data = secret.data or {}
        if ref.key not in data:
            keys = ", ".join(sorted(data)) or "none"
            raise NotFoundError(
                f"Secret {namespace}/{ref.name} has no key {ref.key} (it has: {keys}); add the "
                "key to the Secret, or name one of its keys in the policy"
            )
        try:
            return base64.b64decode(data[ref.key], validate=True).decode("utf-8").strip()
        except (binascii.Error, UnicodeDecodeError) as error:
            raise PermanentError(
                f"Key {ref.key} of Secret {namespace}/{ref.name} is not UTF-8 text; store the "
                "value as plain text (stringData)"
            ) from error


def _translate(error: ApiException, namespace: str, ref: SecretKeyRef) -> KubemedicError:
    secret = f"Secret {namespace}/{ref.name}"
    status = error.status or 0
    if status == 404:
        return NotFoundError(
            f"{secret} does not exist; create it with the key {ref.key}, e.g. kubectl -n "
            f"{namespace} create secret generic {ref.name} --from-literal={ref.key}=..."
        )
    if status in (401, 403):
        return RefusedError(
            f"The operator may not read {secret} (HTTP {status}); grant its ServiceAccount "
            f"get on secrets in namespace {namespace}",
            status=status,
        )
    if status == 429 or status >= 500 or status == 0:
        return UnavailableError(f"Could not read {secret}: the API server answered HTTP {status}")
    return RefusedError(
        f"Could not read {secret}: the API server refused with HTTP {status} ({error.reason})",
        status=status,
    )
