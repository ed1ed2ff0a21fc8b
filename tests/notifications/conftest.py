"""Fixtures of the notification tests: a real local receiver and a Notifier."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from kubemedic.clients.notifying import Notifier, Retries

from .examples import InMemorySecrets
from .receivers import RecordingReceiver

SLACK_PATH = "/services/T0001/B0001/sEcReTtOkEn"
ROUTING_KEY = "0123456789abcdef0123456789abcdef"
AUTHORIZATION = "Bearer s3cr3t-t0ken"


@pytest.fixture
def receiver() -> Iterator[RecordingReceiver]:
    server = RecordingReceiver()
    yield server
    server.close()


@pytest.fixture
def secrets(receiver: RecordingReceiver) -> InMemorySecrets:
    return InMemorySecrets(
        {
            ("shop", "slack", "url"): f"{receiver.url}{SLACK_PATH}",
            ("shop", "pagerduty", "routing-key"): ROUTING_KEY,
            ("shop", "hook", "authorization"): AUTHORIZATION,
            ("shop", "hook", "url"): f"{receiver.url}/hooks/kubemedic",
        }
    )


@pytest.fixture
async def notifier(secrets: InMemorySecrets) -> AsyncIterator[Notifier]:
    retries = Retries(attempts=3, backoff_seconds=0.01, max_delay_seconds=5)
    async with Notifier(secrets, retries=retries, timeout_seconds=5) as notifier:
        yield notifier
