"""The local Prometheus scrapes test exporters and survives a restart."""

from __future__ import annotations

from support.exporters import Exporter
from support.prometheuses import PrometheusServer


def test_prometheus_scrapes_a_value_set_by_the_test(
    prometheus: PrometheusServer, exporter: Exporter
) -> None:
    labels = {"namespace": "shop", "deployment": "api"}
    exporter.gauge("http_error_ratio", labels=labels).set(0.3)

    samples = prometheus.wait_for(
        f'http_error_ratio{{namespace="shop", instance="{exporter.target}"}}'
    )

    assert len(samples) == 1
    assert samples[0]["metric"]["deployment"] == "api"
    assert float(samples[0]["value"][1]) == 0.3


def test_prometheus_sees_a_changed_value(prometheus: PrometheusServer, exporter: Exporter) -> None:
    gauge = exporter.gauge("queue_depth", labels={"queue": "orders"})
    gauge.set(1)
    query = f'queue_depth{{instance="{exporter.target}"}}'
    prometheus.wait_for(query)

    gauge.set(42)
    samples = prometheus.wait_for(query, predicate=lambda s: s[0]["value"][1] == "42")

    assert float(samples[0]["value"][1]) == 42


def test_prometheus_comes_back_on_the_same_url_with_its_data(
    prometheus: PrometheusServer, exporter: Exporter
) -> None:
    exporter.counter("restarts_seen").inc(7)
    query = f'restarts_seen_total{{instance="{exporter.target}"}}'
    prometheus.wait_for(query)

    prometheus.stop()
    prometheus.start()
    samples = prometheus.wait_for(f"max_over_time({query}[5m])")

    assert float(samples[0]["value"][1]) == 7
