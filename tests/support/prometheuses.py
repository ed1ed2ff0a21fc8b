"""A handle on the local Prometheus started by `hack/devcluster`.

Prometheus scrapes every second whatever `targets.json` in its state folder
lists (file-based service discovery: it notices a rewrite within a second or
so). `stop()` and `start()` keep the port and the stored data, which is what a
test needs to check that the operator survives Prometheus going away.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from prometheus_api_client import PrometheusConnect

from support.devclusters import find_state_dir, run_devcluster

Sample = dict[str, Any]


class PrometheusServer:
    """The running Prometheus: its URL, scrape targets, lifecycle and queries.

    For example::

        prometheus.add_target("127.0.0.1:9100")
        samples = prometheus.wait_for('http_error_ratio{namespace="shop"}')
        assert samples[0]["value"][1] == "0.3"
    """

    def __init__(self, url: str, state_dir: Path) -> None:
        self.url = url
        self.state_dir = state_dir
        self._client = PrometheusConnect(url=url, disable_ssl=True)

    @classmethod
    def start_or_reuse(cls) -> PrometheusServer:
        url = run_devcluster("prometheus-up")
        return cls(url, find_state_dir() / "prometheus")

    @property
    def targets_file(self) -> Path:
        """This process's own file of targets: other sessions keep theirs."""
        return self.state_dir / "targets" / f"session-{os.getpid()}.json"

    @property
    def targets(self) -> list[str]:
        if not self.targets_file.exists():
            return []
        groups = json.loads(self.targets_file.read_text())
        return [target for group in groups for target in group["targets"]]

    def add_target(self, target: str) -> None:
        """Scrape `host:port` too; Prometheus notices within about 5 s."""
        self.set_targets([*[t for t in self.targets if t != target], target])

    def remove_target(self, target: str) -> None:
        self.set_targets([t for t in self.targets if t != target])

    def set_targets(self, targets: Sequence[str]) -> None:
        """Scrape exactly these `host:port` targets (of this process) from now on."""
        self.targets_file.parent.mkdir(parents=True, exist_ok=True)
        groups = [{"targets": list(targets), "labels": {}}] if targets else []

        # NB: write-then-rename, so Prometheus never reads half a file.
        tmp = self.targets_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(groups))
        tmp.replace(self.targets_file)

    def forget_targets(self) -> None:
        """Remove this process's file of targets."""
        self.targets_file.unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop the process; its port and data stay reserved for `start()`."""
        run_devcluster("prometheus-stop")

    def start(self) -> None:
        """Start it again on the same port with the same data."""
        url = run_devcluster("prometheus-up")
        assert url == self.url, f"Prometheus came back on {url}, not {self.url}"

    def query(self, promql: str) -> list[Sample]:
        """An instant query; one dict per series (`metric` and `value`)."""
        result: list[Sample] = self._client.custom_query(query=promql)
        return result

    def wait_for(
        self,
        promql: str,
        *,
        predicate: Callable[[list[Sample]], bool] = bool,
        timeout: float = 30.0,
    ) -> list[Sample]:
        """Query until `predicate` holds for the result (by default: any series).

        Prometheus' own errors while it starts up count as "not yet".
        """
        deadline = time.monotonic() + timeout
        last: list[Sample] | Exception = []
        while time.monotonic() < deadline:
            try:
                last = self.query(promql)
                if predicate(last):
                    return last
            except Exception as error:  # any failure here means: not yet
                last = error
            time.sleep(0.5)
        raise TimeoutError(f"After {timeout:.0f}s, {promql!r} still gives {last!r}")

    def wait_for_target_up(self, target: str, *, timeout: float = 30.0) -> None:
        """Wait until `target` has been scraped successfully at least once."""
        self.wait_for(f'up{{instance="{target}"}} == 1', timeout=timeout)
