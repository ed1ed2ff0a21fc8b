"""Fixtures for tests against the real local control plane and Prometheus.

Session-wide: `devcluster` (started by `hack/devcluster up`, or the cluster
of $KUBECONFIG_KUBEMEDIC), `kube_api`, `prometheus`. Per test: `namespace`
(a fresh one) and `exporter` (a real exporter that Prometheus scrapes).

The cluster and Prometheus are left running after the session, so a rerun
starts in seconds; `KUBEMEDIC_DEVCLUSTER_DOWN=1` stops them at the end
(`make test` and `.ci/run` run `hack/devcluster down` themselves).

A test that uses these fixtures is marked `cluster` or `prometheus` on its
own, so `pytest -m "not cluster and not prometheus"` runs only the fast tests.
When such a test fails, the report shows what each component logged during
that test (`logs/` in the devcluster's state folder).
"""

from __future__ import annotations

import os
import re
import sys
import time
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from kubernetes import config
from kubernetes.client import ApiClient, CoreV1Api
from kubernetes.client.exceptions import ApiException

# The helpers in tests/support import as `support`.
sys.path.insert(0, str(Path(__file__).parent))

from support.crds import kubemedic_crds
from support.devclusters import DevCluster, find_state_dir, run_devcluster, start_devcluster
from support.exporters import Exporter, ExporterServer
from support.operators import OperatorProcess
from support.prometheuses import PrometheusServer

CLUSTER_FIXTURES = {"devcluster", "kube_api", "namespace", "kubemedic_crds", "operator"}
PROMETHEUS_FIXTURES = {"prometheus", "exporter", "exporter_server"}
LOG_LINES_ON_FAILURE = 60


def is_teardown_wanted() -> bool:
    return os.environ.get("KUBEMEDIC_DEVCLUSTER_DOWN") == "1"


@pytest.fixture(scope="session")
def devcluster() -> Iterator[DevCluster]:
    cluster = start_devcluster()
    os.environ["KUBECONFIG"] = str(cluster.kubeconfig)
    yield cluster
    if is_teardown_wanted() and not os.environ.get("KUBECONFIG_KUBEMEDIC"):
        run_devcluster("down")


@pytest.fixture(scope="session")
def kube_api(devcluster: DevCluster) -> Iterator[ApiClient]:
    api = config.new_client_from_config(config_file=str(devcluster.kubeconfig))
    with api:
        yield api


@pytest.fixture
def namespace(kube_api: ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace, named after the test, deleted (not awaited) after it."""
    core = CoreV1Api(kube_api)
    # NB: parametrized tests carry brackets in their names; names take [a-z0-9-].
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.removeprefix("test_").lower())
    name = f"{stem[:40].strip('-')}-{uuid.uuid4().hex[:5]}"
    core.create_namespace({"metadata": {"name": name, "labels": {"kubemedic.dev/test": "true"}}})

    # Pods are rejected until the namespace's default ServiceAccount exists.
    wait_for_default_service_account(core, name)
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as error:
        if error.status != 404:
            raise


def wait_for_default_service_account(core: CoreV1Api, namespace: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            core.read_namespaced_service_account("default", namespace)
            return
        except ApiException as error:
            if error.status != 404:
                raise
        time.sleep(0.1)
    raise TimeoutError(f"No default ServiceAccount in Namespace {namespace}")


@pytest.fixture(scope="session")
def prometheus() -> Iterator[PrometheusServer]:
    server = PrometheusServer.start_or_reuse()
    server.set_targets([])
    yield server
    server.forget_targets()
    if is_teardown_wanted():
        run_devcluster("prometheus-down")


@pytest.fixture(scope="session")
def exporter_server(prometheus: PrometheusServer) -> Iterator[ExporterServer]:
    server = ExporterServer()
    prometheus.add_target(server.target)
    try:
        prometheus.wait_for_target_up(server.target)
        yield server
    finally:
        prometheus.remove_target(server.target)
        server.close()


@pytest.fixture
def exporter(exporter_server: ExporterServer) -> Exporter:
    """Metrics of this test, which the session's Prometheus scrapes every second.

    Its series carry `instance="<exporter.target>"`; a PromQL query sees a
    value one to two seconds after the test sets it.
    """
    return Exporter(exporter_server)


# Marks and logs --------------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & CLUSTER_FIXTURES:
            item.add_marker(pytest.mark.cluster)
        if fixtures & PROMETHEUS_FIXTURES:
            item.add_marker(pytest.mark.prometheus)


LOG_OFFSETS = pytest.StashKey[dict[Path, int]]()


def is_infrastructure_test(item: pytest.Item) -> bool:
    return any(item.iter_markers("cluster")) or any(item.iter_markers("prometheus"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Remember where each log ends, to show only what this test caused.
    logs = find_state_dir() / "logs"
    if is_infrastructure_test(item) and logs.is_dir():
        item.stash[LOG_OFFSETS] = {path: path.stat().st_size for path in logs.glob("*.log")}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and is_infrastructure_test(item):
        offsets = item.stash.get(LOG_OFFSETS, {})
        logs = find_state_dir() / "logs"
        for path in sorted(logs.glob("*.log")):
            tail = read_log_tail(path, offset=offsets.get(path, 0))
            if tail:
                report.sections.append((f"log of {path.stem} during the test", tail))
        report.sections.append(("devcluster logs", f"Every component's full log: {logs}"))
        operator = getattr(item, "kubemedic_operator", None)
        if operator is not None:
            lines = operator.logs().splitlines()
            report.sections.append(("log of the operator", "\n".join(lines[-150:])))
    return report


def read_log_tail(path: Path, *, offset: int) -> str:
    try:
        with path.open("rb") as log:
            log.seek(offset if offset <= path.stat().st_size else 0)
            text = log.read().decode(errors="replace")
    except OSError:
        return ""
    lines = text.splitlines()
    skipped = len(lines) - LOG_LINES_ON_FAILURE
    shown = "\n".join(lines[-LOG_LINES_ON_FAILURE:])
    return f"[{skipped} earlier lines in {path}]\n{shown}" if skipped > 0 else shown


@pytest.fixture
def operator(
    devcluster: DevCluster,
    kubemedic_crds: list[str],
    namespace: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[OperatorProcess]:
    """A `kubemedic run` process watching this test's namespace (not yet started).

    Call `.start()` once the test's policies exist, or before; the process is
    stopped at the end and its log is shown when the test fails.
    """
    process = OperatorProcess(
        kubeconfig=devcluster.kubeconfig,
        namespace=namespace,
        log_path=tmp_path / "operator.log",
    )
    request.node.kubemedic_operator = process
    yield process
    process.stop()


__all__ = ["kubemedic_crds"]
