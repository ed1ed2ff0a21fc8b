"""A real Prometheus exporter, served from a thread of the test process.

One HTTP server lives for the whole session, so Prometheus discovers it once
(target discovery takes about 5 s; a scrape takes 1 s). Each test gets an
`Exporter` with a registry of its own, which the server then serves: series
of the previous test disappear from Prometheus (they go stale) at the next
scrape.

    exporter.gauge("http_error_ratio", labels={"namespace": ns, "deployment": "api"}).set(0.3)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector


class ExporterServer(Collector):
    """Serves `/metrics` on `target` from whichever registry is current."""

    def __init__(self) -> None:
        self._registry = CollectorRegistry()
        self._server, self._thread = start_http_server(0, addr="127.0.0.1", registry=self)
        self.target = f"127.0.0.1:{self._server.server_port}"

    def collect(self) -> Iterable[Metric]:
        return self._registry.collect()

    def serve(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class Exporter:
    """This test's metrics, scraped as `instance="<target>"`."""

    def __init__(self, server: ExporterServer) -> None:
        self.registry = CollectorRegistry()
        self.target = server.target
        self._gauges: dict[str, Gauge] = {}
        self._counters: dict[str, Counter] = {}
        server.serve(self.registry)

    def gauge(self, name: str, *, labels: Mapping[str, str] | None = None) -> Gauge:
        """The gauge `name` with these label values; call `.set(value)` on it.

        NB: every use of one name must pass the same label names.
        """
        labels = dict(labels or {})
        if name not in self._gauges:
            self._gauges[name] = Gauge(
                name, f"Test gauge {name}", labelnames=sorted(labels), registry=self.registry
            )
        gauge = self._gauges[name]
        return gauge.labels(**labels) if labels else gauge

    def counter(self, name: str, *, labels: Mapping[str, str] | None = None) -> Counter:
        """The counter `name` (exposed as `name_total`); call `.inc(amount)`."""
        labels = dict(labels or {})
        if name not in self._counters:
            self._counters[name] = Counter(
                name, f"Test counter {name}", labelnames=sorted(labels), registry=self.registry
            )
        counter = self._counters[name]
        return counter.labels(**labels) if labels else counter
