"""Queries to Prometheus through ``prometheus_api_client``.

The library is synchronous; every call runs in a worker thread so the event
loop keeps serving the watches. Its exceptions (and those of ``requests``
beneath it) become ``UnavailableError`` here, with the URL and the cause.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from typing import Any

from prometheus_api_client import PrometheusConnect

from kubemedic.errors import UnavailableError

logger = logging.getLogger(__name__)

Series = dict[str, Any]


class Prometheus:
    """One Prometheus server."""

    def __init__(self, url: str, *, timeout_seconds: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout_seconds
        self._connection = PrometheusConnect(url=self.url, disable_ssl=False)

    async def query_range(
        self,
        query: str,
        *,
        start: datetime.datetime,
        end: datetime.datetime,
        step_seconds: int,
    ) -> list[Series]:
        """A range query's ``matrix``: ``[{"metric": {...}, "values": [[t, "v"], ...]}]``."""
        return await asyncio.to_thread(
            self._call,
            self._connection.custom_query_range,
            query=query,
            start_time=start,
            end_time=end,
            step=str(step_seconds),
            params={"timeout": f"{int(self._timeout)}s"},
        )

    async def query(self, query: str) -> list[Series]:
        """An instant query's ``vector``: ``[{"metric": {...}, "value": [t, "v"]}]``."""
        return await asyncio.to_thread(
            self._call,
            self._connection.custom_query,
            query=query,
            params={"timeout": f"{int(self._timeout)}s"},
        )

    def _call(self, method: Any, **kwargs: Any) -> list[Series]:
        try:
            result = method(**kwargs)
        except Exception as exc:
            # NB: prometheus_api_client raises bare Exceptions of its own and
            # requests' errors; everything here means "no answer from Prometheus".
            raise UnavailableError(
                f"Prometheus at {self.url} did not answer the query: {_short(exc)}", delay=5.0
            ) from exc
        return list(result or [])


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."
