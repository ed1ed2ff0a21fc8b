"""Delivering notices to Slack, PagerDuty and generic webhooks over HTTP.

The ``Notifier`` is the I/O half of ``kubemedic.domain.notices``: the domain
says whom to tell and what to send; the Notifier reads the receiver's Secrets,
posts the body and says how it went. Create it once at startup, as it pools
connections in one ``httpx.AsyncClient``, and close it at cleanup::

    notifier = Notifier(KubernetesSecretResolver(CoreV1Api()))
    result = await notifier.deliver(receiver, notice, namespace="shop", key=key)
    if not result.delivered and result.retry_after is not None:
        ...  # temporary: try again later (do not record it as sent)
    await notifier.aclose()

Failures come back as a ``DeliveryResult``, never as an exception, with a
message for the Incident's status that says what to fix:

- a server error (5xx), a rate limit (429) or a connection that failed or
  timed out is retried within ``deliver``, after the pause the receiver asked
  for in ``Retry-After`` or else an exponential backoff; when the attempts run
  out, or the receiver asks for a longer pause than ``Retries.max_delay``, the
  result carries ``retry_after``, the pause before the caller tries again;
- any other answer but 2xx, a missing Secret or a bad URL is permanent and
  not retried: ``retry_after`` is None.

NB: a Slack webhook URL holds its credential in its path, so logs and
messages name a receiver by its name and host, and every Secret value is
scrubbed from the text of the receivers' answers before it is shown.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import email.utils
import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final, Protocol, Self

import httpx

from kubemedic import __version__
from kubemedic.api.common import SecretKeyRef
from kubemedic.api.policies import Receiver, ReceiverType
from kubemedic.domain.notices import Notice, pagerduty_event, slack_message, webhook_document
from kubemedic.errors import PermanentError, RefusedError, TemporaryError, UnavailableError

logger = logging.getLogger(__name__)

PAGERDUTY_EVENTS_URL: Final = "https://events.pagerduty.com/v2/enqueue"
USER_AGENT: Final = f"kubemedic/{__version__}"
ANSWER_EXCERPT_LIMIT: Final = 200


class SecretResolver(Protocol):
    """Where the Notifier reads the Secret keys that receivers refer to."""

    async def read(self, namespace: str, ref: SecretKeyRef) -> str:
        """The value of ``ref`` in ``namespace``.

        Raises NotFoundError (no such Secret or key), RefusedError (not
        allowed) or UnavailableError (try again later).
        """
        ...


@dataclasses.dataclass(frozen=True)
class DeliveryResult:
    """How one delivery went: delivered, or why not.

    ``retry_after`` is set on temporary failures only: the seconds to wait
    before the same notification is tried again.
    """

    delivered: bool
    message: str
    retry_after: float | None = None


@dataclasses.dataclass(frozen=True)
class Retries:
    """How hard ``deliver`` tries before it gives up for now."""

    attempts: int = 3
    backoff_seconds: float = 0.5
    max_delay_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"Retries needs at least one attempt, not {self.attempts}")

    def backoff(self, attempt: int) -> float:
        """The pause after the ``attempt``-th failure (1-based): 0.5s, 1s, 2s, ..."""
        return min(self.backoff_seconds * 2.0 ** (attempt - 1), self.max_delay_seconds)


@dataclasses.dataclass(frozen=True)
class _Post:
    """One request ready to go, and what must never be shown of it."""

    url: str
    body: dict[str, Any]
    headers: Mapping[str, str]
    secrets: tuple[str, ...]


class Notifier:
    """Posts notices to receivers through one shared ``httpx.AsyncClient``."""

    def __init__(
        self,
        secrets: SecretResolver,
        *,
        client: httpx.AsyncClient | None = None,
        retries: Retries = Retries(),
        timeout_seconds: float = 10.0,
        pagerduty_url: str = PAGERDUTY_EVENTS_URL,
    ) -> None:
        self._secrets = secrets
        self._retries = retries
        self._pagerduty_url = pagerduty_url
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=5),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections, unless the client was passed in by the caller."""
        if self._owns_client:
            await self._client.aclose()

    async def deliver(
        self, receiver: Receiver, notice: Notice, *, namespace: str, key: str | None = None
    ) -> DeliveryResult:
        """Send ``notice`` to ``receiver``, reading its Secrets in ``namespace``.

        ``key``, the notification key, goes to webhooks as ``Idempotency-Key``
        so that a receiver can drop a repeat of a delivery it already has.
        """
        described = f"{receiver.type} receiver {receiver.name}"

        # Secrets are read at every delivery, so a rotated one takes effect.
        try:
            post = await self._prepare(receiver, notice, namespace=namespace, key=key)
        except TemporaryError as error:
            logger.warning("Could not prepare the notice for %s: %s", described, error)
            return DeliveryResult(False, f"{described}: {error}", retry_after=error.delay)
        except PermanentError as error:
            logger.error("Could not prepare the notice for %s: %s", described, error)
            return DeliveryResult(False, f"{described}: {error}")

        destination = f"{described} at {_host_of(post.url)}"
        logger.info("Sending %s of %s to %s", notice.event, notice.incident, destination)
        try:
            await self._post(post, destination=destination)
        except TemporaryError as error:
            logger.error("Giving up on %s for now: %s", destination, error)
            return DeliveryResult(False, str(error), retry_after=error.delay)
        except PermanentError as error:
            logger.error("Failed to notify %s: %s", destination, error)
            return DeliveryResult(False, str(error))
        return DeliveryResult(True, f"Delivered to {destination}")

    async def _prepare(
        self, receiver: Receiver, notice: Notice, *, namespace: str, key: str | None
    ) -> _Post:
        if receiver.type == ReceiverType.SLACK and receiver.slack is not None:
            ref = receiver.slack.webhook_url_secret_ref
            url = _require_url(await self._secrets.read(namespace, ref), namespace, ref)
            body = slack_message(notice, channel=receiver.slack.channel)
            return _Post(url=url, body=body, headers={}, secrets=_secrets_of_url(url))

        if receiver.type == ReceiverType.PAGER_DUTY and receiver.pager_duty is not None:
            ref = receiver.pager_duty.routing_key_secret_ref
            routing_key = await self._secrets.read(namespace, ref)
            url = receiver.pager_duty.url or self._pagerduty_url
            body = pagerduty_event(notice, routing_key=routing_key)
            return _Post(url=url, body=body, headers={}, secrets=(routing_key,))

        if receiver.type == ReceiverType.WEBHOOK and receiver.webhook is not None:
            webhook = receiver.webhook
            secrets: list[str] = []
            if webhook.url_secret_ref is not None:
                ref = webhook.url_secret_ref
                url = _require_url(await self._secrets.read(namespace, ref), namespace, ref)
                secrets.extend(_secrets_of_url(url))
            else:
                url = webhook.url or ""
            headers = {"X-Kubemedic-Event": str(notice.event)}
            if key:
                headers["Idempotency-Key"] = key
            authorization_ref = webhook.authorization_secret_ref
            if authorization_ref is not None:
                authorization = await self._secrets.read(namespace, authorization_ref)
                headers["Authorization"] = authorization
                secrets.append(authorization)
            body = webhook_document(notice)
            return _Post(url=url, body=body, headers=headers, secrets=tuple(secrets))

        # NB: the Receiver model refuses a type without its block; this is a
        # receiver type added to the API but not yet here.
        raise PermanentError(f"receivers of type {receiver.type} cannot be delivered to yet")

    async def _post(self, post: _Post, *, destination: str) -> None:
        """Post until delivered; raise the last failure when retrying is over."""
        for attempt in range(1, self._retries.attempts + 1):
            failure = await self._attempt(post, destination=destination, attempt=attempt)
            if failure is None:
                return
            if isinstance(failure, PermanentError) or attempt == self._retries.attempts:
                raise failure

            # A pause longer than a handler should hold is left to the caller.
            if failure.delay > self._retries.max_delay_seconds:
                raise failure
            logger.warning(
                "Retrying %s in %.1fs (attempt %d of %d failed): %s",
                destination,
                failure.delay,
                attempt,
                self._retries.attempts,
                failure,
            )
            await asyncio.sleep(failure.delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _attempt(
        self, post: _Post, *, destination: str, attempt: int
    ) -> TemporaryError | PermanentError | None:
        """One request; the failure it met, translated, or None when delivered."""
        backoff = self._retries.backoff(attempt)
        try:
            response = await self._client.post(post.url, json=post.body, headers=post.headers)
        except httpx.TimeoutException as error:
            # NB: a read timeout may follow a delivery: Slack then shows the
            # notice twice; PagerDuty merges by dedup_key, and a webhook can
            # drop the repeat by its Idempotency-Key.
            return UnavailableError(
                f"{destination} did not answer within the timeout ({type(error).__name__})",
                delay=backoff,
            )
        except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as error:
            reason = _scrub(str(error), post.secrets) or type(error).__name__
            return UnavailableError(
                f"Could not connect to {destination}: {reason}; check that the receiver is "
                "running and reachable from the operator",
                delay=backoff,
            )
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return PermanentError(
                f"Could not send to {destination}: {type(error).__name__}; check its URL"
            )

        if response.is_success:
            logger.debug("Delivered to %s with HTTP %d", destination, response.status_code)
            return None
        answer = _scrub(" ".join(response.text.split()), post.secrets)[:ANSWER_EXCERPT_LIMIT]
        answered = f"{destination} answered HTTP {response.status_code}" + (
            f": {answer}" if answer else ""
        )
        if response.status_code == 429 or response.is_server_error:
            delay = _retry_after(response.headers.get("Retry-After"))
            return UnavailableError(answered, delay=backoff if delay is None else delay)
        return RefusedError(
            f"{answered}; {_advice_for(response.status_code)}", status=response.status_code
        )


def _host_of(url: str) -> str:
    try:
        return httpx.URL(url).host or "an invalid URL"
    except httpx.InvalidURL:
        return "an invalid URL"


def _require_url(value: str, namespace: str, ref: SecretKeyRef) -> str:
    if value.startswith(("https://", "http://")):
        return value
    raise PermanentError(
        f"Key {ref.key} of Secret {namespace}/{ref.name} does not hold an http(s) URL; store "
        "the full URL there"
    )


def _retry_after(value: str | None) -> float | None:
    """The pause a ``Retry-After`` header asks for: seconds, or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max((when - datetime.datetime.now(datetime.UTC)).total_seconds(), 0.0)


def _advice_for(status: int) -> str:
    if 300 <= status < 400:
        return "the receiver redirects; configure the URL it redirects to"
    if status in (401, 403):
        return "the receiver refused the credentials; check the Secret the receiver refers to"
    if status in (404, 410):
        return (
            "the URL is gone (a revoked Slack webhook or an archived channel answers so); "
            "create a new one and update the Secret"
        )
    return "the receiver rejected the notification; check the receiver's type and URL"


def _secrets_of_url(url: str) -> tuple[str, ...]:
    """The parts of a URL read from a Secret that may be its credential.

    A Slack webhook URL carries its token as the last segment of the path,
    which a receiver may echo without the rest of the URL.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return (url,)
    segments = [segment for segment in parsed.path.split("/") if len(segment) >= 8]
    query = parsed.query.decode(errors="replace")
    return (url, parsed.path, *segments, *([query] if query else []))


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    # NB: longest first, so a whole URL goes before the path it contains.
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "<secret>")
    return text
