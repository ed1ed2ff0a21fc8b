"""The exceptions of kubemedic.

::

    KubemedicError
    ├── TemporaryError        retry later; ``delay`` says when
    │   ├── ConflictError     the object changed under us (HTTP 409)
    │   └── UnavailableError  a dependency (API server, Prometheus, a receiver) is down
    └── PermanentError        retrying the same call will not help
        ├── NotFoundError     the object is gone (HTTP 404)
        ├── RefusedError      the API refused on purpose (PDB 429, forbidden, invalid)
        └── InvalidPolicyError  a policy that passed admission is still unusable

Clients translate foreign exceptions (``kubernetes.client.ApiException``,
``httpx.HTTPError``, ``prometheus_api_client`` errors) into these at the
boundary, so the domain and the handlers never see a library's exception.
Messages say what happened and, where a human can act, what to do.
"""

from __future__ import annotations


class KubemedicError(Exception):
    """The root of kubemedic's own exceptions."""


class TemporaryError(KubemedicError):
    """A failure that may go away by itself; retry after ``delay`` seconds."""

    def __init__(self, message: str, *, delay: float = 5.0) -> None:
        super().__init__(message)
        self.delay = delay


class ConflictError(TemporaryError):
    """The object changed between our read and our write."""


class UnavailableError(TemporaryError):
    """A dependency did not answer or answered with a server error."""


class PermanentError(KubemedicError):
    """A failure that the same call will meet again."""


class NotFoundError(PermanentError):
    """The object does not exist (any more)."""


class RefusedError(PermanentError):
    """The API refused the request on purpose, e.g. a PodDisruptionBudget (429)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class InvalidPolicyError(PermanentError):
    """A RemediationPolicy cannot be used as written; the message says what to fix."""
